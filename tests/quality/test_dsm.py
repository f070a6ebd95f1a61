"""Negative controls for ``dsm`` (seed P3), denoising score matching (Vincent 2011):
E_q||s - grad log q_sigma||^2 = E_{p q_sigma(x~|x)}||s - grad log q_sigma(x~|x)||^2 + C.

One hop away: the proof is ``proofs/dsm.py``, the Monte Carlo sampling design is
``montecarlo/designs/dsm.py``; the right answers are in ``tests/proofs/``. Monte Carlo wrong claims
live in ``tests/montecarlo/test_confirm.py`` (``test_wrong_claim_is_rejected``). The seed's P3 lines
hold or are notation (the missing + C is a note of P3 entry 5, tested in tests/proofs/test_errata.py),
so there is no wrong errata line here.
"""
import pytest

from proofs.symbols import noise_std, x, x_tilde

from ._controls import assert_claim_refuted, assert_instances_sensitive, assert_proof_fails_at, claim_id

ID = "dsm"

WRONG_CLAIMS = [
    (ID, "target", "sign", (x_tilde - x) / noise_std ** 2),
    (ID, "target", "missing square", -(x_tilde - x) / noise_std),
    (ID, "target", "inverted", -(x_tilde - x) * noise_std ** 2),
]

WRONG_SLOTS = [
    (ID, "target", (x_tilde - x) / noise_std ** 2,
     "the regression target grad_x~ log q_sigma(x~ | x) for q_sigma(x~|x) = N(x, sigma^2)", "the slot `target`"),
]


@pytest.mark.parametrize("identity_id,slot,kind,expr", WRONG_CLAIMS, ids=[claim_id(w) for w in WRONG_CLAIMS])
def test_wrong_claim_is_refuted_with_a_real_counterexample(identity_id, slot, kind, expr):
    assert_claim_refuted(identity_id, slot, expr)


@pytest.mark.parametrize("identity_id,slot,wrong,derivation,reason", WRONG_SLOTS)
def test_proof_fails_at_the_step_using_a_wrong_slot(monkeypatch, identity_id, slot, wrong, derivation, reason):
    assert_proof_fails_at(monkeypatch, identity_id, slot, wrong, derivation, reason)


def test_instances_are_sensitive():
    assert_instances_sensitive(ID)
