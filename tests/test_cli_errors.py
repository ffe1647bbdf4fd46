"""The command line's promise: a mistake gets one line on stderr and a non-zero exit, never a traceback;
Ctrl-C at any moment exits with 130 and leaves a complete file or none.

Every case runs the real entry point (the console script, or ``python -m skscratch``) in a subprocess.
"""

import gzip
import math
import re
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import skscratch

SCRIPT = str(Path(sys.executable).parent / "skscratch")  # this environment's, so it runs this checkout
ENTRY_POINTS = {"console-script": [SCRIPT], "python-m": [sys.executable, "-m", "skscratch"]}


def skscratch_run(*args, cwd, entry="console-script", **kwargs):
    return subprocess.run(ENTRY_POINTS[entry] + [str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, **kwargs)


def assert_one_line(result, status, start, *fragments):
    """Exit ``status``, and exactly one line on stderr that starts with ``start`` and says ``fragments``."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert result.returncode == status, result.stderr
    assert lines[0].startswith(start), lines[0]
    for fragment in fragments:
        assert fragment in lines[0]


def write_csv(path, pixels, labels=None):
    frame = pd.DataFrame(np.asarray(pixels), columns=[f"pixel{i}" for i in range(np.shape(pixels)[1])])
    if labels is not None:
        frame.insert(0, "label", labels)
    frame.to_csv(path, index=False)


def write_idx(path, array):
    codes = {np.dtype(np.uint8): 0x08, np.dtype(">f8"): 0x0E}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + np.array(array.shape, ">u4").tobytes()
    path.write_bytes(gzip.compress(header + array.tobytes()))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Files for every mistake, in a folder of their own."""
    folder = tmp_path_factory.mktemp("inputs")
    rng = np.random.RandomState(0)
    (folder / "header.csv").write_text("label,pixel0,pixel1\n")
    (folder / "one_row.csv").write_text("label,pixel0,pixel1\n1,0,255\n")
    (folder / "one_class.csv").write_text("label,pixel0,pixel1\n1,0,255\n1,3,4\n1,5,6\n")
    (folder / "three.csv").write_text("label,pixel0,pixel1\n1,0,255\n0,3,4\n1,5,6\n")
    write_csv(folder / "tiny.csv", rng.randint(0, 256, (20, 16)), np.arange(20) % 2)
    write_csv(folder / "tiny_test.csv", rng.randint(0, 256, (5, 16)))
    (folder / "a_folder").mkdir()
    # images whose values overflow float32: the estimator refuses them with a ValueError
    write_idx(folder / "huge-images.gz", np.full((4, 2, 2), 1e300, ">f8"))
    write_idx(folder / "huge-labels.gz", np.array([0, 1, 0, 1], np.uint8))

    (folder / "bad_pixel.csv").write_text("pixel0,pixel1\n0,300\n")

    X, y = rng.rand(20, 16), np.arange(20) % 2
    with warnings.catch_warnings():  # a few iterations do not converge
        warnings.simplefilter("ignore")
        classifier = skscratch.MLPScratchClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)
        regressor = skscratch.MLPScratchRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)
    skscratch.save(classifier, folder / "model.npz")
    skscratch.save(regressor, folder / "regressor.npz")
    skscratch.save(Pipeline([("scale", StandardScaler().fit(X)), ("mlp", regressor)]), folder / "scaled_regressor.npz")
    good = (folder / "model.npz").read_bytes()
    (folder / "truncated.npz").write_bytes(good[: len(good) // 2])
    (folder / "random.npz").write_bytes(rng.bytes(1000))
    (folder / "empty.npz").write_bytes(b"")
    return folder


# ----------------------------------------------------------------------
# mistakes: one line, exit status 1, nothing written


@pytest.mark.parametrize("args, fragments", [
    (["--data", "a_folder"], ["a_folder is a folder; --data takes a CSV file"]),
    (["--data", "nowhere.csv"], ["nowhere.csv: no such file"]),
    (["--data", "header.csv"], ["header.csv has a header but no rows"]),
    (["--data", "one_row.csv"], ["its only image has the label 1", "at least two classes"]),
    (["--data", "one_class.csv"], ["all its 3 images have the label 1", "at least two classes"]),
    (["--data", "three.csv", "--validation-fraction", "0.99"], ["0.99 of 3 image(s) leaves none to train on"]),
    (["--data", "tiny.csv", "--validation-fraction", "0.96"], ["0.96 of 20 image(s) leaves none to train on"]),
    (["--data", "huge-images.gz,"], ["an IDX pair is two file names, IMAGES,LABELS"]),
    (["--data", "huge-images.gz,huge-labels.gz"], ["huge-images.gz,huge-labels.gz: pixel values must be from 0 to 255, found 1e+300"]),
    (["--data", "digits", "--hidden", "100000000,100000000"],
     ["network has 10,000,007,600,000,010 weights", "choose a smaller --hidden"]),
    (["--data", "digits", "--learning-rate", "1e6"], ["diverged in the first epoch", "no model to save",
                                                      "--learning-rate (now 1e+06)"]),
])  # fmt: skip
def test_train_mistakes_are_one_line(inputs, tmp_path, args, fragments):
    result = skscratch_run("train", *args, "--out", tmp_path / "model.npz", cwd=inputs)
    assert_one_line(result, 1, "skscratch train: error: ", *fragments)
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary file left


def test_python_m_reports_mistakes_the_same_way(inputs):
    result = skscratch_run("train", "--data", "one_class.csv", "--out", "model.npz", cwd=inputs, entry="python-m")
    assert_one_line(result, 1, "skscratch train: error: one_class.csv: all its 3 images have the label 1")


def test_a_network_too_big_for_memory_is_refused_before_it_is_allocated(tmp_path):
    """On Linux a too-large np.empty can succeed and the process be killed later: the check comes first."""
    meminfo = Path("/proc/meminfo")
    if not meminfo.exists():
        pytest.skip("reads Linux's /proc/meminfo")
    available = next(int(line.split()[1]) * 1024 for line in meminfo.read_text().splitlines()
                     if line.startswith("MemAvailable:"))
    width = int(math.sqrt(0.3 * available / 4))  # the float32 weights alone fill 30 % of the memory
    result = skscratch_run("train", "--data", "digits", "--hidden", f"{width},{width}", "--out", "model.npz",
                           cwd=tmp_path)
    assert_one_line(result, 1, "skscratch train: error: ", "of memory is available; choose a smaller --hidden")
    assert "Training a" not in result.stdout and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("out, fragments", [
    ("missing/model.npz", ["cannot write missing/model.npz: the folder missing does not exist"]),
    ("a_folder", ["a_folder is a folder; give a file name, such as a_folder/model.npz"]),
    ("n" * 256, ["is 256 bytes long; at most 255 fit here"]),
    ("n" * 256 + "/model.npz", ["a name in it is too long for the file system"]),
    ("tiny.csv", ["tiny.csv is also an input of this command"]),
])  # fmt: skip
def test_train_refuses_an_unwritable_out_before_loading_anything(inputs, tmp_path, out, fragments):
    (tmp_path / "a_folder").mkdir()
    data = "tiny.csv" if out == "tiny.csv" else "digits"
    if data == "tiny.csv":
        (tmp_path / "tiny.csv").write_bytes((inputs / "tiny.csv").read_bytes())
    before = sorted(tmp_path.iterdir())
    result = skscratch_run("train", "--data", data, "--out", out, cwd=tmp_path)
    assert_one_line(result, 1, "skscratch train: error: ", *fragments)
    assert "Loading" not in result.stdout  # refused before any work
    assert sorted(tmp_path.iterdir()) == before


def test_a_file_name_of_255_bytes_is_written(inputs, tmp_path):
    """The longest name the file system takes: the temporary file beside it is short-named."""
    name = "n" * 251 + ".npz"
    result = skscratch_run("train", "--data", inputs / "tiny.csv", "--epochs", "1", "--validation-fraction", "0",
                           "--out", name, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert skscratch.load(tmp_path / name).predict(np.zeros((1, 16))).shape == (1,)


@pytest.mark.parametrize("option, value, fragment", [
    ("--learning-rate", "inf", "must be a finite number above 0, got 'inf'"),
    ("--learning-rate", "nan", "must be a finite number above 0, got 'nan'"),
    ("--learning-rate", "0", "must be a finite number above 0"),
    ("--alpha", "-1", "must be a finite number, 0 or more, got '-1'"),
    ("--alpha", "nan", "must be a finite number, 0 or more, got 'nan'"),
    ("--dropout", "nan", "must be at least 0 and below 1, got 'nan'"),
    ("--dropout", "1", "must be at least 0 and below 1"),
    ("--validation-fraction", "-0.1", "must be at least 0 and below 1"),
    ("--epochs", "0", "must be at least 1, got '0'"),
    ("--epochs", "2.5", "expected a whole number, got '2.5'"),
    ("--batch-size", "0", "must be at least 1, got '0'"),
    ("--hidden", "64,,32", "expected positive sizes like 64 or 128,64"),
    ("--hidden", "-5", "expected positive sizes like 64 or 128,64"),
    ("--seed", "-1", "must be at least 0"),
    ("--seed", str(2**32), "must be below 2**32"),
    ("--solver", "lbfgs", "invalid choice: 'lbfgs'"),
    ("--data", "", "expected a file name, got an empty one"),
    ("--out", " ", "expected a file name, got an empty one"),
])  # fmt: skip
def test_bad_numbers_are_one_line_usage_errors(tmp_path, option, value, fragment):
    result = skscratch_run("train", "--data", "digits", "--out", "model.npz", option, value, cwd=tmp_path)
    assert_one_line(result, 2, f"skscratch train: error: argument {option}: {fragment}",
                    "(see skscratch train --help)")
    assert result.stdout == "" and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [[], ["train"], ["fly"], ["train", "--data", "digits"]])
def test_usage_errors_are_one_line(tmp_path, args):
    result = skscratch_run(*args, cwd=tmp_path)
    assert_one_line(result, 2, "skscratch", ": error: ", "--help)")


@pytest.mark.parametrize("command", ["evaluate", "predict"])
@pytest.mark.parametrize("model, fragments", [
    ("missing.npz", ["missing.npz: no such file"]),
    ("a_folder", ["a_folder is a folder, not a model file"]),
    ("random.npz", ["random.npz is not a readable skscratch model file"]),
    ("truncated.npz", ["truncated.npz is not a readable skscratch model file"]),
    ("empty.npz", ["empty.npz is not a readable skscratch model file"]),
    ("tiny.csv", ["tiny.csv is not a readable skscratch model file"]),
    ("regressor.npz", ["holds a MLPScratchRegressor; this command needs a classifier"]),
    ("scaled_regressor.npz", ["holds a Pipeline of StandardScaler and MLPScratchRegressor; this command needs a "
                              "classifier"]),
])  # fmt: skip
def test_a_bad_model_file_is_one_line(inputs, tmp_path, command, model, fragments):
    out = ["--out", tmp_path / "predictions.csv"] if command == "predict" else []
    result = skscratch_run(command, "--model", inputs / model, "--data", inputs / "tiny.csv", *out, cwd=inputs)
    assert_one_line(result, 1, f"skscratch {command}: error: ", *fragments)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, fragments", [
    (["evaluate", "--data", "header.csv"], ["header.csv has a header but no rows"]),
    (["evaluate", "--data", "tiny_test.csv"], ["tiny_test.csv has no labels"]),
    (["evaluate", "--data", "a_folder"], ["a_folder is a folder"]),
    (["evaluate", "--data", "three.csv"], ["three.csv has 2 pixels per image but the model was trained on 16"]),
    (["predict", "--data", "bad_pixel.csv", "--out", "p.csv"], ["row 2, column 'pixel1': pixel value 300 is "
                                                                 "outside 0-255"]),
    (["predict", "--data", "tiny.csv", "--out", "missing/p.csv"], ["the folder missing does not exist"]),
    (["predict", "--data", "tiny.csv", "--out", "a_folder"], ["a_folder is a folder; give a file name, such as "
                                                             "a_folder/predictions.csv"]),
    (["predict", "--data", "tiny.csv", "--out", "tiny.csv"], ["tiny.csv is also an input of this command"]),
    (["predict", "--data", "tiny.csv", "--out", "model.npz"], ["model.npz is also an input of this command"]),
])  # fmt: skip
def test_evaluate_and_predict_mistakes_are_one_line(inputs, args, fragments):
    before = {p: p.stat().st_mtime_ns for p in inputs.iterdir()}
    result = skscratch_run(*args[:1], "--model", "model.npz", *args[1:], cwd=inputs)
    assert_one_line(result, 1, f"skscratch {args[0]}: error: ", *fragments)
    assert {p: p.stat().st_mtime_ns for p in inputs.iterdir()} == before  # nothing written or overwritten


def test_demo_refuses_an_out_dir_that_is_a_file_before_training(tmp_path):
    (tmp_path / "taken").write_text("not a folder")
    result = skscratch_run("demo", "--out-dir", "taken", cwd=tmp_path)
    assert_one_line(result, 1, "skscratch demo: error: ", "taken exists and is not a folder")
    assert "Training" not in result.stdout


def test_predict_writes_a_readable_csv_whole(inputs, tmp_path):
    result = skscratch_run("predict", "--model", inputs / "model.npz", "--data", inputs / "tiny_test.csv",
                           "--out", "p.csv", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    assert [p.name for p in tmp_path.iterdir()] == ["p.csv"]
    assert (tmp_path / "p.csv").stat().st_mode & 0o044  # readable as other files are, not mkstemp's 0600
    assert pd.read_csv(tmp_path / "p.csv")["ImageId"].tolist() == [1, 2, 3, 4, 5]


# ----------------------------------------------------------------------
# failures while training or saving


def test_divergence_saves_the_last_good_epoch_with_a_one_line_warning(inputs, tmp_path):
    # one minibatch per epoch; plain SGD at 30 survives epoch 1 and blows up in epoch 2
    result = skscratch_run("train", "--data", inputs / "tiny.csv", "--solver", "sgd", "--learning-rate", "30",
                           "--batch-size", "20", "--validation-fraction", "0", "--hidden", "8", "--epochs", "5",
                           "--out", "model.npz", cwd=tmp_path)
    assert_one_line(result, 3, "skscratch train: warning: training diverged in epoch 2 (the loss blew up), so "
                    "the model of epoch 1 is saved; try a smaller --learning-rate (now 30)")
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    model = skscratch.load(tmp_path / "model.npz")  # the scaling, then the network
    network = model.named_steps["mlp"]
    assert len(network.loss_curve_) == 1 and np.isfinite(network.loss_curve_).all()
    X = pd.read_csv(inputs / "tiny_test.csv").to_numpy()  # raw pixels: the model scales them
    assert np.isfinite(model.predict_proba(X)).all()


def test_failing_to_save_is_one_line(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    process = subprocess.Popen([SCRIPT, "train", "--data", "digits", "--hidden", "32", "--epochs", "300",
                                "--out", folder / "m.npz"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(process.stdout, "epoch   1/")
    folder.rmdir()  # the folder goes away during training
    out, err = process.communicate(timeout=300)
    result = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    assert_one_line(result, 1, "skscratch train: error: cannot save the model to ",
                    "m.npz: No such file or directory")
    assert list(tmp_path.iterdir()) == []


def test_out_of_memory_while_training_is_one_line(tmp_path):
    resource = pytest.importorskip("resource")

    def limit_address_space():  # a MemoryError, as a machine with less memory would give
        resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))

    # 1.6 GB of weights: more than the limit leaves, less than most machines' memory check
    result = skscratch_run("train", "--data", "digits", "--hidden", "20000,20000", "--out", "m.npz", cwd=tmp_path,
                           preexec_fn=limit_address_space)
    assert_one_line(result, 1, "skscratch train: error: ")
    assert ("out of memory; choose a smaller --hidden or --batch-size" in result.stderr
            or "of memory is available; choose a smaller --hidden" in result.stderr)  # a smaller machine
    assert list(tmp_path.iterdir()) == []


def test_a_closed_pipe_ends_quietly(tmp_path):
    """skscratch train ... | head -3: the reader goes away, and the command ends without a word."""
    process = subprocess.Popen([SCRIPT, "train", "--data", "digits", "--epochs", "100000", "--out", "m.npz"],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for _ in range(3):
        process.stdout.readline()
    process.stdout.close()
    assert process.wait(timeout=300) == 141  # 128 + SIGPIPE, as the shell reports a command killed by it
    assert process.stderr.read() == b""
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------
# Ctrl-C: exit status 130, no traceback, a complete model file or none


def wait_for(stream, marker):
    """Read lines until one holds ``marker``; return them all."""
    lines = []
    while not lines or marker not in lines[-1]:
        line = stream.readline()
        assert line, f"the process ended before printing {marker!r}: {''.join(lines)}"
        lines.append(line)
    return "".join(lines)


def interrupt(command, marker, *, presses=1, on="stdout", cwd=None):
    """Run ``command``, press Ctrl-C ``presses`` times once ``marker`` shows; (status, stdout, stderr)."""
    process = subprocess.Popen([str(c) for c in command], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=cwd)
    seen = wait_for(getattr(process, on), marker)
    for _ in range(presses):
        process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    out, err = (seen + out, err) if on == "stdout" else (out, seen + err)
    err = "".join(line for line in err.splitlines(True) if not line.startswith("import time:"))
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    return process.returncode, out, err


def assert_complete_or_absent(folder, name="model.npz"):
    """The model loads, or there is none; and no temporary file is left."""
    names = [p.name for p in folder.iterdir()]
    assert names in ([], [name]), names
    if names:
        model = skscratch.load(folder / name)
        assert all(np.isfinite(W).all() for W in model.named_steps["mlp"].coefs_)


@pytest.mark.parametrize("presses", [1, 2])
@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_ctrl_c_while_starting_up(tmp_path, entry, presses):
    """While NumPy and scikit-learn are being imported: -X importtime names each import as it ends."""
    command = [sys.executable, "-X", "importtime", *(ENTRY_POINTS[entry][1:] if entry == "python-m" else [SCRIPT])]
    status, out, err = interrupt([*command, "train", "--data", "digits", "--out", "model.npz"], "numpy",
                                 presses=presses, on="stderr", cwd=tmp_path)
    # (on a very busy machine the press may land only once the command runs)
    assert status == 130 and err in ("skscratch: interrupted\n", "skscratch train: interrupted\n")
    assert_complete_or_absent(tmp_path)


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    """A CSV that takes a second or two to load."""
    path = tmp_path_factory.mktemp("big") / "big.csv"
    rng = np.random.RandomState(0)
    write_csv(path, rng.randint(0, 256, (5000, 784)), np.arange(5000) % 10)
    return path


def test_ctrl_c_while_loading_data(big_csv, tmp_path):
    status, out, err = interrupt([SCRIPT, "train", "--data", big_csv, "--out", "model.npz"], "Loading",
                                 cwd=tmp_path)
    assert status == 130 and err == "skscratch train: interrupted\n"
    assert "Training" not in out and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_during_training_saves_the_model_as_it_is(tmp_path, presses):
    status, out, err = interrupt([SCRIPT, "train", "--data", "digits", "--epochs", "100000", "--out", "model.npz"],
                                 "epoch   3/", presses=presses, cwd=tmp_path)
    assert status == 130 and err == "skscratch train: interrupted\n"
    assert re.search(r"Interrupted after \d+ full epoch\(s\): saving the model as it is", out)
    assert out.endswith("Saved the model to model.npz\n")
    assert_complete_or_absent(tmp_path)
    assert len(skscratch.load(tmp_path / "model.npz").named_steps["mlp"].loss_curve_) >= 3


def test_ctrl_c_twice_while_saving_finishes_the_file(inputs, tmp_path):
    # a big network on a tiny data set: training is quick, saving 300 MB takes a while
    status, out, err = interrupt([SCRIPT, "train", "--data", inputs / "tiny.csv", "--hidden", "5000,5000",
                                  "--epochs", "1", "--out", "model.npz"], "Saving the model", presses=2,
                                 cwd=tmp_path)
    assert status == 130 and err == "skscratch train: interrupted\n"
    assert out.endswith("Saved the model to model.npz\n")
    assert_complete_or_absent(tmp_path)
    assert (tmp_path / "model.npz").exists()


def test_ctrl_c_during_the_demo(tmp_path):
    status, out, err = interrupt([SCRIPT, "demo", "--epochs", "100000"], "epoch   2/", presses=2, cwd=tmp_path)
    assert status == 130 and err == "skscratch demo: interrupted\n"
    assert [p.name for p in tmp_path.iterdir()] == ["skscratch-demo"]
    assert list((tmp_path / "skscratch-demo").iterdir()) == []  # nothing written


# ----------------------------------------------------------------------
# in the process: what no user mistake reaches


def test_an_unexpected_exception_is_one_line_too(monkeypatch, capsys):
    from skscratch import cli
    from skscratch.cli import _commands

    monkeypatch.setattr(_commands, "evaluate", lambda *args, **kwargs: 1 / 0)  # where main looks it up
    assert cli.main(["evaluate", "--model", "m.npz", "--data", "digits"]) == 1
    assert capsys.readouterr().err == (
        "skscratch evaluate: error: unexpected ZeroDivisionError: division by zero. This is a bug in skscratch: "
        "please report it with the command line (SKSCRATCH_DEBUG=1 shows the traceback)\n")
    monkeypatch.setenv("SKSCRATCH_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        cli.main(["evaluate", "--model", "m.npz", "--data", "digits"])


def test_main_in_a_process_of_ours_gives_back_the_ctrl_c_handler(tmp_path, capsys):
    from skscratch import cli

    before = signal.getsignal(signal.SIGINT)
    assert cli.main(["evaluate", "--model", str(tmp_path / "missing.npz"), "--data", "digits"]) == 1
    assert signal.getsignal(signal.SIGINT) is before
    assert capsys.readouterr().err.endswith("missing.npz: no such file\n")


@pytest.mark.parametrize("suffix, compress", [(".csv.gz", "gzip"), (".csv.bz2", "bz2"), (".CSV.XZ", "xz")])
def test_a_compressed_csv_is_read_as_a_csv(inputs, tmp_path, suffix, compress):
    import bz2
    import lzma

    module = {"gzip": gzip, "bz2": bz2, "xz": lzma}[compress]
    data = tmp_path / f"train{suffix}"
    data.write_bytes(module.compress((inputs / "tiny.csv").read_bytes()))
    result = skscratch_run("train", "--data", data, "--epochs", "1", "--validation-fraction", "0",
                           "--out", "m.npz", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "on 20 images" in result.stdout
