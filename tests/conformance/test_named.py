"""Named schedules are what they say (montecarlo.conformance.named): real diffusers schedules and grids
match their published definitions; a wrong family, a wrong beta range, a rescale that is not Lin et al.'s
Algorithm 1, a wrong set_alpha_to_one or a shifted grid is a finding, also in the normal check_scheduler.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from functools import partial

from montecarlo.conformance import Finding, check_scheduler
from montecarlo.conformance import named

named_findings = partial(named.named_findings, finding=Finding)
schedule_findings = partial(named.schedule_findings, finding=Finding)
grid_findings = partial(named.grid_findings, finding=Finding)

from .samplers import DDIMScheduler, DDPMScheduler, needs_diffusers

pytestmark = needs_diffusers

SCHEDULES = ["linear", "scaled_linear", "squaredcos_cap_v2", "sigmoid", "laplace"]


@pytest.mark.parametrize("cls", [DDPMScheduler, DDIMScheduler])
@pytest.mark.parametrize("beta_schedule", SCHEDULES + ["trained_betas"])
@pytest.mark.parametrize("T", [2, 50, 1000])
@pytest.mark.parametrize("rescale", [False, True])
def test_real_schedules_match_their_definitions(cls, beta_schedule, T, rescale):
    kw = dict(num_train_timesteps=T, rescale_betas_zero_snr=rescale, steps_offset=1)
    if beta_schedule == "trained_betas":
        kw["trained_betas"] = np.linspace(1e-3, 0.05, T).tolist()
    else:
        kw["beta_schedule"] = beta_schedule
    try:
        sched = cls(**kw)
    except NotImplementedError:
        assert cls is DDIMScheduler and beta_schedule in ("sigmoid", "laplace")
        return
    found, compared = named_findings(sched, spacings=("leading", "trailing", "linspace"), steps=(1, 2, 7, 10))
    assert not found, [f.message for f in found]
    assert compared >= T


def _with_betas(sched, betas):
    sched.betas = betas.to(torch.float32)
    sched.alphas = 1.0 - sched.betas
    sched.alphas_cumprod = torch.cumprod(sched.alphas, dim=0)
    return sched


def test_scaled_linear_that_is_linear_is_named():
    sched = _with_betas(DDPMScheduler(beta_schedule="scaled_linear", num_train_timesteps=100),
                        torch.linspace(0.0001, 0.02, 100))
    found, _ = schedule_findings(sched)
    assert len(found) == 1 and found[0].check == "named_schedule" and found[0].identity == "forward_marginal"
    assert found[0].message.startswith("beta_schedule='scaled_linear' but betas are linear: max rel error")
    assert found[0].rel_error > 1


@pytest.mark.parametrize("factor", [1.001, 0.999])
def test_beta_end_off_by_a_tenth_of_a_percent(factor):
    sched = _with_betas(DDPMScheduler(beta_schedule="linear", num_train_timesteps=1000),
                        torch.linspace(0.0001, 0.02 * factor, 1000, dtype=torch.float64))
    found, _ = schedule_findings(sched)
    assert len(found) == 1 and found[0].t >= 990 and found[0].rel_error == pytest.approx(1e-3, rel=0.02)
    assert "betas differ from its definition" in found[0].message


def test_rescale_that_is_not_algorithm_1():
    good = DDPMScheduler(beta_schedule="scaled_linear", rescale_betas_zero_snr=True, num_train_timesteps=100)
    assert not schedule_findings(good)[0]
    bad = DDPMScheduler(beta_schedule="scaled_linear", rescale_betas_zero_snr=True, num_train_timesteps=100)
    bad.alphas_cumprod = DDPMScheduler(beta_schedule="scaled_linear", num_train_timesteps=100).alphas_cumprod
    found, _ = schedule_findings(bad)
    assert len(found) == 1 and "the terminal SNR is not zero" in found[0].message
    # zero terminal SNR but the wrong shape (abar rescaled linearly instead of sqrt(abar))
    wrong = DDPMScheduler(beta_schedule="scaled_linear", rescale_betas_zero_snr=True, num_train_timesteps=100)
    base = DDPMScheduler(beta_schedule="scaled_linear", num_train_timesteps=100).alphas_cumprod.double()
    wrong.alphas_cumprod = ((base - base[-1]) * base[0] / (base[0] - base[-1])).float()
    found, _ = schedule_findings(wrong)
    assert len(found) == 1 and "not Lin et al. (2024) Algorithm 1" in found[0].message


def test_set_alpha_to_one_is_what_it_says():
    assert not schedule_findings(DDIMScheduler(set_alpha_to_one=False))[0]
    sched = DDIMScheduler(set_alpha_to_one=False)
    sched.final_alpha_cumprod = torch.tensor(1.0)
    found, _ = schedule_findings(sched)
    assert [f.check for f in found] == ["set_alpha_to_one"]


def test_trained_betas_are_taken_as_given():
    betas = np.linspace(1e-3, 0.05, 40)
    sched = DDPMScheduler(trained_betas=betas.tolist(), num_train_timesteps=40)
    assert not schedule_findings(sched)[0]
    _with_betas(sched, torch.tensor(betas[::-1].copy()))
    assert schedule_findings(sched)[0][0].message.startswith("beta_schedule=trained_betas but betas differ")


class ShiftedTrailing(DDPMScheduler):
    def set_timesteps(self, num_inference_steps=None, device=None, timesteps=None):
        super().set_timesteps(num_inference_steps, device, timesteps)
        if self.config.timestep_spacing == "trailing":
            self.timesteps = self.timesteps - 1


class LeadingIgnoresOffset(DDIMScheduler):
    def set_timesteps(self, num_inference_steps, device=None):
        super().set_timesteps(num_inference_steps, device)
        self.timesteps = self.timesteps - self.config.steps_offset


def test_shifted_grids_are_caught():
    found, compared = grid_findings(ShiftedTrailing(timestep_spacing="trailing"), steps=(10,))
    assert compared == 1 and len(found) == 1 and found[0].check == "spacing" and found[0].identity == "grid"
    assert "timestep_spacing='trailing', 10 steps: timesteps [998, 898" in found[0].message
    assert "[999, 899" in found[0].message and "shifted by -1" in found[0].message
    assert not grid_findings(ShiftedTrailing(timestep_spacing="leading"), steps=(10,))[0]
    found, _ = grid_findings(LeadingIgnoresOffset(steps_offset=1), steps=(10,))
    assert len(found) == 1 and "steps_offset=1" in found[0].message
    assert not grid_findings(LeadingIgnoresOffset(steps_offset=0), steps=(10,))[0]


def test_named_check_runs_in_normal_check_scheduler():
    """check_scheduler (no sweep) compares the declared schedule and the probed grid too."""
    real = check_scheduler(DDPMScheduler(beta_schedule="scaled_linear", num_train_timesteps=60,
                                         timestep_spacing="trailing"), timesteps=[1, 30, 60])
    assert real.passed, real.failure_message()
    linear = _with_betas(DDPMScheduler(beta_schedule="scaled_linear", num_train_timesteps=60,
                                       timestep_spacing="trailing"), torch.linspace(0.00085, 0.012, 60))
    report = check_scheduler(linear, timesteps=[1, 30, 60])
    assert [f.check for f in report.failures] == ["named_schedule"], report.failure_message()
    shifted = check_scheduler(ShiftedTrailing(num_train_timesteps=60, timestep_spacing="trailing"),
                              timesteps=[1, 30, 60])
    assert [f.check for f in shifted.failures] == ["spacing"], shifted.failure_message()


def test_protocol_sampler_without_config_is_not_compared():
    from .samplers import MySampler
    assert named_findings(MySampler()) == ([], 0)


def test_default_findings_are_plain_dicts():
    sched = _with_betas(DDPMScheduler(beta_schedule="scaled_linear", num_train_timesteps=20), torch.linspace(1e-4, 0.02, 20))
    found, _ = named.schedule_findings(sched)
    assert isinstance(found[0], dict) and found[0]["check"] == "named_schedule" and "betas are linear" in found[0]["message"]
