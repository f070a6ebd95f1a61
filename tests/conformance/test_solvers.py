"""ODE/SDE solver conformance: the oracle, the paper references, and real diffusers solvers."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from montecarlo.conformance import check_scheduler
from montecarlo.conformance import oracle
from montecarlo.conformance.references import REFERENCES, run_reference, singlestep_orders

try:
    import diffusers
    HAVE_DIFFUSERS = True
except ImportError:  # pragma: no cover - CI installs diffusers
    HAVE_DIFFUSERS = False

needs_diffusers = pytest.mark.skipif(not HAVE_DIFFUSERS, reason="diffusers is not installed (optional dependency: "
                                     "pip install 'diffusion-proofs[diffusers]'); CI installs it")

VE = lambda sigma: (1.0, sigma)  # noqa: E731


def _karras(n, smin=0.02, smax=80.0, rho=7.0):
    ramp = np.linspace(0, 1, n)
    s = (smax ** (1 / rho) + ramp * (smin ** (1 / rho) - smax ** (1 / rho))) ** rho
    return list(s) + [0.0]


def test_oracle_denoiser_is_tweedie_and_solution_solves_the_ode():
    m, v = np.array([0.3]), np.array([0.2])
    x, sigma = np.array([1.1]), 0.7
    d = oracle.denoiser(x, 1.0, sigma, m, v)
    assert d == pytest.approx(m + v / (v + sigma ** 2) * (x - m))
    # dx/dsigma = (x - D)/sigma along the closed-form solution (finite difference)
    h = 1e-6
    xs = lambda s: oracle.pf_ode_solution(x, 1.0, sigma, 1.0, s, m, v)  # noqa: E731
    slope = (xs(sigma + h) - xs(sigma - h)) / (2 * h)
    assert slope == pytest.approx((x - oracle.denoiser(x, 1.0, sigma, m, v)) / sigma, rel=1e-6)
    with pytest.raises(ValueError, match="prediction_type"):
        oracle.model_output("score", x, 1.0, sigma, m, v)


@pytest.mark.parametrize("name, order", [("euler", 1), ("heun", 2), ("dpm++_2m", 2), ("dpm++_2s", 2),
                                         ("unipc_bh2", 3)])  # UniC raises UniP-2's order by one
def test_references_converge_at_their_order(name, order):
    m, v = np.linspace(-1, 1, 8), np.linspace(0.05, 0.5, 8)
    errs = []
    for n in (40, 80, 160):
        grid = _karras(n)[:-1]  # stop at sigma_min: the step to 0 is of lower order by design
        x0 = m + np.sqrt(v + grid[0] ** 2) * np.linspace(-2, 2, 8)
        out = run_reference(name, grid, VE, x0, lambda x, s: oracle.denoiser(x, 1.0, s, m, v))[-1]
        errs.append(np.abs(out - oracle.pf_ode_solution(x0, 1.0, grid[0], 1.0, grid[-1], m, v)).max())
    observed = math.log2(errs[-2] / errs[-1])
    assert observed == pytest.approx(order, abs=0.35), (name, errs)


def test_third_order_multistep_beats_second_order():
    m, v = np.linspace(-1, 1, 8), np.linspace(0.05, 0.5, 8)
    grid = _karras(160)[:-1]
    x0 = m + np.sqrt(v + grid[0] ** 2) * np.linspace(-2, 2, 8)
    exact = oracle.pf_ode_solution(x0, 1.0, grid[0], 1.0, grid[-1], m, v)
    err = {name: np.abs(run_reference(name, grid, VE, x0, lambda x, s: oracle.denoiser(x, 1.0, s, m, v))[-1]
                        - exact).max() for name in ("dpm++_2m", "dpm++_3m")}
    assert err["dpm++_3m"] < 0.5 * err["dpm++_2m"], err


def test_first_order_references_are_exact_on_point_mass_data():
    m, eps0 = np.array([0.4, -0.7]), np.array([1.3, -0.2])
    grid = _karras(7)
    x0 = m + grid[0] * eps0
    for name in REFERENCES:
        out = run_reference(name, grid, VE, x0, lambda x, s: np.broadcast_to(m, x.shape))
        for s, x in zip(grid[1:], out):
            assert x == pytest.approx(m + s * eps0, rel=1e-12, abs=1e-12), name


def test_singlestep_order_list():
    assert singlestep_orders(4, 2, True) == [1, 2, 1, 1]
    assert singlestep_orders(5, 2, True) == [1, 2, 1, 2, 1]
    assert singlestep_orders(6, 2, False) == [1, 2, 1, 2, 1, 2]


@needs_diffusers
@pytest.mark.parametrize("cls, config, ref, order", [
    ("EulerDiscreteScheduler", {}, "euler", 1.0),
    ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}, "dpm++_2m", 2.0),
    ("FlowMatchEulerDiscreteScheduler", {"shift": 3.0}, "euler", 1.0),
    ("FlowMatchHeunDiscreteScheduler", {}, "heun", 2.0),
    ("EDMDPMSolverMultistepScheduler", {}, "dpm++_2m", 2.0),
])
def test_deterministic_solvers_report_order_and_match_their_reference(cls, config, ref, order):
    report = check_scheduler(getattr(diffusers, cls)(**config))
    assert report.kind == "ode" and report.solver["reference"] == ref
    assert report.order == pytest.approx(order, abs=0.3)
    errs, refs = report.solver["errors"]["final"], report.solver["reference_errors"]["final"]
    for n, e in errs.items():  # same grid, same oracle: the same numbers, step count by step count
        assert e == pytest.approx(refs[n], rel=2e-2, abs=1e-9), (n, e, refs[n])  # float32-stored grids
    assert not [f for f in report.failures if f.identity == "path_pf_ode"], report.failure_message()


@needs_diffusers
def test_fresh_dpm_solver_add_noise_uses_the_reversed_noise_level():
    report = check_scheduler(diffusers.DPMSolverMultistepScheduler())
    found = [f for f in report.failures if f.check == "add_noise.coefficients"]
    assert report.status == "FAIL" and found
    assert "timestep 999" in found[0].message and found[0].observed == pytest.approx(0.99998, abs=1e-4)
    assert len(report.failures) <= 5  # one line per (identity, check), not one per timestep


@needs_diffusers
def test_parallel_variants_are_routed_as_their_serial_twins():
    for name in ("DDIMParallelScheduler", "DDPMParallelScheduler"):
        report = check_scheduler(getattr(diffusers, name)(num_train_timesteps=50), timesteps=[1, 2, 25, 50])
        assert report.status == "PASS", report.failure_message()
    ddim = check_scheduler(diffusers.DDIMParallelScheduler(num_train_timesteps=100), timesteps=[1, 50, 100])
    assert ddim.order == pytest.approx(1.0, abs=0.3)  # eta = 0 is the PF-ODE's first-order solver


@needs_diffusers
def test_unsupported_and_cli_json_keys(capsys):
    from diffusion_proofs.cli import main
    report = check_scheduler(diffusers.DDIMInverseScheduler())
    assert report.status == "UNSUPPORTED" and not report.passed and "inversion" in report.reason
    assert main(["conformance", "diffusers:DDIMInverseScheduler"]) == 2
    err = capsys.readouterr().err
    assert "UNSUPPORTED" in err and "inversion" in err and err.count("\n") == 1
    assert main(["conformance", "diffusers:EulerDiscreteScheduler", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "PASS" and out["passed"] is True and out["order"] == pytest.approx(1.0, abs=0.1)
    assert {"identity", "check", "t", "sigma", "expected", "observed", "message"} <= set(
        json.loads(json.dumps(check_scheduler(diffusers.UniPCMultistepScheduler()).to_dict()))["findings"][0])


@needs_diffusers
def test_flow_match_shift_applied_twice_at_the_end_of_the_grid():
    assert check_scheduler(diffusers.FlowMatchEulerDiscreteScheduler()).status == "PASS"  # shift = 1: nothing to see
    report = check_scheduler(diffusers.FlowMatchEulerDiscreteScheduler(shift=3.0))  # SD3's shift
    found = [f for f in report.failures if (f.identity, f.check) == ("grid", "train_schedule")]
    assert found and "shift(shift(1/T))" in found[0].message, report.failure_message()
    k, tau = 3.0, 1 / 1000
    once = k * tau / (1 + (k - 1) * tau)
    assert found[0].observed == pytest.approx(k * once / (1 + (k - 1) * once), rel=1e-5)
