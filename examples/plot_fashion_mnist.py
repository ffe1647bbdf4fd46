"""
Fashion-MNIST: learning curves and the confusion matrix
=======================================================

A 784-256-128-10 network on Zalando's Fashion-MNIST, with 10% of the training
images held out by ``early_stopping`` to watch the validation accuracy and
keep the best epoch. The confusion matrix shows which clothes it mixes up:
shirts with T-shirts, pullovers and coats. For the recipe that passes 90.5%,
see ``plot_fashion_mnist_recipe.py``. Set ``SKSCRATCH_QUICK=1`` for a small,
fast run.
"""

# %%
import os

import matplotlib.pyplot as plt

from skscratch import MLPScratchClassifier
from skscratch.datasets import fetch_fashion_mnist
from skscratch.plotting import ConfusionMatrixDisplay, TrainingHistoryDisplay

quick = os.environ.get("SKSCRATCH_QUICK") == "1"
n = 6000 if quick else None
train, test = fetch_fashion_mnist(subset="train"), fetch_fashion_mnist(subset="test")
X, y, X_test, y_test = train.data[:n] / 255, train.target[:n], test.data[:n] / 255, test.target[:n]

# %%
clf = MLPScratchClassifier(hidden_layer_sizes=(64,) if quick else (256, 128), early_stopping=True,
                           max_iter=5 if quick else 40, random_state=0)
clf.fit(X, y)
print(f"{clf.n_iter_} epochs, best validation accuracy {clf.best_validation_score_:.4f}, "
      f"held-out accuracy {clf.score(X_test, y_test):.4f}")

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
TrainingHistoryDisplay.from_estimator(clf, ax=left)
ConfusionMatrixDisplay.from_estimator(clf, X_test, y_test, display_labels=train.target_names,
                                      xticks_rotation=45, colorbar=False, ax=right)
plt.show()
