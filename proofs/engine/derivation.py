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

import random
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import mpmath
import sympy as sp

from .canonical import _positive_symbols, _split_logs, _units, apply_meaning, exactly_zero, is_positive, log_of_positive
from .operators import _eval_operators, _merge_integrals, _pointwise
from .results import InstanceResult, Step, StepResult, DerivationResult, Verdict, as_expr
from .search import _DIGITS, _as_float, _evalf, _opaque_to_symbols, _sample, _user_point


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
