"""What the nn.GRU-like models share beyond their input checks (rnnviz.checks)."""
from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence


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


def unpack_input(packed: PackedSequence, batch_first: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A packed batch as (padded input, mask_pad, lengths), in the batch's original order.

    mask_pad is True at padding ([T, B], or [B, T] when batch_first), so that a model which
    carries its state unchanged through padding ends each sequence at its last real step, as
    nn.LSTM does for a PackedSequence; lengths stay on the CPU, where packing wants them."""
    padded, lengths = pad_packed_sequence(packed, batch_first=batch_first)
    steps = torch.arange(padded.shape[1 if batch_first else 0], device=padded.device)
    mask = steps[None, :] >= lengths.to(padded.device)[:, None]  # [B, T]
    return padded, (mask if batch_first else mask.t()), lengths


def repack_output(output: torch.Tensor, like: PackedSequence, lengths: torch.Tensor,
                  batch_first: bool) -> PackedSequence:
    """``output`` (padded, the batch in its original order) packed exactly as ``like`` is:
    the same batch_sizes and the same sorted/unsorted indices, as nn.LSTM returns it."""
    if like.sorted_indices is not None:
        output = output.index_select(0 if batch_first else 1, like.sorted_indices)
        lengths = lengths[like.sorted_indices.cpu()]
    data = pack_padded_sequence(output, lengths, batch_first=batch_first).data
    return PackedSequence(data, like.batch_sizes, like.sorted_indices, like.unsorted_indices)
