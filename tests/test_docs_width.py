"""docs/backprop.rst fits its column, shows the code without docstrings, and names only what exists.

The column. The site's theme is pydata-sphinx-theme, and the page has no left sidebar
(``html_sidebars`` in docs/conf.py). Measured in headless Chromium on the built page (pydata
0.24, a 15 px scrollbar), a code block then holds, in the theme's 14 px monospace at 0.602 em a
character (DejaVu Sans Mono, Menlo: the widest of its font stack)::

    viewport   768   1024   1200   1280 and wider
    chars       81    106     96   102               (68 at 1280 with the left sidebar)

The article is at most 60 em wide; from 1200 px the in-page table of contents takes 17 rem
beside it. ``LIMIT = 88`` characters leaves a margin at every desktop width and the room of a
wider fallback font. A displayed equation renders narrower than its TeX source set as code
(measured on this page: 0.4 to 0.8 times as wide), so each row of an equation is held to the
same number of source characters. A row is what MathJax draws on one line: a paragraph of a
``math`` directive, or a part of it between two TeX line breaks; the paragraph's own line breaks
are only source layout.
"""

import ast
import importlib
import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "backprop.rst"
LIMIT = 88

DIRECTIVE = re.compile(r"^(\s*)\.\. ([\w:-]+)::(?:\s+(.*))?$")
OPTION = re.compile(r"^:([\w-]+):(?:\s+(.*))?$")


def blocks():
    """Every directive and literal block of the page: ``(kind, argument, options, body, line)``.

    ``kind`` is the directive's name, or ``"::"`` for a literal block; ``body`` its content
    lines, dedented; ``line`` the 1-based line of the directive.
    """
    lines = PAGE.read_text().splitlines()
    found = []
    for i, line in enumerate(lines):
        match = DIRECTIVE.match(line)
        if match:
            indent, kind, argument = len(match.group(1)), match.group(2), match.group(3) or ""
        elif line.rstrip().endswith("::") and not line.lstrip().startswith(".."):
            indent, kind, argument = len(line) - len(line.lstrip()), "::", ""
        else:
            continue
        body = []
        for following in lines[i + 1:]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            body.append(following)
        body = textwrap.dedent("\n".join(body)).splitlines()
        options = {}
        while body and not body[0].strip():
            body.pop(0)
        if kind != "::":
            while body and OPTION.match(body[0]):
                name, value = OPTION.match(body.pop(0)).groups()
                options[name] = value
        while body and not body[-1].strip():
            body.pop()
        found.append((kind, argument, options, body, i + 1))
    return found


def literalinclude_reader(argument, options):
    """Sphinx's own reader for a ``literalinclude``, with the options parsed as the directive parses them."""
    code = pytest.importorskip("sphinx.directives.code")
    from sphinx.config import Config

    spec = code.LiteralInclude.option_spec
    parsed = {name: spec[name](value) for name, value in options.items()}
    return code.LiteralIncludeReader(PAGE.parent / argument, parsed, Config())


def included(argument, options):
    """The lines a ``literalinclude`` puts on the page (a missing object or marker raises)."""
    text, _ = literalinclude_reader(argument, options).read()
    return text.splitlines()


def math_rows(body):
    """The rows MathJax draws for a ``math`` directive's content, whitespace collapsed, ``&`` dropped."""
    rows = []
    for paragraph in "\n".join(body).split("\n\n"):
        for row in paragraph.split(r"\\"):
            row = re.sub(r"\\(begin|end)\{\w+\*?\}", "", row).replace("&", "")
            if row.strip():
                rows.append(" ".join(row.split()))
    return rows


def test_every_code_and_equation_line_fits_the_column():
    too_long, n_checked = [], 0
    for kind, argument, options, body, line in blocks():
        if kind == "literalinclude":
            code = included(argument, options)
            shown = [f"{argument} ({options.get('pyobject', '')}): {text}" for text in code]
            widths = [len(text.expandtabs(8)) for text in code]
        elif kind in ("code-block", "code", "sourcecode", "::"):
            shown, widths = body, [len(text.expandtabs(8)) for text in body]
        elif kind == "math":
            rows = math_rows(([argument] if argument else []) + body)
            shown, widths = rows, [len(row) for row in rows]
        else:
            continue
        n_checked += len(widths)
        too_long += [f"docs/backprop.rst:{line}: {width} > {LIMIT}: {text}"
                     for text, width in zip(shown, widths) if width > LIMIT]
    assert n_checked > 100  # the code and the equations were found
    assert not too_long, "\n".join(too_long)


def test_the_column_is_the_one_measured():
    """LIMIT holds for the pydata theme with no left sidebar on the page (at 1280 px it would cost 34 characters)."""
    conf = ast.parse((ROOT / "docs" / "conf.py").read_text())
    settings = {node.targets[0].id: node.value for node in conf.body
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}
    assert ast.literal_eval(settings["html_theme"]) == "pydata_sphinx_theme"
    assert ast.literal_eval(settings["html_sidebars"]).get("backprop") == []


def source_without_docstrings(path, qualname):
    """The lines of ``qualname`` in ``path``, less the docstrings of it and of every function and class in it."""
    lines = path.read_text().splitlines()
    node = ast.parse("\n".join(lines))
    for name in qualname.split("."):
        node = next(child for child in node.body
                    if isinstance(child, (ast.FunctionDef, ast.ClassDef)) and child.name == name)
    docstring_lines = set()
    for inner in ast.walk(node):
        if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and ast.get_docstring(inner):
            docstring_lines.update(range(inner.body[0].lineno, inner.body[0].end_lineno + 1))
    first = min([node.lineno] + [decorator.lineno for decorator in node.decorator_list])
    return [lines[i - 1] for i in range(first, node.end_lineno + 1) if i not in docstring_lines]


def test_included_code_is_the_real_code_without_docstrings():
    """Each excerpt is one unbroken run of its object with the docstrings taken out.

    So a docstring that grows or shrinks under ``:lines: 1, 3-`` fails here, not on the page:
    part of it would show, or a line of code would go missing.
    """
    n_excerpts = 0
    for kind, argument, options, _, line in blocks():
        if kind != "literalinclude":
            continue
        assert "pyobject" in options, f"docs/backprop.rst:{line}: include a function or class (:pyobject:)"
        undented = {name: value for name, value in options.items() if name != "dedent"}
        excerpt = included(argument, undented)
        while excerpt and not excerpt[-1].strip():
            excerpt.pop()
        code = source_without_docstrings(PAGE.parent / argument, options["pyobject"])
        n = len(excerpt)
        runs = [start for start in range(len(code) - n + 1) if code[start:start + n] == excerpt]
        body_starts = len(included(argument, {"pyobject": options["pyobject"]})) - len(code)
        assert runs, (f"docs/backprop.rst:{line}: the excerpt of {options['pyobject']} is not its code "
                      f"without docstrings ({body_starts} docstring lines to skip, e.g. :lines: 1, "
                      f"{body_starts + 2}- where the docstring follows the def line):\n" + "\n".join(excerpt))
        n_excerpts += 1
    assert n_excerpts >= 15


def resolves(name):
    """Whether the dotted name is a module, or an attribute of one (a class's method included)."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attribute in parts[cut:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return False
        return True
    return False


def test_the_page_names_only_what_exists():
    """Every Python name the page refers to imports, and every file it includes or names is there."""
    text = PAGE.read_text()
    role = r":(?:mod|func|class|meth|attr):`(?:[^`<]*<)?~?([^`>]+)>?`"  # the target, also of `title <target>`
    names = re.findall(role, text) + re.findall(r"``(skscratch\.[\w.]+)``", text)
    assert len(names) > 10
    assert [name for name in names if not resolves(name)] == []  # full dotted names, which Sphinx links
    files = re.findall(r"\.\. literalinclude:: (\S+)", text)
    assert [f for f in files if not (PAGE.parent / f).is_file()] == []
    assert [f for f in re.findall(r"``([\w/]+\.py)``", text) if not (ROOT / f).is_file()] == []
    assert not re.search(r"skscratch\._(network|optimizers|activations|losses|base|training|mlp)\b|_adam_step", text)
