"""What a benchmark ran on: the machine, the library versions, BLAS threads, peak memory.

Nothing here imports the libraries it reports on: versions are read from the
package metadata, so asking costs no memory in a process that is measured.
"""

import importlib.metadata
import os
import platform
import resource
import sys

PACKAGES = ("numpy", "scikit-learn", "torch", "skscratch", "threadpoolctl")


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
    """Platform, Python, CPU model, cores and memory, as a dict for the JSON reports."""
    mem_kib = read_proc_field("/proc/meminfo", "MemTotal")
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": read_proc_field("/proc/cpuinfo", "model name") or platform.processor(),
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
