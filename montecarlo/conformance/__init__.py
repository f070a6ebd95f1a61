"""Conformance: is a scheduler or sampler the process of the proofs? The checker
(:mod:`.checker`), adapters for diffusers and the scheduler protocol (:mod:`.adapters`), and
schedule health (terminal SNR, prior gap; :mod:`.health`)."""
from __future__ import annotations

from .adapters import SchedulerProtocol, StepCall, adapt
from .checker import ConformanceReport, Finding, SpecError, check_scheduler, resolve_spec
from .classify import Classification, classify
from .health import ScheduleHealth, as_schedule, lin_et_al_figure, schedule_health

__all__ = ["check_scheduler", "ConformanceReport", "Finding", "SpecError", "resolve_spec", "SchedulerProtocol",
           "StepCall", "adapt", "Classification", "classify", "ScheduleHealth", "as_schedule", "lin_et_al_figure", "schedule_health"]
