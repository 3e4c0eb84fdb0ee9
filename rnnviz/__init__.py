"""rnnviz: how recurrent networks were made parallel, on real GPU kernels you can look inside.

- ``rnnviz.ops``: the operations (linear scan, SRU recurrence, dense scan), each with a
  float64 reference, Triton kernels (``rnnviz.kernels``) and autograd.
- ``rnnviz.models``: drop-in ``torch.nn`` modules (SRU, MinGRU, MinLSTM).
- ``rnnviz.deer``: evaluate any RNN cell in parallel with Newton's method.
- ``rnnviz.trace``: hooks that record what happened inside; ``rnnviz.viz`` draws it.
"""
from rnnviz.trace import Trace, trace
from rnnviz.device import backend_report, default_device

__version__ = "0.1.0"
__all__ = ["trace", "Trace", "backend_report", "default_device", "__version__"]
