"""Activations written the way a user writes them, in an importable module (so that pickles of them load).

They use the namespace of ``Z`` (NumPy's, or torch's ...), so that they also
run in scikit-learn's array-API checks.
"""

try:
    from array_api_compat import array_namespace
except ImportError:  # without the [array-api] extra: the copy scikit-learn bundles
    from sklearn.externals.array_api_compat import array_namespace

from skscratch import Activation


def sigmoid(Z):
    xp = array_namespace(Z)
    return 1 / (1 + xp.exp(-Z))


class Swish(Activation):
    """f(z) = z s(z); f'(z) = s(z) + z s(z) (1 - s(z)) = A + s(z) (1 - A)."""

    def forward(self, Z):
        return Z * sigmoid(Z)

    def derivative(self, Z, A):
        s = sigmoid(Z)
        return A + s * (1 - A)

    def onnx(self, op, Z):
        return op("Mul", Z, op("Sigmoid", Z))


class SwishWithoutOnnx(Swish):
    onnx = Activation.onnx  # the base class's: no ONNX form


class WrongSwish(Swish):
    """The product rule forgotten: f'(z) written as s(z)."""

    def derivative(self, Z, A):
        return sigmoid(Z)


class Tanh(Activation):
    """The built-in tanh, written as a user would: the same arithmetic, so the same bits."""

    def forward(self, Z):
        return array_namespace(Z).tanh(Z)

    def derivative(self, Z, A):
        return 1.0 - A**2


class ScaledTanh(Activation):
    """f(z) = a tanh(z / a): an activation with a parameter."""

    def __init__(self, scale=2.0):
        self.scale = scale

    def forward(self, Z):
        return self.scale * array_namespace(Z).tanh(Z / self.scale)

    def derivative(self, Z, A):
        return 1.0 - (A / self.scale) ** 2
