"""A short training loop with a progress bar, and the two tasks wired to it.

``train`` takes a model, a function that makes batch ``i`` and a loss, runs AdamW for
``steps`` steps and returns the losses; tqdm shows the running loss. ``train_char_lm`` and
``train_selective_copying`` build the model and data of each task (small defaults: a
2-core CPU shows the loss falling within seconds; on a GPU pass the paper's sizes).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from .char_lm import CharDataset
from .model import SequenceModel
from .selective_copying import selective_copying


@dataclass
class TrainResult:
    model: nn.Module
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    def recent(self, k: int = 10) -> float:
        """The mean of the last k losses: what the progress bar shows, and ``smoothed``'s
        last value, in O(k) (the bar asks at every step)."""
        last = self.losses[-k:]
        return sum(last) / len(last)

    def smoothed(self, k: int = 10) -> list[float]:
        """Running mean of the last k losses, at every step."""
        out, acc = [], []
        for v in self.losses:
            acc.append(v)
            acc = acc[-k:]
            out.append(sum(acc) / len(acc))
        return out


def train(model: nn.Module, make_batch: Callable[[int], tuple[torch.Tensor, torch.Tensor]],
          loss_fn: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor], *,
          steps: int = 200, lr: float = 3e-3, weight_decay: float = 0.01, clip: float = 1.0,
          progress: bool = True, desc: str = "train",
          max_seconds: float | None = None) -> TrainResult:
    """AdamW with a cosine learning rate after a short warm-up; gradient norm clipped.
    ``max_seconds``: stop after the step that passes it (``extra["stopped_at"]`` says
    where; the schedule is the one of ``steps``)."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: min(1.0, (i + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(i, steps) / steps)) * 0.9 + 0.1)
    result = TrainResult(model)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc=desc)
    t0 = time.perf_counter()
    model.train()
    for i in range(steps):
        x, y = make_batch(i)
        loss = loss_fn(model, x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        sched.step()
        result.losses.append(float(loss.detach()))
        if bar is not None:
            bar.update(1)
            # (drawn at tqdm's own pace: a redraw every step filled logs with 2000 lines a run)
            bar.set_postfix(loss=f"{result.recent():.3f}", refresh=False)
        if max_seconds is not None and time.perf_counter() - t0 > max_seconds and i + 1 < steps:
            result.extra["stopped_at"] = i + 1
            break
    if bar is not None:
        bar.close()
    result.seconds = time.perf_counter() - t0
    model.eval()
    return result


def _device(device) -> torch.device:
    return torch.device(device) if device is not None else torch.device(
        "cuda" if torch.cuda.is_available() else "cpu")


def lm_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the next character at every position."""
    logits = model(x)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def copy_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy at the marker positions (the last n_tokens) only."""
    logits = model(x)[:, -y.shape[1]:]
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def train_char_lm(*, steps: int = 150, batch_size: int = 16, seq_len: int = 64, d_model: int = 64,
                  num_layers: int = 2, cell: str = "mingru", mode: str = "parallel",
                  positive: bool = False, lr: float = 3e-3, seed: int = 0, device=None,
                  dataset: CharDataset | None = None, progress: bool = True,
                  max_seconds: float | None = None) -> TrainResult:
    """Train a character-level model on the shipped text; ``extra["val_loss"]`` is the loss
    on held-out text after training."""
    device = _device(device)
    torch.manual_seed(seed)
    data = dataset or CharDataset()
    model = SequenceModel(data.vocab_size, d_model, num_layers, cell=cell, mode=mode,
                          positive=positive).to(device)
    gen = torch.Generator().manual_seed(seed)
    res = train(model, lambda i: data.batch(batch_size, seq_len, generator=gen, device=device),
                lm_loss, steps=steps, lr=lr, progress=progress, desc=f"char LM ({cell})",
                max_seconds=max_seconds)
    with torch.no_grad():
        vx, vy = data.batch(4 * batch_size, seq_len, "val", generator=gen, device=device)
        res.extra["val_loss"] = float(lm_loss(model, vx, vy))
    res.extra["dataset"] = data
    return res


def train_selective_copying(*, steps: int = 200, batch_size: int = 32, seq_len: int = 64,
                            n_tokens: int = 4, vocab_size: int = 8, d_model: int = 64,
                            num_layers: int = 2, cell: str = "mingru", mode: str = "parallel",
                            positive: bool = False, lr: float = 3e-3, seed: int = 0, device=None,
                            progress: bool = True, max_seconds: float | None = None) -> TrainResult:
    """Train on freshly generated selective-copying batches; ``extra["accuracy"]`` is the
    fraction of data tokens copied right on a new batch after training."""
    device = _device(device)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = SequenceModel(vocab_size, d_model, num_layers, cell=cell, mode=mode,
                          positive=positive).to(device)
    make = lambda i: selective_copying(batch_size, seq_len=seq_len, n_tokens=n_tokens,  # noqa: E731
                                       vocab_size=vocab_size, generator=gen, device=device)
    res = train(model, make, copy_loss, steps=steps, lr=lr, progress=progress,
                desc=f"selective copying ({cell})", max_seconds=max_seconds)
    with torch.no_grad():
        x, y = make(-1)
        pred = model(x)[:, -n_tokens:].argmax(-1)
        res.extra["accuracy"] = float((pred == y).float().mean())
    return res
