"""scikit-learn's callbacks (>= 1.9) on the tabular estimators: each epoch a subtask, a callback may stop."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

from skscratch import TabularMLPClassifier
from test_extensions import StopAfter  # asks to stop after n epochs

callback = pytest.importorskip("sklearn.callback", reason="scikit-learn < 1.9 has no callback API")


@pytest.fixture(scope="module")
def table():
    return load_breast_cancer(return_X_y=True, as_frame=True)


def test_scoring_monitor_scores_every_epoch_and_the_kept_model(table):
    X, y = table
    monitor = callback.ScoringMonitor(scoring="accuracy")
    model = TabularMLPClassifier((16,), max_iter=5, random_state=0).set_callbacks(monitor).fit(X, y)
    log = monitor.get_logs().data_as_pandas
    epochs, fit = log[log["task_name"] == "epoch"], log[log["task_name"] == "fit"]
    assert epochs["task_id"].tolist() == [0, 1, 2, 3, 4]
    # the fit's score is the model's as kept (the best epoch's weights), which scores as that epoch did
    assert fit["accuracy"].iloc[0] == pytest.approx(model.score(X, y))
    assert fit["accuracy"].iloc[0] == pytest.approx(epochs["accuracy"].iloc[model.best_epoch_ - 1])


def test_a_callback_stops_training(table):
    X, y = table
    model = TabularMLPClassifier((16,), max_iter=20, random_state=0).set_callbacks(StopAfter(3)).fit(X, y)
    assert model.n_iter_ == 3 and len(model.loss_curve_) == 3
    assert np.isfinite(model.predict_proba(X)).all()


def test_callbacks_leave_no_data_on_the_model(table):
    import pickle

    X, y = table
    X = X.copy()
    X.iloc[0, 0] = 123456.789
    model = TabularMLPClassifier((8,), max_iter=2, random_state=0)
    model.set_callbacks(callback.ScoringMonitor(scoring="accuracy")).fit(X, y, sample_weight=np.full(len(y), 0.5))
    assert np.float64(123456.789).tobytes() not in pickle.dumps(model)


class InterruptAt(StopAfter):
    """Presses Ctrl-C (raises KeyboardInterrupt) at the end of epoch ``n``, as a user would mid-fit."""

    def on_fit_task_end(self, estimator, context, **kwargs):
        if context.task_name == "epoch":
            self.seen += 1
            if self.seen == self.n:
                raise KeyboardInterrupt
        return False


def test_ctrl_c_keeps_the_whole_epochs(table):
    X, y = table
    model = TabularMLPClassifier((16,), max_iter=20, random_state=0).set_callbacks(InterruptAt(3))
    with pytest.warns(UserWarning, match="interrupted by user after 3 epochs"):
        model.fit(X, y)
    assert model.n_iter_ == 3 and 1 <= model.best_epoch_ <= 3
    same = TabularMLPClassifier((16,), max_iter=20, random_state=0).set_callbacks(StopAfter(3)).fit(X, y)
    np.testing.assert_array_equal(model.predict_proba(X), same.predict_proba(X))
