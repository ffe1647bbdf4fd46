"""The package's layout keeps its promises: folders in layers, no import cycle, the size rules.

Read from the source (``ast``), never by importing: what is checked is what
a reader sees. Every import counts, a function's own included (an import
inside a function that reaches up is still an arrow up), except those under
``if TYPE_CHECKING:``, which never run.
"""

import ast
import functools
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "skscratch"

# each part may import its own modules and those of the parts below it, never one above
LAYERS = {
    "_version": 0,
    "_engine": 1,  # the array-API seam, threads, kernels, Ctrl-C: imports no other part
    "nn": 2,  # the maths: NumPy and the seam
    "_estimator": 3,  # the scikit-learn estimators, on nn
    "io": 4,  # the file formats, of the estimators
    "datasets": 4,
    "plotting": 5,
    "_plotting": 5,
    "tracking": 5,
    "cli": 6,  # the command line, on everything
    "__init__": 7,
    "__main__": 7,
}


@functools.cache
def modules():
    """``{dotted name: path}`` of every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def part(module):
    """The part (``nn``, ``cli`` ...) a module of ``skscratch`` belongs to."""
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


@functools.cache
def imports(module, path):
    """The modules of skscratch that ``module`` imports (resolved to modules, not names)."""
    tree = ast.parse(path.read_text())
    skipped = set()
    for node in ast.walk(tree):  # the imports under `if TYPE_CHECKING:` never run
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    known = modules()
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("skscratch"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("skscratch"):
                continue
            for alias in node.names:  # `from . import network` imports the module skscratch.nn.network
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in known else target)
    return {name for name in found if name != module}


def test_no_part_imports_one_above_it():
    arrows_up = []
    for module, path in modules().items():
        for imported in imports(module, path):
            if imported in ("skscratch",) and part(module) == "__init__":
                continue
            if LAYERS[part(imported)] > LAYERS[part(module)]:
                arrows_up.append(f"{module} -> {imported}")
    assert arrows_up == []


def test_nn_imports_only_numpy_and_the_seam():
    allowed_outside = {"skscratch._engine.array_api"}
    for module, path in modules().items():
        if part(module) != "nn":
            continue
        ours = {m for m in imports(module, path) if part(m) != "nn"}
        assert ours <= allowed_outside, module
        third_party = {n.names[0].name.split(".")[0] if isinstance(n, ast.Import) else (n.module or "").split(".")[0]
                       for n in ast.walk(ast.parse(path.read_text()))
                       if isinstance(n, (ast.Import, ast.ImportFrom)) and not getattr(n, "level", 0)}
        assert third_party - {"skscratch", *sys.stdlib_module_names} <= {"numpy"}, (module, third_party)


def test_no_import_cycle():
    graph = {module: imports(module, path) for module, path in modules().items()}
    # a package's __init__ is imported with each of its modules: that is not a cycle of ours
    cycles, state = [], {}

    def visit(module, stack):
        state[module] = "open"
        for imported in sorted(graph.get(module, ())):
            if imported in stack[:-1] and imported != "skscratch":
                continue
            if state.get(imported) == "open" and imported != "skscratch" and not module.startswith(imported + "."):
                cycles.append(stack[stack.index(imported):] + [imported] if imported in stack else [module, imported])
            elif imported not in state:
                visit(imported, stack + [imported])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def function_lengths(path):
    """``(name, line, length)`` of every function: its lines from ``def`` to its end, less its docstring.

    (A public function's numpydoc docstring, with its examples, is as long as
    it needs to be; the rule is about the code a reader follows.)
    """
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0]
            docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(
                first.value.value, str)
            length = node.end_lineno - node.lineno + 1
            yield node.name, node.lineno, length - (first.end_lineno - first.lineno + 1 if docstring else 0)


@pytest.mark.parametrize("folder, limit", [("skscratch", 700), ("benchmarks", 600)])
def test_no_module_over_the_size_rule(folder, limit):
    too_long = {str(p.relative_to(ROOT)): n for p in sorted((ROOT / folder).rglob("*.py"))
                if (n := len(p.read_text().splitlines())) > limit}
    assert too_long == {}


def test_no_function_over_80_lines():
    too_long = [f"{p.relative_to(ROOT)}:{line} {name} ({n} lines)" for p in sorted(PACKAGE.rglob("*.py"))
                for name, line, n in function_lengths(p) if n > 80]
    assert too_long == []
