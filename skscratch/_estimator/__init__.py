"""The scikit-learn estimators, built on :mod:`skscratch.nn`.

- ``mlp``: ``MLPScratchClassifier`` and ``MLPScratchRegressor`` (public as ``skscratch.MLPScratch*``);
- ``base``: what they share: validation, the flat parameter vector, fit, pickling;
- ``training``: the stochastic training loop (epochs, minibatches, the stopping rule, history);
- ``lbfgs``: the L-BFGS solver; ``guards``: divergence and overflow, said in words;
- ``validation``: validation sets and scorers; ``gradcheck``: ``check_gradients`` of an estimator;
- ``docs``, ``sklearn_bases``: shared docstrings, typed scikit-learn bases.
"""
