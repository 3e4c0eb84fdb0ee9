# %% [markdown]
# # 6 · The speed lab
#
# The first five notebooks explained *why* SRU, minGRU and DEER are faster than a classic RNN. Here you
# measure it yourself. **What you will see:**
#
# * an app: tick methods, choose sizes with log-spaced sliders, press **Run**, and watch each measurement
#   land on the plot as it is made;
# * your own numbers beside the **GPU results shipped with rnnviz** (H100, H200) (dashed lines, labelled with the GPU and
#   the date they were measured), so you can tell what your machine does from what a datacenter GPU does;
# * a few experiments to try, and two questions at the end.
#
# Every number drawn with a solid line is measured **now, on this machine**. Nothing is extrapolated.

# %%
from rnnviz.course.sizes import pick, where
from rnnviz.course.reference import shipped
from rnnviz.course.compare import here_vs_reference
from rnnviz.widgets.speed_lab import speed_lab

print("running on:", where())
print("GPU results shipped with this install:", [r.name for r in shipped()] or "none")

# %% [markdown]
# ## 1. The app
#
# * **Methods**: a classic RNN as cuDNN runs it (`nn.LSTM`, `nn.GRU`; on a CPU, PyTorch's own kernels), the
#   same cells stepped by a Python loop (the "traditional" baseline of the papers), a width-3 `nn.Conv1d`
#   (SRU's yardstick: "as fast as a CNN"), rnnviz's SRU, MinGRU/MinLSTM and bare `linear_scan`, DEER, and a
#   plain **copy** of the input: the memory-bandwidth floor under every elementwise recurrence.
#   A method greyed out is not installed here; hover over it for the reason.
# * **Sizes**: `T` (sequence length), `B` (batch), `D` (hidden size). The lab sweeps one of them (`sweep`):
#   it measures `points` sizes halving down from the slider's value.
# * **Run** measures in the background: the notebook stays usable, **Stop** ends the run after the
#   measurement in progress. A size that would not fit in memory is refused before anything is allocated;
#   a method predicted to take more than a few seconds at the next size is skipped, and the table says so.
# * **timing** (on a GPU): `back-to-back` times the calls as a program queues them; `graph` captures each
#   call as a CUDA graph and replays it, which leaves the GPU's time alone. Where the two differ, the rest
#   is the host's (Python, kernel launchers, autograd): small calls of fast kernels are often mostly host.
# * **backward on** (on a GPU, `fwd+bwd`): torch hands a CUDA backward to a `device thread` of its own by
#   default; `calling thread` runs it where it was called (`torch.autograd.set_multithreading_enabled(False)`).
#   On the H200's VM the hand-off was about 0.6 ms of a minGRU training step (notebook 4, section 5).
# * **overlay** draws the shipped GPU results for the ticked methods: the curve whose other sizes are
#   closest to your sliders (the legend names them).
# * **CSV / JSON** write every measurement of this session (JSON with its provenance) next to the notebook.

# %%
lab = speed_lab()
lab

# %% [markdown]
# The cell below presses **Run** for you once, timing a training step (`fwd+bwd`) with small sizes on a CPU and
# larger ones on a GPU, with the shipped GPU results overlaid, so the figure above is not empty. (It calls
# `lab.run()`, which measures in the foreground; the button runs the same code in a thread.) Then it is your
# turn: move the sliders and press **Run**.

# %%
lab.T.value = pick(cpu=256, gpu=1024)
lab.B.value = pick(cpu=4, gpu=32)
lab.D.value = pick(cpu=64, gpu=512)
lab.points.value = 4
lab.pass_.value = "fwd+bwd"
lab.overlay.value = bool(shipped())
rows = lab.run()
print(f"{len(rows)} measurements, {sum(r['ms'] is None for r in rows)} without a time")

# %% [markdown]
# ## 2. Reading the plot
#
# Both axes are logarithmic. On a log-log plot a time proportional to $T^k$ is a straight line of slope $k$:
#
# * the **Python loop** over a cell climbs with slope 1: every step waits for the one before, and each step
#   pays Python's and the framework's overhead;
# * **cuDNN's** `nn.LSTM`/`nn.GRU` also do $T$ dependent steps (slope 1 at large $T$), only each step is cheap;
# * **SRU** moves all matrix products out of the loop, **MinGRU** and the **scan** remove the sequential loop
#   altogether: at large $T$ they run at the speed of reading and writing memory, parallel to the **copy** line.
#
# The same data as a static figure, with the shipped GPU results (if any are installed) dashed beside it:

# %%
here_vs_reference(lab.rows, shipped(), x="T", title="Your measurements and the shipped GPU results")

# %% [markdown]
# ## 3. Experiments to try
#
# 1. **Length.** Tick the loop, `nn.GRU` and MinGRU; sweep `T` up to the largest size your machine accepts.
#    Where does each line bend? At what `T` does MinGRU overtake `nn.GRU`?
# 2. **Batch.** Sweep `B` with `T` fixed. A GPU has thousands of lanes: a small batch leaves most of them idle,
#    so time barely grows with `B` until the GPU is full. On a CPU with two cores the lines are straight much
#    sooner. This is why SRU and the scan matter most for *small* batches and *long* sequences.
# 3. **Width.** Sweep `D` for DEER (Newton) and DEER (quasi): Newton's dense Jacobians cost $D^2$ memory and
#    $D^3$ work per step, the quasi (diagonal) version only $D$.
# 4. **Training.** Switch `pass` to `fwd+bwd`: the backward of a scan is another scan, so the ratio between
#    methods stays roughly the same.
# 5. **Precision.** Try `bfloat16`: half the bytes, so the memory-bound methods get faster on a GPU; on a CPU
#    they may get *slower* (few CPUs compute in bfloat16 natively).
# 6. **Too big.** Push every slider to the right and press Run: the lab refuses and says how much memory it
#    would have needed.
#
# Save what you measured with the **CSV** / **JSON** buttons, or from code:

# %%
import tempfile, pathlib
path = lab.to_json(pathlib.Path(tempfile.mkdtemp()) / "my_speed_lab.json")
print("saved", len(lab.rows), "measurements to", path)

# %% [markdown]
# ## Summary
#
# * A sequential recurrence costs time proportional to $T$ however fast each step is; the parallel methods
#   cost time proportional to the bytes they move, and the **copy** line is their floor.
# * Where a method is in its regime depends on the machine: the same sizes can be latency-bound on a GPU and
#   compute-bound on a CPU. That is why every speed figure in this course shows *your machine* beside the
#   *shipped GPU measurement*, with its date, and never mixes the two.
#
# **Exercise 1.** The loop over `nn.GRUCell` runs $T$ dependent steps. When you double $T$, by what factor
# should its time grow (for large $T$)?

# %%
from rnnviz.exercises import check_loop_doubling

answer = None  # a number
check_loop_doubling(answer)

# %% [markdown]
# **Exercise 2.** Which of the lab's methods is the floor that no elementwise scan over the same data can beat,
# however clever its kernel? Give its name as the lab writes it in the table (`method` column).

# %%
from rnnviz.exercises import check_bandwidth_floor

answer = None  # a string
check_bandwidth_floor(answer)
