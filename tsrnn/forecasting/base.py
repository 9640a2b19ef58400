"""The forecaster contract shared by the baselines and the neural forecaster.

Users call ``fit(y, X=None)``, ``predict(h=None, X_future=None)`` and
``forecast(y, h, X=None, X_future=None)`` with pandas data (a Series, a wide DataFrame
or a long ``unique_id, ds, y`` frame); :class:`BaseForecaster` validates it, converts it
to one internal :class:`~tsrnn.forecasting.panel.Panel` and gives the forecasts back in
the input's shape family with the right future timestamps.

Writing a forecaster (hook API)
-------------------------------
Subclass :class:`BaseForecaster`, keep ``__init__`` to storing its arguments (include
``alias=None``), declare ``_parameter_constraints`` and implement two hooks that see only
the panel, never pandas input:

``_fit_panel(self, panel)``
    Learn from ``panel`` (a :class:`~tsrnn.forecasting.panel.Panel`): ``panel.values``
    (float64, all series back to back), ``panel.indptr`` (series ``i`` is
    ``values[indptr[i]:indptr[i + 1]]``, oldest first; also ``panel.series(i)``),
    ``panel.n_series``, ``panel.lengths``, ``panel.ds``, ``panel.freq``. Covariates,
    when the class sets ``_uses_exog = True`` and the user gave some, are
    ``panel.exog`` of shape ``(n_obs, n_exog)`` (rows aligned with ``values``) and
    ``panel.exog_names``; ``panel.exog`` is None otherwise. Store learned state in
    attributes ending in ``_``; the return value is ignored. Parameters are validated
    and every series has at least ``_min_length()`` observations before this is called.

``_predict_panel(self, h, panel_future_exog)``
    Forecast ``h`` steps after the end of every series of the fitted panel (available as
    ``self.panel_``). ``panel_future_exog`` is None, or an ndarray of shape
    ``(n_series, h, n_exog)`` with the covariates of the forecast steps (only when the
    model was fitted with covariates; the last axis follows ``_future_exog_names()``).
    Return an ndarray of shape ``(n_series, h)`` with the point forecasts, or a tuple
    ``(point, quantile_forecasts)`` where ``quantile_forecasts`` has shape
    ``(n_series, h, len(self.quantiles))``, one slice per entry of ``self.quantiles`` in
    that order. Non-finite forecasts are rejected
    with an error, never returned.

Optional:

``_min_length(self)``
    Fewest observations a series needs (default 1); ``fit`` raises a ``ValueError``
    naming the shortest series and this number.
``_update_panel(self, panel)`` with class attribute ``_supports_update = True``
    Condition the fitted model on new history of the same series (more observations
    or a moved window) without re-estimating its parameters. :meth:`update` validates
    and sets ``self.panel_``; ``backtest(..., refit=False)`` relies on it.
``_future_exog_names(self)``
    Covariates whose future values :meth:`predict` needs, in the order of the last
    axis of ``panel_future_exog`` (default: all of ``panel_.exog_names``; a model
    with past-only covariates returns fewer).
``_uses_exog = True``
    The model uses covariates. Models leaving it False ignore covariates (long-frame
    extra columns or ``X``) and do not need ``X_future``.
``horizon`` parameter
    If the class has one, ``predict(h=None)`` uses it as the default horizon.
``quantiles`` parameter
    A list of probabilities in (0, 1) or None; the output gets one column
    ``f"{alias}-q{q}"`` per quantile (see :func:`quantile_column`).

``_independent_series = True`` and ``_series_attributes``
    For partitioned runs (:mod:`tsrnn.forecasting.distributed`, ``backtest(...,
    backend='dask')``). ``_independent_series``: fitting each series on its own gives the
    same model for it as fitting all series together (the per-series baselines; not a
    global network). ``_series_attributes``: names of the fitted attributes indexed by
    series (arrays or lists whose first axis follows ``panel_.ids``, or a
    :class:`~tsrnn.forecasting.conformal.Calibration`), which travel with each partition;
    every other fitted attribute is the global state, sent once to each worker.

``_fitted_panel(self)``
    One-step-ahead in-sample fitted values for :meth:`BaseForecaster.predict_in_sample`:
    an ndarray of shape ``(n_obs,)`` aligned with ``self.panel_.values``, where entry
    ``t`` of a series is the model's forecast of that observation made from the
    observations before it only (the fitted parameters aside), and NaN where the model
    has none (e.g. before a first full season or input window). Infinite values are
    rejected with an error. The default raises ``NotImplementedError``.

Prediction intervals (``predict(..., level=[80, 95])``, columns ``<alias>-lo-80``,
``<alias>-hi-80``, ...) come from :meth:`BaseForecaster._interval_bounds`: with the
``prediction_intervals`` parameter a
:class:`~tsrnn.forecasting.conformal.ConformalIntervals`, conformal intervals calibrated by
refitting at earlier cutoffs (``n_windows``) or on the model's own held-out residuals
(``n_windows=None``); with ``prediction_intervals=None`` the model's default, which is
model-based when the class sets ``_model_intervals = True`` and implements
``_model_bounds(self, h, panel_future_exog, levels)`` (an ndarray of shape
``(n_series, h, 2 * len(levels))``: lower and upper bound per level), else conformal on the
held-out residuals that ``_held_out_calibration(self, h)`` returns (a
:class:`~tsrnn.forecasting.conformal.Calibration`; the default raises).

Fitted attributes set by the base class: ``panel_`` (the training panel) and
``calibration_`` (the refit residuals, a :class:`~tsrnn.forecasting.conformal.Calibration`,
or None when not refitting for intervals).

Transactional fits: :meth:`BaseForecaster.fit` and :meth:`BaseForecaster.update` run the
hooks on a staged copy of the forecaster (:func:`tsrnn._staging.staged_fit`) and commit it
only when they complete, so a fit that raises or is interrupted (``KeyboardInterrupt``)
leaves the forecaster exactly as it was. Hooks therefore set attributes on ``self`` as
usual but must not mutate in place an object that the fitted state already holds (assign
new arrays and lists instead).
"""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.utils.validation import check_is_fitted

from .._staging import staged_fit
from .._validation import Predicate, validate_params
from ..frequencies import default_season_length
from ..metrics import METRICS, seasonal_naive_scale
from .conformal import ConformalIntervals, check_levels, conformal_bounds, refit_residuals
from .panel import LONG_COLUMNS, format_forecast, format_in_sample, future_exog, quantile_column, to_panel

__all__ = ["BaseForecaster", "quantile_column"]


# Extra constraint shared by every forecaster (the others live in tsrnn._validation).
ALIAS = Predicate("a non-empty str", lambda v: isinstance(v, str) and v != "")
PREDICTION_INTERVALS = Predicate("an instance of ConformalIntervals", lambda v: isinstance(v, ConformalIntervals))


# "module.QualifiedName" -> forecaster class: the classes tsrnn.load_forecaster may rebuild
# (filled by BaseForecaster.__init_subclass__; a file never names a class outside it)
FORECASTER_CLASSES = {}


# ---------------------------------------------------------------- base class


class BaseForecaster(BaseEstimator):
    """Base class of tsrnn forecasters: pandas in, pandas out, one model per call.

    Input formats (``y`` in :meth:`fit`):

    - ``pd.Series``: one series with a regular ``DatetimeIndex`` (its ``freq`` set or
      inferable) or an evenly spaced integer index.
    - wide ``pd.DataFrame``: one numeric column per series on such an index; all series
      share the index (use the long format for series of different lengths).
    - long ``pd.DataFrame`` with columns ``unique_id, ds, y``: rows of each series
      contiguous and sorted by ``ds``; every further column is a covariate.

    Output of :meth:`predict`, in the same shape family:

    - Series in: a Series named :attr:`alias` on the future ``DatetimeIndex``; with
      ``quantiles``, a DataFrame with columns ``alias, alias-q0.1, ...``.
    - wide in: a DataFrame with the same columns on the future index; with
      ``quantiles``, MultiIndex columns ``(series, column)`` with the same column names.
    - long in: a long DataFrame ``unique_id, ds, alias[, alias-q0.1, ...]``.

    With ``predict(..., level=[80, 95])`` the interval bounds ``alias-lo-80, alias-hi-80,
    alias-lo-95, alias-hi-95`` follow those columns in every format (a Series input then
    gives a DataFrame, the point column first).

    Covariates (models with ``_uses_exog``): Series/wide input takes ``X``, a DataFrame
    on the same index as ``y`` (wide: plain columns are shared by every series,
    ``(series, covariate)`` MultiIndex columns give each series its own); ``X_future``
    is a DataFrame indexed by the forecast timestamps. Long input carries covariates as
    extra columns; ``X_future`` is then a long frame ``unique_id, ds, <covariates>``.
    Models without covariate support ignore them.

    Subclasses implement the hooks documented in this module's docstring.
    """

    _parameter_constraints: dict = {}
    _uses_exog = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        FORECASTER_CLASSES[f"{cls.__module__}.{cls.__qualname__}"] = cls

    _supports_update = False
    _model_intervals = False
    # partitioned runs (tsrnn.forecasting.distributed); see the module docstring
    _independent_series = False
    _series_attributes = ()

    # ``alias`` is a constructor parameter (default None) and a property that falls back
    # to the class name. get_params reports the raw parameter so clone/repr stay exact.
    @property
    def alias(self):
        """str: name of the forecast column (the ``alias`` parameter or the class name)."""
        raw = self.__dict__.get("_alias")
        return raw if raw is not None else type(self).__name__

    @alias.setter
    def alias(self, value):
        self._alias = value

    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        if "alias" in params:
            params["alias"] = self.__dict__.get("_alias")
        return params

    # -- hooks (see the module docstring) ------------------------------------------

    def _fit_panel(self, panel):
        raise NotImplementedError(f"{type(self).__name__} must implement _fit_panel(panel).")

    def _predict_panel(self, h, panel_future_exog):
        raise NotImplementedError(f"{type(self).__name__} must implement _predict_panel(h, panel_future_exog).")

    def _update_panel(self, panel):
        raise NotImplementedError(f"{type(self).__name__} cannot be updated with new data; refit it.")

    def _min_length(self):
        return 1

    def _held_out_calibration(self, h):
        raise ValueError(
            f"{type(self).__name__} has no held-out residuals to calibrate conformal intervals without "
            "refitting; use prediction_intervals=ConformalIntervals(n_windows=...) to calibrate on refits "
            "at earlier cutoffs."
        )

    def _model_bounds(self, h, panel_future_exog, levels):
        raise NotImplementedError(f"{type(self).__name__} sets _model_intervals but lacks _model_bounds.")

    def _fitted_panel(self):
        raise NotImplementedError(f"{type(self).__name__} has no in-sample fitted values.")

    def _future_exog_names(self):
        """Covariates :meth:`predict` needs for the forecast steps (default: all of them)."""
        return list(self.panel_.exog_names) if self.panel_.exog is not None else []

    # -- public API ---------------------------------------------------------------

    def _quantiles(self):
        quantiles = getattr(self, "quantiles", None)
        return [] if quantiles is None else [float(q) for q in quantiles]

    def _to_checked_panel(self, y, X, columns=(None, None, None)):
        panel = to_panel(y, X, self._uses_exog, *columns)
        if panel.kind == "long" and self.alias in panel.columns:
            # the forecasts' column would replace the frame's key or target column in every output
            raise ValueError(
                f"alias={self.alias!r} is a column name of y ({', '.join(panel.columns)}); "
                "set another alias= (or rename the column)."
            )
        minimum = self._min_length()
        shortest = int(np.argmin(panel.lengths))
        if panel.lengths[shortest] < minimum:
            raise ValueError(
                f"Series {panel.ids[shortest]!r} has {panel.lengths[shortest]} observations; "
                f"{self!r} needs at least {minimum}."
            )
        return panel

    def fit(self, y, X=None, id_col=None, time_col=None, target_col=None):
        """Fit the model to one or many series.

        Parameters
        ----------
        y : pd.Series or pd.DataFrame
            One series, a wide frame (a column per series) or a long frame
            ``unique_id, ds, y`` (+ covariate columns). See the class docstring.
        X : pd.DataFrame or None, default=None
            Covariates on the index of ``y`` (Series/wide input only); ignored by
            models that do not use covariates.
        id_col, time_col, target_col : str or None, default=None
            A long frame's series id, time and target column names (as in mlforecast),
            None meaning ``unique_id``, ``ds`` and ``y``; the long forecasts of
            :meth:`predict` then use the same names, and a long ``X_future`` must too.

        Returns
        -------
        self : object
            The fitted forecaster.
        """
        validate_params(self)
        panel = self._to_checked_panel(y, X, (id_col, time_col, target_col))
        spec = getattr(self, "prediction_intervals", None)
        # The refits below backtest the standard long layout; a frame with its own column
        # names is handed over as that layout (same rows, same covariates).
        refit_input = panel.to_long() if panel.kind == "long" and panel.columns != LONG_COLUMNS else y
        # refits of clones, before this model changes: a calibration that fails leaves it as it was
        calibration = (
            refit_residuals(self, refit_input, X, panel, spec) if spec is not None and spec.n_windows else None
        )
        # transactional (tsrnn._staging): a fit that raises or is interrupted leaves self as it was
        with staged_fit(self, fresh=True) as staged:
            staged._fit_panel(panel)
            staged.panel_ = panel
            staged.calibration_ = calibration
        return self

    def update(self, y, X=None):
        """Condition the fitted model on new history without re-estimating it.

        The series must be those seen in :meth:`fit` (same ids, same order), typically
        with more observations. Only models with ``_supports_update`` allow it.

        Parameters
        ----------
        y : pd.Series or pd.DataFrame
            New history, same format as in :meth:`fit`.
        X : pd.DataFrame or None, default=None
            Covariates on the index of ``y`` (Series/wide input).

        Returns
        -------
        self : object
        """
        check_is_fitted(self, "panel_")
        if not self._supports_update:
            raise NotImplementedError(f"{type(self).__name__} cannot be conditioned on new data without refitting.")
        # a long frame with its own column names keeps them (update takes the fit's layout)
        panel = self._to_checked_panel(y, X, self.panel_.columns if self.panel_.kind == "long" else (None,) * 3)
        if not panel.ids.equals(self.panel_.ids):
            raise ValueError(
                "update needs the series the model was fitted on, in the same order; got "
                f"ids {list(panel.ids[:5])}..., fitted on {list(self.panel_.ids[:5])}..."
            )
        if panel.freq != self.panel_.freq or panel.is_datetime != self.panel_.is_datetime:
            # a model of one time step read with another would forecast the wrong timestamps
            raise ValueError(
                f"update needs data of the frequency the model was fitted on ({self.panel_.freq!r}); "
                f"got {panel.freq!r}. Refit the model on the new data instead."
            )
        if (panel.period_freq is None) != (self.panel_.period_freq is None):
            kinds = ("timestamps", "periods") if panel.period_freq is None else ("periods", "timestamps")
            raise ValueError(
                f"update got {kinds[0]} where the model was fitted on {kinds[1]}; give the new data the "
                "same kind of time index as in fit (Series.to_period / to_timestamp)."
            )
        if (panel.exog is None) != (self.panel_.exog is None) or panel.exog_names != self.panel_.exog_names:
            raise ValueError(
                f"update needs the covariates used in fit ({list(self.panel_.exog_names)}); "
                f"got {list(panel.exog_names)}."
            )
        with staged_fit(self, fresh=False) as staged:  # transactional, as fit
            staged._update_panel(panel)
            staged.panel_ = panel
        return self

    def predict(self, h=None, X_future=None, level=None):
        """Forecast ``h`` steps after the end of every fitted series.

        Parameters
        ----------
        h : int or None, default=None
            Forecast horizon. None uses the model's ``horizon`` parameter, if it has one.
        X_future : pd.DataFrame or None, default=None
            Covariate values for the forecast steps; required when the model was fitted
            with covariates. Series/wide input: indexed by the forecast timestamps
            (later rows are ignored). Long input: a long frame ``unique_id, ds`` plus the
            covariate columns.
        level : float, list of float or None, default=None
            Prediction interval levels in percent, each in (0, 100), e.g. ``[80, 95]``:
            adds columns ``<alias>-lo-80``, ``<alias>-hi-80``, ... (see the class
            docstring and the ``prediction_intervals`` parameter).

        Returns
        -------
        forecast : pd.Series or pd.DataFrame
            Same shape family as the ``y`` given to :meth:`fit` (see the class docstring);
            with ``level``, a Series input gives a DataFrame with the point column first.
        """
        check_is_fitted(self, "panel_")
        h = self._resolve_horizon(h)
        levels = check_levels(level)
        panel = self.panel_
        names = self._future_exog_names()
        exog = future_exog(panel, X_future, h, names) if names else None
        point, quantile_forecasts = self._checked_output(self._predict_panel(h, exog), h)
        bounds = self._checked_bounds(self._interval_bounds(h, point, exog, levels), h, levels) if levels else None
        return format_forecast(panel, point, quantile_forecasts, self.alias, self._quantiles(), bounds, levels)

    def predict_in_sample(self):
        """One-step-ahead fitted values over the data the model was fitted on (or last updated with).

        The fitted value at a time step is the model's forecast of that observation from
        the observations before it (with the parameters estimated on all the data, as
        statsmodels' ``fittedvalues``); residuals are ``y - fitted``. Steps where the model
        has no such forecast are NaN, never made up: the first ``season_length`` steps of
        :class:`~tsrnn.forecasting.SeasonalNaive` (the first of
        :class:`~tsrnn.forecasting.Naive`), the first ``input_size`` steps of
        :class:`~tsrnn.forecasting.RNNForecaster`. ARIMA, AutoARIMA and ETS give
        statsmodels' one-step predictions for every step (the first ones come from the
        model's initial state, so they are poor).

        Returns
        -------
        fitted : pd.Series or pd.DataFrame
            Same shape family as the ``y`` given to :meth:`fit`, on its time index: a Series
            named :attr:`alias` for a Series; a DataFrame with the same columns for a wide
            frame; for a long frame, the frame's id, time and target columns followed by a
            column named :attr:`alias` (so ``residual = out[target] - out[alias]``).

        Raises
        ------
        NotImplementedError
            If the forecaster has no in-sample fitted values.
        """
        check_is_fitted(self, "panel_")
        fitted = np.asarray(self._fitted_panel(), dtype=np.float64)
        expected = self.panel_.values.shape
        if fitted.shape != expected:
            raise RuntimeError(
                f"{type(self).__name__}._fitted_panel returned shape {fitted.shape}; expected {expected}."
            )
        if np.isinf(fitted).any():
            raise RuntimeError(f"{type(self).__name__} produced infinite fitted values; refusing to return them.")
        return format_in_sample(self.panel_, fitted, self.alias)

    def save(self, path):
        """Write the fitted forecaster to ``path`` (no pickles); load it with :func:`tsrnn.load_forecaster`.

        The format (JSON metadata and ``.npz`` arrays, versioned) is described in
        :mod:`tsrnn.forecasting.persistence`; the loaded forecaster's predictions,
        quantiles and intervals equal this one's.

        Parameters
        ----------
        path : str or path-like

        Raises
        ------
        ValueError
            If a parameter or fitted attribute cannot be kept by the format (named).
        """
        check_is_fitted(self, "panel_")
        # imported here: the file format loads the network classes, which the baselines never need
        from .persistence import save_forecaster

        save_forecaster(self, path)

    def _interval_bounds(self, h, point, panel_future_exog, levels):
        """Bounds ``(n_series, h, 2 * len(levels))`` at ``levels``: model-based or conformal."""
        spec = getattr(self, "prediction_intervals", None)
        if spec is None and self._model_intervals:
            return self._model_bounds(h, panel_future_exog, levels)
        if spec is None:
            spec = ConformalIntervals(n_windows=None)
        calibration = self.calibration_ if spec.n_windows else self._held_out_calibration(h)
        return conformal_bounds(point, calibration, levels, spec.pooling, spec.symmetric)

    def _checked_bounds(self, bounds, h, levels):
        bounds = np.asarray(bounds, dtype=np.float64)
        expected = (self.panel_.n_series, h, 2 * len(levels))
        if bounds.shape != expected:
            raise RuntimeError(
                f"{type(self).__name__} returned interval bounds of shape {bounds.shape}; expected {expected}."
            )
        if not np.isfinite(bounds).all():
            raise RuntimeError(f"{type(self).__name__} produced non-finite interval bounds; refusing to return them.")
        return bounds

    def forecast(self, y, h=None, X=None, X_future=None, level=None, id_col=None, time_col=None, target_col=None):
        """Fit on ``y`` and forecast ``h`` steps: ``fit(y, X, ...).predict(h, X_future, level)``.

        Parameters
        ----------
        y : pd.Series or pd.DataFrame
            As in :meth:`fit`.
        h : int or None, default=None
            As in :meth:`predict`.
        X : pd.DataFrame or None, default=None
            As in :meth:`fit`.
        X_future : pd.DataFrame or None, default=None
            As in :meth:`predict`.
        level : float, list of float or None, default=None
            As in :meth:`predict`.
        id_col, time_col, target_col : str or None, default=None
            As in :meth:`fit`.

        Returns
        -------
        forecast : pd.Series or pd.DataFrame

        Notes
        -----
        The fit and the forecast run on a staged copy that the forecaster takes over
        once both succeed, so the forecast returned is always of this call's ``y``, also
        when other threads call :meth:`forecast` on the same forecaster meanwhile (which
        one's fit the forecaster keeps afterwards is then whichever finished last).
        """
        with staged_fit(self, fresh=True) as staged:
            staged.fit(y, X, id_col, time_col, target_col)
            forecast = staged.predict(h, X_future, level)
        return forecast

    def score(self, y_true, X_future=None, metric="mase", season_length=None):
        """Negated forecast error on the observations that follow the fitted data (higher is better).

        scikit-learn's convention for errors (``neg_mean_absolute_error``): search tools
        maximise ``score``, so a MASE of 0.8 scores -0.8.

        Parameters
        ----------
        y_true : pd.Series or pd.DataFrame
            The actual values of the ``h`` steps after the end of every fitted series, in
            the format (and, for long frames, the column names) given to :meth:`fit`;
            every series needs the same ``h`` and exactly the next timestamps.
        X_future : pd.DataFrame or None, default=None
            As in :meth:`predict`.
        metric : str, default='mase'
            A point or scaled metric of :data:`tsrnn.metrics.METRICS` (``'mase'``,
            ``'mae'``, ``'rmse'``, ``'smape'``, ...).
        season_length : int or None, default=None
            Season of the MASE scale; None uses the frequency's customary season (1 when a
            series is not longer than that).

        Returns
        -------
        score : float
            Minus the metric, averaged over the series. A scaled metric (MASE) is undefined
            on a series whose fitted data have a seasonal naive MAE of 0 (a constant series,
            or one repeating exactly every season): any forecast of it scores ``x / 0``.
            Such series are left out of the mean, as :func:`tsrnn.evaluation.evaluate`
            leaves them out for every model alike (see :mod:`tsrnn.forecasting.scoring`),
            and the score is NaN when every series is; either way an
            :class:`~sklearn.exceptions.UndefinedMetricWarning` names them.
        """
        check_is_fitted(self, "panel_")
        function = METRICS.get(metric)
        if function is None or function.kind not in ("point", "scaled"):
            raise ValueError(f"metric must be a point or scaled metric of tsrnn.metrics.METRICS; got {metric!r}.")
        fitted = self.panel_
        columns = fitted.columns if fitted.kind == "long" else (None,) * 3
        actual = to_panel(y_true, None, False, *columns)
        if not actual.ids.equals(fitted.ids):
            raise ValueError(
                f"y_true must hold the fitted series in the same order; got ids {list(actual.ids[:5])}, "
                f"fitted on {list(fitted.ids[:5])}."
            )
        h = int(actual.lengths[0])
        if (actual.lengths != h).any() or not actual.ds.equals(fitted.future_ds(h)):
            raise ValueError(
                f"y_true must hold the same number of steps for every series, at exactly the timestamps that "
                f"follow the fitted data (the first: {fitted.input_time(fitted.future_ds(1))[0]})."
            )
        names = self._future_exog_names()
        exog = future_exog(fitted, X_future, h, names) if names else None
        point, _ = self._checked_output(self._predict_panel(h, exog), h)
        if season_length is None:
            season_length = default_season_length(fitted.freq)
            if fitted.lengths.min() <= season_length:
                season_length = 1
        errors, undefined = [], []
        for i in range(fitted.n_series):
            extra = ()
            if function.kind == "scaled":
                extra = (fitted.series(i), season_length)
                scale = seasonal_naive_scale(*extra)
                if not (np.isfinite(scale) and scale > 0):  # x / 0 for every forecast alike
                    undefined.append(fitted.ids[i])
                    continue
            errors.append(function(actual.series(i), point[i], *extra))
        if undefined:
            shown = ", ".join(repr(i) for i in undefined[:3]) + (", ..." if len(undefined) > 3 else "")
            then = "the score is NaN" if not errors else "they are left out of the mean"
            warnings.warn(
                f"{metric} is undefined on {len(undefined)} of {fitted.n_series} series ({shown}): the seasonal "
                f"naive MAE of their fitted data (season_length={season_length}) is 0 (a constant series, or one "
                f"repeating every season), so any forecast scores x / 0; {then}. Score with a metric defined "
                "there (metric='mae', 'rmse' or 'smape') to include them.",
                UndefinedMetricWarning,
                stacklevel=2,
            )
        return -float(np.mean(errors)) if errors else float("nan")

    def _resolve_horizon(self, h):
        if h is None:
            h = getattr(self, "horizon", None)
            if h is None:
                raise ValueError(f"{type(self).__name__}.predict needs the horizon h (an int >= 1).")
        if isinstance(h, bool) or not isinstance(h, numbers.Integral) or h < 1:
            raise ValueError(f"The horizon h must be an int >= 1. Got {h!r} instead.")
        return int(h)

    def _checked_output(self, output, h):
        point, quantile_forecasts = output if isinstance(output, tuple) else (output, None)
        n_series = self.panel_.n_series
        point = np.asarray(point, dtype=np.float64)
        if point.shape != (n_series, h):
            raise RuntimeError(
                f"{type(self).__name__}._predict_panel returned point forecasts of shape "
                f"{point.shape}; expected {(n_series, h)}."
            )
        quantiles = self._quantiles()
        if quantiles:
            expected = (n_series, h, len(quantiles))
            if quantile_forecasts is None or np.shape(quantile_forecasts) != expected:
                raise RuntimeError(
                    f"{type(self).__name__}._predict_panel must return quantile forecasts of "
                    f"shape {expected}; got {None if quantile_forecasts is None else np.shape(quantile_forecasts)}."
                )
            quantile_forecasts = np.asarray(quantile_forecasts, dtype=np.float64)
        else:
            quantile_forecasts = None
        for name, values in (("point", point), ("quantile", quantile_forecasts)):
            if values is not None and not np.isfinite(values).all():
                raise RuntimeError(
                    f"{type(self).__name__} produced non-finite {name} forecasts; refusing to return them."
                )
        return point, quantile_forecasts
