"""The derivation engine: chains of expressions, each step machine-checked.

A :class:`Derivation` is a chain ``e_0 (rel_1) e_1 (rel_2) e_2 ...`` where each relation is
``=`` (or ``>=`` for a bound) and each step carries its reason. :meth:`Derivation.check`
verifies every adjacent pair and returns one :class:`StepResult` per step:

* ``PROVED``: exact symbolic equality (or a proved inequality) under the stated domain.
* ``NUMERIC``: only agreement at random 50-digit points of the domain. Labelled as such and
  never counted as proved.
* ``REFUTED``: a point of the domain where the two sides differ, with both values.

Deciding equality, without blind ``simplify``:

1. Evaluate derivatives and the expectation operators (:class:`GaussianExpectation` by Gaussian
   moments, :class:`Expectation` by linearity and stated rules); normalise finite sums.
2. Apply the step's substitutions (hypotheses, lemmas) and the meaning of the symbols:
   ``beta[k] -> 1 - alpha[k]``, ``abar[t+k] -> abar[t+m] * alpha[t+m+1] ... alpha[t+k]``
   (the recurrence; never an unevaluated ``Product``), ``abar[0] -> 1``.
3. Replace every quantity in (0, 1) (alpha, abar) by ``1/(1 + w)`` with ``w > 0``: the domain
   becomes a positivity assumption SymPy itself understands, so square roots and logarithms of
   products split only where that is sound (``sqrt(x**2)`` of a real ``x`` stays ``|x|``).
4. Put the difference over one denominator, replace each radical ``b**(1/n)`` by a symbol ``r``
   with ``r**n = b`` and reduce; a zero remainder is a proof.

Gaussian densities are compared in the log domain (``log_domain=True``): a product of Gaussian
densities is an identity that ``simplify(lhs - rhs)`` fails to reach, while the log of each side
is a polynomial in the variables plus logs of positive factors.

An :class:`Induction` proves a statement for every t >= 1 (or every T): it builds the base case
and the inductive step as derivations whose first and last expressions the engine itself forms
from the recurrence and the closed form, so a fully PROVED induction is a proof for all t.
"""
from __future__ import annotations

import enum
import math
import random
import time
from dataclasses import dataclass, field
from functools import reduce
from typing import Callable, Iterable, Mapping, Sequence

import mpmath
import sympy as sp

from .symbols import abar, alpha, beta, family, sigma

# ---------------------------------------------------------------------------------------------
# verdicts and results


def as_expr(e) -> sp.Basic:
    """A SymPy object from a SymPy object or a number; text is refused (it would be eval'd by
    sympify): parse it with :func:`proofs.parse.parse_expression`."""
    if isinstance(e, str):
        raise ValueError(f"got the text {e!r}: build a SymPy expression or use proofs.parse_expression")
    return sp.sympify(e, strict=True)


class Verdict(str, enum.Enum):
    PROVED = "PROVED"
    NUMERIC = "NUMERIC"
    REFUTED = "REFUTED"

    @staticmethod
    def worst(verdicts: Iterable["Verdict"]) -> "Verdict":
        order = [Verdict.REFUTED, Verdict.NUMERIC, Verdict.PROVED]
        verdicts = list(verdicts)
        for v in order:
            if v in verdicts:
                return v
        return Verdict.PROVED


@dataclass
class Step:
    """One link of a chain: ``expr`` follows from the previous expression by ``reason``.

    ``relation`` is ``"="`` or ``">="`` (previous >= this). ``given`` are substitutions the step
    uses (an inductive hypothesis, Bayes' rule, a lemma), applied to both sides of this link.
    ``positive_change`` (for ``>=``) is an optional change of variables ``{old: new}`` with a
    single new positive variable used to prove the inequality by convexity.
    """

    expr: sp.Expr
    reason: str
    relation: str = "="
    given: Mapping = field(default_factory=dict)
    positive_change: Mapping | None = None

    def __post_init__(self):
        if self.relation not in ("=", ">="):
            raise ValueError(f"Step relation must be '=' or '>=', got {self.relation!r}")


@dataclass
class StepResult:
    index: int
    reason: str
    relation: str
    verdict: Verdict
    method: str
    seconds: float
    lhs: sp.Expr
    rhs: sp.Expr
    counterexample: dict | None = None
    lhs_value: float | None = None
    rhs_value: float | None = None

    def to_dict(self) -> dict:
        return {
            "index": self.index,
            "reason": self.reason,
            "relation": self.relation,
            "verdict": self.verdict.value,
            "method": self.method,
            "seconds": round(self.seconds, 4),
            "lhs": sp.latex(self.lhs),
            "rhs": sp.latex(self.rhs),
            "counterexample": self.counterexample,
            "lhs_value": self.lhs_value,
            "rhs_value": self.rhs_value,
        }


@dataclass
class DerivationResult:
    title: str
    assumptions: str
    steps: list[StepResult]
    seconds: float

    @property
    def verdict(self) -> Verdict:
        return Verdict.worst(s.verdict for s in self.steps)

    @property
    def failing(self) -> StepResult | None:
        return next((s for s in self.steps if s.verdict is not Verdict.PROVED), None)

    def to_dict(self) -> dict:
        return {
            "title": self.title,
            "assumptions": self.assumptions,
            "verdict": self.verdict.value,
            "seconds": round(self.seconds, 4),
            "steps": [s.to_dict() for s in self.steps],
        }


# ---------------------------------------------------------------------------------------------
# operators that appear inside derivations


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


# ---------------------------------------------------------------------------------------------
# canonical form

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


@dataclass
class _Canon:
    """An expression in positive symbols, with the map back to the user's symbols."""

    expr: sp.Expr
    back: dict  # positive symbol -> (user object, kind)


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


# ---------------------------------------------------------------------------------------------
# numeric evaluation at random points of the domain

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


# ---------------------------------------------------------------------------------------------
# derivations


@dataclass
class Derivation:
    """A chain of steps under stated assumptions. ``steps[0].reason`` describes the start."""

    title: str
    steps: Sequence[Step]
    assumptions: str = "0 < alpha[k] < 1, abar[k] = abar[k-1] alpha[k], abar[0] = 1, sigma[k] > 0"
    log_domain: bool = False
    given: Mapping = field(default_factory=dict)
    domains: Mapping = field(default_factory=dict)
    random: tuple = ()
    random_functions: tuple = ()
    expectation_rules: Mapping = field(default_factory=dict)
    sum_var: sp.Symbol | None = None
    points: int = 6
    seed: int = 20240601

    def is_random(self, e: sp.Expr) -> bool:
        """Does e depend on a random symbol or a random function of this derivation?"""
        if e.free_symbols & set(self.random):
            return True
        return any(a.func.__name__ in self.random_functions
                   for a in e.atoms(sp.core.function.AppliedUndef))

    # -- canonical form of both sides of a link (the meaning rules see both at once)
    def _prepare(self, a: sp.Expr, b: sp.Expr, given: Mapping) -> tuple[sp.Expr, sp.Expr]:
        pair = sp.Tuple(as_expr(a), as_expr(b))
        rules = {**self.given, **given}
        for _ in range(3):
            before = pair
            if rules:
                pair = pair.xreplace(rules)
            pair = _eval_operators(pair, self)
            pair = apply_meaning(pair)
            if pair == before:
                break
        pa, pb = pair
        if self.log_domain:
            pa, pb = log_of_positive(pa), log_of_positive(pb)
        return pa, pb

    def _compare(self, i: int, a: sp.Expr, b: sp.Expr, step: Step) -> StepResult:
        t0 = time.perf_counter()
        try:
            pa, pb = self._prepare(a, b, step.given)
            (ca, cb), back = _positive_symbols(sp.Tuple(pa, pb), self.domains)
            d = _merge_integrals(ca - cb, _units(back))
        except Exception as exc:  # a malformed step is a failed step, with the reason
            return StepResult(i, step.reason, step.relation, Verdict.REFUTED,
                              f"could not evaluate: {type(exc).__name__}: {str(exc)[:300]}",
                              time.perf_counter() - t0, a, b)
        if step.relation == "=":
            proved = exactly_zero(d, _units(back))
            method = "exact: cancels to 0 over a common denominator, radicals reduced"
        else:
            try:
                proved, method = self._nonnegative(d, back, step)
            except Exception:  # the certificate could not be formed: not proved, look numerically
                proved, method = False, ""
        if proved:
            return StepResult(i, step.reason, step.relation, Verdict.PROVED,
                              ("log domain; " if self.log_domain else "") + method,
                              time.perf_counter() - t0, a, b)
        return self._numeric(i, a, b, step, (ca, cb), back, t0)

    def _nonnegative(self, d: sp.Expr, back: dict, step: Step) -> tuple[bool, str]:
        d = _pointwise(d, self)
        d = _split_logs(d, _units(back))
        if sp.expand(d).is_nonnegative is True:
            return True, "exact: difference is nonnegative under the positivity assumptions"
        if step.positive_change and len(step.positive_change) == 1:
            (old, new), = step.positive_change.items()
            old_c, _ = _positive_symbols(sp.sympify(old), self.domains)
            new = sp.sympify(new)
            fresh = sorted(new.free_symbols - d.free_symbols - old_c.free_symbols, key=str)
            var = fresh[0] if len(fresh) == 1 else None
            # old = var * c with old > 0 and c > 0 free of var maps var in (0, oo) onto old's range
            scale = sp.cancel(new / var) if var is not None else None
            if (var is None or not var.is_positive or not old_c.is_positive or scale.has(var)
                    or not is_positive(scale, _units(back))):
                return False, ""
            g = _split_logs(sp.expand(d.subs(old_c, new)), _units(back))
            if g.free_symbols == {var}:
                g1, g2 = sp.diff(g, var), sp.diff(g, var, 2)
                crit = [c for c in sp.solve(g1, var) if c.is_positive]
                if (sp.simplify(g2).is_positive and len(crit) == 1
                        and sp.simplify(g.subs(var, crit[0])) == 0):
                    return True, (f"exact: with {old} = {new}, the difference g({var}) has g'' > 0 for "
                                  f"{var} > 0 and g = g' = 0 at {var} = {crit[0]} (convexity)")
        return False, ""

    def _numeric(self, i, a, b, step, sides, back, t0) -> StepResult:
        ca, cb = _opaque_to_symbols(sp.Tuple(*sides), back)
        d = ca - cb
        opaque = any(kind == "opaque" for s, (_, kind) in back.items() if s in d.free_symbols)
        rng = random.Random(self.seed + i)
        free = sorted(ca.free_symbols | cb.free_symbols, key=str)  # sorted: the same points every run
        points = self.points if step.relation == "=" else 8 * self.points  # a bound is one-sided: look harder
        agreed = 0
        for _ in range(points * 4):
            point = _sample(back, free, rng)
            va, vb = _evalf(ca, point), _evalf(cb, point)
            if va is None or vb is None:
                continue
            both_real = isinstance(va, mpmath.mpf) and isinstance(vb, mpmath.mpf)
            if step.relation == ">=" and not both_real:
                continue  # an order needs real values
            agreed += 1
            tol = mpmath.mpf(10) ** (-30) * max(1, abs(va), abs(vb))
            bad = (va - vb < -tol) if step.relation == ">=" else abs(va - vb) > tol
            if bad:
                method = ("does not follow: the sides differ for generic values of the unevaluated terms "
                          "(expectations, integrals, unknown functions) at this point: not a point of the "
                          "domain, the step is not justified by what the engine knows" if opaque
                          else "counterexample at a random point of the domain")
                if not both_real:
                    method += f" (lhs = {complex(va):.6g}, rhs = {complex(vb):.6g}: not both real)"
                return StepResult(i, step.reason, step.relation, Verdict.REFUTED, method,
                                  time.perf_counter() - t0, a, b, _user_point(point, back),
                                  _as_float(va), _as_float(vb))
            if agreed >= points:
                break
        if not agreed:
            return StepResult(i, step.reason, step.relation, Verdict.REFUTED,
                              "could not be evaluated at any point of the domain",
                              time.perf_counter() - t0, a, b)
        return StepResult(i, step.reason, step.relation, Verdict.NUMERIC,
                          f"NOT PROVED: agrees at {agreed} random {_DIGITS}-digit points only",
                          time.perf_counter() - t0, a, b)

    def check(self) -> DerivationResult:
        t0 = time.perf_counter()
        results = []
        for i in range(1, len(self.steps)):
            results.append(self._compare(i, self.steps[i - 1].expr, self.steps[i].expr, self.steps[i]))
        return DerivationResult(self.title, self.assumptions, results, time.perf_counter() - t0)

    @property
    def start(self) -> sp.Expr:
        return self.steps[0].expr

    @property
    def end(self) -> sp.Expr:
        return self.steps[-1].expr


def compare(lhs: sp.Expr, rhs: sp.Expr, reason: str = "claim", **kwargs) -> StepResult:
    """Check a single equality ``lhs = rhs`` with the engine (used by claims and errata)."""
    d = Derivation(reason, [Step(lhs, "left side"), Step(rhs, reason)], **kwargs)
    return d.check().steps[0]


# ---------------------------------------------------------------------------------------------
# induction


@dataclass
class Induction:
    """Prove ``a(n) = closed(n)`` for every integer n >= base.

    The sequence a(n) is given either by ``recurrence(previous, n)`` and ``initial`` = a(base),
    or as an expression ``sequence`` in n (then the recurrence is a(n-1) + (a(n) - a(n-1)), with
    finite sums peeled by the engine). The engine forms the first expression of each
    derivation itself: ``initial`` (base case), and the recurrence applied to the hypothesis
    ``closed(n-1)`` (inductive step); both chains must end at ``closed``.
    """

    title: str
    var: sp.Symbol
    closed: sp.Expr
    recurrence: Callable[[sp.Expr, sp.Symbol], sp.Expr] | None = None
    initial: sp.Expr | None = None
    sequence: sp.Expr | None = None
    base: int = 1
    base_steps: Sequence[Step] = ()
    step_steps: Sequence[Step] = ()
    options: Mapping = field(default_factory=dict)

    def derivations(self) -> list[Derivation]:
        n = self.var
        if self.sequence is not None:
            first_base = self.sequence.subs(n, self.base)
            step_start = self.closed.subs(n, n - 1) + (self.sequence - self.sequence.subs(n, n - 1))
        else:
            first_base = self.initial
            step_start = self.recurrence(self.closed.subs(n, n - 1), n)
        def ending(steps, closed, where):  # every chain ends at the closed form (the engine adds it)
            steps = list(steps)
            if steps and steps[-1].expr == closed:
                return steps
            return steps + [Step(closed, f"the closed form at {where}")]

        base = Derivation(
            f"{self.title}: base case {n} = {self.base}",
            [Step(first_base, f"the sequence at {n} = {self.base}"),
             *ending(self.base_steps, self.closed.subs(n, self.base), f"{n} = {self.base}")],
            sum_var=n, **self.options)
        step = Derivation(
            f"{self.title}: inductive step {n} - 1 -> {n} (for {n} >= {self.base + 1})",
            [Step(step_start, f"the recurrence applied to the hypothesis at {n} - 1"),
             *ending(self.step_steps, self.closed, n)],
            sum_var=n, **self.options)
        return [base, step]


# ---------------------------------------------------------------------------------------------
# closed-form instances


@dataclass
class InstanceResult:
    title: str
    verdict: Verdict
    lhs: str
    rhs: str
    detail: str
    seconds: float

    def to_dict(self) -> dict:
        return {"title": self.title, "verdict": self.verdict.value, "lhs": self.lhs, "rhs": self.rhs,
                "detail": self.detail, "seconds": round(self.seconds, 4)}


@dataclass
class InstanceCheck:
    """Both sides of an identity evaluated in closed form on a concrete family (exact SymPy
    arithmetic). ``relation`` is "=" or ">=". PROVED here means: exactly true for this instance."""

    title: str
    compute: Callable[[], tuple[sp.Expr, sp.Expr]]
    relation: str = "="

    def check(self) -> InstanceResult:
        t0 = time.perf_counter()
        lhs, rhs = self.compute()
        d, back = _positive_symbols(as_expr(lhs) - as_expr(rhs), {})
        if self.relation == "=":
            ok = exactly_zero(d)
        else:
            val = sp.N(d, _DIGITS)
            ok = bool(val.is_number and val >= 0) if not d.free_symbols else bool(sp.expand(d).is_nonnegative)
        verdict = Verdict.PROVED if ok else Verdict.REFUTED
        detail = f"exact closed form; difference lhs - rhs = {sp.N(lhs - rhs, 6) if not (lhs - rhs).free_symbols else 'symbolic'}"
        return InstanceResult(self.title, verdict, sp.sstr(lhs)[:300], sp.sstr(rhs)[:300], detail,
                              time.perf_counter() - t0)
