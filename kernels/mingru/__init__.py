"""minGRU and minLSTM (Feng et al. 2024) as one fused Triton kernel per pass.

- ``gates.py``: the gates and their derivatives, in registers (``@triton.jit`` pieces);
- ``fused.py``: forward and backward kernels, built on the scan's blocks
  (``rnnviz.kernels.linear_scan.blocks`` / ``seqpar``), channel- or sequence-parallel;
- ``launch.py``: ``min_rnn_fwd`` / ``min_rnn_bwd``, one direction per launch.
"""
from .launch import KINDS, MinRNNRecord, choose_config, min_rnn_bwd, min_rnn_fwd

__all__ = ["min_rnn_fwd", "min_rnn_bwd", "choose_config", "MinRNNRecord", "KINDS"]
