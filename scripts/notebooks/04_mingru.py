# %% [markdown]
# # 4 · minGRU: strip a GRU until it is a scan
#
# Feng et al. (2024, "Were RNNs All We Needed?") take the GRU and the LSTM and remove, one by one, everything
# that makes them sequential. What is left, **minGRU** and **minLSTM**, has a recurrence that is *linear* in
# $h$: a parallel scan (notebook 3) computes it for all time steps at once, in training. At inference it still
# runs one step at a time in constant memory, like any RNN.
#
# **What you will see:**
#
# 1. from GRU to minGRU (and minLSTM) step by step, and what it costs in parameters;
# 2. the three ways rnnviz computes it (`mode="parallel"`, `"log"`, `"sequential"`) agree, and where the
#    paper's log-space mode loses digits;
# 3. the gates of a real run, from a trace;
# 4. a minGRU that learns: selective copying and a tiny character-level model;
# 5. speed: against a Python loop over `nn.GRUCell` and against cuDNN's `nn.GRU`, measured here and on a datacenter GPU.

# %%
import torch
import rnnviz
from rnnviz.models import MinGRU, MinLSTM
from rnnviz.viz import dependency_graph, gates, speedup
from rnnviz.course import mingru as course
from rnnviz.course.sizes import pick, where

device = rnnviz.default_device()
print("running on:", where())

# %% [markdown]
# ## 1. From GRU to minGRU
#
# A GRU (cuDNN's form):
#
# $$ z_t = \sigma(W_z x_t + U_z h_{t-1}), \quad r_t = \sigma(W_r x_t + U_r h_{t-1}), \quad
#    \tilde h_t = \tanh(W_h x_t + r_t \odot U_h h_{t-1}), \quad h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t $$
#
# Three matrix products with $h_{t-1}$ per step, all on the critical path. The paper removes them in three steps:
#
# 1. **gates without $h_{t-1}$**: $z_t = \sigma(W_z x_t)$. The reset gate $r_t$ only existed to control
#    $U_h h_{t-1}$, so it goes too.
# 2. **candidate without $h_{t-1}$**: $\tilde h_t = \tanh(W_h x_t)$.
# 3. **no $\tanh$**: it only kept $h$ bounded, which a convex combination of $h_{t-1}$ and $\tilde h_t$ already does:
#    $\tilde h_t = W_h x_t$.
#
# What is left is **minGRU**:
#
# $$ z_t = \sigma(W_z x_t), \qquad \tilde h_t = W_h x_t, \qquad
#    h_t = \underbrace{(1 - z_t)}_{a_t} \odot h_{t-1} + \underbrace{z_t \odot \tilde h_t}_{b_t}. $$
#
# $a_t$ and $b_t$ depend on $x$ only: one GEMM computes them for all $t$, and $h$ is the linear scan of
# notebook 3. **minLSTM** does the same to the LSTM, keeping a forget and an input gate normalised to sum to one:
# $f'_t = f_t / (f_t + i_t)$, $i'_t = i_t / (f_t + i_t)$, $h_t = f'_t \odot h_{t-1} + i'_t \odot \tilde h_t$.
# The dependency graphs, GRU then minGRU:

# %%
dependency_graph("gru", T=6)

# %%
dependency_graph("mingru", T=8)

# %% [markdown]
# The recurrent weights $U$ are gone, so the minimal models are also smaller:

# %%
course.parameters_figure(128, 128)

# %% [markdown]
# ## 2. Three ways to compute the same thing
#
# `MinGRU(..., mode=...)` computes $h$ three ways with the same parameters:
#
# * `"parallel"`: rnnviz's scan (a fused Triton kernel on a GPU, gates and scan in one pass; the chunked torch
#   scan on a CPU);
# * `"log"`: the paper's log-space formulation with `cumsum` and `logcumsumexp` (it needs positive
#   $\tilde h$, so the paper maps it through $g(x) = x + 0.5$ for $x \ge 0$, $\sigma(x)$ below: `positive=True`);
# * `"sequential"`: a loop over $t$, the definition.
#
# Against the same model in float64, for growing $T$ (float32):

# %%
rows = course.mode_errors([64, 512, 4096, pick(cpu=8192, gpu=32768)], device=device)
course.modes_figure(rows)

# %% [markdown]
# `"parallel"` and `"sequential"` stay at float32 rounding however long the sequence; `"log"` loses digits as $T$
# grows, because it carries $\sum_t \log a_t$, a number that grows with $T$, and subtracts large numbers.
#
# ## 3. Inside a run: the update gate
#
# With a trace active, MinGRU records its gate $z_t$ (and the scan's chunks and carries, as in notebook 3):

# %%
torch.manual_seed(0)
model = MinGRU(16, 32, batch_first=True).to(device)
with rnnviz.trace() as tr:
    model(torch.randn(2, 128, 16, device=device))
gates(tr)

# %% [markdown]
# And one step at a time, for generation, `step()` gives the same states in $O(1)$ memory:

# %%
x = torch.randn(1, 20, 16, device=device)
with torch.no_grad():
    full = model(x)[0]
    h = None
    steps = []
    for t in range(x.shape[1]):
        h = model.step(x[:, t], h)
        steps.append(h[-1])
print("max |forward - step by step| =", (full - torch.stack(steps, 1)).abs().max().item())

# %% [markdown]
# ## 4. It learns
#
# **Selective copying** (the task the paper uses): a sequence holds a few data tokens at random places among
# noise, then as many markers; at the markers the model must output the data tokens in order. Plain copying
# could be solved by fixed delays; here the model must decide, from each input's content, whether to keep it,
# which is exactly what an input-dependent gate $z_t$ does. A 2-layer minGRU, trained briefly (longer on a GPU):

# %%
from rnnviz.tasks import train_selective_copying, train_char_lm, selective_copying
copy_run = train_selective_copying(steps=pick(cpu=100, gpu=600), seq_len=pick(cpu=32, gpu=256),
                                   batch_size=pick(cpu=32, gpu=64), device=device)
print(f"accuracy on a fresh batch: {copy_run.extra['accuracy']:.0%} (chance: {1 / 6:.0%})")
course.losses_figure({"minGRU, selective copying": copy_run}, "Selective copying: training loss")

# %% [markdown]
# Three fresh examples (`.` is noise, `?` a marker):

# %%
print(course.show_copying(copy_run.model, selective_copying(3, seq_len=pick(cpu=32, gpu=256), device=device)))

# %% [markdown]
# A **character-level language model** on *Hamlet* and *Macbeth* (shipped with rnnviz): trained with the parallel
# scan over whole sequences, then sampled one character at a time with `step()`, as an RNN generates.

# %%
lm_run = train_char_lm(steps=pick(cpu=80, gpu=600), seq_len=pick(cpu=64, gpu=256),
                       d_model=pick(cpu=64, gpu=256), device=device)
print(f"held-out loss {lm_run.extra['val_loss']:.2f} nats/char (uniform guessing: "
      f"{torch.tensor(float(lm_run.extra['dataset'].vocab_size)).log().item():.2f})")
course.losses_figure({"minGRU, characters": lm_run}, "Character-level model: training loss")

# %%
data = lm_run.extra["dataset"]
prompt = data.encode("HAMLET.\n")[None].to(device)
sample = lm_run.model.generate(prompt, 200, temperature=0.8,
                               generator=torch.Generator(device=device).manual_seed(0))
print(data.decode(sample[0]))

# %% [markdown]
# After a few seconds of training on a CPU it has learnt the layout of a play, some short words and the
# alphabet's frequencies; more steps on a GPU give real words and names.
#
# What 22 seconds on an H200 do at the tasks' real sizes (`python -m rnnviz.tasks`, shipped with rnnviz):
# selective copying over 4096 positions, and a character model three layers deep and 384 wide:

# %%
course.task_runs_figure()

# %% [markdown]
# Two lessons that no speed-up changes. On selective copying the loss sits at the dotted line, a uniform guess
# among the data tokens, for hundreds of steps: the gates must first learn *which* inputs to keep, and until
# they do the read-out has nothing to read (the paper trains for 400,000 steps). The character model drives
# its training loss to almost zero, but its loss on held-out text (the crosses) is far worse than at the
# start: 277 KB of text is too little for a model this wide, which memorises it.
#
# ## 5. Speed
#
# A training step (forward and backward) of one layer for growing $T$, measured now on this machine: rnnviz's
# MinGRU and MinLSTM, the paper's log-space MinGRU, `nn.GRU` (cuDNN on a GPU, PyTorch's fused CPU kernel here)
# and a Python loop over `nn.GRUCell`, the "traditional" baseline of the paper's speedups.

# %%
from rnnviz.course.measure import measure, sweep
B, H = pick(cpu=4, gpu=64), pick(cpu=32, gpu=128)
Ts = sweep(pick(cpu=512, gpu=4096), points=4, bottom=64)
rows = measure(["rnnviz-mingru", "rnnviz-minlstm", "mingru-log", "gru-cudnn", "grucell-loop"],
               [dict(B=B, T=T, D=H) for T in Ts], device=device, backward=True, budget_ms=100)
speedup(course.as_result(rows), baseline="grucell-loop", x="T")

# %% [markdown]
# The right panel is the speedup over the loop at each $T$, here. The same figure from the benchmark run shipped
# with rnnviz that timed the most sequence lengths at the paper's setting (its caption says which GPU, when and
# with what; the paper reports 175× at $T = 512$ and over 1300× at $T = 4096$ on a T4):

# %%
fig = course.paper_speedup_figure()  # batch 64, hidden 128, float32
if fig is None:
    print("No GPU minGRU results are shipped with this install.")
fig

# %% [markdown]
# A GPU step this short is a race between the GPU and the host. In bf16 the GPU does a training step at
# $T = 4096$ in under a millisecond, and Python, the kernel launches and the autograd engine take about as long.
# One part of the host's share is a choice: by default torch hands a CUDA backward to a thread of its own and
# waits for it, and on the VM that lends the course its GPU that hand-off cost about 0.6 ms a step. The same
# code, the same GPU, two runs of the benchmark, every method with the same setting:

# %%
from rnnviz.course.eager_graph import backward_thread_figure

backward_thread_figure()  # dtype="float32" for the other run's rows

# %% [markdown]
# cuDNN's GRU and the log-space scan do not move: their GPU work is longer than anyone's host work. The
# loop gets faster too (it is all host), and rnnviz's step halves. `torch.autograd.set_multithreading_enabled(False)`
# is the switch, for your own training loop as well.
#
# ## Summary
#
# * minGRU = GRU without $h_{t-1}$ in its gates and candidate and without $\tanh$; its recurrence
#   $h_t = (1 - z_t) h_{t-1} + z_t \tilde h_t$ is linear, so a parallel scan trains it over all $t$ at once.
# * The scan of pairs is exact to rounding at any length; the log-space formulation needs positive values and
#   loses digits with $T$.
# * Inference is still one cheap step at a time.
# * The speedup over a loop grows with $T$: the loop pays $T$ dependent steps, the scan $\log T$ levels.
#
# **Exercise 1.** How many parameters (weights and biases) does one `MinGRU(128, 128)` layer have?

# %%
from rnnviz.exercises import check_mingru_parameters

answer = None  # an integer
check_mingru_parameters(answer)

# %% [markdown]
# **Exercise 2.** In scan form $h_t = a_t h_{t-1} + b_t$: if $z_t = 0.25$ and $\tilde h_t = 2$, what is $b_t$?

# %%
from rnnviz.exercises import check_mingru_b

answer = None  # a number
check_mingru_b(answer)
