"""pytest plugin (entry point ``pytest11``, name ``diffusion_proofs``): the ``assert_conforms`` fixture.

    def test_my_scheduler(assert_conforms):
        assert_conforms(my_scheduler)                       # any check_scheduler keyword works too
        assert_conforms(my_scheduler, dtype=torch.float16)  # probe in the dtype you sample in

On a failure the AssertionError lists the findings (identity, check, paper t and diffusers
k = t - 1, and a sentence); on success the fixture returns the ConformanceReport. The checker
(torch, sympy, diffusers when used) is imported only when the fixture is first called, so the
plugin costs nothing in test sessions that do not use it.
"""
from __future__ import annotations

import pytest


@pytest.fixture
def assert_conforms():
    """Callable ``assert_conforms(scheduler, **check_scheduler_kwargs) -> ConformanceReport``."""

    def _assert_conforms(scheduler, **kwargs):
        __tracebackhide__ = True
        from montecarlo.conformance import check_scheduler

        report = check_scheduler(scheduler, **kwargs)
        if not report.passed:
            raise AssertionError(report.failure_message())
        return report

    return _assert_conforms
