"""Drop-in ``torch.nn`` recurrent layers: constructor arguments and ``(output, state)``
returns shaped like ``nn.GRU`` / ``nn.LSTM``."""
from __future__ import annotations

import importlib

_EXPORTS = {
    "SRU": "rnnviz.models.sru",
    "MinGRU": "rnnviz.models.mingru",
    "MinLSTM": "rnnviz.models.mingru",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rnnviz.models' has no attribute {name!r}")
