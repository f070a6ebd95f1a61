"""Sampling designs of P4, Tweedie and score-eps (mirrors :mod:`proofs.tweedie`).

Moment conditions E[(Rao-Blackwellised residual) g(x)] = 0 for g in tanh x, x exp(-x^2/8), sech x (g = 1 has no
sensitivity to the slot: E[score] = 0), computed on the same draws (common random numbers) and combined
per cell by Hotelling's T^2 with their estimated covariance (asymptotic). Rows per cell are planned
from a pilot (Neyman allocation) so that every cell resolves a 1.2% relative error of the slot.
"""
from __future__ import annotations

import math
import numpy as np

from .base import BOUNDED_TEST_FUNCTIONS as TEST_FUNCTIONS
from .base import MIX_MU, MIX_SD, NOISE_STDS, S, _Ctx, _forward, _mixture, _mixture_score, _planned_rows, _times

G_NAMES = "g in tanh x, x exp(-x^2/8), sech x"

TARGET = 0.009


def _tweedie_cell(ctx, n, sd, coef):
    theta, k = _mixture(ctx, n, with_component=True)
    x = theta + sd * ctx.normal(n)
    ctx.samples += n
    # Rao-Blackwell within the component: E[theta | x, k] = mu_k + sd_k^2 (x - mu_k) / (sd_k^2 + noise_std^2)
    theta = MIX_MU[k] + MIX_SD[k] ** 2 * (x - MIX_MU[k]) / (MIX_SD[k] ** 2 + sd ** 2)
    score = _mixture_score(x, var_add=sd ** 2)
    resid = theta - x - coef * score
    G = np.stack([g(x) for g in TEST_FUNCTIONS.values()], axis=1)
    return resid[:, None] * G, coef * np.mean(score[:, None] * G, axis=0)


def _check_tweedie(ctx: _Ctx):
    for sd in NOISE_STDS:
        coef = ctx.claim("coef", 1, noise_std=sd)
        if ctx.bad_claim("coef", coef, None, noise_std=sd):
            continue
        coef = float(coef)

        def pilot(n0, level, sd=sd, coef=coef):
            Y, u = _tweedie_cell(ctx, n0, sd, coef)
            return S.hotelling_test.relative_mde(S.hotelling_test(Y, alpha=ctx.alpha), u, level)
        n = _planned_rows(ctx, pilot, TARGET, len(NOISE_STDS))
        Y, u = _tweedie_cell(ctx, n, sd, coef)
        res = S.hotelling_test(Y, alpha=ctx.alpha,
                               name=f"E[(theta - x - coef score) g] = 0, {G_NAMES} (noise_std={sd:g})")
        ctx.add(res, sens={"coef": lambda lv, res=res, u=u: S.hotelling_test.relative_mde(res, u, lv)},
                slot="coef", noise_std=sd)
    return ("theta from a Gaussian mixture, x = theta + noise_std z, exact score of p(x); per noise_std a Hotelling "
            "test of the moment conditions E[(E[theta|x, k] - x - coef score(x)) g(x)] = 0 for " + G_NAMES + " "
            "(k: theta's component), rows allocated per cell")


def _score_cell(ctx, n, m, v, coef):
    eps = ctx.normal(n)
    x0, k = _mixture(ctx, n, with_component=True)
    xt = m * x0 + math.sqrt(v) * eps
    ctx.samples += n
    # Rao-Blackwell over x0 within its component: (x0, eps, x_t) | k is Gaussian, so
    # E[eps | x_t, k] = sqrt(v) (x_t - m mu_k) / (m^2 sd_k^2 + v); the tower rule keeps the moment condition
    eps = math.sqrt(v) * (xt - m * MIX_MU[k]) / (m * m * MIX_SD[k] ** 2 + v)
    score = _mixture_score(xt, mean_scale=m, var_scale=m * m, var_add=v)
    resid = eps - score / coef
    G = np.stack([g(xt) for g in TEST_FUNCTIONS.values()], axis=1)
    return resid, resid[:, None] * G, np.mean(score[:, None] * G, axis=0) / coef


def _check_score_eps(ctx: _Ctx):
    s = ctx.schedule
    short, long_ = _times(s.T)
    cells = short + long_
    for t in cells:
        m, v = (float(u) for u in _forward(s, t))
        coef = float(ctx.claim("coef", t))
        if ctx.bad_claim("coef", coef if coef != 0 else np.nan, t):
            continue
        if m == 0.0:  # abar_t = 0 (zero terminal SNR): x_t = eps, the relation is deterministic
            resid, _, _ = _score_cell(ctx, ctx.n, m, v, coef)
            err = float(np.max(np.abs(resid)))
            ctx.add(S.exact_check(f"abar_t = 0: eps - score / coef vanishes (max {err:.2g}, t={t})", err <= 1e-9, err,
                                  alpha=ctx.alpha, tolerance=1e-9, n=ctx.n), "coef", t=t)
            continue

        def pilot(n0, level, m=m, v=v, coef=coef):
            _, Y, u = _score_cell(ctx, n0, m, v, coef)
            return S.hotelling_test.relative_mde(S.hotelling_test(Y, alpha=ctx.alpha), u, level)
        n = _planned_rows(ctx, pilot, TARGET, len(cells))
        _, Y, u = _score_cell(ctx, n, m, v, coef)
        res = S.hotelling_test(Y, alpha=ctx.alpha, name=f"E[(eps - score / coef) g] = 0, {G_NAMES} (t={t})")
        ctx.add(res, sens={"coef": lambda lv, res=res, u=u: S.hotelling_test.relative_mde(res, u, lv)},
                slot="coef", t=t)
    return ("x0 from a Gaussian mixture, x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, exact score of p_t; per t a "
            "Hotelling test of E[(E[eps|x_t, k] - score(x_t)/coef) g(x_t)] = 0 for " + G_NAMES + " (k: x0's "
            "component), rows allocated per cell")
