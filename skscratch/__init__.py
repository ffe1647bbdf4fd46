"""skscratch: a multi-layer perceptron written from scratch in NumPy, as a scikit-learn estimator.

``MLPScratchClassifier`` and ``MLPScratchRegressor`` are drop-in replacements
for :class:`sklearn.neural_network.MLPClassifier` and ``MLPRegressor``. Its backpropagation lives in
``skscratch._network`` and reads on one screen.
"""

from ._mlp import MLPScratchClassifier, MLPScratchRegressor
from ._persistence import load, save
from ._version import __version__

__all__ = ["MLPScratchClassifier", "MLPScratchRegressor", "load", "save", "__version__"]
