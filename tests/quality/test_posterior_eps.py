"""Negative controls for ``posterior_eps`` (seed P2.2): the posterior mean in the eps form,
mu~_t = (x_t - beta_t/sqrt(1 - abar_t) eps)/sqrt(alpha_t).

One hop away: the proof is ``proofs/posterior.py`` (``posterior_eps_proof``), the Monte Carlo
sampling design is ``montecarlo/designs/posterior.py`` (``_check_posterior_eps``); the right answers
are in ``tests/proofs/``. Monte Carlo wrong claims live in ``tests/montecarlo/test_confirm.py``
(``test_wrong_claim_is_rejected``); a sampler with a missing square root in this mean is caught in
``test_conformance_controls.py``. The identity has no closed-form instance and the seed's eps-form
lines (P2.2, entries 8-10) hold, so there is no instance or errata control here.
"""
import pytest
import sympy as sp

from proofs.symbols import abar, alpha, beta, t

from ._controls import assert_claim_refuted, assert_proof_fails_at, claim_id

ID = "posterior_eps"
S, A, AB, B = sp.sqrt, alpha[t], abar[t], beta[t]
ABP = abar[t - 1]

WRONG_CLAIMS = [
    (ID, "coef_xt", "off by one", 1 / S(alpha[t - 1])),
    (ID, "coef_xt", "missing sqrt", 1 / A),
    (ID, "coef_xt", "abar for alpha", 1 / S(AB)),
    (ID, "coef_xt", "sign", -1 / S(A)),
    (ID, "coef_xt", "inverted", S(A)),
    (ID, "coef_eps", "off by one", -B / (S(A) * S(1 - ABP))),
    (ID, "coef_eps", "missing sqrt", -B / (S(A) * (1 - AB))),
    (ID, "coef_eps", "alpha for abar", -B / (S(A) * S(1 - A))),
    (ID, "coef_eps", "sign", B / (S(A) * S(1 - AB))),
    (ID, "coef_eps", "inverted", -S(A) * S(1 - AB) / B),
]

WRONG_SLOTS = [
    (ID, "coef_eps", B / (S(A) * S(1 - AB)), "posterior mean in terms of eps", "the slots coef_xt, coef_eps"),
    (ID, "coef_xt", S(A), "posterior mean in terms of eps", "the slots coef_xt, coef_eps"),
]


@pytest.mark.parametrize("identity_id,slot,kind,expr", WRONG_CLAIMS, ids=[claim_id(w) for w in WRONG_CLAIMS])
def test_wrong_claim_is_refuted_with_a_real_counterexample(identity_id, slot, kind, expr):
    assert_claim_refuted(identity_id, slot, expr)


@pytest.mark.parametrize("identity_id,slot,wrong,derivation,reason", WRONG_SLOTS)
def test_proof_fails_at_the_step_using_a_wrong_slot(monkeypatch, identity_id, slot, wrong, derivation, reason):
    assert_proof_fails_at(monkeypatch, identity_id, slot, wrong, derivation, reason)
