"""A small program written against skscratch's type annotations; mypy checks it in the tests."""

import numpy as np
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
