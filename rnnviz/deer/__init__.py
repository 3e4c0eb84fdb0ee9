"""DEER: evaluate a nonlinear RNN over all time steps at once with Newton's method."""
