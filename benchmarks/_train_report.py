"""The training benchmark's verdicts and tables: comparisons, targets, Markdown.

``bench_train.py`` measures; this module says what the measures mean. A
:class:`Comparison` is skscratch's figure against a peer's (a ratio, or a
difference in accuracy points), a :class:`Target` is the project's goal on
one comparison, and :func:`markdown_report` writes the tables that
``benchmarks/README.md`` publishes and ``docs/benchmark_figures.py`` reads
back: their format is part of the published results.
"""

from dataclasses import dataclass

from _contenders import PREDICT_REPEATS, WARMUP_EPOCHS

# ----------------------------------------------------------------------
# Comparisons and targets


@dataclass(frozen=True)
class Comparison:
    """skscratch's ``metric`` against a peer's: a ratio, or a difference in points."""

    metric: str
    ours: str
    peer: str
    kind: str = "ratio"

    @property
    def key(self):
        sign = "/" if self.kind == "ratio" else "-"
        return f"{self.metric}: {self.ours} {sign} {self.peer}"

    def value(self, results):
        a, b = results.get(self.ours, {}), results.get(self.peer, {})
        if a.get("status") != "ok" or b.get("status") != "ok":
            return None
        if self.kind == "ratio":
            return a[self.metric] / b[self.metric]
        return a[self.metric] - b[self.metric]


COMPARISONS = (
    Comparison("s_per_epoch", "skscratch-float32", "torch-float32"),
    Comparison("s_per_epoch", "skscratch-float32", "sklearn-float32"),
    Comparison("s_per_epoch", "skscratch-float64", "sklearn-float64"),
    Comparison("predict_proba_s", "skscratch-float32", "torch-float32"),
    Comparison("predict_proba_s", "skscratch-float32", "sklearn-float32"),
    Comparison("peak_rss_mib", "skscratch-float32", "sklearn-float32"),
    Comparison("fit_rss_mib", "skscratch-float32", "sklearn-float32"),
    Comparison("accuracy_pct", "skscratch-float32", "sklearn-float32", "difference"),
    Comparison("accuracy_pct", "skscratch-float64", "sklearn-float64", "difference"),
)
METRIC_LABELS = {
    "s_per_epoch": "s/epoch",
    "predict_proba_s": "predict_proba s",
    "peak_rss_mib": "peak RSS",
    "fit_rss_mib": "memory fit adds",
    "accuracy_pct": "test accuracy",
}
# skscratch against itself at the baseline revision: the same model, so the
# accuracy difference should be 0 and the ratios say what the new code changed
BASELINE_METRICS = (
    ("s_per_epoch", "ratio"),
    ("predict_proba_s", "ratio"),
    ("peak_rss_mib", "ratio"),
    ("accuracy_pct", "difference"),
)


def run_comparisons(baseline=None):
    """The comparisons of each network: ``COMPARISONS``, then each skscratch contender
    against the same contender at the ``baseline`` revision (see ``report["baseline"]``)."""
    if not baseline:
        return COMPARISONS
    return COMPARISONS + tuple(
        Comparison(metric, ours, theirs, kind)
        for theirs, ours in baseline["contenders"].items()
        for metric, kind in BASELINE_METRICS
    )


@dataclass(frozen=True)
class Target:
    """A goal on one comparison: ``value <= limit`` (ratios) or ``value >= limit``
    (accuracy differences), for one network or, if ``network`` is None, for each."""

    label: str
    goal: str
    comparison: Comparison
    limit: float
    network: tuple | None = None

    def passes(self, value):
        if self.comparison.kind == "ratio":
            return value <= self.limit
        return value >= self.limit


def _comparison(metric, ours, peer, kind="ratio"):
    return next(
        c for c in COMPARISONS if (c.metric, c.ours, c.peer, c.kind) == (metric, ours, peer, kind)
    )


F32, F64 = "skscratch-float32", "skscratch-float64"
TARGETS = (
    Target("s/epoch, float32 input, 512-256 net", "≤ 0.80 × PyTorch",
           _comparison("s_per_epoch", F32, "torch-float32"), 0.80, (512, 256)),
    Target("s/epoch, float32 input, 100 net", "≤ 0.70 × PyTorch",
           _comparison("s_per_epoch", F32, "torch-float32"), 0.70, (100,)),
    Target("s/epoch, float64 input, 512-256 net", "≤ 0.60 × sklearn (float64)",
           _comparison("s_per_epoch", F64, "sklearn-float64"), 0.60, (512, 256)),
    Target("predict_proba of the test set, float32", "≤ PyTorch",
           _comparison("predict_proba_s", F32, "torch-float32"), 1.0),
    Target("memory fit adds (peak RSS during fit − RSS before), float32 input", "≤ sklearn on float32 input",
           _comparison("fit_rss_mib", F32, "sklearn-float32"), 1.0),
    Target("test accuracy after the same epochs, float32 input",
           "within 0.5 points of sklearn or better",
           _comparison("accuracy_pct", F32, "sklearn-float32", "difference"), -0.5),
    Target("test accuracy after the same epochs, float64 input",
           "within 0.5 points of sklearn or better",
           _comparison("accuracy_pct", F64, "sklearn-float64", "difference"), -0.5),
)  # fmt: skip


def network_name(network):
    return "-".join(map(str, network))


def evaluate_targets(runs):
    """One row per target and network it applies to; "n/a" where not measured."""
    rows = []
    measured = {tuple(run["network"]): run for run in runs}
    for target in TARGETS:
        networks = [target.network] if target.network else list(measured)
        for network in networks:
            label = (
                target.label if target.network else f"{target.label}, {network_name(network)} net"
            )
            run = measured.get(network)
            value = target.comparison.value(run["results"]) if run else None
            if value is None:
                result = "n/a"
            else:
                result = "PASS" if target.passes(value) else "MISS"
            rows.append({
                "target": label,
                "goal": target.goal,
                "comparison": target.comparison.key,
                "network": list(network),
                "value": value,
                "measured": format_comparison(target.comparison, value)
                if run else "not run",
                "result": result,
            })  # fmt: skip
    return rows


# ----------------------------------------------------------------------
# The report


def format_comparison(comparison, value):
    if value is None:
        return "n/a"
    if comparison.kind == "ratio":
        return f"{value:.3f}×"
    return f"{value:+.2f} points"


def format_seconds(seconds):
    """Three significant digits, trailing zeros kept: 0.300, 0.0153, 12.4, 125."""
    return f"{seconds:.0f}" if seconds >= 100 else f"{seconds:#.3g}"


METRIC_FORMATS = {
    "s_per_epoch": lambda v: f"{format_seconds(v)} s",
    "predict_proba_s": lambda v: f"{format_seconds(v)} s",
    "peak_rss_mib": lambda v: f"{v:.0f} MiB",
    "fit_rss_mib": lambda v: f"{v:.0f} MiB",
    "accuracy_pct": lambda v: f"{v:.2f} %",
}


def format_metric(metric, result):
    if result.get("status") != "ok":
        return "n/a"
    return METRIC_FORMATS[metric](result[metric])


def contender_row(name, result):
    status = result.get("status")
    if status != "ok":
        return f"| {name} | {status}: {result.get('reason', '')} | | | | |"
    fit_adds = result.get("fit_rss_mib")
    return (
        f"| {name} | {format_seconds(result['s_per_epoch'])} | {result['accuracy_pct']:.2f} "
        f"| {format_seconds(result['predict_proba_s'])} | {result['peak_rss_mib']:.0f} "
        f"| {'n/a' if fit_adds is None else f'{fit_adds:.0f}'} |"
    )


def floor_section(run):
    """How far each contender is from the matrix products alone (``MatmulFloor``), per dtype."""
    floor = {dtype: r for dtype, r in run.get("floor", {}).items() if r.get("status") == "ok"}
    if not floor:
        return []
    # not headed "contender": docs/benchmark_figures.py reads those tables as the contenders'
    lines = ["", "| against the floor | s/epoch | matrix products alone s | × the floor |", "|---|---:|---:|---:|"]
    for name, result in run["results"].items():
        dtype = name.rsplit("-", 1)[1]
        if result.get("status") == "ok" and dtype in floor:
            seconds = floor[dtype]["s_per_epoch"]
            lines.append(f"| {name} | {format_seconds(result['s_per_epoch'])} | {format_seconds(seconds)} "
                         f"| {result['s_per_epoch'] / seconds:.2f} |")
    return lines


def network_section(run, comparisons):
    """One network's tables: a row per contender, then a row per comparison."""
    name = network_name(run["network"])
    lines = [
        f"## Network {name}",
        "",
        "| contender | s/epoch | test acc % | predict_proba s | peak RSS MiB | fit adds MiB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [contender_row(c, result) for c, result in run["results"].items()]
    lines += ["", "| skscratch vs peer | skscratch | peer | ratio or difference |"]
    lines += ["|---|---:|---:|---:|"]
    for comparison in comparisons:
        value = run["comparisons"][comparison.key]
        sign = "/" if comparison.kind == "ratio" else "−"
        label = f"{METRIC_LABELS[comparison.metric]}: {comparison.ours} {sign} {comparison.peer}"
        ours, peer = (
            format_metric(comparison.metric, run["results"].get(name, {}))
            for name in (comparison.ours, comparison.peer)
        )
        lines.append(f"| {label} | {ours} | {peer} | {format_comparison(comparison, value)} |")
    return lines + floor_section(run)


def dataset_description(dataset, runs):
    """The data the contenders trained on, with the sizes the first successful one saw."""
    first = next(
        (r for run in runs for r in run["results"].values() if r.get("status") == "ok"), {}
    )
    if first:
        sizes = (
            f"{first['n_train']:,} train / {first['n_test']:,} test samples, "
            f"{first['n_features']} features"
        )
    else:
        sizes = "no contender ran"
    if dataset["name"] == "digits":
        return (
            f"scikit-learn's bundled digits (Fashion-MNIST not found in "
            f"{dataset['data_dir']}: quick mode fell back to them), {sizes}"
        )
    return f"Fashion-MNIST from {dataset['data_dir']}, {sizes}"


def baseline_description(baseline):
    """The header's line on the baseline contenders (empty without a baseline)."""
    if not baseline:
        return []
    return [
        f"- Baseline: skscratch at {baseline['revision']} (commit {baseline['commit']}), "
        f"the contenders named skscratch@{baseline['revision']}-DTYPE, each run right after "
        "the same contender with the skscratch of this checkout.",
    ]


def markdown_report(report):
    """The whole Markdown page of a run: how it was run, each network's tables, the targets."""
    machine, versions = report["machine"], report["versions"]
    lines = [
        "# Training benchmark: skscratch, scikit-learn and PyTorch",
        "",
        f"- Data: {dataset_description(report['dataset'], report['runs'])}; "
        "pixels scaled to [0, 1].",
        f"- Training: ReLU, Adam (learning rate 1e-3), batch 200, alpha 1e-4, "
        f"{WARMUP_EPOCHS} warm-up + {report['epochs']} timed epochs; s/epoch is the "
        f"median of the timed epochs, accuracy is after all of them; predict_proba s "
        f"is the median of {PREDICT_REPEATS} calls on the whole test set; peak RSS is "
        f"each contender's own process, read after training; fit adds is the peak RSS "
        f"during training above the RSS just before it. The matrix products alone: each "
        f"epoch's forward and backward products, nothing else, in NumPy's BLAS.",
        f"- Machine: {machine['cpu']}, {machine['cores']} cores, "
        f"{machine['memory_gib']} GiB, {machine['platform']}.",
        f"- Versions: Python {versions['python']}, NumPy {versions['numpy']}, "
        f"scikit-learn {versions['scikit-learn']}, PyTorch {versions['torch'] or 'not installed'}, "
        f"skscratch {versions['skscratch']}.",
        *baseline_description(report.get("baseline")),
        f"- Command: `{report['command']}`",
        f"- Date: {report['created']}",
        "",
        "Timings on a shared machine are noisy; the targets below are reported, not asserted.",
        "",
    ]
    if report["quick"]:
        lines += [
            "**Quick mode**: a small subset, for checking that the benchmark runs; "
            "its numbers say little about the targets.",
            "",
        ]
    comparisons = run_comparisons(report.get("baseline"))
    for run in report["runs"]:
        lines += network_section(run, comparisons) + [""]
    lines += ["## Targets", "", "| target | goal | measured | result |", "|---|---|---:|---|"]
    lines += [
        f"| {row['target']} | {row['goal']} | {row['measured']} | {row['result']} |"
        for row in report["targets"]
    ]
    return "\n".join(lines) + "\n"


def summary(result):
    """One line on a contender's result, for the progress printed while the benchmark runs."""
    if result["status"] != "ok":
        return f"{result['status']}: {result.get('reason', '')}"
    if "accuracy_pct" not in result:  # the matrix-product floor
        return f"{format_seconds(result['s_per_epoch'])} s/epoch"
    return (
        f"{format_seconds(result['s_per_epoch'])} s/epoch, "
        f"{result['accuracy_pct']:.2f} % test accuracy, "
        f"predict_proba {format_seconds(result['predict_proba_s'])} s, "
        f"peak RSS {result['peak_rss_mib']:.0f} MiB"
    )
