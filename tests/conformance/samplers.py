"""Samplers and helpers shared by the conformance tests (tests/conformance) and their negative
controls (tests/quality/test_conformance_controls.py). Not a test module.

Timesteps in findings are the paper's t (1-based); diffusers' k = t - 1.
"""
from __future__ import annotations

import pytest
import torch

from montecarlo.conformance import ConformanceReport

try:
    import diffusers  # noqa: F401
    from diffusers import DDIMScheduler, DDPMScheduler
    HAVE_DIFFUSERS = True
except ImportError:  # pragma: no cover - CI installs diffusers
    HAVE_DIFFUSERS = False
    DDPMScheduler = DDIMScheduler = object

needs_diffusers = pytest.mark.skipif(not HAVE_DIFFUSERS, reason="diffusers is not installed (optional dependency: "
                                     "pip install 'diffusion-proofs[diffusers]'); CI installs it")


def fails(report: ConformanceReport, identity: str, check: str | None = None):
    """The failing findings for ``identity`` (and ``check``), sorted by t."""
    out = [f for f in report.failures if f.identity == identity and (check is None or f.check == check)]
    return sorted(out, key=lambda f: (f.t is None, f.t))


# ----- a user's own sampler (the Protocol) ---------------------------------------------------------
class MySampler:
    """A user's DDPM sampler: epsilon-prediction, fixed_small, diffusers' 0-based timesteps."""

    prediction_type = "epsilon"
    variance_type = "fixed_small"

    def __init__(self, T=40, noise_draw="randn", noise_factor=1.0, eps_sqrt=True):
        self.betas = torch.linspace(1e-4, 0.02, T, dtype=torch.float64)
        self.alphas_cumprod = torch.cumprod(1 - self.betas, 0)
        self.noise_draw, self.noise_factor, self.eps_sqrt = noise_draw, noise_factor, eps_sqrt

    def add_noise(self, x0, noise, timesteps):
        ab = self.alphas_cumprod[timesteps].to(x0.dtype).reshape(-1, *[1] * (x0.ndim - 1))
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise

    def step(self, model_output, timestep, sample, generator=None):
        k = int(timestep)
        ab = self.alphas_cumprod[k]
        ab_prev = self.alphas_cumprod[k - 1] if k > 0 else torch.tensor(1.0, dtype=torch.float64)
        alpha = ab / ab_prev
        beta = 1 - alpha
        denom = (1 - ab).sqrt() if self.eps_sqrt else (1 - ab)  # eps_sqrt=False: a missing square root
        mean = (sample - beta / denom * model_output) / alpha.sqrt()
        if k == 0:
            return mean
        if self.noise_draw == "randn":  # as diffusers: exactly reproducible from the generator
            z = torch.randn(sample.shape, generator=generator, dtype=sample.dtype)
        else:  # Gaussian from the generator, but not the same draw: checked by chi-square
            z = torch.randn(sample.numel() + 1, generator=generator, dtype=sample.dtype)[1:].reshape(sample.shape)
        std = ((1 - ab_prev) / (1 - ab) * beta).sqrt() * self.noise_factor
        return mean + std * z


__all__ = ["HAVE_DIFFUSERS", "DDPMScheduler", "DDIMScheduler", "needs_diffusers", "fails", "MySampler"]
