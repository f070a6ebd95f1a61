"""Negative controls for ``eps_loss`` (seed P2.4):
L_{t-1} = beta_t^2/(2 sigma_t^2 alpha_t (1 - abar_t)) E||eps - eps_theta||^2 + C.

One hop away: the proof is ``proofs/eps_loss.py``, the Monte Carlo sampling design is
``montecarlo/designs/eps_loss.py``; the right answers are in ``tests/proofs/``. Monte Carlo wrong
claims for this identity (among them the seed's 1/(2 sigma^4)) live in
``tests/montecarlo/test_confirm.py`` (``test_wrong_claim_is_rejected``,
``test_small_perturbation_beyond_the_mde_is_caught``).
"""
import pytest

from proofs.symbols import abar, alpha, beta, sigma, t

from ._controls import (assert_claim_refuted, assert_instances_sensitive, assert_proof_fails_at,
                        assert_wrong_entry_caught, claim_id)

ID = "eps_loss"
A, AB, B, SG = alpha[t], abar[t], beta[t], sigma[t]
ABP = abar[t - 1]

WRONG_CLAIMS = [
    (ID, "weight", "off by one", B ** 2 / (2 * SG ** 2 * A * (1 - ABP))),
    (ID, "weight", "the seed's ||Sigma||_2^2 = sigma^4", B ** 2 / (2 * SG ** 4 * A * (1 - AB))),
    (ID, "weight", "alpha for abar", B ** 2 / (2 * SG ** 2 * A * (1 - A))),
    (ID, "weight", "sign", -B ** 2 / (2 * SG ** 2 * A * (1 - AB))),
    (ID, "weight", "inverted", 2 * SG ** 2 * A * (1 - AB) / B ** 2),
]

WRONG_SLOTS = [
    (ID, "weight", B ** 2 / (2 * SG ** 4 * A * (1 - AB)), "L_{t-1} = weight E||eps - eps_theta||^2 + C",
     "the slot `weight`"),
]

ERRATA_WRONG = {("P2.4", 1): "1/(2 ||Sigma_theta||_2^2) = 1/(2 sigma_t^4)"}


@pytest.mark.parametrize("identity_id,slot,kind,expr", WRONG_CLAIMS, ids=[claim_id(w) for w in WRONG_CLAIMS])
def test_wrong_claim_is_refuted_with_a_real_counterexample(identity_id, slot, kind, expr):
    assert_claim_refuted(identity_id, slot, expr)


@pytest.mark.parametrize("identity_id,slot,wrong,derivation,reason", WRONG_SLOTS)
def test_proof_fails_at_the_step_using_a_wrong_slot(monkeypatch, identity_id, slot, wrong, derivation, reason):
    assert_proof_fails_at(monkeypatch, identity_id, slot, wrong, derivation, reason)


def test_instances_are_sensitive():
    assert_instances_sensitive(ID)


@pytest.mark.parametrize("key", sorted(ERRATA_WRONG))
def test_wrong_errata_line_has_a_real_counterexample_and_a_correction_that_holds(key):
    assert_wrong_entry_caught(key)
