"""Sphinx configuration: pydata theme, numpydoc, autosummary, sphinx-gallery, MathJax (bundled)."""

import os
import sys
from pathlib import Path

import skscratch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))  # benchmark_figures, for the performance page

project = "skscratch"
author = "The skscratch developers"
copyright = "2026, The skscratch developers"  # noqa: A001
release = version = skscratch.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax ships with the site: the maths renders offline too
    "matplotlib.sphinxext.plot_directive",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]
autosummary_generate = True
templates_path = ["_templates"]
# links between the repository's Markdown files (README, benchmarks) point outside the site
suppress_warnings = ["myst.xref_missing"]
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip"]
html_theme = "pydata_sphinx_theme"
# the derivation's page shows code and equations: without the left sidebar (the list of pages the
# header has too) its column holds 102 characters of code at 1280 px, not 68
# (tests/test_docs_width.py); so does "Write your own layer", held to the same 88 characters
html_sidebars = {"backprop": [], "custom_layer": []}
html_title = f"skscratch {release}"

# the performance page's figures (docs/benchmark_figures.py), drawn at build time
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]

# the gallery runs every example (small sizes with SKSCRATCH_QUICK=1, as CI does)
os.environ.setdefault("MPLBACKEND", "Agg")
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
}
