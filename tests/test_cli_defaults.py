"""``skscratch train`` with no options: the searched defaults, and that they beat scikit-learn's MLPClassifier().

The defaults were chosen on MNIST digits no test uses (benchmarks/bench_cli_defaults.py).
Here they meet data the search never saw: Fashion-MNIST, Debian's files, as a
Kaggle-style CSV of 4,000 training images, scored on all 10,000 test images.
"""

import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

import skscratch
from skscratch.cli._train import DEFAULTS
from skscratch.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
FASHION = Path("/usr/share/datasets/fashion-mnist")


def test_the_defaults_are_the_ones_the_search_chose():
    """benchmarks/README.md records the search's choice as a command line: it must parse to the defaults."""
    record = (ROOT / "benchmarks" / "README.md").read_text()
    section = record[record.index("## Defaults for `skscratch train`"):]
    command = re.search(r"^```bash\n(skscratch train .+?)\n```", section, re.M | re.S).group(1)
    chosen = build_parser().parse_args(command.replace("\\\n", " ").split()[1:])
    assert chosen.batch_size == DEFAULTS["batch_size"]
    for name, value in DEFAULTS.items():
        if name != "batch_size":
            assert getattr(chosen, name) == value, name


def test_the_command_line_and_train_share_the_defaults():
    args = build_parser().parse_args(["train", "--data", "x.csv", "--out", "m.npz"])
    for name, value in DEFAULTS.items():
        if name not in ("batch_size", "alpha"):
            assert getattr(args, name) == value, name
    # None on the command line: 128 (or all the images when fewer); 0.2 with adamw, else 1e-4
    assert args.batch_size is None and args.alpha is None


@pytest.fixture(scope="module")
def fashion_csv(tmp_path_factory):
    """4,000 Fashion-MNIST training images as a Kaggle CSV (stratified, seed 0), and the 10,000 test images."""
    if not FASHION.is_dir():
        pytest.skip("needs Debian's dataset-fashion-mnist, which .ci/run installs")
    from skscratch.datasets import fetch_fashion_mnist

    train = fetch_fashion_mnist(subset="train", data_home=FASHION, download_if_missing=False)
    test = fetch_fashion_mnist(subset="test", data_home=FASHION, download_if_missing=False)
    X, _, y, _ = train_test_split(np.asarray(train.data), np.asarray(train.target), train_size=4000,
                                  stratify=train.target, random_state=0)
    X = np.rint(X).astype(np.uint8)  # the pixels as they are in the files, 0-255
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(X.shape[1])])
    frame.insert(0, "label", y)
    path = tmp_path_factory.mktemp("fashion") / "train.csv"
    frame.to_csv(path, index=False)
    return path, X, y, np.asarray(test.data), np.asarray(test.target)


def test_train_with_no_options_beats_sklearns_default_mlp(fashion_csv, tmp_path):
    path, X, y, X_test, y_test = fashion_csv
    result = subprocess.run([sys.executable, "-m", "skscratch", "train", "--data", str(path),
                             "--out", str(tmp_path / "model.npz")], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    assert "Training a 784-512-256-10 network on 3600 images, validating on 400." in result.stdout
    assert len(re.findall(r"^epoch +\d+/40 ", result.stdout, re.M)) == 40
    ours = skscratch.load(tmp_path / "model.npz").score(X_test, y_test)  # raw pixels: the file holds its scaling

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = MLPClassifier(random_state=0).fit(X / 255, y).score(X_test / 255, y_test)  # all 4,000 images
    # benchmarks/README.md: 85.1 % against 83.6 %, over three seeds
    assert ours > theirs + 0.005, (ours, theirs)
