"""Watching a network learn: the recorder, the animation it feeds, and ``skscratch train --animate``.

What is checked is what a viewer would see: a frame per recorded epoch, frames that change where the
weights are drawn and where the curves are, the recorded weights and curves on each frame.
"""

import os
import pickle
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from numpydoc.docscrape import NumpyDocString

from skscratch import MLPScratchClassifier
from skscratch.plotting import TrainingAnimation, TrainingRecorder

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
Image = pytest.importorskip("PIL.Image")

from test_cli_errors import SCRIPT, assert_one_line, interrupt, skscratch_run, write_csv  # noqa: E402

try:
    from sklearn import callback
except ImportError:  # scikit-learn < 1.9
    callback = None
needs_callbacks = pytest.mark.skipif(callback is None, reason="scikit-learn < 1.9 has no callback API")
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
DPI = 40  # small frames: quick to draw, still several pixels per weight


def gif_frames(path):
    """Every frame of a GIF, as RGB arrays."""
    with Image.open(path) as gif:
        frames = []
        for k in range(gif.n_frames):
            gif.seek(k)
            frames.append(np.asarray(gif.convert("RGB"), dtype=int))
        return frames


def assert_consecutive_frames_differ(frames):
    """Each frame changes both where the weights are drawn (left) and where the curves are (right)."""
    width = frames[0].shape[1]
    for before, after in zip(frames, frames[1:]):
        assert np.abs(before[:, : int(0.4 * width)] - after[:, : int(0.4 * width)]).sum() > 0
        assert np.abs(before[:, int(0.6 * width):] - after[:, int(0.6 * width):]).sum() > 0


@pytest.fixture(scope="module")
def recorded(digits01):
    """A fit of 6 epochs with a validation set, recorded through the callback API or by hand."""
    X, y = digits01
    recorder = TrainingRecorder()
    clf = MLPScratchClassifier((16,), max_iter=6, random_state=0)
    if callback is not None:
        clf.set_callbacks(recorder).fit(X[:1200], y[:1200], X_val=X[1200:], y_val=y[1200:])
    else:  # the same epochs, one partial_fit each
        for _ in range(6):
            clf.partial_fit(X[:1200], y[:1200], classes=np.arange(10))
            recorder.record(clf, val_score=clf.score(X[1200:], y[1200:]))
    return clf, recorder


# ----------------------------------------------------------------------
# recording


@needs_callbacks
def test_the_callback_records_every_epoch_of_fit(recorded):
    clf, recorder = recorded
    assert recorder.epochs == [1, 2, 3, 4, 5, 6] and len(recorder) == 6
    assert recorder.train_loss == clf.loss_curve_
    assert recorder.val_score == clf.history_["val_score"].tolist()
    assert recorder.score_name == "validation accuracy"
    np.testing.assert_array_equal(recorder.weights[-1], clf.coefs_[0])  # the end of the last epoch
    for before, after in zip(recorder.weights, recorder.weights[1:]):
        assert before.shape == (64, 16) and not np.array_equal(before, after)  # copies, epoch by epoch
    assert repr(recorder) == "TrainingRecorder(n_units=16, 6 epochs recorded)"


def test_record_after_each_partial_fit_keeps_copies_of_the_first_units(digits01):
    X, y = digits01
    clf = MLPScratchClassifier((16,), random_state=0)
    recorder = TrainingRecorder(n_units=5)
    seen = []
    for _ in range(4):
        clf.partial_fit(X, y, classes=np.arange(10))
        recorder.record(clf)
        seen.append(clf.coefs_[0][:, :5].copy())
    assert recorder.epochs == [1, 2, 3, 4]
    for kept, then in zip(recorder.weights, seen):  # later epochs did not change what was kept
        assert kept.shape == (64, 5)
        np.testing.assert_array_equal(kept, then)
    assert recorder.train_loss == clf.loss_curve_
    assert np.isnan(recorder.val_score).all()  # partial_fit scores no validation set
    recorder.record(clf, val_score=0.5)  # the same epoch again: replaced, not added
    assert recorder.epochs == [1, 2, 3, 4] and recorder.val_score[-1] == 0.5


@needs_callbacks
def test_a_recorder_holds_the_last_fit_and_carries_on_with_warm_starts_and_partial_fit(digits01):
    X, y = digits01
    recorder = TrainingRecorder()
    clf = MLPScratchClassifier((16,), max_iter=4, random_state=0).set_callbacks(recorder).fit(X, y)
    clf.set_params(max_iter=3).fit(X, y)  # afresh: a new recording
    assert recorder.epochs == [1, 2, 3]
    np.testing.assert_array_equal(recorder.weights[-1], clf.coefs_[0])
    clf.set_params(warm_start=True).fit(X, y)  # carries on
    clf.partial_fit(X, y)
    assert recorder.epochs == [1, 2, 3, 4, 5, 6, 7] and recorder.train_loss == clf.loss_curve_
    clf.set_params(hidden_layer_sizes=(9,), warm_start=False, max_iter=2).fit(X, y)
    assert recorder.epochs == [1, 2] and recorder.weights[0].shape == (64, 9)


def test_another_estimator_starts_a_new_recording_and_the_recorder_pickles(digits01):
    X, y = digits01
    recorder = TrainingRecorder()
    first, second = MLPScratchClassifier((4,), random_state=0), MLPScratchClassifier((4,), random_state=1)
    for _ in range(2):
        recorder.record(first.partial_fit(X, y, classes=np.arange(10)))
    for _ in range(3):
        second.partial_fit(X, y, classes=np.arange(10))
    recorder.record(second)  # epoch 3 of another network, not the first one's
    assert recorder.epochs == [3]
    np.testing.assert_array_equal(recorder.weights[0], second.coefs_[0])
    copy = pickle.loads(pickle.dumps(recorder))
    assert copy.epochs == [3] and np.array_equal(copy.weights[0], recorder.weights[0])
    if callback is not None:  # an estimator that carries the recorder pickles too
        clf = pickle.loads(pickle.dumps(second.set_callbacks(recorder)))
        assert clf.predict(X[:5]).tolist() == second.predict(X[:5]).tolist()


@needs_callbacks
def test_early_stopping_gives_a_frame_per_epoch_that_ran(digits01, tmp_path):
    X, y = digits01
    recorder = TrainingRecorder(n_units=4)
    clf = MLPScratchClassifier((16,), max_iter=200, early_stopping=True, n_iter_no_change=2, tol=1e-2,
                               random_state=0).set_callbacks(recorder).fit(X, y)
    assert clf.n_iter_ < 200  # it did stop early
    assert recorder.epochs == list(range(1, clf.n_iter_ + 1))
    assert recorder.val_score == clf.validation_scores_
    TrainingAnimation.from_recorder(recorder).save(tmp_path / "early.gif", dpi=DPI)
    assert Image.open(tmp_path / "early.gif").n_frames == clf.n_iter_


@needs_callbacks
def test_lbfgs_has_no_epochs_and_the_animation_says_so(digits01):
    X, y = digits01
    recorder = TrainingRecorder()
    MLPScratchClassifier((8,), solver="lbfgs", max_iter=5, random_state=0).set_callbacks(recorder).fit(X, y)
    assert len(recorder) == 0
    with pytest.raises(ValueError, match="no epochs recorded.*L-BFGS has no epochs.*after each partial_fit"):
        TrainingAnimation.from_recorder(recorder)


def test_recording_needs_a_trained_model():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        TrainingRecorder().record(MLPScratchClassifier())
    for bad in (0, -1, 2.5, True, 101, 400):
        with pytest.raises(ValueError, match="n_units must be a whole number from 1 to 100"):
            TrainingRecorder(n_units=bad)


def test_the_recorder_keeps_up_to_n_units_and_the_animation_draws_up_to_100(digits01):
    X, y = digits01
    recorder = TrainingRecorder(n_units=100)
    recorder.record(MLPScratchClassifier((3,), random_state=0).partial_fit(X, y, classes=np.arange(10)))
    assert recorder.weights[0].shape == (64, 3)  # all the network has
    assert len(TrainingAnimation.from_recorder(recorder).plot().units_.images_) == 3
    with pytest.raises(ValueError, match=re.escape("weights hold 101 units, but at most 100 are drawn: pass "
                                                   "weights[:, :, :100]")):
        TrainingAnimation(np.ones((2, 4, 101)), [1.0, 0.5])


# ----------------------------------------------------------------------
# the animation


def test_the_gif_has_a_frame_per_epoch_and_consecutive_frames_differ(recorded, tmp_path):
    _, recorder = recorded
    path = tmp_path / "training.gif"
    TrainingAnimation.from_recorder(recorder).save(path, fps=4, dpi=DPI)
    frames = gif_frames(path)
    assert len(frames) == len(recorder) == 6
    assert_consecutive_frames_differ(frames)
    with Image.open(path) as gif:
        assert gif.info["duration"] == 250 and gif.info["loop"] == 0  # 4 frames a second, looping
    assert [p.name for p in tmp_path.iterdir()] == ["training.gif"]  # no temporary file left


def test_each_frame_draws_its_epochs_weights_and_the_curves_so_far(recorded):
    _, recorder = recorded
    animation = TrainingAnimation.from_recorder(recorder)
    limit = max(np.abs(w).max() for w in recorder.weights)
    for k in range(len(recorder)):
        animation.plot(frame=k)
        assert animation.figure_.get_suptitle() == f"epoch {k + 1}"
        assert len(animation.units_.images_) == 16
        for j, image in enumerate(animation.units_.images_):
            np.testing.assert_array_equal(image.get_array(), recorder.weights[k][:, j].reshape(8, 8))
            assert image.get_clim() == pytest.approx((-limit, limit))  # one scale for the whole run
        loss, score = animation.curves_.lines_
        np.testing.assert_array_equal(loss.get_xdata(), np.arange(1, k + 2))
        np.testing.assert_array_equal(loss.get_ydata(), recorder.train_loss[: k + 1])
        np.testing.assert_array_equal(score.get_ydata(), recorder.val_score[: k + 1])
    assert animation.curves_.ax_score_.get_ylabel() == "validation accuracy"
    assert animation.curves_.ax_.get_xlim() == (0.5, 6.5)  # the whole run's axes, from the first frame


def test_frames_are_numbered_by_the_estimators_epochs(digits01):
    X, y = digits01
    clf = MLPScratchClassifier((4,), random_state=0)
    recorder = TrainingRecorder()
    for epoch in range(5):
        clf.partial_fit(X, y, classes=np.arange(10))
        if epoch >= 2:  # recording starts late
            recorder.record(clf)
    animation = TrainingAnimation.from_recorder(recorder).plot(frame=0)
    assert animation.figure_.get_suptitle() == "epoch 3"
    assert animation.curves_.ax_score_ is None  # nothing to draw there
    np.testing.assert_array_equal(animation.curves_.lines_[0].get_xdata(), [3])


def test_images_that_are_not_square_need_their_shape(digits01, tmp_path):
    X, y = digits01
    clf = MLPScratchClassifier((4,), random_state=0).partial_fit(X[:, :60], y, classes=np.arange(10))
    recorder = TrainingRecorder()
    recorder.record(clf)
    with pytest.raises(ValueError, match=re.escape("60 features are not a square image; pass image_shape=")):
        TrainingAnimation.from_recorder(recorder)
    with pytest.raises(ValueError, match=re.escape("image_shape (7, 7) holds 49 pixels, but there are 60")):
        TrainingAnimation.from_recorder(recorder, image_shape=(7, 7))
    animation = TrainingAnimation.from_recorder(recorder, image_shape=(6, 10)).plot()
    assert animation.units_.images_[0].get_array().shape == (6, 10)


@pytest.mark.parametrize("image_shape", [(-8, -8), (8.0, 8.0), (0, 64), (True, 64), 64, (8, 8, 1), "8x8"])
def test_image_shape_must_be_two_whole_numbers_above_0(image_shape, digits01):
    message = re.escape(f"image_shape must be (rows, cols), two whole numbers of 1 or more, got {image_shape!r}")
    with pytest.raises(ValueError, match=message):
        TrainingAnimation(np.ones((2, 64, 2)), [1.0, 0.5], image_shape=image_shape)
    from skscratch.plotting import HiddenUnitsDisplay

    clf = MLPScratchClassifier((2,), random_state=0).partial_fit(*digits01, classes=np.arange(10))
    with pytest.raises(ValueError, match=message):
        HiddenUnitsDisplay.from_estimator(clf, image_shape=image_shape)
    assert TrainingAnimation(np.ones((2, 64, 2)), [1.0, 0.5], image_shape=(np.int64(4), 16)).image_shape == (4, 16)


def test_zero_epochs_and_mismatched_data_are_refused():
    with pytest.raises(ValueError, match="no epochs recorded, so there is nothing to animate"):
        TrainingAnimation.from_recorder(TrainingRecorder())
    with pytest.raises(ValueError, match="no epochs recorded"):
        TrainingAnimation([], [])
    with pytest.raises(ValueError, match=re.escape("weights must be of shape (n_frames, n_features, n_units)")):
        TrainingAnimation(np.ones((64, 16)), np.ones(64))
    with pytest.raises(ValueError, match=re.escape("train_loss has shape (2,), but there are 3 frames")):
        TrainingAnimation(np.ones((3, 4, 1)), [1.0, 2.0])


@pytest.mark.parametrize("name", ["training.avi", "training", "training.gif.txt"])
def test_an_unknown_suffix_is_refused_before_drawing(name, tmp_path):
    animation = TrainingAnimation(np.ones((2, 4, 1)), [1.0, 0.5])
    with pytest.raises(ValueError, match=r"must end in \.gif \(written with Pillow\) or \.mp4"):
        animation.save(tmp_path / name)
    assert list(tmp_path.iterdir()) == [] and not hasattr(animation, "figure_")


@pytest.mark.parametrize("fps", [0, -1, float("nan"), float("inf"), "5"])
def test_fps_must_be_a_positive_number(fps, tmp_path):
    with pytest.raises(ValueError, match=r"The 'fps' parameter of TrainingAnimation.save must be a float in the range"):
        TrainingAnimation(np.ones((2, 4, 1)), [1.0, 0.5]).save(tmp_path / "a.gif", fps=fps)


def test_an_upper_case_suffix_is_a_gif(tmp_path):
    rng = np.random.RandomState(0)
    TrainingAnimation(rng.normal(size=(3, 4, 2)), [3.0, 2.0, 1.0]).save(tmp_path / "A.GIF", dpi=DPI)
    assert Image.open(tmp_path / "A.GIF").n_frames == 3


def test_an_mp4_without_ffmpeg_names_ffmpeg(tmp_path):
    """ffmpeg made missing even where it is installed: matplotlib looks where its rcParams say."""
    animation = TrainingAnimation(np.ones((2, 4, 1)), [1.0, 0.5])
    with matplotlib.rc_context({"animation.ffmpeg_path": str(tmp_path / "no-ffmpeg-here")}):
        with pytest.raises(RuntimeError, match="training.mp4 needs ffmpeg, which is not installed.*write a .gif"):
            animation.save(tmp_path / "training.mp4")
    assert [p.name for p in tmp_path.iterdir()] == []


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_an_mp4_with_ffmpeg(recorded, tmp_path):
    _, recorder = recorded
    TrainingAnimation.from_recorder(recorder).save(tmp_path / "training.mp4", dpi=DPI)
    data = (tmp_path / "training.mp4").read_bytes()
    assert data[4:8] == b"ftyp"  # an MP4 container
    # the frames, as ffmpeg reads them back
    count = subprocess.run(["ffmpeg", "-i", str(tmp_path / "training.mp4"), "-map", "0:v:0", "-c", "copy", "-f",
                            "null", "-"], capture_output=True, text=True, timeout=60)
    assert int(re.findall(r"frame= *(\d+)", count.stderr)[-1]) == len(recorder)


def test_a_failed_save_leaves_the_file_there_was(recorded, tmp_path, monkeypatch):
    _, recorder = recorded
    path = tmp_path / "training.gif"
    path.write_bytes(b"the animation of yesterday")
    animation = TrainingAnimation.from_recorder(recorder)
    show = animation._show

    def fail_on_frame_3(frame):
        if frame == 3:
            raise RuntimeError("drawing failed")
        show(frame)

    monkeypatch.setattr(animation, "_show", fail_on_frame_3)
    with pytest.raises(RuntimeError, match="drawing failed"):
        animation.save(path, dpi=DPI)
    assert path.read_bytes() == b"the animation of yesterday"
    assert [p.name for p in tmp_path.iterdir()] == ["training.gif"]


def test_a_path_that_cannot_be_written_is_refused_before_drawing_and_named(tmp_path):
    animation = TrainingAnimation(np.ones((2, 4, 1)), [1.0, 0.5])
    (tmp_path / "a file").write_text("")
    (tmp_path / "folder.gif").mkdir()
    for path, error, says in [(tmp_path / "missing" / "training.gif", FileNotFoundError, "does not exist"),
                              (tmp_path / "a file" / "training.gif", NotADirectoryError, "is not a folder"),
                              (tmp_path / "folder.gif", IsADirectoryError, "Is a directory")]:
        with pytest.raises(error, match=says) as raised:
            animation.save(path)
        assert raised.value.filename == str(path)
        assert not hasattr(animation, "figure_")  # refused before drawing a frame
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a file", "folder.gif"]


def test_an_error_in_writing_names_the_path_not_the_temporary_file(tmp_path, monkeypatch):
    import skscratch._plotting.animation

    def refuse(path, write):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".skscratch-0123456789abcdef.tmp"))

    monkeypatch.setattr(skscratch._plotting.animation, "write_atomically", refuse)
    with pytest.raises(PermissionError) as raised:
        TrainingAnimation(np.ones((2, 4, 1)), [1.0, 0.5]).save(tmp_path / "training.gif", dpi=DPI)
    assert str(raised.value) == f"[Errno 13] Permission denied: '{tmp_path / 'training.gif'}'"


def run_python(code, **kwargs):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, **kwargs)


def test_recording_by_hand_takes_scikit_learns_own_mlp(digits01):
    """No history_ and no callbacks there: loss_curve_ and validation_scores_ give the curves."""
    from sklearn.neural_network import MLPClassifier

    X, y = digits01
    clf, recorder = MLPClassifier((8,), random_state=0), TrainingRecorder()
    for _ in range(3):
        recorder.record(clf.partial_fit(X, y, classes=np.arange(10)))
    assert recorder.epochs == [1, 2, 3] and recorder.train_loss == clf.loss_curve_
    np.testing.assert_array_equal(recorder.weights[-1], clf.coefs_[0])
    clf = MLPClassifier((8,), max_iter=4, early_stopping=True, random_state=0).fit(X, y)
    recorder.record(clf)  # a fresh fit: a new recording, of its last epoch
    assert recorder.epochs == [4] and recorder.val_score == [clf.validation_scores_[-1]]


def test_without_matplotlib_recording_works_and_drawing_says_what_to_install():
    code = """
import sys; sys.modules["matplotlib"] = None
import numpy as np
from skscratch.plotting import TrainingAnimation
animation = TrainingAnimation(np.ones((2, 4, 1)), [1.0, 0.5])
try:
    animation.save("a.gif")
except ImportError as exc:
    print(exc)
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ('skscratch.plotting draws with matplotlib, which is not installed: '
                             'pip install "skscratch[plot]"\n')


def test_the_public_objects_have_examples():
    for obj in (TrainingRecorder, TrainingRecorder.record, TrainingAnimation, TrainingAnimation.from_recorder,
                TrainingAnimation.plot, TrainingAnimation.save):
        assert NumpyDocString(obj.__doc__)["Examples"], obj.__qualname__


# ----------------------------------------------------------------------
# skscratch train --animate


@pytest.fixture(scope="module")
def cli_inputs(tmp_path_factory):
    """A Kaggle-style CSV of the 8x8 digits; a tiny one of 4x4 images that diverges; one of 10 pixels."""
    from sklearn.datasets import load_digits

    folder = tmp_path_factory.mktemp("animate")
    X, y = load_digits(return_X_y=True)
    write_csv(folder / "train.csv", (X[:600] * 255 / 16).round().astype(int), y[:600])
    rng = np.random.RandomState(0)  # as test_cli_errors' tiny.csv: plain SGD at 30 blows up in epoch 2
    write_csv(folder / "tiny.csv", rng.randint(0, 256, (20, 16)), np.arange(20) % 2)
    write_csv(folder / "ten_pixels.csv", rng.randint(0, 256, (20, 10)), np.arange(20) % 2)
    return folder


def test_train_animate_writes_a_frame_per_epoch(cli_inputs, tmp_path):
    result = skscratch_run("train", "--data", cli_inputs / "train.csv", "--hidden", "16", "--epochs", "4",
                           "--out", "model.npz", "--animate", "training.gif", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.endswith("Saved the model to model.npz\nWriting the animation of 4 epoch(s) to "
                                  "training.gif\nWrote the animation of 4 epoch(s) to training.gif\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz", "training.gif"]
    frames = gif_frames(tmp_path / "training.gif")
    assert len(frames) == 4
    assert_consecutive_frames_differ(frames)


def test_train_animate_after_a_blow_up_holds_the_epochs_done(cli_inputs, tmp_path):
    result = skscratch_run("train", "--data", cli_inputs / "tiny.csv", "--solver", "sgd", "--learning-rate", "30",
                           "--batch-size", "20", "--validation-fraction", "0", "--hidden", "8", "--epochs", "5",
                           "--out", "model.npz", "--animate", "training.gif", cwd=tmp_path)
    assert_one_line(result, 3, "skscratch train: warning: training diverged in epoch 2")
    assert "Wrote the animation of 1 epoch(s) to training.gif" in result.stdout
    assert Image.open(tmp_path / "training.gif").n_frames == 1


def test_train_animate_after_ctrl_c_holds_the_epochs_done(tmp_path):
    status, out, err = interrupt([SCRIPT, "train", "--data", "digits", "--hidden", "8", "--epochs", "100000",
                                  "--out", "model.npz", "--animate", "training.gif"], "epoch   3/", cwd=tmp_path)
    assert status == 130 and err == "skscratch train: interrupted\n"
    done = int(re.search(r"Interrupted after (\d+) full epoch\(s\)", out).group(1))
    assert f"Wrote the animation of {done} epoch(s) to training.gif" in out
    assert done >= 3 and Image.open(tmp_path / "training.gif").n_frames == done
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz", "training.gif"]


@pytest.mark.parametrize("data, animate, fragments", [
    ("train.csv", "training.avi", ["cannot write an animation to training.avi: the name must end in .gif"]),
    ("train.csv", "nowhere/training.gif", ["cannot write nowhere/training.gif: the folder nowhere does not exist"]),
    ("train.csv", "model.npz", ["--animate and --out both name model.npz"]),
    ("train.csv", ".", [". is a folder; give a file name, such as training.gif"]),
    ("train.csv", "train.csv", ["train.csv is also an input of this command"]),
    ("ten_pixels.csv", "training.gif", ["--animate draws the weights as square images", "have 10 pixels, not a "
                                        "square number"]),
])  # fmt: skip
def test_train_animate_mistakes_are_one_line_before_training(cli_inputs, tmp_path, data, animate, fragments):
    shutil.copy(cli_inputs / data, tmp_path / data)
    result = skscratch_run("train", "--data", data, "--out", "model.npz", "--animate", animate, cwd=tmp_path)
    assert_one_line(result, 1, "skscratch train: error: ", *fragments)
    assert "Training a" not in result.stdout
    assert [p.name for p in tmp_path.iterdir()] == [data]  # nothing written


def test_train_animate_a_hard_link_to_out_is_named_as_such(cli_inputs, tmp_path):
    (tmp_path / "model.npz").write_bytes(b"the model of yesterday")
    os.link(tmp_path / "model.npz", tmp_path / "hard.gif")
    result = skscratch_run("train", "--data", cli_inputs / "train.csv", "--out", "model.npz", "--animate", "hard.gif",
                           cwd=tmp_path)
    assert_one_line(result, 1, "skscratch train: error: --animate hard.gif and --out model.npz name one file "
                    "(hard links); give the animation a file of its own")
    assert (tmp_path / "hard.gif").read_bytes() == b"the model of yesterday"


@pytest.mark.skipif(shutil.which("ffmpeg") is not None, reason="ffmpeg is installed")
def test_train_animate_mp4_without_ffmpeg_is_one_line(tmp_path):
    result = skscratch_run("train", "--data", "digits", "--out", "model.npz", "--animate", "training.mp4",
                           cwd=tmp_path)
    assert_one_line(result, 1, "skscratch train: error: writing training.mp4 needs ffmpeg, which is not installed")
    assert "Loading" not in result.stdout and list(tmp_path.iterdir()) == []


def test_train_animate_without_matplotlib_is_one_line(tmp_path):
    code = """
import sys; sys.modules["matplotlib"] = None
from skscratch.cli import main
sys.exit(main(["train", "--data", "digits", "--out", "model.npz", "--animate", "training.gif"]))
"""
    result = run_python(code, cwd=tmp_path)
    assert_one_line(result, 1, "skscratch train: error: skscratch.plotting draws with matplotlib, which is not "
                    'installed: pip install "skscratch[plot]"')
    assert "Loading" not in result.stdout and list(tmp_path.iterdir()) == []


def test_train_help_lists_animate():
    result = skscratch_run("train", "--help", cwd=None)
    assert result.returncode == 0 and "--animate FILE" in result.stdout and ".mp4 with ffmpeg" in result.stdout
