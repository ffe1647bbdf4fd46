"""skscratch: a multi-layer perceptron written from scratch in NumPy, as a scikit-learn estimator.

``MLPScratchClassifier`` and ``MLPScratchRegressor`` are drop-in replacements
for :class:`sklearn.neural_network.MLPClassifier` and ``MLPRegressor``. Its backpropagation lives in
``skscratch.nn.network`` and reads on one screen.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:  # what the lazy names below are, for type checkers
    from numpy.typing import ArrayLike

    from .nn.activations import Activation
    from ._estimator.mlp import MLPScratchClassifier, MLPScratchRegressor
    from ._estimator.gradcheck import check_gradients, gradients
    from .io.persistence import load, save, to_numpy
    from ._estimator.tabular import TabularMLPClassifier, TabularMLPRegressor
    from ._estimator.tabular_preprocessing import TabularPreprocessor

__all__ = ["MLPScratchClassifier", "MLPScratchRegressor", "TabularMLPClassifier", "TabularMLPRegressor",
           "TabularPreprocessor", "Activation", "check_gradients", "gradients", "load", "save",
           "to_numpy", "to_onnx", "__version__"]

# The estimators and save/load are imported on first use (PEP 562), so that
# ``import skscratch`` costs no NumPy or scikit-learn import: the ``skscratch``
# command installs its Ctrl-C handling before those slow imports begin.
_LAZY = {"MLPScratchClassifier": "._estimator.mlp", "MLPScratchRegressor": "._estimator.mlp",
         "load": ".io.persistence", "save": ".io.persistence", "to_numpy": ".io.persistence",
         "check_gradients": "._estimator.gradcheck", "gradients": "._estimator.gradcheck",
         "Activation": ".nn.activations", "TabularMLPClassifier": "._estimator.tabular",
         "TabularMLPRegressor": "._estimator.tabular", "TabularPreprocessor": "._estimator.tabular_preprocessing"}


# Where the modules of 0.1.0, one flat package, went: pickles and joblib or skops files
# written by 0.1.0 name them, and so may a user's code
_MOVED = {
    "_activations": "nn.activations", "_losses": "nn.losses", "_dropout": "nn.dropout",
    "_network": "nn.network", "_optimizers": "nn.optimizers",
    "_array_api": "_engine.array_api", "_parallel": "_engine.parallel", "_kernels": "_engine.kernels",
    "_cli_entry": "cli.console", "_base": "_estimator.base", "_mlp": "_estimator.mlp",
    "_training": "_estimator.training", "_lbfgs": "_estimator.lbfgs", "_guards": "_estimator.guards",
    "_validation": "_estimator.validation", "_sklearn_bases": "_estimator.sklearn_bases",
    "_docs": "_estimator.docs", "_gradcheck": "_estimator.gradcheck",
    "_persistence": "io.persistence", "_metadata": "io.metadata", "_integrity": "io.integrity",
    "_npz_container": "io.npz_container", "_pipeline_format": "io.pipeline_format",
    "_strict_json": "io.strict_json", "_file_access": "io.file_access", "_onnx": "io.onnx",
    "_cli_demo": "cli._demo", "_cli_files": "cli._files", "_cli_train": "cli._train",
}


class _MovedModules:
    """Imports ``skscratch._mlp`` (an old path) as the module it moved to, the same module object."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        package, _, old = fullname.rpartition(".")
        if package != __name__ or old not in _MOVED:
            return None
        from importlib.machinery import ModuleSpec

        return ModuleSpec(fullname, _MovedModules)

    @staticmethod
    def create_module(spec):
        return None  # a placeholder: exec_module puts the real module in its place

    @staticmethod
    def exec_module(module):
        """``sys.modules`` under the old name gets the module itself, left as it is (its name, its spec)."""
        from importlib import import_module

        sys.modules[module.__name__] = import_module(f"{__name__}.{_MOVED[module.__name__.rpartition('.')[2]]}")


if not any(getattr(finder, "__module__", None) == __name__ and getattr(finder, "__qualname__", "") == "_MovedModules"
           for finder in sys.meta_path):
    sys.meta_path.insert(0, _MovedModules)  # before the path: a stale _mlp.py left by an old install loses


def __getattr__(name):
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # found directly from now on
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *__all__})


def to_onnx(model: Any, X_sample: ArrayLike, *, target_opset: int | None = None) -> Any:
    """Convert a fitted estimator, or a Pipeline ending in one, to an ONNX model.

    Uses skl2onnx (``pip install 'skscratch[onnx]'``), with converters for
    our estimators registered on import, so any step skl2onnx knows (a
    StandardScaler, say) converts with them. Every built-in activation
    converts, gelu and the other additions included; an
    :class:`~skscratch.Activation` of your own converts when it defines
    ``onnx(op, Z)``, and is refused with a ValueError otherwise. Classifiers output ``label`` and
    ``probabilities`` as plain tensors (no ZipMap); labels are int64 for
    integer or boolean classes and strings for string classes.

    Parameters
    ----------
    model : MLPScratchClassifier, MLPScratchRegressor or Pipeline
        Fitted.
    X_sample : array-like of shape (n_samples, n_features)
        A few rows of input; their dtype sets the graph's (float32 input gives
        a float32 graph, float64 a float64 one).
    target_opset : int, optional
        The ONNX opset; skl2onnx's latest tested one by default.

    Returns
    -------
    onnx.ModelProto

    Examples
    --------
    >>> import numpy as np, onnxruntime as ort, skscratch
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> X = X.astype(np.float32)
    >>> clf = skscratch.MLPScratchClassifier(solver="lbfgs", random_state=0).fit(X, y)
    >>> onx = skscratch.to_onnx(clf, X[:1])
    >>> session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    >>> labels, probabilities = session.run(None, {"X": X})
    >>> bool((labels == clf.predict(X)).all())
    True
    """
    from .io.tabular_format import refuse_onnx

    refuse_onnx(model)  # a tabular MLP has no ONNX form: said before skl2onnx, which is optional, is needed
    from .io.onnx import to_onnx as convert  # skl2onnx is optional: imported on first use

    return convert(model, X_sample, target_opset=target_opset)

