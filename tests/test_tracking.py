"""skscratch.tracking: history_ logged epoch by epoch to MLflow (a local file store) and TensorBoard."""

import pickle
import socket
import struct
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from skscratch import MLPScratchClassifier, MLPScratchRegressor
from skscratch.tracking import MLflowLogger, TensorBoardLogger, log_history

needs_callbacks = pytest.mark.skipif(not hasattr(MLPScratchClassifier(), "set_callbacks"),
                                     reason="scikit-learn < 1.9 has no callback API")
pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)
METRICS = ["train_loss", "val_loss", "val_score", "learning_rate", "elapsed_s"]


@pytest.fixture
def no_network(monkeypatch):
    """Nothing may connect anywhere: the stores are folders."""
    def refuse(self, address):
        raise OSError(f"these tests use no network, but something connected to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def mlflow(tmp_path, monkeypatch, no_network):
    """MLflow, tracking to a file store in tmp_path (MLflow >= 3.7 wants that said), no telemetry."""
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # put back as it was after the test
    mlflow.set_tracking_uri(uri)
    yield mlflow
    while mlflow.active_run() is not None:  # a failed test leaves no run open for the next
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


@pytest.fixture
def data(iris):
    X, y = iris
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def model(**params):
    return MLPScratchClassifier(**{"hidden_layer_sizes": (8,), "max_iter": 6, "learning_rate_init": 0.01,
                                   "random_state": 0, **params})


def metric_history(mlflow, run_id, name):
    """The (step, value) pairs MLflow holds for a metric, by step."""
    history = mlflow.MlflowClient().get_metric_history(run_id, name)
    return sorted((metric.step, metric.value) for metric in history)


def column(clf, name, dtype=float):
    """The (epoch, value) pairs of a history_ column, NaN left out."""
    history = clf.history_.dropna(subset=[name])
    return [(int(epoch), dtype(value)) for epoch, value in zip(history["epoch"], history[name], strict=True)]


def all_runs(mlflow):
    return mlflow.search_runs(search_all_experiments=True, output_format="list")


# ----------------------------------------------------------------------
# MLflow


@needs_callbacks
def test_every_column_is_logged_per_epoch_exactly(mlflow, data):
    X, y = data
    clf = model().set_callbacks(MLflowLogger())
    clf.fit(X[::2], y[::2], X_val=X[1::2], y_val=y[1::2])
    assert mlflow.active_run() is None  # the run it started is ended
    (run,) = all_runs(mlflow)
    assert run.info.status == "FINISHED"
    assert sorted(run.data.metrics) == sorted(METRICS)
    for name in METRICS:
        assert metric_history(mlflow, run.info.run_id, name) == column(clf, name), name
    assert [step for step, _ in metric_history(mlflow, run.info.run_id, "train_loss")] == [1, 2, 3, 4, 5, 6]


@needs_callbacks
def test_early_stopping_logs_the_epochs_trained(mlflow, data):
    X, y = data
    clf = model(max_iter=300, early_stopping=True, n_iter_no_change=2, tol=0.1).set_callbacks(MLflowLogger())
    clf.fit(X, y)
    assert clf.n_iter_ < 300
    run = mlflow.last_active_run()
    assert metric_history(mlflow, run.info.run_id, "val_score") == column(clf, "val_score")
    assert len(metric_history(mlflow, run.info.run_id, "train_loss")) == clf.n_iter_ == len(clf.history_)


@needs_callbacks
def test_a_run_the_user_started_is_logged_to_and_stays_open(mlflow, data):
    X, y = data
    with mlflow.start_run() as run:
        model().set_callbacks(MLflowLogger()).fit(X, y)
        assert mlflow.active_run().info.run_id == run.info.run_id
        mlflow.log_metric("test_accuracy", 0.9)  # the user's own metrics go on in it
    (logged,) = all_runs(mlflow)
    assert logged.info.run_id == run.info.run_id
    assert {"train_loss", "test_accuracy"} <= set(logged.data.metrics)


@needs_callbacks
def test_a_run_given_by_id_is_logged_to_and_not_ended(mlflow, data):
    X, y = data
    run = mlflow.MlflowClient().create_run(experiment_id="0")
    clf = model().set_callbacks(MLflowLogger(run_id=run.info.run_id, prefix="mlp.")).fit(X, y)
    logged = mlflow.get_run(run.info.run_id)
    assert logged.info.status == "RUNNING"
    assert metric_history(mlflow, run.info.run_id, "mlp.train_loss") == column(clf, "train_loss")
    assert logged.data.params["mlp.max_iter"] == "6"
    assert mlflow.active_run() is None and len(all_runs(mlflow)) == 1


@needs_callbacks
def test_the_params_are_logged_once(mlflow, data):
    X, y = data
    clf = model(activation="tanh").set_callbacks(MLflowLogger()).fit(X, y)
    params = mlflow.last_active_run().data.params
    assert params == {name: str(value) for name, value in clf.get_params().items()}
    model().set_callbacks(MLflowLogger(log_params=False)).fit(X, y)
    assert mlflow.last_active_run().data.params == {}


@needs_callbacks
def test_an_invalid_input_starts_no_run(mlflow, data):
    X, y = data
    X = X.copy()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model().set_callbacks(MLflowLogger()).fit(X, y)
    assert mlflow.active_run() is None and all_runs(mlflow) == []


@needs_callbacks
def test_a_fit_that_fails_midway_ends_its_run_as_failed(mlflow, data):
    X, y = data
    with pytest.raises(ValueError, match="X has values too large"):
        model().set_callbacks(MLflowLogger()).fit(X / np.abs(X).max() * 1.7e308, y)  # overflows in epoch 1
    assert mlflow.active_run() is None
    (run,) = all_runs(mlflow)
    assert run.info.status == "FAILED"


@needs_callbacks
def test_partial_fit_calls_carry_on_one_run(mlflow, data):
    X, y = data
    clf = model().set_callbacks(MLflowLogger())
    for _ in range(3):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    (run,) = all_runs(mlflow)
    assert run.info.status == "FINISHED"
    assert metric_history(mlflow, run.info.run_id, "train_loss") == column(clf, "train_loss")
    assert [epoch for epoch, _ in column(clf, "train_loss")] == [1, 2, 3]
    clf.set_params(warm_start=True, max_iter=2).fit(X, y)  # a warm start carries on too
    (run,) = all_runs(mlflow)
    assert [step for step, _ in metric_history(mlflow, run.info.run_id, "train_loss")] == [1, 2, 3, 4, 5]
    clf.set_params(warm_start=False).fit(X, y)  # a fresh fit: a new run
    assert len(all_runs(mlflow)) == 2


def test_log_history_after_partial_fit(mlflow, data):
    X, y = data
    clf = model()
    for _ in range(3):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    log_history(clf, MLflowLogger())
    run = mlflow.last_active_run()
    assert run.info.status == "FINISHED" and run.data.params["max_iter"] == "6"
    for name in ["train_loss", "learning_rate", "elapsed_s"]:
        assert metric_history(mlflow, run.info.run_id, name) == column(clf, name)
    assert mlflow.active_run() is None


def test_log_history_of_lbfgs_leaves_out_its_missing_learning_rate(mlflow, data):
    X, y = data
    reg = MLPScratchRegressor(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=20, random_state=0).fit(X, X[:, 0])
    with mlflow.start_run() as run:
        log_history(reg, MLflowLogger(experiment_name="ignored: the run is given"))
    assert metric_history(mlflow, run.info.run_id, "train_loss") == column(reg, "train_loss")
    assert "learning_rate" not in mlflow.get_run(run.info.run_id).data.metrics


def test_log_history_wants_a_fitted_network(mlflow, data):
    from sklearn.exceptions import NotFittedError
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(NotFittedError):
        log_history(model(), MLflowLogger())
    with pytest.raises(TypeError, match="LogisticRegression has none"):
        log_history(LogisticRegression().fit(*data), MLflowLogger())


@needs_callbacks
def test_in_a_pipeline_set_on_the_network(mlflow, data):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = data
    pipe = make_pipeline(StandardScaler(), model().set_callbacks(MLflowLogger(experiment_name="iris")))
    pipe.fit(X, y)
    (run,) = all_runs(mlflow)
    assert run.info.experiment_id == mlflow.get_experiment_by_name("iris").experiment_id
    assert metric_history(mlflow, run.info.run_id, "train_loss") == column(pipe[-1], "train_loss")
    with pytest.raises(TypeError, match="Pipeline has none. In a Pipeline, set the logger on its last step"):
        make_pipeline(StandardScaler(), model()).set_callbacks(MLflowLogger()).fit(X, y)
    assert mlflow.active_run() is None


@needs_callbacks
def test_a_search_logs_each_fit_to_a_child_run(mlflow, data):
    from sklearn.model_selection import GridSearchCV

    X, y = data
    clf = model(max_iter=3).set_callbacks(MLflowLogger(nested=True))
    with mlflow.start_run() as parent:
        search = GridSearchCV(clf, {"hidden_layer_sizes": [(4,), (8,)]}, cv=2).fit(X, y)
    children = [run for run in all_runs(mlflow) if run.info.run_id != parent.info.run_id]
    # 2 candidates x 2 folds + the refit
    assert len(children) == 5
    assert all(run.data.tags["mlflow.parentRunId"] == parent.info.run_id for run in children)
    assert all(run.info.status == "FINISHED" and len(run.data.metrics) == 3 for run in children)
    sizes = sorted(run.data.params["hidden_layer_sizes"] for run in children)
    assert sizes == sorted(["(4,)", "(4,)", "(8,)", "(8,)", str(search.best_params_["hidden_layer_sizes"])])
    assert mlflow.get_run(parent.info.run_id).data.metrics == {}


@needs_callbacks
def test_a_network_with_a_logger_pickles_and_clones(mlflow, data):
    X, y = data
    logger = MLflowLogger(prefix="a.")
    clf = model().set_callbacks(logger).fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    assert repr(copy._skl_callbacks[0]) == repr(logger) == (
        "MLflowLogger(run_id=None, experiment_name=None, nested=False, prefix='a.', log_params=True)")
    copy.fit(X, y)
    clone(clf).fit(X, y)
    assert len(all_runs(mlflow)) == 3


# ----------------------------------------------------------------------
# TensorBoard


def read_scalars(log_dir):
    """Every scalar of the event files in log_dir: {tag: [(step, value), ...]}, by step.

    An event file is a series of records: the length (uint64), its CRC
    (uint32), the serialized Event, its CRC (uint32).
    """
    from tensorboardX.proto.event_pb2 import Event

    scalars = {}
    for path in Path(log_dir).glob("events.out.tfevents.*"):
        data, at = path.read_bytes(), 0
        while at < len(data):
            (length,) = struct.unpack("<Q", data[at:at + 8])
            event = Event.FromString(data[at + 12:at + 12 + length])
            at += 12 + length + 4
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    return {tag: sorted(pairs) for tag, pairs in scalars.items()}


@needs_callbacks
def test_tensorboard_gets_every_column_per_epoch(tmp_path, data, no_network):
    pytest.importorskip("tensorboardX")
    X, y = data
    clf = model().set_callbacks(TensorBoardLogger(tmp_path / "run", prefix="mlp/"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the writer warns of nothing (ConvergenceWarning aside)
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        clf.fit(X[::2], y[::2], X_val=X[1::2], y_val=y[1::2])
    scalars = read_scalars(tmp_path / "run")
    assert sorted(scalars) == sorted("mlp/" + name for name in METRICS)
    for name in METRICS:  # TensorBoard keeps float32
        assert scalars["mlp/" + name] == column(clf, name, np.float32), name


@needs_callbacks
def test_tensorboard_partial_fit_calls_keep_every_epoch(tmp_path, data, no_network):
    pytest.importorskip("tensorboardX")
    X, y = data
    clf = model().set_callbacks(TensorBoardLogger(tmp_path))
    for _ in range(4):  # several writers in one second: none overwrites another's file
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert read_scalars(tmp_path)["train_loss"] == column(clf, "train_loss", np.float32)


def test_tensorboard_log_history(tmp_path, data, no_network):
    pytest.importorskip("tensorboardX")
    X, y = data
    reg = MLPScratchRegressor(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=20, random_state=0).fit(X, X[:, 0])
    log_history(reg, TensorBoardLogger(str(tmp_path)))
    scalars = read_scalars(tmp_path)
    assert sorted(scalars) == ["elapsed_s", "train_loss"]
    assert scalars["train_loss"] == column(reg, "train_loss", np.float32)


# ----------------------------------------------------------------------
# Without the optional packages


@pytest.mark.parametrize("Logger, module, extra", [(MLflowLogger, "mlflow", "mlflow"),
                                                   (lambda: TensorBoardLogger("runs"), "tensorboardX", "tensorboard")],
                         ids=["mlflow", "tensorboard"])
def test_a_missing_package_says_which_extra_installs_it(monkeypatch, Logger, module, extra):
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError, match=rf'needs {module}: pip install "skscratch\[{extra}\]"'):
        Logger()


@pytest.mark.parametrize("Logger", [MLflowLogger, TensorBoardLogger])
def test_every_parameter_is_documented_in_signature_order(Logger):
    import inspect

    from numpydoc.docscrape import ClassDoc

    documented = [item.name for item in ClassDoc(Logger)["Parameters"]]
    assert documented == list(inspect.signature(Logger).parameters)
