"""Fused minGRU / minLSTM recurrence: gates, scan and output in one pass over the sequence.

Forward, per chunk of R * S steps x BLOCK_D channels (the scan's [R, S, BLOCK_D] tile, see
``rnnviz.kernels.linear_scan.blocks``):

    load the pre-activations (k, hc) or (kf, ki, hc)       (the only reads)
    a_t, w_t, h~_t = gates(...)                            (registers; ``gates.py``)
    h = scan of (a_t, w_t h~_t) from the incoming carry    (``linear_scan.blocks``)
    store h                                                (the only write)

Backward, the other way along time: G_t = dL/dh_t in total is the scan
G_t = grad_h_t + a_{t+1} G_{t+1} (a_{t+1} recomputed from the pre-activations of the next
step), then the gate gradients are formed from G_t, h_{t-1} (read from the forward's
output) and the recomputed gates, and stored. No a, b, z or G tensor is ever in memory.

STAGES > 1 (channel walk): Triton's software pipeliner issues the loads of the next
STAGES - 1 chunks (cp.async into shared memory) while this one is computed, as in the
scan's channel walk (``linear_scan/chunk.py``): one chunk of a few rows per thread is
too few bytes in flight to cover the memory latency.

Two ways to walk T, as the scan kernels (``rnnviz.kernels.linear_scan``), chosen by the
constexpr SEQPAR:
- channel-parallel: one program per (batch row, channel tile) carries the state through
  all chunks (:func:`chunk_summary`, :func:`chunk_apply`);
- sequence-parallel: one program per (chunk, channel tile), taking its chunk from an atomic
  ticket and its carry by decoupled look-back (:func:`lookback_carry`) over the published
  chunk summaries, for few channels and long T.

With RECORD the forward also writes what a trace shows: the gates (w_t, and a_t for
minLSTM), the chunk-local scans and the carry entering each chunk.

Compute only: imports triton and the scan's building blocks, nothing of rnnviz.
"""
from __future__ import annotations

import triton
import triton.language as tl

from ..linear_scan.blocks import (chunk_apply, chunk_steps, chunk_summary, load_rows, step_time,
                                  store_rows)
from ..linear_scan.seqpar import AGGREGATE, INCLUSIVE, lookback_carry, publish, release_status
from .gates import candidate, coefficients, gate_grads, load_preacts


@triton.jit
def _tile_of_program(COUNTER, n_tiles, n_chunks, SEQPAR: tl.constexpr):
    """(tile, first chunk, end chunk) of this program: a ticket's single chunk, or all."""
    if SEQPAR:
        ticket = tl.atomic_add(COUNTER, 1)  # chunk-major: chunk c of every tile, then c + 1
        c0 = ticket // n_tiles
        return ticket % n_tiles, c0, c0 + 1
    else:
        pid = tl.program_id(0)
        return pid, pid * 0, n_chunks


@triton.jit
def scan_tile(a, b, carry, c, FLAGS, VALS, SCRATCH, tile, n_tiles, offs, SEQPAR: tl.constexpr,
              R: tl.constexpr, S: tl.constexpr, BLOCK_D: tl.constexpr, W: tl.constexpr,
              FEWER_TRIPS: tl.constexpr):
    """Scan chunk ``c`` of one channel tile: (h, local, carry entering, carry leaving), where
    ``local`` is the chunk's scan from a zero state (what a trace shows).

    Channel-parallel: ``carry`` is the state entering the chunk. Sequence-parallel:
    ``carry`` is the initial state of chunk 0; the chunk publishes its aggregate, looks back
    for its carry and publishes its inclusive state (the protocol of ``seqpar.py``; FEWER_TRIPS:
    each look-back round waits on the L2 twice, not four times)."""
    A_, L, xa, xb, ca, cb = chunk_summary(a, b, R, S)
    if SEQPAR:
        c = tile * 0 + c  # a tensor also where range() yields Python ints (interpreter)
        own = c.to(tl.int64) * n_tiles + tile
        if c > 0:
            publish(FLAGS, VALS, own, ca, cb, offs, AGGREGATE, BLOCK_D)
        carry, _ = lookback_carry(FLAGS, VALS, SCRATCH + own * W, tile, n_tiles, c, carry,
                                  BLOCK_D, W, FEWER_TRIPS)
        publish(FLAGS, VALS, own, ca * carry + cb, cb, offs, INCLUSIVE, BLOCK_D)
    h = chunk_apply(A_, L, xa, xb, carry)
    return h, A_ * xb[None, :, :] + L, carry, ca * carry + cb


@triton.jit
def min_rnn_fwd_kernel(
    G1, G2, C, H0, O, ZW, ZA, LOC, CAR, FLAGS, VALS, SCRATCH, COUNTER,
    T, H, n_dt, n_tiles, s_pb, s_pt, s_ob, s_ot,
    KIND: tl.constexpr, POSITIVE: tl.constexpr, REVERSE: tl.constexpr, HAS_H0: tl.constexpr,
    RECORD: tl.constexpr, SEQPAR: tl.constexpr, R: tl.constexpr, S: tl.constexpr,
    BLOCK_D: tl.constexpr, W: tl.constexpr, STAGES: tl.constexpr = 1,
    FEWER_TRIPS: tl.constexpr = False,
):
    """h of one direction. G1, G2, C: the gate and candidate pre-activations [B, T, H] (one
    layout, strides s_pb, s_pt, channels contiguous); O: h, strides s_ob, s_ot; H0 [B, H]."""
    n_chunks = tl.cdiv(T, R * S)
    tile, c_lo, c_hi = _tile_of_program(COUNTER, n_tiles, n_chunks, SEQPAR)
    pid_b = (tile // n_dt).to(tl.int64)
    offs = tl.arange(0, BLOCK_D)
    d = (tile % n_dt) * BLOCK_D + offs
    dmask = d < H
    dm = dmask[None, None, :]
    p_off = (pid_b * s_pb + d)[None, None, :]
    o_ptr = (O + pid_b * s_ob + d)[None, None, :]
    rec_off = (pid_b * T * H + d)[None, None, :]  # ZW, ZA, LOC: contiguous [B, T, H]
    if HAS_H0:
        carry = tl.load(H0 + pid_b * H + d, mask=dmask, other=0.0).to(tl.float32)
    else:
        carry = tl.zeros([BLOCK_D], dtype=tl.float32)
    for c in tl.range(c_lo, c_hi, num_stages=STAGES):  # see the module doc on STAGES
        s = chunk_steps(c, R, S)
        t, live = step_time(s, T, REVERSE)
        m = live & dm
        k1, k2, hc = load_preacts(G1 + p_off, G2 + p_off, C + p_off, t * s_pt, m, KIND)
        a, w, s1, s2 = coefficients(k1, k2, KIND)
        ht, dht = candidate(hc, POSITIVE)
        a = tl.where(m, a, 1.0)  # padding steps are the identity
        b = tl.where(m, w * ht, 0.0)
        h, local, carry_in, carry = scan_tile(a, b, carry, c, FLAGS, VALS, SCRATCH, tile, n_tiles,
                                              offs, SEQPAR, R, S, BLOCK_D, W, FEWER_TRIPS)
        store_rows(o_ptr + t * s_ot, h.to(O.dtype.element_ty), m)
        if RECORD:
            r = rec_off + t * H
            store_rows(ZW + r, w, m)
            if KIND == 1:
                store_rows(ZA + r, a, m)
            store_rows(LOC + r, local, m)
            tl.store(CAR + (pid_b * n_chunks + c) * H + d, carry_in, mask=dmask)
    if SEQPAR:
        release_status(FLAGS, COUNTER)


@triton.jit
def min_rnn_bwd_kernel(
    G1, G2, C, H0, O, GO, D1, D2, DC, DH0, DB, FLAGS, VALS, SCRATCH, COUNTER,
    T, H, n_dt, n_tiles, s_pb, s_pt, s_ob, s_ot, s_gb, s_gt, s_db, s_dt,
    KIND: tl.constexpr, POSITIVE: tl.constexpr, REVERSE: tl.constexpr, HAS_H0: tl.constexpr,
    HAS_DB: tl.constexpr, SEQPAR: tl.constexpr, R: tl.constexpr, S: tl.constexpr,
    BLOCK_D: tl.constexpr, W: tl.constexpr, STAGES: tl.constexpr = 1,
    FEWER_TRIPS: tl.constexpr = False,
):
    """Gradients of one direction. REVERSE is the direction of *this* walk (the opposite of
    the forward's): step s is forward step T - 1 - s. Reads the pre-activations, the
    forward's h (O) and dL/dh (GO); writes dL/d(pre-activations) (D1, D2, DC, strides s_db,
    s_dt) and, with HAS_H0, dL/dh0 = a_0 G_0 (DH0 [B, H], float32).

    With HAS_DB it also writes this program's sums over time of the pre-activation
    gradients, the bias gradient in parts: DB [n_parts, 3, H] float32, part = batch row
    (channel walk: one program sums all of T) or batch row + B * chunk (sequence-parallel);
    summing the parts on the host is a read of a few MB instead of all of dP."""
    n_chunks = tl.cdiv(T, R * S)
    tile, c_lo, c_hi = _tile_of_program(COUNTER, n_tiles, n_chunks, SEQPAR)
    pid_b = (tile // n_dt).to(tl.int64)
    offs = tl.arange(0, BLOCK_D)
    d = (tile % n_dt) * BLOCK_D + offs
    dmask = d < H
    dm = dmask[None, None, :]
    p_off = (pid_b * s_pb + d)[None, None, :]
    d_off = (pid_b * s_db + d)[None, None, :]
    o_ptr = (O + pid_b * s_ob + d)[None, None, :]
    g_ptr = (GO + pid_b * s_gb + d)[None, None, :]
    h0 = tl.zeros([BLOCK_D], dtype=tl.float32)
    if HAS_H0:
        h0 = tl.load(H0 + pid_b * H + d, mask=dmask, other=0.0).to(tl.float32)
    carry = tl.zeros([BLOCK_D], dtype=tl.float32)
    sum1 = tl.zeros([BLOCK_D], dtype=tl.float32)
    sum2 = tl.zeros([BLOCK_D], dtype=tl.float32)
    sumc = tl.zeros([BLOCK_D], dtype=tl.float32)
    for c in tl.range(c_lo, c_hi, num_stages=STAGES):  # see the module doc on STAGES
        s = chunk_steps(c, R, S)
        t, live = step_time(s, T, REVERSE)
        m = live & dm
        # the coefficient of step s is a at the step before it in this walk (forward t + 1)
        tn, ln = step_time(s - 1, T, REVERSE)
        mn = ln & dm
        kn1, kn2, _ = load_preacts(G1 + p_off, G2 + p_off, C + p_off, tn * s_pt, mn, KIND)
        an, _, _, _ = coefficients(kn1, kn2, KIND)
        an = tl.where(mn, an, 0.0)
        an = tl.where(live, an, 1.0)  # padding steps are the identity
        gh = load_rows(g_ptr + t * s_gt, m, 0.0).to(tl.float32)
        G, _, _, carry = scan_tile(an, gh, carry, c, FLAGS, VALS, SCRATCH, tile, n_tiles, offs,
                                   SEQPAR, R, S, BLOCK_D, W, FEWER_TRIPS)
        # h_{t-1} of the forward: the step after s in this walk, or h0 at the walk's end
        tp, lp = step_time(s + 1, T, REVERSE)
        hp = load_rows(o_ptr + tp * s_ot, lp & m, 0.0).to(tl.float32)
        hp = tl.where(s + 1 == T, h0[None, None, :], hp)
        k1, k2, hc = load_preacts(G1 + p_off, G2 + p_off, C + p_off, t * s_pt, m, KIND)
        a, w, s1, s2 = coefficients(k1, k2, KIND)
        ht, dht = candidate(hc, POSITIVE)
        dk1, dk2, dhc = gate_grads(G, hp, ht, dht, a, w, s1, s2, KIND)
        off = t * s_dt
        store_rows(D1 + d_off + off, dk1.to(D1.dtype.element_ty), m)
        store_rows(DC + d_off + off, dhc.to(DC.dtype.element_ty), m)
        if KIND == 1:
            store_rows(D2 + d_off + off, dk2.to(D2.dtype.element_ty), m)
        if HAS_DB:
            sum1 += tl.sum(tl.sum(tl.where(m, dk1, 0.0), axis=0), axis=0)
            sumc += tl.sum(tl.sum(tl.where(m, dhc, 0.0), axis=0), axis=0)
            if KIND == 1:
                sum2 += tl.sum(tl.sum(tl.where(m, dk2, 0.0), axis=0), axis=0)
        if HAS_H0:  # dL/dh0 = a_0 G_0, from the chunk holding the walk's last step
            last = (s == T - 1) & m
            g0 = tl.sum(tl.sum(tl.where(last, a * G, 0.0), axis=0), axis=0)
            has_last = tl.max(tl.max(tl.where(last, 1, 0), axis=0), axis=0) > 0
            tl.store(DH0 + pid_b * H + d, g0, mask=has_last)
    if HAS_DB:
        part = pid_b
        if SEQPAR:
            part = pid_b + (n_tiles // n_dt) * c_lo
        row = DB + part * 3 * H + d
        tl.store(row, sum1, mask=dmask)
        tl.store(row + H, sum2, mask=dmask)
        tl.store(row + 2 * H, sumc, mask=dmask)
    if SEQPAR:
        release_status(FLAGS, COUNTER)
