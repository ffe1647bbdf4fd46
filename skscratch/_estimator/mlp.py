"""The two public estimators, where skscratch 0.1.0 kept them (``skscratch._mlp``): pickles name this module.

Everything they share (parameters, the way through ``fit``, pickling) is in
``base.BaseMLPScratch``, the training loop in ``training`` and ``lbfgs``, the
network itself in :mod:`skscratch.nn`. What differs is in ``classifier`` and
``regressor``.
"""

from .base import SkscratchVersionWarning  # noqa: F401 (the warning's old home)
from .classifier import MLPScratchClassifier
from .regressor import MLPScratchRegressor

__all__ = ["MLPScratchClassifier", "MLPScratchRegressor"]
