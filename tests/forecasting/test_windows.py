"""Window samples over concatenated series (tsrnn.forecasting.windows), without a model."""

import numpy as np
import pytest

from tsrnn.forecasting.windows import SeriesWindows, hide_future, training_spans, window_starts


def test_window_starts_split_each_series_and_keep_a_training_sample():
    indptr = np.array([0, 10, 14, 50])  # 6, 0 and 32 starts (length - 3 - 2 + 1)
    train, validation = window_starts(indptr, 3, 2, validation_fraction=0.5)
    # series 0: 3 validation starts, 1 dropped (its targets reach the first validation target)
    np.testing.assert_array_equal(validation, np.r_[3:6, 30:46])
    np.testing.assert_array_equal(train, np.r_[0:2, 14:29])
    # 2 starts with horizon 2: holding one out would leave no training sample
    train, validation = window_starts(np.array([0, 6]), 3, 2, validation_fraction=0.5)
    np.testing.assert_array_equal(train, [0, 1])
    assert validation.size == 0
    train, validation = window_starts(indptr, 3, 2)
    np.testing.assert_array_equal(train, np.r_[0:6, 14:46])
    assert validation.size == 0


def test_training_spans_end_at_the_first_validation_target():
    indptr = np.array([0, 10, 14, 50, 56])  # 6, 0, 32 and 2 starts (length - 3 - 2 + 1)
    spans = training_spans(indptr, 3, 2, validation_fraction=0.5)
    # series 0: validation starts 3..5, the first target at row 3 + 3 = 6; series 2: starts 30..45,
    # the first target at row 33; series 1 (no sample) and 3 (none held out) span all their rows
    np.testing.assert_array_equal(spans, [[0, 6], [10, 14], [14, 33], [50, 56]])
    train, validation = window_starts(indptr, 3, 2, validation_fraction=0.5)
    series = np.searchsorted(indptr, train, side="right") - 1
    assert np.all(train + 3 + 2 <= spans[series, 1])  # every training window's targets inside its span
    series = np.searchsorted(indptr, validation, side="right") - 1
    assert np.all(validation + 3 >= spans[series, 1])  # every validation target after it
    np.testing.assert_array_equal(training_spans(indptr, 3, 2), np.c_[indptr[:-1], indptr[1:]])


def test_batches_are_time_major_copies_with_the_future_hidden():
    # two series of 8 steps; columns: target (unique values), past covariate, flag, known covariate
    n = 16
    features = np.c_[100.0 + np.arange(n), 200.0 + np.arange(n), np.zeros(n), 300.0 + np.arange(n)]
    target = features[:, 0].copy()
    train, _ = window_starts(np.array([0, 8, 16]), 3, 2)
    windows = SeriesWindows(features, target, train, 3, 2, future_steps=2, past_columns=[0, 1], flag_column=2)
    assert np.shares_memory(windows.views, features) and windows.n_features == 4
    np.testing.assert_array_equal(train, [0, 1, 2, 3, 8, 9, 10, 11])
    X, y = windows.batch(np.array([3, 4]))  # starts 3 (last of series 0) and 8 (first of series 1)
    assert X.shape == (5, 2, 4) and X.flags.c_contiguous and not np.shares_memory(X, features)
    np.testing.assert_array_equal(y, [[106.0, 107.0], [111.0, 112.0]])
    np.testing.assert_array_equal(
        X[:, 0],
        [
            [103, 203, 0, 303],
            [104, 204, 0, 304],
            [105, 205, 0, 305],
            [0, 0, 1, 306],
            [0, 0, 1, 307],
        ],
    )
    np.testing.assert_array_equal(features[:, 2], 0.0)  # the buffer itself is untouched


def test_hide_future_and_its_requirements():
    X = np.ones((4, 1, 3))
    hide_future(X, 2, np.array([0]), 1)
    np.testing.assert_array_equal(X[:, 0], [[1, 1, 1], [1, 1, 1], [0, 1, 1], [0, 1, 1]])
    with pytest.raises(ValueError, match="flag_column"):
        SeriesWindows(np.zeros((10, 2)), np.zeros(10), [0], 3, 2, future_steps=2)
