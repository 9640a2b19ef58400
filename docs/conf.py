"""Sphinx configuration of tsrnn's documentation: the README as the getting-started page and an
API reference generated from the numpydoc docstrings.

Build (as CI does, warnings are errors): ``python -m sphinx -W --keep-going -b html docs docs/_build/html``
"""

import tsrnn

project = "tsrnn"
author = "The tsrnn developers"
copyright = "2026, The tsrnn developers"
release = version = tsrnn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",  # numpydoc-style sections
    "sphinx.ext.intersphinx",
    "myst_parser",  # the Markdown pages (README, ARCHITECTURE, benchmark results)
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]

autosummary_generate = True
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
    # scikit-learn's generated metadata-routing setters (documented by scikit-learn itself)
    "exclude-members": ",".join(
        f"set_{method}_request" for method in ("fit", "partial_fit", "predict", "predict_proba", "score", "transform")
    ),
}
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the docstrings carry the types, in numpydoc form
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_param = True
napoleon_preprocess_types = False
myst_heading_anchors = 3
# Markdown pages link to repository files (benchmarks/RESULTS.md, tests/...) that are not pages here.
suppress_warnings = ["myst.xref_missing"]

intersphinx_mapping = {}  # no network at build time: references to numpy/pandas stay plain text

html_theme = "alabaster"
html_title = f"tsrnn {release}"
