"""Fixtures for every test: those of tests/, the doctests of skscratch/ and README.md.

Imports nothing heavy: tests/conftest.py sets an environment variable that
SciPy reads when it is first imported, after this file.
"""

import os
import sys

import pytest


@pytest.fixture(autouse=True)
def _mlflow_as_it_was(monkeypatch):
    """MLflow's settings put back after each test, for the examples that set them for the whole process.

    The examples let MLflow keep runs in a plain folder and set the tracking
    URI, which MLflow also puts in ``MLFLOW_TRACKING_URI``. Telemetry is off.
    MLflow (about a second to import) is touched only if a test imported it.
    """
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    yield
    mlflow = sys.modules.get("mlflow")
    if mlflow is not None:
        mlflow.set_tracking_uri(uri)  # None: not set; also puts MLFLOW_TRACKING_URI back
    if uri is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = uri
