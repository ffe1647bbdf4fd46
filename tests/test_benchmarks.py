"""The benchmarks keep working: their --quick modes, run as a user runs them.

Timings are never asserted here (the machine is shared and noisy); only that
the scripts run, measure every contender and write their reports.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run(script, *args, env=None, cwd=None):
    """Run a benchmark as a user does, from a folder outside the repository unless ``cwd``."""
    result = subprocess.run([sys.executable, str(BENCHMARKS / script), *args], capture_output=True,
                            text=True, timeout=600, env=env, cwd=cwd or tempfile.gettempdir())
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout


def needs_git_history():
    """Skip unless git runs and the repository's history is here (not in an unpacked sdist)."""
    git = shutil.which("git")
    if git is None:
        pytest.skip("needs git")
    head = subprocess.run([git, "-C", str(BENCHMARKS.parent), "rev-parse", "--verify", "HEAD^{commit}"],
                          capture_output=True)
    if head.returncode != 0:
        pytest.skip("needs the repository's git history")


def cores():
    """The cores this test process may run on: what the benchmarks call "all"."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def assert_header(report, markdown):
    """A report names where it was measured: CPU, cores, BLAS and kernel, environment, versions."""
    header = report["header"]
    assert header["machine"]["cpu"] and header["machine"]["cores"] == cores()
    assert set(header["environment"]) >= {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS",
                                          "SKSCRATCH_NUM_THREADS", "SKSCRATCH_KERNELS"}
    assert header["environment"]["OPENBLAS_CORETYPE"] == os.environ.get("OPENBLAS_CORETYPE")
    assert all({"library", "version", "kernel", "threads"} <= set(pool) for pool in header["blas"])
    assert header["versions"]["numpy"] and "numba" in header["versions"]
    for words in ("- Machine: ", f"{header['machine']['cores']} cores", "- BLAS (threadpoolctl", "- Environment: ",
                  "OPENBLAS_CORETYPE", "- Fused kernels: ", "- Versions: "):
        assert words in markdown, words
    for pool in header["blas"]:  # the kernel OpenBLAS picked, as threadpoolctl names it
        assert f"{pool['library']} {pool['version']}, {pool['kernel'] or 'its'} kernel" in markdown


def test_bench_train_quick(tmp_path):
    out = run("bench_train.py", "--quick", "--only", "skscratch-float32", "sklearn-float32",
              "skscratch-float64", "sklearn-float64", "--out-dir", str(tmp_path))
    report = json.loads((tmp_path / "bench_train_quick.json").read_text())
    assert "| target |" in out and (tmp_path / "bench_train_quick.md").exists()
    assert_header(report, out)
    (run_,) = report["runs"]
    # by default every library may use every core, nothing else runs, the kernels are on
    assert run_["condition"] == {"threads": cores(), "load": "none", "kernels": True,
                                 "label": f"{cores()} thread{'s' if cores() > 1 else ''}"}
    for dtype in ("float32", "float64"):
        ours, theirs = run_["results"][f"skscratch-{dtype}"], run_["results"][f"sklearn-{dtype}"]
        assert ours["status"] == theirs["status"] == "ok"
        assert len(ours["epoch_times_s"]) == report["warmup_epochs"] + report["epochs"]
        assert ours["peak_rss_mib"] > 0 and ours["predict_proba_s"] > 0
        # the cold start apart: the import, and the warm-up epoch left out of s/epoch
        assert ours["import_s"] > 0 and ours["first_epoch_s"] == ours["epoch_times_s"][0]
        assert ours["s_per_epoch"] == sorted(ours["epoch_times_s"][1:])[len(ours["epoch_times_s"][1:]) // 2]
        # a network below the kernels' threshold: numba is neither imported nor compiling
        assert ours["numba_import_s"] is None and ours["jit_compile_s"] is None and ours["kernels"]["ran"] == []
        assert ours["jit_compiles"] is None
        # every core, at most (a BLAS may be built for fewer threads than a large machine has)
        assert ours["threads"]["blas"] and all(1 <= threads <= cores() for threads in ours["threads"]["blas"])
        # the same seeds and the same maths: the same model as scikit-learn's
        assert ours["accuracy_pct"] == pytest.approx(theirs["accuracy_pct"], abs=0.2)
        assert ours["accuracy_pct"] > 50
    # the summary, ready to publish: the machine, then the conditions side by side
    summary = (tmp_path / "bench_train_quick_summary.md").read_text()
    assert summary.startswith("### bench_train on ") and "- BLAS (threadpoolctl" in summary
    assert f"| s/epoch | {run_['condition']['label']} |" in summary
    assert "| skscratch-float32 / sklearn-float32 |" in summary and "| cold start and memory |" in summary
    # its tables are not headed "contender": the docs' figures draw only those (docs/benchmark_figures.py)
    assert "| contender |" not in summary


def test_bench_train_conditions_quick(tmp_path):
    """One thread, a busy core, the kernels on and off: each condition is what it says."""
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("the busy core is pinned with os.sched_setaffinity (Linux)")
    numba = importlib.util.find_spec("numba") is not None
    # 1024-256 has over 200,000 parameters on the digits' 64 features too: the kernels run
    out = run("bench_train.py", "--quick", "--networks", "1024,256", "--n-train", "600", "--n-test", "200",
              "--only", "skscratch-float32", "--threads", "1", "--load", "none,busy-core", "--kernels", "on,off",
              "--out-dir", str(tmp_path))
    report = json.loads((tmp_path / "bench_train_quick.json").read_text())
    assert [run_["condition"]["label"] for run_ in report["runs"]] == [
        "1 thread", "1 thread, kernels off", "1 thread, busy core", "1 thread, busy core, kernels off"]
    results = [run_["results"]["skscratch-float32"] for run_ in report["runs"]]
    for result in results:
        assert result["status"] == "ok"
        # every pool held to one thread, skscratch's row split included
        assert set(result["threads"]["blas"]) == {1} and result["threads"]["skscratch"] == 1
    for result in results[2:]:  # the busy loop ran pinned to one of our cores, and is gone
        assert result["busy_core"]["core"] in os.sched_getaffinity(0) and result["busy_core"]["cpu_s"] is not None
        assert not Path(f"/proc/{result['busy_core']['pid']}").exists()
    assert "busy_core" not in results[0] and "busy_core" not in results[1]
    with_kernels, without = results[2:]
    # the same model with and without the kernels, with and without load, to the bit
    assert all(result["loss_curve"] == with_kernels["loss_curve"] for result in results)
    assert without["kernels"]["enabled"] is False and without["kernels"]["ran"] == []
    assert without["numba_import_s"] is None and without["jit_compile_s"] is None and without["jit_compiles"] is None
    if numba:  # compiled in this run: each process has a fresh, empty numba cache
        assert with_kernels["kernels"]["ran"] and with_kernels["jit_compiles"] >= len(with_kernels["kernels"]["ran"])
        assert with_kernels["numba_import_s"] > 0 and with_kernels["jit_compile_s"] > 0
        assert "they ran on 1024-256" in out
    # the floor is run once, quiet and with the kernels on: they change nothing in it, and load only blurs it
    assert report["runs"][0]["floor"] and [run_["floor"] for run_ in report["runs"][1:]] == [{}, {}, {}]
    # judged against it, on one thread: a measured ratio, not "n/a"
    floor_target = next(row for row in report["targets"] if row["target"].startswith("s/epoch, float32 input, 1 "))
    assert floor_target["result"] in ("PASS", "MISS") and floor_target["value"] > 0.5
    # numba's own need, measured apart, for the memory target
    assert (report["numba_need_mib"]["float32"] > 10) if numba else report["numba_need_mib"] == {}
    summary = (tmp_path / "bench_train_quick_summary.md").read_text()
    assert "| s/epoch | 1 thread | 1 thread, busy core |" in summary and "| skscratch-float32, kernels off |" in summary
    assert "| skscratch-float32, kernels off / skscratch-float32 |" in summary
    assert "busy loop pinned to CPU" in summary and "SKSCRATCH_KERNELS=0" in summary


@pytest.mark.parametrize("option, value, words", [
    ("--threads", "0", "expected positive thread counts or 'all'"),
    ("--threads", "1,many", "expected positive thread counts or 'all'"),
    ("--load", "heavy", "expected none, busy-core"),
    ("--kernels", "maybe", "expected on, off"),
])  # fmt: skip
def test_bench_train_refuses_bad_conditions(tmp_path, option, value, words):
    result = subprocess.run([sys.executable, str(BENCHMARKS / "bench_train.py"), "--quick", option, value,
                             "--out-dir", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"argument {option}: {words}" in result.stderr and list(tmp_path.iterdir()) == []


@pytest.fixture
def benchmark_modules(monkeypatch):
    """The benchmarks' shared modules, importable as the scripts import them."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("_conditions"), importlib.import_module("_machine")


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="pins with os.sched_setaffinity (Linux)")
def test_busy_core_is_pinned_and_always_killed(benchmark_modules):
    conditions, _ = benchmark_modules
    with pytest.raises(KeyboardInterrupt):  # however the block ends
        with conditions.busy_core("busy-core") as record:
            pid = record["pid"]
            assert os.sched_getaffinity(pid) == {record["core"]} and record["core"] in os.sched_getaffinity(0)
            raise KeyboardInterrupt
    assert not Path(f"/proc/{pid}").exists()
    with conditions.busy_core("none") as record:
        assert record is None


def test_conditions_set_the_workers_environment(benchmark_modules):
    conditions, _ = benchmark_modules
    base = {"OMP_NUM_THREADS": "8", "SKSCRATCH_KERNELS": "1", "PATH": "/bin"}
    one = conditions.Condition(threads=1, load="busy-core", kernels=False)
    env = one.env(base)
    assert {name: env[name] for name in conditions.THREAD_VARIABLES} == dict.fromkeys(conditions.THREAD_VARIABLES, "1")
    assert env["SKSCRATCH_KERNELS"] == "0" and env["PATH"] == "/bin" and base["OMP_NUM_THREADS"] == "8"
    assert one.label() == "1 thread, busy core, kernels off"
    # the kernels are skscratch's: switching them off does not run the others again
    assert one.applies_to("skscratch") and not one.applies_to("torch") and not one.applies_to("sklearn")
    assert conditions.Condition(threads=3).env(base)["SKSCRATCH_KERNELS"] == "1"
    assert conditions.parse_threads("1,all,1") == [1, cores()] or cores() == 1
    assert [c.label() for c in conditions.conditions([1], ["none", "busy-core"], ["on", "off"])] == [
        "1 thread", "1 thread, kernels off", "1 thread, busy core", "1 thread, busy core, kernels off"]
    with conditions.numba_cache_env({"A": "1"}, fresh=True) as fresh:
        folder = Path(fresh["NUMBA_CACHE_DIR"])
        assert folder.is_dir() and list(folder.iterdir()) == []
        assert fresh["SKSCRATCH_CACHE_DIR"] == fresh["XDG_CACHE_HOME"] == str(folder)
    assert not folder.exists()
    with conditions.numba_cache_env({"A": "1"}, fresh=False) as kept:
        assert kept == {"A": "1"}


MKL_BUILD = """PyTorch built with:
  - GCC 13.3
  - Intel(R) oneAPI Math Kernel Library Version 2024.2-Product Build 20240605 for Intel(R) 64 architecture applications
  - CPU capability usage: AVX512
  - Build settings: BLAS_INFO=mkl, BUILD_TYPE=Release, LAPACK_INFO=mkl, USE_MKL=ON,
"""
OPENBLAS_BUILD = """PyTorch built with:
  - GCC 11.2
  - CPU capability usage: NO AVX
  - Build settings: BLAS_INFO=open, BUILD_TYPE=Release, LAPACK_INFO=open, USE_MKL=OFF,
"""


@pytest.mark.parametrize("config, blas, mkl, capability", [
    (MKL_BUILD, "mkl", "2024.2-Product Build 20240605", "AVX512"),
    (OPENBLAS_BUILD, "open", None, "NO"),
    ("PyTorch built with:\n  - GCC 13.3\n", None, None, None),
])  # fmt: skip
def test_torch_blas_read_from_the_build(benchmark_modules, config, blas, mkl, capability):
    """PyTorch's BLAS from its build configuration, whatever the build (a fake torch: nothing imported)."""
    _, machine = benchmark_modules

    class FakeTorch:
        __version__ = "9.9.9"
        __config__ = type("Config", (), {"show": staticmethod(lambda: config)})
        backends = type("Backends", (), {"mkl": type("Mkl", (), {"is_available": staticmethod(lambda: mkl is not None)})})

        @staticmethod
        def get_num_threads():
            return 3

    info = machine.torch_blas(FakeTorch)
    assert (info["blas"], info["mkl_version"], info["cpu_capability"]) == (blas, mkl, capability)
    assert info["threads"] == 3 and info["torch"] == "9.9.9" and info["mkl_available"] == (mkl is not None)
    words = machine.describe_torch_blas(info)
    assert (f"MKL {mkl} (BLAS_INFO=mkl)" if mkl else f"(BLAS_INFO={blas or 'unknown'})") in words


def test_header_names_the_blas_kernel_and_the_environment(benchmark_modules):
    _, machine = benchmark_modules
    pools = machine.blas_pools([
        {"user_api": "blas", "internal_api": "openblas", "version": "0.3.31", "architecture": "SkylakeX",
         "num_threads": 4, "threading_layer": "pthreads", "filepath": "/v/site-packages/numpy.libs/libopenblas.so"},
        {"user_api": "blas", "internal_api": "openblas", "version": "0.3.30", "architecture": "Haswell",
         "num_threads": 4, "threading_layer": "pthreads", "filepath": "/v/site-packages/scipy.libs/libopenblas.so"},
        {"user_api": "openmp", "internal_api": "openmp", "num_threads": 4, "filepath": "/v/torch/lib/libgomp.so"},
    ])  # fmt: skip
    assert [(pool["owner"], pool["kernel"]) for pool in pools] == [("NumPy", "SkylakeX"), ("SciPy", "Haswell")]
    header = {
        "machine": {"cpu": "Intel(R) Xeon(R)", "cpu_family": "6", "cpu_model": "106", "isa": ["avx2", "fma", "avx512f"],
                    "cores": 4, "logical_cpus": 8, "memory_gib": 16.0, "platform": "Linux"},
        "blas": pools,
        "environment": machine.environment({"OPENBLAS_CORETYPE": "Haswell", "OMP_NUM_THREADS": "1"}),
        "load_average_start": 0.5, "load_average": 1.5,
        "versions": {"python": "3.11", "numpy": "2.4.6", "torch": None},
        "kernels": {"numba": None},
    }  # fmt: skip
    text = "\n".join(machine.header_lines(header))
    assert "Intel(R) Xeon(R) (CPUID family 6, model 106; AVX2, FMA, AVX-512), 4 cores (8 logical CPUs)" in text
    assert "NumPy's openblas 0.3.31, SkylakeX kernel, 4 threads" in text and "SciPy's openblas 0.3.30, Haswell" in text
    assert "OPENBLAS_CORETYPE=Haswell" in text and "OPENBLAS_L2_SIZE unset" in text and "OMP_NUM_THREADS=1" in text
    assert "load average (1 min) 0.5 at the start, 1.5 at the end" in text and "numba not installed" in text
    assert "PyTorch's BLAS" not in text and "torch" not in text.split("- Versions: ")[1]  # not installed: not named
    with_torch = "\n".join(machine.header_lines(header, torch_info={"blas": "mkl", "mkl_version": "2024.2", "torch": "2.13"}))
    assert "- PyTorch's BLAS (in the PyTorch contender's own process): MKL 2024.2 (BLAS_INFO=mkl)" in with_torch
    no_avx512 = {**header["machine"], "isa": ["avx2", "fma"]}
    assert "AVX2, FMA, no AVX-512" in machine.describe_cpu(no_avx512)


def test_bench_train_baseline_quick(tmp_path):
    """--baseline runs skscratch again with the package of a git revision, right after, and compares."""
    needs_git_history()
    temp = tmp_path / "temp"  # where the revision's checkout goes, and must be gone from at the end
    temp.mkdir()
    out = run("bench_train.py", "--quick", "--only", "skscratch-float32", "--baseline", "HEAD",
              "--out-dir", str(tmp_path), env={**os.environ, "TMPDIR": str(temp)}, cwd=tmp_path)
    report = json.loads((tmp_path / "bench_train_quick.json").read_text())
    twin = f"skscratch@{report['baseline']['revision']}-float32"
    assert report["baseline"]["contenders"] == {twin: "skscratch-float32"}
    (run_,) = report["runs"]
    assert list(run_["results"]) == ["skscratch-float32", twin]
    ours, theirs = run_["results"]["skscratch-float32"], run_["results"][twin]
    assert ours["status"] == theirs["status"] == "ok"
    # the same model unless the working tree changed skscratch since HEAD
    assert ours["accuracy_pct"] == pytest.approx(theirs["accuracy_pct"], abs=0.2)
    assert run_["comparisons"][f"s_per_epoch: skscratch-float32 / {twin}"] > 0
    assert f"| s/epoch: skscratch-float32 / {twin} |" in out and f"| {twin} |" in out
    assert list(temp.iterdir()) == []


def test_bench_train_baseline_unknown_revision(tmp_path):
    needs_git_history()
    result = subprocess.run([sys.executable, str(BENCHMARKS / "bench_train.py"), "--quick", "--only",
                             "skscratch-float32", "--baseline", "no-such-revision", "--out-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "error: cannot check out skscratch at 'no-such-revision'" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_bench_cli_defaults_quick(tmp_path):
    out = run("bench_cli_defaults.py", "--quick", "--out-dir", str(tmp_path))
    assert "Chosen" in (tmp_path / "cli_defaults_quick.md").read_text()
    assert "MLPClassifier()" in out
    assert_header(json.loads((tmp_path / "cli_defaults_quick.json").read_text()), out)


def test_bench_scaling_quick(tmp_path):
    pytest.importorskip("matplotlib")
    run("bench_scaling.py", "--quick", "--epochs", "1", "--out-dir", str(tmp_path))
    report = json.loads((tmp_path / "bench_scaling_quick.json").read_text())
    assert_header(report, (tmp_path / "bench_scaling_quick.md").read_text())
    assert len(report["by_samples"]) == 3 and len(report["by_width"]) == 4
    assert all(row["skscratch"] > 0 and row["sklearn"] > 0 for row in report["by_samples"])
    assert (tmp_path / "bench_scaling_quick.png").stat().st_size > 10_000


def test_bench_fashion_recipe_quick(tmp_path):
    pytest.importorskip("matplotlib")
    if not Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("needs Debian's dataset-fashion-mnist, which .ci/run installs")
    out = run("bench_fashion_recipe.py", "--quick", "--out-dir", str(tmp_path))
    report = json.loads((tmp_path / "bench_fashion_recipe_quick.json").read_text())
    recipe, sklearn = report["recipe"], report["sklearn"]
    assert [row["epoch"] for row in recipe["history"]] == [1, 2, 3, 4]
    # the recipe's final accuracy is its last epoch's, as the example printed it
    assert recipe["test_accuracy"] == recipe["history"][-1]["test_accuracy"] > 0.8
    assert 1 <= len(sklearn["history"]) <= 4
    assert sklearn["best"]["test_accuracy"] == max(r["test_accuracy"] for r in sklearn["history"]) > 0.7
    assert "sklearn MLPClassifier" in out and report["epoch_seconds_ratio"] > 0
    assert_header(report, out)
    assert "not observed: the recipe trains in a process of its own" in out


def test_bench_dask_memory_quick(tmp_path):
    pytest.importorskip("dask_ml", reason="needs the [dask] extra")
    if not Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("needs Debian's dataset-fashion-mnist, which .ci/run installs")
    out = run("bench_dask_memory.py", "--quick", "--out-dir", str(tmp_path))
    report = json.loads((tmp_path / "bench_dask_memory_quick.json").read_text())
    small, large = report["runs"]
    assert (small["rows"], large["rows"]) == (20_000, 160_000) and large["chunks"] == 16
    for run_ in report["runs"]:
        assert len(run_["worker_peak_mib"]) == 2 and run_["worker_limit_mib"] == 1024
        # a worker ends above where it started and below its limit: it was measured, and it survived
        assert all(start < peak < 1024 for start, peak in zip(run_["worker_start_mib"], run_["worker_peak_mib"]))
        assert run_["test_accuracy"] > 0.6
    assert report["ratios_8x_over_1x"]["worker_peak"] == pytest.approx(
        max(large["worker_peak_mib"]) / max(small["worker_peak_mib"]))
    assert "| 160,000 | 16 |" in out
    assert_header(report, out)


def test_bench_dask_search_quick(tmp_path):
    pytest.importorskip("distributed", reason="needs the [dask] extra")
    out = run("bench_dask_search.py", "--quick", "--out-dir", str(tmp_path))
    report = json.loads((tmp_path / "bench_dask_search_quick.json").read_text())
    results = report["results"]
    assert list(results) == ["local n_jobs=1", "local n_jobs=1, 1 BLAS thread", "local n_jobs=-1 (loky)",
                             "dask n_jobs=-1 (LocalCluster 2x1)"]
    # the same search with the same BLAS threads, wherever it ran, gives the same scores
    assert all(result["same_as_local_one_blas_thread"] for result in list(results.values())[1:])
    assert len(results["local n_jobs=1"]["mean_test_score"]) == 4
    assert all(result["seconds"] > 0 for result in results.values()) and report["dask_cluster_start_seconds"] > 0
    assert "| dask n_jobs=-1 (LocalCluster 2x1) |" in out
    assert_header(report, out)


def test_bench_fuzz_load_quick(tmp_path):
    out = run("bench_fuzz_load.py", "--quick", "--out-dir", str(tmp_path))
    report = json.loads((tmp_path / "bench_fuzz_load_quick.json").read_text())
    assert report["files"] == 2000 and report["failures"] == []
    assert set(report["outcomes"]) == {"truncate", "bit-flip", "overwrite", "zip-header", "npy-header", "metadata",
                                       "nested-json", "bomb"}
    assert sum(sum(counts.values()) for counts in report["outcomes"].values()) == 2000
    assert_header(report, out)
    assert 0 < report["worst"]["seconds"] < 2 and report["worst"]["traced_peak_bytes"] > 0
    assert "| bomb | 250 | 250 |" in out and (tmp_path / "bench_fuzz_load_quick.md").exists()


def test_profile_epoch_runs():
    if not Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("needs Debian's dataset-fashion-mnist, which .ci/run installs")
    out = run("profile_epoch.py", "16", "--top", "3")
    assert "one epoch:" in out and "function calls" in out
    assert "- Machine: " in out and "- BLAS (threadpoolctl" in out and "OPENBLAS_CORETYPE" in out


def without_cuda():
    """This environment with no CUDA device visible: a test never needs, nor uses, a GPU."""
    return {**os.environ, "CUDA_VISIBLE_DEVICES": ""}


def test_bench_gpu_without_cuda_says_so(tmp_path):
    result = subprocess.run([sys.executable, str(BENCHMARKS / "bench_gpu.py"), "--out-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=600, env=without_cuda())
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert "note: no CUDA device" in result.stderr and "measures nothing" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_bench_train_torch_cpu_quick(tmp_path):
    """skscratch on PyTorch's CPU tensors against its NumPy path; a GPU contender is skipped, with why."""
    if importlib.util.find_spec("torch") is None:
        pytest.skip("needs PyTorch")
    out = run("bench_train.py", "--quick", "--only", "skscratch-float32", "skscratch-torch-cpu-float32",
              "torch-cuda-float32", "--out-dir", str(tmp_path), env=without_cuda())
    report = json.loads((tmp_path / "bench_train_quick.json").read_text())
    (run_,) = report["runs"]
    ours, numpy_path = run_["results"]["skscratch-torch-cpu-float32"], run_["results"]["skscratch-float32"]
    assert ours["status"] == numpy_path["status"] == "ok"
    assert ours["device"].startswith("torch ") and ours["device"].endswith(", cpu")
    assert len(ours["epoch_times_s"]) == report["warmup_epochs"] + report["epochs"]
    # the same initial weights and shuffles, in float32 in either library
    assert ours["accuracy_pct"] == pytest.approx(numpy_path["accuracy_pct"], abs=0.5)
    gpu = run_["results"]["torch-cuda-float32"]
    assert gpu["status"] == "skipped" and "CUDA" in gpu["reason"]
    assert run_["comparisons"]["s_per_epoch: skscratch-torch-cpu-float32 / skscratch-float32"] > 0
    # in a table of their own, not in the contenders' (which the docs' figures draw)
    contenders_table = out.split("| contender |", 1)[1].split("\n\n", 1)[0]
    assert "skscratch-torch-cpu-float32" not in contenders_table
    assert "| skscratch-torch-cpu-float32 | torch " in out and "| torch-cuda-float32 | skipped: " in out
    assert [row["result"] for row in report["array_api_targets"]] == ["n/a"] * 3
    # PyTorch's BLAS, read where PyTorch was imported: the contender's own process
    assert ours["torch_blas"]["blas"] and ours["torch_blas"]["torch"].startswith(report["versions"]["torch"][:4])
    assert "- PyTorch's BLAS (in the PyTorch contender's own process): " in out
