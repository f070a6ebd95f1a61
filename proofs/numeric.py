"""Numeric evaluation of the proved expressions (one source of truth).

The Monte Carlo checks and the conformance checks never retype a formula: they call
:func:`slot_function` on the SymPy expression that :mod:`proofs` proved (for example
``proofs.IDENTITIES["posterior"].slots["coef_x0"]``) and get a float64 NumPy function of a
schedule and a timestep, built with :func:`sympy.lambdify`.

Symbols are read as in :mod:`proofs.symbols`: ``alpha[t+k]``, ``beta[t+k]``, ``abar[t+k]``
come from the schedule (``abar[0] = 1``), ``sigma[t+k]`` from the ``sigma`` keyword (a callable
of t or an array holding sigma_1..sigma_T), ``noise_std``, ``x`` and ``x_tilde`` from keywords.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np
import sympy as sp

from .symbols import SEQUENCE_NAMES, family, noise_std, t, x, x_tilde

_SCALARS = {"noise_std": noise_std, "x": x, "x_tilde": x_tilde}


def _offset(index) -> int:
    off = sp.expand(index - t)
    if not off.is_Integer:
        raise ValueError(f"index {index} is not t plus an integer")
    return int(off)


@lru_cache(maxsize=512)
def _compile(expr: sp.Expr):
    indexed = sorted(expr.atoms(sp.Indexed), key=sp.default_sort_key)
    table = []  # (base name, offset, dummy)
    for item in indexed:
        if family(item) not in SEQUENCE_NAMES:
            raise ValueError(f"unknown sequence {item.base} in {expr}")
        table.append((family(item), _offset(item.indices[0]), sp.Dummy(str(item))))
    scalars = [(name, sym) for name, sym in _SCALARS.items() if sym in expr.free_symbols]
    other = expr.free_symbols - {s for _, s in scalars} - {t}
    other -= {sym for item in indexed for sym in item.free_symbols}
    if other:
        raise ValueError(f"expression {expr} has symbols that no schedule supplies: {sorted(map(str, other))}")
    replaced = expr.xreplace({item: d for item, (_, _, d) in zip(indexed, table)})
    args = [d for _, _, d in table] + [s for _, s in scalars] + [t]
    fn = sp.lambdify(args, replaced, modules="numpy")
    return fn, table, scalars


def slot_function(expr: sp.Expr) -> Callable[..., np.ndarray]:
    """Return ``f(schedule, t, **extra) -> float64 array`` evaluating ``expr`` (see module doc)."""
    if isinstance(expr, str):
        raise ValueError(f"slot_function got the text {expr!r}: pass a SymPy expression (see proofs.parse_expression)")
    expr = sp.sympify(expr, strict=True)
    fn, table, scalars = _compile(expr)

    def evaluate(schedule, t_values, **extra):
        tt = np.asarray(t_values, dtype=np.int64)
        values = []
        for name, off, _ in table:
            k = tt + off
            if name == "alpha":
                values.append(schedule.alpha(k))
            elif name == "beta":
                values.append(schedule.beta(k))
            elif name == "abar":
                values.append(schedule.alpha_bar(k))
            else:
                values.append(_sigma_values(extra, k))
        for name, _ in scalars:
            if name not in extra:
                raise ValueError(f"expression {expr} needs a value for {name!r}")
            values.append(np.asarray(extra[name], dtype=np.float64))
        out = fn(*values, tt)
        return np.broadcast_to(np.asarray(out, dtype=np.float64), np.broadcast(*values, tt).shape).copy()

    evaluate.expr = expr
    return evaluate


def _sigma_values(extra, k):
    if "sigma" not in extra:
        raise ValueError("this expression uses sigma[t]: pass sigma= (a callable of t or an array of sigma_1..sigma_T)")
    s = extra["sigma"]
    if callable(s):
        return np.asarray(s(k), dtype=np.float64)
    arr = np.asarray(s, dtype=np.float64)
    if np.any(k < 1) or np.any(k > arr.shape[0]):
        raise ValueError(f"sigma is given for t = 1..{arr.shape[0]}, asked for t = {k}")
    return arr[k - 1]


def evaluate(expr: sp.Expr, schedule, t_values, **extra) -> np.ndarray:
    """Evaluate ``expr`` on ``schedule`` at timesteps ``t_values`` (float64)."""
    return slot_function(expr)(schedule, t_values, **extra)


__all__ = ["slot_function", "evaluate"]
