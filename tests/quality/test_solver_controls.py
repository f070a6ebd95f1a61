"""Negative controls for the ODE/SDE conformance: broken variants of real diffusers schedulers are caught
with the right identity, check and sigma; their unbroken parents pass."""
from __future__ import annotations

import math

import pytest
import torch

from montecarlo.conformance import check_scheduler

try:
    import diffusers
    HAVE_DIFFUSERS = True
except ImportError:  # pragma: no cover - CI installs diffusers
    HAVE_DIFFUSERS = False

pytestmark = pytest.mark.skipif(not HAVE_DIFFUSERS, reason="diffusers is not installed (optional dependency: "
                                "pip install 'diffusion-proofs[diffusers]'); CI installs it")


def _fails(report, identity, check):
    return [f for f in report.failures if f.identity == identity and f.check == check]


if HAVE_DIFFUSERS:
    class WrongSignEuler(diffusers.EulerDiscreteScheduler):
        """The step goes the wrong way: x + (sigma_i - sigma_{i+1}) d."""

        def step(self, model_output, timestep, sample, *args, **kwargs):
            # eps-prediction: d = (x - x0_hat)/sigma = eps, so negating eps negates the step direction
            return super().step(-model_output, timestep, sample, *args, **kwargs)

    class LastSigmaNotZeroEuler(diffusers.EulerDiscreteScheduler):
        """The grid ends at sigma = 0.05 instead of 0 (residual noise, diffusers PR #5690)."""

        def set_timesteps(self, *args, **kwargs):
            super().set_timesteps(*args, **kwargs)
            self.sigmas[-1] = 0.05

    class ShiftTwiceFlow(diffusers.FlowMatchEulerDiscreteScheduler):
        """The flow-matching shift applied a second time in set_timesteps (diffusers issue #13243)."""

        def set_timesteps(self, *args, **kwargs):
            super().set_timesteps(*args, **kwargs)
            k = self.shift
            s = self.sigmas[:-1]
            self.sigmas[:-1] = k * s / (1 + (k - 1) * s)
            self.timesteps = self.sigmas[:-1] * self.config.num_train_timesteps

    class NoCorrectionHeun(diffusers.HeunDiscreteScheduler):
        """Heun whose second stage drops the correction: the slope at the end is replaced by the first one."""

        def step(self, model_output, timestep, sample, *args, **kwargs):
            if self.state_in_first_order:
                self._first = model_output
                self._first_sample = sample
            else:  # the derivative at the end of the step made equal to the first-stage one: Euler
                sigma = self.sigmas[self.step_index - 1]
                sigma_next = self.sigmas[self.step_index]
                x0_first = self._first_sample - sigma * self._first
                model_output = (sample - x0_first) / sigma_next
            return super().step(model_output, timestep, sample, *args, **kwargs)

    class FirstOrderDPM(diffusers.DPMSolverMultistepScheduler):
        """DPM-Solver++ 2M with its second-order correction dropped (every step first order)."""

        def multistep_dpm_solver_second_order_update(self, model_output_list, *args, sample=None, **kwargs):
            return self.dpm_solver_first_order_update(model_output_list[-1], sample=sample)

    class LoudAncestral(diffusers.EulerAncestralDiscreteScheduler):
        """Euler ancestral that adds its fresh noise twice (std sqrt(2) sigma_up)."""

        def step(self, model_output, timestep, sample, generator=None, **kwargs):
            out = super().step(model_output, timestep, sample, generator=generator, **kwargs)
            idx = self.step_index - 1
            s_from, s_to = float(self.sigmas[idx]), float(self.sigmas[idx + 1])
            if s_to > 0:
                up = math.sqrt(s_to ** 2 * (s_from ** 2 - s_to ** 2) / s_from ** 2)
                z = torch.randn(sample.shape, generator=generator, dtype=sample.dtype)
                out.prev_sample = out.prev_sample + up * z  # total noise std sqrt(2) sigma_up
            return out

    class OffsetAddNoise(diffusers.EulerDiscreteScheduler):
        """add_noise with a constant added: caught by the affine check."""

        def add_noise(self, original_samples, noise, timesteps):
            return super().add_noise(original_samples, noise, timesteps) + 0.01


@pytest.mark.parametrize("parent", ["EulerDiscreteScheduler", "HeunDiscreteScheduler",
                                    "FlowMatchEulerDiscreteScheduler", "EulerAncestralDiscreteScheduler"])
def test_unbroken_parents_pass(parent):
    report = check_scheduler(getattr(diffusers, parent)())
    assert report.status == "PASS", report.failure_message()


def test_wrong_sign_of_the_step_is_caught_at_the_first_step():
    sched = diffusers.EulerDiscreteScheduler()
    report = check_scheduler(WrongSignEuler())
    found = _fails(report, "ddim_exact", "point_mass")
    assert report.status == "FAIL" and found, report.failure_message()
    sched.set_timesteps(10)
    assert found[0].sigma == pytest.approx(float(sched.sigmas[1]), rel=1e-6)  # where the first step lands


def test_last_sigma_not_zero_is_caught_with_its_value():
    report = check_scheduler(LastSigmaNotZeroEuler())
    found = _fails(report, "grid", "final_sigma")
    assert found and found[0].sigma == pytest.approx(0.05), report.failure_message()


def test_shift_applied_twice_is_caught():
    ok = check_scheduler(diffusers.FlowMatchEulerDiscreteScheduler(shift=3.0))
    assert not _fails(ok, "path_reparam", "shift_once"), ok.failure_message()
    report = check_scheduler(ShiftTwiceFlow(shift=3.0))
    found = _fails(report, "path_reparam", "shift_once")
    assert found and 0 < found[0].sigma < 1, report.failure_message()


def test_dropped_heun_correction_is_caught_against_the_reference():
    report = check_scheduler(NoCorrectionHeun())
    found = _fails(report, "path_pf_ode", "order_vs_reference") + _fails(report, "path_pf_ode", "error_vs_reference")
    assert found, report.failure_message()
    assert report.order == pytest.approx(1.0, abs=0.25)  # Euler's order, where the reference has ~1.9
    assert found[0].sigma is None or found[0].sigma > 0


def test_dropped_dpm_solver_correction_is_caught():
    report = check_scheduler(FirstOrderDPM())
    found = _fails(report, "path_pf_ode", "error_vs_reference") + _fails(report, "path_pf_ode", "order_vs_reference")
    assert found, report.failure_message()


def test_too_much_ancestral_noise_breaks_the_marginals():
    report = check_scheduler(LoudAncestral())
    found = _fails(report, "ddim_marginal", "variance")
    assert found and found[0].observed > 1.2, report.failure_message()
    assert report.solver["monte_carlo"]["alpha"] == 1e-6


def test_a_constant_added_by_add_noise_is_caught():
    report = check_scheduler(OffsetAddNoise())
    assert _fails(report, "forward_marginal", "add_noise.affine"), report.failure_message()


def test_a_step_that_rejects_float64_is_reported_and_checked_in_float32():
    class Float32OnlyUniPC(diffusers.UniPCMultistepScheduler):
        def step(self, model_output, timestep, sample, *args, **kwargs):
            if sample.dtype == torch.float64:
                raise RuntimeError("linalg.solve: Expected b and A to have the same dtype, but found b of type "
                                   "Float and A of type Double instead.")
            return super().step(model_output, timestep, sample, *args, **kwargs)

    report = check_scheduler(Float32OnlyUniPC())
    found = _fails(report, "path_pf_ode", "dtype")
    assert found and "float32" in found[0].message, report.failure_message()
    assert report.dtype == "float32" and report.order is not None and report.order > 1.0
    assert not _fails(report, "ddim_exact", "point_mass"), report.failure_message()


def test_wrong_single_step_order_list_is_caught():
    class AllSecondOrder(diffusers.DPMSolverSinglestepScheduler):
        def get_order_list(self, num_inference_steps):
            return [2] * num_inference_steps  # no first-order opening step (cf. diffusers PR #6953)

    report = check_scheduler(AllSecondOrder())
    found = _fails(report, "path_pf_ode", "order_list")
    assert found and "first difference at step 0" in found[0].message, report.failure_message()
    assert not _fails(check_scheduler(diffusers.DPMSolverSinglestepScheduler()), "path_pf_ode", "order_list")


def test_nan_on_the_last_step_is_caught_with_step_and_sigma():
    class NaNLast(diffusers.EulerDiscreteScheduler):
        def step(self, model_output, timestep, sample, *args, **kwargs):
            out = super().step(model_output, timestep, sample, *args, **kwargs)
            if self.step_index == len(self.timesteps):
                out.prev_sample = out.prev_sample * float("nan")
            return out

    report = check_scheduler(NaNLast())
    found = _fails(report, "path_pf_ode", "finite")
    assert found and found[0].sigma == 0.0 and "step 9" in found[0].message, report.failure_message()


def test_duplicated_sigma_dummy_step_is_caught():
    class DummyStep(diffusers.EulerDiscreteScheduler):
        def set_timesteps(self, *args, **kwargs):
            super().set_timesteps(*args, **kwargs)
            self.sigmas[-2] = self.sigmas[-3]  # the last step but one goes nowhere (cf. diffusers PR #6477)

    report = check_scheduler(DummyStep())
    found = _fails(report, "grid", "duplicates")
    sched = diffusers.EulerDiscreteScheduler()
    sched.set_timesteps(10)
    assert found and found[0].sigma == pytest.approx(float(sched.sigmas[-3])), report.failure_message()
