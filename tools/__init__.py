"""The book's tools: scripts that generate or check things (not part of ``cnnbook``).

Run them from the repository root, as scripts or as modules (``python -m tools.NAME``);
tests import them as ``from tools import NAME``, with the root on ``sys.path``
(pytest's ``pythonpath`` setting in pyproject.toml).
"""
