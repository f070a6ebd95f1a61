"""Shared test configuration: Hypothesis profiles and the CUDA skip for ``@pytest.mark.gpu``.

Hypothesis profiles (chosen by ``HYPOTHESIS_PROFILE``, else "ci" when the ``CI`` variable is set, else "dev"):
  ci:  derandomize=True (the same examples every run), deadline=None, max_examples=25, print_blob=True
  dev: random examples, deadline=None (the kernel tests run torch; their first call pays for warm-up),
       max_examples=25.
A test may raise or lower max_examples with its own ``@settings``.
"""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=25, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def pytest_collection_modifyitems(config, items):
    """Skip every test marked ``gpu`` when CUDA is not available (the skip says why). torch is imported
    only when such a test was collected: the pure-SymPy tests run without it."""
    gpu = [item for item in items if "gpu" in item.keywords]
    if not gpu:
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA: torch.cuda.is_available() is False")
    for item in gpu:
        item.add_marker(skip)
