"""How training cost grows: seconds per epoch against n_samples and against width.

On Fashion-MNIST (pixels scaled to [0, 1], float32 input, relu, adam,
batch 200, alpha 1e-4), for skscratch and scikit-learn side by side in one
run:

- against the number of training samples, 10k, 30k and 60k, for the 512-256
  network: the cost should grow linearly, so the time per sample is reported
  with a least-squares line through the origin and its R^2;
- against the width of a single hidden layer, 64 to 1024, on all 60k images;
  there skscratch also runs with its fused kernels switched off
  (``skscratch-numpy``: the NumPy optimizer steps), to show what they save
  as the network grows.

Each point is the median of ``--epochs`` timed epochs after one warm-up epoch,
the two libraries' epochs alternating.
Writes ``results/bench_scaling.json``, ``.md`` and ``.png`` (matplotlib).

Usage::

    python benchmarks/bench_scaling.py [--epochs 3] [--quick]

``--quick`` uses 1k, 2k and 4k samples and widths 16 to 128, on the bundled
digits if Fashion-MNIST is missing; it only checks that the script works.
"""

import argparse
import statistics
import time
import warnings

import numpy as np
from _contenders import make_estimator
from _data import add_data_dir_argument, load_digits_split, load_fashion_split
from _machine import machine_info
from _report import add_out_dir_argument, command_line, publish

LIBRARIES = ("skscratch", "sklearn")
NUMPY_STEPS = "skscratch-numpy"  # skscratch with its fused kernels switched off


def seconds_per_epoch(hidden, X, y, epochs, libraries=LIBRARIES):
    """Median seconds per partial_fit epoch of each library, after one warm-up epoch.

    The libraries' epochs alternate (ours, theirs, ours, ...), so that a slow
    spell of this shared machine weighs on both alike.
    """
    from skscratch._engine import kernels as _kernels

    models = {library: make_estimator(library.split("-")[0], hidden) for library in libraries}
    times = {library: [] for library in libraries}
    fused = _kernels.ENABLED
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(1 + epochs):
            for library, clf in models.items():
                _kernels.ENABLED = fused and library != NUMPY_STEPS
                start = time.perf_counter()
                clf.partial_fit(X, y, classes=np.arange(10))
                times[library].append(time.perf_counter() - start)
    _kernels.ENABLED = fused
    return {library: statistics.median(t[1:]) for library, t in times.items()}


def sweep(points, run):
    """``run(point)`` for each point, with the ratio skscratch / sklearn; print each row."""
    rows = []
    for point in points:
        row = {"point": point, **run(point)}
        row["ratio"] = row["skscratch"] / row["sklearn"]
        rows.append(row)
        print(f"  {point!s:>8}  " + "  ".join(f"{lib} {row[lib]:.3f}s" for lib in LIBRARIES)
              + f"  ratio {row['ratio']:.2f}", flush=True)
    return rows


def linear_fit(xs, ys):
    """Slope of the line through the origin, and its R^2."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    slope = float(xs @ ys / (xs @ xs))
    residual = ys - slope * xs
    r2 = 1 - float(residual @ residual) / float(((ys - ys.mean()) ** 2).sum())
    return slope, r2


def plot(report, path):
    """Both sweeps side by side, as a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for library, marker in zip(LIBRARIES, "os"):
        n = [r["point"] for r in report["by_samples"]]
        left.plot(n, [r[library] for r in report["by_samples"]], marker=marker, label=library)
        w = [r["point"] for r in report["by_width"]]
        right.plot(w, [r[library] for r in report["by_width"]], marker=marker, label=library)
    left.set(title=f"network {report['samples_network']}: s/epoch against n_samples",
             xlabel="training samples", ylabel="seconds per epoch")
    right.set(title="one hidden layer, all samples: s/epoch against width",
              xlabel="hidden units", ylabel="seconds per epoch", xscale="log", yscale="log")
    right.set_xticks(w, [str(v) for v in w])
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
        ax.set_ylim(bottom=0 if ax is left else None)
    fig.suptitle(f"float32 input, adam, batch 200 — {report['machine']['cpu']}, {report['machine']['cores']} cores",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def markdown_lines(report):
    """The Markdown tables of the report, as lines (publish adds the command line)."""
    lines = [f"# Scaling ({report['dataset']}, float32 input)", "",
             f"Network {report['samples_network']}, s/epoch against training samples:", "",
             "| samples | skscratch s | sklearn s | skscratch / sklearn |", "|---:|---:|---:|---:|"]
    lines += [f"| {r['point']} | {r['skscratch']:.3f} | {r['sklearn']:.3f} | {r['ratio']:.2f} |"
              for r in report["by_samples"]]
    for library in LIBRARIES:
        fit = report["linear_fit"][library]
        lines.append(f"\n{library}: {fit['us_per_sample']:.1f} µs per sample, linear fit R² = {fit['r2']:.4f}")
    lines += ["", "One hidden layer, s/epoch against width:", "",
              "| width | skscratch s | sklearn s | skscratch / sklearn |", "|---:|---:|---:|---:|"]
    lines += [f"| {r['point']} | {r['skscratch']:.3f} | {r['sklearn']:.3f} | {r['ratio']:.2f} |"
              for r in report["by_width"]]
    lines += ["", f"One hidden layer, skscratch with and without its fused kernels ({report['kernels']}):", "",
              # not headed "width": docs/benchmark_figures.py draws the tables headed so
              "| hidden units | parameters | fused s | NumPy steps s | fused / NumPy |", "|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['point']} | {r['parameters']:,} | {r['skscratch']:.3f} | {r[NUMPY_STEPS]:.3f} | "
              f"{r['skscratch'] / r[NUMPY_STEPS]:.2f} |" for r in report["by_width"]]
    return [*lines, ""]


def kernels_description():
    """Whether the fused kernels run here, and from what size."""
    from skscratch._engine import kernels as _kernels

    if not _kernels.ENABLED:
        return "numba missing or switched off: both columns are the NumPy steps"
    import numba

    return f"numba {numba.__version__}, fused from {_kernels.MIN_PARAMS:,} parameters"


def main(argv=None):
    """Both sweeps, then the JSON, Markdown and PNG reports."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per point (default 3)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check the script works")
    add_data_dir_argument(parser)
    add_out_dir_argument(parser)
    args = parser.parse_args(argv)

    if args.quick:
        samples, widths, network = [500, 1000, 1300], [16, 32, 64, 128], (64,)
    else:
        samples, widths, network = [10_000, 30_000, 60_000], [64, 128, 256, 512, 1024], (512, 256)
    try:
        X, y = load_fashion_split(args.data_dir, "train", max(samples), np.float32)
        dataset = "Fashion-MNIST"
    except (FileNotFoundError, OSError):
        if not args.quick:
            raise
        X, y = load_digits_split(max(samples), 0, np.float32)[:2]
        dataset = "digits (Fashion-MNIST not found)"
    samples = [n for n in samples if n <= len(X)]

    print(f"s/epoch against n_samples, network {network}:")
    by_samples = sweep(samples, lambda n: seconds_per_epoch(network, X[:n], y[:n], args.epochs))
    print("s/epoch against width, one hidden layer:")
    by_width = sweep(widths, lambda w: seconds_per_epoch((w,), X, y, args.epochs, (*LIBRARIES, NUMPY_STEPS)))
    for row in by_width:
        row["parameters"] = (X.shape[1] + 1) * row["point"] + (row["point"] + 1) * 10

    report = {
        "dataset": dataset, "samples_network": "-".join(map(str, network)),
        "by_samples": by_samples, "by_width": by_width,
        "linear_fit": {
            lib: dict(zip(("us_per_sample", "r2"), linear_fit(samples, [r[lib] for r in by_samples])))
            for lib in LIBRARIES
        },
        "machine": machine_info(), "command": command_line(), "kernels": kernels_description(),
    }
    for fit in report["linear_fit"].values():
        fit["us_per_sample"] *= 1e6
    name = "bench_scaling_quick" if args.quick else "bench_scaling"
    publish(report, markdown_lines(report), args.out_dir, name)
    plot(report, args.out_dir / f"{name}.png")
    print(f"wrote {args.out_dir / name}.json, .md and .png")


if __name__ == "__main__":
    main()
