"""The tabular layers (skscratch.nn.tabular) against maths: finite differences, hand-computed values."""

import numpy as np
import pytest

from skscratch import nn
from skscratch.nn.tabular import mish, mish_slope, selu, selu_slope


def _table(n=30, seed=0):
    """Rows of 3 numeric values, 2 binary values and 2 codes (cardinalities 4 and 3)."""
    rs = np.random.RandomState(seed)
    numeric = rs.normal(size=(n, 3))
    binary = (rs.uniform(size=(n, 2)) < 0.5).astype(float)
    codes = np.column_stack([rs.randint(0, 4, n), rs.randint(0, 3, n)]).astype(float)
    return np.hstack([numeric, binary, codes])


def _tabular_network(numeric="pbld", ntk=True, parametric=True, activation="selu", n_classes=3):
    emb = nn.TabularEmbedding(3, 2, [4, 3], numeric=numeric)
    return nn.Network([emb, nn.Scale(emb.n_out), nn.NTDense(emb.n_out, 6, ntk=ntk),
                       nn.ParametricActivation(activation, 6, parametric=parametric),
                       nn.NTDense(6, 5, ntk=ntk), nn.ParametricActivation(activation, 5, parametric=parametric),
                       nn.NTDense(5, n_classes, ntk=ntk)], output="softmax")


@pytest.mark.parametrize("numeric", ["pbld", None])
@pytest.mark.parametrize("activation", ["selu", "mish"])
@pytest.mark.parametrize("ntk,parametric", [(True, True), (False, False)])
def test_whole_network_matches_finite_differences(numeric, activation, ntk, parametric):
    X = _table()
    Y = np.eye(3)[np.arange(30) % 3] * 0.9 + 0.1 / 3  # smoothed labels, as the estimator trains on
    net = _tabular_network(numeric, ntk, parametric, activation).init(random_state=1)
    # move every parameter off its start (a = 1, s = 1, b = 0 are special points)
    net.params[...] += 0.3 * np.random.RandomState(2).normal(size=net.n_params)
    result = nn.check_network_gradients(net, X, Y, alpha=0.01)
    assert result.max_relative_error < 1e-5, result.where


def test_data_init_gives_unit_std_and_he5_biases():
    rs = np.random.RandomState(0)
    A = rs.normal(loc=3.0, scale=5.0, size=(200, 7))
    layer = nn.NTDense(7, 4)
    nn.Network([layer], output="identity").init(random_state=0)
    layer.initialize_from_data(A, np.random.RandomState(1))
    Z_no_bias = A @ layer.W * layer.c
    np.testing.assert_allclose(Z_no_bias.std(axis=0), 1.0, rtol=1e-12)
    # the bias is minus a convex mix of 5 of the unit's pre-activations: within their range
    Z = layer.forward(A)
    assert np.all(Z.min(axis=0) < 0) and np.all(Z.max(axis=0) > 0)
    assert np.all(-layer.bias_factor * layer.b >= Z_no_bias.min(axis=0))
    assert np.all(-layer.bias_factor * layer.b <= Z_no_bias.max(axis=0))


def test_ntdense_forward_by_hand():
    layer = nn.NTDense(4, 1)
    nn.Network([layer], output="identity").init(random_state=0)
    layer.W[...] = [[1.0], [2.0], [3.0], [4.0]]
    layer.b[...] = 5.0
    # (1 + 2 + 3 + 4) / sqrt(4) + 0.1 * 5
    np.testing.assert_allclose(layer.forward(np.ones((1, 4))), [[5.5]])


def test_activations_by_hand():
    z = np.array([-2.0, -0.5, 0.0, 0.7, 3.0])
    expected_selu = np.where(z > 0, 1.0507009873554805 * z, 1.0507009873554805 * 1.6732632423543772 * np.expm1(z))
    np.testing.assert_allclose(selu(z), expected_selu)
    np.testing.assert_allclose(mish(z), z * np.tanh(np.log1p(np.exp(z))))
    h = 1e-6
    for f, slope in [(selu, selu_slope), (mish, mish_slope)]:
        numeric = (f(z + h) - f(z - h)) / (2 * h)
        at = z != 0  # SELU has a kink at 0
        np.testing.assert_allclose(slope(z, f(z))[at], numeric[at], rtol=1e-7)
    # no overflow at extreme inputs
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # (underflow to 0 is right)
        big = np.array([-1000.0, 1000.0])
        assert np.isfinite(mish(big)).all() and np.isfinite(mish_slope(big, mish(big))).all()
        assert np.isfinite(selu(big)).all() and np.isfinite(selu_slope(big, selu(big))).all()


def test_parametric_activation_a_zero_is_linear_and_one_is_f():
    act = nn.ParametricActivation("mish", 2)
    nn.Network([act], output="identity").init(random_state=0)
    act.a[...] = [1 / act.factor, 0.0]  # a = 1, a = 0
    Z = np.array([[-1.5, -1.5], [2.0, 2.0]])
    out = act.forward(Z.copy())
    np.testing.assert_allclose(out[:, 0], mish(Z[:, 0]))
    np.testing.assert_allclose(out[:, 1], Z[:, 1])


def test_pbld_forward_by_hand():
    emb = nn.TabularEmbedding(1, 0, numeric="pbld", n_frequencies=2, n_linear=1)
    nn.Network([emb], output="identity").init(random_state=0)
    f = emb.factor
    emb.w[...] = np.array([[0.25, 0.5]]) / f
    emb.phase_b[...] = np.array([[0.0, np.pi / 2]]) / f
    emb.V[...] = np.array([[[1.0], [2.0]]]) / f
    emb.c[...] = np.array([[0.5]]) / f
    x = 1.0
    u = np.cos([2 * np.pi * 0.25 * x, 2 * np.pi * 0.5 * x + np.pi / 2])
    np.testing.assert_allclose(emb.forward(np.array([[x]])), [[u @ [1.0, 2.0] + 0.5, x]], atol=1e-12)


def test_embedding_rows_and_unknown_codes():
    emb = nn.TabularEmbedding(0, 0, [3])
    nn.Network([emb], output="identity").init(random_state=0)
    E = emb.factor * emb.E
    out = emb.forward(np.array([[0.0], [2.0], [7.0], [np.nan]]))  # 7 and NaN: out of range, code 0 (unknown)
    np.testing.assert_allclose(out, E[[0, 2, 0, 0]])
    # the gradient of a row is the sum over the rows that used it
    delta = np.arange(32.0).reshape(4, 8)
    emb.backward(delta)
    np.testing.assert_allclose(emb.dE[0], emb.factor * (delta[0] + delta[2] + delta[3]))
    np.testing.assert_allclose(emb.dE[1], 0.0)


def test_learning_rate_factor_is_a_parametrisation():
    """Adam's first step moves a parameter stored at factor f by about f * lr: a learning-rate factor."""
    scale = nn.Scale(3, factor=6.0)
    net = nn.Network([scale], output="identity").init(random_state=0)
    X, Y = np.ones((4, 3)), np.zeros((4, 3))
    net.loss_and_gradients(X, Y)
    before = scale.factor * scale.s.copy()
    nn.Adam(net.params, learning_rate_init=0.01).update_params(net.params, net.grads)
    np.testing.assert_allclose(before - scale.factor * scale.s, 6.0 * 0.01, rtol=1e-6)


def test_tabular_layers_pickle_without_data():
    import pickle

    net = _tabular_network().init(random_state=0)
    X = _table()
    net.loss_and_gradients(X, np.eye(3)[np.arange(30) % 3])
    copy = pickle.loads(pickle.dumps(net))
    for layer in copy.layers:  # no rows of the last batch travel with the network
        assert all(getattr(layer, name, None) is None for name in layer.cache), layer
    np.testing.assert_array_equal(copy.predict(X), net.predict(X))


def test_schedules_by_hand():
    from skscratch.nn.schedules import SCHEDULES

    coslog4, flat_cos, cosine = SCHEDULES["coslog4"], SCHEDULES["flat_cos"], SCHEDULES["cosine"]
    # coslog4: 0 at the ends of its cycles (t = 0, 1/15, 3/15, 7/15, 1), 1 at their middles
    for t in (0.0, 1 / 15, 3 / 15, 7 / 15, 1.0):
        assert abs(coslog4(t)) < 1e-12
    for t in ((2**0.5 - 1) / 15, (2**1.5 - 1) / 15, (2**2.5 - 1) / 15, (2**3.5 - 1) / 15):
        assert abs(coslog4(t) - 1) < 1e-12
    assert flat_cos(0.0) == flat_cos(0.49) == 1.0 and abs(flat_cos(0.75) - 0.5) < 1e-12 and abs(flat_cos(1.0)) < 1e-12
    assert cosine(0.0) == 1.0 and abs(cosine(0.5) - 0.5) < 1e-12 and abs(cosine(1.0)) < 1e-12
    assert SCHEDULES["constant"](0.3) == 1.0
