"""The training of a tabular MLP: a fixed number of epochs on schedules, then the best epoch's weights.

RealMLP trains for ``max_iter`` epochs whatever happens, with the learning
rate, the dropout rate and the weight decay following their schedules step
by step (``skscratch.nn.schedules``), and keeps the weights of the last of
the epochs with the best validation score. An epoch reads::

    for each minibatch: schedules -> forward and backward -> optimizer step
    -> validation score -> record -> keep the weights if best

A loss that is not finite stops training: the weights go back to the best
epoch's (or the last finite ones, without validation data), and a
ConvergenceWarning says so.
"""

import copy
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._engine import dispatch
from .._engine import parallel as _parallel
from ..nn.layers import Dropout
from ..nn.network import Network
from ..nn.schedules import SCHEDULES


class TabularTraining:
    """One fit's training: the network, the data, the optimizer and the schedules.

    Parameters
    ----------
    model : BaseTabularMLP
        Its parameters (``max_iter``, ``batch_size``, schedules ...) and its
        hooks ``_validation_score(Z, Y_val, sample_weight_val)``.
    network : skscratch.nn.Network
    optimizer : skscratch.nn.AdamW
    X, Y, sample_weight : the training rows (Y as the loss takes it)
    validation : tuple (X_val, y_val, sample_weight_val) or None
    random_state : numpy.random.RandomState
    callbacks : object with ``begin_epoch()`` and ``end_epoch(network) -> stop``, or None
        scikit-learn's callbacks, each epoch a subtask (see ``tabular._Callbacks``).
    """

    def __init__(self, model, network, optimizer, X, Y, sample_weight, validation, random_state, callbacks=None):
        self.model, self.network, self.optimizer, self.callbacks = model, network, optimizer, callbacks
        self.X, self.Y, self.sample_weight, self.validation = X, Y, sample_weight, validation
        self.random_state = random_state
        self.batch_size = min(model.batch_size, X.shape[0])
        self.n_batches = -(-X.shape[0] // self.batch_size)
        self.n_steps = model.max_iter * self.n_batches
        self.step = 0
        # the rows of a batch split over threads, each with a network of its own over the same weights
        # (a tabular network's elementwise layers cost as much as its products: threads pay earlier)
        self.n_threads = _parallel.training_threads(
            X, self.batch_size, max(network.n_params, _parallel.MIN_WORK_PER_BATCH // self.batch_size + 1))
        self._bound = False
        self.gradient = _parallel.ShardedGradient(network.params, self.n_threads, self._network_for)
        self.dropouts = [layer for net in self.gradient.networks for layer in net.layers
                         if isinstance(layer, Dropout)]
        self.widths = self._dropout_widths(network)
        self.mask_rng = np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
        self.lr_schedule = SCHEDULES[model.lr_schedule]
        self.dropout_schedule = SCHEDULES[model.dropout_schedule]
        self.decay_schedule = SCHEDULES[model.weight_decay_schedule]
        self.rows = []  # history_, one dict per epoch
        self.best_score, self.best_epoch, self.best_params = -np.inf, 0, None
        self.kept_epoch = None  # the epoch whose weights the model keeps (0: the initial ones)
        self.done = 0  # whole epochs, their weights saved

    def _network_for(self, grads):
        """A network over the weights, its gradient into ``grads``: the model's own for the first thread,
        copies of its layers (settings, not parameters) for the others."""
        if not self._bound:
            self._bound = True
            return self.network.bind(self.network.params, grads)
        layers = [copy.deepcopy(layer) for layer in self.network.layers]  # (a layer's copy holds no views)
        return Network(layers, self.network.output).bind(self.network.params, grads)

    @staticmethod
    def _dropout_widths(network):
        """The width of the activations each Dropout layer drops."""
        widths, width = [], None
        for layer in network.layers:
            width = getattr(layer, "n_out", width)
            if isinstance(layer, Dropout):
                widths.append(width)
        return widths

    def _dropout_masks(self, n_rows, rate, dtype):
        """One mask per Dropout layer for a batch: 0, or 1 / (1 - rate) with probability 1 - rate.

        A unit is dropped when a uniform 16-bit integer falls below ``rate * 2^16``
        (rounded): the rate to 1/65536, at half the cost of a float draw.
        """
        threshold = round(rate * 2**16)
        if not threshold:
            return None
        scale = dtype.type(2**16 / (2**16 - threshold))  # 1 / (1 - the rate as drawn)
        masks = []
        for width in self.widths:
            mask = (self.mask_rng.integers(0, 2**16, (n_rows, width), dtype=np.uint16) >= threshold).astype(dtype)
            mask *= scale
            masks.append(mask)
        return masks

    def run(self):
        """Train ``max_iter`` epochs (or until the loss stops being finite); end with the best weights."""
        with _parallel.threads_for_training(self.n_threads):
            return self._run()

    def _run(self):
        start = time.perf_counter()
        last_good = self.network.params.copy()  # the weights at the end of the last whole epoch
        self.kept = {0: last_good.copy(), 1: None}  # the initial weights, and the epoch before last_good's
        try:
            for epoch in range(1, self.model.max_iter + 1):
                if self.callbacks is not None:
                    self.callbacks.begin_epoch()
                loss = self._epoch()
                if not np.isfinite(loss):
                    self._diverged(epoch, last_good)
                    break
                score = self._validation_score()
                self._record(epoch, loss, score, time.perf_counter() - start)
                if score is not None and score >= self.best_score:  # ties: the later epoch
                    best = self.network.params.copy()  # (copied first: a Ctrl-C leaves no half-updated best)
                    self.best_params, self.best_score, self.best_epoch = best, score, epoch
                if epoch > 1:
                    self.kept[1] = (epoch - 1, last_good.copy())
                last_good[...] = self.network.params  # (one C call: a Ctrl-C comes before or after it)
                self.done = epoch  # last_good holds this epoch's weights
                if self.callbacks is not None and self.callbacks.end_epoch(self.network):
                    break  # a callback asked to stop
        except KeyboardInterrupt:
            self.network.params[...] = last_good  # not half an epoch: the last whole one
            del self.rows[self.done:]  # (a row recorded for an epoch whose weights were not kept)
            if self.best_epoch > self.done:
                self.best_params = None
            warnings.warn(f"Training interrupted by user after {self.done} epochs.", stacklevel=4)
        if self.best_params is not None and self.model.select_best_epoch:
            self.network.params[...] = self.best_params
            self.kept_epoch = self.best_epoch
        elif self.kept_epoch is None:  # the last whole epoch's weights
            self.kept_epoch = self.done
        for layer in self.dropouts:  # the rate as configured (the schedule ends at 0)
            layer.rate = self.model.dropout
        return self

    def _epoch(self):
        """One pass over the shuffled rows; the mean of the minibatches' losses (NaN once one is not finite)."""
        order = self.random_state.permutation(self.X.shape[0])
        total, trained, model = 0.0, 0, self.model
        for first in range(0, len(order), self.batch_size):
            rows = order[first:first + self.batch_size]
            t = self.step / self.n_steps  # the fraction of training done
            self.optimizer.rate = model.learning_rate_init * self.lr_schedule(t)
            self.optimizer.weight_decay = model.weight_decay * self.decay_schedule(t)
            rate = model.dropout * self.dropout_schedule(t)
            for layer in self.dropouts:
                layer.rate = rate
            masks = self._dropout_masks(len(rows), rate, self.X.dtype) if self.dropouts else None
            weights = None if self.sample_weight is None else self.sample_weight[rows]
            if weights is not None and not weights.sum() > 0:  # rows that all weigh 0: their loss is 0 / 0,
                self.step += 1  # and nothing to learn; skipped (the schedules keep time)
                continue
            # forward and backward (the rows shared among the threads)
            with np.errstate(over="ignore", invalid="ignore"):
                loss = self.gradient(self.X, self.Y, rows, weights, 0.0, masks)
            if not np.isfinite(loss) or not np.isfinite(self.gradient.grads).all():
                return np.nan
            # update
            with np.errstate(over="ignore", invalid="ignore"):  # (an overflow shows in the next loss)
                dispatch.update(self.optimizer, self.network.params, self.gradient.grads)
            self.step += 1
            total += loss * len(rows)
            trained += len(rows)
        return total / trained

    def _validation_score(self):
        """The validation score of the current weights (higher is better), or None without validation data."""
        if self.validation is None:
            return None
        X_val, Y_val, weights = self.validation
        with np.errstate(over="ignore", invalid="ignore"):  # weights on their way to diverging: no RuntimeWarning
            Z = self.model._logits_of(self.network, X_val)
        if not np.isfinite(Z).all():  # weights that cannot predict: NaN, never the best epoch's (NaN >= x is False)
            return np.nan
        return self.model._validation_score(Z, Y_val, weights)

    def _record(self, epoch, loss, score, elapsed):
        row = {"epoch": epoch, "train_loss": loss, "learning_rate": self.optimizer.rate, "elapsed_s": elapsed}
        if score is not None:
            row["val_score"] = score
        self.rows.append(row)
        if self.model.verbose:
            shown = "" if score is None else f", validation score = {score:.5f}"
            print(f"Epoch {epoch}, loss = {loss:.8f}{shown}")

    def _diverged(self, epoch, last_good):
        """The loss stopped being finite: keep the best weights, or the last ones that still predict; say so.

        The candidates, in order: the best epoch's (with ``select_best_epoch``),
        the last whole epoch's, the one before, the initial weights; the first
        whose outputs are finite on (up to 4096 of) the training rows is kept.
        The weights of the last epoch may be finite and still overflow on the
        very next batch.
        """
        candidates = []
        if self.best_params is not None and self.model.select_best_epoch:
            candidates.append((self.best_params, self.best_epoch, f"the weights of epoch {self.best_epoch}, the "
                                                                  "best on the validation data"))
        if epoch > 1:
            candidates.append((last_good, epoch - 1, f"the weights at the end of epoch {epoch - 1}"))
        if self.kept[1] is not None:
            candidates.append((self.kept[1][1], self.kept[1][0], f"the weights at the end of epoch {self.kept[1][0]}"))
        candidates.append((self.kept[0], 0, "the initial weights"))
        rows = self.X[:4096]
        for params, self.kept_epoch, kept in candidates:
            self.network.params[...] = params
            with np.errstate(all="ignore"):
                if np.isfinite(self.model._logits_of(self.network, rows)).all():
                    break
        else:
            kept += ", which overflow on some rows too"
        if self.best_params is not None and params is not self.best_params:
            self.best_params = None  # (run keeps these weights, not the best epoch's, which overflow)
        warnings.warn(
            f"Training diverged in epoch {epoch}: the loss stopped being finite (NaN or infinity). "
            f"The model keeps {kept}. Lower learning_rate_init, or scale the target.",
            ConvergenceWarning, stacklevel=4,
        )
