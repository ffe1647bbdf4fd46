"""The documentation site builds with no warnings, gallery included, and shows the real code."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


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
    for name in ("forward", "loss_and_gradients", "categorical_cross_entropy", "binary_cross_entropy",
                 "identity_derivative", "logistic_derivative", "tanh_derivative", "relu_derivative", "leaky_relu_derivative",
                 "elu_derivative", "gelu_derivative", "update_params"):
        assert f'<span class="nf">{name}</span>' in page, name
    assert page.count('<span class="nf">update_params</span>') == 3  # SGD, Adam, AdamW
    assert page.count('class="math') > 20  # the equations go to MathJax


def test_gallery_and_api_pages(site):
    images = {p.name for p in (site / "_images").iterdir()}
    for example in ("plot_fashion_mnist", "plot_fashion_mnist_recipe", "plot_mnist_from_scratch",
                    "plot_partial_fit_streaming", "plot_what_hidden_units_learn"):
        assert f"sphx_glr_{example}_001.png" in images
    api = (site / "generated" / "skscratch.MLPScratchClassifier.html").read_text()
    for parameter in ("hidden_layer_sizes", "dropout", "class_weight", "warmup_iter", "max_grad_norm"):
        assert parameter in api
    for method in ("fit", "partial_fit", "predict_proba", "history_"):  # inherited from our base class too
        assert f'id="skscratch.MLPScratchClassifier.{method}"' in api, method
    assert (site / "generated" / "skscratch.datasets.fetch_fashion_mnist.html").exists()
