"""The fit's newer surfaces under attack (issue 24): no silent wrong result, no misleading message.

Each test tries to break one promise: early stopping never returns the
untrained network without saying so; every array library refuses the dtypes
NumPy refuses; fits that overlap in threads leave the process as they found
it and do not change each other's results; a user's activation is blamed
for the NaN it makes; validation weights and ONNX operands are checked
before they can fail deep inside.
"""

import os
import signal
import subprocess
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import sklearn
from sklearn.datasets import load_diabetes, load_iris
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info

import skscratch
from skscratch import Activation, MLPScratchClassifier, MLPScratchRegressor, check_gradients
from skscratch._engine import parallel as _parallel
from skscratch._estimator import validation as _validation

ignore_convergence = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), (y - y.mean()) / y.std()


def fit_quietly(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(*args, **kwargs)


def initial_weights(model, X, y):
    """The network ``model`` starts from: the same seed, trained for no epoch."""
    fresh = sklearn.clone(model).set_params(max_iter=1)
    fit_quietly(fresh, X, y)
    from sklearn.utils import check_random_state

    from skscratch.nn import network as _network
    flat = _network.init_params(fresh._layer_units(), fresh.activation, check_random_state(model.random_state),
                                np.dtype(np.float64))
    return _network.unpack(flat, fresh._layer_units())[0]


# ----------------------------------------------------------------------
# 1. Early stopping never keeps the untrained network without saying so


def test_early_stopping_refuses_a_validation_set_of_one_sample(diabetes):
    """R^2 of one sample is NaN every epoch: refused before training, as the split refuses it."""
    X, y = diabetes
    model = MLPScratchRegressor(early_stopping=True, max_iter=50, random_state=0)
    with pytest.raises(ValueError, match="X_val has 1 sample: early stopping compares validation scores"):
        model.fit(X, y, X_val=X[:1], y_val=y[:1])
    assert not hasattr(model, "coefs_")
    # without early stopping the score only goes into history_: one sample is allowed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = MLPScratchRegressor(max_iter=3, random_state=0).fit(X, y, X_val=X[:1], y_val=y[:1])
    assert fitted.history_["val_score"].isna().all()


def nan_scorer(estimator, X, y):
    return float("nan")


@pytest.mark.parametrize("score", [float("nan"), float("-inf")])
def test_a_validation_score_never_finite_keeps_the_last_weights_and_warns(diabetes, score):
    X, y = diabetes
    model = MLPScratchRegressor(hidden_layer_sizes=(8,), early_stopping=True, max_iter=40, random_state=0,
                                learning_rate_init=0.01, scoring=lambda est, X, y: score)
    with pytest.warns(ConvergenceWarning, match="Early stopping could not choose an epoch: the validation "
                                                 "score was not finite in any of the 11 epochs"):
        model.fit(X[100:], y[100:], X_val=X[:100], y_val=y[:100])
    # a score that is not finite is no improvement: stopped after n_iter_no_change + 1 epochs
    assert model.n_iter_ == model.n_iter_no_change + 1 == 11
    # the weights are the last epoch's: those of the same fit stopped there, never the initial ones
    twin = fit_quietly(MLPScratchRegressor(hidden_layer_sizes=(8,), max_iter=11, random_state=0,
                                           learning_rate_init=0.01), X[100:], y[100:])
    np.testing.assert_array_equal(model.coefs_[0], twin.coefs_[0])
    assert not np.array_equal(model.coefs_[0], initial_weights(model, X[100:], y[100:])[0])
    assert model.score(X[100:], y[100:]) > 0.3  # it learned, as loss_ says
    assert model.loss_ == twin.loss_


class StopAfterOneEpoch:
    def setup(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, **kwargs):
        return context.task_name == "epoch"

    def teardown(self, estimator, context):
        pass


def test_a_callback_that_stops_training_keeps_the_epochs_best_weights(diabetes):
    """The best epoch is recorded before the callbacks run: stopping after epoch 1 keeps epoch 1."""
    pytest.importorskip("sklearn.callback", reason="scikit-learn < 1.9 has no callback API")
    X, y = diabetes
    model = MLPScratchRegressor(hidden_layer_sizes=(8,), early_stopping=True, max_iter=20, random_state=0)
    model.set_callbacks(StopAfterOneEpoch())
    fit_quietly(model, X[100:], y[100:], X_val=X[:100], y_val=y[:100])
    assert model.n_iter_ == 1 and len(model.validation_scores_) == 1
    assert model.best_validation_score_ == model.validation_scores_[0]
    twin = fit_quietly(MLPScratchRegressor(hidden_layer_sizes=(8,), max_iter=1, random_state=0), X[100:], y[100:])
    np.testing.assert_array_equal(model.coefs_[0], twin.coefs_[0])


def test_a_warm_start_that_never_beats_the_earlier_best_says_it_restored_it(iris):
    X, y = iris
    calls = []

    def worse_every_time(estimator, X, y):  # the first epoch of the first fit is the best ever
        calls.append(1)
        return -float(len(calls))

    model = MLPScratchClassifier(hidden_layer_sizes=(5,), early_stopping=True, max_iter=3, n_iter_no_change=50,
                                 random_state=0, scoring=worse_every_time, warm_start=True)
    fit_quietly(model, X, y, X_val=X, y_val=y)
    kept = [W.copy() for W in model.coefs_]
    with pytest.warns(ConvergenceWarning, match=r"None of this fit's 3 epochs beat the best validation score so "
                                                 r"far, -1, reached before it \(warm_start=True\)"):
        model.fit(X, y, X_val=X, y_val=y)
    for W, before in zip(model.coefs_, kept):
        np.testing.assert_array_equal(W, before)
    assert model.best_validation_score_ == -1.0


def test_a_nan_validation_score_does_not_reset_the_patience(iris):
    """Finite, then NaN: the NaN epochs count as epochs without improvement, and the best is the finite one."""
    X, y = iris
    calls = []

    def finite_then_nan(estimator, X, y):
        calls.append(1)
        return 0.5 if len(calls) == 2 else float("nan")

    model = MLPScratchClassifier(hidden_layer_sizes=(5,), early_stopping=True, max_iter=100, n_iter_no_change=4,
                                 random_state=0, scoring=finite_then_nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("error", message="Early stopping could not|None of this fit")  # a best was found
        model.fit(X, y, X_val=X, y_val=y)
    assert model.n_iter_ == 7 and model.best_validation_score_ == 0.5
    twin = fit_quietly(MLPScratchClassifier(hidden_layer_sizes=(5,), max_iter=2, random_state=0), X, y)
    np.testing.assert_array_equal(model.coefs_[0], twin.coefs_[0])  # the best epoch's weights


# ----------------------------------------------------------------------
# 6. Validation weights that cannot average a score are refused before training


class CountingTanh(Activation):
    """tanh, counting its forward calls (a fit that never trained made none)."""

    calls = 0

    def forward(self, Z):
        CountingTanh.calls += 1
        return np.tanh(Z)

    def derivative(self, Z, A):
        return 1 - A**2


@pytest.mark.parametrize("early_stopping", [True, False])
def test_validation_weights_that_sum_to_zero_are_refused_before_training(iris, early_stopping):
    X, y = iris
    CountingTanh.calls = 0
    model = MLPScratchClassifier(hidden_layer_sizes=(5,), activation=CountingTanh(), early_stopping=early_stopping,
                                 max_iter=5, random_state=0)
    with pytest.raises(ValueError, match=r"The validation set's weights \(sample_weight_val\) (sum to zero|are not "
                                         r"valid: .*non-zero)"):
        model.fit(X, y, X_val=X[:20], y_val=y[:20], sample_weight_val=np.zeros(20))
    assert CountingTanh.calls == 0 and not hasattr(model, "coefs_")


def test_validation_weights_whose_sum_overflows_are_refused(iris):
    X, y = iris
    X32 = X.astype(np.float32)
    with pytest.raises(ValueError, match=r"weights \(sample_weight_val\) are too large: their sum overflows float32"):
        MLPScratchClassifier(max_iter=2).fit(X32, y, X_val=X32[:4], y_val=y[:4],
                                             sample_weight_val=np.full(4, 3e38, dtype=np.float32))


def test_a_fit_whose_held_out_rows_weigh_nothing_is_refused_before_training(monkeypatch):
    """Issue 24.6: weights of 0 on exactly the rows the early-stopping split holds out."""
    X, y = load_iris(return_X_y=True)
    X = np.column_stack([X, np.arange(len(X))])  # the last column tells the rows apart
    held_out, split_off = [], _validation.split_off

    def recording(*args, **kwargs):
        parts, validation = split_off(*args, **kwargs)
        held_out.append(validation.X[:, -1].astype(int))
        return parts, validation

    monkeypatch.setattr(_validation, "split_off", recording)
    params = dict(hidden_layer_sizes=(5,), early_stopping=True, max_iter=3, random_state=0)
    fit_quietly(MLPScratchClassifier(**params), X, y, sample_weight=np.ones(len(y)))
    weights = np.ones(len(y))
    weights[held_out[0]] = 0.0
    CountingTanh.calls = 0
    model = MLPScratchClassifier(**params, activation=CountingTanh())
    with pytest.raises(ValueError, match="The validation set's weights .*held out.* sum to zero"):
        model.fit(X, y, sample_weight=weights)
    assert CountingTanh.calls == 0 and not hasattr(model, "coefs_")


def test_the_early_stopping_split_refuses_held_out_weights_that_sum_to_zero():
    """The rows the split holds out have weight 0 (all of them): refused before training, naming them."""
    X = np.arange(40.0)[:, None]
    Y = np.zeros((40, 1))
    y = np.arange(40)

    def split(weights):
        return _validation.split_off(X, Y, y, weights, fraction=0.25, stratify=None,
                                     random_state=np.random.RandomState(0), decode=None)

    _, held_out = split(np.ones(40))
    weights = np.ones(40)
    weights[held_out.X[:, 0].astype(int)] = 0.0
    with pytest.raises(ValueError, match="the rows the early-stopping split held out.* sum to zero"):
        split(weights)


# ----------------------------------------------------------------------
# 5. A NaN or infinity out of the user's function is blamed on it


class FaultyTanh(Activation):
    """tanh whose ``method`` writes ``value`` into its result's first entry."""

    def __init__(self, method="derivative", value=float("nan")):
        self.method, self.value = method, value

    def forward(self, Z):
        A = np.tanh(Z) if isinstance(Z, np.ndarray) else Z.tanh()
        if self.method == "forward":
            A[0, 0] = self.value
        return A

    def derivative(self, Z, A):
        slope = 1 - A**2
        if self.method == "derivative":
            slope[0, 0] = self.value
        return slope


PASS = {"forward": "forward", "derivative": "backward"}


@pytest.mark.parametrize("solver", ["sgd", "adam", "adamw", "lbfgs"])
@pytest.mark.parametrize("method", ["forward", "derivative"])
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_non_finite_value_from_the_users_activation_is_blamed_on_it(iris, solver, method, value):
    X, y = iris
    activation = FaultyTanh(method, value)
    model = MLPScratchClassifier(hidden_layer_sizes=(5,), activation=activation, solver=solver, max_iter=5,
                                 random_state=0)
    what = "NaN" if np.isnan(value) else "infinity"
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # never blamed on the learning rate
        # (an infinite forward may be an honest overflow: named where the weights were fine, as here)
        with pytest.raises(ValueError, match=rf"activation={activation!r}".replace("(", r"\(").replace(")", r"\)")
                           + rf" returned {what} for finite inputs( in hidden layer 1)? \(its {method}\(Z\)"):
            model.fit(X, y)
    assert not hasattr(model, "coefs_")  # the failed fit left the estimator as it was


def test_the_users_activation_is_blamed_in_predict_and_when_threads_split_the_batch(iris, monkeypatch):
    X, y = iris
    monkeypatch.setattr(_parallel, "MIN_WORK_PER_BATCH", 1)  # threads even for this small network
    monkeypatch.setattr(_parallel, "N_CORES", 2)
    model = MLPScratchClassifier(hidden_layer_sizes=(5,), activation=FaultyTanh("derivative"), max_iter=2,
                                 random_state=0)
    with pytest.raises(ValueError, match=r"backward pass gave NaN: activation=FaultyTanh"):
        model.fit(X, y)
    model = fit_quietly(MLPScratchClassifier(hidden_layer_sizes=(5,), activation=FaultyTanh("none"), max_iter=2,
                                             random_state=0), X, y)
    model.set_params(activation=FaultyTanh("forward", float("inf")))
    with pytest.raises(ValueError, match=r"forward pass gave infinity: activation=FaultyTanh"):
        model.predict(X)


class LateInfinity(FaultyTanh):
    """tanh whose forward returns one infinity from its 50th call on, for small Z (a bug in some batches)."""

    def __init__(self):
        self.method, self.calls = "forward, late", 0

    def forward(self, Z):
        self.calls += 1
        A = np.tanh(Z)
        if self.calls > 50:
            A[0, 0] = np.inf
        return A


def test_an_infinity_from_the_users_forward_mid_training_is_named_in_the_divergence_warning(iris):
    """Possibly an honest overflow, so a divergence (last good weights kept), but the function is named first."""
    X, y = iris
    model = MLPScratchClassifier(hidden_layer_sizes=(5,), activation=LateInfinity(), batch_size=32, max_iter=30,
                                 random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"Training diverged in epoch 9: activation=LateInfinity\(\) returned "
                                                 r"infinity for finite inputs in hidden layer 1 \(its forward\(Z\), "
                                                 r"for Z between .*\). Check its forward method. The training loss"):
        model.fit(X, y)
    assert model.n_iter_ == 8 and all(np.isfinite(W).all() for W in model.coefs_)


def test_check_gradients_blames_the_users_activation(iris):
    X, y = iris
    with pytest.raises(ValueError, match=r"backward pass gave NaN: activation=FaultyTanh"):
        check_gradients(MLPScratchClassifier(hidden_layer_sizes=(3,), activation=FaultyTanh("derivative")),
                        X[:10], y[:10])


def test_the_users_activation_is_blamed_on_torch(iris):
    torch = pytest.importorskip("torch")
    X, y = iris
    model = MLPScratchClassifier(hidden_layer_sizes=(5,), activation=FaultyTanh("derivative"), max_iter=2,
                                 random_state=0)
    with sklearn.config_context(array_api_dispatch=True):
        with pytest.raises(ValueError, match=r"backward pass gave NaN: activation=FaultyTanh"):
            model.fit(torch.asarray(X), torch.asarray(y))


# ----------------------------------------------------------------------
# 3 and 7. Every array library's input is held to NumPy's rules


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("dispatch", [True, False])
@pytest.mark.parametrize("where", ["X", "X_val", "predict", "y of a regressor", "sample_weight"])
def test_complex_torch_input_is_refused_as_numpys_is(iris, torch, dispatch, where):
    X, y = iris
    Xt, yt = torch.asarray(X), torch.asarray(y)
    complex_X = torch.asarray(X, dtype=torch.complex128)
    with sklearn.config_context(array_api_dispatch=dispatch):
        model = MLPScratchClassifier(hidden_layer_sizes=(5,), max_iter=2, random_state=0)
        with pytest.raises(ValueError, match="^Complex data not supported"):
            if where == "X":
                model.fit(complex_X, yt)
            elif where == "X_val":
                model.fit(Xt, yt, X_val=complex_X, y_val=yt)
            elif where == "predict":
                fit_quietly(model, Xt, yt).predict(complex_X)
            elif where == "sample_weight":
                model.fit(Xt, yt, sample_weight=torch.ones(len(y), dtype=torch.complex64))
            else:
                MLPScratchRegressor(max_iter=2).fit(Xt, torch.asarray(y, dtype=torch.complex64))
    with pytest.raises(ValueError, match="^Complex data not supported"):  # as for NumPy
        MLPScratchClassifier(max_iter=2).fit(X.astype(complex), y)


@pytest.mark.parametrize("dtype", ["bool", "float16", "bfloat16", "int64", "int32", "uint8", "float32"])
@pytest.mark.parametrize("dispatch", [True, False])
def test_every_dtype_trains_as_numpy_would_upcast_it(iris, torch, dtype, dispatch):
    """bool, integers and half floats become float64, as NumPy's do (bfloat16, which NumPy lacks, too)."""
    X, y = iris
    Xt = torch.asarray(X * 4).to(getattr(torch, dtype)) if dtype != "bool" else torch.asarray(X > 0)
    values = (Xt.double() if dtype == "bfloat16" else Xt).numpy()  # the numbers the tensor holds
    expected = np.float32 if dtype == "float32" else np.float64
    numpy_fit = fit_quietly(MLPScratchClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0), values, y)
    with sklearn.config_context(array_api_dispatch=dispatch):
        torch_fit = fit_quietly(MLPScratchClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0),
                                Xt, torch.asarray(y) if dispatch else y)
        proba = torch_fit.predict_proba(Xt)
    W = torch_fit.coefs_[0]
    assert numpy_fit.coefs_[0].dtype == expected
    if dispatch:
        assert W.dtype == getattr(torch, np.dtype(expected).name)
        np.testing.assert_allclose(proba.numpy(), numpy_fit.predict_proba(values), rtol=1e-4, atol=1e-6)
    else:  # NumPy's path: the very same fit
        assert W.dtype == expected
        np.testing.assert_array_equal(W, numpy_fit.coefs_[0])


@pytest.mark.parametrize("dispatch", [True, False])
@pytest.mark.parametrize("where", ["fit", "predict", "X_val", "y"])
def test_a_meta_tensor_is_refused_saying_where_it_lives(iris, torch, dispatch, where):
    X, y = iris
    meta = torch.empty(X.shape, device="meta", dtype=torch.float64)
    with sklearn.config_context(array_api_dispatch=dispatch):
        Xt = torch.asarray(X) if dispatch else X
        model = MLPScratchClassifier(hidden_layer_sizes=(5,), max_iter=2, random_state=0)
        name = "X_val" if where == "X_val" else "y" if where == "y" else "X"
        match = rf"^{name} is a torch array on the 'meta' device, which holds a shape and a dtype but no values"
        with pytest.raises(ValueError, match=match) as error:
            if where == "fit":
                model.fit(meta, y)
            elif where == "X_val":
                model.fit(Xt, y, X_val=meta, y_val=y)
            elif where == "y":
                model.fit(Xt, torch.empty(len(y), device="meta"))
            else:
                fit_quietly(model, Xt, y).predict(meta)
    if where == "predict":
        assert f"The network was fitted on {'torch on cpu' if dispatch else 'NumPy'}." in str(error.value)


# ----------------------------------------------------------------------
# 4. Fits that overlap in threads: the process as it was, each result its own


def blas_limits():
    return sorted((info["internal_api"], info["filepath"], info["num_threads"]) for info in threadpool_info()
                  if info["user_api"] == "blas")


def skip_unless_blas_threads():
    """The tests compare the BLAS limit with the fits' own limit of 1, which a one-thread BLAS hides.

    (The process's own limit is used, not one set with threadpool_limits
    around the test: OpenBLAS then ignores the limits the fits' threads set.)
    """
    limits = blas_limits()
    if not limits:
        pytest.skip("no BLAS that threadpoolctl can see")
    if min(limit[2] for limit in limits) < 2:
        pytest.skip("BLAS runs one thread in this process: a limit of 1 cannot be told from it")
    return min(limit[2] for limit in limits)


def test_overlapping_thread_counts_restore_the_blas_limit_in_any_order():
    """Fit A starts, fit B starts, A ends, B ends: the limit is the one before A, also while they run."""
    outer = skip_unless_blas_threads()
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def fit_a():
        with _parallel.threads_for_training(2):
            a_in.set()
            seen["a overlapped"] = b_in.wait(30)
            seen["a"] = _parallel.blas_threads()
        a_out.set()

    def fit_b():
        a_in.wait(30)
        with _parallel.threads_for_training(2):
            b_in.set()
            seen["b overlapped"] = a_out.wait(30)
            seen["b"] = _parallel.blas_threads()  # A has ended: what a new fit would see

    before = blas_limits()
    threads = [threading.Thread(target=fit_a), threading.Thread(target=fit_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert blas_limits() == before
    assert seen == {"a overlapped": True, "b overlapped": True, "a": outer, "b": outer}  # never the fits' limit


@ignore_convergence  # (a filter set once, here: catch_warnings in the threads would race itself)
def test_overlapping_fits_give_each_its_own_result_and_leave_the_process_as_it_was(monkeypatch):
    skip_unless_blas_threads()
    X, y = load_iris(return_X_y=True)
    monkeypatch.setattr(_parallel, "MIN_WORK_PER_BATCH", 1)  # two threads for each of these small fits
    monkeypatch.setattr(_parallel, "N_CORES", 2)

    def fit(seed):
        model = MLPScratchClassifier(hidden_layer_sizes=(20,), max_iter=15, batch_size=64, random_state=seed,
                                     early_stopping=True, scoring="accuracy")
        return model.fit(X, y)

    alone = {seed: fit(seed).coefs_[0] for seed in (0, 1)}
    # (the warnings filters are left out: scikit-learn's own checks change them while they run,
    # which threads cannot avoid before Python 3.14; skscratch's own code does not: the next test)
    state = (blas_limits(), np.geterr(), signal.getsignal(signal.SIGINT))
    start = threading.Barrier(6)

    def overlapping(seed):
        start.wait(30)
        return seed, fit(seed).coefs_[0]

    def failing(_):  # a fit that raises mid-epoch, among them
        start.wait(30)
        with pytest.raises(ValueError, match="backward pass gave NaN"):
            MLPScratchClassifier(hidden_layer_sizes=(20,), activation=FaultyTanh("derivative"), max_iter=15,
                                 batch_size=64, random_state=0).fit(X, y)

    with ThreadPoolExecutor(6) as pool:
        failed = pool.submit(failing, None)
        results = list(pool.map(overlapping, [0, 1] * 2 + [1]))
        failed.result()
    assert (blas_limits(), np.geterr(), signal.getsignal(signal.SIGINT)) == state
    for seed, W in results:
        np.testing.assert_array_equal(W, alone[seed])
    np.testing.assert_array_equal(fit(0).coefs_[0], alone[0])  # and after them


def test_validation_scoring_and_loading_leave_the_warnings_filters_alone(iris, tmp_path, monkeypatch):
    """skscratch's own code never enters warnings.catch_warnings in fit, scoring or load.

    catch_warnings swaps the process's filters and puts back what it found:
    two that overlap in threads leave one's filters behind (an "ignore" that
    silences every later warning).
    """
    pd = pytest.importorskip("pandas")
    X, y = iris
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    model = fit_quietly(MLPScratchClassifier(hidden_layer_sizes=(5,), max_iter=2, random_state=0), frame, y)
    skscratch.save(model, tmp_path / "m.npz")
    entered = []

    package = Path(skscratch.__file__).parent

    class Recording(warnings.catch_warnings):
        def __enter__(self):
            caller = Path(sys._getframe(1).f_code.co_filename)
            if package in caller.parents:
                entered.append(caller.name)
            return super().__enter__()

    monkeypatch.setattr(warnings, "catch_warnings", Recording)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        entered.clear()
        MLPScratchClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0, early_stopping=True,
                             scoring="accuracy").fit(frame, y)
        loaded = skscratch.load(tmp_path / "m.npz")
    assert entered == []
    assert not [w for w in caught if "feature names" in str(w.message)]
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))


# ----------------------------------------------------------------------
# 8. ONNX operands


class StringOperand(Activation):
    def __init__(self, operand):
        self.operand = operand

    def forward(self, Z):
        return 2.0 * Z

    def derivative(self, Z, A):
        return np.full_like(Z, 2.0)

    def onnx(self, op, Z):
        return op("Mul", Z, self.operand)


@pytest.mark.parametrize("operand, words", [
    ("2.0", r"input 1 of op\('Mul', ...\) is the string '2.0', which is neither Z nor what op\(...\) returned"),
    ("Z", r"input 1 of op\('Mul', ...\) is the string 'Z', which is neither Z nor"),
    (None, r"input 1 of op\('Mul', ...\) is None; an input is Z, what op\(...\) returned, or a real number"),
    (2j, r"input 1 of op\('Mul', ...\) is 2j; an input is Z"),
    ({"value": 2.0}, r"input 1 of op\('Mul', ...\) is \{'value': 2.0\}; an input is Z"),
])
def test_an_onnx_operand_that_is_not_a_node_or_a_number_is_refused_naming_the_activation(iris, operand, words):
    pytest.importorskip("skl2onnx")
    X, y = iris
    activation = StringOperand(operand)
    model = fit_quietly(MLPScratchClassifier(hidden_layer_sizes=(3,), activation=activation, max_iter=1,
                                             random_state=0), X, y)
    with pytest.raises(ValueError, match=r"activation=StringOperand\(operand=.*\)\.onnx: " + words):
        skscratch.to_onnx(model, X[:1])


def test_numbers_and_arrays_of_numbers_are_onnx_constants(iris):
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("skl2onnx")
    X, y = iris
    for operand in (2, 2.0, np.float32(2.0), np.array([2.0, 2.0, 2.0])):
        model = fit_quietly(MLPScratchClassifier(hidden_layer_sizes=(3,), activation=StringOperand(operand),
                                                 max_iter=1, random_state=0), X, y)
        onx = skscratch.to_onnx(model, X[:1].astype(np.float32))
        session = onnxruntime.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
        out = session.run(None, {session.get_inputs()[0].name: X.astype(np.float32)})
        np.testing.assert_allclose(out[1], model.predict_proba(X), rtol=1e-4, atol=1e-5)
    # an int beyond 64 bits is a real number too (NumPy would hold it as an object)
    model.activation.operand = 10**30
    assert skscratch.to_onnx(model, X[:1].astype(np.float32)) is not None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_process_forked_after_a_fit_with_threads_can_fit(tmp_path):
    """The child has none of the parent's threads: the pools and locks of skscratch start afresh there."""
    script = tmp_path / "fork.py"
    script.write_text("""
import os, signal, warnings
warnings.simplefilter("ignore")
from sklearn.datasets import load_digits
from skscratch import MLPScratchClassifier
from skscratch._engine import parallel as _parallel
_parallel.MIN_WORK_PER_BATCH, _parallel.N_CORES = 1, 2  # threads even for this small network
X, y = load_digits(return_X_y=True)
def fit():
    return MLPScratchClassifier(hidden_layer_sizes=(16,), max_iter=2, random_state=0, batch_size=256).fit(X / 16, y)
parent = fit().coefs_[0]
pid = os.fork()
if pid == 0:
    signal.alarm(60)  # a child that hangs is killed by SIGALRM
    os._exit(0 if (fit().coefs_[0] == parent).all() else 3)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
""")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert result.stdout.strip() == "0", (result.stdout, result.stderr)
