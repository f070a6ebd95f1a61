"""The public face of :mod:`proofs`: every name of ``proofs.__all__`` that the README promises is
there, is the object of its defining module, and works on a small example (right input proved,
wrong input not)."""
from __future__ import annotations

import pytest
import sympy as sp

import proofs
from proofs.symbols import abar, alpha, beta, t, x

FACES = ["IDENTITIES", "check_claim", "parse_expression", "Derivation", "Step", "Induction", "Expectation",
         "GaussianExpectation", "Verdict", "normal_pdf"]


def test_all_names_the_public_faces_from_their_modules():
    from proofs import claims, engine, gaussian, registry
    from proofs.engine import parse

    assert set(FACES) <= set(proofs.__all__)
    assert all(hasattr(proofs, name) for name in proofs.__all__)
    homes = {"IDENTITIES": registry, "check_claim": claims, "parse_expression": parse, "Derivation": engine,
             "Step": engine, "Induction": engine, "Expectation": engine, "GaussianExpectation": engine,
             "Verdict": engine, "normal_pdf": gaussian}
    for name, module in homes.items():
        assert getattr(proofs, name) is getattr(module, name), name


def test_identities_and_check_claim():
    seed_ids = ["forward_marginal", "posterior", "posterior_eps", "elbo_bound", "elbo_decomposition", "eps_loss",
                "dsm", "tweedie", "score_eps"]
    assert list(proofs.IDENTITIES)[:9] == seed_ids
    assert all(isinstance(i, proofs.Identity) and i.id == k for k, i in proofs.IDENTITIES.items())
    right = proofs.check_claim("forward_marginal", variance=beta[t] + alpha[t] * (1 - abar[t - 1]))
    assert right.holds is True and right.verdict is proofs.Verdict.PROVED
    wrong = proofs.check_claim("forward_marginal", variance=1 - abar[t - 1])
    assert wrong.holds is False and wrong.verdict is proofs.Verdict.REFUTED and wrong.counterexample


def test_parse_expression():
    assert proofs.parse_expression("sqrt(abar[t-1])*beta[t]/(1-abar[t])") == \
        sp.sqrt(abar[t - 1]) * beta[t] / (1 - abar[t])
    with pytest.raises(proofs.ParseError):
        proofs.parse_expression("__import__('os')")


def test_derivation_and_step():
    D, S = proofs.Derivation, proofs.Step
    right = D("telescoping", [S(alpha[t] * (1 - abar[t - 1]) + beta[t], "the variance recurrence"),
                              S(1 - abar[t], "abar_t = abar_{t-1} alpha_t, beta_t = 1 - alpha_t")]).check()
    assert right.verdict is proofs.Verdict.PROVED
    wrong = D("off by one", [S(alpha[t] * (1 - abar[t - 1]) + beta[t], "the variance recurrence"),
                             S(1 - abar[t - 1], "wrong")]).check()
    assert wrong.verdict is proofs.Verdict.REFUTED


def test_induction():
    right = proofs.Induction("noise variance", t, closed=1 - abar[t],
                             recurrence=lambda prev, n: alpha[n] * prev + beta[n], initial=beta[1])
    assert all(d.check().verdict is proofs.Verdict.PROVED for d in right.derivations())
    wrong = proofs.Induction("noise variance", t, closed=1 - abar[t - 1],
                             recurrence=lambda prev, n: alpha[n] * prev + beta[n], initial=beta[1])
    assert any(d.check().verdict is proofs.Verdict.REFUTED for d in wrong.derivations())


def test_expectations():
    m, s2 = sp.Symbol("m", real=True), sp.Symbol("s2", positive=True)
    assert sp.expand(proofs.GaussianExpectation(x ** 2, x, m, s2).evaluate() - (m ** 2 + s2)) == 0
    assert proofs.GaussianExpectation(x ** 3, x, 0, s2).evaluate() == 0
    q = sp.Symbol("q", positive=True)
    D, S, E = proofs.Derivation, proofs.Step, proofs.Expectation
    linear = D("linearity", [S(E(2 * q + 3), "start"), S(2 * E(q) + 3, "linearity")], random=(q,)).check()
    assert linear.verdict is proofs.Verdict.PROVED
    scaled = D("not linear", [S(E(2 * q + 3), "start"), S(3 * E(q) + 3, "wrong")], random=(q,)).check()
    assert scaled.verdict is not proofs.Verdict.PROVED


def test_normal_pdf():
    v, m = sp.symbols("v m", real=True)
    s2 = sp.Symbol("s2", positive=True)
    density = proofs.normal_pdf(v, m, s2)
    assert sp.simplify(sp.integrate(density, (v, -sp.oo, sp.oo))) == 1
    assert sp.simplify(sp.integrate(v * density, (v, -sp.oo, sp.oo)) - m) == 0
    assert density.subs({v: 0, m: 0, s2: 1}) == 1 / sp.sqrt(2 * sp.pi)
