"""Sampling designs of P2.2, the posterior and its epsilon form (mirrors :mod:`proofs.posterior`)."""
from __future__ import annotations

import math
import numpy as np

from .base import (S, X0, _Ctx, _forward, _rows, _time_groups)


def _posterior_data(ctx, d):
    """Yield (t, x0 rows (n, d), x_{t-1}, x_t, rows per x0) for the short and the long timesteps."""
    groups = _time_groups(ctx)
    for g, (times, rows, dtype) in enumerate(groups):
        if not times:
            continue
        x0 = _rows(X0, rows, d)
        need = sorted({s for t in times for s in (t - 1, t)})
        out = ctx.chain(x0, need, dtype, g)
        for t in times:
            yield t, x0, out[t - 1], out[t], rows


def _exact_first_step(ctx, r, x0, x1, t, slot_var=None):
    """t = 1: q(x_0 | x_1, x_0) is a point mass, so the residual must vanish to float precision."""
    scale = 1.0 + np.max(np.abs(x0)) + np.max(np.abs(x1))
    err = float(np.max(np.abs(r))) / scale
    ctx.add(S.exact_check(f"t=1: x_0 - claimed mean vanishes (max |r| / scale = {err:.3g})", err <= 1e-9, err,
                          alpha=ctx.alpha, tolerance=1e-9, n=r.size, units="relative error"), None, t=t)
    if slot_var is not None:
        v = float(ctx.claim(slot_var, 1))
        ok = math.isfinite(v) and abs(v) <= 1e-12
        ctx.add(S.exact_check(f"t=1: claimed variance {v!r} = 0 (the posterior is a point mass)", ok, v,
                              alpha=ctx.alpha, tolerance=1e-12, units="absolute"), None, t=t)


def _check_posterior(ctx: _Ctx, d: int = 2):
    for t, x0, xp, xt, rows in _posterior_data(ctx, d):
        a, b, v = (float(ctx.claim(s, t)) for s in ("coef_xt", "coef_x0", "variance"))
        if ctx.bad_claim("coef_xt", a, t) or ctx.bad_claim("coef_x0", b, t):
            continue
        with np.errstate(all="ignore"):
            r = xp - a * xt - b * x0
        if t == 1:
            _exact_first_step(ctx, r, x0, xt, t, "variance")
            continue
        for j, x0v in enumerate(X0):
            rr, xx = r[j * rows:(j + 1) * rows].ravel(), xt[j * rows:(j + 1) * rows].ravel()
            fit = S.ols(rr, np.c_[np.ones_like(xx), xx - xx.mean()])
            ctx.add(S.t_test_coef(fit, 1, 0.0, alpha=ctx.alpha, relative_to=a,
                                  name=f"slope of r on x_t = 0 (t={t}, x0={x0v:g})"), "coef_xt", t=t, x0=x0v)
            ctx.add(S.t_test_coef(fit, 0, 0.0, alpha=ctx.alpha, relative_to=b * x0v,
                                  name=f"level of r = 0 (t={t}, x0={x0v:g})"), "coef_x0", t=t, x0=x0v)
        if not ctx.bad_claim("variance", v, t, positive=True):
            ctx.add(S.chi2_test_variance(r.ravel(), v, alpha=ctx.alpha, mean=0.0,
                                         name=f"sum r^2 / variance ~ chi2 (t={t})"), "variance", t=t)
        for p in range(d):
            for q in range(p + 1, d):
                ctx.add(S.correlation_test(r[:, p], r[:, q], alpha=ctx.alpha, name=f"cov(r_{p}, r_{q}) = 0 (t={t})"),
                        "covariance", 1.0, t=t)
    return ("forward_chain gives (x0, x_{t-1}, x_t); r = x_{t-1} - coef_xt x_t - coef_x0 x0; per (t, x0) OLS of r "
            "on (1, x_t) with exact t tests, per t chi-square test of the variance and covariance tests; t = 1 exact")


def _check_posterior_eps(ctx: _Ctx, d: int = 2):
    for t, x0, xp, xt, rows in _posterior_data(ctx, d):
        a, e = float(ctx.claim("coef_xt", t)), float(ctx.claim("coef_eps", t))
        if ctx.bad_claim("coef_xt", a, t) or ctx.bad_claim("coef_eps", e, t):
            continue
        m, v = (float(u) for u in _forward(ctx.schedule, t))
        eps = (xt - m * x0) / math.sqrt(v)
        r = xp - a * xt - e * eps
        if t == 1:
            _exact_first_step(ctx, r, x0, xt, t)
            continue
        if m == 0.0:  # abar_t = 0: eps = x_t, only the sum coef_xt + coef_eps is identified
            fit = S.ols(r.ravel(), np.c_[np.ones(r.size), xt.ravel()])
            ctx.add(S.t_test_coef(fit, 1, 0.0, alpha=ctx.alpha, name=f"coefficient of x_t = eps in r = 0 (t={t})"),
                    None, t=t)
            continue
        fit = S.ols(r.ravel(), np.c_[np.ones(r.size), xt.ravel(), eps.ravel()])
        ctx.add(S.t_test_coef(fit, 0, 0.0, alpha=ctx.alpha, name=f"intercept of r = 0 (t={t})"), None, t=t)
        ctx.add(S.t_test_coef(fit, 1, 0.0, alpha=ctx.alpha, relative_to=a, name=f"coefficient of x_t in r = 0 (t={t})"),
                "coef_xt", t=t)
        ctx.add(S.t_test_coef(fit, 2, 0.0, alpha=ctx.alpha, relative_to=e, name=f"coefficient of eps in r = 0 (t={t})"),
                "coef_eps", t=t)
    return ("forward_chain gives (x0, x_{t-1}, x_t), eps = (x_t - sqrt(abar_t) x0)/sqrt(1 - abar_t); per t OLS of "
            "r = x_{t-1} - coef_xt x_t - coef_eps eps on (1, x_t, eps) pooled over x0, exact t tests; t = 1 exact")


# ----- ELBO ------------------------------------------------------------------------------------
