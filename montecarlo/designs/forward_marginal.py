"""Sampling design of P2.1, the forward marginal (mirrors :mod:`proofs.forward_marginal`).

The chain itself is simulated (forward_chain from fixed x_0 rows): this is the check that the
closed form describes the chain, so nothing of it is taken from the proofs. Per probed t (a cell):
least squares of r = x_t - mean_coef x_0 on (1, x_0), pooled over the x_0 rows and the d coordinates
(under the claim r is N(0, variance) and independent of x_0):

* exact joint F test that both coefficients are 0, with t follow-ups (slope: mean_coef; intercept);
* exact chi-square test of the residual sum of squares (n - 2 degrees of freedom) against the claimed
  variance, so that an error in the mean never shows up as a variance error;
* exact within-x_0 correlation tests of every pair of coordinates (covariance, reported separately).
"""
from __future__ import annotations

import numpy as np

from .base import S, X0, _Ctx, _rows, _time_groups

LONG_DIV = 5  # long chains carry samples // 5 rows per x0 (they cost T steps each)


def _check_forward_marginal(ctx: _Ctx, d: int = 3):
    groups = _time_groups(ctx, long_div=LONG_DIV)
    for g, (times, rows, dtype) in enumerate(groups):
        if not times:
            continue
        x0 = _rows(X0, rows, d)
        out = ctx.chain(x0, times, dtype, g)
        for t in times:
            c, v = ctx.claim("mean_coef", t), ctx.claim("variance", t)
            if ctx.bad_claim("mean_coef", c, t):
                continue
            c = float(c)
            r = out[t] - c * x0
            acc = S.OLSAccumulator(2)
            acc.add(r.ravel(), np.stack([np.ones(r.size), x0.ravel()], axis=1))
            fit = acc.fit()
            res = S.f_test(fit, np.eye(2), np.zeros(2), alpha=ctx.alpha,
                           name=f"x_t - mean_coef x_0 on (1, x_0) is 0 (t={t})")
            follow = [(S.t_test_coef(fit, 1, 0.0, alpha=ctx.alpha, relative_to=c if c else None,
                                     name=f"follow-up: slope of r on x_0 = 0 (t={t})"), "mean_coef"),
                      (S.t_test_coef(fit, 0, 0.0, alpha=ctx.alpha, name=f"follow-up: intercept of r = 0 (t={t})"),
                       None)]
            u = np.array([0.0, c])
            sens = {"mean_coef": (lambda lv, fit=fit, xtx=acc.xtx.copy(), u=u:
                                  S.f_test.relative_mde(fit, xtx, np.eye(2), u, lv))}
            ctx.add(res, sens=sens, follow_ups=follow, t=t)
            if not ctx.bad_claim("variance", v, t, positive=True):
                ctx.add(S.chi2_from_ss(fit.s2 * fit.df, fit.df, float(v), alpha=ctx.alpha,
                                       name=f"SSR of r on (1, x_0) / variance ~ chi2_(n-2) (t={t})"), "variance", t=t)
            labels = np.repeat(np.arange(len(X0)), rows)
            for a in range(d):
                for b in range(a + 1, d):
                    sums = [np.bincount(labels, weights=w) for w in
                            (np.ones(labels.size), r[:, a], r[:, b], r[:, a] ** 2, r[:, b] ** 2, r[:, a] * r[:, b])]
                    ctx.add(S.within_correlation_test.from_sums(*sums, alpha=ctx.alpha,
                                                                name=f"cov(r_{a}, r_{b}) = 0 within x0 (t={t})"),
                            "covariance", 1.0, t=t)
    return ("forward_chain from fixed x0 rows; per t OLS of r = x_t - mean_coef x0 on (1, x0): exact joint F test "
            "with t follow-ups, chi-square test of the residual variance (n - 2 df), within-x0 correlation tests "
            "of the coordinates")
