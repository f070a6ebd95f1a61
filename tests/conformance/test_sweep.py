"""Sweep mode (montecarlo.conformance.sweep): real DDPM/DDIM schedulers pass; schedulers broken on one axis
value are caught and the failures are grouped under that value; known upstream defects are recognised only
by their exact model; the design covers every axis value; the CLI's --sweep/--quick and its bad combinations.

Each broken scheduler below is a subclass of the real one, wrong in exactly one place.
"""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch

from montecarlo.conformance import SweepReport, check_scheduler
from montecarlo.conformance.sweep import KNOWN_DEFECTS, _design, axes_for

from .samplers import DDIMScheduler, DDPMScheduler, needs_diffusers

pytestmark = needs_diffusers


def _only(report: SweepReport, axis: str, value) -> None:
    """Every failing configuration has axis=value, and the by-axis summary says all of them fail."""
    failing = [r for r in report.rows if r.status == "FAIL"]
    assert failing, report.format_table()
    assert all(r.config[axis] == value for r in failing), report.format_table()
    shown = "T" if value is True else "F" if value is False else str(value)
    n, bad = report.by_axis()[axis][shown]
    assert bad == n == len(failing)
    assert f"{axis}={shown}: {n} of {n} configurations fail" in report.failing_axis_values()
    assert f"{axis}={shown}" in report.explaining_values()


# ----- real schedulers ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_quick():
    """The quick sweeps of the real classes, run once for this module."""
    return {cls.__name__: check_scheduler(cls, sweep=True, quick=True) for cls in (DDPMScheduler, DDIMScheduler)}


@pytest.mark.parametrize("name", ["DDPMScheduler", "DDIMScheduler"])
def test_real_scheduler_passes_quick_sweep(name, real_quick):
    report = real_quick[name]
    assert isinstance(report, SweepReport) and report.passed, report.format_table()
    assert report.status == "PASS" and not report.failures
    statuses = {r.status for r in report.rows}
    assert statuses <= {"PASS", "KNOWN", "REFUSED"} and "PASS" in statuses
    assert all(r.comparisons > 100 for r in report.rows if r.status in ("PASS", "KNOWN"))
    data = json.loads(json.dumps(report.to_dict()))
    assert data["passed"] is True and data["sweep"] == "quick" and len(data["rows"]) == len(report.rows)
    assert set(data["by_axis"]) >= {"beta_schedule", "prediction_type", "timestep_spacing", "dtype"}


def test_ddim_refuses_undocumented_schedules_reported_not_failed(real_quick):
    report = real_quick["DDIMScheduler"]
    refused = [r for r in report.rows if r.status == "REFUSED"]
    assert {r.config["beta_schedule"] for r in refused} == {"sigmoid", "laplace"}
    assert all("NotImplementedError" in r.reason for r in refused)
    assert "refused by the class (undocumented value)" in report.format_table()


def test_instance_and_factory_are_accepted():
    inst = DDPMScheduler(beta_schedule="scaled_linear", beta_start=0.001, beta_end=0.015)
    rep = check_scheduler(inst, sweep=True, quick=True)
    assert rep.passed and rep.scheduler == "DDPMScheduler"
    rows = [r for r in rep.rows if r.config["beta_schedule"] == "scaled_linear" and r.report is not None]
    assert rows and all(float(r.report.T) == 50 for r in rows)

    def factory(**kw):
        return DDPMScheduler(**kw)
    assert check_scheduler(factory, sweep=True, quick=True).passed


@pytest.mark.parametrize("call, needle", [
    (lambda: check_scheduler(DDPMScheduler(), quick=True), "needs sweep=True"),
    (lambda: check_scheduler(DDPMScheduler, sweep=True, timesteps=[1]), "chooses timesteps"),
    (lambda: check_scheduler(DDPMScheduler, sweep=True, spacings="all"), "chooses spacings"),
    (lambda: check_scheduler(DDPMScheduler, sweep="yes"), "True or False"),
    (lambda: check_scheduler(object, sweep=True), "is neither"),
    (lambda: check_scheduler(lambda: 3, sweep=True), "needs a DDPM/DDIM scheduler"),
])
def test_bad_sweep_arguments_raise(call, needle):
    with pytest.raises(ValueError, match=needle):
        call()


# ----- the design -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["ddpm", "ddim"])
@pytest.mark.parametrize("quick", [True, False])
def test_design_covers_every_value_and_the_important_pairs(family, quick):
    configs, desc, coverage = _design(family, quick)
    for axis, (doc, extra) in axes_for(family).items():
        assert {c[axis] for c in configs} == set(doc) | set(extra), axis
    important = ("prediction_type", "timestep_spacing") if quick else ("beta_schedule", "prediction_type",
                                                                       "timestep_spacing")
    for a, b in itertools.combinations(important, 2):
        assert {(c[a], c[b]) for c in configs} == set(itertools.product({c[a] for c in configs},
                                                                      {c[b] for c in configs}))
    assert not any(c["rescale_betas_zero_snr"] and c["prediction_type"] == "epsilon" for c in configs)
    if not quick:
        assert coverage["pairs_covered"] == coverage["pairs_total"]  # greedy reaches every pair of all axes
    assert len(configs) == coverage["configurations"] and (len(configs) == 9) == quick


# ----- broken schedulers are caught, grouped under the axis value --------------------------------------------
class ScaledLinearIsLinear(DDPMScheduler):
    def __init__(self, **kw):
        super().__init__(**kw)
        if self.config.beta_schedule == "scaled_linear" and self.config.trained_betas is None:
            self.betas = torch.linspace(self.config.beta_start, self.config.beta_end, self.config.num_train_timesteps)
            self.alphas = 1.0 - self.betas
            self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)


class LinearBetaEndOff(DDPMScheduler):
    def __init__(self, **kw):
        if kw.get("beta_schedule") == "linear":
            kw["beta_end"] = kw.get("beta_end", 0.02) * 1.01
        super().__init__(**kw)
        if kw.get("beta_schedule") == "linear":
            self.register_to_config(beta_end=0.02)  # the config still says 0.02


class TrailingShifted(DDPMScheduler):
    def set_timesteps(self, num_inference_steps=None, device=None, timesteps=None):
        super().set_timesteps(num_inference_steps, device, timesteps)
        if timesteps is None and self.config.timestep_spacing == "trailing":
            self.timesteps = self.timesteps - 1  # still a valid descending grid


class NoCustomValidation(DDPMScheduler):
    def set_timesteps(self, num_inference_steps=None, device=None, timesteps=None):
        if timesteps is None:
            return super().set_timesteps(num_inference_steps, device)
        self.timesteps = torch.as_tensor(np.array(timesteps, dtype=np.int64))
        self.custom_timesteps = True


class WrongForSample(DDPMScheduler):
    def step(self, model_output, timestep, sample, generator=None, return_dict=True):
        if self.config.prediction_type == "sample":
            model_output = model_output * 1.001
        return super().step(model_output, timestep, sample, generator=generator, return_dict=return_dict)


class WrongForV(DDIMScheduler):
    def step(self, model_output, timestep, sample, *args, **kwargs):
        if self.config.prediction_type == "v_prediction":
            sample = sample * (1 + 1e-3)
        return super().step(model_output, timestep, sample, *args, **kwargs)


class ClipIgnoresRange(DDPMScheduler):
    """Clamps x0_hat to [-1, 1] whatever clip_sample_range says."""

    def step(self, *args, **kwargs):
        rng = self.config.clip_sample_range
        self.register_to_config(clip_sample_range=1.0)
        try:
            return super().step(*args, **kwargs)
        finally:
            self.register_to_config(clip_sample_range=rng)


class ThresholdIgnoresMax(DDIMScheduler):
    """Dynamic thresholding with s capped at 1 instead of sample_max_value."""

    def _threshold_sample(self, sample):
        top = self.config.sample_max_value
        self.register_to_config(sample_max_value=1.0)
        try:
            return super()._threshold_sample(sample)
        finally:
            self.register_to_config(sample_max_value=top)


class LearnedRangeWrongFraction(DDPMScheduler):
    """learned_range with f = (v + 1)/3: exact at v = -1 (the adapter's probe), wrong elsewhere."""

    def _get_variance(self, t, predicted_variance=None, variance_type=None):
        if (variance_type or self.config.variance_type) == "learned_range" and predicted_variance is not None:
            predicted_variance = (predicted_variance + 1) * 2 / 3 - 1
        return super()._get_variance(t, predicted_variance, variance_type)


@pytest.mark.parametrize("cls, axis, value, check, needles", [
    (ScaledLinearIsLinear, "beta_schedule", "scaled_linear", "named_schedule",
     ["beta_schedule='scaled_linear' but betas are linear: max rel error"]),
    (LinearBetaEndOff, "beta_schedule", "linear", "named_schedule", ["beta_T = 0.0202 vs 0.02"]),
    (TrailingShifted, "timestep_spacing", "trailing", "spacing", ["shifted by -1"]),
    (NoCustomValidation, "custom_timesteps", True, "custom_timesteps.validation",
     ["(ascending)", "(repeated)", "starts at T = 50"]),
    (WrongForSample, "prediction_type", "sample", "step.mean_model", ["multiplies the model output (sample)"]),
    (WrongForV, "prediction_type", "v_prediction", "step.mean_xt", ["multiplies x_t"]),
    (ClipIgnoresRange, "clipping", "clip_sample", "clip_active.x0", ["the clamp(x0, -1.5, 1.5) gives"]),
    (ThresholdIgnoresMax, "clipping", "thresholding", "clip_active.x0", ["clamp(x0, -s, s)/s with s = 2"]),
    (LearnedRangeWrongFraction, "variance_type", "learned_range", "learned_variance", ["f = (v + 1)/2 = 1"]),
])
def test_broken_axis_value_is_caught_and_grouped(cls, axis, value, check, needles):
    report = check_scheduler(cls, sweep=True, quick=True)
    assert not report.passed
    _only(report, axis, value)
    assert any(f.check == check for f in report.failures), {f.check for f in report.failures}
    messages = " ".join(f.message for f in report.failures)
    for needle in needles:
        assert needle in messages, messages[:2000]


class NoiseSigmaTwo(DDPMScheduler):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.init_noise_sigma = 2.0


class LastPreviousIsMinusTwo(DDPMScheduler):
    """step is unchanged (prev_t < 0 either way); only the public previous_timestep is off at the end."""

    def previous_timestep(self, timestep):
        prev = super().previous_timestep(timestep)
        return torch.tensor(-2) if int(prev) == -1 and (self.custom_timesteps or self.num_inference_steps) else prev


class Eta0DrawsNoise(DDIMScheduler):
    def step(self, model_output, timestep, sample, eta=0.0, use_clipped_model_output=False, generator=None, **kw):
        if eta == 0 and generator is not None:
            torch.randn(sample.shape, generator=generator)
        return super().step(model_output, timestep, sample, eta, use_clipped_model_output, generator, **kw)


@pytest.mark.parametrize("cls, check", [(NoiseSigmaTwo, "init_noise_sigma"),
                                        (LastPreviousIsMinusTwo, "previous_timestep"),
                                        (Eta0DrawsNoise, "generator")])
def test_pipeline_contract_breaks_fail_every_configuration(cls, check):
    report = check_scheduler(cls, sweep=True, quick=True)
    assert all(r.status == "FAIL" for r in report.rows if r.status != "REFUSED"), report.format_table()
    assert all(any(f.check == check for f in r.failures) for r in report.rows if r.status == "FAIL")
    assert "every configuration fails: the defect does not depend on the swept axes" in report.format_table()


# ----- known upstream defects: exact models only ------------------------------------------------------------------
class LinspaceAlsoScaled(DDIMScheduler):
    """#12633 plus a second, unrelated error on linspace grids: must FAIL, not be filed as the known defect."""

    def step(self, model_output, timestep, sample, *args, **kwargs):
        out = super().step(model_output, timestep, sample, *args, **kwargs)
        if self.config.timestep_spacing == "linspace" and self.num_inference_steps not in (None, 50):
            out.prev_sample = out.prev_sample * (1 + 1e-3)
        return out


class LinspaceAscending(DDIMScheduler):
    """A linspace grid in the wrong order: the grid check must fail it although #12633's stride model ignores order."""

    def set_timesteps(self, num_inference_steps, device=None):
        super().set_timesteps(num_inference_steps, device)
        if self.config.timestep_spacing == "linspace" and num_inference_steps < self.config.num_train_timesteps:
            self.timesteps = self.timesteps.flip(0)


def test_known_defect_does_not_hide_a_wrong_grid():
    report = check_scheduler(LinspaceAscending, sweep=True, quick=True)
    _only(report, "timestep_spacing", "linspace")
    assert any(f.check == "spacing" and f.identity == "grid" for f in report.failures)


def test_known_defect_does_not_hide_another_error(real_quick):
    real = real_quick["DDIMScheduler"]
    assert any("ddim_linspace_stride" in r.known for r in real.rows)
    broken = check_scheduler(LinspaceAlsoScaled, sweep=True, quick=True)
    _only(broken, "timestep_spacing", "linspace")
    assert not any("ddim_linspace_stride" in r.known for r in broken.rows if r.status == "FAIL")
    assert set(KNOWN_DEFECTS) >= {"ddim_linspace_stride", "ddpm_fixed_large_log_nan", "ddpm_fixed_large_final_noise"}


# ----- full sweeps (slow) ------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", ["DDPMScheduler", "DDIMScheduler", "DDPMParallelScheduler", "DDIMParallelScheduler"])
def test_full_sweep_passes_within_budget(name):
    import diffusers
    report = check_scheduler(getattr(diffusers, name), sweep=True, quick=False)
    assert report.passed, report.format_table()
    assert report.seconds < 600
    t1000 = [r for r in report.rows if r.config.get("T") == 1000]
    assert {r.config["beta_schedule"] for r in t1000} == set(report.coverage["values"]["beta_schedule"])


# ----- CLI ----------------------------------------------------------------------------------------------------------
def _cli(argv):
    from diffusion_proofs.cli import main
    return main(["conformance", *argv])


def test_cli_sweep_quick_table_and_json(capsys):
    assert _cli(["diffusers:DDPMScheduler", "--sweep", "--quick"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("PASS: DDPMScheduler sweep (quick): 9 configurations")
    assert "status" in out and "findings" in out and "seconds" in out
    assert _cli(["diffusers:DDPMScheduler", "--sweep", "--quick", "--json", "--config", '{"beta_end": 0.015}']) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] is True and data["scheduler"] == "DDPMScheduler" and len(data["rows"]) == 9


def test_cli_sweep_of_broken_scheduler_exits_1(capsys, monkeypatch):
    import types
    import sys
    mod = types.ModuleType("sweep_broken_mod")
    mod.Broken = WrongForSample
    monkeypatch.setitem(sys.modules, "sweep_broken_mod", mod)
    assert _cli(["sweep_broken_mod:Broken", "--sweep", "--quick"]) == 1
    out = capsys.readouterr().out
    assert "prediction_type=sample: 3 of 3 configurations fail" in out


@pytest.mark.parametrize("argv, needle", [
    (["diffusers", "--sweep", "--all"], "--sweep cannot be combined with --all"),
    (["diffusers:DDPMScheduler", "--quick"], "--quick selects the quick sweep design: it needs --sweep"),
    (["diffusers:DDPMScheduler", "--sweep", "--dtype", "float16"], "--sweep cannot be combined with --dtype float16"),
    (["diffusers:DDPMScheduler", "--sweep", "--spacings", "all"], "--sweep cannot be combined with --spacings all"),
    (["diffusers:EulerDiscreteScheduler", "--sweep"], "got a EulerDiscreteScheduler"),
])
def test_cli_bad_sweep_combinations_exit_2_with_one_line(argv, needle, capsys):
    assert _cli(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("diffusion-proofs conformance: error:") and needle in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
