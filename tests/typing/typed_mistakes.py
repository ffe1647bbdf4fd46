"""Mistakes the annotations must catch: mypy --strict and pyright report each line marked ``# E:``, and no other."""

import numpy as np
from numpy.typing import NDArray
from sklearn.datasets import load_iris

from skscratch import MLPScratchClassifier, MLPScratchRegressor

X, y = load_iris(return_X_y=True)
X64: NDArray[np.float64] = np.asarray(X, dtype=np.float64)
MLPScratchClassifier(solver="newton")  # E: not a solver
MLPScratchClassifier(activation="softplus")  # E: not an activation
MLPScratchRegressor(loss="huber")  # E: not a loss
MLPScratchClassifier(max_iter="10")  # E: not an int
MLPScratchClassifier(dropout="0.1")  # E: not a rate
text: str = MLPScratchClassifier().fit(X, y).score(X, y)  # E: a float
MLPScratchRegressor().partial_fit(X, y).predict(X64).no_such_attribute  # E: an ndarray
MLPScratchClassifier().fit(X, y, sample_weights=None)  # E: no such keyword

# fitted attributes and parameters misspelt, or taken for what they are not
clf = MLPScratchClassifier().fit(X, y)
print(clf.n_iters_)  # E: n_iter_
print(clf.coef_)  # E: coefs_ (coef_ is the linear models')
print(clf.loss_curve)  # E: loss_curve_
print(clf.hidden_layer_size)  # E: hidden_layer_sizes
print(MLPScratchRegressor().fit(X, y).classes_)  # E: a regressor has no classes
print(MLPScratchClassifier().loss)  # E: the regressor's parameter
iterations: str = clf.n_iter_  # E: an int
curve: list[str] = clf.loss_curve_  # E: a list of floats
clf.set_fit_request(x_val=True)  # E: X_val
MLPScratchRegressor().set_partial_fit_request(classes=True)  # E: the classifier's
