"""Hypothesis tests for the Monte Carlo checks, with power planning (scipy.stats underneath).

Every test returns a :class:`StatResult`: ``name``, ``statistic``, ``p_value``, ``alpha``,
``exact`` (True when the null distribution of the statistic is exact in finite samples: Student t,
chi-square and F tests on Gaussian data; False for CLT / z tests), ``n`` and ``mde``: the minimum
detectable effect, i.e. the smallest effect (in ``units``) that the test detects with probability
``power = 0.99`` at this ``n`` and ``alpha``.

Streamed and joint tests (issue 11): :class:`OLSAccumulator` (least squares from X'X, X'y, y'y),
:func:`chi2_from_ss` (a residual sum of squares against a variance, exact), ``within_correlation_test``
(correlation after removing group means, exact), ``hotelling_test`` (T^2 over correlated moments with
their estimated covariance, F reference) and ``f_test.relative_mde`` / ``hotelling_test.relative_mde``
(the MDE along one direction: a relative error of one claimed coefficient).

Every test object also plans (the style of TensorFlow Probability's ``statistical_testing``):
``test.samples_needed(effect, alpha, power=0.99, ...)`` before sampling, ``test.mde(n, alpha,
power=0.99, ...)`` after, and ``test.power(effect, n, alpha, ...)``; ``mde`` is the root in the
effect of ``power(effect, n, alpha) = power`` and ``samples_needed`` the smallest ``n`` with
``power(effect, n, alpha) >= power``, so the two are inverse to each other.

Notation: z_q = Phi^{-1}(q), t_{df,q}, chi2_{df,q} quantiles; two-sided tests reject at
``p <= alpha``. :func:`holm` combines sub-tests into one family-wise decision.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from scipy import optimize, stats

POWER = 0.99


# ----- results ---------------------------------------------------------------------------------
class _Decision:
    """A test decision: rejected when p_value <= alpha (shared by a sub-test and a Holm family)."""

    @property
    def rejected(self) -> bool:
        return bool(self.p_value <= self.alpha)

    @property
    def passed(self) -> bool:
        return not self.rejected


@dataclass
class StatResult(_Decision):
    """One test. ``rejected`` = ``p_value <= alpha``. ``mde`` is computed on first access from
    ``mde_at(alpha)``, so that :func:`holm` can re-plan it at the level alpha / m."""

    name: str
    statistic: float
    p_value: float
    alpha: float
    exact: bool
    n: int
    units: str
    kind: str
    detail: dict = field(default_factory=dict)
    mde_at: Callable[[float], float] | None = field(default=None, repr=False, compare=False)
    _mde: float | None = field(default=None, repr=False, compare=False)

    @property
    def mde(self) -> float:
        if self._mde is None:
            self._mde = float(self.mde_at(self.alpha)) if self.mde_at is not None else float("nan")
        return self._mde

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "statistic": _num(self.statistic),
                "p_value": _num(self.p_value), "alpha": self.alpha, "exact": self.exact, "n": self.n,
                "mde": _num(self.mde), "units": self.units, "rejected": self.rejected,
                **{k: _num(v) for k, v in self.detail.items()}}


def _num(v):
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return v if math.isfinite(v) else str(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


# ----- validation ------------------------------------------------------------------------------
def _check_alpha(alpha, name="alpha") -> float:
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in (0, 1), got {alpha!r}") from None
    if not (0.0 < a < 1.0):
        raise ValueError(f"{name} must lie in (0, 1), got {alpha!r}")
    return a


def _check_power(power, alpha) -> float:
    p = _check_alpha(power, "power")
    if p <= alpha:
        raise ValueError(f"power must exceed alpha ({alpha}), got {power!r}")
    return p


def _sample(x, name="x", min_n=2) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64).ravel() if not hasattr(x, "detach") else \
        x.detach().cpu().double().numpy().ravel()
    if arr.size < min_n:
        raise ValueError(f"{name} needs at least {min_n} values, got {arr.size}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"{name}[{int(bad[0])}] is {arr[bad[0]]!r}: samples must be finite")
    return arr


def _positive(v, name) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {v!r}") from None
    if not (math.isfinite(f) and f > 0):
        raise ValueError(f"{name} must be positive and finite, got {v!r}")
    return f


def _alternative(alt) -> str:
    if alt not in ("two-sided", "less", "greater"):
        raise ValueError(f"alternative must be 'two-sided', 'less' or 'greater', got {alt!r}")
    return alt


# ----- planning base ---------------------------------------------------------------------------
class _Planned:
    """``power(effect, n, alpha, **kw)`` is increasing in effect >= 0 and in n; ``mde`` and
    ``samples_needed`` invert it numerically (brentq, integer bisection)."""

    min_n = 2

    def power(self, effect, n, alpha, **kw) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    def mde(self, n, alpha, power=POWER, **kw) -> float:
        """Smallest effect >= 0 with ``power(effect, n, alpha) = power``."""
        alpha = _check_alpha(alpha)
        power = _check_power(power, alpha)
        n = self._check_n(n)
        f = lambda e: self.power(e, n, alpha, **kw) - power  # noqa: E731
        hi = self._scale(n, **kw)
        while f(hi) < 0:
            hi *= 2.0
            if hi > 1e300:
                return float("inf")
        return float(optimize.brentq(f, 0.0, hi, xtol=1e-14 * hi, rtol=1e-12))

    def samples_needed(self, effect, alpha, power=POWER, **kw) -> int:
        """Smallest n >= min_n with ``power(effect, n, alpha) >= power``."""
        alpha = _check_alpha(alpha)
        power = _check_power(power, alpha)
        effect = _positive(effect, "effect")
        lo = self.min_n
        if self.power(effect, lo, alpha, **kw) >= power:
            return lo
        hi = lo * 2
        while self.power(effect, hi, alpha, **kw) < power:
            lo, hi = hi, hi * 2
            if hi > 2 ** 62:
                raise ValueError(f"effect {effect} is too small to detect with any practical n")
        while hi - lo > 1:  # power(lo) < power <= power(hi)
            mid = (lo + hi) // 2
            if self.power(effect, mid, alpha, **kw) >= power:
                hi = mid
            else:
                lo = mid
        return int(hi)

    def _check_n(self, n) -> int:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < self.min_n:
            raise ValueError(f"n must be an integer >= {self.min_n}, got {n!r}")
        return int(n)

    def _scale(self, n, **kw) -> float:
        return 10.0 / math.sqrt(n)


def _normal_power(lam, alpha, alternative="two-sided"):
    """Power of a z test when the statistic is N(lam, 1): two-sided
    Phi(lam - z_{1-a/2}) + Phi(-lam - z_{1-a/2}); one-sided Phi(lam - z_{1-a})."""
    if alternative == "two-sided":
        z = stats.norm.isf(alpha / 2)
        return stats.norm.cdf(lam - z) + stats.norm.cdf(-lam - z)
    return stats.norm.cdf(lam - stats.norm.isf(alpha))


def _t_power(lam, df, alpha, alternative="two-sided"):
    """Power of a t test whose statistic is noncentral t(df, lam):
    two-sided P(|T'| > t_{df,1-a/2}); one-sided P(T' > t_{df,1-a})."""
    if df < 1:
        return 0.0
    if df > 1e7:
        return _normal_power(lam, alpha, alternative)
    c = stats.t.isf(alpha / 2 if alternative == "two-sided" else alpha, df)
    up = stats.nct.sf(c, df, lam)
    if not math.isfinite(up):  # scipy's nct can return nan far in a tail: fall back to the normal form
        up = stats.norm.sf(c - lam)
    if alternative != "two-sided":
        return up
    low = stats.nct.cdf(-c, df, lam)
    return up + (low if math.isfinite(low) else stats.norm.cdf(-c - lam))


def _p_from_z(z, alternative):
    if alternative == "two-sided":
        return float(min(1.0, 2 * stats.norm.sf(abs(z))))
    return float(stats.norm.cdf(z) if alternative == "less" else stats.norm.sf(z))


def _p_from_t(t, df, alternative):
    if alternative == "two-sided":
        return float(min(1.0, 2 * stats.t.sf(abs(t), df)))
    return float(stats.t.cdf(t, df) if alternative == "less" else stats.t.sf(t, df))


# ----- mean tests ------------------------------------------------------------------------------
class ZTestMean(_Planned):
    """z test of a mean (asymptotic, CLT): z = (xbar - mu0) / (s / sqrt(n)), s the sample sd
    (or the known ``sd``). Two-sided p = 2 (1 - Phi(|z|)); ``alternative='less'`` (H0: mean >= mu0)
    p = Phi(z); ``'greater'`` p = 1 - Phi(z). For non-Gaussian data (log-ratios, moment conditions).

    Effect: the absolute shift of the mean, in data units. power(d, n) = Phi(d sqrt(n)/sd - z_{1-a/2})
    + Phi(-d sqrt(n)/sd - z_{1-a/2}), so mde ~ (z_{1-a/2} + z_{power}) sd / sqrt(n)."""

    def power(self, effect, n, alpha, sd=1.0, alternative="two-sided"):
        return _normal_power(effect * math.sqrt(n) / sd, alpha, alternative)

    def _scale(self, n, sd=1.0, **kw):
        return 20.0 * sd / math.sqrt(n)

    def __call__(self, x, mu0=0.0, *, alpha, sd=None, alternative="two-sided", name="z test of a mean",
                 units="absolute shift of the mean") -> StatResult:
        alpha, alt = _check_alpha(alpha), _alternative(alternative)
        x = _sample(x)
        n = x.size
        s = float(np.std(x, ddof=1)) if sd is None else _positive(sd, "sd")
        mean = float(np.mean(x))
        se = s / math.sqrt(n)
        z = (mean - float(mu0)) / se if se > 0 else (0.0 if mean == mu0 else math.copysign(math.inf, mean - mu0))
        return StatResult(name, z, _p_from_z(z, alt), alpha, False, n, units, "z-mean",
                          {"mean": mean, "mu0": float(mu0), "se": se, "alternative": alt},
                          mde_at=lambda a: self.mde(n, a, sd=max(s, 1e-300), alternative=alt))


class TTestMean(_Planned):
    """One-sample Student t test: t = (xbar - mu0) / (s / sqrt(n)) ~ t_{n-1} under H0, exact when
    the data are iid Gaussian (``gaussian=True``), asymptotic otherwise.

    Effect: absolute shift d of the mean; T' ~ noncentral t(n-1, d sqrt(n)/sd), power
    P(|T'| > t_{n-1,1-a/2})."""

    def power(self, effect, n, alpha, sd=1.0, alternative="two-sided"):
        return _t_power(effect * math.sqrt(n) / sd, n - 1, alpha, alternative)

    def _scale(self, n, sd=1.0, **kw):
        return 20.0 * sd / math.sqrt(n)

    def __call__(self, x, mu0=0.0, *, alpha, alternative="two-sided", gaussian=True, name="t test of a mean",
                 units="absolute shift of the mean") -> StatResult:
        alpha, alt = _check_alpha(alpha), _alternative(alternative)
        x = _sample(x)
        n = x.size
        s = float(np.std(x, ddof=1))
        mean = float(np.mean(x))
        se = s / math.sqrt(n)
        t = (mean - float(mu0)) / se if se > 0 else (0.0 if mean == mu0 else math.copysign(math.inf, mean - mu0))
        return StatResult(name, t, _p_from_t(t, n - 1, alt), alpha, bool(gaussian), n, units, "t-mean",
                          {"mean": mean, "mu0": float(mu0), "se": se, "df": n - 1, "alternative": alt},
                          mde_at=lambda a: self.mde(n, a, sd=max(s, 1e-300), alternative=alt))


# ----- variance --------------------------------------------------------------------------------
class Chi2TestVariance(_Planned):
    """Chi-square test of a Gaussian variance, exact: with known mean m,
    Q = sum (x_i - m)^2 / sigma2_0 ~ chi2_n; with the mean estimated, Q = sum (x_i - xbar)^2 / sigma2_0
    ~ chi2_{n-1}. Two-sided p = min(1, 2 min(F(Q), 1 - F(Q))).

    Effect: relative error delta of the variance, true variance sigma2_0 (1 +- delta); then
    Q ~ (1 +- delta) chi2_df and power(delta) = min over both signs of
    F(q_{a/2} / r) + 1 - F(q_{1-a/2} / r), r = 1 +- delta (r <= 0 counts as detected), so that the
    mde is detected in either direction; mde ~ (z_{1-a/2} + z_power) sqrt(2 / df)."""

    min_n = 1

    def power(self, effect, n, alpha, known_mean=True):
        df = n if known_mean else n - 1
        lo, hi = stats.chi2.ppf(alpha / 2, df), stats.chi2.isf(alpha / 2, df)

        def pw(r):
            return 1.0 if r <= 0 else stats.chi2.cdf(lo / r, df) + stats.chi2.sf(hi / r, df)
        return min(pw(1.0 + effect), pw(1.0 - effect))

    def _scale(self, n, **kw):
        return min(1.0, 20.0 / math.sqrt(n))

    def __call__(self, x, sigma2, *, alpha, mean=None, name="chi-square test of a variance",
                 units="relative error of the variance") -> StatResult:
        alpha = _check_alpha(alpha)
        sigma2 = _positive(sigma2, "sigma2 (the claimed variance)")
        x = _sample(x)
        n = x.size
        if mean is None:
            ss, df = float(np.sum((x - x.mean()) ** 2)), n - 1
        else:
            ss, df = float(np.sum((x - float(mean)) ** 2)), n
        q = ss / sigma2
        p = min(1.0, 2 * min(stats.chi2.cdf(q, df), stats.chi2.sf(q, df)))
        known = mean is not None
        return StatResult(name, q, float(p), alpha, True, n, units, "chi2-variance",
                          {"df": df, "variance_hat": ss / df, "sigma2": sigma2, "ratio": ss / df / sigma2},
                          mde_at=lambda a: self.mde(n, a, known_mean=known))


# ----- OLS -------------------------------------------------------------------------------------
@dataclass
class OLSFit:
    """y = X b + e, b_hat = (X'X)^{-1} X'y, s2 = |y - X b_hat|^2 / (n - p), cov(b_hat) = s2 (X'X)^{-1}."""

    coef: np.ndarray
    xtx_inv: np.ndarray
    s2: float
    n: int
    p: int
    resid: np.ndarray | None = None

    @property
    def df(self) -> int:
        return self.n - self.p

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(self.s2 * np.diag(self.xtx_inv))


def ols(y, X) -> OLSFit:
    """Least squares fit of y (n,) on the design X (n, p) (include a column of ones for an intercept)."""
    y = _sample(y, "y", min_n=1)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[0] != y.size:
        raise ValueError(f"X must have shape ({y.size}, p), got {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X has non-finite entries")
    n, p = X.shape
    if n <= p:
        raise ValueError(f"OLS needs more rows than columns, got n = {n}, p = {p}")
    # scale columns for conditioning, then solve through QR
    scale = np.sqrt(np.mean(X * X, axis=0))
    scale[scale == 0] = 1.0
    q, r = np.linalg.qr(X / scale)
    if np.min(np.abs(np.diag(r))) < 1e-10 * np.max(np.abs(np.diag(r))):
        raise ValueError("design matrix X is (nearly) rank deficient")
    coef = np.linalg.solve(r, q.T @ y) / scale
    rinv = np.linalg.inv(r)
    xtx_inv = (rinv @ rinv.T) / np.outer(scale, scale)
    resid = y - X @ coef
    return OLSFit(coef, xtx_inv, float(resid @ resid) / (n - p), n, p, resid)


class OLSAccumulator:
    """Least squares from sufficient statistics, for designs too large to hold in memory:
    ``add(y, X)`` chunk by chunk accumulates X'X, X'y, y'y and n; ``fit()`` gives the same
    :class:`OLSFit` as :func:`ols` on the stacked data (``resid`` is None). The columns are scaled to
    unit mean square before solving, and SSR = y'y - b'X'y is floored at 1e-13 y'y."""

    def __init__(self, p: int):
        self.p = int(p)
        self.xtx = np.zeros((p, p))
        self.xty = np.zeros(p)
        self.yty = 0.0
        self.n = 0

    def add(self, y, X) -> None:
        y = np.asarray(y, dtype=np.float64).ravel()
        X = np.asarray(X, dtype=np.float64).reshape(y.size, self.p)
        if not (np.all(np.isfinite(y)) and np.all(np.isfinite(X))):
            raise ValueError("OLS data must be finite")
        self.xtx += X.T @ X
        self.xty += X.T @ y
        self.yty += float(y @ y)
        self.n += y.size

    def fit(self) -> OLSFit:
        n, p = self.n, self.p
        if n <= p:
            raise ValueError(f"OLS needs more rows than columns, got n = {n}, p = {p}")
        d = np.sqrt(np.diag(self.xtx))
        d[d == 0] = 1.0
        a = self.xtx / np.outer(d, d)
        w = np.linalg.eigvalsh(a)
        if w.min() < 1e-12 * w.max():
            raise ValueError("design matrix X is (nearly) rank deficient")
        ainv = np.linalg.inv(a)
        xtx_inv = ainv / np.outer(d, d)
        coef = xtx_inv @ self.xty
        ssr = max(self.yty - float(coef @ self.xty), 1e-13 * self.yty, 1e-300)
        return OLSFit(coef, xtx_inv, ssr / (n - p), n, p, None)


class TTestCoef(_Planned):
    """t test of one linear combination c'b = value of OLS coefficients (c a unit vector for one
    coefficient): t = (c'b_hat - value) / sqrt(s2 c'(X'X)^{-1}c) ~ t_{n-p}, exact under iid Gaussian
    homoscedastic errors.

    Effect: absolute error d of c'b. With standard error se = sd_unit / sqrt(n) (planning) or the
    fitted se (after the fit), T' ~ noncentral t(n - p, d / se). ``relative_to`` (default |value|)
    turns the reported mde into a relative error of the coefficient."""

    def power(self, effect, n, alpha, sd_unit=1.0, p=2, alternative="two-sided"):
        return _t_power(effect * math.sqrt(n) / sd_unit, n - p, alpha, alternative)

    def _scale(self, n, sd_unit=1.0, **kw):
        return 20.0 * sd_unit / math.sqrt(n)

    def __call__(self, fit: OLSFit, coef, value, *, alpha, relative_to=None, alternative="two-sided",
                 gaussian=True, name="t test of a regression coefficient") -> StatResult:
        alpha, alt = _check_alpha(alpha), _alternative(alternative)
        c = np.zeros(fit.p)
        if isinstance(coef, (int, np.integer)):
            if not 0 <= coef < fit.p:
                raise ValueError(f"coefficient index {coef} out of range 0..{fit.p - 1}")
            c[coef] = 1.0
        else:
            c = np.asarray(coef, dtype=np.float64)
            if c.shape != (fit.p,):
                raise ValueError(f"contrast must have shape ({fit.p},), got {c.shape}")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"value must be finite, got {value!r}")
        est = float(c @ fit.coef)
        se = math.sqrt(max(fit.s2 * float(c @ fit.xtx_inv @ c), 0.0))
        t = (est - value) / se if se > 0 else (0.0 if est == value else math.copysign(math.inf, est - value))
        ref = abs(value) if relative_to is None else abs(float(relative_to))
        rel = ref > 0
        n, df = fit.n, fit.df
        sd_unit = max(se, 1e-300) * math.sqrt(n)
        return StatResult(name, t, _p_from_t(t, df, alt), alpha, bool(gaussian), n,
                          "relative error of the coefficient" if rel else "absolute error of the coefficient",
                          "t-coef", {"estimate": est, "value": value, "se": se, "df": df},
                          mde_at=lambda a: self.mde(n, a, sd_unit=sd_unit, p=fit.p, alternative=alt)
                          / (ref if rel else 1.0))


class FTest(_Planned):
    """F test of R b = r (q restrictions) in an OLS fit:
    F = (R b_hat - r)' [R (X'X)^{-1} R']^{-1} (R b_hat - r) / (q s2) ~ F_{q, n-p}, exact under Gaussian
    errors. Effect: Cohen's f = sqrt(lambda / n), lambda the
    noncentrality (R b - r)' [R (X'X)^{-1} R']^{-1} (R b - r) / sigma^2, i.e. the size of R b - r in
    per-observation standard units; power = P(F'(q, n-p, n f^2) > F_{q,n-p,1-a})."""

    def power(self, effect, n, alpha, q=1, p=2):
        df2 = n - p
        if df2 < 1:
            return 0.0
        c = stats.f.isf(alpha, q, df2)
        pw = stats.ncf.sf(c, q, df2, n * effect ** 2)
        return pw if math.isfinite(pw) else 1.0

    def _scale(self, n, **kw):
        return 20.0 / math.sqrt(n)

    def __call__(self, fit: OLSFit, R, r, *, alpha, name="F test of linear restrictions") -> StatResult:
        alpha = _check_alpha(alpha)
        R = np.atleast_2d(np.asarray(R, dtype=np.float64))
        r = np.atleast_1d(np.asarray(r, dtype=np.float64))
        if R.shape[1] != fit.p or r.shape != (R.shape[0],):
            raise ValueError(f"R must be (q, {fit.p}) and r (q,), got {R.shape} and {r.shape}")
        q = R.shape[0]
        d = R @ fit.coef - r
        F = float(d @ np.linalg.solve(R @ fit.xtx_inv @ R.T, d)) / (q * fit.s2)
        n, p = fit.n, fit.p
        return StatResult(name, F, float(stats.f.sf(F, q, fit.df)), alpha, True, n,
                          "Cohen's f = sqrt(noncentrality / n)", "F",
                          {"q": q, "df": fit.df}, mde_at=lambda a: self.mde(n, a, q=q, p=p))

    def relative_mde(self, fit: OLSFit, xtx, R, direction, level, power=POWER) -> float:
        """Smallest delta such that the F test of R b = r rejects at ``level`` with probability ``power``
        when b moves by delta * ``direction`` (e.g. the claimed coefficient times a unit vector):
        noncentrality = delta^2 (R u)' [R (X'X)^{-1} R']^{-1} (R u) / sigma^2 with u = direction; inf if R u = 0."""
        R = np.atleast_2d(np.asarray(R, dtype=np.float64))
        u = R @ np.asarray(direction, dtype=np.float64)
        if not np.any(u):
            return float("inf")
        lam1 = float(u @ np.linalg.solve(R @ np.linalg.inv(xtx) @ R.T, u)) / max(fit.s2, 1e-300)
        if not (lam1 > 0 and math.isfinite(lam1)):
            return float("inf")
        f = self.mde(fit.n, level, power, q=R.shape[0], p=fit.p)
        return f * math.sqrt(fit.n / lam1)


# ----- correlation -----------------------------------------------------------------------------
class CorrelationTest(_Planned):
    """Test of zero correlation (equivalently zero covariance): Pearson r,
    t = r sqrt(n - 2) / sqrt(1 - r^2) ~ t_{n-2} under H0, exact when the pairs are iid bivariate
    Gaussian (independent under H0). Effect: the correlation rho; the power (hence mde and
    samples_needed) uses Fisher's approximation atanh(r) ~ N(atanh(rho), 1/(n-3)):
    power = Phi(atanh(rho) sqrt(n-3) - z_{1-a/2}) + Phi(-atanh(rho) sqrt(n-3) - z_{1-a/2})."""

    min_n = 4

    def power(self, effect, n, alpha):
        if effect >= 1:
            return 1.0
        return _normal_power(math.atanh(effect) * math.sqrt(n - 3), alpha)

    def _scale(self, n, **kw):
        return min(0.999999, 20.0 / math.sqrt(n))

    def __call__(self, x, y, *, alpha, name="correlation test") -> StatResult:
        alpha = _check_alpha(alpha)
        if np.size(x) != np.size(y):
            raise ValueError(f"x and y must have the same length, got {np.size(x)} and {np.size(y)}")
        x, y = _sample(x, "x", 4), _sample(y, "y", 4)
        if x.size != y.size:
            raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
        n = x.size
        xc, yc = x - x.mean(), y - y.mean()
        den = math.sqrt(float(xc @ xc) * float(yc @ yc))
        if den == 0:
            raise ValueError("correlation test: a sample is constant")
        r = float(xc @ yc) / den
        r = max(-1.0, min(1.0, r))
        t = r * math.sqrt((n - 2) / max(1.0 - r * r, 1e-300))
        return StatResult(name, t, _p_from_t(t, n - 2, "two-sided"), alpha, True, n, "correlation", "corr",
                          {"r": r, "df": n - 2}, mde_at=lambda a: self.mde(n, a))


def chi2_from_ss(ss: float, df: int, sigma2, *, alpha, name="chi-square test of a variance",
                 units="relative error of the variance") -> StatResult:
    """Chi-square test of a Gaussian variance from a residual sum of squares with ``df`` degrees of
    freedom (e.g. the SSR of an OLS fit, df = n - p): Q = ss / sigma2 ~ chi2_df exactly under H0.
    Two-sided p = min(1, 2 min(F(Q), 1 - F(Q))); mde as :class:`Chi2TestVariance` with df."""
    alpha = _check_alpha(alpha)
    sigma2 = _positive(sigma2, "sigma2 (the claimed variance)")
    df = int(df)
    q = float(ss) / sigma2
    p = min(1.0, 2 * min(stats.chi2.cdf(q, df), stats.chi2.sf(q, df)))
    return StatResult(name, q, float(p), alpha, True, df, units, "chi2-variance",
                      {"df": df, "variance_hat": float(ss) / df, "sigma2": sigma2, "ratio": float(ss) / df / sigma2},
                      mde_at=lambda a: chi2_test_variance.mde(df, a, known_mean=True))


class WithinCorrelationTest(CorrelationTest):
    """Zero correlation of x and y after removing the mean of each of G groups (a partial correlation
    on G group indicators): r from within-group sums of squares and products,
    t = r sqrt(n - G - 1) / sqrt(1 - r^2) ~ t_{n-G-1} under H0, exact for Gaussian pairs. Takes the
    sufficient statistics per group: count, sums, sums of squares and of products."""

    def from_sums(self, count, sx, sy, sxx, syy, sxy, *, alpha, name="within-group correlation test") -> StatResult:
        alpha = _check_alpha(alpha)
        count, sx, sy = (np.asarray(v, dtype=np.float64) for v in (count, sx, sy))
        cxx = float(np.sum(np.asarray(sxx) - sx * sx / count))
        cyy = float(np.sum(np.asarray(syy) - sy * sy / count))
        cxy = float(np.sum(np.asarray(sxy) - sx * sy / count))
        n, g = int(count.sum()), int(count.size)
        df = n - g - 1
        if df < 2 or cxx <= 0 or cyy <= 0:
            raise ValueError("within-group correlation test: too few rows or a constant sample")
        r = max(-1.0, min(1.0, cxy / math.sqrt(cxx * cyy)))
        t = r * math.sqrt(df / max(1.0 - r * r, 1e-300))
        neff = df + 2
        return StatResult(name, t, _p_from_t(t, df, "two-sided"), alpha, True, n, "correlation", "corr",
                          {"r": r, "df": df, "groups": g}, mde_at=lambda a: self.mde(neff, a))


class HotellingTest(_Planned):
    """Hotelling's T^2 test that a vector mean is 0 (q correlated moments from common random numbers):
    T^2 = n ybar' S^{-1} ybar, F = T^2 (n - q) / (q (n - 1)) ~ F_{q, n-q} under H0, exact for Gaussian
    rows and asymptotically chi2_q / q otherwise (CLT; its calibration is measured, see the README).
    Effect: Cohen's f = sqrt(lambda / n), lambda = n mu' Sigma^{-1} mu; ``relative_mde(direction)``
    turns it into the size delta of a shift mu = delta * direction (e.g. the sensitivity of each moment
    to a relative error of the claimed slot)."""

    def power(self, effect, n, alpha, q=1):
        df2 = n - q
        if df2 < 1:
            return 0.0
        c = stats.f.isf(alpha, q, df2)
        pw = stats.ncf.sf(c, q, df2, n * effect ** 2)
        return pw if math.isfinite(pw) else 1.0

    def _scale(self, n, **kw):
        return 20.0 / math.sqrt(n)

    def __call__(self, Y, *, alpha, name="Hotelling T^2 test of a mean vector") -> StatResult:
        Y = np.asarray(Y, dtype=np.float64)
        if Y.ndim == 1:
            Y = Y[:, None]
        if not np.all(np.isfinite(Y)):
            raise ValueError("Hotelling test: samples must be finite")
        return self.from_sums(Y.shape[0], Y.sum(axis=0), Y.T @ Y, alpha=alpha, name=name)

    def from_sums(self, n, sy, syy, *, alpha, name="Hotelling T^2 test of a mean vector") -> StatResult:
        """The same test from n, the sum of the rows and the sum of their outer products (streamed data)."""
        alpha = _check_alpha(alpha)
        sy = np.atleast_1d(np.asarray(sy, dtype=np.float64))
        q = sy.size
        n = int(n)
        if n <= q + 1:
            raise ValueError(f"Hotelling test needs more than q + 1 = {q + 1} rows, got {n}")
        mean = sy / n
        cov = (np.asarray(syy, dtype=np.float64).reshape(q, q) - n * np.outer(mean, mean)) / (n - 1)
        try:
            t2 = float(n * mean @ np.linalg.solve(cov, mean))
        except np.linalg.LinAlgError:
            raise ValueError("Hotelling test: the moments are linearly dependent") from None
        F = t2 * (n - q) / (q * (n - 1))
        p = float(stats.f.sf(F, q, n - q)) if math.isfinite(F) and F >= 0 else 0.0
        res = StatResult(name, F, p, alpha, False, n, "Cohen's f = sqrt(noncentrality / n)", "hotelling",
                         {"q": q, "T2": t2, "mean": [float(m) for m in mean]},
                         mde_at=lambda a: self.mde(n, a, q=q))
        res.cov = cov
        return res

    def relative_mde(self, result: StatResult, direction, level, power=POWER) -> float:
        u = np.atleast_1d(np.asarray(direction, dtype=np.float64))
        cov = result.cov
        if not np.any(u) or not np.all(np.isfinite(u)):
            return float("inf")
        lam1 = float(u @ np.linalg.solve(cov, u))  # per-row noncentrality of a unit shift
        if not (lam1 > 0 and math.isfinite(lam1)):
            return float("inf")
        f = self.mde(result.n, level, power, q=result.detail["q"])
        return f / math.sqrt(lam1)


# ----- deterministic sub-test ------------------------------------------------------------------
def exact_check(name: str, ok: bool, statistic: float, *, alpha: float, tolerance: float, n: int = 0,
                units: str = "absolute error", **detail) -> StatResult:
    """A deterministic sub-test (a pointwise identity checked to float precision, or a claim that
    is not finite / not positive where it must be): p = 1 if ``ok`` else 0, exact, mde = ``tolerance``."""
    alpha = _check_alpha(alpha)
    return StatResult(name, float(statistic), 1.0 if ok else 0.0, alpha, True, int(n), units, "deterministic",
                      dict(detail, tolerance=tolerance), mde_at=lambda a: float(tolerance))


# ----- Holm ------------------------------------------------------------------------------------
@dataclass
class HolmResult(_Decision):
    """Holm's step-down combination of m sub-tests at family-wise level ``alpha``.

    Sorted p_(1) <= ... <= p_(m); adjusted p_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)); a sub-test
    is rejected when its adjusted p <= alpha. The family p-value is min adjusted p = min(1, m p_(1))
    and the family rejects iff it is <= alpha: the probability of any false rejection is <= alpha
    under any dependence between the sub-tests. ``exact`` is True when every sub-test is exact.
    ``mde[i]`` is sub-test i's mde at level alpha / m (power 0.99): an effect of that size in
    sub-test i alone makes the family reject with probability >= 0.99."""

    name: str
    alpha: float
    results: list[StatResult]
    adjusted: list[float]
    p_value: float

    @property
    def p_min(self) -> float:
        """The raw smallest sub-test p-value (the family p-value is min(1, m p_min))."""
        return float(min(r.p_value for r in self.results))

    @property
    def m(self) -> int:
        return len(self.results)

    @property
    def exact(self) -> bool:
        return all(r.exact for r in self.results)

    @property
    def mde(self) -> list[float]:
        level = self.alpha / self.m
        return [float(r.mde_at(level)) if r.mde_at is not None else float("nan") for r in self.results]

    def to_dict(self) -> dict:
        return {"name": self.name, "alpha": self.alpha, "p_value": self.p_value, "rejected": self.rejected,
                "exact": self.exact, "m": self.m, "p_min": self.p_min,
                "tests": [dict(r.to_dict(), adjusted_p=a) for r, a in zip(self.results, self.adjusted)]}


def holm(results: Sequence[StatResult], alpha: float, name: str = "family") -> HolmResult:
    """Holm-combine ``results`` (their own alpha is ignored) at family-wise level ``alpha``."""
    alpha = _check_alpha(alpha)
    results = list(results)
    if not results:
        raise ValueError("holm needs at least one sub-test result")
    p = np.array([r.p_value for r in results], dtype=np.float64)
    bad = np.flatnonzero(~((p >= 0) & (p <= 1)))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"sub-test {results[i].name!r} has p-value {p[i]!r}: must lie in [0, 1]")
    m = p.size
    order = np.argsort(p, kind="stable")
    adj_sorted = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    adjusted = np.empty(m)
    adjusted[order] = adj_sorted
    return HolmResult(name, alpha, results, [float(a) for a in adjusted], float(adj_sorted[0]))


z_test_mean = ZTestMean()
t_test_mean = TTestMean()
chi2_test_variance = Chi2TestVariance()
t_test_coef = TTestCoef()
f_test = FTest()
correlation_test = CorrelationTest()
within_correlation_test = WithinCorrelationTest()
hotelling_test = HotellingTest()

__all__ = ["StatResult", "HolmResult", "OLSFit", "ols", "z_test_mean", "t_test_mean", "chi2_test_variance",
           "t_test_coef", "f_test", "correlation_test", "exact_check", "holm", "POWER", "OLSAccumulator",
           "chi2_from_ss", "within_correlation_test", "hotelling_test"]
