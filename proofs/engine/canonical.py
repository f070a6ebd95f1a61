"""Canonical forms: the meaning of the symbols and stand-ins for sequence terms.

The rewrites that need side conditions (splitting logs, radicals and absolute values, the
positivity oracle, the zero test) live in the trusted :mod:`proofs.engine.kernel`; this module
only applies definitions (rule ``meaning``) and replaces sequence terms by stand-in symbols
carrying their stated range (rule ``unit_coordinates``)."""
from __future__ import annotations

from typing import Mapping

import sympy as sp

from ..symbols import abar, alpha, family
from . import kernel

_UNIT = ("alpha", "abar", "abar_ratio")  # sequences valued in (0, 1)

#: abar_ratio[n, M] = abar[n] / abar[M] for n > M: in (0, 1), independent of alpha_1..alpha_M.
abar_ratio = sp.IndexedBase("abar_ratio", positive=True)


def _t_offset(index: sp.Expr, tvar: sp.Symbol | None) -> tuple[sp.Symbol | None, int] | None:
    index = sp.expand(index)
    if index.is_Integer:
        return None, int(index)
    syms = index.free_symbols
    if len(syms) != 1:
        return None
    (s,) = syms
    off = sp.expand(index - s)
    if not off.is_Integer:
        return None
    return s, int(off)


def meaning_rules(expr: sp.Expr, generic: bool = False) -> dict:
    """Substitutions that encode the meaning of the symbols (see :mod:`proofs.symbols`).

    ``generic``: every integer symbol is large enough that each sequence term has index >= 1 and,
    when integer-indexed terms (alpha[1], abar[3]) appear beside t-indexed ones, the t-indexed
    abar lies past them: abar[t + low] = abar[M] * abar_ratio[t + low, M] with the ratio in (0, 1)
    (so that alpha[1] >= abar[t] is built in and sampled points are real schedules)."""
    rules: dict = {}
    for item in expr.atoms(sp.Indexed):
        if family(item) == "beta":
            rules[item] = 1 - alpha[item.indices[0]]
    expr = expr.xreplace(rules) if rules else expr
    groups: dict = {}
    alphas: dict = {}
    for item in expr.atoms(sp.Indexed):
        parsed = _t_offset(item.indices[0], None)
        if parsed is None:
            continue
        var, off = parsed
        if family(item) == "abar":
            groups.setdefault(var, []).append((off, item))
        elif family(item) == "alpha":
            alphas.setdefault(var, set()).add(off)
    fixed = [off for off, _ in groups.get(None, [])] + list(alphas.get(None, ()))
    top_fixed = max(fixed, default=0)
    for var, items in groups.items():
        if var is None:
            for off, item in items:
                if off < 0:
                    raise ValueError(f"abar index {off} is negative")
                rules[item] = sp.Mul(*[alpha[j] for j in range(1, off + 1)])
            continue
        # the lowest abar, or the abar just before the lowest alpha it spans: then every abar and
        # alpha left is an independent coordinate of the domain (abar_{k} <= alpha_{k} is built in)
        top = max(off for off, _ in items)
        low = min([off for off, _ in items] + [a - 1 for a in alphas.get(var, ()) if a <= top])
        base = abar[var + low]
        if generic and top_fixed > 0:
            base = sp.Mul(*[alpha[j] for j in range(1, top_fixed + 1)]) * abar_ratio[var + low, top_fixed]
            rules[abar[var + low]] = base
        for off, item in items:
            if off != low:
                rules[item] = base * sp.Mul(*[alpha[var + j] for j in range(low + 1, off + 1)])
    return rules


def apply_meaning(expr: sp.Expr, generic: bool = False) -> sp.Expr:
    for _ in range(3):
        rules = meaning_rules(expr, generic)
        if not rules:
            break
        expr = expr.xreplace(rules)
    return expr




_STAND_INS: dict = {}  # Indexed -> Dummy, the same one every time (no clash with user symbols)


def _stand_in(item: sp.Indexed) -> tuple[sp.Dummy, str | None]:
    """The Dummy that stands for ``item``: positive for the sequences of proofs.symbols
    (alpha, abar in (0, 1)); any other sequence keeps only what its base declares (real or not)."""
    fam = family(item)
    kind = "unit" if fam in _UNIT else "positive" if fam in ("beta", "sigma") else None
    if item not in _STAND_INS:
        name = str(item).replace(" ", "")
        assumptions = {"positive": True} if kind else ({"real": True} if item.is_real else {})
        _STAND_INS[item] = sp.Dummy(name, **assumptions)
    return _STAND_INS[item], kind


def _positive_symbols(expr: sp.Expr, domains: Mapping) -> tuple[sp.Expr, dict]:
    """Replace Indexed objects by stand-in symbols (positive for the known sequences); remember
    which lie in (0, 1)."""
    back: dict = {}
    rep: dict = {}
    for item in sorted(expr.atoms(sp.Indexed), key=sp.default_sort_key):
        sym, kind = _stand_in(item)
        rep[item] = sym
        back[sym] = (item, kind)
    for sym, dom in domains.items():
        if dom == "unit" and sym in expr.free_symbols:
            back[sym] = (sym, "unit")
    return expr.xreplace(rep), back


def _units(back: Mapping) -> frozenset:
    return frozenset(s for s, (_, kind) in back.items() if kind == "unit")


def positive_on_domain(expr: sp.Expr) -> bool:
    """The kernel's positivity oracle on an expression in the user's symbols (sequence terms in
    their stated ranges)."""
    c, back = _positive_symbols(apply_meaning(sp.sympify(expr)), {})
    return kernel.is_positive(c, _units(back))
