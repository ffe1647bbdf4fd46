"""The conditions a contender trains under: its threads, the machine's load, skscratch's kernels.

A speed ratio holds for the conditions it was measured in. ``bench_train.py``
runs every contender under each :class:`Condition` asked for
(``--threads 1,all --load none,busy-core --kernels on,off``):

- **threads**: how many threads every library may use. The worker's
  environment gets ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``,
  ``MKL_NUM_THREADS`` and ``SKSCRATCH_NUM_THREADS`` (read when the libraries
  load), and the worker limits them again in-process
  (:func:`limit_threads`: ``threadpoolctl.threadpool_limits``, which
  skscratch's row split follows, and ``torch.set_num_threads``). "all" is
  the cores this process may run on.
- **load**: "none", or "busy-core": a Python busy loop pinned to one core
  (the last this process may use) for as long as the contender's process
  runs, as another user's job on a shared machine (:func:`busy_core`).
- **kernels**: on, or off (``SKSCRATCH_KERNELS=0``), which changes skscratch
  only: the other contenders run with the kernels on alone.

Each skscratch process also gets a numba cache of its own, empty
(``--numba-cache fresh``, :func:`numba_cache_env`): its first epoch then
compiles the fused kernels as the very first run after an install does.
"""

import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass

from _machine import n_cores

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "SKSCRATCH_NUM_THREADS")
LOADS = ("none", "busy-core")
KERNELS = ("on", "off")
# the loop the busy process runs once it has pinned itself to its core
BUSY_LOOP = "import os, sys\nos.sched_setaffinity(0, {%d})\nprint('ready', flush=True)\nwhile True:\n    pass\n"


@dataclass(frozen=True)
class Condition:
    """How one contender trains: ``threads`` (a count), ``load`` (one of ``LOADS``), ``kernels`` (on/off)."""

    threads: int
    load: str = "none"
    kernels: bool = True

    def label(self):
        """"1 thread", "2 threads, busy core, kernels off": the words of tables and headings."""
        words = [f"{self.threads} thread{'s' if self.threads > 1 else ''}"]
        if self.load != "none":
            words.append(self.load.replace("-", " "))
        if not self.kernels:
            words.append("kernels off")
        return ", ".join(words)

    @property
    def key(self):
        """"threads=1,load=none,kernels=on": the condition as a JSON key."""
        return f"threads={self.threads},load={self.load},kernels={'on' if self.kernels else 'off'}"

    def to_json(self):
        return {"threads": self.threads, "load": self.load, "kernels": self.kernels, "label": self.label()}

    def applies_to(self, library):
        """Whether a contender of ``library`` runs under this condition: switching the kernels
        off changes skscratch's NumPy path alone, so the others are not run again."""
        return self.kernels or library == "skscratch"

    def env(self, base=None):
        """The worker's environment: ``base`` (this process's) with the threads and the kernels set."""
        env = dict(os.environ if base is None else base)
        env.update(dict.fromkeys(THREAD_VARIABLES, str(self.threads)))
        if not self.kernels:
            env["SKSCRATCH_KERNELS"] = "0"
        return env


def default_condition():
    """All the cores, no load, the kernels on: how the benchmark ran before it had conditions."""
    return Condition(threads=n_cores())


def parse_threads(text):
    """``"1,all"`` -> ``[1, cores]``: thread counts, "all" meaning every core this process may use."""
    counts = []
    for part in text.split(","):
        part = part.strip()
        count = n_cores() if part == "all" else int(part) if part.isdigit() else 0
        if count < 1:
            raise ValueError(f"expected positive thread counts or 'all', comma-separated (1,all), got {text!r}.")
        counts.append(count)
    return list(dict.fromkeys(counts))


def parse_choices(text, choices):
    """``"none,busy-core"`` -> ``["none", "busy-core"]``, each one of ``choices``."""
    values = [part.strip() for part in text.split(",")]
    if any(value not in choices for value in values):
        raise ValueError(f"expected {', '.join(choices)} (comma-separated), got {text!r}.")
    return list(dict.fromkeys(values))


def conditions(threads, loads, kernels):
    """Every combination, threads slowest and the kernels fastest: the order they run in."""
    return [Condition(count, load, state == "on") for count in threads for load in loads for state in kernels]


# ----------------------------------------------------------------------
# In the worker


def limit_threads(stack, threads, torch=None):
    """Limit every thread pool in this process to ``threads`` (BLAS and OpenMP through
    threadpoolctl, which skscratch's row split follows; PyTorch's own) for as long as
    the ``ExitStack`` ``stack`` is open."""
    from threadpoolctl import threadpool_limits

    stack.enter_context(threadpool_limits(threads))
    if torch is not None:
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        stack.callback(torch.set_num_threads, previous)


# ----------------------------------------------------------------------
# In the parent: the load, and the numba cache


def can_pin():
    """Whether a process can be pinned to a core here (``os.sched_setaffinity``: Linux)."""
    return hasattr(os, "sched_setaffinity")


def busy_core_id():
    """The core the busy loop takes: the last one this process may run on."""
    return max(os.sched_getaffinity(0))


def process_cpu_seconds(pid):
    """User + system CPU seconds of process ``pid`` so far (Linux /proc), or None."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


@contextmanager
def busy_core(load):
    """While the block runs, for ``load == "busy-core"``: a Python busy loop pinned to one core.

    Yields a dict that holds the core and the loop's process id and, once the
    block has ended, the block's wall seconds and the CPU seconds the loop got
    meanwhile (fewer if the machine's other jobs took that core too). The loop
    is killed when the block ends, however it ends. Yields None for
    ``load == "none"``. Linux only (``os.sched_setaffinity``).
    """
    if load == "none":
        yield None
        return
    core = busy_core_id()
    process = subprocess.Popen([sys.executable, "-c", BUSY_LOOP % core], stdout=subprocess.PIPE, text=True)
    record = {"core": core, "pid": process.pid, "wall_s": None, "cpu_s": None}
    try:
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the busy loop did not start on core {core} (exit status {process.poll()})")
        started, cpu_before = time.perf_counter(), process_cpu_seconds(process.pid)
        yield record
        cpu_after = process_cpu_seconds(process.pid)
        record["wall_s"] = time.perf_counter() - started
        if cpu_before is not None and cpu_after is not None:
            record["cpu_s"] = cpu_after - cpu_before
    finally:
        process.kill()
        process.wait()
        process.stdout.close()


@contextmanager
def numba_cache_env(env, fresh):
    """``env`` with an empty numba cache of its own if ``fresh`` (removed when the block ends).

    ``SKSCRATCH_CACHE_DIR`` (skscratch's own setting, first in its order),
    ``NUMBA_CACHE_DIR`` and ``XDG_CACHE_HOME`` (what older revisions, for
    ``--baseline``, follow) all point to it, so that the first call of each
    fused kernel compiles it.
    """
    if not fresh:
        yield env
        return
    with tempfile.TemporaryDirectory(prefix="skscratch-numba-cache-") as folder:
        yield {**env, "SKSCRATCH_CACHE_DIR": folder, "NUMBA_CACHE_DIR": folder, "XDG_CACHE_HOME": folder}
