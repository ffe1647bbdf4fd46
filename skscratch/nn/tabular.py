"""The layers of a tabular MLP (RealMLP's recipe), each with its backward next to its forward.

Holzmüller, Grinsztajn and Steinwart, "Better by Default: Strong Pre-Tuned
MLPs and Boosted Trees on Tabular Data" (NeurIPS 2024) add to a plain MLP a
bag of small pieces, each a layer here:

- :class:`TabularEmbedding`: the input. Numeric features get periodic
  embeddings ("PBLD": ``cos(2 pi w x + b)`` at 16 frequencies, a linear map
  of those to 3 values per feature, and ``x`` itself appended); large
  categorical features get learned vectors (one row of a table per
  category); 0/1 columns (one-hot blocks, missing-value flags) pass through.
- :class:`Scale`: one learned factor per input of the first Dense layer
  ("the scaling layer"), a soft feature selection.
- :class:`NTDense`: a Dense layer in the neural-tangent parametrisation,
  ``Z = A W / sqrt(n_in) + b``, with W at unit scale.
- :class:`ParametricActivation`: ``Z + a (f(Z) - Z)``, SELU or Mish, with one
  learned ``a`` per unit (``a = 0``: the unit is linear).

**Learning-rate factors as parametrisations.** RealMLP trains some
parameters with a larger or smaller learning rate than the rest (the scale
x 6, the biases, the embeddings and ``a`` x 0.1). Adam's step on a parameter
``theta'`` is about ``lr`` whatever the gradient's size, so a layer that
stores ``theta'`` and uses ``theta = f theta'`` moves ``theta`` by about
``f lr``: the same as a learning rate ``f lr``, with one optimizer and one
flat parameter vector for the whole network. Each layer below says which
factor it applies; ``Z = A W / sqrt(n_in)`` is the same trick.

This module imports only NumPy (and the array-API seam).
"""

import numpy as np

from .._engine import array_api as seam
from .layers import Layer

SELU_LAMBDA = 1.0507009873554805
SELU_ALPHA = 1.6732632423543772


class NTDense(Layer):
    """A Dense layer in the neural-tangent parametrisation: ``Z = c A W + f b``, ``c = 1 / sqrt(n_in)``.

    W is drawn from N(0, 1) and kept at that scale; the factor ``c`` in the
    forward pass keeps ``Z`` at unit scale, and makes Adam's steps on W
    count ``c`` times as much, whatever the layer's width. ``f`` is the
    biases' learning-rate factor (see the module). With ``ntk=False``, the
    layer is a standard Dense layer (``c = 1``, W drawn as N(0, 1 / n_in)).

    :meth:`initialize_from_data` is RealMLP's data-dependent start: each
    unit's weights rescaled so that its pre-activation has unit standard
    deviation on the data, and its bias set so that the unit's hyperplane
    passes through a random convex mix of 5 data points ("he+5").

    Parameters
    ----------
    n_in, n_out : int
    bias_factor : float, default=0.1
    ntk : bool, default=True

    Examples
    --------
    >>> import numpy as np
    >>> from skscratch import nn
    >>> layer = nn.NTDense(4, 2)
    >>> net = nn.Network([layer], output="identity").init(random_state=0)
    >>> layer.W[...] = 1.0
    >>> layer.b[...] = 10.0  # b' = 10: the bias is 0.1 * 10 = 1
    >>> layer.forward(np.ones((1, 4)))  # (1 + 1 + 1 + 1) / sqrt(4) + 1
    array([[3., 3.]])
    """

    cache = ("A",)

    def __init__(self, n_in, n_out, bias_factor=0.1, ntk=True):
        self.n_in, self.n_out, self.bias_factor, self.ntk = n_in, n_out, bias_factor, ntk
        self.c = float(1 / np.sqrt(n_in)) if ntk else 1.0  # a Python float: float32 stays float32

    def parameters(self):
        return [("W", (self.n_in, self.n_out), True), ("b", (self.n_out,), False)]

    def initialize(self, random_state):
        scale = 1.0 if self.ntk else 1 / np.sqrt(self.n_in)
        self.W[...] = scale * random_state.standard_normal(self.W.shape)
        self.b[...] = 0.0

    def forward(self, A):
        self.A = A
        Z = A @ self.W
        Z *= self.c  # Z = c A W + f b
        Z += self.bias_factor * self.b
        return Z

    def backward(self, delta):
        # dJ/dW = c A^T delta;  dJ/db = f sum_i delta_i
        seam.into(self.xp, self.dW, self.xp.matmul, self.A.T, delta)
        self.dW *= self.c
        seam.into(self.xp, self.db, self.xp.sum, delta, axis=0)
        self.db *= self.bias_factor
        if self.input_gradient:
            return (self.c * delta) @ self.W.T  # dJ/dA = c delta W^T
        return None

    def initialize_from_data(self, A, random_state, bias="he+5"):
        """Rescale W to unit pre-activation std on the rows ``A``; biases "he+5" (or "zeros")."""
        Z = self.c * (A @ self.W)
        std = Z.std(axis=0)
        std = np.where(np.isfinite(std) & (std > 0), std, 1.0)  # constant input (or overflow): weights kept
        self.W[...] /= std
        Z /= std
        if bias == "he+5":
            # b = - sum_k p_k z(x_k): 5 random rows, weights p from Dirichlet(1, ..., 1)
            rows = random_state.randint(0, A.shape[0], size=(self.n_out, 5))
            p = random_state.exponential(size=(self.n_out, 5))
            p /= p.sum(axis=1, keepdims=True)
            mix = (Z[rows, np.arange(self.n_out)[:, None]] * p).sum(axis=1)
            self.b[...] = np.where(np.isfinite(mix), -mix / self.bias_factor, 0.0)  # (0 where z overflows)
        else:
            self.b[...] = 0.0

    def __repr__(self):
        extra = "" if self.ntk else ", ntk=False"
        return f"NTDense({self.n_in}, {self.n_out}{extra})"


def selu(Z, xp=np):
    """SELU: ``lambda z`` for z > 0, ``lambda alpha (exp(z) - 1)`` otherwise."""
    # exp(z) - 1 for z <= 0, 0 above (exp, not expm1: NumPy vectorises exp, and float32 rounding, not
    # the cancellation near 0, limits the result)
    negative = xp.exp(xp.minimum(Z, 0))
    negative -= 1
    negative *= SELU_LAMBDA * SELU_ALPHA
    return xp.maximum(Z, 0) * SELU_LAMBDA + negative


def selu_slope(Z, F, xp=np):
    """SELU's derivative from ``F = selu(Z)``: ``lambda`` for z > 0, ``lambda alpha exp(z) = F + lambda alpha`` otherwise."""
    positive = seam.astype(xp, Z > 0, F.dtype)  # 1.0 or 0.0
    # one of the two terms is 0 in every entry: exact, and far faster than xp.where on NumPy
    return positive * SELU_LAMBDA + (1 - positive) * (F + SELU_LAMBDA * SELU_ALPHA)


def mish(Z, xp=np):
    """Mish: ``z tanh(softplus(z))``, softplus(z) = log(1 + exp(z)) computed without overflow."""
    return Z * xp.tanh(xp.logaddexp(0, Z))


def mish_slope(Z, F, xp=np):
    """Mish's derivative: ``tanh(sp) + z sigma(z) (1 - tanh(sp)^2)``, sp = softplus(z) (``F = mish(Z)`` unused)."""
    t = xp.tanh(xp.logaddexp(0, Z))
    sigma = 0.5 * (1 + xp.tanh(0.5 * Z))  # sigma(z), without overflow
    return t + Z * sigma * (1 - t * t)


TABULAR_ACTIVATIONS = {"selu": (selu, selu_slope), "mish": (mish, mish_slope)}


class ParametricActivation(Layer):
    """``A = Z + a (f(Z) - Z)``: SELU or Mish, with one learned ``a`` per unit (the learning rate x ``factor``).

    ``a`` starts at 1 (the plain activation); ``a = 0`` makes the unit
    linear. ``a`` is ``factor * a'``, ``a'`` the stored parameter (see the
    module). With ``parametric=False`` the layer is ``f`` alone and has no
    parameter.

    Backward: ``dJ/dZ = delta (1 + a (f'(Z) - 1))``, ``dJ/da = sum_i delta (f(Z) - Z)``.

    Parameters
    ----------
    activation : {"selu", "mish"}
    n_units : int
    parametric : bool, default=True
    factor : float, default=0.1

    Examples
    --------
    >>> import numpy as np
    >>> from skscratch import nn
    >>> act = nn.ParametricActivation("selu", 2)
    >>> _ = nn.Network([act], output="identity").init(random_state=0)
    >>> act.a[...] = [10.0, 0.0]  # a = 1 (SELU) and a = 0 (linear)
    >>> act.forward(np.array([[-1.0, -1.0]])).round(4)
    array([[-1.1113, -1.    ]])
    """

    cache = ("Z", "F")

    def __init__(self, activation, n_units, parametric=True, factor=0.1):
        if activation not in TABULAR_ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(TABULAR_ACTIVATIONS)}, got {activation!r}")
        self.activation, self.n_units, self.parametric, self.factor = activation, n_units, parametric, factor

    def parameters(self):
        return [("a", (self.n_units,), False)] if self.parametric else []

    def initialize(self, random_state):
        if self.parametric:
            self.a[...] = 1 / self.factor  # a = factor a' = 1

    def forward(self, Z):
        f, _ = TABULAR_ACTIVATIONS[self.activation]
        self.Z, self.F = Z, f(Z, self.xp)
        if not self.parametric:
            return self.F
        A = self.F - Z
        A *= self.factor * self.a
        A += Z  # A = Z + a (f(Z) - Z)
        return A

    def backward(self, delta):
        _, slope = TABULAR_ACTIVATIONS[self.activation]
        if not self.parametric:
            return delta * slope(self.Z, self.F, self.xp)
        a = self.factor * self.a
        # dJ/da' = factor sum_i delta_i (f(Z_i) - Z_i)
        seam.into(self.xp, self.da, self.xp.sum, delta * (self.F - self.Z), axis=0)
        self.da *= self.factor
        dZ = slope(self.Z, self.F, self.xp)
        dZ -= 1
        dZ *= a
        dZ += 1
        dZ *= delta
        return dZ  # dJ/dZ = delta (1 + a (f'(Z) - 1))

    def __repr__(self):
        extra = "" if self.parametric else ", parametric=False"
        return f"ParametricActivation({self.activation!r}, {self.n_units}{extra})"


class Scale(Layer):
    """One learned factor per feature: ``A_out = A s``, s starting at 1 (the learning rate x ``factor``).

    ``s = factor * s'`` (see the module). Backward: ``dJ/ds = sum_i delta_i A_i``,
    ``dJ/dA = delta s``.

    Examples
    --------
    >>> import numpy as np
    >>> from skscratch import nn
    >>> scale = nn.Scale(2)
    >>> _ = nn.Network([scale], output="identity").init(random_state=0)
    >>> scale.forward(np.array([[3.0, 4.0]]))  # s = 1 at the start
    array([[3., 4.]])
    """

    cache = ("A",)

    def __init__(self, n_features, factor=6.0):
        self.n_features, self.factor = n_features, factor

    def parameters(self):
        return [("s", (self.n_features,), False)]

    def initialize(self, random_state):
        self.s[...] = 1 / self.factor

    def forward(self, A):
        self.A = A
        return A * (self.factor * self.s)

    def backward(self, delta):
        # dJ/ds' = factor sum_i delta_i A_i
        seam.into(self.xp, self.ds, self.xp.sum, delta * self.A, axis=0)
        self.ds *= self.factor
        if self.input_gradient:
            return delta * (self.factor * self.s)
        return None

    def __repr__(self):
        return f"Scale({self.n_features})"


class TabularEmbedding(Layer):
    """The input layer of a table: periodic embeddings of numeric columns, vectors of categories, 0/1 as is.

    The input's columns come in three groups, as
    :class:`skscratch.TabularPreprocessor` writes them: ``n_numeric`` numeric
    values, ``n_binary`` 0/1 values, and one integer code per large
    categorical column (0: missing or unknown; ``cardinalities[j]`` codes in
    all). The output is, in this order:

    - per numeric value ``x`` (with ``numeric="pbld"``): ``u = cos(2 pi w x + b)``
      at ``n_frequencies`` frequencies ``w ~ N(0, sigma^2)``, phases
      ``b ~ U(-pi, pi)``; then ``v = u V + c`` (a linear map of its own per
      feature, to ``n_linear`` values); then ``x`` itself appended at the
      end of the numeric block. ``numeric=None``: ``x`` alone;
    - the 0/1 values, unchanged;
    - per categorical code: the ``embedding_dim`` values of its row of a
      table ``E`` of its own (N(0, 1) at the start).

    Every parameter is ``factor`` times the one stored (see the module).

    Backward (for the parameters; the input is the data)::

        dJ/dV_j = u_j^T dJ/dv_j,   dJ/dc_j = sum_i dJ/dv_ij
        dJ/du = dJ/dv V^T,         dJ/d(2 pi w x + b) = -sin(2 pi w x + b) dJ/du
        dJ/dw = sum_i 2 pi x_i dJ/d(.),  dJ/db = sum_i dJ/d(.)
        dJ/dE[k] = sum of dJ/d(output) over the rows whose code is k

    Parameters
    ----------
    n_numeric, n_binary : int
    cardinalities : list of int
    numeric : {"pbld", None}, default="pbld"
    n_frequencies, n_linear : int, default=16, 3
    sigma : float, default=0.1
    embedding_dim : int, default=8
    factor : float, default=0.1

    Examples
    --------
    >>> import numpy as np
    >>> from skscratch import nn
    >>> emb = nn.TabularEmbedding(n_numeric=2, n_binary=1, cardinalities=[4])
    >>> _ = nn.Network([emb], output="identity").init(random_state=0)
    >>> emb.n_out  # 2 x (3 + 1) numeric, 1 binary, 8 for the category
    17
    >>> emb.forward(np.array([[0.5, -1.0, 1.0, 3.0]])).shape
    (1, 17)
    """

    cache = ("x", "U", "phase", "codes")

    def __init__(self, n_numeric, n_binary, cardinalities=(), numeric="pbld", n_frequencies=16, n_linear=3,
                 sigma=0.1, embedding_dim=8, factor=0.1):
        if numeric not in ("pbld", None):
            raise ValueError(f"numeric must be 'pbld' or None, got {numeric!r}")
        self.n_numeric, self.n_binary, self.cardinalities = n_numeric, n_binary, [int(c) for c in cardinalities]
        self.numeric, self.n_frequencies, self.n_linear = numeric, n_frequencies, n_linear
        self.sigma, self.embedding_dim, self.factor = sigma, embedding_dim, factor
        self.offsets = np.concatenate([[0], np.cumsum(self.cardinalities)[:-1]]).astype(np.intp)

    @property
    def n_out(self):
        """The output's width."""
        per_numeric = self.n_linear + 1 if self.numeric else 1
        return self.n_numeric * per_numeric + self.n_binary + len(self.cardinalities) * self.embedding_dim

    @property
    def n_in(self):
        """The input's width."""
        return self.n_numeric + self.n_binary + len(self.cardinalities)

    def parameters(self):
        n, k, h = self.n_numeric, self.n_frequencies, self.n_linear
        params = []
        if self.numeric and n:
            params += [("w", (n, k), False), ("phase_b", (n, k), False), ("V", (n, k, h), False),
                       ("c", (n, h), False)]
        if self.cardinalities:
            params.append(("E", (sum(self.cardinalities), self.embedding_dim), False))
        return params

    def initialize(self, random_state):
        n, k, h, f = self.n_numeric, self.n_frequencies, self.n_linear, self.factor
        if self.numeric and n:
            self.w[...] = self.sigma * random_state.standard_normal((n, k)) / f
            self.phase_b[...] = random_state.uniform(-np.pi, np.pi, (n, k)) / f
            # each feature's linear map: PyTorch's default, U(-1/sqrt(k), 1/sqrt(k))
            self.V[...] = random_state.uniform(-1, 1, (n, k, h)) / np.sqrt(k) / f
            self.c[...] = random_state.uniform(-1, 1, (n, h)) / np.sqrt(k) / f
        if self.cardinalities:
            self.E[...] = random_state.standard_normal(self.E.shape) / f

    def forward(self, A):
        # NumPy only: the codes index a table, and the estimators that use this layer run in NumPy
        f, n = self.factor, self.n_numeric
        x, binary = A[:, :n], A[:, n:n + self.n_binary]
        parts = []
        if self.numeric and n:
            self.x = x
            # phase[j, i, k] = 2 pi w_jk x_ij + b_jk: features first, so that each feature's map is a matmul
            self.phase = (2 * np.pi * f) * (x.T[:, :, None] * self.w[:, None, :])
            self.phase += f * self.phase_b[:, None, :]
            self.U = np.cos(self.phase)
            v = np.matmul(self.U, f * self.V) + f * self.c[:, None, :]  # (n, batch, h)
            parts += [v.transpose(1, 0, 2).reshape(A.shape[0], n * self.n_linear), x]
        elif n:
            parts.append(x)
        parts.append(binary)
        if self.cardinalities:
            codes = A[:, n + self.n_binary:]
            known = (codes >= 0) & (codes < np.array(self.cardinalities))  # (NaN is not)
            codes = np.where(known, codes, 0).astype(np.intp)  # anything else: code 0, "missing or unknown"
            self.codes = codes + self.offsets  # rows of E
            vectors = f * self.E[self.codes]  # (batch, m, d)
            parts.append(vectors.reshape(A.shape[0], len(self.cardinalities) * self.embedding_dim))
        return np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]

    def backward(self, delta):
        f, n, h = self.factor, self.n_numeric, self.n_linear
        start = 0
        if self.numeric and n:
            dv = delta[:, :n * h].reshape(delta.shape[0], n, h).transpose(1, 0, 2)  # (n, batch, h)
            self.dV[...] = f * np.matmul(self.U.transpose(0, 2, 1), dv)  # u^T dJ/dv, per feature
            self.dc[...] = f * dv.sum(axis=1)
            dphase = -np.sin(self.phase) * np.matmul(dv, (f * self.V).transpose(0, 2, 1))
            self.dw[...] = (2 * np.pi * f) * (dphase * self.x.T[:, :, None]).sum(axis=1)
            self.dphase_b[...] = f * dphase.sum(axis=1)
            start = n * (h + 1)
        elif n:
            start = n
        start += self.n_binary
        if self.cardinalities:
            d_vectors = delta[:, start:].reshape(-1, self.embedding_dim)
            self.dE[...] = 0.0
            np.add.at(self.dE, self.codes.ravel(), f * d_vectors)  # each row of E: the sum over the rows using it
        return None  # the input is the data

    def __repr__(self):
        return (f"TabularEmbedding(n_numeric={self.n_numeric}, n_binary={self.n_binary}, "
                f"cardinalities={self.cardinalities}, numeric={self.numeric!r})")
