"""The book's version: written here once.

The package (pyproject.toml reads it through hatch), the release tag ``vX.Y.Z`` and the
setup cell of every notebook (``tools/sync_notebooks.py`` writes it there) all come from
this line. To release: change it, run ``python tools/sync_notebooks.py``, commit, and tag
that commit ``vX.Y.Z`` (CONTRIBUTING.md, "Releasing").
"""

__version__ = "0.1.0"
