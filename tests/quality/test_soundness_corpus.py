"""The soundness corpus (issue 9, item 7): statements with known truth, each with its exact verdict.

The cases live in :mod:`tests.quality.soundness_cases` (``CASES``), grouped by the classes of the
issue: branch cuts, radicals of unknown sign, Fubini/Leibniz, empty sums, unchecked premises,
undefined points, boundary t, terminal SNR, precision loss, false alarms, cost, nothing true lost,
and claims through the parser. One parametrised test runs each case and asserts:

* the outcome is in the case's expected set (a FALSE statement is never PROVED and a wrong claim
  never has ``holds=True``; a TRUE statement is never REFUTED);
* every REFUTED result (a compare, a derivation step, an induction's base or step, a claim's slot)
  carries a counterexample that the independent checker of ``soundness_cases`` certifies: the point
  satisfies the domain (0 < alpha, abar < 1, abar_k = alpha_1 ... alpha_k, abar_0 = 1, t a positive
  integer, symbols' signs) and lhs != rhs at 60/300 digits and, where it applies, by interval
  arithmetic;
* a PROVED result on sides undefined somewhere (``proved_needs_domain``) narrows its domain;
* the case's own extra check (hypotheses listed, domain narrowed).

A case that has not answered after 30 s of CPU time (three times the kernel's 10 s default budget;
180 s for a whole identity, which has many steps) fails as a hang; this is a guard against non-termination, not a timing test (it uses SIGPROF, so it
never disturbs the kernel's own SIGALRM budget).

The current engine's ``Verdict.NUMERIC`` is read as UNDECIDED (the kernel renames it).
"""
from __future__ import annotations

import pytest

from . import soundness_cases as S

HANG_GUARD_S = 30


def _name(verdict) -> str:
    name = getattr(verdict, "value", str(verdict))
    return "UNDECIDED" if name == "NUMERIC" else name


def _outcome(result):
    """(outcome, [(lhs, rhs, relation, counterexample, where)] for every REFUTED piece)."""
    from proofs.engine import DerivationResult, StepResult

    if isinstance(result, BaseException):
        return type(result).__name__, []
    if isinstance(result, StepResult):
        refuted = [(result.lhs, result.rhs, result.relation, result.counterexample, "compare")] \
            if _name(result.verdict) == "REFUTED" else []
        return _name(result.verdict), refuted
    if isinstance(result, DerivationResult):
        refuted = [(s.lhs, s.rhs, s.relation, s.counterexample, f"step {s.index}")
                   for s in result.steps if _name(s.verdict) == "REFUTED"]
        return _name(result.verdict), refuted
    if isinstance(result, list):  # an induction: base case and inductive step
        names = [_outcome(r)[0] for r in result]
        pieces = [piece for r in result for piece in _outcome(r)[1]]
        for worst in ("REFUTED", "UNDECIDED", "PROVED"):
            if worst in names:
                return worst, pieces
        return "UNDECIDED", pieces  # no derivation at all proves nothing
    if hasattr(result, "holds"):  # a ClaimVerdict
        refuted = [(s.claimed, s.proved, "=", s.counterexample, f"slot {s.slot}")
                   for s in result.slots if _name(s.verdict) == "REFUTED"]
        return f"holds={result.holds}", refuted
    if hasattr(result, "verdict"):  # an IdentityResult
        return _name(result.verdict), []
    return f"an expression ({result})", []


@pytest.mark.parametrize("case", S.CASES, ids=[c.id for c in S.CASES])
def test_soundness_case(case: S.Case):
    from proofs.engine import ParseError

    try:
        with S.time_guard(case.guard_s, case.id):
            try:
                result = case.run()
            except ParseError as exc:
                result = exc
    except S.Hang as exc:
        pytest.fail(f"{case.id}: {exc} ({case.why})")
    outcome, refuted = _outcome(result)
    if isinstance(result, ParseError):
        outcome = "ParseError"
    assert outcome in case.expect, (
        f"{case.id}: got {outcome}, expected {' or '.join(sorted(case.expect))} ({case.why})"
        + (f"; method: {result.method}" if hasattr(result, "method") else "")
        + (f"; detail: {result.detail}" if hasattr(result, "detail") else ""))
    for lhs, rhs, relation, cex, where in refuted:
        try:
            with S.time_guard(HANG_GUARD_S, "certifying"):
                problem = S.check_counterexample(lhs, rhs, relation, cex)
        except S.Hang:
            problem = "the independent checker could not evaluate the point in time"
        assert problem is None, f"{case.id} ({where}): REFUTED without a certified counterexample: {problem}"
    if outcome == "PROVED" and case.proved_needs_domain:
        assert getattr(result, "domain", None), \
            f"{case.id}: PROVED on the whole domain, but the sides are undefined somewhere ({case.why})"
    if outcome == "PROVED" and case.check is not None:
        case.check(result)


def test_corpus_shape():
    """At least 150 cases, at least 12 per class, readable unique ids, few two-verdict sets."""
    from collections import Counter

    assert len(S.CASES) >= 150
    per_class = Counter(c.cls for c in S.CASES)
    assert min(per_class.values()) >= 12, per_class
    assert len({c.id for c in S.CASES}) == len(S.CASES)
    loose = [c.id for c in S.CASES if len(c.expect) > 1]
    assert len(loose) < 0.2 * len(S.CASES), loose
    assert all(c.why for c in S.CASES)
