"""Random recurrent problems shared by the kernel tests."""

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
