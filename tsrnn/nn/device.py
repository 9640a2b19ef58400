"""Training and inference of a :class:`~tsrnn.nn.RecurrentNetwork` on a CUDA device.

Imported only when a model asks for ``device='cuda'`` (it imports numba.cuda).
:class:`DeviceSteps` is the device half of :meth:`tsrnn.nn.Trainer.fit`: for the
whole fit the parameters, their gradients, the optimizer state, the data, the
workspaces, the dropout masks and the per-batch loss values live on the GPU.
What crosses to the device per epoch is the sample order (one int64 per sample),
and with token input, in the same transfer, each batch's token positions (below);
what comes back is the loss of every batch and a divergence flag, and, with a
validation set, its head outputs (the validation loss and score are computed
on the host by the same functions as on the CPU). The weights and the optimizer
state come back once, when the fit ends.

One mini-batch is a fixed sequence of launches, none of which waits for the host:

1. gather the batch's columns of the inputs and its target rows (``cuda_train.gather``;
   token ids are looked up in the embedding there, ``cuda_train.embed``);
2. per layer, the recurrent ``forward_train`` kernel (:mod:`tsrnn.kernels.cuda`), twice
   for a bidirectional layer (the reverse direction on a time-reversed contiguous copy
   of the layer input), and the next layer's input, its dropout mask drawn on the device;
3. the head (a GEMM of :mod:`tsrnn.kernels.cuda_ops`), the loss's gradient and its
   value into the epoch's losses array;
4. the head's gradients and, per layer from the top, the ``backward`` kernel (each
   direction's on its half of the upstream gradient, in its own time order), then the
   embedding's gradient;
5. the global gradient norm (and a sticky flag when the loss or a gradient is not
   finite), then one optimizer kernel that clips and updates in place (and does
   nothing once the flag is set: the host sees it at the end of the epoch and handles
   divergence as the CPU path does).

The batch order comes from the host's generator as on the CPU, so a fit without
dropout sees the same batches in the same order on both devices; dropout masks come
from a counter-based generator on the device, seeded once per fit from the host's.

Bidirectional layers, token input, a per-step head (``return_sequences``) and every
built-in loss and optimizer of the trainer run on the device, as
:class:`~tsrnn.nn.RecurrentNetwork` computes them on the CPU (ARCHITECTURE.md, "The
network seam"); a custom loss trains on the CPU only (a clear error says so). Every
array a layer kernel sees is C-contiguous (the reversed inputs and the directions'
gradients are copies made by :mod:`tsrnn.kernels.cuda_train`'s kernels).

Token input: the ids are checked on the host once per fit (range and dtype, with the
CPU path's messages) and copied once; the embedding's gradient is summed without
atomics, so the same seed gives the same weights. For that, each epoch the host
builds from the known batch order and ids, per batch, the list of (distinct token ->
its positions in the batch) (``cuda_train.token_positions``, a few int64 per input
step); it travels with the order in the epoch's one transfer, and one thread per
(token, feature) sums its positions in a fixed order (``cuda_train.embedding_grad``).
"""

import numpy as np
from numba import cuda

from ..kernels import ACTIVATIONS, cuda_ops, cuda_train, get_kernels, work_size
from .losses import LOSSES, softmax_cross_entropy
from .optimizers import SGD, Adam, Momentum

# Samples per inference chunk on the device (bounds the layer outputs in GPU memory).
PREDICT_CHUNK = 65536


def loss_kind(loss):
    """The code of ``loss`` in :data:`tsrnn.kernels.cuda_train.LOSS_KINDS`; ValueError for a loss the
    device does not train (a custom callable).

    Parameters
    ----------
    loss : str or callable
        The trainer's loss.

    Returns
    -------
    int
        The code of :data:`tsrnn.kernels.cuda_train.LOSS_KINDS`.
    """
    if supports_loss(loss):
        return cuda_train.LOSS_KINDS["cross_entropy" if loss is softmax_cross_entropy else loss]
    raise ValueError(
        f"device='cuda' trains with the built-in losses {sorted(LOSSES)} and the classifiers' "
        f"softmax cross-entropy; got loss={loss!r}. Use device='cpu' for a custom loss."
    )


def supports_loss(loss):
    """Whether the device trains with ``loss``: a built-in loss name, or the classifiers' softmax cross-entropy.

    Parameters
    ----------
    loss : str or callable

    Returns
    -------
    bool
    """
    return (isinstance(loss, str) and loss in LOSSES) or loss is softmax_cross_entropy


_empty = cuda_ops.empty  # a size-0 device operand: "not used"


class _DeviceWeights:
    """A network's parameters (and optionally gradients) on the device, with per-layer views."""

    def __init__(self, network, with_grad):
        self.params = cuda.to_device(network.params)
        self.embedding, self.layers, self.head = network.split(self.params)
        self.grad = None
        if with_grad:
            self.grad = cuda.to_device(np.zeros_like(network.params))
            self.embedding_grad, self.layer_grads, self.head_grads = network.split(self.grad)


def _checked_tokens(network, tokens):
    """Token ids as an int64 array ``(T, N)``, checked once on the host with the CPU path's messages."""
    tokens = np.asarray(tokens)
    network._embed(tokens if tokens.ndim != 2 else tokens[:, :0])  # the shape and dtype checks
    if tokens.size:  # the range check, on the extreme ids only (its message names them)
        network._embed(np.array([[tokens.min(), tokens.max()]]))
    return np.ascontiguousarray(tokens, dtype=np.int64)


def _forward_layers(network, kernels, weights, x, ws, train):
    """Every layer's forward pass on the device (both directions of each when bidirectional).

    ``train``: ``forward_train`` into ``ws.states``/``ws.gates`` (dropout masks in
    ``ws.masks`` when drawn), else the inference ``forward`` with each direction's final
    state of the top layer into ``ws.stateT`` (and its outputs into ``ws.top`` for a
    per-step head). The reverse direction reads a time-reversed contiguous copy of the
    layer input (``ws.x_rev``), as on the CPU.
    """
    act, L, n_dir, dtype = ACTIVATIONS[network.activation], network.num_layers, network.num_directions, network.dtype
    T, B = ws.shape
    H = network.hidden_size
    for layer in range(L):
        W = weights.layers[layer * n_dir : (layer + 1) * n_dir]
        if n_dir == 2:
            x_rev = ws.x_rev[layer if train else min(layer, 1)]
            cuda_train.reverse_time(x, x_rev)
        inputs = (x, x_rev) if n_dir == 2 else (x,)
        if train:
            for d, x_d in enumerate(inputs):
                i = layer * n_dir + d
                kernels.forward_train(x_d, ws.state0, *W[d], act, ws.states[i], ws.gates[i], ws.work)
            if layer < L - 1:
                mask = ws.masks[layer] if ws.dropout else _empty(3, dtype)
                if n_dir == 2:
                    i = 2 * layer
                    cuda_train.join_directions(ws.states[i], ws.states[i + 1], 1, mask, ws.inputs[layer])
                else:
                    cuda_train.layer_output(ws.states[layer], mask, ws.inputs[layer])
                x = ws.inputs[layer]
            continue
        top = layer == L - 1
        keep = not top or network.return_sequences  # the top layer's outputs feed a per-step head only
        out = ws.outs[layer % 2] if not top else (ws.top if network.return_sequences else _empty(3, dtype))
        if n_dir == 1:
            kernels.forward(x, ws.state0, *W[0], act, out, ws.stateT[0], ws.work)
        else:
            for d, x_d in enumerate(inputs):
                out_d = ws.dir_out[d] if keep else _empty(3, dtype)
                kernels.forward(x_d, ws.state0, *W[d], act, out_d, ws.stateT[d], ws.work)
            if keep:  # [forward | reverse, back in time order]
                f, r = (ws.dir_out[d].reshape(T, 1, B, H) for d in range(2))
                cuda_train.join_directions(f, r, 0, _empty(3, dtype), out)
        x = out
    return x


def _head(network, weights, ws, train):
    """The head's outputs ``ws.pred (Tp, B, output_size)`` from the top layer (written on the device)."""
    W_out, b_out = weights.head
    if network.return_sequences:
        if train:
            if network.num_directions == 2:
                cuda_train.join_directions(ws.states[-2], ws.states[-1], 1, _empty(3, network.dtype), ws.top)
            else:
                cuda_train.layer_output(ws.states[-1], _empty(3, network.dtype), ws.top)
        cuda_ops.rows_gemm(ws.top, W_out, True, ws.pred, b_out)
    else:
        cuda_ops.rows_gemm(_final_hidden(network, ws, train), W_out, True, ws.pred, b_out)


def _final_hidden(network, ws, train):
    """The top layer's final hidden state (torch's ``h_n``) as a ``(1, B, num_directions * H)`` device array.

    Unidirectional: a view of the states. Bidirectional: ``[h_T forward, reverse's final state]``
    written into ``ws.final``.
    """
    T, B = ws.shape
    H, S = network.hidden_size, network.spec.n_states
    if network.num_directions == 1:
        h = ws.states[-1][T, 0] if train else ws.stateT[0][0]
        return h.reshape(1, B, H)
    if train:
        cuda_train.join_directions(ws.states[-2], ws.states[-1], T, _empty(3, network.dtype), ws.final)
    else:
        f, r = (ws.stateT[d].reshape(1, S, B, H) for d in range(2))
        cuda_train.join_directions(f, r, 0, _empty(3, network.dtype), ws.final)
    return ws.final


class _Workspace:
    """Device buffers of one ``(T, B)`` shape, allocated once and reused by every batch of that size."""

    def __init__(self, network, T, B, train, dropout=0.0, n_targets=0):
        dtype, S, H, L = network.dtype, network.spec.n_states, network.hidden_size, network.num_layers
        D, O, n_dir = network.input_size, network.output_size, network.num_directions
        DH = n_dir * H  # features of a layer's output
        bi, seq, tokens = n_dir == 2, network.return_sequences, network.vocab_size is not None
        Tp = T if seq else 1
        zeros = lambda *shape: cuda.to_device(np.zeros(shape, dtype))
        kinds = ("forward_train", "backward") if train else ("forward",)
        n_work = max(
            work_size(network.cell, k, B, d, H, device="cuda", T=T) for k in kinds for d in {D, DH if L > 1 else D}
        )
        self.shape, self.dropout = (T, B), dropout > 0.0
        self.state0 = zeros(S, B, H)  # never written: the initial state, and "no gradient" for lower layers
        self.work = cuda.device_array(max(n_work, 1), dtype)
        self.pred = cuda.device_array((Tp, B, O), dtype)
        self.top = cuda.device_array((T if seq else 0, B, DH), dtype)
        self.final = cuda.device_array((1 if bi else 0, B, DH), dtype)  # bidirectional: the head's input
        if not train:
            self.x = cuda.device_array((T, B, D), dtype)  # the chunk's inputs (embedded ids for tokens)
            self.outs = [cuda.device_array((T, B, DH), dtype) for _ in range(min(L - 1, 2))]
            self.stateT = cuda.device_array((n_dir, S, B, H), dtype)
            # bidirectional: each direction's outputs, the time-reversed inputs of layer 0 and of layers 1..
            self.dir_out = [cuda.device_array((T, B, H), dtype) for _ in range(2 if bi else 0)]
            self.x_rev = [cuda.device_array((T, B, d), dtype) for d in ((D, DH)[: min(L, 2)] if bi else ())]
            return
        self.x = cuda.device_array((T, B, D), dtype)
        self.y = cuda.device_array((1, B, n_targets * Tp), dtype)
        self.states = [cuda.device_array((T + 1, S, B, H), dtype) for _ in range(L * n_dir)]
        self.gates = [cuda.device_array((T, B, network.spec.cache_factor * H), dtype) for _ in range(L * n_dir)]
        self.inputs = [cuda.device_array((T, B, DH), dtype) for _ in range(L - 1)]
        self.dx = [cuda.device_array((T, B, DH), dtype) for _ in range(L - 1)]
        self.masks = [cuda.device_array((T, B, DH), dtype) for _ in range(L - 1)] if self.dropout else []
        self.dpred = cuda.device_array((Tp, B, O), dtype)
        self.terms = cuda.device_array((Tp, B, O), dtype)
        self.dtop = cuda.device_array((T if seq else 0, B, DH), dtype)
        # per direction; slot 0 written per batch (final-state head), the c slot stays 0
        self.dstateT = zeros(n_dir, S, B, H)
        self.dstate0 = cuda.device_array((S, B, H), dtype)
        # bidirectional: the time-reversed layer inputs, the head's gradient w.r.t. the final state,
        # each direction's output gradient and the reverse direction's input gradient (reversed in time)
        self.x_rev = [cuda.device_array((T, B, D if layer == 0 else DH), dtype) for layer in range(L if bi else 0)]
        self.dfinal = cuda.device_array((1 if bi and not seq else 0, B, DH), dtype)
        self.dout_dir = [cuda.device_array((T, B, H), dtype) for _ in range(2 if bi else 0)]
        self.dx_rev = cuda.device_array((T if bi and L > 1 else 0, B, DH), dtype)
        # token input: layer 0's input gradient (each direction's), for the embedding's
        self.dx0 = cuda.device_array((T if tokens else 0, B, D), dtype)
        self.dx0_rev = cuda.device_array((T if tokens and bi else 0, B, D), dtype)


def predict(network, X):
    """Head outputs of ``network`` for host inputs ``X``, computed on the device.

    Parameters
    ----------
    network : RecurrentNetwork
    X : ndarray of shape (T, B, input_size)
        Integer ids of shape (T, B) for a token network (``vocab_size``), checked as on the CPU.

    Returns
    -------
    ndarray of shape (B, output_size), or (B, T, output_size) with ``return_sequences``
    """
    if network.vocab_size is not None:
        X = _checked_tokens(network, X)
    else:
        X = np.ascontiguousarray(X, dtype=network.dtype)
    weights = _DeviceWeights(network, with_grad=False)
    return _predict(network, weights, X)


def _predict(network, weights, X):
    """``predict`` with the weights already on the device; ``X`` a host or device array (checked ids for tokens)."""
    kernels = get_kernels(network.cell, "cuda")
    T, B = X.shape[0], X.shape[1]
    seq, tokens = network.return_sequences, network.vocab_size is not None
    result = np.empty((B, T, network.output_size) if seq else (B, network.output_size), network.dtype)
    chunk, ws = max(1, min(B, PREDICT_CHUNK)), None
    on_host = isinstance(X, np.ndarray)
    if tokens or not on_host:  # the ids on the device once; each chunk's columns gathered (embedded) there
        X = cuda.to_device(X) if on_host else X
        columns = cuda.to_device(np.arange(B, dtype=np.int64))
    for start in range(0, B, chunk):
        n = min(chunk, B - start)
        if ws is None or ws.shape != (T, n):
            ws = _Workspace(network, T, n, train=False)
        if tokens:
            cuda_train.embed(weights.embedding, X, columns[start : start + n], ws.x)
        elif on_host:
            ws.x.copy_to_device(np.ascontiguousarray(X[:, start : start + n]))
        else:  # a strided device source is read as it is
            cuda_train.gather(X, columns[start : start + n], ws.x)
        _forward_layers(network, kernels, weights, ws.x, ws, train=False)
        _head(network, weights, ws, train=False)
        pred = ws.pred.copy_to_host()  # (Tp, B, O)
        result[start : start + n] = pred.transpose(1, 0, 2) if seq else pred[0]
    return result


class DeviceSteps:
    """The device half of one :meth:`tsrnn.nn.Trainer.fit` call.

    Parameters
    ----------
    network : RecurrentNetwork
        Trained in place: its host ``params`` are written by :meth:`close`.
    history : TrainingHistory
        Its optimizer's state is copied to the device and back by :meth:`close`;
        ``best_params`` likewise.
    train, validation : windows source, or None for validation
        Read once (every window) and copied to the device.
    loss : str or callable
    quantiles : ndarray or None
    batch_size, clip_norm, dropout
        As :class:`~tsrnn.nn.Trainer`.
    """

    def __init__(self, network, history, train, validation, loss, quantiles, batch_size, clip_norm, dropout):
        self.network, self.history = network, history
        self.loss_kind = loss_kind(loss)
        self.kernels = get_kernels(network.cell, "cuda")
        dtype = network.dtype
        self.batch_size, self.clip_norm, self.dropout = int(batch_size), float(clip_norm or 0.0), float(dropout)
        X, y = train.batch(np.arange(train.n_samples))
        self.n_samples, self.n_targets = train.n_samples, train.n_targets
        self.tokens = None  # token input: the ids on the host, for each epoch's token positions
        if network.vocab_size is not None:
            self.tokens = _checked_tokens(network, X)
            self.X = cuda.to_device(self.tokens)
        else:
            self.X = cuda.to_device(np.ascontiguousarray(X, dtype=dtype))
        self.y = cuda.to_device(np.ascontiguousarray(y, dtype=dtype).reshape(1, self.n_samples, -1))
        self.X_val = None
        if validation is not None:
            X_val, _ = validation.batch(np.arange(validation.n_samples))
            if network.vocab_size is not None:
                self.X_val = cuda.to_device(_checked_tokens(network, X_val))
            else:
                self.X_val = cuda.to_device(np.ascontiguousarray(X_val, dtype=dtype))
        q = np.ones(1) if quantiles is None else np.asarray(quantiles)
        self.quantiles = cuda.to_device(q.astype(dtype))
        self.weights = _DeviceWeights(network, with_grad=True)
        opt = history.optimizer
        self.opt_kind = _optimizer_kind(opt)
        # the optimizer's moments on the device (the kernel reads neither array for sgd, nor v for momentum)
        self.m = self.v = _empty(1, dtype)
        if isinstance(opt, Adam):
            self.m, self.v = cuda.to_device(opt.m), cuda.to_device(opt.v)
        elif isinstance(opt, Momentum):
            self.m = cuda.to_device(opt.velocity)
        self.norm = cuda.device_array(1, dtype)
        self.status = cuda.to_device(np.zeros(1, np.int32))
        n_batches = -(-self.n_samples // self.batch_size)
        self.losses = cuda.device_array(max(n_batches, 1), dtype)
        # dropout: one seed per fit from the host's generator (drawn only with dropout, so a fit
        # without it leaves the generator where the CPU path does)
        self.seed = int(history.rng.integers(2**62)) if self.dropout > 0.0 else 0
        self.n_steps = 0
        self.best = None  # device copy of the best weights of this fit
        self.workspaces = {}
        self.closed = False

    def _workspace(self, B):
        T = self.X.shape[0]
        if B not in self.workspaces:
            self.workspaces[B] = _Workspace(self.network, T, B, True, self.dropout, self.n_targets)
        return self.workspaces[B]

    def _epoch_arrays(self, order):
        """The order, and with token input each batch's token positions, packed for one transfer.

        Returns the packed int64 host array and, per batch, the ``(start, stop)`` bounds of its
        ``distinct``, ``starts`` and ``positions`` (:func:`tsrnn.kernels.cuda_train.token_positions`)
        in it (None without token input).
        """
        order = np.asarray(order, dtype=np.int64)
        if self.tokens is None:
            return order, None
        parts, bounds, offset = [order], [], order.size
        for start in range(0, self.n_samples, self.batch_size):
            batch = self.tokens[:, order[start : start + self.batch_size]]
            arrays = cuda_train.token_positions(batch, self.network.vocab_size)
            spans = []
            for a in arrays:
                spans.append((offset, offset + a.size))
                offset += a.size
            parts.extend(arrays)
            bounds.append(spans)
        return np.concatenate(parts), bounds

    def epoch(self, order):
        """One pass over the batches of ``order``; the mean training loss, or None if training diverged."""
        packed, bounds = self._epoch_arrays(order)
        packed_d = cuda.to_device(packed)  # the only transfer to the device per epoch
        sizes = []
        for i, start in enumerate(range(0, self.n_samples, self.batch_size)):
            idx = packed_d[start : min(start + self.batch_size, self.n_samples)]
            sizes.append(idx.shape[0])
            positions = None if bounds is None else [packed_d[a:b] for a, b in bounds[i]]
            self._step(self._workspace(idx.shape[0]), idx, i, positions)
        losses, status = self.losses.copy_to_host()[: len(sizes)], self.status.copy_to_host()[0]
        if status != 0:
            # batch status - 1 was the first non-finite one: the steps launched after it changed
            # nothing, so they do not count (the CPU path stops before that batch's step)
            skipped = len(sizes) - (int(status) - 1)
            self.n_steps -= skipped
            if isinstance(self.history.optimizer, Adam):
                self.history.optimizer.t -= skipped
            return None
        return float(np.dot(losses.astype(np.float64), sizes)) / self.n_samples

    def _step(self, ws, idx, i, positions=None):
        net, k, w = self.network, self.kernels, self.weights
        T, B = ws.shape
        L, act, n_dir, H, dtype = (
            net.num_layers,
            ACTIVATIONS[net.activation],
            net.num_directions,
            net.hidden_size,
            net.dtype,
        )
        DH = n_dir * H
        if positions is None:
            cuda_train.gather(self.X, idx, ws.x)
        else:
            cuda_train.embed(w.embedding, self.X, idx, ws.x)
        cuda_train.gather(self.y, idx, ws.y)
        if ws.dropout:
            for layer in range(L - 1):
                cuda_train.dropout_mask(self._seed(layer), self.dropout, ws.masks[layer])
        _forward_layers(net, k, w, ws.x, ws, train=True)
        _head(net, w, ws, train=True)
        Tp = ws.pred.shape[0]
        target = ws.y.reshape(B, Tp, self.n_targets)
        cuda_train.loss_terms(self.loss_kind, ws.pred, target, self.quantiles, ws.dpred, ws.terms)
        cuda_train.sum_into(ws.terms, self.losses, i)
        gW_out, gb_out = w.head_grads
        W_out = w.head[0]
        if net.return_sequences:
            cuda_ops.rows_gemm_tn(ws.dpred, ws.top.reshape(T, 1, B, DH), 0, gW_out)
            cuda_ops.rows_gemm(ws.dpred, W_out, False, ws.dtop)
            d_above = ws.dtop
        else:
            if n_dir == 2:
                # dpred @ W_out (O, 2H) into one contiguous (1, B, 2H) buffer, split per direction
                # (W_out's column halves are not contiguous)
                cuda_ops.rows_gemm_tn(ws.dpred, ws.final.reshape(1, 1, B, DH), 0, gW_out)
                cuda_ops.rows_gemm(ws.dpred, W_out, False, ws.dfinal)
                cuda_train.split_directions(ws.dfinal, ws.dstateT[0][:1], ws.dstateT[1][:1])
            else:
                cuda_ops.rows_gemm_tn(ws.dpred, ws.states[-1][T : T + 1], 0, gW_out)
                cuda_ops.rows_gemm(ws.dpred, W_out, False, ws.dstateT[0][:1])
            d_above = None  # the head reads the final states only
        cuda_ops.colsum(ws.dpred, gb_out)
        for layer in range(L - 1, -1, -1):
            if d_above is not None and n_dir == 2:  # each direction's half, in its own time order
                cuda_train.split_directions(d_above, ws.dout_dir[0], ws.dout_dir[1])
            for d in range(n_dir):
                i_w = layer * n_dir + d
                if d_above is None:
                    dout = _empty(3, dtype)
                else:
                    dout = d_above if n_dir == 1 else ws.dout_dir[d]
                if layer == 0:
                    dx = ws.dx0 if d == 0 else ws.dx0_rev  # size 0 without token input: skipped
                else:
                    dx = ws.dx[layer - 1] if d == 0 else ws.dx_rev
                if d == 0:
                    x = ws.x if layer == 0 else ws.inputs[layer - 1]
                else:
                    x = ws.x_rev[layer]
                # zeros (state0) for lower layers: their final states feed nothing
                d_final = ws.dstateT[d] if layer == L - 1 else ws.state0
                k.backward(
                    x, *w.layers[i_w], act, ws.states[i_w], ws.gates[i_w], dout, d_final, dx, ws.dstate0,
                    *w.layer_grads[i_w], ws.work,
                )  # fmt: skip
            if layer > 0:
                dx = ws.dx[layer - 1]
                if n_dir == 2:  # the reverse direction's input gradient, back in time order
                    cuda_train.add_reversed(dx, ws.dx_rev)
                if ws.dropout:
                    cuda_train.multiply(dx, ws.masks[layer - 1])
                d_above = dx
        if positions is not None:
            cuda_train.embedding_grad(ws.dx0, ws.dx0_rev, *positions, w.embedding_grad)
        cuda_train.grad_norm(w.grad, self.losses, i, self.norm, self.status)
        self._update()
        self.n_steps += 1

    def _seed(self, layer):
        """The dropout seed of this step and layer (distinct per step, layer and fit)."""
        state = np.random.SeedSequence([self.seed, self.n_steps, layer]).generate_state(2, np.uint32)
        return (int(state[0]) << 31) ^ int(state[1])

    def _update(self):
        opt, w = self.history.optimizer, self.weights
        lr, wd = float(opt.learning_rate), float(opt.weight_decay)
        decoupled = isinstance(opt, Adam) and opt.decoupled
        bias1 = bias2_sqrt = 1.0
        beta1 = beta2 = eps = momentum = 0.0
        if isinstance(opt, Adam):
            opt.t += 1
            beta1, beta2, eps = opt.beta1, opt.beta2, opt.eps
            bias1, bias2_sqrt = 1.0 - beta1**opt.t, float(np.sqrt(1.0 - beta2**opt.t))
        elif isinstance(opt, Momentum):
            momentum = opt.momentum
        cuda_train.optimizer_step(
            self.opt_kind, w.params, w.grad, self.m, self.v, self.norm, self.status, self.clip_norm, lr,
            wd if decoupled else 0.0, 0.0 if decoupled else wd, momentum, beta1, beta2, eps, bias1, bias2_sqrt,
        )  # fmt: skip

    def predict_validation(self):
        """The head outputs on the validation windows (copied to the host)."""
        return _predict(self.network, self.weights, self.X_val)

    def snapshot(self):
        """Keep a device copy of the current weights as the best so far."""
        if self.best is None:
            self.best = cuda.device_array_like(self.weights.params)
        self.best.copy_to_device(self.weights.params)

    def restore_best(self):
        """Make the best weights of this fit (or of an earlier fit call) the current ones."""
        if self.best is not None:
            self.weights.params.copy_to_device(self.best)
        elif self.history.best_params is not None:
            self.weights.params.copy_to_device(self.history.best_params)

    def close(self):
        """Copy the weights, the best weights and the optimizer state back to the host (once)."""
        if self.closed:
            return
        self.closed = True
        self.weights.params.copy_to_host(self.network.params)
        if self.best is not None:
            self.history.best_params = self.best.copy_to_host()
        opt = self.history.optimizer
        if isinstance(opt, Adam):
            self.m.copy_to_host(opt.m)
            self.v.copy_to_host(opt.v)
        elif isinstance(opt, Momentum):
            self.m.copy_to_host(opt.velocity)


def _optimizer_kind(optimizer):
    if isinstance(optimizer, Adam):
        return cuda_train.OPTIMIZER_KINDS["adam"]
    if isinstance(optimizer, Momentum):
        return cuda_train.OPTIMIZER_KINDS["momentum"]
    if type(optimizer) is SGD:
        return cuda_train.OPTIMIZER_KINDS["sgd"]
    raise ValueError(f"device='cuda' cannot run the optimizer {type(optimizer).__name__}; use device='cpu'.")
