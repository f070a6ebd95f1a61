"""Negative controls for ``forward_marginal`` (seed P2.1): x_t | x_0 ~ N(sqrt(abar_t) x_0, (1 - abar_t) I).

One hop away: the proof is ``proofs/forward_marginal.py``, the Monte Carlo sampling design is
``montecarlo/designs/forward_marginal.py``; the right answers are in ``tests/proofs/`` (test_proofs,
test_claims). Monte Carlo wrong claims for this identity live in ``tests/montecarlo/test_confirm.py``
(``test_wrong_claim_is_rejected``): the same kind of error, caught by sampling instead of proof.
"""
import pytest
import sympy as sp

from proofs import Verdict
from proofs.engine import Induction
from proofs.symbols import abar, alpha, beta, t

from ._controls import (assert_claim_refuted, assert_instances_sensitive, assert_proof_fails_at,
                        assert_wrong_entry_caught, claim_id)

ID = "forward_marginal"
S, A, AB = sp.sqrt, alpha[t], abar[t]
ABP = abar[t - 1]

# (identity, slot, kind of error, wrong expression)
WRONG_CLAIMS = [
    (ID, "mean_coef", "off by one", S(ABP)),
    (ID, "mean_coef", "missing sqrt", AB),
    (ID, "mean_coef", "alpha for abar", S(A)),
    (ID, "mean_coef", "sign", -S(AB)),
    (ID, "mean_coef", "inverted", 1 / S(AB)),
    (ID, "variance", "off by one", 1 - abar[t + 1]),
    (ID, "variance", "extra sqrt", S(1 - AB)),
    (ID, "variance", "alpha for abar", 1 - A),
    (ID, "variance", "sign", AB - 1),
    (ID, "variance", "inverted", 1 / (1 - AB)),
]

# (identity, slot, wrong expression, derivation that must fail first, words of its failing step)
WRONG_SLOTS = [
    (ID, "mean_coef", S(ABP), "mean coefficient of x_0: base case t = 1", "the closed form at t = 1"),
    (ID, "variance", 1 - ABP, "noise variance telescopes: base case t = 1", "the closed form at t = 1"),
]

# errata lines of P2.1 that are wrong, and why
ERRATA_WRONG = {("P2.1", 2): "normaliser 1/sqrt(1 - alpha_t) of eps"}


@pytest.mark.parametrize("identity_id,slot,kind,expr", WRONG_CLAIMS, ids=[claim_id(w) for w in WRONG_CLAIMS])
def test_wrong_claim_is_refuted_with_a_real_counterexample(identity_id, slot, kind, expr):
    assert_claim_refuted(identity_id, slot, expr)


@pytest.mark.parametrize("identity_id,slot,wrong,derivation,reason", WRONG_SLOTS)
def test_proof_fails_at_the_step_using_a_wrong_slot(monkeypatch, identity_id, slot, wrong, derivation, reason):
    assert_proof_fails_at(monkeypatch, identity_id, slot, wrong, derivation, reason)


def test_instances_are_sensitive():
    assert_instances_sensitive(ID)


def test_wrong_inductive_closed_form_is_refuted():
    ind = Induction("wrong variance", t, closed=1 - abar[t - 1],
                    recurrence=lambda prev, n: alpha[n] * prev + beta[n], initial=beta[1])
    base, step = (d.check() for d in ind.derivations())
    assert step.verdict is Verdict.REFUTED
    assert step.failing.counterexample


def test_wrong_base_case_is_refuted():
    # right recurrence, wrong start: v_1 = 1 instead of beta_1
    ind = Induction("wrong base", t, closed=1 - abar[t],
                    recurrence=lambda prev, n: alpha[n] * prev + beta[n], initial=sp.Integer(1))
    base, step = (d.check() for d in ind.derivations())
    assert base.verdict is Verdict.REFUTED
    assert step.verdict is Verdict.PROVED


@pytest.mark.parametrize("key", sorted(ERRATA_WRONG))
def test_wrong_errata_line_has_a_real_counterexample_and_a_correction_that_holds(key):
    assert_wrong_entry_caught(key)
