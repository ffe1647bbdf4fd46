"""BaseMLPScratch: what the classifier and the regressor share around the network.

Parameters and their checks, and the way through ``fit``, which reads
straight down::

    validate X, y -> encode the targets -> weigh the samples -> validation set
    -> initialise the network -> train (training: epochs of minibatches, or
    lbfgs: L-BFGS on the full batch) -> warn if it barely learned

The network itself (the flat parameter vector behind ``coefs_`` and
``intercepts_``, its passes, pickling) is ``weights.NetworkWeights``, a part
of this class. A subclass (``classifier``, ``regressor``) defines only what
differs: how targets are checked, encoded and decoded, the output layer, and
the validation score (the hooks below).

Under scikit-learn's ``array_api_dispatch=True``, X may be a PyTorch, CuPy ...
array: the network (weights, optimizer, every forward and backward pass)
then lives in X's namespace, on X's device. The bookkeeping (labels, class
and sample weights, records) stays in NumPy on the host, where it is small
(``skscratch._engine.array_api`` is the seam between the two).
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from numbers import Integral, Real
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Union

import numpy as np
from sklearn import config_context  # type: ignore[attr-defined]  # (sklearn resolves it lazily)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .._engine import array_api as seam
from . import guards as _guards
from . import validation as _validation
from ..nn.activations import Activation
from ..nn.layers import Layer
from ..nn.dropout import dropout_rates
from .lbfgs import fit_lbfgs
from ..nn.optimizers import SGD, Adam, AdamW
from .training import History, StochasticTraining
from .weights import NetworkWeights, SkscratchVersionWarning, _described  # noqa: F401 (the warning's home before)

if TYPE_CHECKING:  # scikit-learn's decorators keep a method's signature; mypy is told so here
    _Method = TypeVar("_Method", bound=Callable[..., Any])

    def fit_context(prefer_skip_nested_validation: bool) -> Callable[[_Method], _Method]: ...

    def available_if(check: Callable[[Any], Any]) -> Callable[[_Method], _Method]: ...

    # scikit-learn's base classes, typed (it ships no types: a base of type Any would accept any attribute)
    from .sklearn_bases import BaseEstimator, CallbackSupportMixin
else:
    from sklearn.base import BaseEstimator
    from sklearn.base import _fit_context as fit_context
    from sklearn.utils.metaestimators import available_if

    try:  # scikit-learn >= 1.9: the experimental callback API
        from sklearn.callback import CallbackSupportMixin
    except ImportError:  # older scikit-learn: no callbacks, everything else works

        class CallbackSupportMixin:
            """Stand-in for scikit-learn < 1.9, which has no callback API: ``set_callbacks`` says so."""

            @property
            def set_callbacks(self):
                import sklearn

                raise AttributeError(
                    "set_callbacks needs scikit-learn >= 1.9 (its callback API), and this is scikit-learn "
                    f"{sklearn.__version__}. Upgrade scikit-learn, or fit epoch by epoch with partial_fit and "
                    "record between the calls (plotting.TrainingRecorder.record, tracking.log_history)."
                )

if TYPE_CHECKING:
    import pandas as pd
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, NDArray
    from scipy.sparse import sparray, spmatrix
    from typing_extensions import Self

# the types the public API is annotated with
MatrixLike = Union["ArrayLike", "spmatrix", "sparray"]  # X: dense, a DataFrame, or SciPy sparse
ActivationName = Literal["identity", "logistic", "tanh", "relu", "leaky_relu", "elu", "gelu"]
Solver = Literal["lbfgs", "sgd", "adam", "adamw"]
Schedule = Literal["constant", "invscaling", "adaptive", "cosine"]
DType = Union[Literal["float32", "float64"], type[np.float32], type[np.float64]]
# an array of the library the network lives in: a NumPy ndarray or, fitted under array_api_dispatch,
# a PyTorch, CuPy ... array on the input's device; no static type names them all
Array = Any

STOCHASTIC_SOLVERS = ("sgd", "adam", "adamw")
# the API pages the HTML repr links to (scikit-learn's convention, for our own site)
DOCS_URL = "https://skscratch.readthedocs.io/en/latest/generated/skscratch.{estimator_name}.html"


def _numpy_dtype_of_column(dtype):
    """The NumPy dtype of a DataFrame column's dtype, or None where NumPy has no such dtype.

    NumPy's dtypes are themselves; pandas' extension dtypes (the nullable
    ``Float32``, ``Int16``, ``boolean``, and ``float32[pyarrow]`` ...) name
    theirs in ``numpy_dtype``; polars' numeric dtypes are NumPy's names
    capitalised (``Float32``, ``Int64``, ``UInt8``) and its ``Boolean`` is
    NumPy's bool.
    """
    if isinstance(dtype, np.dtype):
        return dtype
    if hasattr(dtype, "numpy_dtype"):  # pandas' extension dtypes
        return np.dtype(dtype.numpy_dtype)
    if type(dtype).__module__.split(".")[0] == "polars" and (dtype.is_numeric() or str(dtype) == "Boolean"):
        try:
            return np.dtype("bool" if str(dtype) == "Boolean" else str(dtype).lower())
        except TypeError:  # Decimal, Int128: no NumPy dtype
            return None
    return None


def _is_float32_array(X):
    """Whether X is another library's float32 array (a torch tensor, say), which NumPy's path is given.

    Without ``array_api_dispatch`` scikit-learn's ``check_array`` turns such
    an array into NumPy's, and, its dtype not being NumPy's, into float64; a
    NumPy float32 array stays float32, and so does this one.
    """
    if isinstance(X, np.ndarray) or seam.array_namespace(X) is np:  # (NumPy's, lists, frames, sparse)
        return False
    return str(X.dtype).rsplit(".", 1)[-1] == "float32"


def _is_float32_frame(X):
    """Whether X is a DataFrame whose columns NumPy would hold together in float32.

    scikit-learn's ``check_array`` keeps a pandas DataFrame of NumPy float32
    columns in float32, the ``np.result_type`` of its columns, but converts
    a frame of pandas' nullable or pyarrow dtypes, or a polars frame, to
    float64, whatever its columns. This decides every frame as the first:
    float32 where ``np.result_type`` of the columns' dtypes is float32 (all
    float32, or float32 with int8, int16, uint8, uint16 or bool columns);
    one float64, int32 or int64 column makes it float64.
    """
    if not hasattr(X, "columns") or getattr(X, "dtypes", None) is None:
        return False
    columns = {_numpy_dtype_of_column(dtype) for dtype in X.dtypes}
    if not columns or None in columns:
        return False
    try:
        return np.result_type(*columns) == np.float32
    except TypeError:  # strings, objects: no common numeric type
        return False


class BaseMLPScratch(NetworkWeights, CallbackSupportMixin, BaseEstimator, ABC):
    """Base class of the skscratch multi-layer perceptrons.

    Warning: do not use this class directly; use the derived estimators.
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu", "leaky_relu", "elu", "gelu"}), Activation],
        "solver": [StrOptions({"lbfgs", "sgd", "adam", "adamw"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive", "cosine"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dtype": [None, StrOptions({"float32", "float64"}), Options(type, {np.float32, np.float64})],
        "max_grad_norm": [None, Interval(Real, 0, None, closed="neither")],
        "warmup_iter": [Interval(Integral, 0, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
        "scoring": [None, str, callable],
    }
    _doc_link_module = "skscratch"
    _doc_link_template = DOCS_URL

    # The attributes, declared for type checkers, so that a misspelt one is an error. Annotations without
    # a value: the class gets no attribute, so an unfitted estimator still has none of them (hasattr,
    # check_is_fitted, vars(), get_params, clone and pickles are as before).
    # The parameters, which __init__ stores (each subclass lists them in its signature):
    hidden_layer_sizes: int | Sequence[int]
    activation: ActivationName | Activation
    solver: Solver
    alpha: float
    batch_size: int | Literal["auto"]
    learning_rate: Schedule
    learning_rate_init: float
    power_t: float
    max_iter: int
    shuffle: bool
    random_state: int | np.random.RandomState | None
    tol: float
    verbose: bool | int
    warm_start: bool
    momentum: float
    nesterovs_momentum: bool
    early_stopping: bool
    validation_fraction: float
    beta_1: float
    beta_2: float
    epsilon: float
    n_iter_no_change: int | float
    max_fun: int
    dtype: DType | None
    max_grad_norm: float | None
    warmup_iter: int
    dropout: float | Sequence[float]
    scoring: str | Callable[..., float] | None

    # The fitted attributes (documented in docs.py). ``float | Any`` is a float or None depending on
    # early_stopping, which no type can follow (typeshed's "Any trick": code written for the mode it
    # fitted in type-checks, without an assert at each use).
    coefs_: list[Array]
    intercepts_: list[Array]
    loss_: float
    best_loss_: float | Any  # None with early stopping
    loss_curve_: list[float]
    validation_scores_: list[float] | Any  # None without early stopping
    best_validation_score_: float | Any  # None without early stopping
    t_: int
    n_iter_: int
    n_layers_: int
    n_outputs_: int
    n_features_in_: int
    feature_names_in_: NDArray[np.object_]
    out_activation_: str

    if TYPE_CHECKING:  # made at run time by scikit-learn's metadata routing, from fit's and score's signatures

        def set_fit_request(self, *, X_val: bool | str | None = ..., sample_weight: bool | str | None = ...,
                            sample_weight_val: bool | str | None = ..., y_val: bool | str | None = ...) -> Self: ...

        def set_score_request(self, *, sample_weight: bool | str | None = ...) -> Self: ...

    def __init__(self, **params):
        """Store the constructor's arguments as attributes, nothing else.

        A subclass lists every parameter in its own signature, which is what
        ``get_params`` reads, and passes them all here.
        """
        for name, value in params.items():
            setattr(self, name, value)

    # ------------------------------------------------------------------
    # The hooks: what a subclass defines (targets, output layer, validation score)

    @abstractmethod
    def _validate_input(self, X, y, reset, xp=np):
        """Validate X and y (and the kind of target); return X (float32 or float64, in ``xp``) and y (NumPy)."""

    @abstractmethod
    def _encode_targets(self, y, first_pass, incremental, classes=None):
        """The 2-D training targets Y; on a first pass, also learn the encoding (e.g. ``classes_``)."""

    @abstractmethod
    def _encode_validation_targets(self, y_val):
        """Encode y_val as the training targets were, refusing what the encoding does not know."""

    @abstractmethod
    def _decode_targets(self, Y):
        """The targets as the user gave them (labels), from encoded Y; what scorers compare with."""

    @abstractmethod
    def _output_activation(self, Y):
        """Name of the output activation (which also picks the loss)."""

    @abstractmethod
    def _validation_loss_and_score(self, X, Y, sample_weight):
        """(data loss, built-in score) of the current network on (X, encoded Y); NaN for both on overflow."""

    def _stratify_labels(self, y):
        """Labels to stratify the early-stopping split on (from the validated y), or None."""
        return None

    def _target_weights(self, y, incremental, sample_weight):
        """Per-sample weights that y itself implies (class_weight), or None."""
        return None

    # ------------------------------------------------------------------
    # Parameters

    def _hidden_layer_sizes(self):
        """The sizes of the hidden Dense layers in ``hidden_layer_sizes``, positive ints (ValueError otherwise).

        Layers of one's own (:class:`skscratch.nn.Layer`) may stand between
        them: :meth:`_own_layers` finds those.
        """
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        for size in sizes:
            if isinstance(size, Layer):
                continue
            if isinstance(size, bool) or not isinstance(size, Integral) or size < 1:
                raise ValueError(
                    "hidden_layer_sizes must hold positive integers (and layers of your own, instances of "
                    f"skscratch.nn.Layer), got {self.hidden_layer_sizes!r}."
                )
        return [int(size) for size in sizes if not isinstance(size, Layer)]

    def _dropout_rates(self, n_hidden):
        """The dropout rate of each hidden layer, checked against the solver."""
        rates = dropout_rates(self.dropout, n_hidden)
        if any(rates) and self.solver not in STOCHASTIC_SOLVERS:
            raise ValueError(
                f"dropout needs a stochastic solver (sgd, adam, adamw), not {self.solver!r}: "
                "L-BFGS's line search needs the same loss at every evaluation."
            )
        return rates

    def _input_dtype(self, xp=np, X=None):
        """The dtype(s) validate_data may return for X, in the namespace ``xp``.

        With ``dtype=None``, float64 and float32 arrays keep their dtype and
        anything else becomes float64, except a DataFrame of float32 columns
        (of any kind: NumPy's, pandas' ``Float32`` or ``float32[pyarrow]``,
        polars' ``Float32``), which becomes float32 as a float32 array would.
        """
        if xp is not np:
            return (xp.float64, xp.float32) if self.dtype is None else getattr(xp, np.dtype(self.dtype).name)
        if self.dtype is not None:
            return np.dtype(self.dtype)
        return np.float32 if _is_float32_frame(X) or _is_float32_array(X) else (np.float64, np.float32)

    @property
    def _l2(self):
        """The L2 penalty in the loss: alpha, except for adamw, which decays the weights instead."""
        return 0.0 if self.solver == "adamw" else self.alpha

    def __sklearn_is_fitted__(self):
        return hasattr(self, "coefs_")

    # ------------------------------------------------------------------
    # fit: validate, encode, initialise, train

    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None, validation=None):
        """Validate and encode the data, initialise the network, train it.

        A call that raises before training starts (bad input, bad
        parameters, a validation set that does not fit) leaves the
        estimator exactly as it was; so does one that raises while training
        a fresh network (input that overflows it), so a model fitted before
        is not lost to a failed refit. (A network that goes on training,
        with warm_start or partial_fit, is reset to its weights at the start
        of the failing epoch, with a fresh optimizer, and keeps the epochs
        that ended.)
        """
        before = dict(self.__dict__)
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        try:
            prepared = self._prepare_fit(X, y, sample_weight, incremental, classes, validation, first_pass)
        except Exception:
            self._restore(before)
            raise
        try:
            self._train(*prepared, incremental)
        except Exception:
            if first_pass:
                self._restore(before)
            raise
        return self

    # set by scikit-learn's callback machinery during a fit, which tears them down after it
    _CALLBACK_STATE = ("_callback_fit_ctx", "_skl_callbacks_to_teardown")

    def _restore(self, before):
        """Put back the attributes a failed fit started with (the callbacks' own state stays)."""
        callback_state = {k: v for k, v in vars(self).items() if k in self._CALLBACK_STATE}
        self.__dict__.clear()
        self.__dict__.update(before)
        self.__dict__.update(callback_state)

    def _prepare_fit(self, X, y, sample_weight, incremental, classes, validation, first_pass):
        """Everything before the first update: checks, encoding, initialisation, the validation split.

        Returns (X, Y, y, sample_weight, validation, dropout rates, random_state).
        X is in its own namespace and on its device, where the network lives;
        Y, y and sample_weight are NumPy arrays on the host.
        """
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        hidden_layer_sizes = self._hidden_layer_sizes()
        dropout = self._dropout_rates(len(hidden_layer_sizes))  # bad rates refused before any work

        fitted_on = None if first_pass else seam.name(*self._namespace())
        X, y = seam.usable(X, "X", fitted_on), seam.usable(y, "y")
        sample_weight, classes = seam.usable(sample_weight, "sample_weight"), seam.usable(classes, "classes")
        xp, device = seam.namespace_of(X)
        X, y = self._validate_input(X, y, reset=first_pass, xp=xp)
        if not first_pass:
            self._check_same_namespace(X, "partial_fit" if incremental else "fit")
            # a network keeps the dtype it was created with
            X = X.astype(self.coefs_[0].dtype, copy=False) if xp is np else xp.astype(X, self.coefs_[0].dtype)
        with config_context(array_api_dispatch=False):  # the bookkeeping: NumPy, on the host
            Y = self._encode_targets(y, first_pass, incremental, seam.to_host(classes))
            if Y.dtype != bool:  # real-valued targets train in the dtype of X
                Y = Y.astype(seam.numpy_dtype(X.dtype), copy=False)
            sample_weight = self._training_weights(X, y, seam.to_host(sample_weight), incremental)
        if validation is not None:
            validation = self._validate_validation_set(*validation, dtype=X.dtype, xp=xp, device=device)
        layer_units = [X.shape[1], *hidden_layer_sizes, Y.shape[1]]
        random_state = check_random_state(self.random_state)

        if first_pass:
            self._initialize(Y, layer_units, X.dtype, random_state, xp, device)
            self._check_own_layers(X)
        elif self._layer_units() != layer_units or _described(self._own_layers()) != _described(self._layers_fitted()):
            raise ValueError(
                f"Cannot continue training: the fitted network has layer sizes "
                f"{self._layer_units()}, but the data and hidden_layer_sizes give "
                f"{layer_units}. Fit with warm_start=False to start a new network."
            )
        if self.early_stopping and validation is None and self.solver in STOCHASTIC_SOLVERS:
            # no validation set given: split one off (drawn after the initial weights)
            (X, Y, y, sample_weight), validation = _validation.split_off(
                X, Y, y, sample_weight, fraction=self.validation_fraction, stratify=self._stratify_labels(y),
                random_state=random_state, decode=self._decode_targets)
        return X, Y, y, sample_weight, validation, dropout, random_state

    def _train(self, X, Y, y, sample_weight, validation, dropout, random_state, incremental):
        """Train with the chosen solver, telling the callbacks; warn if it barely learned.

        Callbacks see X as given and the labels in X's namespace. L-BFGS
        trains on the host (NumPy, SciPy's L-BFGS-B): the data and the network
        go there once, and the fitted network back to X's namespace and
        device; not one copy per iteration.
        """
        n_epochs_before = len(self.loss_curve_)
        y_like_X = seam.like(y, X)
        callbacks, callback_metadata = self._begin_callbacks(X, y_like_X, sample_weight, incremental)
        stochastic = self.solver in STOCHASTIC_SOLVERS
        if stochastic:
            weighted = validation is not None and validation.sample_weight is not None
            scorer = _validation.resolve_scorer(self, self.scoring, weighted)
            StochasticTraining(self, X, Y, sample_weight, validation, scorer, dropout, random_state,
                               incremental, callbacks, callback_metadata, y_like_X).run()
        else:
            xp = seam.array_namespace(self._get_flat_params())
            device = None if xp is np else seam.device(self._get_flat_params())
            if xp is not np:  # to the host
                self._set_flat_params(seam.to_host(self._get_flat_params()), self._layer_units())
            try:
                fit_lbfgs(self, seam.to_host(X), Y, sample_weight)
            finally:
                if xp is not np:  # back where the input lives
                    self._set_flat_params(seam.to_device(self._get_flat_params(), xp, device),
                                          self._layer_units())
        if callbacks is not None:
            callbacks.call_on_fit_task_end(estimator=self, X=X, y=y_like_X, metadata=callback_metadata,
                                           reconstruction_attributes=self._reconstruction())
        if not incremental:
            _guards.warn_if_not_learned(self, Y, sample_weight, n_epochs_before, stochastic)

    def _training_weights(self, X, y, sample_weight, incremental):
        """The weight of each sample: ``sample_weight`` times the class weights, checked.

        Refused with a ValueError: negative, NaN or infinite weights, weights
        that are all zero, or whose sum overflows.
        """
        dtype = seam.numpy_dtype(X.dtype)  # the weights are NumPy arrays, X may be another library's
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=dtype, ensure_non_negative=True)
        class_weights = self._target_weights(y, incremental, sample_weight)
        if class_weights is None:
            if sample_weight is None:
                return None
            what = "sample_weight"
        else:  # class_weight multiplies sample_weight
            class_weights = class_weights.astype(dtype, copy=False)
            what = "class_weight" if sample_weight is None else "sample_weight times class_weight"
            with np.errstate(over="ignore"):
                sample_weight = class_weights if sample_weight is None else sample_weight * class_weights
        with np.errstate(over="ignore"):
            total = sample_weight.sum()  # in the training dtype, where every batch's sum must fit
        if not np.isfinite(total) or not np.isfinite(sample_weight).all():
            raise ValueError(
                f"The sample weights ({what}) are too large: their sum overflows "
                f"{dtype.name}. Rescale them, e.g. divide them by their mean."
            )
        if not total > 0:
            raise ValueError(
                f"The sample weights ({what}) sum to zero: at least one sample needs a positive weight."
            )
        return sample_weight

    def _validate_validation_set(self, X_val, y_val, sample_weight_val, dtype, xp=np, device=None):
        """The user's (X_val, y_val, sample_weight_val), checked like the training data, as a ValidationSet.

        X_val goes where X is (``xp``, ``device``); y_val and the weights stay
        NumPy arrays on the host.
        """
        X_val, y_val = seam.usable(X_val, "X_val"), seam.usable(y_val, "y_val")
        sample_weight_val = seam.usable(sample_weight_val, "sample_weight_val")
        X_val = seam.move(X_val, xp, device)  # everything follows X
        X_val = validate_data(self, X_val, accept_sparse=["csr", "csc"], dtype=dtype, reset=False)
        dtype = seam.numpy_dtype(dtype)
        y_val = np.asarray(seam.to_host(y_val))
        if y_val.ndim == 2 and y_val.shape[1] == 1:
            y_val = y_val.ravel()
        if len(y_val) != X_val.shape[0]:
            raise ValueError(f"X_val has {X_val.shape[0]} samples but y_val has {len(y_val)}.")
        Y_val = self._encode_validation_targets(y_val)
        if Y_val.dtype != bool:
            Y_val = Y_val.astype(dtype, copy=False)
        if sample_weight_val is not None:
            with config_context(array_api_dispatch=False):
                try:
                    sample_weight_val = _check_sample_weight(seam.to_host(sample_weight_val), X_val, dtype=dtype,
                                                             ensure_non_negative=True)
                except ValueError as exc:  # scikit-learn's words, which say "sample weights": which ones
                    raise ValueError(f"The validation set's weights (sample_weight_val) are not valid: {exc}") from exc
            _validation.check_weights(sample_weight_val, "sample_weight_val")
        if self.early_stopping and X_val.shape[0] < 2:  # as for the split: one sample has no R^2
            raise ValueError(
                f"X_val has {X_val.shape[0]} sample: early stopping compares validation scores, "
                "which need at least 2 samples (a regressor's R^2 is not defined for one). Pass a larger "
                "validation set."
            )
        return _validation.ValidationSet(X_val, Y_val, sample_weight_val, self._decode_targets)

    def _initialize(self, Y, layer_units, dtype, random_state, xp=np, device=None):
        """A fresh network (scikit-learn's initial weights) and fresh records of training.

        The weights are drawn by NumPy's ``random_state`` on the host, whatever
        the namespace, so a seed gives the same network on every device; they
        then move to ``xp`` on ``device``.
        """
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._output_activation(Y)
        self._layers = [(k, copy.deepcopy(layer)) for k, layer in self._own_layers()]  # as fitted
        network = self._network_of(layer_units).init(random_state, seam.numpy_dtype(dtype))
        self._set_flat_params(seam.to_device(network.params, xp, device), layer_units)
        self._optimizer = None
        self._best_params = None  # a copy of the weights, with early stopping
        self.loss_curve_ = []
        self._history = []  # rows of history_
        self._initial_loss = None  # the fresh network's loss, for the divergence guard
        self._n_steps = 0  # minibatches trained on, which the dropout masks depend on
        self._no_improvement_count = 0
        if self.early_stopping and self.solver in STOCHASTIC_SOLVERS:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf

    def _new_optimizer(self, params):
        """The optimizer the parameters ask for, over the flat vector ``params``."""
        schedule = dict(lr_schedule=self.learning_rate, power_t=self.power_t,
                        max_iter=self.max_iter, warmup_iter=self.warmup_iter)
        if self.solver == "sgd":
            return SGD(params, self.learning_rate_init, momentum=self.momentum,
                       nesterov=self.nesterovs_momentum, **schedule)
        adam = (params, self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon)
        if self.solver == "adamw":
            n_weights = self._network().n_penalised  # the weights come first; biases are not decayed
            return AdamW(*adam, weight_decay=self.alpha, decay=slice(0, n_weights), **schedule)
        return Adam(*adam, **schedule)

    def _validation_metrics(self, validation, scorer):
        """The epoch's (validation loss, validation score), the score as ``scoring`` asks."""
        loss, score = self._validation_loss_and_score(validation.X, validation.Y, validation.sample_weight)
        if np.isnan(score):  # the network overflows on the validation data
            return loss, score
        return loss, _validation.validation_score(scorer, self, validation, loss, score)

    # ------------------------------------------------------------------
    # scikit-learn's callback API

    def _begin_callbacks(self, X, y, sample_weight, incremental):
        """The callback context of this fit (scikit-learn >= 1.9) and its metadata, or (None, None).

        The fit is the root task and each epoch a subtask; a callback's
        ``on_fit_task_end`` returning True stops training after that epoch.
        """
        if not hasattr(self, "_init_callback_context") or not (
            getattr(self, "_skl_callbacks", None) or hasattr(self, "_parent_callback_ctx")
        ):
            return None, None
        n_epochs = 1 if incremental else self.max_iter
        context = self._init_callback_context(max_subtasks=n_epochs if self.solver in STOCHASTIC_SOLVERS else 0)
        # kept in the fit's locals, never on self: the caller's weights must not end up in pickles
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        context.call_on_fit_task_begin(estimator=self, X=X, y=y, metadata=metadata)
        return context, metadata

    def _reconstruction(self):
        """The fitted state as it is now, for callbacks that score the network."""
        xp = seam.array_namespace(self.coefs_[0])
        return {"coefs_": [seam.copy(xp, W) for W in self.coefs_],
                "intercepts_": [seam.copy(xp, b) for b in self.intercepts_]}

    # ------------------------------------------------------------------
    # Public

    @property
    def history_(self) -> pd.DataFrame:
        """Per-epoch training history, a DataFrame with one row per epoch (L-BFGS: iteration).

        Columns: ``epoch`` (counted over every fit, warm starts and
        ``partial_fit`` calls included), ``train_loss`` (``loss_curve_``),
        ``val_loss`` and ``val_score`` (only when a validation set was used),
        ``learning_rate`` (NaN for L-BFGS) and ``elapsed_s`` (seconds since
        that fit began).
        """
        check_is_fitted(self)
        return History(self._history).frame()

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None,
            X_val: MatrixLike | None = None, y_val: ArrayLike | None = None,
            sample_weight_val: ArrayLike | None = None) -> Self:
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data. float32 input trains in float32 (a DataFrame too,
            when ``np.result_type`` of its columns is float32), float64 input in
            float64; other numeric input is converted to float64.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values (class labels in classification).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights, non-negative with a positive sum.
        X_val, y_val : array-like, default=None
            A validation set (not in scikit-learn's MLP; the convention of
            HistGradientBoosting). With ``early_stopping=True`` it replaces the
            ``validation_fraction`` split; either way its loss and score go into
            ``history_`` every epoch. Stochastic solvers only. Inside a
            Pipeline, route it with metadata routing
            (``set_fit_request(X_val=True, y_val=True)``) and let the Pipeline
            transform it with ``transform_input=["X_val"]``.
        sample_weight_val : array-like of shape (n_val_samples,), default=None
            Weights of the validation samples.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        validation = self._validation_arguments(X_val, y_val, sample_weight_val)
        return self._fit(X, y, sample_weight=sample_weight, incremental=False, validation=validation)

    def _validation_arguments(self, X_val, y_val, sample_weight_val):
        """``fit``'s and ``partial_fit``'s validation arguments: None, or all three, checked in ``_fit``."""
        if (X_val is None) != (y_val is None):
            raise ValueError("X_val and y_val must be given together.")
        if X_val is None:
            if sample_weight_val is not None:
                raise ValueError("sample_weight_val was given without a validation set: pass X_val and y_val too.")
            return None
        if self.solver not in STOCHASTIC_SOLVERS:
            raise ValueError("A validation set (X_val, y_val) needs a stochastic solver.")
        return X_val, y_val, sample_weight_val

    def _check_solver(self):
        """``partial_fit`` exists for the stochastic solvers only (AttributeError otherwise)."""
        if self.solver not in STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. "
                f"{self.solver} is not stochastic."
            )
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.array_api_support = True
        return tags

