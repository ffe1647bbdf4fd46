"""Training benchmark: skscratch against scikit-learn and PyTorch on Fashion-MNIST.

Trains the same multi-layer perceptron with five contenders and reports, for
each network:

- **s/epoch**: the median time of ``--epochs`` timed epochs (at least 3),
  after one timed warm-up epoch that is left out of the median;
- **test acc %**: accuracy on the test images after all epochs (warm-up
  included), from the arg-max of ``predict_proba``;
- **predict_proba s**: the median time of 7 calls of ``predict_proba`` on the
  whole test set (10,000 images);
- **peak RSS MiB**: ``ru_maxrss`` of the contender's process, read right after
  training and before predicting. Each contender runs in a process of its own
  (this script again, in a hidden ``--worker`` mode), so the figure is its own:
  the interpreter, the libraries it imports, the data and the training.

The contenders:

``skscratch-float32``, ``skscratch-float64``
    ``skscratch.MLPScratchClassifier`` on float32 / float64 input.
``sklearn-float32``, ``sklearn-float64``
    ``sklearn.neural_network.MLPClassifier`` on float32 / float64 input.
``torch-float32``
    A ``torch.nn.Sequential`` of ``Linear`` and ``ReLU`` layers, trained with
    ``torch.optim.Adam`` and ``CrossEntropyLoss`` on float32 input.

All of them use ReLU hidden layers, Adam with learning rate 1e-3, minibatches
of 200 and an L2 penalty alpha = 1e-4, and shuffle the samples every epoch.
The two estimators train one epoch per ``partial_fit(X, y, classes=...)``
call, with ``random_state=np.random.RandomState(0)`` (an int seed would
reshuffle the same way every epoch); they draw the same initial weights and
the same shuffles. PyTorch is set up to match them:

- weights and biases drawn Glorot-uniform, U(-b, b) with
  b = sqrt(6 / (fan_in + fan_out)), as scikit-learn does for ReLU networks;
- scikit-learn's penalty ``alpha / (2 n) * sum ||W||^2`` (n the batch size,
  weights only) has the gradient ``(alpha / n) W``: Adam's (coupled)
  ``weight_decay = alpha / n`` on the weights and 0 on the biases adds exactly
  that, inside PyTorch's fused optimizer step (the reported loss leaves out
  the penalty term);
- the samples shuffled every epoch by a ``torch.Generator`` seeded 0;
- ``torch.set_num_threads`` set to the threads of the condition (``--threads``).

The array-library contenders run only when asked for, with ``--array-api``
(all four, after the others) or by name with ``--only``:

``skscratch-torch-cpu-float32``, ``skscratch-torch-cuda-float32``, ``skscratch-cupy-float32``
    skscratch on PyTorch tensors on the CPU and on CUDA, and on CuPy arrays,
    under ``sklearn.config_context(array_api_dispatch=True)`` (the workers set
    ``SCIPY_ARRAY_API=1``); the data go to the device before anything is timed.
``torch-cuda-float32``
    ``torch-float32``'s network, initial weights, shuffles and steps, on CUDA.

A GPU contender ends each timed epoch and ``predict_proba`` call with a
synchronisation of the device, and is skipped, with the reason, where CUDA
(or CuPy) is missing. They have tables, comparisons (against
``skscratch-float32`` and ``torch-cuda-float32``) and targets of their own.
``bench_gpu.py`` runs them on a GPU machine.

Each contender also reports its cold start (the import of its library in a
fresh process, NumPy already loaded; numba's import and the compilation of
skscratch's fused kernels, where they run; the first, warm-up, epoch) apart
from the steady s/epoch, and the memory its fit adds.

The conditions (``_conditions.py``), each combination run in turn:

``--threads 1,all``
    the threads every library may use (default: all the cores): the
    environment's ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``,
    ``MKL_NUM_THREADS``, ``SKSCRATCH_NUM_THREADS``, and in-process
    ``threadpoolctl`` limits (which skscratch's row split follows) and
    ``torch.set_num_threads``;
``--load none,busy-core``
    "busy-core": a Python busy loop pinned to one core while each contender
    trains, as another job on a shared machine (default: none);
``--kernels on,off``
    skscratch with its fused kernels, and without (``SKSCRATCH_KERNELS=0``);
    the other contenders run under "on" alone (default: on).

The matrix products alone are timed under the quiet conditions with the
kernels on only: the kernels do not touch them, and under load they would
time the load.

``--numba-cache fresh`` (the default) gives each skscratch process an empty
numba cache, so that its first epoch compiles the kernels as the first run
after an install does; ``--numba-cache user`` keeps the user's cache.

Every report starts with where it was measured: the CPU (model, CPUID
family and model, AVX2 / AVX-512), the cores, NumPy's BLAS and the kernel it
picked (threadpoolctl), PyTorch's BLAS (read in the PyTorch contender's own
process), the environment variables that choose kernels and threads
(``OPENBLAS_CORETYPE``...), numba's version and whether the kernels ran.
Then a summary, per network, of s/epoch under each condition, the ratios
skscratch / peer under each, and the cold start and memory, which is
also written alone, ready to publish, to ``bench_train_summary.md``.

Below each network's table, the ratios skscratch / peer, and at the end the
project's targets with PASS or MISS. The machine is shared and timings are
noisy: the targets are reported, never asserted, and the script's exit status
does not depend on them.

Usage
-----
Full run (Fashion-MNIST, networks 512-256 and 100)::

    python benchmarks/bench_train.py

A quick check, a few seconds per contender on 3,000 training and 1,000 test
images, network 64 only; it falls back to scikit-learn's bundled digits
(64 features) when the Fashion-MNIST files are missing::

    python benchmarks/bench_train.py --quick

The figures published in the README (one network, every condition; about
10 to 12 minutes on a quiet 2-core AMD EPYC), with OpenBLAS choosing its own
kernel for the CPU::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_train.py \
        --networks 512,256 --threads 1,all --load none,busy-core --kernels on,off

Some options::

    python benchmarks/bench_train.py --networks 100 --epochs 5
    python benchmarks/bench_train.py --only skscratch-float32 torch-float32
    python benchmarks/bench_train.py --only skscratch-float32 skscratch-torch-cpu-float32
    python benchmarks/bench_train.py --array-api --networks 4096,4096 --batch-size 1024

Before and after a change, in one run: ``--baseline REV`` runs every
skscratch contender a second time with the skscratch package of the git
revision REV (``skscratch@REV-float32``...), each right after the contender it
is compared with, and adds the ratios skscratch / skscratch@REV to the
tables::

    python benchmarks/bench_train.py --networks 100 --baseline 46bc5cd

Results go to ``benchmarks/results/bench_train.{json,md}`` and
``bench_train_summary.md`` (``bench_train_quick...`` with ``--quick``), or to
``--out-dir``; the Markdown is printed to stdout as well.

Notes
-----
The data are the Fashion-MNIST IDX files (gzipped or plain) of Debian's
``dataset-fashion-mnist`` package, ``apt-get install -y dataset-fashion-mnist``,
read from ``--data-dir``. Pixels are scaled to [0, 1].

PyTorch is optional. Without it the ``torch-float32`` contender is skipped and
the ratios against it read "n/a". The CPU build is installed with
``pip install torch==2.13.0``.

This script runs the benchmark; the contenders and their measurement are in
``_contenders.py``, the conditions (threads, load, kernels) in
``_conditions.py``, the tables and targets in ``_train_report.py``, the
machine's header in ``_machine.py``, the baseline checkout in
``_baseline.py``, the data in ``_data.py``.
"""


import argparse
import shlex
import sys
import time
from contextlib import nullcontext
from datetime import datetime, timezone

from _baseline import BaselineError, checkout
from _conditions import (
    KERNELS,
    LOADS,
    busy_core,
    can_pin,
    conditions,
    default_condition,
    numba_cache_env,
    parse_choices,
    parse_threads,
)
from _contenders import (
    ARRAY_API_CONTENDERS,
    CONTENDERS,
    SETTINGS,
    WARMUP_EPOCHS,
    numba_need_mib,
    runs_on_gpu,
    spawn_worker,
    split_contender,
    worker_main,
)
from _data import add_data_dir_argument, check_fashion_mnist
from _machine import library_versions, load_average, machine_info, run_header
from _report import add_out_dir_argument, write_report
from _train_report import (
    ARRAY_API_TARGETS,
    array_api_comparisons,
    evaluate_targets,
    markdown_report,
    network_name,
    reference_runs,
    run_comparisons,
    summary,
    summary_markdown,
    uses_array_api,
)

DEFAULT_NETWORKS = ["512,256", "100"]
QUICK_NETWORKS = ["64"]
QUICK_N_TRAIN, QUICK_N_TEST = 3_000, 1_000
MIN_EPOCHS = 3


# ----------------------------------------------------------------------
# The command line


def parse_network(text):
    """``"512,256"`` -> ``(512, 256)``."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a network: give hidden layer sizes like 512,256 or 100."
        )
    return sizes


def parse_epochs(text):
    epochs = int(text)
    if epochs < MIN_EPOCHS:
        raise argparse.ArgumentTypeError(f"--epochs must be at least {MIN_EPOCHS}, got {epochs}.")
    return epochs


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}.")
    return value


def option_parser(parse, *args):
    """An argparse type from a parser of ours that raises ValueError with the whole message."""

    def parse_option(text):
        try:
            return parse(text, *args)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse_option


def build_parser():
    """The command line; ``--worker`` is the hidden mode of the contenders' processes."""
    parser = argparse.ArgumentParser(
        description="Time skscratch's MLP against scikit-learn and PyTorch on Fashion-MNIST.",
    )
    parser.add_argument(
        "--networks", nargs="+", type=parse_network, metavar="SIZES",
        help="hidden layer sizes of each network, comma-separated "
        f"(default: {' '.join(DEFAULT_NETWORKS)}; {' '.join(QUICK_NETWORKS)} with --quick)",
    )  # fmt: skip
    parser.add_argument(
        "--epochs", type=parse_epochs, default=MIN_EPOCHS,
        help=f"timed epochs after the warm-up epoch, at least {MIN_EPOCHS} (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--only", nargs="+", choices=CONTENDERS + ARRAY_API_CONTENDERS, metavar="CONTENDER",
        help=f"run only these contenders, among: {', '.join(CONTENDERS + ARRAY_API_CONTENDERS)}",
    )  # fmt: skip
    parser.add_argument(
        "--array-api", action="store_true",
        help=f"also run the array-library contenders ({', '.join(ARRAY_API_CONTENDERS)}); "
        "those on a GPU are skipped, with the reason, without CUDA",
    )  # fmt: skip
    parser.add_argument(
        "--batch-size", type=positive_int, default=SETTINGS["batch_size"],
        help="minibatch size of every contender (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--baseline", metavar="REV",
        help="also run each skscratch contender with the skscratch of the git revision REV "
        "(as skscratch@REV-float32, ...), and report skscratch / skscratch@REV",
    )  # fmt: skip
    parser.add_argument(
        "--threads", type=option_parser(parse_threads), default="all",
        help="thread counts to run every contender with, comma-separated, 'all' for all the cores "
        "(default: all)",
    )  # fmt: skip
    parser.add_argument(
        "--load", type=option_parser(parse_choices, LOADS), default="none",
        help="the machine's load while each contender trains, comma-separated: none, or busy-core "
        "(a busy loop pinned to one core) (default: none)",
    )  # fmt: skip
    parser.add_argument(
        "--kernels", type=option_parser(parse_choices, KERNELS), default="on",
        help="skscratch's fused kernels on, off (SKSCRATCH_KERNELS=0), or on,off; the other contenders "
        "run with 'on' only (default: on)",
    )  # fmt: skip
    parser.add_argument(
        "--numba-cache", choices=("fresh", "user"), default="fresh",
        help="fresh: an empty numba cache for each skscratch process, so that its first epoch compiles "
        "the kernels, as the first run after an install; user: the cache as it is (default: fresh)",
    )  # fmt: skip
    parser.add_argument(
        "--quick", action="store_true",
        help=f"{QUICK_N_TRAIN:,} training and {QUICK_N_TEST:,} test samples, network "
        f"{' '.join(QUICK_NETWORKS)}; falls back to scikit-learn's digits without Fashion-MNIST",
    )  # fmt: skip
    add_data_arguments(parser)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser


def add_data_arguments(parser):
    """--data-dir, --out-dir, --n-train and --n-test, which the GPU benchmark shares."""
    add_data_dir_argument(parser)
    add_out_dir_argument(parser)
    parser.add_argument(
        "--n-train", type=positive_int, help="use only the first N training samples"
    )
    parser.add_argument("--n-test", type=positive_int, help="use only the first N test samples")


def choose_dataset(args, fallback=None):
    """The data set the workers load; checks the files before anything runs.

    Without the Fashion-MNIST files, scikit-learn's bundled digits stand in
    if ``fallback`` (by default: in quick mode); otherwise it is an error.
    """
    fallback = args.quick if fallback is None else fallback
    n_train = args.n_train or (QUICK_N_TRAIN if args.quick else None)
    n_test = args.n_test or (QUICK_N_TEST if args.quick else None)
    dataset = {
        "name": "fashion-mnist",
        "data_dir": args.data_dir,
        "n_train": n_train,
        "n_test": n_test,
    }
    try:
        dataset["available"] = check_fashion_mnist(args.data_dir)
    except FileNotFoundError as error:
        if not fallback:
            raise SystemExit(f"error: {error}") from None
        print(
            f"note: {error}\nnote: {'quick mode falls' if args.quick else 'falling'} back to "
            "scikit-learn's bundled digits (64 features).",
            file=sys.stderr,
        )
        dataset["name"] = "digits"
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    return dataset


# ----------------------------------------------------------------------
# Running the contenders


def is_skscratch(contender):
    """Whether skscratch trains ``contender`` (a baseline's twin then runs after it)."""
    return split_contender(contender)[0] == "skscratch"


def open_baseline(revision, contenders):
    """The checkout of skscratch at ``revision`` as a context manager; nothing if None."""
    if revision is None:
        return nullcontext()
    if not any(is_skscratch(name) for name in contenders):
        raise SystemExit("error: --baseline compares skscratch with itself: run a skscratch contender.")
    return checkout(revision)


def schedule(contenders, baseline):
    """``(contender, baseline or None)`` in the order they run: each skscratch
    contender's baseline twin right after it, so that both meet the same load."""
    order = []
    for name in contenders:
        order.append((name, None))
        if baseline is not None and is_skscratch(name):
            order.append((baseline.contender(name), baseline))
    return order


def run_network(network, order, dataset, epochs, comparisons, batch_size=SETTINGS["batch_size"],
                condition=None, numba_cache="fresh"):
    """All the contenders on one network under one ``condition`` (default: all the cores, no
    load, the kernels on), each in its own process, on minibatches of ``batch_size``."""
    condition = condition or default_condition()
    results = {}
    for contender, baseline in order:
        if not condition.applies_to(split_contender(contender)[0]):
            continue
        print(f"network {network_name(network)}, {condition.label()}: {contender} ...", file=sys.stderr, flush=True)
        config = {
            "contender": contender,
            "network": list(network),
            "dataset": dataset,
            "epochs": epochs,
            "batch_size": batch_size,
            "threads": condition.threads,
        }
        if baseline is not None:
            config["package_root"] = baseline.root
        results[contender] = spawn_under(condition, config, baseline.env() if baseline else None, numba_cache)
        print(f"    {summary(results[contender])}", file=sys.stderr, flush=True)
    values = {c.key: c.value(results) for c in comparisons}
    cpu_dtypes = {split_contender(c)[1] for c in results if not runs_on_gpu(c)}
    # the floor is NumPy's BLAS alone on a quiet machine: the kernels change nothing there, and under
    # load it would only measure the load
    quiet = condition.kernels and condition.load == "none"
    floor = matmul_floor(network, dataset, epochs, cpu_dtypes, batch_size, condition) if quiet else {}
    return {"network": list(network), "batch_size": batch_size, "condition": condition.to_json(),
            "results": results, "comparisons": values, "floor": floor}


def spawn_under(condition, config, env=None, numba_cache="fresh"):
    """One worker under ``condition``: its threads and kernels in its environment (``env``, by
    default this process's), the busy loop running while it runs, a fresh numba cache for a
    skscratch process if ``numba_cache == "fresh"``. Its result, with the load it met."""
    fresh = numba_cache == "fresh" and split_contender(config["contender"])[0] == "skscratch"
    with numba_cache_env(condition.env(env), fresh) as worker_env, busy_core(condition.load) as load:
        result = spawn_worker(__file__, config, worker_env)
    if load is not None:
        result["busy_core"] = load
    return result


def matmul_floor(network, dataset, epochs, dtypes, batch_size=SETTINGS["batch_size"], condition=None):
    """For each dtype: the s/epoch of the epoch's matrix products alone (``MatmulFloor``), in a worker
    under ``condition``.

    Only the dtypes of the contenders on the CPU: it is their floor.
    """
    condition = condition or default_condition()
    floor = {}
    for dtype in sorted(dtypes):
        config = {"contender": f"floor-{dtype}", "network": list(network), "dataset": dataset, "epochs": epochs,
                  "batch_size": batch_size, "threads": condition.threads}
        floor[dtype] = spawn_under(condition, config)
        print(f"network {network_name(network)}, {condition.label()}: matrix-product floor, {dtype}: "
              f"{summary(floor[dtype])}", file=sys.stderr, flush=True)
    return floor


def describe_baseline(baseline, contenders):
    """The report's ``baseline`` entry: the revision, and which contender each twin is of."""
    if baseline is None:
        return None
    twins = {baseline.contender(n): n for n in contenders if is_skscratch(n)}
    return {"revision": baseline.revision, "commit": baseline.commit, "contenders": twins}


def chosen_contenders(args):
    """The contenders asked for: ``--only``'s or the default five, then with ``--array-api``
    the array-library contenders not among them."""
    contenders = list(args.only or CONTENDERS)
    if args.array_api:
        contenders += [name for name in ARRAY_API_CONTENDERS if name not in contenders]
    return contenders


def run_benchmark(args, networks, dataset):
    """Every network, every condition, every contender; the report's ``runs`` (one per network and
    condition), ``baseline`` and wall time."""
    contenders = chosen_contenders(args)
    plan = conditions(args.threads, args.load, args.kernels)
    with open_baseline(args.baseline, contenders) as baseline:
        order = schedule(contenders, baseline)
        baseline_entry = describe_baseline(baseline, contenders)
        comparisons = run_comparisons(baseline_entry) + array_api_comparisons(contenders)
        started = time.perf_counter()
        runs = [run_network(network, order, dataset, args.epochs, comparisons, args.batch_size, condition,
                            args.numba_cache)
                for network in networks for condition in plan]  # fmt: skip
        return runs, baseline_entry, time.perf_counter() - started


def main(argv=None):
    """Run the benchmark (or, with --worker, one contender); write and print the report."""
    args = build_parser().parse_args(argv)
    if args.worker is not None:
        worker_main(args.worker)
        return 0
    networks = args.networks or [
        parse_network(n) for n in (QUICK_NETWORKS if args.quick else DEFAULT_NETWORKS)
    ]
    if "busy-core" in args.load and not can_pin():
        raise SystemExit("error: --load busy-core pins a busy loop to a core with os.sched_setaffinity, "
                         "which this platform does not have (it is Linux's).")
    dataset = choose_dataset(args)
    load_at_start = load_average()
    try:
        runs, baseline, wall_time = run_benchmark(args, networks, dataset)
    except BaselineError as error:
        raise SystemExit(f"error: {error}") from None
    report = {
        "benchmark": "bench_train",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join([sys.executable, *sys.argv]),
        "argv": sys.argv,
        "quick": args.quick,
        "epochs": args.epochs,
        "warmup_epochs": WARMUP_EPOCHS,
        "settings": {**SETTINGS, "batch_size": args.batch_size},
        "conditions": [c.to_json() for c in conditions(args.threads, args.load, args.kernels)],
        "numba_cache": args.numba_cache,
        "dataset": dataset,
        "header": run_header(load_average_start=load_at_start),
        "machine": machine_info(),
        "versions": library_versions(),
        "runs": runs,
        "wall_time_s": wall_time,
    }
    reference = reference_runs(runs)
    report["targets_condition"] = reference[0]["condition"] if reference else None
    report["numba_need_mib"] = numba_need(runs)
    report["targets"] = evaluate_targets(reference, one_thread_runs=one_thread_runs(runs),
                                         numba_need=report["numba_need_mib"])
    if baseline is not None:
        report["baseline"] = baseline
    if uses_array_api(runs):
        report["array_api_targets"] = evaluate_targets(reference, ARRAY_API_TARGETS)
    return publish(report, args.out_dir, "bench_train_quick" if args.quick else "bench_train")


def one_thread_runs(runs):
    """The runs of the quiet one-thread condition with the kernels on: the targets against the floor's."""
    return [run for run in runs if (run.get("condition") or {}).get("threads") == 1
            and run["condition"]["load"] == "none" and run["condition"]["kernels"]]


def numba_need(runs):
    """{dtype: MiB} numba needs, measured apart (``numba_need_mib``), for the dtypes skscratch ran in
    with its kernels on; {} where none did."""
    dtypes = {split_contender(name)[1] for run in runs if (run.get("condition") or {}).get("kernels", True)
              for name, result in run["results"].items()
              if split_contender(name)[0] == "skscratch" and (result.get("kernels") or {}).get("ran")}
    return {dtype: numba_need_mib(dtype) for dtype in sorted(dtypes)}


def publish(report, out_dir, stem):
    """Write the report as JSON and Markdown, and its summary alone as ``STEM_summary.md``, ready
    to publish; print the Markdown; the exit status: 1 if a contender failed."""
    markdown = markdown_report(report)
    json_path, md_path = write_report(report, markdown, out_dir, stem)
    summary_path = out_dir / f"{stem}_summary.md"
    summary_path.write_text(summary_markdown(report))
    print(markdown)
    print(f"wrote {json_path}, {md_path} and {summary_path}", file=sys.stderr)
    failed = [c for run in report["runs"] for c, r in run["results"].items() if r["status"] == "failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
