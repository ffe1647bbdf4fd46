"""Export to ONNX through skl2onnx (the optional extra ``skscratch[onnx]``).

Importing this module registers converters for our two estimators with
skl2onnx, so they convert alone or inside a Pipeline, like scikit-learn's own
MLP, for every activation, the ones scikit-learn lacks included.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..nn.activations import Activation
from .._engine.array_api import to_host
from .._estimator.mlp import MLPScratchClassifier, MLPScratchRegressor
from .persistence import to_numpy
from .tabular_format import refuse_onnx

try:
    import onnx
    import skl2onnx
    from skl2onnx.common.data_types import Int64TensorType, guess_proto_type
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )
    from skl2onnx.proto import onnx_proto
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "skscratch.to_onnx needs skl2onnx: pip install 'skscratch[onnx]'"
    ) from exc

SIMPLE_OPS = {"identity": "Identity", "tanh": "Tanh", "logistic": "Sigmoid", "relu": "Relu",
              "softmax": "Softmax", "exp": "Exp"}
GELU_C = float(np.sqrt(2 / np.pi))


class _Graph:
    """Small helpers over skl2onnx's scope and container."""

    def __init__(self, scope, container, proto_dtype):
        self.scope, self.container, self.proto_dtype = scope, container, proto_dtype

    def name(self, hint):
        return self.scope.get_unique_variable_name(hint)

    def node(self, op, inputs, output=None, domain=None, **attrs):
        output = output or self.name(op.lower())
        extra = {"op_domain": domain} if domain else {}
        self.container.add_node(op, inputs, output, name=self.scope.get_unique_operator_name(op),
                                **extra, **attrs)
        return output

    def constant(self, value, hint="c"):
        name = self.name(hint)
        value = np.asarray(value)
        self.container.add_initializer(name, self.proto_dtype, list(value.shape), value.ravel().tolist())
        return name

    def activation(self, kind, Z):
        """The nodes of activation ``kind`` applied to Z (gelu's tanh form spelled out)."""
        if isinstance(kind, Activation):
            return self.user_activation(kind, Z)
        if kind in SIMPLE_OPS:
            return self.node(SIMPLE_OPS[kind], [Z])
        if kind == "leaky_relu":
            return self.node("LeakyRelu", [Z], alpha=0.01)
        if kind == "elu":
            return self.node("Elu", [Z], alpha=1.0)
        if kind == "gelu":  # z/2 (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))
            cube = self.node("Mul", [Z, self.node("Mul", [Z, Z])])
            inner = self.node("Add", [Z, self.node("Mul", [cube, self.constant(0.044715)])])
            tanh = self.node("Tanh", [self.node("Mul", [inner, self.constant(GELU_C)])])
            half_z = self.node("Mul", [Z, self.constant(0.5)])
            return self.node("Mul", [half_z, self.node("Add", [tanh, self.constant(1.0)])])
        raise ValueError(f"No ONNX form for activation {kind!r}.")

    def user_activation(self, activation, Z):
        """A user's ``Activation``, from its ``onnx(op, Z)``: ``op`` adds a node, numbers become constants.

        An unknown operator, or a result that is not a node's output, is
        refused here, naming the activation, not later by an ONNX runtime.
        """
        made = {Z}

        def op(op_type, *inputs, **attributes):
            if not (isinstance(op_type, str) and onnx.defs.has(op_type)):
                raise ValueError(f"activation={activation!r}.onnx: {op_type!r} is not an ONNX operator "
                                 "(see https://onnx.ai/onnx/operators/)")
            names = [self._operand(activation, op_type, k, x, made) for k, x in enumerate(inputs)]
            output = self.name(op_type.lower())
            self.container.add_node(op_type, names, output, name=self.scope.get_unique_operator_name(op_type),
                                    **attributes)
            made.add(output)
            return output

        try:
            A = activation.onnx(op, Z)
        except NotImplementedError as exc:
            raise ValueError(f"Cannot convert activation={activation!r} to ONNX: {exc}") from None
        if not (isinstance(A, str) and A in made):
            raise ValueError(f"activation={activation!r}.onnx(op, Z) must return what op(...) returned (or Z), "
                             f"not {A!r}")
        return A

    def _operand(self, activation, op_type, k, x, made):
        """Input ``k`` of a user's ``op(op_type, ...)`` as a node name: Z or an op's output, or a number's constant.

        Anything else is refused, naming the activation: a string that no op
        returned (``"2.0"`` for the number 2.0), None, text, complex numbers.
        """
        if isinstance(x, str):
            if x in made:
                return x
            raise ValueError(
                f"activation={activation!r}.onnx: input {k} of op({op_type!r}, ...) is the string {x!r}, which "
                "is neither Z nor what op(...) returned. Pass a number as a number (2.0, not '2.0')."
            )
        if isinstance(x, (bool, int, float, np.bool_, np.integer, np.floating)):
            x = float(x)  # a constant of the graph's float dtype, however large an int (10**30)
        value = np.asarray(x) if isinstance(x, (float, np.ndarray, list, tuple)) else None
        if value is None or value.dtype.kind not in "biuf":
            raise ValueError(
                f"activation={activation!r}.onnx: input {k} of op({op_type!r}, ...) is {x!r}; an input is Z, "
                "what op(...) returned, or a real number (or an array of them)."
            )
        return self.constant(value)

    def forward(self, model, X):
        """The network's output (after the output activation)."""
        A = self.node("Cast", [X], to=self.proto_dtype)
        n_layers = len(model.coefs_)
        for i, (W, b) in enumerate(zip(model.coefs_, model.intercepts_, strict=True)):
            Z = self.node("Add", [self.node("MatMul", [A, self.constant(W, "coef")]),
                                  self.constant(b, "intercept")])
            A = self.activation(model.activation if i < n_layers - 1 else model.out_activation_, Z)
        return A


def _proto_dtype(operator):
    proto = guess_proto_type(operator.inputs[0].type)
    return proto if proto == onnx_proto.TensorProto.DOUBLE else onnx_proto.TensorProto.FLOAT


def _classifier_shapes(operator):
    """skl2onnx's shapes for a classifier; a multilabel one has a label per output column."""
    calculate_linear_classifier_output_shapes(operator)
    model = operator.raw_operator
    if model._label_binarizer.y_type_ == "multilabel-indicator":
        N = operator.inputs[0].get_first_dimension()
        operator.outputs[0].set_type(Int64TensorType(shape=[N, model.n_outputs_]))


def _convert_classifier(scope, operator, container):
    """The classifier's graph: the network, its probabilities per class, and the labels they pick."""
    model = operator.raw_operator
    check_is_fitted(model)
    graph = _Graph(scope, container, _proto_dtype(operator))
    label, probabilities = operator.outputs[0].full_name, operator.outputs[1].full_name
    P = graph.forward(model, operator.inputs[0].full_name)
    y_type = model._label_binarizer.y_type_
    if len(model.classes_) == 1 and y_type != "multilabel-indicator":  # one class: certain
        graph.node("Add", [graph.node("Sub", [P, P]), graph.constant([1.0])], probabilities)
    elif y_type == "binary":
        negative = graph.node("Sub", [graph.constant([1.0]), P])
        graph.node("Concat", [negative, P], probabilities, axis=1)
    else:
        graph.node("Identity", [P], probabilities)
    if y_type == "multilabel-indicator":  # each label on where its probability > 0.5
        on = graph.node("Greater", [P, graph.constant([0.5])])
        graph.node("Cast", [on], label, to=onnx_proto.TensorProto.INT64)
        return
    classes = model.classes_
    if classes.dtype.kind in "OUS":
        classes_name = graph.name("classes")
        container.add_initializer(classes_name, onnx_proto.TensorProto.STRING, [len(classes)],
                                  [str(c).encode() for c in classes])
    else:
        # integer, boolean or integral float classes (scikit-learn refuses other floats)
        classes_name = graph.name("classes")
        container.add_initializer(classes_name, onnx_proto.TensorProto.INT64, [len(classes)],
                                  classes.astype(np.int64).tolist())
    best = graph.node("ArgMax", [probabilities], axis=1)
    picked = graph.node("ArrayFeatureExtractor", [classes_name, best], domain="ai.onnx.ml")
    flat = graph.name("shape")
    container.add_initializer(flat, onnx_proto.TensorProto.INT64, [1], [-1])
    graph.node("Reshape", [picked, flat], label)


def _convert_regressor(scope, operator, container):
    """The regressor's graph: the network's output is the prediction."""
    check_is_fitted(operator.raw_operator)
    graph = _Graph(scope, container, _proto_dtype(operator))
    graph.node("Identity", [graph.forward(operator.raw_operator, operator.inputs[0].full_name)],
               operator.outputs[0].full_name)


skl2onnx.update_registered_converter(
    MLPScratchClassifier, "SkscratchMLPClassifier", _classifier_shapes,
    _convert_classifier, options={"zipmap": [True, False, "columns"], "nocl": [True, False]},
)
skl2onnx.update_registered_converter(
    MLPScratchRegressor, "SkscratchMLPRegressor", calculate_linear_regressor_output_shapes,
    _convert_regressor,
)


def to_onnx(model, X_sample, *, target_opset=None):
    """The implementation of :func:`skscratch.to_onnx`."""
    refuse_onnx(model)  # a tabular MLP: no ONNX form
    check_is_fitted(model)
    steps = model.steps if hasattr(model, "steps") else [(None, model)]
    for _, step in steps:
        own = step._layers_fitted() if hasattr(step, "_layers_fitted") else []
        if own:
            raise ValueError(
                f"{type(step).__name__} holds a layer of your own, {own[0][1]!r}, which has no ONNX form: "
                "to_onnx converts networks of Dense layers and activations (built-in, or an Activation of yours "
                "with an onnx method). Keep it in Python (joblib, pickle or skops)."
            )
    model = to_numpy(model)  # a model fitted on a GPU converts from its weights on the host
    X_sample = np.asarray(to_host(X_sample))
    if X_sample.dtype not in (np.float32, np.float64):
        X_sample = X_sample.astype(np.float32)
    onx = skl2onnx.to_onnx(model, X_sample, target_opset=target_opset,
                           options={MLPScratchClassifier: {"zipmap": False}})
    for activation in _user_activations(model):  # the graph holds the user's nodes: check them
        try:
            onnx.checker.check_model(onx, full_check=True)
        except Exception as exc:
            raise ValueError(f"activation={activation!r}.onnx(op, Z) made an invalid ONNX graph: {exc}") from None
    return onx


def _user_activations(model):
    """The ``Activation`` objects of the networks in ``model`` (a Pipeline's steps included)."""
    steps = [step for _, step in model.steps] if hasattr(model, "steps") else [model]
    return [step.activation for step in steps if isinstance(getattr(step, "activation", None), Activation)]
