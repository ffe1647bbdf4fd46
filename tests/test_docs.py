"""The documentation site builds with no warnings, gallery included, and shows the real code."""

import doctest
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from skscratch import MLPScratchClassifier

plt = pytest.importorskip("matplotlib.pyplot")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))
import benchmark_figures  # noqa: E402


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("sphinx")
    pytest.importorskip("sphinx_gallery")
    if not Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("the gallery needs Debian's dataset-fashion-mnist, which .ci/run installs")
    out = tmp_path_factory.mktemp("site") / "html"
    env = {**os.environ, "SKSCRATCH_QUICK": "1", "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                             str(ROOT / "docs"), str(out)], capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "WARNING" not in result.stderr
    return out


def test_backprop_page_shows_the_code_it_derives(site):
    page = (site / "backprop.html").read_text()
    for name in ("categorical_cross_entropy", "binary_cross_entropy", "identity_derivative", "logistic_derivative",
                 "tanh_derivative", "relu_derivative", "leaky_relu_derivative", "elu_derivative", "update_params"):
        assert f'<span class="nf">{name}</span>' in page, name
    counts = {"forward": 4, "backward": 4, "step": 3, "next_step": 2}  # network, Dense, activation, Dropout; SGD, Adam, AdamW
    for name, count in counts.items():
        assert page.count(f'<span class="nf">{name}</span>') == count, name
    assert '<span class="n">Z_out</span>' in page  # Network.loss_and_gradients, its body
    assert page.count('class="math') > 20  # the equations go to MathJax
    # ... which ships with the site, so the maths renders offline too
    (script,) = [src for src in re.findall(r'<script[^>]*src="([^"]+)"', page) if "mathjax" in src.lower()]
    assert not script.startswith(("http:", "https:", "//")), script
    assert (site / script).stat().st_size > 100_000  # the real MathJax bundle, not a stub
    assert (site / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()


def drawn(path):
    """The image's pixels, after checking it is not blank."""
    pixels = plt.imread(path)[..., :3]
    assert pixels.std() > 0.05, f"{path} is blank"
    return pixels


def test_gallery_and_api_pages(site):
    images = {p.name for p in (site / "_images").iterdir()}
    for example in ("plot_fashion_mnist", "plot_fashion_mnist_recipe", "plot_mnist_from_scratch",
                    "plot_partial_fit_streaming", "plot_pipeline_gridsearch", "plot_what_hidden_units_learn",
                    "plot_tabular_breast_cancer"):
        assert f"sphx_glr_{example}_001.png" in images
        drawn(site / "_images" / f"sphx_glr_{example}_001.png")
    api = (site / "generated" / "skscratch.MLPScratchClassifier.html").read_text()
    for parameter in MLPScratchClassifier().get_params():  # documented, not just in the signature
        assert f"<strong>{parameter}</strong>" in api, parameter
    for method in ("fit", "partial_fit", "predict_proba", "history_"):  # inherited from our base class too
        assert f'id="skscratch.MLPScratchClassifier.{method}"' in api, method
    assert (site / "generated" / "skscratch.datasets.fetch_fashion_mnist.html").exists()


def test_performance_page_draws_the_latest_tables(site):
    page = (site / "performance.html").read_text()
    for figure in ("benchmark_training", "benchmark_scaling"):
        assert f'src="_images/{figure}.png"' in page
        drawn(site / "_images" / f"{figure}.png")
    assert "<table" in page and "Latest results" in page  # the tables the figures are drawn from


def test_benchmark_tables_are_read_as_published():
    text = """# Benchmarks
| not | a result |
|---|---|
| 1 | 2 |
<!-- results -->
#### Network 64

| contender | s/epoch | peak RSS MiB |
|---|---:|---:|
| skscratch-float32 | 0.25 | 300 |
| torch-float32 | 0.5 | 512 |

| skscratch vs peer | ratio or difference |
|---|---:|
| s/epoch | 0.500× |

One hidden layer, s/epoch against width:

| width | skscratch s | sklearn s |
|---:|---:|---:|
| 64 | 0.227 | 0.341 |
"""
    tables = benchmark_figures.read_tables(text)
    # only what follows the marker; two tables under one heading stay apart
    assert [(title, len(rows)) for title, rows in tables] == [
        ("Network 64", 2), ("Network 64", 1), ("One hidden layer, s/epoch against width:", 1)]
    assert tables[0][1][1] == {"contender": "torch-float32", "s/epoch": "0.5", "peak RSS MiB": "512"}
    assert benchmark_figures.number(tables[1][1][0]["ratio or difference"]) == 0.5
    assert benchmark_figures.number("10.12 (19)") == 10.12
    assert benchmark_figures.number("-0.06 points") == -0.06
    with pytest.raises(ValueError, match="no number"):
        benchmark_figures.number("n/a")
    with pytest.raises(ValueError, match="results"):
        benchmark_figures.read_tables(text.replace("<!-- results -->", ""))


def test_published_benchmark_tables_have_what_the_figures_draw():
    tables = benchmark_figures.latest()
    networks = [rows for _, rows in tables if "contender" in rows[0]]
    assert len(networks) >= 1
    for rows in networks:
        names = {row["contender"] for row in rows}
        assert {"skscratch-float32", "sklearn-float32"} <= names <= set(benchmark_figures.CONTENDERS)
        assert all(benchmark_figures.number(row[column]) > 0 for row in rows for column in ("s/epoch", "peak RSS MiB"))
    keys = {key for _, rows in tables for key in ("samples", "width") if key in rows[0]}
    assert keys == {"samples", "width"}


@pytest.mark.parametrize("page", sorted(p.name for p in (ROOT / "docs").glob("*.rst") if ">>>" in p.read_text()))
def test_code_on_the_page_runs(page, tmp_path, monkeypatch, capsys):
    """The ``>>>`` examples of each page run and print what the page says."""
    if page == "gpu.rst":
        pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testfile(str(ROOT / "docs" / page), module_relative=False, optionflags=flags)
    assert result.failed == 0, capsys.readouterr().out[-5000:]
    assert result.attempted >= 5


def code_block_after(page, label):
    """The first ``.. code-block:: python`` of a page after the label ``.. _label:``, dedented."""
    lines = (ROOT / "docs" / page).read_text().split(f".. _{label}:", 1)[1].splitlines()
    start = lines.index(".. code-block:: python") + 1
    body = []
    for line in lines[start:]:
        if line.strip() and not line.startswith(" "):
            break
        body.append(line)
    return textwrap.dedent("\n".join(body)).strip() + "\n"


def test_the_dask_script_runs(tmp_path):
    """docs/scaling.rst's whole script (the README's, before issue 25), run as the script it is."""
    pytest.importorskip("dask_ml")
    pytest.importorskip("distributed")
    script = tmp_path / "scaling_script.py"
    script.write_text(code_block_after("scaling.rst", "scaling-script"))
    result = subprocess.run([sys.executable, "-W", "ignore", str(script)], capture_output=True, text=True,
                            cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    accuracy = float(re.search(r"accuracy (\S+)", result.stdout).group(1))
    assert accuracy > 0.9
    assert re.search(r"\{'hidden_layer_sizes': \((32|64),\)\}", result.stdout)
