"""Sphinx configuration for the dgkeras documentation."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "dgkeras"
author = "The dgkeras authors"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
napoleon_google_docstring = False
napoleon_numpy_docstring = True
autodoc_member_order = "bysource"
exclude_patterns = ["_build"]
html_theme = "alabaster"
