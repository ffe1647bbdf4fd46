"""Where an epoch's time goes: cProfile of one epoch of skscratch on Fashion-MNIST.

One warm-up epoch, then one profiled ``partial_fit`` epoch; prints the
functions that took the most time of their own (the main thread's: BLAS's
threads, and the training threads where a batch's rows are split, are not
profiled),
under the header that names the machine, its BLAS and kernel, and whether
the fused kernels ran.

Usage::

    python benchmarks/profile_epoch.py 512,256            # the fused kernels, if numba is there
    SKSCRATCH_KERNELS=0 python benchmarks/profile_epoch.py 512,256   # the NumPy steps
    python benchmarks/profile_epoch.py 100 --dtype float64 --top 20
"""

import argparse
import cProfile
import pstats
import time
import warnings

import numpy as np
from _data import add_data_dir_argument, load_fashion_split
from _machine import header_lines, load_average, run_header

from skscratch import MLPScratchClassifier


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("network", help="hidden layer sizes, e.g. 512,256")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--top", type=int, default=14, help="how many functions to list (default 14)")
    add_data_dir_argument(parser)
    args = parser.parse_args(argv)
    load_at_start = load_average()
    X, y = load_fashion_split(args.data_dir, "train", 60_000, np.dtype(args.dtype))
    hidden = tuple(int(size) for size in args.network.split(","))
    model = MLPScratchClassifier(hidden, batch_size=200, random_state=np.random.RandomState(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.partial_fit(X, y, classes=np.arange(10))  # warm-up: threads, caches, kernels loaded
        profile = cProfile.Profile()
        start = time.perf_counter()
        profile.enable()
        model.partial_fit(X, y)
        profile.disable()
    print("\n".join(header_lines(run_header(load_average_start=load_at_start))))  # where it was measured
    print(f"one epoch: {time.perf_counter() - start:.3f} s (profiled)")
    pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
