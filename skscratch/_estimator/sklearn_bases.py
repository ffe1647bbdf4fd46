"""scikit-learn's estimator base classes as type checkers see them; never imported at run time.

scikit-learn ships no type information, so mypy takes its classes as ``Any``,
and a class derived from ``Any`` accepts any attribute: ``clf.n_iters_`` (for
``n_iter_``) would pass unnoticed. When type-checked (``TYPE_CHECKING``),
``_estimator.base`` and ``_estimator.mlp`` therefore derive from the classes below, which declare
the public methods our estimators inherit, with scikit-learn's signatures
(1.9); at run time they derive from scikit-learn's own classes. An
estimator's own methods and fitted attributes are declared on its class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sklearn.utils import Tags
    from typing_extensions import Self

    class BaseEstimator:
        """``sklearn.base.BaseEstimator``: parameters, cloning, tags, metadata routing, pickling."""

        def get_params(self, deep: bool = True) -> dict[str, Any]: ...

        def set_params(self, **params: Any) -> Self: ...

        def get_metadata_routing(self) -> Any: ...

        def __sklearn_clone__(self) -> Self: ...

        def __sklearn_tags__(self) -> Tags: ...

        def __getstate__(self) -> dict[str, Any]: ...

        def __setstate__(self, state: dict[str, Any]) -> None: ...

        def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]: ...

        @property
        def _repr_html_(self) -> Any: ...

    class ClassifierMixin:
        """``sklearn.base.ClassifierMixin``: accuracy as the score."""

        def score(self, X: Any, y: Any, sample_weight: Any = None) -> float: ...

    class RegressorMixin:
        """``sklearn.base.RegressorMixin``: R^2 as the score."""

        def score(self, X: Any, y: Any, sample_weight: Any = None) -> float: ...

    class CallbackSupportMixin:
        """``sklearn.callback.CallbackSupportMixin`` (scikit-learn >= 1.9; older ones raise AttributeError)."""

        def set_callbacks(self, *callbacks: Any) -> Self: ...
