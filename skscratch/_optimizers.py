"""Stochastic optimizers: SGD with (Nesterov) momentum, and Adam.

An optimizer knows nothing about the network. It holds its own state and,
given the flat parameter vector and the flat gradient of the loss, updates
the parameters in place: ``optimizer.update_params(params, grads)``.

The update rules are scikit-learn's, operation for operation, so that the
same gradients give the same weights to rounding.

This module imports only NumPy.
"""

import numpy as np


class SGD:
    """Stochastic gradient descent with momentum.

    ``v <- momentum * v - lr * g``, then ``w <- w + v``; with Nesterov's
    momentum, ``w <- w + momentum * v - lr * g`` instead (the step looks
    ahead along the new velocity).

    Parameters
    ----------
    params : ndarray
        The flat parameter vector (used for its shape and dtype).
    learning_rate_init : float
    lr_schedule : {"constant", "invscaling", "adaptive"}
        "invscaling" sets ``lr = learning_rate_init / (t + 1) ** power_t``
        after each epoch, t being the number of samples seen; "adaptive"
        divides lr by 5 whenever training stops improving.
    momentum : float
    nesterov : bool
    power_t : float
    """

    def __init__(
        self, params, learning_rate_init=0.1, lr_schedule="constant",
        momentum=0.9, nesterov=True, power_t=0.5,
    ):  # fmt: skip
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t
        self.velocity = np.zeros_like(params)

    def __repr__(self):
        return f"SGD(learning_rate={self.learning_rate:g}, momentum={self.momentum:g}, nesterov={self.nesterov})"

    def update_params(self, params, grads):
        """One step: update ``params`` in place from ``grads``."""
        step = self.learning_rate * grads
        self.velocity *= self.momentum
        self.velocity -= step  # v = momentum v - lr g
        if self.nesterov:
            params += self.momentum * self.velocity - step
        else:
            params += self.velocity

    def iteration_ends(self, time_step):
        """End of an epoch; ``time_step`` is the number of samples seen so far."""
        if self.lr_schedule == "invscaling":
            self.learning_rate = float(self.learning_rate_init) / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg, verbose):
        """Training stalled: stop (True), or for "adaptive" lower lr and go on."""
        if self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + " Setting learning rate to %f" % self.learning_rate)
        return False


class Adam:
    """Adam (Kingma & Ba, 2014).

    With t the step count::

        m <- beta_1 m + (1 - beta_1) g
        v <- beta_2 v + (1 - beta_2) g^2
        lr_t = learning_rate_init * sqrt(1 - beta_2^t) / (1 - beta_1^t)
        w <- w - lr_t m / (sqrt(v) + epsilon)

    Parameters
    ----------
    params : ndarray
        The flat parameter vector (used for its shape and dtype).
    learning_rate_init, beta_1, beta_2, epsilon : float
    """

    def __init__(self, params, learning_rate_init=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.m = np.zeros_like(params)
        self.v = np.zeros_like(params)

    def __repr__(self):
        return f"Adam(learning_rate_init={self.learning_rate_init:g}, t={self.t})"

    def update_params(self, params, grads):
        """One step: update ``params`` in place from ``grads``."""
        self.t += 1
        self.m *= self.beta_1
        self.m += (1 - self.beta_1) * grads
        self.v *= self.beta_2
        self.v += (1 - self.beta_2) * grads**2
        # a Python float, so that float32 parameters stay float32
        self.learning_rate = float(
            self.learning_rate_init
            * np.sqrt(1 - self.beta_2**self.t)
            / (1 - self.beta_1**self.t)
        )
        params += -self.learning_rate * self.m / (np.sqrt(self.v) + self.epsilon)

    def iteration_ends(self, time_step):
        """End of an epoch: nothing to do for Adam."""

    def trigger_stopping(self, msg, verbose):
        """Training stalled: stop."""
        if verbose:
            print(msg + " Stopping.")
        return True
