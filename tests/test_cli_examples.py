"""The command line and the examples, run as a user runs them."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)


def demo_command():
    script = shutil.which("skscratch") or str(Path(sys.executable).parent / "skscratch")
    return [script, "demo"]


@pytest.mark.parametrize("command", [demo_command(), [sys.executable, "-m", "skscratch", "demo"]],
                         ids=["console-script", "python-m"])
def test_demo_prints_a_line_per_epoch_and_the_test_accuracy(command):
    result = run(command + ["--epochs", "12", "--hidden", "32"])
    assert result.returncode == 0, result.stderr
    epochs = re.findall(r"^epoch +(\d+)/12 +loss (\S+) +train acc (\S+) +test acc (\S+)", result.stdout, re.M)
    assert [int(e[0]) for e in epochs] == list(range(1, 13))
    losses = [float(e[1]) for e in epochs]
    assert losses[-1] < losses[0] / 2  # it learns
    accuracy = float(re.search(r"^Test accuracy: (\S+)$", result.stdout, re.M).group(1))
    assert accuracy == float(epochs[-1][3]) and accuracy > 0.8


def test_demo_default_run_reaches_high_accuracy():
    result = run(demo_command())
    assert result.returncode == 0, result.stderr
    assert float(re.search(r"Test accuracy: (\S+)", result.stdout).group(1)) > 0.95


@pytest.mark.parametrize("bad", [["--epochs", "0"], ["--hidden", "0"], ["--hidden", "a,b"], ["fly"]])
def test_bad_arguments_fail_with_a_message(bad):
    command = demo_command()[:1] + (bad if bad == ["fly"] else ["demo", *bad])
    result = run(command)
    assert result.returncode == 2
    assert "error:" in result.stderr


def test_help():
    result = run(demo_command() + ["--help"])
    assert result.returncode == 0 and "--epochs" in result.stdout


# the accuracy each example reaches in its quick mode (small data, few epochs)
QUICK_ACCURACY = {"digits_pipeline.py": 0.9, "plot_fashion_mnist_recipe.py": 0.8}


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.py")), ids=lambda p: p.name)
def test_example_runs(example):
    if "fashion" in example.name and not Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("needs Debian's dataset-fashion-mnist, which .ci/run installs")
    env = {**os.environ, "SKSCRATCH_QUICK": "1", "MPLBACKEND": "Agg"}
    result = run([sys.executable, str(example)], env=env)
    assert result.returncode == 0, result.stderr
    accuracy = float(re.search(r"held-out accuracy (\S+)", result.stdout).group(1))
    assert accuracy > QUICK_ACCURACY[example.name]


def test_regression_demo_prints_r2_per_epoch():
    result = run(demo_command() + ["--task", "regression", "--epochs", "15"])
    assert result.returncode == 0, result.stderr
    assert "diabetes" in result.stdout
    epochs = re.findall(r"^epoch +(\d+)/15 +loss (\S+) +train R2 (\S+) +test R2 (\S+)", result.stdout, re.M)
    assert [int(e[0]) for e in epochs] == list(range(1, 16))
    r2 = float(re.search(r"^Test R\^2: (\S+)$", result.stdout, re.M).group(1))
    assert r2 == float(epochs[-1][3]) and r2 > 0.3  # linear models reach about 0.35-0.45
