"""Argument checks shared by the package: one wording for one mistake."""

from __future__ import annotations

import numpy as np


def check_positive_int(value: object, name: str, what: str = "") -> int:
    """``value`` as an ``int`` if it is a whole number >= 1; a ``ValueError`` naming it if not.

    ``bool`` is refused although Python counts it as an int (``True`` is no stride), and so
    are floats, even 2.0: a count is written as a whole number. ``what`` says in words what
    the number counts, for the message.
    """
    about = f" ({what})" if what else ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        # ValueError, not TypeError: every bad argument in this package is a ValueError.
        raise ValueError(  # noqa: TRY004
            f"{name} must be a positive integer, a whole number >= 1{about}; got {value!r}."
        )
    if value < 1:
        raise ValueError(f"{name} must be >= 1{about}, a positive integer; got {value}.")
    return int(value)
