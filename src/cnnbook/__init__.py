"""cnnbook: the helper package of the executable book on convolutional networks.

Each helper lives here once and is taught in full in the lab that introduces it:

- ``cnnbook.config``: quick mode and seeds;
- ``cnnbook.book``: ``glue`` (numbers from a run into the prose), the quick-mode banner;
- ``cnnbook.data``: MNIST, the cats-vs-dogs photos and the kittens photo, from
  ``CNNBOOK_DATA``, the cache, or a checked download;
- ``cnnbook.plots``: image grids, kernels and feature maps, training curves;
- ``cnnbook.ops``: convolution and max pooling by hand, matching TensorFlow;
- ``cnnbook.timing``: how fast those convolutions are, next to TensorFlow (benchmarks);
- ``cnnbook.checks``: the argument checks the modules share;
- ``cnnbook.kernels``: the named 3x3 kernels (edges, Sobel, blur, sharpen, identity);
- ``cnnbook.widgets``: kernel sliders (ipywidgets), the in-browser kernel playground and
  the model explorer (``cnnbook.explorer`` carries a Keras model into the page);
- ``cnnbook.mnist``: preprocessing, the MNIST convnet, training, looking inside;
- ``cnnbook.photos``: checked photo folders and the streaming tf.data pipeline;
- ``cnnbook.ladder`` and ``cnnbook.metrics``: the cats-vs-dogs rungs and their scores,
  and the confusion matrix of the digits.

Modules import only downwards (checks, config < book, data < ops, kernels, metrics <
timing, plots, widgets, mnist, photos < ladder); nothing here imports a notebook, a
test or a tool.
"""

from cnnbook._version import __version__
from cnnbook.book import announce_mode, glue
from cnnbook.config import pick, quick_mode, set_seed, use_mixed_precision

__all__ = [
    "__version__",
    "announce_mode",
    "glue",
    "pick",
    "quick_mode",
    "set_seed",
    "use_mixed_precision",
]
