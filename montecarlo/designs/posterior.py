"""Sampling designs of P2.2, the posterior and its epsilon form (mirrors :mod:`proofs.posterior`).

Each timestep t >= 2 is one cell. Given x_0 (fixed rows, |x_0| up to 1e4), the path up to t - 1 is
summarised by its proved (and separately confirmed) forward marginal, x_{t-1} ~ N(sqrt(abar_{t-1}) x_0,
1 - abar_{t-1}), and the last step is the model's transition x_t = sqrt(alpha_t) x_{t-1} + sqrt(beta_t) e:
a cell at t = T costs what a cell at t = 2 costs, so rows go where they are needed (Neyman allocation:
each cell gets the rows its least visible slot needs, planned from the design's second moments).
The residual r = x_{t-1} - claimed mean is regressed on (1, x_t, x_0) (posterior) or (1, x_t, eps)
(posterior_eps) by least squares from sufficient statistics, so millions of rows stream in chunks.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy import stats as sps

from .base import S, X0, _Ctx, _forward

X0_POST = X0 + (10_000.0,)
#: per-cell planning targets at alpha = 1e-6, power 0.99 (relative errors): joint F test (detection),
#: per-coefficient follow-up t tests (blame) and the chi-square variance test
F_TARGET, RB_TARGET, VAR_TARGET = 0.008, 0.015, 0.015
MAIN_TARGET = 0.0095  # the middle cell (t = T/2) is planned to this, so that an error at every t is seen at 1%
PLAN_ALPHA = 1e-6
MAX_FACTOR = 60  # at most this many times ``samples`` observations in one cell
CHUNK = 400_000  # observations per chunk


def _zz(alpha, m, q=1):
    return sps.norm.isf(alpha / (2 * m)) + sps.norm.isf(0.01)


def _moments(x0s, m, v, eps_form=False):
    """E[X X'] per observation for X = (1, x_t, x_0) (or (1, x_t, eps)), x_0 uniform over x0s,
    x_t | x_0 ~ N(m x_0, v), eps = (x_t - m x_0)/sqrt(v)."""
    x0s = np.asarray(x0s, dtype=np.float64)
    e1, e2 = x0s.mean(), (x0s ** 2).mean()
    if eps_form:  # (1, x_t, eps): E eps = 0, E eps^2 = 1, E x_t eps = sqrt(v)
        return np.array([[1, m * e1, 0], [m * e1, m * m * e2 + v, math.sqrt(v)], [0, math.sqrt(v), 1]])
    return np.array([[1, m * e1, e1], [m * e1, m * m * e2 + v, m * e2], [e1, m * e2, e2]])


def _plan(ctx, t, coefs, sigma2, eps_form=False) -> int:
    """Observations for cell t: enough that the F test sees F_TARGET and the follow-ups BLAME_TARGET in
    every slot, and the chi-square test VAR_TARGET, at the default budget; scaled by samples / default."""
    from .base import DEFAULT_SAMPLES
    s = ctx.schedule
    m, v = (float(u) for u in _forward(s, t))
    M = _moments(X0_POST, m, v, eps_form)
    n_cells = max(1, len(_cells(s.T)))
    zz = _zz(PLAN_ALPHA, 3 * n_cells)
    lam = S.f_test.mde(10 ** 6, PLAN_ALPHA / (3 * n_cells), q=3, p=3) ** 2 * 10 ** 6  # noncentrality needed
    need = 2 * (zz / (MAIN_TARGET if t == _main(s.T) else VAR_TARGET)) ** 2
    for k, c in coefs.items():
        if c == 0 or not math.isfinite(c):
            continue
        need = max(need, lam * sigma2 / (F_TARGET ** 2 * c * c * M[k, k]))
    base = DEFAULT_SAMPLES[ctx.identity]
    n = int(min(need, MAX_FACTOR * base) * ctx.n / base)
    return max(n, ctx.n)


def _main(T):
    cells = _cells(T)
    return T // 2 if T // 2 in cells else cells[-1] if cells else None


def _cells(T):
    short = [t for t in (2, 3, 10) if t <= T]
    long_ = sorted({t for t in (T // 10, T // 2, T - 1, T) if 11 <= t <= T})
    return short + long_


class _Gram:
    """All the statistics of one cell from Gram matrices of a small basis (exact, streamed).

    Rows: x_0 fixed per group, x_{t-1} = w0 + omega with w0 = sqrt(abar_{t-1}) x_0 and
    omega = sqrt(1 - abar_{t-1}) z_1, x_t = sqrt(alpha_t) x_{t-1} + sqrt(beta_t) z_2, for d coordinates.
    Every quantity the tests need is a polynomial of degree <= 2 in (omega_j, z_2j), so per group the
    Gram matrix G = sum b b' of the basis b = (1, omega_0, z_0, omega_0^2, omega_1, ...) holds all the
    sums: least squares, residual sums of squares, within-group covariances and the Rao-Blackwellised
    normal equations are bilinear forms in G (no per-row arrays are kept)."""

    def __init__(self, ctx, t, d, theta, regressors, T=None):
        s = ctx.schedule
        # regressors give a well-conditioned X' = reparametrised X with theta' = T theta (same column span)
        self.T = np.eye(3) if T is None else np.asarray(T, dtype=np.float64)
        self.ctx, self.t, self.d = ctx, t, d
        self.m1, self.v1 = (float(u) for u in _forward(s, t - 1))
        self.sa, self.sb = math.sqrt(float(s.alpha(t))), math.sqrt(float(s.beta(t)))
        self.theta = self.T @ np.asarray(theta, dtype=np.float64)
        self.regressors = regressors  # x0, w0 -> (3, 3) coefficients of X_k on (1, omega, z)
        self.G: dict[float, np.ndarray] = {}

    def run(self, n_obs):
        ctx, d = self.ctx, self.d
        rows = max(n_obs // d, 2 * len(X0_POST))
        per = -(-rows // len(X0_POST))
        gen = ctx.generator()
        ctx.samples += per * len(X0_POST)
        sv1 = math.sqrt(self.v1)
        for x0v in X0_POST:
            G = self.G.setdefault(x0v, np.zeros((1 + 3 * d, 1 + 3 * d)))
            left = per
            while left > 0:
                k = min(left, max(CHUNK // d, 1))
                left -= k
                z = torch.randn((2, k, d), generator=gen, dtype=torch.float64, device=ctx.device).cpu().numpy()
                B = np.empty((k, 1 + 3 * d))
                B[:, 0] = 1.0
                om = sv1 * z[0]
                B[:, 1::3], B[:, 2::3], B[:, 3::3] = om, z[1], om * om
                G += B.T @ B
        return self

    def _forms(self, x0v, j):
        """(L_X (3, nb), L_y (nb,), D (3,)) in the basis for coordinate j of group x0v."""
        nb = 1 + 3 * self.d
        w0 = self.m1 * x0v
        C = np.asarray(self.regressors(x0v, w0, self.sa, self.sb), dtype=np.float64)  # (3, 3) on (1, omega, z)
        LX = np.zeros((3, nb))
        LX[:, 0], LX[:, 1 + 3 * j], LX[:, 2 + 3 * j] = C[:, 0], C[:, 1], C[:, 2]
        Ly = -self.theta @ LX
        Ly[0] += w0
        Ly[1 + 3 * j] += 1.0
        return LX, Ly, C[:, 2]

    def ols(self):
        acc = S.OLSAccumulator(3)
        for x0v, G in self.G.items():
            for j in range(self.d):
                LX, Ly, _ = self._forms(x0v, j)
                acc.xtx += LX @ G @ LX.T
                acc.xty += LX @ G @ Ly
                acc.yty += float(Ly @ G @ Ly)
                acc.n += int(round(G[0, 0]))
        return acc

    def corr_tests(self, ctx, t):
        for p in range(self.d):
            for q in range(p + 1, self.d):
                cnt, sp_, sq_, spp, sqq, spq = [], [], [], [], [], []
                for x0v, G in self.G.items():
                    lp, lq = self._forms(x0v, p)[1], self._forms(x0v, q)[1]
                    cnt.append(G[0, 0])
                    sp_.append(lp @ G[:, 0])
                    sq_.append(lq @ G[:, 0])
                    spp.append(lp @ G @ lp)
                    sqq.append(lq @ G @ lq)
                    spq.append(lp @ G @ lq)
                res = S.within_correlation_test.from_sums(cnt, sp_, sq_, spp, sqq, spq, alpha=ctx.alpha,
                                                          name=f"cov(r_{p}, r_{q}) = 0 within x0 (t={t})")
                ctx.add(res, "covariance", 1.0, t=t)

    def rb(self):
        """Rao-Blackwellised normal equations: per row U = E[X r | x_{t-1}] = ex (w - theta'ex) - D (D'theta)
        with ex = E[X | x_{t-1}] (linear in omega) and D the coefficients of z_2; sums of U, U U' and
        E[X X' | x_{t-1}] = ex ex' + D D' as bilinear forms in G."""
        nb = 1 + 3 * self.d
        n, su, suu, sh = 0, np.zeros(3), np.zeros((3, 3)), np.zeros((3, 3))
        for x0v, G in self.G.items():
            for j in range(self.d):
                w0 = self.m1 * x0v
                C = np.asarray(self.regressors(x0v, w0, self.sa, self.sb), dtype=np.float64)
                E0, E1, D = C[:, 0], C[:, 1], C[:, 2]
                h0 = w0 - self.theta @ E0
                h1 = 1.0 - self.theta @ E1
                c0 = E0 * h0 - D * (D @ self.theta)
                c1 = E0 * h1 + E1 * h0
                c2 = E1 * h1
                LU = np.zeros((3, nb))
                LU[:, 0], LU[:, 1 + 3 * j], LU[:, 3 + 3 * j] = c0, c1, c2
                LE = np.zeros((3, nb))
                LE[:, 0], LE[:, 1 + 3 * j] = E0, E1
                cnt = G[0, 0]
                n += int(round(cnt))
                su += LU @ G[:, 0]
                suu += LU @ G @ LU.T
                sh += LE @ G @ LE.T + cnt * np.outer(D, D)
        return _RB(n, su, suu, sh, self.T)


class _RB:
    """Rao-Blackwellised normal equations of one cell: the last step's noise is integrated out exactly.
    Under the claim E U = 0 (the normal equations of the posterior); a relative error delta of
    coefficient k shifts E U by -delta theta_k E[H] e_k. Hotelling's T^2 on U is the joint Wald test,
    and H-bar^{-1} U-bar estimates the coefficient errors (z follow-ups with the sandwich covariance)."""

    def __init__(self, n, su, suu, sh, T):
        self.n, self.su, self.suu, self.sh, self.T = n, su, suu, sh, T

    def test(self, ctx, t, names, coefs, what):
        res = S.hotelling_test.from_sums(self.n, self.su, self.suu, alpha=ctx.alpha,
                                         name=f"{what}: Rao-Blackwellised normal equations hold (Wald, t={t})")
        hbar = self.sh / self.n
        hinv = np.linalg.inv(hbar)
        tinv = np.linalg.inv(self.T)
        est = tinv @ hinv @ (self.su / self.n)  # back to the original coefficients
        cov = tinv @ hinv @ res.cov @ hinv.T @ tinv.T / self.n
        follow, sens = [], {}
        for k, name in enumerate(names):
            slot, c = coefs.get(k, (None, 0.0))
            se = math.sqrt(max(cov[k, k], 1e-300))
            z = est[k] / se
            fu = S.StatResult(f"follow-up: error of the coefficient of {name} (Rao-Blackwellised, t={t})", z,
                              float(2 * sps.norm.sf(abs(z))), ctx.alpha, False, self.n,
                              "relative error of the coefficient" if c else "absolute error", "z-coef",
                              {"estimate": float(est[k]), "se": se, "t": t,
                               "relative": float(est[k] / c) if c else None})
            follow.append((fu, slot))
            if slot and c:
                u = -c * hbar @ self.T[:, k]
                sens[slot] = (lambda lv, u=u: S.hotelling_test.relative_mde(res, u, lv))
        return res, follow, sens


def _exact_first_step(ctx, x0v=1000.0, coefs=("coef_xt", "coef_x0"), variance=True):
    """t = 1: q(x_0 | x_1, x_0) is a point mass: x_0 - claimed mean = 0 and variance 0 (gates, no alpha).
    The failing gate blames the slot whose proved value makes the residual vanish."""
    s = ctx.schedule
    z = ctx.normal(64)
    x0 = np.r_[np.zeros(16), np.full(16, 1.0), np.full(16, -3.0), np.full(16, x0v)]
    x1 = math.sqrt(float(s.alpha(1))) * x0 + math.sqrt(float(s.beta(1))) * z
    m, v = (float(u) for u in _forward(s, 1))
    second = (x1 - m * x0) / math.sqrt(v) if coefs[1] == "coef_eps" else x0
    scale = 1.0 + np.max(np.abs(x0)) + np.max(np.abs(x1))

    def err(values):
        return float(np.max(np.abs(x0 - values[0] * x1 - values[1] * second))) / scale
    claimed = [float(ctx.claim(k, 1)) for k in coefs]
    proved = [float(ctx.proved[k](s, 1)) for k in coefs]
    e = err(claimed)
    blame = None
    if e > 1e-9:
        fixes = [k for i, k in enumerate(coefs) if err([proved[j] if j == i else claimed[j] for j in range(2)]) <= 1e-9]
        blame = fixes[0] if fixes else coefs[0]
    ctx.add(S.exact_check(f"t=1: x_0 - claimed mean vanishes (max |r| / scale = {e:.3g})", e <= 1e-9, e,
                          alpha=ctx.alpha, tolerance=1e-9, n=64, units="relative error"), blame, t=1)
    if variance:
        v = float(ctx.claim("variance", 1))
        ok = math.isfinite(v) and abs(v) <= 1e-12
        ctx.add(S.exact_check(f"t=1: claimed variance {v!r} = 0 (the posterior is a point mass)", ok, v,
                              alpha=ctx.alpha, tolerance=1e-12, units="absolute"), "variance", t=1)


def _post_regressors(m):
    def regressors(x0v, w0, sa, sb):
        """X' = (1, x_t - m x_0, x_0) on the basis (1, omega, z), x_t = sa (w0 + omega) + sb z: the span of
        (1, x_t, x_0) without its near-collinearity at large x_0 (theta' = T theta, T = [[1,0,0],[0,1,0],[0,m,1]])."""
        return [[1.0, 0.0, 0.0], [sa * w0 - m * x0v, sa, sb], [x0v, 0.0, 0.0]]
    return regressors, np.array([[1.0, 0, 0], [0, 1.0, 0], [0, m, 1.0]])


def _eps_regressors(m, v):
    sv = math.sqrt(v)

    def regressors(x0v, w0, sa, sb):
        """X' = (1, m x_0, eps), eps = (x_t - m x_0) / sqrt(v) (the proved forward marginal): the span of
        (1, x_t, eps) with x_t = m x_0 + sqrt(v) eps (theta' = T theta, T = [[1,0,0],[0,1,0],[0,sqrt(v),1]])."""
        return [[1.0, 0.0, 0.0], [m * x0v, 0.0, 0.0], [(sa * w0 - m * x0v) / sv, sa / sv, sb / sv]]
    return regressors, np.array([[1.0, 0, 0], [0, 1.0, 0], [0, sv, 1.0]])


def _joint_f(ctx, gram, t, names, coefs, what):
    """Exact F test that all three coefficients of r on the regressors are 0 (its MDE for slot k is along
    coefficient k: delta times the claimed coefficient), with the Rao-Blackwellised z follow-ups per
    coefficient that say which slot a rejection blames."""
    acc = gram.ols()
    fit = acc.fit()
    R = np.eye(3)  # all of theta' = T theta is 0 iff all of theta is: the F statistic is the same
    res = S.f_test(fit, R, np.zeros(3), alpha=ctx.alpha, name=f"{what}: r on ({', '.join(names)}) is 0 (t={t})")
    sens = {}
    for k, (slot, c) in coefs.items():
        u = np.zeros(3)
        u[k] = c
        sens[slot] = (lambda lv, u=gram.T @ u: S.f_test.relative_mde(fit, acc.xtx, R, u, lv))
    try:
        _, follow, _ = gram.rb().test(ctx, t, names, coefs, what)
    except (ValueError, np.linalg.LinAlgError):  # e.g. alpha_t = 0: x_t carries no x_{t-1}, no RB moment varies
        follow = []
    ctx.add(res, sens=sens, follow_ups=follow, t=t)
    return fit


def _plan_rb(ctx, t, make, names, coefs, what, d):
    """Rows for an RB cell: a pilot (its own stream, discarded) measures the per-row noncentrality of
    each slot; the cell gets the rows that bring every slot's MDE to RB_TARGET at the default budget."""
    from .base import DEFAULT_SAMPLES
    n0 = min(ctx.n, 20_000)
    _, _, sens = make().run(n0).rb().test(ctx, t, names, coefs, what)
    level = PLAN_ALPHA / max(1, len(_cells(ctx.schedule.T)))
    target = MAIN_TARGET if t == _main(ctx.schedule.T) else RB_TARGET
    need = max([n0 * (fn(level) / target) ** 2 for fn in sens.values()] + [n0])
    base = DEFAULT_SAMPLES[ctx.identity]
    return max(int(min(need, MAX_FACTOR * base) * ctx.n / base), ctx.n)


def _check_posterior(ctx: _Ctx, d: int = 2):
    s = ctx.schedule
    a1, b1 = (float(ctx.claim(k, 1)) for k in ("coef_xt", "coef_x0"))
    if not (ctx.bad_claim("coef_xt", a1, 1) or ctx.bad_claim("coef_x0", b1, 1)):
        _exact_first_step(ctx)
    for t in _cells(s.T):
        a, b, v = (float(ctx.claim(k, t)) for k in ("coef_xt", "coef_x0", "variance"))
        if ctx.bad_claim("coef_xt", a, t) or ctx.bad_claim("coef_x0", b, t):
            continue
        pa, pb, pv = (float(ctx.proved[k](s, t)) for k in ("coef_xt", "coef_x0", "variance"))
        reg, T = _post_regressors(float(_forward(s, t)[0]))
        gram = _Gram(ctx, t, d, (0.0, a, b), reg, T).run(_plan(ctx, t, {1: pa, 2: pb}, pv))
        fit = _joint_f(ctx, gram, t, ("1", "x_t", "x_0"), {1: ("coef_xt", a), 2: ("coef_x0", b)}, "posterior mean")
        if not ctx.bad_claim("variance", v, t, positive=True):
            ctx.add(S.chi2_from_ss(fit.s2 * fit.df, fit.df, v, alpha=ctx.alpha,
                                   name=f"SSR of r on (1, x_t, x_0) / variance ~ chi2_(n-3) (t={t})"), "variance", t=t)
        gram.corr_tests(ctx, t)
    return ("x_{t-1} | x0 from the proved forward marginal, x_t by one transition step; per t >= 2 (rows allocated "
            "per cell) OLS of r = x_{t-1} - coef_xt x_t - coef_x0 x0 on (1, x_t, x0): exact joint F test with "
            "Rao-Blackwellised z follow-ups per coefficient (blame), chi-square test of the residual variance, "
            "within-x0 covariance tests; t = 1 deterministic gates")


def _check_posterior_eps(ctx: _Ctx, d: int = 2):
    s = ctx.schedule
    a1, e1 = (float(ctx.claim(k, 1)) for k in ("coef_xt", "coef_eps"))
    if not (ctx.bad_claim("coef_xt", a1, 1) or ctx.bad_claim("coef_eps", e1, 1)):
        _exact_first_step(ctx, coefs=("coef_xt", "coef_eps"), variance=False)
    for t in _cells(s.T):
        a, e = float(ctx.claim("coef_xt", t)), float(ctx.claim("coef_eps", t))
        if ctx.bad_claim("coef_xt", a, t) or ctx.bad_claim("coef_eps", e, t):
            continue
        m, v = (float(u) for u in _forward(s, t))
        pa, pe = (float(ctx.proved[k](s, t)) for k in ("coef_xt", "coef_eps"))
        if m == 0.0:  # abar_t = 0: eps = x_t, only the sum coef_xt + coef_eps is identified
            gram = _Gram(ctx, t, 1, (0.0, a + e, 0.0), lambda x0v, w0, sa, sb: [[1.0, 0.0, 0.0], [sa * w0, sa, sb],
                                                                            [x0v, 0.0, 0.0]]).run(max(ctx.n, 100))
            fit = gram.ols().fit()
            ctx.add(S.t_test_coef(fit, 1, 0.0, alpha=ctx.alpha, relative_to=a + e if a + e else None,
                                  name=f"coefficient of x_t = eps in r = 0 (t={t}, abar_t = 0)"), None, t=t)
            continue
        names, what = ("1", "x_t", "eps"), "posterior mean (eps form)"

        def make(a=a, e=e):
            return _Gram(ctx, t, d, (0.0, a, e), *_eps_regressors(m, v))
        n_obs = _plan_rb(ctx, t, lambda: make(pa, pe), names, {1: ("coef_xt", pa), 2: ("coef_eps", pe)}, what, d)
        res, follow, sens = make().run(n_obs).rb().test(ctx, t, names, {1: ("coef_xt", a), 2: ("coef_eps", e)}, what)
        ctx.add(res, sens=sens, follow_ups=follow, t=t)
    return ("x_{t-1} | x0 from the proved forward marginal; the last step x_t | x_{t-1} integrated out exactly "
            "(Rao-Blackwell); per t >= 2 (rows allocated per cell from a pilot) the normal equations of "
            "r = x_{t-1} - coef_xt x_t - coef_eps eps on (1, x_t, eps): Hotelling/Wald test (asymptotic) with z "
            "follow-ups per coefficient; t = 1 deterministic gate")
