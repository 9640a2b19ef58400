"""A warm process's first fit imports only what a fit needs (issue 16).

Each check runs in a fresh interpreter, since the modules the test session has
already loaded would hide what an import or a fit loads by itself. The modules
named here cost start-up (``sklearn.linear_model`` ~0.15 s, ``sklearn.metrics``
with ``sklearn.model_selection`` ~0.07 s on the project's 2-core machines) and
are needed only by a score, an early-stopped classifier split, a linear stage,
intervals or a backtest; ``benchmarks/startup.py`` measures the whole start-up.
"""

import json
import os
import subprocess
import sys
import textwrap

# loaded by none of the imports and fits below
NOT_NEEDED = ("sklearn.metrics", "sklearn.model_selection", "statsmodels", "matplotlib", "numba.cuda", "tqdm")


def _loaded_after(code):
    """The names in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    script = textwrap.dedent(code) + textwrap.dedent(
        """
        import json, sys
        print(json.dumps(sorted(sys.modules)))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_regressor_import_and_fit_load_only_what_a_fit_needs():
    loaded = _loaded_after(
        """
        import numpy as np
        from tsrnn import RNNRegressor

        X = np.random.default_rng(0).standard_normal((40, 8))
        RNNRegressor(hidden_size=4, max_epochs=2, random_state=0).fit(X, X[:, -1])
        """
    )
    # the fit ran through the kernels (so the check is not vacuous) ...
    assert "tsrnn.kernels.cpu" in loaded
    # ... and loaded none of the forecasting layer or the modules a fit never uses
    unexpected = sorted(loaded & {*NOT_NEEDED, "sklearn.linear_model", "tsrnn.forecasting"})
    assert unexpected == [], f"a regressor's fit imported {unexpected}"


def test_forecaster_import_loads_no_linear_stage_backtest_or_progress_bar():
    loaded = _loaded_after("from tsrnn import RNNForecaster")
    assert "tsrnn.forecasting.rnn" in loaded
    unexpected = sorted(loaded & {*NOT_NEEDED, "sklearn.linear_model", "tsrnn.forecasting.backtest", "tqdm"})
    assert unexpected == [], f"importing RNNForecaster imported {unexpected}"


def test_forecaster_fit_without_linear_stage_loads_no_scikit_learn_models():
    loaded = _loaded_after(
        """
        import numpy as np
        import pandas as pd
        from tsrnn import RNNForecaster

        index = pd.date_range("2000-01-01", periods=60, freq="MS")
        y = pd.Series(np.sin(np.arange(60) / 3.0), index=index)
        RNNForecaster(horizon=3, hidden_size=4, max_epochs=2, linear_base=None, random_state=0).fit(y).predict()
        """
    )
    assert "tsrnn.kernels.cpu" in loaded
    unexpected = sorted(loaded & {*NOT_NEEDED, "sklearn.linear_model", "tsrnn.forecasting.backtest"})
    assert unexpected == [], f"a forecaster's fit without linear stage imported {unexpected}"
