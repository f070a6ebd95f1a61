"""Sampling designs of the Gaussian-path identities (mirrors :mod:`proofs.paths`).

Every claimed quantity is a slot of a :mod:`proofs.paths` identity evaluated with
:func:`proofs.paths.path_function` (lambdify of the proved expression, or of the user's claim);
closed forms a design needs from *another* identity (the drift and diffusion of ``path_pf_ode``, the
transition and posterior variances, the forward marginal of the discrete schedule) are that identity's
proved slots, never retyped. Draws come from the torch kernel's generators (``ctx.normal``, float64),
and the kernel's DDPM chain (``forward_chain``, float64) on the discrete VP cells.

Power (issue 11). ``mde[slot]`` is the relative error of the slot detected with probability 0.99 at
family-wise alpha (Holm); ``mde_worst`` the same for an error confined to the least sensitive cell. At
the default budget every slot of every path identity has mde <= 1% and mde_worst <= 2%. How:

* **Designed regressors.** Data x_0 in {-1000, 0, 1000} (``X0_WIDE``) wherever a slot is a slope, so a
  relative error of a coefficient moves the mean by far more than the noise (transition, posterior, PF-ODE
  drift, DDIM coef_x0, the VE / flow scales); the float64 rounding of such rows is ~1e-13 of the noise.
* **Cells where the slot is not ~0.** The Markov-pair identities (transition, posterior) use pairs s < t
  (``MARKOV_PAIRS``, ratio a_{t|s} s_s / s_{t|s} in [0.98, 1.42], and two discrete VP pairs) where both
  posterior coefficients are well away from 0: given x_0, the information that separates coef_xt from
  coef_x0 (the blame of the follow-ups) is proportional to that ratio squared for coef_xt and to its inverse
  squared for coef_x0, so pairs far apart (coef_xt ~ 6e-4 at VE 2 -> 80, the old cells' 813% worst cell) or
  very close (coef_x0 ~ 0) cannot name the slot. Slots that are exactly 0 at a cell (the drift a'/a and
  u_coef_x0, u_coef_xt on the VE path, a = 1) get no MDE there: a relative error of 0 is no error.
* **Joint regression with follow-ups.** path_posterior regresses r = x_s - coef_xt x_t - coef_x0 x_0 on
  (1, x_t, x_0) per cell: exact F test of both slopes = 0, t follow-ups that blame the slot.
  Variance slots are tested on the OLS residual sum of squares (chi-square, n - p df), so a mean error never
  shows up as a variance error, and the cells of one variance slot are also **pooled** into one exact
  test (independent cells: sum of SSR_j / variance_j ~ chi-square with the summed df).
* **Rao-Blackwellisation.** ddim_marginal tests the DDIM update's exact conditional mean
  m_s = coef_x0 x_0 + coef_eps eps_hat given (x_t, x_0) instead of x_s = m_s + sigma_s z: the sigma_s z
  noise is integrated out, so Var[m_s | x_0] = s_s^2 - sigma_s^2 (lemma 1) measures coef_eps at every eta
  with the precision of eta = 0; the chain itself continues with the sampled x_s.
* **Deterministic gates with a derived MDE.** The algebraic identities (conversions, velocity, ddim_exact,
  the shift, the conditional and Gaussian scores, the PF-ODE closed form against quadrature) are gates:
  float64 checks on probes with a stated tolerance. Each gate's MDE for a slot is the smallest relative
  error of that slot that certainly fails it, found by re-evaluating the gate with the slot multiplied by
  1 +- delta on the same probes (``_gate_mde``); ``mde_kind`` reports these as "deterministic" (power 1,
  no alpha spent).

Tests: exact t, OLS t / F and chi-square tests wherever the data are Gaussian (every design but
``path_score``, whose moment conditions on mixture data are CLT z tests); so the family's false-alarm rate
is exactly <= alpha (Holm) except for path_score (asymptotic, measured in tests/quality/test_calibration.py).
"""
from __future__ import annotations

import functools
import math

import numpy as np
import sympy as sp
import torch
from scipy import integrate, stats

from proofs import paths as P

from .base import MIX_MU, MIX_SD, TEST_FUNCTIONS, S, _Ctx, _forward, _mixture, _mixture_score

_IDENTITIES = {i.id: i for i in P.IDENTITIES}
#: designed data values where a slot is a slope: its relative error moves the mean by ~1000 x the coefficient
X0_WIDE = (-1000.0, 0.0, 1000.0)
#: (path, tau_s, tau_t), s < t
PAIRS = (("vp_cosine", 0.3, 0.7), ("vp_linear", 0.2, 0.6), ("ve_edm", 0.5, 2.0), ("ve_edm", 2.0, 80.0),
         ("flow", 0.25, 0.75), ("flow", 0.5, 0.55), ("flow_shift3", 0.2, 0.6))
#: pairs for the Markov-pair identities (transition, posterior): a_{t|s} s_s / s_{t|s} in [0.98, 1.42], where
#: both posterior coefficients are measurable (low and high noise; every path)
MARKOV_PAIRS = (("vp_cosine", 0.3, 0.4), ("vp_linear", 0.2, 0.26), ("ve_edm", 0.5, 0.7), ("ve_edm", 20.0, 28.0),
                ("flow", 0.5, 0.55), ("flow_shift3", 0.2, 0.26))
GAUSSIAN_DATA = ((1.0, 0.25), (-2.0, 2.0))  # path_gaussian_data: the pairs of PAIRS take them in turn
ETAS = (0.0, 0.5, 1.0)
IDS = ("path_conversions", "path_score", "path_velocity", "path_pf_ode", "path_transition", "path_posterior",
       "ddim_marginal", "ddim_exact", "path_reparam", "path_gaussian_data")
_DET_TOL = 1e-9     # float64 identities on samples (relative)
_FD_TOL = 1e-6      # central finite differences (relative)
_ODE_TOL = 1e-7     # ODE quadrature at rtol 1e-12 (relative)
POOLED = "all cells (pooled)"
MAX_CHAIN_STEPS = 8  # a discrete VP Markov pair spans at most this many DDPM steps (each costs a normal per row)
PF_ODE_ROWS = 50_000  # Gaussian-data rows of path_pf_ode's probability-flow part (a supplementary check)


# ----- slots -------------------------------------------------------------------------------------
def slot_function(expr):
    """The Monte Carlo bridge of a path slot: ``f(schedule, t, *, path=None, **values)``; compiled once
    per path (slots in a(tau), s(tau) need ``path`` and ``tau``)."""
    cache: dict = {}
    needs_path = bool(expr.atoms(sp.core.function.AppliedUndef)
                      or expr.free_symbols & {P.a_tau, P.s_tau, P.da, P.ds})

    def evaluate(*_ignored, path=None, **values):
        key = path if needs_path else None
        if key not in cache:
            cache[key] = P.path_function(expr, key)
        return cache[key](**values)

    evaluate.expr = expr
    return evaluate


_PROVED: dict = {}


def _proved(identity, slot, path=None):
    """The proved slot of a path identity as a float function (lambdified once per path)."""
    key = (identity, slot, path)
    if key not in _PROVED:
        _PROVED[key] = P.path_function(_IDENTITIES[identity].slots[slot], path)
    return _PROVED[key]


_AB: dict = {}


def _ab_functions(path):
    """Float functions tau -> a(tau), s(tau) of a concrete path (lambdified once)."""
    if path not in _AB:
        a_, s_, _ = P.PATHS[path]
        _AB[path] = _scalar_of_tau(a_(P.tau), None), _scalar_of_tau(s_(P.tau), None)
    return _AB[path]


def _ab(path, tau):
    """(a(tau), s(tau)) of a concrete path, floats."""
    fa, fs = _ab_functions(path)
    return fa(tau), fs(tau)


def _pair_values(path, tau_s, tau_t) -> dict:
    a_s, s_s = _ab(path, tau_s)
    a_t, s_t = _ab(path, tau_t)
    return {"a_s": a_s, "s_s": s_s, "a_t": a_t, "s_t": s_t}


def _label(path, tau_s, tau_t):
    return f"{path} {tau_s:g}->{tau_t:g}"


def _claim(ctx, slot, label, **values) -> float | None:
    """A scalar claimed slot, or None after recording a deterministic failure when it is not finite."""
    v = ctx.claim(slot, 1, **values)
    if ctx.bad_claim(slot, v, label):
        return None
    return float(np.asarray(v).ravel()[0]) if np.ndim(v) else float(v)


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(all="ignore"):
        err = np.max(np.abs(a - b)) / (1.0 + np.max(np.abs(b)))
    return float(err) if np.isfinite(err) else math.inf


# ----- deterministic gates with a derived MDE -------------------------------------------------------
def _gate_mde(stat, tol, hi=1.0) -> float:
    """The smallest delta in (0, hi] such that the gate fails (stat > tol) with the slot multiplied by
    1 + delta and by 1 - delta: ``stat(d)`` re-evaluates the gate's statistic on the same probes. The
    statistic grows with |delta| (a linear form plus rounding), so bisection in log(delta) finds the
    threshold; the upper end of the final bracket is returned (certainly failing). inf if even hi passes."""
    def fails(d):
        return stat(d) > tol and stat(-d) > tol
    if not fails(hi):
        return math.inf
    lo = 1e-16
    if fails(lo):
        return lo
    while hi / lo > 1.05:  # within 5% of the threshold, from above
        mid = math.sqrt(lo * hi)
        if fails(mid):
            hi = mid
        else:
            lo = mid
    return hi


def _det(ctx, name, err_of, tol, slot=None, slots=(), **info):
    """A deterministic gate. ``err_of(mult)`` is its statistic (a max relative error) with each claimed
    slot k multiplied by ``mult.get(k, 1)``; the gate holds when err_of({}) <= tol. ``slots``: the slots it
    speaks about at this cell (callers leave out a slot whose claimed value is exactly 0 here: a relative
    error of 0 is no error); their gate MDEs (``_gate_mde``) enter ``mde_cells`` as deterministic. A failed
    gate blames ``slot``, or else the slot whose single relative correction brings the statistic lowest
    (``_blame``)."""
    err = err_of({})
    err = float(err) if np.isfinite(err) else math.inf
    sens, why = {}, ""
    if err <= tol:
        sens = {k: _gate_mde(lambda d, k=k: err_of({k: 1.0 + d}), tol) for k in slots}
    elif slot is None and slots:
        slot, fixed, delta = _blame(err_of, slots)
        why = f"; blamed: {slot} (times {1 + delta:.6g} the error is {fixed:.3g})"
    ctx.add(S.exact_check(f"{name} (max relative error {err:.3g}{why})", err <= tol, err, alpha=ctx.alpha,
                          tolerance=tol, units="relative error"), slot, sens=sens, **info)


def _blame(err_of, slots):
    """(slot, smallest statistic, delta): the slot whose claimed value times 1 + delta, delta in [-4, 4], makes
    the failed gate's statistic smallest (a grid, then a bounded Brent search; the statistic, a max of |linear
    forms in delta|, is convex in delta)."""
    from scipy import optimize
    best = None
    grid = np.linspace(-4.0, 4.0, 161)
    for k in slots:
        vals = [err_of({k: 1.0 + d}) for d in grid]
        i = int(np.nanargmin(vals))
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
        res = optimize.minimize_scalar(lambda d: err_of({k: 1.0 + d}), bounds=(lo, hi), method="bounded",
                                       options={"xatol": 1e-12})
        cand = (float(res.fun), k, float(res.x))
        if best is None or cand[0] < best[0]:
            best = cand
    return best[1], best[0], best[2]


def _nonzero(c: dict, keys) -> tuple:
    return tuple(k for k in keys if c.get(k) is not None and c[k] != 0.0)


# ----- statistics shared by the designs ----------------------------------------------------------------
# Every sub-test's MDE is a root-finding over its power function (noncentral t, chi-square, F). The MDE of a
# t or z test scales exactly with the test's standard deviation and a chi-square's depends only on its df, so
# these wrappers replace ``mde_at`` by the same quantity computed once per (kind, n, level) (cached): ddim_marginal
# has 120 sub-tests of two sizes, and the uncached MDEs cost more than the simulation.
@functools.lru_cache(maxsize=None)
def _unit_mde(kind, n, level, extra=None) -> float:
    if kind == "t-coef":
        return S.t_test_coef.mde(n, level, sd_unit=1.0, p=extra)
    if kind == "t-mean":
        return S.t_test_mean.mde(n, level, sd=1.0)
    if kind == "z-mean":
        return S.z_test_mean.mde(n, level, sd=1.0)
    if kind == "chi2":
        return S.chi2_test_variance.mde(n, level, known_mean=extra)
    if kind == "F":
        return S.f_test.mde(n, level, q=extra[0], p=extra[1])
    raise ValueError(kind)


def _t_coef(fit, j, value, *, alpha, relative_to=None, name):
    """S.t_test_coef with a cached MDE (two-sided)."""
    res = S.t_test_coef(fit, j, value, alpha=alpha, relative_to=relative_to, name=name)
    ref = abs(float(value)) if relative_to is None else abs(float(relative_to))
    sd_unit = max(res.detail["se"], 1e-300) * math.sqrt(fit.n)
    res.mde_at = lambda a, n=fit.n, p=fit.p: _unit_mde("t-coef", n, a, p) * sd_unit / (ref if ref > 0 else 1.0)
    return res


def _mean_test(x, mu0, *, alpha, name, z=False):
    """S.t_test_mean (or S.z_test_mean) with a cached MDE (two-sided)."""
    res = (S.z_test_mean if z else S.t_test_mean)(x, mu0, alpha=alpha, name=name)
    sd = max(res.detail["se"] * math.sqrt(res.n), 1e-300)
    res.mde_at = lambda a, n=res.n: _unit_mde("z-mean" if z else "t-mean", n, a) * sd
    return res


def _chi2_ss(ss, df, sigma2, *, alpha, name):
    """S.chi2_from_ss with a cached MDE."""
    res = S.chi2_from_ss(ss, df, sigma2, alpha=alpha, name=name)
    res.mde_at = lambda a, df=int(df): _unit_mde("chi2", df, a, True)
    return res


def _chi2_var(x, sigma2, *, alpha, mean, name):
    """S.chi2_test_variance with a known mean, and a cached MDE."""
    res = S.chi2_test_variance(x, sigma2, alpha=alpha, mean=mean, name=name)
    res.mde_at = lambda a, n=res.n: _unit_mde("chi2", n, a, True)
    return res


def _f_relative_mde(fit, xtx, R, direction, level) -> float:
    """S.f_test.relative_mde with the F test's Cohen's f cached."""
    R = np.atleast_2d(np.asarray(R, dtype=np.float64))
    u = R @ np.asarray(direction, dtype=np.float64)
    if not np.any(u):
        return math.inf
    lam1 = float(u @ np.linalg.solve(R @ np.linalg.inv(xtx) @ R.T, u)) / max(fit.s2, 1e-300)
    if not (lam1 > 0 and math.isfinite(lam1)):
        return math.inf
    return _unit_mde("F", fit.n, level, (R.shape[0], fit.p)) * math.sqrt(fit.n / lam1)


def _pooled_chi2(ctx, parts, slot, name, scale=1.0):
    """One exact test of a variance slot over independent cells: parts [(ss, df, sigma2)], each ss / sigma2 ~
    chi2_df under the claim, so their sum ~ chi2 with the summed df. Recorded as the cell POOLED."""
    parts = [p for p in parts if p[1] > 0 and p[2] > 0 and math.isfinite(p[2])]
    if len(parts) < 2:
        return
    q = float(sum(ss / s2 for ss, _, s2 in parts))
    df = int(sum(d for _, d, _ in parts))
    ctx.add(_chi2_ss(q, df, 1.0, alpha=ctx.alpha, name=f"{name}: {len(parts)} cells pooled (chi-square, "
                                                                 f"{df} df)"), slot, scale, t=POOLED)


def _dot(a, b) -> float:
    """sum a_i b_i (einsum: BLAS ddot's threads were measured 100x slower on the loaded 2-core machine)."""
    return float(np.einsum("i,i->", a, b))


def _ols(y, X) -> S.OLSFit:
    """Least squares of y on the columns of X (the same :class:`montecarlo.stats.OLSFit` as ``S.ols``, whose QR
    costs ~10x more on the 10^5 - 10^6 rows here). A first column of ones is an intercept: the other columns and
    y are centred, the slopes solve the centred normal equations (dot products), the intercept and the full
    (X'X)^{-1} follow by block algebra; the residuals are recomputed from the data (no cancellation in the
    residual sum of squares)."""
    y = np.asarray(y, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(X))):
        raise ValueError("OLS data must be finite")
    n, p = X.shape
    intercept = bool(np.all(X[:, 0] == 1.0))
    cols = [np.ascontiguousarray(X[:, j]) for j in range(1 if intercept else 0, p)]
    means = np.array([c.mean() for c in cols]) if intercept else np.zeros(len(cols))
    if intercept:
        cols = [c - mu for c, mu in zip(cols, means)]
        yc = y - y.mean()
    else:
        yc = y
    k = len(cols)
    G = np.array([[_dot(cols[i], cols[j]) for j in range(k)] for i in range(k)])
    d = np.sqrt(np.diag(G))
    if not np.all(d > 0):
        raise ValueError("design matrix X is (nearly) rank deficient")
    Gs = G / np.outer(d, d)
    w = np.linalg.eigvalsh(Gs)
    if w.min() < 1e-12 * w.max():
        raise ValueError("design matrix X is (nearly) rank deficient")
    Ginv = np.linalg.inv(Gs) / np.outer(d, d)
    slopes = Ginv @ np.array([_dot(c, yc) for c in cols])
    resid = yc - sum(b * c for b, c in zip(slopes, cols))
    if intercept:
        b0 = float(y.mean() - means @ slopes)
        coef = np.r_[b0, slopes]
        inv = np.empty((p, p))
        inv[0, 0] = 1.0 / n + means @ Ginv @ means
        inv[0, 1:] = inv[1:, 0] = -(Ginv @ means)
        inv[1:, 1:] = Ginv
    else:
        coef, inv = slopes, Ginv
    return S.OLSFit(coef, inv, _dot(resid, resid) / (n - p), n, p, resid)


def _wide_x0(n) -> np.ndarray:
    """n rows of the designed data X0_WIDE (n // 3 each, at least 2 each)."""
    return np.repeat(np.asarray(X0_WIDE), max(n // len(X0_WIDE), 2))


# ----- ODE quadrature (scipy, rtol 1e-12) ----------------------------------------------------------
def _sde_transition(f, g2, t0, t1):
    """Exact transition of the linear SDE dx = f x dtau + g dW from t0 to t1 > t0:
    x_t1 = Phi x_t0 + sqrt(Q) z with (log Phi)' = f, Q' = 2 f Q + g^2, Q(t0) = 0."""
    sol = integrate.solve_ivp(lambda tt, y: [f(tt), 2 * f(tt) * y[1] + g2(tt)], (t0, t1), [0.0, 0.0],
                              method="DOP853", rtol=1e-12, atol=1e-14)
    log_phi, q = sol.y[:, -1]
    return math.exp(log_phi), q


def _pf_ode_affine(f, g2, score_affine, t0, t1):
    """The PF-ODE dx/dtau = f x - g^2/2 score(x, tau) with score(x, tau) = c1(tau) x + c0(tau) is affine
    in x: x(t1) = alpha x(t0) + beta. Integrated from t0 to t1 (either direction)."""
    def rhs(tt, y):
        c1, c0 = score_affine(tt)
        k = f(tt) - g2(tt) / 2 * c1
        return [k * y[0], k * y[1] - g2(tt) / 2 * c0]
    sol = integrate.solve_ivp(rhs, (t0, t1), [1.0, 0.0], method="DOP853", rtol=1e-12, atol=1e-14)
    return sol.y[0, -1], sol.y[1, -1]


_SCALAR: dict = {}


def _scalar_of_tau(expr, path):
    """A fast float function tau -> expr on the concrete path (math-module lambdify of the same expression
    that :func:`proofs.paths.path_function` evaluates); nan where it is undefined (e.g. sqrt of a negative)."""
    key = (expr, path)
    if key not in _SCALAR:
        _SCALAR[key] = _compile_of_tau(expr, path)
    return _SCALAR[key]


def _compile_of_tau(expr, path):
    on = P.path_function(expr, path).expr
    if not on.free_symbols <= {P.tau}:
        raise ValueError(f"{on} depends on more than tau")
    fn = sp.lambdify([P.tau], on, modules="math")

    def value(u):
        try:
            return float(fn(u))
        except (ValueError, ZeroDivisionError, OverflowError, TypeError):
            return math.nan
    return value


_SDE: dict = {}


def _proved_sde(path):
    """(f, g^2) of the path, the proved slots of path_pf_ode, as fast float functions of tau."""
    if path not in _SDE:
        slots = _IDENTITIES["path_pf_ode"].slots
        _SDE[path] = (_scalar_of_tau(slots["drift"], path), _scalar_of_tau(slots["diffusion2"], path))
    return _SDE[path]


# ----- data for the Markov pairs (transition, posterior) --------------------------------------------
def _markov_ratio(vals) -> float:
    """a_{t|s} s_s / s_{t|s}: the posterior's information ratio (coef_xt ~ its square, coef_x0 ~ its inverse)."""
    A = vals["a_t"] / vals["a_s"]
    s2 = vals["s_t"] ** 2 - A * A * vals["s_s"] ** 2
    return A * vals["s_s"] / math.sqrt(s2) if s2 > 0 else math.inf


def _vp_values(schedule, s, t) -> dict:
    """The path values of the discrete schedule at s < t from the proved forward marginal (sqrt(abar), 1 - abar)."""
    (ms, vs), (mt, vt) = _forward(schedule, s), _forward(schedule, t)
    return {"a_s": float(ms), "s_s": math.sqrt(float(vs)), "a_t": float(mt), "s_t": math.sqrt(float(vt))}


def _vp_pairs(ctx):
    """Discrete VP pairs s < t of the run's schedule: s in {max(1, T // 100), T // 2}, t the first step after s
    whose ratio a_{t|s} s_s / s_{t|s} drops to 1, at most MAX_CHAIN_STEPS steps later (T = 1000, linear:
    10 -> 16, ratio 0.95; 500 -> 508, ratio 3.4: the posterior's F test sees both coefficients there, its
    coef_x0 follow-up is the weaker one)."""
    T = ctx.schedule.T
    out = []
    for s in sorted({max(1, T // 100), T // 2}):
        if not 1 <= s < T:
            continue
        t = s + 1
        while t < min(T, s + MAX_CHAIN_STEPS) and _markov_ratio(_vp_values(ctx.schedule, s, t)) > 1.0:
            t += 1
        if (s, t) not in out:
            out.append((s, t))
    return out


def _pair_data(ctx):
    """Yield (label, values, x_0, x_s, x_t) per Markov cell, ctx.n rows on X0_WIDE: x_s ~ q(x_s|x_0) (the path)
    and x_t from the exact transition of the path's SDE (proved drift and diffusion of path_pf_ode, by
    quadrature) on the continuous paths; on the run's discrete VP schedule x_s from the proved forward marginal
    and x_t by the kernel's DDPM steps s+1..t (``forward_chain`` on the schedule's betas from s)."""
    x0 = _wide_x0(ctx.n)
    for path, ts, tt in MARKOV_PAIRS:
        vals = _pair_values(path, ts, tt)
        f, g2 = _proved_sde(path)
        phi, q = _sde_transition(f, g2, ts, tt)
        xs = vals["a_s"] * x0 + vals["s_s"] * ctx.normal(x0.size)
        xt = phi * xs + math.sqrt(q) * ctx.normal(x0.size)
        ctx.samples += x0.size
        yield _label(path, ts, tt), vals, x0, xs, xt
    from montecarlo.schedules import Schedule
    for g, (s, t) in enumerate(_vp_pairs(ctx)):
        vals = _vp_values(ctx.schedule, s, t)
        xs = vals["a_s"] * x0 + vals["s_s"] * ctx.normal(x0.size)
        steps = Schedule.from_betas(ctx.schedule.betas[s:t], name=f"{ctx.schedule.name} steps {s + 1}..{t}")
        out = ctx.chain(xs[:, None].copy(), [t - s], torch.float64, 100 + g, schedule=steps)
        yield f"VP {ctx.schedule.name} t={s}->{t}", vals, x0, xs, out[t - s][:, 0]


# ----- 1. conversions ------------------------------------------------------------------------------
def _check_path_conversions(ctx: _Ctx):
    n = ctx.n
    for path, _, tt in PAIRS:
        a, s = _ab(path, tt)
        vals = {"a_t": a, "s_t": s}
        label = f"{path} tau={tt:g}"
        x0 = 3.0 * ctx.normal(n)
        eps = ctx.normal(n)
        xt = a * x0 + s * eps
        ctx.samples += n
        c = {k: _claim(ctx, k, label, **vals) for k in _IDENTITIES["path_conversions"].slots}
        if any(v is None for v in c.values()):
            continue

        def cm(mult, k):
            return c[k] * mult.get(k, 1.0)

        def vel(mult):
            return cm(mult, "v_coef_eps") * eps + cm(mult, "v_coef_x0") * x0
        _det(ctx, f"x_0 = x0_coef_xt x_t + x0_coef_eps eps ({label})",
             lambda mu: _rel(cm(mu, "x0_coef_xt") * xt + cm(mu, "x0_coef_eps") * eps, x0), _DET_TOL,
             slots=_nonzero(c, ("x0_coef_xt", "x0_coef_eps")), t=label)
        _det(ctx, f"x_0 from (x_t, v) ({label})",
             lambda mu: _rel(cm(mu, "x0_from_v_coef_xt") * xt + cm(mu, "x0_from_v_coef_v") * vel(mu), x0), _DET_TOL,
             slots=_nonzero(c, ("x0_from_v_coef_xt", "x0_from_v_coef_v", "v_coef_eps", "v_coef_x0")), t=label)
        _det(ctx, f"eps from (x_t, v) ({label})",
             lambda mu: _rel(cm(mu, "eps_from_v_coef_xt") * xt + cm(mu, "eps_from_v_coef_v") * vel(mu), eps), _DET_TOL,
             slots=_nonzero(c, ("eps_from_v_coef_xt", "eps_from_v_coef_v", "v_coef_eps", "v_coef_x0")), t=label)
        if path.startswith("vp"):  # Salimans & Ho: v = d x / d phi with a = cos phi, s = sin phi
            phi, h = math.atan2(s, a), 1e-5
            fd = ((math.cos(phi + h) - math.cos(phi - h)) * x0 + (math.sin(phi + h) - math.sin(phi - h)) * eps) / (2 * h)
            _det(ctx, f"VP: v = dx/dphi, phi = atan(s/a) (finite difference, {label})", lambda mu: _rel(vel(mu), fd),
                 _FD_TOL, slots=_nonzero(c, ("v_coef_eps", "v_coef_x0")), t=label)
    return ("x_0 ~ 3 N(0, 1), eps ~ N(0, 1), x_t = a x_0 + s eps on seven path cells; deterministic float64 gates "
            "that the claimed conversions recover x_0 and eps (rel. 1e-9), and on VP paths v = dx/dphi by central "
            "differences (rel. 1e-6); each gate's MDE per slot is the smallest relative error of the slot that fails "
            "it on the same probes (deterministic, power 1)")


# ----- 2. scores and Tweedie ------------------------------------------------------------------------
def _check_path_score(ctx: _Ctx):
    n = ctx.n
    for path, _, tt in PAIRS:
        a, s = _ab(path, tt)
        vals = {"a_t": a, "s_t": s}
        label = f"{path} tau={tt:g}"
        x0, k = _mixture(ctx, n, with_component=True)
        eps = ctx.normal(n)
        xt = a * x0 + s * eps
        ctx.samples += n
        tw, sc, cs = (_claim(ctx, name, label, **vals) for name in ("tweedie_coef", "score_coef_eps", "cond_score_coef_eps"))
        h = 1e-5 * s
        if cs is not None:
            fd = (stats.norm.logpdf(xt[:1000] + h, a * x0[:1000], s) - stats.norm.logpdf(xt[:1000] - h, a * x0[:1000], s)) / (2 * h)
            _det(ctx, f"grad log q(x_t|x_0) = cond_score_coef_eps eps (finite difference, {label})",
                 lambda mu: _rel(cs * mu.get("cond_score_coef_eps", 1.0) * eps[:1000], fd), _FD_TOL,
                 slots=_nonzero({"cond_score_coef_eps": cs}, ("cond_score_coef_eps",)), t=label)
        score = _mixture_score(xt, mean_scale=a, var_scale=a * a, var_add=s * s)
        v_k = a * a * MIX_SD[k] ** 2 + s * s
        x0_rb = MIX_MU[k] + a * MIX_SD[k] ** 2 * (xt - a * MIX_MU[k]) / v_k   # E[x_0 | x_t, k]
        eps_rb = s * (xt - a * MIX_MU[k]) / v_k                               # E[eps | x_t, k]
        for gname, g in TEST_FUNCTIONS.items():
            gx = g(xt)
            if tw is not None:
                ctx.add(_mean_test((x0_rb - (xt + tw * score) / a) * gx, 0.0, alpha=ctx.alpha, z=True,
                                   name=f"E[(x_0 - (x_t + tweedie_coef score)/a_t) {gname}] = 0 ({label})"),
                        "tweedie_coef", tw * float(np.mean(score * gx)) / a, t=label, g=gname)
            if sc is not None and sc != 0:
                ctx.add(_mean_test((eps_rb - score / sc) * gx, 0.0, alpha=ctx.alpha, z=True,
                                   name=f"E[(eps - score/score_coef_eps) {gname}] = 0 ({label})"),
                        "score_coef_eps", float(np.mean(score * gx)) / sc, t=label, g=gname)
    return ("x_0 from the Gaussian mixture, x_t = a x_0 + s eps on seven path cells, exact mixture score of p_t; z tests "
            "(asymptotic) of E[(E[x_0|x_t,k] - (x_t + tweedie_coef score)/a) g] = 0 and E[(E[eps|x_t,k] - "
            "score/score_coef_eps) g] = 0 for g in x, x^2, tanh (Rao-Blackwellized in the component k); the "
            "conditional score by central differences of the Gaussian log density (deterministic gate, rel. 1e-6, "
            "its MDE derived from the tolerance)")


# ----- 3. velocity ---------------------------------------------------------------------------------
_VELOCITY_TAUS = {"vp_cosine": (0.1, 0.5, 0.9), "vp_linear": (0.1, 0.5, 0.9), "ve_edm": (0.1, 2.0, 50.0),
                  "flow": (0.1, 0.5, 0.9), "flow_shift3": (0.1, 0.5, 0.9)}


def _check_path_velocity(ctx: _Ctx):
    n = ctx.n
    for path, taus in _VELOCITY_TAUS.items():
        a_f, s_f = _ab_functions(path)
        for tt in taus:
            label = f"{path} tau={tt:g}"
            x0, eps = 3.0 * ctx.normal(n), ctx.normal(n)
            ctx.samples += n
            h = 1e-5 * max(tt, 1.0)
            a, s = _ab(path, tt)
            fd = ((a_f(tt + h) - a_f(tt - h)) * x0 + (s_f(tt + h) - s_f(tt - h)) * eps) / (2 * h)
            c = {k: _claim(ctx, k, label, path=path, tau=tt) for k in _IDENTITIES["path_velocity"].slots}

            def cm(mult, k, c=c):
                return c[k] * mult.get(k, 1.0)
            if c["u_coef_x0"] is not None and c["u_coef_eps"] is not None:
                _det(ctx, f"u = u_coef_x0 x_0 + u_coef_eps eps = d x_tau/d tau ({label})",
                     lambda mu, x0=x0, eps=eps, fd=fd, cm=cm: _rel(cm(mu, "u_coef_x0") * x0 + cm(mu, "u_coef_eps") * eps, fd),
                     _FD_TOL, slots=_nonzero(c, ("u_coef_x0", "u_coef_eps")), t=label)
            if c["u_coef_xt"] is not None and c["u_coef_eps_hat"] is not None:
                xtau = a * x0 + s * eps
                _det(ctx, f"u = u_coef_xt x_tau + u_coef_eps_hat eps ({label})",
                     lambda mu, xtau=xtau, eps=eps, fd=fd, cm=cm: _rel(cm(mu, "u_coef_xt") * xtau
                                                                       + cm(mu, "u_coef_eps_hat") * eps, fd),
                     _FD_TOL, slots=_nonzero(c, ("u_coef_xt", "u_coef_eps_hat")), t=label)
    return ("x_0 ~ 3 N(0, 1), eps ~ N(0, 1) at three times on five paths; deterministic gates: the claimed velocity "
            "equals the central difference of x_tau = a(tau) x_0 + s(tau) eps (rel. 1e-6); each gate's MDE per slot "
            "is the smallest relative error that fails it (deterministic); u_coef_x0 = a' and u_coef_xt = a'/a are "
            "0 on the VE path (a = 1) and get no MDE there")


# ----- 4. the SDE / probability-flow ODE -------------------------------------------------------------
def _check_path_pf_ode(ctx: _Ctx):
    n = ctx.n
    x0 = _wide_x0(n)
    A_TS, S2_TS = _proved("path_transition", "mean_coef"), _proved("path_transition", "variance")
    parts = []
    for path, ts, tt in PAIRS:
        label = _label(path, ts, tt)
        vals = _pair_values(path, ts, tt)
        # the claimed f, g^2 on this path as fast scalar functions of tau (the same expressions ctx.claim evaluates)
        fc, gc = (_scalar_of_tau(ctx.slots[k].expr, path) for k in ("drift", "diffusion2"))

        def f(u, scale=1.0, fc=fc):
            return scale * fc(u)

        def g2(u, scale=1.0, gc=gc):
            return scale * gc(u)
        try:
            phi, q = _sde_transition(f, g2, ts, tt)
        except (ValueError, ZeroDivisionError):
            phi, q = math.nan, math.nan
        if ctx.bad_claim("drift", phi, label) or ctx.bad_claim("diffusion2", q, label, positive=True):
            continue
        xs = vals["a_s"] * x0 + vals["s_s"] * ctx.normal(x0.size)
        xt = phi * xs + math.sqrt(q) * ctx.normal(x0.size)
        ctx.samples += x0.size
        # x_t | x_s ~ N(a_{t|s} x_s, s_{t|s}^2) (path_transition's proved slots) iff the marginals are the path's
        mc, var = float(A_TS(**vals)), float(S2_TS(**vals))
        fit = _ols(xt, np.column_stack((np.ones_like(xs), xs)))
        log_phi = math.log(vals["a_t"] / vals["a_s"])  # d log(Phi)/d delta for drift (1 + delta): Phi = exp(int f)
        slope = _t_coef(fit, 1, mc, alpha=ctx.alpha, name=f"SDE: slope of x_t on x_s = a_t/a_s ({label})")
        sens = {"drift": lambda lv, r=slope, k=abs(log_phi): r.mde_at(lv) / k} if log_phi != 0 else {}
        ctx.add(slope, "drift", sens=sens, t=label)
        ss = _dot(fit.resid, fit.resid)
        parts.append((ss, fit.df, var))
        ctx.add(_chi2_ss(ss, fit.df, var, alpha=ctx.alpha,
                         name=f"SDE: Var[x_t|x_s] = s_t^2 - (a_t/a_s)^2 s_s^2 (OLS residual, {label})"),
                "diffusion2", t=label)
        # the PF-ODE, Gaussian data N(m, v), backwards from t to s with the exact Gaussian score
        m, v = GAUSSIAN_DATA[0]
        a_f, s_f = _ab_functions(path)

        def score_affine(u, m=m, v=v, a_f=a_f, s_f=s_f):
            a_, s_ = a_f(u), s_f(u)
            V = a_ * a_ * v + s_ * s_
            return -1.0 / V, a_ * m / V
        V_t = vals["a_t"] ** 2 * v + vals["s_t"] ** 2
        al, be = _pf_ode_affine(f, g2, score_affine, tt, ts)
        mean0, var0 = al * vals["a_t"] * m + be, al * al * V_t
        # sensitivities of the pushed-forward mean and log variance to a relative error of each slot
        hh = 1e-4
        dmean, dlogvar = {}, {}
        for slot, ff, gg in (("drift", lambda u: f(u, 1 + hh), g2), ("diffusion2", f, lambda u: g2(u, 1 + hh))):
            al_h, be_h = _pf_ode_affine(ff, gg, score_affine, tt, ts)
            dmean[slot] = (al_h * vals["a_t"] * m + be_h - mean0) / hh
            dlogvar[slot] = (math.log(al_h * al_h * V_t) - math.log(var0)) / hh
        ng = min(n, PF_ODE_ROWS)
        xt_g = vals["a_t"] * m + math.sqrt(V_t) * ctx.normal(ng)
        xs_g = al * xt_g + be
        ctx.samples += ng
        tm = _mean_test(xs_g, vals["a_s"] * m, alpha=ctx.alpha, name=f"PF-ODE: E[x_s] = a_s m ({label})")
        sens_m = {k: (lambda lv, r=tm, d=abs(d): r.mde_at(lv) / d) for k, d in dmean.items() if abs(d) > 1e-12}
        tv = _chi2_var(xs_g, vals["a_s"] ** 2 * v + vals["s_s"] ** 2, alpha=ctx.alpha, mean=vals["a_s"] * m,
                       name=f"PF-ODE: Var[x_s] = a_s^2 v + s_s^2 ({label})")
        sens_v = {k: (lambda lv, r=tv, d=abs(d): r.mde_at(lv) / d) for k, d in dlogvar.items() if abs(d) > 1e-12}
        for res, sens in ((tm, sens_m), (tv, sens_v)):
            blame = min(sens, key=lambda k: sens[k](1e-8)) if sens else None
            ctx.add(res, blame, sens=sens, t=label, data="gaussian")
    _pooled_chi2(ctx, parts, "diffusion2", "SDE: Var[x_t|x_s] = s_{t|s}^2")
    return ("x_0 in {-1000, 0, 1000}, x_s ~ q(x_s|x_0) on seven path cells; x_t from the exact transition of "
            "dx = f x dtau + g dW with the claimed f, g^2 (quadrature, rtol 1e-12); per cell OLS of x_t on (1, x_s): "
            "exact t test of the slope against a_t/a_s (path_transition's proved mean_coef; the drift's MDE is the "
            "slope's relative MDE over |log(a_t/a_s)|, the first-order effect of a relative drift error on "
            "Phi = exp(int f); the drift is 0 on VE and gets no MDE there) and exact chi-square of the residual sum "
            "of squares against s_{t|s}^2 (diffusion2: Q is linear in g^2), also pooled over the cells; Gaussian "
            "data N(1, 1/4): x_t ~ p_t moved to s by the PF-ODE with the claimed f, g^2 and the exact score, exact t "
            "and chi-square tests against p_s (sensitivities by re-integrating with f or g^2 times 1 + 1e-4)")


# ----- 5. transition and posterior ------------------------------------------------------------------------
def _residual_variance(ctx, fit, var, parts, label, what):
    """Exact chi-square test of an OLS fit's residual sum of squares against the claimed ``variance`` of
    one cell; the cell's (SS, df, variance) joins ``parts`` for the pooled test."""
    if var is None or ctx.bad_claim("variance", var, label, positive=True):
        return
    ss = _dot(fit.resid, fit.resid)
    parts.append((ss, fit.df, var))
    ctx.add(_chi2_ss(ss, fit.df, var, alpha=ctx.alpha, name=f"{what}: chi-square of the OLS residual ({label})"),
            "variance", t=label)


def _check_path_transition(ctx: _Ctx):
    parts = []
    for label, vals, x0, xs, xt in _pair_data(ctx):
        mc, var = _claim(ctx, "mean_coef", label, **vals), _claim(ctx, "variance", label, **vals)
        if mc is None:
            continue
        r = xt - mc * xs
        fit = _ols(r, np.column_stack((np.ones_like(xs), xs)))
        ctx.add(_t_coef(fit, 1, 0.0, alpha=ctx.alpha, relative_to=mc,
                        name=f"slope of x_t - mean_coef x_s on x_s = 0 ({label})"), "mean_coef", t=label)
        _residual_variance(ctx, fit, var, parts, label, "x_t | x_s ~ N(., variance)")
    _pooled_chi2(ctx, parts, "variance", "x_t | x_s ~ N(., variance)")
    return ("pairs (x_s, x_t), x_0 in {-1000, 0, 1000}, x_s ~ q(x_s|x_0), x_t from the path's SDE (exact transition, "
            "quadrature of the proved drift and diffusion) on eight path cells and from the kernel's DDPM chain on "
            "two discrete VP pairs; r = x_t - mean_coef x_s: OLS of r on (1, x_s), exact t test of the slope "
            "(mean_coef), exact chi-square test of the residual sum of squares against the variance per cell and "
            "pooled over the cells")


def _check_path_posterior(ctx: _Ctx):
    R = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    parts = []
    for label, vals, x0, xs, xt in _pair_data(ctx):
        c = {k: _claim(ctx, k, label, **vals) for k in ("coef_x0", "coef_xt", "variance")}
        if c["coef_x0"] is None or c["coef_xt"] is None:
            continue
        r = xs - c["coef_xt"] * xt - c["coef_x0"] * x0
        X = np.column_stack((np.ones_like(xt), xt, x0))
        fit = _ols(r, X)
        xtx = np.linalg.inv(fit.xtx_inv)  # X'X (3 x 3; BLAS on the rows is slow under load)
        F = S.f_test(fit, R, np.zeros(2), alpha=ctx.alpha,
                     name=f"r = x_s - coef_xt x_t - coef_x0 x_0 has no slope on (x_t, x_0) (F, {label})")
        F.mde_at = lambda a, n=fit.n: _unit_mde("F", n, a, (2, 3))
        fu_xt = _t_coef(fit, 1, 0.0, alpha=ctx.alpha, relative_to=c["coef_xt"],
                        name=f"follow-up: slope of r on x_t = 0 ({label})")
        fu_x0 = _t_coef(fit, 2, 0.0, alpha=ctx.alpha, relative_to=c["coef_x0"],
                        name=f"follow-up: slope of r on x_0 = 0 ({label})")
        sens = {}
        for j, slot in ((1, "coef_xt"), (2, "coef_x0")):
            if c[slot] != 0:
                direction = np.zeros(3)
                direction[j] = c[slot]  # a relative error delta of the slot moves the slope by -delta * slot
                sens[slot] = (lambda lv, fit=fit, xtx=xtx, d=direction: _f_relative_mde(fit, xtx, R, d, lv))
        ctx.add(F, None, sens=sens, follow_ups=[(fu_xt, "coef_xt"), (fu_x0, "coef_x0")], t=label)
        _residual_variance(ctx, fit, c["variance"], parts, label, "x_s | x_t, x_0 ~ N(., variance)")
    _pooled_chi2(ctx, parts, "variance", "x_s | x_t, x_0 ~ N(., variance)")
    return ("the same design as path_transition (x_0 in {-1000, 0, 1000}; eight path pairs and two discrete VP pairs "
            "with a_{t|s} s_s / s_{t|s} ~ 1, where both coefficients are measurable); r = x_s - coef_xt x_t - "
            "coef_x0 x_0 is N(0, variance) given (x_t, x_0) under the claim: per cell OLS of r on (1, x_t, x_0), exact "
            "F test that both slopes are 0 with t follow-ups that blame coef_xt or coef_x0, exact chi-square of the "
            "residual sum of squares against the variance, per cell and pooled")


# ----- 6. the DDIM family -------------------------------------------------------------------------------
#: the DDIM grids on the continuous paths (times from high noise to low; step k lands on taus[k])
DDIM_TAUS = {"vp_cosine": (0.95, 0.8, 0.6, 0.4, 0.2, 0.05), "ve_edm": (80.0, 20.0, 5.0, 1.0, 0.2, 0.02),
             "flow": (1.0, 0.8, 0.6, 0.4, 0.2, 0.05)}


def _ddim_grids(ctx):
    """(label, [(a, s), ...] from high noise to low) for four paths."""
    out = []
    T = ctx.schedule.T
    ts = sorted({int(round(u)) for u in np.linspace(T, 1, 6)}, reverse=True)
    ab = ctx.schedule.alpha_bar(np.asarray(ts))
    out.append((f"VP {ctx.schedule.name} t={ts}", [(math.sqrt(u), math.sqrt(1 - u)) for u in ab]))
    for path, taus in DDIM_TAUS.items():
        out.append((f"{path} tau={taus}", [_ab(path, u) for u in taus]))
    return out


def _check_ddim_marginal(ctx: _Ctx):
    post_var = _proved("path_posterior", "variance")
    x0 = _wide_x0(ctx.n)
    X = np.column_stack((np.ones_like(x0), x0))
    by_step: dict = {}
    for label, grid in _ddim_grids(ctx):
        for eta in ETAS:
            a0, s0 = grid[0]
            x = a0 * x0 + s0 * ctx.normal(x0.size)
            ctx.samples += x0.size
            for step, ((a_t, s_t), (a_s, s_s)) in enumerate(zip(grid[:-1], grid[1:]), start=1):
                sig = eta * math.sqrt(float(post_var(a_t=a_t, s_t=s_t, a_s=a_s, s_s=s_s)))
                cell = f"{label.split(' ')[0]} eta={eta:g} step {step}"
                cx = _claim(ctx, "coef_x0", cell, a_s=a_s, s_s=s_s, sigma_ddim=sig)
                ce = _claim(ctx, "coef_eps", cell, a_s=a_s, s_s=s_s, sigma_ddim=sig)
                if cx is None or ce is None:
                    break
                eps_hat = (x - a_t * x0) / s_t
                mean = cx * x0 + ce * eps_hat          # E[x_s | x_t, x_0]: the update without its fresh noise
                target = s_s * s_s - sig * sig
                degenerate = target <= 1e-12 * s_s * s_s  # sigma_s = s_s (eta = 1 from a = 0): coef_eps = 0 here
                if degenerate:  # nothing to integrate out: test the sampled x_s itself
                    x = mean + sig * ctx.normal(x0.size)
                # Rao-Blackwellised: x_s | x_0 ~ N(a_s x_0, s_s^2) iff mean | x_0 ~ N(a_s x_0, s_s^2 - sigma_s^2)
                fit = _ols(x if degenerate else mean, X)
                ctx.add(_t_coef(fit, 1, a_s, alpha=ctx.alpha,
                                name=f"E[x_s|x_0] = a_s x_0: slope on x_0 of "
                                           f"{'x_s' if degenerate else 'E[x_s|x_t, x_0]'} ({cell})"),
                        "coef_x0", t=cell)
                ss = _dot(fit.resid, fit.resid)
                if degenerate:
                    ctx.add(_chi2_ss(ss, fit.df, s_s * s_s, alpha=ctx.alpha,
                                     name=f"Var[x_s|x_0] = s_s^2 (OLS residual; coef_eps = 0 here, {cell})"),
                            None, t=cell)
                    continue
                by_step.setdefault(step, []).append((ss, fit.df, target))
                ctx.add(_chi2_ss(ss, fit.df, target, alpha=ctx.alpha,
                                 name=f"Var[x_s|x_0] = s_s^2: Var[E[x_s|x_t, x_0] | x_0] = s_s^2 - sigma_s^2 "
                                            f"(OLS residual, {cell})"), "coef_eps", 2.0, t=cell)
                x = mean + sig * ctx.normal(x0.size)   # the chain continues with the sampled x_s
    for step, parts in sorted(by_step.items()):
        _pooled_chi2(ctx, parts, "coef_eps", f"Var[E[x_s|x_t, x_0] | x_0] = s_s^2 - sigma_s^2 at step {step}", 2.0)
    return ("DDIM chains of 5 steps (x_0 in {-1000, 0, 1000}, x_T ~ q(x_T|x_0)) on the discrete VP schedule, VP cosine, "
            "VE/EDM (80 -> 0.02) and rectified flow, for eta in {0, 0.5, 1} (sigma_s = eta sqrt(proved posterior "
            "variance)); the update uses the claimed coef_x0, coef_eps with the inference distribution's x_0. After "
            "every step, Rao-Blackwellised in the step's fresh noise: the update's exact conditional mean "
            "m = coef_x0 x_0 + coef_eps eps_hat is regressed on (1, x_0): exact t test of the slope a_s (coef_x0) and "
            "exact chi-square of the residual sum of squares against s_s^2 - sigma_s^2 (lemma 1; coef_eps, whose "
            "relative error doubles the variance's: MDE halved, at every eta), per cell and pooled per step over the "
            "twelve independent chains")


# ----- 7. exact solutions ---------------------------------------------------------------------------------
def _check_ddim_exact(ctx: _Ctx):
    n = ctx.n
    for path, ts, tt in PAIRS:
        label = _label(path, ts, tt)
        vals = _pair_values(path, ts, tt)
        cx, c0 = _claim(ctx, "coef_xt", label, **vals), _claim(ctx, "coef_x0", label, **vals)
        if cx is None or c0 is None:
            continue
        c = {"coef_xt": cx, "coef_x0": c0}
        f, g2 = _proved_sde(path)
        a_f, s_f = _ab_functions(path)
        for m in (0.7, -2.0):
            # point-mass data: grad log p = (a m - x)/s^2 exactly, so the PF-ODE solution is the oracle
            def score_affine(u, m=m):
                a_, s_ = a_f(u), s_f(u)
                return -1.0 / (s_ * s_), a_ * m / (s_ * s_)
            al, be = _pf_ode_affine(f, g2, score_affine, tt, ts)
            xt = vals["a_t"] * m + vals["s_t"] * ctx.normal(n)
            ctx.samples += n

            def ddim(mu, xt=xt, m=m):
                return cx * mu.get("coef_xt", 1.0) * xt + c0 * mu.get("coef_x0", 1.0) * m
            slots = _nonzero(c, ("coef_xt", "coef_x0"))
            _det(ctx, f"DDIM eta=0 = exact PF-ODE solution, point mass at {m:g} ({label})",
                 lambda mu, xt=xt, al=al, be=be, ddim=ddim: _rel(ddim(mu), al * xt + be), _ODE_TOL,
                 slots=slots, t=label, m=m)
            # DPM-Solver++(1) and Euler in sigma = s/a on x/a, from their papers, with x0_hat = m
            h = math.log(vals["a_s"] / vals["s_s"]) - math.log(vals["a_t"] / vals["s_t"])
            dpm = vals["s_s"] / vals["s_t"] * xt - vals["a_s"] * math.expm1(-h) * m
            sig_t, sig_s = vals["s_t"] / vals["a_t"], vals["s_s"] / vals["a_s"]
            y = xt / vals["a_t"]
            euler = vals["a_s"] * (y + (sig_s - sig_t) * (y - m) / sig_t)
            _det(ctx, f"DDIM eta=0 = DPM-Solver++(1) ({label}, m={m:g})",
                 lambda mu, dpm=dpm, ddim=ddim: _rel(ddim(mu), dpm), _DET_TOL, slots=slots, t=label, m=m)
            _det(ctx, f"DDIM eta=0 = Euler in sigma on x/a ({label}, m={m:g})",
                 lambda mu, euler=euler, ddim=ddim: _rel(ddim(mu), euler), _DET_TOL, slots=slots, t=label, m=m)
    return ("point-mass data at m in {0.7, -2}: x_t ~ q(x_t), the PF-ODE (proved drift and diffusion, exact score) solved "
            "from t to s by quadrature (rtol 1e-12) against one claimed DDIM eta = 0 step (rel. 1e-7); DPM-Solver++(1) and "
            "Euler in sigma = s/a on x/a computed from their papers against the same step (rel. 1e-9); deterministic "
            "gates, each slot's MDE the smallest relative error of it that fails a gate on the same probes")


# ----- 8. reparameterisations and the shift -----------------------------------------------------------------
def _check_path_reparam(ctx: _Ctx):
    x0 = _wide_x0(ctx.n)
    X = np.column_stack((np.ones_like(x0), x0))
    ve_parts, flow_parts = [], []
    for path, _, tt in PAIRS:
        a, s = _ab(path, tt)
        vals = {"a_t": a, "s_t": s}
        label = f"{path} tau={tt:g}"
        xt = a * x0 + s * ctx.normal(x0.size)
        ctx.samples += x0.size
        c = {k: _claim(ctx, k, label, **vals) for k in ("ve_scale", "ve_sigma", "flow_scale", "flow_tau")}
        if c["ve_scale"] is not None:
            fit = _ols(c["ve_scale"] * xt, X)
            ctx.add(_t_coef(fit, 1, 1.0, alpha=ctx.alpha, name=f"x_t/a on x_0: slope 1 ({label})"),
                    "ve_scale", t=label)
            if c["ve_sigma"] is not None and not ctx.bad_claim("ve_sigma", c["ve_sigma"], label, positive=True):
                ss = _dot(fit.resid, fit.resid)
                ve_parts.append((ss, fit.df, c["ve_sigma"] ** 2))
                ctx.add(_chi2_ss(ss, fit.df, c["ve_sigma"] ** 2, alpha=ctx.alpha,
                                 name=f"x_t/a = x_0 + sigma eps: residual variance sigma^2 ({label})"),
                        "ve_sigma", 2.0, t=label)
        if c["flow_scale"] is not None:
            fs = c["flow_scale"]
            fit = _ols(fs * xt, X)
            # x_t/(a + s) = (1 - tau) x_0 + tau eps: the x_0 coefficient fs a and the eps coefficient fs s sum to 1
            ctx.add(_t_coef(fit, 1, 1.0 - fs * s, alpha=ctx.alpha, relative_to=1.0,
                            name=f"x_t/(a + s) on x_0: slope 1 - flow_scale s ({label})"), "flow_scale", t=label)
            if c["flow_tau"] is not None and not ctx.bad_claim("flow_tau", c["flow_tau"], label, positive=True):
                ss = _dot(fit.resid, fit.resid)
                flow_parts.append((ss, fit.df, c["flow_tau"] ** 2))
                ctx.add(_chi2_ss(ss, fit.df, c["flow_tau"] ** 2, alpha=ctx.alpha,
                                 name=f"x_t/(a + s): residual variance tau^2 ({label})"), "flow_tau", 2.0, t=label)
    _pooled_chi2(ctx, ve_parts, "ve_sigma", "x_t/a = x_0 + sigma eps: residual variance sigma^2", 2.0)
    _pooled_chi2(ctx, flow_parts, "flow_tau", "x_t/(a + s): residual variance tau^2", 2.0)
    grid = np.linspace(0.01, 0.99, 99)
    for k in (1.0, 3.0, 6.0):
        shifted = ctx.claim("shift", 1, tau=grid, k=k)
        if ctx.bad_claim("shift", shifted, f"k={k:g}"):
            continue

        def ratio_err(mu, shifted=shifted, k=k):
            sh = shifted * mu.get("shift", 1.0)
            with np.errstate(all="ignore"):
                return _rel(((1 - sh) / sh * k) / ((1 - grid) / grid), 1.0)
        _det(ctx, f"shift: (1 - tau')/tau' = (1 - tau)/(k tau) on 99 taus (k={k:g})", ratio_err, _DET_TOL,
             "shift", slots=("shift",), t=f"k={k:g}")
        mono = bool(np.all(np.diff(shifted) > 0) and shifted[0] > 0 and shifted[-1] < 1)
        ctx.add(S.exact_check(f"shift: increasing map of (0, 1) into itself (k={k:g})", mono, float(mono),
                              alpha=ctx.alpha, tolerance=0.0, units="deterministic"), None, t=f"k={k:g}")
    return ("x_0 in {-1000, 0, 1000}, x_t = a x_0 + s eps on seven path cells; OLS of the rescaled x_t on (1, x_0): "
            "exact t tests of the slope (1 for x/a: ve_scale; 1 - flow_scale s for x/(a + s), i.e. the flow form's two "
            "coefficients sum to 1: flow_scale, so an error in tau is not blamed on the scale) and exact chi-square "
            "tests of the residual variance (sigma^2, tau^2; MDE halved into a relative error of sigma, tau), per "
            "cell and pooled; the shift checked on 99 taus for k = 1, 3, 6 (log-SNR moves by -log k, increasing) by "
            "deterministic gates, the shift's MDE the smallest relative error of it that fails them")


# ----- 9. Gaussian data ---------------------------------------------------------------------------------------
def _check_path_gaussian_data(ctx: _Ctx):
    n = ctx.n
    parts = []
    for i_pair, (path, ts, tt) in enumerate(PAIRS):
        label = _label(path, ts, tt)
        vals = _pair_values(path, ts, tt)
        f, g2 = _proved_sde(path)
        a_f, s_f = _ab_functions(path)
        for m, v in (GAUSSIAN_DATA[i_pair % len(GAUSSIAN_DATA)],):
            cell = f"{label}, N({m:g}, {v:g})"
            x0 = m + math.sqrt(v) * ctx.normal(n)
            xt = vals["a_t"] * x0 + vals["s_t"] * ctx.normal(n)
            ctx.samples += n
            at = dict(vals, m=m, v=v)
            den = ctx.claim("denoiser", 1, x_t=xt, **at)
            pv = _claim(ctx, "posterior_variance", cell, **at)
            if not ctx.bad_claim("denoiser", den, cell):
                # x_0 | x_t ~ N(denoiser, posterior_variance): r = x_0 - denoiser has mean 0 given x_t, so OLS of r
                # on the claimed denoiser itself (no intercept) has coefficient 0 (exact t); a relative error delta
                # of the slot moves it to -delta
                r = x0 - den
                fit = _ols(r, den[:, None])
                ctx.add(_t_coef(fit, 0, 0.0, alpha=ctx.alpha, relative_to=1.0,
                                name=f"x_0 - denoiser(x_t) has no component along denoiser(x_t) ({cell})"),
                        "denoiser", t=cell)
                if pv is not None and not ctx.bad_claim("posterior_variance", pv, cell, positive=True):
                    ss = _dot(fit.resid, fit.resid)
                    parts.append((ss, fit.df, pv))
                    ctx.add(_chi2_ss(ss, fit.df, pv, alpha=ctx.alpha,
                                     name=f"x_0 - denoiser ~ N(0, posterior_variance): OLS residual ({cell})"),
                            "posterior_variance", t=cell)
            V_t = vals["a_t"] ** 2 * v + vals["s_t"] ** 2
            sc = ctx.claim("score", 1, x_t=xt[:1000], **at)
            if not ctx.bad_claim("score", sc, cell):
                h = 1e-5 * math.sqrt(V_t)
                mu, sd = vals["a_t"] * m, math.sqrt(V_t)
                fd = (stats.norm.logpdf(xt[:1000] + h, mu, sd) - stats.norm.logpdf(xt[:1000] - h, mu, sd)) / (2 * h)
                _det(ctx, f"score = d/dx log N(x; a m, a^2 v + s^2) (finite difference, {cell})",
                     lambda mlt, sc=sc, fd=fd: _rel(sc * mlt.get("score", 1.0), fd), _FD_TOL, "score",
                     slots=("score",), t=cell)
            xs = ctx.claim("pf_ode_solution", 1, x_t=xt, **at)
            if ctx.bad_claim("pf_ode_solution", xs, cell):
                continue

            def score_affine(u, m=m, v=v):
                a_, s_ = a_f(u), s_f(u)
                V = a_ * a_ * v + s_ * s_
                return -1.0 / V, a_ * m / V
            al, be = _pf_ode_affine(f, g2, score_affine, tt, ts)
            _det(ctx, f"closed form = PF-ODE solved by quadrature ({cell})",
                 lambda mlt, xs=xs, xt=xt, al=al, be=be: _rel(xs[:1000] * mlt.get("pf_ode_solution", 1.0),
                                                              al * xt[:1000] + be), _ODE_TOL,
                 "pf_ode_solution", slots=("pf_ode_solution",), t=cell)
            ctx.add(_mean_test(xs, vals["a_s"] * m, alpha=ctx.alpha, name=f"E[x_s] = a_s m ({cell})"),
                    "pf_ode_solution", abs(vals["a_s"] * m), t=cell)
            ctx.add(_chi2_var(xs, vals["a_s"] ** 2 * v + vals["s_s"] ** 2, alpha=ctx.alpha, mean=vals["a_s"] * m,
                              name=f"Var[x_s] = a_s^2 v + s_s^2 ({cell})"), "pf_ode_solution", 2.0, t=cell)
    _pooled_chi2(ctx, parts, "posterior_variance", "x_0 - denoiser ~ N(0, posterior_variance)")
    return ("x_0 ~ N(m, v), (1, 1/4) and (-2, 2) in turn on the seven path cells, x_t = a x_0 + s eps; r = x_0 - denoiser(x_t): "
            "OLS of r on the claimed denoiser (no intercept; under the claim r is N(0, posterior_variance) given x_t): "
            "exact t test of its coefficient (a relative error of the denoiser moves it by minus that error) and exact "
            "chi-square of the residual sum of squares against the posterior variance, per cell and pooled; the score "
            "against central differences of the Gaussian log density (gate, rel. 1e-6); the PF-ODE closed form "
            "against quadrature of the ODE (proved drift and diffusion, gate, rel. 1e-7; the gates' MDEs derived from "
            "their tolerances) and, as a map of samples, exact t and chi-square tests that it carries p_t onto p_s")


CHECKS = {
    "path_conversions": _check_path_conversions,
    "path_score": _check_path_score,
    "path_velocity": _check_path_velocity,
    "path_pf_ode": _check_path_pf_ode,
    "path_transition": _check_path_transition,
    "path_posterior": _check_path_posterior,
    "ddim_marginal": _check_ddim_marginal,
    "ddim_exact": _check_ddim_exact,
    "path_reparam": _check_path_reparam,
    "path_gaussian_data": _check_path_gaussian_data,
}
# DEFAULT_SAMPLES (rows per cell), STREAMS (9..18) and ASYMPTOTIC ("path_score") are entries of the tables in base.py
