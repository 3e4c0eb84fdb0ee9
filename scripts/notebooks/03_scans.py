# %% [markdown]
# # 3 · Parallel scans: a recurrence in $\log_2 T$ steps
#
# minGRU, the 2017 SRU and every Newton step of DEER reduce to one **linear recurrence**
#
# $$ h_t = a_t \odot h_{t-1} + b_t , $$
#
# elementwise over channels. It looks as sequential as any RNN, but it can be computed in $\log_2 T$ parallel
# steps, because its steps can be **grouped in any order**. **What you will see:**
#
# 1. why: the steps are pairs $(a_t, b_t)$ that compose associatively;
# 2. three classic ways to organise the parallel computation (Hillis-Steele, Blelloch, Brent-Kung), with their
#    work and depth;
# 3. the chunks and carries that rnnviz's kernel computed in a real run;
# 4. why the "log-space trick" of the minGRU paper exists, and why a scan of pairs does not need it;
# 5. how close the scan runs to the machine's memory bandwidth, measured here and on a datacenter GPU.

# %%
import torch
import rnnviz
from rnnviz.ops import linear_scan
from rnnviz.viz import scan_tree
from rnnviz.viz.scans import linear_combine
from rnnviz.course.sizes import pick, where
from rnnviz.course.reference import shipped
from rnnviz.course import scans

device = rnnviz.default_device()
print("running on:", where())

# %% [markdown]
# ## 1. Steps are pairs, and pairs compose
#
# One step $h \mapsto a h + b$ is the pair $(a, b)$. Doing step 1 then step 2 gives
# $a_2 (a_1 h + b_1) + b_2 = (a_1 a_2) h + (a_2 b_1 + b_2)$, again a step:
#
# $$ (a_1, b_1) \oplus (a_2, b_2) = (a_1 a_2,\; a_2 b_1 + b_2). $$
#
# This $\oplus$ is **associative**: $(p_1 \oplus p_2) \oplus p_3 = p_1 \oplus (p_2 \oplus p_3)$. So we may combine
# neighbours in any grouping, many groups at once. (It is not commutative: order in time matters.)

# %%
p1, p2, p3 = (0.9, 1.0), (0.5, -2.0), (0.8, 0.3)
print("(p1 + p2) + p3 =", linear_combine(linear_combine(p1, p2), p3))
print("p1 + (p2 + p3) =", linear_combine(p1, linear_combine(p2, p3)))
print("p2 + p1        =", linear_combine(p2, p1), " <- a different step: order matters")

# %% [markdown]
# ## 2. Three ways to scan
#
# A **scan** computes all prefixes $p_1,\; p_1 \oplus p_2,\; p_1 \oplus p_2 \oplus p_3, \dots$; applied to $h_0$ they give
# every $h_t$. Each figure below is a network: time along $x$, levels down the page; an operation reads two
# values of the level above. Use the slider to step through the levels.
#
# **Hillis-Steele** (Kogge-Stone): at level $d$ every element combines with the one $2^d$ to its left. Fewest
# levels ($\log_2 n$), but $n \log_2 n$ work.

# %%
scan_tree("hillis_steele", n=16)

# %% [markdown]
# **Blelloch**: an up-sweep (a reduction tree) and a down-sweep. About $2n$ work, twice the levels. It is
# work-efficient: a machine with fewer processors than elements finishes sooner.

# %%
scan_tree("blelloch", n=16)

# %% [markdown]
# **Brent-Kung**: the same up-sweep, and a down-sweep that fills in the missing prefixes (an inclusive scan).

# %%
scan_tree("brent_kung", n=16)

# %% [markdown]
# Counting work and depth from the networks themselves, for growing $n$: the loop does the least work but has
# depth $n$; Hillis-Steele has the least depth but does $\log_2 n$ times more work; Blelloch and Brent-Kung keep
# work linear at twice the depth.

# %%
scans.work_depth_figure()

# %% [markdown]
# ## 3. What the kernel does: chunks and carries
#
# A GPU has thousands of lanes but far fewer than $B \times T \times D$ elements, so rnnviz's kernel (and its CPU
# twin) mixes the two: it cuts $T$ into **chunks**, scans every chunk locally from a zero state (all chunks in
# parallel, Hillis-Steele inside a chunk), then passes a **carry** from chunk to chunk, and finally each element
# takes the carry entering its chunk. Here is a real run, recorded by `rnnviz.trace()`: the values on the nodes
# are what the kernel computed.

# %%
tr, a, b = scans.record_chunks(T=256, D=4, device=device)
print(tr.summary())
tr_tree, which = scans.tree_trace(tr)
print("the tree below shows", which)
scan_tree("chunked", trace=tr_tree)

# %% [markdown]
# The same run, one channel over time: the dotted local scans restart from 0 in each chunk; the carries
# (diamonds) stitch them into the true $h$. The carry chain is short ($T / C$ steps), and on the GPU the kernel
# passes it along without a second pass over memory.

# %%
scans.chunks_figure(tr, channel=0)

# %% [markdown]
# And the output is the recurrence, to rounding:

# %%
from rnnviz.ops.linear_scan import linear_scan_reference
h = linear_scan(a, b)
print("max |scan - float64 loop| =", (h.double() - linear_scan_reference(a.double(), b.double())).abs().max().item())

# %% [markdown]
# ## 4. The log-space trick, and when it is not needed
#
# Unrolling the recurrence gives a closed form with cumulative products and sums:
#
# $$ h_t = A_t \sum_{s \le t} \frac{b_s}{A_s}, \qquad A_t = \prod_{u \le t} a_u . $$
#
# Frameworks have `cumprod` and `cumsum`, so this is tempting. But with gates $a < 1$, $A_t$ underflows to 0
# after a few hundred steps and $b_s / A_s$ overflows: the answer is `inf` or `NaN`. The minGRU paper therefore
# works in log space: $a^* = \mathrm{cumsum}(\log a)$ and $h = \exp(a^* + \mathrm{logcumsumexp}(\log b - a^*))$. No
# overflow, but it needs $b > 0$ (hence minGRU's positive $g(\tilde h)$) and loses digits as $T$ grows. A scan of
# **pairs** never divides and never takes a logarithm: it needs no trick at all.

# %%
from rnnviz.course.scan_formulas import accuracy_rows, accuracy_figure
accuracy_figure(accuracy_rows([16, 64, 256, 1024, pick(cpu=4096, gpu=65536)]))

# %% [markdown]
# The log-space trick is a workaround for building a scan out of `cumsum`; with an associative-scan kernel
# (or `torch`'s doubling loop, or `jax.lax.associative_scan`) it is not needed, and it costs extra
# transcendental functions per element (section 5 times it).
#
# ## 5. Bandwidth: how close to the hardware?
#
# A scan does 2 multiply-adds per element, nothing for a modern processor: its speed is set by **memory**. It
# must read $a$ and $b$ and write $h$, so its best possible time is (3 × bytes of one tensor) / (memory
# bandwidth). We measure the **copy bandwidth** of this machine (read + write one tensor) as the ceiling, and the
# scan's effective bandwidth against it.

# %%
from rnnviz.bench.core import copy_bandwidth_gbs
from rnnviz.course.measure import measure, sweep

copy_gbs = copy_bandwidth_gbs(device)
B, D = pick(cpu=4, gpu=16), pick(cpu=64, gpu=4096)
Ts = sweep(4096, points=4, bottom=64)
rows = measure(["rnnviz-scan", "log-space", "doubling"], [dict(B=B, T=T, D=D) for T in Ts],
               device=device, budget_ms=100)
scans.bandwidth_figure(rows, copy_gbs, shipped(["scan"]), ref_methods=["rnnviz-scan", "log-space"],
                       ref_sizes=[dict(B=16, D=4096), dict(B=1, D=64)])

# %% [markdown]
# On a GPU the fused kernel reads $a$ and $b$ once and writes $h$ once, so with many channels
# ($B \times D = 65536$, the upper dashed curves if the GPU results are installed) it runs close to the GPU's own
# copy line. With few channels ($B = 1$, $D = 64$) there is too little work per time step to fill the GPU: the
# kernel then splits time itself across the GPU (a sequence-parallel scan), and its bandwidth grows with $T$.
# The log-space formulation stays far below in both. On a CPU the torch path
# makes several passes over the data (the doubling levels inside each chunk, the carries, the final apply) and
# reaches only a small fraction of the copy bandwidth; which torch formulation wins there depends on the sizes
# and the machine (the log-space one makes fewer passes but computes `log` and `exp` for every element).
#
# ### Bytes in flight
#
# Memory answers a load after about a microsecond, so to stream at 4.2 TB/s a GPU must have about
# 4 MB of loads outstanding at every moment (Little's law: bandwidth × latency). The channel walk gives
# each thread one 16-byte vector of channels and loads a chunk of 16 time steps at once: at
# $B \times D = 65536$ channels that is $65536 \times 16 \times 2$ inputs $\times$ 4 bytes = 8 MB in float32, but
# only 4 MB in bfloat16, and only until the chunk arrives: while a thread computes its chunk, it has
# nothing in flight. Triton's software pipeliner (`tl.range(..., num_stages=...)`) keeps loading: it issues
# the next chunks' loads into shared memory (`cp.async`) while the current chunk is computed. The H200
# sweep shipped with the package shows what each chunk in flight buys:

# %%
scans.in_flight_figure()

# %% [markdown]
# float32 nearly reaches the ceiling with one chunk; bfloat16, half the bytes per chunk, needs three.
# The kernel is `kernels/linear_scan/chunk.py`; the tiles each GPU takes, measured by
# `scripts/scan_sweep.py`, are in `kernels/linear_scan/tuned.py`.
#
# ### Host or GPU?
#
# A call of `linear_scan` is also Python: argument checks, an autograd node, Triton's launcher
# (which inspects each of the kernel's 30 arguments), and only then a kernel. Timing the call alone
# counts all of that; replaying it from a CUDA graph counts the kernels only. Both were measured on
# the H200 (`scripts/timing_modes.py`):

# %%
scans.host_share_figure()

# %% [markdown]
# For 2 GB of data the host is a few percent of the call. For one sequence of 64 channels (50 MB),
# the kernel takes about 50 microseconds and the host three times as long: there the speed of a scan
# is the speed of its launch, unless many calls are queued back to back or captured in a graph.
#
# That decides races too. `accelerated-scan` (PyPI) launches its kernels with a handful of
# arguments; here are one forward scan of each method, queued back to back (eager) and replayed as a
# graph, from two runs of `python -m rnnviz.bench scan` on the H200:

# %%
from rnnviz.course.eager_graph import eager_graph_figure

eager_graph_figure("scan", T=16384)

# %% [markdown]
# As kernels the two packages are within a few microseconds of each other at this size, and the
# log-space scan of the minGRU paper is hundreds of times slower; eagerly, the launch path decides.
# Try `T=1024` (rnnviz's kernel is twice as slow as theirs there) and `T=65536` (it passes their
# scalar kernel, not yet their warp kernel).
#
# Where does a small call's host time go? `scripts/launch_host.py` timed one forward at $B = 1$,
# $T = 1024$, $D = 64$ on the H200's host layer by layer, from the op down to the compiled launcher
# that Triton's launch ends in:

# %%
from rnnviz.course.launch_path import launch_path_figure

launch_path_figure()

# %% [markdown]
# The orange bars are Triton's own launch path. A kernel call `kernel[grid](...)` binds its twenty-odd
# arguments, asks Triton's specialiser about each (dtype, 16-byte alignment of every pointer, ints
# equal to 1 or divisible by 16), turns the answer into a string key and looks the compiled kernel
# up: about 20 µs before the launcher itself runs. The green bars go through
# `rnnviz.kernels.cached_launch`: once a shape has been launched, its compiled kernel is kept under a
# key of rnnviz's own, finer than Triton's (the launch plan made once per shape, the tensors' dtypes,
# all of them 16-byte aligned), and the launcher is called straight away. That, and a plan of the
# launch computed once per shape, took the call from 45 to 27 µs; `accelerated-scan`'s call, a
# kernel of four arguments and no input checks, takes 24.
#
# Part of that launch path was once a second launch. The sequence-parallel kernel below coordinates its
# programs through flags in memory, which must be zero when it starts, and a memset launch zeroed
# them before every call. Now the last program to finish zeroes them for the next call, and the
# buffers are kept per CUDA stream. A graph being captured gets buffers of its own, because its
# replays may run on any stream.
#
# ### The look-back, as the kernel clocked it
#
# With one sequence of 64 channels the channel walk has 4 programs for 132 SMs, so the scan cuts T
# into chunks instead: each program loads one chunk, publishes it as one affine step, looks back at
# earlier chunks' published states for its carry, then applies it (`kernels/linear_scan/seqpar.py`).
# Asked to (`scan_fwd(..., timeline=True)`), every program writes down the GPU's global clock at each
# of those moments. Here is one forward on the H200, one row per program (this one-chunk kernel is
# still the path of the backward and of bfloat16; float32's forward has since moved, see below):

# %%
scans.lookback_timeline_figure()

# %% [markdown]
# Two waves of 132 programs, one per SM: a program of 16 rows x 8 warps holds a 128 KB chunk in
# registers (all 255 a thread may have, compiled for sm_90), so no second one fits beside it. The blue bars are the story: loading
# and summarising a chunk takes about 19 of a program's 23 µs, the look-back about 3. The SMs spend
# the kernel waiting for their loads, one chunk at a time, and the look-back, the clever part, is not
# what costs. That reading led to the sequence path's second kernel, which walks *segments* of chunks
# with 1-warp programs, a dozen per SM, their loads streaming: it reads the inputs twice and is still
# faster at D = 16, T = 2^20 (0.122 ms against 0.158, `benchmarks/seqpar-segments-h200.json`), and
# the float32 forward takes it there.
#
# A segment can also get its carry without waiting for anyone. *Reduce-then-scan* does it in three
# launches: every segment is summarised as one step $h \mapsto c_a h + c_b$ (a read-only pass), the
# few thousand summaries are themselves a linear recurrence and are scanned by the channel kernel,
# and every segment walks its steps again from its carry (`kernels/linear_scan/reduce_scan.py`). No
# program polls for a predecessor; the price is three launches instead of one. The two, on the
# same segments, on the H200 (`scripts/scan_carry_ab.py`):

# %%
scans.carry_figure()

# %% [markdown]
# On the GPU alone (solid) reduce-then-scan wins most backward passes (at D = 16, T = 2^20: 158 µs
# against 206) and the forward at D = 64. Eagerly (hatched) its three launches cost the host about
# twice the look-back's one, and the forward at D = 64 turns from 42 µs on the GPU into 57 µs of
# calls, slower than the look-back's 48. So the tuned table takes each where its measured calls
# were faster, not its kernels alone: the look-back for float32's forward, reduce-then-scan for
# bfloat16's forward over 257 to 4096 channels and for the backward there beyond T = 32768. Neither reaches half the copy bandwidth for one
# sequence of 16 or 64 channels: how to load a few channels of a long sequence at full speed is
# still open on this layout.
#
# ### The same scan on the other layout
#
# Everything so far read $a$ and $b$ as `[B, T, D]`: one time step's $D$ channels side by side in
# memory, as `nn.LSTM(batch_first=True)` keeps them. `nn.Conv1d`, and every model built on it, keeps
# `[B, D, T]`: one channel's $T$ steps side by side. Here are the memory offsets of one short
# sequence in each, and what one wide load of each kernel reads:

# %%
from rnnviz.course import scan_layouts

scan_layouts.layout_figure(T=16, D=6)

# %% [markdown]
# On `[B, T, D]` a load is wide across channels, so a few channels give short loads and the scan
# must cut $T$ among programs to have enough of them. On `[B, D, T]` a whole chunk of one channel's
# steps is one load however few channels there are, and the scan runs along the load, across the
# lanes of a program (`kernels/linear_scan/timelast.py`). `linear_scan` takes a `[B, T, D]` view of
# `[B, D, T]` memory (`x.transpose(1, 2)` of a Conv1d output) as it is, picks that kernel and
# returns $h$ in the same layout: no transpose is ever paid. With few channels and long $T$ each
# channel is cut into parts, whose carries come by reduce-then-scan, as above.
#
# `accelerated-scan` reads only `[B, D, T]`, so on this layout the two packages race on the same
# bytes. First the kernels alone, replayed from CUDA graphs on the H200, each package's forward and
# forward + backward (`scripts/scan_time_sweep.py --baselines`; rnnviz with the configs its tuned
# table picks):

# %%
scan_layouts.kernel_race_figure()

# %% [markdown]
# The two kernels are built alike (a chunk of one channel's steps per load, scanned across the
# lanes), so most of the gap is in how the work is cut. For one sequence of 64 channels
# `accelerated-scan` runs 64 programs of 4 warps over 2048-step chunks; rnnviz's table gives them 8
# warps and 4096 steps with three chunks in flight (27 µs against 59 at $T = 65536$). For 16
# channels and $T = 2^{20}$ its 16 programs leave the GPU nearly empty, and rnnviz cuts each
# channel into parts whose carries come by reduce-then-scan (97 µs against 776). With thousands of
# channels both stream at the copy bandwidth (0.9-1.1x). The one loss is the smallest: $T = 1024$,
# 64 channels, forward + backward, 10.8 µs against 9.2.
#
# Eagerly, through the op and its autograd node, the same run of `python -m rnnviz.bench scan` that
# times everything else:

# %%
scan_layouts.layout_race_figure()

# %% [markdown]
# Here the host decides again: that run's host was slow (rnnviz's forward of $T = 1024$ took 60 µs
# against 27 in other runs), and every call below a hundred microseconds shows it, reduce-then-scan's
# three launches most. From a few hundred microseconds up the kernels show through: at $B = 4$,
# $D = 256$ the `[B, D, T]` scan takes 56 µs for $T = 16384$ and 399 µs for $T = 131072$, against
# 105 and 736 on `[B, T, D]` and 62 and 429 for `accelerated-scan`. Which layout to keep is a
# choice about the whole model, and the scan no longer dictates it.
#
# ## Summary
#
# * The steps of a linear recurrence are pairs that compose associatively; that is all a parallel scan needs.
# * Hillis-Steele: depth $\log_2 n$, work $n \log_2 n$. Blelloch / Brent-Kung: depth $\approx 2\log_2 n$, work
#   $\approx 2n$. The kernel chunks time: local scans in parallel, then a short chain of carries.
# * The log-space formulation exists because `cumprod`/`cumsum` overflow; a scan of pairs needs neither logs nor
#   positive inputs.
# * A scan is memory-bound: the copy bandwidth is its speed limit, reached only with enough bytes in flight.
# * For small problems the host's launch path, not the kernel, sets the time of one call.
#
# **Exercise 1.** How many levels (the depth) does a Hillis-Steele scan need for $n = 1024$ elements?

# %%
from rnnviz.exercises import check_hillis_steele_depth

answer = None  # an integer
check_hillis_steele_depth(answer)

# %% [markdown]
# **Exercise 2.** A float32 scan with $B = 16$, $T = 4096$, $D = 4096$ reads $a$, $b$ and writes $h$. At a copy
# bandwidth of 3000 GB/s, what is the fastest it can possibly run, in milliseconds?

# %%
from rnnviz.exercises import check_scan_floor_ms

answer = None  # milliseconds
check_scan_floor_ms(answer)

# %% [markdown]
# **Exercise 3.** One sequence of $D = 64$ float32 channels is stored as `[B, T, D]`. How many bytes
# apart in memory are steps $t$ and $t + 1$ of one channel? (On `[B, D, T]` they are 4 bytes apart:
# that is the whole difference between the two kernels' loads.)

# %%
from rnnviz.exercises import check_step_stride_bytes

answer = None  # bytes
check_step_stride_bytes(answer)
