"""Sampling designs of the Gaussian-path identities (mirrors :mod:`proofs.paths`).

Every claimed quantity is a slot of a :mod:`proofs.paths` identity evaluated with
:func:`proofs.paths.path_function` (lambdify of the proved expression, or of the user's claim);
closed forms a design needs from *another* identity (the drift and diffusion of ``path_pf_ode``, the
posterior variance of ``path_posterior``, the Gaussian score) are that identity's proved slots, never
retyped. Draws come from the torch kernel's generators (``ctx.normal``, float64), the DDPM chain of
the kernel (``forward_chain``) for the discrete VP cells.

Cells. Pairs of times s < t on five concrete paths (:data:`proofs.paths.PATHS`): VP cosine
(tau 0.3 -> 0.7), VP linear (Song et al., 0.2 -> 0.6), VE/EDM (sigma 0.5 -> 2 and 2 -> 80),
rectified flow (0.25 -> 0.75, and the close pair 0.5 -> 0.55 where the posterior's coef_xt is near 1
and measurable to a few percent) and SD3-shifted flow (k = 3, 0.2 -> 0.6), and, where the identity is
about a Markov pair, the discrete VP schedule of the run (``ctx.schedule``: t = T/10 -> T/2 and
T/2 -> T - 1 through the DDPM chain). Data x_0 in {0, 1, -3, 10} (rows per value), or Gaussian data
N(1, 1/4) and N(-2, 2), or the Gaussian mixture of :mod:`montecarlo.designs.base`.

Tests (alpha family-wise, Holm): exact t tests, OLS t tests and chi-square tests wherever the data
are Gaussian (every design but ``path_score``, whose moment conditions on mixture data are CLT z
tests); deterministic checks (float64 identities on samples, finite differences, ODE quadrature with
rtol 1e-12) for the algebraic identities, each with its tolerance as its MDE.
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp
from scipy import integrate, stats

from proofs import paths as P

from .base import MIX_MU, MIX_SD, TEST_FUNCTIONS, S, _Ctx, _mixture, _mixture_score

_IDENTITIES = {i.id: i for i in P.IDENTITIES}
X0_PATHS = (0.0, 1.0, -3.0, 10.0)
#: (path, tau_s, tau_t), s < t
PAIRS = (("vp_cosine", 0.3, 0.7), ("vp_linear", 0.2, 0.6), ("ve_edm", 0.5, 2.0), ("ve_edm", 2.0, 80.0),
         ("flow", 0.25, 0.75), ("flow", 0.5, 0.55), ("flow_shift3", 0.2, 0.6))
GAUSSIAN_DATA = ((1.0, 0.25), (-2.0, 2.0))
ETAS = (0.0, 0.5, 1.0)
IDS = ("path_conversions", "path_score", "path_velocity", "path_pf_ode", "path_transition", "path_posterior",
       "ddim_marginal", "ddim_exact", "path_reparam", "path_gaussian_data")
_DET_TOL = 1e-9     # float64 identities on samples (relative)
_FD_TOL = 1e-6      # central finite differences (relative)
_ODE_TOL = 1e-7     # ODE quadrature at rtol 1e-12 (relative)


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


def _proved(identity, slot, path=None):
    return P.path_function(_IDENTITIES[identity].slots[slot], path)


_AB: dict = {}


def _ab_functions(path):
    """Float functions tau -> a(tau), s(tau) of a concrete path (lambdified once)."""
    if path not in _AB:
        a_, s_, _ = P.PATHS[path]
        fa, fs = P.path_function(a_(P.tau)), P.path_function(s_(P.tau))
        _AB[path] = (lambda u: float(fa(tau=u))), (lambda u: float(fs(tau=u)))
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


def _det(ctx, name, err, tol, slot=None, **info):
    err = float(err) if np.isfinite(err) else math.inf
    ctx.add(S.exact_check(f"{name} (max relative error {err:.3g})", err <= tol, err, alpha=ctx.alpha,
                          tolerance=tol, units="relative error"), slot, **info)


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(all="ignore"):
        err = np.max(np.abs(a - b)) / (1.0 + np.max(np.abs(b)))
    return float(err) if np.isfinite(err) else math.inf


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


def _proved_sde(path):
    f = _proved("path_pf_ode", "drift", path)
    g2 = _proved("path_pf_ode", "diffusion2", path)
    return (lambda tt: float(f(tau=tt))), (lambda tt: float(g2(tau=tt)))


# ----- data for the Markov pairs (transition, posterior) --------------------------------------------
def _vp_pairs(ctx):
    T = ctx.schedule.T
    pairs = [(T // 10, T // 2), (T // 2, T - 1)] if T >= 20 else [(1, T)] if T >= 2 else []
    return [(s, t) for s, t in pairs if 1 <= s < t <= T]


def _pair_data(ctx):
    """Yield (label, values, x0 rows, x_s, x_t, rows per x0): x_s ~ q(x_s|x_0) (the path) and x_t from the
    exact transition of the path's SDE (proved drift and diffusion of path_pf_ode, by quadrature) on the
    continuous paths; from the kernel's DDPM chain on the run's discrete VP schedule."""
    n = ctx.n
    x0 = np.repeat(np.asarray(X0_PATHS), n)
    for path, ts, tt in PAIRS:
        vals = _pair_values(path, ts, tt)
        f, g2 = _proved_sde(path)
        phi, q = _sde_transition(f, g2, ts, tt)
        xs = vals["a_s"] * x0 + vals["s_s"] * ctx.normal(x0.size)
        xt = phi * xs + math.sqrt(q) * ctx.normal(x0.size)
        ctx.samples += x0.size
        yield _label(path, ts, tt), vals, x0, xs, xt, n
    import torch
    for g, (s, t) in enumerate(_vp_pairs(ctx)):
        ab = ctx.schedule.alpha_bar(np.array([s, t]))
        vals = {"a_s": math.sqrt(ab[0]), "s_s": math.sqrt(1 - ab[0]), "a_t": math.sqrt(ab[1]), "s_t": math.sqrt(1 - ab[1])}
        rows = max(n // 25, 100)  # the DDPM chain draws t normals per row: fewer rows keep it cheap
        x0v = np.repeat(np.asarray(X0_PATHS), rows)
        out = ctx.chain(x0v[:, None].copy(), [s, t], torch.float64, 100 + g)
        yield f"VP {ctx.schedule.name} t={s}->{t}", vals, x0v, out[s][:, 0], out[t][:, 0], rows


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
        _det(ctx, f"x_0 = x0_coef_xt x_t + x0_coef_eps eps ({label})",
             _rel(c["x0_coef_xt"] * xt + c["x0_coef_eps"] * eps, x0), _DET_TOL, t=label)
        v = c["v_coef_eps"] * eps + c["v_coef_x0"] * x0
        _det(ctx, f"x_0 from (x_t, v) ({label})", _rel(c["x0_from_v_coef_xt"] * xt + c["x0_from_v_coef_v"] * v, x0),
             _DET_TOL, t=label)
        _det(ctx, f"eps from (x_t, v) ({label})", _rel(c["eps_from_v_coef_xt"] * xt + c["eps_from_v_coef_v"] * v, eps),
             _DET_TOL, t=label)
        if path.startswith("vp"):  # Salimans & Ho: v = d x / d phi with a = cos phi, s = sin phi
            phi, h = math.atan2(s, a), 1e-5
            fd = ((math.cos(phi + h) - math.cos(phi - h)) * x0 + (math.sin(phi + h) - math.sin(phi - h)) * eps) / (2 * h)
            _det(ctx, f"VP: v = dx/dphi, phi = atan(s/a) (finite difference, {label})", _rel(v, fd), _FD_TOL, t=label)
    return ("x_0 ~ 3 N(0, 1), eps ~ N(0, 1), x_t = a x_0 + s eps on six path cells; deterministic float64 checks "
            "that the claimed conversions recover x_0 and eps (rel. 1e-9), and on VP paths v = dx/dphi by central "
            "differences (rel. 1e-6)")


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
                 _rel(cs * eps[:1000], fd), _FD_TOL, t=label)
        score = _mixture_score(xt, mean_scale=a, var_scale=a * a, var_add=s * s)
        v_k = a * a * MIX_SD[k] ** 2 + s * s
        x0_rb = MIX_MU[k] + a * MIX_SD[k] ** 2 * (xt - a * MIX_MU[k]) / v_k   # E[x_0 | x_t, k]
        eps_rb = s * (xt - a * MIX_MU[k]) / v_k                               # E[eps | x_t, k]
        for gname, g in TEST_FUNCTIONS.items():
            gx = g(xt)
            if tw is not None:
                ctx.add(S.z_test_mean((x0_rb - (xt + tw * score) / a) * gx, 0.0, alpha=ctx.alpha,
                                      name=f"E[(x_0 - (x_t + tweedie_coef score)/a_t) {gname}] = 0 ({label})"),
                        "tweedie_coef", tw * float(np.mean(score * gx)) / a, t=label, g=gname)
            if sc is not None and sc != 0:
                ctx.add(S.z_test_mean((eps_rb - score / sc) * gx, 0.0, alpha=ctx.alpha,
                                      name=f"E[(eps - score/score_coef_eps) {gname}] = 0 ({label})"),
                        "score_coef_eps", float(np.mean(score * gx)) / sc, t=label, g=gname)
    return ("x_0 from the Gaussian mixture, x_t = a x_0 + s eps on six path cells, exact mixture score of p_t; z tests "
            "(asymptotic) of E[(E[x_0|x_t,k] - (x_t + tweedie_coef score)/a) g] = 0 and E[(E[eps|x_t,k] - "
            "score/score_coef_eps) g] = 0 for g in 1, x, x^2, tanh (Rao-Blackwellized in the component k); the "
            "conditional score by central differences of the Gaussian log density (rel. 1e-6)")


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
            if c["u_coef_x0"] is not None and c["u_coef_eps"] is not None:
                _det(ctx, f"u = u_coef_x0 x_0 + u_coef_eps eps = d x_tau/d tau ({label})",
                     _rel(c["u_coef_x0"] * x0 + c["u_coef_eps"] * eps, fd), _FD_TOL, t=label)
            if c["u_coef_xt"] is not None and c["u_coef_eps_hat"] is not None:
                _det(ctx, f"u = u_coef_xt x_tau + u_coef_eps_hat eps ({label})",
                     _rel(c["u_coef_xt"] * (a * x0 + s * eps) + c["u_coef_eps_hat"] * eps, fd), _FD_TOL, t=label)
    return ("x_0 ~ 3 N(0, 1), eps ~ N(0, 1) at three times on five paths; deterministic: the claimed velocity equals the "
            "central difference of x_tau = a(tau) x_0 + s(tau) eps (rel. 1e-6)")


# ----- 4. the SDE / probability-flow ODE -------------------------------------------------------------
def _check_path_pf_ode(ctx: _Ctx):
    n = ctx.n
    x0 = np.repeat(np.asarray(X0_PATHS), n)
    for path, ts, tt in PAIRS:
        label = _label(path, ts, tt)
        vals = _pair_values(path, ts, tt)
        cache: dict = {}

        def claimed(slot, tau_, path=path):
            key = (slot, tau_)
            if key not in cache:
                cache[key] = float(ctx.claim(slot, 1, path=path, tau=tau_))
            return cache[key]
        f = lambda u: claimed("drift", u)  # noqa: E731
        g2 = lambda u: claimed("diffusion2", u)  # noqa: E731
        try:
            phi, q = _sde_transition(f, g2, ts, tt)
        except (ValueError, ZeroDivisionError):
            phi, q = math.nan, math.nan
        if ctx.bad_claim("drift", phi, label) or ctx.bad_claim("diffusion2", q, label, positive=True):
            continue
        xs = vals["a_s"] * x0 + vals["s_s"] * ctx.normal(x0.size)
        xt = phi * xs + math.sqrt(q) * ctx.normal(x0.size)
        ctx.samples += x0.size
        for j, xv in enumerate(X0_PATHS):
            r = xt[j * n:(j + 1) * n] - vals["a_t"] * xv
            ctx.add(S.t_test_mean(r, 0.0, alpha=ctx.alpha, name=f"SDE: E[x_t|x_0] = a_t x_0 ({label}, x0={xv:g})"),
                    "drift", abs(vals["a_t"] * xv) or None, t=label, x0=xv)
        ctx.add(S.chi2_test_variance(xt - vals["a_t"] * x0, vals["s_t"] ** 2, alpha=ctx.alpha, mean=0.0,
                                     name=f"SDE: Var[x_t|x_0] = s_t^2 ({label})"), "diffusion2", t=label)
        # the PF-ODE, Gaussian data N(m, v), backwards from t to s with the exact Gaussian score
        m, v = GAUSSIAN_DATA[0]
        a_f, s_f = _ab_functions(path)

        def score_affine(u, m=m, v=v, a_f=a_f, s_f=s_f):
            a_, s_ = a_f(u), s_f(u)
            V = a_ * a_ * v + s_ * s_
            return -1.0 / V, a_ * m / V
        alpha_, beta_ = _pf_ode_affine(f, g2, score_affine, tt, ts)
        xt_g = vals["a_t"] * m + math.sqrt(vals["a_t"] ** 2 * v + vals["s_t"] ** 2) * ctx.normal(n)
        xs_g = alpha_ * xt_g + beta_
        ctx.samples += n
        ctx.add(S.t_test_mean(xs_g, vals["a_s"] * m, alpha=ctx.alpha, name=f"PF-ODE: E[x_s] = a_s m ({label})"),
                "drift", abs(vals["a_s"] * m), t=label, data="gaussian")
        ctx.add(S.chi2_test_variance(xs_g, vals["a_s"] ** 2 * v + vals["s_s"] ** 2, alpha=ctx.alpha, mean=vals["a_s"] * m,
                                     name=f"PF-ODE: Var[x_s] = a_s^2 v + s_s^2 ({label})"), "diffusion2", t=label, data="gaussian")
    return ("x_s ~ q(x_s|x_0) on six path cells; x_t from the exact transition of dx = f x dtau + g dW with the claimed f, "
            "g^2 (quadrature, rtol 1e-12): exact t tests of E[x_t|x_0] = a_t x_0 per x_0 and a chi-square test of "
            "Var = s_t^2; Gaussian data N(1, 1/4): x_t ~ p_t moved to s by the PF-ODE with the claimed f, g^2 and the exact "
            "score, exact t and chi-square tests against p_s")


# ----- 5. transition and posterior ------------------------------------------------------------------------
def _check_path_transition(ctx: _Ctx):
    for label, vals, x0, xs, xt, n in _pair_data(ctx):
        mc, var = _claim(ctx, "mean_coef", label, **vals), _claim(ctx, "variance", label, **vals)
        if mc is None:
            continue
        r = xt - mc * xs
        for j, xv in enumerate(X0_PATHS):
            rr, xx = r[j * n:(j + 1) * n], xs[j * n:(j + 1) * n]
            fit = S.ols(rr, np.c_[np.ones_like(xx), xx - xx.mean()])
            ctx.add(S.t_test_coef(fit, 1, 0.0, alpha=ctx.alpha, relative_to=mc,
                                  name=f"slope of x_t - mean_coef x_s on x_s = 0 ({label}, x0={xv:g})"),
                    "mean_coef", t=label, x0=xv)
            ctx.add(S.t_test_coef(fit, 0, 0.0, alpha=ctx.alpha, relative_to=mc * vals["a_s"] * xv,
                                  name=f"level of x_t - mean_coef x_s = 0 ({label}, x0={xv:g})"),
                    "mean_coef", t=label, x0=xv)
        if var is not None and not ctx.bad_claim("variance", var, label, positive=True):
            ctx.add(S.chi2_test_variance(r, var, alpha=ctx.alpha, mean=0.0,
                                         name=f"x_t - mean_coef x_s ~ N(0, variance): chi-square ({label})"),
                    "variance", t=label)
    return ("pairs (x_s, x_t) from the path's SDE (exact transition, quadrature of the proved drift and diffusion) on six "
            "path cells and from the kernel's DDPM chain on the discrete VP schedule; r = x_t - mean_coef x_s; per x_0 "
            "OLS of r on (1, x_s) with exact t tests, pooled chi-square test of Var r = variance")


def _check_path_posterior(ctx: _Ctx):
    for label, vals, x0, xs, xt, n in _pair_data(ctx):
        c = {k: _claim(ctx, k, label, **vals) for k in ("coef_x0", "coef_xt", "variance")}
        if c["coef_x0"] is None or c["coef_xt"] is None:
            continue
        r = xs - c["coef_xt"] * xt - c["coef_x0"] * x0
        for j, xv in enumerate(X0_PATHS):
            rr, xx = r[j * n:(j + 1) * n], xt[j * n:(j + 1) * n]
            fit = S.ols(rr, np.c_[np.ones_like(xx), xx - xx.mean()])
            ctx.add(S.t_test_coef(fit, 1, 0.0, alpha=ctx.alpha, relative_to=c["coef_xt"],
                                  name=f"slope of r on x_t = 0 ({label}, x0={xv:g})"), "coef_xt", t=label, x0=xv)
            ctx.add(S.t_test_coef(fit, 0, 0.0, alpha=ctx.alpha, relative_to=c["coef_x0"] * xv,
                                  name=f"level of r = 0 ({label}, x0={xv:g})"), "coef_x0", t=label, x0=xv)
        if c["variance"] is not None and not ctx.bad_claim("variance", c["variance"], label, positive=True):
            ctx.add(S.chi2_test_variance(r, c["variance"], alpha=ctx.alpha, mean=0.0,
                                         name=f"r ~ N(0, variance): chi-square ({label})"), "variance", t=label)
    return ("the same (x_0, x_s, x_t) as path_transition; r = x_s - coef_xt x_t - coef_x0 x_0 is N(0, variance) and "
            "independent of x_t under the claim: per x_0 OLS of r on (1, x_t) with exact t tests, pooled chi-square")


# ----- 6. the DDIM family -------------------------------------------------------------------------------
def _ddim_grids(ctx):
    """(label, [(a, s), ...] from high noise to low) for four paths."""
    out = []
    T = ctx.schedule.T
    ts = sorted({int(round(u)) for u in np.linspace(T, 1, 6)}, reverse=True)
    ab = ctx.schedule.alpha_bar(np.asarray(ts))
    out.append((f"VP {ctx.schedule.name} t={ts}", [(math.sqrt(u), math.sqrt(1 - u)) for u in ab]))
    for path, taus in (("vp_cosine", (0.95, 0.8, 0.6, 0.4, 0.2, 0.05)), ("ve_edm", (80.0, 20.0, 5.0, 1.0, 0.2, 0.02)),
                       ("flow", (1.0, 0.8, 0.6, 0.4, 0.2, 0.05))):
        out.append((f"{path} tau={taus}", [_ab(path, u) for u in taus]))
    return out


def _check_ddim_marginal(ctx: _Ctx):
    n = ctx.n
    post_var = _proved("path_posterior", "variance")
    x0v = X0_PATHS[:3]
    x0 = np.repeat(np.asarray(x0v), n)
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
                x = cx * x0 + ce * eps_hat + sig * ctx.normal(x0.size)
                fit = S.ols(x, np.c_[np.ones_like(x0), x0])  # x_s | x_0 ~ N(a_s x_0, s_s^2): exact OLS
                ctx.add(S.t_test_coef(fit, 1, a_s, alpha=ctx.alpha, name=f"E[x_s|x_0] = a_s x_0: slope ({cell})"),
                        "coef_x0", t=cell)
                ctx.add(S.t_test_coef(fit, 0, 0.0, alpha=ctx.alpha, relative_to=a_s,
                                      name=f"E[x_s|x_0] = a_s x_0: intercept 0 ({cell})"), None, t=cell)
                ctx.add(S.chi2_test_variance(x - a_s * x0, s_s * s_s, alpha=ctx.alpha, mean=0.0,
                                             name=f"Var[x_s|x_0] = s_s^2 ({cell})"), "coef_eps", 2.0, t=cell)
    return ("DDIM chains of 5 steps (x_0 in {0, 1, -3}, x_T ~ q(x_T|x_0)) on the discrete VP schedule, VP cosine, "
            "VE/EDM (80 -> 0.02) and rectified flow, for eta in {0, 0.5, 1} (sigma_s = eta sqrt(proved posterior "
            "variance)); the update uses the claimed coef_x0, coef_eps with the inference distribution's x_0; after "
            "every step OLS of x_s on (1, x_0) with exact t tests (slope a_s, intercept 0) and a chi-square test of "
            "Var = s_s^2 (lemma 1); the "
            "variance test's MDE is halved into a relative error of coef_eps (exact at eta = 0)")


# ----- 7. exact solutions ---------------------------------------------------------------------------------
def _check_ddim_exact(ctx: _Ctx):
    n = ctx.n
    for path, ts, tt in PAIRS:
        label = _label(path, ts, tt)
        vals = _pair_values(path, ts, tt)
        cx, c0 = _claim(ctx, "coef_xt", label, **vals), _claim(ctx, "coef_x0", label, **vals)
        if cx is None or c0 is None:
            continue
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
            ddim = cx * xt + c0 * m
            _det(ctx, f"DDIM eta=0 = exact PF-ODE solution, point mass at {m:g} ({label})", _rel(ddim, al * xt + be),
                 _ODE_TOL, "coef_xt", t=label, m=m)
            # DPM-Solver++(1) and Euler in sigma = s/a on x/a, from their papers, with x0_hat = m
            h = math.log(vals["a_s"] / vals["s_s"]) - math.log(vals["a_t"] / vals["s_t"])
            dpm = vals["s_s"] / vals["s_t"] * xt - vals["a_s"] * math.expm1(-h) * m
            sig_t, sig_s = vals["s_t"] / vals["a_t"], vals["s_s"] / vals["a_s"]
            y = xt / vals["a_t"]
            euler = vals["a_s"] * (y + (sig_s - sig_t) * (y - m) / sig_t)
            _det(ctx, f"DDIM eta=0 = DPM-Solver++(1) ({label}, m={m:g})", _rel(ddim, dpm), _DET_TOL, "coef_x0", t=label, m=m)
            _det(ctx, f"DDIM eta=0 = Euler in sigma on x/a ({label}, m={m:g})", _rel(ddim, euler), _DET_TOL, "coef_x0",
                 t=label, m=m)
    return ("point-mass data at m in {0.7, -2}: x_t ~ q(x_t), the PF-ODE (proved drift and diffusion, exact score) solved "
            "from t to s by quadrature (rtol 1e-12) against one claimed DDIM eta = 0 step (rel. 1e-7); DPM-Solver++(1) and "
            "Euler in sigma = s/a on x/a computed from their papers against the same step (rel. 1e-9)")


# ----- 8. reparameterisations and the shift -----------------------------------------------------------------
def _check_path_reparam(ctx: _Ctx):
    n = ctx.n
    for path, _, tt in PAIRS:
        a, s = _ab(path, tt)
        vals = {"a_t": a, "s_t": s}
        label = f"{path} tau={tt:g}"
        x0, eps = 3.0 * ctx.normal(n), ctx.normal(n)
        xt = a * x0 + s * eps
        ctx.samples += n
        c = {k: _claim(ctx, k, label, **vals) for k in ("ve_scale", "ve_sigma", "flow_scale", "flow_tau")}
        X = np.c_[np.ones(n), x0]
        if c["ve_scale"] is not None:
            fit = S.ols(c["ve_scale"] * xt, X)
            ctx.add(S.t_test_coef(fit, 1, 1.0, alpha=ctx.alpha, name=f"x_t/a on x_0: slope 1 ({label})"),
                    "ve_scale", t=label)
            if c["ve_sigma"] is not None and not ctx.bad_claim("ve_sigma", c["ve_sigma"], label, positive=True):
                ctx.add(S.chi2_from_ss(float(fit.resid @ fit.resid), fit.df, c["ve_sigma"] ** 2, alpha=ctx.alpha,
                                       name=f"x_t/a = x_0 + sigma eps: residual variance sigma^2 ({label})"),
                        "ve_sigma", 2.0, t=label)
        if c["flow_scale"] is not None and c["flow_tau"] is not None:
            fit = S.ols(c["flow_scale"] * xt, X)
            ctx.add(S.t_test_coef(fit, 1, 1.0 - c["flow_tau"], alpha=ctx.alpha,
                                  name=f"x_t/(a + s) on x_0: slope 1 - tau ({label})"), "flow_scale", t=label)
            if not ctx.bad_claim("flow_tau", c["flow_tau"], label, positive=True):
                ctx.add(S.chi2_from_ss(float(fit.resid @ fit.resid), fit.df, c["flow_tau"] ** 2, alpha=ctx.alpha,
                                       name=f"x_t/(a + s): residual variance tau^2 ({label})"), "flow_tau", 2.0, t=label)
    grid = np.linspace(0.01, 0.99, 99)
    for k in (1.0, 3.0, 6.0):
        shifted = ctx.claim("shift", 1, tau=grid, k=k)
        if ctx.bad_claim("shift", shifted, f"k={k:g}"):
            continue
        with np.errstate(all="ignore"):
            snr_ratio = ((1 - shifted) / shifted * k) / ((1 - grid) / grid)
        _det(ctx, f"shift: (1 - tau')/tau' = (1 - tau)/(k tau) on 99 taus (k={k:g})", _rel(snr_ratio, 1.0), _DET_TOL,
             "shift", t=f"k={k:g}")
        mono = bool(np.all(np.diff(shifted) > 0) and shifted[0] > 0 and shifted[-1] < 1)
        ctx.add(S.exact_check(f"shift: increasing map of (0, 1) into itself (k={k:g})", mono, float(mono),
                              alpha=ctx.alpha, tolerance=0.0, units="deterministic"), None, t=f"k={k:g}")
    return ("x_0 ~ 3 N(0, 1), x_t = a x_0 + s eps on six path cells; OLS of the rescaled x_t on (1, x_0): exact t tests "
            "of the slope (1 for x/a, 1 - tau for x/(a + s)) and chi-square tests of the residual variance (sigma^2, "
            "tau^2; their MDE halved into a relative error of sigma, tau); the shift checked on 99 taus for k = 1, 3, 6 "
            "(log-SNR moves by -log k, increasing) deterministically")


# ----- 9. Gaussian data ---------------------------------------------------------------------------------------
def _check_path_gaussian_data(ctx: _Ctx):
    n = ctx.n
    for path, ts, tt in PAIRS:
        label = _label(path, ts, tt)
        vals = _pair_values(path, ts, tt)
        f, g2 = _proved_sde(path)
        a_f, s_f = _ab_functions(path)
        for m, v in GAUSSIAN_DATA:
            cell = f"{label}, N({m:g}, {v:g})"
            x0 = m + math.sqrt(v) * ctx.normal(n)
            xt = vals["a_t"] * x0 + vals["s_t"] * ctx.normal(n)
            ctx.samples += n
            at = dict(vals, m=m, v=v)
            den = ctx.claim("denoiser", 1, x_t=xt, **at)
            pv = _claim(ctx, "posterior_variance", cell, **at)
            if not ctx.bad_claim("denoiser", den, cell):
                r = x0 - den
                fit = S.ols(r, np.c_[np.ones(n), xt - xt.mean()])
                slope = float(vals["a_t"] * v / (vals["a_t"] ** 2 * v + vals["s_t"] ** 2))
                ctx.add(S.t_test_coef(fit, 1, 0.0, alpha=ctx.alpha, relative_to=slope,
                                      name=f"x_0 - denoiser(x_t) uncorrelated with x_t ({cell})"), "denoiser", t=cell)
                ctx.add(S.t_test_coef(fit, 0, 0.0, alpha=ctx.alpha, relative_to=m,
                                      name=f"E[x_0 - denoiser(x_t)] = 0 ({cell})"), "denoiser", t=cell)
                if pv is not None and not ctx.bad_claim("posterior_variance", pv, cell, positive=True):
                    ctx.add(S.chi2_test_variance(r, pv, alpha=ctx.alpha, mean=0.0,
                                                 name=f"x_0 - denoiser ~ N(0, posterior_variance) ({cell})"),
                            "posterior_variance", t=cell)
            V_t = vals["a_t"] ** 2 * v + vals["s_t"] ** 2
            sc = ctx.claim("score", 1, x_t=xt[:1000], **at)
            if not ctx.bad_claim("score", sc, cell):
                h = 1e-5 * math.sqrt(V_t)
                mu, sd = vals["a_t"] * m, math.sqrt(V_t)
                fd = (stats.norm.logpdf(xt[:1000] + h, mu, sd) - stats.norm.logpdf(xt[:1000] - h, mu, sd)) / (2 * h)
                _det(ctx, f"score = d/dx log N(x; a m, a^2 v + s^2) (finite difference, {cell})", _rel(sc, fd), _FD_TOL,
                     "score", t=cell)
            ctx.add(S.chi2_test_variance(xt, V_t, alpha=ctx.alpha, mean=vals["a_t"] * m,
                                         name=f"p_t = N(a_t m, a_t^2 v + s_t^2): variance ({cell})"), None, t=cell)
            xs = ctx.claim("pf_ode_solution", 1, x_t=xt, **at)
            if ctx.bad_claim("pf_ode_solution", xs, cell):
                continue

            def score_affine(u, m=m, v=v):
                a_, s_ = a_f(u), s_f(u)
                V = a_ * a_ * v + s_ * s_
                return -1.0 / V, a_ * m / V
            al, be = _pf_ode_affine(f, g2, score_affine, tt, ts)
            _det(ctx, f"closed form = PF-ODE solved by quadrature ({cell})", _rel(xs[:1000], al * xt[:1000] + be), _ODE_TOL,
                 "pf_ode_solution", t=cell)
            ctx.add(S.t_test_mean(xs, vals["a_s"] * m, alpha=ctx.alpha, name=f"E[x_s] = a_s m ({cell})"),
                    "pf_ode_solution", abs(vals["a_s"] * m), t=cell)
            ctx.add(S.chi2_test_variance(xs, vals["a_s"] ** 2 * v + vals["s_s"] ** 2, alpha=ctx.alpha, mean=vals["a_s"] * m,
                                         name=f"Var[x_s] = a_s^2 v + s_s^2 ({cell})"), "pf_ode_solution", 2.0, t=cell)
    return ("x_0 ~ N(m, v) for (1, 1/4) and (-2, 2), x_t = a x_0 + s eps on six path cells; r = x_0 - denoiser(x_t): OLS on "
            "(1, x_t) with exact t tests and a chi-square test of Var r = posterior_variance; the score against central "
            "differences of the Gaussian log density (rel. 1e-6); the PF-ODE closed form against quadrature of the ODE "
            "(proved drift and diffusion, rel. 1e-7) and, as a map of samples, exact t and chi-square tests that it "
            "carries p_t onto p_s")


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
# DEFAULT_SAMPLES, STREAMS (9..18) and ASYMPTOTIC ("path_score") are entries of the tables in base.py
