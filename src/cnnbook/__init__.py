"""cnnbook: the helper package of the executable book on convolutional networks.

Each helper lives here once and is taught in full in the lab that introduces it:

- ``cnnbook.config``: quick mode, seeds, the quick-mode banner;
- ``cnnbook.book``: ``glue`` (numbers from a run into the prose), the mode banner;
- ``cnnbook.data``: MNIST, the cats-vs-dogs photos and the kittens photo, from
  ``CNNBOOK_DATA``, the cache, or a checked download;
- ``cnnbook.plots``: image grids, kernels and feature maps, training curves.
"""

from cnnbook.book import announce_mode, glue
from cnnbook.config import pick, quick_mode, set_seed

__all__ = ["announce_mode", "glue", "pick", "quick_mode", "set_seed"]
__version__ = "0.1.0"
