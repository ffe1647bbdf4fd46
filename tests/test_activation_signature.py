"""A user's Activation the network cannot call as forward(Z), derivative(Z, A) is refused when it is defined.

The classic notebooks write ``derivative(Z)``: one clear TypeError at the class statement, which says
what is expected and how to write it, instead of a TypeError deep in the training threads.
"""

import functools
import inspect
import re

import numpy as np
import pytest
from sklearn.datasets import load_iris

from skscratch import Activation, MLPScratchClassifier, check_gradients

# the part of every message about derivative that shows how to write it
HOW = r"[Ww]rite it as\n\n    def derivative\(self, Z, A\):\n        return "


def define(**methods):
    """A subclass of Activation with these class attributes (and a correct forward, unless given)."""
    namespace = {"forward": lambda self, Z: np.tanh(Z), **methods}
    return type("Mine", (Activation,), namespace)


def tanh_forward(self, Z):
    return np.tanh(Z)


def of_Z(self, Z):
    return 1 - np.tanh(Z) ** 2


def of_A(self, A):
    return 1 - A**2


def of_x_y_z(self, x, y, z):
    return x


def of_Z_and_keyword_A(self, Z, *, A):
    return 1 - A**2


@pytest.mark.parametrize("derivative, shown, takes", [
    (of_Z, "(self, Z)", "1 argument, Z, as in the classic notebooks"),
    (of_A, "(self, A)", "1 argument, A, as in the classic notebooks"),
    (of_x_y_z, "(self, x, y, z)", "3 arguments, x, y, z"),
    (staticmethod(lambda Z: 1 - np.tanh(Z) ** 2), " = lambda Z: ...",
     "1 argument, Z, as in the classic notebooks (a staticmethod is given no self)"),
    (classmethod(lambda cls, Z: 1 - np.tanh(Z) ** 2), " = lambda cls, Z: ...",
     "1 argument, Z, as in the classic notebooks"),
    (of_Z_and_keyword_A, "(self, Z, *, A)", "A by keyword only"),
], ids=["Z", "A", "x, y, z", "staticmethod", "classmethod", "keyword-only A"])
def test_a_derivative_that_cannot_take_Z_and_A_is_refused_with_the_way_to_write_it(derivative, shown, takes):
    with pytest.raises(TypeError, match=re.escape(f"Mine.derivative{shown} takes {takes}") +
                                        r", but the network calls derivative\(Z, A\): "
                                        r"it passes the pre-activation Z and the output A = f\(Z\).*" + HOW):
        define(derivative=derivative)


def test_the_seeds_derivative_written_as_a_def_is_shown_as_written():
    with pytest.raises(TypeError) as caught:
        class ReLU(Activation):
            def forward(self, Z):
                return np.maximum(Z, 0)

            def derivative(self, Z):
                return Z > 0

    message = str(caught.value)
    assert message.startswith("ReLU.derivative(self, Z) takes 1 argument, Z, as in the classic notebooks, but the "
                              "network calls derivative(Z, A)")
    assert "Keep your formula and take both: write it as\n\n    def derivative(self, Z, A):\n" in message


@pytest.mark.parametrize("lambda_, shown, first, takes", [
    (lambda Z: 1 - np.tanh(Z) ** 2, "lambda Z: ...", "Z", "no arguments"),
    (lambda Z, A: 1 - A**2, "lambda Z, A: ...", "Z", "1 argument, A"),
])
def test_a_lambda_in_the_class_body_is_told_it_is_a_method(lambda_, shown, first, takes):
    with pytest.raises(TypeError, match=rf"Mine\.derivative = {shown} is a method \(a lambda in the class body is "
                                        rf"one\), whose first parameter, {first}, receives the instance; it then takes "
                                        rf"{takes}, but the network calls derivative\(Z, A\).*" + HOW):
        define(derivative=lambda_)


def swapped(self, A, Z):
    return 1 - A**2


def test_a_derivative_with_A_and_Z_swapped_is_refused():
    with pytest.raises(TypeError, match=r"Mine\.derivative\(self, A, Z\) names its parameters A, Z, but the network "
                                        r"calls derivative\(Z, A\), Z first.*" + HOW):
        define(derivative=swapped)


@pytest.mark.parametrize("forward, takes", [
    (lambda self: 0, r" = lambda self: ... takes no arguments"),
    (lambda self, Z, A: Z, r" = lambda self, Z, A: ... takes 2 arguments, Z, A"),
    (staticmethod(lambda: 0), r" = lambda: ... takes no arguments \(a staticmethod is given no self\)"),
])
def test_a_forward_that_cannot_take_Z_is_refused(forward, takes):
    with pytest.raises(TypeError, match=rf"Mine\.forward{takes}, but the network calls forward\(Z\)\. Write it as"
                                        r"\n\n    def forward\(self, Z\):\n        return "):
        define(forward=forward, derivative=lambda self, Z, A: 1 - A**2)


def test_an_onnx_method_that_cannot_take_op_and_Z_is_refused():
    with pytest.raises(TypeError, match=r"Mine\.onnx\(self, Z\) takes 1 argument, Z, but the network calls "
                                        r"onnx\(op, Z\)\. Write it as\n\n    def onnx\(self, op, Z\):"):
        define(derivative=lambda self, Z, A: 1 - A**2, onnx=of_Z)


def test_a_derivative_that_is_not_callable_is_refused():
    with pytest.raises(TypeError, match=r"Mine\.derivative is None, not a method: the network calls "
                                        r"derivative\(Z, A\)\. " + HOW):
        define(derivative=None)


def star_args(self, *args):
    Z, A = args
    return 1 - A**2


def with_defaults(self, Z, A, scale=1.0, **options):
    return scale * (1 - A**2)


def static_Z_A(Z, A):
    return 1 - A**2


@pytest.mark.parametrize("derivative", [star_args, with_defaults, staticmethod(static_Z_A),
                                        lambda self, Z, A: 1 - A**2, lambda self, z, a: 1 - a**2],
                         ids=["*args", "defaults", "staticmethod(Z, A)", "lambda self, Z, A", "lower case"])
def test_whatever_can_be_called_as_derivative_Z_A_is_accepted_and_trains(derivative):
    Tanh = define(derivative=derivative)
    X, y = load_iris(return_X_y=True)
    assert check_gradients(MLPScratchClassifier(hidden_layer_sizes=(4,), activation=Tanh(), random_state=0),
                           X, y).max_relative_error < 1e-5
    model = MLPScratchClassifier(hidden_layer_sizes=(4,), activation=Tanh(), solver="lbfgs", max_iter=5,
                                 random_state=0)
    with pytest.warns(Warning):  # a few iterations: not converged
        model.fit(X, y)
    assert model.score(X, y) > 0.3


def test_a_forward_given_as_another_callable_is_called_as_it_is():
    """np.tanh is no method: the network calls it with Z alone, which it takes."""
    Tanh = type("Tanh", (Activation,), {"forward": np.tanh, "derivative": lambda self, Z, A: 1 - A**2})
    X = np.linspace(-2, 2, 5)
    np.testing.assert_array_equal(Tanh().forward(X), np.tanh(X))
    type("Scaled", (Activation,), {"forward": functools.partial(np.multiply, 2.0),
                                   "derivative": lambda self, Z, A: 2.0 + 0 * Z})


def test_a_subclass_inherits_checked_methods_and_an_intermediate_base_may_leave_them_abstract():
    class Base(Activation):
        scale = 1.0

    class Child(Base):
        def forward(self, Z):
            return self.scale * np.tanh(Z)

        def derivative(self, Z, A):
            return self.scale * (1 - (A / self.scale) ** 2)

    class Grandchild(Child):
        scale = 2.0

    assert inspect.isabstract(Base) and not inspect.isabstract(Grandchild)
    np.testing.assert_allclose(Grandchild().forward(np.array([0.5])), 2 * np.tanh(0.5))
    with pytest.raises(TypeError, match=r"Broken\.derivative\(self, Z\) takes 1 argument"):
        class Broken(Grandchild):
            def derivative(self, Z):
                return 1
