"""The fused passes (``_engine.passes``) give the very bits of the network's own, layer by layer.

``skscratch.nn`` is the specification: each kernel of ``_engine.kernels``
that replaces elementwise passes of its layers is checked against the NumPy
code it replaces, for float32 and float64 and every activation, on values
that include the edge cases (signed zeros, huge and tiny numbers); then whole
passes (every activation, output, dtype, with and without dropout, weights,
L2, a normaliser) and whole fits. Then the networks and inputs it must leave
to the network's own passes (a layer of the user's, a subclass, layers
changed after a first pass, what NumPy would broadcast or promote), and
numba's disk cache, which keeps an index of its own for each activation's
kernel.
"""

import copy
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from _weights import assert_same_weights
from skscratch import Activation, MLPScratchClassifier, MLPScratchRegressor, nn
from skscratch._engine import kernels as _kernels
from skscratch._engine import passes
from skscratch.nn.activations import ACTIVATIONS, DERIVATIVES

ROOT = Path(__file__).resolve().parents[1]
numba = pytest.importorskip("numba")  # without numba the fused passes never run
DTYPES = [np.float32, np.float64]
HIDDEN = sorted(DERIVATIVES)  # every activation of the hidden layers


@pytest.fixture
def kernels(monkeypatch):
    """The fused kernels on for any network, however small."""
    monkeypatch.setattr(_kernels, "ENABLED", True)
    monkeypatch.setattr(_kernels, "MIN_PARAMS", 0)


def values(rng, shape, dtype):
    """Random values over many scales, with signed zeros, ties at 0 and a few huge and tiny ones."""
    x = rng.normal(size=shape) * 10.0 ** rng.randint(-6, 4, size=shape)
    flat = x.reshape(-1)
    flat[:: 7] = 0.0
    flat[3:: 11] = -0.0
    flat[5:: 13] = rng.choice([1e30, -1e30, 1e-30, -1e-30], size=flat[5::13].shape)
    return x.astype(dtype)


def assert_same_bits(a, b, what=""):
    """Equal to the bit: the same values, and the same signs of zero."""
    assert a.dtype == b.dtype and a.shape == b.shape, what
    assert np.array_equal(a.view(f"u{a.itemsize}"), b.view(f"u{b.itemsize}")), (
        f"{what}: {np.sum(a.view(f'u{a.itemsize}') != b.view(f'u{b.itemsize}'))} of {a.size} entries differ")


# ----------------------------------------------------------------------
# each kernel against the NumPy code it replaces


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", sorted(_kernels.FORWARD))
def test_bias_and_activation_in_one_pass(dtype, activation):
    rng = np.random.RandomState(0)
    Z, b = values(rng, (37, 129), dtype), values(rng, (129,), dtype)
    expected = Z.copy()
    expected += b  # Dense.forward
    expected = ACTIVATIONS[activation](expected)  # the activation layer's forward
    fused = Z.copy()
    _kernels.bias_activation(fused, b, activation)
    assert_same_bits(fused, expected, activation)


def test_relu_keeps_nan_and_makes_negative_zero_zero():
    Z = np.array([[-0.0, np.nan, -1.0, 0.0, 2.0]])
    _kernels.bias_activation(Z, np.zeros(5), "relu")
    assert np.isnan(Z[0, 1]) and not np.signbit(Z[0, 0]) and Z[0, 2] == 0 and Z[0, 4] == 2


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", sorted(_kernels.BACKWARD))
@pytest.mark.parametrize("rows, units", [(1, 67), (2, 67), (53, 67), (53, 1)])
def test_dropout_derivative_and_bias_gradient_in_one_pass(rows, units, activation, dtype, masked):
    rng = np.random.RandomState(1)
    A = ACTIVATIONS[activation](values(rng, (rows, units), dtype))  # the activation's outputs
    delta = values(rng, (rows, units), dtype)
    mask = ((rng.rand(rows, units) > 0.3) / 0.7).astype(dtype) if masked else None
    expected = delta.copy()
    if masked:
        expected *= mask  # Dropout.backward
    with np.errstate(all="ignore"):
        expected = DERIVATIVES[activation](A, expected)  # the activation layer's backward
    expected_db = np.sum(expected, axis=0)  # Dense.backward
    fused, db = delta.copy(), np.full(units, np.nan, dtype)
    with np.errstate(all="ignore"):
        _kernels.hidden_delta(fused, A, mask, activation, db)
    assert_same_bits(fused, expected, "delta")
    assert_same_bits(db, expected_db, "db")


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("columns", [1, 2, 10])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("target", ["one-hot", "float"])
def test_the_output_error_and_its_bias_gradient_in_one_pass(target, dtype, columns, weighted):
    """``delta -= Y; delta *= s / S``; db. A single column's sum is NumPy's pairwise one (it is not row by row)."""
    rng = np.random.RandomState(2)
    P = rng.rand(500, columns).astype(dtype)
    Y = np.eye(columns, dtype=bool)[rng.randint(columns, size=500)] if target == "one-hot" else \
        rng.normal(size=(500, columns)).astype(dtype)
    sample_weight = rng.rand(500) if weighted else None  # float64 weights: NumPy multiplies float32 in float64
    S = 500 if sample_weight is None else sample_weight.sum()
    expected = P.copy()
    expected -= Y
    expected *= (1 / S) if sample_weight is None else (sample_weight / S)[:, None]
    fused, db = P.copy(), np.full(columns, np.nan, dtype)
    passes._output_delta(fused, Y, (1 / S) if sample_weight is None else sample_weight / S, db)
    assert_same_bits(fused, expected, "delta")
    assert_same_bits(db, np.sum(expected, axis=0), "db")


def test_what_numpy_would_compute_in_another_dtype_is_left_to_numpy():
    """Y of integers or of float64, a float64 mask, with float32 errors: NumPy's own promotions."""
    rng = np.random.RandomState(6)
    P, db = rng.rand(40, 3).astype(np.float32), np.empty(3, np.float32)
    for Y in (rng.randint(0, 2, size=(40, 3)), rng.rand(40, 3)):
        expected = P.copy()
        expected -= Y
        expected *= 1 / 40
        fused = P.copy()
        passes._output_delta(fused, Y, 1 / 40, db)
        assert_same_bits(fused, expected, str(Y.dtype))
        assert_same_bits(db, np.sum(expected, axis=0))
    net = nn.Network([nn.Dense(3, 3), nn.ReLU(), nn.Dense(3, 2)]).init(random_state=0, dtype=np.float32)
    relu = net.layers[1]
    relu.A = rng.rand(40, 3).astype(np.float32) - 0.5
    mask = (rng.rand(40, 3) > 0.5) * 2.0  # float64
    expected = P.copy()
    expected *= mask
    expected = DERIVATIVES["relu"](relu.A, expected)
    fused = P.copy()
    passes._hidden_delta(fused, relu, mask, db)
    assert_same_bits(fused, expected)
    assert_same_bits(db, np.sum(expected, axis=0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_column_sums_row_after_row_as_numpy(dtype):
    rng = np.random.RandomState(3)
    for shape in [(1, 5), (300, 7), (200, 512), (1000, 1), (0, 4)]:
        delta = values(rng, shape, dtype)
        db = np.full(shape[1], np.nan, dtype)
        _kernels.column_sums(delta, db)
        assert_same_bits(db, np.sum(delta, axis=0), str(shape))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("S", [200, np.float64(37.25), np.float32(37.25)])
def test_the_l2_term_in_one_pass(dtype, S):
    """``dW += (alpha / S) W`` in the dtype NumPy computes it in (S may be a float64 sum of weights)."""
    rng = np.random.RandomState(4)
    W, dW = values(rng, (5000,), dtype), values(rng, (5000,), dtype)
    expected = dW.copy()
    expected += (1e-3 / S) * W
    coefficient = 1e-3 / S
    fused = dW.copy()
    _kernels.add_scaled(fused, W, np.result_type(W, coefficient).type(coefficient))
    assert_same_bits(fused, expected)


# ----------------------------------------------------------------------
# whole passes and whole fits


def network(activation, output, n_out, dropout, dtype):
    rates = [0.3, 0.0, 0.2] if dropout else None
    return nn.Network.mlp([20, 24, 16, 12, n_out], activation, output, rates).init(random_state=0, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output, n_out", [("softmax", 3), ("logistic", 1), ("logistic", 2), ("identity", 2),
                                           ("exp", 1)])
@pytest.mark.parametrize("activation", HIDDEN)
def test_a_whole_pass_gives_the_networks_bits(kernels, activation, output, n_out, dtype):
    rng = np.random.RandomState(5)
    X = rng.normal(size=(45, 20)).astype(dtype)
    if output == "softmax":
        Y = np.eye(n_out, dtype=bool)[rng.randint(n_out, size=45)]
    elif output == "logistic":
        Y = rng.rand(45, n_out) > 0.5
    else:
        Y = rng.rand(45, n_out).astype(dtype)
    for dropout, sample_weight, alpha, normalizer in [(False, None, 0.0, None), (True, rng.rand(45), 1e-2, None),
                                                      (True, None, 0.0, 71), (False, rng.rand(45), 0.5, 60.5)]:
        masks = [((rng.rand(45, units) > rate) / (1 - rate)).astype(dtype) for units, rate in [(24, 0.3), (12, 0.2)]]
        masks = masks if dropout else None
        ours, theirs = (network(activation, output, n_out, dropout, dtype) for _ in range(2))
        assert passes._fused(ours, X) is not None
        loss = passes.loss_and_gradients(ours, X, Y, sample_weight, alpha, normalizer, masks)
        expected = theirs.loss_and_gradients(X, Y, sample_weight, alpha, normalizer, masks)
        case = f"dropout={dropout}, weighted={sample_weight is not None}, alpha={alpha}, normalizer={normalizer}"
        assert loss == expected, case
        assert_same_bits(ours.grads, theirs.grads, case)
        theirs.set_training(False)
        assert_same_bits(passes.forward(ours, X), theirs.forward(X), "forward, out of training")


def test_dropout_layers_drawing_their_own_masks_and_odd_inputs(kernels):
    """No masks given (a learner's loop: each Dropout layer draws from its seed), X in Fortran order,
    one-unit layers: the network's own bits."""
    def make():
        return nn.Network([nn.Dense(6, 5), nn.Tanh(), nn.Dropout(0.4, random_state=3), nn.Dense(5, 1), nn.ReLU(),
                           nn.Dense(1, 3)]).init(random_state=1)
    rng = np.random.RandomState(7)
    X, Y = np.asfortranarray(rng.normal(size=(30, 6))), np.eye(3, dtype=bool)[rng.randint(3, size=30)]
    ours, theirs = make(), make()
    for _ in range(3):  # the layers' generators move on alike
        assert passes.loss_and_gradients(ours, X, Y, None, 0.1) == theirs.loss_and_gradients(X, Y, None, 0.1)
        assert_same_bits(ours.grads, theirs.grads)



def test_an_activation_whose_backward_returns_a_new_array(kernels):
    """gelu's backward is left to its layer: what the layer returns is the delta the passes go on with,
    even where it is a new array and not the one given (on NumPy ours works in place, others need not)."""
    def make():
        net = nn.Network.mlp([20, 24, 16, 3], "gelu", "softmax", [0.3, 0.0]).init(random_state=0)
        for layer in net.layers:
            if isinstance(layer, nn.Elementwise):
                in_place = layer._times_slope
                layer._times_slope = lambda A, delta, Z, xp, f=in_place: f(A, delta.copy(), Z, xp)
        return net
    rng = np.random.RandomState(2)
    X, Y = rng.normal(size=(40, 20)), np.eye(3, dtype=bool)[rng.randint(3, size=40)]
    masks = [((rng.rand(40, 24) > 0.3) / 0.7)]
    ours, theirs = make(), make()
    assert passes._fused(ours, X) is not None
    assert passes.loss_and_gradients(ours, X, Y, None, 0.1, None, masks) == theirs.loss_and_gradients(
        X, Y, None, 0.1, None, masks)
    assert_same_bits(ours.grads, theirs.grads)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", HIDDEN)
def test_whole_fits_give_the_same_bits_with_the_fused_passes(monkeypatch, activation, dtype):
    """Two epochs with the fused passes (the same predictions and loss curve) and without them."""
    X, y = load_digits(return_X_y=True)
    X = (X[:600] / 16).astype(dtype)
    fits = {}
    for on in (False, True):
        monkeypatch.setattr(_kernels, "ENABLED", on)
        monkeypatch.setattr(_kernels, "MIN_PARAMS", 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits[on] = MLPScratchClassifier((24, 12), activation=activation, alpha=0.01, dropout=0.1, max_iter=2,
                                            random_state=0).fit(X, y[:600])
    assert_same_weights(fits[True], fits[False])
    assert fits[True].loss_curve_ == fits[False].loss_curve_
    assert_same_bits(fits[True].predict_proba(X), fits[False].predict_proba(X))


def test_the_fused_passes_really_run(kernels, monkeypatch):
    """A fit, a regressor's lbfgs and predict go through the kernels (a spy counts the passes)."""
    calls = []
    for name in ("bias_activation", "hidden_delta", "output_delta"):
        original = getattr(_kernels, name)
        monkeypatch.setattr(_kernels, name, lambda *a, _f=original, _n=name: calls.append(_n) or _f(*a))
    X, y = load_digits(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPScratchClassifier((16,), max_iter=1, batch_size=200).fit(X / 16, y)
        assert calls.count("output_delta") == 9 and calls.count("hidden_delta") == 9  # 9 minibatches
        calls.clear()
        clf.predict_proba(X / 16)
        assert calls == ["bias_activation"]
        calls.clear()
        MLPScratchRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=3).fit(X / 16, y)
        assert "output_delta" in calls and "hidden_delta" in calls


class Halve(nn.Layer):
    def forward(self, A):
        return A * 0.5

    def backward(self, delta):
        return delta * 0.5


class Square(Activation):
    def forward(self, Z):
        return Z * Z

    def derivative(self, Z, A):
        return 2 * Z


class MyReLU(nn.ReLU):
    """A subclass of ours, which may compute what it likes."""


@pytest.mark.parametrize("layers", [
    [nn.Dense(4, 4), nn.ReLU(), Halve(), nn.Dense(4, 2)],  # a layer of the user's
    [nn.Dense(4, 4), nn.Elementwise(Square()), nn.Dense(4, 2)],  # an activation of the user's
    [nn.Dense(4, 4), MyReLU(), nn.Dense(4, 2)],
    [nn.Dense(4, 4), nn.Dropout(0.1, random_state=0), nn.Dense(4, 2)],  # no activation before the Dropout
    [nn.Dense(4, 4), nn.ReLU(), nn.ReLU(), nn.Dense(4, 2)],
    [nn.Dense(4, 2), nn.ReLU()],  # no output layer
    [nn.ReLU(), nn.Dense(4, 2)],
], ids=["own layer", "own activation", "subclass", "dropout alone", "two activations", "no output", "no dense"])
def test_other_networks_keep_their_own_passes(kernels, layers):
    net = nn.Network(copy.deepcopy(layers)).init(random_state=0)
    assert passes.FusedMLP.of(net) is None
    X, Y = np.random.RandomState(0).normal(size=(8, 4)), np.eye(2, dtype=bool)[[0, 1] * 4]
    expected = nn.Network(copy.deepcopy(layers)).init(random_state=0)
    assert passes.loss_and_gradients(net, X, Y) == expected.loss_and_gradients(X, Y)
    np.testing.assert_array_equal(net.grads, expected.grads)


def test_the_passes_need_numba_a_large_network_and_numpy_input_of_its_dtype(monkeypatch):
    net = network("relu", "softmax", 3, False, np.float32)
    X = np.zeros((2, 20), np.float32)
    monkeypatch.setattr(_kernels, "ENABLED", True)
    assert passes._fused(net, X) is None  # fewer parameters than MIN_PARAMS
    monkeypatch.setattr(_kernels, "MIN_PARAMS", 0)
    assert passes._fused(net, X) is not None
    assert passes._fused(net, X.astype(np.float64)) is None  # NumPy would compute in float64
    import scipy.sparse
    assert passes._fused(net, scipy.sparse.csr_matrix(X)) is None
    monkeypatch.setattr(_kernels, "ENABLED", False)
    assert passes._fused(net, X) is None


def test_a_network_whose_layers_changed_is_planned_again(kernels):
    """The plan is made from the layers the network has at each call: swapped or added layers, a layer
    of the user's put in, all give the network's own bits after it had been planned once."""
    X, Y = np.random.RandomState(0).normal(size=(12, 20)), np.eye(3, dtype=bool)[[0, 1, 2] * 4]

    def same_after(change):
        ours, theirs = network("relu", "softmax", 3, False, np.float64), network("relu", "softmax", 3, False,
                                                                                 np.float64)
        passes.loss_and_gradients(ours, X, Y)  # planned, as it was
        for net in (ours, theirs):
            change(net)
        assert passes.loss_and_gradients(ours, X, Y, None, 0.1) == theirs.loss_and_gradients(X, Y, None, 0.1)
        assert_same_bits(ours.grads, theirs.grads)
        theirs.set_training(False)
        assert_same_bits(passes.forward(ours, X), theirs.forward(X))

    def swap(net):
        net.layers[1] = nn.Tanh()

    def user_layer(net):
        net.layers.insert(2, Halve())

    def grow(net):
        net.layers[-1:] = [nn.Dense(12, 7), nn.ELU(), nn.Dense(7, 3)]
        net.init(random_state=1)

    for change in (swap, user_layer, grow):
        same_after(change)


def test_a_subclass_of_network_keeps_its_own_passes(kernels):
    class Traced(nn.Network):
        def loss_and_gradients(self, *args, **kwargs):
            self.calls = getattr(self, "calls", 0) + 1
            return super().loss_and_gradients(*args, **kwargs)

    net = Traced(network("relu", "softmax", 3, False, np.float64).layers).init(random_state=0)
    X, Y = np.zeros((4, 20)), np.eye(3, dtype=bool)[[0, 1, 2, 0]]
    assert passes._fused(net, X) is None
    passes.loss_and_gradients(net, X, Y)
    assert net.calls == 1


def test_what_numpy_would_broadcast_or_promote_is_left_to_the_network(kernels):
    """Masks and targets of another shape (which NumPy broadcasts: a kernel would read past them) or a
    mask of another dtype (NumPy computes the layers above it in that dtype), a gradient vector of another
    dtype, float16 parameters, lists and one sample as a vector: the network's own results, the same bits."""
    rng = np.random.RandomState(3)
    X = rng.normal(size=(5, 20))
    Y = np.eye(3, dtype=bool)[[0, 1, 2, 0, 1]]
    mask, other = ((rng.rand(5, units) > rate) / (1 - rate) for units, rate in [(24, 0.3), (12, 0.2)])
    cases = [  # (dtype, X, Y, masks, grads dtype)
        (np.float64, X, Y, [mask[:1], other], None),  # a mask of one row
        (np.float64, X, Y, [mask, other[:, :1]], None),  # of one column
        (np.float64, X, Y[:1], [mask, other], None),  # Y of one row
        (np.float64, X, Y.tolist(), [mask.tolist(), other], None),
        (np.float32, X.astype(np.float32), Y, [mask, other.astype(np.float32)], None),  # float64 on float32
        (np.float32, X.astype(np.float32), Y, [mask.astype(np.float32), other.astype(np.float32)], np.float64),
        (np.float64, X, Y, [mask, other], np.float32),
        (np.float16, X.astype(np.float16), Y, [mask.astype(np.float16), other.astype(np.float16)], None),
    ]
    for dtype, X_, Y_, masks, grads_dtype in cases:
        ours, theirs = (network("tanh", "softmax", 3, True, dtype) for _ in range(2))
        if grads_dtype is not None:
            for net in (ours, theirs):
                net.bind(net.params, np.empty(net.params.size, grads_dtype))
        loss = passes.loss_and_gradients(ours, X_, Y_, None, 0.1, None, masks)
        assert loss == theirs.loss_and_gradients(X_, Y_, None, 0.1, None, masks)
        assert_same_bits(ours.grads, theirs.grads, f"{np.dtype(dtype)}, grads {grads_dtype}")
    net = network("relu", "softmax", 3, False, np.float64)
    assert passes._fused(net, X[0]) is None  # one sample as a vector
    net.set_training(False)
    assert_same_bits(passes.forward(net, X[0]), net.forward(X[0]))


def test_the_disk_cache_keeps_each_activations_kernel_apart(tmp_path):
    """The kernels of hidden_delta are closures of one function. Each has an index file of its own in
    numba's disk cache (numba keeps one per name: processes compiling two activations' kernels at once,
    xdist's or joblib's, would write over each other's entries in a shared one); compiled in one
    process and loaded from the cache in a second, each still gives NumPy's bits."""
    code = """
import numpy as np
from skscratch._engine import kernels
from skscratch.nn.activations import ACTIVATIONS, DERIVATIVES
rng = np.random.RandomState(0)
for name in sorted(kernels.BACKWARD):
    A = ACTIVATIONS[name](rng.normal(size=(9, 5)))
    delta = rng.normal(size=(9, 5))
    fused, db = delta.copy(), np.empty(5)
    kernels.hidden_delta(fused, A, None, name, db)
    assert np.array_equal(fused, DERIVATIVES[name](A, delta.copy())), name
print(sum(k.stats.cache_hits.total() for k in kernels._compiled.values()))
"""
    env = {**os.environ, "SKSCRATCH_CACHE_DIR": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT,
                           env=env) for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr[-3000:]
    assert runs[0].stdout.split() == ["0"]  # compiled
    assert runs[1].stdout.split() == [str(len(_kernels.BACKWARD))]  # each loaded from the cache
    indexes = sorted(path.name.split("-")[0] for path in tmp_path.rglob("*.nbi") if "hidden_delta" in path.name)
    assert indexes == sorted(f"kernels._hidden_delta_{kind}" for kind in _kernels.BACKWARD.values())
