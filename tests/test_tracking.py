"""skscratch.tracking: history_ logged epoch by epoch to MLflow (a local file store) and TensorBoard."""

import gc
import os
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

pytest_plugins = ["pytester"]  # to run a doctest of skscratch/ as pytest runs it
ROOT = Path(__file__).resolve().parents[1]
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


class RaiseAtEpoch:
    """A callback that raises ``error`` as epoch ``epoch`` of the estimator begins: a fit that fails midway."""

    def __init__(self, epoch, error=RuntimeError):
        self.epoch, self.error = epoch, error

    def setup(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        if context.task_name == "epoch" and len(estimator._history) + 1 == self.epoch:
            raise self.error(f"raised as epoch {self.epoch} began")

    def on_fit_task_end(self, estimator, context):
        return False

    def teardown(self, estimator, context):
        pass


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
def test_a_failed_fit_that_carries_on_a_run_leaves_its_status_and_tags_it(mlflow, data):
    X, y = data
    failing = RaiseAtEpoch(epoch=0)  # never, yet
    clf = model(max_iter=3, warm_start=True).set_callbacks(MLflowLogger(), failing).fit(X, y)
    failing.epoch = 6
    with pytest.raises(RuntimeError, match="epoch 6"):
        clf.fit(X, y)  # epochs 4 and 5, then an error
    assert mlflow.active_run() is None
    (run,) = all_runs(mlflow)
    assert run.info.status == "FINISHED"  # epochs 1 to 5 stand
    assert run.data.tags["skscratch.failed_fit"] == "5"  # the last epoch logged before the error
    failing.epoch = 0
    clf.fit(X, y)  # carries on the run still
    (run,) = all_runs(mlflow)
    assert run.info.status == "FINISHED"
    assert metric_history(mlflow, run.info.run_id, "train_loss") == column(clf, "train_loss")
    assert [epoch for epoch, _ in column(clf, "train_loss")] == list(range(1, 9))


@needs_callbacks
def test_a_fit_stopped_by_ctrl_c_ends_its_run_finished(mlflow, data):
    X, y = data
    clf = model().set_callbacks(MLflowLogger(), RaiseAtEpoch(3, KeyboardInterrupt))
    with pytest.warns(UserWarning, match="interrupted"):
        clf.fit(X, y)  # the fit returns, with the weights of epoch 2
    (run,) = all_runs(mlflow)
    assert run.info.status == "FINISHED"
    assert [step for step, _ in metric_history(mlflow, run.info.run_id, "train_loss")] == [1, 2]


@needs_callbacks
def test_an_error_starting_a_run_ends_it_and_leaves_no_run_active(mlflow, data):
    X, y = data
    logger = MLflowLogger()
    logger.prefix = "bad prefix:?"  # past the constructor's check: MLflow refuses the params' names
    with pytest.raises(mlflow.exceptions.MlflowException, match="bad prefix"):
        model().set_callbacks(logger).fit(X, y)
    assert mlflow.active_run() is None
    (failed,) = all_runs(mlflow)
    assert failed.info.status == "FAILED"
    model().set_callbacks(MLflowLogger()).fit(X, y)  # a run of its own, not the one that failed
    assert sorted(run.info.status for run in all_runs(mlflow)) == ["FAILED", "FINISHED"]
    assert mlflow.get_run(failed.info.run_id).data.metrics == {}


def test_log_history_ends_a_run_it_could_not_start(mlflow, data):
    logger = MLflowLogger()
    logger.prefix = "bad prefix:?"
    with pytest.raises(mlflow.exceptions.MlflowException, match="bad prefix"):
        log_history(model(max_iter=2).fit(*data), logger)
    assert mlflow.active_run() is None
    assert [run.info.status for run in all_runs(mlflow)] == ["FAILED"]


@pytest.mark.parametrize("prefix", ["bad prefix:?", "/mlp.", "mlp//", "../mlp/", "./", 'a"b'])
def test_a_prefix_mlflow_would_refuse_is_refused_at_once(prefix):
    pytest.importorskip("mlflow")
    with pytest.raises(ValueError, match="MLflow would refuse the names prefix"):
        MLflowLogger(prefix=prefix)
    with pytest.raises(TypeError, match="prefix must be a str"):
        MLflowLogger(prefix=1)
    for fine in ["", "mlp.", "mlp/", "model 1: adam-0.01_", "été/"]:
        assert MLflowLogger(prefix=fine).prefix == fine


def test_values_that_are_not_finite_are_not_logged(mlflow, data):
    X, y = data
    clf = model(max_iter=4).fit(X[::2], y[::2], X_val=X[1::2], y_val=y[1::2])
    clf._history[1]["train_loss"] = np.inf
    clf._history[2]["train_loss"] = np.nan
    clf._history[3]["val_loss"] = -np.inf
    log_history(clf, MLflowLogger())
    run_id = mlflow.last_active_run().info.run_id
    assert [step for step, _ in metric_history(mlflow, run_id, "train_loss")] == [1, 4]
    assert [step for step, _ in metric_history(mlflow, run_id, "val_loss")] == [1, 2, 3]


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
def test_a_search_in_threads_nests_under_the_run_named(mlflow, data):
    """MLflow's active run is the thread's: fits in worker threads find it by run_id."""
    from joblib import parallel_backend
    from sklearn.model_selection import GridSearchCV

    X, y = data
    experiment_id = mlflow.create_experiment("search")
    with mlflow.start_run(experiment_id=experiment_id) as parent:
        clf = model(max_iter=2).set_callbacks(MLflowLogger(run_id=parent.info.run_id, nested=True))
        with parallel_backend("threading", n_jobs=2):
            GridSearchCV(clf, {"alpha": [1e-4, 1e-2]}, cv=2, n_jobs=2).fit(X, y)
        assert mlflow.active_run().info.run_id == parent.info.run_id
    children = [run for run in all_runs(mlflow) if run.info.run_id != parent.info.run_id]
    assert len(children) == 5  # 2 candidates x 2 folds + the refit
    assert all(run.data.tags["mlflow.parentRunId"] == parent.info.run_id for run in children)
    assert all(run.info.status == "FINISHED" for run in children)
    assert {run.info.experiment_id for run in children} == {experiment_id}  # beside their parent


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


@needs_callbacks
def test_a_model_pickled_with_loggers_loads_and_predicts_without_their_packages(mlflow, data, tmp_path,
                                                                                   monkeypatch):
    pytest.importorskip("tensorboardX")
    X, y = data
    clf = model().set_callbacks(MLflowLogger(prefix="a."), TensorBoardLogger(tmp_path)).fit(X, y)
    pickled = pickle.dumps(clf)
    monkeypatch.setitem(sys.modules, "mlflow", None)
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    loaded = pickle.loads(pickled)
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    assert [repr(logger) for logger in loaded._skl_callbacks] == [repr(logger) for logger in clf._skl_callbacks]
    # the package is wanted when a fit uses the logger
    with pytest.raises(ImportError, match=r'MLflowLogger needs mlflow: pip install "skscratch\[mlflow\]"'):
        loaded.fit(X, y)
    with pytest.raises(ImportError, match=r'needs tensorboardX: pip install "skscratch\[tensorboard\]"'):
        loaded.set_callbacks(loaded._skl_callbacks[1]).fit(X, y)
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))  # the failed fits left it as it was


def test_the_examples_leave_mlflow_as_they_found_it(mlflow, pytester, monkeypatch):
    """The MLflowLogger example sets MLflow's tracking URI and a variable: put back after it, by conftest.py."""
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")
    uri = mlflow.get_tracking_uri()
    example = f"{ROOT / 'skscratch' / 'tracking.py'}::skscratch.tracking.MLflowLogger"
    result = pytester.runpytest_inprocess(example, "-p", "no:cacheprovider", f"--rootdir={ROOT}",
                                          "-c", str(ROOT / "pyproject.toml"))
    result.assert_outcomes(passed=1)
    assert mlflow.get_tracking_uri() == os.environ["MLFLOW_TRACKING_URI"] == uri
    assert "MLFLOW_ALLOW_FILE_STORE" not in os.environ


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
def test_tensorboard_partial_fit_calls_carry_on_one_event_file(tmp_path, data, no_network):
    pytest.importorskip("tensorboardX")
    X, y = data
    logger = TensorBoardLogger(tmp_path)
    clf = model().set_callbacks(logger)
    for _ in range(5):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert len(list(tmp_path.iterdir())) == 1
    # every epoch is on disk as it ends, while the file is still open
    assert read_scalars(tmp_path)["train_loss"] == column(clf, "train_loss", np.float32)
    clf.set_params(warm_start=True, max_iter=2).fit(X, y)  # a warm start carries on too
    assert len(list(tmp_path.iterdir())) == 1
    assert [step for step, _ in read_scalars(tmp_path)["train_loss"]] == [1, 2, 3, 4, 5, 6, 7]
    (first,) = tmp_path.iterdir()
    clf.set_params(warm_start=False).fit(X, y)  # a fresh fit: a file of its own, the other one closed
    (second,) = set(tmp_path.iterdir()) - {first}
    assert [step for step, _ in read_scalars(tmp_path)["train_loss"]] == [1, 1, 2, 2, 3, 4, 5, 6, 7]
    ((kept, _),) = logger._last_run.values()
    assert kept.close.alive
    del clf
    gc.collect()
    assert not kept.close.alive and not logger._last_run  # the file closed with its estimator


@needs_callbacks
def test_tensorboard_files_of_several_fits_in_one_second_are_apart(tmp_path, data, no_network):
    pytest.importorskip("tensorboardX")
    X, y = data
    clf = model(max_iter=1).set_callbacks(TensorBoardLogger(tmp_path))
    for _ in range(4):  # fresh fits, in one second: none overwrites another's file
        clf.fit(X, y)
    assert len(list(tmp_path.iterdir())) == 4
    assert [step for step, _ in read_scalars(tmp_path)["train_loss"]] == [1, 1, 1, 1]


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
