"""Schedules: a factor in [0, 1] for each moment of training, ``t`` the fraction of the steps done.

A tabular MLP (RealMLP's recipe) multiplies its learning rate by
``coslog4(t)``, and its dropout rate and weight decay by ``flat_cos(t)``,
at every step. Each schedule is a plain function of ``t`` in [0, 1].

Examples
--------
>>> from skscratch.nn.schedules import SCHEDULES
>>> [round(SCHEDULES["flat_cos"](t), 3) for t in (0.0, 0.5, 0.75, 1.0)]
[1.0, 1.0, 0.5, 0.0]
>>> # four cycles, each twice as long: the first peaks at t = (sqrt(2) - 1) / 15 and ends at 1 / 15
>>> [round(SCHEDULES["coslog4"](t), 3) for t in (0.0, (2**0.5 - 1) / 15, 1 / 15, 1.0)]
[0.0, 1.0, 0.0, 0.0]
"""

import numpy as np


def constant(t):
    """1 throughout."""
    return 1.0


def cosine(t):
    """``(1 + cos(pi t)) / 2``: from 1 down to 0."""
    return 0.5 * (1.0 + float(np.cos(np.pi * t)))


def flat_cos(t):
    """1 for the first half, then a cosine from 1 down to 0: ``cosine(2 t - 1)``."""
    return 1.0 if t < 0.5 else cosine(2 * t - 1)


def coslog4(t):
    """``(1 - cos(2 pi log2(1 + 15 t))) / 2``: four cosine cycles from 0 to 1 and back, each twice as long.

    The cycles end at t = 1/15, 3/15, 7/15 and 1 (``log2(1 + 15 t)`` is 1, 2,
    3, 4): early short cycles, then a long last one that anneals to 0.
    """
    return 0.5 * (1.0 - float(np.cos(2 * np.pi * np.log2(1 + 15 * t))))


SCHEDULES = {"constant": constant, "cosine": cosine, "flat_cos": flat_cos, "coslog4": coslog4}
