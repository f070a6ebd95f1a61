"""The derivation engine: each verdict (PROVED, UNDECIDED, REFUTED) exercised, the domain respected."""
import sympy as sp

from proofs.engine import (Derivation, GaussianExpectation, Step, Verdict, compare, gaussian_integral,
                               is_positive)
from proofs.symbols import abar, alpha, beta, sigma, t, x


def test_proved_rewrites_of_the_schedule():
    assert compare(1 - abar[t], 1 - abar[t - 1] * alpha[t]).verdict is Verdict.PROVED
    assert compare(sp.sqrt(abar[t]), sp.sqrt(abar[t - 1]) * sp.sqrt(alpha[t])).verdict is Verdict.PROVED
    assert compare(beta[t], 1 - alpha[t]).verdict is Verdict.PROVED
    assert compare(abar[1], alpha[1]).verdict is Verdict.PROVED
    assert compare(abar[0], 1).verdict is Verdict.PROVED


def test_undecided_is_labelled_and_not_proved():
    """Gamma's functional equation is true but outside the kernel's algebra: UNDECIDED, with the
    evidence (agreement at points of the domain) stated, never PROVED."""
    r = compare(sp.gamma(x + 1), x * sp.gamma(x))
    assert r.verdict is Verdict.UNDECIDED
    assert "NOT PROVED" in r.method and "agree at" in r.method


def test_trigonometric_rewrite_proves_pythagoras():
    assert compare(sp.sin(x) ** 2 + sp.cos(x) ** 2, 1).verdict is Verdict.PROVED


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
    from proofs.engine import GaussianExpectation as GE
    d = Derivation("bad", [Step(GE(sp.exp(x), x, 0, 1), "not a polynomial"), Step(sp.Integer(1), "x")]).check()
    assert d.verdict is Verdict.UNDECIDED  # not REFUTED: there is no counterexample, only a step the engine cannot read
    assert "could not evaluate" in d.steps[0].method


def test_sigma_is_positive_domain():
    assert compare(sp.sqrt(sigma[t] ** 2), sigma[t]).verdict is Verdict.PROVED


# ----- regressions from an adversarial review: none of these false statements may be PROVED -----
from proofs.engine import Expectation  # noqa: E402
from proofs.symbols import noise_std, x_tilde  # noqa: E402

_k, _j = sp.symbols("k j", integer=True, positive=True)
_u = sp.Symbol("u", positive=True)


def _two_step(a, b, relation="=", **kw):
    step_kw = {k: kw.pop(k) for k in ("positive_change",) if k in kw}
    return Derivation("review", [Step(a, "start"), Step(b, "claim", relation=relation, **step_kw)], **kw).check()


def test_integral_merge_does_not_capture_a_free_variable():
    assert compare(x * sp.Integral(1, (x, 0, 1)), sp.Integral(x, (x, 0, 1))).verdict is not Verdict.PROVED


def test_dependent_integration_limits_keep_their_order():
    a = sp.Integral(x * x_tilde, (x, 0, x_tilde), (x_tilde, 0, 1))
    b = sp.Integral(x * x_tilde, (x_tilde, 0, 1), (x, 0, x_tilde))
    assert compare(a, b).verdict is not Verdict.PROVED


def test_multi_limit_sum_is_not_truncated():
    r = _two_step(sp.Sum(1, (_k, 1, t), (_j, 1, 3)), sp.Sum(1, (_k, 1, t)), sum_var=t)
    assert r.verdict is not Verdict.PROVED


def test_positive_change_must_cover_the_domain():
    r = _two_step(x ** 3 + 2, 3 * x, relation=">=", positive_change={x: _u})
    assert r.verdict is Verdict.REFUTED


def test_random_function_outside_an_expectation_is_not_a_constant():
    q = sp.Function("q")
    d = Derivation("rf", [Step(Expectation(q(x)), "s"), Step(q(x), "claim", relation=">=")],
                   random_functions=("q",)).check()
    assert d.verdict is not Verdict.PROVED


def test_unknown_sequences_are_not_assumed_positive():
    mu = sp.IndexedBase("mu", real=True)
    assert compare(sp.sqrt(mu[t] ** 2), mu[t]).verdict is Verdict.REFUTED
    assert _two_step(mu[t], sp.Integer(0), relation=">=").verdict is Verdict.REFUTED


def test_stand_ins_do_not_collide_with_user_symbols():
    assert compare(sp.Symbol("alpha_t", positive=True), alpha[t]).verdict is not Verdict.PROVED
    assert compare(sp.Symbol("abar[t]", positive=True), abar[t]).verdict is not Verdict.PROVED


def test_log_domain_does_not_split_powers_of_unknown_sign():
    a = ((x - 1) ** 3) ** sp.Rational(1, 3) * sp.exp(-x ** 2)
    assert _two_step(a, (x - 1) * sp.exp(-x ** 2), log_domain=True).verdict is Verdict.REFUTED
    # and a true statement about squares of unknown sign is still proved
    assert _two_step((x - 1) ** 2 * sp.exp(-x ** 2), (1 - x) ** 2 * sp.exp(-x ** 2),
                     log_domain=True).verdict is Verdict.PROVED


def test_gaussian_expectation_needs_a_positive_variance():
    assert compare(GaussianExpectation(x ** 2, x, 0, -1), -1).verdict is not Verdict.PROVED
    assert compare(GaussianExpectation(sp.Integer(0), x, 0, 1), 0).verdict is Verdict.PROVED


def test_non_real_side_is_a_counterexample_not_an_agreement():
    r = compare(sp.log(x ** 2), 2 * sp.log(x))
    assert r.verdict is Verdict.REFUTED and r.counterexample["x"] < 0


def test_integer_symbols_are_sampled_as_integers():
    assert compare(sp.cos(sp.pi * (t ** 2 + t) / 2) ** 2, 1).verdict is not Verdict.REFUTED


def test_malformed_certificates_do_not_escape():
    r = _two_step(x ** 2 + 1, sp.Integer(0), relation=">=", positive_change={x: 1})
    assert r.verdict in (Verdict.UNDECIDED, Verdict.PROVED)  # true (x^2 + 1 >= 0), certificate unusable
    import pytest
    with pytest.raises(ValueError, match="relation"):
        Step(x, "bad", relation=">")


def test_claim_that_is_never_real_is_refuted_with_a_message():
    from proofs import check_claim
    v = check_claim("dsm", target=sp.sqrt(-noise_std))
    assert not v.holds and "not a real number" in v.detail
