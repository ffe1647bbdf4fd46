"""One configuration of ``skscratch train``, trained as the command trains it, and scikit-learn's default.

For ``bench_cli_defaults.py``: a setting (a dict: hidden, epochs, lr, solver,
alpha, dropout, batch_size, schedule, warmup, restore) is trained through
the CLI's own hold-out, batch size rule and ``fit_epoch``
(:func:`train_cli`), read off at any epoch count (:func:`read_off`), and
compared with ``MLPClassifier()`` (:func:`sklearn_default`).
"""

import math
import os
import time
import warnings

import numpy as np

VALIDATION_FRACTION = 0.1  # skscratch train's --validation-fraction default
# skscratch train's defaults before issue 18 (the JSON calls them "current")
CURRENT = {"hidden": (128,), "epochs": 20, "lr": 1e-3, "solver": "adam", "alpha": 1e-4, "dropout": 0.0,
           "batch_size": 128, "schedule": "constant", "warmup": 0, "restore": False}


def label(setting):
    """A configuration in one line: '256 · 30 ep · adamw wd 0.05 · lr 0.002 · cosine (warm-up 3) · ...'."""
    s = setting
    optimizer = f"adamw wd {s['alpha']:g}" if s["solver"] == "adamw" else f"{s['solver']} α {s['alpha']:g}"
    schedule = s["schedule"] + (f" (warm-up {s['warmup']})" if s["warmup"] else "")
    return (f"{'-'.join(map(str, s['hidden']))} · {s['epochs']} ep · {optimizer} · lr {s['lr']:g} · {schedule}"
            f" · dropout {s['dropout']:g} · batch {s['batch_size']}" + (" · restore best" if s["restore"] else ""))


def cli_options(setting):
    """The ``skscratch train`` options that give ``setting``; the ones it lacks today marked (new)."""
    s, options = setting, []
    options += [f"--hidden {','.join(map(str, s['hidden']))}", f"--epochs {s['epochs']}",
                f"--solver {s['solver']}", f"--learning-rate {s['lr']:g}", f"--alpha {s['alpha']:g}",
                f"--dropout {s['dropout']:g}", f"--batch-size {s['batch_size']}"]
    if s["schedule"] != "constant":
        options.append(f"--schedule {s['schedule']} (new)")
    if s["warmup"]:
        options.append(f"--warmup-epochs {s['warmup']} (new)")
    if s["restore"]:
        options.append("--restore-best (new)")
    return " ".join(options)


def warmup_epochs(epochs):
    """A warm-up, when there is one: a tenth of the epochs, rounded up."""
    return math.ceil(epochs / 10)


def train_cli(X, y, spec, seed, scored=None):
    """Train ``spec`` for ``spec['run_epochs']`` epochs exactly as ``skscratch train --seed seed`` does.

    ``X`` are the CLI's pixels (float32 / 255). ``scored`` is an optional
    (X, y) scored after each epoch off the clock: the search's held-out fold,
    or the test set. Returns the per-epoch records: training loss, the CLI's
    validation accuracy, the accuracy on ``scored``, and the seconds the CLI's
    epoch loop has taken so far (training and the validation line).
    """
    from skscratch import MLPScratchClassifier
    from skscratch.cli._train import DONE, _batch_size, _hold_out, fit_epoch, last_loss

    X_train, y_train, validation = _hold_out(X, y, VALIDATION_FRACTION, seed)
    classes = np.unique(y)
    schedule = {}
    if spec["schedule"] != "constant":
        schedule = {"learning_rate": "cosine", "max_iter": spec["run_epochs"], "warmup_iter": spec["warmup"]}
    model = MLPScratchClassifier(
        hidden_layer_sizes=tuple(spec["hidden"]), batch_size=_batch_size(spec["batch_size"], len(X_train)),
        learning_rate_init=spec["lr"], solver=spec["solver"], activation="relu", alpha=spec["alpha"],
        dropout=spec["dropout"], dtype=np.float32, random_state=np.random.RandomState(seed), **schedule)
    epochs, seconds, outcome = [], 0.0, DONE
    for epoch in range(1, spec["run_epochs"] + 1):
        start = time.perf_counter()
        outcome = fit_epoch(model, X_train, y_train, classes=classes)
        if outcome != DONE:
            break
        val_acc = model.score(*validation)
        seconds += time.perf_counter() - start
        epochs.append({"epoch": epoch, "loss": last_loss(model), "val_acc": val_acc, "seconds": seconds,
                       "scored_acc": None if scored is None else model.score(*scored)})
    return {"n_train": len(X_train), "n_val": len(validation[0]), "outcome": outcome, "epochs": epochs}


def read_off(record, epochs, restore):
    """(accuracy on the scored set, seconds, epoch kept) of the CLI run stopped after ``epochs`` epochs.

    With ``restore``, the weights kept are those of the first epoch with the
    best validation accuracy; without, the last epoch's. A run that diverged
    earlier keeps its last good epoch, as the CLI does.
    """
    rows = record["epochs"][:epochs]
    if not rows:
        return math.nan, math.nan, 0
    kept = max(rows, key=lambda row: row["val_acc"]) if restore else rows[-1]  # max: the first of the best
    return kept["scored_acc"], rows[-1]["seconds"], kept["epoch"]


def spec_of(setting, max_epochs):
    """The training run a setting is read from: a constant rate runs ``max_epochs`` and serves every count."""
    spec = {key: setting[key] for key in ("hidden", "lr", "solver", "alpha", "dropout", "batch_size", "schedule",
                                          "warmup")}
    spec["hidden"] = list(spec["hidden"])
    constant = setting["schedule"] == "constant"
    spec["run_epochs"] = max(max_epochs, setting["epochs"]) if constant else setting["epochs"]
    return spec


def setting_of(base, warm_up=None, **changes):
    """``base`` with ``changes``; ``warm_up`` (True, False, None: as ``base``) ramps up over a tenth of the epochs.

    A ``warmup`` among the changes is taken as it is.
    """
    setting = {**base, **changes}
    setting["hidden"] = tuple(setting["hidden"])
    if "warmup" not in changes:
        warm_up = bool(base["warmup"]) if warm_up is None else warm_up
        setting["warmup"] = warmup_epochs(setting["epochs"]) if warm_up else 0
    return setting


def cost(setting):
    """The work of training, a count that no busy machine blurs: epochs x weights (multiply-adds per image)."""
    units = [784, *setting["hidden"], 10]
    return setting["epochs"] * sum(a * b for a, b in zip(units, units[1:]))


def rank(entry):
    """Feasible first, then the higher mean accuracy, then the less work (not the seconds: they are noisy here)."""
    return (not entry["feasible"], -round(entry["mean"], 4), cost(entry["setting"]))


def sklearn_default(X, y, X_test, y_test, seed):
    """``MLPClassifier()`` with every default but the seed, fitted on all of ``X``."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(random_state=seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return {"test_acc": model.score(X_test, y_test), "seconds": seconds, "epochs": model.n_iter_,
            "n_train": len(X), "converged": converged}


def ours(X, y, X_test, y_test, setting, seed):
    """The CLI's training of ``setting`` at ``--seed seed``, scored on the test set."""
    record = train_cli(X, y, spec_of(setting, setting["epochs"]), seed, scored=(X_test, y_test))
    acc, seconds, kept = read_off(record, setting["epochs"], setting["restore"])
    return {"test_acc": acc, "seconds": seconds, "epochs": len(record["epochs"]), "epoch_kept": kept,
            "n_train": record["n_train"], "outcome": record["outcome"],
            "val_acc": [row["val_acc"] for row in record["epochs"]]}


def load_average():
    """The 1-minute load average (other processes share these cores), or None."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None
