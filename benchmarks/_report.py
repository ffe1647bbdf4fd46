"""Where the benchmarks' results go: a JSON report and a Markdown page per run.

Every script writes ``NAME.json`` (all it measured, the machine, the
command line) and ``NAME.md`` (its tables) to ``--out-dir``, by default
``benchmarks/results/`` (not tracked by git), and prints the Markdown.
"""

import json
import shlex
import sys
from pathlib import Path

DEFAULT_OUT_DIR = Path(__file__).resolve().parent / "results"


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


def publish(report, lines, out_dir, name):
    """Write ``report`` and the Markdown ``lines``, ending them with the command; print the Markdown."""
    markdown = "\n".join([*lines, f"Command: `{report['command']}`", ""])
    write_report(report, markdown, out_dir, name)
    print(markdown)
