"""The scikit-learn estimators around the NumPy core in ``_network.py``.

This is where scikit-learn lives: parameter validation, input checks, label
encoding, the training loop, early stopping and the L-BFGS driver. The maths
of the network (forward, backward, optimizers) is in the modules this one
imports and never depends on scikit-learn.

The data's way through ``fit`` reads straight down::

    validate_data -> encode labels -> init params -> for each epoch: shuffle ->
    for each batch: forward -> loss -> backward -> optimizer step ->
    record history -> stopping rule
"""

import inspect
import time
import warnings
from abc import ABC, abstractmethod
from contextlib import ExitStack
from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.optimize
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning, InconsistentVersionWarning
from sklearn.metrics import check_scoring, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils import shuffle as shuffle_indices
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_is_fitted,
    column_or_1d,
    validate_data,
)
from threadpoolctl import threadpool_info, threadpool_limits

try:  # scikit-learn >= 1.9: the experimental callback API
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # older scikit-learn: no callbacks, everything else works

    class CallbackSupportMixin:
        """Stand-in for scikit-learn < 1.9, which has no callback API."""

from . import _network, _optimizers, _parallel
from ._activations import ACTIVATIONS
from ._losses import LOSSES
from ._optimizers import SGD, Adam, AdamW
from ._version import __version__

_STOCHASTIC_SOLVERS = ("sgd", "adam", "adamw")


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(x):
    """SplitMix64's finaliser: a bijective scramble of 64-bit integers (wraps mod 2^64)."""
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _row_keys(X, seed):
    """A 64-bit key per row, from its exact values: equal rows get equal keys."""
    rows = X.toarray() if hasattr(X, "toarray") else np.ascontiguousarray(X)
    bits = rows.view(np.uint32 if rows.dtype == np.float32 else np.uint64).astype(np.uint64)
    columns = _splitmix64(np.arange(rows.shape[1], dtype=np.uint64) + np.uint64(seed))
    with np.errstate(over="ignore"):
        return _splitmix64((bits * columns).sum(axis=1, dtype=np.uint64))  # sums wrap mod 2^64


def _hash_uniform(keys, units):
    """Uniform numbers in [0, 1), one per (key, unit), from the hashed pair."""
    with np.errstate(over="ignore"):
        hashed = _splitmix64(keys ^ _splitmix64(units))
    return (hashed >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _clip_norm(grads, max_norm):
    """Scale ``grads`` in place so that its Euclidean norm is at most ``max_norm``."""
    norm = np.sqrt(np.dot(grads, grads))
    if norm > max_norm:
        grads *= max_norm / norm


def _takes_sample_weight(function):
    """Whether ``function`` accepts a ``sample_weight`` keyword argument."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # no signature to read: do not risk a TypeError
        return False
    return any(p.name == "sample_weight" or p.kind is p.VAR_KEYWORD for p in parameters)


def _blas_threads():
    """The BLAS thread count in force here, e.g. 1 inside a joblib worker."""
    counts = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    return min(counts) if counts else None


class SkscratchVersionWarning(InconsistentVersionWarning):
    """A model pickled by another version of skscratch.

    A subclass of scikit-learn's ``InconsistentVersionWarning`` (its
    ``original_sklearn_version`` and ``current_sklearn_version`` attributes
    hold skscratch versions here), so that filters and handlers written for
    scikit-learn's warning catch it too.
    """

    def __str__(self):
        return (
            f"Trying to unpickle estimator {self.estimator_name} from skscratch version "
            f"{self.original_sklearn_version} when using skscratch version "
            f"{self.current_sklearn_version}. This might lead to breaking code or invalid "
            "results. Use at your own risk. To move a model between versions, save it with "
            "skscratch.save, whose format is versioned and checked on load."
        )


def _is_packed(arrays, flat):
    """True if ``arrays`` are consecutive C-contiguous views filling ``flat``."""
    offset = 0
    for a in arrays:
        if (
            a.base is not flat
            or not a.flags.c_contiguous
            or a.ctypes.data != flat.ctypes.data + offset * flat.itemsize
        ):
            return False
        offset += a.size
    return offset == flat.size


class BaseMLPScratch(CallbackSupportMixin, BaseEstimator, ABC):
    """Base class of the skscratch multi-layer perceptrons.

    Warning: do not use this class directly; use the derived estimators.
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu", "leaky_relu", "elu", "gelu"})],
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

    def __init__(self, **params):
        """Store the constructor's arguments as attributes, nothing else.

        A subclass lists every parameter in its own signature, which is what
        ``get_params`` reads, and passes them all here.
        """
        for name, value in params.items():
            setattr(self, name, value)

    # ------------------------------------------------------------------
    # What a subclass defines: targets, output layer and validation score.

    @abstractmethod
    def _validate_input(self, X, y, reset):
        """Validate X and y; return X (float32 or float64) and y."""

    @abstractmethod
    def _encode_targets(self, y, first_pass, incremental, classes=None):
        """Return the 2-D training targets Y and set the target encoding."""

    @abstractmethod
    def _output_activation(self, Y):
        """Name of the output activation (which also picks the loss)."""

    @abstractmethod
    def _validation_metrics(self, X, Y, sample_weight, scorer=None):
        """(data loss, score) of the current network on encoded validation targets Y."""

    def _stratify_labels(self, y):
        """Labels to stratify the early-stopping split on (from the validated y), or None."""
        return None

    def _target_weights(self, y, incremental, sample_weight):
        """Per-sample weights that y itself implies (class_weight), or None."""
        return None

    # ------------------------------------------------------------------
    # Parameters: one flat vector, with coefs_ and intercepts_ as views.

    def _layer_units(self):
        return [W.shape[0] for W in self.coefs_] + [self.coefs_[-1].shape[1]]

    def _set_flat_params(self, flat, layer_units):
        self._flat_params = flat
        self.coefs_, self.intercepts_ = _network.unpack(flat, layer_units)

    def _get_flat_params(self):
        """The flat parameter vector behind ``coefs_`` and ``intercepts_``.

        After unpickling, or when a user assigned new arrays to ``coefs_`` or
        ``intercepts_``, the arrays are packed again into one vector.
        """
        flat = getattr(self, "_flat_params", None)
        arrays = [*self.coefs_, *self.intercepts_]
        if flat is None or not _is_packed(arrays, flat):
            flat = np.concatenate([np.ravel(a) for a in arrays])
            self._set_flat_params(flat, self._layer_units())
        return flat

    def __getstate__(self):
        # a copy: on Python >= 3.11 BaseEstimator returns our own __dict__ itself
        state = dict(super().__getstate__())
        # coefs_ and intercepts_ hold the values; the vector is rebuilt on demand
        state.pop("_flat_params", None)
        # plain data only, so that skops.io trusts nothing of ours but this class
        if getattr(self, "_optimizer", None) is not None:
            state["_optimizer"] = _optimizers.to_state(self._optimizer)
        state["_skscratch_version"] = __version__
        return state

    def __setstate__(self, state):
        state = dict(state)
        saved_version = state.pop("_skscratch_version", "pre-0.1.0")
        if saved_version != __version__:
            warnings.warn(SkscratchVersionWarning(
                estimator_name=type(self).__name__,
                current_sklearn_version=__version__,
                original_sklearn_version=saved_version,
            ))  # fmt: skip
        if isinstance(state.get("_optimizer"), dict):
            state["_optimizer"] = _optimizers.from_state(state["_optimizer"])
        if isinstance(state.get("_best_params"), np.ndarray):  # writeable, even after mmap_mode="r"
            state["_best_params"] = np.array(state["_best_params"])
        super().__setstate__(state)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "coefs_")

    def _scorer(self, weighted=False):
        """None (the built-in score), "loss", or a scikit-learn scorer ``scorer(estimator, X, y)``.

        A scorer is passed ``sample_weight`` only if it takes it (scikit-learn's
        scorers do; a plain callable ``scorer(estimator, X, y)`` need not).
        ``weighted``: the validation set has weights, which a scorer that
        cannot take them ignores, with a warning.
        """
        if self.scoring is None or (isinstance(self.scoring, str) and self.scoring == "loss"):
            return self.scoring
        scorer = check_scoring(self, scoring=self.scoring)
        if _takes_sample_weight(scorer):
            return scorer
        if weighted:
            warnings.warn(
                f"The scoring callable {scorer!r} does not take sample_weight, so the "
                "validation score ignores the validation set's weights.",
                UserWarning,
            )
        return lambda estimator, X, y, sample_weight=None: scorer(estimator, X, y)

    def _score_validation(self, scorer, X, Y, sample_weight, loss, builtin_score):
        """The validation score that ``scoring`` asks for."""
        if scorer is None:
            return builtin_score
        if isinstance(scorer, str):  # "loss": greater is better, as for every score
            return -loss
        with warnings.catch_warnings():  # the split has no feature names; that is fine here
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            weights = {} if sample_weight is None else {"sample_weight": sample_weight}
            return float(scorer(self, X, self._decode_targets(Y), **weights))

    def _dropout_rates(self, n_hidden):
        """The dropout rate of each hidden layer."""
        rates = self.dropout
        rates = [float(rates)] * n_hidden if np.ndim(rates) == 0 else [float(r) for r in rates]
        if len(rates) != n_hidden or not all(0 <= r < 1 for r in rates):
            raise ValueError(
                f"dropout must be a rate in [0, 1) or one per hidden layer ({n_hidden}), "
                f"got {self.dropout!r}."
            )
        if any(rates) and self.solver not in _STOCHASTIC_SOLVERS:
            raise ValueError(
                f"dropout needs a stochastic solver (sgd, adam, adamw), not {self.solver!r}: "
                "L-BFGS's line search needs the same loss at every evaluation."
            )
        return rates

    def _dropout_masks(self, rates, units, X_batch, step, seed, dtype):
        """Inverted-dropout masks for a batch: 0, or 1 / (1 - rate) for the kept units.

        Each unit's draw is a hash of (the sample's values, the unit, the
        layer, the training step, a seed from ``random_state``), not a draw
        from a stream. So a sample seen twice in one step gets the same mask
        twice, and a sample of weight 2 trains exactly as two copies of it:
        ``sample_weight`` keeps its meaning under dropout.
        """
        if not any(rates):
            return None
        keys = _row_keys(X_batch, seed)
        masks = []
        for layer, (rate, n_units) in enumerate(zip(rates, units)):
            if rate == 0:
                masks.append(None)
                continue
            salt = np.uint64((step * 1_000_003 + layer * 7919 + 1) % 2**64)
            uniform = _hash_uniform(keys[:, None] ^ salt, np.arange(n_units, dtype=np.uint64))
            masks.append((uniform >= rate).astype(dtype) * dtype.type(1 / (1 - rate)))
        return masks

    def _hidden_layer_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        for size in sizes:
            if isinstance(size, bool) or not isinstance(size, Integral) or size < 1:
                raise ValueError(
                    "hidden_layer_sizes must hold positive integers, got "
                    f"{self.hidden_layer_sizes!r}."
                )
        return [int(size) for size in sizes]

    # ------------------------------------------------------------------
    # Training

    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None, validation=None):
        """Validate and encode the data, initialise the network, train it.

        A call that raises before training starts (bad input, bad
        parameters, a validation set that does not fit) leaves the
        estimator exactly as it was; so does one that raises while training
        a fresh network (input that overflows it), so a model fitted before
        is not lost to a failed refit. (A network that goes on training,
        with warm_start or partial_fit, is reset to its weights at the start
        of the failing epoch by the code that raises.)
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
        """Everything before the first update: checks, encoding, initialisation.

        Returns (X, Y, y, sample_weight, validation, random_state).
        """
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        hidden_layer_sizes = self._hidden_layer_sizes()
        self._dropout_rates(len(hidden_layer_sizes))  # refuse bad rates before any work

        X, y = self._validate_input(X, y, reset=first_pass)
        if not first_pass:
            # a network keeps the dtype it was created with
            X = X.astype(self.coefs_[0].dtype, copy=False)
        Y = self._encode_targets(y, first_pass, incremental, classes)
        if Y.dtype != bool:  # real-valued targets train in the dtype of X
            Y = Y.astype(X.dtype, copy=False)
        sample_weight = self._training_weights(X, y, sample_weight, incremental)
        if validation is not None:
            validation = self._validate_validation_set(*validation, dtype=X.dtype)
        layer_units = [X.shape[1], *hidden_layer_sizes, Y.shape[1]]
        random_state = check_random_state(self.random_state)

        if first_pass:
            self._initialize(Y, layer_units, X.dtype, random_state)
        elif self._layer_units() != layer_units:
            raise ValueError(
                f"Cannot continue training: the fitted network has layer sizes "
                f"{self._layer_units()}, but the data and hidden_layer_sizes give "
                f"{layer_units}. Fit with warm_start=False to start a new network."
            )
        if self.early_stopping and validation is None and self.solver in _STOCHASTIC_SOLVERS:
            # no validation set given: split one off (drawn after the initial weights)
            X, Y, sample_weight, validation, y = self._validation_split(X, Y, sample_weight, y, random_state)
        return X, Y, y, sample_weight, validation, random_state

    def _train(self, X, Y, y, sample_weight, validation, random_state, incremental):
        """Train with the chosen solver, telling the callbacks; warn if it barely learned."""
        n_epochs_before = len(self.loss_curve_)
        callbacks, callback_metadata = self._begin_callbacks(X, y, sample_weight, incremental)
        if self.solver in _STOCHASTIC_SOLVERS:
            self._fit_stochastic(X, Y, sample_weight, random_state, incremental, validation,
                                 callbacks, y, callback_metadata)
        else:
            self._fit_lbfgs(X, Y, sample_weight)
        if callbacks is not None:
            callbacks.call_on_fit_task_end(estimator=self, X=X, y=y, metadata=callback_metadata,
                                           reconstruction_attributes=self._reconstruction())
        if not incremental:
            self._warn_if_not_learned(Y, sample_weight, n_epochs_before)

    def _training_weights(self, X, y, sample_weight, incremental):
        """The weight of each sample: ``sample_weight`` times the class weights, checked.

        Refused with a ValueError: negative, NaN or infinite weights, weights
        that are all zero, or whose sum overflows.
        """
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=X.dtype, ensure_non_negative=True
            )
        class_weights = self._target_weights(y, incremental, sample_weight)
        if class_weights is None:
            if sample_weight is None:
                return None
            what = "sample_weight"
        else:  # class_weight multiplies sample_weight
            class_weights = class_weights.astype(X.dtype, copy=False)
            what = "class_weight" if sample_weight is None else "sample_weight times class_weight"
            with np.errstate(over="ignore"):
                sample_weight = class_weights if sample_weight is None else sample_weight * class_weights
        with np.errstate(over="ignore"):
            total = sample_weight.sum()  # in the training dtype, where every batch's sum must fit
        if not np.isfinite(total) or not np.isfinite(sample_weight).all():
            raise ValueError(
                f"The sample weights ({what}) are too large: their sum overflows "
                f"{X.dtype.name}. Rescale them, e.g. divide them by their mean."
            )
        if not total > 0:
            raise ValueError(
                f"The sample weights ({what}) sum to zero: at least one sample needs a "
                "positive weight."
            )
        return sample_weight

    # Warnings after a fit whose network did not really learn. The yardstick
    # is the best constant prediction: the class frequencies for a
    # classifier, the mean target for a regressor.
    NOT_LEARNED = 0.9  # loss above this fraction of the constant's: barely learned
    POOR = 0.75  # loss above this fraction of the constant's...
    UNSTABLE_RISE = 1.05  # ...and this much above its best: unstable

    def _warn_if_not_learned(self, Y, sample_weight, n_epochs_before):
        """Warn when the network predicts barely better than a constant would."""
        baseline = self._constant_prediction_loss(Y, sample_weight)
        loss = getattr(self, "loss_", np.nan)
        if not (np.isfinite(loss) and baseline > 0):
            return
        if self.out_activation_ in ("softmax", "logistic") and baseline < 0.01:
            return  # (nearly) one class: no yardstick, the L2 term alone is larger
        constant = "class frequencies" if self.out_activation_ in ("softmax", "logistic") else "mean target"
        curve = self.loss_curve_[n_epochs_before:]
        if loss > self.NOT_LEARNED * baseline:
            warnings.warn(
                f"The network has barely learned: its training loss ended at {loss:.4g}, "
                f"against {baseline:.4g} for always predicting the {constant}. If the loss "
                f"rose or oscillated (see loss_curve_), lower learning_rate_init (now "
                f"{self.learning_rate_init}); if it fell slowly, raise max_iter.",
                ConvergenceWarning,
            )
        elif (
            self.solver in _STOCHASTIC_SOLVERS and not self.early_stopping and len(curve) > 1
            and loss > self.POOR * baseline and loss > self.UNSTABLE_RISE * min(curve)
        ):  # fmt: skip
            best = int(np.argmin(curve))
            warnings.warn(
                f"Training became unstable: the loss ended at {loss:.4g}, above the "
                f"{curve[best]:.4g} it reached in epoch {n_epochs_before + best + 1} and "
                f"not far below the {baseline:.4g} of always predicting the {constant}. "
                f"Lower learning_rate_init (now {self.learning_rate_init}).",
                ConvergenceWarning,
            )

    def _constant_prediction_loss(self, Y, sample_weight):
        """The loss of the best constant prediction (its logits: the inverse link of mean Y)."""
        if Y.shape[0] < 2:
            return np.nan
        mean = np.average(Y, axis=0, weights=sample_weight)
        log = lambda m: np.log(np.clip(m, np.finfo(np.float64).eps, None))  # noqa: E731
        inverse_link = {
            "softmax": log,
            "logistic": lambda m: log(m) - log(1 - m),
            "identity": lambda m: m,
            "exp": log,
        }[self.out_activation_]
        Z = np.broadcast_to(inverse_link(mean), Y.shape).astype(np.float64)
        return float(np.average(LOSSES[self.out_activation_](Y, Z), weights=sample_weight))

    def _initialize(self, Y, layer_units, dtype, random_state):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._output_activation(Y)
        flat = _network.init_params(layer_units, self.activation, random_state, dtype)
        self._set_flat_params(flat, layer_units)
        self._optimizer = None
        self._best_params = None  # a copy of the weights, with early stopping
        self.loss_curve_ = []
        self._history = []  # rows of history_
        self._initial_loss = None  # the fresh network's loss, for the divergence guard
        self._n_steps = 0  # minibatches trained on, which the dropout masks depend on
        self._no_improvement_count = 0
        if self.early_stopping and self.solver in _STOCHASTIC_SOLVERS:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf

    def _new_optimizer(self, params):
        schedule = dict(lr_schedule=self.learning_rate, power_t=self.power_t,
                        max_iter=self.max_iter, warmup_iter=self.warmup_iter)
        if self.solver == "sgd":
            return SGD(params, self.learning_rate_init, momentum=self.momentum,
                       nesterov=self.nesterovs_momentum, **schedule)
        adam = (params, self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon)
        if self.solver == "adamw":
            n_weights = sum(W.size for W in self.coefs_)  # biases are not decayed
            return AdamW(*adam, weight_decay=self.alpha, decay=slice(0, n_weights), **schedule)
        return Adam(*adam, **schedule)

    @property
    def _l2(self):
        """The L2 penalty in the loss: alpha, except for adamw, which decays the weights instead."""
        return 0.0 if self.solver == "adamw" else self.alpha

    def _loss_and_gradients(self, X, Y, sample_weight, grads, alpha=None, normalizer=None,
                            dropout_masks=None):
        """Loss and gradient at the current weights; ``grads`` is flat or (coef, intercept) views."""
        if isinstance(grads, np.ndarray):
            grads = _network.unpack(grads, self._layer_units())
        return _network.loss_and_gradients(
            X, Y, self.coefs_, self.intercepts_, *grads,
            self.activation, self.out_activation_,
            self._l2 if alpha is None else alpha, sample_weight, normalizer, dropout_masks,
        )  # fmt: skip

    def _batch_loss_and_gradients(self, X, Y, rows, sample_weight, shards, masks=None):
        """Loss and gradient of the batch ``X[rows]``, its rows split over threads.

        ``shards`` holds one flat gradient vector and its views per thread.
        Each thread takes a contiguous share of the rows, normalised by the
        whole batch's S, so the shards' gradients add up to the batch's data
        gradient; the L2 penalty is added once, in the summing pass. The
        result is in ``shards[0]``.
        """
        if len(shards) == 1:
            return self._loss_and_gradients(X[rows], Y[rows], sample_weight, shards[0][1],
                                            dropout_masks=masks)
        if isinstance(rows, slice):
            rows = np.arange(X.shape[0])[rows]
        S = len(rows) if sample_weight is None else sample_weight.sum()
        bounds = np.linspace(0, len(rows), len(shards) + 1).astype(int)

        def shard(k):
            part = slice(bounds[k], bounds[k + 1])  # of the batch's rows and weights
            sw = None if sample_weight is None else sample_weight[part]
            X_part, Y_part = X[rows[part]], Y[rows[part]]
            masks_part = None if masks is None else [m if m is None else m[part] for m in masks]
            return self._loss_and_gradients(X_part, Y_part, sw, shards[k][1], 0.0, S, masks_part)

        losses = _parallel.map_threads(shard, list(range(len(shards))))

        # sum the shards, and add the L2 penalty (alpha / S) W in the same
        # parallel pass; the weights are the first n_weights entries of the vector
        total, params = shards[0][0], self._get_flat_params()
        n_weights = sum(W.size for W in self.coefs_)
        squared_norms = {}

        def add(chunk):
            for grads, _ in shards[1:]:
                total[chunk] += grads[chunk]
            if self._l2 and chunk.start < n_weights:
                W = params[chunk.start : min(chunk.stop, n_weights)]
                total[chunk.start : chunk.start + W.size] += (self._l2 / S) * W
                squared_norms[chunk.start] = np.dot(W, W)

        _parallel.for_each_chunk(add, total.size)
        # summed in a fixed order, so the loss does not depend on thread timing
        squared_norm = sum(squared_norms[start] for start in sorted(squared_norms))
        return sum(losses) + 0.5 * self._l2 * squared_norm / S

    def _check_input_is_to_blame(self, last_good, X, Y, sample_weight):
        """A batch's loss in the first epoch is not finite: is the input to blame?

        The weights this call started with are restored. If the batch's loss
        is not finite even with them, the input overflows the network (or
        those weights were not finite): a ValueError that names the culprit.
        Otherwise the weights diverged during this epoch, which the caller
        handles. (In a later epoch every sample has passed through the
        network before, so a non-finite loss there is always divergence.)
        """
        params = self._get_flat_params()
        np.copyto(params, last_good)
        loss = self._loss_and_gradients(X, Y, sample_weight, np.empty_like(params))
        if not np.isfinite(loss):
            self._optimizer = None
            self._raise_non_finite(loss, X, Y, sample_weight, last_good)

    # scikit-learn's words for a fit that cannot be done in floating point;
    # its tests (and code written against them) match on them
    NON_FINITE = ("Solver produced non-finite parameter weights. The input data may contain "
                  "large values and need to be preprocessed.")

    def _raise_non_finite(self, loss, X, Y, sample_weight, params):
        """The loss at the starting weights ``params``, which the network holds, is not finite.

        Raise a ValueError that says which input is to blame. Each term of
        the loss is computed in turn: the forward pass (X), the
        per-sample losses (the targets y), their weighted sum (the sample
        and class weights), the L2 penalty (alpha). The first that is not
        finite is named.
        """
        if not np.isfinite(params).all():
            raise ValueError(
                f"The network's weights contain NaN or infinity (loss = {loss}). "
                "Fit with warm_start=False to start from fresh weights."
            )
        coefs, _ = _network.unpack(params, self._layer_units())
        dtype = params.dtype.name
        loss_of = LOSSES[self.out_activation_]
        with np.errstate(all="ignore"):
            Z = self._logits(X, check_input=False, check_finite=False)
            losses = loss_of(Y, Z)
            # which side overflows the loss: the network's output, or the targets?
            output_overflows = not np.isfinite(loss_of(np.zeros_like(Y), Z)).all()
            weighted = losses.sum() if sample_weight is None else np.dot(losses, sample_weight)
            squared_norm = sum(np.dot(W.ravel(), W.ravel()) for W in coefs)
            penalty = 0.5 * self._l2 * squared_norm
        if not np.isfinite(Z).all() or output_overflows or (not np.isfinite(losses).all() and Y.dtype == bool):
            culprit = (f"X has values too large for this network (largest |x| = {abs(X).max():.3g}) "
                       f"and the forward pass overflows {dtype}. Scale X first, e.g. with StandardScaler.")
        elif not np.isfinite(losses).all():
            culprit = (f"the targets y are too large (largest |y| = {np.abs(Y).max():.3g}): the loss "
                       f"overflows {dtype}. Scale y first, e.g. with sklearn.compose."
                       "TransformedTargetRegressor(transformer=StandardScaler()).")
        elif not np.isfinite(weighted):
            culprit = (f"the sample weights are too large (largest {sample_weight.max():.3g}): the "
                       f"weighted loss overflows {dtype}. Divide sample_weight (or class_weight) "
                       "by its mean.")
        elif not np.isfinite(penalty):
            raise ValueError(
                f"The loss is {loss} before any update: alpha={self.alpha:g} is so large that "
                f"the L2 penalty overflows {dtype}. Use a smaller alpha."
            )
        elif sample_weight is not None:  # finite terms, but divided by a tiny S they overflow
            culprit = (f"the sample weights are too small (they sum to {sample_weight.sum():.3g}): "
                       f"the loss, divided by their sum, overflows {dtype}. Divide sample_weight "
                       "(or class_weight) by its mean.")
        else:
            culprit = "X or y overflows the network."
        raise ValueError(f"{self.NON_FINITE} The loss is {loss} before any update: {culprit}")

    def _objective(self, X, Y, sample_weight):
        """The loss J of the current weights on all of (X, Y), computed in chunks of rows.

        Each chunk's share is normalised by the whole data's S, and the L2
        penalty is added once, so the chunks add up to J (as the threads'
        shards of a batch do).
        """
        params = self._get_flat_params()
        grads = np.empty_like(params)
        S = X.shape[0] if sample_weight is None else sample_weight.sum()
        loss, alpha = 0.0, self._l2
        for rows in gen_batches(X.shape[0], 4096):
            sw = None if sample_weight is None else sample_weight[rows]
            loss += self._loss_and_gradients(X[rows], Y[rows], sw, grads, alpha, S)
            alpha = 0.0
        return float(loss)

    def _validation_split(self, X, Y, sample_weight, y, random_state):
        """Hold out ``validation_fraction`` of the data for early stopping.

        Stratified by class where the targets have classes (multilabel
        targets excepted). Returns the training part (X, Y, sample_weight),
        the validation part (X_val, Y_val, sample_weight_val), and y's
        training part.
        """
        if self.validation_fraction == 0:
            raise ValueError("early_stopping=True needs validation_fraction > 0.")
        arrays = (X, Y, y) if sample_weight is None else (X, Y, y, sample_weight)
        stratify = self._stratify_labels(y)
        try:
            parts = train_test_split(*arrays, stratify=stratify, random_state=random_state,
                                     test_size=self.validation_fraction)
        except ValueError as error:
            if stratify is None:
                raise
            # train_test_split's own words first, as scikit-learn's MLP reports them
            raise ValueError(
                f"{error} (The early-stopping validation split is stratified by class: "
                "give every class at least 2 samples, or pass X_val and y_val to fit, "
                "or set early_stopping=False.)"
            ) from error
        X_train, X_val, Y_train, Y_val, y_train = parts[:5]
        sw_train, sw_val = parts[6:8] if sample_weight is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        if sw_train is not None and not sw_train.sum() > 0:
            raise ValueError(
                "After the early-stopping split, the training part has sample weights that "
                "sum to zero: nothing is left to train on. Give more samples a positive "
                "weight, or pass X_val and y_val to fit."
            )
        return X_train, Y_train, sw_train, (X_val, Y_val, sw_val), y_train

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
        context = self._init_callback_context(max_subtasks=n_epochs if self.solver in _STOCHASTIC_SOLVERS else 0)
        # kept in the fit's locals, never on self: the caller's weights must not end up in pickles
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        context.call_on_fit_task_begin(estimator=self, X=X, y=y, metadata=metadata)
        return context, metadata

    def _reconstruction(self):
        """The fitted state as it is now, for callbacks that score the network."""
        return {"coefs_": [W.copy() for W in self.coefs_],
                "intercepts_": [b.copy() for b in self.intercepts_]}

    def _validate_validation_set(self, X_val, y_val, sample_weight_val, dtype):
        """X_val, encoded Y_val and their weights, checked like the training data."""
        X_val = validate_data(self, X_val, accept_sparse=["csr", "csc"], dtype=dtype, reset=False)
        y_val = np.asarray(y_val)
        if y_val.ndim == 2 and y_val.shape[1] == 1:
            y_val = y_val.ravel()
        if len(y_val) != X_val.shape[0]:
            raise ValueError(f"X_val has {X_val.shape[0]} samples but y_val has {len(y_val)}.")
        Y_val = self._encode_validation_targets(y_val)
        if Y_val.dtype != bool:
            Y_val = Y_val.astype(dtype, copy=False)
        if sample_weight_val is not None:
            sample_weight_val = _check_sample_weight(sample_weight_val, X_val, dtype=dtype,
                                                     ensure_non_negative=True)
        return X_val, Y_val, sample_weight_val

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than "
                "sample size. It is going to be clipped"
            )
        return int(np.clip(self.batch_size, 1, n_samples))

    def _gradient_shards(self, X, batch_size, params):
        """Per thread: a flat gradient vector and its per-layer views; and a context for the threads."""
        n_threads = 1 if issparse(X) else _parallel.n_threads_for(batch_size, params.size)
        if n_threads > 1:  # respect a BLAS thread limit set around us (joblib, threadpoolctl)
            n_threads = _parallel.n_threads_for(batch_size, params.size, _blas_threads())
        shards = []
        for _ in range(n_threads):
            flat_grads = np.empty_like(params)
            shards.append((flat_grads, _network.unpack(flat_grads, self._layer_units())))
        threads = ExitStack()
        if n_threads > 1:  # our threads split each batch; BLAS then runs one per call
            threads.enter_context(threadpool_limits(1, user_api="blas"))
        threads.enter_context(_parallel.using_threads(n_threads))
        # overflow is caught as a non-finite loss and reported as divergence
        threads.enter_context(np.errstate(over="ignore", invalid="ignore"))
        return shards, threads

    def _fit_stochastic(self, X, Y, sample_weight, random_state, incremental, validation=None,
                        callbacks=None, y=None, callback_metadata=None):
        scorer = self._scorer(weighted=validation is not None and validation[2] is not None)
        params = self._get_flat_params()
        if not incremental or self._optimizer is None:
            self._optimizer = self._new_optimizer(params)
        if self.early_stopping:
            if self.validation_scores_ is None:  # warm start after a fit without it
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
                self.best_loss_ = None
            if self._best_params is None:
                self._best_params = params.copy()
        elif self.best_loss_ is None:  # warm start after a fit with early stopping
            self.best_loss_ = np.inf

        n_samples = X.shape[0]
        batch_size = self._batch_size(n_samples)
        shards, threads = self._gradient_shards(X, batch_size, params)
        grads = shards[0][0]
        sample_idx = np.arange(n_samples)
        last_good = params.copy()  # weights at the start of the current epoch
        started = time.perf_counter()
        hidden_units = self._layer_units()[1:-1]
        dropout = self._dropout_rates(len(hidden_units))
        dropout_seed = random_state.randint(2**31) if any(dropout) else 0
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                if self.shuffle:
                    sample_idx = shuffle_indices(sample_idx, random_state=random_state)
                np.copyto(last_good, params)
                epoch_context = None
                if callbacks is not None:  # each epoch is a subtask
                    epoch_context = callbacks.subcontext(task_name="epoch")
                    epoch_context.call_on_fit_task_begin(estimator=self, X=X, y=y,
                                                         metadata=callback_metadata)
                # the epoch's loss: the mean of the batches' losses, each weighted by
                # its samples' total weight (batches of weight 0 are skipped)
                accumulated_loss, trained_weight = 0.0, 0.0
                for batch in gen_batches(n_samples, batch_size):
                    idx = sample_idx[batch] if self.shuffle else batch
                    sw_batch = None if sample_weight is None else sample_weight[idx]
                    batch_weight = batch.stop - batch.start if sw_batch is None else float(sw_batch.sum())
                    if not batch_weight > 0:
                        continue  # samples of weight 0 teach nothing
                    # forward, loss and backward
                    masks = self._dropout_masks(dropout, hidden_units, X[idx], self._n_steps,
                                                dropout_seed, params.dtype)
                    self._n_steps += 1
                    batch_loss = self._batch_loss_and_gradients(X, Y, idx, sw_batch, shards, masks)
                    if not np.isfinite(batch_loss):
                        if self.n_iter_ == 0:  # later epochs saw every sample pass
                            self._check_input_is_to_blame(last_good, X[idx], Y[idx], sw_batch)
                        accumulated_loss = batch_loss  # the weights diverged
                        break
                    if self._initial_loss is None:
                        self._initial_loss = batch_loss
                    accumulated_loss += batch_loss * batch_weight
                    trained_weight += batch_weight
                    # update
                    if self.max_grad_norm is not None:
                        _clip_norm(grads, self.max_grad_norm)
                    self._optimizer.update_params(params, grads)

                # record history
                loss = float(accumulated_loss) / trained_weight if trained_weight else float(accumulated_loss)
                if self._has_diverged(loss, params):
                    self._diverged(params, last_good, loss)
                    break
                self.n_iter_ += 1
                self.loss_ = loss
                self.t_ += n_samples
                self.loss_curve_.append(loss)
                val_loss, val_score = (
                    self._validation_metrics(*validation, scorer) if validation else (None, None)
                )
                self._record(loss, val_loss, val_score, self._optimizer.rate, started)
                if self.verbose:
                    print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
                if epoch_context is not None and epoch_context.call_on_fit_task_end(
                    estimator=self, X=X, y=y, metadata=callback_metadata,
                    reconstruction_attributes=self._reconstruction(),
                ):  # fmt: skip
                    break  # a callback asked to stop
                if self._should_stop(val_score, incremental):
                    break
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        finally:
            threads.close()

        if self.n_iter_ == 0:  # no epoch completed: loss_ is that of the weights kept
            with np.errstate(over="ignore", invalid="ignore"):
                loss = self._objective(X, Y, sample_weight)
            if not np.isfinite(loss):  # some samples overflow even the weights kept
                self._raise_non_finite(loss, X, Y, sample_weight, params)
            self.loss_ = loss
        if self.early_stopping:
            np.copyto(params, self._best_params)  # restore the best weights

    def _should_stop(self, val_score, incremental):
        """The stopping rule, after an epoch: no improvement for n_iter_no_change epochs, or max_iter."""
        self._update_no_improvement_count(val_score)
        self._optimizer.iteration_ends(self.t_)
        if self._no_improvement_count > self.n_iter_no_change:
            if self.early_stopping:
                msg = (
                    "Validation score did not improve more than "
                    "tol=%f for %d consecutive epochs." % (self.tol, self.n_iter_no_change)
                )
            else:
                msg = (
                    "Training loss did not improve more than tol=%f"
                    " for %d consecutive epochs." % (self.tol, self.n_iter_no_change)
                )
            if self._optimizer.trigger_stopping(msg, self.verbose):
                return True
            self._no_improvement_count = 0
        if incremental:
            return True
        if self.n_iter_ == self.max_iter and self.learning_rate != "cosine":
            warnings.warn(
                "Stochastic Optimizer: Maximum iterations (%d) reached and "
                "the optimization hasn't converged yet." % self.max_iter,
                ConvergenceWarning,
            )
        return False

    # the divergence guard: a loss this many times the fresh network's is a blow-up
    DIVERGENCE_FACTOR = 10.0

    def _has_diverged(self, loss, params):
        if not (np.isfinite(loss) and np.isfinite(params).all()):
            return True
        return self._initial_loss is not None and loss > self.DIVERGENCE_FACTOR * self._initial_loss

    def _diverged(self, params, last_good, loss):
        """Training blew up: restore the last good weights and say so."""
        np.copyto(params, last_good)
        self._optimizer = None  # its moments saw the blow-up: start afresh
        if np.isfinite(loss):
            cause = (
                f"became {loss:.4g}, more than {self.DIVERGENCE_FACTOR:g} times the "
                f"freshly initialised network's {self._initial_loss:.4g}"
            )
        else:
            cause = f"became {loss}"
        warnings.warn(
            f"Training diverged in epoch {self.n_iter_ + 1}: the training loss "
            f"{cause}. The weights from the end of epoch {self.n_iter_} were "
            f"restored. Try a smaller learning_rate_init (now {self.learning_rate_init}).",
            ConvergenceWarning,
        )

    def _record(self, train_loss, val_loss, val_score, learning_rate, started):
        """One row of history_."""
        row = {"epoch": len(self._history) + 1, "train_loss": train_loss}
        if val_loss is not None:
            row.update(val_loss=val_loss, val_score=val_score)
        row.update(learning_rate=learning_rate, elapsed_s=time.perf_counter() - started)
        self._history.append(row)

    @property
    def history_(self):
        """Per-epoch training history as a DataFrame (see the class docstring)."""
        check_is_fitted(self)
        columns = ["epoch", "train_loss", "val_loss", "val_score", "learning_rate", "elapsed_s"]
        frame = pd.DataFrame(self._history, columns=columns)
        if frame["val_loss"].isna().all():  # no validation data was ever used
            frame = frame.drop(columns=["val_loss", "val_score"])
        return frame

    def _update_no_improvement_count(self, score):
        if self.early_stopping:
            self.validation_scores_.append(score)
            if self.verbose:
                print("Validation score: %f" % score)
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                np.copyto(self._best_params, self._get_flat_params())
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    def _fit_lbfgs(self, X, Y, sample_weight):
        """Full-batch L-BFGS-B (SciPy), recording each iteration's loss.

        Should the line search step to weights whose loss is not finite
        (extreme alpha or targets), the last finite iterate is kept, with a
        ConvergenceWarning: loss_ is never NaN.
        """
        started = time.perf_counter()
        params = self._get_flat_params()
        grads = np.empty_like(params)
        # the last finite iterate (the start until the first iteration): (loss, weights)
        kept = {"loss": None, "params": params.copy(), "iterations": 0}

        def loss_and_grad(packed):
            params[...] = packed
            loss = self._loss_and_gradients(X, Y, sample_weight, grads)
            if kept["loss"] is None:  # the first evaluation, at the starting weights
                if not np.isfinite(loss):
                    self._raise_non_finite(loss, X, Y, sample_weight, kept["params"])
                kept["loss"] = float(loss)
            return float(loss), grads.astype(np.float64)

        def record(intermediate_result):
            # called once per L-BFGS iteration (SciPy >= 1.11 passes the result)
            loss = float(intermediate_result.fun)
            if not (np.isfinite(loss) and np.isfinite(intermediate_result.x).all()):
                return
            kept.update(loss=loss, params=intermediate_result.x.astype(params.dtype),
                        iterations=kept["iterations"] + 1)
            self.loss_curve_.append(loss)
            self._record(loss, None, None, np.nan, started)
            if self.verbose:
                print("Iteration %d, loss = %.8f" % (len(self.loss_curve_), loss))

        result = scipy.optimize.minimize(
            loss_and_grad,
            params.astype(np.float64),
            method="L-BFGS-B",
            jac=True,
            callback=record,
            options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol},
        )
        params[...] = result.x
        self.n_iter_ = min(result.nit, self.max_iter)
        self.loss_ = float(result.fun)
        if not (np.isfinite(self.loss_) and np.isfinite(params).all()):
            params[...] = kept["params"]
            self.n_iter_, self.loss_ = kept["iterations"], kept["loss"]
            warnings.warn(
                f"L-BFGS stepped to weights where the loss is {result.fun} ({result.message}); "
                f"the weights of its last finite iterate ({self.n_iter_}, loss {self.loss_:.4g}) "
                "were kept. The input data may contain large values and need to be "
                f"preprocessed, or alpha (now {self.alpha:g}) may be too large.",
                ConvergenceWarning,
            )
        self.best_loss_ = min(self.loss_curve_ or [self.loss_])
        if result.status != 0 and np.isfinite(result.fun):
            message = (
                f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                f"(status={result.status}):\n{result.message}\n"
            )
            if self.n_iter_ == self.max_iter:
                message += (
                    "\nIncrease the number of iterations to improve the "
                    f"convergence (max_iter={self.max_iter})."
                )
            warnings.warn(message, ConvergenceWarning)

    # ------------------------------------------------------------------
    # Prediction

    def _input_dtype(self):
        """The dtype(s) validate_data may return for X."""
        return (np.float64, np.float32) if self.dtype is None else np.dtype(self.dtype)

    def _logits(self, X, check_input=True, check_finite=True):
        """The output layer's pre-activation Z_L for X, shape (n_samples, n_outputs)."""
        if check_input:
            X = validate_data(
                self, X, accept_sparse=["csr", "csc"], dtype=self._input_dtype(), reset=False
            )
        Z = _network.forward(X, self.coefs_, self.intercepts_, self.activation, "identity")[-1]
        if check_finite and not np.isfinite(Z).all():
            if not all(np.isfinite(a).all() for a in [*self.coefs_, *self.intercepts_]):
                raise ValueError(
                    "The model's weights contain NaN or infinity, so it cannot "
                    "predict. Fit it again."
                )
            raise ValueError(
                "The forward pass overflowed: X has values too large for this "
                f"network (largest |x| = {abs(X).max():.3g}). Scale the input "
                "the way the training data was scaled."
            )
        return Z

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None, sample_weight_val=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data. float32 input trains in float32, float64 input in
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
        if (X_val is None) != (y_val is None):
            raise ValueError("X_val and y_val must be given together.")
        validation = None
        if X_val is not None:
            if self.solver not in _STOCHASTIC_SOLVERS:
                raise ValueError("A validation set (X_val, y_val) needs a stochastic solver.")
            validation = (X_val, y_val, sample_weight_val)
        return self._fit(X, y, sample_weight=sample_weight, incremental=False, validation=validation)

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. "
                f"{self.solver} is not stochastic."
            )
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


# The parameters and most fitted attributes are the same for both estimators:
# written once here, and put into each class docstring below.
_PARAMETERS_DOC = """    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of neurons in the ith hidden layer.
    activation : {"identity", "logistic", "tanh", "relu", "leaky_relu", "elu", "gelu"}, \
            default="relu"
        Activation of the hidden layers: f(x) = x, 1 / (1 + exp(-x)),
        tanh(x) or max(0, x), as in scikit-learn; and, beyond it,
        "leaky_relu" max(x, 0.01 x), "elu" (x if x > 0 else exp(x) - 1) and
        "gelu" x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
    solver : {"lbfgs", "sgd", "adam", "adamw"}, default="adam"
        "lbfgs" is SciPy's quasi-Newton L-BFGS-B on the full batch; "sgd" is
        stochastic gradient descent with momentum; "adam" is Adam. Adam suits
        thousands of samples or more; L-BFGS often wins on small data.
        "adamw" (not in scikit-learn) is Adam with decoupled weight decay
        (Loshchilov & Hutter, 2019): instead of adding the L2 term to the
        loss, each step shrinks the weights (not the biases) by
        ``learning_rate_init * alpha``. Its decay strength is ``alpha``, whose
        useful range there is about 1e-3 to 1e-1 (PyTorch's default is 1e-2).
    alpha : float, default=0.0001
        Strength of the L2 penalty, ``alpha / (2 S) * sum ||W||^2``, where S is
        the sum of the sample weights of the batch (its size when unweighted).
        With ``solver="adamw"``, the strength of the decoupled weight decay.
    batch_size : int or "auto", default="auto"
        Minibatch size for the stochastic solvers; "auto" is
        ``min(200, n_samples)``. L-BFGS uses the full batch.
    learning_rate : {"constant", "invscaling", "adaptive", "cosine"}, default="constant"
        Learning-rate schedule: constant; divided by ``(t + 1) ** power_t``
        where t counts the samples seen; divided by 5 each time training stops
        improving by ``tol``; or (not in scikit-learn) "cosine", annealed from
        ``learning_rate_init`` to 0 over ``max_iter`` epochs as
        ``(1 + cos(pi * epoch / max_iter)) / 2``. New behaviour: the schedule
        applies to "sgd", "adam" and "adamw" alike, where scikit-learn applies
        it to "sgd" only (with the default "constant" nothing differs).
        A cosine schedule that runs all ``max_iter`` epochs has finished by
        design, so it raises no ConvergenceWarning.
    learning_rate_init : float, default=0.001
        Initial learning rate of "sgd" and "adam".
    power_t : float, default=0.5
        Exponent of the "invscaling" schedule.
    max_iter : int, default=200
        Maximum number of epochs (stochastic solvers) or iterations (L-BFGS).
    shuffle : bool, default=True
        Whether to shuffle the samples in each epoch (stochastic solvers).
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, the early-stopping split and the
        shuffling. The same seed draws the same initial weights as
        scikit-learn's MLP.
    tol : float, default=1e-4
        Training stops when the loss (or validation score) has not improved by
        at least ``tol`` for ``n_iter_no_change`` consecutive epochs. For
        L-BFGS it is the gradient tolerance.
    verbose : bool, default=False
        Print one line per epoch to stdout.
    warm_start : bool, default=False
        Reuse the previous solution as the starting point of ``fit``.
    momentum : float, default=0.9
        Momentum of "sgd", in [0, 1].
    nesterovs_momentum : bool, default=True
        Whether "sgd" uses Nesterov's momentum.
    early_stopping : bool, default=False
        Set aside ``validation_fraction`` of the training data, stop when the
        score on it (accuracy for a classifier, R^2 for a regressor) stops
        improving, and restore the best weights. A classifier's split is
        stratified by class (not for multilabel targets). Stochastic solvers
        only.
    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping.
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of Adam's first and second moment estimates, in [0, 1).
    epsilon : float, default=1e-8
        Adam's numerical-stability term.
    n_iter_no_change : int, default=10
        Epochs without ``tol`` improvement before stopping (stochastic solvers).
    max_fun : int, default=15000
        Maximum number of loss evaluations of L-BFGS.
    dtype : {"float32", "float64"} or None, default=None
        The floating-point type the network trains and predicts in. None
        follows the input, as scikit-learn does: float32 input trains in
        float32, anything else in float64. "float32" halves memory and about
        halves training time, even behind a float64 step such as
        StandardScaler. (Not in scikit-learn.)"""

_ATTRIBUTES_DOC = """    loss_ : float
        The loss (data loss plus L2 penalty) of the last epoch (L-BFGS
        iteration): ``loss_curve_[-1]``. An epoch's loss is the mean of its
        minibatches' losses, weighted by their total sample weight. If the
        last fit completed no epoch (it diverged in its first, or was
        interrupted), ``n_iter_`` is 0 and ``loss_`` is the loss of the
        weights kept, over all the training data. Always finite.
    best_loss_ : float or None
        The lowest training loss reached; None with early stopping.
    loss_curve_ : list of float
        The training loss after each epoch (each L-BFGS iteration).
    validation_scores_ : list of float or None
        The score (accuracy or R^2) on the validation split after each epoch,
        with early stopping; else None.
    best_validation_score_ : float or None
        The best validation score, with early stopping; else None.
    t_ : int
        Number of training samples seen by the stochastic solver.
    coefs_ : list of ndarray of shape (fan_in, fan_out)
        Weight matrix of each layer.
    intercepts_ : list of ndarray of shape (fan_out,)
        Bias vector of each layer.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Feature names seen during fit, when X has string column names.
    n_iter_ : int
        Number of epochs (iterations) run by the last fit.
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Number of output units."""


def _arguments(local_variables):
    """A constructor's arguments, from its ``locals()``."""
    return {k: v for k, v in local_variables.items() if k not in ("self", "__class__")}


def _fill_docstring(cls):
    """Put the shared parameter and attribute sections into ``cls.__doc__``."""
    cls.__doc__ = cls.__doc__.replace("%(parameters)s", _PARAMETERS_DOC).replace(
        "%(attributes)s", _ATTRIBUTES_DOC
    )
    return cls


@_fill_docstring
class MLPScratchClassifier(ClassifierMixin, BaseMLPScratch):
    """Multi-layer perceptron classifier, with backpropagation written in NumPy.

    A drop-in replacement for :class:`sklearn.neural_network.MLPClassifier`:
    the same parameters, fitted attributes, methods and behaviour. It
    minimises the log-loss with L-BFGS, SGD or Adam. Multiclass targets get
    a softmax output; binary and multilabel targets get logistic outputs.

    Parameters
    ----------
%(parameters)s
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, as in scikit-learn's other classifiers: a dict
        ``{class_label: weight}``, or "balanced", ``n_samples / (n_classes *
        np.bincount(y))``, where the counts are weighted by ``sample_weight``
        (so a weight of 2 counts as a repeated sample). They multiply
        ``sample_weight``. (Not in
        scikit-learn's MLPClassifier.) "balanced" needs all of y, so
        ``partial_fit`` takes a dict only. A dict is checked before any
        training: its keys must be classes and its weights finite,
        non-negative numbers, not all zero for the classes in y; a class it
        does not name weighs 1. Multilabel targets take "balanced" only.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (for multilabel targets, the label indices).
%(attributes)s
    out_activation_ : str
        Output activation: "softmax" or "logistic".

    See Also
    --------
    sklearn.neural_network.MLPClassifier : The estimator this one replaces.

    Notes
    -----
    Differences from scikit-learn, each deliberate:

    - ``y`` with a single class is fitted: ``classes_`` holds it, ``predict``
      returns it and ``predict_proba`` is one column of ones (scikit-learn
      returns two probability columns for one class).
    - Binary ``predict_proba`` computes p(class 0) as sigma(-z), not 1 - p, so
      small probabilities of either class keep their full precision.
    - The early-stopping split is stratified for multiclass targets too.
    - Non-finite weights or an input that overflows the network raise a
      ValueError instead of returning NaN; a training loss that becomes
      non-finite stops training with a ConvergenceWarning and restores the
      last good weights.
    - L-BFGS records ``loss_curve_`` and ``best_loss_`` as well.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.model_selection import train_test_split
    >>> from skscratch import MLPScratchClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> clf = MLPScratchClassifier(hidden_layer_sizes=(16,), solver="lbfgs",
    ...                            max_iter=500, random_state=0)
    >>> clf.fit(X_train, y_train).score(X_test, y_test) > 0.9
    True
    >>> clf.predict_proba(X_test[:2]).round(2)
    array([[0., 0., 1.],
           [0., 1., 0.]])
    """

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dtype=None,
        max_grad_norm=None,
        warmup_iter=0,
        dropout=0.0,
        scoring=None,
        class_weight=None,
    ):
        super().__init__(**_arguments(locals()))

    _parameter_constraints: dict = {
        **BaseMLPScratch._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def _target_weights(self, y, incremental, sample_weight):
        """Each sample's class weight, from ``class_weight`` (None without it).

        Called after the targets were encoded, so ``classes_`` holds every
        class; a dict is checked against them like ``sample_weight`` is
        checked: real, finite, non-negative numbers for known classes.
        """
        if self.class_weight is None:
            return None
        if isinstance(self.class_weight, dict):
            return self._class_weight_dict(y)
        if y.ndim == 2:  # multilabel: each label column balanced, the weights multiplied
            return compute_sample_weight(self.class_weight, y)
        if incremental:
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: one batch "
                "does not show the class frequencies. Compute them over all the data "
                "with sklearn.utils.class_weight.compute_class_weight and pass a dict."
            )
        # "balanced": total weight / (n_classes * weight of the class), the
        # weights counted with sample_weight, so that a weight of 2 is the
        # same as a repeated sample
        classes, index = np.unique(y, return_inverse=True)
        per_class = np.bincount(index, weights=sample_weight, minlength=len(classes)).astype(np.float64)
        present = per_class > 0  # a class of total weight 0 stays at weight 0
        balanced = np.zeros_like(per_class)
        balanced[present] = per_class.sum() / (present.sum() * per_class[present])
        return balanced[index]

    def _class_weight_dict(self, y):
        """The weight of each sample's class, from a ``{class: weight}`` dict (default 1)."""
        if y.ndim == 2:
            raise ValueError(
                "class_weight as a dict is not supported for multilabel targets; use "
                "class_weight='balanced', or sample_weight."
            )
        classes = self.classes_.tolist()
        unknown = [key for key in self.class_weight if key not in classes]
        if unknown:
            raise ValueError(
                f"class_weight has keys that are not classes: {unknown}. The classes are "
                f"{self.classes_.tolist()}."
            )
        for key, weight in self.class_weight.items():
            if isinstance(weight, (bool, np.bool_)) or not isinstance(weight, Real) or not (
                np.isfinite(weight) and weight >= 0
            ):
                raise ValueError(
                    f"class_weight[{key!r}] = {weight!r}: class weights must be finite, "
                    "non-negative numbers."
                )
        per_class = np.array([float(self.class_weight.get(c, 1.0)) for c in classes])
        return per_class[np.searchsorted(self.classes_, y)]

    def _validate_input(self, X, y, reset):
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
            dtype=self._input_dtype(), reset=reset,
        )  # fmt: skip
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        return X, y

    def _encode_targets(self, y, first_pass, incremental, classes=None):
        if first_pass:
            binarizer = LabelBinarizer()
            multilabel = type_of_target(y).startswith("multilabel")
            binarizer.fit(y if classes is None or multilabel else classes)
            self._label_binarizer = binarizer
            self.classes_ = binarizer.classes_
        if self._label_binarizer.y_type_ != "multilabel-indicator":
            y_classes = unique_labels(y)
            if self.warm_start and not incremental and set(y_classes) != set(self.classes_):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as "
                    f"in the previous call to fit. Previously got {self.classes_}, "
                    f"`y` has {y_classes}"
                )
            unknown = np.setdiff1d(y_classes, self.classes_)
            if len(unknown):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`: {unknown}. "
                    f"`self.classes_` has {self.classes_}."
                )
        return self._binarize(y)

    def _binarize(self, y):
        """One-hot (or 0/1 indicator) targets, as bool so that float32 training stays float32.

        With one class, every sample is of it: one output, always 1.
        """
        if len(self.classes_) == 1 and self._label_binarizer.y_type_ != "multilabel-indicator":
            return np.ones((len(y), 1), dtype=bool)
        return self._label_binarizer.transform(y).astype(bool)

    def _output_activation(self, Y):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _encode_validation_targets(self, y_val):
        if self._label_binarizer.y_type_ != "multilabel-indicator":
            unknown = np.setdiff1d(unique_labels(y_val), self.classes_)
            if len(unknown):
                raise ValueError(f"y_val has classes not in y: {unknown}.")
        return self._binarize(y_val)

    def _stratify_labels(self, y):
        # the user's own labels, so that an error names them (the split is the
        # same as on their one-hot codes: the classes sort alike)
        return None if self._label_binarizer.y_type_ == "multilabel-indicator" else y

    def _validation_metrics(self, X, Y, sample_weight, scorer=None):
        """Loss and score (by default accuracy; subset accuracy for multilabel) on encoded Y."""
        Z = self._logits(X, check_input=False, check_finite=False)
        if not np.isfinite(Z).all():
            return np.nan, np.nan
        loss = float(np.average(LOSSES[self.out_activation_](Y, Z), weights=sample_weight))
        if len(self.classes_) == 1 and Y.shape[1] == 1:  # one class: predict is always right
            correct = np.ones(len(Y), dtype=bool)
        elif self.out_activation_ == "softmax":
            correct = Z.argmax(axis=1) == Y.argmax(axis=1)
        else:
            correct = ((Z > 0) == Y).all(axis=1)
        accuracy = float(np.average(correct, weights=sample_weight))
        return loss, self._score_validation(scorer, X, Y, sample_weight, loss, accuracy)

    def _decode_targets(self, Y):
        return self._label_binarizer.inverse_transform(Y.ravel() if Y.shape[1] == 1 else Y)

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The predicted classes (indicator rows for multilabel targets).
        """
        check_is_fitted(self)
        Z = self._logits(X)
        # p > 0.5 exactly where the logit z > 0; softmax picks the largest logit
        return self._label_binarizer.inverse_transform(
            Z.ravel() if self.n_outputs_ == 1 else Z, threshold=0
        )

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class, in the order of ``classes_``. Never NaN:
            input that overflows the network raises a ValueError. A model
            fitted on one class gives one column of ones.
        """
        check_is_fitted(self)
        Z = self._logits(X)
        if len(self.classes_) == 1 and self.n_outputs_ == 1:  # one class: certain
            return np.ones_like(Z)
        if self.n_outputs_ == 1:  # binary: p(class 0) = sigma(-z), p(class 1) = sigma(z)
            Z = np.hstack([-Z, Z])
        return ACTIVATIONS[self.out_activation_](Z)

    def predict_log_proba(self, X):
        """Log of the probability estimates, ``log(predict_proba(X))``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probability of each class, in the order of ``classes_``;
            -inf only where the probability itself underflows to 0.
        """
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba, out=proba)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        classes : array-like of shape (n_classes,), default=None
            All the classes across calls to partial_fit, e.g.
            ``np.unique(y_all)``. Required on the first call, and if given
            later it must not change. ``y`` need not hold every class.

        Returns
        -------
        self : object
            The updated estimator.
        """
        if not hasattr(self, "coefs_"):
            if classes is None and not type_of_target(y).startswith("multilabel"):
                raise ValueError("classes must be passed on the first call to partial_fit.")
        elif classes is not None and not np.array_equal(self.classes_, unique_labels(classes)):
            raise ValueError(
                f"`classes={unique_labels(classes)!r}` is not the same as on the last "
                f"call to partial_fit, was: {self.classes_!r}"
            )
        return self._fit(X, y, sample_weight=sample_weight, incremental=True, classes=classes)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


@_fill_docstring
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
    - ``partial_fit`` exists only for "sgd" and "adam" (scikit-learn's
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

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dtype=None,
        max_grad_norm=None,
        warmup_iter=0,
        dropout=0.0,
        scoring=None,
    ):
        super().__init__(**_arguments(locals()))

    def _validate_input(self, X, y, reset):
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
            y_numeric=True, dtype=self._input_dtype(), reset=reset,
        )  # fmt: skip
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
        P = ACTIVATIONS[self.out_activation_](self._logits(X, check_input=check_input))
        if not np.isfinite(P).all():
            raise ValueError(
                "The predictions overflow: the network's output is too large for "
                f"exp (loss={self.loss!r}). Scale the input the way the training "
                "data was scaled."
            )
        return P

    def _validation_metrics(self, X, Y, sample_weight, scorer=None):
        """Loss and score (by default R^2) on the validation data (NaN if not finite)."""
        Z = self._logits(X, check_input=False, check_finite=False)
        with np.errstate(over="ignore", invalid="ignore"):
            loss = float(np.average(LOSSES[self.out_activation_](Y, Z), weights=sample_weight))
            P = ACTIVATIONS[self.out_activation_](Z)
        if not np.isfinite(P).all():
            return np.nan, np.nan
        r2 = float(r2_score(Y, P, sample_weight=sample_weight))
        return loss, self._score_validation(scorer, X, Y, sample_weight, loss, r2)

    def _decode_targets(self, Y):
        return Y.ravel() if Y.shape[1] == 1 else Y

    def predict(self, X):
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
        return P.ravel() if P.shape[1] == 1 else P

    def score(self, X, y, sample_weight=None):
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
        check_array(y, ensure_2d=False, dtype="numeric", input_name="y")
        return super().score(X, y, sample_weight=sample_weight)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = self.loss == "poisson"
        return tags
