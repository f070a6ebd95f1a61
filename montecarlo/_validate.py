"""Argument checks shared by the Monte Carlo layer: one wording per kind of bad value.

Each check returns the value converted (``int``, ``float``) or raises ``ValueError`` with one line
that names the argument and the value, e.g. ``chunk_size must be a positive integer, got 0``.
``bool`` is never an integer here (``True`` is not a sample size). Pure Python and NumPy types
(``numbers.Integral``, ``numbers.Real``): importing this module loads neither torch nor SymPy.
The argparse types of the command line (:mod:`diffusion_proofs.options`) word their messages the
same way but parse text.
"""
from __future__ import annotations

import math
from numbers import Integral, Real


def _is_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def integer(value, name: str, *, least: int | None = None, most: int | None = None, why: str = "") -> int:
    """``value`` as an int, checked ``least <= value <= most`` (either bound optional).

    The message says the bound: "n must be an integer >= 2, got 1"; ``why`` is appended to the
    requirement (e.g. " (its z tests are asymptotic)")."""
    ok = _is_int(value) and (least is None or value >= least) and (most is None or value <= most)
    if not ok:
        if least is not None and most is not None:
            need = f"an integer in {least}..{most}"
        elif least is not None:
            need = f"an integer >= {least}"
        elif most is not None:
            need = f"an integer <= {most}"
        else:
            need = "an integer"
        raise ValueError(f"{name} must be {need}{why}, got {value!r}")
    return int(value)


def positive_int(value, name: str) -> int:
    """An integer >= 1 (a size, a count): "chunk_size must be a positive integer, got 0"."""
    if not _is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def non_negative_int(value, name: str) -> int:
    """An integer >= 0 (a seed, a stream): "seed must be a non-negative integer, got -1"."""
    if not _is_int(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def probability(value, name: str = "alpha") -> float:
    """A number strictly between 0 and 1 (a false-alarm rate alpha, a power): "alpha must be in (0, 1), got 2"."""
    if not isinstance(value, Real) or isinstance(value, bool) or not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name} must be in (0, 1), got {value!r}")
    return float(value)


def positive_number(value, name: str) -> float:
    """A finite number > 0 (an effect size, a scale): "effect must be a positive finite number, got 0"."""
    if not isinstance(value, Real) or isinstance(value, bool) or not (math.isfinite(float(value)) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


__all__ = ["integer", "positive_int", "non_negative_int", "probability", "positive_number"]
