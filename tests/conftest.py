"""Shared fixtures: scikit-learn's bundled datasets (the weight comparisons are in _weights.py)."""

import os

# scikit-learn's array API dispatch needs SciPy's own array API support, which
# is read when SciPy is first imported: before anything below imports it
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import pytest  # noqa: E402
from sklearn.datasets import load_digits, load_iris  # noqa: E402

# programs for the type checker (test_typing.py), not modules to import: one holds deliberate mistakes;
# and the data's scripts (--doctest-modules would import them: release_0_1_0/make_files.py would write
# its files again, with this checkout, under the tests that read them as the release wrote them)
collect_ignore_glob = ["typing/*", "data/*"]


@pytest.fixture(scope="session")
def iris():
    return load_iris(return_X_y=True)


@pytest.fixture(scope="session")
def digits01():
    """The 8x8 digits with pixels scaled to [0, 1]."""
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y
