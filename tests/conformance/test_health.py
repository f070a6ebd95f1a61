"""Schedule health: terminal SNR, prior gap L_T and Lin et al. (2024)'s Stable Diffusion numbers."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import integrate, stats

from montecarlo.conformance.health import as_schedule, lin_et_al_figure, schedule_health
from montecarlo.schedules import Schedule

try:
    from diffusers import DDPMScheduler
    HAVE_DIFFUSERS = True
except ImportError:  # pragma: no cover - CI installs diffusers
    HAVE_DIFFUSERS = False

needs_diffusers = pytest.mark.skipif(not HAVE_DIFFUSERS, reason="diffusers is not installed (optional dependency); "
                                     "CI installs it")


def kl_by_quadrature(abar_T: float, x0: float) -> float:
    """KL(N(sqrt(abar_T) x0, 1 - abar_T) || N(0, 1)) by numerical integration (independent of the closed form)."""
    q = stats.norm(math.sqrt(abar_T) * x0, math.sqrt(1 - abar_T))
    p = stats.norm(0, 1)
    value, _ = integrate.quad(lambda x: q.pdf(x) * (q.logpdf(x) - p.logpdf(x)), -12, 12, epsabs=1e-13, limit=200)
    return value


def test_stable_diffusion_schedule_reproduces_lin_et_al():
    h = schedule_health(Schedule.scaled_linear(1000, 0.00085, 0.012))
    assert round(h.sqrt_alpha_bar_T, 3) == 0.068  # Lin et al. 2024, Sec. 3.1
    assert round(h.snr_T, 4) == 0.0047
    # L_T averaged over x0 = +-1 (E x0^2 = 1) by quadrature equals the closed form from the proved slots
    assert h.prior_kl_per_dim == pytest.approx(kl_by_quadrature(h.alpha_bar_T, 1.0), rel=1e-7)
    assert h.prior_kl_per_dim == pytest.approx(-0.5 * math.log1p(-h.alpha_bar_T), rel=1e-12)  # E x0^2 = 1
    assert h.prior_kl(4 * 64 * 64) == pytest.approx(38.27, rel=1e-3)  # SD's 4x64x64 latent: 38 nats of prior gap
    assert not h.ok and any("terminal SNR" in w for w in h.warnings)
    assert not any("ill-posed" in w for w in h.warnings)


def test_zero_terminal_snr_rescale_removes_the_prior_gap():
    sd = Schedule.scaled_linear(1000, 0.00085, 0.012)
    h = schedule_health(sd.rescale_zero_terminal_snr())
    assert h.alpha_bar_T == 0.0 and h.snr_T == 0.0 and h.prior_kl_per_dim == 0.0
    assert h.eps_x0_amplification == math.inf
    assert len(h.warnings) == 1 and "epsilon-prediction is ill-posed" in h.warnings[0]
    assert "divides by sqrt(abar_T) = 0" in h.warnings[0]


def test_second_moment_enters_as_stated():
    sched = Schedule.linear(50)  # abar_T = 0.6: a large prior gap, easy to integrate
    for m2, x0 in [(0.0, 0.0), (1.0, 1.0), (4.0, 2.0)]:
        h = schedule_health(sched, x0_second_moment=m2)
        assert h.prior_kl_per_dim == pytest.approx(kl_by_quadrature(h.alpha_bar_T, x0), rel=1e-7)
    assert schedule_health(sched, x0_second_moment=4.0).prior_kl_per_dim > schedule_health(sched).prior_kl_per_dim


def test_linear_ok_and_cosine_amplification_warning():
    assert schedule_health(Schedule.linear(1000)).ok  # SNR_T = 4e-5 < 1e-4, gain 157 < 1e3
    h = schedule_health(Schedule.cosine(1000))
    assert h.eps_x0_amplification > 1e3 and any("multiplies the eps error" in w for w in h.warnings)


def test_bad_input():
    with pytest.raises(ValueError, match="is not a schedule"):
        schedule_health(object())
    with pytest.raises(ValueError, match="x0_second_moment"):
        schedule_health(Schedule.linear(10), x0_second_moment=-1.0)

    class Bad:
        alphas_cumprod = np.array([0.9, 0.95])

    with pytest.raises(ValueError, match="Bad.alphas_cumprod is not a valid schedule.*strictly decreasing"):
        as_schedule(Bad())


@needs_diffusers
def test_diffusers_scheduler_health():
    sd = DDPMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
    h = schedule_health(sd)
    assert h.name == "DDPMScheduler"
    assert h.sqrt_alpha_bar_T == pytest.approx(schedule_health(Schedule.scaled_linear(1000)).sqrt_alpha_bar_T,
                                               rel=1e-5)  # float32 storage
    z = schedule_health(DDPMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                                      rescale_betas_zero_snr=True))
    assert z.prior_kl_per_dim == 0.0 and "ill-posed" in z.warnings[0]


def test_lin_et_al_figure(tmp_path):
    data = lin_et_al_figure(1000, path=str(tmp_path / "lin.png"))
    assert (tmp_path / "lin.png").stat().st_size > 10_000
    assert data["sqrt_abar_zero_snr"][-1] == 0.0
    assert data["sqrt_abar_zero_snr"][0] == pytest.approx(data["sqrt_abar_sd"][0], rel=1e-12)  # Algorithm 1 keeps t=1
    assert np.all(np.diff(data["sqrt_abar_zero_snr"]) < 0)
    assert data["health_sd"].prior_kl_per_dim > 2e-3 and data["health_zero_snr"].prior_kl_per_dim == 0.0


def _cli(argv):
    from diffusion_proofs.cli import main  # the real command, its one error policy included
    return main(["health", *argv])


def test_health_cli(capsys):
    assert _cli(["sd", "--dims", "16384"]) == 0
    out = capsys.readouterr().out
    assert "0.06826" in out and "+zero_terminal_snr" in out and "warning [scaled_linear(T=1000)]" in out
    assert _cli(["sd", "--strict"]) == 1
    capsys.readouterr()
    assert _cli(["linear", "--T", "1000", "--strict", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["name"] == "linear(T=1000)" and rows[1]["prior_kl_per_dim"] == 0.0
    assert _cli(["cosine", "--beta-start", "0.1"]) == 2
    assert "do not apply" in capsys.readouterr().err
    assert _cli(["nonsense"]) == 2
    assert "module:factory" in capsys.readouterr().err


@needs_diffusers
def test_health_cli_diffusers_spec(capsys):
    cfg = '{"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012}'
    assert _cli(["diffusers:DDPMScheduler", "--config", cfg, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert round(rows[0]["sqrt_alpha_bar_T"], 3) == 0.068 and rows[1]["alpha_bar_T"] == 0.0
    assert _cli(["diffusers:DDPMScheduler", "--config", "{oops"]) == 2
    assert "not valid JSON" in capsys.readouterr().err
