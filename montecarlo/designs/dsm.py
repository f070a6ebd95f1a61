"""Sampling design of P3, denoising score matching (mirrors :mod:`proofs.dsm`)."""
from __future__ import annotations

import numpy as np

from .base import (NOISE_STDS, S, _Ctx, _mixture, _mixture_score)


DSM_MODELS = ((0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 0.3), (0.5, -1.0, 0.2))


def _check_dsm(ctx: _Ctx):
    n = ctx.n
    for sd in NOISE_STDS:
        x = _mixture(ctx, n)
        xt = x + sd * ctx.normal(n)
        ctx.samples += n
        target = ctx.claim("target", 1, x=x, x_tilde=xt, noise_std=sd)
        if ctx.bad_claim("target", target, None, noise_std=sd):
            continue
        score = _mixture_score(xt, var_add=sd ** 2)
        s = [th0 + th1 * xt + th2 * xt ** 2 for th0, th1, th2 in DSM_MODELS]
        e = [(sk - score) ** 2 - (sk - target) ** 2 for sk in s]
        for k in range(1, len(DSM_MODELS)):
            scale = 2 * float(np.mean((s[k] - s[0]) * score))  # d E[e_k - e_0] / d(relative error of the target)
            ctx.add(S.z_test_mean(e[k] - e[0], 0.0, alpha=ctx.alpha,
                                  name=f"J_ESM - J_DSM equal for theta_{k} and theta_0 (noise_std={sd:g})"),
                    "target", scale, noise_std=sd, model=k)
    return ("two-component Gaussian mixture data, exact score of q_sigma; polynomial score models with common random "
            "numbers; z tests that (ESM - DSM) integrands do not depend on theta")
