"""Writes the files in this folder, with the release that made them (skscratch 0.1.0, commit 2000cd5).

Kept to show how they were made; the tests only read them. Run from the repository root:
``python tests/data/release_0_1_0/make_files.py``.
"""

import pickle
from pathlib import Path

import joblib
import numpy as np
import skops.io
from sklearn.datasets import load_diabetes, load_iris
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skscratch
from skscratch import MLPScratchClassifier, MLPScratchRegressor

here = Path(__file__).parent
X, y = load_iris(return_X_y=True)
labels = np.array(["setosa", "versicolor", "virginica"])[y]
classifier = MLPScratchClassifier(hidden_layer_sizes=(8, 4), solver="adamw", dropout=0.1, max_iter=30,
                                  early_stopping=True, random_state=0).fit(X, labels)
Xd, yd = load_diabetes(return_X_y=True)
regressor = make_pipeline(StandardScaler(), MLPScratchRegressor(hidden_layer_sizes=(6,), activation="gelu",
                                                                max_iter=40, random_state=0)).fit(Xd, yd)
lbfgs = MLPScratchClassifier(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=50, random_state=0).fit(X, y)
models = {"classifier": classifier, "regressor": regressor, "lbfgs": lbfgs}
for name, model in models.items():
    with open(here / f"{name}.pkl", "wb") as f:
        pickle.dump(model, f, protocol=4)
    joblib.dump(model, here / f"{name}.joblib")
    skops.io.dump(model, here / f"{name}.skops")
    skscratch.save(model, here / f"{name}.npz")
    predictions = model.predict_proba(X) if name != "regressor" else model.predict(Xd)
    np.save(here / f"{name}_predictions.npy", predictions)
