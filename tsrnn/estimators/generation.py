"""Sampling token sequences from a fitted next-token classifier.

:func:`generate` continues a prompt with a token :class:`~tsrnn.RNNClassifier`
(``input_type='tokens'``, ``return_sequences=True``) trained to predict, at every step,
the next token id. It reads the prompt once (one :meth:`~tsrnn.nn.RecurrentNetwork.run`),
then feeds each sampled token back with :meth:`~tsrnn.nn.RecurrentNetwork.step`,
carrying the hidden state forward: the prefix is never read again, so each new token
costs one step of the network.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._config import using_threads
from ..nn import seeded_generator
from .base import check_tokens

__all__ = ["generate"]

# temperatures below this are greedy (argmax): dividing by them would overflow
GREEDY_TEMPERATURE = 1e-6


def generate(model, prompt, n_tokens, temperature=1.0, top_k=None, random_state=None):
    """Sample the next ``n_tokens`` token ids after ``prompt`` from a fitted token model.

    Each step draws from ``softmax(logits / temperature)`` over the model's classes
    (the next-token ids ``classes_``), restricted to the ``top_k`` most probable
    when given, then feeds the drawn token back, carrying the network's state.

    Parameters
    ----------
    model : RNNClassifier, LSTMClassifier or GRUClassifier
        Fitted with ``input_type='tokens'`` and ``return_sequences=True`` on targets that
        are the next token ids (integers in ``[0, vocab_size)``, e.g. ``y[:, t] = X[:, t + 1]``).
        The classes need not be every id: a drawn class ``k`` is the token ``classes_[k]``.
    prompt : array-like of int of shape (n_prompt,)
        Token ids to start from (at least one), read once to build the state.
    n_tokens : int
        New tokens to return (0 gives an empty array).
    temperature : float, default=1.0
        Divides the logits: below 1 sharpens the distribution, above 1 flattens it;
        0 (or below 1e-6) is greedy decoding, always the most probable token.
    top_k : int or None, default=None
        Sample among the ``top_k`` most probable tokens only; None (or a value of at
        least the number of classes) samples among all. ``top_k=1`` is greedy.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws: the same seed gives the same tokens.

    Returns
    -------
    ndarray of int64 of shape (n_tokens,)
        The generated token ids, the prompt not included.

    Raises
    ------
    ValueError
        For a model that is not a fitted token classifier with ``return_sequences=True``,
        classes that are not token ids, prompt ids outside ``[0, vocab_size)``, or
        ``n_tokens < 0``, ``temperature < 0``, ``top_k < 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn import RNNClassifier, generate
    >>> text = np.tile([0, 1, 2, 3], 60)
    >>> X = np.lib.stride_tricks.sliding_window_view(text[:-1], 8)[::2]
    >>> y = np.lib.stride_tricks.sliding_window_view(text[1:], 8)[::2]
    >>> model = RNNClassifier(cell="gru", hidden_size=16, input_type="tokens", vocab_size=4,
    ...                       embedding_dim=4, return_sequences=True, learning_rate=0.02,
    ...                       max_epochs=60, random_state=0).fit(X, y)
    >>> generate(model, [0, 1], 6, temperature=0).tolist()
    [2, 3, 0, 1, 2, 3]
    """
    check_is_fitted(model, "network_")
    name = type(model).__name__
    if getattr(model, "input_type", "values") != "tokens":
        raise ValueError(
            f"generate needs a token model: {name} was fitted with input_type="
            f"{getattr(model, 'input_type', 'values')!r}; fit one with input_type='tokens'."
        )
    if not model.return_sequences:
        raise ValueError(
            f"generate needs a model fitted with return_sequences=True (a next-token label at every "
            f"step); this {name} labels whole sequences."
        )
    classes = getattr(model, "classes_", None)
    vocab_size = model.network_.vocab_size
    if classes is None or classes.dtype.kind not in "iu" or classes.min() < 0 or classes.max() >= vocab_size:
        raise ValueError(
            f"generate needs a classifier whose classes are the next token ids, integers in "
            f"[0, vocab_size) = [0, {vocab_size}); got classes {None if classes is None else classes.tolist()!r}."
        )
    if not isinstance(n_tokens, Integral) or isinstance(n_tokens, bool) or n_tokens < 0:
        raise ValueError(f"n_tokens must be an int >= 0. Got {n_tokens!r} instead.")
    if not isinstance(temperature, Real) or isinstance(temperature, bool) or not temperature >= 0:
        raise ValueError(f"temperature must be a float >= 0 (0 is greedy). Got {temperature!r} instead.")
    if temperature == np.inf:
        raise ValueError("temperature must be finite; a large temperature samples nearly uniformly.")
    if top_k is not None and (not isinstance(top_k, Integral) or isinstance(top_k, bool) or top_k < 1):
        raise ValueError(f"top_k must be an int >= 1 or None. Got {top_k!r} instead.")
    prompt = check_tokens(prompt, vocab_size, name="prompt")
    rng = seeded_generator(random_state)
    network = model.network_
    generated = np.empty(int(n_tokens), dtype=np.int64)
    if n_tokens == 0:
        return generated
    with using_threads(model.n_threads):
        logits, state = network.run(prompt[:, None], network.initial_state(1))  # the prompt, once
        last = logits[0, -1]
        for i in range(n_tokens):
            token = classes[_draw(last.astype(np.float64), temperature, top_k, rng)]
            generated[i] = token
            if i + 1 < n_tokens:
                last, state = network.step(np.array([token], dtype=np.int64), state)
                last = last[0]
    return generated


def _draw(logits, temperature, top_k, rng):
    """The index of one class drawn from ``softmax(logits / temperature)`` among the ``top_k`` largest."""
    if temperature < GREEDY_TEMPERATURE:
        return int(np.argmax(logits))
    z = logits / temperature
    if top_k is not None and top_k < z.size:
        keep = np.argpartition(z, -top_k)[-top_k:]
        masked = np.full_like(z, -np.inf)
        masked[keep] = z[keep]
        z = masked
    p = np.exp(z - z.max())
    return int(rng.choice(z.size, p=p / p.sum()))
