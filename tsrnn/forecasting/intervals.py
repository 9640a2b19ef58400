"""Predictive quantiles from Gaussian forecast errors, shared by the classical baselines.

A model that knows the mean and variance of its forecast at each step (ARIMA and the
additive ETS models in closed form, the seasonal naive from its residuals) reports the
quantiles of that normal distribution.
"""

from statistics import NormalDist

import numpy as np

__all__ = ["normal_quantiles", "standard_normal_quantiles"]


def standard_normal_quantiles(quantiles):
    """Quantiles of N(0, 1) at the probabilities ``quantiles``: ndarray of shape (n_quantiles,)."""
    return np.array([NormalDist().inv_cdf(float(q)) for q in quantiles])


def normal_quantiles(mean, variance, quantiles):
    """Quantiles of N(mean, variance) per step.

    Parameters
    ----------
    mean, variance : ndarray of shape (h,)
        Forecast mean and variance of each step (negative variances count as 0).
    quantiles : sequence of float
        Probabilities in (0, 1).

    Returns
    -------
    ndarray of shape (h, n_quantiles)
    """
    z = standard_normal_quantiles(quantiles)
    return mean[:, None] + np.sqrt(np.maximum(variance, 0.0))[:, None] * z[None, :]
