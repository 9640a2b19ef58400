"""ARIMA order selection (Hyndman & Khandakar 2008), apart from the forecaster classes.

:func:`search_arima` chooses the orders of one series: the seasonal difference ``D`` from
the STL seasonal strength (:func:`nsdiffs`), the difference ``d`` from repeated KPSS tests
(:func:`ndiffs`), then ``p, q, P, Q`` and the constant by a stepwise search on an
information criterion (:func:`stepwise_search`). It returns an order specification that
:class:`~tsrnn.forecasting.ARIMA` (via :class:`~tsrnn.forecasting.AutoARIMA`) fits; the
layout follows statsforecast's ``arima.py`` (``ndiffs``, ``nsdiffs``, ``search_arima``).
"""

import numpy as np

from .per_series import quiet_statsmodels

__all__ = [
    "INFORMATION_CRITERIA",
    "MAX_MODELS",
    "kpss_rejects",
    "ndiffs",
    "nsdiffs",
    "search_arima",
    "seasonal_strength",
    "stepwise_search",
]

# 5 % critical value of the KPSS level-stationarity statistic (Kwiatkowski et al. 1992)
KPSS_CRITICAL_5 = 0.463

#: Criteria the search can minimise: attributes of a statsmodels results object.
INFORMATION_CRITERIA = ("aicc", "aic", "bic")

# forecast::auto.arima's cap on the number of models a stepwise search may fit
MAX_MODELS = 94

# R's nsdiffs(test="seas") threshold on the seasonal strength
SEASONAL_STRENGTH_THRESHOLD = 0.64


def kpss_rejects(x):
    """The KPSS test rejects level stationarity at 5 % (R's ``ndiffs`` test).

    The statistic with a Bartlett long-run variance over ``trunc(4 (n/100)^0.25)`` lags
    (tseries' ``lshort``); it equals ``statsmodels.tsa.stattools.kpss(x, "c", nlags)``
    and is written out to avoid that function's version-dependent return type.

    Parameters
    ----------
    x : ndarray of shape (n,)

    Returns
    -------
    rejects : bool
    """
    n = len(x)
    if n < 3 or np.ptp(x) == 0:
        return False
    residual = x - x.mean()
    partial_sums = np.cumsum(residual)
    lags = min(int(3 * np.sqrt(n) / 13), n - 1)
    long_run_variance = residual @ residual / n
    for k in range(1, lags + 1):
        long_run_variance += 2 * (1 - k / (lags + 1)) * (residual[k:] @ residual[:-k]) / n
    statistic = (partial_sums @ partial_sums) / (n**2 * long_run_variance)
    return statistic > KPSS_CRITICAL_5


def seasonal_strength(x, m):
    """Wang, Smith & Hyndman (2006) seasonal strength from an STL decomposition, in [0, 1].

    Parameters
    ----------
    x : ndarray of shape (n,)
    m : int
        Season length (>= 2).

    Returns
    -------
    strength : float
    """
    from statsmodels.tsa.seasonal import STL  # statsmodels loads on first fit, not with tsrnn

    parts = STL(x, period=m).fit()
    remainder, seasonal = np.asarray(parts.resid), np.asarray(parts.seasonal)
    total = np.var(seasonal + remainder)
    return 0.0 if total == 0 else max(0.0, 1.0 - np.var(remainder) / total)


def nsdiffs(y, m, max_D=1):
    """Seasonal differences ``D`` for a series: 1 when its seasonal strength exceeds 0.64.

    Parameters
    ----------
    y : ndarray of shape (n,)
    m : int
        Season length; series of ``2 * m`` observations or fewer, and ``m = 1``, get 0.
    max_D : int, default=1
        0 disables seasonal differencing.

    Returns
    -------
    D : int
    """
    seasonal = m > 1 and len(y) > 2 * m
    return int(seasonal and max_D > 0 and seasonal_strength(y, m) > SEASONAL_STRENGTH_THRESHOLD)


def ndiffs(x, max_d=2):
    """Differences ``d`` that make ``x`` level-stationary by repeated KPSS tests at 5 %.

    Parameters
    ----------
    x : ndarray of shape (n,)
        The series (already seasonally differenced when ``D = 1``).
    max_d : int, default=2

    Returns
    -------
    d : int
    differenced : ndarray of shape (n - d,)
        ``x`` differenced ``d`` times.
    """
    d = 0
    while d < max_d and kpss_rejects(x):
        x, d = np.diff(x), d + 1
    return d, x


def stepwise_search(
    y,
    exog,
    d,
    D,
    m,
    max_p=3,
    max_q=3,
    max_P=1,
    max_Q=1,
    max_order=5,
    information_criterion="aicc",
    max_models=MAX_MODELS,
):
    """Hyndman-Khandakar stepwise search over ``p, q, P, Q`` and the constant, given ``d, D``.

    Starting from the best of ``(2,d,2)(1,D,1)``, ``(0,d,0)(0,D,0)``, ``(1,d,0)(1,D,0)`` and
    ``(0,d,1)(0,D,1)``, ``p, q, P, Q`` move by one (alone or in pairs) and the constant is
    toggled while the information criterion improves. A constant is allowed when
    ``d + D <= 1``. Candidates are fitted to the differenced series (statsmodels ``SARIMAX``
    with ``simple_differencing=True`` and the variance concentrated out: all candidates
    share ``d, D``, so criteria stay comparable, and fits are about twice as fast).

    Parameters
    ----------
    y : ndarray of shape (n,)
    exog : ndarray of shape (n, n_exog) or None
    d, D : int
        Orders of differencing.
    m : int
        Season length; 0 searches non-seasonal models only.
    max_p, max_q, max_P, max_Q, max_order : int
        Limits as in :class:`~tsrnn.forecasting.AutoARIMA`.
    information_criterion : {'aicc', 'aic', 'bic'}, default='aicc'
    max_models : int, default=94
        Most candidate fits (forecast::auto.arima's cap).

    Returns
    -------
    p, q, P, Q : int
    constant : bool
    """
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    allow_constant = d + D <= 1
    max_P, max_Q = (max_P, max_Q) if m else (0, 0)
    scores = {}

    def admissible(c):
        p, q, P, Q, constant = c
        return (
            0 <= p <= max_p
            and 0 <= q <= max_q
            and 0 <= P <= max_P
            and 0 <= Q <= max_Q
            and p + q + P + Q <= max_order
            and (allow_constant or not constant)
        )

    def score(c):
        if c not in scores:
            p, q, P, Q, constant = c
            try:
                with quiet_statsmodels():
                    result = SARIMAX(
                        y,
                        exog=exog,
                        order=(p, d, q),
                        seasonal_order=(P, D, Q, m) if m else (0, 0, 0, 0),
                        trend="c" if constant else "n",
                        simple_differencing=True,
                        concentrate_scale=True,
                    ).fit(disp=False, cov_type="none")
                value = float(getattr(result, information_criterion))
            except (np.linalg.LinAlgError, ValueError):
                # A candidate the optimiser cannot fit is not a candidate; the search
                # goes on with the others (as forecast::auto.arima does).
                value = np.inf
            scores[c] = value if np.isfinite(value) else np.inf
        return scores[c]

    k = allow_constant
    starts = [(2, 2, 1, 1, k), (0, 0, 0, 0, k), (1, 0, 1, 0, k), (0, 1, 0, 1, k)]
    if allow_constant:
        starts.append((0, 0, 0, 0, False))
    candidates = [tuple(min(v, cap) for v, cap in zip(c[:4], (max_p, max_q, max_P, max_Q))) + (c[4],) for c in starts]
    candidates = [c for c in dict.fromkeys(candidates) if admissible(c)]
    best = min(candidates, key=score)
    moves = [
        (0, 0, -1, 0),
        (0, 0, 1, 0),
        (0, 0, 0, -1),
        (0, 0, 0, 1),
        (0, 0, -1, -1),
        (0, 0, 1, 1),
        (0, 0, -1, 1),
        (0, 0, 1, -1),
        (-1, 0, 0, 0),
        (1, 0, 0, 0),
        (0, -1, 0, 0),
        (0, 1, 0, 0),
        (-1, -1, 0, 0),
        (1, 1, 0, 0),
        (-1, 1, 0, 0),
        (1, -1, 0, 0),
    ]
    improved = True
    while improved and len(scores) < max_models:
        improved = False
        neighbours = [tuple(v + dv for v, dv in zip(best[:4], move)) + (best[4],) for move in moves]
        neighbours.append(best[:4] + (not best[4],))
        for c in neighbours:
            if admissible(c) and score(c) < score(best):
                best, improved = c, True
                break
    if not np.isfinite(score(best)):
        raise RuntimeError("AutoARIMA could not fit any candidate model to the series.")
    return best


def search_arima(
    y,
    exog=None,
    season_length=1,
    max_p=3,
    max_q=3,
    max_P=1,
    max_Q=1,
    max_d=2,
    max_D=1,
    max_order=5,
    information_criterion="aicc",
    max_models=MAX_MODELS,
):
    """Choose the ARIMA orders of one series (the search of :class:`~tsrnn.forecasting.AutoARIMA`).

    Parameters
    ----------
    y : ndarray of shape (n,)
        The series; ``d`` and ``D`` are tested on it, also with covariates.
    exog : ndarray of shape (n, n_exog) or None, default=None
        Covariates (a regression with ARIMA errors).
    season_length : int, default=1
        Season length ``m``; 1 searches non-seasonal models only, and so do series of
        ``2 * m`` observations or fewer.
    max_p, max_q, max_P, max_Q, max_d, max_D, max_order : int
        Limits as in :class:`~tsrnn.forecasting.AutoARIMA`.
    information_criterion : {'aicc', 'aic', 'bic'}, default='aicc'
    max_models : int, default=94
        Most candidate fits of the stepwise search.

    Returns
    -------
    spec : dict
        ``order`` ``(p, d, q)``, ``seasonal_order`` ``(P, D, Q, m)`` (all 0 when
        non-seasonal) and ``trend`` (``'n'``, ``'c'`` for a mean, ``'t'`` for a drift), the
        arguments of ``statsmodels.tsa.arima.model.ARIMA``.

    Raises
    ------
    ValueError
        If fewer than 3 observations remain after differencing.
    RuntimeError
        If no candidate could be fitted.
    """
    m = season_length
    seasonal = m > 1 and len(y) > 2 * m
    D = nsdiffs(y, m, max_D)
    d, x = ndiffs(y[m:] - y[:-m] if D else y, max_d)
    if len(x) < 3:
        raise ValueError(
            f"{len(y)} observations leave {len(x)} after differencing (d={d}, D={D}); AutoARIMA needs a longer series."
        )
    p, q, P, Q, constant = stepwise_search(
        y,
        exog,
        d,
        D,
        m if seasonal else 0,
        max_p=max_p,
        max_q=max_q,
        max_P=max_P,
        max_Q=max_Q,
        max_order=max_order,
        information_criterion=information_criterion,
        max_models=max_models,
    )
    trend = "n" if not constant else ("c" if d + D == 0 else "t")
    return {
        "order": (p, d, q),
        "seasonal_order": (P, D, Q, m) if seasonal else (0, 0, 0, 0),
        "trend": trend,
    }
