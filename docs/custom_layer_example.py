"""A layer of your own, the residual block ``A + tanh(A W + b)``, and a loop to train.

Rows are samples: ``A`` is (n_samples, n), ``W`` (n, n), ``b`` (n,). The page
docs/custom_layer.rst ("Write your own layer") derives the backward pass, includes
this file and checks it with skscratch.nn.check_network_gradients;
tests/test_custom_layer.py imports it.
"""

import numpy as np

from skscratch import nn


class Residual(nn.Layer):
    """A residual block, ``out = A + tanh(A W + b)``: the input, plus a correction."""

    cache = ("A", "H")  # what forward keeps for backward: one batch's, never pickled

    def __init__(self, n):
        self.n = n

    def parameters(self):
        # name, shape, and whether alpha (the L2 penalty) acts on it
        return [("W", (self.n, self.n), True), ("b", (self.n,), False)]

    def initialize(self, random_state):
        bound = np.sqrt(6 / (self.n + self.n))  # Glorot's, as nn.Dense draws
        self.W[...] = random_state.uniform(-bound, bound, self.W.shape)
        self.b[...] = 0.0

    def forward(self, A):
        self.A = A  # kept for backward: dJ/dW = A^T dZ
        self.H = np.tanh(A @ self.W + self.b)  # H = tanh(Z), Z = A W + b
        return A + self.H  # a new array: A belongs to the layer below

    def backward(self, delta):
        # delta = dJ/d(out), one row per sample
        dZ = delta * (1 - self.H**2)  # dJ/dZ = delta * tanh'(Z), and tanh' = 1 - H^2
        self.dW[...] = self.A.T @ dZ  # dJ/dW = A^T dZ, into the network's vector
        self.db[...] = dZ.sum(axis=0)  # dJ/db = sum over the samples of dZ
        return delta + dZ @ self.W.T  # dJ/dA: the skip path, plus the path through W


def train(network, X, Y, epochs=20, batch_size=64, lr=1e-3, alpha=1e-4, seed=0):
    """Adam on shuffled minibatches of (X, Y), ``epochs`` times: the last loss."""
    adam = nn.Adam(network.params, learning_rate_init=lr)
    rng = np.random.RandomState(seed)
    for epoch in range(epochs):
        for batch in np.array_split(rng.permutation(len(X)), len(X) // batch_size):
            # forward and backward: the gradient lands in network.grads
            loss = network.loss_and_gradients(X[batch], Y[batch], alpha=alpha)
            # update: every layer's parameters at once, in the one flat vector
            adam.update_params(network.params, network.grads)
    return loss
