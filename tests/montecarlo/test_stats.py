"""montecarlo.stats: calibration under the null, power at the MDE, planning round trip, Holm, bad input."""
import math

import numpy as np
import pytest

from montecarlo import stats as S

R = 2000  # replications for calibration and power
ALPHA = 0.05


def within(rate, p, reps=R):
    """|rate - p| <= 3 binomial standard deviations."""
    return abs(rate - p) <= 3 * math.sqrt(p * (1 - p) / reps)


def rejection_rate(make, seed):
    rng = np.random.default_rng(seed)
    return np.mean([make(rng).rejected for _ in range(R)])


# ----- calibration under the null ------------------------------------------------------------
def _design(n):
    x = np.linspace(-1.0, 2.0, n)
    return np.c_[np.ones(n), x]


NULL_CASES = {
    "t_mean_gaussian": lambda rng: S.t_test_mean(rng.normal(3.0, 2.0, 10), 3.0, alpha=ALPHA),
    "z_mean_exponential": lambda rng: S.z_test_mean(rng.exponential(1.0, 2000), 1.0, alpha=ALPHA),
    "z_mean_one_sided": lambda rng: S.z_test_mean(rng.normal(0.5, 1.0, 200), 0.5, alpha=ALPHA, sd=1.0,
                                                  alternative="less"),
    "chi2_known_mean": lambda rng: S.chi2_test_variance(rng.normal(1.0, 0.3, 12), 0.09, alpha=ALPHA, mean=1.0),
    "chi2_estimated_mean": lambda rng: S.chi2_test_variance(rng.normal(1.0, 0.3, 12), 0.09, alpha=ALPHA),
    "ols_slope": lambda rng: S.t_test_coef(S.ols(_design(15) @ [1.0, -2.0] + rng.normal(0, 0.5, 15), _design(15)),
                                           1, -2.0, alpha=ALPHA),
    "ols_intercept": lambda rng: S.t_test_coef(S.ols(_design(15) @ [1.0, -2.0] + rng.normal(0, 0.5, 15),
                                                     _design(15)), 0, 1.0, alpha=ALPHA),
    "f_joint": lambda rng: S.f_test(S.ols(_design(15) @ [1.0, -2.0] + rng.normal(0, 0.5, 15), _design(15)),
                                    np.eye(2), [1.0, -2.0], alpha=ALPHA),
    "correlation": lambda rng: S.correlation_test(rng.normal(size=10), rng.normal(size=10), alpha=ALPHA),
}


@pytest.mark.parametrize("case", sorted(NULL_CASES))
def test_calibrated_under_null(case):
    rate = rejection_rate(NULL_CASES[case], seed=sorted(NULL_CASES).index(case))
    assert within(rate, ALPHA), f"{case}: rejection rate {rate} under H0 is not 0.05 +- 3 sd"


def test_holm_family_calibrated_and_conservative():
    def family(rng):
        return S.holm([S.t_test_mean(rng.normal(size=8), 0.0, alpha=ALPHA) for _ in range(5)], ALPHA)
    rate = rejection_rate(family, seed=11)
    # independent sub-tests: P(reject) = 1 - (1 - alpha/5)^5 = 0.049 (Holm <= alpha)
    assert within(rate, 1 - (1 - ALPHA / 5) ** 5)
    assert rate <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / R)


# ----- power at the MDE ----------------------------------------------------------------------
def _power_cases():
    n = 20
    d_t = S.t_test_mean.mde(n, ALPHA, sd=1.0)
    n_z = 300
    d_z = S.z_test_mean.mde(n_z, ALPHA, sd=2.0)
    n_c = 60
    d_c = S.chi2_test_variance.mde(n_c, ALPHA, known_mean=True)
    d_c2 = S.chi2_test_variance.mde(n_c, ALPHA, known_mean=False)
    X = _design(25)
    xc = X[:, 1] - X[:, 1].mean()
    sd_unit = 0.5 / math.sqrt(np.mean(xc ** 2))  # se(slope) = sigma / sqrt(sum xc^2) = sd_unit / sqrt(n)
    d_b = S.t_test_coef.mde(25, ALPHA, sd_unit=sd_unit, p=2)
    lam = S.f_test.mde(25, ALPHA, q=1, p=2) * 5.0  # noncentrality = n f^2, sqrt(25) = 5
    n_r = 80
    rho = S.correlation_test.mde(n_r, ALPHA)
    return {
        "t_mean": lambda rng: S.t_test_mean(rng.normal(d_t, 1.0, n), 0.0, alpha=ALPHA),
        "z_mean": lambda rng: S.z_test_mean(rng.normal(d_z, 2.0, n_z), 0.0, alpha=ALPHA, sd=2.0),
        "chi2_known_mean": lambda rng: S.chi2_test_variance(rng.normal(0, math.sqrt(1 + d_c), n_c), 1.0,
                                                            alpha=ALPHA, mean=0.0),
        "chi2_estimated_mean": lambda rng: S.chi2_test_variance(rng.normal(5, math.sqrt(1 + d_c2), n_c), 1.0,
                                                                alpha=ALPHA),
        "ols_slope": lambda rng: S.t_test_coef(S.ols(X @ [0.0, 1.0 + d_b] + rng.normal(0, 0.5, 25), X), 1, 1.0,
                                               alpha=ALPHA),
        # one restriction b1 = 1 with the slope off by lam standard errors
        "f_one": lambda rng: S.f_test(S.ols(X @ [0.0, 1.0 + lam * 0.5 / math.sqrt(xc @ xc)]
                                            + rng.normal(0, 0.5, 25), X), [[0.0, 1.0]], [1.0], alpha=ALPHA),
        "correlation": lambda rng: S.correlation_test(*rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], n_r).T,
                                                      alpha=ALPHA),
    }


POWER_CASES = _power_cases()


@pytest.mark.parametrize("case", sorted(POWER_CASES))
def test_power_at_mde_is_099(case):
    rate = rejection_rate(POWER_CASES[case], seed=100 + sorted(POWER_CASES).index(case))
    slack = 0.01 if case == "correlation" else 0.0  # its power formula is Fisher's approximation
    assert abs(rate - 0.99) <= 3 * math.sqrt(0.99 * 0.01 / R) + slack, f"{case}: power {rate} at the MDE"


def test_power_below_mde_is_lower():
    """Half the MDE is detected far less often than 0.99 (the MDE is not trivially small)."""
    d = S.t_test_mean.mde(20, ALPHA, sd=1.0)
    rng = np.random.default_rng(5)
    rate = np.mean([S.t_test_mean(rng.normal(d / 2, 1.0, 20), 0.0, alpha=ALPHA).rejected for _ in range(500)])
    assert rate < 0.8


# ----- planning round trip --------------------------------------------------------------------
PLANNED = [
    (S.t_test_mean, 0.3, {"sd": 1.5}),
    (S.z_test_mean, 0.05, {"sd": 1.0}),
    (S.z_test_mean, 0.05, {"sd": 1.0, "alternative": "less"}),
    (S.chi2_test_variance, 0.01, {"known_mean": True}),
    (S.chi2_test_variance, 0.2, {"known_mean": False}),
    (S.t_test_coef, 0.02, {"sd_unit": 0.7, "p": 3}),
    (S.f_test, 0.1, {"q": 2, "p": 3}),
    (S.correlation_test, 0.05, {}),
]


@pytest.mark.parametrize("test,effect,kw", PLANNED, ids=lambda v: getattr(v, "__class__", type(v)).__name__)
@pytest.mark.parametrize("alpha", [0.05, 1e-6])
def test_samples_needed_mde_round_trip(test, effect, kw, alpha):
    n = test.samples_needed(effect, alpha, **kw)
    assert test.power(effect, n, alpha, **kw) >= 0.99
    assert test.mde(n, alpha, **kw) <= effect * (1 + 1e-9)
    if n > test.min_n:
        assert test.power(effect, n - 1, alpha, **kw) < 0.99
        assert test.mde(n - 1, alpha, **kw) > effect
    assert test.mde(4 * n, alpha, **kw) < effect  # more samples, smaller effects


def test_mde_matches_normal_formula():
    n, a = 10 ** 6, 1e-6
    approx = (S.stats.norm.isf(a / 2) + S.stats.norm.isf(0.01)) / math.sqrt(n)
    assert S.z_test_mean.mde(n, a) == pytest.approx(approx, rel=1e-6)
    assert S.t_test_mean.mde(n, a) == pytest.approx(approx, rel=1e-3)
    assert S.chi2_test_variance.mde(n, a) == pytest.approx(approx * math.sqrt(2), rel=0.02)


def test_result_fields():
    rng = np.random.default_rng(0)
    r = S.chi2_test_variance(rng.normal(0, 2, 1000), 4.0, alpha=1e-3, mean=0.0, name="v")
    assert (r.name, r.alpha, r.exact, r.n, r.kind) == ("v", 1e-3, True, 1000, "chi2-variance")
    assert 0 < r.p_value <= 1 and r.mde == pytest.approx(S.chi2_test_variance.mde(1000, 1e-3))
    assert "relative" in r.units and r.to_dict()["mde"] == r.mde
    z = S.z_test_mean(rng.exponential(size=100), 1.0, alpha=0.01)
    assert z.exact is False
    f = S.ols(np.arange(10.0) * 2 + 1 + rng.normal(0, 0.1, 10), np.c_[np.ones(10), np.arange(10.0)])
    assert np.allclose(f.coef, [1, 2], atol=0.2) and f.df == 8
    assert S.t_test_coef(f, 1, 2.0, alpha=0.01).units == "relative error of the coefficient"
    assert S.t_test_coef(f, 1, 0.0, alpha=0.01).units == "absolute error of the coefficient"
    # a gross departure is rejected by each test
    assert S.t_test_mean(rng.normal(1, 1, 100), 0.0, alpha=1e-6).rejected
    assert S.chi2_test_variance(rng.normal(0, 1, 1000), 1.5, alpha=1e-6).rejected
    assert S.t_test_coef(f, 1, 2.5, alpha=1e-6).rejected
    x = rng.normal(size=500)
    assert S.correlation_test(x, x + rng.normal(size=500), alpha=1e-6).rejected


# ----- Holm -----------------------------------------------------------------------------------
def _p(p, name="s"):
    return S.StatResult(name, 0.0, p, 0.05, True, 10, "u", "test", mde_at=lambda a: 1.0 / a)


def test_holm_hand_worked_example():
    # sorted: 0.005 (x4) -> 0.02, 0.01 (x3) -> 0.03, 0.03 (x2) -> 0.06, 0.04 (x1) -> 0.04 -> max so far 0.06
    h = S.holm([_p(0.01), _p(0.04), _p(0.03), _p(0.005)], 0.05)
    assert h.adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert h.p_value == pytest.approx(0.02) and h.rejected and h.m == 4
    assert [a <= 0.05 for a in h.adjusted] == [True, False, False, True]
    assert not S.holm([_p(0.01), _p(0.04), _p(0.03), _p(0.005)], 0.01).rejected
    assert h.mde == pytest.approx([4 / 0.05] * 4)  # each sub-test's mde at alpha / m
    assert S.holm([_p(0.9), _p(1.0)], 0.05).p_value == 1.0
    assert S.holm([_p(0.3)], 0.05).adjusted == [0.3]
    d = h.to_dict()
    assert d["p_value"] == pytest.approx(0.02) and len(d["tests"]) == 4


def test_exact_check():
    ok = S.exact_check("pointwise", True, 1e-14, alpha=1e-6, tolerance=1e-9)
    bad = S.exact_check("pointwise", False, 1.0, alpha=1e-6, tolerance=1e-9)
    assert ok.passed and ok.p_value == 1.0 and ok.mde == 1e-9
    assert bad.rejected and S.holm([ok, bad], 1e-6).rejected


# ----- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize("call,match", [
    (lambda: S.t_test_mean([1.0, 2.0, 3.0], alpha=0.0), "alpha"),
    (lambda: S.t_test_mean([1.0, 2.0, 3.0], alpha=1.5), "alpha"),
    (lambda: S.z_test_mean([1.0, 2.0], alpha="x"), "alpha"),
    (lambda: S.t_test_mean([1.0, float("nan"), 3.0], alpha=0.05), "nan"),
    (lambda: S.t_test_mean([1.0], alpha=0.05), "at least 2"),
    (lambda: S.t_test_mean([1.0, 2.0], alpha=0.05, alternative="up"), "alternative"),
    (lambda: S.chi2_test_variance([1.0, 2.0], -1.0, alpha=0.05), "sigma2"),
    (lambda: S.chi2_test_variance([1.0, 2.0], float("inf"), alpha=0.05), "sigma2"),
    (lambda: S.ols([1.0, 2.0, 3.0], np.ones((2, 2))), "shape"),
    (lambda: S.ols([1.0, 2.0, 3.0, 4.0], np.c_[np.ones(4), np.ones(4)]), "rank"),
    (lambda: S.correlation_test([1.0, 2, 3, 4], [1.0, 2, 3], alpha=0.05), "same length"),
    (lambda: S.correlation_test([1.0, 1, 1, 1], [1.0, 2, 3, 4], alpha=0.05), "constant"),
    (lambda: S.holm([], 0.05), "at least one"),
    (lambda: S.holm([_p(float("nan"))], 0.05), "p-value"),
    (lambda: S.t_test_mean.samples_needed(0.0, 0.05), "effect"),
    (lambda: S.t_test_mean.samples_needed(0.1, 0.05, power=0.01), "power"),
    (lambda: S.t_test_mean.mde(1, 0.05), "n must be"),
    (lambda: S.t_test_mean.mde(2.5, 0.05), "n must be"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ----- streamed least squares, residual chi-square, within-group correlation, Hotelling (issue 11) ----
def test_ols_accumulator_matches_ols():
    rng = np.random.default_rng(3)
    X = np.c_[np.ones(500), rng.normal(size=500), rng.normal(5.0, 2.0, 500)]
    y = X @ [1.0, -2.0, 0.5] + rng.normal(0, 0.3, 500)
    acc = S.OLSAccumulator(3)
    for k in range(0, 500, 137):
        acc.add(y[k:k + 137], X[k:k + 137])
    a, b = acc.fit(), S.ols(y, X)
    assert np.allclose(a.coef, b.coef, rtol=1e-9) and a.s2 == pytest.approx(b.s2, rel=1e-9)
    assert np.allclose(a.xtx_inv, b.xtx_inv, rtol=1e-8) and a.df == b.df == 497
    with pytest.raises(ValueError, match="rank"):
        bad = S.OLSAccumulator(2)
        bad.add(np.ones(5), np.c_[np.ones(5), np.ones(5)])
        bad.fit()


def _hot(rng, shift=0.0, n=60):
    z = rng.normal(size=(n, 3))
    y = z @ np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 1.0]]) + shift * np.array([1.0, -1.0, 0.5])
    return S.hotelling_test(y, alpha=ALPHA)


NULL_CASES_11 = {
    "chi2_from_ssr": lambda rng: S.chi2_from_ss(float(np.sum(S.ols(_design(15) @ [1.0, 2.0] + rng.normal(0, 0.5, 15),
                                                                  _design(15)).resid ** 2)), 13, 0.25, alpha=ALPHA),
    "within_correlation": lambda rng: S.within_correlation_test.from_sums(
        *_group_sums(rng.normal(size=40) + np.repeat([0.0, 5.0], 20), rng.normal(size=40) + np.repeat([3.0, -1.0], 20)),
        alpha=ALPHA),
    "hotelling_gaussian": lambda rng: _hot(rng),
}


def _group_sums(x, y, groups=2):
    lab = np.repeat(np.arange(groups), x.size // groups)
    return [np.bincount(lab, weights=w) for w in (np.ones_like(x), x, y, x * x, y * y, x * y)]


@pytest.mark.parametrize("case", sorted(NULL_CASES_11))
def test_new_tests_calibrated_under_null(case):
    rate = rejection_rate(NULL_CASES_11[case], seed=300 + sorted(NULL_CASES_11).index(case))
    assert within(rate, ALPHA), f"{case}: rejection rate {rate} under H0 is not 0.05 +- 3 sd"


def test_hotelling_power_at_relative_mde():
    """relative_mde(direction) is the shift size detected with probability 0.99."""
    rng = np.random.default_rng(7)
    r0 = _hot(rng, n=60)
    cov_true = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 1.0]])
    r0.cov = cov_true.T @ cov_true  # plan with the true covariance
    d = S.hotelling_test.relative_mde(r0, np.array([1.0, -1.0, 0.5]), ALPHA)
    rate = np.mean([_hot(rng, shift=d).rejected for _ in range(R)])
    assert abs(rate - 0.99) <= 3 * math.sqrt(0.99 * 0.01 / R) + 0.01, rate  # + plug-in covariance slack


def test_f_relative_mde_along_a_coefficient():
    """An F test's MDE along one coefficient: that relative error is rejected with probability 0.99."""
    X = np.c_[np.ones(40), np.linspace(-1, 1, 40)]
    rng = np.random.default_rng(8)
    fit0 = S.ols(X @ [0.0, 0.0] + rng.normal(0, 0.5, 40), X)
    fit0.s2 = 0.25
    d = S.f_test.relative_mde(fit0, X.T @ X, np.eye(2), np.array([0.0, 3.0]), ALPHA)  # coefficient 3, relative
    rate = np.mean([S.f_test(S.ols(X @ [0.0, 3.0 * d] + rng.normal(0, 0.5, 40), X), np.eye(2), [0.0, 0.0],
                             alpha=ALPHA).rejected for _ in range(R)])
    assert abs(rate - 0.99) <= 3 * math.sqrt(0.99 * 0.01 / R), rate
    assert S.f_test.relative_mde(fit0, X.T @ X, np.eye(2)[:1], np.array([0.0, 1.0]), ALPHA) == math.inf


def test_holm_reports_raw_smallest_p():
    h = S.holm([_p(0.4), _p(0.3), _p(0.9)], 0.05)
    assert h.p_min == 0.3 and h.m == 3 and h.p_value == pytest.approx(0.9) and h.to_dict()["p_min"] == 0.3
    assert S.holm([_p(0.6), _p(0.7)], 0.05).p_value == 1.0  # min(1, m p_min): p_min and m say why
