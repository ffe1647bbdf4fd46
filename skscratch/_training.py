"""The stochastic training loop (sgd, adam, adamw): epochs, minibatches, the stopping rule, history.

One fit is one :class:`StochasticTraining`: the state that lives for that fit
alone (the gradient buffers, the weights at the start of the epoch, the
shuffled order, the dropout seed) is on it, not on the estimator. What
outlives the fit (the weights, the optimizer, ``loss_curve_``, the stopping
rule's counters, the history) is on the estimator, which saves it.

An epoch reads as named steps::

    shuffle -> for each minibatch: dropout masks -> forward, loss, backward
    -> clip -> optimizer step -> divergence guard -> record -> callbacks
    -> stopping rule

The network, X and the arrays its passes need (Y, the sample weights, the
minibatch indices, the dropout masks) are in the network's namespace: NumPy,
or another array library on its device. The records, the shuffled order and
the dropout draws are NumPy, on the host, so a seed gives the same fit on
every device.
"""

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import gen_batches
from sklearn.utils import shuffle as shuffle_indices

from . import _array_api as seam
from . import _guards, _parallel
from ._activations import activation_fault
from ._dropout import _row_keys, dropout_masks


class History:
    """The rows behind ``history_``, one per epoch: ``new_epoch()``, then ``record(key=value, ...)``.

    ``rows`` is the estimator's own list (pickles and the safe format keep
    it), which this appends to.
    """

    COLUMNS = ["epoch", "train_loss", "val_loss", "val_score", "learning_rate", "elapsed_s"]

    def __init__(self, rows):
        self.rows = rows

    def new_epoch(self):
        self.rows.append({"epoch": len(self.rows) + 1})

    def record(self, **values):
        self.rows[-1].update(values)

    def frame(self):
        """The rows as a DataFrame; without validation columns if no epoch had validation data."""
        import pandas as pd  # here, not at the top: fit, predict, save and load never need pandas

        frame = pd.DataFrame(self.rows, columns=self.COLUMNS)
        if frame["val_loss"].isna().all():
            frame = frame.drop(columns=["val_loss", "val_score"])
        return frame

    def __repr__(self):
        return f"History({len(self.rows)} epochs)"


def clip_norm(grads, max_norm, xp=np):
    """Scale ``grads`` in place so that its Euclidean norm is at most ``max_norm``."""
    norm = xp.sqrt(seam.dot(xp, grads, grads))
    if norm > max_norm:
        grads *= max_norm / norm


def batch_size_for(batch_size, n_samples):
    """The minibatch size: "auto" is min(200, n_samples); larger than the data, clipped (with a warning)."""
    if batch_size == "auto":
        return min(200, n_samples)
    if batch_size > n_samples:
        warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
    return int(np.clip(batch_size, 1, n_samples))


class StochasticTraining:
    """One fit with a stochastic solver.

    Parameters
    ----------
    model : BaseMLPScratch
        The estimator, initialised; its weights, optimizer and records are updated in place.
    X, Y, sample_weight : arrays
        The training rows (in the network's namespace), their encoded targets
        and weights (or None), NumPy arrays.
    validation : ValidationSet or None
    scorer : None, "loss" or callable
        How validation is scored (see ``_validation.resolve_scorer``).
    dropout : list of float
        The dropout rate of each hidden layer.
    random_state : numpy.random.RandomState
    incremental : bool
        A ``partial_fit``: one epoch, the optimizer carried on.
    callbacks : callback context or None, callback_metadata : dict or None
        scikit-learn's callback API: the fit's context, each epoch a subtask.
    y : array
        The targets as given (for the callbacks).
    """

    def __init__(self, model, X, Y, sample_weight, validation, scorer, dropout, random_state, incremental,
                 callbacks=None, callback_metadata=None, y=None):
        self.model, self.X, self.Y, self.sample_weight = model, X, Y, sample_weight
        self.validation, self.scorer, self.dropout = validation, scorer, dropout
        self.random_state, self.incremental = random_state, incremental
        self.callbacks, self.callback_metadata, self.y = callbacks, callback_metadata, y
        self.params = model._get_flat_params()
        self.xp = xp = seam.array_namespace(self.params)
        # the host's arrays, for the records; the network's copies, for its passes
        self.Y_host, self.sw_host = Y, sample_weight
        if xp is not np:
            device, dtype = seam.device(self.params), seam.numpy_dtype(self.params.dtype)
            Y, sample_weight = (seam.to_device(a, xp, device, dtype) for a in (Y, sample_weight))
            self.Y, self.sample_weight = Y, sample_weight
        if not incremental or model._optimizer is None:
            model._optimizer = model._new_optimizer(self.params)
        self._carry_over_stopping_state()
        self.batch_size = batch_size_for(model.batch_size, X.shape[0])
        layer_units = model._layer_units()
        self.n_threads = _parallel.training_threads(X, self.batch_size, self.params.shape[0])
        self.gradient = _parallel.ShardedGradient(self.params, layer_units, self.n_threads)
        self.sample_idx = np.arange(X.shape[0])
        self.last_good = seam.copy(xp, self.params)  # the weights at the start of the current epoch
        self.epoch_start_steps = model._n_steps
        self.started = time.perf_counter()
        self.hidden_units = layer_units[1:-1]
        self.dropping = any(dropout)
        self.dropout_seed = random_state.randint(2**31) if self.dropping else 0
        # another library's rows are hashed for dropout once, on the host (a row's key is its own)
        self.row_keys = _row_keys(seam.to_host(X), self.dropout_seed) if self.dropping and xp is not np else None
        self.history = History(model._history)
        # early stopping: epochs of this fit with a finite validation score, and whether one beat the best
        self.finite_scores, self.improved = 0, False
        self.batch_rows = None

    def _carry_over_stopping_state(self):
        """The stopping rule's records, made to fit this fit's mode after a warm start in another."""
        model = self.model
        if model.early_stopping:
            if model.validation_scores_ is None:  # warm start after a fit without it
                model.validation_scores_, model.best_validation_score_ = [], -np.inf
                model.best_loss_ = None
            if model._best_params is None:
                model._best_params = seam.copy(self.xp, self.params)
        elif model.best_loss_ is None:  # warm start after a fit with early stopping
            model.best_loss_ = np.inf

    def run(self):
        """Train epoch by epoch until max_iter, the stopping rule, divergence, a callback or Ctrl-C."""
        model = self.model
        try:
            with _parallel.threads_for_training(self.n_threads), np.errstate(over="ignore", invalid="ignore"):
                model.n_iter_ = 0
                for _ in range(model.max_iter):
                    if not self._epoch():
                        break
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        except Exception:  # raised mid-epoch (a user's activation or callback): back to the epoch's start
            if not bool(self.xp.all(self.params == self.last_good)):
                seam.copy_into(self.xp, self.params, self.last_good)
                model._optimizer = None  # its moments saw part of the epoch
            model._n_steps = self.epoch_start_steps
            raise
        if model.n_iter_ == 0:  # no epoch completed: loss_ is that of the weights kept
            with np.errstate(over="ignore", invalid="ignore"):
                loss = model._objective(self.X, self.Y, self.sample_weight)
            if not np.isfinite(loss):  # some samples overflow even the weights kept
                _guards.raise_non_finite(model, loss, self.X, self.Y_host, self.sw_host, self.params)
            model.loss_ = loss
        if model.early_stopping:
            self._keep_best()

    def _keep_best(self):
        """Early stopping's end: the best epoch's weights, or the last ones, saying why, if none was best.

        The best weights start as a copy of the weights this fit started
        with. They are restored only if an epoch of this fit beat the best
        score, or if no epoch ended (divergence in the first, Ctrl-C: already
        said). A fit whose validation score was never finite keeps its last
        weights, never the untrained ones, and warns; a warm start whose
        epochs never beat the earlier fits' best restores that best, and
        warns.
        """
        model, xp = self.model, self.xp
        epochs = model.n_iter_
        if self.improved or epochs == 0:
            seam.copy_into(xp, self.params, model._best_params)
        elif self.finite_scores == 0:
            seam.copy_into(xp, model._best_params, self.params)
            warnings.warn(
                f"Early stopping could not choose an epoch: the validation score was not finite in any of "
                f"the {epochs} epochs (the last: {model.validation_scores_[-1]}): a scorer that returns NaN, or "
                "a network that overflows on the validation data. The weights of the last epoch are kept, "
                "not the best on validation. Check X_val, y_val and scoring.",
                ConvergenceWarning,
            )
        else:
            seam.copy_into(xp, self.params, model._best_params)
            warnings.warn(
                f"None of this fit's {epochs} epochs beat the best validation score so far, "
                f"{model.best_validation_score_:.6g}, reached before it (warm_start=True): the weights that "
                "scored it were restored, so this fit left the network as it was.",
                ConvergenceWarning,
            )

    def _epoch(self):
        """One epoch; returns whether training goes on."""
        model = self.model
        if model.shuffle:
            self.sample_idx = shuffle_indices(self.sample_idx, random_state=self.random_state)
        seam.copy_into(self.xp, self.last_good, self.params)
        self.epoch_start_steps = model._n_steps
        epoch_context = None
        if self.callbacks is not None:  # each epoch is a subtask
            epoch_context = self.callbacks.subcontext(task_name="epoch")
            epoch_context.call_on_fit_task_begin(estimator=model, X=self.X, y=self.y,
                                                 metadata=self.callback_metadata)
        loss, end_loss = self._train_minibatches()
        for checked in (loss, end_loss):
            if _guards.has_diverged(checked, self.params, model._initial_loss):
                fault = self._activation_fault()  # at the weights that blew up, before they are restored
                seam.copy_into(self.xp, self.params, self.last_good)
                model._optimizer = None  # its moments saw the blow-up: start afresh
                _guards.warn_diverged(len(model.loss_curve_) + 1, checked, model._initial_loss,
                                      model.learning_rate_init, fault)
                return False
        val_score = self._record(loss)
        self._update_no_improvement_count(val_score)  # before the callbacks, which may stop training
        if epoch_context is not None and epoch_context.call_on_fit_task_end(
            estimator=model, X=self.X, y=self.y, metadata=self.callback_metadata,
            reconstruction_attributes=model._reconstruction(),
        ):  # fmt: skip
            return False  # a callback asked to stop
        return not self._should_stop()

    def _train_minibatches(self):
        """Forward, backward and a step on every minibatch; the epoch's loss, and the end weights' loss.

        The epoch's loss is the mean of the minibatches' losses, each weighted
        by its samples' total weight (minibatches of weight 0 are skipped). A
        minibatch's loss is that of the weights before its step, so the
        weights the epoch ends with are checked apart: their loss on the last
        minibatch (a forward pass). A minibatch whose loss is not finite ends
        the epoch with that loss.
        """
        model, X, Y, params, xp = self.model, self.X, self.Y, self.params, self.xp
        accumulated_loss, trained_weight, last = 0.0, 0.0, None
        order = self.sample_idx if xp is np else xp.asarray(self.sample_idx, device=seam.device(params))
        for batch in gen_batches(X.shape[0], self.batch_size):
            idx = self.sample_idx[batch] if model.shuffle else batch  # on the host
            rows = order[batch] if model.shuffle else batch  # in the network's namespace
            sw_host = None if self.sw_host is None else self.sw_host[idx]
            batch_weight = batch.stop - batch.start if sw_host is None else float(sw_host.sum())
            if not batch_weight > 0:
                continue  # samples of weight 0 teach nothing
            sw = sw_host if xp is np else seam.rows(xp, self.sample_weight, rows)
            # forward, loss and backward
            masks = None  # no copy of the batch's rows unless dropout hashes them
            if self.dropping:
                masks = self._dropout_masks(idx)
            model._n_steps += 1
            batch_loss = self.gradient(model._loss_and_gradients, X, Y, rows, sw, model._l2, masks)
            self.batch_rows = rows  # the minibatch the weights were last checked on
            if not np.isfinite(batch_loss):
                if model.n_iter_ == 0:  # later epochs saw every sample pass
                    self._check_input_is_to_blame(rows, idx, sw)
                return float(batch_loss), None  # the weights diverged
            if model._initial_loss is None:
                model._initial_loss = batch_loss
            accumulated_loss += batch_loss * batch_weight
            trained_weight += batch_weight
            # update
            if model.max_grad_norm is not None:
                clip_norm(self.gradient.grads, model.max_grad_norm, xp)
            model._optimizer.update_params(params, self.gradient.grads)
            last = (rows, sw)
        end_loss = None if last is None else model._loss(seam.rows(xp, X, last[0]), seam.rows(xp, Y, last[0]), last[1])
        return float(accumulated_loss) / trained_weight if trained_weight else float(accumulated_loss), end_loss

    def _activation_fault(self):
        """What a user's activation made of the last minibatch's finite pre-activations, if not finite; else None.

        Training blew up: a NaN from the function was refused as it came, but
        an infinity may be an honest overflow (exp of a large Z), so it is
        named here, with its Z, in the warning that reports the divergence.
        """
        model = self.model
        if self.batch_rows is None:
            return None
        X = seam.rows(self.xp, self.X, self.batch_rows)
        fault = activation_fault(model.activation, X, model.coefs_, model.intercepts_, self.xp)
        return None if fault is None else fault[1]

    def _dropout_masks(self, idx):
        """The minibatch's dropout masks, hashed on the host, in the network's namespace."""
        xp, dtype = self.xp, seam.numpy_dtype(self.params.dtype)
        keys = None if self.row_keys is None else self.row_keys[idx]
        masks = dropout_masks(self.X[idx] if keys is None else None, self.dropout, self.hidden_units,
                              step=self.model._n_steps, seed=self.dropout_seed, dtype=dtype, keys=keys)
        if xp is np or masks is None:
            return masks
        return [seam.to_device(m, xp, seam.device(self.params)) for m in masks]

    def _check_input_is_to_blame(self, rows, idx, sample_weight):
        """A minibatch's loss in the first epoch is not finite: is the input to blame?

        The weights this epoch started with are restored. If the minibatch's
        loss is not finite even with them, the input overflows the network: a
        ValueError that names the culprit. Otherwise the weights diverged
        during this epoch, which the caller handles. (In a later epoch every
        sample has passed through the network before, so a non-finite loss
        there is always divergence.)
        """
        model, xp = self.model, self.xp
        seam.copy_into(xp, self.params, self.last_good)
        X, Y = seam.rows(xp, self.X, rows), seam.rows(xp, self.Y, rows)
        loss = model._loss_and_gradients(X, Y, sample_weight, xp.empty_like(self.params))
        if not np.isfinite(loss):
            model._optimizer = None
            sw_host = None if self.sw_host is None else self.sw_host[idx]
            _guards.raise_non_finite(model, loss, X, self.Y_host[idx], sw_host, self.last_good)

    def _record(self, loss):
        """The epoch's records: loss_, loss_curve_, t_, the validation metrics, history. Its val score."""
        model = self.model
        model.n_iter_ += 1
        model.loss_ = loss
        model.t_ += self.X.shape[0]
        model.loss_curve_.append(loss)
        self.history.new_epoch()
        self.history.record(train_loss=loss)
        val_score = None
        if self.validation is not None:
            val_loss, val_score = model._validation_metrics(self.validation, self.scorer)
            self.history.record(val_loss=val_loss, val_score=val_score)
        self.history.record(learning_rate=model._optimizer.rate, elapsed_s=time.perf_counter() - self.started)
        if model.verbose:
            print("Iteration %d, loss = %.8f" % (model.n_iter_, model.loss_))
        return val_score

    def _should_stop(self):
        """The stopping rule, after an epoch: no improvement for n_iter_no_change epochs, or max_iter."""
        model = self.model
        model._optimizer.iteration_ends(model.t_)
        if model._no_improvement_count > model.n_iter_no_change:
            watched = "Validation score" if model.early_stopping else "Training loss"
            msg = "%s did not improve more than tol=%f for %d consecutive epochs." % (
                watched, model.tol, model.n_iter_no_change)
            if model._optimizer.trigger_stopping(msg, model.verbose):
                return True
            model._no_improvement_count = 0
        if self.incremental:
            return True
        if model.n_iter_ == model.max_iter and model.learning_rate != "cosine":
            warnings.warn(
                "Stochastic Optimizer: Maximum iterations (%d) reached and "
                "the optimization hasn't converged yet." % model.max_iter,
                ConvergenceWarning,
            )
        return False

    def _update_no_improvement_count(self, score):
        """Count the epochs without a ``tol`` improvement; keep the best weights with early stopping.

        A validation score that is not finite (NaN, infinite) is no improvement.
        """
        model = self.model
        if model.early_stopping:
            model.validation_scores_.append(score)
            if model.verbose:
                print("Validation score: %f" % score)
            if not np.isfinite(score):
                model._no_improvement_count += 1
                return
            self.finite_scores += 1
            if score < model.best_validation_score_ + model.tol:
                model._no_improvement_count += 1
            else:
                model._no_improvement_count = 0
            if score > model.best_validation_score_:
                model.best_validation_score_ = score
                seam.copy_into(self.xp, model._best_params, self.params)
                self.improved = True
        else:
            if model.loss_curve_[-1] > model.best_loss_ - model.tol:
                model._no_improvement_count += 1
            else:
                model._no_improvement_count = 0
            if model.loss_curve_[-1] < model.best_loss_:
                model.best_loss_ = model.loss_curve_[-1]
