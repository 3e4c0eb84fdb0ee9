"""A character-level language model's data: the text shipped in ``rnnviz/data``.

``CharDataset`` maps characters to ids (the text's own alphabet), splits the text into a
training part and a held-out part, and cuts random windows: x = text[i : i + T] and
y = text[i + 1 : i + T + 1], the next character at every position.
"""
from __future__ import annotations

from importlib import resources
from typing import NamedTuple

import torch

DEFAULT_TEXT = "shakespeare.txt"


def load_text(name: str = DEFAULT_TEXT) -> str:
    """A text shipped in ``rnnviz.data`` (see its README for sources and licences)."""
    root = resources.files("rnnviz.data")
    path = root / name
    if not path.is_file():
        have = sorted(p.name for p in root.iterdir() if p.name.endswith(".txt"))
        raise ValueError(f"no text {name!r} in rnnviz/data; shipped: {have}")
    return path.read_text(encoding="utf-8")


class CharBatch(NamedTuple):
    inputs: torch.Tensor  # [B, T] character ids
    targets: torch.Tensor  # [B, T] the next character at each position


class CharDataset:
    """Characters of a text as ids, with a train / validation split.

    Args:
        text: the text; None loads ``rnnviz/data/shakespeare.txt``.
        val_fraction: the last part of the text held out for validation.
    """

    def __init__(self, text: str | None = None, val_fraction: float = 0.1):
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        self.text = load_text() if text is None else text
        if len(self.text) < 2:
            raise ValueError(f"the text needs at least 2 characters, got {len(self.text)}")
        self.chars = sorted(set(self.text))
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        ids = self.encode(self.text)
        n_val = int(len(ids) * val_fraction)
        self.splits = {"train": ids[: len(ids) - n_val], "val": ids[len(ids) - n_val:]}

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, s: str) -> torch.Tensor:
        try:
            return torch.tensor([self.stoi[c] for c in s], dtype=torch.long)
        except KeyError as e:
            raise ValueError(f"character {e.args[0]!r} is not in the text's alphabet") from None

    def decode(self, ids: torch.Tensor | list[int]) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def batch(self, batch_size: int, seq_len: int, split: str = "train",
              generator: torch.Generator | None = None,
              device: torch.device | str | None = None) -> CharBatch:
        """``batch_size`` random windows of ``seq_len`` characters and their next characters."""
        if split not in self.splits:
            raise ValueError(f"split must be one of {list(self.splits)}, got {split!r}")
        ids = self.splits[split]
        if seq_len < 1 or seq_len + 1 > len(ids):
            raise ValueError(f"seq_len must be in [1, {len(ids) - 1}] for the {split!r} split, "
                             f"got {seq_len}")
        start = torch.randint(0, len(ids) - seq_len, (batch_size,), generator=generator)
        idx = start[:, None] + torch.arange(seq_len + 1)
        w = ids[idx]
        return CharBatch(w[:, :-1].to(device), w[:, 1:].to(device))
