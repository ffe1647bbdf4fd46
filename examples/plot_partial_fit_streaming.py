"""
Learning from a stream with partial_fit
=======================================

When data arrive in chunks, or do not fit in memory, ``partial_fit`` trains
one pass over each chunk as it comes. The held-out accuracy climbs chunk by
chunk, and the weights, the optimizer's moments and the step counters carry
over between calls, so the result equals one ``fit`` over the same batches.
Set ``SKSCRATCH_QUICK=1`` for a small, fast run.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skscratch import MLPScratchClassifier

quick = os.environ.get("SKSCRATCH_QUICK") == "1"
X, y = load_digits(return_X_y=True)
X_stream, X_test, y_stream, y_test = train_test_split(X / 16, y, test_size=0.25, stratify=y, random_state=0)

# %%
# The stream: chunks of 100 images, seen three times over (three "days").
clf = MLPScratchClassifier(hidden_layer_sizes=(64,), learning_rate_init=0.01, random_state=0)
accuracies = []
for day in range(2 if quick else 3):
    for start in range(0, len(X_stream), 100):
        clf.partial_fit(X_stream[start:start + 100], y_stream[start:start + 100], classes=np.arange(10))
        accuracies.append(clf.score(X_test, y_test))
print(f"{len(accuracies)} chunks, held-out accuracy {accuracies[-1]:.4f}")

# %%
fig, ax = plt.subplots()
ax.plot(np.arange(1, len(accuracies) + 1), accuracies)
ax.set_xlabel("chunks of 100 images seen")
ax.set_ylabel("held-out accuracy")
ax.set_title("partial_fit on a stream of digits")
plt.show()
