"""The dense-matrix linear recurrence h_t = J_t h_{t-1} + b_t as a chunked Triton scan.

Elements of the scan are pairs (J_t, b_t) with the associative combine
(J2, b2) o (J1, b1) = (J2 J1, J2 b1 + b2). The sequence is cut into chunks of C steps and
solved in three launches, the structure of the chunked linear scan:

1. ``_chunk_summary``: one program per (chunk, batch row) folds its chunk from the identity,
   P_c = J_{end} ... J_{start} and e_c = the chunk's local scan from h = 0 (C products D x D;
   ``tl.dot`` on tensor cores when D >= 16, a broadcast-and-sum in registers below).
2. ``_chunk_carries``: one program per batch row walks the chunks in order,
   carry_{c+1} = P_c carry_c + e_c (n_chunks matrix-vector products). That walk is itself
   a dense recurrence with elements (P_c, e_c): from ``RECURSE_CHUNKS`` chunks on it is
   solved by this same scan, recursively, instead of one step after another.
3. ``_chunk_apply``: one program per (chunk, batch row) re-runs its chunk from its carry,
   h_t = J_t h_{t-1} + b_t (matrix-vector products, exact in float32), and writes h.

For D <= 8 (``LANE_MAX_BD``) and B * T >= ``LANE_MIN_STEPS`` steps 1 and 3 run a chunk per
thread instead of a chunk per program (``_chunk_summary_lanes``, ``_chunk_apply_lanes``):
each thread holds its chunk's D x D matrices whole, so a step's products are plain
multiply-adds with no data crossing lanes; at D = 8 each J_t comes in with 16 vector loads
(``_load_j8``). On the H200 at B = 16, T = 1e5, D = 8 the scan's GPU time fell from 0.72 ms
(a chunk per program) to 0.38 ms (benchmarks/deer-newton-sweep-h200-vec.json).

The apply step can also add a base to what it stores (``add``: Newton's iterate plus its
correction, in one pass).

``REVERSE`` runs time backwards: h_t = J_t h_{t+1} + b_t from h_T = h0. J may be any
strided view (a transposed ``J.mT`` costs no copy), which the DEER backward uses for the
adjoint recurrence lambda_t = g_t + J_{t+1}^T lambda_{t+1}. The next step's J_t and b_t are
loaded one step ahead so that the loads overlap the recurrence.

Compute only: this module imports torch and triton, nothing of rnnviz.
"""
from __future__ import annotations

import math

import torch
import triton
import triton.language as tl

from .. import cdiv, interpreting, next_pow2


@triton.jit
def _matvec(A, v):
    """A @ v for a [BD, BD] tile and a [BD] vector."""
    return tl.sum(A * v[None, :], axis=1)


@triton.jit
def _matmul(A, B, USE_DOT: tl.constexpr, PREC: tl.constexpr):
    """A @ B for [BD, BD] tiles: tensor cores when USE_DOT (BD >= 16), registers otherwise."""
    if USE_DOT:
        return tl.dot(A, B, input_precision=PREC)
    else:
        return tl.sum(A[:, :, None] * B[None, :, :], axis=1)


@triton.jit
def _time(s, T, REVERSE: tl.constexpr):
    # tl.cast, not .to: under the interpreter a loop index is a plain int
    if REVERSE:
        return tl.cast(T - 1 - s, tl.int64)
    else:
        return tl.cast(s, tl.int64)


@triton.jit
def _load_step(j_ptr, b_ptr, s, n_end, T, sJt, sJi, sJj, sbt, sbd, i, mi, mij,
               REVERSE: tl.constexpr):
    # a vector, not a scalar, so that the interpreter can combine it with the masks
    live = (i * 0 + s) < n_end
    t = _time(tl.minimum(s, T - 1), T, REVERSE)
    Jt = tl.load(j_ptr + t * sJt + i[:, None] * sJi + i[None, :] * sJj, mask=mij & live[:, None],
                 other=0.0).to(tl.float32)
    bt = tl.load(b_ptr + t * sbt + i * sbd, mask=mi & live, other=0.0).to(tl.float32)
    return Jt, bt


@triton.jit
def _store_state(h_ptrs, add_ptrs, h, mask, ADD: tl.constexpr):
    """Store h, or with ADD the sum add + h (the caller's base, e.g. Newton's iterate plus
    its correction: one pass over memory fewer than adding afterwards)."""
    if ADD:
        h = h + tl.load(add_ptrs, mask=mask, other=0.0).to(tl.float32)
    tl.store(h_ptrs, h.to(h_ptrs.dtype.element_ty), mask=mask)


@triton.jit
def _chunk_summary(j_ptr, b_ptr, p_ptr, e_ptr, T, C, NC,
                   sJb, sJt, sJi, sJj, sbb, sbt, sbd,
                   D: tl.constexpr, BD: tl.constexpr, REVERSE: tl.constexpr,
                   USE_DOT: tl.constexpr, PREC: tl.constexpr):
    c = tl.program_id(0)
    bb = tl.program_id(1).to(tl.int64)
    i = tl.arange(0, BD)
    mi = i < D
    mij = mi[:, None] & mi[None, :]
    ii = i[:, None]
    jj = i[None, :]
    j_base = j_ptr + bb * sJb
    b_base = b_ptr + bb * sbb
    P = (ii == jj).to(tl.float32)
    e = tl.zeros([BD], dtype=tl.float32)
    s0 = c * C
    s1 = tl.minimum(s0 + C, T)
    Jn, bn = _load_step(j_base, b_base, s0, s1, T, sJt, sJi, sJj, sbt, sbd, i, mi, mij, REVERSE)
    for s in range(s0, s1):
        Jt = Jn
        bt = bn
        Jn, bn = _load_step(j_base, b_base, s + 1, s1, T, sJt, sJi, sJj, sbt, sbd, i, mi, mij,
                            REVERSE)
        e = _matvec(Jt, e) + bt
        P = _matmul(Jt, P, USE_DOT, PREC)
    out = (bb * NC + c) * BD
    tl.store(p_ptr + out * BD + ii * BD + jj, P)
    tl.store(e_ptr + out + i, e)


@triton.jit
def _chunk_carries(p_ptr, e_ptr, h0_ptr, carry_ptr, NC,
                   D: tl.constexpr, BD: tl.constexpr, HAS_H0: tl.constexpr):
    bb = tl.program_id(0).to(tl.int64)
    i = tl.arange(0, BD)
    mi = i < D
    ii = i[:, None]
    jj = i[None, :]
    if HAS_H0:
        h = tl.load(h0_ptr + bb * D + i, mask=mi, other=0.0).to(tl.float32)
    else:
        h = tl.zeros([BD], dtype=tl.float32)
    # chunk summaries are loaded one chunk ahead: the loads do not depend on h
    k0 = bb * NC
    Pn = tl.load(p_ptr + k0 * BD * BD + ii * BD + jj)
    en = tl.load(e_ptr + k0 * BD + i)
    for c in range(0, NC):
        k = bb * NC + c
        tl.store(carry_ptr + k * BD + i, h)
        P = Pn
        e = en
        kn = bb * NC + tl.minimum(c + 1, NC - 1)
        Pn = tl.load(p_ptr + kn * BD * BD + ii * BD + jj)
        en = tl.load(e_ptr + kn * BD + i)
        h = _matvec(P, h) + e


@triton.jit
def _chunk_apply(j_ptr, b_ptr, carry_ptr, h_ptr, add_ptr, T, C, NC,
                 sJb, sJt, sJi, sJj, sbb, sbt, sbd, shb, sht,
                 D: tl.constexpr, BD: tl.constexpr, REVERSE: tl.constexpr, ADD: tl.constexpr):
    c = tl.program_id(0)
    bb = tl.program_id(1).to(tl.int64)
    i = tl.arange(0, BD)
    mi = i < D
    mij = mi[:, None] & mi[None, :]
    j_base = j_ptr + bb * sJb
    b_base = b_ptr + bb * sbb
    h_base = h_ptr + bb * shb
    h = tl.load(carry_ptr + (bb * NC + c) * BD + i)
    s0 = c * C
    s1 = tl.minimum(s0 + C, T)
    Jn, bn = _load_step(j_base, b_base, s0, s1, T, sJt, sJi, sJj, sbt, sbd, i, mi, mij, REVERSE)
    for s in range(s0, s1):
        Jt = Jn
        bt = bn
        Jn, bn = _load_step(j_base, b_base, s + 1, s1, T, sJt, sJi, sJj, sbt, sbd, i, mi, mij,
                            REVERSE)
        h = _matvec(Jt, h) + bt
        t = _time(s, T, REVERSE)
        _store_state(h_base + t * sht + i, add_ptr + bb * shb + t * sht + i, h, mi, ADD)


# ---------------------------------------------------------------------------------------
# Small states (D <= 8): one chunk per thread. A warp-per-chunk product spreads each D x D
# matrix over 32 lanes, and every step's matrix product then moves data between lanes
# (shuffles, shared memory) for only 16 multiply-adds per lane at D = 8. Here the tiles are
# [D, D, LANES] with the chunk axis last, so that Triton lays the lanes along the chunks and
# each thread holds its chunk's whole J_t and P in registers: the products are plain
# multiply-adds, no data crosses lanes inside the walk.
# ---------------------------------------------------------------------------------------
# D = 8 with contiguous rows: a lane's J_t is 256 contiguous bytes. Written as tl.load over a
# [8, 8, LANES] tile it becomes 64 scalar loads per thread, each touching 32 cache lines (one
# per lane), and the L1's tag lookups, not the bytes, bound the walk. Here it is 16 128-bit
# loads (inline PTX: tl.load has no contiguous axis across threads to vectorise along), put
# together in registers with tl.join. join appends the new axis last, so the first joins
# become the outer axes: the loads are paired over row bit 2 first (128 bytes apart), then
# row bits 1 and 0 and column bit 2, and the four values of each load (column bits 1, 0)
# come last. The result, reshaped, is J_t [LANES, 8, 8] in natural order.
@triton.jit
def _ld_v4(p):
    """The 4 float32 at each lane's 16-byte-aligned address p (int64 [LANES])."""
    return tl.inline_asm_elementwise(
        "ld.global.v4.f32 {$0, $1, $2, $3}, [$4];", "=f,=f,=f,=f,l", [p],
        dtype=(tl.float32, tl.float32, tl.float32, tl.float32), is_pure=True, pack=1)


@triton.jit
def _join4(a0, b0, c0, d0, a1, b1, c1, d1):
    return tl.join(a0, a1), tl.join(b0, b1), tl.join(c0, c1), tl.join(d0, d1)


@triton.jit
def _rows_by_bit2(p):
    a0, b0, c0, d0 = _ld_v4(p)
    a1, b1, c1, d1 = _ld_v4(p + 128)
    return _join4(a0, b0, c0, d0, a1, b1, c1, d1)


@triton.jit
def _rows_by_bit1(p):
    a0, b0, c0, d0 = _rows_by_bit2(p)
    a1, b1, c1, d1 = _rows_by_bit2(p + 64)
    return _join4(a0, b0, c0, d0, a1, b1, c1, d1)


@triton.jit
def _rows_by_bit0(p):
    a0, b0, c0, d0 = _rows_by_bit1(p)
    a1, b1, c1, d1 = _rows_by_bit1(p + 32)
    return _join4(a0, b0, c0, d0, a1, b1, c1, d1)


@triton.jit
def _load_j8(p, LANES: tl.constexpr):
    """J_t [8, 8, LANES] from each lane's address p (int64, 16-byte aligned, rows of 8
    contiguous float32): 16 vector loads."""
    a0, b0, c0, d0 = _rows_by_bit0(p)
    a1, b1, c1, d1 = _rows_by_bit0(p + 16)  # column bit 2
    a, b, c, d = _join4(a0, b0, c0, d0, a1, b1, c1, d1)
    J = tl.join(tl.join(a, c), tl.join(b, d))  # column bit 1, then bit 0
    return tl.permute(tl.reshape(J, (LANES, 8, 8)), (1, 2, 0))


@triton.jit
def _lanes_load(j_base, b_base, st, live, T, sJt, sbt, i, mi, SJI,
                SJJ, SBD, REVERSE: tl.constexpr, VEC: tl.constexpr):
    """J_t [BD, BD, LANES] and b_t [BD, LANES] at each lane's step ``st``; zeros where not
    live (VEC: ``_load_j8``'s vector loads, whatever J_t is there instead)."""
    t = _time(tl.minimum(st, T - 1), T, REVERSE)
    if VEC:  # the address is clamped into J (t <= T - 1): dead lanes load a valid J_t
        Jt = _load_j8((j_base + t * sJt).to(tl.int64, bitcast=True), st.shape[0])
    else:
        mJ = mi[:, None, None] & mi[None, :, None] & live[None, None, :]
        Jt = tl.load(j_base + t[None, None, :] * sJt + i[:, None, None] * SJI
                     + i[None, :, None] * SJJ, mask=mJ, other=0.0).to(tl.float32)
    bt = tl.load(b_base + t[None, :] * sbt + i[:, None] * SBD,
                 mask=mi[:, None] & live[None, :], other=0.0).to(tl.float32)
    return Jt, bt


@triton.jit(do_not_specialize=["SJI", "SJJ", "SBD"])
def _chunk_summary_lanes(j_ptr, b_ptr, p_ptr, e_ptr, T, C, NC,
                         sJb, sJt, sbb, sbt,
                         SJI, SJJ, SBD, D: tl.constexpr, BD: tl.constexpr, LANES: tl.constexpr,
                         REVERSE: tl.constexpr, VEC: tl.constexpr):
    """``_chunk_summary`` for LANES whole chunks (c < NC - 1) of one batch row, a chunk per lane."""
    c = tl.program_id(0) * LANES + tl.arange(0, LANES)
    bb = tl.program_id(1).to(tl.int64)
    live = c < NC - 1
    i = tl.arange(0, BD)
    mi = i < D
    j_base = j_ptr + bb * sJb
    b_base = b_ptr + bb * sbb
    eye = (i[:, None] == i[None, :]).to(tl.float32)
    P = tl.zeros([BD, BD, LANES], dtype=tl.float32) + eye[:, :, None]
    e = tl.zeros([BD, LANES], dtype=tl.float32)
    s0 = c.to(tl.int64) * C
    for s in range(0, C):
        # no read-ahead: a second J_t would not fit in the registers next to J_t, P and
        # their product; other chunks' lanes hide the load latency instead
        Jt, bt = _lanes_load(j_base, b_base, s0 + s, live, T, sJt, sbt, i, mi, SJI, SJJ, SBD,
                             REVERSE, VEC)
        e = tl.sum(Jt * e[None, :, :], axis=1) + bt
        P = tl.sum(Jt[:, :, None, :] * P[None, :, :, :], axis=1)
    out = (bb * NC + c) * BD  # [LANES]
    tl.store(p_ptr + out[None, None, :] * BD + i[:, None, None] * BD + i[None, :, None], P,
             mask=live[None, None, :])
    tl.store(e_ptr + out[None, :] + i[:, None], e, mask=live[None, :])


@triton.jit(do_not_specialize=["SJI", "SJJ", "SBD"])
def _chunk_apply_lanes(j_ptr, b_ptr, carry_ptr, h_ptr, add_ptr, T, C, NC,
                       sJb, sJt, sbb, sbt, shb, sht,
                       SJI, SJJ, SBD, D: tl.constexpr, BD: tl.constexpr, LANES: tl.constexpr,
                       REVERSE: tl.constexpr, ADD: tl.constexpr, VEC: tl.constexpr):
    """``_chunk_apply`` for LANES chunks of one batch row, a chunk per lane."""
    c = tl.program_id(0) * LANES + tl.arange(0, LANES)
    bb = tl.program_id(1).to(tl.int64)
    live = c < NC
    i = tl.arange(0, BD)
    mi = i < D
    j_base = j_ptr + bb * sJb
    b_base = b_ptr + bb * sbb
    h_base = h_ptr + bb * shb
    h = tl.load(carry_ptr + (bb * NC + c)[None, :] * BD + i[:, None], mask=live[None, :],
                other=0.0)
    s0 = c.to(tl.int64) * C
    Jn, bn = _lanes_load(j_base, b_base, s0, live & (s0 < T), T, sJt, sbt, i, mi, SJI, SJJ,
                         SBD, REVERSE, VEC)
    for s in range(0, C):
        st = s0 + s
        ok = live & (st < T)
        Jt = Jn
        bt = bn
        nx = st + 1
        Jn, bn = _lanes_load(j_base, b_base, nx, live & (nx < T), T, sJt, sbt, i, mi,
                             SJI, SJJ, SBD, REVERSE, VEC)
        h = tl.sum(Jt * h[None, :, :], axis=1) + bt
        t = _time(tl.minimum(st, T - 1), T, REVERSE)
        off = t[None, :] * sht + i[:, None]
        _store_state(h_base + off, add_ptr + bb * shb + off, h, mi[:, None] & ok[None, :], ADD)


LANE_MAX_BD = 8  # up to this padded state size the chunk walks run a chunk per lane
LANE_WARPS = 1
LANE_MIN_CHUNKS = 132 * 32 * 4  # a few warps of chunks for each SM of an H100/H200
# ... and only from this many steps (B * T) on: below, the chunk per thread's more numerous
# chunks cost another level of carry recursion, launches that a GPU-bound scan hides but a
# small one pays for. On the H200 (benchmarks/deer-newton-sweep-h200-lanes.json, D = 8) a
# chunk per thread took 0.71 against 0.83 ms at B = 16, T = 1e5 and 4.9 against 6.8 ms at
# B = 16, T = 1e6, but 0.40 against 0.31 ms at B = 1, T = 1e5 and 0.30 against 0.20 ms at
# B = 16, T = 1e4. Those were scalar loads; with the vector loads at D = 8 a chunk per thread
# also won at B = 1, T = 1e5 (0.30 against 0.34 ms, GPU time 0.075 against 0.125 ms;
# benchmarks/deer-newton-sweep-h200-vec.json): this threshold is due a new measurement.
LANE_MIN_STEPS = 1_000_000


# From this many chunks the carry walk recurses (see the module doc): one step of the walk
# is a dependent chain of a load and a matrix-vector product, about 0.4 us on the H200
# (GRU D = 8, B = 16, T = 1e5: 391 chunks, 159 us per scan; benchmarks/profile-h200.txt).
RECURSE_CHUNKS = 64


def _carries(P: torch.Tensor, e: torch.Tensor, h0: torch.Tensor | None, carries: torch.Tensor,
             D: int, precision: str) -> None:
    """carries[:, c] = the state entering chunk c, c = 0 .. NC-1, by the dense scan of the
    chunk summaries (P_c, e_c) in processing order (a reverse scan's chunks are already in
    its own order), from h0 (zeros if None)."""
    NC = P.shape[1]
    carries[:, 0, :D] = 0.0 if h0 is None else h0
    carries[:, 1:, :D] = dense_scan_fwd(P[:, :NC - 1, :D, :D], e[:, :NC - 1, :D], h0,
                                        precision=precision)


def _vector_rows(J: torch.Tensor, D: int) -> bool:
    """Whether the chunk-per-thread walks may read each J_t with ``_load_j8``'s vector
    loads: D = 8, float32 rows of 8 contiguous values, every J_t 16-byte aligned, on a GPU
    (inline PTX; Triton's interpreter runs the scalar loads)."""
    return (D == 8 and J.dtype == torch.float32 and J.stride(3) == 1 and J.stride(2) == 8
            and J.stride(1) % 4 == 0 and J.stride(0) % 4 == 0 and J.data_ptr() % 16 == 0
            and J.is_cuda and not interpreting())


def default_chunk(T: int, B: int, lanes: bool = False) -> int:
    """Chunk length: about sqrt(T / 8), smaller when the batch is small so that enough
    programs run at once. Since the carry walk recurses (RECURSE_CHUNKS) long walks are
    cheap, and shorter chunks than sqrt(T) win: on the H200 at B = 16, T = 1e5, D = 8 a
    scan took 0.75 ms with 128 steps against 0.80 ms with 256 (the former sqrt(T / 2) rule)
    and 1.02 ms with 1024 (benchmarks/deer-newton-sweep-h200-recursive.json).

    With a chunk per thread (``lanes``) a program holds 32 chunks, so the chunks are
    shorter still: about sqrt(T / 32), halved until there are ``LANE_MIN_CHUNKS`` of them."""
    if lanes:
        c = 2 ** max(3, round(math.log2(max(1.0, math.sqrt(T / 32)))))
        while c > 8 and B * cdiv(T, c) < LANE_MIN_CHUNKS:
            c //= 2
        return int(c)
    c = 2 ** max(4, round(math.log2(max(1.0, math.sqrt(T / 8)))))
    while c > 16 and B * cdiv(T, c) < 264:
        c //= 2
    return int(c)


def dense_scan_fwd(J: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None, *,
                   reverse: bool = False, chunk: int | None = None,
                   precision: str = "ieee", lanes: bool | None = None,
                   add: torch.Tensor | None = None) -> torch.Tensor:
    """h [B, T, D] with h_t = J_t h_{t-1} + b_t (``reverse``: h_t = J_t h_{t+1} + b_t).

    J [B, T, D, D] (any strides), b [B, T, D] (any strides), h0 [B, D] or None (zeros).
    Computes in float32; h has b's dtype. ``precision`` is the ``tl.dot`` input precision of
    the chunk products when D >= 16 ("ieee" exact float32, "tf32" tensor-core fast).
    ``lanes``: walk a chunk per thread (default: for D <= ``LANE_MAX_BD`` and
    B * T >= ``LANE_MIN_STEPS``) instead of a chunk per program. ``add`` [B, T, D]: return
    add + h instead of h (Newton's next iterate from its correction, in the same pass).
    """
    B, T, D = b.shape
    if D > 64:
        raise ValueError(f"the Triton dense scan holds D x D in registers: D <= 64, got D={D}")
    BD = max(2, next_pow2(D))
    use_dot = BD >= 16
    if use_dot:
        BD = max(BD, 16)
    if lanes is None:
        lanes = BD <= LANE_MAX_BD and B * T >= LANE_MIN_STEPS
    elif lanes and BD > LANE_MAX_BD:
        raise ValueError(f"a chunk per thread holds D x D in one thread's registers: "
                         f"D <= {LANE_MAX_BD}, got D={D}")
    vec = lanes and _vector_rows(J, D)
    C = int(chunk or default_chunk(T, B, lanes))
    NC = cdiv(T, C)
    dev = b.device
    if add is not None and add.shape != b.shape:
        raise ValueError(f"add must have b's shape {tuple(b.shape)}, got {tuple(add.shape)}")
    h = torch.empty(B, T, D, device=dev, dtype=b.dtype if add is None else add.dtype)
    if T == 0:
        return h
    addc = h if add is None else add.contiguous()
    recurse = NC >= RECURSE_CHUNKS
    # padding lanes (D < BD) of a recursed carry are never written: zero them once
    carries = (torch.zeros if recurse and BD > D else torch.empty)(
        B, NC, BD, device=dev, dtype=torch.float32)
    warps = 1 if BD <= 8 else (2 if BD <= 16 else 4)
    h0c = h0.contiguous() if h0 is not None else carries
    if NC > 1:
        # NC entries: the last chunk's summary is never used but is read ahead
        P = torch.empty(B, NC, BD, BD, device=dev, dtype=torch.float32)
        e = torch.empty(B, NC, BD, device=dev, dtype=torch.float32)
        if lanes:
            L = 32 * LANE_WARPS
            _chunk_summary_lanes[(cdiv(NC - 1, L), B)](
                J, b, P, e, T, C, NC, J.stride(0), J.stride(1), b.stride(0), b.stride(1),
                SJI=J.stride(2), SJJ=J.stride(3), SBD=b.stride(2), D=D, BD=BD, LANES=L,
                REVERSE=reverse, VEC=vec, num_warps=LANE_WARPS)
        else:
            _chunk_summary[(NC - 1, B)](J, b, P, e, T, C, NC, *J.stride(), *b.stride(),
                                        D=D, BD=BD, REVERSE=reverse, USE_DOT=use_dot,
                                        PREC=precision, num_warps=warps)
    else:
        P = torch.empty(B, 1, BD, BD, device=dev, dtype=torch.float32)
        e = carries
    if recurse:
        _carries(P, e, h0, carries, D, precision)
    else:
        _chunk_carries[(B,)](P, e, h0c, carries, NC, D=D, BD=BD, HAS_H0=h0 is not None,
                             num_warps=warps)
    if lanes:
        L = 32 * LANE_WARPS
        _chunk_apply_lanes[(cdiv(NC, L), B)](
            J, b, carries, h, addc, T, C, NC, J.stride(0), J.stride(1), b.stride(0), b.stride(1),
            h.stride(0), h.stride(1), SJI=J.stride(2), SJJ=J.stride(3), SBD=b.stride(2),
            D=D, BD=BD, LANES=L, REVERSE=reverse, ADD=add is not None, VEC=vec,
            num_warps=LANE_WARPS)
    else:
        _chunk_apply[(NC, B)](J, b, carries, h, addc, T, C, NC, *J.stride(), *b.stride(),
                              h.stride(0), h.stride(1), D=D, BD=BD, REVERSE=reverse,
                              ADD=add is not None, num_warps=warps)
    return h
