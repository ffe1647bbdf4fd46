"""The docstrings say what the code has: every parameter, every fitted attribute, in numpydoc form."""

import inspect
import warnings

import numpy as np
import pytest
from numpydoc.docscrape import ClassDoc, NumpyDocString
from sklearn.datasets import load_iris

import skscratch
from skscratch import MLPScratchClassifier, MLPScratchRegressor, nn, tracking

ESTIMATORS = [MLPScratchClassifier, MLPScratchRegressor]


def documented(docstring, section):
    """The names a numpydoc section lists (``a, b : float`` lists two)."""
    return [name.strip() for item in NumpyDocString(docstring)[section] for name in item.name.split(",")]


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_every_parameter_is_documented_in_signature_order(Estimator):
    signature = [name for name in inspect.signature(Estimator).parameters]
    assert documented(Estimator.__doc__, "Parameters") == signature
    assert sorted(signature) == sorted(Estimator().get_params())
    for item in NumpyDocString(Estimator.__doc__)["Parameters"]:
        assert item.type and item.desc, f"{item.name} has no type or no description"


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_every_fitted_attribute_is_documented(Estimator):
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = Estimator(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)
    fitted = {name for name in vars(model) if name.endswith("_") and not name.startswith("_")}
    fitted |= {name for name in dir(type(model)) if name.endswith("_") and not name.startswith("_")
               and isinstance(getattr(type(model), name), property)}
    documented_attributes = set(documented(Estimator.__doc__, "Attributes"))
    assert fitted - {"feature_names_in_"} <= documented_attributes, fitted - documented_attributes
    assert documented_attributes <= fitted | {"feature_names_in_"}, documented_attributes - fitted


@pytest.mark.parametrize("obj", [*ESTIMATORS, skscratch.save, skscratch.load, skscratch.to_numpy, skscratch.to_onnx,
                                 skscratch.check_gradients, skscratch.gradients, skscratch.Activation,
                                 tracking.MLflowLogger, tracking.TensorBoardLogger, tracking.log_history,
                                 nn.Network, nn.Network.mlp, nn.Layer, nn.Dense, nn.Elementwise, nn.Dropout,
                                 nn.SGD, nn.Adam, nn.AdamW, nn.check_network_gradients])
def test_public_docstrings_have_examples(obj):
    doc = ClassDoc(obj) if inspect.isclass(obj) else NumpyDocString(obj.__doc__)
    assert doc["Examples"], f"{obj.__name__} has no Examples section"


def test_public_methods_document_their_parameters():
    for Estimator in ESTIMATORS:
        for name in ("fit", "partial_fit", "predict", "score"):
            method = getattr(Estimator, name)
            parameters = [p for p in inspect.signature(method).parameters if p != "self"]
            names = documented(method.__doc__, "Parameters")
            assert names == parameters, (Estimator.__name__, name, names, parameters)


def test_the_html_repr_links_each_estimator_to_its_api_page():
    for Estimator in ESTIMATORS:
        html = Estimator()._repr_html_()
        url = f"generated/skscratch.{Estimator.__name__}.html"
        assert url in html, html[:500]
        assert skscratch._estimator.base.DOCS_URL.split("{")[0] in html


def test_numpy_float_defaults_are_written_as_in_the_signature():
    """The documented defaults match the signature's."""
    for Estimator in ESTIMATORS:
        signature = inspect.signature(Estimator).parameters
        for item in NumpyDocString(Estimator.__doc__)["Parameters"]:
            for name in item.name.split(", "):
                default = signature[name].default
                if "default=" in item.type and not isinstance(default, (tuple, np.ndarray)):
                    shown = item.type.split("default=")[1].split(",")[0].strip().strip('"')
                    assert shown == str(default) or float(shown) == default, (name, shown, default)
