"""Transactional fits: build the new fitted state aside, commit it only on success.

A fit that raises (too-short data, wrong shapes, divergence) or is interrupted
(``KeyboardInterrupt`` from inside training) must leave the estimator exactly as it
was: still fitted with the same predictions, or unfitted if it never was. Every
``fit``, ``partial_fit`` and ``update`` of tsrnn runs its work on a *staged* copy:

.. code-block:: python

    def fit(self, X, y):
        with staged_fit(self, fresh=True) as staged:
            staged._do_the_fitting(X, y)  # writes fitted state to staged only
        return self

The staged copy is a new instance of the same class whose ``__dict__`` starts as a
shallow copy of the estimator's (without its fitted attributes, the names ending in
``_``, when ``fresh``); when the block completes, the estimator takes the staged
``__dict__`` in one assignment. On an exception nothing is committed and the
exception propagates. Threads that predict meanwhile keep seeing the old state.

The one rule for code inside the block: never mutate in place an object the
committed state holds (the shallow copy shares them); continue from copies
(``warm_start`` and ``partial_fit`` deep-copy the network and its training history
before training it further).
"""

from contextlib import contextmanager

__all__ = ["is_fitted_attribute", "staged_fit"]


def is_fitted_attribute(name):
    """Whether ``name`` follows the scikit-learn convention of fitted state (``coef_``, ``_history_``)."""
    return name.endswith("_") and not name.endswith("__")


@contextmanager
def staged_fit(estimator, *, fresh):
    """Run a fit on a staged copy of ``estimator``; commit it to ``estimator`` on success only.

    Parameters
    ----------
    estimator : object
        Any object with a ``__dict__`` (a scikit-learn estimator or a forecaster).
    fresh : bool
        Start the copy without the fitted attributes (a new fit), or with all of them
        (``warm_start``, ``partial_fit``, ``update``).

    Yields
    ------
    staged : object
        An instance of ``type(estimator)`` to fit in place of ``estimator``.
    """
    staged = object.__new__(type(estimator))
    state = estimator.__dict__
    staged.__dict__.update({k: v for k, v in state.items() if not is_fitted_attribute(k)} if fresh else state)
    yield staged
    estimator.__dict__ = staged.__dict__  # one assignment: no half-committed state
