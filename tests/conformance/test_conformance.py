"""Conformance checker: a correct user sampler and real diffusers schedulers pass; bad input is a
clear ValueError; the CLI and the pytest plugin work.

Timesteps in findings are the paper's t (1-based); diffusers' k = t - 1. The negative controls
(broken samplers and schedulers caught with the right identity, check and t) are in
tests/quality/test_conformance_controls.py; the shared samplers in tests/conformance/samplers.py.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import torch

from montecarlo.conformance import SchedulerProtocol, SpecError, check_scheduler, resolve_spec

from .samplers import DDIMScheduler, DDPMScheduler, MySampler, needs_diffusers

pytest_plugins = ["pytester"]


def test_protocol_sampler_correct_passes_exactly():
    sampler = MySampler()
    assert isinstance(sampler, SchedulerProtocol)
    report = check_scheduler(sampler)
    assert report.passed, report.failure_message()
    assert report.noise_mode.startswith("exact") and report.stat_tests == 0
    assert report.comparisons > 5 * 40


def test_protocol_sampler_chi_square_noise_correct():
    """A sampler that draws other (correct) Gaussian noise passes the chi-square test; its wrong
    twin is caught in tests/quality/test_conformance_controls.py."""
    good = check_scheduler(MySampler(noise_draw="other"), alpha=1e-6)
    assert good.passed, good.failure_message()
    assert "chi-square" in good.noise_mode and good.stat_tests == 39  # t = 2..40 have noise
    lo, hi = good.mde_noise_std_ratio
    assert 0.7 < lo < 1.0 < hi < 1.3  # n = 1024 per test, Holm over 39 tests at alpha = 1e-6


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
def test_ddpm_learned_range_variance_passes_with_a_note():
    """learned_range passes with a note; fixed_large_log (NaN noise) is caught in
    tests/quality/test_conformance_controls.py."""
    learned = check_scheduler(DDPMScheduler(num_train_timesteps=30, variance_type="learned_range"), spacings=[])
    assert learned.passed and any(f.check == "variance_type" for f in learned.notes)


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


# ----- CLI ------------------------------------------------------------------------------------------
def _cli(argv):
    from diffusion_proofs.cli import main  # the real command, its one error policy included
    return main(["conformance", *argv])


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
        assert err.startswith("diffusion-proofs conformance: error:") and needle in err, (argv, err)
        assert err.count("\n") == 1 and "Traceback" not in err, err


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
