"""Per-epoch training metrics in MLflow and TensorBoard.

``mlflow.sklearn.autolog()`` patches scikit-learn's own classes only, so it
logs nothing for ours. Instead, two callbacks for scikit-learn's callback API
(scikit-learn >= 1.9) log the columns of ``history_`` as each epoch ends,
with the epoch as the step:

- :class:`MLflowLogger`: metrics, and the estimator's parameters, in an MLflow
  run (``pip install "skscratch[mlflow]"``);
- :class:`TensorBoardLogger`: scalars in a TensorBoard log folder, written by
  tensorboardX (``pip install "skscratch[tensorboard]"``).

:func:`log_history` logs the whole ``history_`` of a fitted estimator through
either logger, after the fact: with any scikit-learn version, after
``partial_fit`` calls, for a model loaded from disk.

The metrics are named as the columns: ``train_loss``, ``val_loss`` and
``val_score`` (with a validation set), ``learning_rate`` and ``elapsed_s``
(seconds since that fit began). ``epoch`` is the step; it counts on over warm
starts and ``partial_fit`` calls. A value that is not finite is not logged:
NaN (L-BFGS has no learning rate) nor ±inf (a loss that overflowed), so a
curve has only numbers to draw.

Set a logger on the network itself, in a Pipeline on its last step
(``make_pipeline(StandardScaler(), MLPScratchClassifier().set_callbacks(logger))``);
a search clones the network with its callbacks, so each of its fits is logged.
A logger pickles as its parameters alone, and loads where its package is
missing: a model saved with one predicts anywhere, and the logger says what
it needs only when a fit uses it.
"""

from __future__ import annotations

import importlib
import math
import os
import posixpath
import re
import time
import uuid
import weakref
from dataclasses import dataclass
from typing import Any

from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

__all__ = ["MLflowLogger", "TensorBoardLogger", "log_history"]


def _require(module: str, extra: str, user: str) -> Any:
    """Import an optional dependency, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f'{user} needs {module}: pip install "skscratch[{extra}]"') from exc


@dataclass
class _Fit:
    """One fit being logged: where it goes, and how many rows of its history are logged."""

    root: Any  # the fit's root callback context (None when log_history replays a history)
    n_logged: int
    run: Any = None  # the MLflow run id, or the TensorBoard event file
    started: bool = False  # the logger opened ``run``, so it closes it
    carried_on: bool = False  # ``run`` is that of the fit before, which this one carries on
    completed: bool = False  # the fit ended without an error


class _HistoryLogger:
    """The callback hooks both loggers share: each epoch's row of ``history_``, logged as it ends.

    A subclass says how to ``_open`` a fit's run, ``_log`` one epoch's values
    and ``_close`` the run. Its parameters are its public attributes, which
    its pickle keeps; the rest is working state, which a copy starts without.
    """

    prefix: str  # the subclass's parameter

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        """No fit in flight, no run to carry on."""
        self._fits: dict[Any, _Fit] = {}  # the estimators fitting now
        # estimator -> (its last run, the last epoch logged there): the run a fit that carries on goes on in
        self._last_run: weakref.WeakKeyDictionary[Any, tuple[Any, int]] = weakref.WeakKeyDictionary()

    # scikit-learn's callback hooks

    def setup(self, estimator: Any, context: Any) -> None:
        """A fit begins: open its run."""
        fit = _Fit(context, n_logged=len(self._rows(estimator)))
        self._open(estimator, fit)  # which, if it raises, leaves nothing open
        self._fits[estimator] = fit

    def on_fit_task_begin(self, estimator: Any, context: Any) -> None:
        """Nothing: an epoch is logged when it ends."""

    def on_fit_task_end(self, estimator: Any, context: Any) -> bool:
        """An epoch, or the whole fit, ended: log the rows of ``history_`` it added."""
        fit = self._fits.get(estimator)
        if fit is not None:  # the epoch's row, or L-BFGS's rows at the end of the fit
            self._log_new_rows(estimator, fit)
            fit.completed = fit.completed or context is fit.root
        return False  # logging never stops training

    def teardown(self, estimator: Any, context: Any) -> None:
        """The fit ended, well or not: close its run."""
        fit = self._fits.pop(estimator, None)
        if fit is not None:
            self._close(estimator, fit)

    # the work

    def _rows(self, estimator: Any) -> list[dict[str, Any]]:
        rows = getattr(estimator, "_history", None)
        if rows is None:
            raise TypeError(
                f"{type(self).__name__} logs the history_ of an MLPScratchClassifier or MLPScratchRegressor; "
                f"{type(estimator).__name__} has none. In a Pipeline, set the logger on its last step."
            )
        return rows

    def _log_new_rows(self, estimator: Any, fit: _Fit) -> None:
        rows = self._rows(estimator)
        for row in rows[fit.n_logged:]:
            values = {self.prefix + key: value for key, value in row.items() if key != "epoch"}
            values = {key: float(value) for key, value in values.items() if math.isfinite(value)}
            if values:
                self._log(fit, int(row["epoch"]), values)
        fit.n_logged = len(rows)

    def _carried_on_run(self, estimator: Any, fit: _Fit) -> Any:
        """The run of the fit this one carries on, if any: it ended at the epoch before this fit's first."""
        run, last_epoch = self._last_run.get(estimator, (None, None))
        rows = self._rows(estimator)
        return run if fit.n_logged and rows[fit.n_logged - 1]["epoch"] == last_epoch else None

    def _replay(self, estimator: Any) -> None:
        """Log every row of a fitted estimator's history as one fit."""
        self._rows(estimator)  # a TypeError before any run is opened
        fit = _Fit(root=None, n_logged=0)
        self._open(estimator, fit)
        try:
            self._log_new_rows(estimator, fit)
            fit.completed = True
        finally:
            self._close(estimator, fit)

    def _open(self, estimator: Any, fit: _Fit) -> None:
        raise NotImplementedError

    def _log(self, fit: _Fit, step: int, values: dict[str, float]) -> None:
        raise NotImplementedError

    def _close(self, estimator: Any, fit: _Fit) -> None:
        raise NotImplementedError

    # plain data: a copy (a pickle, a worker's) starts with no fit in flight

    def __getstate__(self) -> dict[str, Any]:
        return {name: value for name, value in vars(self).items() if not name.startswith("_")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        # not __init__, which wants the optional package: a pickled model loads and predicts without it
        self.__dict__.update(state)
        self._reset()

    def __repr__(self) -> str:
        settings = ", ".join(f"{name}={value!r}" for name, value in self.__getstate__().items())
        return f"{type(self).__name__}({settings})"


def _check_mlflow_prefix(prefix: str) -> None:
    """MLflow's rule for metric and param names, checked on the prefix before any run is started."""
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a str, got {type(prefix).__name__}")
    name = prefix + "train_loss"  # MLflow may take a name for a path, which must be plain
    plain_path = posixpath.normpath(name) == name and not name.startswith(("/", ".."))
    if not (re.fullmatch(r"[/\w.\- :]*", name) and plain_path):
        raise ValueError(f"MLflow would refuse the names prefix {prefix!r} makes, such as {name!r}: a name may only "
                         "contain letters, digits, underscores (_), dashes (-), periods (.), spaces, colons (:) and "
                         "slashes (/), and must be a plain relative path (no leading /, no //, ./ or ../)")


class MLflowLogger(_HistoryLogger):
    """Log ``history_`` to MLflow epoch by epoch: a callback for scikit-learn's callback API.

    Each epoch's values go to the run as metrics named after the columns
    (``train_loss``, ``val_score``, ``learning_rate`` ...) with the epoch as
    their step; the estimator's parameters go to it once, as params. Which
    run:

    - ``run_id``, or else the active run (``with mlflow.start_run(): ...``):
      the metrics go there, and the run stays open;
    - with neither, or with ``nested=True``, each fit starts a run of its own
      (a child of that run, if there is one) and ends it when the fit ends:
      ``FINISHED``, or ``FAILED`` if the fit raised. A fit that carries on
      the one before (``partial_fit``, ``warm_start=True``) carries on its
      run; if it raises, the run keeps the status ``FINISHED`` of the epochs
      it holds, and gets the tag ``skscratch.failed_fit``: the last epoch
      logged before the error. ``mlflow.last_active_run()`` finds the run.

    The tracking server is MLflow's: ``mlflow.set_tracking_uri`` or the
    ``MLFLOW_TRACKING_URI`` environment variable.

    Parameters
    ----------
    run_id : str, default=None
        An existing run to log to (with ``nested=True``: the parent of the
        fits' runs).
    experiment_name : str, default=None
        The experiment in which a fit starts its run, created if need be; by
        default that of the parent run for a child run, else MLflow's current
        one (``mlflow.set_experiment``).
    nested : bool, default=False
        Each fit in a run of its own, a child of ``run_id`` or of the active
        run: for a search, whose fits would otherwise mix in one run.
    prefix : str, default=""
        Put before each metric's and param's name, to tell apart several
        models logged to one run. Checked at once against MLflow's rule for
        names: letters, digits, ``_ - . : /`` and spaces.
    log_params : bool, default=True
        Log ``estimator.get_params()`` as the run's params when a fit
        begins. MLflow fixes a param once logged: one that changed since
        (``set_params`` between ``partial_fit`` calls) keeps its first value.

    See Also
    --------
    TensorBoardLogger : The same for TensorBoard.
    log_history : Log a fitted estimator's history after the fact.

    Notes
    -----
    Needs MLflow (``pip install "skscratch[mlflow]"``, which installs
    ``mlflow-skinny``). MLflow >= 3.7 refuses a plain folder as the store
    (``file:...``) unless the environment variable
    ``MLFLOW_ALLOW_FILE_STORE=true`` is set; a tracking server, or a
    database with the full ``mlflow`` package, needs nothing.

    The active run is that of the thread that fits. A search whose fits run
    in other threads (joblib's threading backend) or processes (``n_jobs``
    with joblib's default backend) does not see it, so ``nested=True`` alone
    makes their runs top-level: name the parent,
    ``MLflowLogger(run_id=parent.info.run_id, nested=True)``, which nests
    each fit's run under it from any thread or process.

    An error in starting a run (logging its params) ends the run it started
    before it is raised, so no run is left ``RUNNING``, nor active. A fit
    that Ctrl-C stops keeps the weights it has and returns normally, so its
    run ends ``FINISHED``.

    Examples
    --------
    >>> import os, tempfile, mlflow
    >>> from sklearn.datasets import load_iris
    >>> from skscratch import MLPScratchClassifier
    >>> from skscratch.tracking import MLflowLogger
    >>> os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # a plain folder as the store
    >>> mlflow.set_tracking_uri("file:" + tempfile.mkdtemp() + "/mlruns")
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPScratchClassifier(max_iter=5, learning_rate_init=0.01, random_state=0)
    >>> clf = clf.set_callbacks(MLflowLogger()).fit(X, y)
    >>> run = mlflow.last_active_run()
    >>> run.info.status, run.data.params["max_iter"]
    ('FINISHED', '5')
    >>> losses = mlflow.MlflowClient().get_metric_history(run.info.run_id, "train_loss")
    >>> [metric.step for metric in losses]
    [1, 2, 3, 4, 5]
    >>> [metric.value for metric in losses] == clf.history_["train_loss"].tolist()
    True
    """

    def __init__(self, *, run_id: str | None = None, experiment_name: str | None = None, nested: bool = False,
                 prefix: str = "", log_params: bool = True) -> None:
        _require("mlflow", "mlflow", "MLflowLogger")  # said now, not in the middle of a fit
        _check_mlflow_prefix(prefix)
        self.run_id = run_id
        self.experiment_name = experiment_name
        self.nested = nested
        self.prefix = prefix
        self.log_params = log_params
        super().__init__()

    def _open(self, estimator: Any, fit: _Fit) -> None:
        mlflow = _require("mlflow", "mlflow", "MLflowLogger")
        active = mlflow.active_run()  # this thread's
        parent = self.run_id or (active.info.run_id if active is not None else None)
        if parent is not None and not self.nested:
            fit.run = parent  # the user's run: logged to, left open
        else:
            carried_on = self._carried_on_run(estimator, fit)
            if carried_on is not None:  # reopened, it is RUNNING again
                run = mlflow.start_run(run_id=carried_on, nested=True)
            else:  # a child of run_id even where it is not active (another thread, another process)
                run = mlflow.start_run(experiment_id=self._experiment_id(mlflow, parent), nested=True,
                                       parent_run_id=self.run_id)
            fit.run, fit.started, fit.carried_on = run.info.run_id, True, carried_on is not None
        try:
            if self.log_params:
                self._log_params(mlflow, fit.run, estimator)
        except BaseException:
            self._close(estimator, fit)  # the fit never began: its run must not stay RUNNING and active
            raise

    def _experiment_id(self, mlflow: Any, parent: str | None) -> str | None:
        if self.experiment_name is not None:
            experiment = mlflow.get_experiment_by_name(self.experiment_name)
            return mlflow.create_experiment(self.experiment_name) if experiment is None else experiment.experiment_id
        if parent is not None:
            return mlflow.get_run(parent).info.experiment_id  # a child beside its parent
        return None  # MLflow's current experiment

    def _log_params(self, mlflow: Any, run_id: str, estimator: Any) -> None:
        logged = mlflow.get_run(run_id).data.params  # a run's params are fixed once logged
        params = {self.prefix + name: value for name, value in estimator.get_params(deep=False).items()}
        new = {name: value for name, value in params.items() if name not in logged}
        if new:
            mlflow.log_params(new, run_id=run_id)

    def _log(self, fit: _Fit, step: int, values: dict[str, float]) -> None:
        _require("mlflow", "mlflow", "MLflowLogger").log_metrics(values, step=step, run_id=fit.run)

    def _close(self, estimator: Any, fit: _Fit) -> None:
        if not fit.started:
            return  # not ours to end
        mlflow = _require("mlflow", "mlflow", "MLflowLogger")
        rows = getattr(estimator, "_history", None) or []  # a failed first fit leaves none
        if fit.completed:
            status = "FINISHED"
        elif fit.carried_on:  # its epochs before this fit stand: the failure is a tag, not the run's status
            last_epoch = int(rows[-1]["epoch"]) if rows else 0
            mlflow.MlflowClient().set_tag(fit.run, "skscratch.failed_fit", str(last_epoch))
            status = "FINISHED"
        else:
            status = "FAILED"
        active = mlflow.active_run()
        if active is not None and active.info.run_id == fit.run:
            mlflow.end_run(status)
        if rows and (fit.completed or fit.carried_on):  # the next fit that carries on goes on here
            self._last_run[estimator] = (fit.run, rows[-1]["epoch"])


class _EventFile:
    """A TensorBoard event file, each epoch written to disk as it ends; kept open for the fits that carry on.

    tensorboardX's ``SummaryWriter`` hands its events to a thread through a
    queue, so its ``flush`` may leave the last ones unwritten until
    ``close``: this writes them itself, with tensorboardX's ``EventsWriter``.
    The file is closed when its estimator is garbage collected, at exit, or
    by ``close()``, whichever comes first.
    """

    def __init__(self, log_dir: str, estimator: Any) -> None:
        from tensorboardX.event_file_writer import EventsWriter

        os.makedirs(log_dir, exist_ok=True)
        self.log_dir = log_dir
        # named by the second, as another file of the same second would be: a suffix of its own
        self._events = EventsWriter(os.path.join(log_dir, "events"), f".{uuid.uuid4().hex}")
        self.close = weakref.finalize(estimator, self._events.close)

    def write(self, step: int, values: dict[str, float]) -> None:
        """One event: the epoch's scalars, on disk when this returns."""
        from tensorboardX.proto.event_pb2 import Event
        from tensorboardX.proto.summary_pb2 import Summary
        from tensorboardX.summary import scalar

        summary = Summary(value=[item for tag, value in values.items() for item in scalar(tag, value).value])
        self._events.write_event(Event(wall_time=time.time(), step=step, summary=summary))
        self._events.flush()


class TensorBoardLogger(_HistoryLogger):
    """Log ``history_`` to TensorBoard epoch by epoch: a callback for scikit-learn's callback API.

    Each epoch's values are written as scalars named after the columns
    (``train_loss``, ``val_score``, ``learning_rate`` ...) with the epoch as
    their step, with tensorboardX, to an event file in ``log_dir``, on disk
    as the epoch ends: ``tensorboard --logdir DIR`` shows the curves as they
    grow.

    TensorBoard treats a folder as one run: give each experiment a folder
    of its own (``runs/adam``, ``runs/sgd`` ... for ``--logdir runs``). A fit
    that carries on the one before (``partial_fit``, ``warm_start=True``)
    carries on its curves, in the same event file; another fit in the same
    folder draws over them, from a file of its own.

    Parameters
    ----------
    log_dir : str or path-like
        The folder of the event files, created if need be.
    prefix : str, default=""
        Put before each scalar's name (``"mlp/"`` groups them in a section).

    See Also
    --------
    MLflowLogger : The same for MLflow.
    log_history : Log a fitted estimator's history after the fact.

    Notes
    -----
    Needs tensorboardX (``pip install "skscratch[tensorboard]"``); viewing
    the curves needs TensorBoard itself. TensorBoard keeps scalars as
    float32.

    An estimator's event file stays open between its fits, so that a loop
    of ``partial_fit`` calls writes one file, not one a call. It is closed
    when a fresh fit of that estimator begins, when the estimator is
    garbage collected, and at exit.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklearn.datasets import load_iris
    >>> from skscratch import MLPScratchClassifier
    >>> from skscratch.tracking import TensorBoardLogger
    >>> X, y = load_iris(return_X_y=True)
    >>> log_dir = Path(tempfile.mkdtemp(), "adam")
    >>> clf = MLPScratchClassifier(max_iter=5, learning_rate_init=0.01, random_state=0)
    >>> clf = clf.set_callbacks(TensorBoardLogger(log_dir)).fit(X, y)
    >>> [path.name[:20] for path in log_dir.iterdir()]
    ['events.out.tfevents.']
    """

    def __init__(self, log_dir: str | os.PathLike[str], *, prefix: str = "") -> None:
        _require("tensorboardX", "tensorboard", "TensorBoardLogger")  # said now, not in the middle of a fit
        self.log_dir = log_dir
        self.prefix = prefix
        super().__init__()

    def _open(self, estimator: Any, fit: _Fit) -> None:
        _require("tensorboardX", "tensorboard", "TensorBoardLogger")
        log_dir = os.fspath(self.log_dir)
        kept = self._carried_on_run(estimator, fit) if fit.root is not None else None
        if kept is not None and kept.log_dir == log_dir:
            fit.carried_on = True
        else:  # a fresh fit: a file of its own
            self._close_kept(estimator)
            kept = _EventFile(log_dir, estimator)
        fit.run, fit.started = kept, True

    def _log(self, fit: _Fit, step: int, values: dict[str, float]) -> None:
        fit.run.write(step, values)

    def _close(self, estimator: Any, fit: _Fit) -> None:
        rows = getattr(estimator, "_history", None)
        if fit.root is not None and rows and (fit.completed or fit.carried_on):  # kept for the fit that carries on
            self._last_run[estimator] = (fit.run, rows[-1]["epoch"])
        else:  # log_history's, or a fresh fit's that failed
            fit.run.close()

    def _close_kept(self, estimator: Any) -> None:
        kept, _ = self._last_run.pop(estimator, (None, None))
        if kept is not None:
            kept.close()


def log_history(estimator: Any, logger: MLflowLogger | TensorBoardLogger) -> None:
    """Log the whole ``history_`` of a fitted estimator, after the fact, through a logger.

    As if ``logger`` had been a callback of one fit that made every epoch of
    ``history_`` (epoch 1 onwards). Needs no callback API, so it works with
    any scikit-learn version, after ``partial_fit`` calls, and for a model
    loaded from disk.

    Parameters
    ----------
    estimator : MLPScratchClassifier, MLPScratchRegressor or Pipeline
        Fitted; a Pipeline's last step is logged.
    logger : MLflowLogger or TensorBoardLogger
        Where to: the logger's settings apply (to which MLflow run, ...).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklearn.datasets import load_iris
    >>> from skscratch import MLPScratchClassifier
    >>> from skscratch.tracking import TensorBoardLogger, log_history
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPScratchClassifier(learning_rate_init=0.01, random_state=0)
    >>> for _ in range(3):
    ...     clf = clf.partial_fit(X, y, classes=[0, 1, 2])
    >>> log_dir = Path(tempfile.mkdtemp(), "partial_fit")
    >>> log_history(clf, TensorBoardLogger(log_dir))
    >>> len(list(log_dir.iterdir()))
    1
    """
    model = estimator[-1] if isinstance(estimator, Pipeline) else estimator
    check_is_fitted(model)
    logger._replay(model)
