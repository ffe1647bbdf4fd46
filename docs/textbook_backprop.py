"""One hidden layer, trained by hand: the classic from-scratch notebook, in NumPy.

Columns are samples, as in the notebooks: X is (n_features, m) and Y, one-hot, is
(n_classes, m). W1 is (n_hidden, n_features), b1 (n_hidden, 1), W2 (n_classes,
n_hidden), b2 (n_classes, 1). docs/textbook.rst translates it to skscratch;
tests/test_textbook.py checks it against skscratch.gradients.
"""

import numpy as np


def init_params(n_features, n_hidden, n_classes, rng):
    # Glorot-uniform, drawn as scikit-learn does: W as (fan_in, fan_out), then b
    r1 = np.sqrt(6 / (n_features + n_hidden))
    r2 = np.sqrt(6 / (n_hidden + n_classes))
    W1 = rng.uniform(-r1, r1, (n_features, n_hidden)).T
    b1 = rng.uniform(-r1, r1, (n_hidden, 1))
    W2 = rng.uniform(-r2, r2, (n_hidden, n_classes)).T
    b2 = rng.uniform(-r2, r2, (n_classes, 1))
    return W1, b1, W2, b2


def ReLU(Z):
    return np.maximum(Z, 0)


def ReLU_deriv(Z):
    return Z > 0


def softmax(Z):
    E = np.exp(Z - Z.max(axis=0))  # minus the column's max: exp cannot overflow
    return E / E.sum(axis=0)


def one_hot(y, n_classes):
    Y = np.zeros((n_classes, y.size))
    Y[y, np.arange(y.size)] = 1
    return Y


def forward_prop(W1, b1, W2, b2, X):
    Z1 = W1 @ X + b1
    A1 = ReLU(Z1)
    Z2 = W2 @ A1 + b2
    A2 = softmax(Z2)
    return Z1, A1, Z2, A2


def cross_entropy(A2, Y, W1, W2, alpha=0.0):
    m = Y.shape[1]
    L2 = np.sum(W1**2) + np.sum(W2**2)
    return -np.sum(Y * np.log(A2)) / m + alpha / (2 * m) * L2


def backward_prop(Z1, A1, A2, W1, W2, X, Y, alpha=0.0):
    m = X.shape[1]
    dZ2 = A2 - Y
    dW2 = dZ2 @ A1.T / m + alpha / m * W2
    db2 = dZ2.sum(axis=1, keepdims=True) / m
    dZ1 = W2.T @ dZ2 * ReLU_deriv(Z1)
    dW1 = dZ1 @ X.T / m + alpha / m * W1
    db1 = dZ1.sum(axis=1, keepdims=True) / m
    return dW1, db1, dW2, db2


def gradient_descent(W1, b1, W2, b2, X, Y, learning_rate, iterations, alpha=0):
    for _ in range(iterations):
        Z1, A1, Z2, A2 = forward_prop(W1, b1, W2, b2, X)
        dW1, db1, dW2, db2 = backward_prop(Z1, A1, A2, W1, W2, X, Y, alpha)
        W1, b1 = W1 - learning_rate * dW1, b1 - learning_rate * db1
        W2, b2 = W2 - learning_rate * dW2, b2 - learning_rate * db2
    return W1, b1, W2, b2
