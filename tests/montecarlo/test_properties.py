"""Property tests on Hypothesis-drawn schedules: the numeric forms of the proved identities hold exactly
(float64, no Monte Carlo), and the kernel's fast path equals its reference loop.

Every slot value comes from ``proofs.numeric.slot_function`` applied to ``proofs.IDENTITIES[...].slots``;
the right-hand sides are built independently (recursions over the chain, the precision form of a
Gaussian product, torch autograd, Gaussian conjugacy).

Tolerances (float64, eps = 2.2e-16), derived rather than tuned:
* ``Schedule.alpha_bar`` is exp of a cumulative sum of log1p(-beta): relative error <= 4 t eps (1 + |log abar_t|).
* A slot that contains ``1 - abar`` evaluates it by subtraction, so it carries the absolute error of abar,
  i.e. relative error (4 t eps (1 + |log abar|) abar + eps) / (1 - abar): see ``cancel``.
* Everything else (a handful of products, quotients, sqrt) adds 16 eps.
Each check is shown to fail on a wrong formula (``test_checks_reject_wrong_formulas``).
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import proofs
from montecarlo.kernel import forward_chain
from montecarlo.schedules import Schedule
from diffusion_proofs.testing.strategies import (FAMILIES, alpha_bar_schedules, schedules, schedules_and_timesteps,
                                   timesteps)
from proofs.numeric import slot_function
from proofs.symbols import abar, beta, noise_std, sigma, t, x, x_tilde

EPS = np.finfo(np.float64).eps
SLOTS = {ident: dict(identity.slots) for ident, identity in proofs.IDENTITIES.items()}


def slot(identity: str, name: str, sched, tt, **extra) -> np.ndarray:
    return slot_function(SLOTS[identity][name])(sched, tt, **extra)


def abar_rel_err(sched, tt) -> np.ndarray:
    """Bound on the relative error of Schedule.alpha_bar(t) (log-space cumulative sum, then exp)."""
    log_ab = sched.log_alpha_bar(tt)
    return 4 * np.maximum(tt, 1) * EPS * (1 + np.abs(np.where(np.isfinite(log_ab), log_ab, 0.0)))


def cancel(sched, tt) -> np.ndarray:
    """Relative error of ``1 - abar_t`` computed by subtraction (as the lambdified slots do); 0 at t = 0,
    where abar_0 = 1 is exact."""
    tt = np.asarray(tt)
    ab, one_minus = sched.alpha_bar(tt), sched.one_minus_alpha_bar(tt)
    return np.where(tt == 0, 0.0, (abar_rel_err(sched, tt) * ab + EPS) / np.where(tt == 0, 1.0, one_minus))


def close(lhs, rhs, rel) -> bool:
    """|lhs - rhs| <= rel * |rhs| + 1e-300 elementwise (``rel`` may be an array)."""
    lhs, rhs = np.asarray(lhs, float), np.asarray(rhs, float)
    return bool(np.all(np.abs(lhs - rhs) <= rel * np.abs(rhs) + 1e-300))


# ----- the checks (each takes the expressions to test, so the negative controls can swap in wrong ones) -----
def forward_variance_holds(sched, variance=SLOTS["forward_marginal"]["variance"]) -> bool:
    """Var(x_t | x_0) by the chain's recursion v_t = alpha_t v_{t-1} + beta_t, v_0 = 0 (the telescoped
    sum of the per-step noise variances, Problem 2) equals the slot (1 - abar_t)."""
    tt = np.arange(1, sched.T + 1)
    v, out = 0.0, []
    for a, b in zip(sched.alpha(tt), sched.beta(tt)):
        v = a * v + b
        out.append(v)
    return close(slot_function(variance)(sched, tt), out, cancel(sched, tt) + 4 * tt * EPS)


def forward_mean_holds(sched, mean_coef=SLOTS["forward_marginal"]["mean_coef"]) -> bool:
    """E[x_t | x_0] / x_0 = prod_{s<=t} sqrt(alpha_s) (the chain's recursion) equals the slot sqrt(abar_t)."""
    tt = np.arange(1, sched.T + 1)
    prod = np.cumprod(np.sqrt(sched.alpha(tt)))
    return close(slot_function(mean_coef)(sched, tt), prod, abar_rel_err(sched, tt) + 4 * tt * EPS)


def posterior_precision_holds(sched, variance=SLOTS["posterior"]["variance"]) -> bool:
    """Product of Gaussians in x_{t-1}: precision 1/(1 - abar_{t-1}) + alpha_t/beta_t; its inverse equals
    the posterior variance slot, t = 2..T."""
    tt = np.arange(2, sched.T + 1)
    precision = 1.0 / sched.one_minus_alpha_bar(tt - 1) + sched.alpha(tt) / sched.beta(tt)
    rel = cancel(sched, tt - 1) + cancel(sched, tt) + 16 * EPS
    return close(slot_function(variance)(sched, tt), 1.0 / precision, rel)


def posterior_tower_holds(sched, coef_x0=SLOTS["posterior"]["coef_x0"], coef_xt=SLOTS["posterior"]["coef_xt"],
                          variance=SLOTS["posterior"]["variance"]) -> bool:
    """Averaging q(x_{t-1} | x_t, x_0) over x_t ~ q(x_t | x_0) must give q(x_{t-1} | x_0):
    coef_x0 + coef_xt sqrt(abar_t) = sqrt(abar_{t-1}) and variance + coef_xt^2 (1 - abar_t) = 1 - abar_{t-1}."""
    tt = np.arange(2, sched.T + 1)
    c0, ct, var = (slot_function(e)(sched, tt) for e in (coef_x0, coef_xt, variance))
    rel = 2 * (cancel(sched, tt - 1) + cancel(sched, tt) + abar_rel_err(sched, tt)) + 16 * EPS
    mean_ok = close(c0 + ct * np.sqrt(sched.alpha_bar(tt)), np.sqrt(sched.alpha_bar(tt - 1)), rel)
    var_ok = close(var + ct ** 2 * sched.one_minus_alpha_bar(tt), sched.one_minus_alpha_bar(tt - 1), rel)
    return mean_ok and var_ok


def posterior_eps_holds(sched, tt, x_t, eps, coef_xt=SLOTS["posterior_eps"]["coef_xt"],
                        coef_eps=SLOTS["posterior_eps"]["coef_eps"]) -> bool:
    """With x_0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t) substituted, the posterior mean
    coef_x0 x_0 + coef_xt x_t equals the eps form coef_xt' x_t + coef_eps eps (needs abar_t > 0)."""
    tt = np.atleast_1d(tt)
    x0 = (x_t - np.sqrt(sched.one_minus_alpha_bar(tt)) * eps) / np.sqrt(sched.alpha_bar(tt))
    terms = [slot("posterior", "coef_x0", sched, tt) * x0, slot("posterior", "coef_xt", sched, tt) * x_t]
    eps_terms = [slot_function(coef_xt)(sched, tt) * x_t, slot_function(coef_eps)(sched, tt) * eps]
    scale = sum(np.abs(v) for v in terms + eps_terms)
    rel = 2 * (cancel(sched, tt - 1) + cancel(sched, tt) + abar_rel_err(sched, tt)) + 32 * EPS
    return bool(np.all(np.abs(sum(terms) - sum(eps_terms)) <= rel * scale + 1e-300))


def score_eps_holds(sched, coef=SLOTS["score_eps"]["coef"]) -> bool:
    """E[eps | x_t] = -sqrt(1 - abar_t) grad log p_t, so coef * (-sqrt(1 - abar_t)) = 1 (1 - abar_t computed
    accurately with expm1 on the right)."""
    tt = np.arange(1, sched.T + 1)
    product = slot_function(coef)(sched, tt) * -np.sqrt(sched.one_minus_alpha_bar(tt))
    return close(product, np.ones_like(product), cancel(sched, tt) + 8 * EPS)


def eps_loss_weight_holds(sched, sigmas, weight=SLOTS["eps_loss"]["weight"]) -> bool:
    """L_t = ||mu~ - mu_theta||^2 / (2 sigma_t^2) with the means in eps form differs only in eps, so the
    weight equals coef_eps^2 / (2 sigma_t^2) (coef_eps: the posterior_eps slot), at every t with
    alpha_t > 0 (both contain 1/alpha_t: the eps form is undefined at a zero-terminal-SNR step beta_T = 1)."""
    tt = np.arange(1, sched.T + 1)
    tt = tt[sched.alpha(tt) > 0]
    expected = slot("posterior_eps", "coef_eps", sched, tt) ** 2 / (2 * sigmas[tt - 1] ** 2)
    return close(slot_function(weight)(sched, tt, sigma=sigmas), expected, 32 * EPS)


# ----- property tests --------------------------------------------------------------------
@given(schedules(max_T=4000))
def test_forward_marginal_variance_and_mean(sched):
    assert forward_variance_holds(sched)
    assert forward_mean_holds(sched)


@given(schedules(min_T=2, max_T=4000))
def test_posterior_variance_precision_form(sched):
    assert posterior_precision_holds(sched)


@given(schedules(min_T=2, max_T=4000))
def test_posterior_tower_property(sched):
    assert posterior_tower_holds(sched)


@given(schedules_and_timesteps(min_t=1, max_T=1000),
       st.floats(-1e3, 1e3, allow_subnormal=False), st.floats(-10, 10, allow_subnormal=False))
def test_posterior_eps_form_after_substituting_x0(pair, x_t, eps):
    sched, t_ = pair
    if sched.alpha_bar(t_) == 0.0:  # zero terminal SNR: x_t carries no x_0, so x_0 cannot be substituted
        t_ = t_ - 1
    if t_ >= 1:
        assert posterior_eps_holds(sched, t_, x_t, eps)


@given(schedules(max_T=4000))
def test_score_eps_coefficient(sched):
    assert score_eps_holds(sched)


@given(schedules(max_T=1000), st.floats(1e-3, 1.0), st.sampled_from(["beta", "posterior", "const"]))
def test_eps_loss_weight_is_posterior_eps_coefficient_squared(sched, scale, kind):
    tt = np.arange(1, sched.T + 1)
    if kind == "beta":  # DDPM's sigma_t^2 = beta_t
        sigmas = np.sqrt(sched.beta(tt))
    elif kind == "posterior":  # sigma_t^2 = beta~_t, with beta~_1 = 0 replaced by beta_1
        var = slot("posterior", "variance", sched, tt)
        sigmas = np.sqrt(np.where(var > 0, var, sched.beta(tt)))
    else:
        sigmas = np.full(sched.T, scale)
    assert eps_loss_weight_holds(sched, sigmas)


@given(st.floats(-50, 50, allow_subnormal=False), st.floats(-50, 50, allow_subnormal=False), st.floats(1e-3, 1e3))
def test_dsm_target_is_autograd_score(x_value, x_tilde_value, std):
    """d/dx~ log N(x~; x, std^2) by autograd equals the dsm target slot."""
    xt = torch.tensor(x_tilde_value, dtype=torch.float64, requires_grad=True)
    torch.distributions.Normal(torch.tensor(x_value, dtype=torch.float64), std).log_prob(xt).backward()
    target = slot_function(SLOTS["dsm"]["target"])(None, 1, x=x_value, x_tilde=x_tilde_value, noise_std=std)
    scale = (abs(x_value) + abs(x_tilde_value)) / std ** 2
    assert abs(float(target) - xt.grad.item()) <= 8 * EPS * scale + 1e-300


@given(st.floats(-10, 10, allow_subnormal=False), st.floats(1e-2, 1e2), st.floats(1e-2, 1e2),
       st.floats(-100, 100, allow_subnormal=False))
def test_tweedie_coefficient_on_gaussian_prior(m, prior_var, std, x_value):
    """theta ~ N(m, s^2), x = theta + std * z: E[theta | x] = (s^2 x + std^2 m) / (s^2 + std^2) and
    d/dx log p(x) = -(x - m) / (s^2 + std^2); Tweedie: E[theta | x] = x + coef * d/dx log p(x)."""
    coef = float(slot_function(SLOTS["tweedie"]["coef"])(None, 1, noise_std=std))
    total = prior_var + std ** 2
    lhs = x_value + coef * (-(x_value - m) / total)
    rhs = (prior_var * x_value + std ** 2 * m) / total
    assert abs(lhs - rhs) <= 16 * EPS * (abs(x_value) + abs(m)) + 1e-300


@settings(max_examples=20)
@given(schedules(max_T=40), st.integers(1, 40), st.integers(1, 3), st.integers(0, 2**31 - 1),
       st.sampled_from([torch.float64, torch.float32]))
def test_kernel_fast_path_equals_reference(sched, n, d, seed, dtype):
    """Same seed, same draws: the in-place path equals the textbook loop to rounding.
    Per step the two differ by at most one rounding of |a x| + |b eps| (a fused multiply-add), and the
    difference is then contracted by a_t <= 1: |fast - ref| <= 2 t eps_dtype max_s(|x_s| + |eps_s|)."""
    x0 = torch.from_numpy(np.random.default_rng(seed).normal(0, 3, (n, d)))
    times = range(sched.T + 1)
    fast = forward_chain(sched, x0, times, seed=seed, dtype=dtype, chunk_size=16, return_noise=True)
    ref = forward_chain(sched, x0, times, seed=seed, dtype=dtype, chunk_size=16, fast=False, return_noise=True)
    eps_dtype = torch.finfo(dtype).eps
    scale = max(float(v.abs().max()) for v in ref.values())
    for t_ in range(1, sched.T + 1):
        assert torch.equal(fast[("eps", t_)], ref[("eps", t_)])
        assert float((fast[t_] - ref[t_]).abs().max()) <= 2 * t_ * eps_dtype * 2 * scale


# ----- the strategies themselves -----------------------------------------------------------
@settings(max_examples=60)
@given(schedules())
def test_schedules_are_valid_and_strictly_decreasing(sched):
    tt = np.arange(1, sched.T + 1)
    ab = sched.alpha_bar(tt)
    assert 1 <= sched.T <= 4000 and np.all(np.diff(np.concatenate([[1.0], ab])) < 0)
    assert np.all(ab[:-1] > 0)  # only the terminal alpha_bar may be 0 (zero SNR)


@given(st.data())
def test_family_selection_and_timesteps(data):
    family = data.draw(st.sampled_from(FAMILIES))
    sched = data.draw(schedules(min_T=2, max_T=30, families=(family,)))
    t_ = data.draw(timesteps(sched))
    assert 2 <= sched.T <= 30 and 1 <= t_ <= sched.T
    assert family.split("_betas")[0] in sched.name or family == "alpha_bar" and "alpha_bar" in sched.name
    if family == "zero_terminal_snr":
        assert sched.alpha_bar(sched.T) == 0.0
    if family == "tiny_betas":
        assert np.all(sched.betas <= 1e-6)
    if family == "near_one_betas":
        assert np.all(sched.betas >= 1 - 10 ** -0.5)


@given(alpha_bar_schedules(min_T=1, max_T=50, zero_terminal=True))
def test_alpha_bar_schedules_zero_terminal(sched):
    assert sched.alpha_bar(sched.T) == 0.0 and sched.beta(sched.T) == 1.0


def test_strategy_arguments_are_checked():
    for kwargs, pattern in [({"families": ("linear", "quadratic")}, "quadratic"), ({"min_T": 0}, "min_T"),
                            ({"min_T": 5, "max_T": 3}, "min_T = 5"), ({"max_T": 1, "families": ("zero_terminal_snr",)},
                                                                      "none of the families")]:
        with pytest.raises(ValueError, match=pattern):
            schedules(**kwargs)
    with pytest.raises(ValueError, match="min_t"):
        timesteps(Schedule.linear(10), min_t=11)


# ----- negative controls: each check rejects a wrong formula ----------------------------------------
def test_checks_reject_wrong_formulas():
    sched = Schedule.linear(1000)
    fm, post, pe = SLOTS["forward_marginal"], SLOTS["posterior"], SLOTS["posterior_eps"]
    assert forward_variance_holds(sched) and not forward_variance_holds(sched, variance=1 - abar[t] ** 2)
    assert forward_mean_holds(sched) and not forward_mean_holds(sched, mean_coef=abar[t])
    assert posterior_precision_holds(sched) and not posterior_precision_holds(sched, variance=beta[t])
    assert posterior_tower_holds(sched)
    assert not posterior_tower_holds(sched, coef_x0=sp.sqrt(abar[t]) * beta[t] / (1 - abar[t]))
    assert not posterior_tower_holds(sched, variance=beta[t])
    assert posterior_eps_holds(sched, 500, 0.7, -1.3)
    assert not posterior_eps_holds(sched, 500, 0.7, -1.3, coef_eps=pe["coef_eps"] * sp.sqrt(1 - abar[t]))
    assert score_eps_holds(sched) and not score_eps_holds(sched, coef=-1 / (1 - abar[t]))
    sigmas = np.sqrt(sched.betas)
    assert eps_loss_weight_holds(sched, sigmas)
    assert not eps_loss_weight_holds(sched, sigmas, weight=beta[t] ** 2 / (2 * sigma[t] ** 2 * (1 - abar[t])))
    assert fm and post  # the slot tables are populated
    assert SLOTS["dsm"]["target"].subs({x: 1, x_tilde: 3, noise_std: 2}) == sp.Rational(-1, 2)
