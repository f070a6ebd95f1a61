"""Conformance checker: real diffusers schedulers pass; broken ones fail with the right finding.

Timesteps in findings are the paper's t (1-based); diffusers' k = t - 1.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import torch

from diffusion_proofs.conformance import add_cli_arguments, run_cli
from montecarlo.conformance import ConformanceReport, SchedulerProtocol, SpecError, check_scheduler, resolve_spec

pytest_plugins = ["pytester"]

try:
    import diffusers  # noqa: F401
    from diffusers import DDIMScheduler, DDPMScheduler
    HAVE_DIFFUSERS = True
except ImportError:  # pragma: no cover - CI installs diffusers
    HAVE_DIFFUSERS = False
    DDPMScheduler = DDIMScheduler = object

needs_diffusers = pytest.mark.skipif(not HAVE_DIFFUSERS, reason="diffusers is not installed (optional dependency: "
                                     "pip install 'diffusion-proofs[diffusers]'); CI installs it")


def fails(report: ConformanceReport, identity: str, check: str | None = None):
    """The failing findings for ``identity`` (and ``check``), sorted by t."""
    out = [f for f in report.failures if f.identity == identity and (check is None or f.check == check)]
    return sorted(out, key=lambda f: (f.t is None, f.t))


# ----- a user's own sampler (the Protocol) ---------------------------------------------------------
class MySampler:
    """A user's DDPM sampler: epsilon-prediction, fixed_small, diffusers' 0-based timesteps."""

    prediction_type = "epsilon"
    variance_type = "fixed_small"

    def __init__(self, T=40, noise_draw="randn", noise_factor=1.0, eps_sqrt=True):
        self.betas = torch.linspace(1e-4, 0.02, T, dtype=torch.float64)
        self.alphas_cumprod = torch.cumprod(1 - self.betas, 0)
        self.noise_draw, self.noise_factor, self.eps_sqrt = noise_draw, noise_factor, eps_sqrt

    def add_noise(self, x0, noise, timesteps):
        ab = self.alphas_cumprod[timesteps].to(x0.dtype).reshape(-1, *[1] * (x0.ndim - 1))
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise

    def step(self, model_output, timestep, sample, generator=None):
        k = int(timestep)
        ab = self.alphas_cumprod[k]
        ab_prev = self.alphas_cumprod[k - 1] if k > 0 else torch.tensor(1.0, dtype=torch.float64)
        alpha = ab / ab_prev
        beta = 1 - alpha
        denom = (1 - ab).sqrt() if self.eps_sqrt else (1 - ab)  # eps_sqrt=False: a missing square root
        mean = (sample - beta / denom * model_output) / alpha.sqrt()
        if k == 0:
            return mean
        if self.noise_draw == "randn":  # as diffusers: exactly reproducible from the generator
            z = torch.randn(sample.shape, generator=generator, dtype=sample.dtype)
        else:  # Gaussian from the generator, but not the same draw: checked by chi-square
            z = torch.randn(sample.numel() + 1, generator=generator, dtype=sample.dtype)[1:].reshape(sample.shape)
        std = ((1 - ab_prev) / (1 - ab) * beta).sqrt() * self.noise_factor
        return mean + std * z


def test_protocol_sampler_correct_passes_exactly():
    sampler = MySampler()
    assert isinstance(sampler, SchedulerProtocol)
    report = check_scheduler(sampler)
    assert report.passed, report.failure_message()
    assert report.noise_mode.startswith("exact") and report.stat_tests == 0
    assert report.comparisons > 5 * 40


def test_protocol_sampler_missing_sqrt_fails_at_t1():
    report = check_scheduler(MySampler(eps_sqrt=False))
    assert not report.passed
    found = fails(report, "posterior_eps", "step.mean_model")
    assert found and found[0].t == 1 and found[0].k == 0
    assert found[0].rel_error > 10  # beta_1/(1-abar_1) = 1 vs beta_1/sqrt(1-abar_1) = 0.01
    assert "posterior_eps.coef_eps" in found[0].message


def test_protocol_sampler_chi_square_noise_correct_and_wrong():
    good = check_scheduler(MySampler(noise_draw="other"), alpha=1e-6)
    assert good.passed, good.failure_message()
    assert "chi-square" in good.noise_mode and good.stat_tests == 39  # t = 2..40 have noise
    lo, hi = good.mde_noise_std_ratio
    assert 0.7 < lo < 1.0 < hi < 1.3  # n = 1024 per test, Holm over 39 tests at alpha = 1e-6
    bad = check_scheduler(MySampler(noise_draw="other", noise_factor=1.5), alpha=1e-6)
    found = fails(bad, "posterior", "step.noise_std")
    assert found and found[0].t == 2 and "chi-square" in found[0].message
    assert len(found) >= 30  # 1.5 > hi: detected at (nearly) every t


def test_bad_inputs_raise_clear_valueerrors():
    with pytest.raises(ValueError, match="not a scheduler"):
        check_scheduler(object())
    with pytest.raises(ValueError, match="dtype"):
        check_scheduler(MySampler(), dtype=torch.int32)
    with pytest.raises(ValueError, match="timesteps are paper t's.*41"):
        check_scheduler(MySampler(), timesteps=[41])
    with pytest.raises(ValueError, match="alpha"):
        check_scheduler(MySampler(), alpha=0)
    bad = MySampler()
    bad.prediction_type = "noise"
    with pytest.raises(ValueError, match="prediction_type is 'noise'"):
        check_scheduler(bad)


def test_package_imports_without_diffusers():
    code = textwrap.dedent("""
        import sys
        sys.modules['diffusers'] = None  # make 'import diffusers' fail
        import montecarlo.conformance, montecarlo.conformance.health, diffusion_proofs.testing.plugin
        print('ok', 'diffusers' in [m for m in sys.modules if sys.modules[m] is not None])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ok", "False"]


# ----- diffusers ------------------------------------------------------------------------------------
@needs_diffusers
@pytest.mark.parametrize("config", [
    dict(beta_schedule="linear"),
    dict(beta_schedule="squaredcos_cap_v2"),
    dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012),
    dict(beta_schedule="linear", prediction_type="v_prediction"),
    dict(beta_schedule="linear", prediction_type="sample", clip_sample=False),
    dict(beta_schedule="linear", variance_type="fixed_large"),
    dict(beta_schedule="linear", thresholding=True),
])
def test_ddpm_small_T_passes(config):
    report = check_scheduler(DDPMScheduler(num_train_timesteps=50, **config))
    assert report.passed, report.failure_message()
    assert report.noise_mode.startswith("exact")
    if config.get("thresholding"):
        assert any(f.check == "thresholding" for f in report.notes)
    elif config.get("clip_sample", True):
        assert any(f.check == "clip_sample" for f in report.notes)


@needs_diffusers
def test_ddpm_variance_types():
    learned = check_scheduler(DDPMScheduler(num_train_timesteps=30, variance_type="learned_range"), spacings=[])
    assert learned.passed and any(f.check == "variance_type" for f in learned.notes)
    # diffusers' step takes sqrt(log(beta_t)) for fixed_large_log: NaN noise from the first noisy step on
    log_large = check_scheduler(DDPMScheduler(num_train_timesteps=30, variance_type="fixed_large_log"), spacings=[])
    found = [f for f in log_large.failures if f.check == "finite"]
    assert found[0].t == 2 and len(found) == 29 and "non-finite" in found[0].message


def test_invalid_schedule_is_a_valueerror():
    bad = MySampler(T=5)
    bad.alphas_cumprod = torch.tensor([0.9, 0.95, 0.8, 0.7, 0.6], dtype=torch.float64)
    bad.betas = None
    with pytest.raises(ValueError, match=r"MySampler.alphas_cumprod is not a valid schedule.*alpha_bar\[1\]"):
        check_scheduler(bad)


@needs_diffusers
def test_ddpm_stable_diffusion_T1000_passes():
    sched = DDPMScheduler(num_train_timesteps=1000, beta_schedule="scaled_linear", beta_start=0.00085,
                          beta_end=0.012, timestep_spacing="trailing")
    report = check_scheduler(sched, num_inference_steps=50)
    assert report.passed, report.failure_message()
    assert report.comparisons > 10 * 1000
    assert not any(f.check == "grid_start" for f in report.findings)  # trailing starts at t = T


@needs_diffusers
def test_ddim_eta1_full_grid_is_the_ddpm_posterior():
    report = check_scheduler(DDIMScheduler(num_train_timesteps=60, prediction_type="v_prediction"))
    assert report.passed, report.failure_message()
    assert "DDIM eta=1, full grid" in report.grids and "DDIM eta=0, full grid" in report.grids


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


# broken subclasses -----------------------------------------------------------------------------------
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


# ----- CLI ------------------------------------------------------------------------------------------
def _cli(argv):
    import argparse
    parser = argparse.ArgumentParser()
    add_cli_arguments(parser)
    return run_cli(parser.parse_args(argv))


@needs_diffusers
def test_cli_diffusers_table_json_and_exit_codes(capsys):
    cfg = '{"beta_schedule": "linear", "num_train_timesteps": 40}'
    assert _cli(["diffusers:DDPMScheduler", "--config", cfg]) == 0
    out = capsys.readouterr().out
    assert out.startswith("PASS: DDPMScheduler (T=40") and "clip_sample" in out
    assert _cli(["diffusers:DDPMScheduler", "--config", cfg, "--json", "--dtype", "float16"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] is False and data["dtype"] == "float16"
    assert any((f["identity"], f["check"], f["t"], f["k"], f["observed"]) ==
               ("forward_marginal", "add_noise.variance", 1, 0, 0.0) for f in data["findings"])


def test_cli_user_factory_and_bad_specs(tmp_path, monkeypatch, capsys):
    (tmp_path / "my_samplers.py").write_text(textwrap.dedent("""
        from tests_conformance_helper import MySampler
        def good(T=30):
            return MySampler(T=T)
        def broken(T=30):
            return MySampler(T=T, eps_sqrt=False)
    """))
    import types
    helper = types.ModuleType("tests_conformance_helper")
    helper.MySampler = MySampler
    monkeypatch.setitem(sys.modules, "tests_conformance_helper", helper)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _cli(["my_samplers:good", "--config", '{"T": 20}']) == 0
    assert "PASS: MySampler (T=20" in capsys.readouterr().out
    assert _cli(["my_samplers:broken"]) == 1
    assert "posterior_eps" in capsys.readouterr().out
    for argv, needle in [(["my_samplers"], "module:factory"),
                         (["os:system('x')"], "dotted Python names"),
                         (["my_samplers:good", "--config", "{T: 3}"], "not valid JSON"),
                         (["my_samplers:good", "--config", "[1]"], "JSON object"),
                         (["no_such_module_xyz:f"], "cannot import module"),
                         (["my_samplers:nope"], "has no attribute 'nope'"),
                         (["my_samplers:good", "--config", '{"S": 1}'], "failed: TypeError"),
                         (["json:dumps", "--config", '{"obj": 1}'], "not a scheduler")]:
        assert _cli(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error:") and needle in err, (argv, err)


def test_resolve_spec_uses_no_eval():
    with pytest.raises(SpecError, match="dotted"):
        resolve_spec("builtins:__import__('os')")
    assert resolve_spec("fractions:Fraction", {"numerator": 3}) == 3


# ----- pytest plugin --------------------------------------------------------------------------------
def test_pytest_plugin_fixture(pytester):
    pytester.makepyfile(test_user=textwrap.dedent("""
        import torch
        from helpers_conf import MySampler

        def test_mine(assert_conforms):
            report = assert_conforms(MySampler(T=20))
            assert report.passed

        def test_broken(assert_conforms):
            assert_conforms(MySampler(T=20, eps_sqrt=False))
    """))
    pytester.makepyfile(helpers_conf=textwrap.dedent(f"""
        {textwrap.indent(_sampler_source(), '').strip()}
    """))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError*FAIL: MySampler (T=20*",
                                 "*posterior_eps / step.mean_model at t=1 (k=0)*"])


def _sampler_source() -> str:
    import inspect
    return "import torch\n\n" + inspect.getsource(MySampler)
