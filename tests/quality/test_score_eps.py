"""Negative controls for ``score_eps`` (seed P4): E[eps | x_t] = -sqrt(1 - abar_t) grad log p_t(x_t),
so s_theta = -eps_theta / sqrt(1 - abar_t).

One hop away: the proof is ``proofs/tweedie.py`` (``score_eps_proof``), the Monte Carlo sampling
design is ``montecarlo/designs/tweedie.py`` (``_check_score_eps``); the right answers are in
``tests/proofs/``. Monte Carlo wrong claims live in ``tests/montecarlo/test_confirm.py``
(``test_wrong_claim_is_rejected``).
"""
import pytest
import sympy as sp

from proofs.symbols import abar, alpha, t

from ._controls import (assert_claim_refuted, assert_instances_sensitive, assert_proof_fails_at,
                        assert_wrong_entry_caught, claim_id)

ID = "score_eps"
S, A, AB = sp.sqrt, alpha[t], abar[t]
ABP = abar[t - 1]

WRONG_CLAIMS = [
    (ID, "coef", "off by one", -1 / S(1 - ABP)),
    (ID, "coef", "missing sqrt", -1 / (1 - AB)),
    (ID, "coef", "alpha for abar", -1 / S(1 - A)),
    (ID, "coef", "sign", 1 / S(1 - AB)),
    (ID, "coef", "inverted", -S(1 - AB)),
]

WRONG_SLOTS = [
    (ID, "coef", -S(1 - AB),
     "s_theta = coef * eps_theta when eps_theta(x_t) = E[eps | x_t] and s_theta = grad log p_t",
     "the optimal score model"),
]

ERRATA_WRONG = {
    ("P4", 13): "eps_theta(x_t, t) = eps",
    ("P4", 14): "eps = -sqrt(1 - abar_t) grad log p(x_t)",
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
