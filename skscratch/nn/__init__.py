"""The maths of the network, in NumPy: layers, losses, optimizers, and the network that strings them.

Read it in this order:

- ``activations``: the activation functions and their derivatives (two small registries), and
  :class:`~skscratch.Activation`, the base of your own;
- ``losses``: the losses, written in the output layer's pre-activations;
- ``layers``: :class:`Layer`, and :class:`Dense`, the activations as layers (:class:`ReLU` ...),
  :class:`Dropout`: each with its backward next to its forward;
- ``network``: :class:`Network`, a list of layers and a loss: forward, backward, loss and gradients;
- ``optimizers``: :class:`SGD`, :class:`Adam`, :class:`AdamW`, written as their equations;
- ``gradcheck``: :func:`check_network_gradients`, the backward pass of a network (and of a layer
  of your own in it) against finite differences;
- ``dropout``: the masks the estimators hash from the data;
- ``tabular``: the layers of a tabular MLP (RealMLP's recipe): :class:`TabularEmbedding`,
  :class:`Scale`, :class:`NTDense`, :class:`ParametricActivation`.

The estimators (``skscratch.MLPScratchClassifier`` ...) are built on it; this
folder imports only NumPy (and the array-API seam, ``skscratch._engine.array_api``).

Examples
--------
>>> import numpy as np
>>> from skscratch import nn
>>> net = nn.Network([nn.Dense(2, 4), nn.Tanh(), nn.Dense(4, 1)], output="identity").init(random_state=0)
>>> X, Y = np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[1.0], [-1.0]])
>>> sgd = nn.SGD(net.params, learning_rate_init=0.1, momentum=0.0)
>>> for step in range(100):
...     loss = net.loss_and_gradients(X, Y)  # forward, backward: the gradient is in net.grads
...     sgd.update_params(net.params, net.grads)
>>> loss < 1e-3
True
"""

from .activations import Activation
from .gradcheck import NetworkGradientCheck, check_network_gradients
from .layers import ELU, GELU, Dense, Dropout, Elementwise, Identity, Layer, LeakyReLU, Logistic, ReLU, Tanh
from .network import Network
from .optimizers import SGD, Adam, AdamW
from .tabular import NTDense, ParametricActivation, Scale, TabularEmbedding

__all__ = ["Layer", "Dense", "Elementwise", "Identity", "Logistic", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU",
           "Dropout", "Network", "SGD", "Adam", "AdamW", "Activation", "check_network_gradients",
           "NetworkGradientCheck", "TabularEmbedding", "Scale", "NTDense", "ParametricActivation"]
