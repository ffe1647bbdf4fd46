"""GridSearchCV over skscratch on a Dask cluster, against the same search run locally.

One grid search (``MLPScratchClassifier``, 4 candidates x 3 folds on 10,000
Fashion-MNIST training images; the bundled digits without the IDX files or
with ``--quick``), run four ways in this process, in this order:

- ``local n_jobs=1``: one fit after the other, BLAS with its default threads
  (one per core);
- ``local n_jobs=1, 1 BLAS thread``: the same under
  ``threadpoolctl.threadpool_limits(1)``, the BLAS setting of the parallel
  runs' workers;
- ``local n_jobs=-1 (loky)``: joblib's default backend, one worker process
  per core, each with one BLAS thread;
- ``dask n_jobs=-1``: under ``joblib.parallel_config(backend="dask")``, on a
  ``distributed.LocalCluster`` of two worker processes of one thread on
  127.0.0.1, whose nannies give them one BLAS thread. Starting the cluster
  is timed apart from the search.

Reports the wall time of each, and whether each gave the same
``cv_results_`` scores and ``best_params_`` as the local run with the same
BLAS threads (they should, to the last bit: the thread count of a matrix
product changes its rounding, hence the second run).
Writes ``results/bench_dask_search.json`` and ``.md``.

Usage::

    python benchmarks/bench_dask_search.py [--quick] [--out-dir DIR]
"""

import argparse
import time
import warnings

import joblib
import numpy as np
from _data import add_data_dir_argument, check_fashion_mnist, load_digits_split, load_fashion_split
from _machine import machine_info
from _report import add_out_dir_argument, command_line, publish
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from threadpoolctl import threadpool_limits

from skscratch import MLPScratchClassifier

GRID = {"hidden_layer_sizes": [(64,), (128,)], "alpha": [1e-4, 1e-2]}
ONE_THREAD = "local n_jobs=1, 1 BLAS thread"


def load(data_dir, quick):
    """The search's data: 10,000 Fashion-MNIST images, or the digits."""
    if not quick:
        try:
            check_fashion_mnist(data_dir)
            X, y = load_fashion_split(data_dir, "train", 10_000, np.float32)
            return "fashion-mnist (10,000 training images)", X, y
        except (OSError, ValueError) as exc:
            print(f"Fashion-MNIST not found ({exc}); searching on the digits")
    X, y, _, _ = load_digits_split(None, None, np.float32)
    return f"digits ({len(X)} images)", X, y


def timed_search(X, y, max_iter, n_jobs):
    """Wall seconds of the grid search, and the fitted search."""
    search = GridSearchCV(MLPScratchClassifier(max_iter=max_iter, random_state=0), GRID, cv=3, n_jobs=n_jobs)
    started = time.perf_counter()
    search.fit(X, y)
    return time.perf_counter() - started, search


def summary(search):
    return {"mean_test_score": search.cv_results_["mean_test_score"].tolist(),
            "params": [str(p) for p in search.cv_results_["params"]], "best_params": str(search.best_params_)}


def main(argv=None):
    """The four searches, then whether their results agree, then the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the digits, 10 epochs")
    add_data_dir_argument(parser)
    add_out_dir_argument(parser)
    args = parser.parse_args(argv)
    from distributed import Client, LocalCluster

    data, X, y = load(args.data_dir, args.quick)
    max_iter = 10 if args.quick else 20
    warnings.simplefilter("ignore", ConvergenceWarning)
    runs = {}
    # the local runs first: a LocalCluster leaves OMP_NUM_THREADS=1 and the like in this
    # process's environment (distributed's pre-spawn-environ), which loky's workers would inherit
    runs["local n_jobs=1"] = timed_search(X, y, max_iter, n_jobs=1)
    with threadpool_limits(1, user_api="blas"):
        runs[ONE_THREAD] = timed_search(X, y, max_iter, n_jobs=1)
    runs["local n_jobs=-1 (loky)"] = timed_search(X, y, max_iter, n_jobs=-1)
    started = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster):
        cluster_start = time.perf_counter() - started
        with joblib.parallel_config(backend="dask"):
            runs["dask n_jobs=-1 (LocalCluster 2x1)"] = timed_search(X, y, max_iter, n_jobs=-1)

    summaries = {name: summary(search) for name, (_, search) in runs.items()}
    reference, default = summaries[ONE_THREAD], summaries["local n_jobs=1"]
    results = {name: {"seconds": runs[name][0], **run,
                      "same_as_local_one_blas_thread": run == reference,
                      "max_score_difference_to_local": float(np.max(np.abs(
                          np.subtract(run["mean_test_score"], default["mean_test_score"]))))}
               for name, run in summaries.items()}
    name = "bench_dask_search" + ("_quick" if args.quick else "")
    report = {"data": data, "grid": {k: [str(v) for v in vs] for k, vs in GRID.items()}, "cv": 3,
              "max_iter": max_iter, "results": results, "dask_cluster_start_seconds": cluster_start,
              "machine": machine_info(), "command": command_line()}
    local = results["local n_jobs=1"]["seconds"]
    lines = [
        "# GridSearchCV on a Dask LocalCluster against the local runs" + (" (quick mode)" if args.quick else ""),
        "",
        f"{len(reference['params'])} candidates x 3 folds, {max_iter} epochs each, on {data}; "
        f"{machine_info()['cores']} cores.",
        "",
        "| run | wall s | vs local n_jobs=1 | same results as local with 1 BLAS thread "
        "| max difference of mean_test_score to local n_jobs=1 |",
        "|---|---:|---:|---|---:|",
    ]
    for run, result in results.items():
        lines.append(f"| {run} | {result['seconds']:.1f} | {result['seconds'] / local:.2f}x | "
                     f"{'yes' if result['same_as_local_one_blas_thread'] else 'NO'} | "
                     f"{result['max_score_difference_to_local']:.4f} |")
    lines += [
        "",
        f"Starting the LocalCluster took {cluster_start:.1f} s more (not in the table).",
        "",
    ]
    publish(report, lines, args.out_dir, name)


if __name__ == "__main__":
    main()
