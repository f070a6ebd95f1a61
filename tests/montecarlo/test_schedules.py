"""montecarlo.schedules against independent references.

References: diffusers' DDPMScheduler betas (float32 tensors, so compared to float32 rounding) and
closed formulas evaluated in 40-digit mpmath (compared to float64 rounding). Log-space accuracy
is checked against mpmath products of the very same float64 betas.
"""
from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

from montecarlo.schedules import Schedule

EPS64 = np.finfo(np.float64).eps
EPS32 = float(np.finfo(np.float32).eps)
mp.mp.dps = 40

FAMILIES = {  # our constructor, diffusers' beta_schedule name, the parameters both get
    "linear": (Schedule.linear, "linear", {"beta_start": 1e-4, "beta_end": 0.02}),
    "scaled_linear": (Schedule.scaled_linear, "scaled_linear", {"beta_start": 0.00085, "beta_end": 0.012}),
    "cosine": (Schedule.cosine, "squaredcos_cap_v2", {}),
    "sigmoid": (Schedule.sigmoid, "sigmoid", {"beta_start": 1e-4, "beta_end": 0.02}),
}


# ----- independent references ------------------------------------------------------------
def _grid(i, T):
    """i/(T-1) as in linspace (the single point of a T = 1 linspace is its start)."""
    return mp.mpf(0) if T == 1 else mp.mpf(i) / (T - 1)


def reference_betas(family: str, T: int) -> np.ndarray:
    """The published formulas, in mpmath, rounded once to float64."""
    out = []
    for i in range(T):
        u = _grid(i, T)
        if family == "linear":
            b = mp.mpf(1e-4) + (mp.mpf(0.02) - mp.mpf(1e-4)) * u
        elif family == "scaled_linear":
            lo, hi = mp.sqrt(mp.mpf(0.00085)), mp.sqrt(mp.mpf(0.012))
            b = (lo + (hi - lo) * u) ** 2
        elif family == "sigmoid":
            b = mp.mpf(1e-4) + (mp.mpf(0.02) - mp.mpf(1e-4)) / (1 + mp.exp(-(-6 + 12 * u)))
        else:  # cosine, Nichol & Dhariwal eq. 17 with s = 0.008, clipped at 0.999
            f = lambda k: mp.cos((mp.mpf(k) / T + mp.mpf(0.008)) / mp.mpf(1.008) * mp.pi / 2) ** 2  # noqa: E731
            b = min(1 - f(i + 1) / f(i), mp.mpf(0.999))
        out.append(float(b))
    return np.array(out)


def mp_log_alpha_bar(betas) -> list:
    """log alpha_bar_t = sum_{s<=t} log(1 - beta_s) in 40 digits, t = 1..T."""
    total, out = mp.mpf(0), []
    for b in betas:
        total += mp.log(1 - mp.mpf(float(b)))
        out.append(total)
    return out


# ----- constructors ----------------------------------------------------------------------
def rounding_bound(family: str, T: int, ref: np.ndarray) -> np.ndarray:
    """Absolute error allowed for float64 betas: 1e-13 |b| + 4 eps (a few dozen ulps). The cosine's
    beta = 1 - f(t)/f(t-1) adds the error of the ratio, (1 - b) * 2 eps (1 + kappa_t + kappa_{t-1}) with
    kappa = 2 u tan(u) the condition number of f = cos^2(u) (large near u = pi/2, i.e. the last steps)."""
    bound = 1e-13 * np.abs(ref) + 4 * EPS64
    if family == "cosine":
        u = (np.arange(T + 1) / T + 0.008) / 1.008 * np.pi / 2
        kappa = 2 * u * np.tan(u)
        bound = bound + (1 - ref) * 4 * EPS64 * (1 + kappa[:-1] + kappa[1:])
    return bound


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("T", [1, 2, 10, 1000])
def test_constructor_matches_formula(family, T):
    """float64 betas agree with the formula to rounding (see rounding_bound)."""
    ours = FAMILIES[family][0](T)
    assert ours.T == T and ours.betas.dtype == np.float64
    ref = reference_betas(family, T)
    err = np.abs(ours.betas - ref)
    assert np.all(err <= rounding_bound(family, T, ref)), np.max(err / np.abs(ref))


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_constructor_matches_diffusers(family):
    """diffusers stores float32 betas built with float32 linspace/sigmoid: agreement to 8 float32 ulps."""
    scheduling = pytest.importorskip("diffusers.schedulers.scheduling_ddpm")
    ctor, name, params = FAMILIES[family]
    theirs = scheduling.DDPMScheduler(num_train_timesteps=1000, beta_schedule=name, **params).betas
    np.testing.assert_allclose(ctor(1000).betas, theirs.double().numpy(), rtol=8 * EPS32, atol=0)


def test_formula_reference_is_sensitive():
    """The formula reference tells families apart (so the comparison above can fail)."""
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(Schedule.linear(1000).betas, reference_betas("sigmoid", 1000), rtol=1e-13)


# ----- log-space accuracy ----------------------------------------------------------------
def test_one_minus_alpha_bar_accurate_for_tiny_betas():
    """1 - alpha_bar_t for betas 1e-12 to 1e-15 relative accuracy, where 1 - prod(alpha) loses ~4 digits."""
    betas = np.full(6, 1e-12)
    sched = Schedule.from_betas(betas)
    t = np.arange(1, 7)
    exact = np.array([float(-mp.expm1(v)) for v in mp_log_alpha_bar(betas)])
    np.testing.assert_allclose(sched.one_minus_alpha_bar(t), exact, rtol=1e-14)
    naive = 1.0 - np.cumprod(1.0 - betas)
    assert np.max(np.abs(naive / exact - 1)) > 1e-6  # the naive form would fail the check above


def test_cosine_T4000_alpha_bar_near_zero_and_near_one():
    """Cosine T = 4000: alpha_bar_T ~ 1.5e-10 and 1 - alpha_bar_1 ~ 1e-6, both to float64 accuracy.

    The cumulative sum of 4000 logs has absolute error <= T eps max|log alpha_bar| ~ 1e-11, hence rtol 2e-11.
    """
    sched = Schedule.cosine(4000)
    t = np.arange(1, 4001)
    exact_log = mp_log_alpha_bar(sched.betas)
    exact = np.array([float(mp.exp(v)) for v in exact_log])
    np.testing.assert_allclose(sched.alpha_bar(t), exact, rtol=2e-11, atol=0)
    assert 0 < sched.alpha_bar(4000) < 1e-9
    assert sched.one_minus_alpha_bar(1) == pytest.approx(float(-mp.expm1(exact_log[0])), rel=1e-14)
    assert sched.one_minus_alpha_bar(1) == pytest.approx(sched.beta(1), rel=1e-15)


def test_accessors_are_consistent():
    sched = Schedule.linear(50)
    t = np.arange(1, 51)
    np.testing.assert_allclose(sched.alpha(t), 1 - sched.beta(t), rtol=0, atol=0)
    np.testing.assert_allclose(sched.alpha_bar(t), np.cumprod(sched.alpha(t)), rtol=1e-14)
    np.testing.assert_allclose(sched.snr(t), sched.alpha_bar(t) / sched.one_minus_alpha_bar(t), rtol=1e-15)
    assert sched.alpha_bar(0) == 1.0 and sched.log_alpha_bar(0) == 0.0 and len(sched) == 50


def test_from_alpha_bar_round_trip():
    sched = Schedule.cosine(300)
    t = np.arange(1, 301)
    again = Schedule.from_alpha_bar(sched.alpha_bar(t))
    np.testing.assert_allclose(again.alpha_bar(t), sched.alpha_bar(t), rtol=1e-13)


# ----- zero terminal SNR (Lin et al. 2024) ---------------------------------------------------
def test_scaled_linear_terminal_signal_lin_et_al():
    """Lin et al. report sqrt(alpha_bar_T) = 0.068265 for Stable Diffusion's schedule (T = 1000)."""
    assert float(np.sqrt(Schedule.scaled_linear(1000).alpha_bar(1000))) == pytest.approx(0.068265, abs=5e-7)


def test_rescale_zero_terminal_snr():
    base = Schedule.scaled_linear(1000)
    sched = base.rescale_zero_terminal_snr()
    t = np.arange(1, 1001)
    assert sched.alpha_bar(1000) == 0.0 and sched.snr(1000) == 0.0 and sched.beta(1000) == 1.0
    assert sched.alpha_bar(1) == pytest.approx(base.alpha_bar(1), rel=1e-14)
    assert np.all(np.diff(sched.alpha_bar(t)) < 0)
    # Algorithm 1 by hand: sqrt(abar) shifted so the last is 0, scaled so the first is kept.
    s = np.sqrt(base.alpha_bar(t))
    np.testing.assert_allclose(np.sqrt(sched.alpha_bar(t)), (s - s[-1]) * s[0] / (s[0] - s[-1]), rtol=1e-12, atol=1e-15)


def test_rescale_matches_diffusers():
    scheduling = pytest.importorskip("diffusers.schedulers.scheduling_ddpm")
    torch = pytest.importorskip("torch")
    base = Schedule.scaled_linear(1000)
    theirs = scheduling.rescale_zero_terminal_snr(torch.tensor(base.betas, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(base.rescale_zero_terminal_snr().betas, theirs, rtol=1e-12, atol=1e-15)


# ----- bad input -------------------------------------------------------------------------
@pytest.mark.parametrize("betas, pattern", [
    ([0.1, 0.0, 0.2], r"betas\[1\] \(t = 2\) is 0\.0"),
    ([0.1, 0.2, -0.3], r"betas\[2\] \(t = 3\) is -0\.3"),
    ([0.1, 1.5], r"betas\[1\] \(t = 2\) is 1\.5"),
    ([1.0, 0.5], r"betas\[0\] \(t = 1\) is 1\.0"),
    ([0.5, float("nan")], r"betas\[1\] \(t = 2\) is nan"),
    ([0.5, 0.1, float("inf")], r"betas\[2\] \(t = 3\) is inf"),
    ([[0.1, 0.2]], r"1-D, got shape \(1, 2\)"),
    ([], r"T = 0"),
    (["a"], r"numbers"),
])
def test_bad_betas_raise(betas, pattern):
    with pytest.raises(ValueError, match=pattern):
        Schedule.from_betas(betas)


@pytest.mark.parametrize("alpha_bar, pattern", [
    ([0.9, 0.95], r"alpha_bar\[1\] \(t = 2\) is 0\.95"),
    ([0.9, 0.9], r"alpha_bar\[1\] \(t = 2\) is 0\.9"),
    ([1.0, 0.5], r"alpha_bar\[0\] \(t = 1\) is 1\.0"),
    ([0.5, -0.1], r"alpha_bar\[1\] \(t = 2\) is -0\.1"),
    ([0.9, float("nan")], r"alpha_bar\[1\] \(t = 2\) is nan"),
    ([0.9, 0.0, 0.0], r"alpha_bar\[2\] \(t = 3\) is 0\.0"),
    ([[0.9]], r"1-D"),
    ([1e-20, 1e-21], r"alpha_bar\[0\] \(t = 1\) is 1e-20.*rounds beta_t = 1 - alpha_t to 1"),
])
def test_bad_alpha_bar_raise(alpha_bar, pattern):
    with pytest.raises(ValueError, match=pattern):
        Schedule.from_alpha_bar(alpha_bar)


@pytest.mark.parametrize("T, pattern", [(0, r"got 0$"), (-3, r"got -3$"), (2.5, r"got 2\.5$"), (True, r"got True$")])
@pytest.mark.parametrize("ctor", [Schedule.linear, Schedule.scaled_linear, Schedule.cosine, Schedule.sigmoid])
def test_bad_T_raise(ctor, T, pattern):
    with pytest.raises(ValueError, match=r"^T \(the number of steps\) must be a positive integer, " + pattern):
        ctor(T)


def test_bad_constructor_parameters_raise():
    with pytest.raises(ValueError, match=r"betas\[0\] \(t = 1\) is 0\.0"):
        Schedule.linear(10, beta_start=0.0)
    with pytest.raises(ValueError, match=r"betas\[6\] \(t = 7\) is 1\.0000333"):
        Schedule.linear(10, beta_end=1.5)
    with pytest.raises(ValueError, match=r"T = 1"):
        Schedule.linear(1).rescale_zero_terminal_snr()


@pytest.mark.parametrize("accessor", ["alpha", "beta", "alpha_bar", "log_alpha_bar", "one_minus_alpha_bar", "snr"])
@pytest.mark.parametrize("t, pattern", [(1001, r"t = 1001"), (-1, r"t = -1"), (2.5, r"2\.5"), ([3, 5000], r"t = 5000")])
def test_t_out_of_range_raises(accessor, t, pattern):
    with pytest.raises(ValueError, match=pattern):
        getattr(Schedule.linear(1000), accessor)(t)


@pytest.mark.parametrize("accessor", ["alpha", "beta", "snr"])
def test_t_zero_rejected_where_undefined(accessor):
    with pytest.raises(ValueError, match=r"t = 0 is out of range"):
        getattr(Schedule.linear(10), accessor)(0)


# ----- laplace, exp, squaredcos_cap_v2 and the named dispatch -------------------------------------------------
from montecarlo.schedules import (NAMED_SCHEDULES, inference_timesteps, timesteps_leading,  # noqa: E402
                                  timesteps_linspace, timesteps_trailing)


def mp_betas_for_alpha_bar(f, T, max_beta=0.999) -> np.ndarray:
    """beta_t = min(1 - f(t/T)/f((t-1)/T), max_beta) in 40 digits (diffusers' betas_for_alpha_bar)."""
    return np.array([float(min(1 - f(mp.mpf(i + 1) / T) / f(mp.mpf(i) / T), mp.mpf(max_beta))) for i in range(T)])


def mp_laplace(u):
    """diffusers PR #11320: lambda = -0.5 copysign(1, 0.5 - u) log(1 - 2|0.5 - u| + 1e-6), f = sqrt(sigmoid)."""
    sign = 1 if u <= mp.mpf(0.5) else -1
    lmb = -mp.mpf(0.5) * sign * mp.log(1 - 2 * abs(mp.mpf(0.5) - u) + mp.mpf(1e-6))
    return mp.sqrt(mp.exp(lmb) / (1 + mp.exp(lmb)))


@pytest.mark.parametrize("T", [1, 7, 100])
def test_laplace_and_exp_match_their_formulas(T):
    np.testing.assert_allclose(Schedule.laplace(T).betas, mp_betas_for_alpha_bar(mp_laplace, T), rtol=1e-12)
    np.testing.assert_allclose(Schedule.exp(T).betas, np.minimum(-np.expm1(-12.0 / T), 0.999) * np.ones(T), rtol=1e-12)
    np.testing.assert_array_equal(Schedule.squaredcos_cap_v2(T).betas, Schedule.cosine(T).betas)


@pytest.mark.parametrize("kind, ctor", [("laplace", Schedule.laplace), ("exp", Schedule.exp),
                                        ("cosine", Schedule.squaredcos_cap_v2)])
def test_alpha_bar_families_match_diffusers(kind, ctor):
    scheduling = pytest.importorskip("diffusers.schedulers.scheduling_ddpm")
    for T in (10, 1000):
        theirs = scheduling.betas_for_alpha_bar(T, alpha_transform_type=kind).double().numpy()
        np.testing.assert_allclose(ctor(T).betas, theirs, rtol=2 * EPS32, atol=0)


def test_laplace_reference_is_sensitive():
    """sigmoid(lambda) instead of sqrt(sigmoid(lambda)) (a VP reading of lambda = log SNR) is a different schedule."""
    other = mp_betas_for_alpha_bar(lambda u: mp_laplace(u) ** 2, 100)
    assert np.max(np.abs(Schedule.laplace(100).betas / other - 1)) > 0.1


def test_named_dispatch():
    assert set(NAMED_SCHEDULES) == {"linear", "scaled_linear", "squaredcos_cap_v2", "sigmoid", "laplace", "exp", "cosine"}
    np.testing.assert_array_equal(Schedule.named("scaled_linear", 50, 0.001, None).betas,
                                  Schedule.scaled_linear(50, beta_start=0.001).betas)
    np.testing.assert_array_equal(Schedule.named("laplace", 50, 0.5, 0.9).betas, Schedule.laplace(50).betas)
    with pytest.raises(ValueError, match="unknown beta_schedule 'quadratic'"):
        Schedule.named("quadratic", 10)


# ----- inference grids: Lin et al. (2024) Table 2 and diffusers --------------------------------------------------
def test_grids_reproduce_lin_et_al_table_2():
    """Table 2 (T = 1000, 10 steps), in the paper's 1-based t = k + 1."""
    assert (timesteps_linspace(1000, 10) + 1).tolist() == [1000, 889, 778, 667, 556, 445, 334, 223, 112, 1]
    assert (timesteps_leading(1000, 10) + 1).tolist() == [901, 801, 701, 601, 501, 401, 301, 201, 101, 1]
    assert (timesteps_trailing(1000, 10) + 1).tolist() == [1000, 900, 800, 700, 600, 500, 400, 300, 200, 100]
    assert timesteps_leading(1000, 10, steps_offset=1).tolist() == list(range(901, 0, -100))  # Stable Diffusion


@pytest.mark.parametrize("spacing", ["leading", "trailing", "linspace"])
def test_grids_match_diffusers_set_timesteps(spacing):
    scheduling = pytest.importorskip("diffusers.schedulers.scheduling_ddpm")
    for T, n, offset in [(1000, 10, 0), (1000, 7, 1), (50, 7, 1), (50, 50, 0), (50, 1, 0), (13, 4, 1)]:
        sched = scheduling.DDPMScheduler(num_train_timesteps=T, timestep_spacing=spacing, steps_offset=offset)
        sched.set_timesteps(n)
        assert inference_timesteps(spacing, T, n, offset).tolist() == sched.timesteps.tolist(), (T, n, offset)


def test_grid_arguments_are_checked():
    with pytest.raises(ValueError, match="num_inference_steps = 11 exceeds T = 10"):
        timesteps_trailing(10, 11)
    with pytest.raises(ValueError, match="steps_offset must be a non-negative integer, got -1"):
        timesteps_leading(10, 2, steps_offset=-1)
    with pytest.raises(ValueError, match="unknown timestep_spacing 'uniform'"):
        inference_timesteps("uniform", 10, 2)
    with pytest.raises(ValueError, match="num_inference_steps"):
        timesteps_linspace(10, 0)
