"""A cell's value f(h_{t-1}, x_t) and Jacobian J_t = df/dh_{t-1} for all t at once.

DEER linearises the recurrence h_t = f(h_{t-1}, x_t) around the current iterate; every
Newton step needs, for all t, the value f_t, the Jacobian J_t and the right-hand side
b_t = f_t - J_t h_{t-1} of the linear recurrence h_t = J_t h_{t-1} + b_t.

For torch.nn.GRUCell, RNNCell and LSTMCell the Jacobian is structured,
J_t = diag(d_t) + sum_k diag(c_{k,t}) M_k with fixed matrices M_k (blocks of W_hh), so it
costs one GEMM for the x part (once per solve), one for the h part (once per step) and
elementwise work: on CUDA a fused Triton kernel for the GRU (``rnnviz.kernels.deer.gru``),
torch ops elsewhere; for quasi-DEER's diagonal the GRU kernel does the h GEMM itself
(``linearize_shifted``). Any other cell gets torch.func: ``vmap(jacrev(cell))`` over all (b, t).
(On CUDA the RNN and LSTM cells have fused kernels too: ``rnnviz.kernels.deer.rnn_lstm``.)

What is produced depends on the solver's mode: "dense" (J [B, T, S, S]), "diag" (the
diagonal a [B, T, S], quasi-DEER) or "clip" (J scaled by min(1, rho / ||J_t||_inf): the
damped method's trust region); with it b_t = f_t - h_t, the negated residual, so that the
scan solves for the Newton correction delta_t = J_t delta_{t-1} + b_t (h <- h + delta).
The LSTM state (h, c) is flattened to S = 2H, h first.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Linearization", "CellSpec", "make_spec"]


def _kernel_device(x: torch.Tensor) -> bool:
    """Whether the fused Triton kernels can run on x's device (CUDA, or the interpreter)."""
    from rnnviz.device import interpreting

    return x.is_cuda or (x.device.type == "cpu" and interpreting())


def _block_diagonals(W: torch.Tensor, n: int) -> torch.Tensor:
    """[n, D] the diagonals of the n stacked [D, D] gate blocks of W_hh [n*D, D], float32."""
    D = W.shape[1]
    return W.detach().reshape(n, D, D).diagonal(dim1=1, dim2=2).float().contiguous()


def _slot(res: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    return torch.zeros(1, device=like.device, dtype=torch.float32) if res is None else res


@dataclass
class Linearization:
    """J (or its diagonal a), b, the residual max|h - f| (a 0-dim tensor, not synced) and f.

    ``rhs`` says what the recurrence x_t = J_t x_{t-1} + b_t solves for: "correction",
    b = f - h, x = the Newton correction delta (from delta_{-1} = 0); "state" (quasi's
    diagonal from the fused GRU kernel), b = f - a h_{t-1}, x = the next iterate itself
    (from h0)."""

    J: torch.Tensor
    b: torch.Tensor
    residual: torch.Tensor
    f: torch.Tensor | None = None
    rhs: str = "correction"


def _assemble(f, h, mode, rho, d=None, terms=(), J=None) -> Linearization:
    """From J = diag(d) + sum_k diag(c_k) M_k (``terms`` = [(c_k, M_k)]), or a given dense J,
    the requested form of the linear recurrence (torch path)."""
    res = (h - f).abs().amax()
    b = f - h
    if mode == "diag":
        if J is not None:
            a = J.diagonal(dim1=-2, dim2=-1)
        else:
            a = torch.zeros_like(f) if d is None else d.clone()
            for c, M in terms:
                a = a + c * M.diagonal()
        return Linearization(a, b, res, f)
    if J is None:
        J = torch.diag_embed(d) if d is not None else None
        for c, M in terms:
            J = c[..., :, None] * M if J is None else J.add_(c[..., :, None] * M)
    if mode == "clip":
        norm = J.abs().sum(-1).amax(-1)
        scale = torch.clamp(rho / norm.clamp_min(1e-30), max=1.0)
        J = J * scale[..., None, None]
    return Linearization(J, b, res, f)


def _shaped(J, b, res, f, B, T, S, mode, rhs="correction") -> Linearization:
    """A fused kernel's row-flat outputs as [B, T, ...]."""
    shape = (B, T, S) if mode == "diag" else (B, T, S, S)
    return Linearization(J.view(shape), b.view(B, T, S), res[0],
                         None if f is None else f.view(B, T, S), rhs)


def _fused(kernel_name: str, rows, hp, W, wd, res, mode, rho, record, S, **kw) -> Linearization:
    """Run the fused kernel ``rnnviz.kernels.deer.<kernel_name>`` on the row-flat
    [B*T, ...] views of the tensors ``rows`` (all [B, T, ...])."""
    import rnnviz.kernels.deer as kernels  # imported on first GPU/interpreter use

    B, T = hp.shape[:2]
    res = _slot(res, hp)
    flat = [t.reshape(B * T, t.shape[-1]) for t in rows]
    J, b, f = getattr(kernels, kernel_name)(*flat, W, wd, res, mode, rho, record, **kw)
    return _shaped(J, b, res, f, B, T, S, mode)


class CellSpec:
    """How to run one cell under DEER. Subclasses: GRU, RNN, LSTM, Generic.

    ``S``: the state size. ``prepare(x)`` precomputes what does not depend on h (the x GEMM).
    ``linearize(pre, hp, h, mode, rho, record, fused, res)`` -> Linearization at
    h_{t-1} = hp (``res``: a float32 [1] zeroed slot the fused kernel may max the residual into).
    ``call(x, s)`` is the cell on a batch of rows (differentiable; the sequential loop and the
    implicit backward's vector-Jacobian products use it). ``params`` are the tensors the
    gradient flows to.
    """

    S: int
    kind = "generic"

    def __init__(self, module: nn.Module | None):
        self.module = module
        self.params = [p for p in module.parameters()] if isinstance(module, nn.Module) else []

    def prepare(self, x: torch.Tensor):
        return x

    def linearize(self, pre, hp, h, mode="dense", rho=1.0, record=False, fused=False, res=None):
        raise NotImplementedError

    def linearize_shifted(self, pre, h0, h, mode="dense", rho=1.0, record=False, fused=False,
                          res=None, zero=False, fast=False):
        """``linearize`` at h_{t-1} = (h0, h_0, ..., h_{T-2}), what the solver asks each
        iteration; a spec whose kernel reads the shifted iterate itself overrides it.
        ``zero``: h is known to be all zeros (the solver's first iterate without init), which
        such a kernel may exploit. ``fast``: a cheaper, less accurate evaluation is welcome
        (where ``has_fast_evaluation``)."""
        hp = torch.cat([h0[:, None], h[:, :-1]], 1)
        return self.linearize(pre, hp, h, mode, rho, record, fused, res)

    def has_fast_evaluation(self, mode: str, fused: bool) -> bool:
        """Whether ``linearize_shifted(fast=True)`` is cheaper than an exact evaluation."""
        return False

    def replay_key(self, fused: bool):
        """What a CUDA graph of ``linearize_shifted`` reads besides the solver's inputs (the
        prepared x, h0, the iterate) and how it was traced, as a hashable key, or None where
        that is not known (any cell's own code may read anything). Solves of the same key
        can replay one another's graphs (``rnnviz.deer.graph``)."""
        return None

    def call(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class _TorchCellSpec(CellSpec):
    """A torch.nn cell (GRUCell, RNNCell, LSTMCell): weight_ih, weight_hh of ``BLOCKS`` stacked
    gate blocks, and biases."""

    BLOCKS = 1

    def __init__(self, cell: nn.Module):
        super().__init__(cell)
        self.S = cell.hidden_size

    def replay_key(self, fused):
        """The kind (and an RNN's nonlinearity), and the parameters' addresses, dtypes and
        shapes: the graph reads them where they are, so in-place updates are seen."""
        return (self.kind, getattr(self.module, "nonlinearity", None),
                tuple((p.data_ptr(), p.dtype, tuple(p.shape)) for p in self.params))

    def prepare(self, x):
        """(gx = x W_ih^T + b_ih for all t, the diagonals [BLOCKS, H] of W_hh's blocks for the
        fused kernel or None): what does not change over the iterations."""
        c = self.module
        wd = _block_diagonals(c.weight_hh, self.BLOCKS) if _kernel_device(x) else None
        return F.linear(x, c.weight_ih, c.bias_ih), wd


class GRUSpec(_TorchCellSpec):
    kind = "gru"
    BLOCKS = 3

    def linearize(self, pre, hp, h, mode="dense", rho=1.0, record=False, fused=False, res=None):
        c, S = self.module, self.S
        gx, wd = pre
        gh = F.linear(hp, c.weight_hh, c.bias_hh)
        if fused:
            return _fused("gru_linearize", (gx, gh, hp, h), hp, c.weight_hh, wd, res, mode, rho,
                          record, S)
        gx_r, gx_z, gx_n = gx.chunk(3, -1)
        gh_r, gh_z, gh_n = gh.chunk(3, -1)
        W_r, W_z, W_n = c.weight_hh.chunk(3, 0)
        r = torch.sigmoid(gx_r + gh_r)
        z = torch.sigmoid(gx_z + gh_z)
        n = torch.tanh(gx_n + r * gh_n)
        f = (1 - z) * n + z * hp
        a_n = (1 - z) * (1 - n * n)
        terms = [((hp - n) * z * (1 - z), W_z), (a_n * r, W_n), (a_n * gh_n * r * (1 - r), W_r)]
        return _assemble(f, h, mode, rho, d=z, terms=terms)

    def linearize_shifted(self, pre, h0, h, mode="dense", rho=1.0, record=False, fused=False,
                          res=None, zero=False, fast=False):
        """Fused: one kernel forms h_{t-1} and the h GEMM itself
        (``rnnviz.kernels.deer.gru_gemm_linearize``), so neither the shifted iterate nor
        gh = h_{t-1} W_hh^T is written to memory on each iteration (and at a zero iterate
        the GEMM runs only for t = 0). quasi-DEER's diagonal at any size; the dense J of
        "newton" and "damped" where ``dense_gemm_pays`` (up to ``DENSE_GEMM_MAX_S``: it is
        held in registers). quasi's right-hand side is then for the next iterate itself
        (``Linearization.rhs`` "state"): the scan replaces the solver's h + delta. ``fast``
        (see ``has_fast_evaluation``): the h GEMM in one tf32 product."""
        if fused:
            import rnnviz.kernels.deer as kernels  # imported on first GPU/interpreter use
        if not fused or (mode != "diag" and not kernels.dense_gemm_pays(self.S)):
            return super().linearize_shifted(pre, h0, h, mode, rho, record, fused, res)
        c = self.module
        gx, wd = pre
        B, T, S = h.shape
        res = _slot(res, h)
        rhs = "state" if mode == "diag" else "correction"
        J, b, f = kernels.gru_gemm_linearize(gx.reshape(B * T, 3 * S), h, h0, c.weight_hh,
                                             c.bias_hh, wd, res, mode, rho, record,
                                             precision="tf32" if fast else None,
                                             zero_iterate=zero, rhs=rhs)
        return _shaped(J, b, res, f, B, T, S, mode, rhs)

    def has_fast_evaluation(self, mode, fused):
        """quasi's fused kernel where its h GEMM keeps float32's accuracy with three tf32
        products ("tf32x3", S > 32): one product is 30-45% faster on the H200 at
        D = 128..256, B = 16 (benchmarks/deer-quasi-sweep-h200*.json), f about 1e-3 off."""
        if not (fused and mode == "diag"):
            return False
        import rnnviz.kernels.deer as kernels

        return kernels.gemm_plan(self.S, mode)[1] == "tf32x3"

    def call(self, x, s):
        return self.module(x, s)


class RNNSpec(_TorchCellSpec):
    kind = "rnn"

    def linearize(self, pre, hp, h, mode="dense", rho=1.0, record=False, fused=False, res=None):
        c, S = self.module, self.S
        gx, wd = pre
        gh = F.linear(hp, c.weight_hh, c.bias_hh)
        if fused:
            return _fused("rnn_linearize", (gx, gh, h), hp, c.weight_hh, wd, res, mode, rho,
                          record, S, relu=c.nonlinearity == "relu")
        pre = gx + gh
        if c.nonlinearity == "tanh":
            f = torch.tanh(pre)
            slope = 1 - f * f
        else:
            f = torch.relu(pre)
            slope = (pre > 0).to(pre.dtype)
        return _assemble(f, h, mode, rho, terms=[(slope, c.weight_hh)])

    def call(self, x, s):
        return self.module(x, s)


class LSTMSpec(_TorchCellSpec):
    """State s = [h, c] (S = 2H). With gates i, f, g, o (torch order) from gx + h W_hh^T + b_hh:
    c' = s_f c + s_i t_g, h' = s_o tanh(c'), and
        dc'/dh = sum_k diag(q_k) W_k  (q_i = t_g s_i(1-s_i), q_f = c s_f(1-s_f), q_g = s_i(1-t_g^2))
        dh'/dh = diag(tanh(c') s_o(1-s_o)) W_o + diag(s_o(1-tanh^2 c')) dc'/dh
        dc'/dc = diag(s_f),  dh'/dc = diag(s_o(1-tanh^2 c') s_f).
    """

    kind = "lstm"
    BLOCKS = 4

    def __init__(self, cell: nn.LSTMCell):
        super().__init__(cell)
        H = self.H = cell.hidden_size
        self.S = 2 * H
        W = cell.weight_hh.detach()
        Z = torch.zeros(H, H, dtype=W.dtype, device=W.device)
        I = torch.eye(H, dtype=W.dtype, device=W.device)
        # M_k = [[W_k, 0], [W_k, 0]] for the gates, [[0, I], [0, I]] for the c columns
        self.M = [torch.cat([torch.cat([Wk, Z], 1)] * 2, 0) for Wk in W.chunk(4, 0)]
        self.M.append(torch.cat([torch.cat([Z, I], 1)] * 2, 0))

    def replay_key(self, fused):
        """Unfused, the linearisation reads ``M``, made anew for each spec: not replayable."""
        return super().replay_key(fused) if fused else None

    def linearize(self, pre, hp, h, mode="dense", rho=1.0, record=False, fused=False, res=None):
        c, H, S = self.module, self.H, self.S
        gx, wd = pre
        hprev, cprev = hp[..., :H], hp[..., H:]
        gh = F.linear(hprev, c.weight_hh, c.bias_hh)
        if fused:
            return _fused("lstm_linearize", (gx, gh, hp, h), hp, c.weight_hh, wd, res, mode, rho,
                          record, S)
        gi, gf, gg, go = (gx + gh).chunk(4, -1)
        si, sf, tg, so = torch.sigmoid(gi), torch.sigmoid(gf), torch.tanh(gg), torch.sigmoid(go)
        cn = sf * cprev + si * tg
        tc = torch.tanh(cn)
        f = torch.cat([so * tc, cn], -1)
        k = so * (1 - tc * tc)
        q = [tg * si * (1 - si), cprev * sf * (1 - sf), si * (1 - tg * tg)]
        coef = [torch.cat([k * qk, qk], -1) for qk in q]
        coef.append(torch.cat([tc * so * (1 - so), torch.zeros_like(so)], -1))
        coef.append(torch.cat([k * sf, sf], -1))
        return _assemble(f, h, mode, rho, terms=list(zip(coef, self.M)))

    def call(self, x, s):
        H = self.H
        hn, cn = self.module(x, (s[..., :H], s[..., H:]))
        return torch.cat([hn, cn], -1)


class GenericSpec(CellSpec):
    """Any cell(x_t, h_prev) -> h_t batched over rows: Jacobians by torch.func.vmap(jacrev)."""

    def __init__(self, cell: Callable, S: int):
        super().__init__(cell if isinstance(cell, nn.Module) else None)
        self.fn = cell
        self.S = S

    def linearize(self, x, hp, h, mode="dense", rho=1.0, record=False, fused=False, res=None):
        from torch.func import jacrev, vmap

        B, T, S = hp.shape
        xf, hf = x.reshape(B * T, -1), hp.reshape(B * T, S)
        f = self.fn(xf, hf).reshape(B, T, S)
        one = lambda xt, ht: self.fn(xt[None], ht[None])[0]  # noqa: E731
        J = vmap(jacrev(one, argnums=1))(xf, hf).reshape(B, T, S, S)
        return _assemble(f, h, mode, rho, J=J)

    def call(self, x, s):
        return self.fn(x, s)


def make_spec(cell: Callable, S: int) -> CellSpec:
    if type(cell) is nn.GRUCell:
        return GRUSpec(cell)
    if type(cell) is nn.RNNCell:
        return RNNSpec(cell)
    if type(cell) is nn.LSTMCell:
        return LSTMSpec(cell)
    return GenericSpec(cell, S)
