"""The public face of :mod:`montecarlo`: ``confirm`` is the function (``montecarlo.confirm(id,
schedule, ...)``), ``Schedule``, ``forward_chain`` and ``check_scheduler`` are the objects of their
modules, and each works on a small example."""
from __future__ import annotations

import inspect

import pytest
import torch

import montecarlo


def test_all_names_the_public_faces_from_their_modules():
    from montecarlo import confirmation, conformance, kernel, schedules

    assert {"confirm", "Schedule", "forward_chain", "check_scheduler"} <= set(montecarlo.__all__)
    assert all(hasattr(montecarlo, name) for name in montecarlo.__all__)
    assert montecarlo.confirm is confirmation.confirm and inspect.isfunction(montecarlo.confirm)
    assert montecarlo.Schedule is schedules.Schedule
    assert montecarlo.forward_chain is kernel.forward_chain
    assert montecarlo.check_scheduler is conformance.check_scheduler


def test_confirm_is_the_function_and_separates_right_from_wrong():
    import sympy as sp

    from proofs.symbols import abar, t

    schedule = montecarlo.Schedule.linear(50)
    right = montecarlo.confirm("forward_marginal", schedule, samples=2000, seed=1)
    assert right.passed, right.summary()
    wrong = montecarlo.confirm("forward_marginal", schedule, claim={"mean_coef": sp.sqrt(abar[t - 1])},
                               samples=2000, seed=1)
    assert not wrong.passed
    with pytest.raises(ValueError, match="alpha"):
        montecarlo.confirm("forward_marginal", schedule, alpha=2)


def test_schedule_and_forward_chain():
    """forward_chain from x_0 = 1 reaches N(sqrt(abar_T), 1 - abar_T) (5 standard errors, seed fixed);
    the seed is used: another seed gives other noise, the same seed the same."""
    import math

    s = montecarlo.Schedule.linear(10)
    ab = float(s.alpha_bar(10))
    assert s.T == 10 and math.isclose(ab, math.prod(1 - b for b in s.betas.tolist()), rel_tol=1e-12)
    n = 20000
    x0 = torch.ones(n, dtype=torch.float64)
    xt = montecarlo.forward_chain(s, x0, [10], seed=0, dtype=torch.float64)[10]
    assert abs(xt.mean().item() - math.sqrt(ab)) < 5 * math.sqrt((1 - ab) / n)
    assert abs(xt.var().item() / (1 - ab) - 1) < 5 * math.sqrt(2 / n)
    again = montecarlo.forward_chain(s, x0, [10], seed=0, dtype=torch.float64)[10]
    other = montecarlo.forward_chain(s, x0, [10], seed=1, dtype=torch.float64)[10]
    assert torch.equal(xt, again) and not torch.equal(xt, other)


def test_check_scheduler_on_a_correct_sampler():
    from tests.conformance.samplers import MySampler

    report = montecarlo.check_scheduler(MySampler(T=10))
    assert report.passed, report.failure_message()
    assert not montecarlo.check_scheduler(MySampler(T=10, eps_sqrt=False)).passed
