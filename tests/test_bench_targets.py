"""The training benchmark's new verdicts, computed by hand: against the floor, and memory with numba's need."""

from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def targets(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import _train_targets

    return _train_targets


def run(threads, results, floor=None):
    every = {"s_per_epoch": 1.0, "predict_proba_s": 1.0, "fit_rss_mib": 1.0, "peak_rss_mib": 1.0, "accuracy_pct": 90.0}
    ok = {name: {"status": "ok", **every, **values} for name, values in results.items()}
    return {"network": [512, 256], "batch_size": 200, "results": ok,
            "floor": {dtype: {"status": "ok", "s_per_epoch": s} for dtype, s in (floor or {}).items()},
            "condition": {"threads": threads, "load": "none", "kernels": True}}


def test_one_thread_targets_are_judged_against_the_floor_of_the_one_thread_run(targets):
    one = run(1, {"skscratch-float32": {"s_per_epoch": 2.3}, "skscratch-float64": {"s_per_epoch": 4.0}},
              floor={"float32": 2.0, "float64": 4.0})
    two = run(2, {"skscratch-float32": {"s_per_epoch": 9.9}}, floor={"float32": 1.0})
    rows = {row["target"]: row for row in targets.evaluate_targets([two], one_thread_runs=[one])}
    f32, f64 = rows["s/epoch, float32 input, 1 thread, 512-256 net"], rows["s/epoch, float64 input, 1 thread, 512-256 net"]
    assert f32["value"] == pytest.approx(1.15) and f32["result"] == "PASS"  # 2.3 / 2.0, at the limit
    assert f64["value"] == pytest.approx(1.0) and f64["result"] == "PASS"
    late = run(1, {"skscratch-float32": {"s_per_epoch": 2.32}}, floor={"float32": 2.0})
    rows = {row["target"]: row for row in targets.evaluate_targets([two], one_thread_runs=[late])}
    assert rows["s/epoch, float32 input, 1 thread, 512-256 net"]["result"] == "MISS"  # 1.16
    assert rows["s/epoch, float64 input, 1 thread, 512-256 net"]["result"] == "n/a"  # not run


def test_the_memory_target_allows_twice_sklearns_and_numbas_own_need(targets):
    measured = run(2, {"skscratch-float32": {"fit_rss_mib": 300.0, "kernels": {"ran": ["adam_step"]}},
                       "sklearn-float32": {"fit_rss_mib": 100.0}})
    comparison = targets.MEMORY_COMPARISON
    with_numba = targets.judged_results(measured, {"float32": 120.0})
    assert comparison.value(with_numba) == pytest.approx(300 / (2 * 100 + 120))
    assert comparison.value(targets.judged_results(measured)) == pytest.approx(1.5)  # judged without numba's need
    rows = targets.evaluate_targets([measured], numba_need={"float32": 120.0})
    memory = next(row for row in rows if row["target"].startswith("memory"))
    assert memory["result"] == "PASS" and memory["measured"] == "0.938×"
    rows = targets.evaluate_targets([measured], numba_need={"float32": 80.0})
    assert next(row for row in rows if row["target"].startswith("memory"))["result"] == "MISS"  # 300 > 280


def test_no_allowance_for_numba_where_no_kernel_ran(targets):
    """A network below the kernels' threshold never loads numba: twice sklearn's, and nothing more."""
    small = run(2, {"skscratch-float32": {"fit_rss_mib": 300.0, "kernels": {"ran": []}},
                    "sklearn-float32": {"fit_rss_mib": 100.0}})
    assert targets.MEMORY_COMPARISON.value(targets.judged_results(small, {"float32": 120.0})) == pytest.approx(1.5)
