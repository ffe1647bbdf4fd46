"""MLPScratchRegressor: what regression adds to ``base.BaseMLPScratch``.

How the targets are checked (and, for the Poisson loss, kept non-negative),
the output layer (identity, or exp for Poisson), the R^2 score, predict.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

from .._engine import array_api as seam
from ..nn.activations import ACTIVATIONS
from .base import BaseMLPScratch, available_if, fit_context
from .classifier import _arguments
from ..nn.losses import LOSSES
from .docs import fill_docstring, fill_partial_fit_docstring

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    from ..nn.activations import Activation
    from .base import ActivationName, Array, DType, MatrixLike, Schedule, Self, Solver
    from .sklearn_bases import RegressorMixin  # typed (scikit-learn ships no types)
else:
    from sklearn.base import RegressorMixin



@fill_docstring
class MLPScratchRegressor(RegressorMixin, BaseMLPScratch):
    """Multi-layer perceptron regressor, with backpropagation written in NumPy.

    A drop-in replacement for :class:`sklearn.neural_network.MLPRegressor`:
    the same parameters, fitted attributes, methods and behaviour. It
    minimises half the squared error (identity output) or half the Poisson
    deviance (exp output) with L-BFGS, SGD or Adam. It shares its network,
    training loop and optimizers with :class:`MLPScratchClassifier`; only
    the output layer, the loss, the targets and the score differ.

    Parameters
    ----------
    loss : {"squared_error", "poisson"}, default="squared_error"
        "squared_error" is ``sum_k (y_k - p_k)^2 / 2`` per sample, with an
        identity output; "poisson" is half the Poisson deviance, with an
        exponential output (a log link), for targets y >= 0.
%(parameters)s

    Attributes
    ----------
%(attributes)s
    out_activation_ : str
        Output activation: "identity" or "exp".

    See Also
    --------
    sklearn.neural_network.MLPRegressor : The estimator this one replaces.
    MLPScratchClassifier : The classifier on the same core.

    Notes
    -----
    Differences from scikit-learn, each deliberate:

    - For several outputs, ``loss_`` is the objective the gradient descends,
      ``sum_k (y_k - p_k)^2 / 2`` averaged over samples; scikit-learn reports
      that divided by the number of outputs while descending the sum. With
      one output the two are the same.
    - ``loss="poisson"`` refuses negative targets with a ValueError.
    - ``partial_fit`` exists for the stochastic solvers, "sgd", "adam" and "adamw" (scikit-learn's
      regressor also offers it for L-BFGS, where it runs a whole fit).
    - Targets that are not numbers, or not finite, raise a ValueError.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.model_selection import train_test_split
    >>> from skscratch import MLPScratchRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y / y.std(), random_state=0)
    >>> reg = MLPScratchRegressor(hidden_layer_sizes=(32,), solver="lbfgs",
    ...                           max_iter=500, random_state=0)
    >>> reg.fit(X_train, y_train).score(X_test, y_test) > 0.95
    True
    >>> reg.predict(X_test[:2]).shape
    (2,)
    """

    _parameter_constraints: dict = {
        **BaseMLPScratch._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    loss: Literal["squared_error", "poisson"]  # its own parameter (see BaseMLPScratch)
    # fitted, besides those of BaseMLPScratch (declared for type checkers: no class attribute is made)
    out_activation_: Literal["identity", "exp"]

    if TYPE_CHECKING:  # made at run time by scikit-learn's metadata routing, from partial_fit's signature

        def set_partial_fit_request(self, *, X_val: bool | str | None = ..., sample_weight: bool | str | None = ...,
                                    sample_weight_val: bool | str | None = ...,
                                    y_val: bool | str | None = ...) -> Self: ...

    def __init__(
        self,
        loss: Literal["squared_error", "poisson"] = "squared_error",
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: ActivationName | Activation = "relu",
        *,
        solver: Solver = "adam",
        alpha: float = 0.0001,
        batch_size: int | Literal["auto"] = "auto",
        learning_rate: Schedule = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: int | np.random.RandomState | None = None,
        tol: float = 1e-4,
        verbose: bool | int = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int | float = 10,
        max_fun: int = 15000,
        dtype: DType | None = None,
        max_grad_norm: float | None = None,
        warmup_iter: int = 0,
        dropout: float | Sequence[float] = 0.0,
        scoring: str | Callable[..., float] | None = None,
    ) -> None:
        super().__init__(**_arguments(locals()))

    def _validate_input(self, X, y, reset, xp=np):
        """X and numeric, finite y (as NumPy); for loss="poisson", y >= 0."""
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
            y_numeric=True, dtype=self._input_dtype(xp, X), reset=reset,
        )  # fmt: skip
        y = seam.to_host(y)  # the targets are encoded on the host
        if y.dtype.kind not in "biuf":
            raise ValueError(
                f"{type(self).__name__} needs numeric targets y, got an array of "
                f"dtype {y.dtype}."
            )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and (y < 0).any():
            raise ValueError(
                f"loss='poisson' needs targets y >= 0; y has {int((y < 0).sum())} "
                f"negative value(s), the smallest {y.min():g}."
            )
        return X, y

    def _encode_targets(self, y, first_pass, incremental, classes=None):
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def _output_activation(self, Y):
        return "exp" if self.loss == "poisson" else "identity"

    def _encode_validation_targets(self, y_val):
        y_val = check_array(y_val, ensure_2d=False, dtype="numeric", input_name="y_val")
        return y_val.reshape(-1, 1) if y_val.ndim == 1 else y_val

    def _predictions(self, X, check_input=True):
        """Predicted targets, shape (n_samples, n_outputs), never NaN or infinite."""
        xp, _ = self._namespace()
        P = ACTIVATIONS[self.out_activation_](self._logits(X, check_input=check_input), xp)
        if not seam.all_finite(xp, P):
            raise ValueError(
                "The predictions overflow: the network's output is too large for "
                f"exp (loss={self.loss!r}). Scale the input the way the training "
                "data was scaled."
            )
        return P

    def _validation_loss_and_score(self, X, Y, sample_weight):
        """Half squared error (or Poisson deviance) and R^2 on the validation data (NaN if not finite)."""
        Z = seam.to_host(self._logits(X, check_input=False, check_finite=False))
        with np.errstate(over="ignore", invalid="ignore"):
            loss = float(np.average(LOSSES[self.out_activation_](Y, Z), weights=sample_weight))
            P = ACTIVATIONS[self.out_activation_](Z)
        if not np.isfinite(P).all():
            return np.nan, np.nan
        return loss, float(r2_score(Y, P, sample_weight=sample_weight))

    def _decode_targets(self, Y):
        return Y.ravel() if Y.shape[1] == 1 else Y

    # NumPy in, NumPy out; X of another array library (under array_api_dispatch) gives an array of that
    # library, which no static type names (Array: Any)
    @overload
    def predict(self, X: NDArray[Any] | Sequence[Any]) -> NDArray[np.floating[Any]]: ...
    @overload
    def predict(self, X: MatrixLike) -> Array: ...

    def predict(self, X: MatrixLike) -> Array:
        """Predict using the multi-layer perceptron.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        check_is_fitted(self)
        P = self._predictions(X)
        xp, _ = self._namespace()
        if P.shape[1] != 1:
            return P
        return P.ravel() if xp is np else xp.reshape(P, (-1,))

    def score(self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Return the coefficient of determination R^2 of the prediction.

        As scikit-learn's ``RegressorMixin.score``, with y checked first, so
        that NaN or infinite targets get an error that names y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True values for X.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            R^2 of ``self.predict(X)`` against y.
        """
        y, sample_weight = seam.usable(y, "y"), seam.usable(sample_weight, "sample_weight")
        check_array(y, ensure_2d=False, dtype="numeric", input_name="y")
        return float(super().score(X, y, sample_weight=sample_weight))

    @available_if(lambda est: est._check_solver())
    @fit_context(prefer_skip_nested_validation=True)
    @fill_partial_fit_docstring("regressor")
    def partial_fit(self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None, *,
                    X_val: MatrixLike | None = None, y_val: ArrayLike | None = None,
                    sample_weight_val: ArrayLike | None = None) -> Self:
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
%(validation)s
        """
        validation = self._validation_arguments(X_val, y_val, sample_weight_val)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True, validation=validation)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = self.loss == "poisson"
        return tags


MLPScratchRegressor.__module__ = "skscratch"  # its public name: what pickles, skops files and messages say
__test__ = {"MLPScratchRegressor": MLPScratchRegressor}  # (doctest finds a class by __module__: name it here)
