"""Stacked recurrent layers with a dense head on the last hidden state.

All parameters live in ONE contiguous vector ``params`` (and their gradients in
``grad``); the per-layer weights are views into it. Optimizer steps, gradient
clipping, best-weight snapshots and saving are then single array operations,
and the kernels write gradients straight into place.
"""

import numpy as np

from .._config import single_threaded_blas
from ..kernels import ACTIVATIONS, get_cell, get_kernels

# Samples per inference chunk: bounds the (T, chunk, H) layer outputs in memory.
PREDICT_CHUNK = 4096


class RecurrentNetwork:
    """A stack of rnn/lstm/gru layers and a linear head, on the CPU kernels.

    Parameters
    ----------
    cell : {'rnn', 'lstm', 'gru'}
    input_size : int
        Features per time step.
    hidden_size : int
    num_layers : int
    output_size : int
        Outputs of the dense head (horizon x quantiles).
    activation : {'tanh', 'relu'}, default='tanh'
        Activation of the 'rnn' cell.
    dtype : {np.float32, np.float64}, default=np.float32

    Attributes
    ----------
    params, grad : ndarray of shape (n_params,)
        All weights, and their gradients, in one vector.
    layers, layer_grads : list of tuple
        ``(W_ih, W_hh, b_ih, b_hh)`` views per layer, bottom first (PyTorch layout).
    W_out, b_out, grad_W_out, grad_b_out : ndarray
        Views of the head, ``W_out (output_size, hidden_size)``.
    """

    def __init__(self, cell, input_size, hidden_size, num_layers, output_size, activation="tanh", dtype=np.float32):
        self.spec = get_cell(cell)
        self.cell = cell
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.output_size = output_size
        self.activation = activation
        self.dtype = np.dtype(dtype)
        self.params = np.zeros(self._n_params(), dtype=self.dtype)
        self.grad = np.zeros_like(self.params)
        self._bind_views()

    def _shapes(self):
        GH, H = self.spec.n_gates * self.hidden_size, self.hidden_size
        shapes = []
        for layer in range(self.num_layers):
            d_in = self.input_size if layer == 0 else H
            shapes.append([(GH, d_in), (GH, H), (GH,), (GH,)])
        shapes.append([(self.output_size, H), (self.output_size,)])
        return shapes

    def _n_params(self):
        return sum(int(np.prod(s)) for group in self._shapes() for s in group)

    def _bind_views(self):
        def split(flat):
            groups, offset = [], 0
            for group in self._shapes():
                views = []
                for shape in group:
                    size = int(np.prod(shape))
                    views.append(flat[offset : offset + size].reshape(shape))
                    offset += size
                groups.append(tuple(views))
            return groups

        *self.layers, (self.W_out, self.b_out) = split(self.params)
        *self.layer_grads, (self.grad_W_out, self.grad_b_out) = split(self.grad)
        self._kernels = get_kernels(self.cell)
        self._act = ACTIVATIONS[self.activation]
        self._workspaces = {}

    # Views do not survive pickling: store the flat vector, rebuild views on load.
    def __getstate__(self):
        state = self.__dict__.copy()
        for key in ("layers", "layer_grads", "W_out", "b_out", "grad_W_out", "grad_b_out", "_kernels", "_workspaces"):
            del state[key]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._bind_views()

    def initialize(self, rng, recurrent_init="uniform"):
        """PyTorch-style init: every weight U(-1/sqrt(H), 1/sqrt(H)).

        Parameters
        ----------
        rng : numpy.random.Generator
        recurrent_init : {'uniform', 'orthogonal'}, default='uniform'
            'orthogonal' replaces each gate block of ``W_hh`` by a random
            orthogonal matrix, which keeps long-range gradients from vanishing.
        """
        bound = 1.0 / np.sqrt(self.hidden_size)
        self.params[:] = rng.uniform(-bound, bound, self.params.size)
        if recurrent_init == "orthogonal":
            H = self.hidden_size
            for _, W_hh, _, _ in self.layers:
                for gate in range(self.spec.n_gates):
                    q, r = np.linalg.qr(rng.standard_normal((H, H)))
                    W_hh[gate * H : (gate + 1) * H] = q * np.sign(np.diag(r))
        elif recurrent_init != "uniform":
            raise ValueError(f"recurrent_init must be 'uniform' or 'orthogonal'. Got {recurrent_init!r} instead.")

    def predict(self, X):
        """Head outputs for time-major inputs.

        Parameters
        ----------
        X : ndarray of shape (T, B, input_size)
            C-contiguous, of this network's dtype.

        Returns
        -------
        ndarray of shape (B, output_size)
        """
        B = X.shape[1]
        result = np.empty((B, self.output_size), dtype=self.dtype)
        with single_threaded_blas():
            for start in range(0, B, PREDICT_CHUNK):
                x = np.ascontiguousarray(X[:, start : start + PREDICT_CHUNK])
                result[start : start + x.shape[1]] = self._predict_chunk(x)
        return result

    def _predict_chunk(self, x):
        T, B, _ = x.shape
        S, H = self.spec.n_states, self.hidden_size
        state0 = np.zeros((S, B, H), dtype=self.dtype)
        stateT = np.empty_like(state0)
        for weights in self.layers:
            out = np.empty((T, B, H), dtype=self.dtype)
            self._kernels.forward(x, state0, *weights, self._act, out, stateT)
            x = out
        return stateT[0] @ self.W_out.T + self.b_out

    def _workspace(self, T, B):
        """Per-shape buffers, allocated once and reused on every step."""
        key = (T, B)
        if key not in self._workspaces:
            S, H, L, dt = self.spec.n_states, self.hidden_size, self.num_layers, self.dtype
            K = self.spec.cache_factor * H
            self._workspaces[key] = dict(
                zeros_state=np.zeros((S, B, H), dtype=dt),
                zeros_out=np.zeros((T, B, H), dtype=dt),
                dstateT=np.zeros((S, B, H), dtype=dt),
                dstate0=np.empty((S, B, H), dtype=dt),
                states=[np.empty((T + 1, S, B, H), dtype=dt) for _ in range(L)],
                gates=[np.empty((T, B, K), dtype=dt) for _ in range(L)],
                dx=[np.empty((T, B, H if layer else 0), dtype=dt) for layer in range(L)],
            )
        return self._workspaces[key]

    def loss_and_grad(self, X, y, loss, quantiles=None, dropout=0.0, rng=None):
        """Forward pass, loss, and BPTT into ``self.grad``.

        Parameters
        ----------
        X : ndarray of shape (T, B, input_size)
            Time-major, C-contiguous, of this network's dtype.
        y : ndarray of shape (B, n_targets)
        loss : callable
            One of :data:`tsrnn.nn.LOSSES`.
        quantiles : sequence of float, default=None
            For the quantile loss.
        dropout : float, default=0.0
            Probability of zeroing a unit of a layer's output before the next layer.
        rng : numpy.random.Generator, default=None
            Source of dropout masks.

        Returns
        -------
        float
            The loss on this batch.
        """
        with single_threaded_blas():
            return self._loss_and_grad(X, y, loss, quantiles, dropout, rng)

    def _loss_and_grad(self, X, y, loss, quantiles, dropout, rng):
        T, B, _ = X.shape
        ws = self._workspace(T, B)
        k, act = self._kernels, self._act
        inputs, masks = [X], []
        for layer, weights in enumerate(self.layers):
            k.forward_train(inputs[-1], ws["zeros_state"], *weights, act, ws["states"][layer], ws["gates"][layer])
            if layer < self.num_layers - 1:
                out = ws["states"][layer][1:, 0]
                if dropout > 0.0:
                    keep = rng.random(out.shape, dtype=self.dtype) >= dropout
                    masks.append(keep.astype(self.dtype) / self.dtype.type(1.0 - dropout))
                    out = out * masks[-1]
                inputs.append(np.ascontiguousarray(out))
        h_last = ws["states"][-1][T, 0]
        pred = h_last @ self.W_out.T + self.b_out
        value, dpred = loss(pred, y, quantiles)
        dpred = dpred.astype(self.dtype, copy=False)
        self.grad_W_out[:] = dpred.T @ h_last
        self.grad_b_out[:] = dpred.sum(axis=0)
        dstateT = ws["dstateT"]
        dstateT[0] = dpred @ self.W_out
        dout = ws["zeros_out"]
        for layer in range(self.num_layers - 1, -1, -1):
            dx = ws["dx"][layer]
            k.backward(
                inputs[layer], *self.layers[layer], act, ws["states"][layer], ws["gates"][layer],
                dout, dstateT, dx, ws["dstate0"], *self.layer_grads[layer],
            )
            if layer > 0:
                dstateT = ws["zeros_state"]  # lower layers' final states feed nothing
                dout = dx * masks[layer - 1] if masks else dx
        return value
