"""The counterexample search: proposes points of the domain where two sides may differ.

Untrusted: it only proposes. A point becomes a counterexample when the kernel certifies the
difference there (:func:`proofs.engine.kernel.certify_difference`).

Where it looks (errors hide at the edges of the domain):
* quantities in (0, 1) (alpha, abar and the ratios abar[t]/abar[M]): a third uniform on
  (0.02, 0.98), a third on a log scale down to 1e-8 (terminal SNR), a third up to 1 - 1e-8;
* positive symbols (sigma, noise_std, ...): log-uniform on (1e-4, 1e2);
* real symbols of unknown sign: every sign pattern in turn, magnitudes log-uniform on (1e-3, 1e3);
* integer symbols (t, T) left free in the generic case: the smallest generic value and the next
  two, then 5, 10, 13, 14, 15, 100, 1000 and 10^4.
Every coordinate is an exact rational (mostly the exact value of a float), so the certificate
evaluates the sides at exactly the point that is reported.
"""
from __future__ import annotations

import itertools
import random

import mpmath
import sympy as sp

POINTS_EQ = 64       # points for an equality
POINTS_GE = 128      # points for an inequality (one-sided: look harder)
CERTIFY_ALWAYS = 4   # points certified even when the 30-digit screen sees no difference
_T_VALUES = (5, 10, 13, 14, 15, 100, 1000, 10_000)


def _exact(v: float) -> sp.Rational:
    """The exact binary value of a float: the reported point is then exactly the certified one."""
    return sp.Rational(float(v))


def _unit(rng: random.Random) -> sp.Rational:
    r = rng.random()
    if r < 1 / 3:
        return _exact(rng.uniform(0.02, 0.98))
    e = rng.uniform(1.0, 8.0)
    small = _exact(10.0 ** -e)
    return small if r < 2 / 3 else 1 - small


def integer_values(low: int) -> list[int]:
    return sorted({low, low + 1, low + 2, *[v for v in _T_VALUES if v >= low]})


def propose_points(free: list, back: dict, rng: random.Random, n: int, int_low: dict | None = None):
    """Yield ``n`` points {symbol: exact value} over the symbols ``free`` (sorted, so the same points
    come every run); ``back`` maps stand-ins to (object, kind) with kind "unit", "positive", or None."""
    int_low = int_low or {}
    reals = [s for s in free if back.get(s, (None, None))[1] is None and not s.is_positive and not s.is_integer]
    patterns = list(itertools.product((1, -1), repeat=min(len(reals), 4))) or [()]
    ints = {s: integer_values(int_low.get(s, 1 if s.is_positive else 0)) for s in free if s.is_integer}
    for i in range(n):
        signs = patterns[i % len(patterns)]
        point = {}
        for s in free:
            kind = back.get(s, (None, None))[1]
            if kind == "unit":
                point[s] = _unit(rng)
            elif s.is_integer:
                values = ints[s]
                point[s] = sp.Integer(values[i % len(values)] if i < 2 * len(values) else rng.choice(values))
            elif kind == "positive" or s.is_positive:
                point[s] = _exact(10.0 ** rng.uniform(-4.0, 2.0))
            else:
                j = reals.index(s) if s in reals else 0
                sign = signs[j] if j < len(signs) else rng.choice((1, -1))
                point[s] = sign * _exact(10.0 ** rng.uniform(-3.0, 3.0))
        yield point


def fast_values(f, args: list, point: dict):
    """Both sides at ``point`` with mpmath at 30 digits (a screen, not a certificate); None where
    undefined."""
    try:
        with mpmath.workdps(30):
            vals = f(*[mpmath.mpf(point[a].p) / point[a].q if point[a].is_Rational else point[a] for a in args])
            out = []
            for v in vals:
                c = mpmath.mpc(v)
                if not (mpmath.isfinite(c.real) and mpmath.isfinite(c.imag)):
                    return None
                out.append(c)
            return out
    except (ZeroDivisionError, ValueError, TypeError, OverflowError, ArithmeticError):
        return None


def differs(va, vb, relation: str) -> bool:
    """A candidate: the sides look different (for ">=": lhs looks below rhs, both real)."""
    scale = max(1, abs(va), abs(vb))
    if relation == ">=":
        if abs(va.imag) > 1e-25 * scale or abs(vb.imag) > 1e-25 * scale:
            return False
        return va.real - vb.real < -1e-20 * scale
    return abs(va - vb) > 1e-20 * scale


__all__ = ["propose_points", "fast_values", "differs", "integer_values", "POINTS_EQ", "POINTS_GE", "CERTIFY_ALWAYS"]
