"""Negative controls for ``tweedie`` (seed P4 lemma): E[theta | x] = x + sigma^2 d/dx log p(x).

One hop away: the proof is ``proofs/tweedie.py`` (``tweedie_proof``), the Monte Carlo sampling design
is ``montecarlo/designs/tweedie.py`` (``_check_tweedie``); the right answers are in ``tests/proofs/``.
Monte Carlo wrong claims live in ``tests/montecarlo/test_confirm.py`` (``test_wrong_claim_is_rejected``,
``test_small_perturbation_beyond_the_mde_is_caught``). The seed's lemma lines hold, so there is no
wrong errata line here.
"""
import pytest

from proofs.symbols import noise_std

from ._controls import assert_claim_refuted, assert_instances_sensitive, assert_proof_fails_at, claim_id

ID = "tweedie"

WRONG_CLAIMS = [
    (ID, "coef", "missing square", noise_std),
    (ID, "coef", "sign", -noise_std ** 2),
    (ID, "coef", "inverted", 1 / noise_std ** 2),
]

WRONG_SLOTS = [
    (ID, "coef", noise_std, "Tweedie: E[theta | x] = x + sigma^2 d/dx log p(x)", "p(x) is the marginal of x"),
]


@pytest.mark.parametrize("identity_id,slot,kind,expr", WRONG_CLAIMS, ids=[claim_id(w) for w in WRONG_CLAIMS])
def test_wrong_claim_is_refuted_with_a_real_counterexample(identity_id, slot, kind, expr):
    assert_claim_refuted(identity_id, slot, expr)


@pytest.mark.parametrize("identity_id,slot,wrong,derivation,reason", WRONG_SLOTS)
def test_proof_fails_at_the_step_using_a_wrong_slot(monkeypatch, identity_id, slot, wrong, derivation, reason):
    assert_proof_fails_at(monkeypatch, identity_id, slot, wrong, derivation, reason)


def test_instances_are_sensitive():
    assert_instances_sensitive(ID)
