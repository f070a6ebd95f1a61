"""The derivation engine: chains of expressions, each step decided by the kernel.

A :class:`Derivation` is a chain ``e_0 (rel_1) e_1 (rel_2) e_2 ...`` where each relation is
``=`` (or ``>=`` for a bound) and each step carries its reason. :meth:`Derivation.check`
decides every adjacent pair and returns one :class:`StepResult` per step, built by the trusted
kernel (:mod:`proofs.engine.kernel`, which alone can say PROVED):

* ``PROVED``: exactly equal (or a proved inequality) on the stated domain, with the hypotheses it
  rests on (``result.hypotheses``) and, where a side is undefined somewhere, the narrowed domain
  (``result.domain``, e.g. "t >= 2; undefined at t = 1").
* ``UNDECIDED``: neither proved nor refuted; the method says what evidence there is. Never
  counted as holding.
* ``REFUTED``: a point of the domain where the two sides certainly differ, with both values.

How a step is decided (the orchestration here proposes; the kernel decides):

1. Premises (``given``) are checked: proved ones are used silently, false ones are dropped (and
   said), undecidable ones are used and listed as hypotheses.
2. The domain is split into cases: the generic case, where every integer symbol (t, T) is large
   enough that every sequence term has index >= 1 (and every peeled sum is non-empty), and each
   smaller value of the integer symbol, substituted and checked on its own (where alpha_0 or a
   zero denominator makes a side undefined, that value is outside the verdict's domain).
3. In each case the operators are evaluated (derivatives, Gaussian expectations, expectations,
   sums, integrals; each rewrite a kernel rule), the meaning of the symbols is applied
   (beta = 1 - alpha, the abar recurrence, abar_0 = 1), sequence terms become stand-in symbols
   in their ranges, and the kernel's zero test (or nonnegativity certificate) runs.
4. Otherwise the search proposes points (:mod:`proofs.engine.search`) and the kernel certifies a
   counterexample, or the case stays UNDECIDED.

Gaussian densities are compared in the log domain (``log_domain=True``). An :class:`Induction`
proves a statement for every n >= base: the engine forms the first expression of the base case and
of the inductive step itself, and checks the inductive step for n >= base + 1.
"""
from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import sympy as sp

from ..symbols import family
from . import kernel, search
from .canonical import _positive_symbols, _t_offset, _units, apply_meaning
from .kernel import BudgetExhausted, Case, exactly_zero, is_positive, log_of_positive, split_logs
from .operators import Expectation, GaussianExpectation, _eval_operators, _merge_integrals, _pointwise
from .results import InstanceResult, Step, StepResult, DerivationResult, Verdict, as_expr

_OPAQUE = (Expectation, GaussianExpectation, sp.Integral, sp.Sum, sp.Derivative, sp.core.function.AppliedUndef)
_INDEX_FROM_1 = ("alpha", "beta", "sigma")


def _hypotheses(names) -> tuple:
    """Validate declared analytic hypotheses against :data:`proofs.engine.kernel.HYPOTHESES`."""
    names = (names,) if isinstance(names, str) else tuple(names)
    unknown = [h for h in names if h not in kernel.HYPOTHESES]
    if unknown:
        raise ValueError(f"unknown hypothesis {unknown[0]!r}; known: {', '.join(kernel.HYPOTHESES)}")
    return names


def _exact_value(v: sp.Rational) -> str:
    return str(v.p) if v.q == 1 else f"{v.p}/{v.q}"


def _undefined(expr: sp.Expr) -> str | None:
    """Why ``expr`` (integer symbols substituted) is undefined, or None: a sequence term outside its
    index range, a zero denominator, log(0) (each base checked on its own, before SymPy folds
    1/(1/0) into 0)."""
    for item in expr.atoms(sp.Indexed):
        idx = item.indices[0]
        if idx.is_Integer and ((family(item) in _INDEX_FROM_1 and idx < 1) or (family(item) == "abar" and idx < 0)):
            return f"{item} is not defined"
    if expr.has(sp.zoo, sp.nan):
        return "a side is not finite"
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Pow) and node.exp.is_negative:
            if apply_meaning(node.base) == 0:
                return f"division by zero: {node.base} = 0"
        elif isinstance(node, sp.log) and apply_meaning(node.args[0]) == 0:
            return f"log(0): {node.args[0]} = 0"
    return None


@dataclass
class Derivation:
    """A chain of steps under stated assumptions. ``steps[0].reason`` describes the start.

    ``hypotheses``: analytic hypotheses the proof declares for every step (see
    :data:`proofs.engine.kernel.HYPOTHESES`); ``given``: premises for every step; ``lower``:
    {integer symbol: smallest value} (default 1 for a positive integer); ``budget``: seconds per
    step (default :data:`proofs.engine.kernel.DEFAULT_BUDGET`)."""

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
    seed: int = 20240601
    hypotheses: tuple = ()
    lower: Mapping = field(default_factory=dict)
    budget: float | None = None
    real_rhs: bool = False  # claims: a point where the proved side is not real is outside the proof's domain

    def __post_init__(self):
        self.hypotheses = _hypotheses(self.hypotheses)
        for step in self.steps:
            _hypotheses(step.hypotheses)

    def is_random(self, e: sp.Expr) -> bool:
        """Does e depend on a random symbol or a random function of this derivation?"""
        if e.free_symbols & set(self.random):
            return True
        return any(a.func.__name__ in self.random_functions
                   for a in e.atoms(sp.core.function.AppliedUndef))

    # -- premises -----------------------------------------------------------------------------
    def _premises(self, rules: Mapping, led: kernel.Ledger) -> dict:
        kept = {}
        for lhs, rhs in rules.items():
            lhs, rhs = as_expr(lhs), as_expr(rhs)
            status = self._premise_status(lhs, rhs)
            if status == "false":
                led.notes.append(f"the premise {lhs} = {rhs} is false on the whole domain: not used")
                continue
            kernel.use("given")
            if status != "proved":
                kernel.assume(f"given: {lhs} = {rhs}")
            kept[lhs] = rhs
        return kept

    def _premise_status(self, lhs, rhs) -> str:
        if lhs.has(*_OPAQUE) or rhs.has(*_OPAQUE):
            return "undecided"
        try:
            pair = apply_meaning(sp.Tuple(lhs, rhs))
            (ca, cb), back = _positive_symbols(pair, self.domains)
            d, units = ca - cb, _units(back)
            if exactly_zero(d, units):
                return "proved"
            if is_positive(d, units) or is_positive(-d, units):
                return "false"
        except BudgetExhausted:
            raise
        except Exception:  # noqa: BLE001 - not decided
            pass
        return "undecided"

    def _definitional(self, rules: Mapping) -> bool:
        """Can every undecided premise be made true at any point by choosing the value of its
        left side (an opaque term or a free symbol)? Then a counterexample to the step with the
        premises applied is a counterexample to the step."""
        for lhs, rhs in rules.items():
            if isinstance(lhs, sp.Indexed) or not (isinstance(lhs, _OPAQUE) or lhs.is_Symbol):
                return False
            if lhs.is_Symbol and (lhs.is_positive or lhs.is_integer):
                return False
        return True

    # -- cases of the domain --------------------------------------------------------------------
    def _threshold(self, n: sp.Symbol, exprs) -> int:
        need, fixed_max, min_off = [], 0, None
        for e in exprs:
            # the meaning rules write abar[n + k] from the abar just below the lowest alpha it spans
            # (abar[n + a - 1] for alpha[n + a]): that abar must be generic too
            abar_offs = [o for o in (_t_offset(i.indices[0], None) for i in e.atoms(sp.Indexed) if family(i) == "abar")
                         if o and o[0] == n]
            top_abar = max((o[1] for o in abar_offs), default=None)
            for item in e.atoms(sp.Indexed):
                if top_abar is not None and family(item) == "alpha":
                    o = _t_offset(item.indices[0], None)
                    if o and o[0] == n and o[1] <= top_abar:
                        need.append(2 - (o[1] - 1))
                if family(item) not in ("alpha", "beta", "abar", "sigma"):
                    continue
                parsed = _t_offset(item.indices[0], None)
                if parsed is None:
                    continue
                var, off = parsed
                if var is None:
                    if family(item) != "sigma":
                        fixed_max = max(fixed_max, off)
                elif var == n:
                    # index >= 1; for abar >= 2, since abar_1 = alpha_1 is a coincidence of the domain
                    # (where a side may be undefined) that the generic coordinates do not see
                    need.append((2 if family(item) == "abar" else 1) - off)
                    min_off = off if min_off is None else min(min_off, off)
            top_lo = max((int(s.limits[0][1]) for s in e.atoms(sp.Sum)
                          if len(s.limits) == 1 and s.limits[0][1].is_Integer), default=None)
            for s in e.atoms(sp.Sum):
                if len(s.limits) == 1:
                    _, lo, hi = s.limits[0]
                    parsed = _t_offset(hi, None)
                    if lo.is_Integer and parsed and parsed[0] == n:
                        # the sum is not empty, even from the largest lower limit of the expression
                        need.append(max(int(lo), top_lo) + max(0, -parsed[1]))
        if fixed_max and min_off is not None:
            need.append(fixed_max + 1 - min_off)
        return max(need, default=-10**9)

    def _cases(self, exprs) -> list[tuple[str, dict, dict]]:
        """[(label, substitution, lower bounds of the symbols left free)]: the generic case first."""
        ints = sorted({s for e in exprs for s in e.free_symbols if s.is_integer}, key=str)[:2]
        per = []
        for n in ints:
            lb = self.lower.get(n, 1 if n.is_positive else 0 if n.is_nonnegative else None)
            if lb is None:
                continue
            g = max(lb, self._threshold(n, exprs))
            options = [(f"{n} >= {g}", {}, {n: g})]
            options += [(f"{n} = {v}", {n: sp.Integer(v)}, {}) for v in range(lb, min(g, lb + kernel.MAX_BOUNDARY_CASES))]
            if g > lb + kernel.MAX_BOUNDARY_CASES:
                options.append((f"{lb + kernel.MAX_BOUNDARY_CASES} <= {n} < {g}", None, {}))
            per.append(options)
        if not per:
            return [("", {}, {})]
        cases = []
        for combo in itertools.product(*per):
            if any(sub is None for _, sub, _ in combo):
                cases.append((", ".join(label for label, _, _ in combo), None, {}))
                continue
            label = ", ".join(label for label, _, _ in combo)
            subs = {k: v for _, sub, _ in combo for k, v in sub.items()}
            low = {k: v for _, _, lo in combo for k, v in lo.items()}
            cases.append((label, subs, low))
        return cases

    # -- one case -------------------------------------------------------------------------------
    def _prepare(self, a: sp.Expr, b: sp.Expr, given: Mapping) -> tuple[sp.Expr, sp.Expr]:
        pair = sp.Tuple(a, b)
        for _ in range(3):
            before = pair
            if given:
                pair = pair.xreplace(given)
            pair = _eval_operators(pair, self)
            pair = apply_meaning(pair, generic=True)
            if pair == before:
                break
        return pair[0], pair[1]

    def _case(self, index, label, subs, low, a, b, rules, step, led) -> Case:
        A, B = a.xreplace(subs), b.xreplace(subs)
        R = {k.xreplace(subs): v.xreplace(subs) for k, v in rules.items()}
        if subs:
            why = _undefined(A) or _undefined(B)
            if why:
                return Case(label, "undefined", why)
        try:
            pa, pb = self._prepare(A, B, R)
            (ca, cb), back = _positive_symbols(sp.Tuple(pa, pb), self.domains)
            if ca.has(sp.zoo, sp.nan) or cb.has(sp.zoo, sp.nan):
                return Case(label, "undefined", "a side is not finite")
            units = _units(back)
            if self.log_domain:  # both sides are positive densities: compare their logs
                ca, cb = log_of_positive(ca, units), log_of_positive(cb, units)
            d = _merge_integrals(ca - cb, units)
            if step.relation == "=":
                proved = kernel.zero_case(label, d, units, "log domain; " if self.log_domain else "")
            else:
                proved = self._nonnegative(label, d, back, step)
            if proved is not None:
                return proved
        except BudgetExhausted:
            raise
        except Exception as exc:  # noqa: BLE001 - a step the engine cannot evaluate is not decided
            return Case(label, "undecided", f"could not evaluate: {type(exc).__name__}: {str(exc)[:300]}")
        return self._search(index, label, ca, cb, back, step, subs, low, A, B, R, led)

    def _nonnegative(self, label: str, d: sp.Expr, back: dict, step: Step) -> Case | None:
        """Propose how to see lhs - rhs >= 0 (pointwise under E; directly; or by a change of variables
        and convexity); the kernel decides."""
        units = _units(back)
        before = d
        d = _pointwise(d, self)
        if d != before:
            kernel.use("expectation_monotone")
        d = split_logs(d, units)
        direct = kernel.nonnegative_case(label, d, units)
        if direct is not None or not d.free_symbols:
            return direct
        if step.positive_change and len(step.positive_change) == 1:
            (old, new), = step.positive_change.items()
            old_c, _ = _positive_symbols(sp.sympify(old), self.domains)
            new = sp.sympify(new)
            fresh = sorted(new.free_symbols - d.free_symbols - old_c.free_symbols, key=str)
            var = fresh[0] if len(fresh) == 1 else None
            # old = var * c with old > 0 and c > 0 free of var maps var in (0, oo) onto old's range
            if var is None or not old_c.is_positive:
                return None
            g = sp.expand(d.subs(old_c, new))
            return kernel.convex_case(label, g, var, sp.cancel(new / var), units, f"{old} = {new}")
        return None

    def _search(self, index, label, ca, cb, back, step, subs, low, A, B, R, led) -> Case:
        if (ca - cb).has(*_OPAQUE):
            return Case(label, "undecided", "does not follow from what the kernel knows: the sides differ as "
                        "expressions in unevaluated terms (expectations, integrals, sums, unknown functions)")
        free = sorted(ca.free_symbols | cb.free_symbols, key=str)
        try:
            f = sp.lambdify(free, [ca, cb], modules="mpmath")
        except Exception as exc:  # noqa: BLE001
            return Case(label, "undecided", f"could not be evaluated numerically: {type(exc).__name__}")
        rng = random.Random(self.seed + index)
        count = search.POINTS_EQ if step.relation == "=" else search.POINTS_GE
        evaluated = 0
        for point, vals in self._points(free, back, rng, count, low, f):
            kernel.check_deadline()
            if vals is None:
                continue
            if self.real_rhs and abs(vals[1].imag) > 0:
                continue
            evaluated += 1
            # the screen runs at 30 digits: a difference below its resolution (+ 10^-40) is looked
            # for by the certificate itself at the first points
            if not search.differs(vals[0], vals[1], step.relation) and evaluated > search.CERTIFY_ALWAYS:
                continue
            ok, lv, rv = kernel.certify_difference(ca, cb, point, step.relation)
            if not ok:
                continue
            if led.missing or any(h.split(":")[0] in kernel.HYPOTHESES for h in led.assumed) \
                    or not self._definitional(R):
                return Case(label, "undecided", "the sides differ at a point once the premises and hypotheses "
                            "are applied: the step does not follow from them (not a counterexample in the domain, "
                            "since a premise may fail there)")
            where = "a point of the domain" + (f" ({label})" if label else "")
            return Case(label, "refuted", f"counterexample at {where}, certified",
                        self._user_point(subs, point, back, A, B, low), lv, rv)
        if not evaluated:
            return Case(label, "undecided", "could not be evaluated at any point of the domain")
        return Case(label, "undecided", f"NOT PROVED: the sides agree at {evaluated} points of the domain "
                    "(evidence only)")

    def _points(self, free, back, rng, count, low, f):
        """The search's points; where the sides come close somewhere (relative gap below 1e-8 but not
        0), a second round of as many points."""
        close = False
        for point in search.propose_points(free, back, rng, count, low):
            vals = search.fast_values(f, free, point)
            if vals is not None:
                gap = abs(vals[0] - vals[1]) / max(1, abs(vals[0]), abs(vals[1]))
                close = close or 0 < gap < 1e-8
            yield point, vals
        if close:
            for point in search.propose_points(free, back, rng, count, low):
                yield point, search.fast_values(f, free, point)

    def _user_point(self, subs, point, back, A, B, low) -> dict:
        """The counterexample in the user's symbols, exactly: each value the exact rational as a string
        ("p/q"; :attr:`StepResult.counterexample` shows them as floats). Integer symbols left free in
        the generic case take their smallest generic value (every coordinate is independent there)."""
        out = {str(k): str(int(v)) for k, v in subs.items()}
        out.update({str(k): str(int(v)) for k, v in low.items() if k in (A.free_symbols | B.free_symbols)})
        for s, v in point.items():
            obj, kind = back.get(s, (s, None))
            if isinstance(obj, sp.Indexed) and family(obj) == "abar_ratio":
                continue
            out[str(obj)] = _exact_value(v)
            if isinstance(obj, sp.Indexed) and family(obj) == "alpha":
                out[str(obj).replace("alpha", "beta", 1)] = _exact_value(1 - v)
        atoms = sorted(A.atoms(sp.Indexed) | B.atoms(sp.Indexed), key=sp.default_sort_key)
        if atoms:
            try:
                pair = apply_meaning(sp.Tuple(A, B, *atoms), generic=True)
                values, _ = _positive_symbols(sp.Tuple(*pair[2:]), self.domains)
                for item, value in zip(atoms, values):
                    v = value.xreplace(point)
                    if v.is_Rational:
                        out[str(item)] = _exact_value(v)
            except Exception:  # noqa: BLE001 - the point is still given in the stand-in coordinates
                pass
        return dict(sorted(out.items()))

    # -- a step, and the chain ----------------------------------------------------------------------
    def _compare(self, i: int, a: sp.Expr, b: sp.Expr, step: Step) -> StepResult:
        t0 = time.perf_counter()
        try:
            return self._decide(i, a, b, step, t0)
        except BudgetExhausted:  # the interrupt landed while the budget was being disarmed
            return kernel.budget_exhausted(i, step.reason, step.relation, a, b, time.perf_counter() - t0)

    def _decide(self, i: int, a, b, step: Step, t0: float) -> StepResult:
        declared = tuple(self.hypotheses) + tuple(step.hypotheses)
        with kernel.checking(declared, self.budget) as led:
            try:
                a, b = as_expr(a), as_expr(b)
                rules = self._premises({**self.given, **step.given}, led)
                exprs = [a, b, *rules.keys(), *rules.values()]
                cases = []
                for label, subs, low in self._cases(exprs):
                    if subs is None:
                        cases.append(Case(label, "undecided", "too many boundary values to check one by one"))
                        continue
                    cases.append(self._case(i, label, subs, low, a, b, rules, step, led))
                    if cases[-1].status == "refuted":
                        break
            except BudgetExhausted:
                return kernel.budget_exhausted(i, step.reason, step.relation, a, b, time.perf_counter() - t0)
            result = kernel.conclude(i, step.reason, step.relation, a, b, cases, led, time.perf_counter() - t0)
        if led.notes and result.verdict is not Verdict.PROVED:
            result.method += " (" + "; ".join(led.notes) + ")"
        return result

    def check(self) -> DerivationResult:
        """One result per link; a chain of one expression has no link and proves nothing (its
        verdict is UNDECIDED)."""
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


def compare(lhs: sp.Expr, rhs: sp.Expr, reason: str = "claim", *, relation: str = "=", given: Mapping | None = None,
            hypotheses=(), **kwargs) -> StepResult:
    """Decide a single ``lhs = rhs`` (or ``lhs >= rhs``) with the kernel (used by claims and errata)."""
    d = Derivation(reason, [Step(lhs, "left side"), Step(rhs, reason, relation=relation, given=given or {},
                                                         hypotheses=hypotheses)], **kwargs)
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
            sum_var=n, lower={n: self.base + 1}, **self.options)
        return [base, step]


# ---------------------------------------------------------------------------------------------
# closed-form instances


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
        r = Derivation(self.title, [Step(as_expr(lhs), "the left side in closed form"),
                                    Step(as_expr(rhs), self.title, relation=self.relation)]).check().steps[0]
        diff = lhs - rhs
        detail = (f"exact closed form ({r.method}); difference lhs - rhs = "
                  f"{sp.N(diff, 6) if not diff.free_symbols else 'symbolic'}")
        return InstanceResult(self.title, r.verdict, sp.sstr(lhs)[:300], sp.sstr(rhs)[:300], detail,
                              time.perf_counter() - t0)
