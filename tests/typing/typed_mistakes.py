"""Mistakes the annotations must catch: mypy reports each line marked ``# E:``, and no other."""

from sklearn.datasets import load_iris

from skscratch import MLPScratchClassifier, MLPScratchRegressor

X, y = load_iris(return_X_y=True)
MLPScratchClassifier(solver="newton")  # E: not a solver
MLPScratchClassifier(activation="softplus")  # E: not an activation
MLPScratchRegressor(loss="huber")  # E: not a loss
MLPScratchClassifier(max_iter="10")  # E: not an int
MLPScratchClassifier(dropout="0.1")  # E: not a rate
text: str = MLPScratchClassifier().fit(X, y).score(X, y)  # E: a float
MLPScratchRegressor().partial_fit(X, y).predict(X).no_such_attribute  # E: an ndarray
MLPScratchClassifier().fit(X, y, sample_weights=None)  # E: no such keyword
