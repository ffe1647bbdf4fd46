"""The command line's data and Ctrl-C, attacked (issue 24, points 2, 9, 13 and 14).

- A CSV's labels and pixels are read exactly as written, or refused in one line that names the file, the
  row and the column, and quotes the cell as written: never wrapped around, rounded or clipped.
- A CSV that is not UTF-8 is refused in one line that names the file, the line and the encoding expected.
- Ctrl-C while ``train --animate`` draws ends with exit status 130 and one line, the model saved and the
  animation absent or whole: matplotlib never sees a KeyboardInterrupt.
- Ctrl-C as the process ends, even after its work is done, gives exit status 130, never death by SIGINT.
- Ctrl-C while a module is imported ends the command once the import has ended, whatever the importing code
  made of the KeyboardInterrupt.

Presses are made at exact moments, never after a delay: a small script runs the real entry point with a
press (``os.kill`` of SIGINT to itself) placed where it must land.
"""

import gzip
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import skscratch
from skscratch.datasets import load_mnist_csv

SCRIPT = str(Path(sys.executable).parent / "skscratch")  # this environment's, so it runs this checkout


def run(*args, cwd):
    return subprocess.run([SCRIPT, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300)


def run_script(code, *args, cwd):
    """Run ``code`` (which ends by running skscratch's entry point on ``args``) in a fresh Python."""
    script = Path(cwd).parent / "press.py"
    script.write_text(textwrap.dedent(code))
    return subprocess.run([sys.executable, str(script), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def assert_one_error_line(result, *fragments):
    """Exit status 1 and a single line on stderr, ``skscratch train: error: ...``, that says ``fragments``."""
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("skscratch train: error: "), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def csv_text(rows, header="label,pixel0,pixel1,pixel2,pixel3"):
    return header + "\n" + "".join(row + "\n" for row in rows)


GOOD_ROWS = [f"{i % 2},{(7 * i) % 256},{(13 * i) % 256},{(29 * i) % 256},{(31 * i) % 256}" for i in range(20)]


# ----------------------------------------------------------------------
# 2. labels and pixels, exactly as written


@pytest.mark.parametrize("label", ["1e20", "99999999999999999999"])
def test_a_label_beyond_64_bits_is_refused_not_wrapped_into_a_class(tmp_path, label):
    (tmp_path / "train.csv").write_text(csv_text(GOOD_ROWS + [f"{label},1,2,3,4"]))
    result = run("train", "--data", "train.csv", "--epochs", "1", "--hidden", "4", "--out", "model.npz",
                 cwd=tmp_path)
    assert_one_error_line(result, f"train.csv: row 22, column 'label': label {label} does not fit a 64-bit integer")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.csv"]


def test_a_pixel_beyond_0_255_is_quoted_as_written_in_one_line(tmp_path):
    (tmp_path / "train.csv").write_text(csv_text(GOOD_ROWS + ["1,1,1e20,3,4"]))
    result = run("train", "--data", "train.csv", "--out", "model.npz", cwd=tmp_path)
    assert_one_error_line(result, "train.csv: row 22, column 'pixel1': pixel value 1e20 is outside 0-255.")


ACCEPTED = {  # a cell: the integer it writes
    "-0": 0, "+7": 7, "007": 7, "3.0": 3, "7.": 7, "1e2": 100, "2.55e2": 255, "0.0e5": 0, "0e999999999": 0,
    " 7": 7, "7\t": 7, '"7"': 7, "0e-99999999999999999999": 0, "0.000e99999999999999999999": 0,
}  # fmt: skip
REFUSED = {  # a cell: what the message says of it
    "3.5": "'3.5' is not an integer", ".5": "'.5' is not an integer", "1e-2": "'1e-2' is not an integer",
    "1.0000000000000000001": "'1.0000000000000000001' is not an integer",  # not 1: no rounding
    "0.99999999999999999999": "'0.99999999999999999999' is not an integer",
    "1e-400": "'1e-400' is not an integer",  # not 0: no underflow
    "5e-99999999999999999999": "'5e-99999999999999999999' is not an integer",  # beyond decimal's exponents
    "nan": "'nan' is not an integer", "inf": "'inf' is not an integer", "-inf": "'-inf' is not an integer",
    "0x10": "'0x10' is not an integer", "1_000": "'1_000' is not an integer", "True": "'True' is not an integer",
    "": "'' is not an integer (the cell is empty)", "٣": "'٣' is not an integer", "７": "'７' is not an integer",
    "7" * 50 + "x" + "7" * 49: "'77777777777777777777...77777777777777777777' is not",  # long: quoted by its ends
}  # fmt: skip
LABELS_BEYOND = ["1e20", "99999999999999999999", "9223372036854775808", "-9223372036854775809", "1e400",
                 "1e999999999", "1e99999999999999999999", "-1e99999999999999999999"]


def test_every_cell_is_read_exactly_as_written(tmp_path):
    """Whole numbers however written, parsed exactly; everything else refused, naming the row and the column."""
    path = tmp_path / "cells.csv"
    for cell, value in ACCEPTED.items():
        for column in range(2):  # the label, then a pixel
            row = [cell, "0", "1", "2"] if column == 0 else ["1", cell, "1", "2"]
            path.write_text(csv_text(["0,0,0,0", ",".join(row)], header="label,pixel0,pixel1,pixel2"))
            X, y = load_mnist_csv(path, return_X_y=True)
            assert (y[1], X[1, 0]) == ((value, 0) if column == 0 else (1, value)), cell
    for cell, message in REFUSED.items():
        for column, name in enumerate(["label", "pixel0"]):
            row = [cell, "0", "1", "2"] if column == 0 else ["1", cell, "1", "2"]
            path.write_text(csv_text(["0,0,0,0", ",".join(row)], header="label,pixel0,pixel1,pixel2"))
            with pytest.raises(ValueError) as info:
                load_mnist_csv(path)
            assert str(info.value).startswith(f"{path}: row 3, column '{name}': {message}"), str(info.value)
    for label, shown in [*zip(LABELS_BEYOND, LABELS_BEYOND), ("1" * 100, "'" + "1" * 20 + "..." + "1" * 20 + "'")]:
        path.write_text(csv_text(["0,0", f"{label},1"], header="label,pixel0"))
        with pytest.raises(ValueError, match=re.escape(f"row 3, column 'label': label {shown} does not fit a 64-bit "
                                                       "integer (from -9223372036854775808 to 9223372036854775807).")):
            load_mnist_csv(path)
    for pixel in ["256", "-1", "1e20", "99999999999999999999", "-9223372036854775809", "2.56e2"]:
        path.write_text(csv_text([f"1,{pixel}"], header="label,pixel0"))
        with pytest.raises(ValueError, match=f"row 2, column 'pixel0': pixel value {pixel} is outside 0-255.$"):
            load_mnist_csv(path)
    # the first bad cell, row by row, whichever column it is in
    path.write_text(csv_text(["0,0,0,0", "1,0,0,x", "1e20,0,0,0"], header="label,pixel0,pixel1,pixel2"))
    with pytest.raises(ValueError, match="row 3, column 'pixel2': 'x' is not an integer"):
        load_mnist_csv(path)


def test_header_names_are_quoted_as_written(tmp_path):
    """pandas renames a second pixel0 to pixel0.1 and an empty name to 'Unnamed: 3': the file says otherwise."""
    cases = {"label,pixel0,pixel0\n1,2,3\n": "found 'pixel0' as column 3",
             "label,pixel0,pixel1,\n1,2,3,\n": "found '' as column 4",
             "label,label,pixel0\n1,2,3\n": "found 'label' as column 2",
             " label,pixel0\n1,2\n": "found ' label' as column 1",
             "label;pixel0\n1;2\n": "found 'label;pixel0' as column 1 \\(a semicolon: the columns of a CSV are "
                                   "separated by commas\\)"}
    for text, message in cases.items():
        (tmp_path / "header.csv").write_text(text)
        with pytest.raises(ValueError, match=f"header.csv: expected columns 'label' .*; {message}"):
            load_mnist_csv(tmp_path / "header.csv")


def write_idx(path, array):
    codes = {np.dtype(np.uint8): 0x08, np.dtype(">f8"): 0x0E}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + np.array(array.shape, ">u4").tobytes()
    path.write_bytes(gzip.compress(header + array.tobytes()))


def test_labels_of_an_idx_file_of_floats_must_be_whole_numbers(tmp_path):
    from skscratch.cli._files import CommandError, load_images

    write_idx(tmp_path / "images.gz", np.arange(20 * 16, dtype=np.uint8).reshape(20, 4, 4))
    for label, message in [(3.5, "label 20 is 3.5: a label must be a whole number"),
                           (np.nan, "label 20 is nan: a label must be a whole number"),
                           (1e20, "label 20 is 1e+20, which does not fit a 64-bit integer")]:
        write_idx(tmp_path / "labels.gz", np.r_[np.arange(19) % 2, label].astype(">f8"))
        with pytest.raises(CommandError, match=re.escape(f"labels.gz: {message}")):
            load_images(f"{tmp_path / 'images.gz'},{tmp_path / 'labels.gz'}")
    write_idx(tmp_path / "labels.gz", np.r_[np.arange(19) % 2, 3.0].astype(">f8"))
    _, y = load_images(f"{tmp_path / 'images.gz'},{tmp_path / 'labels.gz'}")
    assert y.dtype == np.int64 and y[-1] == 3


# ----------------------------------------------------------------------
# 9. text that is not UTF-8


def test_a_csv_that_is_not_utf8_names_the_file_the_line_and_the_encoding(tmp_path):
    text = csv_text(GOOD_ROWS)
    (tmp_path / "latin1.csv").write_bytes(text.replace("label", "labél", 1).encode("latin-1"))
    result = run("train", "--data", "latin1.csv", "--out", "model.npz", cwd=tmp_path)
    assert_one_error_line(result, "latin1.csv: not UTF-8 text: line 1 holds the byte 0xe9", "read as UTF-8")
    late = (text + "1,2,3,4,5 é\n").encode("latin-1")
    (tmp_path / "late.csv.gz").write_bytes(gzip.compress(late))
    with pytest.raises(ValueError, match=r"late.csv.gz: not UTF-8 text: line 22 holds the byte 0xe9.*save it as "
                                         "UTF-8"):
        load_mnist_csv(tmp_path / "late.csv.gz")
    (tmp_path / "utf16.csv").write_bytes(text.encode("utf-16"))
    with pytest.raises(ValueError, match=r"utf16.csv: not UTF-8 text \(it looks like UTF-16\): line 1"):
        load_mnist_csv(tmp_path / "utf16.csv")
    (tmp_path / "cut.csv").write_bytes(text.encode() + "é".encode()[:1])
    with pytest.raises(ValueError, match="cut.csv: not UTF-8 text: it ends in the middle of a character, on line 22"):
        load_mnist_csv(tmp_path / "cut.csv")
    # UTF-8 with a byte order mark is UTF-8; a UTF-8 character in a cell is a cell that is no number
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load_mnist_csv(tmp_path / "bom.csv", return_X_y=True)[0].shape == (20, 4)
    (tmp_path / "accent.csv").write_bytes((text + "1,2,3,4,é\n").encode())
    with pytest.raises(ValueError, match="row 22, column 'pixel3': 'é' is not an integer"):
        load_mnist_csv(tmp_path / "accent.csv")


# ----------------------------------------------------------------------
# 13. Ctrl-C while the animation is drawn

# Presses Ctrl-C in the middle of matplotlib drawing frame AT of the animation, in one of two ways: "in a
# draw", inside an Axes' drawing; "in a finalizer", inside a finalizer that the garbage collector runs there
# (where matplotlib's own finalizers run: a KeyboardInterrupt raised in one is swallowed, "Exception ignored").
PRESS_IN_A_FRAME = """
    import gc, os, signal, sys
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    how, at = sys.argv[1], int(sys.argv[2])
    state = {"frame": 0, "pressed": False}
    savefig, draw = Figure.savefig, Axes.draw

    class Press:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)

    def counting_savefig(self, *args, **kwargs):  # a frame grabbed by the animation's writer
        state["frame"] += 1
        return savefig(self, *args, **kwargs)

    def pressing_draw(self, *args, **kwargs):
        if state["frame"] == at and not state["pressed"]:
            state["pressed"] = True
            if how == "in a draw":
                os.kill(os.getpid(), signal.SIGINT)
            else:
                press = Press()
                press.cycle = press  # garbage that only the collector frees
                del press
                gc.collect()
        return draw(self, *args, **kwargs)

    Figure.savefig, Axes.draw = counting_savefig, pressing_draw
    sys.argv = ["skscratch", *sys.argv[3:]]
    from skscratch.cli.console import console_main

    console_main()
"""


def assert_animation_absent_or_whole(path, n_frames):
    if path.exists():
        from PIL import Image

        with Image.open(path) as movie:
            assert movie.n_frames == n_frames
            for frame in range(n_frames):
                movie.seek(frame)
                movie.load()


@pytest.mark.parametrize("how, at", [("in a draw", 1), ("in a finalizer", 2)])
def test_ctrl_c_while_the_animation_is_drawn_saves_the_model_and_ends_in_one_line(tmp_path, how, at):
    """In the first frame, matplotlib's writer failed (IndexError); in a finalizer, the press was swallowed."""
    folder = tmp_path / "run"
    folder.mkdir()
    result = run_script(PRESS_IN_A_FRAME, how, at, "train", "--data", "digits", "--epochs", "3", "--hidden", "8",
                        "--out", "model.npz", "--animate", "training.gif", cwd=folder)
    assert (result.returncode, result.stderr) == (130, "skscratch train: interrupted\n"), result.stderr
    assert "Saved the model to model.npz\n" in result.stdout
    assert "Interrupted: the animation is not written to training.gif (the model is saved).\n" in result.stdout
    assert len(skscratch.load(folder / "model.npz").named_steps["mlp"].loss_curve_) == 3
    assert {p.name for p in folder.iterdir()} <= {"model.npz", "training.gif"}  # no temporary file left
    assert_animation_absent_or_whole(folder / "training.gif", 3)


def test_a_keyboard_interrupt_in_the_first_frame_is_raised_as_such(tmp_path, monkeypatch):
    """In Python, Ctrl-C in the first frame raised matplotlib's IndexError, from finishing a file of no frames."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.axes import Axes

    from skscratch.plotting import TrainingAnimation

    animation = TrainingAnimation(np.random.RandomState(0).normal(size=(3, 16, 2)), train_loss=[3.0, 2.0, 1.0])
    animation.plot()  # the figure drawn: from now on, a draw is a frame's

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Axes, "draw", interrupted)
    with pytest.raises(KeyboardInterrupt):
        animation.save(tmp_path / "training.gif")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------
# 14. Ctrl-C as the process ends

# A press in an exit handler (atexit): after the command's work, as the process ends.
PRESS_AT_EXIT = """
    import atexit, os, signal, sys

    atexit.register(lambda: os.kill(os.getpid(), signal.SIGINT))
    sys.argv = ["skscratch", *sys.argv[1:]]
    from skscratch.cli.console import console_main

    console_main()
"""
# A first press in the second epoch, then a second as Python frees the script's objects at its teardown
# (the moment it has put back SIGINT's default handling, by which a press kills the process).
PRESS_IN_TRAINING_THEN_AT_TEARDOWN = """
    import os, signal, sys
    from skscratch.cli import _train as _cli_train

    class Press:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)

    at_teardown = Press()
    fit_epoch, epochs = _cli_train.fit_epoch, []

    def pressing_fit_epoch(*args, **kwargs):
        epochs.append(1)
        if len(epochs) == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return fit_epoch(*args, **kwargs)

    _cli_train.fit_epoch = pressing_fit_epoch
    sys.argv = ["skscratch", *sys.argv[1:]]
    from skscratch.cli.console import console_main

    console_main()
"""


@pytest.fixture(scope="module")
def model_and_images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    (folder / "train.csv").write_text(csv_text(GOOD_ROWS))
    result = run("train", "--data", "train.csv", "--epochs", "1", "--hidden", "4", "--out", "model.npz",
                 cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder / "model.npz", folder / "train.csv"


def test_ctrl_c_as_predict_ends_exits_with_130(model_and_images, tmp_path):
    """The press was counted, and the exit status was 0."""
    model, images = model_and_images
    folder = tmp_path / "run"
    folder.mkdir()
    result = run_script(PRESS_AT_EXIT, "predict", "--model", model, "--data", images, "--out", "predictions.csv",
                        cwd=folder)
    assert (result.returncode, result.stderr) == (130, "skscratch: interrupted\n"), result.stderr
    assert result.stdout == "Wrote 20 predictions to predictions.csv\n"
    assert len(pd.read_csv(folder / "predictions.csv")) == 20


def test_a_second_ctrl_c_as_the_process_ends_never_kills_it(tmp_path):
    """The second press killed the process by SIGINT (wait status -2) instead of exit status 130."""
    folder = tmp_path / "run"
    folder.mkdir()
    result = run_script(PRESS_IN_TRAINING_THEN_AT_TEARDOWN, "train", "--data", "digits", "--epochs", "5",
                        "--hidden", "8", "--out", "model.npz", cwd=folder)
    assert result.returncode != -signal.SIGINT, "killed by SIGINT"
    assert (result.returncode, result.stderr) == (130, "skscratch train: interrupted\n"), result.stderr
    assert "Interrupted after 1 full epoch(s): saving the model as it is." in result.stdout
    assert len(skscratch.load(folder / "model.npz").named_steps["mlp"].loss_curve_) == 1


# A press while ``module`` is being imported, as the CI machine's press landed while NumPy's C core imported
# datetime: C code that imports reports the KeyboardInterrupt as an ImportError ("mangle"), and a library
# that tries an optional import goes on without the module, and without the press ("swallow").
PRESS_DURING_AN_IMPORT = """
    import os, signal, sys, time

    MODULE, WHAT = sys.argv[1:3]
    sys.argv = ["skscratch", *sys.argv[3:]]

    class PressWhileImporting:
        def find_spec(self, name, path=None, target=None):
            if name != MODULE:
                return None
            sys.meta_path.remove(self)
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.3)  # the handler runs here, inside the import
            except KeyboardInterrupt:
                if WHAT == "mangle":
                    raise ImportError('PyCapsule_Import could not import module "datetime"') from None
            return None  # the import goes on as usual

    sys.meta_path.insert(0, PressWhileImporting())
    from skscratch.cli.console import console_main

    console_main()
"""


@pytest.mark.parametrize("what", ["mangle", "swallow"])
@pytest.mark.parametrize("module", ["numpy", "sklearn.datasets"])  # as the command starts; as it loads digits
def test_ctrl_c_during_an_import_ends_the_command_once_the_import_has_ended(tmp_path, module, what):
    """A traceback of ImportError (CI, stop 32) if mangled; if swallowed, the training ran to its end.

    The press is raised within about 10 ms of the import's end: on a busy machine, that may be in the
    first epochs already (a few ms each here), which save the model as it is.
    """
    folder = tmp_path / "run"
    folder.mkdir()
    result = run_script(PRESS_DURING_AN_IMPORT, module, what, "train", "--data", "digits", "--epochs", "2000",
                        "--hidden", "8", "--out", "model.npz", cwd=folder)
    assert result.returncode == 130, result.stderr
    assert result.stderr in ("skscratch: interrupted\n", "skscratch train: interrupted\n"), result.stderr
    assert "epoch 2000/2000" not in result.stdout
    names = [p.name for p in folder.iterdir()]
    assert names == [] or "Interrupted after" in result.stdout and names == ["model.npz"]
    if names:
        assert len(skscratch.load(folder / "model.npz").named_steps["mlp"].loss_curve_) < 2000


@pytest.mark.skipif(sys.platform == "win32", reason="closes a file descriptor with a POSIX shell")
@pytest.mark.parametrize("args, status", [("--help", 0), ("bogus", 2)])
@pytest.mark.parametrize("closed", [">&-", "2>&-", ">&- 2>&-"])
def test_a_command_started_with_its_output_closed_ends_as_with_it_open(tmp_path, args, status, closed):
    """Python makes a closed stdout or stderr None: the end of the command never flushes None."""
    result = subprocess.run(["sh", "-c", f'"$0" {args} {closed}', SCRIPT], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr and "AttributeError" not in result.stderr
