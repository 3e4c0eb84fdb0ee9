# %% [markdown]
# # 1 · Why recurrent networks are slow
#
# An RNN computes $h_t = f(h_{t-1}, x_t)$: every state needs the one before it. However many cores your
# machine has, step $t$ cannot start before step $t-1$ has finished. This notebook makes that precise.
#
# **What you will see:**
#
# 1. the computation of an LSTM, a convolution and an SRU unrolled over time as **dependency graphs**;
# 2. their **critical path**: the longest chain of operations that must run one after another, which no
#    amount of parallel hardware can shorten;
# 3. the **time per step measured on this machine**: flat for a recurrent loop (each step waits for the
#    previous one), falling for a convolution (all steps run at once);
# 4. a prediction that works: the time of a loop is (critical path) × (latency of one step).

# %%
import rnnviz
from rnnviz.viz import dependency_graph
from rnnviz.course.sizes import pick, where, on_gpu
from rnnviz.course.measure import measure, sweep
from rnnviz.course.compare import here_vs_reference
from rnnviz.course.reference import shipped

device = rnnviz.default_device()
print("measuring on:", where())

# %% [markdown]
# ## 1. An LSTM, unrolled
#
# Each box is an operation, each arrow a value one operation needs from another. The LSTM cell multiplies
# $h_{t-1}$ by its recurrent weight matrix $W_h$ inside every step:
#
# $$ (i_t, f_t, g_t, o_t) = \sigma / \tanh\,(W_x x_t + W_h h_{t-1} + b), \quad
#    c_t = f_t \odot c_{t-1} + i_t \odot g_t, \quad h_t = o_t \odot \tanh(c_t). $$
#
# So the chain from $h_0$ to $h_T$ (highlighted) goes through **$T$ matrix products**, one per step.

# %%
dependency_graph("lstm", T=6)

# %% [markdown]
# ## 2. A convolution, unrolled
#
# A causal convolution of width 3 computes $y_t = W_0 x_t + W_1 x_{t-1} + W_2 x_{t-2}$. No output needs
# another output: all $T$ of them can be computed at once. Its critical path has length 1 whatever $T$ is.
# The price: $y_t$ only sees 3 inputs. To see far into the past, convolutions must be stacked (exercise 2).

# %%
dependency_graph("conv", T=6)

# %% [markdown]
# ## 3. An SRU, unrolled
#
# The Simple Recurrent Unit (Lei et al. 2017) keeps a recurrence but takes $h_{t-1}$ out of every matrix
# product: the gates read only $x_t$ (and, in the 2018 version, $c_{t-1}$ through an elementwise
# "peephole"). All products $W x_t$ then run as **one big matrix multiplication for all $t$ at once**, off
# the critical path. What remains on it is a chain of cheap elementwise steps:
#
# $$ c_t = f_t \odot c_{t-1} + (1 - f_t) \odot \tilde x_t . $$

# %%
dependency_graph("sru", T=6)

# %% [markdown]
# The same length $T$ of critical path as the LSTM, but each step on it is an elementwise update of a
# vector instead of a matrix product: cheap, and the same for every unit, so thousands of units run side
# by side. Notebook 2 shows SRU in detail; notebooks 3 and 4 shorten the chain itself to $\log_2 T$ with a
# parallel scan (minGRU):

# %%
dependency_graph("mingru", T=8)

# %% [markdown]
# ## 4. Time per step, measured here
#
# Now real layers, timed on this machine with $B$ sequences of hidden size $D$, for growing $T$. We plot the
# time **per time step** (total time / $T$):
#
# * a **loop over `nn.LSTMCell`** pays the same for every step: its line is flat;
# * `nn.LSTM` runs the same dependent steps inside one library call (cuDNN on a GPU): flat too, only lower;
# * `nn.Conv1d` processes all steps at once: its time per step falls as $T$ grows, until the machine is busy;
# * rnnviz's **SRU**: on a GPU its fused kernel walks the elementwise chain inside one launch. On a CPU the
#   peephole SRU runs that chain as a loop of small torch operations, and you will see it pay for it; the
#   2017 SRU without peephole runs as a parallel scan instead (notebook 2 measures both).

# %%
B, D = pick(cpu=4, gpu=32), pick(cpu=64, gpu=512)
Ts = sweep(pick(cpu=1024, gpu=8192), points=pick(cpu=4, gpu=5))
methods = ["lstmcell-loop", "lstm-cudnn", "conv1d", "rnnviz-sru", "rnnviz-sru-nopeephole-scan"]
rows = measure(methods, [dict(B=B, T=T, D=D) for T in Ts], device=device, budget_ms=60)
here_vs_reference(rows, shipped(["sru"]), per_step=True,
                  title=f"Time per step (B={B}, D={D}, forward)")

# %% [markdown]
# Dashed lines, if there are any, are the GPU measurements (H100, H200) shipped with rnnviz (their legend says when they
# were measured), placed beside yours, never mixed with them.
#
# ## 5. The critical path predicts the loop
#
# If the loop is bound by its critical path, its time is about $T \times$ (latency of one step). We time a
# single `nn.LSTMCell` step, and a single elementwise SRU step, at the same $B$ and $D$:

# %%
from rnnviz.course.latency import step_ms
import plotly.graph_objects as go

lstm_step = step_ms("lstm-step", B, D, device=device)
sru_step = step_ms("sru-step", B, D, device=device)
loop = {r["T"]: r["ms"] for r in rows if r["method"] == "lstmcell-loop" and r["ms"]}
fig = go.Figure([
    go.Scatter(x=list(loop), y=list(loop.values()), mode="markers+lines", name="loop over LSTMCell, measured"),
    go.Scatter(x=list(loop), y=[T * lstm_step for T in loop], mode="lines", line=dict(dash="dot"),
               name=f"T × one LSTMCell step ({1e3 * lstm_step:.0f} µs)"),
    go.Scatter(x=list(loop), y=[T * sru_step for T in loop], mode="lines", line=dict(dash="dot"),
               name=f"T × one elementwise SRU step ({1e3 * sru_step:.0f} µs)"),
])
fig.update_layout(title="Critical path × step latency predicts the loop", xaxis_type="log", yaxis_type="log",
                  xaxis_title="T (log scale)", yaxis_title="milliseconds (log scale)", height=400,
                  template="rnnviz")
fig

# %% [markdown]
# The loop lands on $T \times$ one step. Notice how long one step takes compared with the arithmetic it
# does: a $[B, D] \times [D, 4D]$ product at these sizes is a few hundred thousand multiply-adds, work a
# modern core does in microseconds; most of a step is the fixed cost of launching the operations. A chain of
# $T$ dependent steps pays that fixed cost $T$ times. The two ways out, which the rest of the course
# follows:
#
# * make each step on the chain **cheap and fused** (SRU: one kernel walks all $T$ steps), or
# * make the chain **shorter** (parallel scans: $\log_2 T$ levels; DEER: a few Newton iterations of scans).
#
# ## 6. Stacked layers: a wavefront
#
# Real models stack layers. Layer 2 at step $t$ needs layer 1 at step $t$ and itself at step $t - 1$, so layer
# 2 can start step 1 as soon as layer 1 has finished it: the layers work on different steps at the same time,
# a diagonal **wavefront**. Here two LSTM layers over $T = 5$ steps; the title counts the critical path:

# %%
dependency_graph("lstm", T=5, layers=2)

# %% [markdown]
# ## Summary
#
# * The **critical path** is the longest chain of dependent operations; with unlimited parallel hardware, it
#   is the time. An LSTM's has $T$ matrix products, a convolution's has 1, an SRU's has $T$ elementwise steps,
#   a minGRU's $\log_2 T$ combines.
# * Measured: a recurrent loop costs the same per step at every $T$; a convolution gets cheaper per step as
#   $T$ grows. The loop's time is predicted by $T \times$ the latency of one step.
#
# **Exercise 1.** Stack two LSTM layers: layer 2 at step $t$ needs layer 1 at step $t$ and itself at step
# $t-1$. How many cell steps long is the critical path of a **3-layer** LSTM over $T = 100$ steps?
# (Layers can work on different time steps at once, like a wavefront.)

# %%
from rnnviz.exercises import check_stacked_critical_path

answer = None  # an integer number of cell steps
check_stacked_critical_path(answer)

# %% [markdown]
# **Exercise 2.** A stack of causal convolutions of width 3 (each layer sees its own step and the two before)
# has a critical path of one layer per layer, but a limited view of the past. How many layers are needed so
# that the last output of a $T = 64$ sequence depends on the first input?

# %%
from rnnviz.exercises import check_conv_layers_for_receptive_field

answer = None  # an integer number of layers
check_conv_layers_for_receptive_field(answer)
