# %% [markdown]
# # 2 · SRU: keep the recurrence, make it cheap
#
# Notebook 1 showed that an LSTM has $T$ matrix products on its critical path. The **Simple Recurrent Unit**
# (Lei et al., 2017/2018) removes $h_{t-1}$ from every product, so all products run at once, and keeps only a
# cheap elementwise recurrence in sequence.
#
# **What you will see:**
#
# 1. the SRU equations beside the lines of rnnviz's code that compute them;
# 2. the gates $f_t, r_t$ and the cell state $c_t$ of a real run, recorded by a trace;
# 3. where the time goes: the one big matrix product (GEMM) against the recurrence, and what paces the
#    recurrence kernel: its bytes or its instructions;
# 4. SRU against `nn.LSTM`, `nn.GRU` and a convolution, measured here, beside the GPU results shipped with
#    rnnviz;
# 5. the peephole switch, and the **scan** option it unlocks when turned off.

# %%
import torch
import rnnviz
from rnnviz.models import SRU
from rnnviz.viz import gates, timeline
from rnnviz.course.sizes import pick, where
from rnnviz.course.measure import measure, sweep
from rnnviz.course.compare import here_vs_reference
from rnnviz.course.reference import shipped
from rnnviz.course.source import equations_beside_code

device = rnnviz.default_device()
print("measuring on:", where())

# %% [markdown]
# ## 1. The equations and the code
#
# For an input $x_t$, one SRU layer computes (version 2 of the paper, with the "peephole" weights
# $v_f, v_r$):
#
# $$ U = x\,W \qquad \text{(one GEMM for all } t\text{: } \tilde x_t,\ W_f x_t,\ W_r x_t) $$
# $$ f_t = \sigma(W_f x_t + v_f \odot c_{t-1} + b_f), \qquad r_t = \sigma(W_r x_t + v_r \odot c_{t-1} + b_r) $$
# $$ c_t = f_t \odot c_{t-1} + (1 - f_t) \odot \tilde x_t, \qquad h_t = r_t \odot \tanh(c_t) + (1 - r_t) \odot x_t $$
#
# The only use of the past is $c_{t-1}$, and only through elementwise products. Here is the reference
# implementation that every rnnviz SRU kernel is tested against, line by line:

# %%
from rnnviz.ops.sru.naive import sru_recurrence_reference
from rnnviz.ops.sru.layer import sru_layer

equations_beside_code(sru_layer, [(r"U = x\,W", "@ weight")])

# %%
equations_beside_code(sru_recurrence_reference, [
    (r"W_f x_t + v_f \odot c_{t-1} + b_f", "pf ="),
    (r"W_r x_t + v_r \odot c_{t-1} + b_r", "pr ="),
    (r"f_t = \sigma(\cdot),\ r_t = \sigma(\cdot)", "torch.sigmoid(pf)"),
    (r"c_t = f_t \odot c_{t-1} + (1 - f_t) \odot \tilde x_t", "c_new = f * c"),
    (r"g(c_t) = \tanh(c_t)", "torch.tanh(c_new)"),
    (r"h_t = r_t \odot g(c_t) + (1 - r_t) \odot x'_t", "h = r * g"),
])

# %% [markdown]
# rnnviz's SRU (`rnnviz.models.SRU`) is a drop-in for `nn.LSTM`: same constructor arguments, same
# `(output, state)` return. On a GPU the recurrence above runs as one fused Triton kernel: each thread owns
# one unit of one sequence and walks all $T$ steps, reading $U$ once and writing $h$ and $c$ once.
#
# ## 2. Inside a run: the gates
#
# `rnnviz.trace()` records what the kernel really computed: $f_t$, $r_t$ and $c_t$ for every step (subsampled
# for long sequences). A forget gate near 1 keeps the cell state, near 0 overwrites it with $\tilde x_t$;
# the reset gate mixes the cell's output with the input (the highway).

# %%
torch.manual_seed(0)
sru = SRU(32, 32, batch_first=True).to(device)
x = torch.randn(2, 64, 32, device=device)
with rnnviz.trace() as tr:
    out, c_n = sru(x)
print(tr.summary())

# %%
gates(tr)

# %% [markdown]
# Sentences come in different lengths. Code written for `nn.LSTM` packs them
# (`pack_padded_sequence`), and the SRU takes the packed batch as it is. Inside, it runs the padded
# batch with a mask. Every thread still walks all $T$ steps, because a warp runs its threads in
# lockstep and does not skip a step for one sequence. At a padded step the thread keeps $c$ and writes
# $h = 0$. Below, the second sequence ends at $t = 40$: from there its state $c$ stays flat. Its gates
# are still computed, and thrown away.

# %%
from torch.nn.utils.rnn import pack_padded_sequence

packed = pack_padded_sequence(x, torch.tensor([64, 40]), batch_first=True)  # as nn.LSTM code does
with rnnviz.trace() as tr:
    out, c_n = sru(packed)  # out: packed like the input; c_n: each sequence's state at its last step
alone = sru(x[1:, :40])[1]  # the second sequence on its own, 40 steps
print(type(out).__name__, "| c_n of the second sequence = its state after 40 steps:",
      torch.allclose(c_n[:, 1], alone[:, 0], atol=1e-5))
gates(tr, batch=1)

# %% [markdown]
# ## 3. Where the time goes
#
# The same trace timed each stage: the GEMM (cuBLAS on a GPU) and the recurrence. The GEMM does almost all
# the arithmetic but runs at full speed in parallel; the recurrence does little arithmetic but is sequential
# in $t$. At a larger size:

# %%
B, D, T = pick(cpu=8, gpu=32), pick(cpu=128, gpu=1024), pick(cpu=256, gpu=1024)
big = SRU(D, D, batch_first=True).to(device)
xb = torch.randn(B, T, D, device=device)
with torch.no_grad():
    big(xb)  # warm-up: the first call compiles kernels on a GPU
    with rnnviz.trace(what={"stage"}) as tr_time:
        big(xb)
timeline(tr_time)

# %% [markdown]
# Inside the recurrence kernel each GPU thread owns one hidden unit and walks $t$; at this size that is only
# $B \times d = 32768$ threads, about eight warps per streaming multiprocessor (two per warp scheduler). A load
# from memory takes several hundred cycles, so the kernel is fast only if the loads of later steps are
# already on their way while the current steps compute. They can be: $U_t$ and $x_t$ do not depend on $c$. How
# far ahead to issue them is a trade (more loads in flight, more registers held), measured on an H200 with the
# kernel's loads one, two and three 8-step turns ahead (`kernels/sru/fused_recurrent.py` ships two):

# %%
from rnnviz.course.in_flight import prefetch_figure

prefetch_figure()

# %% [markdown]
# bf16 was no faster than fp32 at any depth, though it moves half the bytes. So what paced a step? Nsight
# Compute, run on the H200 on that kernel (`benchmarks/sru-ncu-h200.json`), counted 133 instructions a step
# per warp in fp32 and 138 in bf16, issued at about 0.6 a cycle per warp scheduler: a scheduler issues at most
# one a cycle, and with two warps, each waiting on its own previous result, it often has none ready. Set the
# time those instructions take beside the time the bytes take, and the time measured:

# %%
from rnnviz.course.bounds import ab_figure, bound_figure, step_bounds, step_mix_figure, step_mixes

bound_figure(step_bounds())

# %% [markdown]
# The measured times sit just above the instruction estimate in both dtypes, and far above what the bytes
# need in bf16: that kernel was bound by the instructions it issued, not by memory, and bf16 halves only the
# bytes. So the kernel was rewritten to issue fewer. Which instructions go? Ask the compiler: here the kernel
# installed with rnnviz is compiled for an H100/H200 (sm_90, by the `ptxas` that ships inside Triton's wheel:
# no GPU needed) and its loop is counted, instruction by instruction, per step of $t$:

# %%
mixes = step_mixes()  # half a minute on a CPU: two compilations of an unrolled loop
step_mix_figure(mixes)

# %% [markdown]
# The title says how many of a step's instructions are the recurrence's own work: the float arithmetic, and
# the unit that computes $e^x$ and $1/x$ for the two sigmoids and the tanh (in bf16, $\tanh$ itself: see
# below); everything else computes addresses, moves values between registers and selects. Beside it, Nsight
# Compute's count of the old kernel. What went, in `kernels/sru/fused_recurrent.py`:
#
# * each input and output is one pointer moved a step at a time (two integer adds), not `t * stride`
#   recomputed (64-bit multiplies) for every load and store;
# * what a call does not use (the padding mask, storing $c$, recording the gates) is a compile-time switch,
#   not a run-time flag that still moved its pointers and predicated its stores;
# * $e^x$ and the divisions use the GPU's approximate instructions (`activations.py`), without the guards for
#   denormals and huge divisors;
# * the loop walks three turns of 8 steps a pass, so the three sets of registers (the turn computed, the two
#   loaded ahead) swap roles by name instead of being copied.
#
# Did it pay? The three versions, timed in one process on an H100:

# %%
ab_figure()

# %% [markdown]
# In bf16 the forward went from 47% to 72% of the copy bandwidth (238 to 156 us). In fp32 the H100 gained
# little: its memory copies 3.0 TB/s against the H200's 4.2, so there the old kernel's bytes already took
# almost as long as its instructions (89% of the copy bandwidth). The same instructions, a different balance:
# which one paces a kernel depends on the GPU as well as on the code.
#
# And the rewritten kernel? Nsight Compute on the H100 (`benchmarks/sru-ncu-h100.json`) counts 56 instructions a
# step per warp in fp32 and 62 in bf16, issued at 0.32 and 0.51 a cycle per scheduler, with the memory 85% and
# 62% busy. Nsight Compute also fixes the SMs' clock, at about 1.58 GHz, where the benchmark ran at 1.98. If the
# instructions still set the pace, the faster clock would shorten the time in proportion:

# %%
from rnnviz.course.bounds import clock_figure

clock_figure()

# %% [markdown]
# It did not: the bf16 forward took 159 us at the slow clock and 156 us at the fast one. What sets the pace
# now is the bytes on their way. Two warps a scheduler, each with its next two turns of loads in flight, have
# half as many bytes in flight in bf16 as in fp32, and memory delivers about as many bytes a microsecond as are
# waiting for it (Little's law). The next lever is more loads in flight per thread, not fewer instructions.
#
# We pulled it: in bf16 the kernel now keeps three turns of loads in flight instead of two (`FWD_AHEAD` in
# `kernels/sru/fused_recurrent.py`; 180 registers a thread, no spills). Timed against two turns in one process on
# the H100 (`benchmarks/sru-ahead-ab-h100.json`), the inference forward went from 155.9 to 153.5 us and the
# training forward from 215.1 to 206.9 us: 73% and 76% of the copy bandwidth. A few percent, so bytes in flight
# were part of the answer, not most of it. In fp32 a third turn changed nothing (238.4 against 238.7 us).
#
# Then wider loads: each thread loads its unit's x~, f and r as three 2-byte values, so in bf16 the kernel issues
# twice as many load instructions per byte as in fp32. We let a thread own two neighbouring units and read their
# six values as three 4-byte words: half the loads and a fifth fewer instructions per unit-step. It ran *slower*
# (`benchmarks/sru-pairs-ab-h100.json`), with identical outputs:

# %%
from rnnviz.course.bounds import bf16_tries_figure

bf16_tries_figure()

# %% [markdown]
# Two units a thread means half as many threads, one warp per scheduler instead of two, and fewer warps hide
# less of the memory's latency. The lesson of this section in one experiment: at this size the kernel's
# parallelism (batch x hidden = 32768 threads) is the scarce resource, so we kept one unit a thread and removed
# the code.
#
# The third group of bars asked about the bytes themselves. U stores a unit's x~, f and r side by side, so when
# the 32 threads of a warp each load their unit's x~, the warp touches 192 bytes to use 64, and the f and r
# loads touch the same sectors again. Laid out as three planes (all the x~ of a row, then all the f, then all
# the r), each load reads 64 neighbouring bytes. Same instructions, same outputs, and the time barely moved
# (148.7 against 150.4 us, `benchmarks/sru-planes-ab-h100.json`): the repeated sectors were not what held it
# back (most likely the L1 cache served the second and third touch). That layout was removed too.
#
# The fourth group changed how many neighbouring units a program owns, so how long a run of U one program
# reads each step: 768 bytes at 128 units in bf16, half of fp32's (`MAX_BLOCK`; copies of the kernel at 64 and
# 256, `benchmarks/sru-block-ab-h100.json`). The forward took the same time at all three, so the run's length
# is not what it lacks either. The backward, which moves nine values a unit-step, did gain from 256 units: 315
# to 285 us, 78% to 86% of the copy bandwidth, and faster at every shape tried (`sru-bwdblock-h100.json`, 88%
# in its own run). Its programs now own up to 256 units in bf16 (`BWD_MAX_BLOCK`).
#
# Four levers on the bytes, and the forward stayed below the dashed line, the target. The fifth went
# back to the instructions. A sigmoid is $\sigma(z) = \tfrac12 + \tfrac12\tanh(z/2)$, and the H100 has a
# one-instruction tanh (`tanh.approx.f32`, error about $2^{-11}$, finer than bf16's own rounding of the gates'
# inputs): each gate becomes one special-function instruction instead of an exponential, a reciprocal and
# the arithmetic between them, 60 to 49 instructions a step (`activations.py`, `HARDWARE_TANH`). The
# forward went from 156 to 139 us, **80% of the copy bandwidth**, and the training forward to 81%
# (`sru-tanh-ab-h100.json`). So the clock experiment's reading was too simple: the time hardly followed the
# clock, yet fewer instructions on each step's chain of dependent operations still shortened it. The
# backward, with fewer instructions too, ran *slower* with the tanh (279 to 293 us), so only the forward takes
# it (`HARDWARE_TANH_2BYTE`). The same change, measured, helped one kernel and not the other: a reason to time
# each.
#
# ## 4. SRU against LSTM, GRU and a convolution
#
# A training step (forward and backward) of one layer, for growing $T$, measured now on this machine. The
# paper's claim is that SRU is "as fast as a convolution" and 5 to 10 times faster than cuDNN's LSTM; the
# dashed lines are what rnnviz measured on a GPU (an H100 or H200, if shipped with your install), with the date. On a CPU,
# the peephole SRU's recurrence is a loop of small torch operations (there is no fused CPU kernel), so here it
# can be *slower* than `nn.LSTM`, whose CPU kernel is fused: speed is a property of a kernel on a machine,
# not of an equation.

# %%
B, D = pick(cpu=4, gpu=32), pick(cpu=64, gpu=512)
Ts = sweep(pick(cpu=256, gpu=1024), points=4, bottom=16)
rows = measure(["rnnviz-sru", "lstm-cudnn", "gru-cudnn", "conv1d"],
               [dict(B=B, T=T, D=D) for T in Ts], device=device, backward=True, budget_ms=100)
here_vs_reference(rows, shipped(["sru"]), title=f"One training step, B={B}, D={D}")

# %% [markdown]
# ## 5. The peephole, and the scan it rules out
#
# With the peephole, the gates depend on $c_{t-1}$, so $c_t$ is a *nonlinear* function of $c_{t-1}$: the
# recurrence must be walked step by step. The 2017 SRU (`peephole=False`) has gates that depend on $x_t$
# only, and then
#
# $$ c_t = \underbrace{f_t}_{a_t} \odot c_{t-1} + \underbrace{(1 - f_t) \odot \tilde x_t}_{b_t} $$
#
# is a **linear recurrence**: a parallel scan solves it in $\log_2 T$ levels (notebook 3). rnnviz offers both
# algorithms, `recurrence="kernel"` (sequential in $t$, parallel over units) and `recurrence="scan"`, and
# `"auto"` picks the scan when there are too few units to fill the machine and the sequence is long. Both give
# the same answer:

# %%
torch.manual_seed(0)
seq = SRU(32, 32, batch_first=True, peephole=False, recurrence="kernel").to(device)
par = SRU(32, 32, batch_first=True, peephole=False, recurrence="scan").to(device)
par.load_state_dict(seq.state_dict())
with torch.no_grad():
    diff = (seq(x)[0] - par(x)[0]).abs().max().item()
print(f"max |kernel - scan| = {diff:.2e}")

# %% [markdown]
# Which is faster depends on how many units run side by side (batch × hidden size), and on the host. Few units
# leave a GPU idle while each thread walks $T$ steps; on the GPU's time alone the scan then wins, because it is
# parallel over $t$ too (H200, batch 1, $T$ = 4096: 0.34 against 2.1 ms, before the kernel's rewrite). But the
# scan route runs more, smaller operations (the gates, the scan, the output, and each one's backward), each a
# launch from Python, about 2.5 ms of the device's slow host a training step whatever $T$. The kernel's walk grows
# with $T$ instead: in the latest H100 run (batch 1, hidden 256) it won *eagerly* up to $T$ = 4096 (1.24 against
# 2.54 ms) and the scan from $T$ = 16384 (2.2 against 4.9 ms; at $T$ = 65536, 5.1 against 19.6). So `"auto"`
# takes the scan from $T$ = 8192. With many units the sequential kernel is parallel enough and reads memory
# once, so it wins either way (batch 32, $T$ = 65536: 76 against 161 ms). A training step, for a growing batch,
# measured here (and, dashed, the latest GPU run shipped):

# %%
T, D = pick(cpu=256, gpu=4096), pick(cpu=64, gpu=256)
Bs = sweep(pick(cpu=8, gpu=32), points=pick(cpu=4, gpu=6))
rows = measure(["rnnviz-sru", "rnnviz-sru-nopeephole-kernel", "rnnviz-sru-nopeephole-scan"],
               [dict(B=B, T=T, D=D) for B in Bs], device=device, backward=True, budget_ms=100)
here_vs_reference(rows, shipped(["sru"]), x="B",
                  title=f"Peephole on/off, kernel or scan (T={T}, D={D}, one training step)")

# %% [markdown]
# ## 6. Eager, or the GPU alone
#
# A training step in a program runs *eagerly*: Python calls each operation, a launcher sends each kernel, the
# autograd engine walks the graph backward. If that host work is slower than the GPU work, the GPU waits. The
# same step can also be captured once as a **CUDA graph** and replayed: then only the GPU's time is left. Two
# runs of the benchmark on an H100 (shipped with rnnviz), one timed each way, minutes apart on one machine, at
# the paper's sizes:

# %%
from rnnviz.course.eager_graph import backward_thread_figure, eager_graph_figure

eager_graph_figure("sru", D=256)

# %% [markdown]
# On the GPU alone the SRU step is the cheapest of all, over ten times the LSTM's speed, as the paper says.
# Eagerly, most of its step is host time on that machine's CPU: the LSTM's one cuDNN call per direction hides
# its host work behind a long GPU time, the SRU's few short kernels cannot. Try `D=512` (more GPU work per
# step: the host's share shrinks) and `dtype="bfloat16"` (less GPU work: it grows).
#
# Part of that host time is a hand-off. By default torch runs a GPU backward on a thread of its own (one per
# device), so the SRU's backward, a Python `autograd.Function`, starts on another thread than the one that
# called `backward()`. The same step, both ways, on that H100:

# %%
backward_thread_figure("sru")

# %% [markdown]
# The Conv1d's backward is one C++ node and hardly notices; the SRU's Python backward pays about 0.2 ms a step,
# more than the GPU's whole step. `torch.autograd.set_multithreading_enabled(False)` keeps every backward on
# the calling thread (for all models alike: the benchmark's `RNNVIZ_AUTOGRAD_THREADS=0`).

# %% [markdown]
# ## Summary
#
# * SRU moves every matrix product out of the recurrence: **one GEMM for all $t$**, then an elementwise chain.
# * The trace shows the real gates and the real split of time between the GEMM and the recurrence.
# * How fast it is depends on the kernel: fused on a GPU, SRU runs near a convolution's speed; as a loop of
#   small operations on a CPU, it does not.
# * A kernel that touches each byte once is not always bound by memory: with two warps per scheduler, the
#   SRU step was paced by the instructions it issued, which the compiler's output shows without a GPU. bf16
#   halves the bytes, not the instructions; cutting the instructions made the bf16 forward 1.5x faster.
# * Without the peephole the recurrence is linear, and a parallel scan can replace the sequential walk.
# * Whether a step is as fast as its GPU work depends on the host too: small, fast kernels leave the GPU
#   waiting on Python and the launchers unless the step is replayed as a CUDA graph.
#
# **Exercise 1.** How many matrix multiplications (GEMM calls) does one SRU layer make for a batch of
# sequences of length $T = 1000$?

# %%
from rnnviz.exercises import check_sru_gemms

answer = None  # an integer
check_sru_gemms(answer)

# %% [markdown]
# **Exercise 2.** Without the peephole, take a constant forget gate $f_t = 0.9$, a constant input
# $\tilde x_t = 1$ and $c_0 = 0$. What is $c_{10}$? (Unroll the linear recurrence, or compute it with a loop.)

# %%
from rnnviz.exercises import check_sru_c10

answer = None  # a number
check_sru_c10(answer)

# %% [markdown]
# **Exercise 3.** In float32 a step of the recurrence moves 20 bytes per thread ($U$: 12 in, $x$: 4 in, $h$: 4
# out), so 640 bytes per warp. The H200 copies 4200 GB/s, and its 528 warp schedulers issue 0.64 instructions a
# cycle each at 1.98 GHz. Up to how many instructions per step (per warp) would the bytes, not the
# instructions, still set the pace?

# %%
from rnnviz.exercises import check_instruction_balance

answer = None  # a number of instructions
check_instruction_balance(answer)

# %% [markdown]
# **Exercise 4.** On the H100, with the backward on the calling thread, one SRU training step (l=128, d=256,
# B=32) took the host 0.30 ms to issue and the GPU 0.18 ms to run (section 6). Steps are issued back to back,
# as in a training loop. How many times faster does the step run when it is captured once as a CUDA graph and
# replayed?

# %%
from rnnviz.exercises import check_graph_speedup

answer = None  # a number (a ratio)
check_graph_speedup(answer)
