"""A central finite-difference check of a network's parameter gradient, shared by the nn tests."""

import numpy as np

EPS = 1e-6


def assert_grad_matches_finite_differences(net, loss_at, indices=None, rtol=1e-5, atol=1e-8):
    """``net.grad`` after ``loss_at()`` equals the central difference of ``loss_at`` in each
    parameter of ``indices`` (all of them when None); ``loss_at`` recomputes the loss (and the
    gradient) from ``net.params``."""
    loss_at()
    analytic = net.grad.copy()
    indices = np.arange(net.params.size) if indices is None else np.asarray(indices)
    numeric = np.empty(indices.size)
    for i, k in enumerate(indices):
        saved = net.params[k]
        net.params[k] = saved + EPS
        up = loss_at()
        net.params[k] = saved - EPS
        down = loss_at()
        net.params[k] = saved
        numeric[i] = (up - down) / (2 * EPS)
    np.testing.assert_allclose(analytic[indices], numeric, rtol=rtol, atol=atol)
