"""Peak memory of out-of-core training on Dask, at 1x and 8x the rows.

Runs ``examples/dask_out_of_core.py`` as a user runs it, once per size, each
in a process of its own that starts a new ``LocalCluster`` (two worker
processes of one thread, 1 GiB each): it streams augmented Fashion-MNIST
images through ``dask_ml.wrappers.Incremental`` and ``partial_fit``, and
prints the peak resident memory of each worker and of the client (Linux's
``VmHWM``), the training time and the held-out accuracy. If memory does not
grow with the rows, the 8x run peaks where the 1x run does.

Writes ``results/bench_dask_memory.json`` and ``.md`` (``_quick`` with
``--quick``: 20,000 and 160,000 rows, the example's small network).

Usage::

    python benchmarks/bench_dask_memory.py [--quick] [--rows N] [--out-dir DIR]
"""

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from _data import add_data_dir_argument
from _machine import machine_info
from _report import add_out_dir_argument, command_line, publish

# the training runs in Dask's worker processes: this one cannot see what the kernels did there
CHILD_KERNELS = ("not observed: the training runs in Dask's worker processes (a 784-256-10 network, "
                 "203,530 parameters, over the kernels' 200,000-parameter threshold: they run there if "
                 "numba is installed and SKSCRATCH_KERNELS is not 0)")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "dask_out_of_core.py"
FACTOR = 8


def run_example(n_rows, quick, data_dir):
    """What the example prints about a stream of ``n_rows`` rows, parsed."""
    env = {**os.environ, "SKSCRATCH_QUICK": "1" if quick else "0", "SKSCRATCH_STREAM_ROWS": str(n_rows),
           "FASHION_MNIST_DIR": str(data_dir)}
    started = time.perf_counter()
    result = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{EXAMPLE.name} failed on {n_rows} rows:\n{result.stderr[-3000:]}")
    stream = re.search(r"^stream of (\S+) rows in (\d+) chunks: (\S+) GiB", result.stdout, re.MULTILINE)
    trained = re.search(r"^training time (\S+) s, held-out accuracy (\S+)$", result.stdout, re.MULTILINE)
    memory = re.search(r"^peak RSS MiB: workers ([\d ]+) \(at start ([\d ]+); limit (\d+) each\), client (\d+)$",
                       result.stdout, re.MULTILINE)
    return {
        "rows": int(stream.group(1).replace(",", "")),
        "chunks": int(stream.group(2)),
        "stream_gib": float(stream.group(3)),
        "train_seconds": float(trained.group(1)),
        "test_accuracy": float(trained.group(2)),
        "worker_peak_mib": [int(mib) for mib in memory.group(1).split()],
        "worker_start_mib": [int(mib) for mib in memory.group(2).split()],
        "worker_limit_mib": int(memory.group(3)),
        "client_peak_mib": int(memory.group(4)),
        "wall_seconds": wall,
        "stdout": result.stdout,
    }


def main(argv=None):
    """The example at 1x and 8x the rows, then the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 and 160,000 rows, a small network")
    parser.add_argument("--rows", type=int, help="rows of the 1x run (default 125,000; 20,000 with --quick)")
    add_data_dir_argument(parser)
    add_out_dir_argument(parser)
    args = parser.parse_args(argv)

    rows = args.rows or (20_000 if args.quick else 125_000)
    runs = [run_example(n, args.quick, args.data_dir) for n in (rows, FACTOR * rows)]
    small, large = runs
    ratios = {"worker_peak": max(large["worker_peak_mib"]) / max(small["worker_peak_mib"]),
              "client_peak": large["client_peak_mib"] / small["client_peak_mib"]}
    name = "bench_dask_memory" + ("_quick" if args.quick else "")
    report = {"runs": runs, "ratios_8x_over_1x": ratios, "machine": machine_info(),
              "command": command_line()}
    lines = [
        "# Out-of-core training on Dask: peak memory at 1x and 8x the rows" + (" (quick mode)" if args.quick else ""),
        "",
        f"`examples/dask_out_of_core.py`: two workers of one thread, {small['worker_limit_mib']} MiB each; "
        "peak RSS (VmHWM) of each worker and of the client.",
        "",
        "| rows | chunks | stream GiB | workers at start MiB | workers' peak MiB | client peak MiB "
        "| training s | test accuracy |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        lines.append(f"| {run['rows']:,} | {run['chunks']} | {run['stream_gib']:.2f} | "
                     f"{' / '.join(map(str, run['worker_start_mib']))} | "
                     f"{' / '.join(map(str, run['worker_peak_mib']))} | {run['client_peak_mib']} | "
                     f"{run['train_seconds']:.1f} | {run['test_accuracy']:.2%} |")
    lines += [
        "",
        f"{FACTOR}x / 1x: workers' peak {ratios['worker_peak']:.2f}, client peak {ratios['client_peak']:.2f}.",
        "",
    ]
    publish(report, lines, args.out_dir, name, kernels_text=CHILD_KERNELS)


if __name__ == "__main__":
    main()
