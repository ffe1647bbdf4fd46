"""Time to accuracy: how long each estimator trains to reach 88 % on Fashion-MNIST.

Both estimators with their default parameters (one hidden layer of 100 relu
units, adam, lr 1e-3, batch 200, alpha 1e-4), trained one epoch per
``partial_fit`` call on the 60,000 training images (pixels / 255), evaluated
on the 10,000 test images after every epoch. The clock counts training only,
not the evaluations. ``random_state`` is the same ``RandomState(0)`` for
both, so they draw the same weights and shuffles and need the same number of
epochs: the ratio measures speed alone.

Run for float64 input (``X / 255.0``, the usual code) and float32 input.
Writes ``results/bench_time_to_accuracy.json`` and ``.md``.

Usage::

    python benchmarks/bench_time_to_accuracy.py [--target 0.88] [--max-epochs 40]
"""

import argparse
import time
import warnings

import numpy as np
from _data import add_data_dir_argument, load_fashion_split
from _machine import machine_info
from _report import add_out_dir_argument, command_line, publish


def time_to_accuracy(Estimator, X, y, X_test, y_test, target, max_epochs):
    """Training seconds and epochs until test accuracy >= target (None if never)."""
    clf = Estimator(random_state=np.random.RandomState(0))
    seconds, history = 0.0, []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in range(1, max_epochs + 1):
            start = time.perf_counter()
            clf.partial_fit(X, y, classes=np.arange(10))
            seconds += time.perf_counter() - start
            accuracy = clf.score(X_test, y_test)
            history.append({"epoch": epoch, "train_seconds": seconds, "test_accuracy": accuracy})
            if accuracy >= target:
                return {"seconds": seconds, "epochs": epoch, "history": history}
    return {"seconds": None, "epochs": None, "history": history}


def main(argv=None):
    """Both estimators on float64 and float32 input, then the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=0.88)
    parser.add_argument("--max-epochs", type=int, default=40)
    add_data_dir_argument(parser)
    add_out_dir_argument(parser)
    args = parser.parse_args(argv)

    from sklearn.neural_network import MLPClassifier

    from skscratch import MLPScratchClassifier

    report = {"target": args.target, "runs": {}, "machine": machine_info(),
              "command": command_line()}
    lines = [f"# Time to {args.target:.0%} Fashion-MNIST test accuracy, default parameters", "",
             "| input | skscratch s (epochs) | sklearn s (epochs) | skscratch / sklearn |",
             "|---|---:|---:|---:|"]
    for dtype in ("float64", "float32"):
        X, y = load_fashion_split(args.data_dir, "train", 60_000, dtype)
        X_test, y_test = load_fashion_split(args.data_dir, "test", 10_000, dtype)
        runs = {name: time_to_accuracy(E, X, y, X_test, y_test, args.target, args.max_epochs)
                for name, E in (("skscratch", MLPScratchClassifier), ("sklearn", MLPClassifier))}
        ours, theirs = runs["skscratch"]["seconds"], runs["sklearn"]["seconds"]
        ratio = ours / theirs if ours and theirs else None
        report["runs"][dtype] = {**runs, "ratio": ratio}
        cell = lambda r: f"{r['seconds']:.2f} ({r['epochs']})" if r["seconds"] else "not reached"  # noqa: E731
        lines.append(f"| {dtype} | {cell(runs['skscratch'])} | {cell(runs['sklearn'])} | "
                     + (f"{ratio:.2f}" if ratio else "n/a") + " |")
        print(lines[-1], flush=True)
    lines += ["", "Target: skscratch / sklearn ≤ 0.5.", ""]
    publish(report, lines, args.out_dir, "bench_time_to_accuracy")


if __name__ == "__main__":
    main()
