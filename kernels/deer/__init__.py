"""DEER's kernels: the dense-matrix scan and the fused value-and-Jacobian of the GRU, RNN
and LSTM cells."""
from .dense_scan import default_chunk, dense_scan_fwd
from .gru import DENSE_GEMM_MAX_S, dense_gemm_pays, gemm_plan, gru_gemm_linearize, gru_linearize
from .rnn_lstm import lstm_linearize, rnn_linearize

__all__ = ["dense_scan_fwd", "default_chunk", "gru_linearize", "gru_gemm_linearize",
           "rnn_linearize", "lstm_linearize", "DENSE_GEMM_MAX_S",
           "dense_gemm_pays", "gemm_plan"]
