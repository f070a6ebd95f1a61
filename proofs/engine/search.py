"""Numeric evaluation at points of the domain: the counterexample search."""
from __future__ import annotations

import random

import mpmath
import sympy as sp

from ..symbols import abar, alpha, beta, family
from .operators import Expectation

_DIGITS = 50


def _sample(back: dict, free: set, rng: random.Random) -> dict:
    point = {}
    for s in free:
        kind = back.get(s, (None, None))[1]
        if kind == "unit":
            point[s] = sp.Float(rng.uniform(0.02, 0.98), _DIGITS)
        elif s.is_integer:  # a timestep or a horizon: an integer past the base cases
            point[s] = sp.Integer(rng.randint(2, 12))
        elif kind == "positive" or s.is_positive:
            point[s] = sp.Float(rng.uniform(0.1, 3.0), _DIGITS)
        else:
            point[s] = sp.Float(rng.uniform(-3.0, 3.0), _DIGITS)
    return point


def _user_point(point: dict, back: dict) -> dict:
    """Express a sampled point in the user's symbols, with derived quantities added."""
    out = {}
    for s, v in point.items():
        obj, kind = back.get(s, (s, None))
        out[obj] = v
    derived = {}
    for obj, val in list(out.items()):
        if family(obj) == "alpha":
            derived[beta[obj.indices[0]]] = 1 - val
    changed = True
    while changed:  # abar[k+1] = abar[k] alpha[k+1], as far as the sampled alphas reach
        changed = False
        for obj, val in list(out.items()) + list(derived.items()):
            if family(obj) == "abar":
                nxt, a_next = abar[obj.indices[0] + 1], out.get(alpha[obj.indices[0] + 1])
                if a_next is not None and nxt not in out and nxt not in derived:
                    derived[nxt] = val * a_next
                    changed = True
    out.update(derived)
    return {str(k): float(v) for k, v in sorted(out.items(), key=lambda kv: str(kv[0]))}


_OPAQUE = (Expectation, sp.Integral, sp.Sum, sp.Derivative, sp.core.function.AppliedUndef)


def _opaque_to_symbols(pair: sp.Tuple, back: dict) -> sp.Tuple:
    """Unevaluated terms become generic real numbers for the numeric search (recorded in back)."""
    atoms = [e for e in pair.atoms(*_OPAQUE)]
    rep = {}
    for e in sorted(atoms, key=sp.default_sort_key):
        sym = sp.Symbol(f"[{e}]", real=True)
        rep[e] = sym
        back[sym] = (e, "opaque")
    return pair.xreplace(rep) if rep else pair


def _evalf(e: sp.Expr, point: dict):
    """The value of e at point: an mpmath real or complex number, or None if undefined there."""
    try:
        v = e.xreplace(point).evalf(_DIGITS)
    except (TypeError, ValueError, ZeroDivisionError, ArithmeticError):
        return None
    if not v.is_number or v.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
        return None
    try:
        c = mpmath.mpc(*[mpmath.mpf(str(part)) for part in v.as_real_imag()])
    except (TypeError, ValueError):
        return None
    if not (mpmath.isfinite(c.real) and mpmath.isfinite(c.imag)):
        return None
    return c.real if abs(c.imag) <= mpmath.mpf(10) ** (-_DIGITS + 10) * max(1, abs(c)) else c


def _as_float(v):
    return float(v) if isinstance(v, mpmath.mpf) else None
