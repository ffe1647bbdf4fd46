"""What a benchmark ran on: the machine, its BLAS, the library versions, peak memory.

A speed figure holds for the machine it was measured on: the CPU, the cores,
the BLAS library and the kernel it picked for that CPU, the threads, and the
environment variables that change them. :func:`run_header` gathers all that
for a report, :func:`header_lines` writes it as the Markdown bullets every
benchmark prints above its tables.

Nothing here imports the libraries it reports on: versions are read from the
package metadata, the BLAS libraries (NumPy's, SciPy's) where they are loaded
already (threadpoolctl), PyTorch's in a process that has imported PyTorch (:func:`torch_blas`,
called by the PyTorch contender in its own process), and the fused kernels'
state in a process that trained (:func:`kernels_state`), so asking costs no
memory in a process that is measured.
"""

import importlib.metadata
import os
import platform
import re
import resource
import sys

PACKAGES = ("numpy", "scipy", "scikit-learn", "torch", "numba", "skscratch", "threadpoolctl")
# What changes which BLAS kernel runs and how many threads anything uses: reported, set or not
ENVIRONMENT = (
    "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS", "SKSCRATCH_NUM_THREADS", "SKSCRATCH_KERNELS", "SKSCRATCH_CACHE_DIR", "NUMBA_CACHE_DIR",
)  # fmt: skip
# the instruction sets that decide the BLAS kernels and what LLVM vectorises for
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile")


def n_cores():
    """The cores this process may run on (its affinity where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def read_proc_field(path, field):
    """The value of the first ``field : value`` line of a /proc file, or None."""
    try:
        with open(path) as f:
            for line in f:
                name, _, value = line.partition(":")
                if name.strip() == field:
                    return value.strip()
    except OSError:
        pass
    return None


def machine_info():
    """Platform, Python, CPU model, cores and memory, as a dict for the JSON reports.

    ``cpu_family`` and ``cpu_model`` are the CPUID numbers (a model name such
    as "AMD EPYC" leaves out the generation, which decides the BLAS kernel);
    ``isa`` lists which of ``ISA_FLAGS`` the CPU has.
    """
    mem_kib = read_proc_field("/proc/meminfo", "MemTotal")
    flags = (read_proc_field("/proc/cpuinfo", "flags") or "").split()
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": read_proc_field("/proc/cpuinfo", "model name") or platform.processor(),
        "cpu_family": read_proc_field("/proc/cpuinfo", "cpu family"),
        "cpu_model": read_proc_field("/proc/cpuinfo", "model"),
        "isa": [flag for flag in ISA_FLAGS if flag in flags] if flags else None,
        "cores": n_cores(),
        "logical_cpus": os.cpu_count(),
        "memory_gib": round(int(mem_kib.split()[0]) / 2**20, 1) if mem_kib else None,
    }


def library_versions():
    """Installed versions, read from the package metadata (nothing is imported)."""
    versions = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def threadpool_info():
    """``threadpoolctl.threadpool_info()``: the BLAS and OpenMP pools loaded; None without it."""
    try:
        import threadpoolctl
    except ImportError:
        return None
    return threadpoolctl.threadpool_info()


def environment(environ=os.environ):
    """The ``ENVIRONMENT`` variables as they are set here: name -> value, None where unset."""
    return {name: environ.get(name) for name in ENVIRONMENT}


def load_average():
    """The 1-minute load average (None where the OS has none): how busy the shared machine was."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def blas_pools(pools=None):
    """The BLAS libraries loaded in this process (or in ``pools``, a ``threadpool_info()`` taken
    elsewhere): library, version, the kernel it picked for this CPU, threads, and its file."""
    pools = threadpool_info() if pools is None else pools
    return [
        {
            "owner": blas_owner(pool.get("filepath") or ""),
            "library": pool.get("internal_api"),
            "version": pool.get("version"),
            "kernel": pool.get("architecture"),  # OpenBLAS's core type, e.g. Haswell, SkylakeX, Zen
            "threads": pool.get("num_threads"),
            "threading_layer": pool.get("threading_layer"),
            "file": os.path.basename(pool.get("filepath") or ""),
        }
        for pool in pools or []
        if pool.get("user_api") == "blas"
    ]


def blas_owner(filepath):
    """The package whose wheel brought a BLAS library, from its path: ``.../numpy.libs/...`` ->
    "NumPy" (NumPy and SciPy each bring their own OpenBLAS); None if it cannot tell."""
    owners = {"numpy.libs": "NumPy", "numpy": "NumPy", "scipy.libs": "SciPy", "scipy": "SciPy", "torch": "PyTorch"}
    for part in reversed(filepath.replace("\\", "/").split("/")[:-1]):
        if part in owners:
            return owners[part]
    return None


def torch_blas(torch):
    """PyTorch's BLAS, read in a process that has imported ``torch``: the library its build
    names (``BLAS_INFO``: mkl, openblas...), the MKL version if any, the CPU capability
    it dispatches to, its threads, and the BLAS pools threadpoolctl sees there (MKL linked
    into PyTorch is not among them)."""
    config = torch.__config__.show()
    blas = re.search(r"BLAS_INFO=([^,\s]+)", config)
    mkl = re.search(r"Math Kernel Library Version ([^\n]+?)(?: for |\n|$)", config)
    capability = re.search(r"CPU capability usage: (\S+)", config)
    return {
        "blas": blas.group(1) if blas else None,
        "mkl_version": mkl.group(1).strip() if mkl else None,
        "mkl_available": bool(torch.backends.mkl.is_available()),
        "cpu_capability": capability.group(1) if capability else None,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "pools": blas_pools(),
    }


def kernels_state():
    """skscratch's fused kernels in this process, after it trained: whether numba is installed and
    the kernels switched on, which ran (were called, hence compiled or loaded from numba's cache),
    the cache hits and misses, and LLVM's target CPU. Nothing is imported that is not loaded."""
    state = {"numba": library_versions()["numba"], "enabled": None, "ran": [], "cache_hits": 0,
             "cache_misses": 0, "llvm_cpu": None}  # fmt: skip
    kernels = sys.modules.get("skscratch._engine.kernels")
    if kernels is None:  # skscratch never needed them: a small network, or not skscratch
        return state
    state["enabled"] = bool(kernels.ENABLED)
    for function, dispatcher in getattr(kernels, "_compiled", {}).items():
        stats = getattr(dispatcher, "stats", None)
        if stats is None or not dispatcher.overloads:  # plain Python, or never called
            continue
        state["ran"].append(function.__name__.lstrip("_"))
        state["cache_hits"] += sum(stats.cache_hits.values())
        state["cache_misses"] += sum(stats.cache_misses.values())
    binding = sys.modules.get("llvmlite.binding")
    if binding is not None:
        state["llvm_cpu"] = binding.get_host_cpu_name()
    return state


def run_header(kernels=None, load_average_start=None):
    """What a report says its figures were measured on: the machine, the BLAS libraries loaded in
    this process (NumPy's, SciPy's...), the environment, the load average (now, and ``load_average_start`` if the
    caller read it when the run began), the versions, and the fused kernels' state
    (``kernels``; by default, as this process left them)."""
    return {
        "machine": machine_info(),
        "blas": blas_pools(),
        "environment": environment(),
        "load_average_start": load_average_start,
        "load_average": load_average(),
        "versions": library_versions(),
        "kernels": kernels_state() if kernels is None else kernels,
    }


def describe_cpu(machine):
    """"AMD EPYC (CPUID family 25, model 1; AVX2, FMA, no AVX-512), 2 cores"."""
    details = []
    if machine.get("cpu_family") is not None:
        details.append(f"CPUID family {machine['cpu_family']}, model {machine['cpu_model']}")
    if machine.get("isa") is not None:
        isa = [flag.upper().replace("_", "-") for flag in machine["isa"] if flag in ("avx2", "fma", "avx512f")]
        isa = [("AVX-512" if flag == "AVX512F" else flag) for flag in isa]
        details.append(", ".join(isa + ([] if "avx512f" in machine["isa"] else ["no AVX-512"])))
    text = machine["cpu"] + (f" ({'; '.join(details)})" if details else "")
    return f"{text}, {machine['cores']} cores ({machine['logical_cpus']} logical CPUs)"


def describe_blas(pools):
    """"NumPy's openblas 0.3.31, Haswell kernel, 2 threads (libscipy_openblas64_...so)"; "none loaded"."""
    if not pools:
        return "none loaded"
    described = []
    for pool in pools:
        owner = f"{pool['owner']}'s " if pool.get("owner") else ""
        described.append(f"{owner}{pool['library']} {pool['version']}, {pool['kernel'] or 'its'} kernel, "
                         f"{pool['threads']} threads ({pool['file']})")
    return "; ".join(described)


def describe_torch_blas(torch_info):
    """"MKL 2024.2-Product Build 20240605 (BLAS_INFO=mkl), CPU capability AVX2, PyTorch 2.13.0+cpu"."""
    blas = torch_info.get("blas") or "unknown"
    name = f"MKL {torch_info['mkl_version']}" if blas == "mkl" and torch_info.get("mkl_version") else blas
    return (f"{name} (BLAS_INFO={blas}), CPU capability {torch_info.get('cpu_capability') or 'unknown'}, "
            f"PyTorch {torch_info.get('torch')}")  # fmt: skip


def describe_environment(env):
    """"OPENBLAS_CORETYPE unset, OMP_NUM_THREADS=1, ..."."""
    return ", ".join(f"{name}={value}" if value is not None else f"{name} unset" for name, value in env.items())


def describe_kernels(kernels):
    """The fused kernels in words: numba's version, and whether they ran."""
    if kernels.get("numba") is None:
        return "numba not installed: skscratch steps in NumPy"
    text = f"numba {kernels['numba']}"
    if kernels.get("enabled") is None:
        return text + "; skscratch did not train in this process"
    if not kernels["enabled"]:
        return text + "; switched off (SKSCRATCH_KERNELS=0)"
    if not kernels["ran"]:
        return text + "; enabled, but none ran (they step networks of 200,000 parameters or more)"
    return (text + f"; ran: {', '.join(kernels['ran'])} ({kernels['cache_misses']} compiled, "
            f"{kernels['cache_hits']} loaded from numba's cache), LLVM target {kernels.get('llvm_cpu')}")  # fmt: skip


def header_lines(header, torch_info=None, kernels_text=None):
    """The Markdown bullets that name where a report's figures were measured.

    ``torch_info`` is :func:`torch_blas` as the PyTorch contender's process
    reported it (None: PyTorch was not a contender); ``kernels_text`` says what
    the fused kernels did where that is not this process (the training ran in
    other processes).
    """
    machine, versions = header["machine"], header["versions"]
    load = f"{header.get('load_average')} at the end"
    if header.get("load_average_start") is not None:
        load = f"{header['load_average_start']} at the start, {load}"
    lines = [
        f"- Machine: {describe_cpu(machine)}, {machine['memory_gib']} GiB, {machine['platform']}; "
        f"load average (1 min) {load}.",
        f"- BLAS (threadpoolctl, in this process): {describe_blas(header['blas'])}.",
    ]
    if torch_info is not None:
        lines.append(f"- PyTorch's BLAS (in the PyTorch contender's own process): {describe_torch_blas(torch_info)}.")
    lines += [
        f"- Environment: {describe_environment(header['environment'])}.",
        f"- Fused kernels: {kernels_text or describe_kernels(header['kernels'])}.",
        "- Versions: " + ", ".join(f"{name} {version}" for name, version in versions.items() if version) + ".",
    ]
    return lines


def _proc_status_mib(field):
    """A field of /proc/self/status in MiB (Linux), or None."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def reset_peak_rss():
    """Start measuring the peak RSS afresh from now (Linux: /proc/self/clear_refs); False if it cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def rss_mib():
    """(RSS now, its peak since the last reset_peak_rss) in MiB; the peak is ru_maxrss where Linux's is missing."""
    now, peak = _proc_status_mib("VmRSS"), _proc_status_mib("VmHWM")
    return (now if now is not None else peak_rss_mib()), (peak if peak is not None else peak_rss_mib())


def peak_rss_mib():
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform == "darwin":  # bytes on macOS
        kib /= 1024
    return kib / 1024
