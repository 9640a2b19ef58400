"""A small, time-bounded hyperparameter search for RNNForecaster by rolling-origin backtest."""

import time

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid

from ..frequencies import default_season_length
from ..metrics import ERROR_METRICS
from .backtest import backtest
from .panel import to_panel
from .scoring import evaluate


def default_search_space(input_unit, hidden_size, learning_rate):
    """Window length in units of ``max(season_length, horizon)``, width and step size,
    each around the defaults."""
    return {
        "input_size": [2 * input_unit, input_unit, 3 * input_unit],
        "hidden_size": [hidden_size, hidden_size // 2],
        "learning_rate": [learning_rate, 3 * learning_rate],
    }


def search_forecaster(model, y, X=None, search_space=None, n_windows=2, max_seconds=60.0, metric="mase"):
    """Backtest ``model`` with each candidate setting and refit the best on all of ``y``.

    See :meth:`RNNForecaster.auto`; ``model`` supplies every parameter not searched.
    """
    if metric not in ERROR_METRICS:
        raise ValueError(f"metric must be one of {list(ERROR_METRICS)}; got {metric!r}.")
    season_length = model.season_length or default_season_length(to_panel(y, X).freq)
    if search_space is None:
        unit = max(season_length, model.horizon)
        search_space = default_search_space(unit, model.hidden_size, model.learning_rate)
    unknown = sorted(set(search_space) - set(model.get_params()))
    if unknown:
        raise ValueError(f"search_space names parameters {type(model).__name__} does not have: {unknown}.")
    # ParameterGrid sorts the names; the first value of each list is tried first, so the
    # candidate of first values (by default the defaults) is always evaluated.
    candidates = list(ParameterGrid({name: list(values) for name, values in search_space.items()}))
    first = {name: list(values)[0] for name, values in search_space.items()}
    candidates.sort(key=lambda c: c != first)

    rows, start = [], time.perf_counter()
    for params in candidates:
        row = dict(params, score=np.nan, seconds=np.nan, status="not run: out of time")
        if rows and time.perf_counter() - start > max_seconds:
            rows.append(row)
            continue
        began = time.perf_counter()
        candidate = clone(model).set_params(**params)
        try:
            forecasts = backtest(candidate, y, horizon=model.horizon, n_windows=n_windows, X=X)
        except ValueError as error:  # e.g. a window longer than the series allows
            row["status"] = f"failed: {error}"
        else:
            scores = evaluate(forecasts, y, metrics=(metric,), season_length=season_length)
            row.update(score=float(scores.loc[candidate.alias, metric]), status="ok")
        row["seconds"] = time.perf_counter() - began
        rows.append(row)
    results = pd.DataFrame(rows)
    scored = results[results["status"] == "ok"]
    if scored.empty:
        raise ValueError(
            "No candidate could be backtested: " + "; ".join(results["status"].unique()) + ". "
            "Lower n_windows or give a search_space that suits the series."
        )
    finite = scored[np.isfinite(scored["score"].to_numpy(dtype=np.float64))]
    if finite.empty:  # e.g. MASE of constant series: undefined for every candidate alike
        raise ValueError(
            f"No candidate has a finite backtest {metric} ({', '.join(map(str, scored['score'].unique()))}); "
            "choose a metric defined on these series (metric='mae', 'rmse' or 'smape')."
        )
    # a NaN or inf score (the rule of tsrnn.forecasting.scoring) never wins
    best = {name: _python(finite.loc[finite["score"].idxmin(), name]) for name in search_space}
    fitted = clone(model).set_params(**best).fit(y, X)
    fitted.best_params_, fitted.cv_results_ = best, results
    return fitted


def _python(value):
    """numpy scalars from a DataFrame cell back to the int/float the parameter expects."""
    return value.item() if isinstance(value, np.generic) else value
