"""A small sequence model around MinGRU / MinLSTM for the tasks: embedding, residual
blocks, a linear read-out.

Each block is pre-norm and residual, as in the paper's language models (without their
convolution): x = x + RNN(LayerNorm(x)); x = x + MLP(LayerNorm(x)). Every RNN is causal
(unidirectional), so the model can generate one token at a time with ``step``: O(1)
memory per token, whatever the length.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from rnnviz.models import MinGRU, MinLSTM

CELLS = {"mingru": MinGRU, "minlstm": MinLSTM}


class Block(nn.Module):
    def __init__(self, d_model: int, cell: str, mode: str, positive: bool, expand: int = 2):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.rnn = CELLS[cell](d_model, d_model, batch_first=True, mode=mode, positive=positive)
        self.mlp = nn.Sequential(nn.Linear(d_model, expand * d_model), nn.GELU(),
                                 nn.Linear(expand * d_model, d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.rnn(self.norm1(x))[0]
        return x + self.mlp(self.norm2(x))

    def step(self, x: torch.Tensor, h: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.rnn.step(self.norm1(x), h)
        x = x + h[-1]
        return x + self.mlp(self.norm2(x)), h


class SequenceModel(nn.Module):
    """Token ids [B, T] -> logits [B, T, vocab_size].

    Args:
        vocab_size: number of token ids.  d_model: width.  num_layers: residual blocks.
        cell: "mingru" | "minlstm".  mode, positive: passed to the RNNs (see MinGRU).
    """

    def __init__(self, vocab_size: int, d_model: int = 64, num_layers: int = 2, *,
                 cell: str = "mingru", mode: str = "parallel", positive: bool = False):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {list(CELLS)}, got {cell!r}")
        self.embed = nn.Embedding(vocab_size, d_model)
        self.blocks = nn.ModuleList(Block(d_model, cell, mode, positive) for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids)
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x))

    @torch.no_grad()
    def generate(self, prompt: torch.Tensor, n: int, *, temperature: float = 1.0,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Continue ``prompt`` [B, T0] by ``n`` sampled tokens, one ``step`` at a time (the
        prompt is read step by step too: the recurrent state is all that is kept)."""
        states: list[torch.Tensor | None] = [None] * len(self.blocks)
        out = [prompt]

        def advance(tok: torch.Tensor) -> torch.Tensor:
            x = self.embed(tok)
            for i, blk in enumerate(self.blocks):
                x, states[i] = blk.step(x, states[i])
            return self.head(self.norm(x))

        logits = None
        for t in range(prompt.shape[1]):
            logits = advance(prompt[:, t])
        for _ in range(n):
            probs = torch.softmax(logits / max(temperature, 1e-6), -1)
            tok = torch.multinomial(probs, 1, generator=generator)[:, 0]
            out.append(tok[:, None])
            logits = advance(tok)
        return torch.cat(out, 1)
