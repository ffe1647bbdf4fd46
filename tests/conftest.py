"""Shared fixtures: scikit-learn's bundled datasets, and weight comparisons."""

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris

# programs for the type checker (test_typing.py), not modules to import: one holds deliberate mistakes
collect_ignore_glob = ["typing/*"]


@pytest.fixture(scope="session")
def iris():
    return load_iris(return_X_y=True)


@pytest.fixture(scope="session")
def digits01():
    """The 8x8 digits with pixels scaled to [0, 1]."""
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def weights(clf):
    """Every weight matrix and bias vector of a fitted network, in order."""
    return [*clf.coefs_, *clf.intercepts_]


def assert_same_weights(a, b):
    """Bit-for-bit equal weights, shapes and dtypes."""
    assert len(weights(a)) == len(weights(b))
    for wa, wb in zip(weights(a), weights(b), strict=True):
        assert wa.dtype == wb.dtype and wa.shape == wb.shape
        assert np.array_equal(wa, wb)
