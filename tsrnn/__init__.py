"""tsrnn: fast RNN, LSTM and GRU forecasting on the CPU with Numba."""

__version__ = "0.1.0"
