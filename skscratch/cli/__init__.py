"""The ``skscratch`` command line.

- ``skscratch demo`` classifies scikit-learn's bundled digits; ``skscratch
  demo --task regression`` fits the bundled diabetes data.
- ``skscratch train --data DATA --out model.npz`` trains a classifier on
  images (a Kaggle-style CSV, an IDX pair, "digits", "mnist" or
  "fashion-mnist") and saves it in the safe format.
- ``skscratch evaluate --model model.npz --data DATA`` prints the accuracy,
  a classification report and the confusion matrix; with ``--show
  mistakes.png``, it also draws the images it got wrong, with their
  predicted and true labels.
- ``skscratch predict --model model.npz --data test.csv --out predictions.csv``
  writes Kaggle's submission format (``ImageId,Label``); ``--show`` draws
  the first images with their predicted labels.

Pixels are read as 0-255 (digits' 0-16 are rescaled to it) and the network
sees them divided by 255, in every command alike. ``train`` saves that
scaling with the network, as a Pipeline (a ``MaxAbsScaler`` of scale 255,
then the network), so the file takes raw pixels in ``evaluate``,
``predict`` and Python alike; a file that holds a bare network (from an
earlier ``train``) is given pixels / 255, as before. Also runs as
``python -m skscratch``.

A mistake is reported in one line on stderr, ``skscratch COMMAND: error:
...``, never a traceback, and checked before any training starts. Exit
statuses are listed in ``EXIT_STATUSES``; :mod:`skscratch._engine.ctrl_c` says
what Ctrl-C does.

Modules: ``console`` (the entry point: Ctrl-C first, then the rest),
``_commands`` (the parser, evaluate, predict), ``_demo``, ``_train``,
``_show`` (the pictures of ``--show``) and ``_files`` (reading and writing
the commands' files). The names below are
imported on first use, so that ``skscratch.cli.console`` can take charge of
Ctrl-C before NumPy loads.
"""

__all__ = ["main", "build_parser", "demo", "train", "TrainOptions", "evaluate", "predict", "load_images",
           "CommandError"]


def __getattr__(name):
    """The commands' names (``main``, ``train`` ...), from ``_commands`` on first use (PEP 562)."""
    if not name.startswith("_"):  # (a submodule being imported is looked up here too: never import then)
        from importlib import import_module

        commands = import_module(f"{__name__}._commands")
        if hasattr(commands, name):
            return getattr(commands, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *__all__})
