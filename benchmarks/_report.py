"""Where the benchmarks' results go: a JSON report and a Markdown page per run.

Every script writes ``NAME.json`` (all it measured, the machine, the
command line) and ``NAME.md`` (its tables) to ``--out-dir``, by default
``benchmarks/results/`` (not tracked by git), and prints the Markdown.
:func:`publish` puts the header that names where the figures were measured
(``_machine.run_header``: CPU, cores, BLAS and its kernel, environment,
numba and the fused kernels) under the page's title and in the JSON.
"""

import json
import shlex
import sys
from pathlib import Path

from _machine import header_lines, load_average, run_header

DEFAULT_OUT_DIR = Path(__file__).resolve().parent / "results"
# the machine's load when the benchmark started: its scripts import this module first thing
LOAD_AT_START = load_average()


def add_out_dir_argument(parser):
    """The ``--out-dir`` option every benchmark takes."""
    parser.add_argument(
        "--out-dir", type=Path, default=DEFAULT_OUT_DIR,
        help="where to write the JSON and Markdown results (default: benchmarks/results)",
    )  # fmt: skip


def command_line():
    """The command that ran this script, as a user types it: ``python benchmarks/x.py --quick``."""
    return "python " + shlex.join(sys.argv)


def write_report(report, markdown, out_dir, name):
    """Write ``report`` to ``out_dir/name.json`` and ``markdown`` to ``name.md``; return both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / f"{name}.json", out_dir / f"{name}.md"
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    md_path.write_text(markdown)
    return json_path, md_path


def with_header(lines, header, kernels_text=None):
    """The Markdown ``lines`` with the header's bullets under their ``# title`` (at the top without one)."""
    bullets = [*header_lines(header, kernels_text=kernels_text), ""]
    if lines and lines[0].startswith("#"):
        rest = lines[1:]
        blank = rest[:1] == [""]
        return [lines[0], "", *bullets, *rest[1 if blank else 0 :]]
    return [*bullets, *lines]


def publish(report, lines, out_dir, name, kernels_text=None):
    """Write ``report`` and the Markdown ``lines``, with the header that names the machine under
    their title and the command at the end; print the Markdown.

    ``kernels_text`` says what skscratch's fused kernels did where the training
    ran in other processes (this process's own state is reported otherwise).
    """
    report.setdefault("header", run_header(load_average_start=LOAD_AT_START))
    markdown = "\n".join([*with_header(lines, report["header"], kernels_text), f"Command: `{report['command']}`", ""])
    write_report(report, markdown, out_dir, name)
    print(markdown)
