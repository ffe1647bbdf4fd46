"""scikit-learn's estimator checks on TabularMLPClassifier and TabularMLPRegressor, with no expected failures.

Two kinds of configuration, each small so that the checks run fast:

- the defaults (float32 training, dropout, best epoch on a validation split,
  data-dependent start, robust scaling), on small networks: every check but
  ``check_sample_weight_equivalence_on_dense_data``;
- the configuration in which the fitted weights are a deterministic function
  of the weighted rows (``DETERMINISTIC``): that check.

Why the sample-weight equivalence check cannot hold for the defaults: it fits
once with integer weights and once on the rows repeated (or removed, weight 0)
and wants the same predictions to rtol 1e-7. With the defaults,

- training runs in float32: the weighted and the repeated sums round
  differently, and 20 epochs of Adam amplify those last bits past 1e-7;
- the validation split draws rows by position: the weighted and the repeated
  data have different numbers of rows, so different rows (and a different
  best epoch) are held out, and held-out rows do not train;
- dropout draws one mask per row: a row with weight 2 gets one mask, its two
  copies get two;
- the data-dependent start (``data_init``) draws rows and takes unweighted
  standard deviations, and the robust scaling takes unweighted quartiles: a
  row counted twice moves them, a row weighted 2 does not.

``DETERMINISTIC`` switches each of these off (float64, no dropout, all rows
train and the last epoch is kept, the standard start, no scaling), and there
the check holds: the loss is the weighted mean, one full batch (the check's
data has fewer rows than a batch), the same number of steps.
"""

import pytest
from sklearn.utils.estimator_checks import (
    _get_check_estimator_ids,
    estimator_checks_generator,
)

from skscratch import TabularMLPClassifier, TabularMLPRegressor

SAMPLE_WEIGHT_EQUIVALENCE = "check_sample_weight_equivalence_on_dense_data"

DETERMINISTIC = dict(dtype="float64", dropout=0.0, select_best_epoch=False, data_init=False, numeric_scaling=None)

DEFAULT_ESTIMATORS = [
    # lr_schedule="cosine": check_class_weight_classifiers fits 1000 epochs (it sets max_iter, and
    # random_state=0) on 50 noisy rows with class_weight {0: 1000, others: 1e-4}, and wants > 87% of the
    # test rows predicted 0. The best epoch is picked on 10 validation rows, where every epoch gets the
    # class-0 rows right and the 1e-4-weight rows decide: with "coslog4" (learning rate 0 at the start,
    # first peak at 1/15 of training) an early epoch, still near the initial weights, may get one more of
    # them right and be kept, and its predictions are then only 50-86% class 0. Whether that happens is a
    # coin toss on the weights' draws, whatever the hidden sizes (with (64, 64) it failed for 3 of
    # random_state 0..7, random_state=0 among them in one version of the code and not in the next).
    # "cosine" starts at the full rate, and the early epochs already lean to class 0 (passes for every
    # random_state in 0..7).
    TabularMLPClassifier(hidden_layer_sizes=(64, 64), max_iter=20, lr_schedule="cosine", random_state=0),
    TabularMLPRegressor(hidden_layer_sizes=(32,), max_iter=20, random_state=0),
]

# numeric_scaling=None takes the checks' data as it comes, and the "categorical" input tag makes the checks
# pass it as integers 0..7: unscaled, the network needs more epochs to reach check_classifiers_train's
# accuracy (0.83) and check_regressors_train's R^2 (0.5) (40 and 80 epochs: about 0.92 and 0.72)
DETERMINISTIC_ESTIMATORS = [
    TabularMLPClassifier(hidden_layer_sizes=(64, 64), max_iter=40, random_state=0, **DETERMINISTIC),
    TabularMLPRegressor(hidden_layer_sizes=(32,), max_iter=80, random_state=0, **DETERMINISTIC),
]


def _name(check):
    return getattr(check, "func", check).__name__


def _run(estimator, check):
    """Run the check; a skip is a failure (conftest sets SCIPY_ARRAY_API, so even check_array_api_input runs)."""
    try:
        check(estimator)
    except pytest.skip.Exception as skip:
        raise AssertionError(f"{_name(check)} was skipped ({skip}); no check may skip") from None


def _default_checks():
    for estimator in DEFAULT_ESTIMATORS:
        for est, check in estimator_checks_generator(estimator):
            if _name(check) != SAMPLE_WEIGHT_EQUIVALENCE:
                yield est, check


@pytest.mark.parametrize("estimator, check", list(_default_checks()), ids=_get_check_estimator_ids)
def test_sklearn_checks_defaults(estimator, check):
    _run(estimator, check)


def _deterministic_checks():
    """The deterministic configurations exist for the one check the defaults leave out: they run that one.

    (Every other check runs on the defaults above; running them all again here cost a CI run 17 s.)
    """
    for estimator in DETERMINISTIC_ESTIMATORS:
        for est, check in estimator_checks_generator(estimator):
            if _name(check) == SAMPLE_WEIGHT_EQUIVALENCE:
                yield est, check


@pytest.mark.parametrize("estimator, check", list(_deterministic_checks()), ids=_get_check_estimator_ids)
def test_sklearn_checks_deterministic(estimator, check):
    _run(estimator, check)


def test_sample_weight_equivalence_is_checked():
    """The deterministic configurations run the sample-weight check that the defaults leave out."""
    names = [_name(check) for estimator in DETERMINISTIC_ESTIMATORS
             for _, check in estimator_checks_generator(estimator)]
    assert names.count(SAMPLE_WEIGHT_EQUIVALENCE) == len(DETERMINISTIC_ESTIMATORS)
    assert SAMPLE_WEIGHT_EQUIVALENCE not in [_name(check) for _, check in _default_checks()]
