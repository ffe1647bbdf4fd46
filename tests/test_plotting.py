"""The displays, rendered with the Agg backend: what they draw, not only that they run."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skscratch import MLPScratchClassifier, MLPScratchRegressor

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skscratch.plotting import (  # noqa: E402
    ConfusionMatrixDisplay,
    HiddenUnitsDisplay,
    PredictionGridDisplay,
    TrainingHistoryDisplay,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16, y


@pytest.fixture(scope="module")
def clf(digits):
    X, y = digits
    return MLPScratchClassifier((12,), max_iter=25, random_state=0).fit(X[:1200], y[:1200],
                                                                      X_val=X[1200:], y_val=y[1200:])


def test_history_draws_loss_and_validation_score(clf):
    display = TrainingHistoryDisplay.from_estimator(clf)
    loss_line, score_line = display.lines_
    np.testing.assert_array_equal(loss_line.get_ydata(), clf.history_["train_loss"])
    np.testing.assert_array_equal(score_line.get_ydata(), clf.history_["val_score"])
    np.testing.assert_array_equal(loss_line.get_xdata(), np.arange(1, 26))
    assert display.ax_.get_xlabel() == "epoch" and display.ax_score_.get_ylabel() == "validation accuracy"
    assert [t.get_text() for t in display.ax_.get_legend().get_texts()] == ["training loss",
                                                                             "validation accuracy"]


def test_history_without_validation_and_from_loss_curve(digits):
    X, y = digits
    reg = MLPScratchRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=20, random_state=0).fit(X, y)
    display = TrainingHistoryDisplay.from_estimator(make_pipeline(StandardScaler(), reg))
    assert len(display.lines_) == 1 and display.ax_score_ is None
    np.testing.assert_array_equal(display.lines_[0].get_ydata(), reg.loss_curve_)


def test_prediction_grid_marks_mistakes(clf, digits):
    X, y = digits
    X_test, y_test = X[1200:1240], y[1200:1240]
    names = [f"digit {i}" for i in range(10)]
    display = PredictionGridDisplay.from_estimator(clf, X_test, y_test, n_images=40, label_names=names)
    predicted = clf.predict(X_test)
    assert len(display.axes_) == 40 and display.n_mistakes_ == int((predicted != y_test).sum())
    assert display.n_mistakes_ > 0  # so the red titles are tested
    for ax, guess, truth in zip(display.axes_, predicted, y_test):
        title = ax.title
        assert title.get_text().startswith(f"predicted digit {guess}")
        assert (title.get_color() == "red") == (guess != truth)
        assert (f"true digit {truth}" in title.get_text()) == (guess != truth)
        assert len(ax.images) == 1 and ax.images[0].get_array().shape == (8, 8)
    # without true labels nothing is marked
    assert PredictionGridDisplay.from_estimator(clf, X_test, n_images=4).n_mistakes_ is None


def test_hidden_units_show_first_layer_weights(clf):
    display = HiddenUnitsDisplay.from_estimator(clf, n_units=10)
    assert len(display.images_) == 10 and len(display.figure_.axes) == 13  # a 3 x 4 grid and the color bar
    for j, image in enumerate(display.images_):
        np.testing.assert_array_equal(image.get_array(), clf.coefs_[0][:, j].reshape(8, 8))
    low, high = display.images_[0].get_clim()
    assert low == -high == -np.abs(clf.coefs_[0][:, :10]).max()
    # the color bar says what the colors mean, ticked at the scale's ends and 0
    bar = display.colorbar_
    assert bar.ax.get_xlabel() == "weight: negative (blue) … positive (red)"
    display.figure_.canvas.draw()
    np.testing.assert_allclose(bar.ax.get_xticks(), [low, 0, high])
    assert [t.get_text() for t in bar.ax.get_xticklabels()] == [f"{low:+.2g}", "0", f"{high:+.2g}"]


def test_non_square_inputs_need_an_image_shape(digits):
    X, y = digits
    clf = MLPScratchClassifier((4,), max_iter=5, random_state=0).fit(X[:, :60], y)
    with pytest.raises(ValueError, match="not a square image"):
        HiddenUnitsDisplay.from_estimator(clf)
    assert HiddenUnitsDisplay.from_estimator(clf, image_shape=(6, 10)).images_[0].get_array().shape == (6, 10)


def test_confusion_matrix_with_our_classifier(clf, digits):
    X, y = digits
    display = ConfusionMatrixDisplay.from_estimator(clf, X[1200:], y[1200:])
    assert display.confusion_matrix.sum() == len(y) - 1200
    assert display.confusion_matrix.trace() == (clf.predict(X[1200:]) == y[1200:]).sum()
