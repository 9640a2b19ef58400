"""One epoch of a global RNNForecaster fit against the kernels alone on as many windows (issue 15).

The forecaster's epoch is ``fit(max_epochs=2) - fit(max_epochs=1)`` (everything but the
epoch cancels: panel layout, scaling, the linear stage, the final validation residuals),
so it includes what the fit adds per epoch: window batches cut from the series, the linear
stage's forecast subtracted, the validation pass. The kernel time is one
``RNNRegressor.partial_fit`` epoch over random windows of the same shape and number (the
training windows), the same cell, hidden size and batch size. Synthetic daily series
(level, trend, weekly season, noise), 500 points each; the issue's configuration
``cell="gru", horizon=7, input_size=28, hidden_size=32``.

Usage: ``python benchmarks/epoch_vs_kernels.py --series 2000 --batch-size 64``
"""

import argparse
import time

import numpy as np
import pandas as pd

from tsrnn import RNNForecaster, RNNRegressor


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=2000)
    parser.add_argument("--length", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    n_series, length, batch = args.series, args.length, args.batch_size
    rng = np.random.default_rng(0)
    t = np.arange(length)
    phase = rng.integers(0, 7, (n_series, 1))
    values = 10 + rng.normal(size=(n_series, 1)) + 0.01 * t + np.sin(2 * np.pi * (t + phase) / 7)
    values = values + 0.3 * rng.normal(size=(n_series, length))
    ds = pd.date_range("2020-01-01", periods=length, freq="D")
    y = pd.DataFrame({"unique_id": np.repeat(np.arange(n_series), length), "ds": np.tile(ds, n_series)})
    y["y"] = values.ravel()
    params = dict(cell="gru", horizon=7, input_size=28, hidden_size=32, batch_size=batch, random_state=0)
    RNNForecaster(**params, max_epochs=1).fit(y[y["unique_id"] < 2])  # compile or load the kernels first
    walls = {}
    for epochs in (1, 2):
        start = time.perf_counter()
        RNNForecaster(**params, max_epochs=epochs).fit(y)
        walls[epochs] = time.perf_counter() - start
        print(f"fit with max_epochs={epochs}: {walls[epochs]:.1f} s", flush=True)
    n_windows = n_series * (length - 28 - 7 + 1)
    n_train = n_windows - int(np.ceil(0.1 * n_windows))  # the early-stopping split holds out ~10 %
    X = rng.standard_normal((n_train, 28, 1)).astype(np.float32)
    Y = rng.standard_normal((n_train, 7))
    regressor = RNNRegressor(cell="gru", hidden_size=32, batch_size=batch, random_state=0)
    regressor.partial_fit(X[:batch], Y[:batch])
    start = time.perf_counter()
    regressor.partial_fit(X, Y)
    kernels = time.perf_counter() - start
    epoch = walls[2] - walls[1]
    print(
        f"{n_series} series x {length}, batch {batch}: {n_windows} windows, ~{n_train} training; one epoch of the "
        f"fit {epoch:.1f} s, partial_fit on {n_train} random windows {kernels:.1f} s; ratio {epoch / kernels:.2f}"
    )


if __name__ == "__main__":
    main()
