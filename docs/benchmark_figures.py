"""Figures of the latest benchmark results, drawn when the docs are built.

The numbers are read from the tables under "Latest results" in
``benchmarks/README.md``, the one place where a benchmark run's figures are
published, so the plots cannot disagree with the tables. The performance page
calls the functions below through matplotlib's ``plot`` directive.
"""

import re
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.ticker import FormatStrFormatter, NullFormatter

README = Path(__file__).resolve().parents[1] / "benchmarks" / "README.md"
CONTENDERS = ("skscratch-float32", "torch-float32", "sklearn-float32", "skscratch-float64", "sklearn-float64")
COLOURS = {"skscratch": "tab:blue", "torch": "tab:orange", "sklearn": "tab:green"}


def read_tables(text):
    """Every Markdown table after the ``<!-- results -->`` marker, with the line above it.

    Returns a list of ``(title, rows)``: ``title`` is the nearest heading or
    paragraph line above the table (without ``#`` marks), and each row is a
    dict from the header's cells to the row's cells, as strings.
    """
    if "<!-- results -->" not in text:
        raise ValueError(f"{README}: no '<!-- results -->' marker before the latest results")
    tables, title, header = [], None, None
    for line in text.split("<!-- results -->", 1)[1].splitlines():
        line = line.strip()
        if not line.startswith("|"):
            header = None
            if line:
                title = line.lstrip("#").strip()
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if header is None:
            header = cells
            tables.append((title, []))
        elif not set("".join(cells)) <= set("-: "):  # skip the |---|---:| line
            tables[-1][1].append(dict(zip(header, cells)))
    return tables


def number(cell):
    """The first number in a table cell: ``'1.35'``, ``'0.908×'``, ``'10.12 (19)'``."""
    match = re.search(r"[-+]?\d+(?:\.\d+)?", cell)
    if match is None:
        raise ValueError(f"{README}: no number in the table cell {cell!r}")
    return float(match.group())


def latest():
    """The tables of ``benchmarks/README.md``, read now."""
    return read_tables(README.read_text(encoding="utf-8"))


def training():
    """Seconds per epoch and peak memory of every contender, for each network."""
    networks = [(title, table) for title, table in latest() if "contender" in table[0]]
    fig, axes = plt.subplots(len(networks), 2, figsize=(10, 3.2 * len(networks)), squeeze=False)
    for (time_ax, rss_ax), (network, table) in zip(axes, networks):
        rows = {row["contender"]: row for row in table}
        names = [name for name in CONTENDERS if name in rows]
        colours = [COLOURS[name.split("-")[0]] for name in names]
        for ax, column, unit in ((time_ax, "s/epoch", "s"), (rss_ax, "peak RSS MiB", "MiB")):
            values = [number(rows[name][column]) for name in names]
            bars = ax.barh(names, values, color=colours)
            ax.bar_label(bars, [f"{v:g} {unit}" for v in values], padding=3, fontsize=8)
            ax.invert_yaxis()
            ax.set_xlim(0, max(values) * 1.25)
            ax.set_title(f"{network}, Fashion-MNIST: {column}", fontsize=10)
            ax.grid(axis="x", alpha=0.3)
        rss_ax.set_yticklabels([])
    fig.tight_layout()


def scaling():
    """Seconds per epoch against training samples and against width, skscratch and sklearn."""
    panels = [(title, table, key) for title, table in latest() for key in ("samples", "width") if key in table[0]]
    fig, axes = plt.subplots(1, len(panels), figsize=(10, 3.8), squeeze=False)
    for ax, (title, table, key) in zip(axes[0], panels):
        points = [number(row[key]) for row in table]
        for library, marker in (("skscratch", "o"), ("sklearn", "s")):
            ax.plot(points, [number(row[f"{library} s"]) for row in table], marker=marker,
                    color=COLOURS[library], label=library)
        ax.set(xlabel="training samples" if key == "samples" else "hidden units", ylabel="seconds per epoch")
        if key == "width":
            ax.set(xscale="log", yscale="log")
            ax.set_xticks(points, [f"{p:g}" for p in points])
            ax.set_yticks([0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20])
            ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.autoscale()
        else:  # time per sample is constant if the lines run through the origin
            ax.set(xlim=(0, max(points) * 1.05), ylim=(0, None))
        ax.set_title(title.rstrip(":"), fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
