"""RNNForecaster: one global recurrent network over many series, pandas in and out."""

import warnings
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from .._validation import BOOLEAN, NONE, QUANTILES, Interval, Predicate, StrOptions
from ..estimators import PARAMETER_CONSTRAINTS
from ..frequencies import calendar_attributes, default_season_length
from ..kernels import CELLS, prediction_device, resolve_device
from ..nn import LOSSES, RecurrentNetwork, Trainer, seeded_generator
from ..nn.training import point_prediction, quantile_predictions
from .base import ALIAS, PREDICTION_INTERVALS, BaseForecaster
from .conformal import (
    Calibration,
    ConformalIntervals,
    calibration_windows,
    conformal_bounds,
    conformal_quantiles,
    quantile_windows_needed,
    refit_residuals,
    series_scale,
    windows_needed,
)
from .linear import fit_linear_base
from .windows import (
    SeriesWindows,
    base_offsets,
    hide_future,
    linear_window,
    relative_to_last,
    training_spans,
    window_starts,
)


def mean_std(values, axis=None):
    """Mean and standard deviation that neither overflow near 1e308 nor underflow to a
    zero std on tiny (even subnormal) values: computed on ``values`` divided by their
    largest magnitude, then scaled back. Zero where every value is 0."""
    peak = np.max(np.abs(values), axis=axis, keepdims=True)
    peak = np.where(peak > 0, peak, 1.0)
    unit = values / peak
    peak = np.squeeze(peak, axis=axis) if axis is not None else float(peak.squeeze())
    return unit.mean(axis=axis) * peak, unit.std(axis=axis) * peak


def _standard(y):
    return mean_std(y)


def _robust(y):
    q25, q50, q75 = np.percentile(y, [25, 50, 75])
    iqr = q75 / 1.349 - q25 / 1.349  # the IQR of a unit normal is 1.349; divided first, as it can overflow
    # Mostly-constant series (intermittent demand) have IQR 0: fall back to the std,
    # which keeps the scaling equivariant to y -> a * y + b.
    return q50, iqr if iqr > 0 else mean_std(y)[1]


def _no_scaling(y):
    return 0.0, 1.0


SCALERS = {"standard": _standard, "robust": _robust, "none": _no_scaling}


def _nonzero_scale(scale, loc):
    """``scale`` where positive; for a constant column its level's magnitude (equivariant
    under x -> a * x), else 1."""
    return np.where(scale > 0, scale, np.where(np.abs(loc) > 0, np.abs(loc), 1.0))


LIST_OF_STR = Predicate("a list of str", lambda v: isinstance(v, (list, tuple)) and all(isinstance(s, str) for s in v))


def auto_batch_size(n_windows):
    """The mini-batch size of ``batch_size='auto'`` for ``n_windows`` training windows.

    64 (the regressors' default, which every bundled dataset trains with: their
    accuracy is unchanged) up to 64,000 windows; beyond, the power of two nearest
    ``n_windows / 1000`` (about a thousand steps per epoch), at most 1024. Large
    batches cut the per-step overhead that dominates small ones: an epoch over 4.66 M
    windows of 10,000 daily series took 240 s at 64 and 136 s at 512 (issue 15); with
    a thousand or more steps per epoch, Adam still takes enough of them to converge in
    the epochs that early stopping allows.

    Parameters
    ----------
    n_windows : int

    Returns
    -------
    int
    """
    if n_windows <= 64_000:
        return 64
    return int(min(1024, 2 ** round(np.log2(n_windows / 1000))))


def calendar_features(ds, freq, season_length):
    """Sine/cosine encodings of the calendar position of each timestamp.

    Parameters
    ----------
    ds : pd.Index
        Timestamps (``DatetimeIndex``) or integer time points.
    freq : pandas offset or int
        Frequency of ``ds`` (an integer step for integer time).
    season_length : int
        Period of integer time, in steps.

    Returns
    -------
    ndarray of shape (len(ds), 2 * n_terms)
        Datetime indexes use the attributes that matter for their frequency (month
        of year for monthly data, day of week for daily data, ...); integer time
        uses the phase within ``season_length``. No columns when neither applies
        (e.g. yearly data, or integer time with ``season_length=1``).
    """
    if isinstance(ds, pd.DatetimeIndex):
        # which attributes matter per frequency: the one frequency table, tsrnn.frequencies
        terms = [(getattr(ds, attr).to_numpy(dtype=float), period) for attr, period in calendar_attributes(freq)]
    elif season_length > 1:
        # phase in steps (not in ds units) so a step of 2 with season 4 still cycles
        terms = [((np.asarray(ds, dtype=np.int64) // freq) % season_length, season_length)]
    else:
        terms = []
    columns = []
    for value, period in terms:
        angle = 2 * np.pi * value / period
        columns += [np.sin(angle), np.cos(angle)]
    return np.column_stack(columns) if columns else np.empty((len(ds), 0))


class RNNForecaster(BaseForecaster):
    """Global RNN/LSTM/GRU forecaster for one or many series.

    One network is trained on windows of every series: it reads ``input_size``
    scaled past values (plus covariates and calendar terms) and predicts the
    next ``horizon`` values at once (``strategy='direct'``) or one step that is
    fed back as input ``h`` times (``strategy='recursive'``). Each series is
    scaled by its own location and scale, learned in ``fit`` and inverted on output.

    The forecast is the sum of three stages: a naive base forecast from the
    window (``base_forecast``), a ridge regression from the window to what the
    base misses (``linear_base``, fitted in closed form first), and the network,
    trained on what is left. On short series the first two carry the trend and
    the seasonality; the network adds what is nonlinear or shared across series.

    Parameters
    ----------
    cell : {'lstm', 'gru', 'rnn'}, default='lstm'
        Recurrent cell.
    horizon : int, default=12
        Steps to forecast; the default ``h`` of :meth:`predict`. A direct model
        forecasts at most ``horizon`` steps, a recursive one any number.
    input_size : int or None, default=None
        Past steps the network reads. None uses ``2 * max(season_length, horizon)``.
    season_length : int or None, default=None
        Seasonal period; None infers it from the frequency (12 for monthly, 4 for
        quarterly, 1 for integer time, ...).
    strategy : {'direct', 'recursive'}, default='direct'
        'direct' trains the head to output the whole horizon; 'recursive' trains a
        one-step model and feeds its forecasts back.
    scaler : {'standard', 'robust', 'none'}, default='standard'
        Per-series scaling: mean/std, median/(IQR / 1.349), or none. A series that is
        constant in training has scale 0: the network sees zeros for it and its
        forecast is that constant (exactly, at any magnitude).
    base_forecast : {'seasonal_naive', 'naive'} or None, default='seasonal_naive'
        The network forecasts the residual over this simple forecast made from
        each window (the last value of the same season, or the last value), and
        reads its window relative to the last observed value. Trends and level
        shifts then never push inputs outside the range seen in training, and an
        untrained network already equals the base forecast. None forecasts the
        scaled values themselves.
    linear_base : {'auto', 'changes', 'levels'} or None, default='auto'
        A ridge regression from each window to its targets is fitted first (in
        closed form, penalty by generalised cross-validation) and the network
        learns what it leaves; the forecast is their sum. 'changes' reads the
        window as the network does (relative to its last value with a base
        forecast); 'levels' also reads the scaled last value, which lets
        mean-reverting series return to their mean but extrapolates the level of a
        trending one; 'auto' fits both and keeps the one with the lower error on
        the validation windows ('changes' without early stopping). None: the
        network alone.
    transform : {'log', 'auto'} or None, default=None
        Model the logarithm of the series (a multiplicative trend and season become
        additive); 'auto' takes logs when every value is positive.
    n_models : int, default=1
        Train this many networks from different seeds (derived from
        ``random_state``) and average their forecasts.
    calendar_features : bool, default=False
        Add sine/cosine encodings of the calendar position (month, day of week, ...)
        of every input and forecast step; integer time uses the phase within
        ``season_length``. Warns when the data have no calendar terms (e.g. yearly).
    past_covariates : list of str or None, default=None
        Covariates known only up to the forecast origin (e.g. observed
        temperatures). Every other covariate is taken as known in advance (e.g.
        holidays, prices set ahead) and must be given in ``X_future``. A recursive
        model holds past covariates at their last observed value.
    quantiles : list of float or None, default=None
        Train with the pinball loss on these probabilities (``loss`` is then
        ignored); the forecast gets one column per quantile. The point forecast is
        the median head, trained beside them when 0.5 is not among ``quantiles``
        (never a tail quantile). The heads see windows the linear stage fitted in
        sample and come out too narrow; with ``calibrate_quantiles=True`` they are
        conformalised on held-out windows before they are returned.
    calibrate_quantiles : bool, default=True
        Shift each quantile forecast by its errors on windows the model never trained on
        (conformalised quantile regression, one-sided per quantile; see
        :mod:`~tsrnn.forecasting.conformal`), on the same windows as the ``level=``
        intervals: the early-stopping validation windows, or refits at earlier cutoffs
        when those are fewer than a quantile needs (9 for 0.1/0.9, 19 for 0.05/0.95) or
        when ``prediction_intervals`` asks for refits. A ``[q, 1 - q]`` band then covers
        at least ``1 - 2q`` of exchangeable future values. The median head (the point
        forecast) is never shifted, and the quantiles never cross. False returns the
        heads as trained.
    prediction_intervals : ConformalIntervals or None, default=None
        How ``predict(level=...)`` calibrates its conformal intervals. None: on the
        errors of the trained model on its early-stopping validation windows (the
        latest ``validation_fraction`` of each series' windows, never trained on; needs
        ``early_stopping=True``), no refit needed. When those windows (pooled over series,
        see :mod:`~tsrnn.forecasting.conformal`) are fewer than a requested level needs
        (19 for 95 %: the default ``validation_fraction=0.1`` on one monthly series gives
        about 10), the first such ``predict`` refits the model at enough earlier cutoffs one
        step apart (``ceil(19 / n_series)`` fits for 95 %; kept in ``refit_calibration_``)
        and calibrates on those errors instead; if the series are too short for that, it
        warns and uses the largest validation residual (guaranteeing ``n / (n + 1)``). A
        :class:`~tsrnn.forecasting.conformal.ConformalIntervals` with ``n_windows``: on
        refits at that many earlier cutoffs (``n_windows`` extra fits).
    hidden_size, num_layers, dropout, loss, optimizer, learning_rate, lr_schedule, \
max_epochs, clip_norm, early_stopping, validation_fraction, n_iter_no_change, random_state, verbose
        As in :class:`tsrnn.RNNRegressor`. ``loss`` is one of {'mse', 'mae', 'huber'}.
        The validation samples are the latest ``validation_fraction`` of each
        series' windows; training windows whose targets overlap theirs are left out.
    bidirectional : False, default=False
        The regressors' and classifiers' parameter, refused here with a clear error: a
        forecaster's network must run forward in time only, from the past up to the forecast
        origin, while a bidirectional layer also reads every window backwards, from its newest
        step (the estimators take it for sequence models that may read the whole sequence).
    batch_size : int or 'auto', default='auto'
        Windows per mini-batch. 'auto' is :func:`auto_batch_size` of the number of
        training windows: 64 up to 64,000 windows (every bundled dataset), then growing
        with the windows up to 1024, so that millions of windows train at kernel speed
        (fitted value in ``batch_size_``).
    dtype : {'float32', 'float64'}, default='float32'
        Precision of the network.
    device : {'cpu', 'cuda', 'auto'}, default='cpu'
        Where the networks train and predict, as in :class:`tsrnn.RNNRegressor`: 'cuda'
        keeps each fit's weights, optimizer state and windows on the GPU; a forecaster
        fitted on a GPU predicts, saves and loads on a CPU-only machine.
    alias : str or None, default=None
        Name of the forecast column; None uses the upper-case cell name ('LSTM').

    Attributes
    ----------
    networks_ : list of RecurrentNetwork
        The ``n_models`` trained networks (:class:`tsrnn.nn.RecurrentNetwork`; weights in
        ``params``). Each reads time-major windows of the scaled features and outputs what
        the base forecast and the linear stage leave (``horizon`` or one step, times the
        quantiles).
    histories_ : list of TrainingHistory
        Their training curves and state (:class:`tsrnn.nn.TrainingHistory`: ``loss_curve``,
        ``validation_loss_curve``, ``best_loss``, ``n_iter``, ...), as :class:`tsrnn.nn.Trainer`
        left them.
    input_size_, season_length_ : int
        Resolved window length and seasonal period.
    batch_size_ : int
        The batch size the networks trained with (``batch_size``, or what 'auto' chose).
    linear_base_ : LinearBase or None
        The fitted linear stage: ``use_level`` says which kind 'auto' chose,
        ``validation_mse_`` the errors it compared, ``ridge_`` the regression.
    future_steps_ : int
        Steps after the forecast origin whose known features (calendar terms,
        known covariates) the network reads: 0, or the steps each sample predicts.
    scale_loc_, scale_scale_ : ndarray of shape (n_series,)
        Per-series scaling: the network sees ``(y - scale_loc_) / scale_scale_`` (zeros
        where the scale is 0) and forecasts are ``scaled * scale_scale_ + scale_loc_``.
        Learned from each series' rows before its first validation target (every row
        without early stopping), so the validation windows that calibrate the intervals
        and quantiles never shape the model (the covariates' scaling likewise).
    validation_residuals_ : Calibration or None
        Errors ``y - forecast`` of the trained model on the validation windows, per
        series and forecast step (:class:`~tsrnn.forecasting.conformal.Calibration`),
        and with ``quantiles`` the errors of each quantile head there
        (``quantile_residuals``); None without early stopping.
    refit_calibration_ : Calibration
        Only after a ``predict(level=...)`` (or a ``predict`` with calibrated quantiles)
        for which the validation windows were too few: the errors of refits at earlier
        cutoffs it calibrated on instead.
    panel_ : Panel
        The training data (or the history given to :meth:`update`).

    Examples
    --------
    >>> from tsrnn.datasets import load_airpassengers
    >>> from tsrnn.forecasting import RNNForecaster
    >>> y = load_airpassengers()
    >>> model = RNNForecaster(horizon=12, max_epochs=5, random_state=0).fit(y)
    >>> model.predict().shape
    (12,)
    """

    _uses_exog = True
    _supports_update = True
    # per-series state for partitioned predictions (tsrnn.forecasting.distributed); the
    # networks and the linear stage are global
    _series_attributes = ("scale_loc_", "scale_scale_", "validation_residuals_", "refit_calibration_")

    _parameter_constraints = {
        "cell": [StrOptions(CELLS)],
        "horizon": [Interval(Integral, 1, None, closed="left")],
        "input_size": [Interval(Integral, 1, None, closed="left"), NONE],
        "season_length": [Interval(Integral, 1, None, closed="left"), NONE],
        "strategy": [StrOptions({"direct", "recursive"})],
        "scaler": [StrOptions(SCALERS)],
        "base_forecast": [StrOptions({"seasonal_naive", "naive"}), NONE],
        "linear_base": [StrOptions({"auto", "changes", "levels"}), NONE],
        "transform": [StrOptions({"log", "auto"}), NONE],
        "n_models": [Interval(Integral, 1, None, closed="left")],
        "calendar_features": [BOOLEAN],
        "past_covariates": [LIST_OF_STR, NONE],
        "quantiles": [QUANTILES, NONE],
        "calibrate_quantiles": [BOOLEAN],
        "bidirectional": [BOOLEAN],  # and False only: refused with its reason at fit
        "prediction_intervals": [PREDICTION_INTERVALS, NONE],
        # the network's parameters, as the regressors check them
        **{
            name: PARAMETER_CONSTRAINTS[name]
            for name in (
                "hidden_size",
                "num_layers",
                "dropout",
                "optimizer",
                "learning_rate",
                "lr_schedule",
                "batch_size",
                "max_epochs",
                "clip_norm",
                "early_stopping",
                "validation_fraction",
                "n_iter_no_change",
                "dtype",
                "device",
                "random_state",
                "verbose",
            )
        },
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "early_stopping": [BOOLEAN],  # the windows of a forecaster are many: no 'auto'
        "loss": [StrOptions(set(LOSSES) - {"quantile"})],
        "alias": [ALIAS, NONE],
    }

    def __init__(
        self,
        cell="lstm",
        horizon=12,
        input_size=None,
        season_length=None,
        strategy="direct",
        scaler="standard",
        base_forecast="seasonal_naive",
        linear_base="auto",
        transform=None,
        n_models=1,
        calendar_features=False,
        past_covariates=None,
        quantiles=None,
        calibrate_quantiles=True,
        prediction_intervals=None,
        hidden_size=64,
        num_layers=1,
        bidirectional=False,
        dropout=0.0,
        loss="mse",
        optimizer="adam",
        learning_rate=1e-3,
        lr_schedule="constant",
        batch_size="auto",
        max_epochs=200,
        clip_norm=1.0,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        dtype="float32",
        device="cpu",
        random_state=None,
        verbose=0,
        alias=None,
    ):
        self.cell = cell
        self.horizon = horizon
        self.input_size = input_size
        self.season_length = season_length
        self.strategy = strategy
        self.scaler = scaler
        self.base_forecast = base_forecast
        self.linear_base = linear_base
        self.transform = transform
        self.n_models = n_models
        self.calendar_features = calendar_features
        self.past_covariates = past_covariates
        self.quantiles = quantiles
        self.calibrate_quantiles = calibrate_quantiles
        self.prediction_intervals = prediction_intervals
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.clip_norm = clip_norm
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.dtype = dtype
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.alias = alias  # stored by the property's setter as _alias

    @property
    def alias(self):
        """str: name of the forecast column (the ``alias`` parameter or the cell name)."""
        raw = self.__dict__.get("_alias")
        return raw if raw is not None else self.cell.upper()

    @alias.setter
    def alias(self, value):
        self._alias = value

    @classmethod
    def auto(cls, y, X=None, *, search_space=None, n_windows=2, max_seconds=60.0, metric="mase", **params):
        """Choose input_size, hidden_size and learning_rate by backtest, then fit on all of ``y``.

        Every candidate is scored by a rolling-origin backtest (:func:`tsrnn.evaluation.backtest`,
        ``n_windows`` windows of ``horizon`` steps at the end of the data, each model refitted
        on the data before its window); the best is refitted on all of ``y``.

        Parameters
        ----------
        y, X
            As in :meth:`fit`.
        search_space : dict of str to list or None, default=None
            Values to try per parameter (the first value of every list is tried first).
            None: ``input_size`` 2, 1 and 3 times ``max(season_length, horizon)``,
            ``hidden_size`` as given and half of it, ``learning_rate`` as given and 3x:
            12 candidates.
        n_windows : int, default=2
            Backtest windows per candidate.
        max_seconds : float, default=60.0
            Time budget: once spent, the remaining candidates are skipped (the first
            candidate always runs). Marked "not run: out of time" in ``cv_results_``.
        metric : {'mase', 'smape', 'mae', 'rmse'}, default='mase'
            Backtest error to minimise.
        **params
            Every other parameter of the forecaster (``horizon``, ``cell``,
            ``random_state``, ...).

        Returns
        -------
        model : RNNForecaster
            Fitted with the best candidate, with ``best_params_`` (dict) and
            ``cv_results_`` (DataFrame: one row per candidate, its parameters,
            ``score``, ``seconds`` and ``status``).

        Notes
        -----
        A few backtest windows are a noisy judge: on the hold-outs of the bundled
        suite (LSTM, seeds 0 and 1) the defaults scored better than the candidate
        ``auto`` chose on airpassengers (MASE 0.39 vs 0.42), elnino (0.64 vs 0.84),
        nile (1.28 vs 1.40) and sunspots (0.69 vs 1.09), and the same on co2 (0.31).
        Prefer more ``n_windows`` when the series allow it, and compare the result
        with the defaults in a backtest.

        Examples
        --------
        >>> from tsrnn.datasets import load_airpassengers
        >>> from tsrnn.forecasting import RNNForecaster
        >>> model = RNNForecaster.auto(load_airpassengers(), horizon=12, max_epochs=5,
        ...                            max_seconds=5, random_state=0)
        >>> sorted(model.best_params_)
        ['hidden_size', 'input_size', 'learning_rate']
        """
        from .search import search_forecaster

        return search_forecaster(cls(**params), y, X, search_space, n_windows, max_seconds, metric)

    # -- feature layout ---------------------------------------------------------
    # Per-step columns: [target, past covariates | future flag, calendar, known covariates].
    # The block after "|" exists only when future_steps_ > 0; in future steps the
    # first block is zeroed and the flag set (windows.hide_future).

    def _output_steps(self):
        return self.horizon if self.strategy == "direct" else 1

    def _n_past(self):
        return 1 + len(self.past_exog_)

    def _window_layout(self):
        """Where things are in a window, for training (SeriesWindows) and prediction alike."""
        return dict(
            input_size=self.input_size_,
            horizon=self._output_steps(),
            future_steps=self.future_steps_,
            past_columns=np.arange(self._n_past()),
            flag_column=self._n_past() if self.future_steps_ else None,
            base_offsets=self.base_offsets_,
        )

    def _step_features(self, freq, target, ds, exog):
        """Per-step input columns for rows with scaled ``target``, timestamps ``ds`` and raw ``exog``."""
        past, known = self.past_exog_, self.known_exog_
        blocks = [target[:, None]]
        if past:
            blocks.append((exog[:, past] - self.exog_loc_[past]) / self.exog_scale_[past])
        if self.future_steps_:
            blocks.append(np.zeros((len(target), 1)))  # future flag, set by hide_future
            if self.calendar_features:
                blocks.append(calendar_features(ds, freq, self.season_length_))
            if known:
                blocks.append((exog[:, known] - self.exog_loc_[known]) / self.exog_scale_[known])
        return np.column_stack(blocks).astype(self.dtype)

    def _check_lengths(self, lengths, ids, minimum, what):
        shortest = int(np.argmin(lengths))
        if lengths[shortest] < minimum:
            raise ValueError(
                f"Series {ids[shortest]!r} has {lengths[shortest]} observations; {type(self).__name__} "
                f"needs at least {minimum} ({what})."
            )

    # -- fit --------------------------------------------------------------------

    def _fit_panel(self, panel):
        train, validation = self._training_windows(panel)
        self.linear_base_ = None
        if self.linear_base is not None:
            self.linear_base_ = fit_linear_base(self.linear_base, train, validation)
            train.linear_base = self.linear_base_
            if validation is not None:
                validation.linear_base = self.linear_base_
        # The one training seam the regressors use too; what the forecaster does not expose
        # (weight_decay, tol, the uniform initialisation) keeps the regressors' defaults.
        quantiles = self._sorted_quantiles()
        self.batch_size_ = auto_batch_size(train.n_samples) if self.batch_size == "auto" else self.batch_size
        trainer = Trainer(
            "quantile" if quantiles is not None else self.loss,
            quantiles=quantiles,
            optimizer=self.optimizer,
            learning_rate=self.learning_rate,
            batch_size=self.batch_size_,
            max_epochs=self.max_epochs,
            clip_norm=self.clip_norm,
            dropout=self.dropout,
            n_iter_no_change=self.n_iter_no_change,
            lr_schedule=self.lr_schedule,
            verbose=self.verbose,
            device=resolve_device(self.device),
        )
        n_outputs = train.n_targets * (1 if quantiles is None else quantiles.size)
        networks, histories = [], []
        for seed in self._member_seeds():
            rng = seeded_generator(seed)
            network = RecurrentNetwork(
                self.cell, train.n_features, self.hidden_size, self.num_layers, n_outputs, dtype=self.dtype
            )
            network.initialize(rng)
            histories.append(trainer.fit(network, trainer.start(network, rng), train, validation))
            networks.append(network)
        self.networks_, self.histories_ = networks, histories
        self.validation_residuals_ = None if validation is None else self._validation_residuals(panel, validation)

    def _validation_residuals(self, panel, validation):
        """Errors of the trained model, in the units of ``y``, on the validation windows.

        Each validation window's origin gets a full ``horizon``-step forecast (for a
        recursive model too, from the origins with ``horizon`` observations after them),
        so the calibration covers every step :meth:`predict` can be asked for.
        """
        T, H = self.input_size_, self.horizon
        origins = validation.starts + T
        series = np.searchsorted(panel.indptr, origins, side="right") - 1
        keep = origins + H <= panel.indptr[series + 1]
        origins, series = origins[keep], series[keep]
        features = validation.features
        if origins.size == 0:
            residuals = np.empty((0, H))
        else:
            n_future = max(H, self.future_steps_) if self.strategy == "recursive" else self.future_steps_
            # a chunk of origins at a time: the gathered windows and the network's input are
            # bounded by the chunk, not by the number of validation windows (issue 15)
            chunk = self._in_sample_chunk
            raw = np.concatenate(
                [
                    self._predict_origins(features, origins[start : start + chunk], n_future, H)
                    for start in range(0, origins.size, chunk)
                ]
            )
            quantiles = self._sorted_quantiles()
            scaled = point_prediction(raw, H, quantiles)
            forecast = self._untransformed(scaled * self.scale_scale_[series, None] + self.scale_loc_[series, None])
            residuals = panel.values[origins[:, None] + np.arange(H)] - forecast
        counts = np.bincount(series, minlength=panel.n_series)
        per_series = np.split(residuals, np.cumsum(counts)[:-1])
        if self.quantiles is None:
            return Calibration(per_series, series_scale(panel), "early-stopping validation windows")
        # the errors of each quantile head as trained, in the same windows (what calibrates them)
        quantile_errors = np.empty((0, H, len(self.quantiles)))
        if origins.size:
            actual = panel.values[origins[:, None] + np.arange(H)]
            quantile_errors = actual[:, :, None] - self._user_quantiles(raw, H, series)
        return Calibration(
            per_series,
            series_scale(panel),
            "early-stopping validation windows",
            np.array(self.quantiles, dtype=float),
            np.split(quantile_errors, np.cumsum(counts)[:-1]),
        )

    def _interval_bounds(self, h, point, panel_future_exog, levels):
        """Conformal bounds; by default on the validation windows, or on refits where they are too few."""
        if self.prediction_intervals is not None:
            return super()._interval_bounds(h, point, panel_future_exog, levels)
        calibration = self._held_out_calibration(h)
        needed = max(windows_needed(level) for level in levels)
        if calibration_windows(calibration) < needed:
            calibration = self._refit_calibration(needed, calibration)
        return conformal_bounds(point, calibration, levels)

    def _refit_calibration(self, needed, fallback):
        """Residuals of refits at enough cutoffs for ``needed`` pooled windows, or ``fallback`` with a warning."""
        n_windows = -(-needed // self.panel_.n_series)
        cached = getattr(self, "refit_calibration_", None)
        if cached is not None and calibration_windows(cached) >= needed:
            return cached
        # one step between cutoffs: the fewest observations for this many windows (their
        # overlapping errors are correlated, which the conformal guarantee tolerates on average)
        spec = ConformalIntervals(n_windows=n_windows, h=self.horizon, step=1)
        try:
            calibration = refit_residuals(self, self.panel_.to_long(), None, self.panel_, spec)
        except ValueError as error:
            found = 0 if fallback is None else calibration_windows(fallback)
            warnings.warn(
                f"The early-stopping validation windows give {found} residuals per step "
                f"and refitting at {n_windows} earlier cutoffs to reach {needed} is not possible ({error})"
                + ("; the quantiles are the heads' own, uncalibrated." if fallback is None else "."),
                UserWarning,
                stacklevel=5,
            )
            return fallback
        self.refit_calibration_ = calibration
        return calibration

    def _held_out_calibration(self, h):
        if self.validation_residuals_ is None:
            raise ValueError(
                "RNNForecaster calibrates its intervals on the early-stopping validation windows, and "
                "this model has none (early_stopping=False); refit with early_stopping=True or with "
                "prediction_intervals=ConformalIntervals(n_windows=...)."
            )
        return self.validation_residuals_

    def _member_seeds(self):
        """The ``random_state`` of each ensemble member."""
        if self.n_models == 1:
            return [self.random_state]
        # distinct, reproducible seeds for the members
        return check_random_state(self.random_state).randint(2**31 - 1, size=self.n_models).tolist()

    def _training_windows(self, panel):
        """Resolve sizes, learn the scaling and return the (train, validation) windows."""
        if self.bidirectional:
            raise ValueError(
                "RNNForecaster does not take bidirectional=True: a forecaster's network must run forward "
                "in time only, up to the forecast origin, and a bidirectional layer also reads each window "
                "backwards from its newest step. Use bidirectional=False (RNNRegressor and RNNClassifier "
                "take bidirectional layers for sequences that may be read whole)."
            )
        self.season_length_ = self.season_length or default_season_length(panel.freq)
        self.input_size_ = self.input_size or 2 * max(self.season_length_, self.horizon)
        steps = self._output_steps()
        self.base_offsets_ = None
        if self.base_forecast is not None:
            period = self.season_length_ if self.base_forecast == "seasonal_naive" else 1
            if self.input_size_ < period:
                raise ValueError(
                    f"base_forecast='seasonal_naive' needs input_size >= season_length={period}; "
                    f"got input_size={self.input_size_}."
                )
            self.base_offsets_ = base_offsets(steps, period)
        self._check_lengths(
            panel.lengths,
            panel.ids,
            self.input_size_ + steps,
            f"input_size={self.input_size_} + {'horizon' if self.strategy == 'direct' else 'one step'}={steps}",
        )
        names = list(panel.exog_names)
        past_names = list(self.past_covariates or ())
        unknown = [n for n in past_names if n not in names]
        if unknown:
            raise ValueError(f"past_covariates {unknown} are not among the covariates {names}.")
        self.past_exog_ = [k for k, n in enumerate(names) if n in past_names]
        self.known_exog_ = [k for k, n in enumerate(names) if n not in past_names]
        n_calendar = 0
        if self.calendar_features:
            n_calendar = calendar_features(panel.ds[:1], panel.freq, self.season_length_).shape[1]
            if n_calendar == 0:
                warnings.warn(
                    f"calendar_features=True adds nothing for frequency {panel.freq!r} with "
                    f"season_length={self.season_length_} (integer time needs season_length > 1).",
                    UserWarning,
                    stacklevel=4,
                )
        self.future_steps_ = steps if (self.known_exog_ or n_calendar) else 0

        positive = bool(np.all(panel.values > 0))
        if self.transform == "log" and not positive:
            raise ValueError("transform='log' needs strictly positive series; use transform=None or 'auto'.")
        self.log_ = self.transform == "log" or (self.transform == "auto" and positive)
        values = self._transformed(panel.values)
        fraction = self.validation_fraction if self.early_stopping else None
        train_starts, val_starts = window_starts(panel.indptr, self.input_size_, steps, fraction)
        # The scaling is learned from the rows before each series' first validation target: those
        # targets judge early stopping and calibrate the intervals and quantiles, which would come
        # out optimistic if they had shaped the model. Without validation windows: every row.
        spans = training_spans(panel.indptr, self.input_size_, steps, fraction)
        loc_scale = np.array([SCALERS[self.scaler](values[a:b]) for a, b in spans], dtype=float)
        self.scale_loc_ = loc_scale[:, 0]
        # a constant series has scale 0: the network sees zeros and its forecast is the constant
        self.scale_scale_ = loc_scale[:, 1]
        if panel.exog is not None:
            seen = np.concatenate([np.arange(a, b) for a, b in spans])
            self.exog_loc_, std = mean_std(panel.exog[seen], axis=0)
            self.exog_scale_ = _nonzero_scale(std, self.exog_loc_)

        lengths = panel.lengths
        target = self._scaled(values, lengths)
        features = self._step_features(panel.freq, target, panel.ds, panel.exog)
        layout = self._window_layout()
        train = SeriesWindows(features, target, train_starts, **layout)
        validation = SeriesWindows(features, target, val_starts, **layout) if val_starts.size else None
        return train, validation

    def _future_exog_names(self):
        return [self.panel_.exog_names[k] for k in self.known_exog_]

    def _update_panel(self, panel):
        """New history of the fitted series: keep the network and the scaling; predict reads its end."""
        self._check_lengths(panel.lengths, panel.ids, self.input_size_, f"input_size={self.input_size_}")

    # -- predict ----------------------------------------------------------------

    def _predict_panel(self, h, panel_future_exog):
        if self.strategy == "direct" and h > self.horizon:
            raise ValueError(
                f"A direct RNNForecaster forecasts at most horizon={self.horizon} steps; got h={h}. "
                "Refit with a larger horizon or use strategy='recursive'."
            )
        if self.known_exog_ and h < self.future_steps_:
            raise ValueError(
                f"This model reads known covariates over its whole horizon ({self.horizon} steps); "
                f"predict with h={self.horizon} and X_future for those steps, then keep the first {h}."
            )
        panel, T, n_future = self.panel_, self.input_size_, max(h, self.future_steps_)
        # the last input_size observed steps of every series, then its future steps
        rows = (panel.indptr[1:, None] - T + np.arange(T)).ravel()
        values = self._transformed(panel.values[rows])
        target = self._scaled(values, T)
        exog = None if panel.exog is None else panel.exog[rows]
        hist = self._step_features(panel.freq, target, panel.ds[rows], exog)
        future_exog = None
        if panel.exog is not None:  # past-only columns stay 0: they are hidden in future steps
            future_exog = np.zeros((panel.n_series, n_future, panel.exog.shape[1]))
            if self.known_exog_:
                future_exog[:, :h, self.known_exog_] = panel_future_exog
            future_exog = future_exog.reshape(-1, panel.exog.shape[1])
        futr = self._step_features(
            panel.freq, np.zeros(panel.n_series * n_future), panel.future_ds(n_future), future_exog
        )
        hist = hist.reshape(panel.n_series, T, -1)
        futr = futr.reshape(panel.n_series, n_future, -1)
        if self.strategy == "direct":
            raw = self._predict_windows(hist, futr[:, : self.future_steps_])
        else:
            raw = self._predict_recursive(hist, futr, h)
        quantiles = self._sorted_quantiles()
        outputs = raw.shape[1] // (1 if quantiles is None else quantiles.size)
        loc, scale = self.scale_loc_[:, None], self.scale_scale_[:, None]
        point = self._untransformed(point_prediction(raw, outputs, quantiles)[:, :h] * scale + loc)
        if quantiles is None:
            return point
        q = self._user_quantiles(raw, outputs, np.arange(panel.n_series))[:, :h]
        return point, self._calibrated_quantiles(point, q) if self.calibrate_quantiles else q

    def _user_quantiles(self, raw, outputs, series):
        """The heads' forecasts of each of ``quantiles`` (in its order), in the units of ``y``,
        for rows of ``raw`` belonging to ``series``: ndarray of shape (n, outputs, n_quantiles)."""
        quantiles = self._sorted_quantiles()
        loc, scale = self.scale_loc_[series, None, None], self.scale_scale_[series, None, None]
        q = self._untransformed(quantile_predictions(raw, outputs, quantiles) * scale + loc)
        # the column of each user quantile among the trained ones (which may add the median)
        return q[:, :, np.searchsorted(quantiles, self.quantiles)]

    def _calibrated_quantiles(self, point, q):
        """Conformalised quantiles (``calibrate_quantiles``), on the calibration :meth:`_quantile_calibration` picks."""
        calibration, pooling = self._quantile_calibration()
        if calibration is None:  # nothing to shift (only the median) or nothing to calibrate on (warned)
            return q
        # a recursive model may forecast past its horizon, the steps its calibration covers
        return conformal_quantiles(point, q, calibration, self.quantiles, pooling, extend=self.strategy == "recursive")

    def _quantile_calibration(self):
        """``(calibration, pooling)`` for the quantiles: the refits ``prediction_intervals`` asks
        for, else the validation windows, else (too few for a quantile) refits at earlier cutoffs."""
        spec = self.prediction_intervals
        if spec is not None and spec.n_windows:
            return self.calibration_, spec.pooling
        pooling = "auto" if spec is None else spec.pooling
        needed = max(quantile_windows_needed(q) for q in self.quantiles)
        if needed == 0:
            return None, pooling
        held_out = self.validation_residuals_
        usable = held_out is not None and held_out.quantile_residuals is not None
        if spec is not None:  # ConformalIntervals(n_windows=None): the held-out windows only, as for level=
            if not usable:
                raise ValueError(
                    "prediction_intervals=ConformalIntervals(n_windows=None) calibrates the quantiles on the "
                    "early-stopping validation windows, and this model has none (early_stopping=False); refit "
                    "with early_stopping=True or ConformalIntervals(n_windows=...), or set calibrate_quantiles=False."
                )
            return held_out, pooling  # too few windows: the rank is clipped to the largest error, with a warning
        if usable and calibration_windows(held_out, pooling) >= needed:
            return held_out, pooling
        return self._refit_calibration(needed, held_out if usable else None), pooling

    # windows per network call in predict_in_sample: bounds the (windows, steps, features) input
    _in_sample_chunk = 65536

    def _fitted_panel(self):
        """One-step-ahead fitted values over ``panel_``: the first forecast step from each origin.

        The fitted value of step ``t`` is the forecast (direct head's first step, or the
        recursive model's single step) from the ``input_size_`` observations before ``t``,
        exactly what :meth:`predict` gives from history ending at ``t - 1``. NaN for each
        series' first ``input_size_`` steps (no full input window), and, when the model
        reads the inputs of ``future_steps_`` future steps (calendar features or known
        covariates), for the last steps whose future window runs past the series' end.
        """
        panel, T, F = self.panel_, self.input_size_, self.future_steps_
        lengths = panel.lengths
        n_obs = len(panel.values)
        values = self._transformed(panel.values)
        target = self._scaled(values, lengths)
        features = self._step_features(panel.freq, target, panel.ds, panel.exog)
        series = np.repeat(np.arange(panel.n_series), lengths)
        position = np.arange(n_obs) - np.repeat(panel.indptr[:-1], lengths)
        ends = np.repeat(panel.indptr[1:], lengths)
        # origin t: a full window [t - T, t) before it, and its F future steps inside the series
        origins = np.flatnonzero((position >= T) & (np.arange(n_obs) + F <= ends))
        quantiles = self._sorted_quantiles()
        n_q = 1 if quantiles is None else quantiles.size
        fitted = np.full(n_obs, np.nan)
        for start in range(0, origins.size, self._in_sample_chunk):
            chunk = origins[start : start + self._in_sample_chunk]
            hist = features[chunk[:, None] - T + np.arange(T)]
            # the future steps' targets are in these rows, but _predict_windows hides them
            # (hide_future) as in training, so nothing at or after t reaches the network
            futr = features[chunk[:, None] + np.arange(F)]
            raw = self._predict_windows(hist, futr)
            scaled = point_prediction(raw, raw.shape[1] // n_q, quantiles)[:, 0]
            fitted[chunk] = self._untransformed(
                scaled * self.scale_scale_[series[chunk]] + self.scale_loc_[series[chunk]]
            )
        return fitted

    def _scaled(self, values, counts):
        """``(values - scale_loc_) / scale_scale_`` for ``counts[i]`` consecutive rows of each
        series (a scalar: that many of each); zeros for constant series (scale 0)."""
        loc, scale = np.repeat(self.scale_loc_, counts), np.repeat(self.scale_scale_, counts)
        return (values - loc) / np.where(scale > 0, scale, 1.0)

    def _transformed(self, values):
        return np.log(values) if self.log_ else values

    def _untransformed(self, values):
        # exp is monotone, so quantiles stay quantiles (and the median stays the median)
        return np.exp(values) if self.log_ else values

    def _sorted_quantiles(self):
        """The probabilities the heads are trained on: ``quantiles`` sorted, with the median
        added when absent, so the point forecast is a median head and never a tail quantile."""
        if self.quantiles is None:
            return None
        return np.union1d(np.asarray(self.quantiles, dtype=float), [0.5])

    def _predict_origins(self, features, origins, n_future, h):
        """Scaled forecasts (as :meth:`_predict_windows`) from forecast origins ``origins``,
        rows of ``features``, each with the ``n_future`` steps after it (inside its series)."""
        T = self.input_size_
        hist = features[origins[:, None] - T + np.arange(T)]
        futr = features[origins[:, None] + np.arange(n_future)]
        if self.strategy == "direct":
            return self._predict_windows(hist, futr)
        return self._predict_recursive(hist, futr, h)

    def _predict_windows(self, hist, futr):
        """Scaled forecasts (head outputs plus the linear stage and the base forecast)
        for windows ``hist (n, T, D)`` followed by ``futr (n, future_steps_, D)``."""
        X = np.concatenate([hist, futr], axis=1).transpose(1, 0, 2)
        X = np.ascontiguousarray(X, dtype=self.networks_[0].dtype)
        # the same transformations SeriesWindows.batch applies to training windows
        layout = self._window_layout()
        if self.base_offsets_ is not None:
            relative_to_last(X, self.input_size_)
        if self.future_steps_:
            hide_future(X, self.input_size_, layout["past_columns"], layout["flag_column"])
        # the ensemble forecast: the members' outputs (quantiles too) averaged
        device = prediction_device(getattr(self, "device", "cpu"))
        out = np.mean([network.predict(X, device=device).astype(np.float64) for network in self.networks_], axis=0)
        base = np.zeros((len(hist), self._output_steps()))
        if self.linear_base_ is not None:
            window = hist[:, : self.input_size_, 0].astype(np.float64)
            base += self.linear_base_.predict(*linear_window(window, self.base_offsets_ is not None))
        if self.base_offsets_ is not None:
            base += hist[:, self.input_size_ + self.base_offsets_, 0]
        return out + np.repeat(base, out.shape[1] // base.shape[1], axis=1)  # quantiles fastest

    def _predict_recursive(self, hist, futr, h):
        """One step at a time, feeding the point forecast back as the newest input."""
        quantiles = self._sorted_quantiles()
        n_q = 1 if quantiles is None else quantiles.size
        n_past = self._n_past()
        raw = np.empty((hist.shape[0], h * n_q))
        window = hist.copy()
        for step in range(h):
            out = self._predict_windows(window, futr[:, step : step + self.future_steps_])
            raw[:, step * n_q : (step + 1) * n_q] = out
            newest = futr[:, step].copy()  # calendar terms and known covariates of this step
            newest[:, 0] = point_prediction(out, 1, quantiles)[:, 0]
            # past-only covariates are unknown ahead: hold the last value
            newest[:, 1:n_past] = window[:, -1, 1:n_past]
            window = np.concatenate([window[:, 1:], newest[:, None]], axis=1)
        return raw
