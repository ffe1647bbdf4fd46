"""ONNX export: onnxruntime gives our labels and probabilities, for every activation."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skscratch
from skscratch import MLPScratchClassifier, MLPScratchRegressor
from skscratch.nn.activations import ACTIVATIONS

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")

HIDDEN = sorted(set(ACTIVATIONS) - {"softmax", "exp"})


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    return (X[:500] / 16).astype(np.float32), y[:500]


def targets(kind, y, X):
    return {
        "binary": np.where(y % 2 == 0, "even", "odd"),
        "multiclass": y,
        "multilabel": np.column_stack([y % 2 == 0, y > 4, y == 3]).astype(int),
        "regression": y / 9.0,
        "regression-2": np.column_stack([y / 9.0, X[:, 20]]),
        "poisson": (y % 4).astype(float),
    }[kind]


def run(model, X):
    onx = skscratch.to_onnx(model, X[:1])
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"X": X})


def fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y)


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("activation", HIDDEN)
def test_classifier_parity(data, activation, kind):
    X, y = data
    model = fit(MLPScratchClassifier((16, 8), activation=activation, max_iter=30, random_state=0,
                                     dtype=np.float32), X, targets(kind, y, X))
    labels, probabilities = run(model, X)
    np.testing.assert_allclose(probabilities, model.predict_proba(X), rtol=0, atol=1e-5)
    expected = model.predict(X)
    np.testing.assert_array_equal(labels, expected)
    assert len(np.unique(expected)) > 1  # the comparison is not between constants


@pytest.mark.parametrize("kind, loss", [("regression", "squared_error"), ("regression-2", "squared_error"),
                                        ("poisson", "poisson")])
@pytest.mark.parametrize("activation", HIDDEN)
def test_regressor_parity(data, activation, kind, loss):
    X, y = data
    model = fit(MLPScratchRegressor(hidden_layer_sizes=(16,), activation=activation, loss=loss, max_iter=30, random_state=0,
                                    dtype=np.float32), X, targets(kind, y, X))
    (predictions,) = run(model, X)
    np.testing.assert_allclose(predictions.reshape(model.predict(X).shape), model.predict(X), rtol=1e-5, atol=1e-5)


def test_pipeline_with_a_scaler_and_float64_model(data):
    X, y = data
    pipe = fit(make_pipeline(StandardScaler(), MLPScratchClassifier((32,), activation="gelu", max_iter=30,
                                                                    random_state=0)), X, y)
    labels, probabilities = run(pipe, X)
    np.testing.assert_allclose(probabilities, pipe.predict_proba(X), rtol=0, atol=1e-5)
    assert (labels == pipe.predict(X)).mean() > 0.998  # float32 graph of a float64 model: ties may flip
    assert pipe.score(X, y) > 0.9


def test_integral_float_and_bool_classes_come_out_as_int64(data):
    X, y = data
    for target in (y.astype(float), y > 4):
        model = fit(MLPScratchClassifier((8,), max_iter=20, random_state=0), X, target)
        labels, _ = run(model, X)
        assert labels.dtype == np.int64
        np.testing.assert_array_equal(labels, model.predict(X).astype(np.int64))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_multilabel_in_float32_and_float64_without_shape_warnings(data, dtype, capfd):
    X, y = data
    X = X.astype(dtype)
    model = fit(MLPScratchClassifier((16,), max_iter=30, random_state=0), X, targets("multilabel", y, X))
    onx = skscratch.to_onnx(model, X[:1])
    label_type = onx.graph.output[0].type.tensor_type
    assert [d.dim_value for d in label_type.shape.dim][1:] == [3]  # one label per output column
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    labels, probabilities = session.run(None, {"X": X})
    assert "MergeShapeInfo" not in capfd.readouterr().err  # onnxruntime found the declared shapes true
    assert probabilities.dtype == dtype and labels.shape == (len(X), 3)
    np.testing.assert_allclose(probabilities, model.predict_proba(X), rtol=0, atol=1e-5)
    np.testing.assert_array_equal(labels, model.predict(X))
    assert 0 < labels.mean() < 1


@pytest.mark.parametrize("label", [4, "only"])
def test_one_class_model_converts(data, label):
    X, _ = data
    model = fit(MLPScratchClassifier((8,), max_iter=5, random_state=0), X, np.full(len(X), label))
    labels, probabilities = run(model, X)
    np.testing.assert_array_equal(probabilities, np.ones((len(X), 1), np.float32))
    np.testing.assert_array_equal(labels.astype(str), np.full(len(X), str(label)))


@pytest.mark.parametrize("Estimator", [MLPScratchClassifier, MLPScratchRegressor])
def test_converting_an_unfitted_model_raises_not_fitted(data, Estimator):
    from sklearn.exceptions import NotFittedError

    X, _ = data
    with pytest.raises(NotFittedError, match="not fitted yet"):
        skscratch.to_onnx(Estimator(), X[:1])
    with pytest.raises(NotFittedError, match="not fitted yet"):
        skscratch.to_onnx(make_pipeline(StandardScaler(), Estimator()), X[:1])
