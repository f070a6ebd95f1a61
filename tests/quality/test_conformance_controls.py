"""Negative controls of the conformance checker: broken samplers and schedulers fail with the right
identity, check and t (the paper's 1-based t; diffusers' k = t - 1).

One hop away: the checker is ``montecarlo/conformance/checker.py`` (adapters in
``montecarlo/conformance/adapters.py``); what it checks a scheduler against are the proved slots of
``proofs/forward_marginal.py`` and ``proofs/posterior.py``. The passing side (a correct sampler and
real diffusers schedulers pass, bad input is a ValueError) is in tests/conformance/test_conformance.py;
the shared samplers are in tests/conformance/samplers.py. Each control below names the identity whose
slot the broken scheduler gets wrong, so it pairs with tests/quality/test_<identity>.py.
"""
from __future__ import annotations

import pytest
import torch

from montecarlo.conformance import check_scheduler
from tests.conformance.samplers import HAVE_DIFFUSERS, DDIMScheduler, DDPMScheduler, MySampler, fails, needs_diffusers


# ----- a user's sampler ---------------------------------------------------------------------------
def test_protocol_sampler_missing_sqrt_fails_at_t1():
    report = check_scheduler(MySampler(eps_sqrt=False))
    assert not report.passed
    found = fails(report, "posterior_eps", "step.mean_model")
    assert found and found[0].t == 1 and found[0].k == 0
    assert found[0].rel_error > 10  # beta_1/(1-abar_1) = 1 vs beta_1/sqrt(1-abar_1) = 0.01
    assert "posterior_eps.coef_eps" in found[0].message


def test_protocol_sampler_wrong_noise_scale_is_caught_by_chi_square():
    """Gaussian noise from another draw (checked by chi-square) with std 1.5x the posterior's: detected
    at (nearly) every t, far beyond the power bound of test_protocol_sampler_chi_square_noise_correct."""
    bad = check_scheduler(MySampler(noise_draw="other", noise_factor=1.5), alpha=1e-6)
    assert not bad.passed
    found = fails(bad, "posterior", "step.noise_std")
    assert found and found[0].t == 2 and "chi-square" in found[0].message
    assert len(found) >= 30


# ----- diffusers ----------------------------------------------------------------------------------
@needs_diffusers
def test_ddpm_fixed_large_log_variance_is_nonfinite():
    # diffusers' step takes sqrt(log(beta_t)) for fixed_large_log: NaN noise from the first noisy step on
    log_large = check_scheduler(DDPMScheduler(num_train_timesteps=30, variance_type="fixed_large_log"), spacings=[])
    found = [f for f in log_large.failures if f.check == "finite"]
    assert found[0].t == 2 and len(found) == 29 and "non-finite" in found[0].message


@needs_diffusers
def test_ddim_linspace_grid_mismatch_is_reported():
    # diffusers issue #12633: DDIM.step strides by T // n, but linspace grids stride by (T-1)/(n-1)
    report = check_scheduler(DDIMScheduler(num_train_timesteps=100), spacings="linspace", num_inference_steps=10)
    found = [f for f in report.failures if "linspace" in f.grid and f.check == "step.mean_xt" and f.t == 100]
    assert found and "t=100 -> t'=89 (k=99 -> 88)" in found[0].message  # the grid's next point is k = 88


@needs_diffusers
def test_half_precision_add_noise_adds_no_noise_at_small_t():
    sched = DDPMScheduler(num_train_timesteps=1000)
    assert check_scheduler(sched, timesteps=[1, 2, 3, 500]).passed  # exact in float32
    report = check_scheduler(sched, dtype=torch.float16, timesteps=[1, 2, 3, 500])
    found = fails(report, "forward_marginal", "add_noise.variance")
    assert [f.t for f in found] == [1, 2, 3]
    assert found[0].observed == 0.0 and "no noise at all" in found[0].message
    assert fails(check_scheduler(sched, dtype=torch.bfloat16, timesteps=[1]), "forward_marginal")


@needs_diffusers
def test_zero_terminal_snr_with_eps_prediction_is_nonfinite_at_T():
    eps = check_scheduler(DDPMScheduler(num_train_timesteps=50, rescale_betas_zero_snr=True))
    found = [f for f in eps.failures if f.check == "finite"]
    assert [f.t for f in found] == [50] and found[0].identity == "posterior_eps"
    v = check_scheduler(DDPMScheduler(num_train_timesteps=50, rescale_betas_zero_snr=True,
                                      prediction_type="v_prediction"))
    assert v.passed, v.failure_message()


@needs_diffusers
def test_ddim_eta0_that_adds_noise_fails():
    class NoisyDDIM(DDIMScheduler):
        def step(self, model_output, timestep, sample, eta=0.0, **kw):
            return super().step(model_output, timestep, sample, eta=max(eta, 0.5), **kw)

    report = check_scheduler(NoisyDDIM(num_train_timesteps=30), spacings=[])
    found = [f for f in report.failures if f.grid == "DDIM eta=0, full grid"]
    assert found and {f.check for f in found} >= {"step.noise_std", "step.mean_model"}
    noise = [f for f in found if f.check == "step.noise_std"]
    assert noise[0].t == 2 and noise[0].expected == 0.0 and "deterministic" in noise[0].message
    assert not [f for f in report.failures if f.grid == "DDIM eta=1, full grid"]  # eta = 1 is untouched


# ----- broken diffusers subclasses ----------------------------------------------------------------
if HAVE_DIFFUSERS:
    class OffByOneAddNoise(DDPMScheduler):
        def add_noise(self, x0, noise, timesteps):  # reads abar_{t+1}: a 0-/1-based mix-up
            return super().add_noise(x0, noise, (timesteps + 1).clamp(max=len(self) - 1))

    class OffByOnePrevious(DDPMScheduler):
        def previous_timestep(self, timestep):  # posterior between t and t - 2
            return timestep - 2

    class MissingSqrt(DDPMScheduler):
        def add_noise(self, x0, noise, timesteps):  # abar_t instead of sqrt(abar_t)
            ab = self.alphas_cumprod.to(x0.dtype)[timesteps].reshape(-1, *[1] * (x0.ndim - 1))
            return ab * x0 + (1 - ab).sqrt() * noise

    class ConstantAddNoise(DDPMScheduler):
        def add_noise(self, x0, noise, timesteps):  # q_sample plus a constant: c_0 = 0.1 in the affine fit
            return super().add_noise(x0, noise, timesteps) + 0.1

    class InvertedRatio(DDPMScheduler):
        def _get_variance(self, t, predicted_variance=None, variance_type=None):
            prev = self.previous_timestep(t)
            ab, ab_prev = self.alphas_cumprod[t], (self.alphas_cumprod[prev] if prev >= 0 else self.one)
            return (1 - ab) / (1 - ab_prev) * (1 - ab / ab_prev)  # (1-abar_t)/(1-abar_{t-1}) upside down

    class SignFlipVelocity(DDPMScheduler):
        def get_velocity(self, sample, noise, timesteps):  # sqrt(abar) eps + sqrt(1 - abar) x_0: sign flipped
            return self.add_noise(noise, sample, timesteps)

    class SignFlipStep(DDPMScheduler):
        def step(self, model_output, timestep, sample, generator=None, return_dict=True):
            return super().step(-model_output, timestep, sample, generator=generator, return_dict=return_dict)

    class WrongNoiseScale(DDPMScheduler):
        def _get_variance(self, t, predicted_variance=None, variance_type=None):
            return self.betas[t]  # beta_t while claiming fixed_small

    class NoiseMissingSqrt(DDPMScheduler):
        def _get_variance(self, t, predicted_variance=None, variance_type=None):
            return super()._get_variance(t, predicted_variance, variance_type) ** 2  # step takes ** 0.5: std = var


@needs_diffusers
@pytest.mark.parametrize("cls, config, identity, check, t", [
    ("OffByOneAddNoise", {}, "forward_marginal", "add_noise.x_0", 1),
    ("OffByOnePrevious", {}, "posterior_eps", "step.mean_model", 2),
    ("MissingSqrt", {}, "forward_marginal", "add_noise.x_0", 1),
    ("ConstantAddNoise", {}, "forward_marginal", "add_noise.offset", 1),
    ("InvertedRatio", {}, "posterior", "step.noise_std", 2),
    ("SignFlipVelocity", {}, "forward_marginal", "get_velocity.sample", 1),
    ("SignFlipStep", {"prediction_type": "v_prediction"}, "posterior", "step.mean_model", 1),
    ("WrongNoiseScale", {}, "posterior", "step.noise_std", 2),
    ("NoiseMissingSqrt", {}, "posterior", "step.noise_std", 2),
])
def test_broken_subclass_fails_with_identity_and_t(cls, config, identity, check, t):
    sched = globals()[cls](num_train_timesteps=50, **config)
    report = check_scheduler(sched, spacings=[])
    assert not report.passed
    found = fails(report, identity, check)
    assert found, report.failure_message()
    first = found[0]
    assert (first.t, first.k) == (t, t - 1)
    assert abs(first.observed - first.expected) > first.tolerance > 0
    assert f"t={t}" in first.message
    if cls == "WrongNoiseScale":
        assert "fixed_large" in first.message  # names the documented alternative it matches
    msg = report.failure_message()
    assert identity in msg and f"t={t}" in msg
