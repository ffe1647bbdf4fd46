"""benchmarks/bench_tabular.py keeps working: its --quick mode, run as a user runs it (no timing asserted)."""

import json

from test_benchmarks import assert_header, run


def test_bench_tabular_quick(tmp_path):
    out = run("bench_tabular.py", "--quick", "--out-dir", str(tmp_path))
    report = json.loads((tmp_path / "bench_tabular_quick.json").read_text())
    markdown = (tmp_path / "bench_tabular_quick.md").read_text()
    assert_header(report, markdown)
    assert "TabularMLP" in out and "Targets" in markdown
    # every contender fitted every table of the quick suite, and the tabular one took the raw frames
    assert "| TabularMLP |" in markdown and "failed fits" in markdown
    for line in markdown.splitlines():
        if line.startswith("| TabularMLP |") or line.startswith("| HistGradientBoosting |"):
            assert line.rstrip(" |").endswith("| 0"), line  # no failed fit
