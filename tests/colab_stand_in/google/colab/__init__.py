"""A stand-in for Colab's own ``google.colab`` package, for the Colab-parity tests.

Colab's kernel imports ``google.colab`` before a notebook's first cell runs, and the
book's setup cells (and the widgets) use its presence to tell Colab from elsewhere. The
parity tests put this folder on the kernel's path and import it at kernel start (an
IPython start-up file), so every Colab-only branch of the notebooks runs. It only holds
what the book calls; ``google`` stays a namespace package (no ``google/__init__.py``), so
``google.protobuf`` is still found.
"""

STAND_IN = True
