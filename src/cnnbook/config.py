"""Run-wide settings: quick mode, seeds, and the banner that says which mode ran.

Quick mode (``CNNBOOK_QUICK=1``) shrinks epochs and sample sizes so that every
notebook runs in seconds; the tests and the CI build use it. Without it the book
does the real training.
"""

from __future__ import annotations

import os
import random

import numpy as np

QUICK_ENV = "CNNBOOK_QUICK"
_TRUE = {"1", "true", "yes", "on"}


def quick_mode() -> bool:
    """True when ``CNNBOOK_QUICK`` is set to 1/true/yes/on."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in _TRUE


def pick(full, quick):
    """Return ``quick`` in quick mode, ``full`` otherwise (epochs, sample sizes...)."""
    return quick if quick_mode() else full


def set_seed(seed: int = 42) -> None:
    """Seed Python, numpy and (if it is imported) TensorFlow, for repeatable runs."""
    random.seed(seed)
    np.random.seed(seed)
    try:
        import tensorflow as tf
    except ImportError:  # the hand-written chapters do not need TensorFlow
        return
    tf.keras.utils.set_random_seed(seed)


_QUICK_TEXT = (
    "This page ran in <b>quick mode</b> (<code>CNNBOOK_QUICK=1</code>): epochs and "
    "sample sizes were shrunk so that it runs in seconds. Its numbers and plots show "
    "that the code works, not what the models can do. Run it without "
    "<code>CNNBOOK_QUICK</code> for the real results."
)


def mode_banner():
    """An HTML note saying the page ran in quick mode, or ``None`` in full mode.

    Notebooks display it in their setup cell; chapters glue it, so a reader never
    mistakes quick-mode numbers for real ones.
    """
    from IPython.display import HTML

    if not quick_mode():
        return None
    return HTML(
        '<div class="admonition warning cnnbook-quick-mode">'
        '<p class="admonition-title">Quick mode</p>'
        f"<p>{_QUICK_TEXT}</p></div>"
    )


def use_mixed_precision(wanted: bool) -> str:
    """Train in ``mixed_float16`` when ``wanted`` and a GPU is there; else in float32.

    Returns the Keras dtype policy now in force. Mixed precision computes the layers in
    16-bit floats (twice as fast on a GPU's tensor cores, half the memory) and keeps the
    weights in float32; on a CPU it is slower, so it is never switched on there. Build
    the model after this call, with its last layer in float32 (``dtype="float32"``), so
    that the probabilities and the loss keep full precision.
    """
    import keras
    import tensorflow as tf

    if not isinstance(wanted, bool):
        raise ValueError(f"mixed precision is True or False, not {wanted!r}")
    policy = "mixed_float16" if wanted and tf.config.list_physical_devices("GPU") else "float32"
    if wanted and policy == "float32":
        print("Mixed precision needs a GPU: this run trains in float32.")
    keras.mixed_precision.set_global_policy(policy)
    return policy
