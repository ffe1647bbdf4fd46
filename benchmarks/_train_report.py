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

A report holds a run per network and condition (threads, load, kernels:
``_conditions.py``). :func:`summary_section` sets the conditions side by
side, a table per network: s/epoch under each condition, the ratios
skscratch / peer under each, and the cold start and memory. Its tables are
headed "s/epoch", "s/epoch ratio" and "cold start and memory", not
"contender", so the docs' figures leave them out. :func:`summary_markdown`
is that section alone under the header that names the machine: what the
README publishes.
"""

from _contenders import ARRAY_API_CONTENDERS, PREDICT_REPEATS, SETTINGS, WARMUP_EPOCHS, runs_on_gpu, split_contender
from _machine import describe_cpu, header_lines
from _train_targets import (  # noqa: F401 (bench_train.py and bench_gpu.py import them from here)
    ARRAY_API_COMPARISONS, ARRAY_API_TARGETS, BASELINE_METRICS, COMPARISONS, METRIC_LABELS, TARGETS, Comparison,
    Target, array_api_comparisons, evaluate_targets, format_comparison, network_name, run_batch_size, run_comparisons, uses_array_api,
)

# ----------------------------------------------------------------------
# The report


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
    if run.get("condition"):
        heading += f", {run['condition']['label']}"
    lines = [heading]
    if any(contender not in ARRAY_API_CONTENDERS for contender in run["results"]):
        lines += [
            "",
            "| contender | s/epoch | test acc % | predict_proba s | peak RSS MiB | fit adds MiB |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        lines += [contender_row(c, result) for c, result in run["results"].items()
                  if c not in ARRAY_API_CONTENDERS]  # fmt: skip
        # those the run made, between contenders it was asked to run
        comparisons = [c for c in comparisons if c.key in run["comparisons"]
                       and c.ours in run["results"] and c.peer in run["results"]]  # fmt: skip
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


# ----------------------------------------------------------------------
# Where and how: the header, the conditions


def results_of(runs, library=None):
    """``(run, contender, result)`` of every contender that ran (status ok), of ``library`` if given."""
    return [(run, name, result) for run in runs for name, result in run["results"].items()
            if result.get("status") == "ok" and (library is None or split_contender(name)[0] == library)]  # fmt: skip


def torch_blas_of(runs):
    """PyTorch's BLAS as the PyTorch contender's own process read it (None if none ran)."""
    found = [result["torch_blas"] for _, _, result in results_of(runs, "torch") if result.get("torch_blas")]
    found = found or [result["torch_blas"] for _, _, result in results_of(runs) if result.get("torch_blas")]
    return found[0] if found else None


def kernels_description(report):
    """What skscratch's fused kernels did in its processes, in words (None: no skscratch ran)."""
    skscratch = results_of(report["runs"], "skscratch")
    if not skscratch:
        return None
    numba = report["header"]["kernels"].get("numba")
    if numba is None:
        return "numba not installed: skscratch stepped in NumPy"
    ran, idle, off, functions, compiling, loading = set(), set(), False, {}, 0, 0
    for run, _, result in skscratch:
        kernels, network = result.get("kernels") or {}, network_name(run["network"])
        if kernels.get("enabled") is False or not run.get("condition", {}).get("kernels", True):
            off = True
        elif kernels.get("ran"):
            ran.add(network)
            functions.update(dict.fromkeys(kernels["ran"]))
            compiling += bool(result.get("jit_compiles"))
            loading += not result.get("jit_compiles")
        else:
            idle.add(network)
    parts = [f"numba {numba}"]
    if ran:
        cache = "an empty numba cache for each" if report.get("numba_cache") == "fresh" else "the user's cache"
        parts.append(f"they ran on {', '.join(sorted(ran))} ({', '.join(functions)}): compiled in {compiling} "
                     f"process(es), loaded from numba's cache in {loading} ({cache})")  # fmt: skip
    if idle - ran:
        parts.append(f"not on {', '.join(sorted(idle - ran))} (fewer parameters than their threshold)")
    if off:
        parts.append("switched off (SKSCRATCH_KERNELS=0) in the runs marked \"kernels off\"")
    return "; ".join(parts)


def report_header(report):
    """The bullets naming where the figures were measured (reports older than the header: none)."""
    if "header" not in report:
        return []
    return header_lines(report["header"], torch_blas_of(report["runs"]), kernels_description(report))


def busy_core_description(runs):
    """The busy loop's core and the share of it the loop got, over the runs under load."""
    loads = [result["busy_core"] for run in runs for result in [*run["results"].values(), *run.get("floor", {}).values()]
             if result.get("busy_core")]  # fmt: skip
    if not loads:
        return None
    shares = [100 * load["cpu_s"] / load["wall_s"] for load in loads if load.get("cpu_s") is not None and load.get("wall_s")]
    share = f"; it got {min(shares):.0f}-{max(shares):.0f} % of that core" if shares else ""
    cores = ", ".join(str(core) for core in sorted({load["core"] for load in loads}))
    return (f"busy core: a Python busy loop pinned to CPU {cores} (os.sched_setaffinity), started before "
            f"each contender's process and killed after it{share}")


def conditions_description(report):
    """The bullet on the conditions: threads, load, kernels, numba's cache (none for older reports)."""
    if not report.get("conditions"):
        return []
    labels = "; ".join(c["label"] for c in report["conditions"])
    text = (f"- Conditions, each contender in each: {labels}. N threads: OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, "
            "MKL_NUM_THREADS and SKSCRATCH_NUM_THREADS set to N in the contender's environment, and "
            "threadpoolctl's and torch.set_num_threads' limits in its process")
    busy = busy_core_description(report["runs"])
    if busy:
        text += f"; {busy}"
    if any(not c["kernels"] for c in report["conditions"]):
        text += "; kernels off: SKSCRATCH_KERNELS=0 (skscratch alone is run again)"
    return [text + "."]


def reference_runs(runs):
    """The runs most targets are judged on: those of the quiet condition with the most threads and
    the kernels on (the project's targets were set for it); else those of the first condition. (The
    targets of one thread are judged on the quiet one-thread runs: ``bench_train.one_thread_runs``.)"""
    if not runs:
        return []

    def condition(run):
        return run.get("condition") or {"threads": 0, "load": "none", "kernels": True}

    quiet = [run for run in runs if condition(run)["load"] == "none" and condition(run)["kernels"]]
    if quiet:
        most = max(condition(run)["threads"] for run in quiet)
        return [run for run in quiet if condition(run)["threads"] == most]
    first = condition(runs[0])
    return [run for run in runs if condition(run) == first]


# ----------------------------------------------------------------------
# The summary: the conditions side by side


def _setting(run):
    """A run's (threads, load): a column of the summary."""
    condition = run.get("condition") or {}
    return condition.get("threads"), condition.get("load", "none")


def _setting_label(setting):
    threads, load = setting
    label = f"{threads} thread{'s' if threads != 1 else ''}" if threads else "default threads"
    return label if load == "none" else f"{label}, {load.replace('-', ' ')}"


def _row_label(name, kernels):
    return name if kernels else f"{name}, kernels off"


def _epoch_cell(result):
    """Median s/epoch and the range of the timed epochs: ``0.798 (0.781-0.83)``."""
    if result.get("status") != "ok":
        return result.get("status", "n/a")
    timed = result["epoch_times_s"][result.get("warmup_epochs", WARMUP_EPOCHS):]
    if len(timed) < 2:
        return format_seconds(result["s_per_epoch"])
    return f"{format_seconds(result['s_per_epoch'])} ({format_seconds(min(timed))}-{format_seconds(max(timed))})"


def _summary_grid(runs):
    """One network's results as ``{row label: {setting: result}}``, and the settings in run order.

    The rows: each contender (its kernels-off twin right under it), then NumPy's
    matrix products alone per dtype.
    """
    settings = list(dict.fromkeys(_setting(run) for run in runs))
    contenders, floors = {}, {}
    for run in runs:
        kernels = (run.get("condition") or {}).get("kernels", True)
        for name, result in run["results"].items():
            contenders.setdefault(name, {}).setdefault(kernels, {})[_setting(run)] = result
        if kernels:
            for dtype, result in run.get("floor", {}).items():
                floors.setdefault(f"matrix products alone, {dtype}", {})[_setting(run)] = result
    grid = {}
    for name, by_kernels in contenders.items():
        for kernels in (True, False):
            if kernels in by_kernels:
                grid[_row_label(name, kernels)] = by_kernels[kernels]
    return {**grid, **floors}, settings


SUMMARY_RATIOS = (
    ("skscratch-float32", "torch-float32"),
    ("skscratch-float32", "sklearn-float32"),
    ("skscratch-float64", "sklearn-float64"),
    ("skscratch-float32, kernels off", "skscratch-float32"),
    ("skscratch-float64, kernels off", "skscratch-float64"),
)


def _ratio_rows(grid, settings):
    rows = []
    for ours, peer in SUMMARY_RATIOS:
        if ours not in grid or peer not in grid:
            continue
        cells = []
        for setting in settings:
            a, b = grid[ours].get(setting, {}), grid[peer].get(setting, {})
            ok = a.get("status") == "ok" and b.get("status") == "ok"
            cells.append(f"{a['s_per_epoch'] / b['s_per_epoch']:.2f}×" if ok else "n/a")
        rows.append(f"| {ours} / {peer} | " + " | ".join(cells) + " |")
    return rows


def _optional(value, fmt):
    return "–" if value is None else fmt(value)


def _cold_start_row(label, result):
    if result.get("status") != "ok":
        return f"| {label} | {result.get('status', 'n/a')}: {result.get('reason', '')} | | | | | | | | |"
    kernels = result.get("kernels") or {}
    jit = _optional(result.get("jit_compile_s"), lambda v: f"{v:.2f}")
    if result.get("jit_compiles") == 0 and kernels.get("ran"):
        jit += " (loaded from the cache)"
    return (
        f"| {label} | {_optional(result.get('import_s'), lambda v: f'{v:.2f}')} "
        f"| {_optional(result.get('numba_import_s'), lambda v: f'{v:.2f}')} | {jit} "
        f"| {_optional(result.get('first_epoch_s'), format_seconds)} | {format_seconds(result['s_per_epoch'])} "
        f"| {_optional(result.get('fit_rss_mib'), lambda v: f'{v:.0f}')} | {result['peak_rss_mib']:.0f} "
        f"| {result['accuracy_pct']:.2f} | {format_seconds(result['predict_proba_s'])} |"
    )


def summary_section(report, level=2):
    """Per network: s/epoch under each condition, the ratios under each, and the cold start and
    memory under the reference condition (:func:`reference_runs`); ``level`` is the headings' level."""
    mark = "#" * level
    reference = {_setting(run) for run in reference_runs(report["runs"])}
    lines = [f"{mark} Summary: every condition side by side", ""]
    networks = list(dict.fromkeys((tuple(run["network"]), run_batch_size(run)) for run in report["runs"]))
    for network, batch_size in networks:
        runs = [run for run in report["runs"] if (tuple(run["network"]), run_batch_size(run)) == (network, batch_size)]
        grid, settings = _summary_grid(runs)
        name = network_name(network) + ("" if batch_size == SETTINGS["batch_size"] else f", batch {batch_size}")
        lines += [f"{mark}# Network {name}", "",
                  f"s/epoch: the median of {report['epochs']} timed epochs after {WARMUP_EPOCHS} warm-up "
                  "epoch, with their range:", "",
                  "| s/epoch | " + " | ".join(_setting_label(s) for s in settings) + " |",
                  "|---|" + "---:|" * len(settings)]  # fmt: skip
        lines += [f"| {label} | " + " | ".join(_epoch_cell(cells[s]) if s in cells else "–" for s in settings) + " |"
                  for label, cells in grid.items()]  # fmt: skip
        ratios = _ratio_rows(grid, settings)
        if ratios:
            lines += ["", "| s/epoch ratio | " + " | ".join(_setting_label(s) for s in settings) + " |",
                      "|---|" + "---:|" * len(settings), *ratios]  # fmt: skip
        cold = [s for s in settings if s in reference] or settings[:1]
        lines += ["", f"Cold start and memory, {_setting_label(cold[0])}: the import of the contender's library in "
                  "a fresh process (NumPy already loaded), numba's import and the kernels' compilation (– where "
                  "the kernels did not run), the first (warm-up) epoch, which includes the compilation, the "
                  "steady s/epoch; the memory a fit adds (peak RSS during training above the RSS before it, "
                  "numba's import included):", "",
                  "| cold start and memory | import s | numba import s | JIT compile s | first epoch s | s/epoch "
                  "| fit adds MiB | peak RSS MiB | test acc % | predict_proba s |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        lines += [_cold_start_row(label, cells[cold[0]]) for label, cells in grid.items()
                  if cold[0] in cells and not label.startswith("matrix products")]  # fmt: skip
        lines.append("")
    return lines


def summary_markdown(report):
    """The summary alone, under the header that names the machine and the command: what
    ``benchmarks/README.md`` and the README publish (``bench_train_summary.md``)."""
    machine = report["header"]["machine"]
    date = report["created"][:10]
    lines = [
        f"### bench_train on {describe_cpu(machine)}, {date}",
        "",
        *report_header(report),
        f"- Data: {dataset_description(report['dataset'], report['runs'])}; ReLU, Adam, batch "
        f"{report.get('settings', SETTINGS)['batch_size']}, alpha 1e-4; each contender in a process of its own.",
        *conditions_description(report),
        f"- Command: `{report['command']}` ({report['wall_time_s'] / 60:.1f} minutes)",
        "",
        "These are ratios measured on this machine under these conditions; on another CPU, BLAS "
        "kernel, thread count or load they differ.",
        "",
        *summary_section(report, level=3)[2:],
    ]
    return "\n".join(lines) + "\n"


def markdown_report(report):
    """The whole Markdown page of a run: how it was run, each network's tables, the targets."""
    batch_size = report.get("settings", SETTINGS)["batch_size"]
    lines = [
        f"# {report.get('title', 'Training benchmark: skscratch, scikit-learn and PyTorch')}",
        "",
        *report_header(report),
        f"- Data: {dataset_description(report['dataset'], report['runs'])}; "
        "pixels scaled to [0, 1].",
        f"- Training: ReLU, Adam (learning rate 1e-3), batch {batch_size}, alpha 1e-4, "
        f"{WARMUP_EPOCHS} warm-up + {report['epochs']} timed epochs; s/epoch is the "
        f"median of the timed epochs, accuracy is after all of them; predict_proba s "
        f"is the median of {PREDICT_REPEATS} calls on the whole test set; peak RSS is "
        f"each contender's own process, read after training; fit adds is the peak RSS "
        f"during training above the RSS just before it. The matrix products alone: each "
        f"epoch's forward and backward products, nothing else, in NumPy's BLAS.",
        *conditions_description(report),
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
    if report["runs"]:
        lines += summary_section(report) + [""]
    comparisons = run_comparisons(report.get("baseline"))
    for run in report["runs"]:
        lines += network_section(run, comparisons, batch_size) + [""]
    targets_title = "Targets"
    if report.get("targets_condition"):
        targets_title += f" ({report['targets_condition']['label']}; those marked 1 thread: 1 thread)"
    if report.get("numba_need_mib"):
        need = ", ".join(f"{dtype} {mib:.0f} MiB" for dtype, mib in report["numba_need_mib"].items()
                         if mib is not None)
        lines += [f"numba's own need, measured apart (a process that imports numba and compiles the kernels "
                  f"of a fit, with an empty cache; the RSS this adds at its peak): {need}.", ""]
    lines += targets_section(targets_title, report["targets"])
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
