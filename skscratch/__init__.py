"""skscratch: a multi-layer perceptron written from scratch in NumPy, as a scikit-learn estimator.

``MLPScratchClassifier`` is a drop-in replacement for
:class:`sklearn.neural_network.MLPClassifier`. Its backpropagation lives in
``skscratch._network`` and reads on one screen.
"""

from ._mlp import MLPScratchClassifier

__version__ = "0.1.0"

__all__ = ["MLPScratchClassifier", "__version__"]
