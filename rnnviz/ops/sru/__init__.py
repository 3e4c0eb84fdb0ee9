"""SRU recurrence (Lei et al. 2017): ``naive.py`` is the float64 loop from the equations,
``recurrent.py`` the CPU torch path, ``scan.py`` the linear-scan route (no peephole),
``function.py`` the public, differentiable, traced op, ``layer.py`` the GEMM and the
recurrence of one layer as one autograd node (what ``rnnviz.models.SRU`` runs). Kernels: ``rnnviz.kernels.sru``."""
from .function import RECURRENCES, sru_recurrence
from .layer import sru_layer
from .naive import sru_recurrence_reference

__all__ = ["sru_recurrence", "sru_layer", "sru_recurrence_reference", "RECURRENCES"]
