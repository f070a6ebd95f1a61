"""The derivation engine: each verdict (PROVED, NUMERIC, REFUTED) exercised, the domain respected."""
import sympy as sp

from proofs.derivation import (Derivation, GaussianExpectation, Step, Verdict, compare, gaussian_integral,
                               is_positive)
from proofs.symbols import abar, alpha, beta, sigma, t, x


def test_proved_rewrites_of_the_schedule():
    assert compare(1 - abar[t], 1 - abar[t - 1] * alpha[t]).verdict is Verdict.PROVED
    assert compare(sp.sqrt(abar[t]), sp.sqrt(abar[t - 1]) * sp.sqrt(alpha[t])).verdict is Verdict.PROVED
    assert compare(beta[t], 1 - alpha[t]).verdict is Verdict.PROVED
    assert compare(abar[1], alpha[1]).verdict is Verdict.PROVED
    assert compare(abar[0], 1).verdict is Verdict.PROVED


def test_numeric_is_labelled_and_not_proved():
    r = compare(sp.sin(x) ** 2 + sp.cos(x) ** 2, 1)
    assert r.verdict is Verdict.NUMERIC
    assert "NOT PROVED" in r.method


def test_refuted_has_counterexample_with_both_values():
    r = compare(sp.sqrt(abar[t]), sp.sqrt(abar[t - 1]))
    assert r.verdict is Verdict.REFUTED
    assert set(r.counterexample) >= {"abar[t - 1]", "alpha[t]"}
    assert abs(r.lhs_value - r.rhs_value) > 1e-6
    # the reported point really is a counterexample: recompute both sides there
    ab_prev, a = r.counterexample["abar[t - 1]"], r.counterexample["alpha[t]"]
    assert abs(r.lhs_value - (ab_prev * a) ** 0.5) < 1e-12 and abs(r.rhs_value - ab_prev ** 0.5) < 1e-12


def test_domain_respected_for_real_variables():
    """sqrt(x**2) = x is false for negative x: the sampler must find it."""
    r = compare(sp.sqrt(x ** 2), x)
    assert r.verdict is Verdict.REFUTED and r.counterexample["x"] < 0


def test_domain_of_alpha_is_unit_interval():
    # 1 - alpha > 0 inside (0, 1): sqrt((1 - alpha)^2) = 1 - alpha is exact
    assert compare(sp.sqrt((1 - alpha[t]) ** 2), 1 - alpha[t]).verdict is Verdict.PROVED
    assert compare(sp.sqrt((alpha[t] - 1) ** 2), 1 - alpha[t]).verdict is Verdict.PROVED
    assert compare(sp.sqrt((alpha[t] - 1) ** 2), alpha[t] - 1).verdict is Verdict.REFUTED
    assert compare(sp.sqrt((1 - abar[t - 1] * alpha[t]) ** 2), 1 - abar[t]).verdict is Verdict.PROVED


def test_positivity_oracle():
    a, b = sp.Symbol("a", positive=True), sp.Symbol("b", positive=True)
    units = frozenset({a, b})
    assert is_positive(1 - a * b, units)
    assert not is_positive(a - b, units)
    assert not is_positive(1 - a * b)  # without the (0, 1) domain it is not known


def test_log_domain_gaussian_product():
    """N(x; 0, 1) N(x; 0, 1) = N(x; 0, 1/2) / sqrt(4 pi): true, reached in the log domain."""
    def n(v, m, s2):
        return sp.exp(-(v - m) ** 2 / (2 * s2)) / sp.sqrt(2 * sp.pi * s2)
    d = Derivation("product", [Step(n(x, 0, 1) * n(x, 0, 1), "start"),
                               Step(n(x, 0, sp.Rational(1, 2)) / sp.sqrt(4 * sp.pi), "product of Gaussians")],
                   log_domain=True)
    assert d.check().verdict is Verdict.PROVED
    wrong = Derivation("product", [Step(n(x, 0, 1) * n(x, 0, 1), "start"),
                                   Step(n(x, 0, sp.Rational(1, 2)), "missing constant")], log_domain=True)
    assert wrong.check().verdict is Verdict.REFUTED


def test_failing_step_is_pinpointed():
    d = Derivation("chain", [Step(alpha[t] * (1 - abar[t - 1]) + beta[t], "start"),
                             Step(1 - alpha[t] * abar[t - 1], "expand"),
                             Step(1 - abar[t - 1], "wrong: drops alpha_t"),
                             Step(1 - abar[t - 1], "same")]).check()
    assert [s.verdict for s in d.steps] == [Verdict.PROVED, Verdict.REFUTED, Verdict.PROVED]
    assert d.failing.index == 2 and d.failing.reason == "wrong: drops alpha_t"
    assert d.verdict is Verdict.REFUTED


def test_gaussian_expectation_moments():
    m, v = sp.symbols("m v", positive=True)
    assert sp.expand(GaussianExpectation(x ** 2, x, m, v).evaluate() - (m ** 2 + v)) == 0
    assert sp.expand(GaussianExpectation(x ** 4, x, 0, v).evaluate() - 3 * v ** 2) == 0


def test_gaussian_integral_lemma():
    s2 = sp.Rational(1, 3)
    f = sp.exp(-(x - 2) ** 2 / (2 * s2)) / sp.sqrt(2 * sp.pi * s2)
    assert sp.simplify(gaussian_integral(f, x) - 1) == 0


def test_inequality_steps():
    u = sp.Symbol("u", positive=True)
    ok = Derivation("ineq", [Step(u ** 2 + 1, "start"), Step(u ** 2, "drop 1", relation=">=")]).check()
    assert ok.verdict is Verdict.PROVED
    bad = Derivation("ineq", [Step(u ** 2, "start"), Step(u ** 2 + 1, "add 1", relation=">=")]).check()
    assert bad.verdict is Verdict.REFUTED


def test_malformed_step_is_a_failed_step_not_a_crash():
    from proofs.derivation import GaussianExpectation as GE
    d = Derivation("bad", [Step(GE(sp.exp(x), x, 0, 1), "not a polynomial"), Step(sp.Integer(1), "x")]).check()
    assert d.verdict is Verdict.REFUTED
    assert "could not evaluate" in d.steps[0].method


def test_sigma_is_positive_domain():
    assert compare(sp.sqrt(sigma[t] ** 2), sigma[t]).verdict is Verdict.PROVED
