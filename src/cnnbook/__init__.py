"""cnnbook: the helper package of the executable book on convolutional networks.

Each helper lives here once and is taught in full in the lab that introduces it:

- ``cnnbook.config``: quick mode, seeds, the quick-mode banner;
- ``cnnbook.book``: ``glue`` (numbers from a run into the prose), the mode banner;
- ``cnnbook.data``: MNIST, the cats-vs-dogs photos and the kittens photo, from
  ``CNNBOOK_DATA``, the cache, or a checked download;
- ``cnnbook.plots``: image grids, kernels and feature maps, training curves;
- ``cnnbook.ops``: convolution and max pooling by hand, matching TensorFlow;
- ``cnnbook.kernels``: the named 3x3 kernels (edges, Sobel, blur, sharpen, identity);
- ``cnnbook.widgets``: kernel sliders (ipywidgets), the in-browser kernel playground and
  the model explorer (``cnnbook.explorer`` carries a Keras model into the page);
- ``cnnbook.mnist``: preprocessing, the MNIST convnet, training, looking inside;
- ``cnnbook.photos``: checked photo folders and the streaming tf.data pipeline;
- ``cnnbook.ladder`` and ``cnnbook.metrics``: the cats-vs-dogs rungs and their scores.

Modules import only downwards (config, data < ops, kernels < plots, widgets, mnist,
photos < ladder); nothing here imports a notebook, a test or a tool.
"""

from cnnbook.book import announce_mode, glue
from cnnbook.config import pick, quick_mode, set_seed

__all__ = ["announce_mode", "glue", "pick", "quick_mode", "set_seed"]
__version__ = "0.1.0"
