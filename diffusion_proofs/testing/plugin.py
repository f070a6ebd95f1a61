"""pytest plugin (entry point ``pytest11``, name ``diffusion_proofs``): the ``assert_conforms`` and
``assert_proved`` fixtures.

    def test_my_scheduler(assert_conforms):
        assert_conforms(my_scheduler)                       # any check_scheduler keyword works too
        assert_conforms(my_scheduler, dtype=torch.float16)  # probe in the dtype you sample in

On a failure the AssertionError lists the findings (identity, check, paper t and diffusers
k = t - 1, and a sentence); on success the fixture returns the ConformanceReport. The checker
(torch, sympy, diffusers when used) is imported only when the fixture is first called, so the
plugin costs nothing in test sessions that do not use it.

``assert_proved`` turns a derivation into a regression test (pytest as a proof checker)::

    def test_my_derivation(assert_proved):
        assert_proved(Derivation("telescoping", [Step(...), Step(..., "reason"), ...]))
        assert_proved(proofs.IDENTITIES["posterior"])   # an Identity, or an Induction, works too

It passes only when every step is PROVED (UNDECIDED is not a proof); otherwise the AssertionError
names each failing step, its reason, its verdict and the counterexample with both sides' values.
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


def _proof_failures(obj) -> tuple[list, list[str]]:
    """Check ``obj`` (Derivation, Induction, Identity or a list of them); return (results, failures)."""
    from proofs.engine import Derivation, Induction
    from proofs.identity import Identity

    if isinstance(obj, Identity):
        result = obj.check()
        derivations, instances = result.derivations, result.instances
    else:
        items = obj if isinstance(obj, (list, tuple)) else [obj]
        flat = []
        for item in items:
            if isinstance(item, Induction):
                flat.extend(item.derivations())
            elif isinstance(item, Derivation):
                flat.append(item)
            else:
                raise TypeError(f"assert_proved takes a Derivation, Induction or Identity, got {type(item).__name__}")
        derivations, instances = [d.check() for d in flat], []
    failures = []
    for d in derivations:
        if not d.steps:
            failures.append(f"'{d.title}': no steps (nothing is proved)")
        for st in d.steps:
            if st.verdict.value != "PROVED":
                where = (f" at {_point_text(st.counterexample)}: lhs = {st.lhs_value}, rhs = {st.rhs_value}"
                         if st.counterexample else "")
                failures.append(f"'{d.title}' step {st.index} ({st.reason}): {st.verdict.value}, {st.method}{where}")
    for i in instances:
        if i.verdict.value != "PROVED":
            failures.append(f"instance '{i.title}': {i.verdict.value}, {i.detail}")
    return derivations, failures


@pytest.fixture
def assert_proved():
    """Callable ``assert_proved(derivation_or_identity) -> list[DerivationResult]``."""

    def _assert_proved(obj):
        __tracebackhide__ = True
        results, failures = _proof_failures(obj)
        if failures:
            raise AssertionError("not proved:\n  " + "\n  ".join(failures))
        return results

    return _assert_proved


def _point_text(point) -> str:
    from proofs.engine.results import point_text

    return point_text(point)
