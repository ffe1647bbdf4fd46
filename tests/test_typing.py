"""The public API is typed (PEP 561): mypy checks the package, a typed program, and catches mistakes."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TYPING = Path(__file__).with_name("typing")

pytest.importorskip("mypy")


def mypy(*paths):
    result = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", "/dev/null",
                             "--config-file", str(ROOT / "pyproject.toml"), *map(str, paths)],
                            capture_output=True, text=True, cwd=ROOT, timeout=600)
    return result.returncode, result.stdout + result.stderr


def test_the_package_type_checks():
    code, output = mypy(ROOT / "skscratch")
    assert code == 0, output


def test_the_package_says_it_is_typed():
    assert (ROOT / "skscratch" / "py.typed").is_file()
    import skscratch

    assert (Path(skscratch.__file__).parent / "py.typed").is_file()  # installed with it


def test_a_typed_program_type_checks():
    code, output = mypy(TYPING / "typed_usage.py")
    assert code == 0, output


def test_mistakes_are_caught_on_the_lines_marked():
    source = (TYPING / "typed_mistakes.py").read_text().splitlines()
    marked = {number for number, line in enumerate(source, start=1) if "  # E:" in line}
    code, output = mypy(TYPING / "typed_mistakes.py")
    reported = {int(n) for n in re.findall(r"typed_mistakes\.py:(\d+): error", output)}
    assert code == 1 and reported == marked, output


def test_the_typed_program_runs():
    result = subprocess.run([sys.executable, str(TYPING / "typed_usage.py")], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
