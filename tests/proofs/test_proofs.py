"""Every identity of the seed is PROVED (no NUMERIC step), and each proof is sensitive: replacing
a proved slot by a wrong expression makes the chain fail at a named step."""
import pytest
import sympy as sp

import proofs
from proofs import IDENTITIES, Verdict
from proofs.symbols import abar, alpha, beta, noise_std, sigma, t, x, x_tilde

IDS = ["forward_marginal", "posterior", "posterior_eps", "elbo_bound", "elbo_decomposition",
       "eps_loss", "dsm", "tweedie", "score_eps"]


@pytest.fixture(scope="module")
def results():
    return {i: IDENTITIES[i].check() for i in IDS}


def test_exactly_the_nine_ids():
    assert list(IDENTITIES) == IDS


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


WRONG_SLOTS = [
    ("forward_marginal", "mean_coef", sp.sqrt(abar[t - 1])),
    ("forward_marginal", "variance", 1 - abar[t - 1]),
    ("posterior", "coef_x0", sp.sqrt(abar[t]) * beta[t] / (1 - abar[t])),
    ("posterior", "coef_xt", alpha[t] * (1 - abar[t - 1]) / (1 - abar[t])),
    ("posterior", "variance", (1 - abar[t]) * beta[t] / (1 - abar[t - 1])),
    ("posterior_eps", "coef_eps", beta[t] / (sp.sqrt(alpha[t]) * sp.sqrt(1 - abar[t]))),
    ("posterior_eps", "coef_xt", sp.sqrt(alpha[t])),
    ("eps_loss", "weight", beta[t] ** 2 / (2 * sigma[t] ** 4 * alpha[t] * (1 - abar[t]))),
    ("dsm", "target", (x_tilde - x) / noise_std ** 2),
    ("tweedie", "coef", noise_std),
    ("score_eps", "coef", -sp.sqrt(1 - abar[t])),
]


@pytest.mark.parametrize("identity_id,slot,wrong", WRONG_SLOTS)
def test_proof_fails_when_a_slot_is_wrong(monkeypatch, identity_id, slot, wrong):
    ident = IDENTITIES[identity_id]
    monkeypatch.setitem(ident.slots, slot, wrong)
    r = ident.check()
    assert r.verdict is Verdict.REFUTED
    failing = [s for d in r.derivations for s in d.steps if s.verdict is not Verdict.PROVED]
    assert failing and failing[0].counterexample, "the failing step is pinpointed with a counterexample"


def test_wrong_inductive_closed_form_is_refuted():
    from proofs.engine import Induction

    ind = Induction("wrong variance", t, closed=1 - abar[t - 1],
                    recurrence=lambda prev, n: alpha[n] * prev + beta[n], initial=beta[1])
    base, step = (d.check() for d in ind.derivations())
    assert base.verdict is Verdict.REFUTED or step.verdict is Verdict.REFUTED
    assert step.verdict is Verdict.REFUTED
    assert step.failing.counterexample


def test_wrong_base_case_is_refuted():
    from proofs.engine import Induction

    # right recurrence, wrong start: v_1 = 1 instead of beta_1
    ind = Induction("wrong base", t, closed=1 - abar[t],
                    recurrence=lambda prev, n: alpha[n] * prev + beta[n], initial=sp.Integer(1))
    base, step = (d.check() for d in ind.derivations())
    assert base.verdict is Verdict.REFUTED
    assert step.verdict is Verdict.PROVED


def test_elbo_decomposition_without_bayes_is_not_proved():
    """Drop the Bayes substitution from the inductive step: the step no longer follows."""
    from proofs import elbo

    ind = elbo.decomposition_induction()
    ind.step_steps[-1].given = {}
    _, step = (d.check() for d in ind.derivations())
    assert step.verdict is Verdict.REFUTED


def test_elbo_bound_wrong_direction_is_refuted():
    from proofs import elbo
    from proofs.engine import Derivation, Expectation, Step

    # claiming E(1 - p/q) >= E log(q/p): the inequality the other way round
    steps = [Step(Expectation(1 - elbo.P / elbo.Q) - sp.log(elbo.p0), "start"),
             Step(Expectation(sp.log(elbo.Q / elbo.P)) - sp.log(elbo.p0), "wrong direction", relation=">=",
                  positive_change={elbo.P: elbo.r * elbo.Q})]
    res = Derivation("wrong way", steps, random=(elbo.Q, elbo.P)).check()
    assert res.verdict is Verdict.REFUTED


@pytest.mark.parametrize("identity_id", IDS)
def test_instances_are_sensitive(identity_id):
    """Each closed-form instance fails when one side is perturbed."""
    from proofs.engine import InstanceCheck

    for inst in IDENTITIES[identity_id].instances():
        lhs, rhs = inst.compute()
        bumped = InstanceCheck(inst.title, lambda lhs=lhs, rhs=rhs: (lhs, rhs + sp.Rational(1, 1000)),
                               relation=inst.relation)
        if inst.relation == ">=":
            bumped = InstanceCheck(inst.title, lambda lhs=lhs, rhs=rhs: (lhs, lhs + sp.Rational(1, 1000)),
                                   relation=">=")
        assert bumped.check().verdict is Verdict.REFUTED


def test_public_api():
    assert callable(proofs.check_claim)
    assert {"IDENTITIES", "check_claim", "ClaimVerdict"} <= set(proofs.__all__)


def test_an_identity_without_steps_is_not_proved():
    from proofs.identity import Identity
    empty = Identity(id="empty", problem="P0", statement="nothing", latex="", slots={}, proof=lambda: [])
    assert empty.check().verdict is Verdict.REFUTED
