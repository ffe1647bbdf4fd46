"""GPU benchmark: skscratch on PyTorch CUDA tensors and CuPy arrays, against PyTorch on CUDA.

Meant for a machine with an NVIDIA GPU, PyTorch built for CUDA and CuPy, where
it takes a few minutes; without CUDA it says so and exits 0, measuring
nothing. It runs ``bench_train.py``'s array-library contenders, with
``bench_train.py``'s machinery (each contender in a process of its own, one
warm-up and ``--epochs`` timed epochs, Adam with learning rate 1e-3, alpha
1e-4, ReLU, float32; see that script's docstring), on two networks:

- **512-256**, minibatches of 200: ``skscratch-float32`` (skscratch's NumPy
  path, on the CPU), ``skscratch-torch-cuda-float32``,
  ``skscratch-cupy-float32`` and ``torch-cuda-float32`` (PyTorch's own
  ``nn.Sequential`` on CUDA);
- **4096-4096**, minibatches of 1024: the three GPU contenders.

Every timed epoch and ``predict_proba`` call of a GPU contender ends with a
synchronisation of the device, and the data are put on the device before
anything is timed. A contender whose library or device is missing (CuPy not
installed, say) is skipped with the reason, and the others still run.

It reports the ratios and checks the targets of ``_train_report.ARRAY_API_TARGETS``:
skscratch on PyTorch CUDA tensors at least 10 times as fast per epoch as
its NumPy path on the CPU (512-256), and within 1.25 times PyTorch's own
network on CUDA (512-256), 1.10 times on the 4096-4096 network.

Usage
-----
::

    python benchmarks/bench_gpu.py --out-dir /tmp/bench_gpu
    python benchmarks/bench_gpu.py --epochs 5

Results go to ``bench_gpu.{json,md}`` in ``--out-dir`` (default
``benchmarks/results``); the Markdown is printed to stdout as well.

Notes
-----
The data are Fashion-MNIST's IDX files in ``--data-dir`` (Debian's
``dataset-fashion-mnist``) if they are there, else scikit-learn's bundled
digits; nothing is ever downloaded.
"""

import argparse
import shlex
import sys
import time
from datetime import datetime, timezone

from _contenders import DEVICES, SETTINGS, WARMUP_EPOCHS, split_contender
from _conditions import default_condition
from _machine import library_versions, load_average, machine_info, run_header
from _train_report import ARRAY_API_TARGETS, array_api_comparisons, evaluate_targets
from bench_train import MIN_EPOCHS, add_data_arguments, choose_dataset, parse_epochs, publish, run_network, schedule

CPU_PEER = "skscratch-float32"
GPU_CONTENDERS = ("skscratch-torch-cuda-float32", "skscratch-cupy-float32", "torch-cuda-float32")
# (hidden layers, batch size, contenders)
PLAN = (
    ((512, 256), 200, (CPU_PEER, *GPU_CONTENDERS)),
    ((4096, 4096), 1024, GPU_CONTENDERS),
)
TITLE = "GPU benchmark: skscratch on PyTorch and CuPy arrays against PyTorch on CUDA"


def build_parser():
    parser = argparse.ArgumentParser(
        description="Time skscratch on PyTorch CUDA tensors and CuPy arrays against PyTorch on CUDA.",
    )
    parser.add_argument(
        "--epochs", type=parse_epochs, default=MIN_EPOCHS,
        help=f"timed epochs after the warm-up epoch, at least {MIN_EPOCHS} (default: %(default)s)",
    )  # fmt: skip
    add_data_arguments(parser)
    parser.set_defaults(quick=False)  # for bench_train's choose_dataset: all the samples unless told
    return parser


def gpu_unavailable():
    """Why no GPU contender can run here, as a sentence; None if one can."""
    reasons = [DEVICES[split_contender(name)[0]].unavailable() for name in GPU_CONTENDERS]
    if all(reasons):
        return "; ".join(dict.fromkeys(reasons))  # each reason once, in order
    return None


def run_plan(dataset, epochs):
    """Each network of ``PLAN`` with its contenders and batch size: the report's ``runs``."""
    runs = []
    for network, batch_size, contenders in PLAN:
        order = schedule(contenders, None)
        runs.append(run_network(network, order, dataset, epochs, array_api_comparisons(contenders), batch_size))
    return runs


def main(argv=None):
    """Run the plan on the GPU, or say why not; write and print the report."""
    args = build_parser().parse_args(argv)
    reason = gpu_unavailable()
    if reason is not None:
        print(
            f"note: no CUDA device for PyTorch or CuPy here ({reason}). bench_gpu.py measures "
            "nothing on this machine; run it on one with an NVIDIA GPU, PyTorch built for CUDA "
            "and CuPy.",
            file=sys.stderr,
        )
        return 0
    dataset = choose_dataset(args, fallback=True)
    load_at_start = load_average()
    started = time.perf_counter()
    runs = run_plan(dataset, args.epochs)
    report = {
        "benchmark": "bench_gpu",
        "title": TITLE,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join([sys.executable, *sys.argv]),
        "argv": sys.argv,
        "quick": False,
        "epochs": args.epochs,
        "warmup_epochs": WARMUP_EPOCHS,
        "settings": SETTINGS,
        "conditions": [default_condition().to_json()],
        "numba_cache": "fresh",
        "dataset": dataset,
        "header": run_header(load_average_start=load_at_start),
        "machine": machine_info(),
        "versions": library_versions(),
        "runs": runs,
        "targets": [],  # bench_train's: their CPU peers do not run here
        "array_api_targets": evaluate_targets(runs, ARRAY_API_TARGETS),
        "wall_time_s": time.perf_counter() - started,
    }
    return publish(report, args.out_dir, "bench_gpu")


if __name__ == "__main__":
    sys.exit(main())
