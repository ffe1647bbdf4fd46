"""MLPScratchClassifier: what classification adds to ``base.BaseMLPScratch``.

How the labels are checked, encoded (one-hot, or 0/1 indicators for
multilabel) and decoded, the class weights, the output layer (softmax or
logistic), the accuracy score and the probability methods.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from numbers import Real
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
from sklearn import config_context  # type: ignore[attr-defined]  # (sklearn resolves it lazily)
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .._engine import array_api as seam
from ..nn.activations import ACTIVATIONS
from .base import BaseMLPScratch, available_if, fit_context
from ..nn.losses import LOSSES
from .docs import fill_docstring, fill_partial_fit_docstring

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    from ..nn.activations import Activation
    from .base import ActivationName, Array, DType, MatrixLike, Schedule, Self, Solver
    from .sklearn_bases import ClassifierMixin  # typed (scikit-learn ships no types)
else:
    from sklearn.base import ClassifierMixin


def _arguments(local_variables):
    """A constructor's arguments, from its ``locals()``."""
    return {k: v for k, v in local_variables.items() if k not in ("self", "__class__")}


@fill_docstring
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
        class_weight: Mapping[Any, float] | Literal["balanced"] | None = None,
    ) -> None:
        super().__init__(**_arguments(locals()))

    _parameter_constraints: dict = {
        **BaseMLPScratch._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    class_weight: Mapping[Any, float] | Literal["balanced"] | None  # its own parameter (see BaseMLPScratch)
    # fitted, besides those of BaseMLPScratch (declared for type checkers: no class attribute is made)
    classes_: NDArray[Any]
    out_activation_: Literal["softmax", "logistic"]

    if TYPE_CHECKING:  # made at run time by scikit-learn's metadata routing, from partial_fit's signature

        def set_partial_fit_request(self, *, X_val: bool | str | None = ..., classes: bool | str | None = ...,
                                    sample_weight: bool | str | None = ..., sample_weight_val: bool | str | None = ...,
                                    y_val: bool | str | None = ...) -> Self: ...

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

    def _validate_input(self, X, y, reset, xp=np):
        """X and y as scikit-learn's validate_data gives them (y as NumPy); a column y becomes 1-D."""
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
            dtype=self._input_dtype(xp, X), reset=reset,
        )  # fmt: skip
        y = seam.to_host(y)  # labels are bookkeeping, on the host
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _encode_targets(self, y, first_pass, incremental, classes=None):
        """One-hot (or indicator) targets; the kind of target and ``classes=`` are checked here, once."""
        y_type = type_of_target(y, input_name="y")
        if y_type not in ("binary", "multiclass", "multilabel-indicator"):
            check_classification_targets(y)  # scikit-learn's words for continuous targets and the like
        multilabel = y_type == "multilabel-indicator"
        if first_pass:
            if incremental and classes is None and not multilabel:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            binarizer = LabelBinarizer()
            binarizer.fit(y if classes is None or multilabel else classes)
            self._label_binarizer = binarizer
            self.classes_ = binarizer.classes_
        elif incremental and classes is not None and not np.array_equal(self.classes_, unique_labels(classes)):
            raise ValueError(
                f"`classes={unique_labels(classes)!r}` is not the same as on the last "
                f"call to partial_fit, was: {self.classes_!r}"
            )
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
                raise ValueError(f"y_val has classes not in y: {unknown}. The model's classes: {self.classes_}.")
        return self._binarize(y_val)

    def _stratify_labels(self, y):
        # the user's own labels, so that an error names them (the split is the
        # same as on their one-hot codes: the classes sort alike)
        return None if self._label_binarizer.y_type_ == "multilabel-indicator" else y

    def _validation_loss_and_score(self, X, Y, sample_weight):
        """Log-loss and accuracy (subset accuracy for multilabel) on encoded Y (NumPy)."""
        Z = seam.to_host(self._logits(X, check_input=False, check_finite=False))
        if not np.isfinite(Z).all():
            return np.nan, np.nan
        loss = float(np.average(LOSSES[self.out_activation_](Y, Z), weights=sample_weight))
        if len(self.classes_) == 1 and Y.shape[1] == 1:  # one class: predict is always right
            correct = np.ones(len(Y), dtype=bool)
        elif self.out_activation_ == "softmax":
            correct = Z.argmax(axis=1) == Y.argmax(axis=1)
        else:
            correct = ((Z > 0) == Y).all(axis=1)
        return loss, float(np.average(correct, weights=sample_weight))

    def _decode_targets(self, Y):
        return self._label_binarizer.inverse_transform(Y.ravel() if Y.shape[1] == 1 else Y)

    # NumPy in, NumPy out; X of another array library (under array_api_dispatch) gives an array of that
    # library, which no static type names (Array: Any)
    @overload
    def predict(self, X: NDArray[Any] | Sequence[Any]) -> NDArray[Any]: ...
    @overload
    def predict(self, X: MatrixLike) -> Array: ...

    def predict(self, X: MatrixLike) -> Array:
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The predicted classes (indicator rows for multilabel targets).
            For input of another array library (array API dispatch), an
            array of that library on X's device, unless the labels are
            strings, which only NumPy holds.
        """
        check_is_fitted(self)
        labels = self._host_labels(X, "predict")
        xp, device = self._namespace()
        return labels if labels.dtype.kind not in "biuf" else seam.to_device(labels, xp, device)

    def _host_labels(self, X, method):
        """The predicted labels of X, decoded on the host (NumPy); ``method`` names the caller in errors."""
        Z = seam.to_host(self._logits(X, method=method))
        # p > 0.5 exactly where the logit z > 0; softmax picks the largest logit
        return self._label_binarizer.inverse_transform(Z.ravel() if self.n_outputs_ == 1 else Z, threshold=0)

    @overload
    def predict_proba(self, X: NDArray[Any] | Sequence[Any]) -> NDArray[np.floating[Any]]: ...
    @overload
    def predict_proba(self, X: MatrixLike) -> Array: ...

    def predict_proba(self, X: MatrixLike) -> Array:
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
        return self._proba(X, "predict_proba")

    def _proba(self, X, method):
        """The class probabilities of X; ``method`` names the public caller in errors."""
        check_is_fitted(self)
        Z = self._logits(X, method=method)
        xp, _ = self._namespace()
        if len(self.classes_) == 1 and self.n_outputs_ == 1:  # one class: certain
            return xp.ones_like(Z)
        if self.n_outputs_ == 1:  # binary: p(class 0) = sigma(-z), p(class 1) = sigma(z)
            Z = seam.concat(xp, [-Z, Z], axis=1)
        return ACTIVATIONS[self.out_activation_](Z, xp)

    @overload
    def predict_log_proba(self, X: NDArray[Any] | Sequence[Any]) -> NDArray[np.floating[Any]]: ...
    @overload
    def predict_log_proba(self, X: MatrixLike) -> Array: ...

    def predict_log_proba(self, X: MatrixLike) -> Array:
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
        proba = self._proba(X, "predict_log_proba")
        xp, _ = self._namespace()
        with np.errstate(divide="ignore"):
            return seam.into(xp, proba, xp.log, proba)

    def score(self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Return the mean accuracy on the given test data and labels.

        As scikit-learn's ``ClassifierMixin.score``: for multilabel targets
        the subset accuracy, each sample's whole label set right.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True labels for X.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean accuracy of ``self.predict(X)`` against y, in float64
            whatever the array library of X (as NumPy computes it).
        """
        check_is_fitted(self)
        y, sample_weight = seam.usable(y, "y"), seam.usable(sample_weight, "sample_weight")
        y_pred = self._host_labels(X, "score")
        # counted on the host, where the labels are decoded: scikit-learn averages
        # integer labels in the namespace's default float dtype, which is float32
        # for PyTorch (an accuracy of 0.9 would come back as 0.8999999761581421)
        with config_context(array_api_dispatch=False):
            return float(accuracy_score(seam.to_host(y), y_pred, sample_weight=seam.to_host(sample_weight)))

    @available_if(lambda est: est._check_solver())
    @fit_context(prefer_skip_nested_validation=True)
    @fill_partial_fit_docstring("classifier")
    def partial_fit(self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None,
                    classes: ArrayLike | None = None, *, X_val: MatrixLike | None = None,
                    y_val: ArrayLike | None = None, sample_weight_val: ArrayLike | None = None) -> Self:
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
%(validation)s
        """
        validation = self._validation_arguments(X_val, y_val, sample_weight_val)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True, classes=classes, validation=validation)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


MLPScratchClassifier.__module__ = "skscratch"  # its public name: what pickles, skops files and messages say
__test__ = {"MLPScratchClassifier": MLPScratchClassifier}  # (doctest finds a class by __module__: name it here)
