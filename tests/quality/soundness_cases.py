"""The soundness corpus (``CASES``, below) and the independent re-checking both soundness test
files use: is a returned counterexample a point of the domain where the two sides certainly
differ, and does a PROVED equality hold at random domain points?

The re-checking uses nothing of the engine. Points are completed and repaired exactly (rationals):

* a sequence value may be given at an index written with ``t`` ("abar[t - 1]"); ``t`` is taken from
  the point, or (when the expressions use ``t`` only inside indices) each t = 1, 2, ... is tried;
* ``beta[k]`` is ``1 - alpha[k]``; ``abar[0] = 1``; the alphas between two given abar values are
  chosen in (0, 1) so that ``abar[m] = alpha[1] ... alpha[m]`` holds exactly (this is the ordering
  constraint: abar[t] <= alpha[j] for j <= t, abar decreasing); a given value that the recurrence
  fixes must agree with it to 1e-9 (relative) and is then replaced by the exact product;
* symbols must satisfy their SymPy assumptions (positive, integer, nonnegative, negative).

lhs != rhs is certain when an mpmath interval enclosure of lhs - rhs (80, 400 or 1500 digits)
excludes 0, or, where no enclosure applies (complex values, Sum, Max, sign, ...), when SymPy's
``evalf(strict=True)`` (which raises rather than return digits it cannot guarantee) gives the same
nonzero difference at 60 and at 300 digits. Sums are expanded with the standard convention: a sum
whose upper limit is below its lower limit is 0 (not Karr's).
"""
from __future__ import annotations

import contextlib
import re
import signal
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import mpmath
import sympy as sp

from proofs.symbols import abar, alpha, beta, noise_std, sigma, t, x, x_tilde

FAMILIES = ("alpha", "beta", "abar", "sigma")
LOW = {"alpha": 1, "beta": 1, "abar": 0, "sigma": 1}
_KEY = re.compile(r"^\s*(alpha|beta|abar|sigma)\[(.+)\]\s*$")
REL_TOL = sp.Rational(1, 10**9)


class Hang(BaseException):
    """Raised by :func:`time_guard` when the guarded block runs past its limit. A BaseException, so
    that an ``except Exception`` in the code under test cannot swallow it."""


@contextlib.contextmanager
def time_guard(seconds: float, what: str):
    """Raise :class:`Hang` if the block has used ``seconds`` of CPU time without finishing.

    It counts CPU time (ITIMER_PROF / SIGPROF), not wall time, so that it never touches SIGALRM,
    which the kernel's own budget uses; a hang is a busy loop, so it is caught all the same. After the
    first signal it fires again every CPU second until the block is left."""
    def handler(signum, frame):
        raise Hang(f"{what}: no answer after {seconds:g} s of CPU time")
    old = signal.signal(signal.SIGPROF, handler)
    signal.setitimer(signal.ITIMER_PROF, seconds, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)


# ----------------------------------------------------------------------------------------------
# values


def exact(v) -> sp.Rational:
    """A returned coordinate as an exact rational: floats are taken at their exact binary value,
    strings like "1/3" or "0.25" exactly."""
    if isinstance(v, bool):
        raise ValueError(f"boolean coordinate {v!r}")
    if isinstance(v, int):
        return sp.Integer(v)
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise ValueError(f"non-finite coordinate {v!r}")
        return sp.Rational(Fraction(v))
    if isinstance(v, str):
        return sp.Rational(v.strip())
    if isinstance(v, mpmath.mpf):
        return sp.Rational(sp.Float(v, 80))
    if isinstance(v, sp.Basic) and v.is_number:
        if v.is_Rational:
            return v
        if v.is_Float:
            return sp.Rational(v)
        return sp.Rational(sp.Float(v, 80))
    raise ValueError(f"coordinate of unknown type {type(v).__name__}: {v!r}")


def expand_sums(e: sp.Expr) -> sp.Expr:
    """Sums with integer limits written out term by term; an empty sum (upper < lower) is 0."""
    def write_out(s: sp.Sum) -> sp.Expr:
        body = s.function
        for var, lo, hi in reversed(s.limits):  # innermost limit first
            lo, hi = sp.sympify(lo), sp.sympify(hi)
            if not (lo.is_Integer and hi.is_Integer):
                return s
            if int(hi) - int(lo) > 20000:
                raise ValueError(f"sum of {int(hi) - int(lo) + 1} terms")
            body = sp.Add(*[body.subs(var, i) for i in range(int(lo), int(hi) + 1)])
        return body

    for _ in range(6):
        new = e.replace(lambda a: isinstance(a, sp.Sum), write_out)
        if new == e:
            break
        e = new
    return e


def _finish(e: sp.Expr) -> sp.Expr:
    """Integrals and derivatives at a point: evaluated (SymPy's own integration, checked below)."""
    if e.has(sp.Derivative):
        e = e.replace(lambda a: isinstance(a, sp.Derivative), lambda a: a.doit())
    if e.has(sp.Integral):
        e = e.replace(lambda a: isinstance(a, sp.Integral), lambda a: a.doit())
    return e


def numeric(e: sp.Expr, digits: int):
    """e (a closed number) at ``digits`` digits as an mpmath complex, or None if undefined/infinite."""
    try:
        v = sp.N(e, digits, maxn=4 * digits + 200)
    except (TypeError, ValueError, ZeroDivisionError, ArithmeticError, RecursionError):
        return None
    if not v.is_number or v.has(sp.zoo, sp.oo, -sp.oo, sp.nan, sp.Integral, sp.Sum):
        return None
    try:
        re_, im_ = v.as_real_imag()
        with mpmath.workdps(digits + 10):
            c = mpmath.mpc(mpmath.mpf(str(sp.N(re_, digits))), mpmath.mpf(str(sp.N(im_, digits))))
    except (TypeError, ValueError):
        return None
    if not (mpmath.isfinite(c.real) and mpmath.isfinite(c.imag)):
        return None
    return c


def interval(e: sp.Expr, dps: int = 80):
    """An mpmath interval enclosing the real number e, or None when e is not made of the operations
    this enclosure handles (or a branch leaves the reals)."""
    iv = mpmath.iv

    def ev(a):
        if a.is_Integer:
            return iv.mpf(int(a))
        if a.is_Rational:
            return iv.mpf(int(a.p)) / iv.mpf(int(a.q))
        if a is sp.pi:
            return iv.pi
        if a is sp.E:
            return iv.e
        if isinstance(a, sp.Add):
            out = iv.mpf(0)
            for b in a.args:
                out = out + ev(b)
            return out
        if isinstance(a, sp.Mul):
            out = iv.mpf(1)
            for b in a.args:
                out = out * ev(b)
            return out
        if isinstance(a, sp.Pow):
            base, ex = a.args
            if ex.is_Integer:
                bv = ev(base)
                n = int(ex)
                if n < 0:
                    if bv.a <= 0 <= bv.b:
                        raise ValueError("division by an interval containing 0")
                    return (iv.mpf(1) / bv) ** (-n)
                return bv ** n
            if ex.is_Rational:
                bv = ev(base)
                if bv.a <= 0:
                    raise ValueError("fractional power of a non-positive interval")
                return iv.exp(iv.log(bv) * (iv.mpf(int(ex.p)) / iv.mpf(int(ex.q))))
            raise ValueError("symbolic exponent")
        if isinstance(a, sp.exp):
            return iv.exp(ev(a.args[0]))
        if isinstance(a, sp.log):
            v = ev(a.args[0])
            if v.a <= 0:
                raise ValueError("log of a non-positive interval")
            return iv.log(v)
        if isinstance(a, sp.Abs):
            v = ev(a.args[0])
            if v.a >= 0:
                return v
            if v.b <= 0:
                return -v
            return iv.mpf([0, max(-v.a, v.b)])
        raise ValueError(f"no enclosure for {type(a).__name__}")

    old = iv.dps
    iv.dps = dps
    try:
        return ev(e)
    except (ValueError, ZeroDivisionError, TypeError, OverflowError):
        return None
    finally:
        iv.dps = old


def certainly_differ(L: sp.Expr, R: sp.Expr, relation: str = "=") -> str | None:
    """None when lhs != rhs (relation "=") or lhs < rhs (relation ">=", i.e. the bound fails) is
    certain at this closed point; otherwise the reason it is not.

    Certain means: an mpmath interval enclosure of lhs - rhs (80, 400 or 1500 digits) excludes 0
    (or lies below 0); or, where no enclosure applies (complex values, Sum/Max/sign ...), SymPy's
    ``evalf(strict=True)``, which raises rather than return a value it cannot guarantee to the
    requested digits, gives a nonzero (negative) difference at 60 and at 300 digits."""
    lo, hi = numeric(L, 30), numeric(R, 30)
    if lo is None or hi is None:
        return f"a side is undefined at the point (lhs = {L}, rhs = {R})"
    d = L - R
    if not d.has(sp.I):
        box = None
        for dps in (80, 400, 1500):
            box = interval(d, dps)
            if box is None:
                break  # no enclosure for these operations: evalf below
            if (relation == "=" and not box.a <= 0 <= box.b) or (relation == ">=" and box.b < 0):
                return None
        if box is not None:
            return (f"interval arithmetic does not show lhs {'!=' if relation == '=' else '<'} rhs: "
                    f"lhs - rhs in {box}")
    values = []
    for digits in (60, 300):
        try:
            v = sp.N(d, digits, strict=True, maxn=6 * digits)
        except (sp.core.evalf.PrecisionExhausted, TypeError, ValueError, ZeroDivisionError, ArithmeticError):
            return f"evalf cannot guarantee lhs - rhs to {digits} digits (it may be 0)"
        if not v.is_number or v.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            return "the difference is undefined at the point"
        re_, im_ = (sp.Float(part, digits) for part in v.as_real_imag())
        values.append((re_, im_))
        if relation == "=" and re_ == 0 and im_ == 0:
            return "lhs - rhs evaluates to 0"
        if relation == ">=":
            if im_ != 0 or (L.has(sp.I) or R.has(sp.I)):
                return f"a bound needs real sides: lhs - rhs = {v}"
            if not re_ < 0:
                return f"lhs - rhs = {sp.N(re_, 8)} is not negative"
    (r1, i1), (r2, i2) = values
    gap = sp.sqrt((r1 - r2) ** 2 + (i1 - i2) ** 2)
    if gap > sp.sqrt(r2**2 + i2**2) / 1000:
        return f"lhs - rhs differs between 60 and 300 digits: {r1} + {i1} i vs {r2} + {i2} i"
    return None


# ----------------------------------------------------------------------------------------------
# completing a returned point


def _index_of(key_index: str):
    return sp.sympify(key_index, locals={"t": t})


def _t_outside_indices(exprs) -> bool:
    """Does t occur in the expressions other than inside sequence indices?"""
    for e in exprs:
        bare = e.replace(lambda a: isinstance(a, sp.Indexed), lambda a: sp.Integer(1))
        if t in bare.free_symbols:
            return True
    return False


def _uses_t(exprs) -> bool:
    return any(t in e.free_symbols or any(t in a.free_symbols for a in e.atoms(sp.Indexed)) for e in exprs)


def _plain_symbols(exprs) -> set:
    out = set()
    for e in exprs:
        for s in e.free_symbols:
            if isinstance(s, sp.Symbol) and not isinstance(s, (sp.Indexed, sp.IndexedBase)) \
                    and s != t and str(s) not in FAMILIES:
                out.add(s)
    return out


def _symbol_ok(s: sp.Symbol, v: sp.Rational) -> str | None:
    if s.is_positive and not v > 0:
        return f"{s} must be positive, got {v}"
    if s.is_nonnegative and not v >= 0:
        return f"{s} must be nonnegative, got {v}"
    if s.is_negative and not v < 0:
        return f"{s} must be negative, got {v}"
    if s.is_integer and not v.is_Integer:
        return f"{s} must be an integer, got {v}"
    return None


def _close(a: sp.Rational, b: sp.Rational) -> bool:
    return abs(a - b) <= REL_TOL * max(1, abs(a), abs(b))


def complete(cex: dict, exprs, tv: int | None):
    """The closed forms of ``exprs`` at the point ``cex`` with t = tv: (values, problem)."""
    seq: dict[tuple[str, int], sp.Rational] = {}
    plain: dict[str, sp.Rational] = {}
    for key, val in cex.items():
        key = str(key)
        v = exact(val)
        m = _KEY.match(key)
        if m:
            fam, idx = m.group(1), _index_of(m.group(2))
            if idx.free_symbols - {t}:
                return None, f"index of {key} is not t plus an integer"
            if idx.free_symbols:
                if tv is None:
                    return None, f"{key} needs t"
                idx = idx.subs(t, tv)
            mi = int(idx)
            if mi < LOW[fam]:
                return None, f"{key} at t = {tv} is {fam}[{mi}], outside the sequence"
            if (fam, mi) in seq and not _close(seq[(fam, mi)], v):
                return None, f"two values for {fam}[{mi}]: {seq[(fam, mi)]} and {v}"
            seq[(fam, mi)] = v
        elif key.strip() != "t":
            plain[key.strip()] = v
    # expressions at t = tv, sums written out: which terms are needed
    closed = []
    for e in exprs:
        e = e.subs(t, tv) if tv is not None else e
        closed.append(expand_sums(e))
    needed = set()
    for e in closed:
        for a in e.atoms(sp.Indexed):
            fam = str(a.base.label)
            if fam in FAMILIES:
                if not a.indices[0].is_Integer:
                    return None, f"{a} has a non-integer index at t = {tv}"
                mi = int(a.indices[0])
                if mi < LOW[fam]:
                    return None, f"the expression uses {fam}[{mi}], outside the sequence, at t = {tv}"
                needed.add((fam, mi))
    # alpha from beta
    for (fam, mi), v in list(seq.items()):
        if fam == "beta":
            a = 1 - v
            if ("alpha", mi) in seq and not _close(seq[("alpha", mi)], a):
                return None, f"beta[{mi}] = {v} is not 1 - alpha[{mi}] = {1 - seq[('alpha', mi)]}"
            seq.setdefault(("alpha", mi), a)
    for (fam, mi), v in seq.items():
        if fam == "alpha" and not 0 < v < 1:
            return None, f"alpha[{mi}] = {float(v)} is not in (0, 1)"
        if fam == "sigma" and not v > 0:
            return None, f"sigma[{mi}] = {float(v)} is not positive"
        if fam == "abar" and mi == 0 and not _close(v, 1):
            return None, f"abar[0] = {float(v)} but abar[0] = 1"
        if fam == "abar" and mi > 0 and not 0 < v < 1:
            return None, f"abar[{mi}] = {float(v)} is not in (0, 1)"
    top = max([mi for _, mi in needed | set(seq)] + [0])
    alphas = {mi: v for (fam, mi), v in seq.items() if fam == "alpha"}
    known_abar = {0: sp.Integer(1), **{mi: v for (fam, mi), v in seq.items() if fam == "abar" and mi > 0}}
    marks = sorted(known_abar)
    full_alpha: dict[int, sp.Rational] = {}
    for a, b in zip(marks, marks[1:]):
        ratio = known_abar[b] / known_abar[a]
        fixed = sp.Mul(*[alphas[j] for j in range(a + 1, b + 1) if j in alphas])
        free = [j for j in range(a + 1, b + 1) if j not in alphas]
        for j in range(a + 1, b + 1):
            if j in alphas:
                full_alpha[j] = alphas[j]
        if not free:
            if not _close(ratio, fixed):
                return None, (f"abar[{b}]/abar[{a}] = {float(ratio)} but alpha[{a + 1}..{b}] multiply to "
                              f"{float(fixed)} (abar[k] = abar[k-1] alpha[k])")
            continue
        rest = ratio / fixed
        if not 0 < rest < 1:
            return None, (f"abar[{b}]/abar[{a}] = {float(ratio)} needs the free alphas between to multiply to "
                          f"{float(rest)}, not in (0, 1): the point breaks the ordering of abar and alpha")
        n = len(free)
        r = sp.Rational(sp.Float(mpmath.root(mpmath.mpf(sp.Float(rest, 60)), n), 30)) if n > 1 else rest
        for j in free[:-1]:
            full_alpha[j] = r
        full_alpha[free[-1]] = rest / r ** (n - 1)
        if not 0 < full_alpha[free[-1]] < 1:
            return None, "could not complete the alphas"
    for j in range(1, top + 1):
        full_alpha.setdefault(j, alphas.get(j, sp.Rational(1, 2)))
    abar_of = {0: sp.Integer(1)}
    for j in range(1, top + 1):
        abar_of[j] = abar_of[j - 1] * full_alpha[j]
    for mi, v in known_abar.items():  # repaired: the exact product (agrees to 1e-9 by the checks above)
        if mi <= top and not _close(abar_of[mi], v):
            return None, f"abar[{mi}] = {float(v)} disagrees with the product of the alphas {float(abar_of[mi])}"
    rep = {}
    for e in closed:
        for a in e.atoms(sp.Indexed):
            fam, mi = str(a.base.label), int(a.indices[0])
            if fam == "alpha":
                rep[a] = full_alpha[mi]
            elif fam == "beta":
                rep[a] = 1 - full_alpha[mi]
            elif fam == "abar":
                rep[a] = abar_of[mi]
            elif fam == "sigma":
                rep[a] = seq.get(("sigma", mi), sp.Integer(1))
    for s in _plain_symbols(closed):
        v = plain.get(str(s))
        if v is None:  # not returned: any admissible value shows the same difference
            v = sp.Integer(2) if s.is_integer else sp.Rational(7, 5)
        problem = _symbol_ok(s, v)
        if problem:
            return None, problem
        rep[s] = v
    plain_rep = {s: v for s, v in rep.items() if not isinstance(s, sp.Indexed)}
    seq_rep = {s: v for s, v in rep.items() if isinstance(s, sp.Indexed)}
    # subs for the symbols: a bound variable of the same name (x in Integral(x, (x, 0, 1))) stays bound
    out = [_finish(e.xreplace(seq_rep).subs(plain_rep, simultaneous=True)) for e in closed]
    left = set().union(*[e.free_symbols for e in out])
    if left:
        return None, f"the point leaves {sorted(map(str, left))} free"
    return out, None


def check_counterexample(lhs, rhs, relation: str, cex: dict | None) -> str | None:
    """None when ``cex`` is a point of the domain where ``lhs = rhs`` (or ``lhs >= rhs``) certainly
    fails; else what is wrong with it."""
    if cex is None:
        return "REFUTED without a counterexample point"
    lhs, rhs = sp.sympify(lhs), sp.sympify(rhs)
    exprs = [lhs, rhs]
    keys_use_t = any(_KEY.match(str(k)) and "t" in _KEY.match(str(k)).group(2) for k in cex)
    if "t" in cex:
        tv = exact(cex["t"])
        if not (tv.is_Integer and tv >= 1):
            return f"t = {cex['t']} is not a positive integer"
        candidates = [int(tv)]
    elif _t_outside_indices(exprs):
        return "the expressions use t but the point does not give it"
    elif _uses_t(exprs) or keys_use_t:
        candidates = list(range(1, 40))
    else:
        candidates = [None]
    problems = []
    for tv in candidates:
        closed, problem = complete(cex, exprs, tv)
        if problem:
            problems.append(f"t={tv}: {problem}" if tv is not None else problem)
            continue
        problem = certainly_differ(closed[0], closed[1], relation)
        if problem is None:
            return None
        problems.append(f"t={tv}: {problem}" if tv is not None else problem)
    return f"counterexample {cex} not certified: " + "; ".join(problems[:3])


# ==============================================================================================
# the corpus
#
# Each case runs the engine lazily (``run``), so that the module imports even while the engine's
# API changes. ``expect`` is a set of outcomes:
#   "PROVED", "UNDECIDED", "REFUTED"          the verdict of compare / a derivation / an induction
#                                             (the current engine's NUMERIC counts as UNDECIDED);
#   "holds=True", "holds=False", "holds=None"  check_claim;
#   "ParseError"                               parse_expression refused the text.
# Rules: a FALSE statement is REFUTED when a point of the domain shows it with a well-conditioned
# difference, else UNDECIDED, never PROVED; a TRUE statement is PROVED when in reach (algebra, the
# slot language, declared hypotheses), else UNDECIDED, never REFUTED. A set of two verdicts is used
# only where either is honest (kept under 20% of the cases).

y = sp.Symbol("y", real=True)
p = sp.Symbol("p", positive=True)
q = sp.Symbol("q", positive=True)
s_ = sp.Symbol("s", positive=True)
u = sp.Symbol("u", real=True)
k = sp.Symbol("k", integer=True)
j = sp.Symbol("j", integer=True)
f = sp.Function("f")

PROVED, UNDECIDED, REFUTED = "PROVED", "UNDECIDED", "REFUTED"
HOLDS, WRONG, UNKNOWN = "holds=True", "holds=False", "holds=None"
REFUSED = "ParseError"


@dataclass(frozen=True)
class Case:
    id: str
    cls: str
    why: str
    run: Callable[[], object]
    expect: frozenset
    #: extra assertions on the raw result (hypotheses listed, domain narrowed, ...)
    check: Callable[[object], None] | None = None
    #: a PROVED verdict must come with a narrowed domain (the sides are undefined somewhere)
    proved_needs_domain: bool = False
    #: CPU seconds after which the case counts as a hang (a whole identity has many steps)
    guard_s: float = 30


CASES: list[Case] = []


def _eng():
    import proofs.engine as engine
    return engine


def case(cls, id, why, run, expect, check=None, proved_needs_domain=False, guard_s=30):
    expect = frozenset([expect] if isinstance(expect, str) else expect)
    CASES.append(Case(f"{cls}-{id}", cls, why, run, expect, check, proved_needs_domain, guard_s))


def cmp(lhs, rhs, **options):
    return lambda: _eng().compare(sp.sympify(lhs), sp.sympify(rhs), **options)


def bound(lhs, rhs, **options):
    """lhs >= rhs as a two-expression chain."""
    def run():
        e = _eng()
        return e.Derivation("bound", [e.Step(sp.sympify(lhs), "start"),
                                      e.Step(sp.sympify(rhs), "claim", relation=">=")], **options).check()
    return run


def chain(*steps, **options):
    """steps: (expr, step options) pairs; the first is the start."""
    def run():
        e = _eng()
        built = [e.Step(sp.sympify(expr), f"step {i}", **opts) for i, (expr, opts) in enumerate(steps)]
        return e.Derivation("chain", built, **options).check()
    return run


def induction(closed, sequence, base=1, **options):
    def run():
        e = _eng()
        return [d.check() for d in e.Induction("induction", t, closed=closed, sequence=sequence, base=base,
                                               options=options).derivations()]
    return run


def claim(identity, **text):
    def run():
        import proofs
        return proofs.check_claim(identity, **{k_: proofs.parse_expression(v) for k_, v in text.items()})
    return run


def parsed_compare(text, rhs_text):
    """Parse both texts (a refusal is an outcome), then compare."""
    def run():
        import proofs
        return _eng().compare(proofs.parse_expression(text), proofs.parse_expression(rhs_text))
    return run


def has_hypothesis(name):
    def check(result):
        hyps = result.hypotheses if hasattr(result, "hypotheses") else None
        if hyps is None and hasattr(result, "steps"):
            hyps = tuple(h for s in result.steps for h in s.hypotheses)
        assert any(name in str(h) for h in hyps), f"PROVED without listing the hypothesis {name!r}: {hyps}"
    return check


def no_narrowing(result):
    assert result.domain is None, f"needless narrowing of the domain: {result.domain!r}"


def domain_mentions(word):
    def check(result):
        assert result.domain is not None and word in result.domain, \
            f"PROVED on the whole domain, but the sides are undefined somewhere: domain = {result.domain!r}"
    return check


def _fubini_pair():
    g = (x**2 - y**2) / (x**2 + y**2) ** 2
    return sp.Integral(sp.Integral(g, (x, 0, 1)), (y, 0, 1)), sp.Integral(sp.Integral(g, (y, 0, 1)), (x, 0, 1))


I_XY, I_YX = _fubini_pair()
PRECISION_FORM = 1 / (1 / (1 - abar[t - 1]) + alpha[t] / beta[t])
POSTERIOR_VARIANCE = (1 - abar[t - 1]) / (1 - abar[t]) * beta[t]
BIG = int("7" * 100)                  # a 100-digit integer
P50A, P50B = 10**49 + 9, 10**49 + 13  # two 50-digit factors (their product has 99 digits)

# ---------------------------------------------------------------- branch cuts (x, y real, unknown sign)
C = "branch"
case(C, "log-exp-4sqrt", "x = -1: lhs = -2.28i, rhs = 4i (the issue's example)",
     cmp(sp.log(sp.exp(4 * sp.sqrt(x))), 4 * sp.sqrt(x)), REFUTED)
case(C, "log-exp-4sqrt-positive", "p > 0: exp(4 sqrt p) is real positive, log inverts it",
     cmp(sp.log(sp.exp(4 * sp.sqrt(p))), 4 * sp.sqrt(p)), PROVED)
case(C, "log-x2", "log(x^2) = 2 log x fails at x < 0 (2 pi i apart)",
     cmp(sp.log(x**2), 2 * sp.log(x)), REFUTED)
case(C, "log-x2-abs", "log(x^2) = 2 log|x| for x != 0",
     cmp(sp.log(x**2), 2 * sp.log(sp.Abs(x))), {PROVED, UNDECIDED})
case(C, "sqrt-x2", "sqrt(x^2) = |x|, not x: real values differ at x < 0",
     cmp(sp.sqrt(x**2), x), REFUTED)
case(C, "cbrt-x3", "(x^3)^(1/3) is the principal root: 0.5 + 0.87i at x = -1",
     cmp((x**3) ** sp.Rational(1, 3), x), REFUTED)
case(C, "sqrt-exp-2sqrt", "exp(2 sqrt x) wraps past the branch cut for x < -(pi/2)^2",
     cmp(sp.sqrt(sp.exp(2 * sp.sqrt(x))), sp.exp(sp.sqrt(x))), REFUTED)
case(C, "log-xy", "log(x y) = log x + log y fails for x, y < 0",
     cmp(sp.log(x * y), sp.log(x) + sp.log(y)), REFUTED)
case(C, "log-pq", "log(p q) = log p + log q for p, q > 0",
     cmp(sp.log(p * q), sp.log(p) + sp.log(q)), PROVED)
case(C, "log-abar", "log abar_t = log abar_{t-1} + log alpha_t (positive factors)",
     cmp(sp.log(abar[t]), sp.log(abar[t - 1]) + sp.log(alpha[t])), PROVED)
case(C, "log-x-over-y", "log(x/y) = log x - log y fails at x = -1, y = 1",
     cmp(sp.log(x / y), sp.log(x) - sp.log(y)), REFUTED)
case(C, "exp-log-x-times-2", "2 log x = log x^2 fails at x < 0",
     cmp(2 * sp.log(x), sp.log(x**2)), REFUTED)
case(C, "log-exp-x-tilde-i", "log(exp(x_tilde sqrt(x))) = x_tilde sqrt(x) fails when x < 0 and |x_tilde| large",
     cmp(sp.log(sp.exp(x_tilde * sp.sqrt(x))), x_tilde * sp.sqrt(x)), REFUTED)
case(C, "sqrt-abar-split", "sqrt(abar_t) = sqrt(abar_{t-1}) sqrt(alpha_t)",
     cmp(sp.sqrt(abar[t]), sp.sqrt(abar[t - 1]) * sp.sqrt(alpha[t])), PROVED)

# ---------------------------------------------------------------- radicals of unknown sign
C = "radical"
case(C, "5log-x32", "x = -1: 5 log(-i) = -5 pi i/2 but 3 log(i) = 3 pi i/2 (the issue's example)",
     cmp(5 * sp.log(x ** sp.Rational(3, 2)), 3 * sp.log(x ** sp.Rational(5, 2))), REFUTED)
case(C, "5log-p32", "p > 0: both are 15/2 log p",
     cmp(5 * sp.log(p ** sp.Rational(3, 2)), 3 * sp.log(p ** sp.Rational(5, 2))), PROVED)
case(C, "sign-sqrt", "sign(sqrt(x)) = i at x < 0 (the issue's example)",
     cmp(sp.sign(sp.sqrt(x)), 1), REFUTED)
case(C, "sqrt-xy", "sqrt(x y) = sqrt(x) sqrt(y) fails at x = y = -1 (1 vs -1)",
     cmp(sp.sqrt(x * y), sp.sqrt(x) * sp.sqrt(y)), REFUTED)
case(C, "sqrt-x-over-y", "sqrt(x)/sqrt(y) = sqrt(x/y) fails at x = 1, y = -1 (-i vs i)",
     cmp(sp.sqrt(x) / sp.sqrt(y), sp.sqrt(x / y)), REFUTED)
case(C, "sqrt-x3", "sqrt(x^3) = x sqrt(x) fails at x = -1 (i vs -i)",
     cmp(sp.sqrt(x**3), x * sp.sqrt(x)), REFUTED)
case(C, "fourth-root-x2", "(x^2)^(1/4) = sqrt(x) fails at x < 0 (real vs imaginary)",
     cmp((x**2) ** sp.Rational(1, 4), sp.sqrt(x)), REFUTED)
case(C, "abs-sqrt", "|sqrt x| = sqrt x fails at x < 0",
     cmp(sp.Abs(sp.sqrt(x)), sp.sqrt(x)), REFUTED)
case(C, "sqrt-x2-y", "sqrt(x^2 q) = x sqrt q fails at x < 0",
     cmp(sp.sqrt(x**2 * q), x * sp.sqrt(q)), REFUTED)
case(C, "sqrt-x-sqrt-x3", "sqrt(x) sqrt(x^3) = x^2 fails at x = -1 (-1 vs 1)",
     cmp(sp.sqrt(x) * sp.sqrt(x**3), x**2), REFUTED)
case(C, "two-negative-radicands", "both radicands are negative on the whole domain: lhs = -sqrt(ab), rhs = +sqrt(ab)",
     cmp(sp.sqrt(abar[t] - 1) * sp.sqrt(alpha[t] - 1), sp.sqrt((1 - abar[t]) * (1 - alpha[t]))), REFUTED)
case(C, "positive-radicands", "both radicands positive: the split is sound",
     cmp(sp.sqrt(1 - abar[t]) * sp.sqrt(1 + abar[t]), sp.sqrt(1 - abar[t] ** 2)), PROVED)
case(C, "sqrt-p3", "p > 0: sqrt(p^3) = p sqrt p", cmp(sp.sqrt(p**3), p * sp.sqrt(p)), PROVED)
case(C, "sqrt-beta-over-1-abar", "ratio of positive radicands",
     cmp(sp.sqrt(beta[t]) / sp.sqrt(1 - abar[t]), sp.sqrt(beta[t] / (1 - abar[t]))), PROVED)
case(C, "x32-over-sqrtx", "x^(3/2)/sqrt(x) = x for every x != 0 (principal branch: exp(Log x))",
     cmp(x ** sp.Rational(3, 2) / sp.sqrt(x), x), PROVED)

# ---------------------------------------------------------------- Fubini and differentiation under the integral
C = "fubini"
case(C, "counterexample-undeclared", "the iterated integrals are pi/4 and -pi/4; reordering needs Fubini, "
     "which is not declared (and false here)", cmp(I_XY, I_YX), UNDECIDED)
case(C, "counterexample-declared", "declared, the reorder is PROVED under the stated hypothesis",
     cmp(I_XY, I_YX, hypotheses=("fubini",)), PROVED, check=has_hypothesis("fubini"))
case(C, "counterexample-declared-on-step", "the hypothesis declared on the step",
     chain((I_XY, {}), (I_YX, {"hypotheses": ("fubini",)})), PROVED, check=has_hypothesis("fubini"))
case(C, "polynomial-undeclared", "true (continuous integrand on a box), but the reorder is a Fubini step",
     cmp(sp.Integral(sp.Integral(x * y**2, (x, 0, 1)), (y, 0, 1)),
         sp.Integral(sp.Integral(x * y**2, (y, 0, 1)), (x, 0, 1))), {PROVED, UNDECIDED})
case(C, "polynomial-declared", "declared: PROVED, listing fubini",
     cmp(sp.Integral(sp.Integral(x * y**2, (x, 0, 1)), (y, 0, 1)),
         sp.Integral(sp.Integral(x * y**2, (y, 0, 1)), (x, 0, 1)), hypotheses=("fubini",)),
     PROVED, check=has_hypothesis("fubini"))
case(C, "product-merge-undeclared", "a product of integrals as a double integral is Fubini-Tonelli",
     cmp(sp.Integral(sp.exp(-x**2), (x, 0, 1)) * sp.Integral(sp.exp(-y**2), (y, 0, 1)),
         sp.Integral(sp.exp(-x**2 - y**2), (x, 0, 1), (y, 0, 1))), UNDECIDED)
case(C, "product-merge-declared", "declared: PROVED, listing fubini",
     cmp(sp.Integral(sp.exp(-x**2), (x, 0, 1)) * sp.Integral(sp.exp(-y**2), (y, 0, 1)),
         sp.Integral(sp.exp(-x**2 - y**2), (x, 0, 1), (y, 0, 1)), hypotheses=("fubini",)),
     PROVED, check=has_hypothesis("fubini"))
case(C, "fubini-does-not-give-leibniz", "declaring fubini does not license differentiating under the integral",
     cmp(sp.Derivative(sp.Integral(sp.exp(-s_ * u**2), (u, 0, 1)), s_),
         sp.Integral(-u**2 * sp.exp(-s_ * u**2), (u, 0, 1)), hypotheses=("fubini",)), UNDECIDED)
case(C, "leibniz-undeclared", "d/ds under the integral sign needs the leibniz hypothesis",
     cmp(sp.Derivative(sp.Integral(sp.exp(-s_ * u**2), (u, 0, 1)), s_),
         sp.Integral(-u**2 * sp.exp(-s_ * u**2), (u, 0, 1))), UNDECIDED)
case(C, "leibniz-declared", "declared: PROVED, listing leibniz",
     cmp(sp.Derivative(sp.Integral(sp.exp(-s_ * u**2), (u, 0, 1)), s_),
         sp.Integral(-u**2 * sp.exp(-s_ * u**2), (u, 0, 1)), hypotheses=("leibniz",)),
     PROVED, check=has_hypothesis("leibniz"))
case(C, "leibniz-dirichlet", "d/ds int_0^oo sin(su)/u du = 0 for s > 0, but int cos(su) du diverges",
     cmp(sp.Derivative(sp.Integral(sp.sin(s_ * u) / u, (u, 0, sp.oo)), s_),
         sp.Integral(sp.cos(s_ * u), (u, 0, sp.oo))), UNDECIDED)
case(C, "merge-divergent", "int (1+u)/u - int 1/u is oo - oo on (0, 1); merging them into int 1 = 1 "
     "needs integrability", cmp(sp.Integral((1 + u) / u, (u, 0, 1)) - sp.Integral(1 / u, (u, 0, 1)), 1), UNDECIDED)
case(C, "constant-factor", "a constant factor leaves an integral: no hypothesis needed",
     cmp(sp.Integral(2 * x**2, (x, 0, 1)), 2 * sp.Integral(x**2, (x, 0, 1))), PROVED)
case(C, "dsm-identity", "the DSM identity (which declares its Fubini/Leibniz steps) stays PROVED",
     lambda: __import__("proofs").IDENTITIES["dsm"].check(), PROVED, guard_s=180)
case(C, "tweedie-identity", "Tweedie's lemma (differentiation under the integral) stays PROVED",
     lambda: __import__("proofs").IDENTITIES["tweedie"].check(), PROVED, guard_s=180)

# ---------------------------------------------------------------- empty sums (standard convention: 0)
C = "empty-sum"
case(C, "karr-compare", "sum_{k=3}^t 1 = t - 2 is false at t = 1 (0 vs -1)",
     cmp(sp.Sum(1, (k, 3, t)), t - 2), REFUTED)
case(C, "karr-induction", "the same by induction from t = 1: the base case fails (the issue's example)",
     induction(t - 2, sp.Sum(1, (k, 3, t))), REFUTED)
case(C, "karr-induction-from-3", "from t = 3 the statement is true",
     induction(t - 2, sp.Sum(1, (k, 3, t)), base=3), PROVED)
case(C, "sum-k-from-3", "sum_{k=3}^t k = t(t+1)/2 - 3 is false at t = 1 (0 vs -2)",
     cmp(sp.Sum(k, (k, 3, t)), t * (t + 1) / 2 - 3), REFUTED)
case(C, "sum-k-from-3-induction", "the same by induction from t = 1",
     induction(t * (t + 1) / 2 - 3, sp.Sum(k, (k, 3, t))), REFUTED)
case(C, "empty-1-0", "sum_{k=1}^0 alpha_k = 0", cmp(sp.Sum(alpha[k], (k, 1, 0)), 0), PROVED)
case(C, "empty-shifted", "sum_{k=t+1}^t alpha_k = 0 for every t", cmp(sp.Sum(alpha[k], (k, t + 1, t)), 0), PROVED)
case(C, "karr-reversed", "Karr would give -beta_{t+1}; the empty sum is 0",
     cmp(sp.Sum(beta[k], (k, t + 2, t)), -beta[t + 1]), REFUTED)
case(C, "t-minus-1", "sum_{k=1}^{t-1} 1 = t - 1 holds at t = 1 too (empty = 0)",
     cmp(sp.Sum(1, (k, 1, t - 1)), t - 1), PROVED)
case(C, "from-2", "sum_{k=2}^t 1 = t - 1 holds at t = 1 (0 = 0)", cmp(sp.Sum(1, (k, 2, t)), t - 1), PROVED)
case(C, "split-at-4", "sum_5^t alpha = sum_1^t alpha - sum_1^4 alpha fails for t < 4",
     cmp(sp.Sum(alpha[k], (k, 5, t)), sp.Sum(alpha[k], (k, 1, t)) - sp.Sum(alpha[k], (k, 1, 4))), REFUTED)
case(C, "peel-first", "sum_2^t alpha = sum_1^t alpha - alpha_1 for every t >= 1",
     cmp(sp.Sum(alpha[k], (k, 2, t)), sp.Sum(alpha[k], (k, 1, t)) - alpha[1]), PROVED)
case(C, "geometric-induction", "(x - 1) sum_0^{t-1} x^k = x^t - 1 by induction",
     induction(x**t - 1, (x - 1) * sp.Sum(x**k, (k, 0, t - 1))), PROVED)
case(C, "karr-induction-alpha", "sum_{k=3}^t beta_k + beta_1 + beta_2 = sum_1^t beta_k is false at t = 1",
     induction(sp.Sum(beta[k], (k, 1, t)), sp.Sum(beta[k], (k, 3, t)) + beta[1] + beta[2]), REFUTED)

# ---------------------------------------------------------------- unchecked premises
C = "premise"
case(C, "gaussian-variance-unknown-sign", "E[V^2] for V ~ N(0, x) is x only when x > 0: with x real of unknown "
     "sign the moments rule (side condition: variance > 0) must not fire",
     cmp(__import__("proofs").GaussianExpectation(y**2, y, 0, x), x), UNDECIDED)
case(C, "gaussian-variance-positive", "E[V^2] for V ~ N(0, 1 - abar_t) is 1 - abar_t (variance proved positive)",
     cmp(__import__("proofs").GaussianExpectation(y**2, y, 0, 1 - abar[t]), 1 - abar[t]), PROVED)
case(C, "given-abar-1", "given abar_t = 1 is false on the domain (abar_t < 1): it proves nothing",
     chain((abar[t], {}), (sp.Integer(1), {"given": {abar[t]: 1}})), REFUTED)
case(C, "given-alpha-abar", "given alpha_t = abar_t holds only at t = 1",
     chain((alpha[t], {}), (abar[t], {"given": {alpha[t]: abar[t]}})), REFUTED)
case(C, "given-x-minus-x", "given x = -x (x real) is false off 0",
     chain((x**3 + x, {}), (-x**3 - x, {"given": {x: -x}})), REFUTED)
case(C, "given-true-recurrence", "given abar_t = abar_{t-1} alpha_t is true, so the step is PROVED",
     chain((sp.sqrt(abar[t]), {}), (sp.sqrt(abar[t - 1]) * sp.sqrt(alpha[t]), {"given": {abar[t]: abar[t - 1] * alpha[t]}})),
     PROVED)
case(C, "given-lemma-listed", "an undecidable lemma f(x) = x^2 is listed as a hypothesis",
     chain((f(x) + 1, {}), (x**2 + 1, {"given": {f(x): x**2}})), PROVED, check=has_hypothesis("f(x)"))
case(C, "jensen-reversed-no-random", "E[x]^2 >= E[x^2] with no random symbols declared (false: Jensen)",
     lambda: _eng().Derivation("jensen", [_eng().Step(_eng().Expectation(x) ** 2, "start"),
                                          _eng().Step(_eng().Expectation(x**2), "claim", relation=">=")]).check(),
     UNDECIDED)
case(C, "jensen-reversed-random", "the same with x declared random: false in general, no domain point shows it",
     lambda: _eng().Derivation("jensen", [_eng().Step(_eng().Expectation(x) ** 2, "start"),
                                          _eng().Step(_eng().Expectation(x**2), "claim", relation=">=")],
                               random=(x,)).check(), UNDECIDED)
case(C, "square-of-mean-random", "E[x]^2 = E[x^2] is false in general (the variance)",
     lambda: _eng().compare(_eng().Expectation(x) ** 2, _eng().Expectation(x**2), random=(x,)), UNDECIDED)
case(C, "constant-out-no-random", "E[x x_tilde] = x E[x_tilde] needs to know x is not random",
     lambda: _eng().compare(_eng().Expectation(x * x_tilde), x * _eng().Expectation(x_tilde)), UNDECIDED)
case(C, "linearity-random", "E[2x + 3] = 2E[x] + 3 with x random: linearity",
     lambda: _eng().compare(_eng().Expectation(2 * x + 3), 2 * _eng().Expectation(x) + 3, random=(x,)), PROVED)
case(C, "constant-out-random", "E[x_tilde x] = x_tilde E[x] with only x random",
     lambda: _eng().compare(_eng().Expectation(x * x_tilde), x_tilde * _eng().Expectation(x), random=(x,)), PROVED)
case(C, "one-step-chain", "a chain with one expression and no link proves nothing",
     lambda: _eng().Derivation("one", [_eng().Step(abar[t], "start")]).check(), UNDECIDED)
case(C, "one-step-chain-false-looking", "a one-step chain of a false-looking expression proves nothing either",
     lambda: _eng().Derivation("one", [_eng().Step(sp.log(sp.exp(4 * sp.sqrt(x))) - 4 * sp.sqrt(x), "start")]).check(),
     UNDECIDED)
case(C, "given-false-then-true", "a false premise in the middle of a chain spoils the chain",
     chain((abar[t] ** 2, {}), (abar[t], {"given": {abar[t] ** 2: abar[t]}}), (abar[t], {})), REFUTED)

# ---------------------------------------------------------------- undefined points
C = "undefined"
case(C, "precision-form", "the README's precision form divides by zero at t = 1 (abar_0 = 1): PROVED only for t >= 2",
     cmp(PRECISION_FORM, POSTERIOR_VARIANCE), PROVED, check=domain_mentions("t"), proved_needs_domain=True)
case(C, "precision-form-sum", "1/(1 - abar_{t-1}) + alpha_t/beta_t: both sides undefined at t = 1",
     cmp(1 / (1 - abar[t - 1]) + alpha[t] / beta[t], (1 - abar[t]) / ((1 - abar[t - 1]) * beta[t])),
     {PROVED, UNDECIDED}, proved_needs_domain=True)
case(C, "zero-over-zero-t1", "(abar_{t-1} - abar_{t-1}^2)/(1 - abar_{t-1}) is 0/0 at t = 1",
     cmp((abar[t - 1] - abar[t - 1] ** 2) / (1 - abar[t - 1]), abar[t - 1]), {PROVED, UNDECIDED},
     proved_needs_domain=True)
case(C, "cancel-t1", "(beta_t - beta_t abar_{t-1})/(1 - abar_{t-1}) = beta_t, except at t = 1 (0/0)",
     cmp((beta[t] - beta[t] * abar[t - 1]) / (1 - abar[t - 1]), beta[t]),
     {PROVED, UNDECIDED}, proved_needs_domain=True)
case(C, "reciprocals-t1", "1/(abar_{t-1} - 1) + 1/(1 - abar_{t-1}) = 0 except at t = 1",
     cmp(1 / (abar[t - 1] - 1) + 1 / (1 - abar[t - 1]), 0), {PROVED, UNDECIDED}, proved_needs_domain=True)
case(C, "log-of-zero-t1", "log(1 - abar_{t-1}) + log alpha_t = log(alpha_t - abar_t): log 0 at t = 1",
     cmp(sp.log(1 - abar[t - 1]) + sp.log(alpha[t]), sp.log(alpha[t] - abar[t])), {PROVED, UNDECIDED},
     proved_needs_domain=True)
case(C, "log-negative", "log(abar_t - alpha_t) is the log of a non-positive number on the whole domain",
     cmp(sp.log(abar[t] - alpha[t]), sp.log(alpha[t] - abar[t])), REFUTED)
case(C, "log-negative-zero", "log(abar_t - alpha_t) = 0 is false wherever it is defined",
     cmp(sp.log(abar[t] - alpha[t]), 0), REFUTED)
case(C, "sqrt-negative", "sqrt(abar_t - alpha_t) is imaginary for t >= 2",
     cmp(sp.sqrt(abar[t] - alpha[t]), 0), REFUTED)
case(C, "log-negative-i-pi", "log(abar_t - alpha_t) - log(alpha_t - abar_t) = i pi for t >= 2 (principal branch); "
     "log 0 at t = 1", cmp(sp.log(abar[t] - alpha[t]) - sp.log(alpha[t] - abar[t]), sp.I * sp.pi),
     {PROVED, UNDECIDED}, proved_needs_domain=True)
case(C, "defined-everywhere", "(1 - abar_t)/(1 - abar_t) needs no narrowing: abar_t < 1 for t >= 1",
     cmp((1 - abar[t]) * beta[t] / ((1 - abar[t]) * (1 - alpha[t])), 1), PROVED,
     check=lambda r: no_narrowing(r))
case(C, "x-over-x", "(x^3 + x)/((x^2 + 1) x) = 1 for real x != 0 (0/0 at x = 0 only)",
     cmp((x**3 + x) / ((x**2 + 1) * x), 1), {PROVED, UNDECIDED})

# ---------------------------------------------------------------- boundary t
C = "boundary-t"
WRONG_FROM_14 = sp.Mul(*[(t - i) for i in range(1, 14)])  # 0 for t = 1..13, 13! at t = 14
case(C, "sign-only-t1", "1 - sign(1 - abar_{t-1}) is 1 at t = 1 and 0 for t >= 2",
     cmp(POSTERIOR_VARIANCE, POSTERIOR_VARIANCE + 1 - sp.sign(1 - abar[t - 1])), REFUTED)
case(C, "zero-power-t1", "0^(t-1) is 1 at t = 1 only",
     cmp(abar[t], abar[t] + 0 ** (t - 1)), REFUTED)
case(C, "sum-only-t1", "sum_3^t alpha + alpha_1 + alpha_2 = sum_1^t alpha fails only at t = 1",
     cmp(sp.Sum(alpha[k], (k, 3, t)) + alpha[1] + alpha[2], sp.Sum(alpha[k], (k, 1, t))), REFUTED)
case(C, "polynomial-from-14", "(t-1)(t-2)...(t-13) is 0 for t <= 13 and 13! at t = 14",
     cmp(abar[t], abar[t] + WRONG_FROM_14), REFUTED)
case(C, "polynomial-from-41", "(t-1)...(t-40) vanishes for t <= 40 only",
     cmp(sp.sqrt(abar[t]), sp.sqrt(abar[t]) + sp.Mul(*[(t - i) for i in range(1, 41)])), REFUTED)
case(C, "max-from-14", "max(0, t - 13) is 0 for t <= 13",
     cmp(1 - abar[t], 1 - abar[t] + sp.Max(0, t - 13)), REFUTED)
case(C, "scale-from-15", "max(1, t - 13) is 1 for t <= 14",
     cmp(abar[t], abar[t] * sp.Max(1, t - 13)), REFUTED)
case(C, "abar-equals-alpha", "abar_t = alpha_t holds only at t = 1",
     cmp(abar[t], alpha[t]), REFUTED)
case(C, "abar-prev-is-1", "abar_{t-1} = 1 holds only at t = 1",
     cmp(abar[t - 1], 1), REFUTED)
case(C, "t-minus-1-times", "(1 - abar_{t-1})(t - 1) = 0 holds only at t = 1",
     cmp((1 - abar[t - 1]) * (t - 1), 0), REFUTED)
case(C, "alpha2-bound", "alpha_2 >= abar_t fails at t = 1 when alpha_1 > alpha_2",
     bound(alpha[2], abar[t]), REFUTED)
case(C, "sqrt-product-t1", "sqrt(abar_{t-1}) sqrt(1 - abar_{t-1}) = sqrt(abar_{t-1} - abar_{t-1}^2), t = 1 included",
     cmp(sp.sqrt(abar[t - 1]) * sp.sqrt(1 - abar[t - 1]), sp.sqrt(abar[t - 1] - abar[t - 1] ** 2)), PROVED)
case(C, "shift-13", "abar_{t+13} = abar_t alpha_{t+1} ... alpha_{t+13}",
     cmp(abar[t + 13], abar[t] * sp.Mul(*[alpha[t + i] for i in range(1, 14)])), PROVED)
case(C, "peel-last", "sum_1^t alpha - sum_1^{t-1} alpha = alpha_t (t = 1: empty sum)",
     cmp(sp.Sum(alpha[k], (k, 1, t)) - sp.Sum(alpha[k], (k, 1, t - 1)), alpha[t]), PROVED)

# ---------------------------------------------------------------- terminal SNR (abar < 0.01) and other extremes
C = "terminal-snr"
TINY = sp.Rational(1, 100)
case(C, "max-below-0.01", "max(0, 1/100 - abar_t) is 0 unless abar_t < 0.01",
     cmp(1 - abar[t], 1 - abar[t] + sp.Max(0, TINY - abar[t])), REFUTED)
case(C, "sign-below-0.01", "1 - sign(abar_t - 1/100) is 0 for abar_t > 0.01",
     cmp(sp.sqrt(abar[t]), sp.sqrt(abar[t]) + 1 - sp.sign(abar[t] - TINY)), REFUTED)
case(C, "power-100", "(1/(100 abar_t))^100 is below 1e-30 for abar_t >= 0.02, large for abar_t < 0.01",
     cmp(abar[t] / (1 - abar[t]), abar[t] / (1 - abar[t]) + (1 / (100 * abar[t])) ** 100), REFUTED)
case(C, "exp-minus-10000", "exp(-10^4 abar_t) is below 1e-80 for abar_t > 0.02",
     cmp(sp.log(1 - abar[t]), sp.log(1 - abar[t]) + sp.exp(-10000 * abar[t])), REFUTED)
case(C, "sqrt-plus-1e-3", "sqrt(abar_t + 1e-3) vs sqrt(abar_t): far apart at terminal SNR",
     cmp(sp.sqrt(abar[t]), sp.sqrt(abar[t] + sp.Rational(1, 1000))), REFUTED)
case(C, "exp-steep", "exp(-(100 abar_t)^8) is below 1e-100 for abar_t >= 0.02 and near 1 for abar_t < 0.005",
     cmp(1 / abar[t], 1 / abar[t] + sp.exp(-(100 * abar[t]) ** 8)), REFUTED)
case(C, "alpha-below-1e-3", "max(0, 1/1000 - alpha_t): wrong only for tiny alpha",
     cmp(beta[t], beta[t] + sp.Max(0, sp.Rational(1, 1000) - alpha[t])), REFUTED)
case(C, "abar-above-0.999", "max(0, abar_t - 0.999): wrong only near abar = 1",
     cmp(abar[t], abar[t] + sp.Max(0, abar[t] - sp.Rational(999, 1000))), REFUTED)
case(C, "noise-std-small", "max(0, 1/1000 - noise_std): wrong only for sigma < 1e-3",
     cmp(noise_std**2, noise_std**2 + sp.Max(0, sp.Rational(1, 1000) - noise_std)), REFUTED)
case(C, "noise-std-large", "max(0, noise_std - 50): wrong only for sigma > 50",
     cmp(1 / noise_std, 1 / noise_std + sp.Max(0, noise_std - 50)), REFUTED)
case(C, "x-large", "max(0, |x| - 100): wrong only for |x| > 100",
     cmp(x**2, x**2 + sp.Max(0, sp.Abs(x) - 100)), REFUTED)
case(C, "x-large-negative", "max(0, -x - 100): wrong only for x < -100",
     cmp(x, x + sp.Max(0, -x - 100)), REFUTED)
case(C, "snr-identity", "abar/(1 - abar) (1/abar - 1) = 1 everywhere, terminal SNR included",
     cmp(abar[t] / (1 - abar[t]) * (1 / abar[t] - 1), 1), PROVED)

# ---------------------------------------------------------------- precision loss
C = "precision"
case(C, "cosh-sinh", "cosh(100x)^2 - sinh(100x)^2 = 1 is TRUE; lhs loses all precision in floats",
     cmp(sp.cosh(100 * x) ** 2 - sp.sinh(100 * x) ** 2, 1), {PROVED, UNDECIDED})
case(C, "cosh-sinh-1e-40", "cosh^2 - sinh^2 = 1 + 10^-40 is FALSE",
     cmp(sp.cosh(100 * x) ** 2 - sp.sinh(100 * x) ** 2, 1 + sp.Rational(1, 10**40)), {REFUTED, UNDECIDED})
case(C, "plus-1e-40", "abar_t = abar_t + 10^-40 is false by exactly 10^-40",
     cmp(POSTERIOR_VARIANCE, POSTERIOR_VARIANCE + sp.Rational(1, 10**40)), REFUTED)
case(C, "plus-1e-40-relative", "x^2 + 1 = (x^2 + 1)(1 + 10^-40)",
     cmp(x**2 + 1, (x**2 + 1) * (1 + sp.Rational(1, 10**40))), REFUTED)
case(C, "square-missing-1e-60", "(1 + 10^-30)^2 = 1 + 2 10^-30 misses 10^-60",
     cmp(abar[t] * (1 + sp.Rational(1, 10**30)) ** 2, abar[t] * (1 + 2 * sp.Rational(1, 10**30))), REFUTED)
case(C, "square-exact", "(1 + 10^-30)^2 = 1 + 2 10^-30 + 10^-60",
     cmp(abar[t] * (1 + sp.Rational(1, 10**30)) ** 2, abar[t] * (1 + 2 * sp.Rational(1, 10**30) + sp.Rational(1, 10**60))),
     PROVED)
case(C, "softplus", "log(1 + e^{200x}) - 200x = log(1 + e^{-200x}) for real x (cancels catastrophically in floats)",
     cmp(sp.log(1 + sp.exp(200 * x)) - 200 * x, sp.log(1 + sp.exp(-200 * x))), {PROVED, UNDECIDED})
case(C, "one-minus-abar-over", "1/(1 - abar) - abar/(1 - abar) = 1 (abar near 1 loses precision)",
     cmp(1 / (1 - abar[t]) - abar[t] / (1 - abar[t]), 1), PROVED)
case(C, "exp-ratio", "(e^{1000x} + 1)/e^{999x} = e^x + e^{-999x}",
     cmp((sp.exp(1000 * x) + 1) / sp.exp(999 * x), sp.exp(x) + sp.exp(-999 * x)), PROVED)
case(C, "sqrt-x2-plus-tiny", "sqrt(x^2 + 10^-40) = |x| is false (1e-20 at x = 0)",
     cmp(sp.sqrt(x**2 + sp.Rational(1, 10**40)), sp.Abs(x)), {REFUTED, UNDECIDED})
case(C, "big-cancellation-true", "(x + 10^20)^2 - 10^40 - 2 10^20 x = x^2",
     cmp((x + 10**20) ** 2 - 10**40 - 2 * 10**20 * x, x**2), PROVED)
case(C, "big-cancellation-false", "(x + 10^20)^2 - 10^40 - 2 10^20 x = x^2 + 1 is false by exactly 1",
     cmp((x + 10**20) ** 2 - 10**40 - 2 * 10**20 * x, x**2 + 1), REFUTED)
case(C, "beta-tiny", "beta_t/(1 - alpha_t) = 1, alpha near 1 included", cmp(beta[t] / (1 - alpha[t]), 1), PROVED)

# ---------------------------------------------------------------- false alarms (true statements)
C = "false-alarm"
case(C, "alpha1-ge-abar", "alpha_1 >= abar_t for every t >= 1 (the issue's false alarm)",
     bound(alpha[1], abar[t]), {PROVED, UNDECIDED})
case(C, "alpha1-ge-abar-next", "alpha_1 >= abar_{t+1}", bound(alpha[1], abar[t + 1]), {PROVED, UNDECIDED})
case(C, "alpha-t-ge-abar", "alpha_t >= abar_t = abar_{t-1} alpha_t", bound(alpha[t], abar[t]), PROVED)
case(C, "abar-decreasing", "abar_{t-1} >= abar_t", bound(abar[t - 1], abar[t]), PROVED)
case(C, "abar-le-1", "1 >= abar_t", bound(sp.Integer(1), abar[t]), PROVED)
case(C, "abar-decreasing-next", "abar_t >= abar_{t+1}", bound(abar[t], abar[t + 1]), PROVED)
case(C, "rename-integral", "renaming the bound variable of an integral",
     cmp(sp.Integral(sp.exp(-x**2) * x**2, (x, 0, 1)), sp.Integral(sp.exp(-u**2) * u**2, (u, 0, 1))), PROVED)
case(C, "rename-sum", "renaming the bound variable of a sum",
     cmp(sp.Sum(alpha[k] * beta[k], (k, 1, t)), sp.Sum(alpha[j] * beta[j], (j, 1, t))), PROVED)
case(C, "integral-x2", "int_0^1 x^2 dx = 1/3", cmp(sp.Integral(x**2, (x, 0, 1)), sp.Rational(1, 3)), {PROVED, UNDECIDED})
case(C, "gaussian-integral", "int exp(-u^2/2) du = sqrt(2 pi)",
     cmp(sp.Integral(sp.exp(-u**2 / 2), (u, -sp.oo, sp.oo)), sp.sqrt(2 * sp.pi)), {PROVED, UNDECIDED})
case(C, "constant-times-integral", "x int_0^1 dy = int_0^1 x dy",
     cmp(x * sp.Integral(1, (y, 0, 1)), sp.Integral(x, (y, 0, 1))), PROVED)
case(C, "captured-variable", "x int_0^1 dx = int_0^1 x dx is FALSE (x vs 1/2): the bound x is not the free x",
     cmp(x * sp.Integral(1, (x, 0, 1)), sp.Integral(x, (x, 0, 1))), {REFUTED, UNDECIDED})
case(C, "derivative", "d/dx_tilde of -(x_tilde - x)^2/(2 sigma^2) is (x - x_tilde)/sigma^2",
     cmp(sp.Derivative(-(x_tilde - x) ** 2 / (2 * noise_std**2), x_tilde), (x - x_tilde) / noise_std**2), PROVED)
case(C, "sum-beta-ge", "sum_1^t beta_k >= beta_t", bound(sp.Sum(beta[k], (k, 1, t)), beta[t]), {PROVED, UNDECIDED})

# ---------------------------------------------------------------- cost: answer within the budget, or be refused
C = "cost"
case(C, "log-100-digits", "log(N p) = log N + log p for a 100-digit N: no factorisation of N",
     cmp(sp.log(BIG * p), sp.log(BIG) + sp.log(p)), PROVED)
case(C, "log-product-99-digits", "log(P Q) = log P + log Q for two 50-digit integers (no factorisation needed)",
     cmp(sp.log(sp.Integer(P50A * P50B)), sp.log(sp.Integer(P50A)) + sp.log(sp.Integer(P50B))), {PROVED, UNDECIDED})
case(C, "log-100-digits-false", "log N = 100 log 10 for N = 77...7 (100 digits) is false",
     cmp(sp.log(sp.Integer(BIG)), 100 * sp.log(10)), {REFUTED, UNDECIDED})
case(C, "log-N-vs-N-plus-1", "log N = log(N + 1) differs by 1e-100: certifying it needs > 100 digits",
     cmp(sp.log(sp.Integer(BIG)), sp.log(sp.Integer(BIG + 1))), {REFUTED, UNDECIDED})
case(C, "noise-std-powers", "noise_std^(9999/10000) noise_std^(9998/9999) = noise_std^2 is false",
     cmp(noise_std ** sp.Rational(9999, 10000) * noise_std ** sp.Rational(9998, 9999), noise_std**2), {REFUTED, UNDECIDED})
case(C, "noise-std-powers-true", "the same with the exact exponent 199960001/99990000",
     cmp(noise_std ** sp.Rational(9999, 10000) * noise_std ** sp.Rational(9998, 9999),
         noise_std ** sp.Rational(199960001, 99990000)), PROVED)
case(C, "radical-degree", "(r + 1)^2 = r^2 + 2r + 1 with r = noise_std^(1/9999) (a radical of high degree)",
     cmp((noise_std ** sp.Rational(1, 9999) + 1) ** 2,
         noise_std ** sp.Rational(2, 9999) + 2 * noise_std ** sp.Rational(1, 9999) + 1), {PROVED, UNDECIDED})
case(C, "abar-t-plus-300", "abar_{t+300} = abar_{t+299} alpha_{t+300}",
     cmp(abar[t + 300], abar[t + 299] * alpha[t + 300]), {PROVED, UNDECIDED})
case(C, "abar-t-plus-1000", "abar_{t+1000} = abar_t is false",
     cmp(abar[t + 1000], abar[t]), {REFUTED, UNDECIDED})
case(C, "parse-abar-t-plus-300", "index offset 300 > 64 is refused by the parser",
     lambda: __import__("proofs").parse_expression("abar[t+300]"), REFUSED)
case(C, "parse-abar-t-plus-1000", "index offset 1000 is refused by the parser",
     lambda: __import__("proofs").parse_expression("abar[t+1000]*alpha[t-1000]"), REFUSED)
case(C, "parse-huge-integer", "a 1500-digit integer is refused by the parser",
     lambda: __import__("proofs").parse_expression("log(" + "7" * 1500 + ")"), REFUSED)
case(C, "parse-huge-denominator", "an exponent denominator of 10^9 is refused by the parser",
     lambda: __import__("proofs").parse_expression("noise_std^(1/1000000000)"), REFUSED)
case(C, "parse-offset-64", "offset 64 is within the documented bound: parsed and PROVED",
     parsed_compare("abar[t+64]", "abar[t+63]*alpha[t+64]"), PROVED)
case(C, "parse-noise-std-powers", "the issue's hostile claim text: refused, or answered (false)",
     parsed_compare("noise_std^(9999/10000)*noise_std^(9998/9999)", "noise_std^2"), {REFUSED, REFUTED, UNDECIDED})
case(C, "parse-log-100-digits", "log of a 100-digit integer through the parser: refused, or answered (true)",
     parsed_compare("log(2*" + str(BIG) + ")", "log(" + str(BIG) + ")+log(2)"), {REFUSED, PROVED, UNDECIDED})
case(C, "expand-power-200", "(1 + x)^200 = its expansion", cmp((1 + x) ** 200, sp.expand((1 + x) ** 200)), {PROVED, UNDECIDED})
case(C, "power-100000", "(x + 1)^100000 = (x^2 + 2x + 1)^50000: must not expand into 10^5 terms and hang",
     cmp((x + 1) ** 100000, (x**2 + 2 * x + 1) ** 50000), {PROVED, UNDECIDED})
case(C, "exp-tower", "exp(exp(exp(x))) = exp(exp(exp(x))) + 1 is false",
     cmp(sp.exp(sp.exp(sp.exp(x))), sp.exp(sp.exp(sp.exp(x))) + 1), REFUTED)

# ---------------------------------------------------------------- further adversarial cases (added classes' members)
case("terminal-snr", "max-below-1e-12", "max(0, 10^-12 - abar_t): wrong only below the search's 1e-8 floor; never PROVED",
     cmp(abar[t], abar[t] + sp.Max(0, sp.Rational(1, 10**12) - abar[t])), {REFUTED, UNDECIDED})
case("boundary-t", "max-from-20001", "max(0, t - 20000): wrong only beyond t = 10^4; never PROVED",
     cmp(abar[t], abar[t] + sp.Max(0, t - 20000)), {REFUTED, UNDECIDED})
case("boundary-t", "abar-is-alpha-power", "abar_t = alpha_t^t is false once alpha_1 != alpha_2 (t = 2)",
     cmp(abar[t], alpha[t] ** t), REFUTED)
case("undefined", "sum-below-index-1", "sum_{k=t-2}^t alpha_k uses alpha_0, alpha_{-1} at t = 1, 2",
     cmp(sp.Sum(alpha[k], (k, t - 2, t)), alpha[t - 2] + alpha[t - 1] + alpha[t]), {PROVED, UNDECIDED},
     proved_needs_domain=True)
case("cost", "log-30-digit-semiprime", "log(P Q) for a 30-digit semiprime: factorisation must stay within the budget",
     cmp(sp.log(sp.Integer(100000000000031 * 100000000000067)),
         sp.log(sp.Integer(100000000000031)) + sp.log(sp.Integer(100000000000067))), {PROVED, UNDECIDED})
case("radical", "high-degree-unknown-sign", "x^(1/49) x^(1/49) x^(1/49) = x^(3/49) holds for every real x (principal branch)",
     cmp((x + 1) ** sp.Rational(1, 49) * (x + 1) ** sp.Rational(2, 49), (x + 1) ** sp.Rational(3, 49)), PROVED)
case("radical", "cube-root-product", "(x y)^(1/3) = x^(1/3) y^(1/3) fails at x = y = -1",
     cmp((x * y) ** sp.Rational(1, 3), x ** sp.Rational(1, 3) * y ** sp.Rational(1, 3)), REFUTED)
case("branch", "log-power-real-exponent", "log(p^x) = x log p for p > 0 and x real",
     cmp(sp.log(p ** x), x * sp.log(p)), PROVED)
case("branch", "log-power-unknown-base", "log(x^y) = y log x fails at x = -1, y = 2",
     cmp(sp.log(x ** y), y * sp.log(x)), REFUTED)

case("radical", "cube-root-of-minus-8", "(-8)^(1/3) is the principal root 1 + 1.73i, not -2",
     cmp(sp.Integer(-8) ** sp.Rational(1, 3), -2), REFUTED)
case("radical", "cube-roots-of-positives", "2^(1/3) 3^(1/3) = 6^(1/3)",
     cmp(sp.Integer(2) ** sp.Rational(1, 3) * sp.Integer(3) ** sp.Rational(1, 3), sp.Integer(6) ** sp.Rational(1, 3)), PROVED)
case("precision", "square-ge-tangent-plus-1e-40", "x^2 >= 2x - 1 + 10^-40 fails only for |x - 1| < 10^-20: never PROVED",
     bound(x**2, 2 * x - 1 + sp.Rational(1, 10**40)), {REFUTED, UNDECIDED})
case("false-alarm", "square-ge-tangent", "x^2 >= 2x - 1 ((x - 1)^2 >= 0)", bound(x**2, 2 * x - 1), {PROVED, UNDECIDED})
case("boundary-t", "square-ge-2x", "x^2 >= 2x is false at x = 1", bound(x**2, 2 * x), REFUTED)
case("kept", "log-8", "log 8 = 3 log 2", cmp(sp.log(8), 3 * sp.log(2)), PROVED)
case("precision", "log-8-plus-1e-40", "log 8 = 3 log 2 + 10^-40 is false", cmp(sp.log(8), 3 * sp.log(2) + sp.Rational(1, 10**40)), REFUTED)
case("kept", "abar-2-concrete", "abar_2 = alpha_1 alpha_2", cmp(abar[2], alpha[1] * alpha[2]), PROVED)
case("boundary-t", "abar-3-concrete", "abar_3 = alpha_1 alpha_2 is false (alpha_3 < 1)", cmp(abar[3], alpha[1] * alpha[2]), REFUTED)
case("kept", "abar-0", "abar_0 = 1 and beta_1 = 1 - abar_1", cmp(abar[0] * beta[1], 1 - abar[1]), PROVED)
case("kept", "sum-k", "sum_1^t k = t (t + 1)/2", cmp(sp.Sum(k, (k, 1, t)), t * (t + 1) / 2), PROVED)
case("empty-sum", "sum-t-from-2", "sum_{k=2}^t t = t (t - 1), also at t = 1 (0 = 0)", cmp(sp.Sum(t, (k, 2, t)), t * (t - 1)), PROVED)

case("boundary-t", "point-respects-abar0", "false (alpha_t + abar_{t+1} vs alpha_{t+1} + abar_{t+2}); the point must be a "
     "schedule: if it says t = 1 it must have abar_{t-1} = abar_0 = 1 (found by the fuzzer)",
     cmp(alpha[t] + abar[t + 1], alpha[t + 1] + abar[t + 2]), REFUTED)

# ---------------------------------------------------------------- nothing true is lost
C = "kept"
case(C, "beta-is-1-minus-alpha", "beta = 1 - alpha", cmp(beta[t], 1 - alpha[t]), PROVED)
case(C, "recurrence", "abar_t = abar_{t-1} alpha_t", cmp(abar[t], abar[t - 1] * alpha[t]), PROVED)
case(C, "shift-2", "abar_{t+1} = abar_{t-1} alpha_t alpha_{t+1}", cmp(abar[t + 1], abar[t - 1] * alpha[t] * alpha[t + 1]), PROVED)
case(C, "ratio-shift", "abar_{t+2}/abar_t = alpha_{t+1} alpha_{t+2}", cmp(abar[t + 2] / abar[t], alpha[t + 1] * alpha[t + 2]), PROVED)
case(C, "variance-recurrence", "1 - abar_t = beta_t + alpha_t (1 - abar_{t-1})",
     cmp(1 - abar[t], beta[t] + alpha[t] * (1 - abar[t - 1])), PROVED)
case(C, "posterior-variance-forms", "(1-abar_{t-1})/(1-abar_t) beta_t = beta_t (1 - abar_{t-1})/(1 - abar_t)",
     cmp(POSTERIOR_VARIANCE, beta[t] * (1 - abar[t - 1]) / (1 - abar[t])), PROVED)
case(C, "posterior-variance-alpha", "with beta written as 1 - alpha",
     cmp(POSTERIOR_VARIANCE, (1 - alpha[t]) * (1 - abar[t - 1]) / (1 - abar[t - 1] * alpha[t])), PROVED)
case(C, "rationalised", "1/(1 + sqrt(abar)) = (1 - sqrt(abar))/(1 - abar)",
     cmp(1 / (1 + sp.sqrt(abar[t])), (1 - sp.sqrt(abar[t])) / (1 - abar[t])), PROVED)
case(C, "rationalised-eps", "beta/sqrt(1 - abar) = beta sqrt(1 - abar)/(1 - abar)",
     cmp(beta[t] / sp.sqrt(1 - abar[t]), beta[t] * sp.sqrt(1 - abar[t]) / (1 - abar[t])), PROVED)
case(C, "coef-xt-expanded", "sqrt(alpha)(1 - abar_{t-1})/(1 - abar_t), expanded numerator",
     cmp((1 - abar[t - 1]) * sp.sqrt(alpha[t]) / (1 - abar[t]),
         (sp.sqrt(alpha[t]) - sp.sqrt(alpha[t]) * abar[t - 1]) / (1 - abar[t])), PROVED)
case(C, "denest-3-2sqrt2", "sqrt(3 + 2 sqrt 2) = 1 + sqrt 2 (denesting)", cmp(sp.sqrt(3 + 2 * sp.sqrt(2)), 1 + sp.sqrt(2)), PROVED)
case(C, "denest-5-2sqrt6", "sqrt(5 + 2 sqrt 6) = sqrt 2 + sqrt 3", cmp(sp.sqrt(5 + 2 * sp.sqrt(6)), sp.sqrt(2) + sp.sqrt(3)), PROVED)
case(C, "log-snr", "lambda = log(abar/(1 - abar)) = log abar - log(1 - abar)",
     cmp(sp.log(abar[t] / (1 - abar[t])), sp.log(abar[t]) - sp.log(1 - abar[t])), PROVED)
case(C, "sqrt-1-minus-abar-squared", "sqrt((1 - alpha)^2) = 1 - alpha (positive base)",
     cmp(sp.sqrt((1 - alpha[t]) ** 2), 1 - alpha[t]), PROVED)
case(C, "readme-telescoping", "the README's telescoping chain",
     chain((alpha[t] * (1 - abar[t - 1]) + beta[t], {}), (1 - alpha[t] * abar[t - 1], {}), (1 - abar[t], {})), PROVED)
case(C, "readme-induction", "the README's noise-variance induction",
     lambda: [d.check() for d in _eng().Induction("noise variance", t, closed=1 - abar[t],
                                                  recurrence=lambda prev, n: alpha[n] * prev + beta[n],
                                                  initial=beta[1]).derivations()], PROVED)
case(C, "score-form", "-(x_tilde - x)/sigma^2 = (x - x_tilde)/sigma^2",
     cmp(-(x_tilde - x) / noise_std**2, (x - x_tilde) / noise_std**2), PROVED)
case(C, "sigma-ratio", "sigma_t^2 beta_t/(sigma_t alpha_t) = sigma_t (1 - alpha_t)/alpha_t",
     cmp(sigma[t] ** 2 * beta[t] / (sigma[t] * alpha[t]), sigma[t] * (1 - alpha[t]) / alpha[t]), PROVED)
for _id in ("forward_marginal", "posterior", "posterior_eps", "elbo_bound", "elbo_decomposition", "eps_loss",
            "dsm", "tweedie", "score_eps"):
    case(C, f"identity-{_id}", f"the identity {_id} stays PROVED",
         (lambda i=_id: __import__("proofs").IDENTITIES[i].check()), PROVED, guard_s=180)

# ---------------------------------------------------------------- claims through the parser
C = "claim"
case(C, "dsm-log-exp", "a term log(exp(4 sqrt(x))) - 4 sqrt(x) added to the DSM target (nonzero for x < -0.62)",
     claim("dsm", target="(x - x_tilde)/noise_std^2 + log(exp(4*sqrt(x))) - 4*sqrt(x)"), {WRONG, UNKNOWN})
case(C, "coef-x0-sqrt-negative", "sqrt(abar[t] - alpha[t]) (imaginary for t >= 2) added to coef_x0",
     claim("posterior", coef_x0="sqrt(abar[t-1])*beta[t]/(1-abar[t]) + sqrt(abar[t]-alpha[t])"), {WRONG, UNKNOWN})
case(C, "variance-plus-1e-40", "+ 10^-40 must not be accepted",
     claim("posterior", variance="(1-abar[t-1])*beta[t]/(1-abar[t]) + 10^-40"), WRONG)
case(C, "variance-wrong-from-14", "a term wrong only for t >= 14",
     claim("posterior", variance="(1-abar[t-1])*beta[t]/(1-abar[t]) + "
           + "*".join(f"(t-{i})" for i in range(1, 14))), WRONG)
case(C, "mean-terminal-snr", "sqrt(abar[t] + 0.001): wrong mostly at terminal SNR",
     claim("forward_marginal", mean_coef="sqrt(abar[t] + 0.001)"), WRONG)
case(C, "coef-x0-off-by-one", "the README's off-by-one coef_x0", claim("posterior", coef_x0="sqrt(abar[t])*beta[t]/(1-abar[t])"), WRONG)
case(C, "score-eps-off-by-one", "-1/sqrt(1 - abar[t-1])", claim("score_eps", coef="-1/sqrt(1-abar[t-1])"), WRONG)
case(C, "eps-loss-factor-2", "weight missing the factor 1/2",
     claim("eps_loss", weight="beta[t]^2/(sigma[t]^2*alpha[t]*(1-abar[t]))"), WRONG)
case(C, "tweedie-sigma", "noise_std instead of noise_std^2", claim("tweedie", coef="noise_std"), WRONG)
case(C, "forward-variance-shift", "1 - abar[t-1]", claim("forward_marginal", variance="1-abar[t-1]"), WRONG)
case(C, "dsm-sqrt-x2", "sqrt(x^2) - x added: nonzero for x < 0",
     claim("dsm", target="(x - x_tilde)/noise_std^2 + sqrt(x^2) - x"), WRONG)
case(C, "variance-wrong-t1", "the variance with a term that is wrong only at t = 1 (0^(t-1))",
     claim("posterior", variance="(1-abar[t-1])*beta[t]/(1-abar[t]) + 0^(t-1)"), {WRONG, UNKNOWN})
case(C, "variance-precision-form", "the README's precision form (PROVED for t >= 2, where it is defined)",
     claim("posterior", variance="1/(1/(1-abar[t-1]) + alpha[t]/beta[t])"), HOLDS)
case(C, "eps-loss-readme", "the README's eps_loss weight", claim("eps_loss", weight="beta[t]^2/(2*sigma[t]^2*alpha[t]*(1-abar[t]))"), HOLDS)
case(C, "coef-x0-alpha", "coef_x0 with beta = 1 - alpha and abar_t = abar_{t-1} alpha_t",
     claim("posterior", coef_x0="sqrt(abar[t-1])*(1-alpha[t])/(1-abar[t-1]*alpha[t])"), HOLDS)
case(C, "mean-split", "sqrt(abar[t-1]) sqrt(alpha[t])", claim("forward_marginal", mean_coef="sqrt(abar[t-1])*sqrt(alpha[t])"), HOLDS)
case(C, "variance-recurrence", "beta + alpha (1 - abar[t-1])",
     claim("forward_marginal", variance="beta[t] + alpha[t]*(1-abar[t-1])"), HOLDS)
case(C, "score-eps", "-1/sqrt(1 - abar[t])", claim("score_eps", coef="-1/sqrt(1-abar[t])"), HOLDS)
case(C, "tweedie", "noise_std^2", claim("tweedie", coef="noise_std^2"), HOLDS)
case(C, "coef-xt", "sqrt(alpha)(1 - abar[t-1])/(1 - abar[t])",
     claim("posterior", coef_xt="sqrt(alpha[t])*(1-abar[t-1])/(1-abar[t])"), HOLDS)
case(C, "coef-eps-rationalised", "the posterior_eps coefficient with a rationalised denominator",
     claim("posterior_eps", coef_eps="-beta[t]*sqrt(1-abar[t])/((1-abar[t])*sqrt(alpha[t]))"), HOLDS)
case(C, "dsm-target", "(x - x_tilde)/noise_std^2", claim("dsm", target="-(x_tilde - x)/noise_std^2"), HOLDS)
