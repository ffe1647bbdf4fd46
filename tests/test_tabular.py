"""TabularMLPClassifier and TabularMLPRegressor, attacked: messy tables, edge-case targets, weights, divergence,
persistence, reproducibility and threads.

Small fast fits on scikit-learn's bundled data. Exact (bit-for-bit) comparisons only between two fits in this
process (the same machine, the same code path); float results against anything else get a tolerance.
"""

import io
import pickle
import threading
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.utils._param_validation import InvalidParameterError

from skscratch import TabularMLPClassifier, TabularMLPRegressor

# fitting is a deterministic function of the weighted rows: float64, no dropout, every row trains and the last
# epoch is kept, the standard start, no scaling (see test_tabular_common.py)
DETERMINISTIC = dict(dtype="float64", dropout=0.0, select_best_epoch=False, data_init=False, numeric_scaling=None)


def small_classifier(**params):
    return TabularMLPClassifier(**{"hidden_layer_sizes": (32,), "max_iter": 15, "random_state": 0, **params})


def small_regressor(**params):
    return TabularMLPRegressor(**{"hidden_layer_sizes": (32,), "max_iter": 20, "random_state": 0, **params})


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="module")
def cancer_split(cancer):
    X, y = cancer
    return X.iloc[:400], y.iloc[:400], X.iloc[400:], y.iloc[400:]


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True, as_frame=True)


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return X.iloc[:300], y.iloc[:300], X.iloc[300:], y.iloc[300:]


def messy_frame(X, seed=0):
    """X's first numeric columns, with every kind of column a table has, and missing values everywhere."""
    rs = np.random.RandomState(seed)
    n = len(X)
    frame = X.iloc[:, :5].copy()
    frame.iloc[::13, 0] = np.nan
    frame.iloc[::17, 2] = None
    frame["color"] = pd.Categorical(rs.choice(["red", "green", "blue", None], n))
    frame["city"] = pd.Series(rs.choice(["grün", "東京", "Zürich", None, np.nan], n), dtype=object)
    frame["many"] = pd.Series([f"level {i}" if i % 7 else None for i in rs.randint(0, 30, n)], dtype=object)
    frame["flag"] = rs.uniform(size=n) > 0.5
    frame["count"] = pd.array([None if i % 5 == 0 else int(i) for i in rs.randint(0, 9, n)], dtype="Int64")
    frame["maybe"] = pd.array([pd.NA if i % 4 == 0 else bool(i % 2) for i in rs.randint(0, 8, n)],
                              dtype="boolean")
    frame["constant"] = 3.0
    frame["nothing"] = np.nan
    return frame


# ----------------------------------------------------------------------------------------------------------
# messy tables


def test_a_messy_frame_fits_and_predicts_without_warnings(cancer):
    X, y = cancer
    frame = messy_frame(X)
    model = small_classifier()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning of any kind: nothing here is unusual for a table
        model.fit(frame, y)
        P = model.predict_proba(frame)
        labels = model.predict(frame)
    assert P.shape == (len(frame), 2)
    assert np.isfinite(P).all() and (P >= 0).all()
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(labels, model.classes_[P.argmax(axis=1)])
    assert model.score(frame, y) > 0.85  # the numeric columns carry the signal
    kinds = dict(zip(frame.columns, model.preprocessor_.column_kinds_))
    assert kinds["color"] == "one_hot" and kinds["city"] == "one_hot" and kinds["many"] == "embedding"
    assert kinds["flag"] == "binary" and kinds["count"] == "numeric" and kinds["maybe"] == "one_hot"
    assert list(model.feature_names_in_) == list(frame.columns) and model.n_features_in_ == frame.shape[1]


def test_unseen_levels_and_missing_values_where_fit_had_none(cancer):
    X, y = cancer
    frame = messy_frame(X)
    model = small_classifier().fit(frame, y)
    new = frame.iloc[:40].copy()
    new["color"] = pd.Categorical(["purple"] * 40)  # a level never seen
    new["city"] = "Paris"
    new["many"] = "a level never seen"
    new["flag"] = None  # fit saw no missing value here
    new.iloc[:, 1] = np.nan  # nor in this numeric column
    new["constant"] = np.nan
    new["nothing"] = 5.0  # all missing in fit, a value now
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        P = model.predict_proba(new)
    assert np.isfinite(P).all()
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)


def test_a_polars_frame_fits_as_its_pandas_twin(cancer_split):
    pl = pytest.importorskip("polars")
    X_train, y_train, X_test, _ = cancer_split
    X_train = X_train.iloc[:, :6].assign(grade=np.where(X_train.iloc[:, 0] > 14, "high", "low"))
    X_test = X_test.iloc[:, :6].assign(grade=np.where(X_test.iloc[:, 0] > 14, "high", "low"))
    from_pandas = small_classifier().fit(X_train, y_train)
    from_polars = small_classifier().fit(pl.from_pandas(X_train), y_train.to_numpy())
    assert from_polars.preprocessor_.column_kinds_ == from_pandas.preprocessor_.column_kinds_
    assert list(from_polars.feature_names_in_) == list(X_train.columns)
    np.testing.assert_allclose(from_polars.predict_proba(pl.from_pandas(X_test)),
                               from_pandas.predict_proba(X_test), rtol=0, atol=1e-12)


def test_huge_values_at_fit_and_at_predict_give_finite_predictions(cancer):
    X, y = cancer
    huge = X.copy()
    huge.iloc[0, 0], huge.iloc[1, 1], huge.iloc[2, 2] = 1e300, -1e300, np.finfo(np.float64).max
    for model in (small_classifier(), small_classifier(numeric_scaling="standard"),
                  small_classifier(dtype="float64")):
        model.fit(huge, y)
        assert np.isfinite(model.predict_proba(huge)).all()
        assert np.isfinite(model.predict_proba(X * 1e300)).all()  # every value huge, at predict only
    regressor = small_regressor().fit(huge, X.iloc[:, 3])
    assert np.isfinite(regressor.predict(-X * 1e300)).all()


def test_huge_values_without_smooth_clip_leave_a_model_that_predicts_ordinary_rows(cancer):
    X, y = cancer
    huge = X.copy()
    huge.iloc[0, 0], huge.iloc[1, 1] = 1e300, -1e300  # clipped to float32's largest, then through the network
    model = small_classifier(smooth_clip=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (it may well diverge: the rows overflow float32)
        model.fit(huge, y)
    assert np.isfinite(model.network_.params).all()
    assert np.isfinite(model.predict_proba(X.iloc[2:])).all()


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinity_is_refused_naming_the_column(cancer, value):
    X, y = cancer
    bad = X.copy()
    bad.iloc[7, 4] = value
    with pytest.raises(ValueError, match="'mean smoothness' contains infinity"):
        small_classifier().fit(bad, y)
    model = small_classifier(max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="'mean smoothness' contains infinity"):
        model.predict(bad)


# ----------------------------------------------------------------------------------------------------------
# targets


def test_string_and_integer_labels(iris):
    X, y = iris
    species = np.array(["setosa", "versicolor", "virginica"])
    names = species[y]
    by_name = small_classifier().fit(X, names)
    by_number = small_classifier().fit(X, y)
    np.testing.assert_array_equal(by_name.classes_, ["setosa", "versicolor", "virginica"])
    np.testing.assert_array_equal(by_number.classes_, [0, 1, 2])
    # the labels are only names: the same fit
    np.testing.assert_array_equal(by_name.predict_proba(X), by_number.predict_proba(X))
    np.testing.assert_array_equal(by_name.predict(X), species[by_number.predict(X)])
    assert by_name.score(X, names) > 0.8


def test_one_row_per_class_and_single_class_fit(iris):
    X, y = iris
    rows = [0, 50, 100]
    model = small_classifier().fit(X.iloc[rows], y.iloc[rows])
    assert model.best_validation_score_ is None  # 3 rows: floor(0.2 * 3) = 0 to validate on: all train
    assert model.predict_proba(X).shape == (150, 3) and np.isfinite(model.predict_proba(X)).all()

    pair = small_classifier().fit(X.iloc[[0, 50]], y.iloc[[0, 50]])
    np.testing.assert_array_equal(pair.classes_, [0, 1])
    np.testing.assert_allclose(pair.predict_proba(X).sum(axis=1), 1.0, rtol=1e-12)

    # one row of a class beside many of another: no stratified split possible, an unstratified one works
    rows = list(range(50)) + [50]
    lonely = small_classifier().fit(X.iloc[rows], y.iloc[rows])
    np.testing.assert_array_equal(lonely.classes_, [0, 1])

    # a single class (as scikit-learn's checks allow): a working fit that always predicts it, with certainty
    single = small_classifier().fit(X.iloc[:50], y.iloc[:50])
    np.testing.assert_array_equal(single.classes_, [0])
    np.testing.assert_array_equal(single.predict(X), np.zeros(150))
    np.testing.assert_array_equal(single.predict_proba(X), np.ones((150, 1)))


def test_bad_targets_are_named(iris):
    X, y = iris
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        small_classifier().fit(X, y + 0.5)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        small_classifier().fit(X, y[:-1])
    with pytest.raises(ValueError, match="y should be a 1d array"):
        small_classifier().fit(X, np.c_[y, y])
    with pytest.raises(ValueError, match="y_val has labels that y does not"):
        small_classifier().fit(X.iloc[:100], y.iloc[:100], X_val=X.iloc[100:], y_val=y.iloc[100:])
    with pytest.raises(ValueError, match="X_val and y_val go together"):
        small_classifier().fit(X, y, X_val=X)
    with pytest.raises(ValueError, match="X_val and y_val go together"):
        small_classifier().fit(X, y, y_val=y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        small_classifier().fit(X, y, X_val=X.iloc[:50], y_val=y.iloc[:49])


def test_validation_data_may_lack_classes(iris):
    X, y = iris
    model = small_classifier(dtype="float64").fit(X, y, X_val=X.iloc[:50], y_val=y.iloc[:50])  # class 0 only
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    assert model.best_validation_score_ == model.score(X.iloc[:50], y.iloc[:50])


def test_log_proba_is_the_log_of_proba(cancer):
    X, y = cancer
    model = small_classifier().fit(X, y)
    P, log_P = model.predict_proba(X), model.predict_log_proba(X)
    assert np.isfinite(log_P).all() and (log_P <= 0).all()
    np.testing.assert_allclose(np.exp(log_P), P, rtol=1e-10, atol=1e-300)


def test_a_pandas_transform_output_config_changes_nothing(cancer_split):
    from sklearn import config_context

    X_train, y_train, X_test, _ = cancer_split
    expected = small_classifier().fit(X_train, y_train).predict_proba(X_test)
    with config_context(transform_output="pandas"):
        np.testing.assert_array_equal(small_classifier().fit(X_train, y_train).predict_proba(X_test), expected)


# ----------------------------------------------------------------------------------------------------------
# the best epoch


def _check_best_epoch(model, X_val, y_val):
    scores = np.array(model.validation_scores_)
    assert len(scores) == model.n_iter_ == model.max_iter
    assert model.best_validation_score_ == scores.max()
    # the LAST epoch with the best score (ties: the later epoch)
    assert model.best_epoch_ == np.flatnonzero(scores == scores.max())[-1] + 1
    # the final weights are that epoch's: the final model scores exactly that on the validation rows
    assert model.score(X_val, y_val) == model.best_validation_score_


def test_given_validation_data_picks_the_best_epoch(cancer_split):
    X_train, y_train, X_val, y_val = cancer_split
    # float64: the validation pass during training and predict compute the same logits, to the bit
    model = small_classifier(dtype="float64", max_iter=20).fit(X_train, y_train, X_val=X_val, y_val=y_val)
    _check_best_epoch(model, X_val, y_val)
    # the scores move (else this would prove little), and all of X trained
    assert len(set(model.validation_scores_)) > 1


def test_validation_weights_weigh_the_validation_score(iris):
    X, y = iris
    weight = np.r_[np.ones(50), np.zeros(100)]  # only the setosas count
    model = small_classifier(dtype="float64").fit(X, y, X_val=X, y_val=y, sample_weight_val=weight)
    _check_best_epoch(model, X.iloc[:50], y.iloc[:50])
    with pytest.raises(ValueError, match="at least one non-zero"):
        small_classifier().fit(X, y, X_val=X, y_val=y, sample_weight_val=np.zeros(150))


def test_the_split_off_validation_rows_pick_the_best_epoch(cancer):
    X, y = cancer
    model = small_classifier(dtype="float64", max_iter=20).fit(X, y)
    # the rows split off: the fit's RandomState(0) draws the split first (stratified, floor(0.2 n) rows)
    _, val = train_test_split(np.arange(len(X)), test_size=int(0.2 * len(X)), stratify=y,
                              random_state=np.random.RandomState(0))
    _check_best_epoch(model, X.iloc[val], y.iloc[val])
    assert model.best_epoch_ < model.max_iter or len(set(model.validation_scores_)) > 1


def test_without_best_epoch_the_last_epoch_is_kept(cancer):
    X, y = cancer
    model = small_classifier(select_best_epoch=False).fit(X, y)
    assert model.validation_scores_ is None and model.best_validation_score_ is None
    assert model.best_epoch_ == model.n_iter_ == model.max_iter
    assert "val_score" not in model.history_.columns


def test_history(cancer):
    X, y = cancer
    model = small_classifier(max_iter=12).fit(X, y)
    history = model.history_
    assert isinstance(history, pd.DataFrame)
    assert list(history.columns) == ["epoch", "train_loss", "val_score", "learning_rate", "elapsed_s"]
    assert len(history) == model.n_iter_ == 12
    np.testing.assert_array_equal(history["epoch"], np.arange(1, 13))
    np.testing.assert_array_equal(history["train_loss"], model.loss_curve_)
    np.testing.assert_array_equal(history["val_score"], model.validation_scores_)
    assert (history["learning_rate"] >= 0).all() and (history["learning_rate"] <= model.learning_rate_init).all()
    # coslog4: up to the full rate, and annealed towards 0 at the end (the last step's rate is recorded)
    assert history["learning_rate"].max() > 0.25 * model.learning_rate_init
    assert history["learning_rate"].iloc[-1] < 0.1 * model.learning_rate_init
    assert (history["elapsed_s"] >= 0).all() and history["elapsed_s"].is_monotonic_increasing


# ----------------------------------------------------------------------------------------------------------
# weights


@pytest.mark.parametrize("Estimator", [TabularMLPClassifier, TabularMLPRegressor])
def test_zero_weight_rows_are_removed_rows(cancer, Estimator):
    X, y = cancer
    X, target = X.iloc[:200], y.iloc[:200]  # fewer rows than a batch: one full batch per epoch, either way
    if Estimator is TabularMLPRegressor:
        X, target = X.iloc[:, 1:], X.iloc[:, 0] * 3 + y.iloc[:200]
    weight = np.ones(200)
    weight[::3] = 0
    kept = weight > 0
    params = dict(hidden_layer_sizes=(32,), max_iter=10, random_state=0, **DETERMINISTIC)
    weighted = Estimator(**params).fit(X, target, sample_weight=weight)
    removed = Estimator(**params).fit(X[kept], target[kept])
    np.testing.assert_allclose(weighted.network_.params, removed.network_.params, rtol=1e-7, atol=1e-12)
    new = load_breast_cancer(as_frame=True).data.iloc[200:300][X.columns]
    out = (lambda m: m.predict_proba(new)) if Estimator is TabularMLPClassifier else (lambda m: m.predict(new))
    np.testing.assert_allclose(out(weighted), out(removed), rtol=1e-7)


@pytest.mark.parametrize("weight, message", [
    (-1.0, "Negative values in data passed to `sample_weight`"),
    (np.nan, "Input sample_weight contains NaN"),
    (np.inf, "sample_weight contains infinity"),
])
def test_bad_sample_weights_are_refused(iris, weight, message):
    X, y = iris
    sample_weight = np.ones(150)
    sample_weight[3] = weight
    for model in (small_classifier(), small_regressor()):
        with pytest.raises(ValueError, match=message):
            model.fit(X, y, sample_weight=sample_weight)


def test_all_zero_weights_are_refused(iris):
    X, y = iris
    with pytest.raises(ValueError, match="at least one non-zero"):
        small_classifier().fit(X, y, sample_weight=np.zeros(150))


def test_minibatches_whose_rows_all_weigh_zero_are_skipped(cancer):
    # 90% of the rows weigh 0 and batches are 8 rows: many batches weigh 0 in all (their loss is 0 / 0)
    X, y = cancer
    weight = (np.random.RandomState(0).uniform(size=len(X)) < 0.1).astype(float)
    for model in (small_classifier(batch_size=8, max_iter=5), small_regressor(batch_size=8, max_iter=5)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no "diverged"
            model.fit(X, y, sample_weight=weight)
        assert model.n_iter_ == 5 and np.isfinite(model.loss_curve_).all()
    assert small_classifier(batch_size=8, max_iter=5).fit(X, y, sample_weight=weight).score(X, y) > 0.8


def test_a_single_row_with_weight(iris):
    # all the weight on one row, wherever the split puts it: the validation or the training rows may weigh 0
    X, y = iris
    for row in (0, 3, 77, 149):
        weight = np.zeros(150)
        weight[row] = 1.0
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model = small_classifier(max_iter=5).fit(X, y, sample_weight=weight)
        assert model.n_iter_ == 5 and np.isfinite(model.predict_proba(X)).all()


def test_zero_weight_rows_do_not_widen_the_regressors_range(diabetes):
    X_train, y_train, X_test, _ = diabetes
    y = y_train.to_numpy().copy()
    y[:5] = [1e6, -1e6, 1e6, 1e6, -1e6]
    weight = np.ones(len(y))
    weight[:5] = 0
    P = small_regressor().fit(X_train, y, sample_weight=weight).predict(X_test * 50)
    assert P.min() >= y[5:].min() and P.max() <= y[5:].max()


def test_balanced_class_weight_leans_to_the_minority(iris):
    X, y = iris
    rows = np.r_[0:50, 50:100, 100:108]  # 8 rows of class 2 beside 100 of the others
    plain = small_classifier(max_iter=20).fit(X.iloc[rows], y.iloc[rows])
    balanced = small_classifier(max_iter=20, class_weight="balanced").fit(X.iloc[rows], y.iloc[rows])
    assert (balanced.predict(X) == 2).sum() > (plain.predict(X) == 2).sum() + 10
    assert balanced.predict_proba(X)[:, 2].mean() > plain.predict_proba(X)[:, 2].mean()


# ----------------------------------------------------------------------------------------------------------
# label smoothing


def test_label_smoothing_bounds_the_loss_by_the_targets_entropy(cancer):
    X, y = cancer
    eps, k = 0.1, 2
    q = np.array([1 - eps + eps / k, eps / k])  # every smoothed target is a permutation of q
    entropy = -(q * np.log(q)).sum()  # cross-entropy(q, p) = H(q) + KL(q || p) >= H(q)
    smoothed = small_classifier(label_smoothing=eps, max_iter=20).fit(X, y)
    assert min(smoothed.loss_curve_) >= entropy * (1 - 1e-6)
    hard = small_classifier(label_smoothing=0.0, max_iter=20).fit(X, y)
    assert hard.loss_curve_[-1] < entropy  # hard targets: the loss goes below the smoothed targets' entropy


# ----------------------------------------------------------------------------------------------------------
# the regressor


def test_regressor_predictions_are_clipped_to_the_training_range(diabetes):
    X_train, y_train, X_test, _ = diabetes
    wild = X_test * 50  # far outside the training data
    params = dict(select_best_epoch=False)  # (the validation score would see the clipping)
    clipped = small_regressor(**params).fit(X_train, y_train).predict(wild)
    free = small_regressor(clip_predictions=False, **params).fit(X_train, y_train).predict(wild)
    assert ((free < y_train.min()) | (free > y_train.max())).any()  # else this would prove nothing
    np.testing.assert_array_equal(clipped, np.clip(free, y_train.min(), y_train.max()))
    default = small_regressor().fit(X_train, y_train).predict(wild)
    assert default.min() >= y_train.min() and default.max() <= y_train.max()


def test_regressor_validation_score_is_minus_the_final_models_mse(diabetes):
    """In standardised units (each target counts alike): the MSE over the training targets' variance."""
    X_train, y_train, X_val, y_val = diabetes
    model = small_regressor(dtype="float64").fit(X_train, y_train, X_val=X_val, y_val=y_val)
    scores = np.array(model.validation_scores_)
    assert model.best_validation_score_ == scores.max()
    assert model.best_epoch_ == np.flatnonzero(scores == scores.max())[-1] + 1
    mse = np.mean((model.predict(X_val) - y_val.to_numpy()) ** 2)
    np.testing.assert_allclose(-model.best_validation_score_, mse / y_train.to_numpy().var(), rtol=1e-10)


def test_regressor_picks_the_epoch_with_every_target_counted_alike(diabetes):
    """Two targets in units 1000 times apart: the best epoch is the same as with both in one unit."""
    X_train, y_train, X_val, y_val = diabetes
    Y_train, Y_val = np.c_[y_train, y_train[::-1]], np.c_[y_val, y_val[::-1]]
    scale = np.array([1.0, 1000.0])
    same = small_regressor(dtype="float64").fit(X_train, Y_train, X_val=X_val, y_val=Y_val)
    scaled = small_regressor(dtype="float64").fit(X_train, Y_train * scale, X_val=X_val, y_val=Y_val * scale)
    assert scaled.best_epoch_ == same.best_epoch_
    np.testing.assert_allclose(scaled.validation_scores_, same.validation_scores_, rtol=1e-6)


def test_regressor_targets(diabetes):
    X_train, y_train, X_test, y_test = diabetes
    assert small_regressor().fit(X_train, y_train).score(X_test, y_test) > 0.3
    # two targets
    Y = np.c_[y_train, 5 - 2 * y_train]
    two = small_regressor().fit(X_train, Y)
    P = two.predict(X_test)
    assert P.shape == (len(X_test), 2) and np.isfinite(P).all()
    assert two.score(X_test, np.c_[y_test, 5 - 2 * y_test]) > 0.2
    # a column vector: one target, predicted as (n_samples,), with scikit-learn's warning
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        column = small_regressor().fit(X_train, y_train.to_numpy()[:, None])
    assert column.predict(X_test).shape == (len(X_test),)
    np.testing.assert_array_equal(column.predict(X_test), small_regressor().fit(X_train, y_train).predict(X_test))
    # a constant target
    constant = small_regressor().fit(X_train, np.full(len(X_train), 7.5))
    np.testing.assert_allclose(constant.predict(X_test), 7.5, rtol=1e-12)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_regressor_refuses_non_finite_targets(diabetes, value):
    X_train, y_train, _, _ = diabetes
    y = y_train.to_numpy().copy()
    y[5] = value
    with pytest.raises(ValueError, match="Input y contains NaN or infinity"):
        small_regressor().fit(X_train, y)


def test_regressor_refuses_text_targets(diabetes):
    X_train, _, _, _ = diabetes
    with pytest.raises(ValueError, match="y must be numbers for regression"):
        small_regressor().fit(X_train, np.array(["a", "b"] * 150))


# ----------------------------------------------------------------------------------------------------------
# divergence


@pytest.mark.parametrize("make, data", [(small_classifier, "cancer"), (small_regressor, "diabetes")])
def test_divergence_warns_and_keeps_finite_weights(make, data, cancer, diabetes):
    X, y = cancer if data == "cancer" else diabetes[:2]
    model = make(learning_rate_init=1e6, max_iter=10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    diverged = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(diverged) == 1 and "diverged" in str(diverged[0].message)
    assert model.n_iter_ < model.max_iter and len(model.history_) == len(model.loss_curve_) == model.n_iter_
    assert np.isfinite(model.loss_curve_).all() and np.isfinite(model.network_.params).all()
    out = model.predict_proba(X) if hasattr(model, "predict_proba") else model.predict(X)
    assert np.isfinite(out).all()


def test_an_epoch_whose_validation_output_overflows_is_never_the_best(cancer):
    # float64, learning rate 1e12: the weights grow ~1e40 an epoch; one epoch's weights give infinite logits on
    # the validation rows (the loss on its batches, before the last step, still finite). That epoch must not
    # be kept, even where its argmax of infinities ties the best accuracy.
    X, y = cancer
    model = small_classifier(dtype="float64", learning_rate_init=1e12, max_iter=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.warns(ConvergenceWarning, match="diverged"):
            model.fit(X, y)
    assert np.isfinite(model.predict_proba(X)).all()
    assert model.validation_scores_[model.best_epoch_ - 1] == model.best_validation_score_


def test_divergence_without_validation_keeps_weights_that_predict(cancer):
    """The weights of the last epoch may be finite yet overflow on the next batch: weights that predict are kept."""
    X, y = cancer
    model = small_classifier(dtype="float64", learning_rate_init=1e12, max_iter=10, select_best_epoch=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.warns(ConvergenceWarning, match="diverged"):
            model.fit(X, y)
    assert np.isfinite(model.predict_proba(X)).all()


# ----------------------------------------------------------------------------------------------------------
# reproducibility, persistence, threads


def test_random_state_makes_fits_reproducible(cancer_split):
    X_train, y_train, X_test, _ = cancer_split
    model = small_classifier()
    first = clone(model).fit(X_train, y_train).predict_proba(X_test)
    again = clone(model).fit(X_train, y_train).predict_proba(X_test)
    np.testing.assert_array_equal(first, again)
    refit = model.fit(X_train, y_train)
    np.testing.assert_array_equal(clone(refit).fit(X_train, y_train).predict_proba(X_test), first)
    other = small_classifier(random_state=1).fit(X_train, y_train).predict_proba(X_test)
    assert np.abs(other - first).max() > 1e-3


def test_grid_search(cancer_split):
    X_train, y_train, X_test, y_test = cancer_split
    search = GridSearchCV(TabularMLPClassifier(max_iter=8, random_state=0),
                          {"hidden_layer_sizes": [(16,), (32,)]}, cv=2).fit(X_train, y_train)
    assert search.best_params_["hidden_layer_sizes"] in [(16,), (32,)]
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert (search.cv_results_["mean_test_score"] > 0.8).all()
    assert search.score(X_test, y_test) > 0.8


def test_pickle_and_joblib_round_trips_hold_no_training_rows(cancer_split):
    X_train, y_train, X_test, _ = cancer_split
    marked = X_train.copy()
    marked.iloc[5, 3] = 123456.789  # a value found nowhere else
    needles = [np.float64(123456.789).tobytes(), np.float32(123456.789).tobytes()]
    # the search works: each needle is found in a pickle of the rows
    assert needles[0] in pickle.dumps(marked) and needles[1] in pickle.dumps(marked.astype(np.float32))
    for model in (small_classifier(), small_regressor()):
        target = y_train if isinstance(model, TabularMLPClassifier) else marked.iloc[:, 0]
        model.fit(marked, target)
        expected = model.predict(X_test)
        model.predict(marked)  # a prediction leaves the rows in the layers' caches
        data = pickle.dumps(model)
        assert not any(needle in data for needle in needles)
        np.testing.assert_array_equal(pickle.loads(data).predict(X_test), expected)
        buffer = io.BytesIO()
        joblib.dump(model, buffer)
        assert not any(needle in buffer.getvalue() for needle in needles)
        buffer.seek(0)
        loaded = joblib.load(buffer)
        np.testing.assert_array_equal(loaded.predict(X_test), expected)
        if isinstance(model, TabularMLPClassifier):
            np.testing.assert_array_equal(loaded.predict_proba(X_test), model.predict_proba(X_test))


def test_a_row_alone_predicts_as_in_a_batch(cancer_split):
    X_train, y_train, X_test, _ = cancer_split
    model = small_classifier().fit(X_train, y_train)  # float32 training, float64 predictions
    P = model.predict_proba(X_test)
    assert P.dtype == np.float64
    alone = np.vstack([model.predict_proba(X_test.iloc[[i]]) for i in range(0, len(X_test), 7)])
    # the same float64 arithmetic; only BLAS's blocking (a row vs a matrix) may change the last bits
    np.testing.assert_allclose(alone, P[::7], rtol=1e-12, atol=1e-15)
    regressor = small_regressor().fit(X_train, X_train.iloc[:, 0])
    r = regressor.predict(X_test)
    alone = np.concatenate([regressor.predict(X_test.iloc[[i]]) for i in range(0, len(X_test), 7)])
    np.testing.assert_allclose(alone, r[::7], rtol=1e-12)


def test_two_fits_in_two_threads_match_sequential_fits(cancer_split):
    X_train, y_train, X_test, _ = cancer_split
    models = [small_classifier(), small_regressor()]
    targets = [y_train, X_train.iloc[:, 0]]
    sequential = [clone(m).fit(X_train, t) for m, t in zip(models, targets)]
    for same in (False, True):  # two different fits, then the same fit twice
        pairs = [(models[0], targets[0])] * 2 if same else list(zip(models, targets))
        fitted, errors = [None, None], []

        def fit(k, pairs=pairs, fitted=fitted):
            try:
                fitted[k] = clone(pairs[k][0]).fit(X_train, pairs[k][1])
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=fit, args=(k,)) for k in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        for k, model in enumerate(fitted):
            reference = sequential[0 if same else k]
            np.testing.assert_array_equal(model.network_.params, reference.network_.params)
            np.testing.assert_array_equal(model.predict(X_test), reference.predict(X_test))
            assert model.loss_curve_ == reference.loss_curve_


# ----------------------------------------------------------------------------------------------------------
# parameters and input checks


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtypes(cancer_split, dtype):
    X_train, y_train, X_test, y_test = cancer_split
    model = small_classifier(dtype=dtype).fit(X_train, y_train)
    assert model.preprocessor_.transform(X_test).dtype == np.dtype(dtype)
    assert model.predict_proba(X_test).dtype == np.float64
    assert model.score(X_test, y_test) > 0.85


def test_float16_is_refused(cancer_split):
    X_train, y_train, _, _ = cancer_split
    with pytest.raises(InvalidParameterError, match="'dtype' parameter of TabularMLPClassifier"):
        small_classifier(dtype="float16").fit(X_train, y_train)
    with pytest.raises(InvalidParameterError, match="'dtype' parameter of TabularMLPRegressor"):
        small_regressor(dtype="float16").fit(X_train, y_train)


def test_n_iter_is_max_iter(cancer):
    X, y = cancer
    for model in (small_classifier(max_iter=7), small_regressor(max_iter=7)):
        model.fit(X, y)
        assert model.n_iter_ == 7 and len(model.loss_curve_) == 7


def test_feature_names_and_counts_must_match_fit(cancer_split):
    X_train, y_train, X_test, _ = cancer_split
    model = small_classifier(max_iter=3).fit(X_train, y_train)
    with pytest.raises(ValueError, match="Feature names must be in the same order as they were in fit"):
        model.predict(X_test[X_test.columns[::-1]])
    with pytest.raises(ValueError, match="Feature names seen at fit time, yet now missing"):
        model.predict(X_test.iloc[:, :5])
    on_arrays = small_classifier(max_iter=3).fit(X_train.to_numpy(), y_train)
    assert not hasattr(on_arrays, "feature_names_in_") and on_arrays.n_features_in_ == 30
    with pytest.raises(ValueError, match="X has 5 features, but .* is expecting 30 features as input"):
        on_arrays.predict(X_test.to_numpy()[:, :5])
    with pytest.raises(ValueError, match="X has 31 features, but .* is expecting 30 features as input"):
        on_arrays.predict(np.c_[X_test.to_numpy(), X_test.to_numpy()[:, :1]])


def test_unfitted_model_refuses_to_predict(cancer):
    from sklearn.exceptions import NotFittedError

    X, _ = cancer
    for model in (small_classifier(), small_regressor()):
        with pytest.raises(NotFittedError):
            model.predict(X)
