"""The selective-copying task (Gu & Dao 2023, used by Feng et al. 2024 for minGRU/minLSTM).

A sequence of ``seq_len`` positions holds ``n_tokens`` data tokens at random positions, in
order, among noise (the blank token); ``n_tokens`` marker tokens follow. At the markers the
model must output the data tokens, in the order they appeared. Unlike plain copying, where
the tokens sit at fixed places, the model has to decide from the content of each input
whether to keep it: the input-dependent gates z_t of minGRU (or f_t, i_t of minLSTM) are
what can do that.

Vocabulary: 0 = blank (noise), 1 = marker, 2 .. vocab_size - 1 = data tokens.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

BLANK, MARKER, FIRST_DATA = 0, 1, 2


class CopyBatch(NamedTuple):
    """inputs [B, seq_len + n_tokens] (token ids), targets [B, n_tokens]: the data tokens in
    order, to be predicted at the last n_tokens positions."""

    inputs: torch.Tensor
    targets: torch.Tensor


def selective_copying(batch_size: int, *, seq_len: int = 64, n_tokens: int = 4, vocab_size: int = 8,
                      generator: torch.Generator | None = None,
                      device: torch.device | str | None = None) -> CopyBatch:
    """A fresh random batch of the task (generated on the fly: every call is new data)."""
    if n_tokens < 1 or n_tokens > seq_len:
        raise ValueError(f"n_tokens must be in [1, seq_len={seq_len}], got {n_tokens}")
    if vocab_size < FIRST_DATA + 1:
        raise ValueError(f"vocab_size must be >= {FIRST_DATA + 1} (blank, marker and at least one "
                         f"data token), got {vocab_size}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    data = torch.randint(FIRST_DATA, vocab_size, (batch_size, n_tokens), generator=generator)
    # n_tokens distinct positions per row, sorted: the order the tokens appear in
    pos = torch.rand(batch_size, seq_len, generator=generator).argsort(1)[:, :n_tokens].sort(1).values
    inputs = torch.full((batch_size, seq_len + n_tokens), BLANK, dtype=torch.long)
    inputs.scatter_(1, pos, data)
    inputs[:, seq_len:] = MARKER
    return CopyBatch(inputs.to(device), data.to(device))
