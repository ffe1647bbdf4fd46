"""Pictures of a network and its training, in scikit-learn's ``Display`` style.

Each display is built with ``from_estimator`` (or from its data) and drawn
with ``plot``; it keeps the matplotlib objects it made (``figure_``,
``ax_`` or ``axes_``, ...) for you to restyle. Needs matplotlib
(``pip install "skscratch[plot]"``).

- :class:`TrainingHistoryDisplay`: the training loss and the validation
  score, epoch by epoch;
- :class:`PredictionGridDisplay`: images with their predicted (and true)
  labels, mistakes in red;
- :class:`HiddenUnitsDisplay`: the first layer's weights drawn as images,
  what each hidden unit looks for;
- :class:`TrainingAnimation`: both of these, epoch by epoch, saved as a GIF
  or an MP4; a :class:`TrainingRecorder` takes the snapshots while the
  network trains (a scikit-learn callback, or a call after each
  ``partial_fit``);
- :class:`~sklearn.metrics.ConfusionMatrixDisplay`, scikit-learn's own,
  works on our classifiers as it is.

The code is in ``skscratch/_plotting/``, a module for each part (see its
``__init__``).
"""

from sklearn.metrics import ConfusionMatrixDisplay

from ._plotting.animation import TrainingAnimation
from ._plotting.displays import HiddenUnitsDisplay, PredictionGridDisplay, TrainingHistoryDisplay
from ._plotting.recorder import TrainingRecorder

__all__ = ["ConfusionMatrixDisplay", "HiddenUnitsDisplay", "PredictionGridDisplay", "TrainingAnimation",
           "TrainingHistoryDisplay", "TrainingRecorder"]
