"""
The "neural network from scratch on MNIST" workflow, in 15 lines
================================================================

Load MNIST-style images, train while watching the accuracy epoch by epoch,
save the weights to a ``.npz`` file, and look at test images with their
predicted labels. The data here are Fashion-MNIST's IDX files (``apt-get
install dataset-fashion-mnist``); for Kaggle's MNIST CSV, use
``X, y = load_mnist_csv("train.csv", return_X_y=True)`` instead. Set
``SKSCRATCH_QUICK=1`` for a small, fast run.
"""

# %%
import os

import numpy as np

from skscratch import MLPScratchClassifier, save
from skscratch.datasets import fetch_fashion_mnist
from skscratch.plotting import PredictionGridDisplay

n = 5000 if os.environ.get("SKSCRATCH_QUICK") == "1" else None  # quick mode: fewer images
train, test = fetch_fashion_mnist(subset="train"), fetch_fashion_mnist(subset="test")
X, y, X_test, y_test = train.data[:n] / 255, train.target[:n], test.data[:n] / 255, test.target[:n]

clf = MLPScratchClassifier(hidden_layer_sizes=(128,), random_state=np.random.RandomState(0))
for epoch in range(1, 11):
    clf.partial_fit(X, y, classes=np.arange(10))  # one pass over the training images
    print(f"epoch {epoch:2d}  loss {clf.loss_:.4f}  held-out accuracy {clf.score(X_test, y_test):.4f}")

save(clf, "fashion_mnist_mlp.npz")  # coefs_0, intercepts_0, ...: np.load reads them
PredictionGridDisplay.from_estimator(clf, X_test, y_test, n_images=16, label_names=train.target_names)
