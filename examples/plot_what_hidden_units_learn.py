"""
What the hidden units learn
===========================

Each hidden unit of the first layer computes a weighted sum of the pixels.
Drawn at the shape of the image, its weights show the pattern the unit
responds to: red pixels excite it, blue ones inhibit it. With weight decay
the patterns become smooth strokes and blobs instead of noise.
Set ``SKSCRATCH_QUICK=1`` for a small, fast run.
"""

# %%
import os

import matplotlib.pyplot as plt

from skscratch import MLPScratchClassifier
from skscratch.datasets import fetch_fashion_mnist
from skscratch.plotting import HiddenUnitsDisplay

quick = os.environ.get("SKSCRATCH_QUICK") == "1"
n = 6000 if quick else None
train, test = fetch_fashion_mnist(subset="train"), fetch_fashion_mnist(subset="test")
X, y, X_test, y_test = train.data[:n] / 255, train.target[:n], test.data[:n] / 255, test.target[:n]

# %%
# A single hidden layer of 36 units, so that every unit fits in the picture.
clf = MLPScratchClassifier(hidden_layer_sizes=(36,), solver="adamw", alpha=0.05,
                           max_iter=5 if quick else 30, learning_rate="cosine", random_state=0)
clf.fit(X, y)
print(f"held-out accuracy {clf.score(X_test, y_test):.4f}")

# %%
display = HiddenUnitsDisplay.from_estimator(clf, n_units=36)
display.figure_.suptitle("First-layer weights of a 784-36-10 network on Fashion-MNIST")
plt.show()
