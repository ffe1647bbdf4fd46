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
    """Bit-for-bit equal weights, shapes and dtypes (of two fitted estimators).

    The messages say which array differs and how: pytest does not rewrite
    the asserts of a helper module.
    """
    arrays_a, arrays_b = weights(a), weights(b)
    assert len(arrays_a) == len(arrays_b), f"{len(arrays_a)} weight arrays against {len(arrays_b)}"
    for i, (wa, wb) in enumerate(zip(arrays_a, arrays_b, strict=True)):
        name = f"coefs_[{i}]" if i < len(a.coefs_) else f"intercepts_[{i - len(a.coefs_)}]"
        assert wa.dtype == wb.dtype and wa.shape == wb.shape, (
            f"{name}: {wa.dtype} {wa.shape} against {wb.dtype} {wb.shape}")
        assert np.array_equal(wa, wb), f"{name} differs: {np.sum(wa != wb)} of {wa.size} entries"
