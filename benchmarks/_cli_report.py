"""The Markdown of ``bench_cli_defaults.py``: the search's stages, the finalists, the checks on the test sets."""

from _cli_runs import cli_options, rank


def pct(x):
    return f"{100 * x:.2f} %"


def acc_cell(block):
    return (f"{pct(block['acc_mean'])} ± {100 * block['acc_std']:.2f} "
            f"({100 * block['acc_min']:.1f}–{100 * block['acc_max']:.1f})")


def comparison_lines(block):
    sk = block["sklearn"]
    lines = [f"#### {block['name']}: {block['n_train']:,} training images, {block['n_test']:,} test images, "
             f"seeds {', '.join(map(str, block['seeds']))}", "",
             "| model | test accuracy: mean ± std (min–max) | training s: median (min–max) | epochs | trained on |"
             " accuracy − sklearn | time / sklearn |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    names = {"chosen": "skscratch train, chosen defaults",
             "current": "skscratch train, previous defaults (128 · 20 ep · adam · lr 0.001)",
             "sklearn": "sklearn `MLPClassifier()`"}
    for who in ("chosen", "current", "sklearn"):
        if who not in block:
            continue
        b = block[who]
        epochs = "/".join(str(r["epochs"]) for r in b["runs"])
        delta = "" if who == "sklearn" else f"{100 * (b['acc_mean'] - sk['acc_mean']):+.2f} pt"
        ratio = "" if who == "sklearn" else f"{b['seconds_median'] / sk['seconds_median']:.2f}"
        seconds = f"{b['seconds_median']:.1f}" + (f" ({b['seconds_min']:.1f}–{b['seconds_max']:.1f})"
                                                   if len(b["runs"]) > 1 else "")
        lines.append(f"| {names[who]} | {acc_cell(b)} | {seconds} | {epochs} | "
                     f"{b['runs'][0]['n_train']:,} | {delta} | {ratio} |")
    loads = [x for x in block["load_averages"] if x is not None]
    if loads:
        lines += ["", f"Load average (1 min) of the machine meanwhile: {min(loads):.1f} to {max(loads):.1f} "
                  "on its cores."]
    return [*lines, ""]


def search_lines(search, chosen, finalists):
    lines = ["| stage | configurations | folds | training runs | their seconds | best (mean held-out-fold accuracy) |",
             "|---|---:|---:|---:|---:|---|"]
    for st in search.stages:
        if st["best"] is None:
            continue
        lines.append(f"| {st['name']} | {st['configurations']} | {st['folds']} | {st['runs']} | "
                     f"{st['runs_seconds']:.0f} | {st['best']}"
                     + ("" if st["best_mean"] is None else f" ({pct(st['best_mean'])})") + " |")
    large = search.large_end
    lines += ["", f"Finalists (each stage's best, then the best of all), on all five folds (each of the "
              f"{len(search.X):,} images scored once, by a model that never saw it), and the previous defaults:", ""]
    if large is not None:
        lines += [f"The large end: each trained as the CLI trains it (seed 0) on {len(large['X']):,} of "
                  f"Fashion-MNIST's training images and scored on the other {len(large['X_val']):,} (its test "
                  f"images are never used here); scikit-learn's `MLPClassifier()`, trained on the same: "
                  f"**{pct(large['sklearn']['test_acc'])}**. A finalist must beat it to win.", ""]
    lines += ["| configuration | 5-fold accuracy: mean ± std | est. CLI s, 4,000 images | large end | chosen |",
              "|---|---:|---:|---:|:---:|"]
    for entry in finalists:
        end = entry.get("large_end")
        end = "" if end is None else pct(end["val_acc"]) + ("" if end["beats_sklearn"] else " (loses)")
        lines.append(f"| {entry['label']} | {pct(entry['mean'])} ± {100 * entry['std']:.2f} | "
                     f"{entry['seconds_4000']:.1f} | {end} | {'**yes**' if entry is chosen else ''} |")
    return [*lines, ""]


def all_tried_lines(search):
    lines = ["# Every configuration the search tried", "",
             "Mean accuracy on the held-out folds (each fold scored by a model trained, as the CLI trains, "
             "on the other four); seconds: the CLI's epoch loop for 4,000 images, estimated (median over the "
             "folds x 1.25). Infeasible: over the time limit or diverged.", ""]
    for st in search.stages:
        entries = sorted((e for e in search.tried if e["stage"] == st["name"]), key=rank)
        if not entries:
            continue
        lines += [f"## {st['name']}", "", "| configuration | mean | std | folds | est. s | epoch kept | feasible |",
                  "|---|---:|---:|---:|---:|---|:---:|"]
        for e in entries:
            lines.append(f"| {e['label']} | {pct(e['mean'])} | {100 * e['std']:.2f} | {e['folds']} | "
                         f"{e['seconds_4000']:.1f} | {','.join(map(str, e['epochs_kept']))} | "
                         f"{'' if e['feasible'] else 'no'} |")
        lines.append("")
    return lines


def report_lines(report, search, quick, resume):
    """The Markdown page of a run: ``report`` (the JSON's fields) and the ``search`` that made it."""
    machine, chosen, cli, n_search = report["machine"], report["chosen"], report["real_cli"], report["n_search"]
    slowest, time_limit = report["checks"][0]["chosen"]["seconds_max"], report["time_limit_s"]
    lines = [
        "# Defaults for `skscratch train` against scikit-learn's `MLPClassifier()`"
        + (" (quick mode)" if quick else ""), "",
        f"{machine['cpu']}, {machine['cores']} cores, shared; numpy {report['versions']['numpy']}, "
        f"scikit-learn {report['versions']['scikit-learn']}. The search: {report['search_runs']} training runs, "
        f"{report['search_runs_seconds'] / 60:.1f} min of training and scoring them"
        + (f" (this invocation: {report['search_seconds'] / 60:.1f} min, runs reused with --resume)" if resume else "")
        + f"; everything: {report['total_seconds'] / 60:.1f} min.", "",
        f"Data: {report['data']}; {n_search:,} to search and train on, {report['n_test']:,} held out as the test set "
        "(stratified, seed 0), which the search never saw.", "",
        "### Chosen", "",
        f"**{chosen['label']}**: {pct(chosen['mean'])} ± {100 * chosen['std']:.2f} on the five held-out folds, "
        f"about {chosen['seconds_4000']:.1f} s of training for 4,000 images.", "",
        f"`skscratch train --data train.csv --out model.npz {report['cli_options']}`", "",
        "### The search", "",
        *search_lines(search, chosen, report["finalists"]),
        "### On the test sets", "",
        f"Time promise: the chosen defaults trained {n_search:,} images in at most {slowest:.1f} s here "
        f"(limit {time_limit:g} s; the issue's promise: under a minute): "
        + ("PASS" if slowest <= time_limit else "MISS") + ".", "",
        *[line for block in report["checks"] for line in comparison_lines(block)],
        "Training seconds: skscratch, the CLI's epoch loop (training and the per-epoch validation line on its "
        "10 % hold-out); scikit-learn, `fit` on all the training images (no hold-out; it stops when the "
        "training loss stalls, or at 200 epochs). The last two columns: against scikit-learn's mean accuracy and "
        "median time.", "",
        "### The real command", "",
    ]
    if "error" in cli:
        lines += [f"`skscratch train` with no options failed: {cli['error']}", ""]
    else:
        matches = ", ".join(cli["matches"]) or "neither reproduction (check the script against the CLI)"
        lines += [f"`{cli['command']}` (no options, seed 0, the {n_search:,} images as a Kaggle CSV): "
                  f"{cli['epochs']} epochs, test accuracy {pct(cli['test_acc'])}, {cli['training_seconds']}s of "
                  f"training, {cli['wall_seconds']:.1f} s for the whole command. Its per-epoch validation "
                  f"accuracies are those of this script's reproduction of: **{matches}**.", ""]
    return lines
