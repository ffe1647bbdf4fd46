"""
Digits with a Pipeline and a grid search over hidden layer sizes
================================================================

Scales the 8x8 digits with StandardScaler, searches three network shapes
with GridSearchCV, reports the held-out accuracy of the best one, and plots
each shape's cross-validated accuracy next to the best network's learning
curve. Set SKSCRATCH_QUICK=1 for a faster, smaller run.
"""

# %%
import os
import warnings

import matplotlib.pyplot as plt

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skscratch import MLPScratchClassifier
from skscratch.plotting import TrainingHistoryDisplay

quick = os.environ.get("SKSCRATCH_QUICK") == "1"
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)

# %%
pipe = Pipeline([
    ("scale", StandardScaler()),
    ("mlp", MLPScratchClassifier(max_iter=50 if quick else 300, random_state=0)),
])  # fmt: skip
grid = {"mlp__hidden_layer_sizes": [(32,), (64,)] if quick else [(32,), (64,), (64, 32)]}
search = GridSearchCV(pipe, grid, cv=3)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X_train, y_train)

# %%
for params, score in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"]):
    print(f"{params['mlp__hidden_layer_sizes']!s:>10}  cv accuracy {score:.4f}")
print(f"best: {search.best_params_['mlp__hidden_layer_sizes']}, "
      f"held-out accuracy {search.score(X_test, y_test):.4f}")

# %%
# Each shape's mean accuracy over the three folds, with its spread, and the
# loss per epoch of the best pipeline, refitted on the whole training set.
results = search.cv_results_
shapes = [str(params["mlp__hidden_layer_sizes"]) for params in results["params"]]
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
left.bar(shapes, results["mean_test_score"], yerr=results["std_test_score"], capsize=6,
         color=["tab:orange" if rank == 1 else "tab:blue" for rank in results["rank_test_score"]])
left.set(title="GridSearchCV: 3-fold accuracy per shape (best in orange)", xlabel="hidden_layer_sizes",
         ylabel="mean cv accuracy", ylim=(min(results["mean_test_score"]) - 0.05, 1))
TrainingHistoryDisplay.from_estimator(search.best_estimator_, ax=right)
right.set_title(f"best {search.best_params_['mlp__hidden_layer_sizes']}: loss per epoch")
fig.tight_layout()
plt.show()
