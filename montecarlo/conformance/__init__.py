"""Conformance: is a scheduler or sampler the process of the proofs? The checker
(:mod:`.checker`), adapters for diffusers and the scheduler protocol (:mod:`.adapters`), and
schedule health (terminal SNR, prior gap; :mod:`.health`), named schedules against their
published definitions (:mod:`.named`), sweep mode over every configuration axis (:mod:`.sweep`), residual
checks of add_noise/get_velocity/targets and loss weights (:mod:`.residual`), and one-call adapters of
denoising-diffusion-pytorch and k-diffusion (:mod:`.external`, recognised by :mod:`.packages`); results in
:mod:`.findings`."""
from __future__ import annotations

from .adapters import SchedulerProtocol, StepCall
from .checker import ConformanceReport, Finding, SpecError, adapt, check_scheduler, resolve_spec
from .external import check_denoiser, check_sampler
from .residual import check_loss_weight, check_snr
from .classify import Classification, classify
from .health import ScheduleHealth, as_schedule, lin_et_al_figure, schedule_health
from .sweep import SweepReport

__all__ = ["check_scheduler", "ConformanceReport", "Finding", "SpecError", "resolve_spec", "SchedulerProtocol",
           "StepCall", "adapt", "Classification", "classify", "ScheduleHealth", "as_schedule", "lin_et_al_figure", "schedule_health",
           "SweepReport", "check_sampler", "check_denoiser", "check_snr", "check_loss_weight"]
