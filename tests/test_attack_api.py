"""Bad arguments to the public functions, refused up front with errors that say what is wrong (issue 24).

- ``TrainingAnimation``: every argument checked before a frame is drawn (dpi, fps, frame, epochs, ...);
- ``check_gradients``: its arguments checked as scikit-learn checks a function's, and the estimator's as its fit;
- ``skscratch.save`` / ``load``: the key's type and encoding;
- every atomic writer (``save``, ``train --out``, ``predict --out``, ``TrainingAnimation.save``): a file that
  ``open(path, "wb")`` could not open is not replaced behind the user's back.
"""

import hashlib
import hmac
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.neural_network import MLPClassifier
from sklearn.utils._param_validation import InvalidParameterError

import skscratch
from skscratch import MLPScratchClassifier, MLPScratchRegressor, check_gradients


@pytest.fixture(autouse=True)
def matplotlibs_default_style():
    """The dpi range follows the figure's font sizes: measured in matplotlib's defaults, whatever a matplotlibrc says."""
    try:
        import matplotlib.style
    except ImportError:
        yield
        return
    with matplotlib.style.context("default"):
        yield

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
CHECKOUT = str(Path(skscratch.__file__).resolve().parents[1])  # the children import this same checkout


# ----------------------------------------------------------------------
# TrainingAnimation (point 10)


def animation(n_frames=3, n_units=2):
    from skscratch.plotting import TrainingAnimation

    pytest.importorskip("matplotlib").use("Agg")
    pytest.importorskip("PIL.Image")
    weights = np.random.RandomState(0).normal(size=(n_frames, 16, n_units))
    return TrainingAnimation(weights, train_loss=np.linspace(2, 1, n_frames))


@pytest.mark.parametrize("dpi, says", [
    (0, "must be a float in the range (0.0, inf). Got 0 instead."),
    (-5, "must be a float in the range (0.0, inf). Got -5 instead."),
    (float("nan"), "Got nan instead."),
    (float("inf"), "Got inf instead."),
    ("80", "Got '80' instead."),
    (None, "Got None instead."),
    (1, "must be a float in the range [10.29, 2042.89]. Got 1 instead. At a dpi below 10.29, the smallest text "
        "(7 points) would be under a pixel tall"),
    (1e7, "must be a float in the range [10.29, 2042.89]. Got 10000000.0 instead. At a dpi above 2042.89, a frame "
          "of this figure (6.7 x 3.2 inches) would hold more than the 89,478,485 pixels that Pillow takes "
          "(67000000 x 32000000 at dpi=10000000.0)"),
])  # fmt: skip
def test_animation_refuses_a_bad_dpi_before_drawing_a_frame(tmp_path, dpi, says):
    anim = animation()
    with pytest.raises(InvalidParameterError) as raised:
        anim.save(tmp_path / "training.gif", dpi=dpi)
    assert str(raised.value).startswith("The 'dpi' parameter of TrainingAnimation.save must be")
    assert says in str(raised.value)
    assert not hasattr(anim, "figure_")  # refused before the figure was made
    assert list(tmp_path.iterdir()) == []


def test_animation_dpi_range_is_the_one_the_frames_can_take(tmp_path):
    """The smallest dpi the message gives draws; the largest is the last within Pillow's pixel limit."""
    from PIL import Image

    anim = animation()
    for dpi in (1e7, 2042.9):  # (before: an IndexError, after trying to draw every frame)
        with pytest.raises(InvalidParameterError, match=r"the range \[10\.29, 2042\.89\]"):
            anim.save(tmp_path / "training.gif", dpi=dpi)
    width, height = 6.7, 3.2  # the figure of 1 or 2 units
    pillow_limit = 1024 * 1024 * 1024 // 4 // 3  # Image.MAX_IMAGE_PIXELS, Pillow's default: 89,478,485
    assert (2042.89 * width) * (2042.89 * height) <= pillow_limit < (2042.9 * width) * (2042.9 * height)
    anim.save(tmp_path / "training.gif", dpi=10.29)  # the smallest: every text at least a pixel tall
    with Image.open(tmp_path / "training.gif") as gif:
        assert gif.n_frames == 3 and gif.size == (int(width * 10.29), int(height * 10.29))
    # a figure made larger after plot lowers the largest dpi, and the message says so
    anim.figure_.set_size_inches(100, 100)
    with pytest.raises(InvalidParameterError, match=r"\(100 x 100 inches\) would hold more than the 89,478,485"):
        anim.save(tmp_path / "training.gif", dpi=100)
    anim.figure_.set_size_inches(2000, 2000)  # too large for any dpi: its text would need more pixels than that
    with pytest.raises(ValueError, match=r"no dpi can draw this figure \(2000 x 2000 inches\): its smallest text "
                                         r"\(7 points\) needs a dpi of 10\.29 or more"):
        anim.save(tmp_path / "training.gif", dpi=100)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["training.gif"]


@pytest.mark.parametrize("suffix, fps, says", [
    (".gif", 1e-9, "must be a float in the range [0.0015259021896696422, 100.0]. Got 1e-09 instead. A GIF holds "
                   "each frame's delay in hundredths of a second, from 0.01 s to 655.35 s."),
    (".gif", 0.0015, "Got 0.0015 instead."),
    (".gif", 101, "Got 101 instead."),  # a delay under 0.01 s: 0 in the GIF
    (".gif", 0, "Got 0 instead."),
    (".gif", float("inf"), "Got inf instead."),
    (".gif", "5", "Got '5' instead."),
    (".mp4", 1e-9, "must be a float in the range [1e-06, 1000000.0]. Got 1e-09 instead. ffmpeg reads the frame "
                   "rate as a fraction of whole numbers up to 1,001,000."),
])  # fmt: skip
def test_animation_refuses_an_fps_the_format_cannot_hold(tmp_path, suffix, fps, says):
    anim = animation()
    with pytest.raises(InvalidParameterError) as raised:
        anim.save(tmp_path / f"training{suffix}", fps=fps, dpi=20)
    assert str(raised.value).startswith("The 'fps' parameter of TrainingAnimation.save must be")
    assert says in str(raised.value)
    assert not hasattr(anim, "figure_") and list(tmp_path.iterdir()) == []


def test_animation_fps_at_the_limits_of_a_gif_is_written_as_asked(tmp_path):
    from PIL import Image

    anim = animation(n_frames=2)
    with pytest.raises(InvalidParameterError, match="'fps' parameter"):
        anim.save(tmp_path / "slow.gif", fps=1 / 656, dpi=20)
    for fps, delay in [(1 / 655.35, 655350), (100, 10)]:  # the slowest and the fastest, in milliseconds
        anim.save(tmp_path / "limit.gif", fps=fps, dpi=20)
        with Image.open(tmp_path / "limit.gif") as gif:
            assert gif.n_frames == 2 and gif.info["duration"] == pytest.approx(delay, abs=10)


@pytest.mark.parametrize("kwargs, error, says", [
    ({"path": 5}, InvalidParameterError, "The 'path' parameter of TrainingAnimation.save must be an instance of "
                                         "'str' or an instance of 'os.PathLike'. Got 5 instead."),
    ({"path": b"training.gif"}, InvalidParameterError, "The 'path' parameter of TrainingAnimation.save"),
    ({"path": None}, InvalidParameterError, "The 'path' parameter of TrainingAnimation.save"),
])  # fmt: skip
def test_animation_refuses_a_path_that_is_not_one(kwargs, error, says):
    anim = animation()
    with pytest.raises(error) as raised:
        anim.save(**kwargs)
    assert says in str(raised.value) and not hasattr(anim, "figure_")


@pytest.mark.parametrize("frame, says", [
    (3, "The 'frame' parameter of TrainingAnimation.plot must be an int in the range [-3, 2]. Got 3 instead."),
    (-4, "Got -4 instead."),
    (1.0, "Got 1.0 instead."),
    ("0", "Got '0' instead."),
])  # fmt: skip
def test_animation_plot_refuses_a_frame_that_is_not_there(frame, says):
    anim = animation()
    with pytest.raises(InvalidParameterError) as raised:
        anim.plot(frame)
    assert says in str(raised.value)
    assert anim.plot(np.int64(-3)).figure_.get_suptitle() == "epoch 1"  # every frame that is there draws


@pytest.mark.parametrize("change, error, says", [
    ({"epochs": [1.5, 2, 3]}, ValueError, "epochs must be whole numbers, but frame 0's is 1.5"),
    ({"epochs": [1, np.nan, 3]}, ValueError, "epochs must be whole numbers, but frame 1's is nan"),
    ({"epochs": ["a", "b", "c"]}, ValueError, "epochs must be whole numbers, got an array of <U1"),
    ({"epochs": [True, False, True]}, ValueError, "epochs must be whole numbers, got an array of bool"),
    ({"epochs": [3, 2, 1]}, ValueError, "epochs must increase from frame to frame, but frame 1 is epoch 2, after "
                                        "epoch 3"),
    ({"epochs": [1, 1, 2]}, ValueError, "frame 1 is epoch 1, after epoch 1"),
    ({"score_name": None}, InvalidParameterError, "The 'score_name' parameter of TrainingAnimation must be an "
                                                  "instance of 'str'. Got None instead."),
    ({"score_name": 5}, InvalidParameterError, "The 'score_name' parameter of TrainingAnimation"),
    ({"weights": "abc"}, InvalidParameterError, "The 'weights' parameter of TrainingAnimation must be an "
                                                "array-like. Got 'abc' instead."),
    ({"weights": None}, InvalidParameterError, "The 'weights' parameter of TrainingAnimation"),
    ({"train_loss": None}, InvalidParameterError, "The 'train_loss' parameter of TrainingAnimation"),
    ({"train_loss": ["a", "b", "c"]}, ValueError, "train_loss must be numbers: could not convert string"),
    ({"nan_at": 1}, ValueError, "weights must be finite, but frame 1 holds NaN or infinity"),
    ({"inf_at": 2}, ValueError, "weights must be finite, but frame 2 holds NaN or infinity"),
])  # fmt: skip
def test_animation_refuses_arguments_it_cannot_draw(change, error, says):
    from skscratch.plotting import TrainingAnimation

    arguments = {"weights": np.random.RandomState(0).normal(size=(3, 16, 2)), "train_loss": [3.0, 2.0, 1.0],
                 "val_score": [0.5, 0.6, 0.7]}
    for key, value in change.items():
        if key in ("nan_at", "inf_at"):
            arguments["weights"][value, 4, 1] = np.nan if key == "nan_at" else -np.inf
        else:
            arguments[key] = value
    with pytest.raises(error) as raised:
        TrainingAnimation(**arguments)
    assert says in str(raised.value)


# ----------------------------------------------------------------------
# check_gradients (point 11)


@pytest.fixture(scope="module")
def iris_small():
    X, y = load_iris(return_X_y=True)
    return X[::5], y[::5]


@pytest.mark.parametrize("kwargs, says", [
    ({"max_params": 0}, "The 'max_params' parameter of check_gradients must be an int in the range [1, inf) or "
                        "None. Got 0 instead."),
    ({"max_params": -1}, "The 'max_params' parameter of check_gradients must be an int in the range [1, inf) or "
                         "None. Got -1 instead."),
    ({"max_params": 2.5}, "The 'max_params' parameter of check_gradients"),
    ({"max_params": "5"}, "The 'max_params' parameter of check_gradients"),
    ({"eps": float("inf")}, "The 'eps' parameter of check_gradients must be a float in the range (0.0, inf). Got "
                            "inf instead."),
    ({"eps": float("nan")}, "The 'eps' parameter of check_gradients must be a float in the range (0.0, inf)"),
    ({"eps": 0}, "The 'eps' parameter of check_gradients must be a float in the range (0.0, inf). Got 0 instead."),
    ({"eps": -1e-6}, "The 'eps' parameter of check_gradients"),
    ({"eps": "1e-6"}, "The 'eps' parameter of check_gradients"),
    ({"random_state": -1}, "The 'random_state' parameter of check_gradients must be an int in the range [0, "
                           "4294967295], an instance of 'numpy.random.mtrand.RandomState' or None. Got -1 instead."),
    ({"random_state": "a"}, "The 'random_state' parameter of check_gradients"),
    ({"sample_weight": "a"}, "The 'sample_weight' parameter of check_gradients must be an array-like or None."),
    ({"X": "abc"}, "The 'X' parameter of check_gradients must be an array-like or a sparse array or matrix."),
    ({"estimator": MLPClassifier()}, "The 'estimator' parameter of check_gradients must be an instance of "
                                     "'skscratch.MLPScratchClassifier' or an instance of "
                                     "'skscratch.MLPScratchRegressor'. Got MLPClassifier() instead."),
    ({"estimator": None}, "The 'estimator' parameter of check_gradients"),
    ({"estimator": MLPScratchClassifier}, "The 'estimator' parameter of check_gradients"),
    # the estimator's own parameters, in its own name, as its fit names them
    ({"estimator": MLPScratchClassifier(alpha=-1)}, "The 'alpha' parameter of MLPScratchClassifier must be a float "
                                                    "in the range [0.0, inf). Got -1 instead."),
    ({"estimator": MLPScratchRegressor(learning_rate_init=0)}, "The 'learning_rate_init' parameter of "
                                                               "MLPScratchRegressor must be a float in the range "
                                                               "(0.0, inf). Got 0 instead."),
])  # fmt: skip
def test_check_gradients_validates_its_arguments_as_scikit_learn_does(iris_small, kwargs, says):
    X, y = iris_small
    arguments = {"estimator": MLPScratchClassifier(hidden_layer_sizes=(3,), random_state=0), "X": X, "y": y,
                 **kwargs}
    with pytest.raises(InvalidParameterError) as raised:
        check_gradients(**arguments)
    assert isinstance(raised.value, ValueError) and isinstance(raised.value, TypeError)
    assert says in str(raised.value)


@pytest.mark.parametrize("eps, says", [
    (1e-300, "eps=1e-300 is too small a step for the weight coefs_[0][0, 0]"),
    (1e300, "the loss is not finite (inf at w + eps, inf at w - eps) for the weight coefs_[0][0, 0]: eps=1e+300 "
            "is too large a step for these weights"),
])  # fmt: skip
def test_check_gradients_refuses_a_step_that_would_give_no_answer(iris_small, eps, says):
    """Before: eps=1e-300 reported a perfect match (1e-290) without comparing anything; eps=1e300 gave NaN."""
    X, y = iris_small
    with pytest.raises(ValueError) as raised:
        check_gradients(MLPScratchClassifier(hidden_layer_sizes=(3,), random_state=0), X, y, eps=eps)
    assert says in str(raised.value)


def test_check_gradients_takes_a_random_state_as_scikit_learn_does(iris_small):
    """A RandomState draws the same parameters as its seed; max_params above the count checks all of them."""
    X, y = iris_small
    estimator = MLPScratchClassifier(hidden_layer_sizes=(3,), random_state=0)
    by_seed = check_gradients(estimator, X, y, max_params=4, random_state=7)
    by_state = check_gradients(estimator, X, y, max_params=4, random_state=np.random.RandomState(7))
    assert by_state == by_seed and by_seed.n_checked == 4
    assert check_gradients(estimator, X, y, max_params=10**6).n_checked == (4 + 1) * 3 + (3 + 1) * 3
    assert check_gradients(estimator, X, y, max_params=1, random_state=None).n_checked == 1


# ----------------------------------------------------------------------
# the key of save and load (point 12)


@pytest.fixture(scope="module")
def fitted():
    X, y = load_iris(return_X_y=True)
    return MLPScratchClassifier(hidden_layer_sizes=(3,), max_iter=3, random_state=0).fit(X, y)


def signature(path):
    with zipfile.ZipFile(path) as archive:
        return np.load(archive.open("skscratch_signature.npy")).tobytes().decode()


def test_a_key_that_utf8_cannot_encode_is_refused_in_words(tmp_path, fitted):
    """The accepted keys sign as before, to the bit; a str with a lone surrogate is refused, naming the key."""
    secret = "clé".encode()
    signatures = set()
    for key in ("clé", secret, bytearray(secret), memoryview(secret)):
        skscratch.save(fitted, tmp_path / "model.npz", key=key)
        signatures.add(signature(tmp_path / "model.npz"))
        skscratch.load(tmp_path / "model.npz", key=secret)
    with zipfile.ZipFile(tmp_path / "model.npz") as archive:  # an HMAC-SHA256 of the manifest, keyed with the bytes
        hashes = {name[:-len(".npy")]: hashlib.sha256(archive.read(name)).hexdigest()
                  for name in archive.namelist() if name not in ("skscratch_digest.npy", "skscratch_signature.npy")}
    manifest = ("skscratch.npz manifest\n" + "".join(f"{n}\t{hashes[n]}\n" for n in sorted(hashes))).encode()
    assert signatures == {hmac.new(secret, manifest, hashlib.sha256).hexdigest()}

    before = (tmp_path / "model.npz").read_bytes()
    for call, function in [("skscratch.save", lambda key: skscratch.save(fitted, tmp_path / "model.npz", key=key)),
                           ("skscratch.load", lambda key: skscratch.load(tmp_path / "model.npz", key=key))]:
        for key, index in [("secret\udcff", 6), ("\ud800", 0)]:
            with pytest.raises(ValueError) as raised:
                function(key)
            assert not isinstance(raised.value, UnicodeError)
            assert str(raised.value).startswith(f"key must be bytes or a str that UTF-8 can encode, but the str "
                                                f"given to {call} holds a lone surrogate at index {index}")
            assert "pass the key as bytes" in str(raised.value)
            assert "secret" not in str(raised.value)  # the key is not shown
    assert (tmp_path / "model.npz").read_bytes() == before


@pytest.mark.parametrize("key, error, says", [
    (1234, TypeError, "key must be bytes or str, not int: {call} takes a key as bytes (or a bytearray or memoryview "
                      "of them), as a str (encoded as UTF-8), or None for no signature"),
    (3.5, TypeError, "key must be bytes or str, not float: {call} takes"),
    (True, TypeError, "key must be bytes or str, not bool: {call} takes"),
    (["secret"], TypeError, "key must be bytes or str, not list: {call} takes"),
    (np.frombuffer(b"secret", np.uint8), TypeError, "key must be bytes or str, not ndarray: {call} takes"),
    ("", ValueError, "key is empty; {call} needs a secret of 32 random bytes or more"),
    (b"", ValueError, "key is empty; {call} needs a secret"),
    (bytearray(), ValueError, "key is empty; {call} needs a secret"),
    ("released", ValueError, "key must be bytes or str, but the memoryview given to {call} cannot be read: "
                             "operation forbidden on released memoryview object"),
])  # fmt: skip
@pytest.mark.parametrize("call", ["skscratch.save", "skscratch.load"])
def test_a_key_of_another_kind_is_refused_in_the_name_of_the_call(tmp_path, fitted, call, key, error, says):
    skscratch.save(fitted, tmp_path / "model.npz", key=b"the key")
    before = (tmp_path / "model.npz").read_bytes()
    if isinstance(key, str) and key == "released":
        key = memoryview(b"secret")
        key.release()
    with pytest.raises(error) as raised:
        if call == "skscratch.save":
            skscratch.save(fitted, tmp_path / "model.npz", key=key)
        else:
            skscratch.load(tmp_path / "model.npz", key=key)
    assert str(raised.value).startswith(says.format(call=call))
    assert (tmp_path / "model.npz").read_bytes() == before


# ----------------------------------------------------------------------
# a file open(path, "wb") could not open is not replaced (point 15)


AS_NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
# root without the capabilities that let it pass over file modes: bound by them as any other user is, and
# still able to read this environment where only root may enter its folder (a fresh `mktemp -d`, as CI's)
AS_ROOT_BOUND_BY_MODES = ("setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--")


def unprivileged():
    """The command prefixes that may run a program as a user whom file modes bind: [()] unless we are root."""
    if os.name != "posix":
        pytest.skip("POSIX file modes")
    if os.geteuid() != 0:
        return [()]
    if shutil.which("setpriv") is None:
        pytest.skip("running as root, whom file modes do not bind, and without setpriv to run as another user")
    return [AS_NOBODY, AS_ROOT_BOUND_BY_MODES]


@pytest.fixture
def folder():
    """A folder the unprivileged user owns (tmp_path's parents are closed to other users), and the prefix.

    The first prefix whose user can import skscratch here and is refused a
    read-only file by ``open`` is taken; none: skipped, saying why.
    """
    tried = []
    for prefix in unprivileged():
        path = Path(tempfile.mkdtemp(prefix="skscratch-readonly-"))
        try:
            if prefix == AS_NOBODY:
                os.chmod(path, 0o755)
                os.chown(path, 65534, 65534)
            probe = path / "probe"
            probe.write_bytes(b"x")
            own(probe, prefix)
            probe.chmod(0o444)
            result = run_as(prefix, path, "import sys, skscratch; open(sys.argv[1], 'wb')", str(probe))
            if "PermissionError" in result.stderr:
                probe.unlink()
                yield path, prefix
                return
            tried.append(f"{' '.join(prefix) or 'this user'}: rc {result.returncode} {result.stderr[-200:]}")
        finally:
            shutil.rmtree(path, ignore_errors=True)
    pytest.skip("cannot run skscratch as a user whom a read-only file binds: " + "; ".join(tried))


def own(path, prefix):
    if prefix == AS_NOBODY:
        os.chown(path, 65534, 65534)


def run_as(prefix, folder, code, *args, module=False):
    env = {**os.environ, "HOME": str(folder), "MPLCONFIGDIR": str(folder / ".mpl"),
           "XDG_CACHE_HOME": str(folder / ".cache"), "PYTHONPATH": os.pathsep.join(
               [CHECKOUT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
    command = [*prefix, sys.executable] + (["-m", code] if module else ["-c", code]) + list(args)
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=300)


def read_only(path, prefix, content=b"the old file"):
    path.write_bytes(content)
    own(path, prefix)
    path.chmod(0o444)
    return content


REPLACE = """
import json, os, sys
import skscratch
from skscratch.io.file_access import write_atomically

folder, model = sys.argv[1], skscratch.load(sys.argv[2])
outcome = {}

def attempt(name, call):
    try:
        call()
        outcome[name] = "replaced"
    except OSError as exc:
        outcome[name] = [type(exc).__name__, exc.errno, repr(exc.filename), str(exc)]

attempt("save", lambda: skscratch.save(model, os.path.join(folder, "model.npz")))
attempt("save-bytes-path", lambda: skscratch.save(model, os.fsencode(os.path.join(folder, "model.npz"))))
attempt("save-through-link", lambda: skscratch.save(model, os.path.join(folder, "link.npz")))
attempt("save-writable", lambda: skscratch.save(model, os.path.join(folder, "writable.npz")))

def write_then_lock(f):  # made read-only while the new file is written: checked again before the rename
    f.write(b"new")
    os.chmod(os.path.join(folder, "locked-meanwhile"), 0o444)

attempt("locked-meanwhile", lambda: write_atomically(os.path.join(folder, "locked-meanwhile"), write_then_lock))
try:
    open(os.path.join(folder, "model.npz"), "wb")
except OSError as exc:
    outcome["open"] = [type(exc).__name__, exc.errno, repr(exc.filename), str(exc)]
print(json.dumps(outcome))
"""


def test_save_refuses_a_file_open_could_not_open_with_opens_error(folder, fitted, tmp_path):
    path, prefix = folder
    source = path / "source.npz"
    skscratch.save(fitted, source)
    old = read_only(path / "model.npz", prefix)
    (path / "link.npz").symlink_to("model.npz")
    (path / "writable.npz").write_bytes(b"writable")
    own(path / "writable.npz", prefix)
    (path / "writable.npz").chmod(0o640)
    (path / "locked-meanwhile").write_bytes(b"old")
    own(path / "locked-meanwhile", prefix)
    result = run_as(prefix, path, REPLACE, str(path), str(source))
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    model = str(path / "model.npz")
    assert outcome["open"] == ["PermissionError", 13, repr(model), f"[Errno 13] Permission denied: {model!r}"]
    assert outcome["save"] == outcome["open"]  # the error open gives, as it gives it
    bytes_name = os.fsencode(model)
    assert outcome["save-bytes-path"] == ["PermissionError", 13, repr(bytes_name),
                                          f"[Errno 13] Permission denied: {bytes_name!r}"]
    link = str(path / "link.npz")  # named as given, as open names it
    assert outcome["save-through-link"] == ["PermissionError", 13, repr(link), f"[Errno 13] Permission denied: {link!r}"]
    assert outcome["locked-meanwhile"][:3] == ["PermissionError", 13, repr(str(path / "locked-meanwhile"))]
    assert (path / "model.npz").read_bytes() == old and (path / "link.npz").is_symlink()
    assert stat.S_IMODE((path / "model.npz").stat().st_mode) == 0o444
    assert (path / "locked-meanwhile").read_bytes() == b"old"
    # a file it may write is replaced as ever, keeping its mode
    assert outcome["save-writable"] == "replaced"
    assert skscratch.load(path / "writable.npz").n_layers_ == fitted.n_layers_
    assert stat.S_IMODE((path / "writable.npz").stat().st_mode) == 0o640
    assert sorted(p.name for p in path.iterdir() if not p.name.startswith(".mpl") and p.name != ".cache") == [
        "link.npz", "locked-meanwhile", "model.npz", "source.npz", "writable.npz"]  # no temporary file left

    # as this process's own user, by the same rule: what open(path, "wb") would do (root may write a read-only
    # file, so root may replace it; another user gets open's PermissionError), and the mode stays
    mine = tmp_path / "model.npz"
    read_only(mine, ())
    try:
        os.close(os.open(mine, os.O_WRONLY))  # would open(mine, "wb") open it? (asked without truncating it)
        openable = True
    except PermissionError:
        openable = False
    if openable:
        skscratch.save(fitted, mine)
        assert skscratch.load(mine).n_layers_ == fitted.n_layers_
    else:
        with pytest.raises(PermissionError) as raised:
            skscratch.save(fitted, mine)
        assert raised.value.filename == str(mine) and mine.read_bytes() == b"the old file"
    assert stat.S_IMODE(mine.stat().st_mode) == 0o444 and sorted(tmp_path.iterdir()) == [mine]


ANIMATE = """
import json, sys
import matplotlib
matplotlib.use("Agg")
import numpy as np
from skscratch.plotting import TrainingAnimation

anim = TrainingAnimation(np.random.RandomState(0).normal(size=(3, 16, 2)), train_loss=[3.0, 2.0, 1.0])
try:
    anim.save(sys.argv[1], dpi=20)
    outcome = "replaced"
except OSError as exc:
    outcome = [type(exc).__name__, exc.errno, exc.filename, str(exc)]
print(json.dumps({"outcome": outcome, "drawn": hasattr(anim, "figure_")}))
"""


def test_animation_refuses_a_read_only_file_before_drawing(folder):
    pytest.importorskip("matplotlib")
    path, prefix = folder
    gif = path / "training.gif"
    old = read_only(gif, prefix)
    result = run_as(prefix, path, ANIMATE, str(gif))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "outcome": ["PermissionError", 13, str(gif), f"[Errno 13] Permission denied: '{gif}'"], "drawn": False}
    assert gif.read_bytes() == old


def test_train_and_predict_refuse_a_read_only_out_before_any_work(folder):
    path, prefix = folder
    rng = np.random.RandomState(0)
    lines = ["label," + ",".join(f"pixel{i}" for i in range(16))]
    lines += [",".join(str(v) for v in [k % 2, *rng.randint(0, 256, 16)]) for k in range(20)]
    (path / "tiny.csv").write_text("\n".join(lines) + "\n")
    old = read_only(path / "model.npz", prefix)
    train = run_as(prefix, path, "skscratch", "train", "--data", "tiny.csv", "--out", "model.npz", "--epochs", "1",
                   module=True)
    assert train.returncode == 1, (train.stdout, train.stderr)
    assert train.stderr.strip() == "skscratch train: error: cannot write model.npz: Permission denied"
    assert "Loading" not in train.stdout and "Epoch" not in train.stdout  # refused before any work
    assert (path / "model.npz").read_bytes() == old
    (path / "model.npz").unlink()
    gif = read_only(path / "training.gif", prefix)  # --animate, by the same rule
    animate = run_as(prefix, path, "skscratch", "train", "--data", "tiny.csv", "--out", "model.npz", "--epochs", "1",
                     "--animate", "training.gif", module=True)
    assert animate.returncode == 1, (animate.stdout, animate.stderr)
    assert animate.stderr.strip() == "skscratch train: error: cannot write training.gif: Permission denied"
    assert "Loading" not in animate.stdout and not (path / "model.npz").exists()
    assert (path / "training.gif").read_bytes() == gif

    model = MLPScratchClassifier(hidden_layer_sizes=(3,), max_iter=3, random_state=0)
    skscratch.save(model.fit(rng.rand(20, 16), np.arange(20) % 2), path / "model2.npz")
    own(path / "model2.npz", prefix)
    old = read_only(path / "predictions.csv", prefix)
    predict = run_as(prefix, path, "skscratch", "predict", "--model", "model2.npz", "--data", "tiny.csv", "--out",
                     "predictions.csv", module=True)
    assert predict.returncode == 1, (predict.stdout, predict.stderr)
    assert predict.stderr.strip() == "skscratch predict: error: cannot write predictions.csv: Permission denied"
    assert (path / "predictions.csv").read_bytes() == old
