"""The stopping rule of the stochastic solvers: scikit-learn's, and early stopping's best weights.

Without early stopping, the training loss must fall by ``tol`` at least once
in every ``n_iter_no_change + 1`` epochs; with it, the validation score must
rise by ``tol``, and the weights of the best score are kept and restored at
the end. Its counters outlive a fit (``warm_start``, ``partial_fit``): the
estimator saves them, under scikit-learn's names (``best_loss_``,
``validation_scores_``, ``best_validation_score_``) and its own
(``_no_improvement_count``, ``_best_params``). :meth:`StoppingRule.resume`
reads them at the start of a fit and :meth:`StoppingRule.save` writes them
back after every epoch: the only two places that touch them.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._engine import array_api as seam


class StoppingRule:
    """Counts the epochs without improvement, and keeps the best weights with early stopping.

    Parameters
    ----------
    early_stopping : bool
    tol : float
    n_iter_no_change : int
    params : ndarray
        The network's flat parameters (the best weights are a copy of them).
    verbose : bool
    """

    def __init__(self, early_stopping, tol, n_iter_no_change, params, verbose=False):
        self.early_stopping, self.tol, self.n_iter_no_change = early_stopping, tol, n_iter_no_change
        self.params, self.xp, self.verbose = params, seam.array_namespace(params), verbose
        self.count = 0  # epochs in a row without a tol improvement
        self.best_loss = np.inf  # without early stopping
        self.scores, self.best_score, self.best_params = None, None, None  # with it
        self.finite_scores, self.improved = 0, False  # in this fit: finite scores, and whether one beat the best

    @classmethod
    def resume(cls, model, params):
        """The rule with the model's saved counters, made to fit this fit's mode after a warm start in another."""
        rule = cls(model.early_stopping, model.tol, model.n_iter_no_change, params, model.verbose)
        rule.count, rule.best_loss = model._no_improvement_count, model.best_loss_
        rule.scores, rule.best_score, rule.best_params = (model.validation_scores_, model.best_validation_score_,
                                                          model._best_params)
        if rule.early_stopping:
            if rule.scores is None:  # warm start after a fit without it
                rule.scores, rule.best_score, rule.best_loss = [], -np.inf, None
            if rule.best_params is None:
                rule.best_params = seam.copy(rule.xp, params)
        elif rule.best_loss is None:  # warm start after a fit with early stopping
            rule.best_loss = np.inf
        rule.save(model)
        return rule

    def save(self, model):
        """Write the counters to the model, which saves them with its weights."""
        model._no_improvement_count, model.best_loss_ = self.count, self.best_loss
        model.validation_scores_, model.best_validation_score_ = self.scores, self.best_score
        model._best_params = self.best_params

    def update(self, loss, score):
        """After an epoch of training ``loss`` and validation ``score``: count it, keep the best weights.

        A validation score that is not finite (NaN, infinite) is no improvement.
        """
        if self.early_stopping:
            self.scores.append(score)
            if self.verbose:
                print("Validation score: %f" % score)
            if not np.isfinite(score):
                self.count += 1
                return
            self.finite_scores += 1
            self.count = self.count + 1 if score < self.best_score + self.tol else 0
            if score > self.best_score:
                self.best_score = score
                seam.copy_into(self.xp, self.best_params, self.params)
                self.improved = True
        else:
            self.count = self.count + 1 if loss > self.best_loss - self.tol else 0
            if loss < self.best_loss:
                self.best_loss = loss

    def stalled(self):
        """Whether training stopped improving: the message to say, or None."""
        if self.count <= self.n_iter_no_change:
            return None
        watched = "Validation score" if self.early_stopping else "Training loss"
        return "%s did not improve more than tol=%f for %d consecutive epochs." % (
            watched, self.tol, self.n_iter_no_change)

    def keep_best(self, epochs):
        """Early stopping's end: the best epoch's weights, or the last ones, saying why, if none was best.

        The best weights start as a copy of the weights this fit started
        with. They are restored only if an epoch of this fit beat the best
        score, or if no epoch ended (divergence in the first, Ctrl-C: already
        said). A fit whose validation score was never finite keeps its last
        weights, never the untrained ones, and warns; a warm start whose
        epochs never beat the earlier fits' best restores that best, and
        warns.
        """
        xp = self.xp
        if self.improved or epochs == 0:
            seam.copy_into(xp, self.params, self.best_params)
        elif self.finite_scores == 0:
            seam.copy_into(xp, self.best_params, self.params)
            warnings.warn(
                f"Early stopping could not choose an epoch: the validation score was not finite in any of "
                f"the {epochs} epochs (the last: {self.scores[-1]}): a scorer that returns NaN, or "
                "a network that overflows on the validation data. The weights of the last epoch are kept, "
                "not the best on validation. Check X_val, y_val and scoring.",
                ConvergenceWarning,
            )
        else:
            seam.copy_into(xp, self.params, self.best_params)
            warnings.warn(
                f"None of this fit's {epochs} epochs beat the best validation score so far, "
                f"{self.best_score:.6g}, reached before it (warm_start=True): the weights that "
                "scored it were restored, so this fit left the network as it was.",
                ConvergenceWarning,
            )
