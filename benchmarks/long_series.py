"""Fit time of RNNForecaster's defaults on one long synthetic daily series (issue 15, item 2).

The series: weekly and yearly sines plus AR(1) noise (phi 0.7), ``n`` daily points; the last
12 are held out and scored (MAE). Prints the fit time, the batch size ``batch_size='auto'``
chose, the epochs early stopping ran and the MAE.

Usage::

    python benchmarks/long_series.py 100000                 # the defaults
    python benchmarks/long_series.py 1000000 max_epochs=2   # any RNNForecaster parameter=value
"""

import sys
import time

import numpy as np
import pandas as pd

from tsrnn import RNNForecaster


def series(n, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    noise, e = rng.normal(size=n), np.zeros(n)
    for i in range(1, n):
        e[i] = 0.7 * e[i - 1] + noise[i]
    values = 50 + 10 * np.sin(2 * np.pi * t / 7) + 5 * np.sin(2 * np.pi * t / 365.25) + e
    return pd.Series(values, index=pd.date_range("1800-01-01", periods=n, freq="D"))


def main(argv):
    n = int(argv[0]) if argv else 100_000
    params = dict(arg.split("=", 1) for arg in argv[1:])
    params = {k: int(v) if v.isdigit() else v for k, v in params.items()}
    y = series(n)
    model = RNNForecaster(random_state=0, **params)
    start = time.perf_counter()
    model.fit(y[:-12])
    seconds = time.perf_counter() - start
    mae = float(np.mean(np.abs(model.predict().to_numpy().ravel() - y[-12:].to_numpy())))
    print(
        f"n={n} params={params} fit {seconds:.1f} s, batch_size_ {model.batch_size_}, "
        f"epochs {model.histories_[0].n_iter}, MAE {mae:.3f}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
