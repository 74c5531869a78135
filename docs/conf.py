"""Sphinx configuration of the aiida-grace documentation (built with -W in the test suite)."""

import warnings

import aiida_grace

warnings.filterwarnings("ignore", category=DeprecationWarning)  # aiida's own deprecations, not ours

project = "aiida-grace"
author = "aiida-grace developers"
release = aiida_grace.__version__
extensions = ["myst_parser", "aiida.sphinxext", "sphinx.ext.autodoc", "sphinx.ext.napoleon"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3
exclude_patterns = ["_build"]
html_theme = "alabaster"
nitpicky = False
autodoc_mock_imports = ["tensorpotential", "tensorflow", "pyace"]

# aiida.sphinxext loads a profile to build the port tables: use a throw-away in-memory one.
from aiida import load_profile  # noqa: E402
from aiida.storage.sqlite_temp import SqliteTempBackend  # noqa: E402

load_profile(SqliteTempBackend.create_profile("docs"), allow_switch=True)
