"""The Gaussian density, written once for every proof (one coordinate; isotropic covariances
factor over coordinates)."""
from __future__ import annotations

import sympy as sp


def normal_pdf(v, mean, variance):
    """N(v; mean, variance) = exp(-(v - mean)^2 / (2 variance)) / sqrt(2 pi variance)."""
    return sp.exp(-(v - mean) ** 2 / (2 * variance)) / sp.sqrt(2 * sp.pi * variance)


def log_normal_pdf(v, mean, variance):
    """log N(v; mean, variance), expanded: -(v - mean)^2 / (2 variance) - log(2 pi variance) / 2."""
    return -(v - mean) ** 2 / (2 * variance) - sp.log(2 * sp.pi * variance) / 2
