"""The training benchmark's verdicts: what skscratch is compared with, and the goals it must reach.

A :class:`Comparison` is skscratch's figure against a peer's (a ratio, or a
difference in accuracy points), a :class:`Target` the project's goal on one
comparison; :func:`evaluate_targets` says which a run met. ``_train_report``
writes them into the report's tables.
"""

from dataclasses import dataclass

from _contenders import ARRAY_API_CONTENDERS, SETTINGS, split_contender



@dataclass(frozen=True)
class Comparison:
    """skscratch's ``metric`` against a peer's: a ratio (``kind`` "ratio"), a difference in points
    ("difference"), or ours against twice the peer's plus numba's own need ("memory")."""

    metric: str
    ours: str
    peer: str
    kind: str = "ratio"

    @property
    def key(self):
        if self.kind == "memory":
            return f"{self.metric}: {self.ours} / (2 × {self.peer} + numba's need)"
        sign = "/" if self.kind == "ratio" else "-"
        return f"{self.metric}: {self.ours} {sign} {self.peer}"

    def value(self, results):
        a, b = results.get(self.ours, {}), results.get(self.peer, {})
        if a.get("status") != "ok" or b.get("status") != "ok":
            return None
        if self.kind == "ratio":
            return a[self.metric] / b[self.metric]
        if self.kind == "memory":  # ours / (2 peer's + numba's own need for our dtype: 0 where no kernel ran)
            ran = (a.get("kernels") or {}).get("ran")
            need = results.get(f"numba-{split_contender(self.ours)[1]}", {}).get("numba_need_mib", 0.0) if ran else 0.0
            return a[self.metric] / (2 * b[self.metric] + need)
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
    threads: int | None = None  # 1: judged on the quiet one-thread runs; None: on those of the most threads

    def passes(self, value):
        if self.comparison.kind in ("ratio", "memory"):
            return value <= self.limit
        return value >= self.limit


def _comparison(metric, ours, peer, kind="ratio", among=COMPARISONS):
    return next(
        c for c in among if (c.metric, c.ours, c.peer, c.kind) == (metric, ours, peer, kind)
    )


# each skscratch contender against the matrix products alone of its dtype (the run's "floor")
FLOOR_COMPARISONS = (
    Comparison("s_per_epoch", F32, "floor-float32"),
    Comparison("s_per_epoch", F64, "floor-float64"),
)
MEMORY_COMPARISON = Comparison("fit_rss_mib", F32, "sklearn-float32", "memory")
TARGETS = (
    Target("s/epoch, float32 input, 1 thread", "≤ 1.15 × the matrix products alone",
           FLOOR_COMPARISONS[0], 1.15, threads=1),
    Target("s/epoch, float64 input, 1 thread", "≤ 1.15 × the matrix products alone",
           FLOOR_COMPARISONS[1], 1.15, threads=1),
    Target("s/epoch, float32 input, 512-256 net", "≤ 0.80 × PyTorch",
           _comparison("s_per_epoch", F32, "torch-float32"), 0.80, (512, 256)),
    Target("s/epoch, float32 input, 100 net", "≤ 0.70 × PyTorch",
           _comparison("s_per_epoch", F32, "torch-float32"), 0.70, (100,)),
    Target("s/epoch, float64 input, 512-256 net", "≤ 0.60 × sklearn (float64)",
           _comparison("s_per_epoch", F64, "sklearn-float64"), 0.60, (512, 256)),
    Target("predict_proba of the test set, float32", "≤ PyTorch",
           _comparison("predict_proba_s", F32, "torch-float32"), 1.0),
    Target("memory fit adds (peak RSS during fit − RSS before), float32 input",
           "≤ 2 × sklearn's on float32 input + what numba needs (its import and the kernels' compilation)",
           MEMORY_COMPARISON, 1.0),
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


def judged_results(run, numba_need=None):
    """A run's results, with the floor's (``floor-DTYPE``) and numba's need (``numba-DTYPE``) beside them."""
    results = dict(run["results"])
    results.update({f"floor-{dtype}": result for dtype, result in run.get("floor", {}).items()})
    results.update({f"numba-{dtype}": {"status": "ok", "numba_need_mib": mib}
                    for dtype, mib in (numba_need or {}).items() if mib is not None})
    return results


def evaluate_targets(runs, targets=TARGETS, one_thread_runs=(), numba_need=None):
    """One row per target and network it applies to; "n/a" where not measured.

    ``runs`` are the reference condition's (most threads), ``one_thread_runs``
    the quiet one-thread condition's, for the targets of ``threads=1``;
    ``numba_need`` is {dtype: MiB} (``numba_need_mib`` of ``_contenders``).
    """
    rows = []
    measured = {threads: {(tuple(run["network"]), run_batch_size(run)): run for run in chosen}
                for threads, chosen in ((None, runs), (1, one_thread_runs))}
    for target in targets:
        among = measured[target.threads]
        networks = [target.network] if target.network else [
            network for network, batch_size in among if batch_size == target.batch_size]
        for network in networks:
            label = (
                target.label if target.network else f"{target.label}, {network_name(network)} net"
            )
            run = among.get((network, target.batch_size))
            value = target.comparison.value(judged_results(run, numba_need)) if run else None
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




def format_comparison(comparison, value):
    if value is None:
        return "n/a"
    if comparison.kind in ("ratio", "memory"):
        return f"{value:.3f}×"
    return f"{value:+.2f} points"
