# %% [markdown]
# # 7 · Inside the scan kernel: bytes, launches, carries, layouts
#
# Notebook 3 built the linear scan $h_t = a_t \odot h_{t-1} + b_t$ from associative pairs, showed the chunks and
# carries of a real run, and measured it against the copy bandwidth: a scan reads $a$ and $b$ and writes $h$, so
# memory sets its speed. This notebook is for readers who want to know how a GPU kernel gets there, and where it
# does not yet. Most figures are measurements shipped with the package (an H200, `benchmarks/`), with the
# script that made each named under it, since they need a GPU; one is measured on your machine as you run
# it. **What you will see:**
#
# 1. why a kernel needs megabytes of loads in flight, what Triton's pipeliner buys, and why its instructions
#    are not the limit;
# 2. how one call of a scan splits between the host (Python, the launch) and the GPU, on the H200 and on your
#    machine, and what that does to a race with another package;
# 3. where a small call's host microseconds go, and how rnnviz cut them;
# 4. how one sequence of a few channels fills a GPU: the decoupled look-back, clocked by the kernel itself, and
#    reduce-then-scan, and how the timer itself (its L2 flush) had been taking microseconds from every call;
# 5. the same scan on `[B, D, T]` memory, where a few channels still load wide, and a one-read join that lost.

# %%
from rnnviz.course import scan_kernels, scan_layouts
from rnnviz.course.eager_graph import eager_graph_figure
from rnnviz.course.launch_path import launch_path_figure
from rnnviz.course.sizes import where

print("running on:", where(), "- all figures but one are the shipped GPU runs")

# %% [markdown]
# ## 1. Bytes in flight
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
scan_kernels.in_flight_figure()

# %% [markdown]
# float32 nearly reaches the ceiling with one chunk; bfloat16, half the bytes per chunk, needs three.
# The kernel is `kernels/linear_scan/chunk.py`; the tiles each GPU takes, measured by
# `scripts/scan_sweep.py`, are in `kernels/linear_scan/tuned.py`.
#
# Could the walk run short of instructions instead? Notebook 2 found the SRU kernel paced by the instructions
# it issues. Count the scan's the same way (its loop compiled for sm_90 here, with the H200's tile) and set
# them against its bytes, at the wide shape of the shipped bench run:

# %%
from rnnviz.course.bounds import bound_figure, scan_bounds

bound_figure(scan_bounds())

# %% [markdown]
# A few instructions per element (under each pair of bars) against 12 or 6 bytes: even at one instruction a
# cycle per scheduler they take a fraction of the time the bytes take. Each thread scans 16 steps of its own
# channels in registers, and tens of thousands of threads issue independent work, so this kernel is bound by
# memory, and float32 runs at the copy bandwidth. bfloat16 read 89-90% of copy at this shape in that run
# and 99% timed alone: not its instructions, then.
#
# What it was, on the H100 at least, was the tile. The H100 and the H200 are one chip (132 SMs, the
# same caches) with different memories: 3.0 against 4.2 TB/s. The same sweep of bf16 tiles on each
# (each bar a fraction of that GPU's own copy bandwidth):

# %%
scan_kernels.tile_figure()

# %% [markdown]
# The H200's best tile (16 rows × 4 warps × 1024 channels, 3 chunks in flight) moves 96% there and 89% on
# the H100; the H100's (8 rows × 2 warps × 512 channels, 4 in flight) moves 98% there and 96% on the H200.
# Why, the sweeps do not say: the tiles differ in the registers a thread holds, the warps on an SM and the
# loads each keeps in flight, and the memories in bandwidth and latency. They measure; the table keeps the
# winner. So `tuned.py` keys its table by GPU, and a GPU's own entries override its twin's class by class
# (`kernels/linear_scan/launch.py`, `_tuned_for`). A sweep is noisy too: one tile read 90% and 97% of the
# H200's copy in two sweeps 13 minutes apart; the table keeps what won where it was measured.
#
# ## 2. Host or GPU?
#
# A call of `linear_scan` is also Python: argument checks, an autograd node, Triton's launcher
# (which inspects each of the kernel's 30 arguments), and only then a kernel. Timing the call alone
# counts all of that; replaying it from a CUDA graph counts the kernels only. Both were measured on
# the H200 (`scripts/timing_modes.py`):

# %%
scan_kernels.host_share_figure()

# %% [markdown]
# For 2 GB of data the host is a few percent of the call. For one sequence of 64 channels (50 MB),
# the kernel takes about 50 microseconds and the host three times as long: there the speed of a scan
# is the speed of its launch, unless many calls are queued back to back or captured in a graph.
#
# The two regimes show on whatever machine runs this notebook. One call of the scan and one copy, from
# a few kilobytes to tens of megabytes, timed here now:

# %%
import rnnviz
from rnnviz.course.measure import measure, sweep
from rnnviz.course.sizes import pick

Ts = sweep(pick(cpu=65536, gpu=1 << 20), points=pick(cpu=13, gpu=17), bottom=16)
rows = measure(["rnnviz-scan", "copy"], [dict(B=1, T=T, D=64) for T in Ts],
               device=rnnviz.default_device(), budget_ms=30)
scan_kernels.call_time_figure(rows)

# %% [markdown]
# Each line is flat on the left, where a call costs its fixed price whatever it moves, and rises on the
# right, where the bytes set the time. On a GPU the fixed price is the launch path (about 25 µs for the
# scan on the H200) and the scan's line runs into the copy's once the call is large. On a CPU the scan is
# the torch path: its fixed price is a few dozen torch operations, each a Python call, and it stays well
# above the copy, since it makes several passes over memory.
#
# That decides races too. `accelerated-scan` (PyPI) launches its kernels with a handful of
# arguments; here are one forward scan of each method, queued back to back (eager) and replayed as a
# graph, from two runs of `python -m rnnviz.bench scan` on the H200:

# %%
eager_graph_figure("scan", T=16384)

# %% [markdown]
# As kernels the two packages are within a few microseconds of each other at this size, and the
# log-space scan of the minGRU paper is hundreds of times slower; eagerly, the launch path decides.
# Try `T=1024` (rnnviz's kernel is twice as slow as theirs there) and `T=65536` (it passes their
# scalar kernel, not yet their warp kernel).
#
# ## 3. The launch path
#
# Where does a small call's host time go? `scripts/launch_host.py` timed one forward at $B = 1$,
# $T = 1024$, $D = 64$ on the H200's host layer by layer, from the op down to the compiled launcher
# that Triton's launch ends in:

# %%
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
# The launcher itself had one more price per argument. For each tensor it calls `data_ptr()` and
# asks the driver whether the pointer is a device pointer (`cuPointerGetAttribute`), and the scan's
# kernel takes nine tensors (absent ones stand in as the output; SRU's take eleven and thirteen).
# The cached launch reads every pointer anyway, to check its alignment, so it now hands the launcher
# those integers, which it takes as they are. Timed in `accelerated-scan`'s own rounds on the H100
# (`benchmarks/scan-small-launch-h100.json`), rnnviz's small calls went from 0.70-0.98x the speed
# of `accelerated-scan`'s Triton kernel to 0.88-1.30x, at least as fast in 5 of 8 cases. Its CUDA C++
# kernel still wins the forward+backward: a C++ extension reaches the GPU with less Python between.
#
# Part of that launch path was once a second launch. The sequence-parallel kernel below coordinates its
# programs through flags in memory, which must be zero when it starts, and a memset launch zeroed
# them before every call. Now the last program to finish zeroes them for the next call, and the
# buffers are kept per CUDA stream. A graph being captured gets buffers of its own, because its
# replays may run on any stream.
#
# ## 4. Few channels: the look-back, as the kernel clocked it
#
# With one sequence of 64 channels the channel walk has 4 programs for 132 SMs, so the scan cuts T
# into chunks instead: each program loads one chunk, publishes it as one affine step, looks back at
# earlier chunks' published states for its carry, then applies it (`kernels/linear_scan/seqpar.py`).
# Asked to (`scan_fwd(..., timeline=True)`), every program writes down the GPU's global clock at each
# of those moments. Here is one forward on the H200, one row per program (this one-chunk kernel is
# still the path of the backward and of bfloat16; float32's forward has since moved, see below):

# %%
scan_kernels.lookback_timeline_figure()

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
scan_kernels.carry_figure()

# %% [markdown]
# On the GPU alone (solid) reduce-then-scan wins most backward passes (at D = 16, T = 2^20: 158 µs
# against 206) and the forward at D = 64. Eagerly (hatched) its three launches cost the host about
# twice the look-back's one, and the forward at D = 64 turns from 42 µs on the GPU into 57 µs of
# calls, slower than the look-back's 48. So the tuned table takes each where its measured calls
# were faster, not its kernels alone: on the H200 the look-back for float32's forward, reduce-then-scan
# for bfloat16's forward over 257 to 4096 channels and for the backward there beyond T = 32768. (The
# H100, on a faster host, measured its own: reduce-then-scan for float32's forward of up to 256
# channels beyond T = 32768, 42 µs against 49 at D = 64, eager within 2 µs of the GPU's time.)
#
# Where does the time go, then? The H100 swept over forty tiles for one sequence of 64 channels
# (`scan-sweep16-h100.json`, `scan-sweep64-h100.json`): more rows, more warps, more loads in flight, and
# every one took 48 to 60 µs, where the issue asks for 33. When every lever lands on the same number, time
# the pieces (`scripts/scan_breakdown.py`, torch's profiler: each kernel's own time on the GPU):

# %%
scan_kernels.stage_figure()

# %% [markdown]
# Read it from the middle. With 2112 programs, reduce-then-scan's three kernels add up to 36 µs, 46% of
# the copy bandwidth: the reduce reads $a$ and $b$ at 80% of it, and the apply reads them again mostly
# from the L2. Fewer, longer segments (528, 264 programs) leave SMs short of loads in flight and slow
# both walks; more (8448) make the summaries themselves a long sequence, and their scan grows from 7 to
# 23 µs. And the whole call, timed the way every sweep timed it, is 10 to 12 µs longer than its
# kernels in every case, one launch or three. That gap, not any tile, is what stands between 36 and 48
# µs. Two suspects: the profiler's calls back to back find part of the inputs still in the 50 MB L2,
# and the timer's flush (64 MB of zeros before each repetition) leaves the L2 full of dirty lines that
# the timed call must write back before it can use them. `scripts/flush_ab.py` times the same calls
# after both flushes, beside an add that moves the scan's bytes:

# %%
scan_kernels.flush_figure()

# %% [markdown]
# The timer was the culprit, for every call alike: after the zeros alone, an add of 50 MB ran at 72%
# of the copy bandwidth; after the zeros and a read of 256 MB, which leaves the L2 clean, at 94%. The
# flush had charged each call 3 to 9 µs of writes it never made, the scan's rivals as much as the
# scan. Since then the timer flushes clean (`RNNVIZ_FLUSH=clean`, the default). A second lesson hid
# in the same flush: it is GPU work queued *before* the timed call, so while the GPU flushes, the host
# is already issuing the call, and a call bound by its host's work looks up to the flush's time
# (~0.11 ms) faster than it is. Timing back to back, the bench now also measures the host's own pace
# (the calls issued with no flush between them) and reports the slower of the two.
#
# With the timer fixed, the breakdown pointed at the middle kernel: the summaries' scan walks a few
# thousand steps, latency-bound, and 16-channel programs gave it only four programs at D = 64. With
# 4-channel programs it took 3.5 µs instead of 6.6 (`scan-breakdown-tiles-h100.json`), and the whole
# call 39 µs: 43% of the copy bandwidth at D = 64, and 52% for 16 channels at $T = 2^{20}$, where
# the issue asks for 50. At D = 64 the rest is still open on this layout; the next one meets it
# (62% on the H100).
#
# Two more changes came after. Reduce-then-scan's three launches each waited for the one before
# to finish, and the GPU idled between them. Hopper can start a kernel while the one before is
# still finishing (programmatic dependent launch): the second and third kernels are launched to
# overlap, and each waits inside the kernel (`griddepcontrol.wait`) before it reads what the one
# before wrote (`ScanConfig.pdl`). Then the backward took tiles of 8 rows in one warp instead of
# 4 rows in two. Each candidate ran through the op, in rounds beside accelerated-scan's warp kernel:

# %%
scan_kernels.entry_ab_figure()

# %% [markdown]
# Overlapping saved about 1.8 µs of a forward call; a backward of one look-back launch lost 4 µs;
# the 8-row tiles saved another 2.8 µs, and took the scan past the CUDA C++ kernel both ways, on
# the GPU. Called eagerly, back to back, the same calls are paced by the host: a step issues six
# Triton launches from Python where the warp kernel issues two from C++ (about 250 against 147 µs
# on a fast host, `benchmarks/profile-host-h100-s45.txt`).
#
# That still leaves the forward at 43% of the copy bandwidth. Nsight Compute on its three kernels
# (`benchmarks/scan-ncu-h100.txt`) gave a suspect: the reduce kernel kept its L1 82% busy while its
# DRAM traffic ran at a third, and a third of its stalls waited on MIO, where warp shuffles go. In the
# chunked walk the sub-chunks of a chunk sit on different lanes, so every chunk ends with a scan
# across lanes. The kernels can walk a segment another way: give each lane group a contiguous run of
# its own, fold it in registers, and let the lanes meet once, at the segment's end
# (`ScanConfig(split=True)`, `kernels/linear_scan/reduce_scan.py`):

# %%
scan_kernels.lane_walk_figure()

# %% [markdown]
# Same bytes, same result, a fraction of the exchanges. Through the op, beside the shipped entry:

# %%
scan_kernels.lanes_ab_figure()

# %% [markdown]
# Slower: 41.2 µs against 38.8 for the forward. The profiler named the symptom, not the bound. In
# the split walk a load's lane groups read rows a whole run apart instead of neighbouring rows, and
# that costs more than the shuffles saved. A profile says where a kernel waits; only the change,
# timed, says what it buys. The split walk stays in the library, tested, for you to try.
#
# The same profile had a second reading: the L1 itself was busy. Here is what each load
# instruction of one warp reads, in the shipped tile and in a tile with one channel a lane
# (`ScanConfig(vec=1)`: a row of the tile is one load across the lanes, and each lane folds its
# rows alone, exchanging nothing):

# %%
scan_kernels.warp_load_figure()

# %% [markdown]
# Eight lines for 64 bytes of each, against one whole line: the textbook picture of coalescing
# says the second must win. Timed through the op:

# %%
scan_kernels.chlane_ab_figure("float32")

# %% [markdown]
# 2.2 times slower. The memory was not the reason; the compiler was. Which of the tile's
# dimensions gets the lanes is Triton's choice, and the device's Triton (3.6) gave this tile's
# rows 16 lanes, so each lane's "fold alone" became 256 shuffles a loop; the Triton here keeps
# the rows in a thread. `python scripts/sass_loop.py scan-d64-fwd` prints the layouts and
# shuffles under whichever Triton you run it with: it found the shipped tile on the device
# with 144 shuffles a loop where this machine compiles 16. What ran is what the GPU's own
# compiler made, not what the source says. In bf16 the entry shipped then was a one-chunk
# look-back, and the same layout, two channels a lane, came with reduce-then-scan:

# %%
scan_kernels.chlane_ab_figure("bfloat16")

# %% [markdown]
# 1.5 times faster, and ahead of accelerated-scan's CUDA kernel: the H100's bf16 entry takes it.
# But it changed two things at once, the carry and the lanes, and fp32 says the lanes did not
# pay. Which one did is the next A/B: one change at a time.
#
# Back to the shipped tile and its 144 shuffles. Triton gives the lanes first to the channels,
# then to one of the tile's two other dimensions, the rows $R$ or the sub-chunks $S$; which one is
# a tie-break, and 3.6 breaks it one way, 3.7 to 3.9 the other. So present it the other way round:
# load and store through the tile's `[S, R, BLOCK_D]` view (`tl.permute` of the pointers, a
# relabelling: no element moves, the same bytes are read) and permute back. Under 3.6 the loop is
# then 150 instructions and 16 shuffles, as 3.9 compiles the tile as written. It is
# `blocks.SUBCHUNK_MAJOR`, on where Triton is older than 3.7, and the fused minGRU kernels load
# through it too. Timed on the device, a process each:

# %%
scan_kernels.view_ab_figure("float32")

# %% [markdown]
# The same kernels, the same bytes, one relabelling: 39.0 µs down to 33.6 forward, 88.7 to 78.9
# with the backward, and bf16 and every other shape faster too. The lesson of this section in one
# line: the source says what to compute; where each value lives is the compiler's, and it can
# change under you with a version number.
#
# ### One read, not two
#
# Between one sequence and thousands of channels lies the middle: $B = 4$, $D = 256$, 1024
# channels, too few for the channel walk to fill the GPU, so $T$ is cut too. The joins above read
# every segment twice, once to summarise it and once to apply its carry: for $N$ elements of $h$
# they move $5N$ elements where the scan needs $3N$. A program that holds its one chunk in
# registers while it looks back for its carry reads it once (section 4's kernel, 16 rows x 4 warps
# x 32 channels a program), and so can the backward, itself a reverse scan. On the H100, against
# the entry shipped until then:

# %%
scan_kernels.one_read_figure()

# %% [markdown]
# Reading once took the forward from 125.2 to 91.9 µs (54% to 73% of copy), and the forward +
# backward from 300.9 to 218.6 µs once the backward read once too. It is now the H100's entry for
# 257 to 4096 channels: forward + backward 1.3-3.2x faster than the entry before at the six shapes
# timed against it (`benchmarks/scan-entry-ab-medlb-*-h100.json`). Forward + backward it now matches
# `accelerated-scan` on its own `[B, D, T]` layout (217.4 µs); its forward is still faster (69.4 µs):
# the look-back's waits are what is left. Here they are, as that kernel clocked them on the H100:

# %%
scan_kernels.medium_timeline_figure()

# %% [markdown]
# 2048 programs, never more than 264 at once: two per SM, because holding a 256-step chunk of 32
# channels takes 254 registers a thread. A program spends about 4.7 µs loading and summarising its
# chunk and about 3.5 µs in the look-back, and while both programs of an SM wait for their carries,
# nothing on that SM is loading. Counted over time, program by phase:

# %%
scan_kernels.medium_phases_figure()

# %% [markdown]
# The first wave loads all at once and then waits all at once, and the waves die down only slowly.
# The room is not full either: on average 200 programs are alive of the 264 that fit, because a
# program's place on its SM is free for the next one only some time after its last store is issued.
# Both are what a faster forward has to win back.
#
# One way to shorten the wait was to cut its round trips: publish each value and a launch tag in
# one 64-bit word, so a word seen is a value written, with no flags to read first
# (`ScanConfig.packed`). Here it is in bfloat16 beside the flags, in two runs:

# %%
scan_kernels.packed_figure()

# %% [markdown]
# In the first run the words beat the flags (503.6 against 536.4 µs forward), and in the same call
# a GPU test failed: where a window has fewer words than the program has threads, several threads
# load each word, one can see it written while another does not, and the reductions over the window
# mixed the two views into a stale carry. With the threads agreeing on one copy first, as the flags
# always did, the words were slower than the flags (614.9 against 535.6 µs). So were persistent
# programs that load their next chunk while they wait (holding two chunks halves each), and
# persistent programs that take one chunk at a time (`benchmarks/README.md`, nineteenth and
# twentieth sessions). Loading ahead into shared memory is what Triton's software pipeliner does
# for a `for` loop, but compiled for the H100 it leaves any loop alone that has the look-back's
# polling loop inside.
#
# What a program can do without a register to spare is ask: `prefetch.global.L2` names an address
# and returns at once, and the L2 fetches the line while the program goes on. Here each program,
# once its own chunk is in registers and before it looks back, asks for the chunk of the program
# `n` tickets later, about one wave of the programs that fit (`ScanConfig.ahead`,
# `seqpar.prefetch_chunk`):

# %%
scan_kernels.prefetch_figure("bfloat16")

# %%
scan_kernels.prefetch_figure("float32")

# %% [markdown]
# In bfloat16 asking 264 tickets ahead made the forward 2.7% faster here (7% at B=3, T=40001,
# D=300), and the H100's bfloat16 entry for a few hundred channels at T > 32768 takes it. Asking
# twice as far was slower: lines asked for that early have longer to be pushed out of the L2
# before their program comes (our reading; the run measured only the time). In float32 every
# distance was slower. There a program's chunk is twice the bytes (32 KB of each input against
# 16 KB), and by our reading the prefetches only lengthened a queue of loads that was already
# long.
#
# The wait itself was four trips to the L2 a look-back round: the flags, their copy read back so
# that every thread decides from one view, the aggregates the flags vouch for, then the inclusive
# state. Two of them need not go so far. The copy is written and read by threads of one program, on
# one SM, with a barrier between: the barrier already makes each thread's store visible to the
# others, so a plain load, which the SM's L1 may serve, does where a volatile one went to the L2.
# And which inclusive state to read is known from the flags alone, so it can be asked for with the
# aggregates instead of after them (`ScanConfig.fewer_trips`):

# %%
scan_kernels.trips_figure("bfloat16")

# %%
scan_kernels.trips_figure("float32")

# %% [markdown]
# At B=3, T=40001, D=300 forward + backward took 13% less time in bfloat16 and 9% less in float32,
# and both now beat `accelerated-scan` there, forward and forward + backward. At the class's other
# shapes it gained 0.5-3%; the H100's entries for a few hundred to 4096 channels all take it. The
# same run answered a smaller question: the middle bar drops the backward's prefetch, 1% faster
# here and 2% slower at the class's two other shapes, so the backward keeps it. A later run at
# 16 channels and T = 2^20 found the same: bfloat16 4% faster both ways, and float32 2% faster
# forward + backward (there only its backward looks back); those entries take it too. With two
# trips a round the look-back then won float32's forward at those 16 channels as well, in chunks
# of 16 rows: 102 µs against reduce-then-scan's 117 (66% of copy), forward + backward 254 against
# 273, so that class now reads its inputs once both ways. The next run put the backward in 16-row
# chunks too (forward + backward 233 µs, 77% of copy), and bfloat16's look-back both ways (79 / 185
# µs against 92 / 200 in 8-row chunks).
#
# Two trips also changed the answer at 64 channels. There every entry so far ranked its
# candidates as graph replays, the GPU's time alone, and reduce-then-scan won: three launches a
# pass, overlapped. Timed back to back as well, where the host issues each call and pays for each
# launch, the same candidates rank differently (one run each, the host a slow one):

# %%
scan_kernels.eager_figure("bfloat16")

# %%
scan_kernels.eager_figure("float32")

# %% [markdown]
# In bfloat16 reduce-then-scan stays the fastest on the GPU (24 µs against 34), but eagerly the
# one-launch look-back is 1.8x faster forward and 1.6x faster forward + backward: the host's
# launches, not the GPU, set that pace. So an entry of the tuned table can carry an *eager part*,
# which calls that no CUDA graph captures take (`launch.pass_entry`; the op asks
# `torch.cuda.is_current_stream_capturing()`). Its first GPU test failed: a kernel's first launch
# loads its module, and a capture warmed up eagerly had never launched the graph's kernels, so
# now an eager part's first call runs the graph's plan once too. In float32 the one-read look-back
# in two trips wins both ways (forward + backward 69.5 µs against 77.7 as graphs), so it simply
# became the entry. A later run found the same split in bfloat16 at a few hundred channels and
# T <= 32768 (B=2, T=8192, D=512: forward 34 µs by reduce-then-scan against 44 by the one-read
# look-back as graphs, but 99 against 57 back to back), so that class got an eager part too.
#
# ## 5. The same scan on the other layout
#
# Everything so far read $a$ and $b$ as `[B, T, D]`: one time step's $D$ channels side by side in
# memory, as `nn.LSTM(batch_first=True)` keeps them. `nn.Conv1d`, and every model built on it, keeps
# `[B, D, T]`: one channel's $T$ steps side by side. Here are the memory offsets of one short
# sequence in each, and what one wide load of each kernel reads:

# %%
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
# With few rows the time kernel cuts each row into parts as well, and has the same two ways to
# join their carries. On this layout the look-back looked like the better one: a row has tens of
# parts, not thousands, and a part of one chunk can hold it in registers while it looks back, so
# the inputs are read once, in one launch (`TimeConfig(lookback=True)`). One sweep timed every
# config with both joins (`scripts/scan_time_sweep.py --join both`); here is the fastest at each
# number of parts:

# %%
scan_layouts.join_figure()

# %% [markdown]
# At 64 channels one part per row is fastest (27.6 µs at $T = 65536$): 64 programs walking their
# rows, and every cut costs more than it gains. At 16 channels one part a row leaves the GPU
# nearly empty (331 µs) and any cut helps, reduce-then-scan's most (97 µs). The look-back is
# slower at every cut: its fastest parts are long, read twice like reduce-then-scan's, and then it
# waits; the held chunk reads once but needs a part per chunk, 256 a row at $D = 16$, and took
# 170 µs. One launch and fewer bytes did not make it faster, so the tuned table never picks it. Where
# its programs wait would take the kernel's clock, as in section 4: an experiment left open.
#
# Reduce-then-scan reads every part twice, so the order of the first read matters. All parts are
# summarised at about the same time, and what is left in the L2 afterwards is what each part read
# last. Reading a part's chunks last to first in the summary leaves in the L2 exactly the chunks the
# second walk starts on. On an H100 at 16 channels and $T = 2^{20}$, this took the forward from
# 129.5 to 125.0 µs in float32 and from 72.2 to 67.0 µs in bfloat16
# (`benchmarks/scan-summary-ab-d16-h100.json`). That is 54% and 50% of the H100's copy bandwidth.
# Before the change the H100 reached 52% and 47%, and the H200 49% and 42% of its faster memory's. A
# latency-bound kernel comes closer to a slower memory's bandwidth.
#
# ## Summary
#
# * A memory-bound kernel needs bandwidth x latency bytes in flight, megabytes on a GPU: a chunk per thread is
#   enough for float32; bfloat16 needs the pipeliner to keep loading while it computes. Its instructions, counted
#   from the compiled loop, take a fraction of the bytes' time: unlike the SRU step of notebook 2.
# * For small problems the host's launch path, not the kernel, sets the time of one call: measure a call eagerly
#   and as a graph replay, and compare packages both ways.
# * Few channels and long $T$: cut $T$ among programs and join the pieces' carries, in one launch (look-back) or
#   three (reduce-then-scan); the kernel's own clock shows where the time goes, and only a measurement says which
#   join wins: fewer launches and fewer bytes lost on the H200 at 16 channels, and one read won on the H100 at 257 to 4096 channels.
# * Check the stopwatch before the kernel: a flush that leaves dirty lines in the L2 charged every 50 MB call
#   3-9 µs, and a flush queued before the call hides up to its own time of the host's work.
# * Store a sequence so that its loads are wide: on `[B, D, T]` a chunk of one channel is one load.
#
# **Exercise 1.** A bfloat16 scan of $B \times D = 4096$ channels loads, for each chunk a thread has in flight,
# 16 steps of $a$ and of $b$ for every channel. How many chunks must be in flight at once to keep the 4.2 MB
# of loads outstanding that 4.2 TB/s needs?

# %%
from rnnviz.exercises import check_chunks_in_flight

answer = None  # chunks
check_chunks_in_flight(answer)

# %% [markdown]
# **Exercise 2.** One sequence of $D = 64$ float32 channels is stored as `[B, T, D]`. How many bytes
# apart in memory are steps $t$ and $t + 1$ of one channel? (On `[B, D, T]` they are 4 bytes apart:
# that is the whole difference between the two kernels' loads.)

# %%
from rnnviz.exercises import check_step_stride_bytes

answer = None  # bytes
check_step_stride_bytes(answer)

# %% [markdown]
# **Exercise 3.** A training step takes its host 300 µs to issue, and its one kernel, queued at
# the end of that, runs 50 µs on the GPU. The timer queues a flush of 110 µs of GPU work, the start
# event, the step, and the end event, all onto an idle GPU, the host issuing the flush and the
# start event at once. What do the two events read, in µs? (Issued one after another with no
# flush, such steps take 300 µs each: the host's pace, which the bench now takes when it is the
# larger.)

# %%
from rnnviz.exercises import check_flush_head_start_us

answer = None  # µs
check_flush_head_start_us(answer)
