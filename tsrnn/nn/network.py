"""Stacked recurrent layers, optionally bidirectional, with a dense head.

The head reads the top layer's final hidden state (one output row per sequence) or,
with ``return_sequences=True``, the top layer's output at every step (one row per
step). A bidirectional layer runs the same forward kernel twice: on the sequence,
and on a time-reversed contiguous copy of it; the reverse direction's outputs are
reversed back and concatenated after the forward direction's along the feature
axis (torch's layout), so the next layer reads ``2 * hidden_size`` features. The
final state the head reads is then ``[h_T of the forward direction, final state
of the reverse direction]``, i.e. torch's ``h_n`` of the top layer. In the
backward pass the upstream gradient is split into its two halves, the reverse
half reversed in time, each direction's backward kernel run, and the input
gradients summed (the reverse direction's reversed back). No kernel knows about
directions or per-step heads: both live here.

Token input (``vocab_size``): the network also holds an embedding matrix ``E
(vocab_size, input_size)`` (torch's ``nn.Embedding``), first in the parameter
vector; inputs are then integer ids ``(T, B)`` and layer 0 reads ``E[ids]``. Its
gradient is the scatter-add of layer 0's input gradients (the kernels' ``dx``, which
is computed for layer 0 only in this case).

Stateful inference (:meth:`RecurrentNetwork.initial_state`, :meth:`~RecurrentNetwork.run`,
:meth:`~RecurrentNetwork.step`): the forward kernel from a given ``state0``, returning
the head's output at every step and the final states, so a generator feeds one step
at a time without re-reading the prefix (unidirectional networks only).

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

# The initialisations of RecurrentNetwork.initialize (the estimators' recurrent_init).
RECURRENT_INITS = ("uniform", "orthogonal", "identity", "lecun_normal")


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
        Outputs of the dense head (horizon x quantiles), per step with ``return_sequences``.
    activation : {'tanh', 'relu', 'selu'}, default='tanh'
        Activation of the 'rnn' cell.
    dtype : {np.float32, np.float64}, default=np.float32
    bidirectional : bool, default=False
        Give every layer a reverse direction, as ``torch.nn.LSTM(bidirectional=True)``:
        layer outputs of ``2 * hidden_size`` features (forward first), and a head on
        ``2 * hidden_size`` features.
    return_sequences : bool, default=False
        Apply the head to the top layer's output at every step: :meth:`predict` gives
        ``(B, T, output_size)`` and :meth:`loss_and_grad` takes targets
        ``(B, T, n_targets)``, the loss being the loss function's mean over the
        ``B * T`` rows (every step weighs as one sample; a mean, not a sum, so that
        learning rates do not depend on the sequence length). Otherwise the head
        reads the final state only.
    vocab_size : int or None, default=None
        Token input: inputs are integer ids in ``[0, vocab_size)`` of shape ``(T, B)``,
        looked up in a trained embedding ``(vocab_size, input_size)`` before layer 0
        (``input_size`` is then the embedding dimension). None: inputs are values
        ``(T, B, input_size)``.

    Attributes
    ----------
    params, grad : ndarray of shape (n_params,)
        All weights, and their gradients, in one vector.
    num_directions : int
        2 when bidirectional, else 1.
    layers, layer_grads : list of tuple
        ``(W_ih, W_hh, b_ih, b_hh)`` views per layer and direction, bottom first,
        ``layers[layer * num_directions + direction]`` (PyTorch's layout and order:
        the torch names are in :meth:`layer_names`).
    W_out, b_out, grad_W_out, grad_b_out : ndarray
        Views of the head, ``W_out (output_size, num_directions * hidden_size)``.
    embedding, grad_embedding : ndarray of shape (vocab_size, input_size) or None
        Views of the embedding matrix (torch's ``nn.Embedding.weight``) and its
        gradient, first in ``params``; None without ``vocab_size``.
    """

    def __init__(
        self,
        cell,
        input_size,
        hidden_size,
        num_layers,
        output_size,
        activation="tanh",
        dtype=np.float32,
        bidirectional=False,
        return_sequences=False,
        vocab_size=None,
    ):
        self.spec = get_cell(cell)
        self.cell = cell
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.output_size = output_size
        self.activation = activation
        self.dtype = np.dtype(dtype)
        self.bidirectional = bool(bidirectional)
        self.return_sequences = bool(return_sequences)
        self.num_directions = 2 if self.bidirectional else 1
        self.vocab_size = None if vocab_size is None else int(vocab_size)
        self.params = np.zeros(self._n_params(), dtype=self.dtype)
        self.grad = np.zeros_like(self.params)
        self._bind_views()

    def _shapes(self):
        GH, H, n_dir = self.spec.n_gates * self.hidden_size, self.hidden_size, self.num_directions
        shapes = [] if self.vocab_size is None else [[(self.vocab_size, self.input_size)]]
        for layer in range(self.num_layers):
            d_in = self.input_size if layer == 0 else n_dir * H
            shapes.extend([(GH, d_in), (GH, H), (GH,), (GH,)] for _ in range(n_dir))
        shapes.append([(self.output_size, n_dir * H), (self.output_size,)])
        return shapes

    def layer_names(self):
        """The torch.nn suffix of each entry of :attr:`layers`: ``'l0'``, ``'l0_reverse'``, ``'l1'``, ...

        ``layers[i]`` holds torch's ``weight_ih_{s}``, ``weight_hh_{s}``, ``bias_ih_{s}``
        and ``bias_hh_{s}`` for ``s = layer_names()[i]``.

        Returns
        -------
        list of str
        """
        suffixes = ("", "_reverse")[: self.num_directions]
        return [f"l{layer}{suffix}" for layer in range(self.num_layers) for suffix in suffixes]

    def _n_params(self):
        return sum(int(np.prod(s)) for group in self._shapes() for s in group)

    def split(self, flat):
        """Views of a flat vector laid out as :attr:`params`: ``(embedding, layers, (W_out, b_out))``.

        Parameters
        ----------
        flat : array of shape (n_params,)
            Any array that slices and reshapes into views: :attr:`params`, :attr:`grad`,
            or a copy of either on a CUDA device.

        Returns
        -------
        embedding : array of shape (vocab_size, input_size) or None
        layers : list of tuple
            ``(W_ih, W_hh, b_ih, b_hh)`` per layer and direction, as :attr:`layers`.
        head : tuple
            ``(W_out, b_out)``.
        """
        groups, offset = [], 0
        for group in self._shapes():
            views = []
            for shape in group:
                size = int(np.prod(shape))
                views.append(flat[offset : offset + size].reshape(shape))
                offset += size
            groups.append(tuple(views))
        embedding = groups.pop(0)[0] if self.vocab_size is not None else None
        return embedding, groups[:-1], groups[-1]

    def _bind_views(self):
        self.embedding, self.layers, (self.W_out, self.b_out) = self.split(self.params)
        self.grad_embedding, self.layer_grads, (self.grad_W_out, self.grad_b_out) = self.split(self.grad)
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
        """Multiply-adds of the largest layer's forward pass (both directions)."""
        G, H, n_dir = self.spec.n_gates, self.hidden_size, self.num_directions
        return n_dir * T * B * G * H * (max(self.input_size, n_dir * H if self.num_layers > 1 else 0) + H)

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
            "embedding",
            "grad_embedding",
            "_kernels",
            "_workspaces",
            "_workspace_lock",
        ):
            del state[key]
        return state

    def __setstate__(self, state):
        # networks pickled before bidirectional layers and per-step heads existed had neither
        # (and token input)
        state = {"bidirectional": False, "return_sequences": False, "num_directions": 1, "vocab_size": None, **state}
        self.__dict__.update(state)
        self._bind_views()

    def initialize(self, rng, recurrent_init="uniform"):
        """PyTorch-style init: every weight U(-1/sqrt(H), 1/sqrt(H)), the embedding N(0, 1).

        Parameters
        ----------
        rng : numpy.random.Generator
        recurrent_init : {'uniform', 'orthogonal', 'identity', 'lecun_normal'}, default='uniform'
            How the recurrent layers start (the head and the embedding keep the default):

            - 'uniform': PyTorch's U(-1/sqrt(H), 1/sqrt(H)) for every weight and bias.
            - 'orthogonal': each gate block of ``W_hh`` a random orthogonal matrix,
              which keeps long-range gradients from vanishing.
            - 'identity': ``W_hh = I`` and zero biases (IRNN, Le et al. 2015), for
              ``cell='rnn'`` with relu; ``W_ih`` stays uniform. Gated cells refuse it
              (an identity per gate block has no such meaning there): use 'orthogonal'.
            - 'lecun_normal': ``W_ih`` and ``W_hh`` drawn from N(0, 1/fan_in) (fan_in
              their number of columns) and zero biases, the initialisation selu's
              self-normalisation assumes (Klambauer et al. 2017).

        Raises
        ------
        ValueError
            For an unknown ``recurrent_init``, or 'identity' with a gated cell.
        """
        if recurrent_init not in RECURRENT_INITS:
            raise ValueError(
                f"recurrent_init must be one of {sorted(RECURRENT_INITS)}. Got {recurrent_init!r} instead."
            )
        if recurrent_init == "identity" and self.spec.n_gates != 1:
            raise ValueError(
                f"recurrent_init='identity' (IRNN) applies to cell='rnn' only; cell={self.cell!r} has "
                f"{self.spec.n_gates} gate blocks. Use recurrent_init='orthogonal' for gated cells."
            )
        bound = 1.0 / np.sqrt(self.hidden_size)
        self.params[:] = rng.uniform(-bound, bound, self.params.size)
        H = self.hidden_size
        if recurrent_init == "orthogonal":
            for _, W_hh, _, _ in self.layers:
                for gate in range(self.spec.n_gates):
                    q, r = np.linalg.qr(rng.standard_normal((H, H)))
                    W_hh[gate * H : (gate + 1) * H] = q * np.sign(np.diag(r))
        elif recurrent_init == "identity":
            for _, W_hh, b_ih, b_hh in self.layers:
                W_hh[:] = np.eye(H)
                b_ih[:] = 0.0
                b_hh[:] = 0.0
        elif recurrent_init == "lecun_normal":
            for W_ih, W_hh, b_ih, b_hh in self.layers:
                for W in (W_ih, W_hh):
                    W[:] = rng.standard_normal(W.shape) / np.sqrt(W.shape[1])
                b_ih[:] = 0.0
                b_hh[:] = 0.0
        if self.embedding is not None:
            self.embedding[:] = rng.standard_normal(self.embedding.shape)  # torch's nn.Embedding

    def _embed(self, tokens):
        """``E[tokens]`` as a C-contiguous ``(T, B, input_size)`` array; ids checked against ``vocab_size``."""
        tokens = np.asarray(tokens)
        if tokens.ndim != 2 or tokens.dtype.kind not in "iu":
            raise ValueError(
                f"A token network (vocab_size={self.vocab_size}) takes integer ids of shape (T, B); got an "
                f"array of shape {tokens.shape} and dtype {tokens.dtype}."
            )
        if tokens.size and (tokens.min() < 0 or tokens.max() >= self.vocab_size):
            raise ValueError(
                f"Token ids must lie in [0, vocab_size) = [0, {self.vocab_size}); got ids from "
                f"{tokens.min()} to {tokens.max()}."
            )
        return self.embedding[tokens]  # fancy indexing: a new C-contiguous array

    def predict(self, X, device="cpu"):
        """Head outputs for time-major inputs.

        Parameters
        ----------
        X : ndarray of shape (T, B, input_size)
            C-contiguous, of this network's dtype; integer ids of shape (T, B) for a
            token network (``vocab_size``).
        device : {'cpu', 'cuda'}, default='cpu'
            Where to compute: 'cuda' copies the weights and ``X`` to the GPU once and
            runs the CUDA kernels (:func:`tsrnn.nn.device.predict`).

        Returns
        -------
        ndarray of shape (B, output_size), or (B, T, output_size) with ``return_sequences``
        """
        if device == "cuda":
            from .device import predict  # imports numba.cuda: only when a GPU is asked for

            return predict(self, X)
        if self.vocab_size is not None:
            X = np.asarray(X)
            self._embed(X[:, :0])  # the dtype and shape checks, once
        T, B = X.shape[0], X.shape[1]
        shape = (B, T, self.output_size) if self.return_sequences else (B, self.output_size)
        result = np.empty(shape, dtype=self.dtype)
        chunk = min(B, PREDICT_CHUNK)
        with kernel_threads(threads_for(self._layer_macs(T, chunk), chunk)):
            for start in range(0, B, chunk):
                x = X[:, start : start + chunk]
                if self.vocab_size is not None:  # embedded chunk by chunk, to bound memory
                    x = self._embed(x)
                elif not x.flags.c_contiguous or x.dtype != self.dtype:
                    x = np.ascontiguousarray(x, dtype=self.dtype)
                result[start : start + x.shape[1]] = self._predict_chunk(x)
        return result

    def _predict_chunk(self, x):
        T, B, _ = x.shape
        H, L, n_dir, forward = self.hidden_size, self.num_layers, self.num_directions, self._kernels.forward
        with self._workspace("predict", T, B) as ws:
            ws.state0.fill(0)
            for layer in range(L):
                # The top layer's per-step outputs feed a per-step head only: else out of size 0.
                keep = layer < L - 1 or self.return_sequences
                out = ws.out[layer % 2] if keep else ws.no_out
                if n_dir == 1:
                    forward(x, ws.state0, *self.layers[layer], self._act, out, ws.stateT[0], ws.work)
                else:
                    x_rev = ws.x0_rev if layer == 0 else ws.xh_rev
                    np.copyto(x_rev, x[::-1])
                    for d, x_d in enumerate((x, x_rev)):
                        out_d = ws.dir_out[d] if keep else ws.no_out
                        forward(x_d, ws.state0, *self.layers[2 * layer + d], self._act, out_d, ws.stateT[d], ws.work)
                    if keep:  # [forward | reverse, back in time order]
                        out[:, :, :H] = ws.dir_out[0]
                        out[:, :, H:] = ws.dir_out[1][::-1]
                x = out
            if self.return_sequences:
                return (x @ self.W_out.T + self.b_out).transpose(1, 0, 2)
            h = ws.stateT[0, 0] if n_dir == 1 else np.concatenate((ws.stateT[0, 0], ws.stateT[1, 0]), axis=1)
            return h @ self.W_out.T + self.b_out

    # -- stateful inference: one step (or a few) at a time from a given state ----

    def _check_stateful(self):
        if self.num_directions != 1:
            raise ValueError(
                "initial_state, run and step need a unidirectional network (bidirectional=False): a "
                "bidirectional layer's reverse direction reads the whole sequence from its end."
            )

    def initial_state(self, batch_size=1):
        """The zero state every sequence starts from, for :meth:`run` and :meth:`step`.

        Parameters
        ----------
        batch_size : int, default=1
            Sequences carried side by side.

        Returns
        -------
        state : ndarray of shape (num_layers, n_states, batch_size, hidden_size)
            ``n_states`` is 2 for lstm (h and c), else 1; ``state[layer, 0]`` is that
            layer's hidden state.

        Raises
        ------
        ValueError
            For a bidirectional network.
        """
        self._check_stateful()
        return np.zeros((self.num_layers, self.spec.n_states, int(batch_size), self.hidden_size), dtype=self.dtype)

    def run(self, X, state=None):
        """Read ``X`` onwards from ``state``: the head's output at every step, and the final state.

        ``run(X2, run(X1)[1])`` gives the outputs of ``run(concatenated X1, X2)`` for the
        steps of ``X2``; the output at the last step of a sequence read from the zero
        state is :meth:`predict`'s for a final-state head, and every step's is
        :meth:`predict`'s with ``return_sequences``.

        Parameters
        ----------
        X : ndarray of shape (T, B, input_size)
            Time-major inputs; integer ids of shape (T, B) for a token network.
        state : ndarray of shape (num_layers, n_states, B, hidden_size), default=None
            From :meth:`initial_state` or an earlier :meth:`run`/:meth:`step` (not
            modified); None starts from zeros.

        Returns
        -------
        outputs : ndarray of shape (B, T, output_size)
        state : ndarray of shape (num_layers, n_states, B, hidden_size)
            The state after the last step of ``X``.

        Raises
        ------
        ValueError
            For a bidirectional network, or a ``state`` of the wrong shape.
        """
        self._check_stateful()
        if self.vocab_size is not None:
            x = self._embed(X)
        else:
            x = np.ascontiguousarray(X, dtype=self.dtype)
            if x.ndim != 3 or x.shape[2] != self.input_size:
                raise ValueError(
                    f"X must have shape (T, B, input_size={self.input_size}); got an array of shape {x.shape}."
                )
        T, B = x.shape[0], x.shape[1]
        if state is None:
            state = self.initial_state(B)
        expected = (self.num_layers, self.spec.n_states, B, self.hidden_size)
        if np.shape(state) != expected:
            raise ValueError(
                f"state must have shape (num_layers, n_states, B, hidden_size) = {expected} "
                f"(from initial_state({B})); got {np.shape(state)}."
            )
        state = np.ascontiguousarray(state, dtype=self.dtype)
        new_state = np.empty_like(state)
        H, forward = self.hidden_size, self._kernels.forward
        dims = {self.input_size, H if self.num_layers > 1 else self.input_size}
        work = np.empty(max(work_size(self.cell, "forward", B, d, H) for d in dims), dtype=self.dtype)
        with kernel_threads(threads_for(self._layer_macs(T, B), B)):
            for layer in range(self.num_layers):
                out = np.empty((T, B, H), dtype=self.dtype)
                forward(x, state[layer], *self.layers[layer], self._act, out, new_state[layer], work)
                x = out
        return np.ascontiguousarray((x @ self.W_out.T + self.b_out).transpose(1, 0, 2)), new_state

    def step(self, inputs, state):
        """One time step from ``state``: :meth:`run` for ``T = 1``.

        Parameters
        ----------
        inputs : ndarray of shape (B, input_size)
            This step's inputs; integer ids of shape (B,) for a token network.
        state : ndarray of shape (num_layers, n_states, B, hidden_size)
            From :meth:`initial_state`, :meth:`run` or an earlier step (not modified).

        Returns
        -------
        outputs : ndarray of shape (B, output_size)
            The head's output at this step.
        state : ndarray of shape (num_layers, n_states, B, hidden_size)
        """
        outputs, state = self.run(np.asarray(inputs)[None], state)
        return outputs[:, 0], state

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
        n_dir = self.num_directions
        DH = n_dir * H  # features of a layer's output
        bi, seq, emb = n_dir == 2, self.return_sequences, self.vocab_size is not None
        kinds = ("forward",) if kind == "predict" else ("forward_train", "backward")
        n_work = max(work_size(self.cell, k, B, d, H) for k in kinds for d in {D, DH if L > 1 else D})
        layout = [("state0", (S, B, H)), ("stateT", (n_dir, S, B, H)), ("work", (n_work,))]
        if kind == "predict":
            layout += [
                # layer outputs (T, B, DH), alternating; the top layer's too for a per-step head
                ("out", (min(L if seq else L - 1, 2), T, B, DH)),
                ("no_out", (0, 0, 0)),
                # bidirectional: each direction's outputs, the time-reversed layer inputs
                ("dir_out", (2 if bi else 0, T, B, H)),
                ("x0_rev", (T if bi else 0, B, D)),
                ("xh_rev", (T if bi and L > 1 else 0, B, DH)),
            ]
        else:
            layout += [
                ("dstateT", (n_dir, S, B, H)),
                ("dstate0", (S, B, H)),
                ("states", (L * n_dir, T + 1, S, B, H)),
                ("gates", (L * n_dir, T, B, K)),
                # inputs of layers 1.. (a contiguous copy of the h part of the states
                # when S > 1, bidirectional, or with dropout) and the gradients w.r.t. them
                ("inputs", (L - 1, T, B, DH)),
                ("dx", (L - 1, T, B, DH)),
                ("no_dx", (T, B, 0)),
                # token input: layer 0's input gradient (each direction's), for the embedding
                ("dx0", (T if emb else 0, B, D)),
                ("dx0_rev", (T if emb and bi else 0, B, D)),
                ("no_dout", (0, 0, 0)),
                # a per-step head: the top layer's outputs and their gradient
                ("top", (T if seq else 0, B, DH)),
                ("dtop", (T if seq else 0, B, DH)),
                # bidirectional: time-reversed layer inputs, each direction's output gradient,
                # and the reverse direction's input gradient (reversed in time)
                ("x0_rev", (T if bi else 0, B, D)),
                ("inputs_rev", (L - 1 if bi else 0, T, B, DH)),
                ("dout_dir", (2 if bi else 0, T, B, H)),
                ("dx_rev", (T if bi and L > 1 else 0, B, DH)),
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
            Time-major, C-contiguous, of this network's dtype; integer ids of shape
            (T, B) for a token network (``vocab_size``).
        y : ndarray of shape (B, n_targets), or (B, T, n_targets) with ``return_sequences``
            With ``return_sequences`` the loss sees ``B * T`` rows (sample-major), so
            its value is the mean over steps as well as samples.
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
        tokens = None
        if self.vocab_size is not None:
            tokens, X = X, self._embed(X)
        if self.return_sequences and (y.ndim != 3 or y.shape[:2] != (B, T)):
            raise ValueError(
                f"A network with return_sequences=True needs targets of shape (B, T, n_targets) = "
                f"({B}, {T}, n_targets), one row per step; got y of shape {y.shape}."
            )
        with kernel_threads(threads_for(self._layer_macs(T, B), B)):
            return self._loss_and_grad(X, y, loss, quantiles, dropout, rng, tokens)

    def _loss_and_grad(self, X, y, loss, quantiles, dropout, rng, tokens=None):
        T, B, _ = X.shape
        with self._workspace("train", T, B) as ws:
            value = self._train_step(ws, X, y, loss, quantiles, dropout, rng)
            if tokens is not None:
                # the embedding's gradient: layer 0's input gradients, scatter-added by token
                dx0 = ws.dx0
                if self.num_directions == 2:
                    dx0 = np.add(dx0, ws.dx0_rev[::-1], out=dx0)
                self.grad_embedding.fill(0)
                np.add.at(self.grad_embedding, tokens.ravel(), dx0.reshape(T * B, -1))
            return value

    def _layer_output(self, ws, layer, buffer):
        """Layer ``layer``'s outputs ``(T, B, num_directions * H)`` in time order, from its training states.

        Unidirectional: a view of the states (not contiguous for lstm). Bidirectional:
        ``[forward | reverse, back in time order]`` written into ``buffer``.
        """
        if self.num_directions == 1:
            return ws.states[layer][1:, 0]
        H = self.hidden_size
        np.copyto(buffer[:, :, :H], ws.states[2 * layer][1:, 0])
        np.copyto(buffer[:, :, H:], ws.states[2 * layer + 1][:0:-1, 0])  # states T, ..., 1
        return buffer

    def _train_step(self, ws, X, y, loss, quantiles, dropout, rng):
        T, B = X.shape[0], X.shape[1]
        k, act = self._kernels, self._act
        H, L, n_dir, O = self.hidden_size, self.num_layers, self.num_directions, self.output_size
        ws.state0.fill(0)
        inputs, inputs_rev, masks = [X], [], []
        for layer in range(L):
            x = inputs[-1]
            if n_dir == 2:  # the reverse direction reads a time-reversed contiguous copy
                x_rev = ws.x0_rev if layer == 0 else ws.inputs_rev[layer - 1]
                np.copyto(x_rev, x[::-1])
                inputs_rev.append(x_rev)
            for d in range(n_dir):
                i = layer * n_dir + d
                x_d = x if d == 0 else x_rev
                k.forward_train(x_d, ws.state0, *self.layers[i], act, ws.states[i], ws.gates[i], ws.work)
            if layer < L - 1:
                out = self._layer_output(ws, layer, ws.inputs[layer])
                if dropout > 0.0:
                    keep = rng.random(out.shape, dtype=self.dtype) >= dropout
                    masks.append(keep.astype(self.dtype) / self.dtype.type(1.0 - dropout))
                    out = np.multiply(out, masks[-1], out=ws.inputs[layer])
                elif not out.flags.c_contiguous:  # lstm interleaves h and c
                    np.copyto(ws.inputs[layer], out)
                    out = ws.inputs[layer]
                inputs.append(out)
        top = L - 1
        dstateT = ws.dstateT
        dstateT.fill(0)
        if self.return_sequences:
            # the head on every step: B * T rows, sample-major as the targets
            Y = self._layer_output(ws, top, ws.top)
            if Y is not ws.top:
                np.copyto(ws.top, Y)
                Y = ws.top
            pred = (Y @ self.W_out.T + self.b_out).transpose(1, 0, 2).reshape(B * T, O)
            value, dpred = loss(pred, y.reshape(B * T, -1), quantiles)
            dpred = np.ascontiguousarray(dpred.astype(self.dtype, copy=False).reshape(B, T, O).transpose(1, 0, 2))
            self.grad_W_out[:] = dpred.reshape(T * B, O).T @ Y.reshape(T * B, n_dir * H)
            self.grad_b_out[:] = dpred.reshape(T * B, O).sum(axis=0)
            d_above = np.matmul(dpred, self.W_out, out=ws.dtop)  # (T, B, DH): into every step
        else:
            finals = [ws.states[top * n_dir + d][T, 0] for d in range(n_dir)]  # torch's h_n of the top layer
            h_last = finals[0] if n_dir == 1 else np.concatenate(finals, axis=1)
            pred = h_last @ self.W_out.T + self.b_out
            value, dpred = loss(pred, y, quantiles)
            dpred = dpred.astype(self.dtype, copy=False)
            self.grad_W_out[:] = dpred.T @ h_last
            self.grad_b_out[:] = dpred.sum(axis=0)
            for d in range(n_dir):
                np.matmul(dpred, self.W_out[:, d * H : (d + 1) * H], out=dstateT[d, 0])
            d_above = None  # the head reads the final states only
        for layer in range(L - 1, -1, -1):
            for d in range(n_dir):
                i = layer * n_dir + d
                if d_above is None:
                    dout = ws.no_dout
                elif n_dir == 1:
                    dout = d_above
                else:  # this direction's half, in its own time order
                    dout = ws.dout_dir[d]
                    np.copyto(dout, d_above[:, :, :H] if d == 0 else d_above[::-1, :, H:])
                if layer == 0:
                    dx = ws.no_dx if self.vocab_size is None else (ws.dx0 if d == 0 else ws.dx0_rev)
                else:
                    dx = ws.dx[layer - 1] if d == 0 else ws.dx_rev
                # zeros (state0) for lower layers: their final states feed nothing
                d_final = dstateT[d] if layer == top else ws.state0
                x_d = inputs[layer] if d == 0 else inputs_rev[layer]
                k.backward(
                    x_d,
                    *self.layers[i],
                    act,
                    ws.states[i],
                    ws.gates[i],
                    dout,
                    d_final,
                    dx,
                    ws.dstate0,
                    *self.layer_grads[i],
                    ws.work,
                )
            if layer > 0:
                dx = ws.dx[layer - 1]
                if n_dir == 2:  # the reverse direction's input gradient, back in time order
                    np.add(dx, ws.dx_rev[::-1], out=dx)
                d_above = np.multiply(dx, masks[layer - 1], out=dx) if masks else dx
        return value
