"""Sampling design of P3, denoising score matching (mirrors :mod:`proofs.dsm`).

x ~ 0.3 N(-1, 0.7^2) + 0.7 N(1, 0.9^2), x~ = x + noise_std z, exact score of q_sigma. For polynomial
score models s_k the per-sample difference of the ESM and DSM integrands, e_k - e_0, has mean 0 for
every k iff the constant C does not depend on theta; the models share the draws (common random
numbers), so per noise_std the moments are combined by Hotelling's T^2 with their estimated covariance.
The constant model (1, 0, 0) is left out: s_k - s_0 = 1 gives E[score - target] = 0 whatever the
target's scale, so it cannot see a relative error of the target. Draws are antithetic pairs (x, z), (x, -z);
rows per noise_std are planned from a pilot (Neyman allocation).
"""
from __future__ import annotations

import numpy as np

from .base import (NOISE_STDS, S, _Ctx, _mixture, _mixture_score, _planned_rows)

DSM_MODELS = ((0.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 0.3), (0.5, -1.0, 0.2))
TARGET = 0.015


def _cell(ctx, n, sd, record=True):
    """n antithetic pairs: (x, z) and (x, -z) share x; a row is the pair's average (the leading noise
    term -2 s(x) z / noise_std is odd in z and cancels), so rows stay iid."""
    x = _mixture(ctx, n)
    z = ctx.normal(n)
    x, xt = np.r_[x, x], np.r_[x + sd * z, x - sd * z]
    ctx.samples += 2 * n
    target = ctx.claim("target", 1, x=x, x_tilde=xt, noise_std=sd)
    if not np.all(np.isfinite(target)):
        if record:
            ctx.bad_claim("target", target, None, noise_std=sd)
        return None
    score = _mixture_score(xt, var_add=sd ** 2)
    s = [th0 + th1 * xt + th2 * xt ** 2 for th0, th1, th2 in DSM_MODELS]
    e = [(sk - score) ** 2 - (sk - target) ** 2 for sk in s]
    Y = np.stack([e[k] - e[0] for k in range(1, len(DSM_MODELS))], axis=1)
    Y = 0.5 * (Y[:n] + Y[n:])
    # d E[e_k - e_0] / d(relative error of the target)
    u = np.array([2 * float(np.mean((s[k] - s[0]) * score)) for k in range(1, len(DSM_MODELS))])
    return Y, u


def _check_dsm(ctx: _Ctx):
    for sd in NOISE_STDS:
        def pilot(n0, level, sd=sd):
            out = _cell(ctx, n0, sd, record=False)
            return S.hotelling_test.relative_mde(S.hotelling_test(out[0], alpha=ctx.alpha), out[1], level) \
                if out else float("inf")
        n = _planned_rows(ctx, pilot, TARGET, len(NOISE_STDS))
        out = _cell(ctx, n, sd)
        if out is None:
            continue
        Y, u = out
        res = S.hotelling_test(Y, alpha=ctx.alpha,
                               name=f"J_ESM - J_DSM equal for theta_1..{len(DSM_MODELS) - 1} and theta_0 "
                                    f"(noise_std={sd:g})")
        ctx.add(res, sens={"target": lambda lv, res=res, u=u: S.hotelling_test.relative_mde(res, u, lv)},
                slot="target", noise_std=sd)
    return ("two-component Gaussian mixture data, exact score of q_sigma; polynomial score models x~, 0.3 x~^2, "
            "0.5 - x~ + 0.2 x~^2 against 0 with common random numbers; per noise_std a Hotelling test that the "
            "(ESM - DSM) integrand differences have mean 0 (C free of theta), rows allocated per noise_std")
