"""Draw docs/intervals.png, the README's prediction-interval figure.

Run from the repository root (needs the ``plot`` extra):

    python docs/intervals_figure.py

RNNForecaster (default settings, seed 0) and AutoARIMA are fitted on AirPassengers up to
1958-12 and forecast the last 24 months with 80 % and 95 % intervals (conformal for the
network, model-based for AutoARIMA), drawn against what happened.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from tsrnn import AutoARIMA, RNNForecaster  # noqa: E402
from tsrnn.datasets import load_airpassengers  # noqa: E402
from tsrnn.evaluation import plot_forecasts  # noqa: E402

OUT = Path(__file__).with_name("intervals.png")


def main():
    y = load_airpassengers()
    train, h = y.iloc[:-24], 24
    models = [RNNForecaster(horizon=h, random_state=0), AutoARIMA(season_length=12)]
    figure, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True, layout="constrained")
    for model, ax in zip(models, axes):
        forecast = model.fit(train).predict(h, level=[80, 95])
        plot_forecasts(forecast, y, history=48, ax=[ax])
        actual = y.iloc[-h:]
        inside = {
            lv: ((actual >= forecast[f"{model.alias}-lo-{lv}"]) & (actual <= forecast[f"{model.alias}-hi-{lv}"])).sum()
            for lv in (80, 95)
        }
        ax.set_title(f"{model.alias}: 80 % covers {inside[80]}/{h}, 95 % covers {inside[95]}/{h}")
    figure.suptitle("AirPassengers, last 24 months held out: forecasts with 80 % and 95 % intervals")
    figure.savefig(OUT, dpi=80)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
