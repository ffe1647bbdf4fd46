"""The training benchmark's verdicts and tables: comparisons, targets, Markdown.

``bench_train.py`` measures; this module says what the measures mean. A
:class:`Comparison` is skscratch's figure against a peer's (a ratio, or a
difference in accuracy points), a :class:`Target` is the project's goal on
one comparison, and :func:`markdown_report` writes the tables that
``benchmarks/README.md`` publishes and ``docs/benchmark_figures.py`` reads
back: their format is part of the published results.

The array-library contenders (skscratch on PyTorch tensors and CuPy arrays,
PyTorch on CUDA) have comparisons and targets of their own
(``ARRAY_API_COMPARISONS``, ``ARRAY_API_TARGETS``) and tables of their own,
headed "array library": ``docs/benchmark_figures.py`` draws the tables headed
"contender", which hold the five contenders of the default run only.
"""

from dataclasses import dataclass

from _contenders import ARRAY_API_CONTENDERS, PREDICT_REPEATS, SETTINGS, WARMUP_EPOCHS, runs_on_gpu

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
F32, F64 = "skscratch-float32", "skscratch-float64"
TORCH_CPU, TORCH_CUDA, CUPY, NN_CUDA = ARRAY_API_CONTENDERS
# the array-library contenders against skscratch's NumPy path and PyTorch's own network on CUDA
ARRAY_API_COMPARISONS = (
    Comparison("s_per_epoch", TORCH_CPU, F32),
    Comparison("predict_proba_s", TORCH_CPU, F32),
    Comparison("accuracy_pct", TORCH_CPU, F32, "difference"),
    Comparison("s_per_epoch", TORCH_CUDA, F32),
    Comparison("s_per_epoch", TORCH_CUDA, NN_CUDA),
    Comparison("predict_proba_s", TORCH_CUDA, NN_CUDA),
    Comparison("accuracy_pct", TORCH_CUDA, F32, "difference"),
    Comparison("s_per_epoch", CUPY, F32),
    Comparison("s_per_epoch", CUPY, NN_CUDA),
    Comparison("predict_proba_s", CUPY, NN_CUDA),
    Comparison("accuracy_pct", CUPY, F32, "difference"),
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


def array_api_comparisons(contenders):
    """The ``ARRAY_API_COMPARISONS`` between two of ``contenders`` (the names asked for, run or skipped)."""
    return tuple(c for c in ARRAY_API_COMPARISONS if c.ours in contenders and c.peer in contenders)


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
    (accuracy differences), for one network or, if ``network`` is None, for each,
    trained on minibatches of ``batch_size``."""

    label: str
    goal: str
    comparison: Comparison
    limit: float
    network: tuple | None = None
    batch_size: int = SETTINGS["batch_size"]

    def passes(self, value):
        if self.comparison.kind == "ratio":
            return value <= self.limit
        return value >= self.limit


def _comparison(metric, ours, peer, kind="ratio", among=COMPARISONS):
    return next(
        c for c in among if (c.metric, c.ours, c.peer, c.kind) == (metric, ours, peer, kind)
    )


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
# skscratch on a GPU: far faster than its NumPy path, close to PyTorch's own network
ARRAY_API_TARGETS = (
    Target("s/epoch, skscratch on PyTorch CUDA tensors, 512-256 net",
           "≥ 10× faster than skscratch's NumPy on the CPU (≤ 0.10×)",
           _comparison("s_per_epoch", TORCH_CUDA, F32, among=ARRAY_API_COMPARISONS), 0.10, (512, 256)),
    Target("s/epoch, skscratch on PyTorch CUDA tensors, 512-256 net", "≤ 1.25 × PyTorch on CUDA",
           _comparison("s_per_epoch", TORCH_CUDA, NN_CUDA, among=ARRAY_API_COMPARISONS), 1.25, (512, 256)),
    Target("s/epoch, skscratch on PyTorch CUDA tensors, 4096-4096 net, batch 1024", "≤ 1.10 × PyTorch on CUDA",
           _comparison("s_per_epoch", TORCH_CUDA, NN_CUDA, among=ARRAY_API_COMPARISONS), 1.10, (4096, 4096),
           batch_size=1024),
)  # fmt: skip


def network_name(network):
    return "-".join(map(str, network))


def run_batch_size(run):
    """The minibatch size a run trained with (reports older than the option: always the default)."""
    return run.get("batch_size", SETTINGS["batch_size"])


def uses_array_api(runs):
    """Whether any run asked for an array-library contender."""
    return any(name in ARRAY_API_CONTENDERS for run in runs for name in run["results"])


def evaluate_targets(runs, targets=TARGETS):
    """One row per target and network it applies to; "n/a" where not measured."""
    rows = []
    measured = {(tuple(run["network"]), run_batch_size(run)): run for run in runs}
    for target in targets:
        networks = [target.network] if target.network else [
            network for network, batch_size in measured if batch_size == target.batch_size]
        for network in networks:
            label = (
                target.label if target.network else f"{target.label}, {network_name(network)} net"
            )
            run = measured.get((network, target.batch_size))
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
    """How far each contender on the CPU is from the matrix products alone (``MatmulFloor``), per dtype."""
    floor = {dtype: r for dtype, r in run.get("floor", {}).items() if r.get("status") == "ok"}
    if not floor:
        return []
    # not headed "contender": docs/benchmark_figures.py reads those tables as the contenders'
    lines = ["", "| against the floor | s/epoch | matrix products alone s | × the floor |", "|---|---:|---:|---:|"]
    for name, result in run["results"].items():
        dtype = name.rsplit("-", 1)[1]
        if result.get("status") == "ok" and dtype in floor and not runs_on_gpu(name):
            seconds = floor[dtype]["s_per_epoch"]
            lines.append(f"| {name} | {format_seconds(result['s_per_epoch'])} | {format_seconds(seconds)} "
                         f"| {result['s_per_epoch'] / seconds:.2f} |")
    return lines


def comparison_rows(run, comparisons):
    """A table row per comparison: both figures, and the ratio or difference."""
    lines = []
    for comparison in comparisons:
        value = run["comparisons"].get(comparison.key)
        sign = "/" if comparison.kind == "ratio" else "−"
        label = f"{METRIC_LABELS[comparison.metric]}: {comparison.ours} {sign} {comparison.peer}"
        ours, peer = (
            format_metric(comparison.metric, run["results"].get(name, {}))
            for name in (comparison.ours, comparison.peer)
        )
        lines.append(f"| {label} | {ours} | {peer} | {format_comparison(comparison, value)} |")
    return lines


def array_library_row(name, result):
    """An array-library contender's row: where it ran, and the device memory it held."""
    if result.get("status") != "ok":
        return f"| {name} | {result.get('status')}: {result.get('reason', '')} | | | | | | |"
    device_peak = result.get("device_peak_mib")
    return (
        f"| {name} | {result.get('device', '')} | {format_seconds(result['s_per_epoch'])} "
        f"| {result['accuracy_pct']:.2f} | {format_seconds(result['predict_proba_s'])} "
        f"| {result['peak_rss_mib']:.0f} | {result['fit_rss_mib']:.0f} "
        f"| {'n/a' if device_peak is None else f'{device_peak:.0f}'} |"
    )


def array_library_section(run):
    """The array-library contenders' tables, if any ran or were skipped: a row per contender,
    then a row per comparison. Not headed "contender" (see the module's docstring)."""
    names = [name for name in run["results"] if name in ARRAY_API_CONTENDERS]
    if not names:
        return []
    lines = [
        "",
        "| array library | library, device | s/epoch | test acc % | predict_proba s | peak RSS MiB "
        "| fit adds MiB | device peak MiB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [array_library_row(name, run["results"][name]) for name in names]
    comparisons = array_api_comparisons(run["results"])
    if comparisons:
        lines += ["", "| array library vs peer | array library | peer | ratio or difference |"]
        lines += ["|---|---:|---:|---:|"] + comparison_rows(run, comparisons)
    return lines


def network_section(run, comparisons, batch_size=SETTINGS["batch_size"]):
    """One network's tables: a row per contender, then a row per comparison; the floor; the
    array-library contenders'. The heading names the batch size if it is not ``batch_size``."""
    name = network_name(run["network"])
    heading = f"## Network {name}"
    if run_batch_size(run) != batch_size:
        heading += f", batch {run_batch_size(run)}"
    lines = [heading]
    if any(contender not in ARRAY_API_CONTENDERS for contender in run["results"]):
        lines += [
            "",
            "| contender | s/epoch | test acc % | predict_proba s | peak RSS MiB | fit adds MiB |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        lines += [contender_row(c, result) for c, result in run["results"].items()
                  if c not in ARRAY_API_CONTENDERS]  # fmt: skip
        comparisons = [c for c in comparisons if c.key in run["comparisons"]]  # those the run made
        if comparisons:
            lines += ["", "| skscratch vs peer | skscratch | peer | ratio or difference |"]
            lines += ["|---|---:|---:|---:|"] + comparison_rows(run, comparisons)
    return lines + floor_section(run) + array_library_section(run)


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


def array_api_description(runs):
    """The header's line on the array-library contenders (empty if none was asked for)."""
    if not uses_array_api(runs):
        return []
    return [
        "- Array libraries: skscratch on PyTorch tensors and CuPy arrays under scikit-learn's "
        "`array_api_dispatch=True` (`SCIPY_ARRAY_API=1`), the data put on the device before "
        "anything is timed; torch-cuda-float32 is torch-float32's network, steps and shuffles "
        "on CUDA. Each timed epoch and predict_proba call on a GPU ends when the device has "
        "finished (a synchronisation). Device peak is the most GPU memory the library held.",
    ]


def targets_section(title, rows):
    """A table of target rows under a heading; nothing without rows."""
    if not rows:
        return []
    lines = [f"## {title}", "", "| target | goal | measured | result |", "|---|---|---:|---|"]
    return lines + [
        f"| {row['target']} | {row['goal']} | {row['measured']} | {row['result']} |" for row in rows
    ]


def markdown_report(report):
    """The whole Markdown page of a run: how it was run, each network's tables, the targets."""
    machine, versions = report["machine"], report["versions"]
    batch_size = report.get("settings", SETTINGS)["batch_size"]
    lines = [
        f"# {report.get('title', 'Training benchmark: skscratch, scikit-learn and PyTorch')}",
        "",
        f"- Data: {dataset_description(report['dataset'], report['runs'])}; "
        "pixels scaled to [0, 1].",
        f"- Training: ReLU, Adam (learning rate 1e-3), batch {batch_size}, alpha 1e-4, "
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
        *array_api_description(report["runs"]),
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
        lines += network_section(run, comparisons, batch_size) + [""]
    lines += targets_section("Targets", report["targets"])
    if report.get("array_api_targets"):
        lines += [""] if report["targets"] else []
        lines += targets_section("Targets of the array libraries", report["array_api_targets"])
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
