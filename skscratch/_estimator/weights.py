"""The network inside an estimator: its flat parameter vector, its passes, and how it travels.

``NetworkWeights`` is a part of ``BaseMLPScratch``: the one flat vector of
parameters behind ``coefs_`` and ``intercepts_`` (they are views into it);
the :class:`skscratch.nn.Network` over it, with the passes the estimator
makes (the loss and its gradient, the loss alone, the logits); the array
library it lives in; and pickling (plain data, stamped with the version).
"""

import copy
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import InconsistentVersionWarning
from sklearn.utils import gen_batches
from sklearn.utils.validation import validate_data

from .._engine import array_api as seam
from .._engine import passes
from .._version import __version__
from ..nn import network as _network
from ..nn import optimizers as _optimizers
from ..nn.activations import activation_fault
from ..nn.layers import Dense, Dropout, Elementwise, Layer
from ..nn.network import Network


class SkscratchVersionWarning(InconsistentVersionWarning):
    """A model pickled by another version of skscratch.

    A subclass of scikit-learn's ``InconsistentVersionWarning`` (its
    ``original_sklearn_version`` and ``current_sklearn_version`` attributes
    hold skscratch versions here), so that filters and handlers written for
    scikit-learn's warning catch it too.
    """

    def __str__(self):
        return (
            f"Trying to unpickle estimator {self.estimator_name} from skscratch version "
            f"{self.original_sklearn_version} when using skscratch version "
            f"{self.current_sklearn_version}. This might lead to breaking code or invalid "
            "results. Use at your own risk. To move a model between versions, save it with "
            "skscratch.save, whose format is versioned and checked on load."
        )


def _is_packed(arrays, flat):
    """True if ``arrays`` are consecutive C-contiguous views filling ``flat``."""
    offset = 0
    for a in arrays:
        if (
            a.base is not flat
            or not a.flags.c_contiguous
            or a.ctypes.data != flat.ctypes.data + offset * flat.itemsize
        ):
            return False
        offset += a.size
    return offset == flat.size


class NetworkWeights:
    """The estimator's network: the flat parameter vector, the passes over it, pickling (see the module)."""

    # ------------------------------------------------------------------
    # Parameters: one flat vector, with coefs_ and intercepts_ as views.

    def _layer_units(self):
        return [W.shape[0] for W in self.coefs_] + [self.coefs_[-1].shape[1]]

    def _set_flat_params(self, flat, layer_units):
        xp = seam.array_namespace(flat)
        self._flat_params = flat
        if self._layers_fitted():  # the Dense layers' views, wherever the user's layers put them
            dense = self._network_of(layer_units).bind(flat, flat).dense  # (no gradient: flat stands in)
            self.coefs_, self.intercepts_ = [layer.W for layer in dense], [layer.b for layer in dense]
        else:  # every W, then every b (scikit-learn's order)
            self.coefs_, self.intercepts_ = _network.unpack(flat, layer_units, xp)
        # other libraries' views, and views among the user's parameters, are remembered as they are
        self._flat_views = None if xp is np and not self._layers_fitted() else [*self.coefs_, *self.intercepts_]

    def _views_are_packed(self, arrays, flat):
        """Whether ``arrays`` are still the views into ``flat`` that ``_set_flat_params`` made."""
        if isinstance(flat, np.ndarray) and not self._layers_fitted():
            return _is_packed(arrays, flat)
        views = getattr(self, "_flat_views", None) or []
        return len(views) == len(arrays) and all(a is v for a, v in zip(arrays, views, strict=True))

    def _get_flat_params(self):
        """The flat parameter vector behind ``coefs_`` and ``intercepts_``.

        After unpickling, or when a user assigned new arrays to ``coefs_`` or
        ``intercepts_``, the arrays are packed again into one vector.
        """
        flat = getattr(self, "_flat_params", None)
        arrays = [*self.coefs_, *self.intercepts_]
        if self._layers_fitted():  # the vector also holds the user's layers' parameters: it is kept
            if not self._views_are_packed(arrays, flat):
                views = [*self.coefs_, *self.intercepts_]
                self._set_flat_params(flat, self._layer_units())
                for view, given in zip([*self.coefs_, *self.intercepts_], views, strict=True):
                    view[...] = given  # an array the user assigned to coefs_ or intercepts_
            return flat
        if flat is None or not self._views_are_packed(arrays, flat):
            xp = seam.array_namespace(arrays[0])
            flat = seam.concat(xp, [seam.ravel(xp, xp.asarray(a)) for a in arrays], axis=0)
            self._set_flat_params(flat, self._layer_units())
        return flat

    def _namespace(self):
        """``(xp, device)`` of the fitted network: ``(numpy, None)``, or its array library's."""
        xp = seam.array_namespace(self.coefs_[0])
        return xp, (None if xp is np else seam.device(self.coefs_[0]))

    def _check_same_namespace(self, X, method):
        """X (validated) must be in the fitted network's namespace and on its device."""
        xp, device = self._namespace()
        x_xp = seam.array_namespace(X) if not hasattr(X, "toarray") else np
        x_device = None if x_xp is np else seam.device(X)
        if x_xp is xp and x_device == device:
            return
        raise ValueError(
            f"Inputs passed to {type(self).__name__}.{method}() must use the same namespace and "
            f"the same device as those passed to fit(): the network was fitted on "
            f"{seam.name(xp, device)}, and X is {seam.name(x_xp, x_device)}. Pass X in the fitted namespace "
            "(with sklearn.config_context(array_api_dispatch=True) for arrays other than NumPy's), "
            "or move the model: skscratch.to_numpy(model) for NumPy, or scikit-learn's "
            "move_estimator_to(model, xp, device)."
        )

    def __sklearn_array_api_convert__(self, converter):
        """A copy of the fitted model with every array of the network passed through ``converter``.

        What scikit-learn's ``move_estimator_to`` calls: the weights, the best
        weights of early stopping and the optimizer's state move together.
        The labels (``classes_``) stay NumPy arrays, as strings may be labels.
        The copy shares no array and no record with this model.
        """
        new = clone(self)
        if not hasattr(self, "coefs_"):
            return new

        def convert(array):  # converted, and never sharing memory with the original
            converted = converter(array)
            return seam.copy(seam.array_namespace(converted), converted)

        skip = {"coefs_", "intercepts_", "_flat_params", "_flat_views", "_best_params", "_optimizer"}
        new.__dict__.update(copy.deepcopy({k: v for k, v in vars(self).items() if k not in skip}))
        new._set_flat_params(convert(self._get_flat_params()), self._layer_units())
        best = getattr(self, "_best_params", None)
        new._best_params = None if best is None else convert(best)
        optimizer = getattr(self, "_optimizer", None)
        if optimizer is not None:
            state = _optimizers.to_state(optimizer)
            new._optimizer = _optimizers.from_state(
                {k: convert(v) if hasattr(v, "shape") else v for k, v in state.items()})
        else:
            new._optimizer = None
        return new

    # ------------------------------------------------------------------
    # Pickling: plain data, stamped with the version

    def __getstate__(self):
        """Plain data to pickle: no flat vector (the views hold it), the optimizer as a dict, a version stamp."""
        if self._layers_fitted() and hasattr(self, "coefs_"):
            self._get_flat_params()  # arrays assigned to coefs_ by hand: into the vector, which is kept
        # a copy: on Python >= 3.11 BaseEstimator returns our own __dict__ itself
        state = dict(super().__getstate__())
        # coefs_ and intercepts_ hold the values; the vector is rebuilt on demand (but for the
        # parameters of a user's layers, which only the vector holds: then it is kept)
        if not self._layers_fitted():
            state.pop("_flat_params", None)
        state.pop("_flat_views", None)
        # plain data only, so that skops.io trusts nothing of ours but this class
        if getattr(self, "_optimizer", None) is not None:
            state["_optimizer"] = _optimizers.to_state(self._optimizer)
        state["_skscratch_version"] = __version__
        return state

    def __setstate__(self, state):
        """Warn if another skscratch version wrote it; rebuild the optimizer; make arrays writeable."""
        state = dict(state)
        saved_version = state.pop("_skscratch_version", "pre-0.1.0")
        if saved_version != __version__:
            warnings.warn(SkscratchVersionWarning(
                estimator_name=type(self).__name__,
                current_sklearn_version=__version__,
                original_sklearn_version=saved_version,
            ))  # fmt: skip
        if isinstance(state.get("_optimizer"), dict):
            state["_optimizer"] = _optimizers.from_state(state["_optimizer"])
        for key in ("_best_params", "_flat_params"):  # writeable, even after mmap_mode="r"
            if isinstance(state.get(key), np.ndarray):
                state[key] = np.array(state[key])
        super().__setstate__(state)
        if getattr(self, "_flat_params", None) is not None:  # a user's layers: the views, into the vector
            self._set_flat_params(self._flat_params, self._layer_units())

    # ------------------------------------------------------------------
    # The network: losses, gradients, logits

    def _network(self, grads=None, dropout=False):
        """The network (:class:`skscratch.nn.Network`) over the flat parameter vector; its gradient into ``grads``.

        With ``dropout``, it has the Dropout layers of the ``dropout`` parameter.
        """
        return self._network_of(self._layer_units(), dropout).bind(self._get_flat_params(), grads)

    def _network_of(self, layer_units, dropout=False):
        """The network's layers, unbound: Dense, activation (Dropout), ..., with the user's layers as fitted."""
        rates = self._dropout_rates(len(layer_units) - 2) if dropout else None
        return Network.mlp(layer_units, self.activation, self.out_activation_, rates, self._layers_fitted())

    def _layers_fitted(self):
        """The user's layers of the fitted network (``[(k, layer)]``; none for a model of 0.1.0)."""
        return getattr(self, "_layers", None) or []

    def _loss_and_gradients(self, X, Y, sample_weight, grads, alpha=None, normalizer=None,
                            dropout_masks=None):
        """Loss and gradient at the current weights, the gradient into the flat ``grads`` (or into
        ``(coef_grads, intercept_grads)``: arrays shaped like ``coefs_`` and ``intercepts_``)."""
        views = grads if isinstance(grads, (tuple, list)) else None
        flat = seam.array_namespace(self.coefs_[0]).empty_like(self._get_flat_params()) if views else grads
        network = self._network(flat, dropout=dropout_masks is not None)
        masks = None if dropout_masks is None else [m for m in dropout_masks if m is not None]
        loss = passes.loss_and_gradients(network, X, Y, sample_weight, self._l2 if alpha is None else alpha,
                                         normalizer, masks)
        if views:
            computed = [*(layer.dW for layer in network.dense), *(layer.db for layer in network.dense)]
            for out, value in zip([*views[0], *views[1]], computed, strict=True):
                out[...] = value
        return loss

    def _loss(self, X, Y, sample_weight):
        """The loss J of the current weights on (X, Y): a forward pass alone, no dropout."""
        return self._network().loss(X, Y, sample_weight, self._l2)

    def _loss_in_chunks(self, X, Y, sample_weight):
        """The loss J of the current weights on all of (X, Y), computed in chunks of rows.

        Each chunk's share is normalised by the whole data's S, and the L2
        penalty is added once, so the chunks add up to J (as the threads'
        shards of a batch do).
        """
        params = self._get_flat_params()
        xp = seam.array_namespace(params)
        grads = xp.empty_like(params)
        S = X.shape[0] if sample_weight is None else xp.sum(sample_weight)
        loss, alpha = 0.0, self._l2
        for rows in gen_batches(X.shape[0], 4096):
            sw = seam.rows(xp, sample_weight, rows)
            loss += self._loss_and_gradients(seam.rows(xp, X, rows), seam.rows(xp, Y, rows), sw, grads, alpha, S)
            alpha = 0.0
        return float(loss)

    def _logits(self, X, check_input=True, check_finite=True, method="predict"):
        """The output layer's pre-activation Z_L for X, shape (n_samples, n_outputs), in the network's namespace.

        With ``check_input``, X is validated and must be in the namespace and
        on the device the network was fitted on (``method`` names the caller
        in the error).
        """
        if check_input:
            X = seam.usable(X, "X", seam.name(*self._namespace()))
            xp, _ = seam.namespace_of(X)
            X = validate_data(self, X, accept_sparse=["csr", "csc"],
                              dtype=self._input_dtype(xp, X), reset=False)
            self._check_same_namespace(X, method)
        xp = seam.array_namespace(self.coefs_[0])
        if xp is not np and X.dtype != self.coefs_[0].dtype:  # (NumPy promotes; PyTorch refuses to mix)
            X = xp.astype(X, self.coefs_[0].dtype)
        Z = passes.forward(self._network(), X)
        if check_finite and not seam.all_finite(xp, Z):
            if not all(seam.all_finite(xp, a) for a in [*self.coefs_, *self.intercepts_]):
                raise ValueError("The model's weights contain NaN or infinity, so it cannot predict. Fit it again.")
            fault = None if self._layers_fitted() else activation_fault(self.activation, X, self.coefs_,
                                                                         self.intercepts_, xp)
            if fault:
                what, culprit = fault
                raise ValueError(f"The forward pass gave {what}: {culprit}")
            raise ValueError(
                "The forward pass overflowed: X has values too large for this "
                f"network (largest |x| = {abs(seam.to_host(X)).max():.3g}). Scale the input "
                "the way the training data was scaled."
            )
        return Z

    # ------------------------------------------------------------------
    # Layers of the user's, in hidden_layer_sizes

    def _own_layers(self):
        """``[(k, layer)]``: the user's layers in ``hidden_layer_sizes``, each after the k-th hidden layer."""
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        own, k = [], 0
        for size in sizes:
            if isinstance(size, Layer):
                own.append((k, size))
            else:
                k += 1
        return own

    def _check_own_layers(self, X):
        """A layer of the user's must keep the width of its input: the Dense layer after it expects it."""
        if not self._layers:
            return
        network = self._network()
        A = X[:2]  # two rows are enough to see a width
        with np.errstate(all="ignore"):
            for layer in network.layers:
                width = A.shape[1]
                A = layer.forward(A)
                if isinstance(layer, Layer) and not isinstance(layer, (Dense, Elementwise, Dropout)) and (
                        A.ndim != 2 or A.shape[1] != width):
                    raise ValueError(
                        f"hidden_layer_sizes holds {layer!r}, whose forward turned rows of {width} values into "
                        f"shape {tuple(A.shape)}: a layer of your own must keep the width of its input (the "
                        "layers around it are sized by the integers of hidden_layer_sizes)."
                    )


def _described(layers):
    """``[(k, type)]``: where the user's layers stand, and what they are (a warm start must not change it)."""
    return [(k, type(layer)) for k, layer in layers or ()]
