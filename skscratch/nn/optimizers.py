"""Stochastic optimizers: SGD with (Nesterov) momentum, Adam and AdamW, written as their equations.

An optimizer knows nothing about the network. It holds its own state and,
given the flat parameter vector and the flat gradient of the loss, updates
the parameters in place: ``optimizer.update_params(params, grads)``.

The update rules are scikit-learn's, operation for operation and in the same
order, so that the same gradients give the very same weights. Each step is
two parts: ``next_step()`` counts the step and gives its scalars (the
scheduled learning rate, Adam's bias correction), and ``step(w, g, *state,
**scalars)`` is the update itself, elementwise, on whole vectors or on
matching chunks of them.

That split is for speed, which lives elsewhere: the estimators call
``skscratch._engine.dispatch.update``, which runs ``step`` on chunks spread
over the training threads, or the fused numba kernel that does the same
arithmetic in one pass (``[fast]`` extra; a test holds both to the same
bits). Here is only the maths.

The state (momenta) lives in the parameters' namespace and on their device:
NumPy, or a PyTorch, CuPy ... array under scikit-learn's array API dispatch.

This module imports only NumPy (and the array-API seam).
"""

import numpy as np

from .._engine.array_api import array_namespace


class Optimizer:
    """What the optimizers share: the learning-rate schedule, and a step in two parts.

    ``rate`` is the schedule's learning rate for the current epoch:

    - "constant": ``learning_rate_init``;
    - "invscaling": ``learning_rate_init / (t + 1) ** power_t``, t the number
      of samples seen (scikit-learn's rule);
    - "adaptive": ``learning_rate_init``, divided by 5 each time training
      stalls (``trigger_stopping``);
    - "cosine": ``learning_rate_init * (1 + cos(pi * e / max_iter)) / 2`` at
      epoch e, annealing to 0 over ``max_iter`` epochs.

    With ``warmup_iter = W > 0``, the first W epochs ramp up linearly,
    ``rate * (e + 1) / W``, and "cosine" anneals over the remaining epochs.
    """

    def __init__(self, params, learning_rate_init, lr_schedule="constant", power_t=0.5,
                 max_iter=200, warmup_iter=0):
        self.learning_rate_init = learning_rate_init
        self.lr_schedule = lr_schedule
        self.power_t = power_t
        self.max_iter = max_iter
        self.warmup_iter = warmup_iter
        self.epoch = 0  # epochs completed
        self._adaptive_rate = float(learning_rate_init)
        self.rate = self._schedule(time_step=0)

    def _schedule(self, time_step):
        """The learning rate for this epoch: the schedule's, times the warm-up ramp."""
        e, warmup = self.epoch, self.warmup_iter
        if self.lr_schedule == "invscaling":
            rate = float(self.learning_rate_init) / (time_step + 1) ** self.power_t
        elif self.lr_schedule == "adaptive":
            rate = self._adaptive_rate
        elif self.lr_schedule == "cosine":
            horizon = max(self.max_iter - warmup, 1)
            progress = min(max(e - warmup, 0), horizon) / horizon
            # a Python float, as every schedule's rate is: NumPy then casts it to the
            # parameters' dtype (a NumPy float64 would make float32 steps round in float64)
            rate = float(self.learning_rate_init) * 0.5 * float(1.0 + np.cos(np.pi * progress))
        else:
            rate = float(self.learning_rate_init)
        if e < warmup:
            rate *= (e + 1) / warmup
        return rate

    def iteration_ends(self, time_step):
        """End of an epoch; ``time_step`` is the number of samples seen so far."""
        self.epoch += 1
        self.rate = self._schedule(time_step)

    def trigger_stopping(self, msg, verbose):
        """Training stalled: stop (True), or for "adaptive" lower the rate and go on."""
        if self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self._adaptive_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self._adaptive_rate /= 5.0
        self.rate = self._adaptive_rate
        if verbose:
            print(msg + " Setting learning rate to %f" % self.rate)
        return False


class SGD(Optimizer):
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

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([1.0, -2.0])
    >>> opt = SGD(w, learning_rate_init=0.1, momentum=0.0)
    >>> opt.update_params(w, np.array([0.5, 0.25]))  # w - 0.1 g
    >>> w
    array([ 0.95 , -2.025])
    """

    def __init__(
        self, params, learning_rate_init=0.1, lr_schedule="constant",
        momentum=0.9, nesterov=True, power_t=0.5, max_iter=200, warmup_iter=0,
    ):  # fmt: skip
        super().__init__(params, learning_rate_init, lr_schedule, power_t, max_iter, warmup_iter)
        self.momentum = momentum
        self.nesterov = nesterov
        self.velocity = array_namespace(params).zeros_like(params)

    @property
    def learning_rate(self):
        """The current learning rate (scikit-learn's SGDOptimizer name for it)."""
        return self.rate

    def __repr__(self):
        return f"SGD(learning_rate={self.learning_rate:g}, momentum={self.momentum:g}, nesterov={self.nesterov})"

    state = ("velocity",)

    def update_params(self, params, grads):
        """One step: update ``params`` in place from ``grads``."""
        self.step(params, grads, self.velocity, **self.next_step())

    def next_step(self):
        """The scalars of the coming step: the learning rate."""
        return {"lr": self.learning_rate}

    def step(self, w, g, velocity, lr):
        """The update of ``w`` and ``velocity`` in place (whole vectors, or matching chunks of them)."""
        mu, v = self.momentum, velocity
        v *= mu
        v -= lr * g  # v = mu v - lr g
        if self.nesterov:
            w -= lr * g - mu * v  # w = w + mu v - lr g: a step along the new velocity
        else:
            w += v  # w = w + v


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2014).

    With t the step count::

        m <- beta_1 m + (1 - beta_1) g
        v <- beta_2 v + (1 - beta_2) g^2
        lr_t = rate * sqrt(1 - beta_2^t) / (1 - beta_1^t)   (rate: the schedule's)
        w <- w - lr_t m / (sqrt(v) + epsilon)

    Parameters
    ----------
    params : ndarray
        The flat parameter vector (used for its shape and dtype).
    learning_rate_init, beta_1, beta_2, epsilon : float

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([1.0, -2.0])
    >>> opt = Adam(w, learning_rate_init=0.01)
    >>> opt.update_params(w, np.array([0.5, -0.25]))  # the first step is ~ lr * sign(g)
    >>> w.round(6)
    array([ 0.99, -1.99])
    """

    def __init__(self, params, learning_rate_init=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 lr_schedule="constant", power_t=0.5, max_iter=200, warmup_iter=0):
        super().__init__(params, learning_rate_init, lr_schedule, power_t, max_iter, warmup_iter)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.learning_rate = float(learning_rate_init)
        self.t = 0
        self.m = array_namespace(params).zeros_like(params)
        self.v = array_namespace(params).zeros_like(params)

    def __repr__(self):
        return f"Adam(learning_rate_init={self.learning_rate_init:g}, t={self.t})"


    state = ("m", "v")

    def update_params(self, params, grads):
        """One step: update ``params`` in place from ``grads``."""
        self.step(params, grads, self.m, self.v, **self.next_step())

    def next_step(self):
        """Count the step; its scalars: the bias-corrected step size ``lr_t``."""
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        # scikit-learn's name for it; a Python float,
        # so that float32 parameters stay float32
        self.learning_rate = float(self.rate * np.sqrt(1 - b2**self.t) / (1 - b1**self.t))
        return {"lr": self.learning_rate}

    def step(self, w, g, m, v, lr):
        """Adam's update of ``w``, ``m`` and ``v`` in place (whole vectors, or matching chunks of them)."""
        b1, b2, eps, xp = self.beta_1, self.beta_2, self.epsilon, array_namespace(w)
        m *= b1
        m += (1 - b1) * g  # m = b1 m + (1 - b1) g
        v *= b2
        v += (1 - b2) * (g * g)  # v = b2 v + (1 - b2) g^2
        w -= lr * (m / (xp.sqrt(v) + eps))  # w = w - lr_t m / (sqrt(v) + eps)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    Before each Adam step, the entries ``decay`` of the parameters (the
    weights, not the biases) shrink: ``w <- w (1 - rate * weight_decay)``,
    rate being the schedule's learning rate.
    The decay does not pass through Adam's moments, unlike an L2 term in the
    loss, which Adam would rescale per parameter.

    Parameters
    ----------
    params : ndarray
        The flat parameter vector.
    learning_rate_init, beta_1, beta_2, epsilon : float
    weight_decay : float
        The decay per unit of learning rate.
    decay : slice
        Which entries of the parameter vector decay.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([1.0, 1.0])
    >>> opt = AdamW(w, learning_rate_init=0.1, weight_decay=0.5, decay=slice(0, 1))
    >>> opt.update_params(w, np.zeros(2))  # no gradient: only the decay acts
    >>> w
    array([0.95, 1.  ])
    """

    def __init__(self, params, learning_rate_init=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 weight_decay=0.01, decay=slice(None), **schedule):
        super().__init__(params, learning_rate_init, beta_1, beta_2, epsilon, **schedule)
        self.weight_decay = weight_decay
        self.decay = decay

    def __repr__(self):
        return f"AdamW(learning_rate_init={self.learning_rate_init:g}, weight_decay={self.weight_decay:g}, t={self.t})"

    def next_step(self):
        """Count the step; its scalars: Adam's ``lr_t``, and the weights' decay factor ``1 - rate * weight_decay``."""
        return {**super().next_step(), "decay": 1.0 - self.rate * self.weight_decay}

    def step(self, w, g, m, v, lr, decay, decayed=None):
        """Decay the weights, then Adam's update. ``decayed``: which entries of ``w`` decay (``self.decay``)."""
        # w = w (1 - rate * weight_decay)
        w[self.decay if decayed is None else decayed] *= decay
        super().step(w, g, m, v, lr)


OPTIMIZERS = {cls.__name__: cls for cls in (SGD, Adam, AdamW)}


def to_state(optimizer):
    """The optimizer as a plain dict of names, numbers and arrays.

    Saved models hold this instead of the object, so that loading them needs
    to trust no class of ours but the estimator (``skops.io``), and the safe
    format can write it as JSON and arrays.
    """
    state = dict(optimizer.__dict__)
    if "decay" in state:
        state["decay"] = [state["decay"].start, state["decay"].stop]
    return {"kind": type(optimizer).__name__, **state}


def from_state(state):
    """Rebuild the optimizer that :func:`to_state` described."""
    state = dict(state)
    kind = state.pop("kind", None)
    if kind not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {kind!r} in the saved state; expected one of {sorted(OPTIMIZERS)}.")
    expected = set(to_state(OPTIMIZERS[kind](np.zeros(1)))) - {"kind"}
    if set(state) != expected:
        raise ValueError(f"The saved {kind} state has fields {sorted(state)}; expected {sorted(expected)}.")
    if "decay" in state:
        state["decay"] = slice(*state["decay"])
    # own, writeable copies: a model loaded with joblib's mmap_mode maps them read-only
    state = {k: np.array(v) if isinstance(v, np.ndarray) else v for k, v in state.items()}
    optimizer = OPTIMIZERS[kind].__new__(OPTIMIZERS[kind])
    optimizer.__dict__.update(state)
    return optimizer
