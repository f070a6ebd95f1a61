"""Negative controls for ``elbo_bound`` and ``elbo_decomposition`` (seed P2.3): the variational bound
E_q[log q(x_{1:T}|x_0)/p(x_{0:T})] >= -log p(x_0) and its pointwise decomposition L_T + sum L_{t-1} + L_0.

One hop away: the proofs are ``proofs/elbo.py`` (``bound_proof``, ``decomposition_induction``), the
Monte Carlo sampling designs are ``montecarlo/designs/elbo.py`` (``_check_elbo_bound``,
``_check_elbo_decomposition``); the right answers are in ``tests/proofs/``. Neither identity has claim
slots; the Monte Carlo controls that break the model instead live in
``tests/montecarlo/test_confirm.py`` (``test_elbo_bound_catches_a_broken_model``,
``test_elbo_decomposition_catches_a_broken_model``).
"""
import pytest
import sympy as sp

from proofs import Verdict, elbo
from proofs.engine import Derivation, Expectation, Step

from ._controls import assert_instances_sensitive, assert_wrong_entry_caught

ERRATA_WRONG = {
    ("P2.3", 6): "q(x_{T-2}|x_T, x_0) for q(x_{T-2}|x_{T-1}, x_0)",
    ("P2.3", 7): "garbled line drops terms",
}


def test_elbo_decomposition_without_bayes_is_not_proved():
    """Drop the Bayes substitution from the inductive step: the step no longer follows. It is about
    unknown functions (log q, log p), so no point of the domain refutes it: UNDECIDED, never PROVED."""
    ind = elbo.decomposition_induction()
    ind.step_steps[-1].given = {}
    _, step = (d.check() for d in ind.derivations())
    assert step.verdict is Verdict.UNDECIDED
    assert "does not follow" in step.failing.method


def test_elbo_bound_wrong_direction_is_not_proved():
    # claiming E(1 - p/q) >= E log(q/p): the inequality the other way round. Pointwise it is false, but
    # an expectation of a function negative somewhere need not be negative: UNDECIDED, never PROVED
    steps = [Step(Expectation(1 - elbo.P / elbo.Q) - sp.log(elbo.p0), "start"),
             Step(Expectation(sp.log(elbo.Q / elbo.P)) - sp.log(elbo.p0), "wrong direction", relation=">=",
                  positive_change={elbo.P: elbo.r * elbo.Q})]
    res = Derivation("wrong way", steps, random=(elbo.Q, elbo.P)).check()
    assert res.verdict is Verdict.UNDECIDED


@pytest.mark.parametrize("identity_id", ["elbo_bound", "elbo_decomposition"])
def test_instances_are_sensitive(identity_id):
    assert_instances_sensitive(identity_id)


@pytest.mark.parametrize("key", sorted(ERRATA_WRONG))
def test_wrong_errata_line_has_a_real_counterexample_and_a_correction_that_holds(key):
    assert_wrong_entry_caught(key)
