"""Operators inside derivations (Gaussian expectations, expectations, sums, integrals) and their
evaluation to the engine's canonical form."""
from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

from . import kernel
from .canonical import _t_offset, positive_on_domain
from .kernel import exactly_zero, is_positive

if TYPE_CHECKING:
    from .derivation import Derivation


class GaussianExpectation(sp.Function):
    """``GaussianExpectation(f, v, m, s2)`` is E[f(V)] for V ~ N(m, s2), f polynomial in v.

    The engine evaluates it exactly from the Gaussian moments
    E[V^n] = m E[V^(n-1)] + (n-1) s2 E[V^(n-2)].
    """

    nargs = 4

    def evaluate(self) -> sp.Expr:
        """The moments, only when the kernel's oracle proves the variance positive (rule
        gaussian_moments); otherwise the expectation stays unevaluated (an opaque term)."""
        f, v, m, s2 = self.args
        if s2.is_nonpositive:
            raise ValueError(f"GaussianExpectation needs a positive variance, got {s2}")
        if not positive_on_domain(s2):
            return self
        kernel.use("gaussian_moments")
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
    if not (is_positive(a) or positive_on_domain(a)):
        raise ValueError(f"gaussian_integral: -{a} is not negative")
    kernel.use("gaussian_integral")
    return c * sp.sqrt(sp.pi / a) * sp.exp(b**2 / (4 * a) + k)


class Expectation(sp.Function):
    """``Expectation(f)``: an expectation over the derivation's random symbols.

    The engine applies linearity (constants, i.e. factors free of the random symbols, come out;
    sums split) and then the derivation's stated ``expectation_rules`` (for example the
    normalisation E_q[p/q] = 1). What remains is compared as an opaque atom.
    """

    nargs = 1


def _derivative(e: sp.Derivative) -> sp.Expr:
    """Shallow doit; differentiating an integral (or a sum of them) under the sign is rule leibniz,
    which needs its hypothesis."""
    if e.expr.has(sp.Integral):
        kernel.use("leibniz", hypothesis="leibniz")
    return e.doit(deep=False)


def _eval_operators(expr: sp.Expr, derivation: "Derivation | None") -> sp.Expr:
    for _ in range(4):  # shallow doit: never let SymPy try to evaluate an Integral it meets
        if not expr.has(sp.Derivative):
            break
        new = expr.replace(lambda e: isinstance(e, sp.Derivative), _derivative)
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
        expr = merge_products(expr)
    return canonical_bound_variables(expr)


_BOUND: dict = {}


def _bound(kind: str, depth: int, pos: int, integer: bool) -> sp.Dummy:
    key = (kind, depth, pos)
    if key not in _BOUND:
        _BOUND[key] = sp.Dummy(f"{kind}{depth}_{pos}", **({"integer": True} if integer else {"real": True}))
    return _BOUND[key]


def canonical_bound_variables(expr: sp.Expr) -> sp.Expr:
    """Rename the bound variables of every Integral and Sum canonically, by nesting depth and position
    (rule bound_variables, alpha-equivalence): int x**2 dx and int z**2 dz become the same term."""
    if not expr.has(sp.Integral, sp.Sum):
        return expr

    def depth(e) -> int:
        inner = [depth(a) for a in e.args if isinstance(a, sp.Basic)]
        own = 1 if isinstance(e, (sp.Integral, sp.Sum)) else 0
        return own + max(inner, default=0)

    def rename(e):
        if not isinstance(e, sp.Basic) or not e.args:
            return e
        args = [rename(a) for a in e.args]
        e = e.func(*args) if args != list(e.args) else e
        if isinstance(e, (sp.Integral, sp.Sum)):
            kind = "s" if isinstance(e, sp.Sum) else "b"
            d = depth(e)
            rep = {}
            for i, lim in enumerate(e.limits):
                var = lim[0]
                rep[var] = _bound(kind, d, i, isinstance(e, sp.Sum))
            if all(k == v for k, v in rep.items()):
                return e
            kernel.use("bound_variables")
            body = e.function.xreplace(rep)
            limits = [(rep[lim[0]], *[b.xreplace(rep) for b in lim[1:]]) for lim in e.limits]
            return e.func(body, *limits)
        return e

    return rename(expr)


def canonical_integrals(expr: sp.Expr) -> sp.Expr:
    """Integrals are linear: split sums, take out factors free of the integration variables,
    and flatten g(y) * Integral(f, x) under Integral(., y) into one Integral(g f, x, y) with the
    limits sorted (Fubini; every integrand here is absolutely integrable, stated per identity)."""

    def lin(I: sp.Integral) -> sp.Expr:
        limits = list(I.limits)
        ivars = {lim[0] for lim in limits}
        out = []
        terms = sp.Add.make_args(sp.expand(I.function))
        finite = all(len(lim) == 3 and all(b.is_number and b.is_finite for b in lim[1:]) for lim in limits)
        if len(terms) > 1 and not (finite and _is_poly(I.function, ivars)):
            kernel.use("linearity", hypothesis="fubini")  # int (f + g) = int f + int g needs both to converge
        for term in terms:
            const, dep = [], []
            for factor in sp.Mul.make_args(term):
                (dep if factor.free_symbols & ivars else const).append(factor)
            if const:
                kernel.use("linearity")
            inner = [f for f in dep if isinstance(f, sp.Integral)]
            these = list(limits)
            body = sp.Mul(*dep)
            if len(inner) == 1:
                rest = sp.Mul(*[f for f in dep if f is not inner[0]])
                if not rest.free_symbols & {lim[0] for lim in inner[0].limits}:
                    kernel.use("fubini", hypothesis="fubini")  # an iterated integral becomes one double integral
                    body = rest * inner[0].function
                    these = list(inner[0].limits) + these
            ordered = _fubini_order(these)
            if ordered != these:
                kernel.use("fubini", hypothesis="fubini")
            out.append(sp.Mul(*const) * _definite(body, ordered))
        return sp.Add(*out)

    return expr.replace(lambda e: isinstance(e, sp.Integral), lin)


def _is_poly(f: sp.Expr, ivars) -> bool:
    try:
        sp.Poly(f, *ivars)
        return True
    except sp.PolynomialError:
        return False


def merge_products(expr: sp.Expr) -> sp.Expr:
    """int f(x) dx * int g(y) dy = int int f(x) g(y) dx dy (Tonelli/Fubini: needs the hypothesis)."""
    def fix(m: sp.Mul):
        ints = [f for f in m.args if isinstance(f, sp.Integral)]
        if len(ints) < 2:
            return m
        varsets = [{lim[0] for lim in i.limits} for i in ints]
        allvars = set().union(*varsets)
        if sum(len(v) for v in varsets) != len(allvars):
            return m  # shared bound names: rename first (not merged)
        for i, I in enumerate(ints):
            others = allvars - varsets[i]
            if I.free_symbols & others or any(sp.Tuple(*lim[1:]).free_symbols & allvars for lim in I.limits):
                return m
        kernel.use("fubini", hypothesis="fubini")
        body = sp.Mul(*[i.function for i in ints])
        limits = [lim for i in ints for lim in i.limits]
        rest = sp.Mul(*[f for f in m.args if not isinstance(f, sp.Integral)])
        return rest * sp.Integral(body, *_fubini_order(limits))
    return expr.replace(lambda e: isinstance(e, sp.Mul) and sum(isinstance(f, sp.Integral) for f in e.args) > 1, fix)


def _definite(body: sp.Expr, limits: list) -> sp.Expr:
    """int_a^b of a polynomial with numeric limits, innermost first, exactly (rule
    definite_integral); anything else stays an Integral."""
    while limits:
        var, *bounds = limits[0]
        if len(bounds) != 2 or not all(b.is_number and b.is_finite for b in bounds):
            break
        try:
            poly = sp.Poly(body, var)
        except sp.PolynomialError:
            break
        if any(c.has(var) for c in poly.coeffs()):
            break
        kernel.use("definite_integral")
        anti = sp.integrate(poly.as_expr(), var)
        body = sp.expand(anti.subs(var, bounds[1]) - anti.subs(var, bounds[0]))
        limits = limits[1:]
    return sp.Integral(body, *limits) if limits else body


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
        if len(parts) > 1:
            kernel.use("linearity", hypothesis="fubini")  # int f + int g = int (f + g) needs both to converge
        integrand = sp.Add(*parts)
        if not exactly_zero(integrand, units):
            out += sp.Integral(integrand, *limits)
    return out


def canonical(expr: sp.Expr) -> sp.Expr:
    """The engine's evaluated form of an expression (derivatives, expectations, sums, integrals):
    use it to state a substitution rule about a term in the form the engine will meet it."""
    return _eval_operators(sp.sympify(expr), None)


def numeric_sum(s: sp.Sum) -> sp.Expr:
    """A sum with integer limits, term by term, with the standard convention: a sum whose upper
    limit is below its lower limit is empty, = 0 (not Karr's convention, which SymPy's doit uses)."""
    f = s.function
    for (k, lo, hi) in reversed(s.limits):
        if hi < lo:
            return sp.Integer(0)
        if hi - lo > 10_000:
            raise ValueError(f"a sum of {hi - lo + 1} terms is too long to expand")
        f = sp.Add(*[f.subs(k, j) for j in range(int(lo), int(hi) + 1)])
    return f


def _normalise_sums(expr: sp.Expr, var: sp.Symbol | None) -> sp.Expr:
    """Finite sums: integer limits are expanded (empty sums are 0); an upper limit var + c with
    c >= 0 and an integer lower limit lo is rewritten as a sum up to var - 1 plus the explicit terms
    var, ..., var + c (rule peel_sum: valid for var >= lo; the derivation checks smaller var as
    boundary cases)."""

    lows = [int(s.limits[0][1]) for s in expr.atoms(sp.Sum) if len(s.limits) == 1 and s.limits[0][1].is_Integer
            and not s.limits[0][2].is_Integer]
    top_lo = max(lows, default=None)

    def peel(s: sp.Sum) -> sp.Expr:
        if all(b.is_Integer for lim in s.limits for b in lim[1:]):
            return numeric_sum(s)
        if len(s.limits) != 1:
            return s
        (k, lo, hi) = s.limits[0]
        f = s.function
        length = sp.expand(hi - lo)
        if length.is_Integer:  # a sum of constant length: empty (= 0), or its terms
            kernel.use("peel_sum")
            return sp.Integer(0) if length < 0 else sp.Add(*[f.subs(k, lo + j) for j in range(int(length) + 1)])
        if lo.is_Integer:
            parsed = _t_offset(hi, None)
            n = parsed[0] if parsed else None
            if n is not None and (n == var or (var is None and n.is_integer)):
                c = parsed[1]
                # the derivation's generic case has n >= lo + max(0, -c): the sum is not empty
                closed = s.doit()
                if not closed.has(sp.Sum, sp.Piecewise):
                    kernel.use("sum_closed_form")
                    return closed
                kernel.use("peel_sum")
                first = sp.Add(*[f.subs(k, j) for j in range(int(lo), top_lo)])  # common lower limit
                head = first + sp.Sum(f, (k, max(int(lo), top_lo), n - 1))
                if c >= 0:
                    return head + sp.Add(*[f.subs(k, n + j) for j in range(c + 1)])
                return head - sp.Add(*[f.subs(k, n + j) for j in range(c + 1, 0)])
        return s

    return expr.replace(lambda e: isinstance(e, sp.Sum), peel)


def _linearise_expectations(expr: sp.Expr, derivation: "Derivation | None") -> sp.Expr:
    rules = dict(derivation.expectation_rules) if derivation else {}
    declared = bool(derivation and (derivation.random or derivation.random_functions))

    def is_random(e):
        # with no random symbols declared, only numbers are known constants under E
        if not declared:
            return not e.is_number
        return derivation.is_random(e)

    def lin(e: Expectation) -> sp.Expr:
        arg = sp.expand(sp.expand_log(e.args[0]))
        out = []
        terms = sp.Add.make_args(arg)
        if len(terms) > 1:
            kernel.use("linearity")
        for term in terms:
            const, rand = [], []
            for factor in sp.Mul.make_args(term):
                (rand if is_random(factor) else const).append(factor)
            c = sp.Mul(*const)
            if not rand:
                kernel.use("random_symbols")
                out.append(c)
                continue
            if const:
                kernel.use("random_symbols")
            atom = Expectation(sp.Mul(*rand))
            if atom in rules:
                kernel.use("given")
                kernel.assume(f"given: {atom} = {rules[atom]}")
            out.append(c * rules.get(atom, atom))
        return sp.Add(*out)

    return expr.replace(lambda e: isinstance(e, Expectation), lin)
