"""The negative-control checks every identity's quality file runs (not a test module).

A negative control feeds the suite something wrong and asserts that it is caught, where it should
be, with evidence that holds up outside the engine:

* ``assert_claim_refuted``: a wrong answer to ``check_claim`` is REFUTED with a counterexample at
  which the claimed and the proved values really differ (re-evaluated by SymPy, not the engine);
* ``assert_proof_fails_at``: the identity's own proof, with one slot replaced by a wrong
  expression, is REFUTED at the step that uses the slot, with a counterexample;
* ``assert_instances_sensitive``: every closed-form instance fails when one side is perturbed;
* ``assert_wrong_entry_caught``: an errata line known to be wrong gets a counterexample that
  separates its two sides when re-evaluated independently, and a correction that holds.

Each identity file also lists its cases in module-level tables (``WRONG_CLAIMS``, ``WRONG_SLOTS``,
``ERRATA_WRONG``); :func:`catalogue` collects them, so tests elsewhere (every slot has a wrong case,
every wrong errata line has a control) read one source.
"""
from __future__ import annotations

import importlib
import math
from functools import lru_cache

import sympy as sp

from proofs import IDENTITIES, Verdict, check_claim
from proofs.engine import InstanceCheck, apply_meaning
from proofs.symbols import t

#: One quality module per identity (elbo_bound and elbo_decomposition share test_elbo).
IDENTITY_MODULES = {
    "forward_marginal": "test_forward_marginal",
    "posterior": "test_posterior",
    "posterior_eps": "test_posterior_eps",
    "elbo_bound": "test_elbo",
    "elbo_decomposition": "test_elbo",
    "eps_loss": "test_eps_loss",
    "dsm": "test_dsm",
    "tweedie": "test_tweedie",
    "score_eps": "test_score_eps",
}


def catalogue(table: str) -> list:
    """The rows of ``table`` (e.g. "WRONG_CLAIMS") from every identity's quality module, in order;
    a dict table gives its items."""
    rows: list = []
    for name in dict.fromkeys(IDENTITY_MODULES.values()):
        module = importlib.import_module(f"tests.quality.{name}")
        value = getattr(module, table, [])
        rows.extend(value.items() if isinstance(value, dict) else value)
    return rows


def claim_id(row) -> str:
    """Test id of a WRONG_CLAIMS row (identity, slot, kind, expression)."""
    return f"{row[0]}.{row[1]}:{row[2]}"


# ----- wrong claims ---------------------------------------------------------------------------------
def assert_claim_refuted(identity_id: str, slot: str, expr: sp.Expr) -> None:
    """check_claim(identity_id, slot=expr) is REFUTED with a counterexample that really separates
    the claimed value from the proved one, re-evaluated outside the engine."""
    v = check_claim(identity_id, **{slot: expr})
    assert not v.holds and v.verdict is Verdict.REFUTED
    assert v.counterexample
    failing = next(s for s in v.slots if s.slot == slot)
    assert abs(failing.claimed_value - failing.proved_value) > 1e-9 * max(1, abs(failing.proved_value))
    # re-evaluate the claim at the counterexample independently of the engine
    names = {str(a): a for a in expr.atoms(sp.Indexed) | expr.free_symbols}
    point = {names[n]: value for n, value in v.counterexample.items() if n in names}
    claimed = float(expr.xreplace(point))
    assert abs(claimed - failing.claimed_value) < 1e-9 * max(1, abs(claimed))


# ----- wrong proofs -----------------------------------------------------------------------------------
def assert_proof_fails_at(monkeypatch, identity_id: str, slot: str, wrong: sp.Expr, derivation: str,
                          reason: str) -> None:
    """With ``slot`` replaced by ``wrong``, the identity is not PROVED, and the first step that does not
    hold is the one that uses the slot: in the derivation titled ``derivation``, with ``reason`` in its
    reason, pinpointed with a certified counterexample where the step is about numbers, or UNDECIDED
    ("does not follow") where it is about unknown functions (no point of the domain can show it)."""
    ident = IDENTITIES[identity_id]
    monkeypatch.setitem(ident.slots, slot, wrong)
    r = ident.check()
    assert r.verdict is not Verdict.PROVED
    failing = [(d.title, s) for d in r.derivations for s in d.steps if s.verdict is not Verdict.PROVED]
    assert failing, "a refuted proof names its failing step"
    title, step = failing[0]
    assert title == derivation, (title, step.reason)
    assert reason in step.reason, step.reason
    if step.verdict is Verdict.REFUTED:
        assert step.counterexample and step.exact_point, "a refuted step has a certified counterexample"
    else:
        assert step.verdict is Verdict.UNDECIDED and "does not follow" in step.method, step.method


def assert_instances_sensitive(identity_id: str) -> None:
    """Each closed-form instance of the identity fails when one side is perturbed by 1/1000."""
    instances = IDENTITIES[identity_id].instances()
    assert instances, f"{identity_id} has no closed-form instance to perturb"
    for inst in instances:
        lhs, rhs = inst.compute()
        if inst.relation == ">=":  # lhs >= rhs: claim lhs >= lhs + 1/1000
            bumped = InstanceCheck(inst.title, lambda lhs=lhs: (lhs, lhs + sp.Rational(1, 1000)), relation=">=")
        else:
            bumped = InstanceCheck(inst.title, lambda lhs=lhs, rhs=rhs: (lhs, rhs + sp.Rational(1, 1000)),
                                   relation=inst.relation)
        assert bumped.check().verdict is Verdict.REFUTED, inst.title


# ----- errata ------------------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def errata_entry(key: tuple[str, int]):
    """The errata verdict of one transcribed line (checked once per test session)."""
    from proofs.errata import check_entry
    from proofs.errata.data import ENTRIES

    entry = next(e for e in ENTRIES if (e.problem, e.index) == key)
    return check_entry(entry)


def _named(expr):
    names = {str(a): a for a in expr.atoms(sp.Indexed)}
    names.update({s.name: s for s in expr.free_symbols if isinstance(s, sp.Symbol)})
    return names


def reevaluate(check, point) -> list[complex]:
    """Both sides of ``check`` at ``point``, evaluated independently of the engine's canonical form."""
    values = []
    for side in (check.lhs, check.rhs):
        e = sp.sympify(side).xreplace(dict(check.given)).doit()
        e = apply_meaning(e)
        names = _named(e)
        e = e.xreplace({names[k]: sp.Float(v, 30) for k, v in point.items() if k in names})
        assert not (e.free_symbols - {t}), f"unassigned symbols {e.free_symbols}"
        values.append(complex(sp.N(e, 30)))
    return values


def assert_wrong_entry_caught(key: tuple[str, int]) -> None:
    """A wrong errata line: REFUTED with a counterexample whose two sides differ when re-evaluated,
    the reported values match, and the correction holds (also at that very point)."""
    r = errata_entry(key)
    assert r.verdict == "wrong", (key, r.verdict, r.detail)
    failing = r.failing
    assert failing is not None and failing.result.verdict is Verdict.REFUTED
    point = failing.result.counterexample or {}
    lhs, rhs = reevaluate(failing.check, point)
    assert abs(lhs.imag) < 1e-12 and abs(rhs.imag) < 1e-12
    assert abs(lhs - rhs) > 1e-6 * max(1.0, abs(lhs), abs(rhs)), (key, lhs, rhs)
    if failing.check.log_domain:  # the engine reports the logs of the densities
        assert math.isclose(math.log(lhs.real), r.lhs_value, rel_tol=1e-9, abs_tol=1e-9)
        assert math.isclose(math.log(rhs.real), r.rhs_value, rel_tol=1e-9, abs_tol=1e-9)
    else:
        assert math.isclose(lhs.real, r.lhs_value, rel_tol=1e-9, abs_tol=1e-9)
        assert math.isclose(rhs.real, r.rhs_value, rel_tol=1e-9, abs_tol=1e-9)
    assert r.correction and r.correction_checks
    assert all(c.result.verdict is Verdict.PROVED for c in r.correction_checks), key
    if point:  # the correction also holds at the very point that refuted the line
        for c in r.correction_checks:
            sides = [apply_meaning(sp.sympify(s).xreplace(dict(c.check.given)).doit()) for s in (c.check.lhs, c.check.rhs)]
            needed = set(_named(sides[0])) | set(_named(sides[1]))
            needed.discard("t")
            if needed and needed <= set(point):
                a, b = reevaluate(c.check, point)
                assert abs(a - b) <= 1e-12 * max(1.0, abs(a)), key
    assert "WRONG" in r.detail and "Correction" in r.detail
