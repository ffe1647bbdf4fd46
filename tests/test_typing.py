"""The public API is typed (PEP 561): mypy and pyright check its users' code, and catch their mistakes.

Each checker runs once over everything it checks, as its users run it:

- mypy over the package itself; with ``--strict`` over a typed program
  (``typing/typed_usage.py``) and a program of mistakes
  (``typing/typed_mistakes.py``, each marked ``# E:``); and over the Python
  examples of README.md and docs/, each page's examples in order in one
  module, as doctest runs them (in mypy's default mode: the examples are not
  annotated, what is checked is their use of skscratch);
- pyright (basedpyright, pyright's build on PyPI that brings its own node, so
  nothing is downloaded) in its "basic" mode, the one editor users meet, over
  the same programs and pages, with skscratch found as an installed package.

Correct code gives no error, and each planted mistake is reported by both.
"""

import ast
import builtins
import doctest
import json
import os
import pickle
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from skscratch import MLPScratchClassifier, MLPScratchRegressor

ROOT = Path(__file__).resolve().parents[1]
TYPING = Path(__file__).with_name("typing")
PROGRAMS = [TYPING / "typed_usage.py", TYPING / "typed_mistakes.py"]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.rst")), *sorted((ROOT / "docs").glob("*.md"))]
ESTIMATORS = [MLPScratchClassifier, MLPScratchRegressor]

# What pyright reports in the docs' examples about another library's types, not skscratch's: dask ships
# py.typed but annotates nothing, so pyright takes ``chunks="auto"`` for a str, and re-exports
# ``delayed`` (its documented spelling, ``from dask import delayed``) without ``__all__``.
OTHER_LIBRARIES = [r'in function "from_array"', r'"delayed" is not exported from module "dask"']


# ----------------------------------------------------------------------
# The examples of the README and the docs, as modules the checkers read


def python_examples(page):
    """The Python examples of a page, in order, as ``(line in the page, code)``.

    Its doctests (``>>>``, as doctest reads them) and its code blocks that are
    not doctests (```` ```python ```` in Markdown, ``.. code-block:: python``
    in reStructuredText).
    """
    text = page.read_text()
    examples = [(example.lineno + 1, example.source) for example in doctest.DocTestParser().get_examples(text)]
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if page.suffix == ".md" and line.strip() == "```python":
            end = lines.index("```", number + 1) if "```" in lines[number + 1:] else len(lines)
            body = lines[number + 1:end]
        elif match := re.fullmatch(r"(\s*)\.\. code-block:: python\s*", line):
            indent, body = len(match.group(1)), []
            for following in lines[number + 1:]:
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break
                body.append(following)
            while body and re.match(r"\s+:[\w-]+:", body[0]):  # the directive's options
                body = [""] + body[1:]
        else:
            continue
        code = textwrap.dedent("\n".join(body)) + "\n"
        if ">>>" not in code:
            examples.append((number + 2, code))
    return sorted(examples, key=lambda example: example[0])


def bound_names(tree):
    """Every name that code binds anywhere: assigned, imported, defined, a parameter."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def page_module(page):
    """A page's examples as one module, and the page's line of each of its lines (None: added here).

    A code block that is not a doctest may use names the page does not
    define (``X``, ``y``: the reader's data); they are declared ``Any``
    before it. A doctest shows an expression's value: that is its use, so
    pyright's warning about unused expressions is off.
    """
    lines = [f"# The Python examples of {page.name}, in order (tests/test_typing.py).",
             "# pyright: reportUnusedExpression=false", "from typing import Any"]
    origin = [None] * len(lines)
    known = set(dir(builtins))
    for number, code in python_examples(page):
        try:
            tree = ast.parse(code)
        except SyntaxError as error:
            raise AssertionError(f"{page.name}:{number + (error.lineno or 1) - 1}: not Python: {error}") from None
        loaded = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
        bound = bound_names(tree)
        for name in sorted(loaded - bound - known):
            lines.append(f"{name}: Any = ...  # the reader's")
            origin.append(None)
        known |= loaded | bound
        for offset, line in enumerate(code.splitlines()):
            lines.append(line)
            origin.append(number + offset)
    return "\n".join(lines) + "\n", origin


# A page with a mistake in a doctest and one in a code block (which also uses the reader's X): the
# checkers must report both, where they are on the page
PLANTED = """Fit it:

>>> from skscratch import MLPScratchClassifier
>>> clf = MLPScratchClassifier(max_iter="10")

then look:

.. code-block:: python

    print(X.shape, clf.n_iters_)
"""
PLANTED_LINES = [4, 10]


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """``{module path: (page, page line of each module line)}``: every page with Python examples, and PLANTED."""
    folder = tmp_path_factory.mktemp("pages")
    planted = folder / "planted.rst"
    planted.write_text(PLANTED)
    modules = {}
    for page in [*PAGES, planted]:
        if not python_examples(page):
            continue
        text, origin = page_module(page)
        module = folder / f"{page.stem}_{page.suffix[1:]}.py"
        module.write_text(text)
        modules[module] = (page, origin)
    return modules


def on_the_pages(pages, found):
    """Each diagnostic of ``{module: [(line, message)]}`` where the page has it: ``page:line: message``."""
    shown = []
    for module, diagnostics in found.items():
        page, origin = pages[module]
        for line, message in diagnostics:
            shown.append(f"{page.relative_to(ROOT) if page.is_relative_to(ROOT) else page}:"
                         f"{origin[line - 1] or 'added'}: {message}")
    return shown


# ----------------------------------------------------------------------
# The checkers, each run once


def mypy(*arguments):
    result = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", os.devnull,
                             "--config-file", str(ROOT / "pyproject.toml"), *map(str, arguments)],
                            capture_output=True, text=True, cwd=ROOT, timeout=600)
    return result.returncode, result.stdout + result.stderr


def mypy_errors(code, output):
    """``{file: [(line, message)]}`` of mypy's errors, after checking that mypy ran and counted as many."""
    assert code in (0, 1), output  # 2: mypy did not run
    errors, count = {}, 0
    for path, line, message in re.findall(r"^(.+?\.py):(\d+): error: (.*)$", output, re.M):
        errors.setdefault((ROOT / path).resolve(), []).append((int(line), message))  # relative to ROOT
        count += 1
    summary = re.search(r"^(?:Found (\d+) errors? in|Success: no issues found)", output, re.M)
    assert summary and int(summary.group(1) or 0) == count, output
    return errors


def pyright(*paths):
    """``{file: [(line, severity, message)]}`` of basedpyright's diagnostics, skscratch found through PYTHONPATH."""
    pytest.importorskip("basedpyright")
    # docs/ too, as the docs build and test_docs have it: the textbook page imports docs/textbook_backprop.py
    python_path = os.pathsep.join(filter(None, [str(ROOT), str(ROOT / "docs"), os.environ.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, "-m", "basedpyright", "--outputjson", "--pythonpath", sys.executable,
                             "--project", str(TYPING / "pyrightconfig.json"), *map(str, paths)],
                            capture_output=True, text=True, cwd=ROOT, timeout=600,
                            env={**os.environ, "PYTHONPATH": python_path})
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"basedpyright did not run:\n{result.stdout}\n{result.stderr}") from None
    summary = report["summary"]
    assert summary["filesAnalyzed"] == len(paths), summary
    assert summary["errorCount"] == sum(item["severity"] == "error" for item in report["generalDiagnostics"]), summary
    diagnostics = {}
    for item in report["generalDiagnostics"]:
        line = item["range"]["start"]["line"] + 1
        diagnostics.setdefault(Path(item["file"]).resolve(), []).append((line, item["severity"], item["message"]))
    return diagnostics


@pytest.fixture(scope="module")
def pyright_report(pages):
    return pyright(*PROGRAMS, *pages)


@pytest.fixture(scope="module")
def mypy_strict_report():
    pytest.importorskip("mypy")
    code, output = mypy("--strict", "--follow-imports=silent", *PROGRAMS)
    return mypy_errors(code, output), output


@pytest.fixture(scope="module")
def mypy_pages_report(pages):
    pytest.importorskip("mypy")
    # a page is a series of small programs in one namespace (as doctest runs it): a name may be reused
    code, output = mypy("--follow-imports=silent", "--allow-redefinition", *pages)
    return mypy_errors(code, output), output


def errors_of(report, path, checker):
    """``[(line, message)]``: the errors a checker reported in ``path``."""
    if checker == "mypy":
        return report[0].get(path.resolve(), [])
    return [(line, message) for line, severity, message in report.get(path.resolve(), []) if severity == "error"]


# ----------------------------------------------------------------------
# The package


def test_the_package_type_checks():
    pytest.importorskip("mypy")
    code, output = mypy(ROOT / "skscratch")
    assert code == 0, output


def test_the_package_says_it_is_typed():
    assert (ROOT / "skscratch" / "py.typed").is_file()
    import skscratch

    assert (Path(skscratch.__file__).parent / "py.typed").is_file()  # installed with it


# ----------------------------------------------------------------------
# A typed program, and mistakes


@pytest.fixture(params=["mypy", "pyright"])
def report(request):
    name = {"mypy": "mypy_strict_report", "pyright": "pyright_report"}[request.param]
    return request.param, request.getfixturevalue(name)


def test_a_typed_program_type_checks(report):
    checker, found = report
    assert errors_of(found, TYPING / "typed_usage.py", checker) == [], found
    if checker == "pyright":  # not even a warning
        assert found.get((TYPING / "typed_usage.py").resolve(), []) == []


def test_mistakes_are_caught_on_the_lines_marked(report):
    checker, found = report
    source = (TYPING / "typed_mistakes.py").read_text().splitlines()
    marked = {number for number, line in enumerate(source, start=1) if "  # E:" in line}
    reported = {line for line, _ in errors_of(found, TYPING / "typed_mistakes.py", checker)}
    assert reported == marked, (f"{checker} missed lines {sorted(marked - reported)} and reported "
                                f"unmarked lines {sorted(reported - marked)}", found)


def test_the_typed_program_runs():
    result = subprocess.run([sys.executable, str(TYPING / "typed_usage.py")], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr


# ----------------------------------------------------------------------
# The examples of the README and the docs


def test_every_page_with_python_has_its_examples_read(pages):
    read = {page: module.read_text() for module, (page, _) in pages.items()}
    for page in PAGES:
        text = page.read_text()
        if ">>>" in text or "```python" in text or ".. code-block:: python" in text:
            assert page in read, page
    # doctests and plain code blocks alike: the GPU and Dask pages' examples are no doctests
    assert "search.best_estimator_" in read[ROOT / "README.md"]
    assert "array_api_dispatch=True" in read[ROOT / "docs" / "gpu.rst"]
    assert "Incremental(" in read[ROOT / "docs" / "scaling.rst"]


@pytest.mark.parametrize("checker", ["mypy", "pyright"])
def test_the_examples_of_the_readme_and_the_docs_type_check(pages, checker, request):
    found = request.getfixturevalue({"mypy": "mypy_pages_report", "pyright": "pyright_report"}[checker])
    ours = {module: page for module, (page, _) in pages.items() if page in PAGES}
    errors = {module: [(line, message) for line, message in errors_of(found, module, checker)
                       if not any(re.search(known, message) for known in OTHER_LIBRARIES)] for module in ours}
    assert on_the_pages(pages, errors) == []
    if checker == "pyright":  # warnings are what an editor underlines too
        underlined = {module: [(line, message) for line, severity, message in found.get(module.resolve(), [])
                               if severity == "warning"] for module in ours}
        assert on_the_pages(pages, underlined) == []


@pytest.mark.parametrize("checker", ["mypy", "pyright"])
def test_a_mistake_in_an_example_is_reported_where_it_is(pages, checker, request):
    """The pages' check can fail: both mistakes of PLANTED are reported, at their lines of the page."""
    found = request.getfixturevalue({"mypy": "mypy_pages_report", "pyright": "pyright_report"}[checker])
    (module,) = [module for module, (page, _) in pages.items() if page.name == "planted.rst"]
    origin = pages[module][1]
    assert sorted(origin[line - 1] for line, _ in errors_of(found, module, checker)) == PLANTED_LINES, found


# ----------------------------------------------------------------------
# The declarations themselves


def declared(cls):
    """The names the class and its bases of ours annotate."""
    return {name for klass in cls.__mro__ if klass.__module__.startswith("skscratch")
            for name in vars(klass).get("__annotations__", {})}


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_the_declared_attributes_are_the_documented_ones(Estimator):
    from numpydoc.docscrape import NumpyDocString

    def documented(section):
        return {name.strip() for item in NumpyDocString(Estimator.__doc__)[section] for name in item.name.split(",")}

    properties = {name for name in dir(Estimator) if isinstance(getattr(Estimator, name), property)}
    fitted = {name for name in declared(Estimator) if name.endswith("_") and not name.startswith("_")}
    assert fitted | (properties & documented("Attributes")) == documented("Attributes")
    parameters = {name for name in declared(Estimator) if not name.endswith("_") and not name.startswith("_")}
    assert parameters == set(Estimator().get_params())


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_the_declarations_make_no_attribute(Estimator):
    """Annotations without a value: an unfitted estimator has no fitted attribute, nor the class a default."""
    X, y = load_iris(return_X_y=True)
    estimator = Estimator(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    for name in declared(Estimator):
        assert name not in vars(Estimator) or name == "_parameter_constraints", name
    assert not [name for name in vars(estimator) if name.endswith("_")]
    assert not hasattr(estimator, "coefs_") and not hasattr(estimator, "n_iter_")
    with pytest.raises(NotFittedError):
        check_is_fitted(estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # two epochs: it has not converged
        estimator.fit(X, y)
    check_is_fitted(estimator)
    assert not hasattr(clone(estimator), "coefs_")
    assert pickle.loads(pickle.dumps(estimator)).n_iter_ == estimator.n_iter_ == 2


def test_set_callbacks_says_what_it_needs_without_the_callback_api():
    """With a scikit-learn that has no callback API (< 1.9), set_callbacks is absent, and says why."""
    program = """
import sys
import sklearn.metrics, sklearn.model_selection, sklearn.pipeline, sklearn.preprocessing  # which use it
sys.modules["sklearn.callback"] = None  # then, for skscratch, as on scikit-learn < 1.9: no such module
from skscratch import MLPScratchClassifier
clf = MLPScratchClassifier()
assert not hasattr(clf, "set_callbacks")
try:
    clf.set_callbacks()
except AttributeError as error:
    print(error)
"""
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "set_callbacks needs scikit-learn >= 1.9" in result.stdout, result.stdout
