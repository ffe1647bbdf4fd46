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


def test_bench_train_quick(tmp_path):
    out = run("bench_train.py", "--quick", "--only", "skscratch-float32", "sklearn-float32",
              "skscratch-float64", "sklearn-float64", "--out-dir", str(tmp_path))
    report = json.loads((tmp_path / "bench_train_quick.json").read_text())
    assert "| target |" in out and (tmp_path / "bench_train_quick.md").exists()
    (run_,) = report["runs"]
    for dtype in ("float32", "float64"):
        ours, theirs = run_["results"][f"skscratch-{dtype}"], run_["results"][f"sklearn-{dtype}"]
        assert ours["status"] == theirs["status"] == "ok"
        assert len(ours["epoch_times_s"]) == report["warmup_epochs"] + report["epochs"]
        assert ours["peak_rss_mib"] > 0 and ours["predict_proba_s"] > 0
        # the same seeds and the same maths: the same model as scikit-learn's
        assert ours["accuracy_pct"] == pytest.approx(theirs["accuracy_pct"], abs=0.2)
        assert ours["accuracy_pct"] > 50


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


def test_bench_scaling_quick(tmp_path):
    pytest.importorskip("matplotlib")
    run("bench_scaling.py", "--quick", "--epochs", "1", "--out-dir", str(tmp_path))
    report = json.loads((tmp_path / "bench_scaling_quick.json").read_text())
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


def test_bench_fuzz_load_quick(tmp_path):
    out = run("bench_fuzz_load.py", "--quick", "--out-dir", str(tmp_path))
    report = json.loads((tmp_path / "bench_fuzz_load_quick.json").read_text())
    assert report["files"] == 2000 and report["failures"] == []
    assert set(report["outcomes"]) == {"truncate", "bit-flip", "overwrite", "zip-header", "npy-header", "metadata",
                                       "nested-json", "bomb"}
    assert sum(sum(counts.values()) for counts in report["outcomes"].values()) == 2000
    assert 0 < report["worst"]["seconds"] < 2 and report["worst"]["traced_peak_bytes"] > 0
    assert "| bomb | 250 | 250 |" in out and (tmp_path / "bench_fuzz_load_quick.md").exists()


def test_profile_epoch_runs():
    if not Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("needs Debian's dataset-fashion-mnist, which .ci/run installs")
    out = run("profile_epoch.py", "16", "--top", "3")
    assert "one epoch:" in out and "function calls" in out


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
