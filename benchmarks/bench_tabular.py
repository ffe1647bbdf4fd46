"""Tabular benchmark: skscratch's TabularMLP against scikit-learn's MLP, HistGradientBoosting and RealMLP-TD.

Tables (``_tabular_data.py``): 13 classification tables of mlbench and
kernlab (R packages read offline, see there: ``SKSCRATCH_RDATA``, ``pip
install rdata``), scikit-learn's digits and breast_cancer, and 4 regression
tables (BostonHousing, Ozone, Servo, diabetes). ``--quick`` runs a suite of
scikit-learn's bundled data only (no R data), one split, TabularMLP for 8
epochs and the two MLPs for 50 (``max_iter``), RealMLP-TD left out: for CI.

Contenders, all with their defaults and ``random_state`` = the split's seed:

- ``sklearn`` "sklearn MLP": the practitioner's pipeline, a ColumnTransformer
  (numeric: SimpleImputer(median) then StandardScaler; category columns:
  SimpleImputer(most_frequent) then OneHotEncoder(handle_unknown="ignore"),
  dense output) then MLPClassifier / MLPRegressor; the regressor's target is
  not scaled (scikit-learn's default, no TransformedTargetRegressor);
- ``skscratch`` "skscratch MLP": the same pipeline around
  MLPScratchClassifier / MLPScratchRegressor;
- ``tabular`` "TabularMLP": skscratch's TabularMLPClassifier / Regressor on
  the raw DataFrame (category columns and NaN as they are);
- ``hgb`` "HistGradientBoosting": categorical_features="from_dtype", raw DataFrame;
- ``realmlp`` "RealMLP-TD": pytabkit's RealMLP_TD_Classifier / Regressor
  (device="cpu", n_threads = the cores), run by another interpreter
  (``--realmlp-python``; by default this one if it imports pytabkit, else
  /work/venv-pytabkit/bin/python if it exists, else skipped). pytabkit
  1.8.0 refuses NaN in numeric columns, so its numeric NaN are filled with
  the training part's medians (category NaN stay).

A contender whose import fails is skipped with a message. Splits: ``--splits N``
random 75/25 splits, seeds 0..N-1, stratified for classification; the parent
draws them and hands every contender the same rows.

Processes: every fit runs in a Python process of its own, apart from the
other contenders' (``--isolation fit``, the default: a fresh process per
table, split and contender, so each fit time includes the contender's first
call costs, e.g. numba kernels loaded, PyTorch set up; ``table``: one process
per contender and table; ``contender``: one per contender, the quick mode's
default). Processes run one at a time. ``OMP_WAIT_POLICY`` is inherited
unless ``--omp-wait-policy`` sets it (the report says which; the quick mode
sets PASSIVE): spinning OpenMP threads slow HistGradientBoosting (and
PyTorch) on a busy machine, 5-200x on small tables here, PASSIVE slows
them about 2x on a quiet one.

Metrics: classification error (%) or RMSE on the test part, fit time (s,
wall clock around ``fit``; the CPU seconds too). Per contender: the mean rank
over tables (by mean error over splits, ties averaged), the mean normalised
error (per table and split, (err - min) / (max - min) over the contenders
that ran there, 0 if all equal; averaged over table-splits) and the total fit
time. Targets (PASS / MISS, never asserted): (1) TabularMLP's mean normalised
error ≤ RealMLP-TD's and < HistGradientBoosting's (table-splits where all
three ran); (2) TabularMLP's mean error below sklearn MLP's on ≥ 90 % of the
tables; (3) TabularMLP's total fit time ≤ 1/3 of RealMLP-TD's (tables where
both ran).

``--ablation`` fits TabularMLP with its defaults and with each trick switched
off in turn (:data:`ABLATION`), and reports each variant's mean normalised
error (among the variants) and its error change against the defaults.

Usage::

    python benchmarks/bench_tabular.py --quick
    python benchmarks/bench_tabular.py [--tables Sonar,Glass] [--splits 3]
        [--contenders sklearn,skscratch,tabular,hgb,realmlp] [--realmlp-python PATH]
        [--isolation fit|table|contender] [--omp-wait-policy inherit|PASSIVE|ACTIVE]
    python benchmarks/bench_tabular.py --ablation [--variants "no PBLD,constant lr"]
"""

import argparse
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _machine import blas_pools, describe_blas, describe_kernels, kernels_state, n_cores, peak_rss_mib
from _report import add_out_dir_argument, command_line, publish
from _tabular_data import FULL, QUICK, describe, load_table

SCRIPT = Path(__file__).resolve()
DEFAULT_REALMLP_PYTHON = "/work/venv-pytabkit/bin/python"
CONTENDERS = {"sklearn": "sklearn MLP", "skscratch": "skscratch MLP", "tabular": "TabularMLP",
              "hgb": "HistGradientBoosting", "realmlp": "RealMLP-TD"}  # fmt: skip
QUICK_TABULAR = {"max_iter": 8}
QUICK_MLP = {"max_iter": 50}  # sklearn's and skscratch's MLPs in the quick mode (default 200): CI time
# TabularMLP with one trick off: (label, parameters, the task it applies to or None for both)
ABLATION = [
    ("no PBLD", {"num_embedding": None}, None),
    ("no scaling layer", {"scaling_layer": False}, None),
    ("constant lr", {"lr_schedule": "constant"}, None),
    ("no label smoothing", {"label_smoothing": 0.0}, "classification"),
    ("no dropout", {"dropout": 0.0}, None),
    ("no weight decay", {"weight_decay": 0.0}, None),
    ("last epoch", {"select_best_epoch": False}, None),
    ("standard scaling, no clip", {"numeric_scaling": "standard", "smooth_clip": False}, None),
    ("no NTK", {"ntk": False}, None),
    ("not parametric", {"parametric_activation": False}, None),
    ("relu, not parametric", {"activation": "relu", "parametric_activation": False}, None),
    ("beta_2 = 0.999", {"beta_2": 0.999}, None),
    ("no data init", {"data_init": False}, None),
]
VERSIONS = ("numpy", "pandas", "scikit-learn", "skscratch", "numba", "torch", "pytabkit")


# ---------------------------------------------------------------- in the contender's process


def practitioner_pipeline(model):
    """ColumnTransformer (numeric: median imputation, standard scaling; category: most frequent, one-hot) + model."""
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(SimpleImputer(strategy="most_frequent"),
                                OneHotEncoder(handle_unknown="ignore", sparse_output=False))  # fmt: skip
    columns = ColumnTransformer([("numeric", numeric, make_column_selector(dtype_exclude="category")),
                                 ("categorical", categorical, make_column_selector(dtype_include="category"))],
                                sparse_threshold=0.0)  # fmt: skip
    return make_pipeline(columns, model)


def build_estimator(base, task, seed, params, n_threads):
    """A fresh, unfitted estimator of contender ``base`` for ``task`` (raises ImportError if it is missing)."""
    classifier = task == "classification"
    if base == "sklearn":
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        return practitioner_pipeline((MLPClassifier if classifier else MLPRegressor)(random_state=seed, **params))
    if base == "skscratch":
        from skscratch import MLPScratchClassifier, MLPScratchRegressor

        model = (MLPScratchClassifier if classifier else MLPScratchRegressor)(random_state=seed, **params)
        return practitioner_pipeline(model)
    if base == "tabular":
        from skscratch import TabularMLPClassifier, TabularMLPRegressor

        return (TabularMLPClassifier if classifier else TabularMLPRegressor)(random_state=seed, **params)
    if base == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier as HGBC
        from sklearn.ensemble import HistGradientBoostingRegressor as HGBR

        return (HGBC if classifier else HGBR)(categorical_features="from_dtype", random_state=seed, **params)
    if base == "realmlp":
        from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor

        Estimator = RealMLP_TD_Classifier if classifier else RealMLP_TD_Regressor
        return Estimator(random_state=seed, n_threads=n_threads, device="cpu", verbosity=0, **params)
    raise ValueError(f"unknown contender {base!r}")


def fill_numeric_nan(X_train, X_test):
    """Numeric NaN filled with the training part's medians (for pytabkit, which refuses them)."""
    numeric = [c for c in X_train.columns if not isinstance(X_train[c].dtype, pd.CategoricalDtype)]
    medians = X_train[numeric].median().fillna(0.0)
    return X_train.fillna(medians), X_test.fillna(medians)


def run_fit(base, params, fit, table, n_threads):
    """Fit one contender on one split of one table; its test error and times."""
    name, X, y, task = table
    train, test = np.asarray(fit["train"]), np.asarray(fit["test"])
    X_train, X_test, y_train, y_test = X.iloc[train], X.iloc[test], y.iloc[train], y.iloc[test]
    if base == "realmlp":
        X_train, X_test = fill_numeric_nan(X_train, X_test)
    model = build_estimator(base, task, fit["seed"], params, n_threads)
    cpu, start = os.times(), time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings of the fixed-epoch defaults
        model.fit(X_train, y_train)
        fit_s = time.perf_counter() - start
        cpu_s = sum(os.times()[:2]) - sum(cpu[:2])
        start = time.perf_counter()
        predicted = np.asarray(model.predict(X_test)).ravel()
        predict_s = time.perf_counter() - start
    if task == "classification":
        error = 100.0 * float(np.mean(predicted.astype(str) != y_test.to_numpy().astype(str)))
    else:
        error = float(np.sqrt(np.mean((predicted.astype(float) - y_test.to_numpy()) ** 2)))
    return {"table": name, "split": fit["split"], "error": error, "fit_s": fit_s, "cpu_s": cpu_s,
            "predict_s": predict_s}  # fmt: skip


def process_info(n_threads):
    """What this contender's process ran with: interpreter, versions, BLAS, threads, OMP_WAIT_POLICY, kernels."""
    versions = {}
    for package in VERSIONS:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    torch = sys.modules.get("torch")
    return {"python": sys.executable, "versions": versions, "blas": blas_pools(), "n_threads": n_threads,
            "torch_threads": torch.get_num_threads() if torch is not None else None,
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"), "kernels": kernels_state(),
            "peak_rss_mib": round(peak_rss_mib(), 1)}  # fmt: skip


def worker(job_path, result_path):
    """Run a job's fits in this process, one JSON line per fit into ``result_path``, then the process's info."""
    job = json.loads(Path(job_path).read_text())
    with open(result_path, "w") as out:
        write = lambda record: (out.write(json.dumps(record) + "\n"), out.flush())  # noqa: E731
        try:
            build_estimator(job["base"], "classification", 0, job["params"], job["n_threads"])
        except ImportError as error:
            write({"skipped": f"{type(error).__name__}: {error}"})
            return
        tables = {}
        for fit in job["fits"]:
            try:
                if fit["table"] not in tables:
                    tables[fit["table"]] = load_table(fit["table"])
                record = run_fit(job["base"], job["params"], fit, tables[fit["table"]], job["n_threads"])
            except Exception as error:  # one fit's failure is reported, the others go on
                failed = f"{type(error).__name__}: {error}"[:600]
                record = {"table": fit["table"], "split": fit["split"], "failed": failed}
            write(record)
        write({"process": process_info(job["n_threads"])})


# ---------------------------------------------------------------- in the parent


def draw_splits(tables, n_splits):
    """Per table: [(seed, train rows, test rows)], 75/25, seeds 0..n_splits-1, stratified for classification."""
    from sklearn.model_selection import train_test_split

    splits = {}
    for name, (_, X, y, task) in tables.items():
        rows = np.arange(len(X))
        splits[name] = [(seed, *train_test_split(rows, test_size=0.25, random_state=seed,
                                                 stratify=y if task == "classification" else None))
                        for seed in range(n_splits)]  # fmt: skip
    return splits


def realmlp_python(option):
    """The interpreter that runs RealMLP-TD, or (None, why not)."""
    if option:
        return (option, None) if Path(option).exists() else (None, f"--realmlp-python {option} does not exist")
    if importlib.util.find_spec("pytabkit") is not None:
        return sys.executable, None
    if Path(DEFAULT_REALMLP_PYTHON).exists():
        return DEFAULT_REALMLP_PYTHON, None
    return None, (f"pytabkit is not importable here and {DEFAULT_REALMLP_PYTHON} does not exist "
                  "(python3 -m venv /work/venv-pytabkit; /work/venv-pytabkit/bin/pip install pytabkit "
                  "pandas scikit-learn rdata; or --realmlp-python PATH)")  # fmt: skip


def plan_runs(args):
    """The runs: [{"name", "base", "params", "task"}]: contenders, or TabularMLP's ablation variants."""
    tabular = {**(QUICK_TABULAR if args.quick else {}), **json.loads(args.tabular_params or "{}")}
    if args.ablation:
        wanted = [v.strip() for v in args.variants.split(",")] if args.variants else [a[0] for a in ABLATION]
        unknown = set(wanted) - {a[0] for a in ABLATION}
        if unknown:
            sys.exit(f"unknown variants {sorted(unknown)}; known: {[a[0] for a in ABLATION]}")
        runs = [{"name": "TabularMLP", "base": "tabular", "params": tabular, "task": None}]
        return runs + [{"name": label, "base": "tabular", "params": {**tabular, **params}, "task": task}
                       for label, params, task in ABLATION if label in wanted]  # fmt: skip
    default = "sklearn,skscratch,tabular,hgb" + ("" if args.quick else ",realmlp")
    bases = [b.strip() for b in (args.contenders or default).split(",")]
    if set(bases) - set(CONTENDERS):
        sys.exit(f"unknown contenders {sorted(set(bases) - set(CONTENDERS))}; known: {', '.join(CONTENDERS)}")
    mlp = QUICK_MLP if args.quick else {}
    params = {"tabular": tabular, "sklearn": mlp, "skscratch": mlp}
    return [{"name": CONTENDERS[b], "base": b, "params": params.get(b, {}), "task": None} for b in bases]


def plan_jobs(runs, tables, splits, isolation):
    """The processes to start, in order: (run, fits); tables and splits interleave the contenders."""
    def fits(name, chosen):
        return [{"table": name, "split": i, "seed": seed, "train": train.tolist(), "test": test.tolist()}
                for i, (seed, train, test) in enumerate(splits[name]) if i in chosen]  # fmt: skip

    def applies(run, name):
        return run["task"] in (None, tables[name][3])

    every = range(len(next(iter(splits.values()))))
    if isolation == "contender":
        return [(run, [f for name in tables if applies(run, name) for f in fits(name, every)]) for run in runs]
    if isolation == "table":
        return [(run, fits(name, every)) for name in tables for run in runs if applies(run, name)]
    return [(run, fits(name, [i])) for name in tables for i in every for run in runs if applies(run, name)]


def run_job(python, run, fits, env, timeout):
    """Start one contender process on ``fits``; (records, process info, skipped message or None)."""
    job = {"base": run["base"], "params": run["params"], "fits": fits, "n_threads": n_cores()}
    with tempfile.TemporaryDirectory(prefix="bench_tabular_") as tmp:
        job_path, result_path = Path(tmp) / "job.json", Path(tmp) / "result.jsonl"
        job_path.write_text(json.dumps(job))
        command = [python, str(SCRIPT), "--worker", str(job_path), str(result_path)]
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
            trouble = f"exit status {done.returncode}: {done.stderr.strip()[-600:]}" if done.returncode else None
        except subprocess.TimeoutExpired:
            trouble = f"the process ran past --timeout {timeout} s and was stopped"
        lines = result_path.read_text().splitlines() if result_path.exists() else []
    results = [json.loads(line) for line in lines if line.strip()]
    if results and "skipped" in results[0]:
        return [], None, results[0]["skipped"]
    records = [r for r in results if "table" in r]
    process = next((r["process"] for r in results if "process" in r), None)
    done_fits = {(r["table"], r["split"]) for r in records}
    records += [{"table": f["table"], "split": f["split"], "failed": trouble or "no result"}
                for f in fits if (f["table"], f["split"]) not in done_fits]  # fmt: skip
    return [{**r, "contender": run["name"]} for r in records], process, None


def run_all(runs, jobs, args):
    """Every job, one process at a time, with progress on stdout; (records, processes, skipped)."""
    env = dict(os.environ)
    if args.omp_wait_policy != "inherit":
        env["OMP_WAIT_POLICY"] = args.omp_wait_policy
    pythons, skipped = {}, {}
    for run in runs:
        pythons[run["name"]], why = realmlp_python(args.realmlp_python) if run["base"] == "realmlp" else (
            sys.executable, None)
        if why:
            skipped[run["name"]] = why
            print(f"skipping {run['name']}: {why}", flush=True)
    records, processes = [], {}
    for run, fits in jobs:
        if run["name"] in skipped:
            continue
        new, process, why = run_job(pythons[run["name"]], run, fits, env, args.timeout)
        if why:
            skipped[run["name"]] = why
            print(f"skipping {run['name']}: {why}", flush=True)
            continue
        processes.setdefault(run["name"], process)
        for r in new:
            text = f"error {r['error']:.4g}, fit {r['fit_s']:.2f} s" if "error" in r else f"FAILED: {r['failed']}"
            print(f"{r['table']} split {r['split']} {run['name']}: {text}", flush=True)
        records += new
    return records, processes, skipped


def normalised_errors(ok):
    """``ok`` (fits with an error) with a column "normalised": (err - min) / (max - min) per table and split."""
    group = ok.groupby(["table", "split"])["error"]
    low, high = group.transform("min"), group.transform("max")
    spread = (high - low).to_numpy()
    return ok.assign(normalised=np.where(spread > 0, (ok["error"] - low) / np.where(spread > 0, spread, 1), 0.0))


def summarise(records, names):
    """Per table and contender (mean, std error, mean fit s) and per contender (rank, normalised error, time)."""
    frame = pd.DataFrame(records).reindex(columns=["table", "split", "contender", "error", "fit_s", "failed"])
    ok = normalised_errors(frame[frame["error"].notna()].astype({"error": float, "fit_s": float}))
    per_table = ok.groupby(["table", "contender"]).agg(
        error=("error", "mean"), std=("error", "std"), fit_s=("fit_s", "mean"), splits=("error", "size"))
    means = per_table["error"].unstack("contender")
    ranks = means.rank(axis=1, method="average")
    overall = {}
    for name in names:
        mine = ok[ok["contender"] == name]
        failed = int(((frame["contender"] == name) & frame["failed"].notna()).sum())
        overall[name] = {
            "mean_rank": float(ranks[name].mean()) if name in ranks else None,
            "mean_normalised_error": float(mine["normalised"].mean()) if len(mine) else None,
            "total_fit_s": float(mine["fit_s"].sum()), "tables": int(mine["table"].nunique()),
            "fits": len(mine), "failed_fits": failed}  # fmt: skip
    return ok, per_table, means, overall


def target_lines(ok, means, quick):
    """The issue's three targets, PASS / MISS or n/a, as (Markdown lines, JSON list)."""
    names = set(ok["contender"])
    found, out = [], []

    def verdict(label, passed, detail):
        found.append({"target": label, "pass": passed, "detail": detail})
        out.append(f"- {label}: **{'n/a' if passed is None else 'PASS' if passed else 'MISS'}** ({detail})")

    pivot = ok.pivot_table(index=["table", "split"], columns="contender", values="normalised")
    trio = ["TabularMLP", "RealMLP-TD", "HistGradientBoosting"]
    label = "(1) mean normalised error: TabularMLP ≤ RealMLP-TD and < HistGradientBoosting"
    if set(trio) <= names:
        common = pivot[trio].dropna()
        t, r, h = (common[n].mean() for n in trio)
        verdict(label, bool(t <= r and t < h), f"{t:.3f} vs {r:.3f} and {h:.3f}, over {len(common)} table-splits")
    else:
        verdict(label, None, f"needs {', '.join(n for n in trio if n not in names)}")
    label = "(2) TabularMLP's mean error below sklearn MLP's on ≥ 90 % of the tables"
    if {"TabularMLP", "sklearn MLP"} <= names:
        both = means[["TabularMLP", "sklearn MLP"]].dropna()
        wins = int((both["TabularMLP"] < both["sklearn MLP"]).sum())
        verdict(label, bool(wins >= 0.9 * len(both)), f"{wins} of {len(both)} tables")
    else:
        verdict(label, None, "needs TabularMLP and sklearn MLP")
    label = "(3) TabularMLP's total fit time ≤ 1/3 of RealMLP-TD's"
    if {"TabularMLP", "RealMLP-TD"} <= names:
        tables = set(ok.loc[ok["contender"] == "TabularMLP", "table"]) & set(
            ok.loc[ok["contender"] == "RealMLP-TD", "table"])
        sums = ok[ok["table"].isin(tables)].groupby("contender")["fit_s"].sum()
        ratio = sums["TabularMLP"] / sums["RealMLP-TD"]
        verdict(label, bool(ratio <= 1 / 3), f"{sums['TabularMLP']:.1f} s vs {sums['RealMLP-TD']:.1f} s, "
                f"ratio {ratio:.3f}, over {len(tables)} tables")  # fmt: skip
    else:
        verdict(label, None, "needs TabularMLP and RealMLP-TD")
    if quick:
        out.append("- (quick mode: small tables, one split, TabularMLP for 8 epochs, the MLPs for 50: "
                   "not the real targets)")
    return out, found


def table_lines(tables):
    """Markdown: what each table is (rows, numeric / categorical columns, NaN, classes or target range)."""
    lines = ["| table | task | rows | numeric | categorical (levels) | NaN cells (columns) | classes / target |",
             "|---|---|---:|---:|---|---:|---|"]  # fmt: skip
    for name, info in tables.items():
        levels = ", ".join(f"{c}: {n}" for c, n in info["levels"].items()) or "-"
        target = (f"{info['classes']} (smallest {info['smallest_class']})" if info["task"] == "classification"
                  else f"{info['target_min']:.3g} to {info['target_max']:.3g}, std {info['target_std']:.3g}")
        lines.append(f"| {name} | {info['task']} | {info['rows']} | {info['numeric']} | {info['categorical']} "
                     f"({levels}) | {info['nan_cells']} ({info['nan_columns']}) | {target} |")  # fmt: skip
    return lines


def result_lines(per_table, names, tables):
    """Markdown: per table, each contender's error mean ± std over splits and mean fit time."""
    lines = ["| table | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for table, info in tables.items():
        unit = " %" if info["task"] == "classification" else ""
        cells = []
        for name in names:
            if (table, name) not in per_table.index:
                cells.append("-")
                continue
            row = per_table.loc[(table, name)]
            std = f" ± {row['std']:.2f}" if row["splits"] > 1 else ""
            cells.append(f"{row['error']:.2f}{std}{unit} ({row['fit_s']:.1f} s)")
        lines.append(f"| {table}{'' if unit else ' (RMSE)'} | " + " | ".join(cells) + " |")
    return lines


def ablation_lines(ok, means, names):
    """Markdown: per variant, the mean normalised error and the error change against TabularMLP's defaults."""
    if "TabularMLP" not in means:
        return ["TabularMLP with its defaults did not run: no ablation deltas."], {}
    delta = means[names].sub(means["TabularMLP"], axis=0)
    relative = 100 * delta.div(means["TabularMLP"].where(means["TabularMLP"] > 0), axis=0)
    lines = ["| variant | mean normalised error | mean relative error change | tables worse / better |",
             "|---|---:|---:|---:|"]  # fmt: skip
    found = {}
    for name in names:
        mine, d = ok[ok["contender"] == name], delta[name].dropna()
        found[name] = {"mean_normalised_error": float(mine["normalised"].mean()) if len(mine) else None,
                       "mean_relative_change_pct": float(relative[name].mean()), "delta": d.to_dict()}
        lines.append(f"| {name} | {found[name]['mean_normalised_error']:.3f} | "
                     f"{found[name]['mean_relative_change_pct']:+.1f} % | "
                     f"{int((d > 0).sum())} / {int((d < 0).sum())} |")  # fmt: skip
    lines += ["", "Error change against the defaults, per table (points of error %, or RMSE):", "",
              "| table | " + " | ".join(names[1:]) + " |", "|---|" + "---:|" * (len(names) - 1)]
    for table in delta.index:
        cells = ("-" if pd.isna(v) else f"{v:+.2f}" for v in delta.loc[table, names[1:]])
        lines.append(f"| {table} | " + " | ".join(cells) + " |")
    return lines, found


def process_lines(processes, policy):
    """Markdown: each contender's own process (interpreter, versions, BLAS, threads) and the OMP policy."""
    lines = [f"- OMP_WAIT_POLICY in the contenders' processes: {policy or 'unset (each runtime default)'}."]
    for name, info in processes.items():
        if info is None:
            continue
        versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
        torch = f", torch threads {info['torch_threads']}" if info["torch_threads"] is not None else ""
        lines.append(f"- {name}: {info['python']}; {versions}; BLAS: {describe_blas(info['blas'])}{torch}; "
                     f"peak RSS {info['peak_rss_mib']} MiB.")  # fmt: skip
    return lines


def report(args, runs, tables, records, processes, skipped):
    """The Markdown page and the JSON report, published under the machine's header."""
    names = [run["name"] for run in runs if run["name"] not in skipped]
    ok, per_table, means, overall = summarise(records, names) if records else (None, None, None, {})
    title = "# TabularMLP ablation" if args.ablation else "# Tabular benchmark"
    lines = [title + (" (quick mode)" if args.quick else ""), "", *table_lines(tables), ""]
    lines += [f"Skipped {name}: {why}" for name, why in skipped.items()] + ([""] if skipped else [])
    found_targets, found_ablation = [], {}
    if records and len(ok):
        lines += ["Test error (classification %, regression RMSE), mean ± std over "
                  f"{args.splits} split(s), and mean fit time:", "", *result_lines(per_table, names, tables), "",
                  "| contender | mean rank | mean normalised error | total fit s | tables | failed fits |",
                  "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
        for name, o in overall.items():
            rank = "-" if o["mean_rank"] is None else f"{o['mean_rank']:.2f}"
            norm = "-" if o["mean_normalised_error"] is None else f"{o['mean_normalised_error']:.3f}"
            lines.append(f"| {name} | {rank} | {norm} | {o['total_fit_s']:.1f} | {o['tables']} | {o['failed_fits']} |")
        lines += ["", "Normalised error: per table and split, (err - min) / (max - min) over the contenders "
                  "that ran there (0 if all equal), averaged over table-splits; rank: per table by mean "
                  "error, ties averaged.", ""]  # fmt: skip
        if args.ablation:
            more, found_ablation = ablation_lines(ok, means, names)
            lines += [*more, ""]
        else:
            more, found_targets = target_lines(ok, means, args.quick)
            lines += ["Targets:", "", *more, ""]
    failures = [r for r in records if "failed" in r]
    lines += [f"- FAILED {r['contender']} on {r['table']} split {r['split']}: {r['failed']}" for r in failures]
    policy = os.environ.get("OMP_WAIT_POLICY") if args.omp_wait_policy == "inherit" else args.omp_wait_policy
    lines += [*process_lines(processes, policy), ""]
    kernels = "; ".join(f"{n}: {describe_kernels(p['kernels'])}" for n, p in processes.items()
                        if p and n != "RealMLP-TD" and p["kernels"].get("enabled") is not None)  # fmt: skip
    result = {"command": command_line(), "args": {k: str(v) for k, v in vars(args).items()},
              "isolation": args.isolation, "omp_wait_policy": policy, "tables": tables,
              "runs": runs, "skipped": skipped, "records": records, "processes": processes,
              "summary": overall, "targets": found_targets, "ablation": found_ablation}  # fmt: skip
    name = "bench_tabular" + ("_ablation" if args.ablation else "") + ("_quick" if args.quick else "")
    publish(result, lines, args.out_dir, name,
            kernels_text=("in the contenders' own processes: " + kernels) if kernels else
            "skscratch trained in the contenders' own processes (its fused kernels did not run there)")


def parse_args(argv):
    """The command line; ``--quick`` fills in what was not given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="bundled tables only, 1 split, TabularMLP for 8 epochs, the MLPs for 50, "
                        "no RealMLP-TD (CI)")
    parser.add_argument("--tables", help=f"comma-separated (default: all of {', '.join(FULL)})")
    parser.add_argument("--splits", type=int, help="random 75/25 splits, seeds 0..N-1 (default 3; quick 1)")
    parser.add_argument("--contenders", help=f"comma-separated of {', '.join(CONTENDERS)} (default: all)")
    parser.add_argument("--realmlp-python", help=f"the Python that has pytabkit (default: this one if it does, "
                        f"else {DEFAULT_REALMLP_PYTHON} if it exists)")  # fmt: skip
    parser.add_argument("--tabular-params", help='JSON of TabularMLP parameters, e.g. \'{"max_iter": 64}\'')
    parser.add_argument("--ablation", action="store_true", help="TabularMLP with each trick off in turn")
    parser.add_argument("--variants", help="comma-separated ablation labels (default: all)")
    parser.add_argument("--isolation", choices=("fit", "table", "contender"),
                        help="a fresh process per fit (default), per contender and table, or per contender (quick)")
    parser.add_argument("--omp-wait-policy", choices=("inherit", "PASSIVE", "ACTIVE"),
                        help="OMP_WAIT_POLICY for the contenders' processes (default: inherit; quick: PASSIVE)")
    parser.add_argument("--timeout", type=float, help="seconds one contender process may run (default 3600; quick 300)")
    parser.add_argument("--worker", nargs=2, metavar=("JOB", "RESULT"), help=argparse.SUPPRESS)
    add_out_dir_argument(parser)
    args = parser.parse_args(argv)
    args.splits = args.splits or (1 if args.quick else 3)
    args.isolation = args.isolation or ("contender" if args.quick else "fit")
    args.timeout = args.timeout or (300 if args.quick else 3600)
    args.omp_wait_policy = args.omp_wait_policy or ("PASSIVE" if args.quick else "inherit")
    return args


def main(argv=None):
    """Load the tables, draw the splits, run every contender in processes of its own, report."""
    args = parse_args(argv)
    if args.worker:
        return worker(*args.worker)
    names = [t.strip() for t in args.tables.split(",")] if args.tables else (QUICK if args.quick else FULL)
    tables, described = {}, {}
    for name in names:
        try:
            tables[name] = load_table(name)
        except (FileNotFoundError, ImportError, KeyError) as error:
            sys.exit(f"cannot load table {name}: {error}")
        described[name] = describe(*tables[name][1:])
    splits = draw_splits(tables, args.splits)
    runs = plan_runs(args)
    jobs = plan_jobs(runs, tables, splits, args.isolation)
    print(f"{len(tables)} tables, {args.splits} split(s), {len(runs)} contenders, {len(jobs)} processes "
          f"(isolation: {args.isolation}; OMP_WAIT_POLICY: {args.omp_wait_policy})", flush=True)
    records, processes, skipped = run_all(runs, jobs, args)
    report(args, runs, described, records, processes, skipped)


if __name__ == "__main__":
    main()
