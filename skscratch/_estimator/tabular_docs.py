"""The parameter and attribute sections of the tabular estimators' docstrings, written once.

``fill_docstring(cls)`` renders, in the order of ``cls``'s signature and with
its defaults, the parameters listed here into ``%(parameters)s`` of the
class docstring, and the attributes into ``%(attributes)s``.
"""

import inspect

PARAMETERS = {
    "hidden_layer_sizes": ("tuple of int", "The width of each hidden layer."),
    "activation": ('{"selu", "mish", "relu"}',
                   "The hidden layers' activation (SELU for classification, Mish for regression, as "
                   "RealMLP; \"relu\" is never parametric)."),
    "parametric_activation": ("bool", "``Z + a (f(Z) - Z)`` with one learned ``a`` per unit, starting at 1 "
                                      "(``skscratch.nn.ParametricActivation``); False: ``f(Z)``."),
    "num_embedding": ('{"pbld"} or None',
                      "Periodic embeddings of the numeric features: ``cos(2 pi w x + b)`` at 16 frequencies, "
                      "mapped to 3 values, with ``x`` kept (``skscratch.nn.TabularEmbedding``). None: the "
                      "scaled values as they are."),
    "scaling_layer": ("bool", "A learned factor per input of the first Dense layer, trained with 6 times the "
                              "learning rate (``skscratch.nn.Scale``)."),
    "ntk": ("bool", "The neural-tangent parametrisation of the Dense layers: ``Z = A W / sqrt(n_in) + b`` with W "
                    "at unit scale (``skscratch.nn.NTDense``). False: the standard one."),
    "data_init": ("bool", "Start each hidden Dense layer from the data: every unit rescaled to unit standard "
                          "deviation on the training rows (of weight above 0), its bias through a random mix "
                          "of 5 of them."),
    "max_iter": ("int", "Epochs. All of them run (the schedules depend on it)."),
    "batch_size": ("int", "Rows per minibatch."),
    "learning_rate_init": ("float", "The peak learning rate of Adam(W)."),
    "lr_schedule": ('{"coslog4", "cosine", "flat_cos", "constant"}',
                    "The learning rate's schedule over the steps (``skscratch.nn.schedules``): \"coslog4\" "
                    "is four cosine cycles, each twice as long as the one before."),
    "beta_1": ("float", "Adam's first-moment decay."),
    "beta_2": ("float", "Adam's second-moment decay (0.95: RealMLP's, faster than the usual 0.999)."),
    "epsilon": ("float", "Adam's epsilon."),
    "weight_decay": ("float", "Decoupled weight decay of the Dense layers' weights (AdamW): each step "
                              "multiplies them by ``1 - lr * weight_decay``."),
    "weight_decay_schedule": ('{"flat_cos", "cosine", "coslog4", "constant"}',
                              "The weight decay's schedule: \"flat_cos\" keeps it for half of the training, then "
                              "brings it to 0 along a cosine."),
    "dropout": ("float in [0, 1)", "The dropout rate after each hidden layer."),
    "dropout_schedule": ('{"flat_cos", "cosine", "coslog4", "constant"}', "The dropout rate's schedule."),
    "label_smoothing": ("float in [0, 1)", "The training targets are ``(1 - eps) onehot + eps / K``."),
    "select_best_epoch": ("bool", "Keep the weights of the last epoch with the best validation score: on "
                                  "``X_val`` if given, else on ``validation_fraction`` of the rows, split off "
                                  "(stratified for classification) and not trained on. False: train on all "
                                  "the rows and keep the last epoch's weights."),
    "validation_fraction": ("float in (0, 1)", "The share of the rows split off to select the best epoch on."),
    "categorical_features": ('"from_dtype", array-like or None',
                             "Which columns are categorical (see :class:`TabularPreprocessor`): "
                             "\"from_dtype\" takes pandas' category, string, object and boolean columns (and "
                             "polars')."),
    "one_hot_max_categories": ("int", "A categorical column with at most this many categories (missing "
                                      "counted) is one-hot encoded; a larger one gets a learned embedding."),
    "embedding_dim": ("int", "The length of each large categorical column's learned vectors."),
    "numeric_scaling": ('{"robust", "standard"} or None',
                        "Numeric columns: ``(x - median) / IQR`` (\"robust\") or ``(x - mean) / std``."),
    "smooth_clip": ("bool", "After scaling, ``x / sqrt(1 + (x / 3)^2)``: outliers squashed into (-3, 3)."),
    "class_weight": ('dict, "balanced" or None', "Weights of the classes, multiplying ``sample_weight``."),
    "clip_predictions": ("bool", "Clip the predictions to the range of the training targets."),
    "dtype": ('{"float32", "float64"}', "The dtype the network trains in. It predicts in float64."),
    "random_state": ("int, RandomState instance or None", "Every draw of a fit: the validation split, the "
                                                          "initial weights, the shuffles, the dropout masks."),
    "verbose": ("bool", "Print the loss and the validation score after each epoch."),
}

ATTRIBUTES_DOC = """    preprocessor_ : TabularPreprocessor
        The fitted preprocessing of the columns.
    network_ : skscratch.nn.Network
        The fitted network (its parameters in float64).
    n_iter_ : int
        The epochs run: ``max_iter``, unless training diverged, a callback
        stopped it, or Ctrl-C did.
    best_epoch_ : int
        The epoch whose weights the model kept (counted from 1; 0: the
        initial weights, kept when the first epoch diverged).
    loss_curve_ : list of float
        The training loss of each epoch (on the smoothed targets).
    validation_scores_ : list of float or None
        The validation score of each epoch: accuracy (classification) or
        minus the mean squared error (regression); None without validation.
    best_validation_score_ : float or None
        The validation score of ``best_epoch_``, the weights kept (the best
        with ``select_best_epoch``); None without validation data.
    history_ : pandas.DataFrame
        One row per epoch: epoch, train_loss, val_score, learning_rate,
        elapsed_s.
    n_features_in_ : int
        Columns seen in fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Their names, when X had string column names."""


def fill_docstring(cls):
    """Put the parameters of ``cls``'s signature (with its defaults) and the attributes into its docstring."""
    lines = []
    for name, parameter in inspect.signature(cls.__init__).parameters.items():
        if name == "self":
            continue
        kind, text = PARAMETERS[name]
        default = f'"{parameter.default}"' if isinstance(parameter.default, str) else repr(parameter.default)
        lines.append(f"    {name} : {kind}, default={default}")
        lines += _wrapped(text, "        ")
    cls.__doc__ = cls.__doc__.replace("%(parameters)s", "\n".join(lines)).replace("%(attributes)s", ATTRIBUTES_DOC)
    return cls


def _wrapped(text, indent, width=88):
    import textwrap

    return textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=indent)
