"""Files written by skscratch 0.1.0, before its modules moved into folders, still load and predict.

``tests/data/release_0_1_0`` holds what the release (commit 2000cd5, one flat
package: ``skscratch._mlp``, ``skscratch._network`` ...) wrote with its
``make_files.py``: pickles, joblib and skops files, which name its module
paths, and safe ``.npz`` files, with the predictions it made. Each loads here
and predicts the same, to float64 rounding (another CPU may round a product
otherwise), and trains on.
"""

import importlib
import pickle
import sys
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris

import skscratch

DATA = Path(__file__).parent / "data" / "release_0_1_0"
MODELS = ["classifier", "regressor", "lbfgs"]


def predictions(name, model):
    if name == "regressor":
        return model.predict(load_diabetes(return_X_y=True)[0])
    return model.predict_proba(load_iris(return_X_y=True)[0])


def load_skops(path):
    sio = pytest.importorskip("skops.io")
    untrusted = sio.get_untrusted_types(file=path)
    assert [name for name in untrusted if name.startswith("skscratch")] in (
        ["skscratch.MLPScratchClassifier"], ["skscratch.MLPScratchRegressor"])  # the class, by its public name
    return sio.load(path, trusted=untrusted)


LOADERS = {
    "pkl": lambda path: pickle.loads(path.read_bytes()),
    "joblib": joblib.load,
    "skops": load_skops,
    "npz": skscratch.load,
}


@pytest.mark.parametrize("kind", list(LOADERS))
@pytest.mark.parametrize("name", MODELS)
def test_a_file_of_the_release_loads_and_predicts_the_same(name, kind):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same version wrote it: no version warning, no other
        model = LOADERS[kind](DATA / f"{name}.{kind}")
    expected = np.load(DATA / f"{name}_predictions.npy")
    np.testing.assert_allclose(predictions(name, model), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["classifier", "regressor"])
def test_a_pickled_model_of_the_release_trains_on(name):
    model = pickle.loads((DATA / f"{name}.pkl").read_bytes())
    estimator = model[-1] if hasattr(model, "steps") else model
    X, y = load_iris(return_X_y=True) if name == "classifier" else load_diabetes(return_X_y=True)
    if name == "classifier":
        y = np.array(["setosa", "versicolor", "virginica"])[y]
    before, epochs = [W.copy() for W in estimator.coefs_], len(estimator.loss_curve_)
    estimator.set_params(warm_start=True, max_iter=3, early_stopping=False)  # (it could keep the best, as it was)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    assert len(estimator.loss_curve_) > epochs  # on from the saved weights, its records carried on
    assert not any(np.array_equal(a, b) for a, b in zip(before, estimator.coefs_))
    assert np.isfinite(predictions(name, model)).all()


def test_the_old_module_paths_are_the_new_modules():
    for old, new in skscratch._MOVED.items():
        module = importlib.import_module(f"skscratch.{old}")
        assert module is importlib.import_module(f"skscratch.{new}"), old
        assert sys.modules[f"skscratch.{old}"] is module
    from skscratch._mlp import MLPScratchClassifier  # what a user's code of 0.1.0 may say
    from skscratch._network import unpack  # noqa: F401

    assert MLPScratchClassifier is skscratch.MLPScratchClassifier


def test_an_unknown_private_name_is_still_an_import_error():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("skscratch._no_such_module")


def test_new_files_name_the_public_path():
    """What this version writes names ``skscratch.MLPScratchClassifier``, a path that will not move again."""
    model = pickle.loads((DATA / "lbfgs.pkl").read_bytes())
    data = pickle.dumps(model)
    assert b"skscratch._mlp" not in data and b"skscratch._estimator" not in data
    assert pickle.loads(data).predict(load_iris(return_X_y=True)[0]).shape == (150,)
