"""``--show FILE`` of ``evaluate`` and ``predict``: the test images with their labels, the mistakes first.

What the from-scratch notebooks end with: a grid of test images, each
titled with the label the network predicted and, where it is wrong, the
true one in red. The mistakes come first, in the order of the data, then
the images it got right, :data:`N_SHOWN` in all; the title says how many
are wrong out of how many. Without true labels (``predict`` on a Kaggle
test CSV), the first images and their predicted labels. A data set with
class names (``fashion-mnist``) shows the names.

The file is checked before any work (:func:`check_show`), and written
whole or not at all, with Ctrl-C held (:func:`write_grid`).
"""

import gc
from pathlib import Path

import numpy as np

from .._engine.ctrl_c import current_ctrl_c
from ._files import CommandError, check_output, class_names, same_file, square_side, write_atomically

SHOW_SUFFIXES = (".png", ".svg", ".pdf")  # what --show writes: a picture, or one that scales
N_SHOWN = 25  # images in the grid: 5 x 5


def check_show(path, inputs, out=None):
    """Refuse, before any work, a ``--show`` file that could not be written, or drawn.

    Parameters
    ----------
    path : str
        The picture to write, ending in .png, .svg or .pdf.
    inputs : list of str
        The files the command reads, which the picture must not replace.
    out : str, optional
        The command's other output (``predict --out``), which it must not
        replace either.

    Raises
    ------
    CommandError
        Another suffix; ``path`` names ``out``; a file that
        :func:`~skscratch.cli._files.check_output` refuses (a missing or
        read-only folder, a folder, an input ...); matplotlib is not
        installed.
    """
    if Path(path).suffix.lower() not in SHOW_SUFFIXES:
        raise CommandError(f"cannot write --show {path}: the name must end in .png (or .svg or .pdf)")
    if out is not None and (Path(path).resolve() == Path(out).resolve() or same_file(path, out)):
        raise CommandError(f"--show {path} and --out {out} name one file; give the picture a file of its own")
    check_output(path, inputs=inputs, example="mistakes.png")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CommandError('--show draws with matplotlib, which is not installed: pip install "skscratch[plot]"'
                           ) from None


def check_images(X, data):
    """Refuse, before predicting, images that are not square: ``--show`` draws them as squares.

    Returns
    -------
    side : int
    """
    return square_side(X.shape[1], data, "--show", "the images", "run without --show")


def shown_first(y_pred, y_true, n=N_SHOWN):
    """The indices of the images to show: the mistakes first, then the right ones, each in the data's order.

    Parameters
    ----------
    y_pred : ndarray of shape (n_images,)
    y_true : ndarray of shape (n_images,) or None
        Without true labels, the first ``n`` images.
    n : int, default=25

    Returns
    -------
    ndarray of int, of shape (min(n, n_images),)
    """
    if y_true is None:
        return np.arange(min(n, len(y_pred)))
    wrong = np.asarray(y_pred != y_true, dtype=bool)  # (labels of another type than the model's: all wrong)
    return np.concatenate([np.flatnonzero(wrong), np.flatnonzero(~wrong)])[:n]


def grid_title(y_pred, y_true, n_shown):
    """What the grid shows, in two lines: how many images are wrong out of how many, and in what order."""
    n = len(y_pred)
    if y_true is None:
        return f"The first {n_shown} of {n:,} images, with the labels predicted\n(the data has no true labels)"
    n_wrong = int(np.sum(y_pred != y_true))
    first = f"{n_wrong:,} of {n:,} images wrong ({n_wrong / n:.1%})"
    if n_wrong == 0:
        return f"{first}\nthe first {n_shown}, all right"
    in_red = "in red (predicted, then true label)"
    if n_wrong >= n_shown:
        return f"{first}\nthe first {n_shown} mistakes, {in_red}"
    mistakes = "mistake" if n_wrong == 1 else "mistakes"
    return f"{first}\nthe {n_wrong} {mistakes} first, {in_red}, then {n_shown - n_wrong} right"


def write_grid(path, X, y_pred, y_true, data, stream):
    """Draw the grid of the images of ``X`` (the mistakes first) and write it to ``path``, whole or not at all.

    Ctrl-C is held while it draws and writes (a second or two): a press
    then ends the command once the file is whole, as for the other outputs.

    Parameters
    ----------
    path : str
        Checked by :func:`check_show`.
    X : ndarray of shape (n_images, n_pixels)
        The pixels as read, 0 to 255: square images (:func:`check_images`).
    y_pred : ndarray of shape (n_images,)
    y_true : ndarray of shape (n_images,) or None
    data : str
        What ``--data`` names: the images' name in messages, and the class
        names of a data set that has them.
    stream : file-like
        Where the line that says what was written goes.
    """
    from matplotlib.figure import Figure  # no pyplot: no window, nothing global to close

    from .._plotting.displays import _grid
    from ..plotting import PredictionGridDisplay

    side = check_images(X, data)
    shown = shown_first(y_pred, y_true)
    rows, cols = _grid(len(shown))
    with current_ctrl_c().held():
        figure = Figure(figsize=(max(1.6 * cols, 4.8), 1.8 * rows + 0.5), layout="constrained")
        PredictionGridDisplay(X[shown].reshape(-1, side, side), y_pred[shown],
                              None if y_true is None else y_true[shown], class_names(data)).plot(fig=figure)
        figure.suptitle(grid_title(y_pred, y_true, len(shown)), fontsize=10)
        try:
            write_atomically(path, lambda f: figure.savefig(f, format=Path(path).suffix.lower()[1:], dpi=100),
                             mode="wb")
        except OSError as exc:
            raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from exc
        finally:
            del figure
            gc.collect()  # the figure's finalizers run now, Ctrl-C held, not later where a press would break them
        what = "the mistakes first" if y_true is not None else "with their predicted labels"
        print(f"Wrote {len(shown)} of the {len(X):,} images to {path}, {what}", file=stream, flush=True)
