"""The tabular estimators' docstrings say what the code has: every parameter, every fitted attribute."""

import inspect
import warnings

import pytest
from numpydoc.docscrape import ClassDoc, NumpyDocString
from sklearn.datasets import load_iris

from skscratch import TabularMLPClassifier, TabularMLPRegressor, TabularPreprocessor, nn
from test_docstrings import documented

ESTIMATORS = [TabularMLPClassifier, TabularMLPRegressor]


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_every_parameter_is_documented_in_signature_order(Estimator):
    signature = [name for name in inspect.signature(Estimator).parameters]
    assert documented(Estimator.__doc__, "Parameters") == signature
    assert sorted(signature) == sorted(Estimator().get_params())
    for item in NumpyDocString(Estimator.__doc__)["Parameters"]:
        assert item.type and item.desc, f"{item.name} has no type or no description"
        default = inspect.signature(Estimator).parameters[item.name].default
        assert item.type.endswith(f"default={default!r}".replace("'", '"')), item.type


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_every_fitted_attribute_is_documented(Estimator):
    X, y = load_iris(return_X_y=True, as_frame=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = Estimator(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)
    fitted = {name for name in vars(model) if name.endswith("_") and not name.startswith("_")}
    fitted |= {name for name in dir(type(model)) if name.endswith("_") and not name.startswith("_")
               and isinstance(getattr(type(model), name), property)}
    assert fitted == set(documented(Estimator.__doc__, "Attributes"))


@pytest.mark.parametrize("obj", [*ESTIMATORS, TabularPreprocessor, nn.TabularEmbedding, nn.Scale, nn.NTDense,
                                 nn.ParametricActivation])
def test_public_docstrings_have_examples(obj):
    assert ClassDoc(obj)["Examples"], f"{obj.__name__} has no Examples section"


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("name", ["fit", "predict", "score"])
def test_public_methods_document_their_parameters(Estimator, name):
    method = getattr(Estimator, name)
    parameters = [p for p in inspect.signature(method).parameters if p != "self"]
    names = [n for n in documented(method.__doc__, "Parameters")]
    assert names == parameters
