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
