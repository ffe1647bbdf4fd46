"""A small program written against skscratch's type annotations; mypy --strict and pyright check it in the tests."""

from typing import Any

import numpy as np
import sklearn
from numpy.typing import NDArray
from sklearn.datasets import load_iris

from skscratch import MLPScratchClassifier, MLPScratchRegressor

X, y = load_iris(return_X_y=True)
clf: MLPScratchClassifier = MLPScratchClassifier(hidden_layer_sizes=(8,), solver="adamw", dropout=[0.1],
                                                 class_weight="balanced", dtype=np.float32, max_iter=5)
clf = clf.fit(X, y, sample_weight=np.ones(len(y)))  # fit returns the estimator itself, typed as such
proba: NDArray[np.floating] = clf.predict_proba(X)
accuracy: float = clf.score(X, y)
print(proba.shape, accuracy, clf.history_["train_loss"].iloc[-1])
reg = MLPScratchRegressor(loss="poisson", learning_rate="cosine", warmup_iter=2).partial_fit(X, y)
print(reg.predict(X[:2]))

# every fitted attribute, with its type (NumPy in: NumPy out)
X32: NDArray[np.float32] = np.asarray(X, dtype=np.float32)
labels: NDArray[Any] = clf.predict(X32)
log_proba: NDArray[np.floating] = clf.predict_log_proba(X32)
predictions: NDArray[np.floating] = reg.predict(X32)
weights: list[Any] = clf.coefs_ + clf.intercepts_  # ndarrays, or another array library's (array API)
classes: NDArray[Any] = clf.classes_
loss: float = clf.loss_ + clf.loss_curve_[-1]
epochs: int = clf.n_iter_ + clf.t_ + clf.n_layers_ + clf.n_outputs_ + clf.n_features_in_
output: str = clf.out_activation_ + reg.out_activation_
best: float = clf.best_loss_  # float, or None with early stopping
scores: list[float] = MLPScratchClassifier(early_stopping=True, max_iter=20).fit(X, y).validation_scores_
best_score: float = MLPScratchClassifier(early_stopping=True, max_iter=20).fit(X, y).best_validation_score_
if clf.validation_scores_ is None and clf.best_validation_score_ is None:  # without early stopping
    print("no validation set")
print(weights[0].shape, classes, loss, epochs, output, best, scores, best_score, labels, log_proba, predictions)

# parameters, and scikit-learn's methods
solver: str = clf.solver
with sklearn.config_context(enable_metadata_routing=True):
    clf.set_params(max_iter=10).set_fit_request(X_val=True, y_val=True).set_score_request(sample_weight=True)
    reg.set_partial_fit_request(sample_weight=True)
    clf.set_partial_fit_request(classes=True)
params: dict[str, Any] = clf.get_params()
clf = clf.set_callbacks()  # scikit-learn >= 1.9
print(solver, params["alpha"], reg.loss)
