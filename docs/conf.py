"""Sphinx configuration of skebm's documentation (``sphinx-build -W docs docs/_build``).

The API reference lists every name of ``skebm.__all__``: ``api.rst`` is
written from it at each build. The gallery runs ``examples/plot_*.py`` with
``SKEBM_EXAMPLE_QUICK=1`` unless that variable is set (``=0`` for the full
settings). No network is used: intersphinx is off.
"""

import inspect
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("SKEBM_EXAMPLE_QUICK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import skebm  # noqa: E402

project = "skebm"
author = "the skebm developers"
copyright = "the skebm developers"
release = version = skebm.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "**.ipynb_checkpoints"]
html_theme = "pydata_sphinx_theme"
html_title = f"skebm {version}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_static_path = []

autosummary_generate = True
# skebm's own members and those of its bases; not scikit-learn's (their
# docstrings point into scikit-learn's site, and intersphinx is off)
autodoc_default_options = {
    "members": True,
    "inherited-members": (
        "BaseEstimator,TransformerMixin,ClassifierMixin,"
        "ClassNamePrefixFeaturesOutMixin,_SetOutputMixin,_MetadataRequester"
    ),
    "exclude-members": ",".join(
        f"set_{m}_request"
        for m in (
            "fit",
            "partial_fit",
            "score",
            "transform",
            "predict",
            "score_samples",
        )
    ),
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "doc_module": ("skebm",),
    "reference_url": {"skebm": None},
    "backreferences_dir": None,
}


def _api_rst():
    """The API reference page, one autosummary entry per name of __all__."""
    groups = {"Estimators": [], "Functions": [], "Other classes": []}
    for name in skebm.__all__:
        obj = getattr(skebm, name)
        if inspect.isclass(obj) and hasattr(obj, "get_params"):
            groups["Estimators"].append(name)
        elif inspect.isclass(obj):
            groups["Other classes"].append(name)
        else:
            groups["Functions"].append(name)
    lines = [
        ".. Written by conf.py from skebm.__all__ at every build; do not edit.",
        "",
        "API reference",
        "=============",
        "",
        ".. currentmodule:: skebm",
        "",
    ]
    for title, names in groups.items():
        if not names:
            continue
        template = "class.rst" if title != "Functions" else "function.rst"
        lines += [
            title,
            "-" * len(title),
            "",
            ".. autosummary::",
            "   :toctree: generated/",
        ]
        lines += [f"   :template: {template}", "", *(f"   {n}" for n in names), ""]
    text = "\n".join(lines)
    path = HERE / "api.rst"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


_api_rst()
