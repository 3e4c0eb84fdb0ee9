"""What the nn.GRU-like models share beyond their input checks (rnnviz.checks)."""
from __future__ import annotations

import torch.nn as nn


def rnn_extra_repr(m: nn.Module, **options) -> str:
    """nn.GRU's repr ("in, hidden, num_layers=..., [batch_first...]") plus the model's options."""
    s = f"{m.input_size}, {m.hidden_size}, num_layers={m.num_layers}"
    if m.batch_first:
        s += ", batch_first=True"
    if m.bidirectional:
        s += ", bidirectional=True"
    if m.dropout:
        s += f", dropout={m.dropout}"
    return s + "".join(f", {k}={v!r}" for k, v in options.items())
