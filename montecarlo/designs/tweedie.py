"""Sampling designs of P4, Tweedie and score-eps (mirrors :mod:`proofs.tweedie`)."""
from __future__ import annotations

import math
import numpy as np

from .base import (TEST_FUNCTIONS, MIX_MU, MIX_SD, NOISE_STDS, S, _Ctx, _forward, _mixture, _mixture_score, _times)


def _check_tweedie(ctx: _Ctx):
    n = ctx.n
    for sd in NOISE_STDS:
        theta, k = _mixture(ctx, n, with_component=True)
        x = theta + sd * ctx.normal(n)
        ctx.samples += n
        # Rao-Blackwell within the component: E[theta | x, k] = mu_k + sd_k^2 (x - mu_k) / (sd_k^2 + noise_std^2)
        theta = MIX_MU[k] + MIX_SD[k] ** 2 * (x - MIX_MU[k]) / (MIX_SD[k] ** 2 + sd ** 2)
        coef = ctx.claim("coef", 1, noise_std=sd)
        if ctx.bad_claim("coef", coef, None, noise_std=sd):
            continue
        coef = float(coef)
        score = _mixture_score(x, var_add=sd ** 2)
        resid = theta - x - coef * score
        for gname, g in TEST_FUNCTIONS.items():
            gx = g(x)
            ctx.add(S.z_test_mean(resid * gx, 0.0, alpha=ctx.alpha,
                                  name=f"E[(theta - x - coef score) {gname}] = 0 (noise_std={sd:g})"),
                    "coef", coef * float(np.mean(score * gx)), noise_std=sd, g=gname)
    return ("theta from a Gaussian mixture, x = theta + noise_std z, exact score of p(x); z tests of the moment "
            "conditions E[(E[theta|x, k] - x - coef score(x)) g(x)] = 0 for g in 1, x, x^2, tanh "
            "(k: theta's component)")


def _check_score_eps(ctx: _Ctx):
    s = ctx.schedule
    short, long_ = _times(s.T)
    n = ctx.n
    for t in short + long_:
        m, v = (float(u) for u in _forward(s, t))
        eps = ctx.normal(n)
        x0, k = _mixture(ctx, n, with_component=True)
        xt = m * x0 + math.sqrt(v) * eps
        ctx.samples += n
        # Rao-Blackwell over x0 within its component: (x0, eps, x_t) | k is Gaussian, so
        # E[eps | x_t, k] = sqrt(v) (x_t - m mu_k) / (m^2 sd_k^2 + v); the tower rule keeps the moment condition
        eps = math.sqrt(v) * (xt - m * MIX_MU[k]) / (m * m * MIX_SD[k] ** 2 + v)
        coef = float(ctx.claim("coef", t))
        if ctx.bad_claim("coef", coef if coef != 0 else np.nan, t):
            continue
        score = _mixture_score(xt, mean_scale=m, var_scale=m * m, var_add=v)
        resid = eps - score / coef
        if m == 0.0:  # abar_t = 0 (zero terminal SNR): x_t = eps, the relation is deterministic
            err = float(np.max(np.abs(resid)))
            ctx.add(S.exact_check(f"abar_t = 0: eps - score / coef vanishes (max {err:.2g}, t={t})", err <= 1e-9, err,
                                  alpha=ctx.alpha, tolerance=1e-9, n=n), None, t=t)
            continue
        for gname, g in TEST_FUNCTIONS.items():
            gx = g(xt)
            ctx.add(S.z_test_mean(resid * gx, 0.0, alpha=ctx.alpha,
                                  name=f"E[(eps - score / coef) {gname}] = 0 (t={t})"),
                    "coef", float(np.mean(score * gx)) / coef, t=t, g=gname)
    return ("x0 from a Gaussian mixture, x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, exact score of p_t; z tests of "
            "E[(E[eps|x_t, k] - score(x_t)/coef) g(x_t)] = 0 for g in 1, x, x^2, tanh (k: x0's component)")
