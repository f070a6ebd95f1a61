"""Sampling design of P2.1, the forward marginal (mirrors :mod:`proofs.forward_marginal`)."""
from __future__ import annotations


from .base import (S, X0, _Ctx, _rows, _time_groups)


def _check_forward_marginal(ctx: _Ctx, d: int = 3):
    groups = _time_groups(ctx)
    for g, (times, rows, dtype) in enumerate(groups):
        if not times:
            continue
        x0 = _rows(X0, rows, d)
        out = ctx.chain(x0, times, dtype, g)
        for t in times:
            c, v = ctx.claim("mean_coef", t), ctx.claim("variance", t)
            if ctx.bad_claim("mean_coef", c, t):
                continue
            r = out[t] - float(c) * x0
            for j, x0v in enumerate(X0):
                rr = r[j * rows:(j + 1) * rows].ravel()
                res = S.t_test_mean(rr, 0.0, alpha=ctx.alpha,
                                    name=f"mean of x_t - mean_coef x_0 = 0 (t={t}, x0={x0v:g})")
                ctx.add(res, "mean_coef", float(c) * x0v, t=t, x0=x0v)
            if not ctx.bad_claim("variance", v, t, positive=True):
                ctx.add(S.chi2_test_variance(r.ravel(), float(v), alpha=ctx.alpha, mean=0.0,
                                             name=f"sum r^2 / variance ~ chi2 (t={t})"), "variance", t=t)
            for a in range(d):
                for b in range(a + 1, d):
                    ctx.add(S.correlation_test(r[:, a], r[:, b], alpha=ctx.alpha,
                                               name=f"cov(r_{a}, r_{b}) = 0 (t={t})"), "covariance", 1.0, t=t)
    return ("forward_chain from fixed x0 rows; per (t, x0) t test of the residual mean, per t chi-square "
            "test of the variance and correlation tests of the off-diagonal covariance")


# ----- posterior -------------------------------------------------------------------------------
