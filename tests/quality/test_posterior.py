"""Negative controls for ``posterior`` (seed P2.2): q(x_{t-1} | x_t, x_0) = N(coef_x0 x_0 + coef_xt x_t,
posterior_variance I).

One hop away: the proof is ``proofs/posterior.py`` (``posterior_proof``), the Monte Carlo sampling
design is ``montecarlo/designs/posterior.py`` (``_check_posterior``); the right answers are in
``tests/proofs/``. Monte Carlo wrong claims for this identity live in
``tests/montecarlo/test_confirm.py`` (``test_wrong_claim_is_rejected``,
``test_small_perturbation_beyond_the_mde_is_caught``); a scheduler whose posterior step is broken is
caught in ``test_conformance_controls.py``.
"""
import pytest
import sympy as sp

from proofs.symbols import abar, alpha, beta, t

from ._controls import (assert_claim_refuted, assert_instances_sensitive, assert_proof_fails_at,
                        assert_wrong_entry_caught, claim_id)

ID = "posterior"
S, A, AB, B = sp.sqrt, alpha[t], abar[t], beta[t]
ABP = abar[t - 1]

WRONG_CLAIMS = [
    (ID, "coef_x0", "off by one", S(AB) * B / (1 - AB)),
    (ID, "coef_x0", "missing sqrt", ABP * B / (1 - AB)),
    (ID, "coef_x0", "alpha for abar (the seed's typo)", S(alpha[t - 1]) * B / (1 - AB)),
    (ID, "coef_x0", "sign", -S(ABP) * B / (1 - AB)),
    (ID, "coef_x0", "inverted", (1 - AB) / (S(ABP) * B)),
    (ID, "coef_xt", "off by one", S(A) * (1 - AB) / (1 - abar[t + 1])),
    (ID, "coef_xt", "missing sqrt", A * (1 - ABP) / (1 - AB)),
    (ID, "coef_xt", "abar for alpha", S(AB) * (1 - ABP) / (1 - AB)),
    (ID, "coef_xt", "sign", -S(A) * (1 - ABP) / (1 - AB)),
    (ID, "coef_xt", "inverted", (1 - AB) / (S(A) * (1 - ABP))),
    (ID, "variance", "off by one", (1 - AB) * B / (1 - abar[t + 1])),
    (ID, "variance", "extra sqrt", S((1 - ABP) * B / (1 - AB))),
    (ID, "variance", "alpha for abar", (1 - alpha[t - 1]) * B / (1 - A)),
    (ID, "variance", "sign", -(1 - ABP) * B / (1 - AB)),
    (ID, "variance", "inverted", (1 - AB) * B / (1 - ABP)),
]

_LAST = "simplify: 1/precision"  # the step that writes the Gaussian with the slots
WRONG_SLOTS = [
    (ID, "coef_x0", S(AB) * B / (1 - AB), "q(x_{t-1} | x_t, x_0) is Gaussian", _LAST),
    (ID, "coef_xt", A * (1 - ABP) / (1 - AB), "q(x_{t-1} | x_t, x_0) is Gaussian", _LAST),
    (ID, "variance", (1 - AB) * B / (1 - ABP), "q(x_{t-1} | x_t, x_0) is Gaussian", _LAST),
]

ERRATA_WRONG = {
    ("P2.2", 2): "Bayes through the noises misses the Jacobian factor",
    ("P2.2", 5): "last term of eps' starts its product at alpha_{t-2}",
    ("P2.2", 6): "sqrt(abar_t), 1 - abar_t in the second term and the (2 pi)^{-n/2} normaliser",
    ("P2.2", 7): "sqrt(alpha_{t-1}) for sqrt(abar_{t-1})",
}


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
