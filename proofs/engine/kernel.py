"""The trusted kernel: the only code that can say PROVED (the de Bruijn criterion).

Everything else in :mod:`proofs.engine` *proposes*: operators evaluate expectations, integrals and
sums, the search proposes candidate counterexamples. This module decides, and a reviewer needs
to trust only what is here (plus SymPy's exact polynomial arithmetic and its assumption system
for numbers and symbols).

What the kernel trusts
    * exact rational and polynomial arithmetic (``together``, ``expand``, ``Poly``);
    * SymPy's assumptions on symbols (``Symbol("x", positive=True)``), through :func:`is_positive`
      and :func:`is_real`, which answer True only when SymPy or a structural argument proves it;
    * mpmath's interval arithmetic (``mpmath.iv``, outward rounding) for real values, and SymPy's
      ``evalf(strict=True)`` accuracy tracking for complex values, to certify a counterexample.

What the kernel assumes (stated on every verdict that needs it)
    * the named analytic hypotheses of :data:`HYPOTHESES`, only when declared by the proof or the
      user (``Step(..., hypotheses=("fubini",))``); an undeclared one leaves the step UNDECIDED;
    * ``given`` premises it can neither prove nor refute, listed as hypotheses on the verdict;
    * the standing convention that every expectation and integral written in a derivation exists
      (linearity is applied term by term).

Rules (:data:`RULES`): every rewrite the engine applies is a named rule with a side condition,
recorded in the :class:`Ledger` of the check in progress by :func:`use`. A rule whose side
condition is a hypothesis that was not declared is recorded as *missing*, and a check with a
missing hypothesis is never PROVED.

Verdicts. :func:`conclude` builds every :class:`~proofs.engine.results.StepResult`; only it can
attach the kernel's token that a PROVED result must carry.

* PROVED: the difference is exactly zero (or provably >= 0) on every case of the domain:
  the generic case (every sequence term at an index >= 1, so in its stated range) and each
  boundary value of an integer symbol below it, checked separately. Cases where a side is
  undefined (a zero denominator, alpha_0) narrow the domain, and the verdict says so.
* REFUTED: only with a point of the domain (every sequence term taken from one concrete
  schedule, so every ordering between terms holds) where lhs != rhs is certified.
* UNDECIDED: everything else, with the evidence; never counted as holding.

Budgets: :func:`checking` bounds every check in time (default :data:`DEFAULT_BUDGET` seconds);
when the budget runs out the check ends UNDECIDED ("budget exhausted"), never a hang.
"""
from __future__ import annotations

import contextvars
import math
import re
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import reduce
from typing import Iterable, Mapping

import mpmath
import sympy as sp
from mpmath import iv

from .results import StepResult, Verdict

DEFAULT_BUDGET = 10.0        # seconds per step or claim
MAX_RADICAL_DEGREE = 48      # r**q = b is reduced only for q <= this (else the power stays an opaque atom)
MAX_FACTOR_DIGITS = 30       # rationals whose log is split into primes: numerator and denominator below this
MAX_BOUNDARY_CASES = 12      # boundary values of an integer symbol checked one by one

#: Analytic hypotheses a proof may declare; listed on every verdict that rests on them.
HYPOTHESES = {
    "fubini": "the integrals converge absolutely (Fubini-Tonelli and linearity: integrals may be split, merged "
              "and reordered)",
    "leibniz": "differentiation under the integral sign is allowed (dominated convergence)",
}


@dataclass(frozen=True)
class Rule:
    name: str
    statement: str
    side_condition: str


RULES = {r.name: r for r in (
    Rule("meaning", "beta[k] = 1 - alpha[k]; abar[k] = abar[k-1] alpha[k]; abar[0] = 1", "none: definitions"),
    Rule("unit_coordinates", "alpha, abar in (0, 1) written 1/(1 + w), w > 0", "none: the stated domain"),
    Rule("log_product", "log(a b) = log a + log b", "oracle: a > 0 and b > 0"),
    Rule("log_power", "log(b**e) = e log b", "oracle: b > 0 and e real"),
    Rule("log_exp", "log(exp(z)) = z", "oracle: z real"),
    Rule("log_rational", "log(p/q) = sum of k log(prime)", "none (exact factorisation, small integers only)"),
    Rule("power_product", "(a b)**e = a**e b**e", "oracle: a > 0 and b > 0"),
    Rule("radical", "b**(p/q) = r**p with r**q = b", "none (principal branch); r > 0 only if the oracle proves b > 0"),
    Rule("abs", "|f| = f, or -f", "oracle: f > 0, or f < 0"),
    Rule("power_exponents", "x**a * x**b = x**(a + b) for symbolic exponents",
         "none: an identity of the principal branch wherever both sides are defined (x != 0)"),
    Rule("denest", "sqrt(a + b sqrt(c)) = sqrt(d) + sqrt(e)", "none: sympy.sqrtdenest on numbers"),
    Rule("hyperbolic", "cosh, sinh, tanh, sin, cos, tan written with exp", "none (definitions, identities of C)"),
    Rule("gaussian_moments", "E[V**n] for V ~ N(m, s2) from the moment recurrence", "oracle: s2 > 0"),
    Rule("gaussian_integral", "int exp(-a v**2 + b v) dv = sqrt(pi/a) exp(b**2/(4 a))", "oracle: a > 0"),
    Rule("linearity", "E and int are linear; constant factors come out",
         "integrals: hypothesis 'fubini' to split or merge (none for polynomials on finite limits); "
         "expectations: standing convention that the expectation of each term exists"),
    Rule("sum_closed_form", "sum_{k=lo}^{hi} f in closed form (sympy summation)",
         "hi >= lo on the case (the generic case of the derivation); empty sums are 0"),
    Rule("random_symbols", "factors free of the declared random symbols leave E",
         "declared random symbols; with none declared, only numbers leave E"),
    Rule("fubini", "iterated integrals are merged and their order changed; products of integrals merged",
         "hypothesis 'fubini'"),
    Rule("leibniz", "d/dx int f dy = int df/dx dy", "hypothesis 'leibniz'"),
    Rule("bound_variables", "bound variables are renamed canonically", "none (alpha-equivalence)"),
    Rule("definite_integral", "int_a^b of a polynomial with numeric limits", "none (exact antiderivative)"),
    Rule("peel_sum", "sum_{k=lo}^{n+c} f = sum_{k=lo}^{n-1} f + f(n) + ... + f(n+c)",
         "n >= lo (smaller n are boundary cases); empty sums are 0"),
    Rule("given", "a stated premise lhs = rhs", "proved by the kernel, else listed as a hypothesis"),
    Rule("convexity", "g >= 0 from g'' > 0 and g = g' = 0 at the critical point",
         "oracle on g''; exact zero test at the critical point"),
    Rule("expectation_monotone", "E[h] >= 0 from h >= 0 pointwise", "linear combination with constant coefficients"),
)}


# ---------------------------------------------------------------------------------------------
# the ledger of a check, and its time budget


class BudgetExhausted(BaseException):
    """The time budget of a check ran out (a BaseException, so that no `except Exception` swallows it)."""


@dataclass
class Ledger:
    declared: frozenset = frozenset()
    used: set = field(default_factory=set)
    missing: set = field(default_factory=set)
    assumed: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    deadline: float = math.inf


_LEDGER: contextvars.ContextVar = contextvars.ContextVar("proofs_kernel_ledger", default=None)


def use(rule: str, hypothesis: str | None = None) -> None:
    """Record that ``rule`` was applied; a rule that needs ``hypothesis`` marks it assumed when it
    was declared, missing otherwise. Also the budget's check point."""
    led = _LEDGER.get()
    if led is None:
        return
    led.used.add(rule)
    if hypothesis is not None:
        if hypothesis in led.declared:
            text = f"{hypothesis}: {HYPOTHESES.get(hypothesis, hypothesis)}"
            if text not in led.assumed:
                led.assumed.append(text)
        else:
            led.missing.add(hypothesis)
    check_deadline()


def assume(text: str) -> None:
    """A premise the kernel could not decide, used and listed on the verdict."""
    led = _LEDGER.get()
    if led is not None and text not in led.assumed:
        led.assumed.append(text)


def check_deadline() -> None:
    led = _LEDGER.get()
    if led is not None and time.monotonic() > led.deadline:
        raise BudgetExhausted()


def _alarm(signum, frame):  # pragma: no cover - timing dependent
    """Interrupt a computation past its deadline. It repeats every 0.25 s until the check ends, since
    an interrupt that lands in a garbage-collector callback is ignored by Python."""
    led = _LEDGER.get()
    if led is not None and time.monotonic() > led.deadline - 0.01:
        raise BudgetExhausted()


@contextmanager
def checking(declared: Iterable[str] = (), seconds: float | None = None):
    """A fresh ledger for one check, with a time budget. In the main thread the budget interrupts
    long SymPy computations (SIGALRM); elsewhere it is checked between rewrites."""
    seconds = DEFAULT_BUDGET if seconds is None else float(seconds)
    outer = _LEDGER.get()
    deadline = time.monotonic() + seconds
    if outer is not None:
        deadline = min(deadline, outer.deadline)
    led = Ledger(frozenset(declared), deadline=deadline)
    token = _LEDGER.set(led)
    armed = False
    if outer is None and threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.01), 0.25)
        armed = True
    try:
        yield led
    finally:
        if armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        _LEDGER.reset(token)


# ---------------------------------------------------------------------------------------------
# the oracle: positivity and reality, sound (True only when proved)


def is_real(z: sp.Expr, units: frozenset = frozenset()) -> bool:
    """True only if z is real (and finite) for every value of its symbols in the domain: by SymPy's
    assumptions, or structurally (sums and products of reals; integer powers of reals, negative ones
    only of a base the oracle proves nonzero; real powers, exp and log only of positive bases)."""
    z = sp.sympify(z)
    if z.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return False
    if z.is_real is True:
        return True
    if z.is_Atom:
        return False
    if z.is_Add or z.is_Mul:
        return all(is_real(a, units) for a in z.args)
    if isinstance(z, sp.Pow):
        b, e = z.args
        if e.is_Integer:
            return is_real(b, units) and (e >= 0 or is_positive(b, units) or is_positive(-b, units))
        return is_real(e, units) and is_positive(b, units)
    if isinstance(z, sp.exp):
        return is_real(z.args[0], units)
    if isinstance(z, sp.log):
        return is_positive(z.args[0], units)
    return False


def is_positive(f: sp.Expr, units: frozenset = frozenset()) -> bool:
    """True only if f > 0 on the whole domain. Quantities u in (0, 1) are written u = 1/(1 + w)
    with w > 0; a fraction whose expanded numerator and denominator are sums of positive terms is
    positive."""
    check_deadline()
    if f.is_positive:
        return True
    if isinstance(f, sp.exp):
        return is_real(f.args[0], units)
    if isinstance(f, sp.Pow) and is_real(f.exp, units) and is_positive(f.base, units):
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


def positive_split(b: sp.Expr, units: frozenset) -> tuple[list, sp.Expr]:
    """Factor b; return ([(g, k), ...] with every g > 0 proved, rest) where b = prod g**k * rest."""
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


# ---------------------------------------------------------------------------------------------
# rewrites with side conditions


def _small_rational(g: sp.Rational) -> bool:
    return len(str(abs(g.p))) <= MAX_FACTOR_DIGITS and len(str(g.q)) <= MAX_FACTOR_DIGITS


def split_logs(expr: sp.Expr, units: frozenset = frozenset()) -> sp.Expr:
    """log(prod g_i**k_i * rest) = sum k_i log g_i + log(rest), only for factors g_i > 0
    (rules log_product, log_power, log_exp, log_rational)."""
    if not expr.has(sp.log):
        return expr

    def log_factor(g, k):
        if g.is_Rational and _small_rational(g):  # log of a positive rational: a sum over its primes
            use("log_rational")
            fac = {**sp.factorint(g.p), **{q: -e for q, e in sp.factorint(g.q).items()}}
            return sp.Add(*[k * e * sp.log(q) for q, e in fac.items() if q != 1])
        if isinstance(g, sp.exp) and is_real(g.args[0], units):
            use("log_exp")
            return k * g.args[0]
        if isinstance(g, sp.Pow) and is_real(g.exp, units) and is_positive(g.base, units):
            use("log_power")
            return k * g.exp * split(sp.log(g.base))
        return k * sp.log(g)

    def split(e: sp.log):
        pos, rest = positive_split(e.args[0], units)
        if len(pos) > 1 or (pos and rest != 1):
            use("log_product")
        return sp.Add(*[log_factor(g, k) for g, k in pos]) + (sp.log(rest) if rest != 1 else 0)

    return expr.replace(lambda e: isinstance(e, sp.log), split)


def canonical_radicals(expr: sp.Expr, units: frozenset = frozenset()) -> sp.Expr:
    """(prod g_i**k_i * rest)**e = prod g_i**(k_i e) * rest**e, only for factors g_i > 0."""

    def fix(p: sp.Pow):
        pos, rest = positive_split(p.base, units)
        if not pos:
            return p
        use("power_product")
        out = sp.Mul(*[sp.Pow(g, k * p.exp) for g, k in pos])
        return out * (sp.Pow(rest, p.exp) if rest != 1 else 1)

    return expr.replace(lambda e: isinstance(e, sp.Pow) and e.exp.is_Rational and not e.exp.is_Integer, fix)


def resolve_abs(d: sp.Expr, units: frozenset) -> sp.Expr:
    """|f| = f where f > 0 on the domain, -f where f < 0; otherwise left alone."""
    def fix(a: sp.Abs):
        f = a.args[0]
        if is_positive(f, units):
            use("abs")
            return f
        if is_positive(-f, units):
            use("abs")
            return -f
        return a
    return d.replace(lambda e: isinstance(e, sp.Abs), fix) if d.has(sp.Abs) else d


def log_of_positive(e: sp.Expr, units: frozenset = frozenset()) -> sp.Expr:
    """log of a product of powers and exponentials (a density), split only where sound:
    log(exp(z)) = z for real z, log(b**k) = k log b for b > 0, log(a b) = log a + log b for
    a, b > 0; factors of unknown sign stay together in one log."""
    e = sp.powsimp(e, combine="exp")
    if isinstance(e, sp.exp) and is_real(e.args[0], units):
        use("log_exp")
        return e.args[0]
    if isinstance(e, sp.Pow) and is_real(e.exp, units) and is_positive(e.base, units):
        use("log_power")
        return e.exp * log_of_positive(e.base, units)
    if isinstance(e, sp.Mul):
        known = [f for f in e.args if is_positive(f, units) or (isinstance(f, sp.exp) and is_real(f.args[0], units))]
        if known:
            use("log_product")
        rest = sp.Mul(*[f for f in e.args if f not in known])
        return sp.Add(*[log_of_positive(f, units) for f in known]) + (sp.log(rest) if rest != 1 else 0)
    return sp.log(e)


def rewrite_hyperbolic(expr: sp.Expr) -> sp.Expr:
    """cosh, sinh, tanh, sin, cos, tan by their definitions in exp (rule hyperbolic: identities of C)."""
    if not expr.has(sp.cosh, sp.sinh, sp.tanh, sp.sin, sp.cos, sp.tan):
        return expr
    use("hyperbolic")
    return expr.rewrite(sp.exp)


def denest(expr: sp.Expr) -> sp.Expr:
    """Denest square roots of numbers (sqrt(3 + 2 sqrt(2)) = 1 + sqrt(2)) with sympy.sqrtdenest,
    whose result is accepted only when its square is exactly the radicand."""
    def fix(p):
        d = sp.sqrtdenest(p)
        if d != p and sp.expand(d ** 2 - p.base) == 0 and d.is_nonnegative:
            use("denest")
            return d
        return p
    return expr.replace(lambda e: isinstance(e, sp.Pow) and e.exp == sp.S.Half and not e.free_symbols
                        and e.base.has(sp.Pow), fix)


# ---------------------------------------------------------------------------------------------
# the zero test


def exactly_zero(d: sp.Expr, units: frozenset = frozenset()) -> bool:
    """True only when ``d`` (in stand-in symbols) is identically zero on the domain. Any failure
    of the algebra (an expression SymPy cannot put into polynomial form) is a False."""
    try:
        return _exactly_zero(d, units)
    except BudgetExhausted:
        raise
    except Exception:  # noqa: BLE001 - failing to prove is never a proof
        return False


def _exactly_zero(d: sp.Expr, units: frozenset) -> bool:
    d = rewrite_hyperbolic(d)
    d = denest(d)
    d = resolve_abs(d, units)
    d = split_logs(d, units)
    d = canonical_radicals(d, units)
    if d == 0:
        return True
    if any(isinstance(p, sp.Pow) and not p.exp.is_number for p in d.atoms(sp.Pow)):
        combined = sp.powsimp(sp.expand(d), combine="exp")
        if combined != d:
            use("power_exponents")
            d = combined
            if d == 0:
                return True
    # a polynomial in the variables of unknown sign is zero iff each coefficient is
    variables = sorted((s for s in d.free_symbols if not s.is_positive and s.is_real), key=str)
    if variables:
        try:
            poly = sp.Poly(sp.expand(d), *variables)
        except sp.PolynomialError:
            poly = None
        if poly is not None and not any(c.free_symbols & set(variables) for c in poly.coeffs()):
            return all(_rational_zero(c, units) for c in poly.coeffs())
    return _rational_zero(d, units)


def _rational_zero(d: sp.Expr, units: frozenset) -> bool:
    check_deadline()
    if d == 0:
        return True
    d = sp.together(sp.expand(d))
    num = sp.expand(sp.numer(d))
    if num == 0:
        return True
    num = canonical_radicals(num, units)
    num = reduce_radicals(num, units)
    if num == 0:
        return True
    return sp.expand(sp.cancel(num)) == 0


def reduce_radicals(num: sp.Expr, units: frozenset = frozenset()) -> sp.Expr:
    """Replace radicals b**(p/q) by r**p with r**q = b and reduce the polynomial (exact, principal
    branch). The stand-in r is positive only when the oracle proves b > 0; otherwise it carries no
    assumption. Degrees above MAX_RADICAL_DEGREE are left alone (the power stays an atom)."""
    pows = [p for p in num.atoms(sp.Pow) if p.exp.is_Rational and not p.exp.is_Integer]
    if not pows:
        return num
    by_base: dict = {}
    for p in pows:
        by_base.setdefault(p.base, []).append(p.exp)
    rep, relations = {}, []
    for b, exps in sorted(by_base.items(), key=lambda kv: sp.default_sort_key(kv[0])):
        L = reduce(lambda a, c: a * c // math.gcd(a, c), [int(e.q) for e in exps], 1)
        if L > MAX_RADICAL_DEGREE:
            continue
        use("radical")
        r = sp.Dummy("r", positive=True) if is_positive(b, units) else sp.Dummy("r")
        for e in exps:
            rep[sp.Pow(b, e)] = r ** int(e * L)
        relations.append((r, L, b))
    if not relations:
        return num
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


def nonnegative(d: sp.Expr, units: frozenset) -> bool:
    """True only if d >= 0 on the domain (SymPy's assumptions on the expanded difference)."""
    d = split_logs(d, units)
    if d == 0 or sp.expand(d).is_nonnegative is True:
        return True
    return is_positive(d, units)


def convex_certificate(g: sp.Expr, var: sp.Symbol) -> sp.Expr | None:
    """g(var) >= 0 for var > 0 from g'' > 0 on var > 0 and g = g' = 0 at the unique positive
    critical point; returns that point, or None when the certificate does not hold."""
    if not var.is_positive or g.free_symbols != {var}:
        return None
    g1, g2 = sp.diff(g, var), sp.diff(g, var, 2)
    crit = [c for c in sp.solve(g1, var) if c.is_positive]
    if len(crit) != 1 or sp.simplify(g2).is_positive is not True:
        return None
    if not exactly_zero(g.subs(var, crit[0])):
        return None
    use("convexity")
    return crit[0]


# ---------------------------------------------------------------------------------------------
# certified evaluation (interval arithmetic), for counterexamples


class NotCertified(Exception):
    """The value could not be enclosed (unsupported function, a branch cut, a zero in a denominator)."""


def _iv(e: sp.Expr):
    if e.is_Integer:
        return iv.mpf(int(e))
    if e.is_Rational:
        return iv.mpf(int(e.p)) / int(e.q)
    if isinstance(e, sp.Float):
        return iv.mpf(mpmath.mpf(e))
    if e is sp.pi:
        return iv.pi
    if e is sp.E:
        return iv.e
    if e.is_Add:
        return reduce(lambda a, b: a + b, (_iv(a) for a in e.args))
    if e.is_Mul:
        return reduce(lambda a, b: a * b, (_iv(a) for a in e.args))
    if isinstance(e, sp.Pow):
        b, x = _iv(e.base), e.exp
        if x.is_Integer:
            if int(x) < 0 and b.a <= 0 <= b.b:
                raise NotCertified("zero in a denominator")
            return b ** int(x)
        if b.a > 0:
            return iv.exp(_iv(x) * iv.log(b))
        raise NotCertified("power of a base not known to be positive")
    if isinstance(e, sp.exp):
        return iv.exp(_iv(e.args[0]))
    if isinstance(e, sp.log):
        a = _iv(e.args[0])
        if a.a > 0:
            return iv.log(a)
        raise NotCertified("log of a value not known to be positive")
    if isinstance(e, sp.Abs):
        return abs(_iv(e.args[0]))
    if isinstance(e, (sp.cosh, sp.sinh, sp.tanh)):
        return _iv(e.rewrite(sp.exp))
    if isinstance(e, sp.sin):
        return iv.sin(_iv(e.args[0]))
    if isinstance(e, sp.cos):
        return iv.cos(_iv(e.args[0]))
    if isinstance(e, sp.sign):
        a = _iv(e.args[0])
        if a.a > 0:
            return iv.mpf(1)
        if a.b < 0:
            return iv.mpf(-1)
        raise NotCertified("sign of a value near 0")
    raise NotCertified(f"no interval rule for {type(e).__name__}")


def certified_sign(value: sp.Expr) -> int | None:
    """+1 or -1 when the sign of a real number is certain (interval arithmetic), 0 when it is exactly
    zero, None when not certified."""
    value = sp.sympify(value)
    if value == 0:
        return 0
    if value.free_symbols:
        return None
    for bits in (256, 1024):
        old = iv.prec
        iv.prec = bits
        try:
            v = _iv(value)
            if v.a > 0:
                return 1
            if v.b < 0:
                return -1
        except (NotCertified, ZeroDivisionError, ValueError, OverflowError):
            return None
        finally:
            iv.prec = old
    return None


def certify_difference(lhs: sp.Expr, rhs: sp.Expr, point: Mapping, relation: str = "=") -> tuple[bool, object, object]:
    """Does ``point`` (exact rationals) refute lhs = rhs (or lhs >= rhs), certainly? Returns
    (certified, lhs value, rhs value) with the values rounded for display. Real values: interval
    arithmetic at 256 then 1024 bits; complex values (equalities only): SymPy's evalf with strict
    accuracy tracking (PrecisionExhausted = not certified)."""
    L, R = lhs.xreplace(point), rhs.xreplace(point)
    bad = (sp.zoo, sp.nan, sp.oo, -sp.oo)
    if L.free_symbols or R.free_symbols or L.has(*bad) or R.has(*bad):
        return False, None, None
    for bits in (256, 1024):
        old = iv.prec
        iv.prec = bits
        try:
            a, b = _iv(L), _iv(R)
            diff = a - b
            if diff.b < 0 or (relation == "=" and diff.a > 0):
                return True, float(a.mid), float(b.mid)
        except (NotCertified, ZeroDivisionError, ValueError, OverflowError):
            break
        finally:
            iv.prec = old
    if relation != "=":
        return False, None, None
    try:  # complex (or interval-unfriendly) values: strict evalf of each side and of the difference
        dv = (L - R).evalf(30, strict=True)
        lv, rv = L.evalf(30, strict=True), R.evalf(30, strict=True)
        if dv.is_number and not dv.has(*bad) and dv != 0 and abs(complex(dv)) > 0:
            return True, _display(lv), _display(rv)
    except Exception:  # noqa: BLE001 - PrecisionExhausted, unsupported: not certified
        pass
    return False, None, None


def _display(v):
    c = complex(v)
    return c.real if c.imag == 0 else c


# ---------------------------------------------------------------------------------------------
# verdicts: the only constructor of PROVED results


class _Token:
    __slots__ = ()


TOKEN = _Token()


@dataclass
class Case:
    """The outcome of one case of the domain (``label``: "t >= 2", "t = 1", ...)."""

    label: str
    status: str                  # "proved", "refuted", "undecided", "undefined"
    method: str = ""
    point: dict | None = None
    lhs_value: object = None
    rhs_value: object = None
    certificate: object = None   # TOKEN on a "proved" case: only the deciders below make one


def zero_case(label: str, d: sp.Expr, units: frozenset, note: str = "") -> Case | None:
    """A proved case when the difference of the two sides is exactly zero on the domain."""
    if exactly_zero(d, units):
        return Case(label, "proved", note + "exact: the difference cancels to 0 over a common denominator, "
                    "radicals reduced", certificate=TOKEN)
    return None


def nonnegative_case(label: str, d: sp.Expr, units: frozenset) -> Case | None:
    """A proved case when the difference (lhs - rhs) is >= 0 on the domain: a number certified by
    interval arithmetic, or an expression the oracle proves nonnegative."""
    d = split_logs(d, units)
    if not d.free_symbols:
        if certified_sign(d) in (0, 1):
            return Case(label, "proved", "exact: the difference is a number >= 0 (interval arithmetic)", certificate=TOKEN)
        return None
    if nonnegative(d, units):
        return Case(label, "proved", "exact: the difference is nonnegative under the positivity assumptions",
                    certificate=TOKEN)
    return None


def convex_case(label: str, g: sp.Expr, var: sp.Symbol, scale: sp.Expr, units: frozenset, text: str) -> Case | None:
    """A proved case from the convexity certificate of g(var) >= 0 for var > 0, where the change of
    variables old = var * scale (scale > 0, free of var) maps var in (0, oo) onto old's range."""
    if not var.is_positive or scale.has(var) or not is_positive(scale, units):
        return None
    crit = convex_certificate(split_logs(g, units), var)
    if crit is None:
        return None
    return Case(label, "proved", f"exact: with {text}, the difference g({var}) has g'' > 0 for {var} > 0 and "
                f"g = g' = 0 at {var} = {crit} (convexity)", certificate=TOKEN)


def conclude(index: int, reason: str, relation: str, lhs, rhs, cases: list[Case], led: Ledger,
             seconds: float) -> StepResult:
    """The verdict of a step from its cases and its ledger."""
    refuted = next((c for c in cases if c.status == "refuted"), None)
    if refuted is not None:
        shown = {k: int(v) if "/" not in v else float(sp.Rational(v)) for k, v in refuted.point.items()}
        return StepResult(index, reason, relation, Verdict.REFUTED, f"[{refuted.label}] {refuted.method}", seconds,
                          lhs, rhs, shown, _real_or_none(refuted.lhs_value), _real_or_none(refuted.rhs_value),
                          values=(refuted.lhs_value, refuted.rhs_value), exact_point=dict(refuted.point))
    defined = [c for c in cases if c.status != "undefined"]
    undefined = [c for c in cases if c.status == "undefined"]
    if led.missing:
        need = ", ".join(f"'{h}' ({HYPOTHESES.get(h, h)})" for h in sorted(led.missing))
        return StepResult(index, reason, relation, Verdict.UNDECIDED,
                          f"needs the hypothesis {need}, not declared", seconds, lhs, rhs)
    if defined and all(c.status == "proved" and c.certificate is TOKEN for c in defined):
        domain = _domain_text(defined, undefined) if undefined else None
        method = "; ".join(f"[{c.label}] {c.method}" if len(cases) > 1 else c.method for c in defined)
        return StepResult(index, reason, relation, Verdict.PROVED, method, seconds, lhs, rhs,
                          hypotheses=tuple(led.assumed), domain=domain, certificate=TOKEN)
    if not defined:
        return StepResult(index, reason, relation, Verdict.UNDECIDED,
                          "undefined on the whole domain: " + "; ".join(f"[{c.label}] {c.method}" for c in undefined),
                          seconds, lhs, rhs)
    open_ = [c for c in defined if not (c.status == "proved" and c.certificate is TOKEN)]
    return StepResult(index, reason, relation, Verdict.UNDECIDED,
                      "; ".join(f"[{c.label}] {c.method}" for c in open_), seconds, lhs, rhs)


def _domain_text(defined: list[Case], undefined: list[Case]) -> str:
    """"t >= 2; undefined at t = 1" when the undefined cases are the smallest values of one integer
    symbol, else the labels as they are."""
    gone = [re.fullmatch(r"(\w+) = (\d+)", c.label) for c in undefined]
    rest = [re.fullmatch(r"(\w+) (>=|=) (\d+)", c.label) for c in defined]
    if all(gone) and all(rest) and len({m.group(1) for m in gone + rest}) == 1:
        name = gone[0].group(1)
        top = max(int(m.group(2)) for m in gone)
        if all(int(m.group(3)) > top for m in rest):
            where = ", ".join(f"{name} = {m.group(2)}" for m in sorted(gone, key=lambda m: int(m.group(2))))
            return f"{name} >= {top + 1}; undefined at {where}"
    return f"{' and '.join(c.label for c in defined)}; undefined at {', '.join(c.label for c in undefined)}"


def _real_or_none(v):
    return float(v) if isinstance(v, (int, float)) else None


def budget_exhausted(index: int, reason: str, relation: str, lhs, rhs, seconds: float) -> StepResult:
    return StepResult(index, reason, relation, Verdict.UNDECIDED,
                      f"undecided (budget exhausted after {seconds:.1f} s)", seconds, lhs, rhs)


__all__ = ["HYPOTHESES", "RULES", "Rule", "Ledger", "BudgetExhausted", "checking", "use", "assume",
           "check_deadline", "is_real", "is_positive", "positive_split", "split_logs", "canonical_radicals",
           "resolve_abs", "log_of_positive", "exactly_zero", "reduce_radicals", "nonnegative",
           "convex_certificate", "certify_difference", "certified_sign", "Case", "conclude", "budget_exhausted", "TOKEN",
           "DEFAULT_BUDGET", "MAX_RADICAL_DEGREE"]
