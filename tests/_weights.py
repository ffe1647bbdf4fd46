"""Weight comparisons the tests share.

A module of its own, not conftest.py: Dask's worker processes import the
tests' helpers by module name, and the repository's root has a conftest.py
too.
"""

import numpy as np


def weights(clf):
    """Every weight matrix and bias vector of a fitted network, in order."""
    return [*clf.coefs_, *clf.intercepts_]


def assert_same_weights(a, b):
    """Bit-for-bit equal weights, shapes and dtypes."""
    assert len(weights(a)) == len(weights(b))
    for wa, wb in zip(weights(a), weights(b), strict=True):
        assert wa.dtype == wb.dtype and wa.shape == wb.shape
        assert np.array_equal(wa, wb)
