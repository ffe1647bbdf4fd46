"""TabularMLPClassifier and TabularMLPRegressor: MLPs with defaults tuned for tables (RealMLP's recipe).

The way through ``fit`` reads straight down::

    preprocess the table (TabularPreprocessor) -> encode the targets -> weigh the samples
    -> split off the validation rows -> build the network (nn.tabular's layers)
    -> initialise it from the data -> train (TabularTraining: schedules, best epoch)

Every piece of the recipe is a parameter that switches it off, so that its
effect can be measured (``benchmarks/bench_tabular.py --ablation``).
"""

from __future__ import annotations

import copy
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.base import _fit_context as fit_context
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state, compute_sample_weight
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d, validate_data

from ..nn.activations import ACTIVATIONS
from ..nn.layers import Dropout, Elementwise
from ..nn.network import Network
from ..nn.optimizers import AdamW
from ..nn.schedules import SCHEDULES
from ..nn.tabular import NTDense, ParametricActivation, Scale, TabularEmbedding
from .base import CallbackSupportMixin
from .tabular_docs import fill_docstring
from .tabular_preprocessing import TabularPreprocessor
from .tabular_training import TabularTraining

PREDICT_CHUNK = 4096  # rows per forward pass at prediction


def _arguments(local_variables):
    """A constructor's arguments, from its ``locals()``."""
    return {k: v for k, v in local_variables.items() if k not in ("self", "__class__")}


class BaseTabularMLP(CallbackSupportMixin, BaseEstimator):
    """What the tabular classifier and regressor share (do not use it directly)."""

    def __init__(self, **params):
        """Store the constructor's arguments, nothing else (each subclass lists them in its signature)."""
        for name, value in params.items():
            setattr(self, name, value)

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({"selu", "mish", "relu"})],
        "parametric_activation": ["boolean"],
        "num_embedding": [StrOptions({"pbld"}), None],
        "scaling_layer": ["boolean"],
        "ntk": ["boolean"],
        "data_init": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions(set(SCHEDULES))],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "weight_decay_schedule": [StrOptions(set(SCHEDULES))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "dropout_schedule": [StrOptions(set(SCHEDULES))],
        "select_best_epoch": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
        "one_hot_max_categories": [Interval(Integral, 0, None, closed="left")],
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "numeric_scaling": [StrOptions({"robust", "standard"}), None],
        "smooth_clip": ["boolean"],
        "dtype": [StrOptions({"float32", "float64"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # ------------------------------------------------------------------
    # fit

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None, sample_weight_val=None):
        """Fit the model to the table X and the target y.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            A table as it comes: numbers, categories, strings, booleans, missing values.
        y : array-like of shape (n_samples,), or (n_samples, n_targets) for the regressor
        sample_weight : array-like of shape (n_samples,), default=None
        X_val, y_val, sample_weight_val : default=None
            Validation data to pick the best epoch on, instead of a split of X.

        Returns
        -------
        self
        """
        before = dict(self.__dict__)
        try:
            return self._fit(X, y, sample_weight, X_val, y_val, sample_weight_val)
        except BaseException:  # a failed fit (bad input, Ctrl-C in the preprocessing) leaves the model as it was
            kept = {k: v for k, v in vars(self).items() if k in ("_callback_fit_ctx", "_skl_callbacks_to_teardown")}
            self.__dict__.clear()
            self.__dict__.update(before, **kept)
            raise

    def _fit(self, X, y, sample_weight, X_val, y_val, sample_weight_val):
        sizes = self._hidden_sizes()
        if (X_val is None) != (y_val is None) or (sample_weight_val is not None and X_val is None):
            raise ValueError("X_val and y_val go together (and sample_weight_val with them): pass both, or "
                             "neither.")
        random_state = check_random_state(self.random_state)
        preprocessor = TabularPreprocessor(
            categorical_features=self.categorical_features, one_hot_max_categories=self.one_hot_max_categories,
            numeric_scaling=self.numeric_scaling, smooth_clip=self.smooth_clip, dtype=self.dtype)
        preprocessor.set_output(transform="default")  # arrays, even under set_config(transform_output="pandas")
        preprocessor.fit(X)
        Xt = preprocessor.transform(X)
        y = self._check_targets(y, Xt.shape[0])
        sample_weight = self._sample_weights(y, sample_weight, Xt)
        Y = self._encode_targets(y, fitting=True, sample_weight=sample_weight)
        if X_val is not None:  # the user's validation rows: all of X trains
            Xv = preprocessor.transform(X_val)
            y_val = self._check_targets(y_val, Xv.shape[0], what="y_val")
            train, validation = (Xt, Y, sample_weight), (
                Xv, self._encode_targets(y_val, fitting=False),
                self._sample_weights(y_val, sample_weight_val, Xv, what="sample_weight_val", y_fit=y))
        else:
            train, validation = self._validation_rows(Xt, Y, y, sample_weight, random_state)
        X_train, Y_train, w_train = train

        network = self._build_network(preprocessor, sizes, Y.shape[1])
        network.init(random_state, dtype=np.dtype(self.dtype))
        for layer in network.layers:  # dropout masks: drawn from this fit's random state
            if isinstance(layer, Dropout):
                layer.random_state = np.random.RandomState(random_state.randint(np.iinfo(np.int32).max))
        if self.data_init:  # on the rows that count: a row of weight 0 is no row
            self._initialize_from_data(network, X_train if w_train is None else X_train[w_train > 0], random_state)
        optimizer = AdamW(network.params, learning_rate_init=self.learning_rate_init, beta_1=self.beta_1,
                          beta_2=self.beta_2, epsilon=self.epsilon, weight_decay=self.weight_decay,
                          decay=slice(0, network.n_penalised))
        Y_loss = self._loss_targets(Y_train)
        callbacks = _Callbacks.begin(self, X, y, sample_weight, preprocessor)
        training = TabularTraining(self, network, optimizer, X_train, Y_loss, w_train, validation,
                                   random_state, callbacks).run()

        self.preprocessor_ = preprocessor
        self.n_features_in_ = preprocessor.n_features_in_
        if hasattr(preprocessor, "feature_names_in_"):
            self.feature_names_in_ = preprocessor.feature_names_in_
        else:  # (a refit on an array after one on a DataFrame)
            self.__dict__.pop("feature_names_in_", None)
        # predictions in float64, whatever the training dtype: the same row gets the same output in any batch
        self.network_ = _float64_copy(network)
        self.n_iter_ = len(training.rows)
        self._history = training.rows  # plain rows (pickles, skops and the safe format keep them): history_
        self.loss_curve_ = [row["train_loss"] for row in training.rows]
        self.validation_scores_ = [row["val_score"] for row in training.rows] if validation else None
        self.best_epoch_ = training.kept_epoch
        self.best_validation_score_ = (self.validation_scores_[self.best_epoch_ - 1]
                                       if validation and self.best_epoch_ else None)  # the kept epoch's
        if callbacks is not None:
            callbacks.end_fit(self.network_)
        return self

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if any(isinstance(s, bool) or not isinstance(s, Integral) or s < 1 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must hold positive integers, got {self.hidden_layer_sizes!r}.")
        return [int(s) for s in sizes]

    def _sample_weights(self, y, sample_weight, Xt, what="sample_weight", y_fit=None):
        """The weight of each row (sample_weight times class_weight), checked; None if all equal."""
        class_weight = getattr(self, "class_weight", None)
        if sample_weight is None and class_weight is None:
            return None
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, Xt, dtype=np.float64, ensure_non_negative=True)
        if class_weight is not None:
            if y_fit is None:
                per_class = compute_sample_weight(class_weight, y)
            else:  # validation rows: each class weighs what it weighs in training (as in the automatic split)
                classes, first = np.unique(y_fit, return_index=True)
                per_class = compute_sample_weight(class_weight, y_fit)[first][np.searchsorted(classes, y)]
            sample_weight = per_class if sample_weight is None else sample_weight * per_class
        if sample_weight is None:
            return None
        if not np.isfinite(sample_weight.sum()) or not sample_weight.sum() > 0:
            raise ValueError(f"The weights ({what}) must sum to a finite number above 0, got "
                             f"{sample_weight.sum()!r}.")
        return sample_weight.astype(self.dtype)

    def _validation_rows(self, Xt, Y, y, sample_weight, random_state):
        """((X, Y, w) to train on, (X, Y, w) to pick the best epoch on, or None)."""
        everything = (Xt, Y, sample_weight)
        n_val = int(np.floor(self.validation_fraction * Xt.shape[0]))
        if not self.select_best_epoch or n_val < 1 or Xt.shape[0] - n_val < 1:
            return everything, None
        stratify = self._stratify(y, n_val)
        indices = np.arange(Xt.shape[0])
        train, val = train_test_split(indices, test_size=n_val, stratify=stratify, random_state=random_state)
        pick = lambda rows: (Xt[rows], Y[rows], None if sample_weight is None else sample_weight[rows])  # noqa: E731
        if sample_weight is not None and not (sample_weight[val].sum() > 0 and sample_weight[train].sum() > 0):
            return everything, None  # the validation (or the training) rows all weigh 0: nothing to score on
        return pick(train), pick(val)

    def _stratify(self, y, n_val):
        return None

    def _build_network(self, preprocessor, sizes, n_outputs):
        """The layers: TabularEmbedding -> Scale -> [NTDense -> activation -> Dropout] x k -> NTDense."""
        embedding = TabularEmbedding(preprocessor.n_numeric_, preprocessor.n_binary_,
                                     preprocessor.embedding_cardinalities_, numeric=self.num_embedding,
                                     embedding_dim=self.embedding_dim)
        layers = [embedding]
        if self.scaling_layer:
            layers.append(Scale(embedding.n_out))
        n_in = embedding.n_out
        for width in sizes:
            layers.append(NTDense(n_in, width, ntk=self.ntk))
            if self.activation == "relu":
                layers.append(Elementwise("relu"))
            else:
                layers.append(ParametricActivation(self.activation, width, parametric=self.parametric_activation))
            if self.dropout:
                layers.append(Dropout(self.dropout))
            n_in = width
        layers.append(NTDense(n_in, n_outputs, ntk=self.ntk))
        return Network(layers, output=self._output)

    @staticmethod
    def _initialize_from_data(network, X, random_state, max_rows=4096):
        """RealMLP's start: each Dense layer rescaled on the data that reaches it (unit std, "he+5" biases)."""
        rows = X if X.shape[0] <= max_rows else X[random_state.choice(X.shape[0], max_rows, replace=False)]
        network.set_training(False)
        A = rows
        with np.errstate(over="ignore", invalid="ignore"):
            for layer in network.layers[:-1]:
                if isinstance(layer, NTDense):
                    layer.initialize_from_data(A, random_state)
                A = layer.forward(A)

    @staticmethod
    def _logits_of(network, Xt):
        """The network's output layer for Xt, in chunks of rows, without dropout.

        The passes run on shallow copies of the layers (the same parameters,
        caches of their own), so that threads may predict with one model at once.
        """
        network = Network([_shallow_copy(layer) for layer in network.layers], network.output)
        network.set_training(False)
        parts = [network.forward(Xt[i:i + PREDICT_CHUNK]) for i in range(0, Xt.shape[0], PREDICT_CHUNK)]
        return np.concatenate(parts, axis=0) if parts else network.forward(Xt)

    def _logits(self, X):
        check_is_fitted(self)
        # the columns' count and names checked here first, so that a mismatch names this estimator
        if _is_table(X):  # (anything else: the preprocessing says what is wrong, e.g. "Reshape your data")
            validate_data(self, X, reset=False, skip_check_array=True)
        with warnings.catch_warnings():  # (said once, above, in this estimator's name)
            warnings.filterwarnings("ignore", message=".*TabularPreprocessor was fitted", category=UserWarning)
            Xt = self.preprocessor_.transform(X)
        with np.errstate(over="ignore", invalid="ignore"):
            Z = self._logits_of(self.network_, Xt)
        if not np.isfinite(Z).all():
            raise ValueError("The network's output is not finite for some rows of X (NaN or infinity); "
                             "the model's weights are " + ("finite" if np.isfinite(self.network_.params).all()
                                                           else "not finite: fit it again") + ".")
        return Z

    @property
    def history_(self):
        """One row per epoch: epoch, train_loss, val_score (with validation data), learning_rate, elapsed_s."""
        check_is_fitted(self)
        return _history_frame(self._history)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags


class _Callbacks:
    """scikit-learn's callbacks (>= 1.9) for one fit: the fit is the root task, each epoch a subtask.

    A callback that scores the model gets a fitted copy of it at each
    epoch's end (``reconstruction_attributes``); one whose ``on_fit_task_end``
    returns True stops training after that epoch.
    """

    def __init__(self, model, context, X, y, metadata, preprocessor):
        self.model, self.context, self.X, self.y = model, context, X, y
        self.metadata, self.preprocessor, self.epoch_context = metadata, preprocessor, None

    @classmethod
    def begin(cls, model, X, y, sample_weight, preprocessor):
        """The callbacks of this fit, told it begins; None without callbacks (or scikit-learn < 1.9)."""
        if not hasattr(model, "_init_callback_context") or not (
                getattr(model, "_skl_callbacks", None) or hasattr(model, "_parent_callback_ctx")):
            return None
        context = model._init_callback_context(max_subtasks=model.max_iter)
        # in the fit's locals, never on the model: the caller's weights must not end up in pickles
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        context.call_on_fit_task_begin(estimator=model, X=X, y=y, metadata=metadata)
        return cls(model, context, X, y, metadata, preprocessor)

    def _fitted(self, network):
        """What makes a copy of the model predict as the network does now."""
        names = {"feature_names_in_": self.preprocessor.feature_names_in_} if hasattr(
            self.preprocessor, "feature_names_in_") else {}
        return {"preprocessor_": self.preprocessor, "network_": _float64_copy(network),
                "n_features_in_": self.preprocessor.n_features_in_, **names}

    def begin_epoch(self):
        self.epoch_context = self.context.subcontext(task_name="epoch")
        self.epoch_context.call_on_fit_task_begin(estimator=self.model, X=self.X, y=self.y, metadata=self.metadata)

    def end_epoch(self, network):
        return self.epoch_context.call_on_fit_task_end(
            estimator=self.model, X=self.X, y=self.y, metadata=self.metadata,
            reconstruction_attributes=self._fitted(network))

    def end_fit(self, network):
        self.context.call_on_fit_task_end(estimator=self.model, X=self.X, y=self.y, metadata=self.metadata,
                                          reconstruction_attributes=self._fitted(network))


def _is_table(X):
    """Whether X has rows and columns to check against fit's: a DataFrame, a 2-D array, a list of rows."""
    if hasattr(X, "columns"):
        return True
    shape = getattr(X, "shape", None)
    if shape is not None:
        return len(shape) == 2
    return isinstance(X, (list, tuple)) and len(X) > 0 and isinstance(X[0], (list, tuple, np.ndarray))


def _shallow_copy(layer):
    """The layer with the same attributes (its parameters' views too), but a dict of its own for its caches.

    (``copy.copy`` would go through ``Layer.__getstate__``, which leaves the views out.)
    """
    new = object.__new__(type(layer))
    new.__dict__.update(layer.__dict__)
    return new


def _float64_copy(network):
    """A network of its own (layers copied, no caches) over a float64 copy of ``network``'s parameters."""
    layers = [copy.deepcopy(layer) for layer in network.layers]
    return Network(layers, network.output).bind(network.params.astype(np.float64))


def _history_frame(rows):
    import pandas as pd

    return pd.DataFrame(rows, columns=[c for c in ("epoch", "train_loss", "val_score", "learning_rate",
                                                   "elapsed_s") if any(c in row for row in rows)])


def _softmax(Z):
    return ACTIVATIONS["softmax"](Z, np)


@fill_docstring
class TabularMLPClassifier(ClassifierMixin, BaseTabularMLP):
    """A multi-layer perceptron for tables, with RealMLP's defaults: better by default than a plain MLP.

    It takes a table as it comes, a pandas or polars DataFrame with numeric,
    categorical, string and boolean columns and missing values, or a NumPy
    array, and preprocesses it itself (:class:`TabularPreprocessor`). The
    network, its training and its defaults follow RealMLP-TD (Holzmüller,
    Grinsztajn and Steinwart, NeurIPS 2024), written from scratch in NumPy
    (``skscratch.nn.tabular``); each piece can be switched off.

    Parameters
    ----------
%(parameters)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
%(attributes)s

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.model_selection import train_test_split
    >>> from skscratch import TabularMLPClassifier
    >>> X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
    >>> model = TabularMLPClassifier(max_iter=16, hidden_layer_sizes=(64, 64), random_state=0)
    >>> model.fit(X_train, y_train).score(X_test, y_test) > 0.93
    True
    """

    _parameter_constraints: dict = {
        **BaseTabularMLP._parameter_constraints,
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }
    _output = "softmax"

    def __init__(self, hidden_layer_sizes=(256, 256, 256), *, activation="selu", parametric_activation=True,
                 num_embedding="pbld", scaling_layer=True, ntk=True, data_init=True, max_iter=256, batch_size=256,
                 learning_rate_init=0.04, lr_schedule="coslog4", beta_1=0.9, beta_2=0.95, epsilon=1e-8,
                 weight_decay=0.02, weight_decay_schedule="flat_cos", dropout=0.15, dropout_schedule="flat_cos",
                 label_smoothing=0.1, select_best_epoch=True, validation_fraction=0.2,
                 categorical_features="from_dtype", one_hot_max_categories=9, embedding_dim=8,
                 numeric_scaling="robust", smooth_clip=True, class_weight=None, dtype="float32",
                 random_state=None, verbose=False):
        super().__init__(**_arguments(locals()))

    def _check_targets(self, y, n_rows, what="y"):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires {what} to be passed, but the target y is None.")
        y = column_or_1d(y, warn=True)
        if len(y) != n_rows:
            raise ValueError(f"Found input variables with inconsistent numbers of samples: [{n_rows}, {len(y)}]")
        check_classification_targets(y)
        if what == "y" and type_of_target(y) not in ("binary", "multiclass"):
            raise ValueError(f"Unknown label type: {type_of_target(y)!r}")
        return y

    def _encode_targets(self, y, fitting, sample_weight=None):
        if fitting:
            self._encoder = LabelEncoder().fit(y)
            self.classes_ = self._encoder.classes_
        unknown = np.setdiff1d(y, self.classes_) if not fitting else ()
        if len(unknown):
            raise ValueError(f"y_val has labels that y does not: {list(unknown)[:5]}")
        return np.eye(len(self.classes_), dtype=self.dtype)[self._encoder.transform(y)]

    def _loss_targets(self, Y):
        eps = self.label_smoothing
        return (1 - eps) * Y + eps / Y.shape[1] if eps else Y

    def _stratify(self, y, n_val):
        _, counts = np.unique(y, return_counts=True)
        if counts.min() < 2 or n_val < len(counts) or len(y) - n_val < len(counts):
            return None
        return y

    def _validation_score(self, Z, Y, sample_weight):
        """Accuracy on the validation rows (weighted)."""
        correct = (Z.argmax(axis=1) == Y.argmax(axis=1)).astype(np.float64)
        return float(np.average(correct, weights=sample_weight))

    def predict_proba(self, X):
        """Probability of each class.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            A table with the columns seen in fit.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return _softmax(self._logits(X))

    def predict_log_proba(self, X):
        """Log-probability of each class, exact where the probability underflows.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            A table with the columns seen in fit.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        Z = self._logits(X)
        Z = Z - Z.max(axis=1, keepdims=True)
        return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))

    def predict(self, X):
        """The most probable class of each row.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            A table with the columns seen in fit.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        Z = self._logits(X)
        return self.classes_[Z.argmax(axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags


@fill_docstring
class TabularMLPRegressor(RegressorMixin, BaseTabularMLP):
    """A multi-layer perceptron for tables, with RealMLP's defaults for regression.

    As :class:`TabularMLPClassifier`, with Mish, a learning rate of 0.2,
    targets standardised for training, and predictions clipped to the range
    of the training targets. ``select_best_epoch`` picks the epoch with the
    lowest validation mean squared error, the targets standardised.

    Parameters
    ----------
%(parameters)s

    Attributes
    ----------
%(attributes)s

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skscratch import TabularMLPRegressor
    >>> X, y = load_diabetes(return_X_y=True, as_frame=True)
    >>> model = TabularMLPRegressor(max_iter=64, hidden_layer_sizes=(64,), random_state=0).fit(X[:300], y[:300])
    >>> model.score(X[300:], y[300:]) > 0.35
    True
    """

    _parameter_constraints: dict = {**BaseTabularMLP._parameter_constraints, "clip_predictions": ["boolean"]}
    _output = "identity"

    def __init__(self, hidden_layer_sizes=(256, 256, 256), *, activation="mish", parametric_activation=True,
                 num_embedding="pbld", scaling_layer=True, ntk=True, data_init=True, max_iter=256, batch_size=256,
                 learning_rate_init=0.2, lr_schedule="coslog4", beta_1=0.9, beta_2=0.95, epsilon=1e-8,
                 weight_decay=0.02, weight_decay_schedule="flat_cos", dropout=0.15, dropout_schedule="flat_cos",
                 select_best_epoch=True, validation_fraction=0.2, categorical_features="from_dtype",
                 one_hot_max_categories=9, embedding_dim=8, numeric_scaling="robust", smooth_clip=True,
                 clip_predictions=True, dtype="float32", random_state=None, verbose=False):
        super().__init__(**_arguments(locals()))

    def _check_targets(self, y, n_rows, what="y"):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires {what} to be passed, but the target y is None.")
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"{what} must be numbers for regression, got dtype {y.dtype}.") from None
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)  # as scikit-learn's MLPRegressor: one target, predicted as (n_samples,)
        if y.ndim not in (1, 2) or len(y) != n_rows:
            raise ValueError(f"{what} must have shape (n_samples,) or (n_samples, n_targets) with n_samples "
                             f"= {n_rows}, got shape {y.shape}.")
        if not np.isfinite(y).all():
            raise ValueError(f"Input {what} contains NaN or infinity.")
        return y.astype(np.float64)

    def _encode_targets(self, y, fitting, sample_weight=None):
        Y = y.reshape(len(y), -1)
        if fitting:  # weighted: a weight of k counts as k copies of the row, 0 as none
            weighted = Y if sample_weight is None else Y[sample_weight > 0]
            self._y_ndim = y.ndim
            self._y_mean = np.average(Y, axis=0, weights=sample_weight)
            self._y_std = np.sqrt(np.average((Y - self._y_mean) ** 2, axis=0, weights=sample_weight))
            self._y_std[self._y_std == 0] = 1.0
            self._y_min, self._y_max = weighted.min(axis=0), weighted.max(axis=0)
        elif Y.shape[1] != len(self._y_mean):
            raise ValueError(f"y_val has {Y.shape[1]} targets, y has {len(self._y_mean)}.")
        return ((Y - self._y_mean) / self._y_std).astype(self.dtype)

    def _loss_targets(self, Y):
        return Y

    def _decode(self, Z):
        P = Z.astype(np.float64) * self._y_std + self._y_mean
        if self.clip_predictions:
            P = np.clip(P, self._y_min, self._y_max)
        return P

    def _validation_score(self, Z, Y, sample_weight):
        """Minus the mean squared error of the (clipped) predictions, in standardised units (higher is better).

        Standardised, so that each target counts alike whatever its unit; for
        one target, the same order of the epochs as the RMSE in its units.
        """
        standardised = (self._decode(Z) - self._y_mean) / self._y_std
        squared = ((standardised - Y) ** 2).mean(axis=1)
        return -float(np.average(squared, weights=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X):
        """The predicted targets.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            A table with the columns seen in fit.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        P = self._decode(self._logits(X))
        return P[:, 0] if self._y_ndim == 1 else P
