"""Stacked recurrent layers with a dense head on the last hidden state.

All parameters live in ONE contiguous vector ``params`` (and their gradients in
``grad``); the per-layer weights are views into it. Optimizer steps, gradient
clipping, best-weight snapshots and saving are then single array operations,
and the kernels write gradients straight into place.

Every array the kernels read or write during a step (states, gate caches,
layer inputs, gradients, kernel scratch) is carved out of one flat buffer per
use (training, inference) that is allocated once and reused on every step:
fresh allocations of tens of MB page-fault on every step. The buffers are
dropped by :meth:`RecurrentNetwork.release_workspaces` (after a fit) and on pickling.

Threads: a call takes its workspace out of the network's pool of idle ones for
its duration and puts it back afterwards, so concurrent calls never share one:
a call that finds the pool empty (another thread holds the workspace) builds
its own. :meth:`RecurrentNetwork.predict` is thus safe to call from several
threads at once, with results identical to serial calls; a single training
thread still reuses one buffer for every step. Training mutates ``params`` and
``grad``, so one network trains in one thread at a time (different networks
train concurrently).
"""

import threading
from contextlib import contextmanager

import numpy as np

from .._config import kernel_threads, threads_for
from ..kernels import ACTIVATIONS, get_cell, get_kernels, work_size

# Samples per inference chunk: bounds the (T, chunk, H) layer outputs in memory.
PREDICT_CHUNK = 4096


class _Workspace:
    """Named arrays carved out of one flat buffer, for one (T, B) shape."""

    def __init__(self, layout, dtype, buffer=None):
        total = sum(int(np.prod(shape)) for _, shape in layout)
        if buffer is None or buffer.size < total:
            buffer = np.empty(max(total, 1), dtype=dtype)
        self.buffer = buffer
        offset = 0
        for name, shape in layout:
            size = int(np.prod(shape))
            setattr(self, name, buffer[offset : offset + size].reshape(shape))
            offset += size


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
        self._workspaces = {}  # the idle workspaces, by use ('train', 'predict')
        self._workspace_lock = threading.Lock()
        # bumped by release_workspaces: workspaces taken out before it are not put back
        self._workspace_generation = 0

    def release_workspaces(self):
        """Free the reusable step buffers (they are rebuilt on the next call)."""
        with self._workspace_lock:
            self._workspaces = {}
            self._workspace_generation += 1

    def _layer_macs(self, T, B):
        """Multiply-adds of the largest layer's forward pass."""
        G, H = self.spec.n_gates, self.hidden_size
        return T * B * G * H * (max(self.input_size, H if self.num_layers > 1 else 0) + H)

    # Views do not survive pickling: store the flat vector, rebuild views on load.
    def __getstate__(self):
        state = self.__dict__.copy()
        for key in (
            "layers",
            "layer_grads",
            "W_out",
            "b_out",
            "grad_W_out",
            "grad_b_out",
            "_kernels",
            "_workspaces",
            "_workspace_lock",
        ):
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
        T, B = X.shape[0], X.shape[1]
        result = np.empty((B, self.output_size), dtype=self.dtype)
        chunk = min(B, PREDICT_CHUNK)
        with kernel_threads(threads_for(self._layer_macs(T, chunk), chunk)):
            for start in range(0, B, chunk):
                x = X[:, start : start + chunk]
                if not x.flags.c_contiguous or x.dtype != self.dtype:
                    x = np.ascontiguousarray(x, dtype=self.dtype)
                result[start : start + x.shape[1]] = self._predict_chunk(x)
        return result

    def _predict_chunk(self, x):
        T, B, _ = x.shape
        with self._workspace("predict", T, B) as ws:
            ws.state0.fill(0)
            for layer, weights in enumerate(self.layers):
                # The top layer's per-step outputs are not needed: out of size 0.
                out = ws.out[layer % 2] if layer < self.num_layers - 1 else ws.no_out
                self._kernels.forward(x, ws.state0, *weights, self._act, out, ws.stateT, ws.work)
                x = out
            return ws.stateT[0] @ self.W_out.T + self.b_out

    @contextmanager
    def _workspace(self, kind, T, B):
        """The buffers of one use ('train' or 'predict') and shape, this call's alone while it runs."""
        with self._workspace_lock:
            ws = self._workspaces.pop(kind, None)
            generation = self._workspace_generation
        if ws is None or ws.shape != (T, B):
            ws = self._build_workspace(kind, T, B, ws)
        try:
            yield ws
        finally:
            with self._workspace_lock:
                if generation == self._workspace_generation:
                    # keep one idle workspace per use; a concurrent call's extra one is dropped
                    self._workspaces.setdefault(kind, ws)

    def _build_workspace(self, kind, T, B, old):
        """A workspace of one use and shape, in ``old``'s buffer when it is large enough."""
        S, H, L, D = self.spec.n_states, self.hidden_size, self.num_layers, self.input_size
        K = self.spec.cache_factor * H
        kinds = ("forward",) if kind == "predict" else ("forward_train", "backward")
        n_work = max(work_size(self.cell, k, B, d, H) for k in kinds for d in {D, H if L > 1 else D})
        layout = [("state0", (S, B, H)), ("stateT", (S, B, H)), ("work", (n_work,))]
        if kind == "predict":
            layout += [("out", (min(L - 1, 2), T, B, H)), ("no_out", (0, 0, 0))]
        else:
            layout += [
                ("dstateT", (S, B, H)),
                ("dstate0", (S, B, H)),
                ("states", (L, T + 1, S, B, H)),
                ("gates", (L, T, B, K)),
                # inputs of layers 1.. (a contiguous copy of the h part of the states
                # when S > 1, or with dropout) and the gradients w.r.t. them
                ("inputs", (L - 1, T, B, H)),
                ("dx", (L - 1, T, B, H)),
                ("no_dx", (T, B, 0)),
                ("no_dout", (0, 0, 0)),
            ]
        # A new shape reuses the old buffer when it fits (e.g. the last, smaller batch).
        ws = _Workspace(layout, self.dtype, None if old is None else old.buffer)
        ws.shape = (T, B)
        return ws

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
        T, B = X.shape[0], X.shape[1]
        with kernel_threads(threads_for(self._layer_macs(T, B), B)):
            return self._loss_and_grad(X, y, loss, quantiles, dropout, rng)

    def _loss_and_grad(self, X, y, loss, quantiles, dropout, rng):
        T, B, _ = X.shape
        with self._workspace("train", T, B) as ws:
            return self._train_step(ws, X, y, loss, quantiles, dropout, rng)

    def _train_step(self, ws, X, y, loss, quantiles, dropout, rng):
        T = X.shape[0]
        k, act = self._kernels, self._act
        ws.state0.fill(0)
        inputs, masks = [X], []
        for layer, weights in enumerate(self.layers):
            states = ws.states[layer]
            k.forward_train(inputs[-1], ws.state0, *weights, act, states, ws.gates[layer], ws.work)
            if layer < self.num_layers - 1:
                out = states[1:, 0]
                if dropout > 0.0:
                    keep = rng.random(out.shape, dtype=self.dtype) >= dropout
                    masks.append(keep.astype(self.dtype) / self.dtype.type(1.0 - dropout))
                    out = np.multiply(out, masks[-1], out=ws.inputs[layer])
                elif not out.flags.c_contiguous:  # lstm interleaves h and c
                    out = ws.inputs[layer]
                    np.copyto(out, states[1:, 0])
                inputs.append(out)
        h_last = ws.states[-1][T, 0]
        pred = h_last @ self.W_out.T + self.b_out
        value, dpred = loss(pred, y, quantiles)
        dpred = dpred.astype(self.dtype, copy=False)
        self.grad_W_out[:] = dpred.T @ h_last
        self.grad_b_out[:] = dpred.sum(axis=0)
        dstateT = ws.dstateT
        dstateT.fill(0)
        np.matmul(dpred, self.W_out, out=dstateT[0])
        dout = ws.no_dout  # the head reads the final state only
        for layer in range(self.num_layers - 1, -1, -1):
            dx = ws.dx[layer - 1] if layer > 0 else ws.no_dx
            k.backward(
                inputs[layer],
                *self.layers[layer],
                act,
                ws.states[layer],
                ws.gates[layer],
                dout,
                dstateT,
                dx,
                ws.dstate0,
                *self.layer_grads[layer],
                ws.work,
            )
            if layer > 0:
                dstateT = ws.state0  # zeros: lower layers' final states feed nothing
                dout = np.multiply(dx, masks[layer - 1], out=dx) if masks else dx
        return value
