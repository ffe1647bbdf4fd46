"""Inverted dropout, with masks hashed from the data rather than drawn from a stream.

A hidden unit is dropped (its output set to 0) with probability ``rate``;
the kept units are scaled by ``1 / (1 - rate)`` so that the layer's expected
output is unchanged ("inverted dropout"), and prediction needs no mask at all.

Each unit's draw is a hash of (the sample's values, the unit, the layer, the
training step, a seed from ``random_state``), not the next number of a
random stream. So a sample seen twice in one step gets the same mask twice,
and a sample of weight 2 trains exactly as two copies of it:
``sample_weight`` keeps its meaning under dropout.

This module imports only NumPy.
"""

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(x):
    """SplitMix64's finaliser: a bijective scramble of 64-bit integers (wraps mod 2^64)."""
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _row_keys(X, seed):
    """A 64-bit key per row, from its exact values: equal rows get equal keys."""
    rows = X.toarray() if hasattr(X, "toarray") else np.ascontiguousarray(X)
    bits = rows.view(np.uint32 if rows.dtype == np.float32 else np.uint64).astype(np.uint64)
    columns = _splitmix64(np.arange(rows.shape[1], dtype=np.uint64) + np.uint64(seed))
    with np.errstate(over="ignore"):
        return _splitmix64((bits * columns).sum(axis=1, dtype=np.uint64))  # sums wrap mod 2^64


def _hash_uniform(keys, units):
    """Uniform numbers in [0, 1), one per (key, unit), from the hashed pair."""
    with np.errstate(over="ignore"):
        hashed = _splitmix64(keys ^ _splitmix64(units))
    return (hashed >> np.uint64(11)).astype(np.float64) * 2.0**-53


def dropout_rates(dropout, n_hidden):
    """The dropout rate of each hidden layer, from one rate for all or one per layer.

    Raises a ValueError unless there is one rate in [0, 1) per hidden layer.
    """
    rates = [float(dropout)] * n_hidden if np.ndim(dropout) == 0 else [float(r) for r in dropout]
    if len(rates) != n_hidden or not all(0 <= r < 1 for r in rates):
        raise ValueError(
            f"dropout must be a rate in [0, 1) or one per hidden layer ({n_hidden}), got {dropout!r}."
        )
    return rates


def dropout_masks(X_batch, rates, units, *, step, seed, dtype, keys=None):
    """Inverted-dropout masks for a batch: per hidden layer, None or an array of 0 and 1 / (1 - rate).

    Parameters
    ----------
    X_batch : ndarray or sparse matrix of shape (n_samples, n_features)
        The batch's input rows, whose values key the draws.
    rates : list of float
        The dropout rate of each hidden layer.
    units : list of int
        The number of units of each hidden layer.
    step, seed : int
        The training step (minibatch count) and a seed from ``random_state``.
    dtype : numpy dtype
        The masks' dtype, the network's.
    keys : ndarray of shape (n_samples,) of uint64, or None
        The rows' keys, if already hashed (``_row_keys(X, seed)[rows]``: a
        row's key depends on its values and the seed alone). Training on
        another array library hashes its rows once, on the host.

    Returns
    -------
    masks : list of (ndarray of shape (n_samples, units[l]) or None), or None without dropout
    """
    if not any(rates):
        return None
    if keys is None:
        keys = _row_keys(X_batch, seed)
    masks = []
    for layer, (rate, n_units) in enumerate(zip(rates, units, strict=True)):
        if rate == 0:
            masks.append(None)
            continue
        salt = np.uint64((step * 1_000_003 + layer * 7919 + 1) % 2**64)
        uniform = _hash_uniform(keys[:, None] ^ salt, np.arange(n_units, dtype=np.uint64))
        masks.append((uniform >= rate).astype(dtype) * dtype.type(1 / (1 - rate)))
    return masks
