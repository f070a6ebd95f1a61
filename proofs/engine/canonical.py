"""Canonical forms: the meaning of the symbols, stand-ins for sequence terms, the positivity
oracle, and splitting of logs, radicals and absolute values where the domain allows."""
from __future__ import annotations

import math
from functools import reduce
from typing import Mapping

import sympy as sp

from ..symbols import abar, alpha, family

_UNIT = ("alpha", "abar")  # sequences valued in (0, 1)


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


def meaning_rules(expr: sp.Expr) -> dict:
    """Substitutions that encode the meaning of the symbols (see :mod:`proofs.symbols`)."""
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
        for off, item in items:
            if off != low:
                rules[item] = abar[var + low] * sp.Mul(*[alpha[var + j] for j in range(low + 1, off + 1)])
    return rules


def apply_meaning(expr: sp.Expr) -> sp.Expr:
    for _ in range(3):
        rules = meaning_rules(expr)
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


def is_positive(f: sp.Expr, units: frozenset = frozenset()) -> bool:
    """A sound positivity oracle: True only if f > 0 on the whole domain. Quantities u in (0, 1)
    are written u = 1/(1 + w) with w > 0; a fraction whose expanded numerator and denominator
    are sums of positive terms is positive."""
    if f.is_positive:
        return True
    if isinstance(f, sp.exp):
        return _real(f.args[0])
    if isinstance(f, sp.Pow) and _real(f.exp) and is_positive(f.base, units):
        return True  # b > 0 => b**e > 0 for real e
    if isinstance(f, sp.Mul) and all(is_positive(a, units) for a in f.args):
        return True
    present = units & f.free_symbols
    if not present:
        return False
    g = sp.together(f.xreplace({u: 1 / (1 + sp.Dummy("w", positive=True)) for u in present}))
    n, d = sp.fraction(g)
    n, d = sp.expand(n), sp.expand(d)
    return bool((n.is_positive and d.is_positive) or (n.is_negative and d.is_negative))


def _positive_split(b: sp.Expr, units: frozenset) -> tuple[list, sp.Expr]:
    """Factor b; return ([(g, k), ...] with g > 0 and b = prod g**k * rest, rest)."""
    b = sp.factor(sp.together(b))
    pos, rest = [], sp.Integer(1)
    for f in sp.Mul.make_args(b):
        g, k = (f.base, f.exp) if isinstance(f, sp.Pow) and f.exp.is_Integer else (f, sp.Integer(1))
        if is_positive(g, units):
            pos.append((g, k))
        elif is_positive(-g, units):
            pos.append((-g, k))
            rest *= (-1) ** k
        else:
            rest *= f
    return pos, rest


def _split_logs(expr: sp.Expr, units: frozenset = frozenset()) -> sp.Expr:
    """log(prod g_i**k_i * rest) = sum k_i log g_i + log(rest), only for factors g_i > 0."""
    if not expr.has(sp.log):
        return expr

    def log_factor(g, k):
        if g.is_Rational:  # log of a positive rational: a sum over its prime factors
            fac = {**sp.factorint(g.p), **{q: -e for q, e in sp.factorint(g.q).items()}}
            return sp.Add(*[k * e * sp.log(q) for q, e in fac.items() if q != 1])
        if isinstance(g, sp.exp) and _real(g.args[0]):
            return k * g.args[0]
        if isinstance(g, sp.Pow) and _real(g.exp) and is_positive(g.base, units):
            return k * g.exp * split(sp.log(g.base))  # log(b**e) = e log b for b > 0
        return k * sp.log(g)

    def split(e: sp.log):
        pos, rest = _positive_split(e.args[0], units)
        return sp.Add(*[log_factor(g, k) for g, k in pos]) + (sp.log(rest) if rest != 1 else 0)

    return expr.replace(lambda e: isinstance(e, sp.log), split)


def _canonical_radicals(expr: sp.Expr, units: frozenset = frozenset()) -> sp.Expr:
    """(prod g_i**k_i * rest)**e = prod g_i**(k_i e) * rest**e, only for factors g_i > 0."""

    def fix(p: sp.Pow):
        pos, rest = _positive_split(p.base, units)
        out = sp.Mul(*[sp.Pow(g, k * p.exp) for g, k in pos])
        return out * (sp.Pow(rest, p.exp) if rest != 1 else 1)

    return expr.replace(lambda e: isinstance(e, sp.Pow) and e.exp.is_Rational and not e.exp.is_Integer, fix)


def _reduce_radicals(num: sp.Expr) -> sp.Expr:
    """Replace radicals b**(p/q) by r**p with r**q = b and reduce the polynomial; exact."""
    pows = [p for p in num.atoms(sp.Pow) if p.exp.is_Rational and not p.exp.is_Integer]
    if not pows:
        return num
    by_base: dict = {}
    for p in pows:
        by_base.setdefault(p.base, []).append(p.exp)
    rep, relations = {}, []
    for b, exps in by_base.items():
        L = reduce(lambda a, c: a * c // math.gcd(a, c), [int(e.q) for e in exps], 1)
        r = sp.Dummy("r", positive=True)
        for e in exps:
            rep[sp.Pow(b, e)] = r ** int(e * L)
        relations.append((r, L, b))
    num = sp.together(num.xreplace(rep))
    num = sp.expand(sp.numer(num))
    gens = [r for r, _, _ in relations]
    poly = sp.Poly(num, *gens)
    out = sp.Integer(0)
    for monom, coeff in poly.terms():
        term = coeff
        for (r, L, b), k in zip(relations, monom):
            term *= b ** (k // L) * r ** (k % L)
        out += term
    return sp.expand(out)


def _real(z: sp.Expr) -> bool:
    return not z.has(sp.I) and all(s.is_real for s in z.free_symbols)


def log_of_positive(e: sp.Expr) -> sp.Expr:
    """log of a product of powers and exponentials (a density), split only where sound:
    log(exp(z)) = z for real z, log(b**k) = k log b for b > 0, log(a b) = log a + log b for
    a, b > 0; factors of unknown sign stay together in one log (the engine's positivity oracle
    splits them later where the domain allows)."""
    e = sp.powsimp(e, combine="exp")
    if isinstance(e, sp.exp) and _real(e.args[0]):
        return e.args[0]
    if isinstance(e, sp.Pow) and e.base.is_positive and _real(e.exp):
        return e.exp * log_of_positive(e.base)
    if isinstance(e, sp.Mul):
        known = [f for f in e.args if f.is_positive or (isinstance(f, sp.exp) and _real(f.args[0]))]
        rest = sp.Mul(*[f for f in e.args if f not in known])
        return sp.Add(*[log_of_positive(f) for f in known]) + (sp.log(rest) if rest != 1 else 0)
    return sp.log(e)


def exactly_zero(d: sp.Expr, units: frozenset = frozenset()) -> bool:
    """True only when ``d`` (already in positive symbols) is identically zero. Any failure of
    the algebra (for example an expression SymPy cannot put into polynomial form) is a False."""
    try:
        return _exactly_zero(d, units)
    except Exception:  # noqa: BLE001 - failing to prove is never a proof
        return False


def _resolve_abs(d: sp.Expr, units: frozenset) -> sp.Expr:
    """|f| = f where f > 0 on the domain, -f where f < 0; otherwise left alone."""
    def fix(a: sp.Abs):
        f = a.args[0]
        if is_positive(f, units):
            return f
        if is_positive(-f, units):
            return -f
        return a
    return d.replace(lambda e: isinstance(e, sp.Abs), fix) if d.has(sp.Abs) else d


def _exactly_zero(d: sp.Expr, units: frozenset) -> bool:
    d = _resolve_abs(d, units)
    d = _split_logs(d, units)
    d = _canonical_radicals(d, units)
    if d == 0:
        return True
    # A polynomial in the real variables (x_0, x_t, eps, ...) is zero iff each coefficient is:
    # smaller expressions, checked one by one.
    variables = sorted((s for s in d.free_symbols if not s.is_positive), key=str)
    if variables:
        try:
            poly = sp.Poly(sp.expand(d), *variables)
        except sp.PolynomialError:
            poly = None
        if poly is not None and not any(c.free_symbols & set(variables) for c in poly.coeffs()):
            return all(_rational_zero(c, units) for c in poly.coeffs())
    return _rational_zero(d, units)


def _rational_zero(d: sp.Expr, units: frozenset) -> bool:
    if d == 0:
        return True
    d = sp.together(sp.expand(d))
    num = sp.expand(sp.numer(d))
    if num == 0:
        return True
    num = _canonical_radicals(num, units)
    num = _reduce_radicals(num)
    if num == 0:
        return True
    return sp.expand(sp.cancel(num)) == 0
