"""skscratch.Activation: a user's own activation trains, checks, clones, pickles, exports or is refused clearly."""

import pickle
import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from user_activations import ScaledTanh, Swish, SwishWithoutOnnx, Tanh, WrongSwish

import skscratch
from _weights import assert_same_weights, weights
from skscratch import Activation, MLPScratchClassifier, MLPScratchRegressor, check_gradients

# The largest relative error a right gradient may show. check_gradients divides by at least
# 1e6 eps J / h, so 1e-6 would be the rounding noise of one eps in the loss J: the loss sums many
# rounded terms whose last bits depend on the BLAS kernel (1.06e-6 was measured with OpenBLAS's
# Sandybridge kernels). 1e-5 allows 10 eps of noise; a wrong derivative gives 1e-2 or more.
RIGHT = 1e-5


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, test_size=0.25, random_state=0, stratify=y)


def quiet_fit(model, X, y, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y, **fit_params)


# ----------------------------------------------------------------------
# the same network as the built-in, bit for bit


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("Estimator", [MLPScratchClassifier, MLPScratchRegressor])
def test_a_user_tanh_gives_the_builtin_tanh_bit_for_bit(Estimator, solver):
    X, y = load_iris(return_X_y=True)
    target = y if Estimator is MLPScratchClassifier else X[:, 0] * y
    params = dict(hidden_layer_sizes=(7, 5), solver=solver, max_iter=15, dropout=0.1 if solver != "lbfgs" else 0.0,
                  alpha=1e-3, random_state=0)
    builtin = quiet_fit(Estimator(activation="tanh", **params), X, target)
    user = quiet_fit(Estimator(activation=Tanh(), **params), X, target)
    assert_same_weights(builtin, user)
    assert builtin.loss_curve_ == user.loss_curve_ if solver != "lbfgs" else builtin.loss_ == user.loss_
    np.testing.assert_array_equal(builtin.predict(X), user.predict(X))


# ----------------------------------------------------------------------
# training and the gradient check


def test_swish_learns_digits_as_well_as_relu(digits):
    X_train, X_test, y_train, y_test = digits
    scores = {}
    for name, activation in [("relu", "relu"), ("swish", Swish())]:
        model = quiet_fit(MLPScratchClassifier(hidden_layer_sizes=(64,), activation=activation, max_iter=60,
                                               random_state=0), X_train, y_train)
        scores[name] = model.score(X_test, y_test)
    assert scores["swish"] > 0.95, scores
    assert abs(scores["swish"] - scores["relu"]) < 0.03, scores


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel", "regression", "poisson"])
@pytest.mark.parametrize("activation", [Swish(), ScaledTanh(1.5)], ids=repr)
def test_check_gradients_passes_a_right_derivative(activation, kind):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(12, 4))
    Estimator, y, params = {
        "binary": (MLPScratchClassifier, rng.randint(2, size=12), {}),
        "multiclass": (MLPScratchClassifier, rng.randint(3, size=12), {}),
        "multilabel": (MLPScratchClassifier, rng.randint(2, size=(12, 3)), {}),
        "regression": (MLPScratchRegressor, rng.normal(size=(12, 2)), {}),
        "poisson": (MLPScratchRegressor, rng.poisson(2.0, size=12).astype(float), {"loss": "poisson"}),
    }[kind]
    sample_weight = rng.uniform(0.2, 3, size=12)
    model = Estimator(hidden_layer_sizes=(5, 4), activation=activation, alpha=0.05, random_state=0, **params)
    assert check_gradients(model, X, y, sample_weight).max_relative_error < RIGHT


def test_check_gradients_catches_a_wrong_derivative_and_passes_the_right_one():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    for dropout in (0.0, 0.3):
        right = check_gradients(MLPScratchClassifier(hidden_layer_sizes=(6, 5), activation=Swish(), dropout=dropout,
                                                     random_state=0), X, y)
        wrong = check_gradients(MLPScratchClassifier(hidden_layer_sizes=(6, 5), activation=WrongSwish(),
                                                     dropout=dropout, random_state=0), X, y)
        assert right.max_relative_error < RIGHT, right
        assert wrong.max_relative_error > 1e-2, wrong
        # the output layer's gradient needs no f': the mistake shows below it
        assert wrong.layer < 2


def test_a_fitted_float32_swish_model_checks_in_float64(digits):
    X_train, _, y_train, _ = digits
    model = quiet_fit(MLPScratchClassifier(hidden_layer_sizes=(16,), activation=Swish(), dtype="float32",
                                           max_iter=5, random_state=0), X_train, y_train)
    assert model.coefs_[0].dtype == np.float32
    assert check_gradients(model, X_train[:40], y_train[:40]).max_relative_error < RIGHT


# ----------------------------------------------------------------------
# a scikit-learn estimator: clone, params, Pipeline, GridSearchCV, partial_fit


def test_clone_and_params_keep_the_activation_and_its_parameters():
    model = MLPScratchClassifier(activation=ScaledTanh(3.0))
    twin = clone(model)
    assert type(twin.activation) is ScaledTanh and twin.activation.scale == 3.0
    assert twin.activation is not model.activation  # a deep copy, as clone makes of non-estimators
    assert repr(model) == "MLPScratchClassifier(activation=ScaledTanh(scale=3.0))"
    model.set_params(activation="relu")
    assert model.activation == "relu"


def test_pipeline_and_grid_search_over_user_and_builtin_activations(digits):
    X_train, X_test, y_train, y_test = digits
    pipe = make_pipeline(StandardScaler(), MLPScratchClassifier(hidden_layer_sizes=(32,), max_iter=20, random_state=0))
    grid = GridSearchCV(pipe, {"mlpscratchclassifier__activation": ["relu", Swish(), ScaledTanh(2.0)]}, cv=2)
    quiet_fit(grid, X_train, y_train)
    tried = [repr(a) for a in grid.cv_results_["param_mlpscratchclassifier__activation"]]
    assert tried == ["'relu'", "Swish()", "ScaledTanh(scale=2.0)"]
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    assert grid.score(X_test, y_test) > 0.9


def test_partial_fit_and_warm_start_continue_with_the_user_activation(digits):
    X_train, _, y_train, _ = digits
    models = {}
    for activation in ("tanh", Tanh()):
        steps = MLPScratchClassifier(hidden_layer_sizes=(16,), activation=activation, random_state=0)
        for _ in range(3):
            steps.partial_fit(X_train, y_train, classes=np.arange(10))
        warm = quiet_fit(MLPScratchClassifier(hidden_layer_sizes=(16,), activation=activation, max_iter=3,
                                              warm_start=True, random_state=0), X_train, y_train)
        quiet_fit(warm, X_train, y_train)
        models[repr(activation)] = (steps, warm)
    for a, b in zip(models["'tanh'"], models["Tanh()"], strict=True):
        assert a.n_iter_ == b.n_iter_ > 0
        assert_same_weights(a, b)


# ----------------------------------------------------------------------
# files: pickles carry the class by name; the safe format refuses code


def test_pickle_and_joblib_round_trip(digits, tmp_path):
    X_train, X_test, y_train, _ = digits
    model = quiet_fit(MLPScratchClassifier(hidden_layer_sizes=(16,), activation=ScaledTanh(1.5), max_iter=5,
                                           random_state=0), X_train, y_train)
    again = pickle.loads(pickle.dumps(model))
    joblib.dump(model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    for other in (again, loaded):
        assert other.activation.scale == 1.5
        np.testing.assert_array_equal(other.predict_proba(X_test), model.predict_proba(X_test))


def test_a_joblib_file_loads_in_another_process_where_the_module_is_importable(tmp_path):
    module = tmp_path / "my_activations.py"
    module.write_text(textwrap.dedent("""
        import numpy as np
        from skscratch import Activation

        class Softsign(Activation):
            def forward(self, Z):
                return Z / (1 + np.abs(Z))

            def derivative(self, Z, A):
                return 1 / (1 + np.abs(Z)) ** 2
    """))
    train = textwrap.dedent("""
        import sys, joblib, numpy as np
        from sklearn.datasets import load_iris
        from my_activations import Softsign
        from skscratch import MLPScratchClassifier, check_gradients
        X, y = load_iris(return_X_y=True)
        assert check_gradients(MLPScratchClassifier(hidden_layer_sizes=(5,), activation=Softsign()), X, y).max_relative_error < 1e-5
        model = MLPScratchClassifier(hidden_layer_sizes=(8,), activation=Softsign(), solver="lbfgs",
                                     max_iter=200, random_state=0).fit(X, y)
        joblib.dump(model, sys.argv[1])
        np.save(sys.argv[2], model.predict_proba(X))
    """)
    load = textwrap.dedent("""
        import sys, joblib, numpy as np
        from sklearn.datasets import load_iris
        model = joblib.load(sys.argv[1])
        X, y = load_iris(return_X_y=True)
        np.testing.assert_array_equal(model.predict_proba(X), np.load(sys.argv[2]))
        assert type(model.activation).__name__ == "Softsign" and model.score(X, y) > 0.9
    """)
    files = [str(tmp_path / "model.joblib"), str(tmp_path / "proba.npy")]
    for code, cwd in [(train, tmp_path), (load, tmp_path)]:
        result = subprocess.run([sys.executable, "-c", code, *files], cwd=cwd, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stderr
    # where the class cannot be imported, loading fails and says which module is missing
    result = subprocess.run([sys.executable, "-c", load, *files], cwd=tmp_path.parent, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode != 0 and "No module named 'my_activations'" in result.stderr


def test_the_safe_format_refuses_a_user_activation_and_writes_nothing(digits, tmp_path):
    X_train, _, y_train, _ = digits
    model = quiet_fit(MLPScratchClassifier(hidden_layer_sizes=(8,), activation=Swish(), max_iter=2, random_state=0),
                      X_train, y_train)
    path = tmp_path / "model.npz"
    with pytest.raises(ValueError, match=r"activation=Swish\(\) in the safe format.*not code.*activation's "
                                         r"name.*joblib"):
        skscratch.save(model, path)
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------
# ONNX: converted from the class's onnx(op, Z), or refused


def test_onnx_from_the_users_onnx_method(digits):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("skl2onnx")
    X_train, X_test, y_train, _ = digits
    model = quiet_fit(make_pipeline(StandardScaler(), MLPScratchClassifier(hidden_layer_sizes=(16, 8),
                                                                           activation=Swish(), max_iter=10,
                                                                           random_state=0)), X_train, y_train)
    onx = skscratch.to_onnx(model, X_test[:1].astype(np.float32))
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    labels, probabilities = session.run(None, {"X": X_test.astype(np.float32)})
    np.testing.assert_allclose(probabilities, model.predict_proba(X_test), atol=1e-5)
    assert (labels == model.predict(X_test)).mean() > 0.99  # a tie may round either way in float32


def test_onnx_refuses_an_activation_without_onnx_form(digits):
    pytest.importorskip("skl2onnx")
    X_train, _, y_train, _ = digits
    model = quiet_fit(MLPScratchClassifier(hidden_layer_sizes=(8,), activation=SwishWithoutOnnx(), max_iter=2,
                                           random_state=0), X_train, y_train)
    with pytest.raises(ValueError, match=r"Cannot convert activation=SwishWithoutOnnx\(\) to ONNX.*define "
                                         r"SwishWithoutOnnx.onnx\(op, Z\)"):
        skscratch.to_onnx(model, X_train[:1])


# ----------------------------------------------------------------------
# what a mistake in the user's class gives: a clear error, never a silent NaN


def test_an_incomplete_class_cannot_be_made():
    class NoDerivative(Activation):
        def forward(self, Z):
            return Z

    with pytest.raises(TypeError, match="abstract method.*derivative"):
        NoDerivative()


@pytest.mark.parametrize("activation", [Swish, "swish", lambda Z: Z, 3.0],
                         ids=["a class", "an unknown name", "a lambda", "a number"])
def test_anything_else_is_refused_by_parameter_validation(activation):
    X, y = load_iris(return_X_y=True)
    with pytest.raises(InvalidParameterError, match="'activation' parameter.*instance of .*Activation"):
        MLPScratchClassifier(activation=activation).fit(X, y)


class WrongShape(Activation):
    def forward(self, Z):
        return Z.sum(axis=1)

    def derivative(self, Z, A):
        return Z


class ReturnsAList(Activation):
    def forward(self, Z):
        return Z.tolist()

    def derivative(self, Z, A):
        return Z


class BadDerivativeShape(Activation):
    def forward(self, Z):
        return Z.copy()

    def derivative(self, Z, A):
        return np.ones(Z.shape[1])  # broadcasts, but is not elementwise


@pytest.mark.parametrize("activation, error, words", [
    (WrongShape(), ValueError, r"WrongShape\(\).forward returned shape \(\d+,\) for Z of shape \(\d+, 5\)"),
    (ReturnsAList(), TypeError, r"ReturnsAList\(\).forward returned a builtins.list for Z of type numpy.ndarray"),
    (BadDerivativeShape(), ValueError, r"BadDerivativeShape\(\).derivative returned shape \(5,\)"),
])
def test_a_function_that_is_not_elementwise_is_named(activation, error, words):
    X, y = load_iris(return_X_y=True)
    model = MLPScratchClassifier(hidden_layer_sizes=(5,), activation=activation, max_iter=2)
    with pytest.raises(error, match=words):
        model.fit(X, y)
    assert not hasattr(model, "coefs_")


class Float64Swish(Swish):
    def forward(self, Z):
        return super().forward(Z.astype(np.float64))

    def derivative(self, Z, A):
        return super().derivative(Z.astype(np.float64), A.astype(np.float64))


def test_a_float64_result_in_a_float32_network_is_cast_back(digits):
    X_train, X_test, y_train, y_test = digits
    models = [quiet_fit(MLPScratchClassifier(hidden_layer_sizes=(16,), activation=activation, dtype="float32",
                                            max_iter=20, random_state=0), X_train, y_train)
              for activation in (Float64Swish(), Swish())]
    assert all(w.dtype == np.float32 for w in weights(models[0]))
    assert models[0].predict_proba(X_test).dtype == np.float32
    # the same training as with a float32 Swish, up to float32 rounding
    np.testing.assert_allclose(models[0].predict_proba(X_test), models[1].predict_proba(X_test), atol=1e-4)
    assert models[0].score(X_test, y_test) > 0.5


class Exploding(Activation):
    """exp(z): unbounded, so a large learning rate blows the loss up."""

    def forward(self, Z):
        return np.exp(Z)

    def derivative(self, Z, A):
        return A


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:The network has barely learned:sklearn.exceptions.ConvergenceWarning")
def test_a_diverging_user_activation_is_reported_and_the_last_good_weights_kept(digits):
    X_train, _, y_train, _ = digits
    model = MLPScratchClassifier(hidden_layer_sizes=(16,), activation=Exploding(), solver="sgd",
                                 learning_rate_init=5.0, max_iter=30, random_state=0)
    with pytest.warns(ConvergenceWarning, match="diverged in epoch 1.*weights from the end of epoch 0 were restored"):
        model.fit(X_train * 20, y_train)
    assert model.n_iter_ == 0 and model.loss_curve_ == []
    assert all(np.isfinite(w).all() for w in weights(model))
    assert np.isfinite(model.predict_proba(X_train)).all()


# ----------------------------------------------------------------------
# another array library: the class written with Z's namespace runs there


def test_swish_on_torch_matches_numpy(digits):
    torch = pytest.importorskip("torch")
    from sklearn import config_context

    X_train, X_test, y_train, _ = digits
    params = dict(hidden_layer_sizes=(16,), activation=Swish(), max_iter=5, random_state=0)
    on_numpy = quiet_fit(MLPScratchClassifier(**params), X_train, y_train)
    with config_context(array_api_dispatch=True):
        on_torch = quiet_fit(MLPScratchClassifier(**params), torch.asarray(X_train), torch.asarray(y_train))
        proba = on_torch.predict_proba(torch.asarray(X_test))
    assert isinstance(proba, torch.Tensor)
    np.testing.assert_allclose(proba.numpy(), on_numpy.predict_proba(X_test), rtol=0, atol=1e-10)


def test_a_numpy_only_activation_on_torch_says_so(digits):
    torch = pytest.importorskip("torch")
    from sklearn import config_context

    class NumpySwish(Activation):
        def forward(self, Z):
            return np.asarray(Z) / (1 + np.exp(-np.asarray(Z)))

        def derivative(self, Z, A):
            return np.ones(Z.shape)

    X_train, _, y_train, _ = digits
    with config_context(array_api_dispatch=True), pytest.raises(
            TypeError, match=r"NumpySwish\(\).forward returned a numpy.ndarray for Z of type torch.Tensor"):
        MLPScratchClassifier(hidden_layer_sizes=(4,), activation=NumpySwish(), max_iter=1).fit(
            torch.asarray(X_train), torch.asarray(y_train))


# ----------------------------------------------------------------------
# found by review: what a faulty class does to the estimator, and the words


class Flaky(Activation):
    """tanh that raises on its call number ``fail_at`` (counting from 1), as a buggy user class might."""

    def __init__(self, fail_at=None):
        self.fail_at = fail_at
        self.calls = 0

    def forward(self, Z):
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("the user's bug")
        return np.tanh(Z)

    def derivative(self, Z, A):
        return 1 - A**2


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_an_error_mid_epoch_leaves_the_network_at_the_epochs_start(digits, how):
    X_train, _, y_train, _ = digits
    model = quiet_fit(MLPScratchClassifier(hidden_layer_sizes=(8,), activation=Flaky(), batch_size=100,
                                           max_iter=3, random_state=0, warm_start=how == "warm_start"),
                      X_train, y_train)
    twin = clone(model).set_params(activation="tanh")
    quiet_fit(twin, X_train, y_train)
    # 14 minibatches an epoch; fail in the third minibatch of the second epoch of this call
    model.activation.calls, model.activation.fail_at = 0, 14 + 3 if how == "warm_start" else 3
    with pytest.raises(RuntimeError, match="the user's bug"):
        if how == "partial_fit":
            model.partial_fit(X_train, y_train)
        else:
            model.fit(X_train, y_train)
    epochs_kept = 1 if how == "warm_start" else 0  # the epochs of this call that ended
    if epochs_kept:
        twin.set_params(max_iter=1)
        quiet_fit(twin, X_train, y_train)
    assert_same_weights(model, twin)
    assert len(model.loss_curve_) == len(twin.loss_curve_) == 3 + epochs_kept
    assert model.t_ == twin.t_ and model._n_steps == twin._n_steps
    # and it trains on: the next call runs from there
    model.activation.fail_at = None
    model.partial_fit(X_train, y_train)
    assert len(model.loss_curve_) == 4 + epochs_kept and np.isfinite(model.loss_curve_).all()


class Sqrt(Activation):
    def forward(self, Z):
        return np.sqrt(Z)

    def derivative(self, Z, A):
        return 0.5 / A


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_a_nan_from_the_users_function_is_blamed_on_it_not_on_x(digits):
    X_train, X_test, y_train, _ = digits
    with pytest.raises(ValueError, match=r"activation=Sqrt\(\) returned NaN for finite inputs \(its forward"):
        MLPScratchClassifier(hidden_layer_sizes=(6,), activation=Sqrt()).fit(X_train, y_train)
    model = quiet_fit(MLPScratchClassifier(hidden_layer_sizes=(6,), activation="relu", max_iter=2, random_state=0),
                      X_train, y_train)
    model.set_params(activation=Sqrt())  # a fitted network, asked to predict with a function that fails
    with pytest.raises(ValueError, match=r"forward pass gave NaN: activation=Sqrt\(\) returned NaN"):
        model.predict(X_test)


class BadOnnx(Swish):
    def __init__(self, mistake):
        self.mistake = mistake

    def onnx(self, op, Z):
        if self.mistake == "unknown operator":
            return op("Swishy", Z)
        if self.mistake == "no return":
            op("Sigmoid", Z)
            return None
        if self.mistake == "a list":
            return [op("Sigmoid", Z)]
        if self.mistake == "the input name":
            return "X"
        return op("Mul", Z)  # one input short


@pytest.mark.parametrize("mistake, words", [
    ("unknown operator", r"'Swishy' is not an ONNX operator"),
    ("no return", r"must return what op\(...\) returned \(or Z\), not None"),
    ("a list", r"must return what op\(...\) returned"),
    ("the input name", r"must return what op\(...\) returned \(or Z\), not 'X'"),
    ("one input short", r"made an invalid ONNX graph"),
])
def test_a_faulty_onnx_method_is_refused_by_to_onnx_naming_the_activation(digits, mistake, words):
    pytest.importorskip("skl2onnx")
    X_train, _, y_train, _ = digits
    model = quiet_fit(MLPScratchClassifier(hidden_layer_sizes=(4,), activation=BadOnnx(mistake), max_iter=1,
                                           random_state=0), X_train, y_train)
    with pytest.raises(ValueError, match=rf"activation=BadOnnx\(mistake='{mistake}'\).*{words}"):
        skscratch.to_onnx(quiet_fit(make_pipeline(StandardScaler(), model), X_train, y_train)
                          if mistake == "a list" else model, X_train[:1])


class ComparesByValue(Tanh):
    __hash__ = object.__hash__

    def __eq__(self, other):
        return vars(self) == vars(other)  # raises for a str: no __dict__


def test_an_activation_with_its_own_eq_is_never_compared_with_names():
    X, y = load_iris(return_X_y=True)
    a = quiet_fit(MLPScratchClassifier(hidden_layer_sizes=(5,), activation=ComparesByValue(), max_iter=5,
                                       random_state=0), X, y)
    b = quiet_fit(MLPScratchClassifier(hidden_layer_sizes=(5,), activation="tanh", max_iter=5, random_state=0), X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])  # the same initial scale as tanh's


class ComplexResult(Tanh):
    def forward(self, Z):
        return Z.astype(complex)


class TextResult(Tanh):
    def derivative(self, Z, A):
        return (1 - A**2).astype(str)


@pytest.mark.parametrize("activation, words", [
    (ComplexResult(), r"ComplexResult\(\).forward returned an array of dtype complex128"),
    (TextResult(), r"TextResult\(\).derivative returned an array of dtype <U\d+"),
])
def test_a_result_that_is_not_real_numbers_is_refused(activation, words):
    X, y = load_iris(return_X_y=True)
    with pytest.raises(TypeError, match=words):
        MLPScratchClassifier(hidden_layer_sizes=(5,), activation=activation, max_iter=2).fit(X, y)


def test_repr_shows_the_parameters_of_init_only():
    cached = ScaledTanh(0.5)
    cached._cache = np.zeros(1000)
    assert repr(cached) == "ScaledTanh(scale=0.5)"
    assert repr(Flaky()) == "Flaky(fail_at=None)"
