"""Random recurrent problems, and the comparison of their results, shared by the kernel tests."""

import numpy as np

from tsrnn.kernels import get_cell


def make_params(cell, D, H, num_layers, rng, scale=0.5):
    G = get_cell(cell).n_gates
    params = []
    for layer in range(num_layers):
        d_in = D if layer == 0 else H
        params.append(
            (
                rng.uniform(-scale, scale, (G * H, d_in)),
                rng.uniform(-scale, scale, (G * H, H)),
                rng.uniform(-scale, scale, G * H),
                rng.uniform(-scale, scale, G * H),
            )
        )
    return params


def make_problem(cell, B, T, D, H, num_layers, rng):
    """Inputs, weights, initial states and upstream gradients."""
    S = get_cell(cell).n_states
    x = rng.standard_normal((B, T, D))
    params = make_params(cell, D, H, num_layers, rng)
    state0 = 0.5 * rng.standard_normal((num_layers, S, B, H))
    dout = rng.standard_normal((B, T, H))
    dstateT = rng.standard_normal((num_layers, S, B, H))
    return x, params, state0, dout, dstateT


def assert_same_results(ours, theirs, **tol):
    """Compare ``(out, stateT, dx, dstate0, grads)`` of two stacked forward/backward runs."""
    *arrays, grads = ours
    *their_arrays, their_grads = theirs
    for a, b in zip(arrays, their_arrays, strict=True):
        np.testing.assert_allclose(a, b, **tol)
    for layer, their_layer in zip(grads, their_grads, strict=True):
        for a, b in zip(layer, their_layer, strict=True):
            np.testing.assert_allclose(a, b, **tol)
