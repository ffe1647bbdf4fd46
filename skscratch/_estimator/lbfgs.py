"""The L-BFGS path: SciPy's L-BFGS-B on the full batch, as scikit-learn's MLP runs it.

SciPy works in float64 on one flat vector; the network's flat parameter
vector is exactly that (in its own dtype), so each evaluation copies the
point into it, runs one forward and backward pass, and hands back the loss
and the gradient.
"""

import time
import warnings

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from .guards import raise_non_finite
from .training import History


def fit_lbfgs(model, X, Y, sample_weight):
    """Minimise the loss of ``model``'s network on (X, Y) with L-BFGS-B, recording each iteration.

    Should the line search step to weights whose loss is not finite
    (extreme alpha or targets), the last finite iterate is kept, with a
    ConvergenceWarning: ``loss_`` is never NaN. A loss that is not finite at
    the starting weights raises a ValueError that names the input to blame.
    """
    started = time.perf_counter()
    params = model._get_flat_params()
    grads = np.empty_like(params)
    history = History(model._history)
    # the last finite iterate (the start until the first iteration)
    kept = {"loss": None, "params": params.copy(), "iterations": 0}

    def loss_and_grad(packed):
        params[...] = packed
        loss = model._loss_and_gradients(X, Y, sample_weight, grads)
        if kept["loss"] is None:  # the first evaluation, at the starting weights
            if not np.isfinite(loss):
                raise_non_finite(model, loss, X, Y, sample_weight, kept["params"])
            kept["loss"] = float(loss)
        return float(loss), grads.astype(np.float64)

    def record(intermediate_result):
        # called once per L-BFGS iteration (SciPy >= 1.11 passes the result)
        loss = float(intermediate_result.fun)
        if not (np.isfinite(loss) and np.isfinite(intermediate_result.x).all()):
            return
        kept.update(loss=loss, params=intermediate_result.x.astype(params.dtype),
                    iterations=kept["iterations"] + 1)
        model.loss_curve_.append(loss)
        history.new_epoch()
        history.record(train_loss=loss, learning_rate=np.nan, elapsed_s=time.perf_counter() - started)
        if model.verbose:
            print("Iteration %d, loss = %.8f" % (len(model.loss_curve_), loss))

    result = scipy.optimize.minimize(
        loss_and_grad,
        params.astype(np.float64),
        method="L-BFGS-B",
        jac=True,
        callback=record,
        options={"maxfun": model.max_fun, "maxiter": model.max_iter, "gtol": model.tol},
    )
    params[...] = result.x
    model.n_iter_ = min(result.nit, model.max_iter)
    model.loss_ = float(result.fun)
    if not (np.isfinite(model.loss_) and np.isfinite(params).all()):
        params[...] = kept["params"]
        model.n_iter_, model.loss_ = kept["iterations"], kept["loss"]
        warnings.warn(
            f"L-BFGS stepped to weights where the loss is {result.fun} ({result.message}); "
            f"the weights of its last finite iterate ({model.n_iter_}, loss {model.loss_:.4g}) "
            "were kept. The input data may contain large values and need to be "
            f"preprocessed, or alpha (now {model.alpha:g}) may be too large.",
            ConvergenceWarning,
        )
    model.best_loss_ = min(model.loss_curve_ or [model.loss_])
    if result.status != 0 and np.isfinite(result.fun):
        _warn_not_converged(model, result)


def _warn_not_converged(model, result):
    """scikit-learn's warning when L-BFGS stops before converging, with SciPy's reason."""
    message = (
        f"lbfgs failed to converge after {model.n_iter_} iteration(s) "
        f"(status={result.status}):\n{result.message}\n"
    )
    if model.n_iter_ == model.max_iter:
        message += (
            "\nIncrease the number of iterations to improve the "
            f"convergence (max_iter={model.max_iter})."
        )
    warnings.warn(message, ConvergenceWarning)
