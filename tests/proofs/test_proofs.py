"""Every identity of the seed is PROVED (no NUMERIC step), is documented, and states itself with its
slots. The negative controls (a wrong slot makes the proof fail at the step that uses it, perturbed
instances fail, wrong inductions are refuted) are in tests/quality/test_<identity>.py."""
import re

import pytest
import sympy as sp

from proofs import IDENTITIES, Verdict
from proofs.identity import Identity, fill, slot_latex, slot_text
from proofs.symbols import beta, t
from tests.quality._controls import catalogue

IDS = ["forward_marginal", "posterior", "posterior_eps", "elbo_bound", "elbo_decomposition",
       "eps_loss", "dsm", "tweedie", "score_eps"]


@pytest.fixture(scope="module")
def results():
    return {i: IDENTITIES[i].check() for i in IDS}


def test_the_seeds_nine_ids_come_first_in_the_seeds_order():
    """The registry starts with the seed's nine identities (issue 12's path identities follow)."""
    assert list(IDENTITIES)[:len(IDS)] == IDS


@pytest.mark.parametrize("identity_id", IDS)
def test_identity_is_proved_with_no_numeric_step(results, identity_id):
    r = results[identity_id]
    assert r.verdict is Verdict.PROVED, r.to_dict()
    steps = [s for d in r.derivations for s in d.steps]
    assert steps, "a proof must have steps"
    assert all(s.verdict is Verdict.PROVED for s in steps)
    assert all(i.verdict is Verdict.PROVED for i in r.instances)


@pytest.mark.parametrize("identity_id", IDS)
def test_identity_is_documented(identity_id):
    ident = IDENTITIES[identity_id]
    assert ident.problem.startswith("P")
    assert ident.statement and ident.latex
    assert ident.doc and "Problem" in ident.doc


@pytest.mark.parametrize("identity_id", IDS)
def test_statement_and_latex_are_generated_from_the_slots(identity_id):
    """Every slot's sympy.latex is in the identity's LaTeX and its sympy.sstr in the statement; no
    placeholder is left over."""
    ident = IDENTITIES[identity_id]
    for expr in ident.slots.values():
        for rendered, text in ((slot_latex(expr), ident.latex), (slot_text(expr), ident.statement)):
            # a negative slot after "+" is written "- b" (see proofs.identity.fill)
            assert rendered in text or (rendered.startswith("-") and
                                        re.search(r"-\s*" + re.escape(rendered[1:].lstrip()), text)), (rendered, text)
    assert "<<" not in ident.latex + ident.statement


def test_a_slot_change_changes_the_statement(monkeypatch):
    ident = IDENTITIES["posterior"]
    before_text, before_latex = ident.statement, ident.latex
    monkeypatch.setitem(ident.slots, "variance", beta[t])
    assert ident.statement != before_text and "beta[t]*I" in ident.statement
    assert ident.latex != before_latex and r"{\beta}_{t}\,I" in ident.latex
    assert slot_latex(IDENTITIES["posterior"].slots["coef_x0"]) in ident.latex  # the other slots stay


def test_templates_fill_signs_and_sums_and_reject_unknown_slots():
    a = sp.Symbol("a", positive=True)
    assert fill("x + <<c>>*y - <<c>>", {"c": -a}, slot_text) == "x - a*y + a"
    assert fill("<<c>>*y", {"c": a - 1}, slot_text) == "(a - 1)*y"
    assert fill("<<c>> y", {"c": a - 1}, slot_latex) == r"\left(a - 1\right) y"
    with pytest.raises(ValueError, match=r"identity bad: template names unknown slot\(s\) \['d'\]"):
        Identity(id="bad", problem="P0", statement="<<d>>", latex="", slots={"c": a}, proof=lambda: [])


def test_inductions_cover_every_t():
    """forward_marginal and elbo_decomposition are proved by induction: base case + inductive step."""
    fm = [d.title for d in IDENTITIES["forward_marginal"].derivations()]
    assert any("base case t = 1" in s for s in fm) and any("inductive step" in s for s in fm)
    ed = [d.title for d in IDENTITIES["elbo_decomposition"].derivations()]
    assert any("base case T = 1" in s for s in ed) and any("inductive step T - 1 -> T" in s for s in ed)


def test_induction_carries_abar_by_recurrence_not_product():
    for d in IDENTITIES["forward_marginal"].derivations():
        for step in d.steps:
            assert not step.expr.has(sp.Product)


def test_an_identity_without_steps_is_not_proved():
    empty = Identity(id="empty", problem="P0", statement="nothing", latex="", slots={}, proof=lambda: [])
    assert empty.check().verdict is not Verdict.PROVED


def test_every_slot_has_a_wrong_slot_control():
    """Each slot of each identity is broken once in tests/quality (the proof must then fail there)."""
    slots = {(i, s) for i in IDS for s in IDENTITIES[i].slots}
    assert {(row[0], row[1]) for row in catalogue("WRONG_SLOTS")} == slots
