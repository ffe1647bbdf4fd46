"""The command line and the examples, run as a user runs them."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import skscratch as package

ROOT = Path(__file__).resolve().parents[1]


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)


def demo_command():
    return [str(Path(sys.executable).parent / "skscratch"), "demo"]  # this environment's: runs this checkout


@pytest.mark.parametrize("command", [demo_command(), [sys.executable, "-m", "skscratch", "demo"]],
                         ids=["console-script", "python-m"])
def test_demo_prints_a_line_per_epoch_and_the_test_accuracy(command, tmp_path):
    result = run(command + ["--epochs", "12", "--hidden", "32"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    epochs = re.findall(r"^epoch +(\d+)/12 +loss (\S+) +train acc (\S+) +test acc (\S+)", result.stdout, re.M)
    assert [int(e[0]) for e in epochs] == list(range(1, 13))
    losses = [float(e[1]) for e in epochs]
    assert losses[-1] < losses[0] / 2  # it learns
    accuracy = float(re.search(r"^Test accuracy: (\S+)$", result.stdout, re.M).group(1))
    assert accuracy == float(epochs[-1][3]) and accuracy > 0.8


def test_demo_default_run_reaches_high_accuracy_and_writes_model_and_plots(tmp_path):
    result = run(demo_command(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    accuracy = float(re.search(r"Test accuracy: (\S+)", result.stdout).group(1))
    assert accuracy > 0.95
    out = tmp_path / "skscratch-demo"
    assert sorted(p.name for p in out.iterdir()) == ["hidden_units.png", "learning_curves.png", "model.npz",
                                                     "predictions.png"]
    assert "Wrote model.npz, learning_curves.png, predictions.png, hidden_units.png" in result.stdout
    model = package.load(out / "model.npz")
    assert model.hidden_layer_sizes == (64,) and len(model.loss_curve_) == 30
    from matplotlib.image import imread

    for name in ("hidden_units.png", "learning_curves.png", "predictions.png"):
        picture = imread(out / name)
        assert picture.shape[0] > 300 and picture[..., :3].std() > 0.05  # drawn, not blank


def test_demo_progress_bar_on_a_terminal():
    import io

    from skscratch.cli import demo

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    demo(epochs=4, hidden=(16,), out=screen)
    text = screen.getvalue()
    frames = text.split("\r")[1:]  # each epoch redraws the same line
    assert len(frames) == 4
    assert frames[0].startswith("[######------------------] epoch 1/4  loss ")
    assert frames[-1].startswith("[########################] epoch 4/4") and "ETA" in frames[-1]
    assert "test acc" in frames[-1] and frames[-1].endswith("\n" + text.splitlines()[-1] + "\n")


def test_demo_on_fashion_mnist(tmp_path):
    if not Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("needs Debian's dataset-fashion-mnist, which .ci/run installs")
    result = run(demo_command() + ["--dataset", "fashion-mnist", "--epochs", "2", "--hidden", "32"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "on 60000 Fashion-MNIST images, testing on 10000" in result.stdout
    assert float(re.search(r"Test accuracy: (\S+)", result.stdout).group(1)) > 0.8
    assert (tmp_path / "skscratch-demo" / "predictions.png").is_file()


@pytest.mark.parametrize("bad", [["--epochs", "0"], ["--hidden", "0"], ["--hidden", "a,b"], ["fly"]])
def test_bad_arguments_fail_with_a_message(bad):
    command = demo_command()[:1] + (bad if bad == ["fly"] else ["demo", *bad])
    result = run(command)
    assert result.returncode == 2
    assert "error:" in result.stderr


def test_help():
    result = run(demo_command() + ["--help"])
    assert result.returncode == 0 and "--epochs" in result.stdout


# the accuracy each example reaches in its quick mode (small data, few epochs)
QUICK_ACCURACY = {"plot_pipeline_gridsearch.py": 0.9, "plot_fashion_mnist_recipe.py": 0.8,
                  "plot_mnist_from_scratch.py": 0.8, "plot_what_hidden_units_learn.py": 0.75,
                  "plot_partial_fit_streaming.py": 0.9, "plot_fashion_mnist.py": 0.75,
                  "dask_out_of_core.py": 0.7}


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.py")), ids=lambda p: p.name)
def test_example_runs(example, tmp_path):
    if "fashion" in example.read_text() and not Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("needs Debian's dataset-fashion-mnist, which .ci/run installs")
    if "dask_ml" in example.read_text():
        pytest.importorskip("dask_ml", reason="needs the [dask] extra")
    env = {**os.environ, "SKSCRATCH_QUICK": "1", "MPLBACKEND": "Agg"}
    result = run([sys.executable, str(example)], env=env, cwd=tmp_path)  # files it writes go there
    assert result.returncode == 0, result.stderr
    accuracy = float(re.findall(r"held-out accuracy (\S+)", result.stdout)[-1])  # the final one
    assert accuracy > QUICK_ACCURACY[example.name]


def test_regression_demo_prints_r2_per_epoch(tmp_path):
    result = run(demo_command() + ["--task", "regression", "--epochs", "15"], cwd=tmp_path)  # writes its files there
    assert result.returncode == 0, result.stderr
    assert "diabetes" in result.stdout
    epochs = re.findall(r"^epoch +(\d+)/15 +loss (\S+) +train R2 (\S+) +test R2 (\S+)", result.stdout, re.M)
    assert [int(e[0]) for e in epochs] == list(range(1, 16))
    r2 = float(re.search(r"^Test R\^2: (\S+)$", result.stdout, re.M).group(1))
    assert r2 == float(epochs[-1][3]) and r2 > 0.3  # linear models reach about 0.35-0.45


# ----------------------------------------------------------------------
# train, evaluate, predict on a small Kaggle-style CSV


def skscratch(*args, **kwargs):
    return run(demo_command()[:1] + list(args), **kwargs)


@pytest.fixture(scope="module")
def kaggle_files(tmp_path_factory):
    """Kaggle's train.csv / test.csv layout, from the 8x8 digits scaled to 0-255."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    pixels = pd.DataFrame((X * 255 / 16).round().astype(int), columns=[f"pixel{i}" for i in range(64)])
    folder = tmp_path_factory.mktemp("kaggle")
    pixels.iloc[:1400].assign(label=y[:1400])[["label", *pixels.columns]].to_csv(folder / "train.csv", index=False)
    pixels.iloc[1400:].assign(label=y[1400:])[["label", *pixels.columns]].to_csv(folder / "valid.csv", index=False)
    pixels.iloc[1400:].to_csv(folder / "test.csv", index=False)
    return folder, np.asarray(y[1400:])


def test_train_evaluate_predict_on_kaggle_csv(kaggle_files, tmp_path):
    folder, y_test = kaggle_files
    model = tmp_path / "model.npz"
    result = skscratch("train", "--data", str(folder / "train.csv"), "--hidden", "64", "--epochs", "15",
                       "--out", str(model))
    assert result.returncode == 0, result.stderr
    epochs = re.findall(r"^epoch +(\d+)/15 +loss \S+ +val acc (\S+) .*ETA", result.stdout, re.M)
    assert [int(e) for e, _ in epochs] == list(range(1, 16)) and float(epochs[-1][1]) > 0.85
    loaded = package.load(model)
    assert loaded.hidden_layer_sizes == (64,) and loaded.n_features_in_ == 64

    result = skscratch("evaluate", "--model", str(model), "--data", str(folder / "valid.csv"))
    assert result.returncode == 0, result.stderr
    accuracy = float(re.search(r"^Accuracy: (\S+) on 397 images$", result.stdout, re.M).group(1))
    assert accuracy > 0.85 and "precision" in result.stdout and "Confusion matrix" in result.stdout
    rows = re.findall(r"^ +(\d)((?: +\d+){10})$", result.stdout, re.M)  # one row per true class
    matrix = np.array([[int(v) for v in row.split()] for _, row in rows])
    assert matrix.shape == (10, 10) and matrix.sum() == 397
    assert np.trace(matrix) == round(accuracy * 397)

    out = tmp_path / "submission.csv"
    result = skscratch("predict", "--model", str(model), "--data", str(folder / "test.csv"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    submission = pd.read_csv(out)
    assert list(submission.columns) == ["ImageId", "Label"]
    assert submission["ImageId"].tolist() == list(range(1, 398))
    assert (submission["Label"].to_numpy() == y_test).mean() == pytest.approx(accuracy, abs=5e-5)


@pytest.mark.parametrize("command, options", [("train", ["--data", "--out", "--hidden", "--epochs"]),
                                               ("evaluate", ["--model", "--data"]),
                                               ("predict", ["--model", "--data", "--out"])])
def test_subcommand_help(command, options):
    result = skscratch(command, "--help")
    assert result.returncode == 0 and all(option in result.stdout for option in options)


def test_the_from_scratch_workflow_fits_in_15_lines():
    import ast

    source = (ROOT / "examples" / "plot_mnist_from_scratch.py").read_text()
    body = source.splitlines()[ast.parse(source).body[0].end_lineno:]  # after the docstring
    code = [line for line in body if line.strip() and not line.strip().startswith("#")]
    assert len(code) <= 15, code
