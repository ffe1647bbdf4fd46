"""The stochastic training loop (sgd, adam, adamw): epochs, minibatches, the stopping rule, history.

One fit is one :class:`StochasticTraining`: the state that lives for that fit
alone (the networks over the weights, the weights at the start of the epoch,
the dropout seed) is on it, not on the estimator. What outlives the fit (the
weights, the optimizer, ``loss_curve_``, the stopping rule's counters, the
history) is on the estimator, which saves it.

An epoch reads as named steps::

    for each minibatch (Minibatches: shuffled, already on the device):
        dropout masks -> forward and backward -> clip -> optimizer step
    -> divergence guard -> record -> callbacks -> stopping rule (StoppingRule)

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

from .._engine import array_api as seam
from . import guards as _guards
from .._engine import dispatch
from .._engine import parallel as _parallel
from .stopping import StoppingRule
from ..nn.activations import activation_fault
from ..nn.dropout import _row_keys, dropout_masks


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


class Minibatches:
    """An epoch's minibatches, in the network's namespace: ``for batch in minibatches.epoch()``.

    Each :class:`Batch` has its rows both ways: ``rows`` indexes the
    network's arrays (NumPy, or another library's on its device), ``idx``
    the host's (labels, weights, dropout keys). Shuffling draws from NumPy's
    ``random_state`` on the host, so a seed gives the same batches on every
    device. Minibatches of total weight 0 are skipped: they teach nothing.
    """

    def __init__(self, n_samples, batch_size, shuffle, random_state, sample_weight, sample_weight_host, params):
        self.n_samples, self.batch_size, self.shuffle = n_samples, batch_size, shuffle
        self.random_state, self.sample_weight, self.sample_weight_host = random_state, sample_weight, sample_weight_host
        self.xp, self.params = seam.array_namespace(params), params
        self.order = np.arange(n_samples)

    def epoch(self):
        """The minibatches of the next epoch: shuffled now (with ``shuffle``), handed out as they are used."""
        if self.shuffle:
            self.order = shuffle_indices(self.order, random_state=self.random_state)
        return self._batches(self.order)

    def _batches(self, order_host):
        xp = self.xp
        order = order_host if xp is np else xp.asarray(order_host, device=seam.device(self.params))
        for batch in gen_batches(self.n_samples, self.batch_size):
            idx = order_host[batch] if self.shuffle else batch  # on the host
            rows = order[batch] if self.shuffle else batch  # in the network's namespace
            sw_host = None if self.sample_weight_host is None else self.sample_weight_host[idx]
            weight = batch.stop - batch.start if sw_host is None else float(sw_host.sum())
            if not weight > 0:
                continue
            sw = sw_host if xp is np else seam.rows(xp, self.sample_weight, rows)
            yield Batch(rows, idx, sw, sw_host, weight)


class Batch:
    """One minibatch: its ``rows`` (network's namespace), ``idx`` (host), weights both ways, total weight."""

    __slots__ = ("rows", "idx", "sample_weight", "sample_weight_host", "weight")

    def __init__(self, rows, idx, sample_weight, sample_weight_host, weight):
        self.rows, self.idx, self.weight = rows, idx, weight
        self.sample_weight, self.sample_weight_host = sample_weight, sample_weight_host


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
        How validation is scored (see ``validation.resolve_scorer``).
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
        self.stopping = StoppingRule.resume(model, self.params)
        self.batch_size = batch_size_for(model.batch_size, X.shape[0])
        self.minibatches = Minibatches(X.shape[0], self.batch_size, model.shuffle, random_state,
                                       self.sample_weight, self.sw_host, self.params)
        self.n_threads = _parallel.training_threads(X, self.batch_size, self.params.shape[0])
        self.dropping = any(dropout)
        self.gradient = _parallel.ShardedGradient(self.params, self.n_threads,
                                                  lambda grads: model._network(grads, dropout=self.dropping))
        self.last_good = seam.copy(xp, self.params)  # the weights at the start of the current epoch
        self.epoch_start_steps = model._n_steps
        self.started = time.perf_counter()
        self.hidden_units = model._layer_units()[1:-1]
        self.dropout_seed = random_state.randint(2**31) if self.dropping else 0
        # another library's rows are hashed for dropout once, on the host (a row's key is its own)
        self.row_keys = _row_keys(seam.to_host(X), self.dropout_seed) if self.dropping and xp is not np else None
        self.history = History(model._history)
        self.batch_rows = None

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
            self.stopping.save(model)  # (the press may have come between an epoch's count and its save)
        except Exception:  # raised mid-epoch (a user's activation or callback): back to the epoch's start
            if not bool(self.xp.all(self.params == self.last_good)):
                seam.copy_into(self.xp, self.params, self.last_good)
                model._optimizer = None  # its moments saw part of the epoch
            model._n_steps = self.epoch_start_steps
            raise
        if model.n_iter_ == 0:  # no epoch completed: loss_ is that of the weights kept
            with np.errstate(over="ignore", invalid="ignore"):
                loss = model._loss_in_chunks(self.X, self.Y, self.sample_weight)
            if not np.isfinite(loss):  # some samples overflow even the weights kept
                _guards.raise_non_finite(model, loss, self.X, self.Y_host, self.sw_host, self.params)
            model.loss_ = loss
        if model.early_stopping:
            self.stopping.keep_best(model.n_iter_)

    def _epoch(self):
        """One epoch; returns whether training goes on."""
        model = self.model
        batches = self.minibatches.epoch()
        seam.copy_into(self.xp, self.last_good, self.params)
        self.epoch_start_steps = model._n_steps
        epoch_context = None
        if self.callbacks is not None:  # each epoch is a subtask
            epoch_context = self.callbacks.subcontext(task_name="epoch")
            epoch_context.call_on_fit_task_begin(estimator=model, X=self.X, y=self.y,
                                                 metadata=self.callback_metadata)
        loss, end_loss = self._train_minibatches(batches)
        for checked in (loss, end_loss):
            if _guards.has_diverged(checked, self.params, model._initial_loss):
                fault = self._activation_fault()  # at the weights that blew up, before they are restored
                seam.copy_into(self.xp, self.params, self.last_good)
                model._optimizer = None  # its moments saw the blow-up: start afresh
                _guards.warn_diverged(len(model.loss_curve_) + 1, checked, model._initial_loss,
                                      model.learning_rate_init, fault)
                return False
        val_score = self._record(loss)
        self.stopping.update(loss, val_score)  # before the callbacks, which may stop training
        self.stopping.save(model)
        if epoch_context is not None and epoch_context.call_on_fit_task_end(
            estimator=model, X=self.X, y=self.y, metadata=self.callback_metadata,
            reconstruction_attributes=model._reconstruction(),
        ):  # fmt: skip
            return False  # a callback asked to stop
        return not self._should_stop()

    def _train_minibatches(self, batches):
        """Forward, backward and a step on every minibatch; the epoch's loss, and the end weights' loss.

        The epoch's loss is the mean of the minibatches' losses, each weighted
        by its samples' total weight. A minibatch's loss is that of the
        weights before its step, so the weights the epoch ends with are
        checked apart: their loss on the last minibatch (a forward pass). A
        minibatch whose loss is not finite ends the epoch with that loss.
        """
        model, params, xp = self.model, self.params, self.xp
        accumulated_loss, trained_weight, last = 0.0, 0.0, None
        for batch in batches:
            masks = self._dropout_masks(batch.idx) if self.dropping else None
            model._n_steps += 1
            # forward and backward
            loss = self.gradient(self.X, self.Y, batch.rows, batch.sample_weight, model._l2, masks)
            self.batch_rows = batch.rows  # the minibatch the weights were last checked on
            if not np.isfinite(loss):
                if model.n_iter_ == 0:  # later epochs saw every sample pass
                    self._check_input_is_to_blame(batch)
                return float(loss), None  # the weights diverged
            if model._initial_loss is None:
                model._initial_loss = loss
            accumulated_loss += loss * batch.weight
            trained_weight += batch.weight
            # clip, step
            if model.max_grad_norm is not None:
                clip_norm(self.gradient.grads, model.max_grad_norm, xp)
            dispatch.update(model._optimizer, params, self.gradient.grads)
            last = batch
        end_loss = None if last is None else model._loss(seam.rows(xp, self.X, last.rows),
                                                         seam.rows(xp, self.Y, last.rows), last.sample_weight)
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
        if model._layers_fitted():  # (told in a network of Dense layers and activations alone)
            return None
        fault = activation_fault(model.activation, X, model.coefs_, model.intercepts_, self.xp)
        return None if fault is None else fault[1]

    def _dropout_masks(self, idx):
        """The minibatch's dropout masks, hashed on the host, in the network's namespace."""
        xp, dtype = self.xp, seam.numpy_dtype(self.params.dtype)
        keys = None if self.row_keys is None else self.row_keys[idx]
        masks = dropout_masks(self.X[idx] if keys is None else None, self.dropout, self.hidden_units,
                              step=self.model._n_steps, seed=self.dropout_seed, dtype=dtype, keys=keys)
        if masks is None:
            return None
        masks = [m for m in masks if m is not None]  # one per Dropout layer (a rate of 0 has none)
        return masks if xp is np else [seam.to_device(m, xp, seam.device(self.params)) for m in masks]

    def _check_input_is_to_blame(self, batch):
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
        X, Y = seam.rows(xp, self.X, batch.rows), seam.rows(xp, self.Y, batch.rows)
        loss = model._loss_and_gradients(X, Y, batch.sample_weight, xp.empty_like(self.params))
        if not np.isfinite(loss):
            model._optimizer = None
            _guards.raise_non_finite(model, loss, X, self.Y_host[batch.idx], batch.sample_weight_host,
                                     self.last_good)

    def _record(self, loss):
        """The epoch's records: loss_, loss_curve_, t_, the validation metrics, history. Its val score."""
        model = self.model
        val_loss = val_score = None
        if self.validation is not None:  # first: a scorer that raises leaves no record of the epoch behind
            val_loss, val_score = model._validation_metrics(self.validation, self.scorer)
        model.n_iter_ += 1
        model.loss_ = loss
        model.t_ += self.X.shape[0]
        model.loss_curve_.append(loss)
        self.history.new_epoch()
        self.history.record(train_loss=loss)
        if self.validation is not None:
            self.history.record(val_loss=val_loss, val_score=val_score)
        self.history.record(learning_rate=model._optimizer.rate, elapsed_s=time.perf_counter() - self.started)
        if model.verbose:
            print("Iteration %d, loss = %.8f" % (model.n_iter_, model.loss_))
        return val_score

    def _should_stop(self):
        """After an epoch: the schedule's next rate; stop if training stalled (or for the "adaptive"
        schedule, lower the rate and go on), after a partial_fit's one epoch, or at max_iter."""
        model, optimizer = self.model, self.model._optimizer
        optimizer.iteration_ends(model.t_)
        stalled = self.stopping.stalled()
        if stalled:
            if optimizer.trigger_stopping(stalled, model.verbose):
                return True
            self.stopping.count = 0
            self.stopping.save(model)
        if self.incremental:
            return True
        if model.n_iter_ == model.max_iter and model.learning_rate != "cosine":
            warnings.warn(
                "Stochastic Optimizer: Maximum iterations (%d) reached and "
                "the optimization hasn't converged yet." % model.max_iter,
                ConvergenceWarning,
            )
        return False
