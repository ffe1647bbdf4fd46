"""The parameter and attribute sections both estimators share, written once.

``fill_docstring`` puts them into each class docstring (at ``%(parameters)s``
and ``%(attributes)s``), and ``fill_partial_fit_docstring`` the validation
set's part of ``partial_fit``'s (at ``%(validation)s``), so that ``help()``,
the API pages and the docstring test all read the same text.
"""

from collections.abc import Callable
from typing import Any, TypeVar

_Method = TypeVar("_Method", bound=Callable[..., Any])

PARAMETERS_DOC = """    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of neurons in the ith hidden layer.
        Beyond scikit-learn, a layer of your own (an instance of
        :class:`skscratch.nn.Layer`) may stand among them, as in
        ``(64, Residual(64), 32)``: it goes after the hidden layer before it
        (first: on the input), and must keep the width it is given. See
        "Write your own layer"; such a model pickles, but the safe format
        and ONNX refuse it.
    activation : {"identity", "logistic", "tanh", "relu", "leaky_relu", "elu", "gelu"} \
            or Activation, default="relu"
        Activation of the hidden layers: f(x) = x, 1 / (1 + exp(-x)),
        tanh(x) or max(0, x), as in scikit-learn; and, beyond it,
        "leaky_relu" max(x, 0.01 x), "elu" (x if x > 0 else exp(x) - 1) and
        "gelu" x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). Or your own:
        an instance of a subclass of :class:`skscratch.Activation`, which
        defines ``forward(Z)`` and ``derivative(Z, A)``.
    solver : {"lbfgs", "sgd", "adam", "adamw"}, default="adam"
        "lbfgs" is SciPy's quasi-Newton L-BFGS-B on the full batch; "sgd" is
        stochastic gradient descent with momentum; "adam" is Adam. Adam suits
        thousands of samples or more; L-BFGS often wins on small data.
        "adamw" (not in scikit-learn) is Adam with decoupled weight decay
        (Loshchilov & Hutter, 2019): instead of adding the L2 term to the
        loss, each step multiplies the weights (not the biases) by
        ``1 - rate * alpha``, ``rate`` being the step's scheduled learning
        rate (``learning_rate_init`` under the "constant" schedule). Its
        decay strength is ``alpha``, whose useful range there is about 1e-3
        to 1e-1 (PyTorch's default is 1e-2).
    alpha : float, default=0.0001
        Strength of the L2 penalty, ``alpha / (2 S) * sum ||W||^2``, where S is
        the sum of the sample weights of the batch (its size when unweighted).
        With ``solver="adamw"``, the strength of the decoupled weight decay.
    batch_size : int or "auto", default="auto"
        Minibatch size for the stochastic solvers; "auto" is
        ``min(200, n_samples)``. L-BFGS uses the full batch.
    learning_rate : {"constant", "invscaling", "adaptive", "cosine"}, default="constant"
        Learning-rate schedule of every stochastic solver ("sgd", "adam" and
        "adamw"; scikit-learn applies it to "sgd" only, which with the
        default "constant" makes no difference): "constant";
        "invscaling", ``learning_rate_init / (t + 1) ** power_t`` where t
        counts the samples seen; "adaptive", divided by 5 each time training
        stops improving by ``tol`` (training stops when it falls below
        1e-6); or (not in scikit-learn) "cosine", annealed from
        ``learning_rate_init`` to 0 over ``max_iter`` epochs as
        ``(1 + cos(pi * epoch / max_iter)) / 2``. A cosine schedule that
        runs all ``max_iter`` epochs has finished by design, so it raises no
        ConvergenceWarning.
    learning_rate_init : float, default=0.001
        Initial learning rate of the stochastic solvers ("sgd", "adam",
        "adamw").
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
        only. A validation score that is not finite (NaN, infinite) counts as
        no improvement; if no epoch of a fit scored a finite value, the last
        epoch's weights are kept, with a ConvergenceWarning that says so (never
        the untrained ones), and if a warm start never beat the earlier fits'
        best, that best is restored, with a warning too. A validation set of
        fewer than 2 samples, or whose weights sum to zero, is refused before
        training.
    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping.
    beta_1 : float, default=0.9
        Decay rate of the first moment estimates of "adam" and "adamw", in [0, 1).
    beta_2 : float, default=0.999
        Decay rate of the second moment estimates of "adam" and "adamw", in [0, 1).
    epsilon : float, default=1e-8
        Numerical-stability term of "adam" and "adamw".
    n_iter_no_change : int, default=10
        Epochs without ``tol`` improvement before stopping (stochastic solvers).
    max_fun : int, default=15000
        Maximum number of loss evaluations of L-BFGS.
    dtype : {"float32", "float64"} or None, default=None
        The floating-point type the network trains and predicts in. None
        follows the input, as scikit-learn does: float32 input trains in
        float32, anything else in float64; a DataFrame is float32 input when
        ``np.result_type`` of its columns is float32, whatever their kind
        (pandas' ``Float32`` and ``float32[pyarrow]``, polars' ``Float32``). "float32" halves memory and about
        halves training time, even behind a float64 step such as
        StandardScaler. (Not in scikit-learn.)
    max_grad_norm : float or None, default=None
        If set, every minibatch gradient (of the whole flat parameter vector)
        whose Euclidean norm exceeds it is scaled down to that norm before the
        optimizer's step. Stochastic solvers only. (Not in scikit-learn.)
    warmup_iter : int, default=0
        Linear learning-rate warm-up: the first ``warmup_iter`` epochs use
        ``rate * (epoch + 1) / warmup_iter``; a "cosine" schedule then anneals
        over the remaining epochs. Stochastic solvers only. (Not in
        scikit-learn.)
    dropout : float or array-like of shape (n_layers - 2,), default=0.0
        Inverted dropout on the hidden layers while training: each hidden
        unit's output is set to 0 with this probability (one rate for every
        hidden layer, or one per layer, each in [0, 1)) and the kept ones are
        scaled by ``1 / (1 - rate)``; off when predicting. The masks are a
        hash of the sample, the unit and the step, so a sample weight of 2
        trains exactly as two copies. Stochastic solvers only. (Not in
        scikit-learn.)
    scoring : str, callable or None, default=None
        The validation score that early stopping watches and that
        ``validation_scores_`` and ``history_`` record: None for the
        estimator's own (accuracy, R^2), "loss" for minus the validation
        loss, a scikit-learn scorer name ("f1_macro", "neg_log_loss", ...),
        or a callable ``scorer(estimator, X, y)``, which is passed
        ``sample_weight`` only if it takes it. Greater is better. (Not in
        scikit-learn.)"""

ATTRIBUTES_DOC = """    loss_ : float
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
        The validation score (as ``scoring`` says; by default accuracy or
        R^2) after each epoch, with early stopping; else None.
    best_validation_score_ : float or None
        The best of ``validation_scores_``, with early stopping; else None.
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
        Number of output units.
    history_ : pandas.DataFrame
        One row per epoch (L-BFGS: per iteration), over every fit: ``epoch``,
        ``train_loss``, ``val_loss`` and ``val_score`` (with a validation
        set), ``learning_rate``, ``elapsed_s``. (Not in scikit-learn.)"""


# partial_fit's docstring after its own parameters: the validation set, Returns, Notes and an epoch loop
PARTIAL_FIT_DOC = """        X_val, y_val : array-like, default=None
            A validation set, checked as ``fit`` checks it (the features of
            X; a classifier's labels among ``classes_``). After this call's
            epoch, its loss and score (as ``scoring`` says) go into that
            epoch's row of ``history_``, so that an epoch loop draws a
            validation curve. Keyword only. Inside a meta-estimator, route
            it with ``set_partial_fit_request(X_val=True, y_val=True)``.
        sample_weight_val : array-like of shape (n_val_samples,), default=None
            Weights of the validation samples (with ``X_val`` only).

        Returns
        -------
        self : object
            The updated estimator.

        Notes
        -----
        The validation set is recorded, never acted on: ``partial_fit``
        does not stop early or restore weights (``early_stopping=True`` is
        refused, as by scikit-learn's partial_fit), ``validation_scores_``
        stays None, and the weights are the same, bit for bit, with or
        without it. A call without one leaves NaN in its row's ``val_loss``
        and ``val_score``. The validation set may change from call to call.

        Examples
        --------
        The epoch loop, with a validation curve in ``history_``:

%(example)s"""

PARTIAL_FIT_EXAMPLES = {
    "classifier": """\
        >>> import numpy as np
        >>> from sklearn.datasets import load_digits
        >>> from skscratch import MLPScratchClassifier
        >>> X, y = load_digits(return_X_y=True)
        >>> X_train, y_train, X_val, y_val = X[:1500] / 16, y[:1500], X[1500:] / 16, y[1500:]
        >>> model = MLPScratchClassifier(hidden_layer_sizes=(32,), learning_rate_init=0.01, random_state=0)
        >>> for epoch in range(3):
        ...     model = model.partial_fit(X_train, y_train, classes=np.arange(10), X_val=X_val, y_val=y_val)
        >>> history = model.history_  # history.plot(x="epoch", y=["train_loss", "val_loss"])
        >>> history[["epoch", "val_loss", "val_score"]].round(2)
           epoch  val_loss  val_score
        0      1      1.69       0.53
        1      2      1.13       0.75
        2      3      0.75       0.84""",
    "regressor": """\
        >>> from sklearn.datasets import make_regression
        >>> from skscratch import MLPScratchRegressor
        >>> X, y = make_regression(n_samples=300, n_features=5, noise=1.0, random_state=0)
        >>> y = y / y.std()
        >>> X_train, y_train, X_val, y_val = X[:200], y[:200], X[200:], y[200:]
        >>> model = MLPScratchRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.05, random_state=0)
        >>> for epoch in range(3):  # the second epoch without a validation set
        ...     validation = dict(X_val=X_val, y_val=y_val) if epoch != 1 else {}
        ...     model = model.partial_fit(X_train, y_train, **validation)
        >>> model.history_[["epoch", "val_loss", "val_score"]].round(2)
           epoch  val_loss  val_score
        0      1       0.3       0.42
        1      2       NaN        NaN
        2      3       0.1       0.80""",
}


def fill_partial_fit_docstring(estimator: str) -> Callable[[_Method], _Method]:
    """Decorate ``partial_fit``: fill its ``%(validation)s`` with ``PARTIAL_FIT_DOC`` and the estimator's example.

    ``estimator`` is "classifier" or "regressor". It goes below the other
    decorators, which copy the docstring they are given.
    """
    doc = PARTIAL_FIT_DOC.replace("%(example)s", PARTIAL_FIT_EXAMPLES[estimator])

    def fill(method: _Method) -> _Method:  # typed: the method keeps its signature for type checkers
        method.__doc__ = (method.__doc__ or "").replace("%(validation)s", doc)
        return method

    return fill


def fill_docstring(cls):
    """Put the shared parameter and attribute sections into ``cls.__doc__``."""
    cls.__doc__ = cls.__doc__.replace("%(parameters)s", PARAMETERS_DOC).replace("%(attributes)s", ATTRIBUTES_DOC)
    return cls
