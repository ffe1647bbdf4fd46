"""What the command line shows (issue 25, point 3): ``evaluate --show`` / ``predict --show``, the color bar of the
weights, the demo's hidden units, the size of the training GIF; and ``train``'s options object.

``--show`` is attacked as the other outputs are: every mistake is one line before any work (a bad suffix, a
missing folder, an input, ``--out`` itself, images that are not square, no matplotlib), the picture is whole or
absent, and Ctrl-C ends the command with 130 and one line.
"""

import io
import os
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

import skscratch
from skscratch.cli import _show

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
Image = pytest.importorskip("PIL.Image")

from test_cli_errors import assert_one_line, skscratch_run, write_csv  # noqa: E402

FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A model of ``skscratch train`` on 8x8 digits (0-255), labelled and unlabelled CSVs, and odd models."""
    folder = tmp_path_factory.mktemp("show")
    X, y = load_digits(return_X_y=True)
    X = np.rint(X * 255 / 16).astype(int)
    write_csv(folder / "train.csv", X[:1000], y[:1000])
    write_csv(folder / "test.csv", X[1000:1100], y[1000:1100])  # labelled: mistakes can be shown
    write_csv(folder / "unlabelled.csv", X[1000:1040])
    from skscratch.cli import train

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(str(folder / "train.csv"), folder / "model.npz", hidden=(32,), epochs=20, batch_size=32,
              stream=io.StringIO())
        # a model of string labels, saved by a user in Python: its classes are names
        names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
        skscratch.save(skscratch.MLPScratchClassifier((8,), max_iter=5, random_state=0).fit(X[:500] / 255,
                                                                                             names[y[:500]]),
                       folder / "named.npz")
        # ten pixels a row: no square image
        write_csv(folder / "ten.csv", X[:40, :10], y[:40] % 2)
        train(str(folder / "ten.csv"), folder / "ten.npz", hidden=(4,), epochs=1, validation_fraction=0,
              stream=io.StringIO())
    return folder


def drawn_grid(monkeypatch):
    """Keep the PredictionGridDisplay that --show draws, to read its titles."""
    from skscratch.plotting import PredictionGridDisplay

    grids, plot = [], PredictionGridDisplay.plot

    def keeping(self, *args, **kwargs):
        grids.append(plot(self, *args, **kwargs))
        return grids[-1]

    monkeypatch.setattr(PredictionGridDisplay, "plot", keeping)
    return grids


def titles(grid):
    return [(ax.get_title(), ax.title.get_color()) for ax in grid.axes_]


# ----------------------------------------------------------------------
# what it draws


def test_evaluate_show_draws_the_mistakes_first_and_counts_them(files, tmp_path, monkeypatch):
    from skscratch.cli import evaluate

    grids, log = drawn_grid(monkeypatch), io.StringIO()
    evaluate(files / "model.npz", str(files / "test.csv"), log, show=str(tmp_path / "mistakes.png"))
    out = log.getvalue()
    accuracy = float(re.search(r"^Accuracy: (\S+) on 100 images$", out, re.M).group(1))
    n_wrong = round((1 - accuracy) * 100)
    assert 0 < n_wrong < 25  # some mistakes, then images it got right
    assert out.endswith(f"Wrote 25 of the 100 images to {tmp_path / 'mistakes.png'}, the mistakes first\n")
    (grid,) = grids
    shown = titles(grid)
    assert len(shown) == 25
    assert all(color == "red" and "\ntrue " in title for title, color in shown[:n_wrong])
    assert all(color == "black" and "true" not in title for title, color in shown[n_wrong:])
    assert grid.figure_.get_suptitle() == (f"{n_wrong} of 100 images wrong ({n_wrong / 100:.1%})\nthe {n_wrong} "
                                           f"mistakes first, in red (predicted, then true label), then "
                                           f"{25 - n_wrong} right")
    with Image.open(tmp_path / "mistakes.png") as picture:
        assert picture.format == "PNG" and picture.size[0] > 400
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mistakes.png"]  # no temporary file left


def test_predict_show_without_labels_draws_the_predictions(files, tmp_path, monkeypatch):
    from skscratch.cli import predict

    grids, log = drawn_grid(monkeypatch), io.StringIO()
    predict(files / "model.npz", str(files / "unlabelled.csv"), tmp_path / "p.csv", log,
            show=str(tmp_path / "grid.svg"))
    assert log.getvalue().splitlines()[-1] == (f"Wrote 25 of the 40 images to {tmp_path / 'grid.svg'}, "
                                                         "with their predicted labels")
    (grid,) = grids
    assert grid.n_mistakes_ is None and all(color == "black" for _, color in titles(grid))
    assert grid.figure_.get_suptitle() == ("The first 25 of 40 images, with the labels predicted\n"
                                           "(the data has no true labels)")
    assert (tmp_path / "grid.svg").read_text().lstrip().startswith("<?xml")


def test_a_model_of_string_labels_on_integer_labels_is_all_wrong(files, tmp_path, monkeypatch, capsys):
    """Its classes are names, which integer labels never equal: every image is a mistake, and none breaks."""
    from skscratch.cli import main

    grids = drawn_grid(monkeypatch)
    assert main(["predict", "--model", str(files / "named.npz"), "--data", str(files / "test.csv"), "--out",
                 str(tmp_path / "p.csv"), "--show", str(tmp_path / "m.pdf")]) == 0
    (grid,) = grids
    assert grid.figure_.get_suptitle().startswith("100 of 100 images wrong (100.0%)\nthe first 25 mistakes")
    title, color = titles(grid)[0]
    assert re.fullmatch(r"predicted [a-z]+\ntrue \d", title) and color == "red"
    assert (tmp_path / "m.pdf").read_bytes()[:5] == b"%PDF-"
    # evaluate refuses to mix them in its report, in one line, and draws nothing
    assert main(["evaluate", "--model", str(files / "named.npz"), "--data", str(files / "test.csv"),
                 "--show", str(tmp_path / "e.png")]) == 1
    assert "error: Mix of label input types (string and number)" in capsys.readouterr().err
    assert not (tmp_path / "e.png").exists()


def test_a_labelled_file_given_to_predict_shows_its_mistakes_too(files, tmp_path, monkeypatch):
    from skscratch.cli import main

    grids = drawn_grid(monkeypatch)
    assert main(["predict", "--model", str(files / "model.npz"), "--data", str(files / "test.csv"),
                 "--out", str(tmp_path / "p.csv"), "--show", str(tmp_path / "grid.png")]) == 0
    assert grids[0].n_mistakes_ > 0 and titles(grids[0])[0][1] == "red"


def test_the_order_and_the_title_of_the_grid():
    y_true = np.array([0, 1, 2, 3, 4, 5])
    y_pred = np.array([0, 9, 2, 9, 4, 5])
    assert _show.shown_first(y_pred, y_true, n=4).tolist() == [1, 3, 0, 2]
    assert _show.shown_first(y_pred, None, n=4).tolist() == [0, 1, 2, 3]
    assert _show.shown_first(y_pred[:2], None, n=4).tolist() == [0, 1]
    assert _show.grid_title(y_pred, y_true, 4) == ("2 of 6 images wrong (33.3%)\nthe 2 mistakes first, in red "
                                                   "(predicted, then true label), then 2 right")
    assert _show.grid_title(y_pred, y_true, 2).endswith("\nthe first 2 mistakes, in red (predicted, then true label)")
    assert _show.grid_title(y_true, y_true, 6) == "0 of 6 images wrong (0.0%)\nthe first 6, all right"
    assert "the 1 mistake first" in _show.grid_title(np.array([1, 1]), np.array([1, 0]), 2)
    # labels of another type than the model's: all wrong, never an error
    assert _show.shown_first(np.array(["a", "b"]), np.array([1, 0]), n=4).tolist() == [0, 1]


def test_class_names_only_for_integer_labels_that_index_them():
    from skscratch.plotting import PredictionGridDisplay

    names = ["T-shirt/top", "Trouser"]
    grid = PredictionGridDisplay(np.zeros((5, 2, 2)), np.array([1, 0, 12, -1, 1]), label_names=names)
    assert [grid._name(label) for label in grid.y_pred] == ["Trouser", "T-shirt/top", "12", "-1", "Trouser"]
    assert PredictionGridDisplay(np.zeros((1, 2, 2)), np.array(["cat"]), label_names=names)._name("cat") == "cat"
    from skscratch.cli._files import class_names
    from skscratch.datasets import FASHION_MNIST_CLASSES

    assert class_names("fashion-mnist") == FASHION_MNIST_CLASSES
    assert class_names("digits") is None and class_names("fashion-mnist_test.csv") is None


@pytest.mark.skipif(not FASHION.is_dir(), reason="needs Debian's dataset-fashion-mnist, which .ci/run installs")
def test_fashion_mnist_shows_the_class_names(tmp_path, monkeypatch):
    from skscratch.cli import evaluate, train
    from skscratch.datasets import FASHION_MNIST_CLASSES

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train("fashion-mnist", tmp_path / "model.npz", hidden=(8,), epochs=1, validation_fraction=0,
              stream=io.StringIO())
    grids = drawn_grid(monkeypatch)
    evaluate(tmp_path / "model.npz", "fashion-mnist", io.StringIO(), show=str(tmp_path / "mistakes.png"))
    title, color = titles(grids[0])[0]
    predicted, true = re.fullmatch(r"predicted (.+)\ntrue (.+)", title).groups()
    assert {predicted, true} <= set(FASHION_MNIST_CLASSES) and color == "red"
    assert re.match(r"[\d,]+ of 10,000 images wrong \(\d+\.\d%\)\n", grids[0].figure_.get_suptitle())


# ----------------------------------------------------------------------
# mistakes: one line, before any work


@pytest.mark.parametrize("command, show, fragments", [
    ("evaluate", "mistakes.jpg", ["cannot write --show mistakes.jpg: the name must end in .png (or .svg or .pdf)"]),
    ("evaluate", "mistakes", ["the name must end in .png"]),
    ("evaluate", "nowhere/mistakes.png", ["cannot write nowhere/mistakes.png: the folder nowhere does not exist"]),
    ("evaluate", "a_folder.png", ["a_folder.png is a folder; give a file name, such as a_folder.png/mistakes.png"]),
    ("evaluate", "model.png", ["model.png is also an input of this command"]),
    ("predict", "p.png", ["--show p.png and --out p.png name one file"]),
    ("predict", "hard.png", ["--show hard.png and --out p.png name one file"]),
])  # fmt: skip
def test_a_show_that_cannot_be_written_is_one_line_before_loading(files, tmp_path, command, show, fragments):
    (tmp_path / "model.png").write_bytes((files / "model.npz").read_bytes())  # a model file named .png
    (tmp_path / "a_folder.png").mkdir()
    (tmp_path / "p.png").write_bytes(b"yesterday's")
    os.link(tmp_path / "p.png", tmp_path / "hard.png")
    before = {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    out = ["--out", "p.png"] if command == "predict" else []
    result = skscratch_run(command, "--model", "model.png", "--data", files / "test.csv", *out, "--show", show,
                           cwd=tmp_path)
    assert_one_line(result, 1, f"skscratch {command}: error: ", *fragments)
    assert result.stdout == ""  # nothing evaluated
    assert {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before  # nothing written


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_read_only_folder_is_one_line_before_loading(files, tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = skscratch_run("evaluate", "--model", files / "model.npz", "--data", files / "test.csv", "--show",
                               folder / "m.png", cwd=tmp_path)
    finally:
        folder.chmod(0o755)
    assert_one_line(result, 1, "skscratch evaluate: error: cannot write ", "Permission denied")
    assert result.stdout == "" and list(folder.iterdir()) == []


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_images_that_are_not_square_are_refused_before_predicting(files, tmp_path, command):
    out = ["--out", "p.csv"] if command == "predict" else []
    result = skscratch_run(command, "--model", files / "ten.npz", "--data", files / "ten.csv", *out,
                           "--show", "m.png", cwd=tmp_path)
    assert_one_line(result, 1, f"skscratch {command}: error: --show draws the images as square images, but the "
                    f"images of {files / 'ten.csv'} have 10 pixels, not a square number; run without --show")
    assert result.stdout == "" and list(tmp_path.iterdir()) == []


def test_a_csv_of_string_labels_is_refused_in_one_line_before_predicting(files, tmp_path):
    pixels = ",".join(["0"] * 64)
    (tmp_path / "named.csv").write_text("label," + ",".join(f"pixel{i}" for i in range(64)) + f"\ncat,{pixels}\n")
    result = skscratch_run("evaluate", "--model", files / "model.npz", "--data", "named.csv", "--show", "m.png",
                           cwd=tmp_path)
    assert_one_line(result, 1, "skscratch evaluate: error: ", "named.csv", "'cat'")
    assert result.stdout == "" and [p.name for p in tmp_path.iterdir()] == ["named.csv"]


def test_evaluate_show_needs_labels_as_evaluate_does(files, tmp_path):
    result = skscratch_run("evaluate", "--model", files / "model.npz", "--data", files / "unlabelled.csv",
                           "--show", "m.png", cwd=tmp_path)
    assert_one_line(result, 1, "skscratch evaluate: error: ", "unlabelled.csv has no labels")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_without_matplotlib_show_is_one_line_before_evaluating(files, tmp_path, command):
    code = textwrap.dedent("""
        import sys; sys.modules["matplotlib"] = None
        from skscratch.cli import main
        sys.exit(main(sys.argv[1:]))
    """)
    out = ["--out", "p.csv"] if command == "predict" else []
    result = subprocess.run([sys.executable, "-c", code, command, "--model", str(files / "model.npz"), "--data",
                             str(files / "test.csv"), *out, "--show", "m.png"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert_one_line(result, 1, f"skscratch {command}: error: --show draws with matplotlib, which is not installed: "
                    'pip install "skscratch[plot]"')
    assert result.stdout == "" and list(tmp_path.iterdir()) == []


def test_show_is_in_the_help():
    for command in ("evaluate", "predict"):
        result = skscratch_run(command, "--help", cwd=None)
        assert result.returncode == 0 and "--show FILE" in result.stdout and "mistakes first" in result.stdout


# ----------------------------------------------------------------------
# Ctrl-C: the picture whole or absent, exit status 130, one line

# Presses Ctrl-C (SIGINT to itself) at one moment: "drawing", as matplotlib writes the picture; "predicting",
# before the picture is begun.
PRESS = """
    import os, signal, sys
    from matplotlib.figure import Figure
    from skscratch.cli import _commands

    where = sys.argv[1]
    if where == "drawing":
        savefig = Figure.savefig

        def pressing_savefig(self, *args, **kwargs):
            os.kill(os.getpid(), signal.SIGINT)
            return savefig(self, *args, **kwargs)

        Figure.savefig = pressing_savefig
    else:
        check_images = _commands.check_images

        def pressing_check(*args):
            os.kill(os.getpid(), signal.SIGINT)
            return check_images(*args)

        _commands.check_images = pressing_check
    sys.argv = ["skscratch", *sys.argv[2:]]
    from skscratch.cli.console import console_main

    console_main()
"""


@pytest.mark.parametrize("where", ["drawing", "predicting"])
def test_ctrl_c_leaves_the_picture_whole_or_absent(files, tmp_path, where):
    script = tmp_path / "press.py"
    script.write_text(textwrap.dedent(PRESS))
    folder = tmp_path / "run"
    folder.mkdir()
    result = subprocess.run([sys.executable, str(script), where, "evaluate", "--model", str(files / "model.npz"),
                             "--data", str(files / "test.csv"), "--show", "mistakes.png"], cwd=folder,
                            capture_output=True, text=True, timeout=300)
    assert (result.returncode, result.stderr) == (130, "skscratch evaluate: interrupted\n"), result.stderr
    if where == "drawing":  # held: the picture is finished, said so, then the command ends
        assert result.stdout.endswith("Wrote 25 of the 100 images to mistakes.png, the mistakes first\n")
        with Image.open(folder / "mistakes.png") as picture:
            picture.load()
        assert [p.name for p in folder.iterdir()] == ["mistakes.png"]
    else:
        assert result.stdout == "" and list(folder.iterdir()) == []


# ----------------------------------------------------------------------
# the demo's hidden units, the weights' color bar


def test_the_digits_demo_says_why_it_draws_no_hidden_units(tmp_path):
    from skscratch.cli import _demo, demo

    log = io.StringIO()
    demo(epochs=1, hidden=(8,), out=log, out_dir=tmp_path)
    assert log.getvalue().splitlines()[-1] == _demo.NO_HIDDEN_UNITS
    assert not (tmp_path / "hidden_units.png").exists() and (tmp_path / "predictions.png").exists()
    assert _demo._plots("classification", "fashion-mnist")[-1] == "hidden_units.png"
    assert "hidden_units.png" not in _demo._plots("classification", "digits")
    assert _demo._plots("regression", "digits") == ("learning_curves.png",)


def test_the_animation_has_the_color_bar_of_its_one_scale():
    from skscratch.plotting import TrainingAnimation

    weights = np.random.RandomState(0).normal(size=(3, 16, 2)) * np.array([1, 2, 5])[:, None, None]
    animation = TrainingAnimation(weights, [3.0, 2.0, 1.0]).plot(frame=0)
    animation.figure_.canvas.draw()
    bar, limit = animation.units_.colorbar_, np.abs(weights).max()  # the largest weight of any frame
    assert bar.ax.get_xlabel() == "weight: negative (blue) … positive (red)"
    np.testing.assert_allclose(bar.ax.get_xticks(), [-limit, 0, limit])
    assert all(image.get_clim() == (-limit, limit) for image in animation.units_.images_)
    assert tuple(animation.figure_.get_size_inches()) == (6.7, 3.2)  # 1 or 2 units: room for the bar's label
    assert tuple(TrainingAnimation(weights[:, :, :1], [3.0, 2.0, 1.0])._figsize()) == (6.7, 3.2)


# ----------------------------------------------------------------------
# the training GIF stays small


def test_the_gif_of_the_docs_example_stays_under_2_mb(tmp_path):
    """``skscratch train --data digits --out model.npz --animate training.gif`` (40 epochs), on a small run.

    A palette per frame gave every pixel a new byte in every frame: 0.8 MB for the docs' 40 epochs of digits,
    2.2 MB for Fashion-MNIST's. One palette for all frames keeps the bytes of what does not change: 0.3 MB and
    0.7 MB. The first epochs change the weights most, so their share of the 2 MB is a bound on the whole.
    """
    result = skscratch_run("train", "--data", "digits", "--epochs", "8", "--out", "model.npz", "--animate",
                           "training.gif", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    size = (tmp_path / "training.gif").stat().st_size
    assert size < 2_000_000 * 8 / 40, size  # measured: 0.11 MB
    with Image.open(tmp_path / "training.gif") as gif:
        assert gif.n_frames == 8


def test_the_gif_keeps_rare_colors_in_every_frame(tmp_path):
    """The color bar is the same in every frame, its ends too (a frame quantized alone lost them)."""
    from skscratch.plotting import TrainingAnimation

    weights = np.random.RandomState(0).normal(size=(4, 64, 4)) * np.array([0.05, 0.5, 1, 2])[:, None, None]
    animation = TrainingAnimation(weights, [4.0, 3.0, 2.0, 1.0])
    animation.save(tmp_path / "training.gif")
    figure = animation.figure_
    x0, y0, x1, y1 = figure.dpi_scale_trans.inverted().transform_bbox(  # inches, from the bottom left
        animation.units_.colorbar_.ax.get_window_extent()).extents * 80  # the GIF's pixels (dpi 80)
    height = figure.get_size_inches()[1] * 80
    rows, cols = slice(round(height - y1) + 1, round(height - y0) - 1), slice(round(x0) + 1, round(x1) - 1)
    with Image.open(tmp_path / "training.gif") as gif:
        bars = []
        for frame in range(4):
            gif.seek(frame)
            bars.append(np.asarray(gif.convert("RGB"))[rows, cols])
    for later in bars[1:]:
        np.testing.assert_array_equal(later, bars[0])
    red_end = bars[0][bars[0].shape[0] // 2, -2].astype(int)
    assert red_end[0] > 100 and red_end[1] < 60  # dark red, not grey


# ----------------------------------------------------------------------
# train's options


def test_train_options_are_the_command_lines_defaults():
    from skscratch.cli import TrainOptions, build_parser
    from skscratch.cli._train import DEFAULTS

    options = TrainOptions()
    args = build_parser().parse_args(["train", "--data", "x.csv", "--out", "m.npz"])
    for name in DEFAULTS:
        assert getattr(options, name) == getattr(args, name), name
    assert options.penalty == DEFAULTS["alpha"] == 0.2 and TrainOptions(solver="sgd").penalty == 1e-4
    assert TrainOptions(solver="sgd", alpha=0.0).penalty == 0.0
    model = options.classifier(batch_size=64)
    assert (model.hidden_layer_sizes, model.max_iter, model.learning_rate, model.alpha) == ((512, 256), 40, "cosine",
                                                                                            0.2)
    with pytest.raises(TypeError):
        TrainOptions(epoch=3)  # a typo is refused


def test_train_takes_options_and_keywords_alike(files, tmp_path):
    from skscratch.cli import TrainOptions, train

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, _ = train(str(files / "train.csv"), tmp_path / "a.npz", TrainOptions(hidden=(4,), epochs=2),
                     stream=io.StringIO())
        b, _ = train(str(files / "train.csv"), tmp_path / "b.npz", hidden=(4,), epochs=2, stream=io.StringIO())
        c, _ = train(str(files / "train.csv"), tmp_path / "c.npz", TrainOptions(hidden=(4,), epochs=5), epochs=2,
                     stream=io.StringIO())
    for model in (b, c):
        assert all((u == v).all() for u, v in zip(a[-1].coefs_, model[-1].coefs_))
