"""Sampling design of P2.4, the epsilon loss (mirrors :mod:`proofs.eps_loss`)."""
from __future__ import annotations

import math
import numpy as np

from .base import (S, X0_SMALL, _Ctx, _forward, _proved, _rows, _times)


# eps_theta(x_t) = c x_t + b. Under the claim D_k = -(coef_eps / sigma^2) (eps_k - eps_0) . (x_{t-1} - posterior mean),
# linear in (c_k, b_k): models must be linearly independent ((-1, -40) = -2 (0.5, 20) was dropped)
EPS_MODELS = ((0.0, 0.0), (0.5, 20.0), (0.0, 60.0))


def _check_eps_loss(ctx: _Ctx, d: int = 2):
    s = ctx.schedule
    short, long_ = _times(s.T, lo=2)
    post_var = _proved("posterior", "variance")
    A, E = _proved("posterior_eps", "coef_xt"), _proved("posterior_eps", "coef_eps")
    sigmas = {"sigma^2=beta": lambda k: np.sqrt(s.beta(k)),
              "sigma^2=posterior variance": lambda k: np.sqrt(post_var(s, k))}
    x0 = _rows(X0_SMALL, max(ctx.n // len(X0_SMALL), 5), d)
    n = x0.shape[0]
    for t in short + long_:
        m1, v1 = (float(u) for u in _forward(s, t - 1))
        m, v = (float(u) for u in _forward(s, t))
        xp = m1 * x0 + math.sqrt(v1) * ctx.normal(n, d)
        xt = math.sqrt(float(s.alpha(t))) * xp + math.sqrt(float(s.beta(t))) * ctx.normal(n, d)
        ctx.samples += n
        eps = (xt - m * x0) / math.sqrt(v)
        with np.errstate(all="ignore"):
            at, et = float(A(s, t)), float(E(s, t))
        if not (math.isfinite(at) and math.isfinite(et)):
            ctx.notes.append(f"t={t} skipped: the proved posterior_eps coefficients are not finite (alpha_t = 0)")
            continue
        eps_k = [c * xt + b for c, b in EPS_MODELS]
        sq = [np.sum((xp - (at * xt + et * ek)) ** 2, axis=1) for ek in eps_k]
        u = [np.sum((eps - ek) ** 2, axis=1) for ek in eps_k]
        for name, sig in sigmas.items():
            w = ctx.claim("weight", t, sigma=sig)
            if ctx.bad_claim("weight", w, t, sigma=name):
                continue
            w, sig2 = float(w), float(sig(t)) ** 2
            du = np.stack([u[k] - u[0] for k in range(1, len(EPS_MODELS))], axis=1)
            D = np.stack([(sq[k] - sq[0]) / (2 * sig2) for k in range(1, len(EPS_MODELS))], axis=1) - w * du
            res = S.hotelling_test(D, alpha=ctx.alpha,
                                   name=f"L(theta_k) - L(theta_0) = weight (E|eps-eps_k|^2 - E|eps-eps_0|^2), "
                                        f"k = 1..{len(EPS_MODELS) - 1} (t={t}, {name})")
            direction = w * du.mean(axis=0)
            ctx.add(res, sens={"weight": lambda lv, res=res, u=direction: S.hotelling_test.relative_mde(res, u, lv)},
                    slot="weight", t=t, sigma=name)
    return ("(x0, x_{t-1}, x_t) from the forward process, eps_theta_k = c_k x_t + b_k; per (t, sigma) a Hotelling "
            "test (common random numbers, estimated covariance) that the per-sample log-likelihood-ratio between "
            "models minus weight times the change of |eps - eps_theta|^2 has mean 0 for every k")
