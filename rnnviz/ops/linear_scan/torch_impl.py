"""The linear scan in vectorised PyTorch, for CPUs: the same chunked algorithm as the kernels.

    h_t = a_t * h_{t-1} + b_t

Pairs (a, b) compose associatively: applying (a1, b1) then (a2, b2) to h gives
a2 * (a1 * h + b1) + b2, i.e. the pair (a1 * a2, a2 * b1 + b2). So T is cut into chunks of C
steps and

1. chunk-local scan: every chunk is scanned from a zero state, all chunks at once: a loop
   over the C steps of a chunk, each step one vectorised multiply-add over every chunk of
   every channel (``local_scans``). It gives A_t = a_{c0} ... a_t and the local scan L_t
   (h_t if the chunk had started from h = 0);
2. carries: the chunk summaries (A_last, L_last) are themselves a linear scan over n = T / C
   chunks; it is solved by this same function (recursively), starting from h0;
3. apply: h_t = A_t * carry_c + L_t, carry_c = the state entering chunk c.

The Triton kernels compute the same three things (see ``rnnviz.kernels.linear_scan``), so a
trace on a CPU shows the same chunks and carries as one on a GPU. No Python loop runs over T:
the loops run over the C steps of a chunk and log_C T recursion levels.

Why a loop inside the chunk rather than doubling (Hillis-Steele, ``doubling_scan``, log2 C
vectorised steps)? Each doubling step reads and writes the whole tensor, so it costs
log2 C times the memory traffic of the loop, which reads a and b and writes A and L once. On
a 2-core CPU the forward ran 1.9-6x faster with the loop on 1-17 million elements (but no
faster for one sequence of 16 channels, T = 65536); doubling still wins on small tensors,
where the loop's C small operations cost more in Python than in memory (``LOOP_MIN``).
"""
from __future__ import annotations

from typing import NamedTuple

import torch

DEFAULT_CHUNK = 64
# The chunk-local scan loops over a chunk's steps when each step has at least this many
# elements to update (B x chunks x D), else doubles: below it the loop's per-operation cost
# in Python outweighs its saving in memory traffic.
LOOP_MIN = 4096


class ScanParts(NamedTuple):
    """A scan and its intermediates: h and the chunk-local scans ``local`` [B, T, D] (in
    physical time order), the ``carries`` entering each chunk [B, n_chunks, D] (in the order
    the chunks are processed: for reverse=True chunk 0 is the one at the end), ``chunk`` C."""

    h: torch.Tensor
    local: torch.Tensor
    carries: torch.Tensor
    chunk: int


def doubling_scan(a: torch.Tensor, b: torch.Tensor, dim: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Inclusive scan of the pairs (a, b) along ``dim`` by doubling (Hillis-Steele).

    Returns (A, L) with A_t = prod_{s<=t} a_s and L_t = the scan of h_t = a_t h_{t-1} + b_t
    from h = 0. log2(n) steps, each one vectorised over the whole tensor.
    """
    n = a.shape[dim]
    A, L = a, b
    k = 1
    while k < n:
        a_hi, a_lo = A.narrow(dim, k, n - k), A.narrow(dim, 0, n - k)
        l_hi, l_lo = L.narrow(dim, k, n - k), L.narrow(dim, 0, n - k)
        L = torch.cat([L.narrow(dim, 0, k), torch.addcmul(l_hi, a_hi, l_lo)], dim)
        A = torch.cat([A.narrow(dim, 0, k), a_hi * a_lo], dim)
        k *= 2
    return A, L


def local_scans(a: torch.Tensor, b: torch.Tensor, reverse: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """(A, L) of every chunk scanned from a zero state, a, b: [B, n, C, D] (C steps a chunk):
    A[..., j, :] = a_0 ... a_j and L[..., j, :] = a_j L[..., j - 1, :] + b_j (reverse: from
    the chunk's last step, A[..., j, :] = a_j ... a_{C-1}). One multiply and one multiply-add
    over all B x n x D lanes per step, written in place (or, for small tensors,
    ``doubling_scan`` along the chunk)."""
    Bn, n, C, D = a.shape
    if Bn * n * D < LOOP_MIN:
        if reverse:
            A, L = doubling_scan(a.flip(2), b.flip(2), dim=2)
            return A.flip(2), L.flip(2)
        return doubling_scan(a, b, dim=2)
    A, L = torch.empty_like(a), torch.empty_like(b)
    steps = range(C - 1, -1, -1) if reverse else range(C)
    first = steps[0]
    A[:, :, first], L[:, :, first] = a[:, :, first], b[:, :, first]
    for prev, j in zip(steps, steps[1:]):
        aj = a[:, :, j]
        torch.mul(A[:, :, prev], aj, out=A[:, :, j])
        torch.addcmul(b[:, :, j], aj, L[:, :, prev], out=L[:, :, j])
    return A, L


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def chunked_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None, *,
                 reverse: bool = False, chunk: int = DEFAULT_CHUNK) -> ScanParts:
    """h_t = a_t h_{t-1} + b_t over dim 1 of [B, T, D] (reverse: h_t = a_t h_{t+1} + b_t).

    Computes in float32 (float64 for float64 inputs) and returns h in the input dtype; the
    intermediates stay in the compute dtype.
    """
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    out_dtype = a.dtype
    cd = _compute_dtype(out_dtype)
    a, b = a.to(cd), b.to(cd)
    Bn, T, D = a.shape
    h0 = a.new_zeros(Bn, D) if h0 is None else h0.to(cd)
    C = max(1, min(chunk, T))
    n = -(-T // C)
    pad = n * C - T
    if pad:  # identity steps (a = 1, b = 0) carry the state through the padding, placed
        # where the scan ends, so chunks start where it starts (as the kernels' do)
        ones, zeros = a.new_ones(Bn, pad, D), b.new_zeros(Bn, pad, D)
        a = torch.cat([ones, a] if reverse else [a, ones], 1)
        b = torch.cat([zeros, b] if reverse else [b, zeros], 1)
    A, L = local_scans(a.reshape(Bn, n, C, D), b.reshape(Bn, n, C, D), reverse)
    if n == 1:
        carries = h0[:, None]
    elif not reverse:  # the state leaving chunk c is the scan of the chunk summaries
        ends = chunked_scan(A[:, :-1, -1], L[:, :-1, -1], h0, chunk=chunk).h
        carries = torch.cat([h0[:, None], ends], 1)
    else:  # from the last chunk back: a chunk's summary is at its first step
        ends = chunked_scan(A[:, 1:, 0], L[:, 1:, 0], h0, reverse=True, chunk=chunk).h
        carries = torch.cat([ends, h0[:, None]], 1)
    kept = slice(pad, None) if reverse else slice(0, T)
    h = torch.addcmul(L, A, carries[:, :, None]).reshape(Bn, n * C, D)[:, kept]
    local = L.reshape(Bn, n * C, D)[:, kept]
    # (carries in the order the chunks are processed)
    return ScanParts(h.to(out_dtype), local, carries.flip(1) if reverse else carries, C)


def chunked_scan_backward(a: torch.Tensor, h: torch.Tensor, h0: torch.Tensor | None,
                          grad_h: torch.Tensor, *, reverse: bool = False,
                          chunk: int = DEFAULT_CHUNK
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Gradients of h = scan(a, b, h0) given dL/dh: itself a scan, run the other way.

    With g_t = dL/dh_t in total (through all later steps):
        g_t = grad_h_t + a_{t+1} g_{t+1}      (a reverse scan whose a is shifted by one)
        grad_b_t = g_t,   grad_a_t = g_t h_{t-1},   grad_h0 = a_0 g_0
    (for reverse=True read t+1 as t-1 and h_{-1} = h0 as h_T = h0).
    """
    z = a.new_zeros(a.shape[0], 1, a.shape[2])
    a_next = torch.cat([a[:, 1:], z] if not reverse else [z, a[:, :-1]], 1)
    cd = _compute_dtype(a.dtype)
    g = chunked_scan(a_next, grad_h, None, reverse=not reverse, chunk=chunk).h.to(cd)
    # grad_a_t = g_t h_{t-1}: the shifted h read in place (no shifted copy of it), and the
    # step with no previous state multiplied by h0
    first = 0 if not reverse else -1
    now, prev = (slice(1, None), slice(None, -1)) if not reverse else (slice(None, -1),
                                                                        slice(1, None))
    grad_a = torch.empty_like(g)
    torch.mul(g[:, now], h[:, prev], out=grad_a[:, now])
    grad_a[:, first] = g[:, first] * (h0.to(h.dtype) if h0 is not None else 0)
    grad_h0 = None
    if h0 is not None:
        grad_h0 = (a[:, first].to(cd) * g[:, first]).to(h0.dtype)
    return grad_a.to(a.dtype), g.to(a.dtype), grad_h0
