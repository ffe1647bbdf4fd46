"""The command line and the examples, run as a user runs them."""

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

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
    pytest.importorskip("matplotlib")  # the plots: the [plot] extra
    result = run(demo_command(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    accuracy = float(re.search(r"Test accuracy: (\S+)", result.stdout).group(1))
    assert accuracy > 0.95
    out = tmp_path / "skscratch-demo"
    # no hidden_units.png: the weights of 8x8 digits look like noise, and the demo says so
    assert sorted(p.name for p in out.iterdir()) == ["learning_curves.png", "model.npz", "predictions.png"]
    assert "Wrote model.npz, learning_curves.png, predictions.png to" in result.stdout
    assert "Not drawn: hidden_units.png, since the weights of a unit on 8x8 digits look like noise" in result.stdout
    model = package.load(out / "model.npz")  # the scaler and the network
    network = model.named_steps["mlp"]
    assert network.hidden_layer_sizes == (64,) and len(network.loss_curve_) == 30
    X, y = load_digits(return_X_y=True)  # raw, as a user has them: the file holds the demo's scaling
    _, X_test, _, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    assert model.score(X_test, y_test) == pytest.approx(accuracy, abs=5e-5)
    from matplotlib.image import imread

    for name in ("learning_curves.png", "predictions.png"):
        picture = imread(out / name)
        assert picture.shape[0] > 300 and picture[..., :3].std() > 0.05  # drawn, not blank


def test_demo_progress_bar_on_a_terminal():
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


def test_the_demo_folder_holds_the_last_runs_files_only(tmp_path):
    """A regression run after a classification run leaves no classification plot behind; nothing else goes."""
    pytest.importorskip("matplotlib")
    from skscratch.cli import demo

    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "notes.txt").write_text("a file of the user's")
    (folder / "predictions.csv").write_text("another")

    def run(task):
        demo(epochs=2, hidden=(8,), task=task, out=io.StringIO(), out_dir=folder)
        return sorted(p.name for p in folder.iterdir())

    mine = ["notes.txt", "predictions.csv"]
    (folder / "hidden_units.png").write_text("drawn by a run on Fashion-MNIST")  # not by one on the digits
    assert run("classification") == sorted(["learning_curves.png", "model.npz", "predictions.png", *mine])
    assert run("regression") == sorted(["learning_curves.png", "model.npz", *mine])
    assert type(package.load(folder / "model.npz")[-1]) is package.MLPScratchRegressor
    assert run("classification") == sorted(["learning_curves.png", "model.npz", "predictions.png", *mine])
    assert (folder / "notes.txt").read_text() == "a file of the user's"


def test_demo_on_fashion_mnist(tmp_path):
    pytest.importorskip("matplotlib")  # predictions.png: the [plot] extra
    if not Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("needs Debian's dataset-fashion-mnist, which .ci/run installs")
    result = run(demo_command() + ["--dataset", "fashion-mnist", "--epochs", "2", "--hidden", "32"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "on 60000 Fashion-MNIST images, testing on 10000" in result.stdout
    assert float(re.search(r"Test accuracy: (\S+)", result.stdout).group(1)) > 0.8
    assert (tmp_path / "skscratch-demo" / "predictions.png").is_file()
    assert (tmp_path / "skscratch-demo" / "hidden_units.png").is_file()  # 28x28 weights: drawn
    assert "Not drawn" not in result.stdout


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
                  "dask_out_of_core.py": 0.7, "plot_tabular_breast_cancer.py": 0.9}


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.py")), ids=lambda p: p.name)
def test_example_runs(example, tmp_path):
    if "fashion" in example.read_text() and not Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("needs Debian's dataset-fashion-mnist, which .ci/run installs")
    if "dask_ml" in example.read_text():
        pytest.importorskip("dask_ml", reason="needs the [dask] extra")
    if "matplotlib" in example.read_text():
        pytest.importorskip("matplotlib")
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
    assert loaded.named_steps["mlp"].hidden_layer_sizes == (64,) and loaded.n_features_in_ == 64

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


@pytest.fixture(scope="module")
def cli_model(kaggle_files, tmp_path_factory):
    """A model of skscratch train (5 epochs) and its predictions by skscratch predict."""
    folder, _ = kaggle_files
    out = tmp_path_factory.mktemp("cli-model")
    result = skscratch("train", "--data", str(folder / "train.csv"), "--hidden", "32", "--epochs", "5",
                       "--out", str(out / "model.npz"))
    assert result.returncode == 0, result.stderr
    result = skscratch("predict", "--model", str(out / "model.npz"), "--data", str(folder / "test.csv"),
                       "--out", str(out / "predictions.csv"))
    assert result.returncode == 0, result.stderr
    return out / "model.npz", pd.read_csv(out / "predictions.csv")["Label"].to_numpy()


def test_a_model_of_skscratch_train_takes_raw_pixels_in_python(kaggle_files, cli_model):
    """The file carries the scaling the network was trained with: raw 0-255 pixels give what the CLI gives."""
    folder, _ = kaggle_files
    path, cli_labels = cli_model
    raw = pd.read_csv(folder / "test.csv").to_numpy()  # pixels from 0 to 255, as in the file
    model = package.load(path)
    proba = model.predict_proba(raw)
    # the network by hand, from the file's plain arrays, on the pixels / 255 it was trained on
    with np.load(path) as arrays:
        hidden = np.maximum(raw / 255 @ arrays["coefs_0"] + arrays["intercepts_0"], 0)
        logits = hidden @ arrays["coefs_1"] + arrays["intercepts_1"]
    by_hand = np.exp(logits - logits.max(axis=1, keepdims=True))
    # (float32's rounding over two layers moves a probability by about 1e-7; unscaled pixels move it by ~1)
    np.testing.assert_allclose(proba, by_hand / by_hand.sum(axis=1, keepdims=True), rtol=0, atol=1e-5)
    assert proba.max(axis=1).mean() < 0.999  # not the confident nonsense of unscaled pixels
    np.testing.assert_array_equal(model.predict(raw), cli_labels)
    # bit for bit what the commands compute: float32 pixels / 255 into the network
    network = model.named_steps["mlp"]
    for pixels in (raw, raw.astype(np.uint8), raw.astype(np.float32)):
        assert model.predict_proba(pixels).tobytes() == network.predict_proba(raw.astype(np.float32) / 255).tobytes()


def test_the_plots_reach_the_network_inside_a_model_of_skscratch_train(cli_model):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from skscratch.plotting import HiddenUnitsDisplay, TrainingHistoryDisplay

    model = package.load(cli_model[0])
    network = model.named_steps["mlp"]
    units = HiddenUnitsDisplay.from_estimator(model, n_units=8)
    np.testing.assert_array_equal(units.weights, network.coefs_[0][:, :8])
    assert units.image_shape == (8, 8)
    history = TrainingHistoryDisplay.from_estimator(model)
    assert len(history.lines_[0].get_xdata()) == len(network.loss_curve_) == 5
    plt.close("all")


def test_evaluate_and_predict_read_a_bare_network_file_as_before(kaggle_files, cli_model, tmp_path):
    """A file of an earlier skscratch train holds the network alone: it still gets pixels / 255."""
    folder, _ = kaggle_files
    path, cli_labels = cli_model
    network = package.load(path).named_steps["mlp"]
    package.save(network, tmp_path / "bare.npz")  # what skscratch train wrote before it saved its scaling
    assert type(package.load(tmp_path / "bare.npz")) is package.MLPScratchClassifier
    result = skscratch("predict", "--model", str(tmp_path / "bare.npz"), "--data", str(folder / "test.csv"),
                       "--out", str(tmp_path / "bare.csv"))
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(pd.read_csv(tmp_path / "bare.csv")["Label"], cli_labels)
    raw = pd.read_csv(folder / "test.csv").to_numpy().astype(np.float32)
    np.testing.assert_array_equal(cli_labels, network.predict(raw / 255))
    reports = [skscratch("evaluate", "--model", str(model), "--data", str(folder / "valid.csv"))
               for model in (path, tmp_path / "bare.npz")]
    assert reports[0].returncode == reports[1].returncode == 0 and reports[0].stdout == reports[1].stdout


def test_the_pixel_scaling_gives_the_bits_of_x_over_255():
    """The scaler the model files hold divides as X / 255 does, for the dtypes pixels come in."""
    from skscratch.cli._files import pixel_scaling

    rng = np.random.RandomState(0)
    values = np.concatenate([np.arange(256), np.arange(17) * (255 / 16), rng.uniform(0, 255, 199_997)])  # 7 columns
    X32 = values.astype(np.float32).reshape(-1, 7)
    scaling = pixel_scaling(7)
    assert scaling.transform(X32).dtype == np.float32
    assert scaling.transform(X32).tobytes() == (X32 / 255).tobytes()
    X64 = values.reshape(-1, 7)
    assert scaling.transform(X64).tobytes() == (X64 / 255).tobytes()
    pixels = np.arange(256 * 7).reshape(-1, 7) % 256
    for raw in (pixels, pixels.astype(np.uint8)):  # in float64, then float32 in the network: the same bits
        assert scaling.transform(raw).astype(np.float32).tobytes() == (pixels.astype(np.float32) / 255).tobytes()


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
