"""Sampling designs of P2.3, the ELBO bound and decomposition (mirrors :mod:`proofs.elbo`)."""
from __future__ import annotations

import math
import numpy as np
import torch
from scipy import stats

from .base import (ELBO_STEPS, REVERSE_ROWS, S, Schedule, X0_SMALL, _Ctx, _proved)


KL_SCALE_FLOOR = 1.0  #: nats: the kl_terms MDE is relative to max(|closed-form term|, 1 nat)


def _small_schedule(schedule: Schedule) -> Schedule:
    """The schedule itself if T <= 10, else respaced to ELBO_STEPS steps: abar at t = T k / 8."""
    if schedule.T <= 10:
        return schedule
    idx = np.unique(np.round(np.linspace(0, schedule.T, ELBO_STEPS + 1)).astype(int))[1:]
    return Schedule.from_alpha_bar(schedule.alpha_bar(idx), name=f"{schedule.name} respaced to {idx.size} steps")


def _reverse_model(s: Schedule):
    """a_t = 0.9 sqrt(alpha_t), s_t^2 = 1.5 beta_t, t = 1..T (index t-1)."""
    ts = np.arange(1, s.T + 1)
    return 0.9 * np.sqrt(s.alpha(ts)), 1.5 * s.beta(ts)


def _chain_moments(s: Schedule, x0: float):
    """Mean and variance of x_t | x_0 and Cov(x_{t-1}, x_t) by the transition recursion
    m_t = sqrt(alpha_t) m_{t-1}, v_t = alpha_t v_{t-1} + beta_t, c_t = sqrt(alpha_t) v_{t-1} (t = 0..T)."""
    m, v, c = [x0], [0.0], [0.0]
    for t in range(1, s.T + 1):
        al = float(s.alpha(t))
        c.append(math.sqrt(al) * v[-1])
        m.append(math.sqrt(al) * m[-1])
        v.append(al * v[-1] + float(s.beta(t)))
    return np.array(m), np.array(v), np.array(c)


def _elbo_closed_form(s: Schedule, a, s2, x0: float):
    """(E_q[log q(x_{1:T}|x_0) - log p(x_{0:T})], -log p(x_0)) for the linear-Gaussian reverse model.

    E log q = -sum_t (log(2 pi beta_t) + 1)/2 (each step's standardized noise is N(0, 1));
    E log p = -(log 2 pi + m_T^2 + v_T)/2 - sum_t [log(2 pi s_t^2) + E(x_{t-1} - a_t x_t)^2 / s_t^2]/2 with
    E(x_{t-1} - a x_t)^2 = v_{t-1} + a^2 v_t - 2 a c_t + (m_{t-1} - a m_t)^2;
    -log p(x_0) = (log(2 pi V_0) + x_0^2 / V_0)/2, V_T = 1, V_{t-1} = a_t^2 V_t + s_t^2."""
    m, v, c = _chain_moments(s, x0)
    ts = np.arange(1, s.T + 1)
    e_log_q = -0.5 * np.sum(np.log(2 * np.pi * s.beta(ts)) + 1.0)
    sq = v[:-1] + a ** 2 * v[1:] - 2 * a * c[1:] + (m[:-1] - a * m[1:]) ** 2
    e_log_p = -0.5 * (math.log(2 * math.pi) + m[-1] ** 2 + v[-1]) - 0.5 * np.sum(np.log(2 * np.pi * s2) + sq / s2)
    V = 1.0
    for t in range(s.T, 0, -1):
        V = a[t - 1] ** 2 * V + s2[t - 1]
    return float(e_log_q - e_log_p), float(0.5 * (math.log(2 * math.pi * V) + x0 ** 2 / V))


def _log_normal(x, mean, var):
    return -0.5 * (np.log(2 * np.pi * var) + (x - mean) ** 2 / var)


def _elbo_samples(ctx, s: Schedule, x0v: float, group: int):
    """Chains x_{0:T} | x_0 = x0v (n rows, d = 1) on the small schedule: {t: x_t} and the per-step log q."""
    x0 = np.full((ctx.n, 1), x0v)
    out = ctx.chain(x0, list(range(s.T + 1)), torch.float64, group, s)
    xs = np.stack([out[t][:, 0] for t in range(s.T + 1)])  # (T+1, n)
    ts = np.arange(1, s.T + 1)
    log_q_steps = _log_normal(xs[1:], np.sqrt(s.alpha(ts))[:, None] * xs[:-1], s.beta(ts)[:, None])
    return xs, log_q_steps


def _check_elbo_bound(ctx: _Ctx, closed_form=None):
    closed_form = closed_form or _elbo_closed_form
    s = _small_schedule(ctx.schedule)
    a, s2 = _reverse_model(s)
    for g, x0v in enumerate(X0_SMALL):
        xs, log_q_steps = _elbo_samples(ctx, s, x0v, g)
        log_p = _log_normal(xs[-1], 0.0, 1.0) + np.sum(_log_normal(xs[:-1], a[:, None] * xs[1:], s2[:, None]), axis=0)
        L = log_q_steps.sum(axis=0) - log_p
        expected, nlp = closed_form(s, a, s2, x0v)
        margin = expected - nlp
        ctx.add(S.z_test_mean(L, expected, alpha=ctx.alpha,
                              name=f"MC mean of the ELBO integrand = closed form (x0={x0v:g})"),
                "expected_elbo", expected, x0=x0v, closed_form=expected)
        ctx.add(S.exact_check(f"closed form {expected:.6g} >= -log p(x0) = {nlp:.6g} (margin {margin:.4g}, x0={x0v:g})",
                              bool(margin >= -1e-9 * (1 + abs(nlp))), margin, alpha=ctx.alpha, tolerance=1e-9,
                              units="nats"), None, x0=x0v, margin=margin)
        ctx.add(S.z_test_mean(L, nlp, alpha=ctx.alpha, alternative="less",
                              name=f"one-sided: E L >= -log p(x0) (x0={x0v:g}, margin {margin:.4g})"),
                "bound", nlp, x0=x0v, neg_log_p0=nlp, margin=margin)
    # -log p(x0) itself, independently of the closed form: under the reverse model x0 ~ N(0, V0);
    # simulate it (exact chi-square test of V0) and require -log p(x0) = -log N(x0; 0, V0) for each x0
    v0 = _reverse_marginal_variance(a, s2)
    n_rev = REVERSE_ROWS * ctx.n  # one cheap 1-D chain: enough rows for a 1% MDE on V0 at the default budget
    x = ctx.normal(n_rev)
    for t in range(s.T, 0, -1):
        x = a[t - 1] * x + math.sqrt(s2[t - 1]) * ctx.normal(n_rev)
    ctx.add(S.chi2_test_variance(x, v0, alpha=ctx.alpha, mean=0.0,
                                 name=f"reverse model: Var(x0) = V0 = {v0:.6g} (x_T ~ N(0, 1) simulated down to x0)"),
            "likelihood", x0=None, term="V0")
    for x0v in X0_SMALL:
        nlp = closed_form(s, a, s2, x0v)[1]
        direct = 0.5 * (math.log(2 * math.pi * v0) + x0v ** 2 / v0)
        ctx.add(S.exact_check(f"-log p(x0) = -log N(x0; 0, V0) (x0={x0v:g}): {nlp:.9g} vs {direct:.9g}",
                              bool(abs(nlp - direct) <= 1e-9 * (1 + abs(direct))), nlp - direct,
                              alpha=ctx.alpha, tolerance=1e-9, units="nats"), None, x0=x0v)
    return (f"linear-Gaussian reverse model on {s.name}: per x0 z test of the MC ELBO against its closed form, "
            "exact closed form >= -log p(x0), one-sided z test MC mean >= -log p(x0); -log p(x0) itself from "
            "the simulated reverse model (exact chi-square test of Var(x0) = V0)")


def _reverse_marginal_variance(a, s2) -> float:
    """V0 = Var(x0) under p: V_T = 1, V_{t-1} = a_t^2 V_t + s_t^2."""
    v = 1.0
    for t in range(len(a), 0, -1):
        v = a[t - 1] ** 2 * v + s2[t - 1]
    return float(v)


def _kl_terms(s: Schedule, a, s2, x0: float, fwd, post):
    """Closed-form [L_T, L_{T-1}, ..., L_1, L_0] for fixed x_0, from the proved slots:
    L_T = KL(N(m_T, v_T) || N(0, 1)) = (m_T^2 + v_T - 1 - log v_T)/2 with m_T = mean_coef(T) x0, v_T = variance(T);
    L_{t-1} = E_{x_t|x_0} KL(N(b x0 + c x_t, w) || N(a_t x_t, s_t^2))
            = (log(s_t^2 / w) + w / s_t^2 - 1)/2 + [(b x0 + (c - a_t) m_t)^2 + (c - a_t)^2 v_t] / (2 s_t^2);
    L_0 = -E log p(x_0|x_1) = (log(2 pi s_1^2) + [(x0 - a_1 m_1)^2 + a_1^2 v_1] / s_1^2)/2."""
    T = s.T
    ts = np.arange(1, T + 1)
    mc, var = fwd["mean_coef"](s, ts) * x0, fwd["variance"](s, ts)
    out = [0.5 * (mc[-1] ** 2 + var[-1] - 1.0 - math.log(var[-1]))]
    for t in range(T, 1, -1):
        b, c, w = (float(post[k](s, t)) for k in ("coef_x0", "coef_xt", "variance"))
        at, st2, m_t, v_t = a[t - 1], s2[t - 1], mc[t - 1], var[t - 1]
        out.append(0.5 * (math.log(st2 / w) + w / st2 - 1.0)
                   + ((b * x0 + (c - at) * m_t) ** 2 + (c - at) ** 2 * v_t) / (2 * st2))
    out.append(0.5 * (math.log(2 * math.pi * s2[0]) + ((x0 - a[0] * mc[0]) ** 2 + a[0] ** 2 * var[0]) / s2[0]))
    return np.array(out)


#: a term whose per-sample sd is below this fraction of its scale is deterministic (e.g. L_T = 0 exactly when
#: abar_T = 0): a gate on its mean instead of a member of the joint test, whose covariance it would make singular
DEGENERATE_SD = 1e-10


def _term_labels(T: int) -> list[str]:
    """[L_T, L_{T-1}, ..., L_1, L_0]: the order of :func:`_kl_terms` and of the sampled terms."""
    return [f"L_{T}"] + [f"L_{t - 1}" for t in range(T, 1, -1)] + ["L_0"]


def term_times(T: int) -> list[int]:
    """The forward step t each term is about, in the order of :func:`_term_labels`: L_T -> T,
    L_{t-1} -> t (t = T..2), L_0 -> 1 (for errors shaped in abar_t)."""
    return [T] + list(range(T, 1, -1)) + [1]


def _joint_terms(ctx: _Ctx, x0v: float, labels, terms: np.ndarray, closed: np.ndarray):
    """The joint Wald test of one x0: Hotelling's T^2 of the vector of per-term residuals
    (sampled term - closed-form KL), whose common-random-number covariance is estimated, with a z
    follow-up per term (naming the term a rejection blames). Returns the member's result or None."""
    scale = np.maximum(np.abs(closed), KL_SCALE_FLOOR)
    resid = terms - closed[:, None]
    n = resid.shape[1]
    mean, sd = resid.mean(axis=1), resid.std(axis=1, ddof=1)
    live = sd > DEGENERATE_SD * scale
    for j in np.flatnonzero(~live):  # deterministic term: its mean must equal its closed form to float precision
        err = float(abs(mean[j]) / scale[j])
        ctx.add(S.exact_check(f"{labels[j]} is deterministic (sd {sd[j]:.2g}): its value = closed-form KL "
                              f"{closed[j]:.6g} (x0={x0v:g}, rel err {err:.2g})", err <= 1e-9, err, alpha=ctx.alpha,
                              tolerance=1e-9, n=n, units="relative error"), None, x0=x0v, term=labels[j])
    idx = np.flatnonzero(live)
    if idx.size == 0 or n <= idx.size + 1:
        return None
    Z = (resid[idx] / sd[idx, None]).T  # standardized columns: the same T^2, a well-conditioned covariance
    names = [labels[j] for j in idx]
    res = S.hotelling_test(Z, alpha=ctx.alpha,
                           name=f"MC means of {names[0]}..{names[-1]} = closed-form KL terms (joint Wald / "
                                f"Hotelling T^2, x0={x0v:g})")
    follow = []
    for j in idx:
        se = sd[j] / math.sqrt(n)
        z = float(mean[j] / se)
        fu = S.StatResult(f"follow-up: MC mean of {labels[j]} = closed-form KL {closed[j]:.6g} (x0={x0v:g})", z,
                          float(2 * stats.norm.sf(abs(z))), ctx.alpha, False, n, "absolute error (nats)", "z-mean",
                          {"term": labels[j], "x0": x0v, "mean": float(mean[j] + closed[j]),
                           "closed_form": float(closed[j]), "se": float(se)})
        follow.append((fu, "kl_terms"))
    # direction of a relative error delta of term j (relative to its scale), in the standardized units
    units = {labels[j]: np.where(idx == j, scale[j] / sd[j], 0.0) for j in idx}

    def cell_mde(level, res=res):
        """The largest over terms of the relative error of that term alone detected with power 0.99."""
        return max(term_mdes(res, level).values())
    res.detail.update(terms=names, x0=x0v)
    res.units_by_term = units  # for :func:`term_mdes` (per-term MDEs at any level)
    res.sd_by_term = {labels[j]: float(sd[j]) for j in idx}  # for :func:`shift_mde`
    ctx.add(res, sens={"kl_terms": cell_mde}, follow_ups=follow, x0=x0v)
    return res


def term_mdes(result, level, power=S.POWER) -> dict:
    """{term: relative MDE (to max(|closed-form term|, 1 nat)) of an error in that term alone} of one
    x0's joint test at ``level``: S.hotelling_test.relative_mde along each term's direction, with the
    Cohen's f root (the same for every term) solved once."""
    f = S.hotelling_test.mde(result.n, level, power, q=result.detail["q"])
    cov = result.cov
    out = {}
    for k, u in result.units_by_term.items():
        lam1 = float(u @ np.linalg.solve(cov, u))  # per-row noncentrality of a unit shift along u
        out[k] = f / math.sqrt(lam1) if lam1 > 0 and math.isfinite(lam1) else math.inf
    return out


def shift_mde(result, shift: dict, level, power=S.POWER) -> float:
    """The smallest delta such that one x0's joint test detects the closed-form terms being off by
    delta * ``shift`` ({term: nats}; absent terms 0) with probability ``power`` at ``level``
    (:meth:`HotellingTest.relative_mde` along that direction in the standardized units)."""
    u = np.array([shift.get(k, 0.0) / result.sd_by_term[k] for k in result.sd_by_term])
    return float(S.hotelling_test.relative_mde(result, u, level, power))


def blamed_terms(verdict) -> list[tuple[str, float]]:
    """[(term, x0)] named by an elbo_decomposition verdict, most significant first: only within the joint
    tests that reject after Holm, the terms whose z follow-up is significant at alpha / (m q) (Bonferroni
    over every follow-up; marginal means, so a wrong term does not implicate the others), else that
    test's smallest follow-up."""
    rows = verdict.details
    failing = {d["name"] for d in rows if d["role"] == "test" and d["adjusted_p"] <= verdict.alpha}
    fus = [d for d in rows if d["role"] == "follow-up" and d["follow_up_of"] in failing]
    if not fus:
        return []
    q = max(len([d for d in rows if d["role"] == "follow-up" and d["follow_up_of"] == name]) for name in failing)
    cut = verdict.alpha / (max(verdict.m, 1) * max(q, 1))
    named = sorted((d for d in fus if d["p_value"] <= cut), key=lambda d: d["p_value"])
    if not named:
        named = [min((d for d in fus if d["follow_up_of"] == name), key=lambda d: d["p_value"]) for name in failing]
        named.sort(key=lambda d: d["p_value"])
    out = []
    for d in named:
        key = (d["term"], d["x0"])
        if key not in out:
            out.append(key)
    return out


def _check_elbo_decomposition(ctx: _Ctx, posterior_slots=None, kl_terms=None):
    import proofs
    from proofs.numeric import slot_function
    kl_terms = kl_terms or _kl_terms
    post_exprs = dict(proofs.IDENTITIES["posterior"].slots, **(posterior_slots or {}))
    post = {k: slot_function(v) for k, v in post_exprs.items()}
    fwd = {k: _proved("forward_marginal", k) for k in ("mean_coef", "variance")}
    s = _small_schedule(ctx.schedule)
    a, s2 = _reverse_model(s)
    T = s.T
    joint = []
    for g, x0v in enumerate(X0_SMALL):
        xs, log_q_steps = _elbo_samples(ctx, s, x0v, 10 + g)
        log_p_steps = _log_normal(xs[:-1], a[:, None] * xs[1:], s2[:, None])  # row t-1: log p(x_{t-1}|x_t)
        log_pT = _log_normal(xs[-1], 0.0, 1.0)
        lhs = log_q_steps.sum(axis=0) - log_pT - log_p_steps.sum(axis=0)
        with np.errstate(all="ignore"):
            terms = [_log_normal(xs[-1], fwd["mean_coef"](s, T) * x0v, fwd["variance"](s, T)) - log_pT]
            for t in range(T, 1, -1):
                mean = post["coef_x0"](s, t) * x0v + post["coef_xt"](s, t) * xs[t]
                terms.append(_log_normal(xs[t - 1], mean, post["variance"](s, t)) - log_p_steps[t - 1])
            terms.append(-log_p_steps[0])
        terms = np.array(terms)
        rhs = terms.sum(axis=0)
        scale = 1.0 + np.max(np.abs(terms))
        err = float(np.max(np.abs(lhs - rhs)) / scale) if np.all(np.isfinite(rhs)) else float("inf")
        ctx.add(S.exact_check(f"pointwise log q/p = L_T + sum L_(t-1) + L_0 (x0={x0v:g}, max rel err {err:.2g})",
                              err <= 1e-9, err, alpha=ctx.alpha, tolerance=1e-9, n=lhs.size, units="relative error"),
                None, x0=x0v)
        closed = np.asarray(kl_terms(s, a, s2, x0v, fwd, post), dtype=np.float64)
        total = float(np.sum(closed))
        expected, _ = _elbo_closed_form(s, a, s2, x0v)
        gap = abs(total - expected) / (1 + abs(expected))
        ctx.add(S.exact_check(f"closed-form terms sum to the ELBO {expected:.6g} (x0={x0v:g})", gap <= 1e-9, gap,
                              alpha=ctx.alpha, tolerance=1e-9, units="relative error"), None, x0=x0v)
        labels = _term_labels(T)
        ok = np.all(np.isfinite(terms), axis=1) & np.isfinite(closed)
        for j in np.flatnonzero(~ok):
            ctx.add(S.exact_check(f"{labels[j]} is not finite (x0={x0v:g})", False, float("nan"), alpha=ctx.alpha,
                                  tolerance=0.0), None, x0=x0v, term=labels[j])
        keep = np.flatnonzero(ok)
        if keep.size:
            # the MDE is relative to max(|closed form|, 1 nat): L_T is ~0 nats here (q(x_T|x_0) ~ N(0, 1)), so
            # an error "relative to L_T" would be relative to ~0; 1 nat is the scale of the other terms
            res = _joint_terms(ctx, x0v, [labels[j] for j in keep], terms[keep], closed[keep])
            if res is not None:
                joint.append(res)
    m = len(ctx.members)
    for res in joint:  # per-term MDEs at the Holm level alpha / m (this design's members are all joint tests)
        res.detail["mde_by_term"] = {k: round(v, 9) for k, v in term_mdes(res, ctx.alpha / max(m, 1)).items()}
    return (f"linear-Gaussian reverse model on {s.name}: pointwise decomposition with the proved forward/posterior "
            "densities (deterministic); per x0 one joint Wald test (Hotelling's T^2 with the estimated "
            "common-random-number covariance) that every term's MC mean equals its closed-form KL, z follow-ups per "
            "term that name the term a rejection blames")


# ----- eps loss --------------------------------------------------------------------------------
