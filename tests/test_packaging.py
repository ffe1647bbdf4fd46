"""What ships: the sdist holds what its tests need and runs them, and its metadata says true things.

The sdist is built by setuptools' own backend (what ``python -m build --sdist``
calls) from a copy of the repository's files in a temporary folder, so nothing
is written into the checkout. These tests need the git repository (they skip in
an unpacked sdist, which has nothing to compare itself with).
"""

import email.parser
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NEWEST_PYTHON = (3, 13)  # the newest Python the classifiers name

# Not shipped, deliberately (MANIFEST.in says why); everything else of the repository ships.
LEFT_OUT = (".ci/", ".gitignore")
# What a build writes beside the repository's files.
BUILD_METADATA = ("PKG-INFO", "setup.cfg", "skscratch.egg-info/")
# Generated files of the kinds .gitignore names, planted in the copy: none may ship.
GENERATED = ["docs/_build/html/index.html", "docs/auto_examples/index.rst", "docs/sg_execution_times.rst",
             "docs/generated/skscratch.MLPScratchClassifier.rst", "benchmarks/results/bench_train.json",
             "tests/__pycache__/test_packaging.cpython-311.pyc", "tests/__pycache__/_kernels.step-1.py311.nbi",
             "skscratch/__pycache__/_base.cpython-311.pyc", "examples/learning_curves.png",
             "examples/skscratch-demo/model.npz", "benchmarks/model.joblib", ".venv-min/pyvenv.cfg",
             "skscratch-demo/model.npz"]


def run(args, cwd, timeout=600):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def pyproject():
    tomllib = pytest.importorskip("tomllib", reason="Python 3.11's")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def repository_files():
    """The files a clone has: git's tracked files, and new ones it does not ignore (not committed yet)."""
    git = shutil.which("git")
    top = git and run([git, "rev-parse", "--show-toplevel"], ROOT)
    if not top or top.returncode != 0 or Path(top.stdout.strip()).resolve() != ROOT:
        pytest.skip("needs the git repository (an unpacked sdist has none)")
    listed = run([git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"], ROOT).stdout
    return sorted(name for name in set(listed.split("\0")) if name and (ROOT / name).is_file())


@pytest.fixture(scope="module")
def sdist(tmp_path_factory):
    """(the files in the sdist, relative to its top folder; the unpacked folder; its PKG-INFO)."""
    # the [test] extra's setuptools reads a PEP 639 license; asked, not imported: setuptools imported into a
    # process where distutils was imported before it (by another test's library) fails its distutils hack
    try:
        setuptools_major = int(importlib.metadata.version("setuptools").split(".")[0])
    except importlib.metadata.PackageNotFoundError:
        setuptools_major = 0
    if setuptools_major < 77:
        pytest.skip("needs setuptools >= 77, which the [test] extra brings")
    files = repository_files()
    tree, dist, unpacked = (tmp_path_factory.mktemp(name) for name in ("tree", "dist", "unpacked"))
    for name in files + GENERATED:
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        if name in files:
            shutil.copy2(ROOT / name, tree / name)
        else:
            (tree / name).write_text("generated\n")
    build = run([sys.executable, "-c", "import sys; from setuptools import build_meta; "
                 "print(build_meta.build_sdist(sys.argv[1]))", str(dist)], tree)
    assert build.returncode == 0, build.stderr
    with tarfile.open(dist / build.stdout.split()[-1]) as archive:
        archive.extractall(unpacked, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    (top,) = unpacked.iterdir()
    shipped = sorted(str(p.relative_to(top)) for p in top.rglob("*") if p.is_file())
    return files, shipped, top, email.parser.Parser().parsestr((top / "PKG-INFO").read_text())


def test_the_sdist_holds_every_file_of_the_repository(sdist):
    files, shipped, _, _ = sdist
    missing = [name for name in files if name not in shipped and not name.startswith(LEFT_OUT)]
    assert not [name for name in missing if name.startswith("tests/")], "test files missing from the sdist"
    assert not missing, "files missing from the sdist (ship them, or name them in LEFT_OUT and MANIFEST.in)"


def test_the_sdist_holds_nothing_generated(sdist):
    files, shipped, _, _ = sdist
    assert [name for name in shipped if name not in files and not name.startswith(BUILD_METADATA)] == []
    assert [name for name in shipped if name.startswith(LEFT_OUT)] == []


def test_the_tests_run_from_the_unpacked_sdist(sdist):
    _, _, top, _ = sdist
    imported = run([sys.executable, "-c", "import skscratch; print(skscratch.__file__)"], top)
    assert Path(imported.stdout.strip()).resolve() == (top / "skscratch" / "__init__.py").resolve(), imported

    collected = run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"], top)
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr
    summary = collected.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ tests collected in .*", summary), summary  # no errors, no "skipped" modules
    for expected in ("tests/test_common.py::", "tests/test_pinned_results.py::", "README.md::README.md",
                     "skscratch/datasets.py::"):  # the tests, the README's doctests, the package's doctests
        assert re.search(f"^{re.escape(expected)}", collected.stdout, re.M), expected

    # a small real part: tests that read pinned_results.json, tests/typing/, conftest.py's fixtures
    ran = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "tests/test_pinned_results.py::test_every_case_is_pinned",
               "tests/test_typing.py::test_the_typed_program_runs", "tests/test_check_gradients.py"], top)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr
    assert re.search(r"^\d+ passed", ran.stdout.strip().splitlines()[-1]), ran.stdout[-1000:]


# ----------------------------------------------------------------------
# The metadata a user reads on the package index


def test_the_metadata_names_where_to_find_the_project(sdist):
    metadata = sdist[3]
    urls = dict(entry.split(", ", 1) for entry in metadata.get_all("Project-URL", []))
    assert sorted(urls) == ["Changelog", "Documentation", "Issues", "Source"]
    assert all(url.startswith("https://") for url in urls.values()), urls
    assert urls["Changelog"].startswith(urls["Documentation"]) and urls["Issues"].startswith(urls["Source"])


def test_the_classifiers_agree_with_requires_python_and_the_license(sdist):
    metadata = sdist[3]
    classifiers = metadata.get_all("Classifier", [])
    oldest = tuple(map(int, re.fullmatch(r">=(3)\.(\d+)", metadata["Requires-Python"]).groups()))
    named = {(3, int(minor)) for minor in re.findall(r"^Programming Language :: Python :: 3\.(\d+)$",
                                                     "\n".join(classifiers), re.M)}
    assert named == {(3, minor) for minor in range(oldest[1], NEWEST_PYTHON[1] + 1)}
    assert {"Typing :: Typed", "Operating System :: OS Independent",
            "Programming Language :: Python :: 3 :: Only"} <= set(classifiers)
    assert any(c.startswith("Topic :: ") for c in classifiers)
    assert any(c.startswith("Development Status :: ") for c in classifiers)
    assert metadata["License-Expression"] == "BSD-3-Clause"
    assert not any(c.startswith("License :: ") for c in classifiers)  # the expression says it, once
    assert metadata["Requires-Python"] == pyproject()["project"]["requires-python"]


def links(markdown):
    """Every link target of a Markdown text: inline links and images, reference definitions, HTML."""
    prose = re.sub(r"^```.*?^```", "", markdown, flags=re.M | re.S)  # code is not links
    prose = re.sub(r"`[^`\n]*`", "code", prose)
    return (re.findall(r"\]\(\s*<?([^)\s>]+)", prose) + re.findall(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?$", prose, re.M)
            + re.findall(r"""(?:href|src)\s*=\s*["']([^"']+)""", prose))


def test_links_finds_every_kind_of_link():
    text = ("[a](docs/a.rst) ![b](<b.png>) [c]: c.md\n[d] x\n\n[d]: <d.py>\n<a href='e.html'>e</a> "
            "<img src=\"f.svg\"> `[not](a link)`\n```python\n>>> x[0](1)\n```\n")
    assert links(text) == ["docs/a.rst", "b.png", "d.py", "e.html", "f.svg"]


def test_the_long_description_has_no_relative_links(sdist):
    """On the package index a link relative to the repository leads nowhere: every link is absolute."""
    _, _, top, metadata = sdist
    assert metadata["Description-Content-Type"].startswith("text/markdown")
    description = metadata.get_payload()
    assert description.strip() == (top / "README.md").read_text().strip()
    targets = links(description)
    assert targets, "no links found: the scan is broken"
    assert [t for t in targets if not re.match(r"https?://", t)] == []


def test_the_long_descriptions_links_into_the_project_lead_somewhere(sdist):
    """A link into the repository names a file it holds; a link into the docs, a page they build."""
    _, _, top, metadata = sdist
    urls = dict(entry.split(", ", 1) for entry in metadata.get_all("Project-URL", []))
    source, docs = urls["Source"].rstrip("/") + "/", urls["Documentation"]
    into_project = [t for t in links(metadata.get_payload()) if t.startswith((source, docs))]
    assert into_project
    for target in into_project:
        path = target.split("#")[0]
        if path.startswith(source):
            assert re.match(re.escape(source) + r"(blob|tree)/main/", path), target
            assert (top / path.removeprefix(source).split("/", 2)[2]).exists(), target
        else:
            page = path.removeprefix(docs).removesuffix(".html")
            assert any((top / "docs" / (page + suffix)).is_file() for suffix in (".rst", ".md")), target


# ----------------------------------------------------------------------
# The declared dependencies


SCRIPT = ROOT / ".ci" / "minimum_requirements.py"


def minimum_requirements(root, *args):
    """Run .ci/minimum_requirements.py as it lies in ``root``, which holds the pyproject.toml it reads."""
    return run([sys.executable, str(root / ".ci" / SCRIPT.name), *args], root, timeout=60)


@pytest.fixture
def script():
    if not SCRIPT.is_file():
        pytest.skip("needs .ci/, which the sdist leaves out")
    pytest.importorskip("tomllib", reason="the script needs Python 3.11's")


def test_the_minimum_versions_run_installs_what_pyproject_declares(script):
    project = pyproject()["project"]
    dependencies = project["dependencies"]
    pinned = minimum_requirements(ROOT)
    assert pinned.returncode == 0, pinned.stderr
    assert pinned.stdout.split() == [d.replace(">=", "==") for d in dependencies]
    assert {d.split(">=")[0] for d in dependencies} == {"numpy", "scipy", "scikit-learn", "pandas", "joblib",
                                                        "threadpoolctl"}
    oldest = minimum_requirements(ROOT, "--python")
    assert oldest.stdout.strip() == project["requires-python"].removeprefix(">=")


@pytest.mark.parametrize("dependency", ["numpy", "numpy<3", "numpy>=1.25,<3", "numpy>=1.25; python_version<'4'"])
def test_the_minimum_versions_run_refuses_a_dependency_without_one_minimum(script, dependency, tmp_path):
    (tmp_path / ".ci").mkdir()
    shutil.copy(SCRIPT, tmp_path / ".ci")
    (tmp_path / "pyproject.toml").write_text(
        f'[project]\nrequires-python = ">=3.10"\ndependencies = ["scipy>=1.11.1", "{dependency}"]\n')
    refused = minimum_requirements(tmp_path)
    assert refused.returncode == 1 and dependency in refused.stderr and "no minimum" in refused.stderr


def test_the_core_runs_without_pandas():
    """pandas is for history_, DataFrames and CSV files: fit, predict, save and load never import it."""
    code = """if True:
        import importlib.abc, pickle, sys, tempfile, warnings
        class NoPandas(importlib.abc.MetaPathFinder):  # as if pandas were not installed
            def find_spec(self, name, path=None, target=None):
                if name.partition(".")[0] == "pandas":
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        sys.meta_path.insert(0, NoPandas())
        warnings.simplefilter("ignore")
        import numpy as np
        import skscratch
        import skscratch.cli, skscratch.datasets
        from skscratch import MLPScratchClassifier, MLPScratchRegressor
        X = np.random.default_rng(0).normal(size=(60, 4))
        y = (X[:, 0] > 0).astype(int)
        folder = tempfile.mkdtemp()
        for solver in ["sgd", "adam", "adamw", "lbfgs"]:
            for model, target in [(MLPScratchClassifier, y), (MLPScratchRegressor, X[:, 1])]:
                fitted = model(solver=solver, hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X, target)
                if solver != "lbfgs":
                    fitted.partial_fit(X, target)
                skscratch.save(fitted, folder + "/model.npz")
                for again in [skscratch.load(folder + "/model.npz"), pickle.loads(pickle.dumps(fitted))]:
                    assert (again.predict(X) == fitted.predict(X)).all()
                fitted.score(X, target)
        skscratch.datasets.load_idx  # the loaders are there; only DataFrames and CSV files need pandas
        assert "pandas" not in sys.modules
        print("fitted, saved and loaded without pandas")
    """
    result = run([sys.executable, "-c", code], ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "fitted, saved and loaded without pandas"
