"""Residual checks (montecarlo/conformance/residual.py; ``_Run.check_add_noise`` in checker.py):
add_noise, get_velocity and training targets probed as affine maps with distinct asymmetric rows,
and loss weights (SNR, ELBO, L_simple, min-SNR-gamma).

Both ways: real diffusers schedulers and a correct protocol sampler pass; each broken map below is
caught and named (constant offset, timesteps[0] for every row, noise mixed across the batch, batch
statistics, per-channel offset, noise drawn inside, sign errors, wrong targets); offset noise and
min-SNR weighting are reported as documented deviations (notes), not failures. Timesteps in findings
are the paper's t (1-based); diffusers' k = t - 1.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from montecarlo.conformance import check_scheduler
from montecarlo.conformance.adapters import adapt
from montecarlo.conformance.checker import ConformanceReport, _Run
from montecarlo.conformance.residual import (MIN_SNR_NOTE, OFFSET_NOISE_NOTE, ProbeInputs, analyse_map,
                                             check_loss_weight, check_snr, fit_affine)
from montecarlo.schedules import Schedule
from tests.conformance.samplers import DDIMScheduler, DDPMScheduler, MySampler, fails, needs_diffusers

TS = [1, 2, 3, 7, 20, 39, 40]


def _ab(sampler, timesteps, like):
    return sampler.alphas_cumprod[timesteps].to(like.dtype).reshape(-1, *[1] * (like.ndim - 1))


# ----- protocol samplers: one correct, the rest broken in one way each ----------------------------------
class Good(MySampler):
    """MySampler (correct add_noise) with a correct get_velocity."""

    def get_velocity(self, sample, noise, timesteps):
        ab = _ab(self, timesteps, sample)
        return ab.sqrt() * noise - (1 - ab).sqrt() * sample


class ConstantOffset(Good):
    def add_noise(self, x0, noise, timesteps):
        return super().add_noise(x0, noise, timesteps) + 0.1


class FirstTimestep(Good):
    def add_noise(self, x0, noise, timesteps):  # timesteps[0] for the whole batch
        return super().add_noise(x0, noise, timesteps[:1].expand(timesteps.shape))


class RolledNoise(Good):
    def add_noise(self, x0, noise, timesteps):  # noise mixed across the batch: row i gets row i - 1's noise
        return super().add_noise(x0, noise.roll(1, 0), timesteps)


class BatchMeanNoise(Good):
    def add_noise(self, x0, noise, timesteps):  # batch statistics: invariant under permuting the rows
        return super().add_noise(x0, noise - 0.5 * noise.mean(0, keepdim=True), timesteps)


class OffsetNoise(Good):
    def add_noise(self, x0, noise, timesteps):  # offset noise, the deterministic form
        return super().add_noise(x0, noise + 0.1 * noise.mean(dim=(2, 3), keepdim=True), timesteps)


class RandomOffsetNoise(Good):
    def add_noise(self, x0, noise, timesteps):  # diffusers' noise_offset option, inside add_noise
        return super().add_noise(x0, noise + 0.1 * torch.randn(*noise.shape[:2], 1, 1, dtype=noise.dtype), timesteps)


class PerChannelOffset(Good):
    def add_noise(self, x0, noise, timesteps):
        shift = torch.tensor([0.1, -0.2, 0.0], dtype=x0.dtype).reshape(1, 3, 1, 1)
        return super().add_noise(x0, noise, timesteps) + shift


class NoiseInside(Good):
    def add_noise(self, x0, noise, timesteps):  # draws its own noise
        return super().add_noise(x0, noise + 0.01 * torch.randn_like(noise), timesteps)


class SquaredInput(Good):
    def add_noise(self, x0, noise, timesteps):  # not affine
        return super().add_noise(x0 + 0.01 * x0 ** 2, noise, timesteps)


class SignFlipVelocity(Good):
    def get_velocity(self, sample, noise, timesteps):  # sqrt(abar) eps + sqrt(1 - abar) x_0
        ab = _ab(self, timesteps, sample)
        return ab.sqrt() * noise + (1 - ab).sqrt() * sample


class NegativeNoise(Good):
    def add_noise(self, x0, noise, timesteps):  # the right law, the noise's sign flipped (a mutant of diffusers' DDIM)
        return super().add_noise(x0, -noise, timesteps)


class SlightlyOff(Good):
    def add_noise(self, x0, noise, timesteps):  # mean_coef off by a relative 1e-5: far above float32 rounding
        ab = _ab(self, timesteps, x0)
        return ab.sqrt() * (1 + 1e-5) * x0 + (1 - ab).sqrt() * noise


def run_maps(sampler, targets=None, ts=TS, dtype=torch.float32) -> ConformanceReport:
    """check_add_noise alone (add_noise, get_velocity and ``targets``) on ``sampler``."""
    adapter = adapt(sampler)
    adapter.targets = dict(targets or {})
    report = ConformanceReport(scheduler=adapter.name, T=adapter.T, dtype=str(dtype)[6:], prediction_type="epsilon",
                               variance_type="fixed_small", alpha=1e-6, seed=0)
    _Run(adapter, report, dtype, 0, 1024).check_add_noise(ts)
    return report


def checks(report, severity="fail") -> set:
    return {f.check for f in report.findings if f.severity == severity}


# ----- the passing side ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_correct_protocol_sampler_passes(dtype):
    report = run_maps(Good(), dtype=dtype, ts=list(range(1, 41)))
    assert not report.findings, report.failure_message()
    assert report.comparisons >= 40 * 2 * 5  # per map and t: two coefficients, offset, residual, additivity


@needs_diffusers
@pytest.mark.parametrize("make", [
    lambda: DDPMScheduler(num_train_timesteps=200),
    lambda: DDPMScheduler(num_train_timesteps=200, beta_schedule="squaredcos_cap_v2", prediction_type="v_prediction"),
    lambda: DDIMScheduler(num_train_timesteps=200, rescale_betas_zero_snr=True, prediction_type="v_prediction"),
])
def test_real_diffusers_schedulers_pass(make):
    sched = make()
    report = run_maps(sched, ts=list(range(1, 201)))
    assert not report.failures, report.failure_message()
    full = check_scheduler(sched, spacings=[])
    assert full.passed, full.failure_message()
    assert not [f for f in full.findings if f.check.startswith(("add_noise", "get_velocity"))]


# ----- broken maps, each caught and named ---------------------------------------------------------------
@pytest.mark.parametrize("cls, check, also", [
    (ConstantOffset, "add_noise.offset", "constant offset"),
    (FirstTimestep, "add_noise.batch_coupled", "batch-coupled"),
    (RolledNoise, "add_noise.batch_coupled", "batch-coupled"),
    (BatchMeanNoise, "add_noise.batch_coupled", "called alone"),
    (PerChannelOffset, "add_noise.offset", "per-channel offsets"),
    (NoiseInside, "add_noise.deterministic", "different output for the same inputs"),
    (SquaredInput, "add_noise.affine", "not affine"),
    (SignFlipVelocity, "get_velocity.sample", "-sqrt(variance)"),
    (SlightlyOff, "add_noise.x_0", "multiplies x_0"),
    (NegativeNoise, "add_noise.noise_sign", "sign"),
])
def test_broken_map_is_caught_and_named(cls, check, also):
    report = run_maps(cls())
    found = [f for f in report.failures if f.check == check]
    assert found, report.failure_message()
    assert any(also in f.message for f in found) and {f.identity for f in found} == {"forward_marginal"}
    assert all(abs(f.observed - f.expected) > f.tolerance > 0 and f"t={f.t}" in f.message for f in found)
    assert not report.notes  # none of them is mistaken for offset noise


def test_constant_offset_is_located_and_not_batch_coupled():
    report = run_maps(ConstantOffset())
    found = fails(report, "forward_marginal", "add_noise.offset")
    assert [f.t for f in found] == TS and all(abs(f.observed - 0.1) < 1e-6 for f in found)
    assert checks(report) == {"add_noise.offset"}  # coefficients, residual and rows are right


def test_first_timestep_for_every_row_gives_wrong_coefficients_and_coupling():
    report = run_maps(FirstTimestep())
    assert "add_noise.x_0" in checks(report)
    assert {f.t for f in fails(report, "forward_marginal", "add_noise.x_0")} == set(TS[1:])  # row 0 has its own t
    coupled = fails(report, "forward_marginal", "add_noise.batch_coupled")
    assert any("permuted" in f.message for f in coupled) and any("alone" in f.message for f in coupled)
    assert not fails(report, "forward_marginal", "get_velocity.batch_coupled")  # get_velocity is untouched


@pytest.mark.parametrize("cls, form", [(OffsetNoise, "noise.mean((2, 3))"), (RandomOffsetNoise, "fresh per")])
def test_offset_noise_is_a_documented_deviation_not_a_failure(cls, form):
    torch.manual_seed(0)  # RandomOffsetNoise draws from the global generator
    report = run_maps(cls())
    assert not report.failures, report.failure_message()
    notes = [f for f in report.notes if f.check == "add_noise.offset_noise"]
    assert len(notes) == 1 and OFFSET_NOISE_NOTE in notes[0].message and form in notes[0].message
    assert "documented deviation" in notes[0].message and "Guttenberg" in notes[0].message
    if cls is OffsetNoise:
        assert abs(notes[0].observed - 0.1) < 1e-4  # the factor s
    else:
        assert 0.04 < notes[0].observed < 0.25  # rms of 0.1 z over 21 (row, channel) pairs
    full = check_scheduler(cls(T=40))
    assert full.passed and [f.check for f in full.notes] == ["add_noise.offset_noise"]


# ----- training targets ----------------------------------------------------------------------------------
def _targets(sampler):
    def v(x0, e, k):
        ab = _ab(sampler, k, x0)
        return ab.sqrt() * e - (1 - ab).sqrt() * x0

    def v_sign(x0, e, k):
        ab = _ab(sampler, k, x0)
        return ab.sqrt() * e + (1 - ab).sqrt() * x0

    def eps_scaled(x0, e, k):  # the noise as added, sqrt(1 - abar) noise, instead of the noise
        return (1 - _ab(sampler, k, x0)).sqrt() * e

    return dict(eps=(lambda x0, e, k: e.clone(), "epsilon"), x0=(lambda x0, e, k: x0.clone(), "sample"),
                v=(v, "v_prediction"), v_sign=(v_sign, "v_prediction"), eps_scaled=(eps_scaled, "epsilon"),
                eps_const=(lambda x0, e, k: e + 0.05, "epsilon"),
                eps_mixed=(lambda x0, e, k: e.flip(0), "epsilon"), bad_kind=(lambda x0, e, k: e, "score"))


def test_training_targets_are_checked_as_affine_maps():
    sampler = Good()
    report = run_maps(sampler, targets=_targets(sampler))
    found = checks(report)
    for ok in ("eps", "x0", "v"):
        assert not [c for c in found if c.startswith(f"target.{ok}.")], report.failure_message()
    assert "target.v_sign.x_0" in found and "target.v_sign.noise" not in found
    assert "target.eps_scaled.noise" in found and "target.eps_scaled.x_0" not in found
    assert [f.t for f in fails(report, "forward_marginal", "target.eps_const.offset")] == TS
    assert "target.eps_mixed.batch_coupled" in found
    assert "target.bad_kind" in found
    assert not [c for c in found if not c.startswith("target.")]  # add_noise and get_velocity conform


def test_random_offset_noise_in_a_target_is_a_note():
    torch.manual_seed(1)
    sampler = Good()
    targets = {"eps": (lambda x0, e, k: e + 0.1 * torch.randn(*e.shape[:2], 1, 1, dtype=e.dtype), "epsilon")}
    report = run_maps(sampler, targets=targets)
    assert not report.failures, report.failure_message()
    assert [f.check for f in report.notes] == ["target.eps.offset_noise"]


# ----- the probe and the fit ------------------------------------------------------------------------------
def test_probe_rows_are_distinct_asymmetric_and_fit_is_exact():
    inputs = ProbeInputs.make(TS, seed=3, dtype=torch.float64)
    x0, e = inputs.x0.numpy(), inputs.noise.numpy()
    assert x0.shape == (len(TS), 3, 4, 4) and inputs.k.tolist() == [t - 1 for t in TS]
    assert len({row.tobytes() for row in x0}) == len(TS) and abs(x0.mean() - 0.25) < 0.1 and e.mean() > 0.15
    assert abs(np.mean(e ** 3) - 3 * e.mean() * np.mean(e ** 2) + 2 * e.mean() ** 3) > 0.1  # skewed
    cx, ce = np.linspace(0.2, 0.9, len(TS)), np.linspace(1.1, 0.3, len(TS))
    d = np.arange(3 * len(TS)).reshape(len(TS), 3) * 0.01
    out = cx[:, None, None, None] * x0 + ce[:, None, None, None] * e + d[:, :, None, None]
    fit = fit_affine(out, [x0, e], 2.0 ** -53)
    assert np.allclose(fit.coef[:, 0], cx, rtol=0, atol=1e-13) and np.allclose(fit.coef[:, 1], ce, atol=1e-13)
    assert np.allclose(fit.offset, d, atol=1e-13) and np.all(fit.residual < 1e-13)
    assert np.all(fit.rounding > 0) and np.all(fit.resid_bound >= fit.delta * 0.5) and np.all(fit.delta < 1e-13)


def test_analysis_tolerances_are_at_rounding_level():
    """A step of 300 float32 roundings is caught, the correct map is not: the tolerance is not loose."""
    sampler = Good()
    inputs = ProbeInputs.make(TS, seed=0, dtype=torch.float32)
    u = 2.0 ** -24
    pr = analyse_map(inputs, inputs.run(sampler.add_noise), u)
    assert pr.deterministic and pr.offset_kind == "none" and not pr.batch_coupled
    assert np.all(pr.fit.residual <= pr.residual_tol) and np.all(pr.residual_tol < 150 * u)
    bump = lambda x0, e, k: sampler.add_noise(x0, e, k) + 300 * u * (x0 > 0.9)  # noqa: E731  a step: not affine
    bad = analyse_map(inputs, inputs.run(bump), u)
    assert np.any(bad.fit.residual > bad.residual_tol)


# ----- loss weights -------------------------------------------------------------------------------------
def _elbo_eps_weight(sched: Schedule, ts):  # typed here, independently: beta_t / (2 alpha_t (1 - abar_{t-1}))
    ts = np.asarray(ts)
    return sched.beta(ts) / (2 * sched.alpha(ts) * (1 - sched.alpha_bar(ts - 1)))


@needs_diffusers
def test_compute_snr_is_the_proved_snr_and_a_wrong_one_is_caught():
    from diffusers.training_utils import compute_snr
    for sched in (DDPMScheduler(), DDPMScheduler(beta_schedule="squaredcos_cap_v2")):
        report = check_snr(lambda k: compute_snr(sched, k), sched)
        assert report.passed and report.comparisons == 1000, report.summary()
    sched = DDPMScheduler()
    wrong = check_snr(lambda k: compute_snr(sched, k).sqrt(), sched)  # alpha/sigma, not squared
    assert not wrong.passed and wrong.failures[0].check == "snr" and wrong.failures[0].t == 1
    assert "abar_t / (1 - abar_t)" in wrong.failures[0].message


@needs_diffusers
@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
def test_min_snr_weight_is_a_documented_deviation(prediction_type):
    from diffusers.training_utils import compute_snr
    sched = DDPMScheduler()

    def min_snr(k, gamma=5.0):  # as diffusers' examples/text_to_image/train_text_to_image.py
        snr = compute_snr(sched, k)
        w = torch.stack([snr, gamma * torch.ones_like(k)], dim=1).min(dim=1)[0]
        return w / snr if prediction_type == "epsilon" else w / (snr + 1)

    report = check_loss_weight(min_snr, sched, prediction_type=prediction_type)
    assert report.passed and report.kind == "min_snr", report.summary()
    assert abs(report.gamma - 5.0) < 1e-5 and abs(report.scale - 1.0) < 1e-6
    assert [f.check for f in report.notes] == ["loss_weight.min_snr"] and MIN_SNR_NOTE in report.notes[0].message
    assert check_loss_weight(min_snr, sched, prediction_type=prediction_type, gamma=5.0).kind == "min_snr"
    wrong_gamma = check_loss_weight(min_snr, sched, prediction_type=prediction_type, gamma=4.0)
    assert not wrong_gamma.passed and wrong_gamma.failures[0].check == "loss_weight"
    other = "v_prediction" if prediction_type == "epsilon" else "epsilon"  # the other type's formula
    assert not check_loss_weight(min_snr, sched, prediction_type=other).passed


def test_elbo_and_simple_weights():
    sched = Schedule.linear(200)
    elbo = lambda k: torch.as_tensor(3.0 * _elbo_eps_weight(sched, k.numpy() + 1))  # noqa: E731  any scale
    report = check_loss_weight(elbo, sched, timesteps=range(2, 201))  # t = 1: the decoder term, no eps weight
    assert report.passed and report.kind == "elbo" and not report.findings and abs(report.scale - 3.0) < 1e-9
    simple = check_loss_weight(lambda k: torch.ones(k.shape), sched)
    assert simple.passed and simple.kind == "simple" and [f.check for f in simple.notes] == ["loss_weight.simple"]
    # the plain MSE of x_0- or v-prediction: constant on its own MSE (1/SNR_t, (SNR_t + 1)/SNR_t on the eps-MSE)
    for pred, words in (("sample", "c/SNR_t on the eps-MSE"), ("v_prediction", "(SNR_t + 1)/SNR_t")):
        plain = check_loss_weight(lambda k: torch.full(k.shape, 2.0), sched, prediction_type=pred)
        assert plain.kind == "simple" and abs(plain.scale - 2.0) < 1e-9 and words in plain.notes[0].message
    # the eps-MSE weight 1/SNR_t, on the x_0-MSE: 1/SNR_t^2 on the eps-MSE (not min-SNR with gamma <= min SNR)
    inv = check_loss_weight(lambda k: torch.as_tensor(1 / sched.snr(k.numpy() + 1)), sched, prediction_type="sample")
    assert not inv.passed and inv.kind == "other"
    # the ELBO weight with fixed_large sigma^2 = beta_t differs from fixed_small's
    at_t1 = lambda k: torch.where(k == 0, 1.0, elbo(k.clamp(min=1)))  # noqa: E731  any finite value at t = 1
    assert check_loss_weight(at_t1, sched).kind == "elbo"
    large = check_loss_weight(elbo, sched, timesteps=range(2, 201), variance_type="fixed_large")
    assert not large.passed
    sqrt_snr = check_loss_weight(lambda k: torch.as_tensor(np.sqrt(sched.snr(k.numpy() + 1))), sched)
    assert not sqrt_snr.passed and sqrt_snr.failures[0].identity == "eps_loss"
    assert math.isfinite(sqrt_snr.failures[0].observed)


def test_weight_arguments_are_validated():
    sched = Schedule.linear(20)
    with pytest.raises(ValueError, match="prediction_type"):
        check_loss_weight(lambda k: k, sched, prediction_type="eps")
    with pytest.raises(ValueError, match="paper t"):
        check_snr(lambda k: k, sched, timesteps=[0])
    with pytest.raises(ValueError, match="returned"):
        check_snr(lambda k: torch.ones(3), sched, timesteps=[1, 2])
