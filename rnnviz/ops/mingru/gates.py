"""The gates of minGRU and minLSTM in PyTorch (the CPU path, the loop, the log-space mode).

Feng et al. 2024, "Were RNNs All We Needed?" Both cells are h_t = a_t h_{t-1} + w_t h~_t:

    minGRU   z_t = sigmoid(k_t);  a_t = 1 - z_t,  w_t = z_t
    minLSTM  f_t = sigmoid(kf_t), i_t = sigmoid(ki_t);
             a_t = f'_t = f_t / (f_t + i_t),  w_t = i'_t = i_t / (f_t + i_t)
    h~_t = g(hc_t),  g = identity, or (``positive``) g(x) = x + 0.5 (x >= 0), sigmoid(x) (x < 0)

The same formulas, in registers, are ``rnnviz.kernels.mingru.gates``. minLSTM's ratio goes
through diff = softplus(-kf) - softplus(-ki) = log(i / f) (f' = sigmoid(-diff),
i' = sigmoid(diff)), as the paper's code does, so f + i never underflows to 0.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

CELLS = ("mingru", "minlstm")


def g(x: torch.Tensor) -> torch.Tensor:
    """The paper's positive candidate map: x + 0.5 for x >= 0, sigmoid(x) below (> 0, C^1)."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: torch.Tensor) -> torch.Tensor:
    """log g(x), computed in log space (the paper's ``log_g``)."""
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), -F.softplus(-x))


def candidate(hc: torch.Tensor, positive: bool) -> torch.Tensor:
    """h~_t = g(hc_t) when ``positive``, else hc_t."""
    return g(hc) if positive else hc


def coefficients(cell: str, k1: torch.Tensor, k2: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(a_t, w_t): minGRU from k1 = k (k2 unused); minLSTM from k1 = kf, k2 = ki."""
    if cell == "mingru":
        return torch.sigmoid(-k1), torch.sigmoid(k1)
    diff = F.softplus(-k1) - F.softplus(-k2)
    return torch.sigmoid(-diff), torch.sigmoid(diff)


def log_coefficients(cell: str, k1: torch.Tensor, k2: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(log a_t, log w_t) computed in log space, as the paper's log-space models do."""
    if cell == "mingru":
        return -F.softplus(k1), -F.softplus(-k1)
    diff = F.softplus(-k1) - F.softplus(-k2)
    return -F.softplus(diff), -F.softplus(-diff)


def gate_record(cell: str, a: torch.Tensor, w: torch.Tensor) -> dict[str, torch.Tensor]:
    """What a trace records as the cell's gates: {"z"} or {"f", "i"} (normalised f', i')."""
    return {"z": w} if cell == "mingru" else {"f": a, "i": w}
