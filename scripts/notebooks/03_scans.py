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
# parallel; inside a chunk the GPU kernel combines in a tree, as drawn below, and the CPU twin step by step), then
# passes a **carry** from chunk to chunk, and finally each element takes the carry entering its chunk. Here is a real run, recorded by `rnnviz.trace()`: the values on the nodes
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
# makes several passes over the data (the chunks' local scans, the carries, the final apply), each step of a
# chunk a torch operation called from Python, and reaches only a small fraction of the copy bandwidth; which torch formulation wins there depends on the sizes
# and the machine (the log-space one makes fewer passes but computes `log` and `exp` for every element).
#
# How does a kernel get close to that ceiling, why does one call of a small scan cost more on the host than
# on the GPU, how do a few channels of a long sequence fill a whole GPU, and what changes when the
# sequence is stored the other way round? **Notebook 7** opens the kernel up, with the measurements of each
# step.
#
# ## Summary
#
# * The steps of a linear recurrence are pairs that compose associatively; that is all a parallel scan needs.
# * Hillis-Steele: depth $\log_2 n$, work $n \log_2 n$. Blelloch / Brent-Kung: depth $\approx 2\log_2 n$, work
#   $\approx 2n$. The kernel chunks time: local scans in parallel, then a short chain of carries.
# * The log-space formulation exists because `cumprod`/`cumsum` overflow; a scan of pairs needs neither logs nor
#   positive inputs.
# * A scan is memory-bound: the copy bandwidth is its speed limit (notebook 7: how the kernel reaches it).
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
