"""Run-wide settings: quick mode and seeds (the banner that says so is in ``cnnbook.book``).

Quick mode (``CNNBOOK_QUICK=1``) shrinks epochs and sample sizes so that every
notebook runs in seconds; the tests and the CI build use it. Without it the book
does the real training.
"""

from __future__ import annotations

import os
import random
from typing import TypeVar

import numpy as np

T = TypeVar("T")

QUICK_ENV = "CNNBOOK_QUICK"
_TRUE = {"1", "true", "yes", "on"}


def quick_mode() -> bool:
    """True when ``CNNBOOK_QUICK`` is set to 1/true/yes/on."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in _TRUE


def pick(full: T, quick: T) -> T:
    """Return ``quick`` in quick mode, ``full`` otherwise (epochs, sample sizes...)."""
    return quick if quick_mode() else full


def set_seed(seed: int = 42) -> None:
    """Seed Python, numpy and (if it is imported) TensorFlow, for repeatable runs."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002  (the legacy global generator some libraries use)
    try:
        import tensorflow as tf
    except ImportError:  # the hand-written chapters do not need TensorFlow
        return
    tf.keras.utils.set_random_seed(seed)


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
