"""Parameter constraints in scikit-learn's shape and message form.

scikit-learn's ``_param_validation`` is private, so tsrnn keeps this small copy of
its idea: an estimator declares ``_parameter_constraints`` (parameter name ->
list of allowed forms) and calls :func:`validate_params` at the start of ``fit``.
Errors read like scikit-learn's: "The 'hidden_size' parameter of LSTMRegressor
must be an int in the range [1, inf). Got 0 instead."
"""

from numbers import Integral, Real

import numpy as np


class Interval:
    """Numbers of ``kind`` (Integral or Real) between ``left`` and ``right``.

    ``closed`` is one of 'left', 'right', 'both', 'neither'; None bounds are infinite.
    """

    def __init__(self, kind, left, right, closed):
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def is_satisfied_by(self, value):
        if isinstance(value, bool) or not isinstance(value, self.kind):
            return False
        if self.kind is Real and not np.isfinite(value):
            return False
        if self.left is not None:
            if value < self.left or (value == self.left and self.closed not in ("left", "both")):
                return False
        if self.right is not None:
            if value > self.right or (value == self.right and self.closed not in ("right", "both")):
                return False
        return True

    def __str__(self):
        name = "an int" if self.kind is Integral else "a float"
        lo = "-inf" if self.left is None else self.left
        hi = "inf" if self.right is None else self.right
        lb = "[" if self.closed in ("left", "both") and self.left is not None else "("
        rb = "]" if self.closed in ("right", "both") and self.right is not None else ")"
        return f"{name} in the range {lb}{lo}, {hi}{rb}"


class StrOptions:
    """One of a fixed set of strings."""

    def __init__(self, options):
        self.options = set(options)

    def is_satisfied_by(self, value):
        return isinstance(value, str) and value in self.options

    def __str__(self):
        return "a str among {" + ", ".join(repr(o) for o in sorted(self.options)) + "}"


class Predicate:
    """Values for which ``check(value)`` is true, described as ``description`` in errors.

    For the forms that are neither an interval nor a set of strings, e.g.
    ``Predicate("a non-empty str", lambda v: isinstance(v, str) and v != "")``.
    """

    def __init__(self, description, check):
        self.description, self.check = description, check

    def is_satisfied_by(self, value):
        return self.check(value)

    def __str__(self):
        return self.description


BOOLEAN = Predicate("an instance of 'bool'", lambda v: isinstance(v, (bool, np.bool_)))
NONE = Predicate("None", lambda v: v is None)
RANDOM_STATE = Predicate(
    "an int in the range [0, 4294967295], an instance of 'numpy.random.RandomState' or None",
    lambda v: (
        v is None
        or isinstance(v, np.random.RandomState)
        or (isinstance(v, Integral) and not isinstance(v, bool) and 0 <= v <= 2**32 - 1)
    ),
)


def _probabilities(value):
    try:
        q = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return False
    return q.ndim == 1 and q.size > 0 and bool(np.all((q > 0) & (q < 1))) and np.unique(q).size == q.size


QUANTILES = Predicate("a non-empty sequence of distinct floats in the range (0, 1)", _probabilities)


def validate_params(estimator):
    """Check every parameter of ``estimator`` against its ``_parameter_constraints``.

    Raises
    ------
    ValueError
        Naming the first parameter that satisfies none of its constraints.
    """
    params = estimator.get_params(deep=False)
    for name, constraints in estimator._parameter_constraints.items():
        if name not in params:
            continue
        value = params[name]
        if any(c.is_satisfied_by(value) for c in constraints):
            continue
        forms = [str(c) for c in constraints]
        allowed = forms[0] if len(forms) == 1 else ", ".join(forms[:-1]) + " or " + forms[-1]
        raise ValueError(
            f"The {name!r} parameter of {type(estimator).__name__} must be {allowed}. Got {value!r} instead."
        )
