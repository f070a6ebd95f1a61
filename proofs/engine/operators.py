"""Operators inside derivations (Gaussian expectations, expectations, sums, integrals) and their
evaluation to the engine's canonical form."""
from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

from .canonical import _t_offset, exactly_zero, is_positive

if TYPE_CHECKING:
    from .derivation import Derivation


class GaussianExpectation(sp.Function):
    """``GaussianExpectation(f, v, m, s2)`` is E[f(V)] for V ~ N(m, s2), f polynomial in v.

    The engine evaluates it exactly from the Gaussian moments
    E[V^n] = m E[V^(n-1)] + (n-1) s2 E[V^(n-2)].
    """

    nargs = 4

    def evaluate(self) -> sp.Expr:
        f, v, m, s2 = self.args
        if s2.is_nonpositive:
            raise ValueError(f"GaussianExpectation needs a positive variance, got {s2}")
        if sp.expand(f) == 0:
            return sp.Integer(0)
        poly = sp.Poly(sp.expand(f), v)
        if any(not c.free_symbols.isdisjoint({v}) for c in poly.coeffs()):
            raise ValueError(f"GaussianExpectation needs a polynomial in {v}, got {f}")
        moments = [sp.Integer(1), m]
        for n in range(2, poly.degree() + 1):
            moments.append(sp.expand(m * moments[n - 1] + (n - 1) * s2 * moments[n - 2]))
        return sp.expand(sum(c * moments[k[0]] for k, c in zip(poly.monoms(), poly.coeffs())))


def gaussian_integral(f: sp.Expr, v: sp.Symbol) -> sp.Expr:
    """int_R f dv for f = c * exp(-a v^2 + b v + k) with a > 0 and c free of v, by the Gaussian
    integral int exp(-a v^2 + b v) dv = sqrt(pi / a) exp(b^2 / (4 a)) (a standard lemma)."""
    f = sp.powsimp(sp.expand_power_base(f), combine="exp")
    c, e = sp.Integer(1), sp.Integer(0)
    for factor in sp.Mul.make_args(f):
        if isinstance(factor, sp.exp):
            e += factor.args[0]
        elif factor.has(v):
            raise ValueError(f"gaussian_integral: factor {factor} depends on {v} outside an exponential")
        else:
            c *= factor
    q = sp.Poly(sp.expand(e), v)
    if q.degree() != 2:
        raise ValueError(f"gaussian_integral: exponent is not quadratic in {v}")
    a, b, k = -q.coeff_monomial(v**2), q.coeff_monomial(v), q.coeff_monomial(1)
    if not is_positive(a):
        raise ValueError(f"gaussian_integral: -{a} is not negative")
    return c * sp.sqrt(sp.pi / a) * sp.exp(b**2 / (4 * a) + k)


class Expectation(sp.Function):
    """``Expectation(f)``: an expectation over the derivation's random symbols.

    The engine applies linearity (constants, i.e. factors free of the random symbols, come out;
    sums split) and then the derivation's stated ``expectation_rules`` (for example the
    normalisation E_q[p/q] = 1). What remains is compared as an opaque atom.
    """

    nargs = 1


def _eval_operators(expr: sp.Expr, derivation: "Derivation | None") -> sp.Expr:
    for _ in range(4):  # shallow doit: never let SymPy try to evaluate an Integral it meets
        if not expr.has(sp.Derivative):
            break
        new = expr.replace(lambda e: isinstance(e, sp.Derivative), lambda e: e.doit(deep=False))
        if new == expr:
            break
        expr = new
    if expr.has(GaussianExpectation):
        expr = expr.replace(lambda e: isinstance(e, GaussianExpectation), lambda e: e.evaluate())
    if expr.has(sp.Sum):
        expr = _normalise_sums(expr, derivation.sum_var if derivation else None)
    if expr.has(Expectation):
        expr = _linearise_expectations(expr, derivation)
    if expr.has(sp.Integral):
        expr = canonical_integrals(expr)
    return expr


def canonical_integrals(expr: sp.Expr) -> sp.Expr:
    """Integrals are linear: split sums, take out factors free of the integration variables,
    and flatten g(y) * Integral(f, x) under Integral(., y) into one Integral(g f, x, y) with the
    limits sorted (Fubini; every integrand here is absolutely integrable, stated per identity)."""

    def lin(I: sp.Integral) -> sp.Expr:
        limits = list(I.limits)
        ivars = {lim[0] for lim in limits}
        out = []
        for term in sp.Add.make_args(sp.expand(I.function)):
            const, dep = [], []
            for factor in sp.Mul.make_args(term):
                (dep if factor.free_symbols & ivars else const).append(factor)
            inner = [f for f in dep if isinstance(f, sp.Integral)]
            these = list(limits)
            body = sp.Mul(*dep)
            if len(inner) == 1:
                rest = sp.Mul(*[f for f in dep if f is not inner[0]])
                if not rest.free_symbols & {lim[0] for lim in inner[0].limits}:
                    body = rest * inner[0].function
                    these = list(inner[0].limits) + these
            out.append(sp.Mul(*const) * sp.Integral(body, *_fubini_order(these)))
        return sp.Add(*out)

    return expr.replace(lambda e: isinstance(e, sp.Integral), lin)


def _fubini_order(limits: list) -> list:
    """Sort the limits by variable name (Fubini) only when every bound is free of every
    integration variable; dependent bounds keep their order of integration."""
    ivars = {lim[0] for lim in limits}
    if any(sp.Tuple(*lim[1:]).free_symbols & ivars for lim in limits):
        return list(limits)
    return sorted(limits, key=lambda lim: str(lim[0]))


def _pointwise(d: sp.Expr, derivation: "Derivation") -> sp.Expr:
    """If d = sum_i c_i E[h_i] + c_0 with constants c_i, then d = E[sum_i c_i h_i + c_0] and
    d >= 0 follows from the integrand being >= 0 (E is linear and monotone): return the integrand."""
    atoms = sorted(d.atoms(Expectation), key=sp.default_sort_key)
    if not atoms:
        return d
    zs = [sp.Dummy("z") for _ in atoms]
    lin = sp.expand(d.xreplace(dict(zip(atoms, zs))))
    try:
        poly = sp.Poly(lin, *zs)
    except sp.PolynomialError:
        return d
    if poly.total_degree() > 1 or any(derivation.is_random(c) for c in poly.coeffs()):
        return d
    return lin.xreplace({z: a.args[0] for z, a in zip(zs, atoms)})


def _merge_integrals(d: sp.Expr, units: frozenset) -> sp.Expr:
    """sum_i c_i Integral(f_i, L) -> Integral(sum_i c_i f_i, L) per set of limits L; a group whose
    combined integrand is exactly zero vanishes (equal integrands give equal integrals)."""
    if not d.has(sp.Integral):
        return d
    groups: dict = {}
    rest = []
    for term in sp.Add.make_args(sp.expand(d)):
        ints = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.Integral)]
        if len(ints) != 1:
            rest.append(term)
            continue
        c = sp.Mul(*[f for f in sp.Mul.make_args(term) if f is not ints[0]])
        if c.free_symbols & {lim[0] for lim in ints[0].limits}:  # would capture a free variable
            rest.append(term)
            continue
        groups.setdefault(ints[0].limits, []).append(c * ints[0].function)
    out = sp.Add(*rest)
    for limits, parts in groups.items():
        integrand = sp.Add(*parts)
        if not exactly_zero(integrand, units):
            out += sp.Integral(integrand, *limits)
    return out


def canonical(expr: sp.Expr) -> sp.Expr:
    """The engine's evaluated form of an expression (derivatives, expectations, sums, integrals):
    use it to state a substitution rule about a term in the form the engine will meet it."""
    return _eval_operators(sp.sympify(expr), None)


def _normalise_sums(expr: sp.Expr, var: sp.Symbol | None) -> sp.Expr:
    """Finite sums: numeric limits are expanded; an upper limit var + c is rewritten as a sum
    up to var - 1 plus the explicit terms var, ..., var + c (Karr's convention for empty sums)."""

    def peel(s: sp.Sum) -> sp.Expr:
        if len(s.limits) != 1:
            return s.doit() if all(b.is_Integer for lim in s.limits for b in lim[1:]) else s
        (k, lo, hi) = s.limits[0]
        f = s.function
        if lo.is_Integer and hi.is_Integer:
            return s.doit()
        if var is not None:
            parsed = _t_offset(hi, None)
            if parsed and parsed[0] == var and parsed[1] >= 0:
                c = parsed[1]
                head = sp.Sum(f, (k, lo, var - 1))
                return head + sp.Add(*[f.subs(k, var + j) for j in range(c + 1)])
        return s

    return expr.replace(lambda e: isinstance(e, sp.Sum), peel)


def _linearise_expectations(expr: sp.Expr, derivation: "Derivation | None") -> sp.Expr:
    rules = dict(derivation.expectation_rules) if derivation else {}

    def is_random(e):
        return derivation.is_random(e) if derivation else False

    def lin(e: Expectation) -> sp.Expr:
        arg = sp.expand(sp.expand_log(e.args[0]))
        out = []
        for term in sp.Add.make_args(arg):
            const, rand = [], []
            for factor in sp.Mul.make_args(term):
                (rand if is_random(factor) else const).append(factor)
            c = sp.Mul(*const)
            if not rand:
                out.append(c)
                continue
            atom = Expectation(sp.Mul(*rand))
            out.append(c * rules.get(atom, atom))
        return sp.Add(*out)

    return expr.replace(lambda e: isinstance(e, Expectation), lin)
