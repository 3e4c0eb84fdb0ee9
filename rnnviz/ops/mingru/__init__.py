"""minGRU and minLSTM (Feng et al. 2024): the recurrence of a layer after its GEMM.

``min_recurrence`` is the public op (modes "parallel", "log", "sequential");
``min_rnn_layer`` a whole layer (GEMM + fused kernels) as one autograd node, the models' GPU path;
``min_rnn_reference`` the float64 oracle; ``min_rnn_log`` the paper's log-space form;
``gates`` the cells' equations in torch.
"""
from .function import MODES, MinRNNFunction, min_recurrence
from .gates import CELLS, candidate, coefficients, g, log_g
from .layer import MinRNNLayerFunction, min_rnn_layer
from .log_space import log_space_scan, min_rnn_log
from .naive import min_rnn_loop, min_rnn_reference

__all__ = ["min_recurrence", "min_rnn_layer", "MinRNNFunction", "MinRNNLayerFunction", "MODES",
           "CELLS", "min_rnn_reference", "min_rnn_loop", "min_rnn_log", "log_space_scan",
           "coefficients", "candidate", "g", "log_g"]
