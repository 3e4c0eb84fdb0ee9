"""The paper's log-space formulation of the scan (Feng et al. 2024, appendix; Heinsen 2023).

With every coefficient and value positive, h_t = a_t h_{t-1} + v_t unrolls to
h_t = A_t (h0 + sum_{s<=t} v_s / A_s), A_t = a_1 ... a_t, and in logs

    a_star_t = cumsum(log a)_t
    log h_t  = a_star_t + logcumsumexp(log v - a_star)_t

two library scans (cumsum, logcumsumexp) instead of a scan of pairs. It needs v_t > 0
(hence the positive candidate g, and h0 >= 0), and it subtracts a_star, which grows like t:
at long T the logs are large and their rounding error, relative to h, grows with them.
rnnviz's own scan (``linear_scan``) composes the pairs (a, b) directly and needs none of this.
"""
from __future__ import annotations

import torch

from .gates import log_coefficients, log_g


def log_space_scan(log_coeffs: torch.Tensor, log_values: torch.Tensor,
                   log_h0: torch.Tensor | None = None) -> torch.Tensor:
    """h [B, T, H] from log a [B, T, H], log v [B, T, H] and log h0 [B, H] (None: h0 = 0),
    exactly the paper's ``parallel_scan_log``."""
    a_star = torch.cumsum(log_coeffs, dim=1)
    if log_h0 is None:
        return torch.exp(a_star + torch.logcumsumexp(log_values - a_star, dim=1))
    a_star = torch.nn.functional.pad(a_star, (0, 0, 1, 0))
    log_values = torch.cat([log_h0[:, None], log_values], dim=1)
    log_h = a_star + torch.logcumsumexp(log_values - a_star, dim=1)
    return torch.exp(log_h)[:, 1:]


def min_rnn_log(cell: str, k1: torch.Tensor, k2: torch.Tensor | None, hc: torch.Tensor,
                h0: torch.Tensor | None = None, *, reverse: bool = False) -> torch.Tensor:
    """One direction of minGRU / minLSTM (positive candidate) in log space, as the paper's
    log-space models compute it: log a, log w from the gates, log v = log w + log g(hc)."""
    if reverse:
        flip = lambda x: None if x is None else x.flip(1)  # noqa: E731
        return min_rnn_log(cell, flip(k1), flip(k2), flip(hc), h0).flip(1)
    log_a, log_w = log_coefficients(cell, k1, k2)
    return log_space_scan(log_a, log_w + log_g(hc), None if h0 is None else torch.log(h0))
