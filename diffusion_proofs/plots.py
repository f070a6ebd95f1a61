"""Figures of the verification report (PNG, matplotlib's Agg canvas; no pyplot, no display).

Every closed form drawn here is a proved slot evaluated by :func:`proofs.numeric.slot_function`
(``forward_marginal.mean_coef``, ``forward_marginal.variance``, ``posterior.coef_x0``,
``posterior.coef_xt``, ``posterior.variance``); nothing is retyped.

* :func:`eps_figure`: eps = (x_t - mean_coef x_0)/sqrt(variance) from :func:`montecarlo.kernel.forward_chain`,
  histograms against the N(0, 1) density and a normal QQ plot.
* :func:`running_figure`: running estimates against the sample count n with their 99% acceptance
  bands around the claimed value (pointwise in n):
  forward variance ratio mean(r^2)/variance, r = x_t - mean_coef x_0: chi2_n/n under the claim (exact);
  posterior variance ratio mean(r^2)/variance, r = x_{t-1} - coef_x0 x_0 - coef_xt x_t: chi2_n/n (exact);
  OLS slope of x_{t-1} - coef_x0 x_0 on x_t (with intercept): N(coef_xt, variance/S_xx) given x_t (exact),
  a band narrowing like 1/sqrt(n).
* :func:`pvalue_figure`: -log10 of each Monte Carlo check's Holm p-value against -log10(alpha), and its MDE.
* :func:`schedule_figure`: abar_t, SNR_t (log scale) and the posterior variance for named schedules.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

X0_VALUES = (0.0, 1.0, -3.0, 10.0)  # x_0 cycles through these (rows are independent chains)
QQ_PROBS = (np.arange(1, 401) - 0.5) / 400  # the QQ plot shows these 400 empirical quantiles


def _figure(width: float, height: float, rows: int = 1, cols: int = 1):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height))
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, axes


def _save(fig, path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=100, format="png")
    return str(path)


def _slot(identity: str, slot: str):
    import proofs
    from proofs.numeric import slot_function
    return slot_function(proofs.IDENTITIES[identity].slots[slot])


def simulate(schedule, times, n: int, seed: int = 0, device="cpu") -> tuple[np.ndarray, dict]:
    """x_0 (n rows cycling through X0_VALUES) and {t: x_t} for t in ``times`` (float64, one chain per row)."""
    import torch

    from montecarlo.kernel import forward_chain
    x0 = np.resize(np.asarray(X0_VALUES), n)
    out = forward_chain(schedule, torch.from_numpy(x0), sorted(set(times)), seed=seed, device=device,
                        dtype=torch.float64)
    return x0, {t: v.detach().cpu().numpy() for t, v in out.items()}


def eps_figure(path, schedule, x0, xs: dict, times) -> dict:
    """Histogram of eps at each t in ``times`` against the N(0, 1) density, plus a QQ plot.
    Returns {t: Kolmogorov-Smirnov p-value against N(0, 1)} (descriptive; the verdict is the MC check's)."""
    mean_coef, variance = _slot("forward_marginal", "mean_coef"), _slot("forward_marginal", "variance")
    fig, axes = _figure(3.0 * (len(times) + 1), 3.2, 1, len(times) + 1)
    grid = np.linspace(-4.5, 4.5, 300)
    ks, qq = {}, axes[0, -1]
    for ax, t in zip(axes[0], times):
        with np.errstate(all="ignore"):
            eps = (xs[t] - mean_coef(schedule, t) * x0) / np.sqrt(variance(schedule, t))
        bad = int(np.sum(~np.isfinite(eps)))
        eps = eps[np.isfinite(eps)]
        ks[t] = float(stats.kstest(eps, "norm").pvalue) if eps.size else float("nan")
        if not eps.size:
            ax.set_title(f"t = {t}: eps is not finite (variance {float(variance(schedule, t)):.3g})", fontsize=9)
            continue
        ax.hist(eps, bins=60, range=(-4.5, 4.5), density=True, histtype="stepfilled", color="tab:blue", alpha=0.6,
                label="simulated")
        ax.plot(grid, stats.norm.pdf(grid), color="black", lw=1.5, label="N(0, 1)")
        ax.set_title(f"t = {t}  (KS p = {ks[t]:.2f})" + (f", {bad} not finite" if bad else ""), fontsize=10)
        ax.set_xlabel(f"eps = (x_t - {mean_coef.expr} x_0) / sqrt({variance.expr})", fontsize=7)
        qq.plot(stats.norm.ppf(QQ_PROBS), np.quantile(eps, QQ_PROBS), ".", ms=3, label=f"t = {t}")
    axes[0, 0].set_ylabel("density")
    if axes[0, 0].get_legend_handles_labels()[0]:
        axes[0, 0].legend(fontsize=7, loc="upper left")
    qq.plot([-4.5, 4.5], [-4.5, 4.5], color="black", lw=1)
    qq.set_title("normal QQ plot (400 quantiles)", fontsize=10)
    qq.set_xlabel("N(0, 1) quantile")
    qq.set_ylabel("empirical quantile")
    qq.legend(fontsize=7, markerscale=4)
    fig.suptitle(f"Forward marginal on {schedule.name}: standardised noise against N(0, 1), n = {x0.size}",
                 fontsize=10)
    _save(fig, path)
    return ks


def _checkpoints(n: int) -> np.ndarray:
    return np.unique(np.geomspace(10, n, 200).astype(int))


def _finish_running_axis(ax, claimed: float, label: str, title: str) -> None:
    """The claimed value as a line, log-scaled sample axis, title and legend."""
    ax.axhline(claimed, color="black", lw=1, label=label)
    ax.set_xscale("log")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("samples n")
    ax.legend(fontsize=7)


def running_figure(path, schedule, x0, xs: dict, t_fwd=(10, 500), t_post: int = 10, level: float = 0.99) -> dict:
    """Running estimates with their ``level`` acceptance bands (see module doc). Returns the final
    estimates and whether each lies inside its band at the full n."""
    fm, fv = _slot("forward_marginal", "mean_coef"), _slot("forward_marginal", "variance")
    b, c, w = (_slot("posterior", k) for k in ("coef_x0", "coef_xt", "variance"))
    n = x0.size
    ns = _checkpoints(n)
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    chi_lo, chi_hi = stats.chi2.ppf(lo_q, ns) / ns, stats.chi2.ppf(hi_q, ns) / ns
    fig, axes = _figure(13.5, 3.6, 1, 3)
    out = {}

    ax = axes[0, 0]
    ax.fill_between(ns, chi_lo, chi_hi, color="0.85", label=f"{level:.0%} band (chi2_n / n, exact)")
    for t in t_fwd:
        r = xs[t] - fm(schedule, t) * x0
        with np.errstate(all="ignore"):
            est = np.cumsum(r * r)[ns - 1] / ns / fv(schedule, t)
        ax.plot(ns, est, lw=1.2, label=f"t = {t}")
        out[f"forward_variance_ratio_t{t}"] = (float(est[-1]), bool(chi_lo[-1] <= est[-1] <= chi_hi[-1]))
    _finish_running_axis(ax, 1.0, "claimed: 1", "forward_marginal: mean(r^2) / variance")

    t = t_post
    xp, xt = xs[t - 1], xs[t]
    ct, wt = float(c(schedule, t)), float(w(schedule, t))
    y = xp - b(schedule, t) * x0
    r = y - ct * xt
    ax = axes[0, 1]
    ax.fill_between(ns, chi_lo, chi_hi, color="0.85", label=f"{level:.0%} band (chi2_n / n, exact)")
    est = np.cumsum(r * r)[ns - 1] / ns / wt
    ax.plot(ns, est, lw=1.2, color="tab:green", label=f"t = {t}")
    out[f"posterior_variance_ratio_t{t}"] = (float(est[-1]), bool(chi_lo[-1] <= est[-1] <= chi_hi[-1]))
    _finish_running_axis(ax, 1.0, "claimed: 1", "posterior: mean(r^2) / variance")

    ax = axes[0, 2]
    k = np.arange(1, n + 1)
    sx, sy, sxx, sxy = (np.cumsum(v)[ns - 1] for v in (xt, y, xt * xt, xt * y))
    k = k[ns - 1]
    Sxx = sxx - sx * sx / k
    slope = (sxy - sx * sy / k) / Sxx
    half = stats.norm.ppf(hi_q) * np.sqrt(wt / Sxx)
    ax.fill_between(ns, ct - half, ct + half, color="0.85", label=f"{level:.0%} band (+-z sqrt(var / S_xx), exact)")
    ax.plot(ns, slope, lw=1.2, color="tab:red", label=f"OLS slope, t = {t}")
    ax.axhline(ct, color="black", lw=1, label=f"claimed coef_xt = {ct:.4f}")
    ax.set_xscale("log")
    ax.set_ylim(ct - 1.5 * half[0], ct + 1.5 * half[0])
    ax.set_title("posterior: coef_xt estimate", fontsize=10)
    ax.set_xlabel("samples n")
    ax.legend(fontsize=7)
    out[f"posterior_coef_xt_t{t}"] = (float(slope[-1]), bool(abs(slope[-1] - ct) <= half[-1]))
    fig.suptitle(f"Running estimates on {schedule.name} (bands pointwise in n, centred on the claim)", fontsize=10)
    _save(fig, path)
    return out


def pvalue_figure(path, rows: list[dict], alpha: float) -> None:
    """rows: {id, p_value, mde: {key: relative MDE}}; bars of -log10 p and of the MDEs."""
    fig, axes = _figure(12.0, 3.8, 1, 2)
    ax = axes[0, 0]
    ids = [r["id"] for r in rows]
    logp = [-math.log10(max(r["p_value"], 1e-300)) for r in rows]
    colors = ["tab:green" if r["passed"] else "tab:red" for r in rows]
    ax.barh(ids, logp, color=colors)
    for k, (r, lp) in enumerate(zip(rows, logp)):
        ax.text(lp + 0.05, k, f"p = {r['p_value']:.3g}", va="center", fontsize=7)
    ax.axvline(-math.log10(alpha), color="black", ls="--", label=f"reject: p <= alpha = {alpha:g}")
    ax.invert_yaxis()
    ax.set_xlabel("-log10 (Holm family p-value)")
    ax.set_title("Monte Carlo checks (green: passed)", fontsize=10)
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    labels, values = [], []
    for r in rows:
        for key, v in (r.get("mde") or {}).items():
            if isinstance(v, (int, float)) and math.isfinite(v) and v > 0:
                labels.append(f"{r['id']}.{key}")
                values.append(v)
    if values:
        ax.barh(labels, values, color="tab:blue")
        ax.set_xscale("log")
        ax.invert_yaxis()
        ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel("relative error detected with power 0.99")
    ax.set_title("minimum detectable effect (every cell)", fontsize=10)
    _save(fig, path)


def schedule_figure(path, schedules) -> None:
    """abar_t, SNR_t and the posterior variance (proved slot posterior.variance) against t."""
    import proofs
    post_var = _slot("posterior", "variance")
    fig, axes = _figure(13.5, 3.8, 1, 3)
    for s in schedules:
        t = np.arange(1, s.T + 1)
        ab, snr = s.alpha_bar(t), s.snr(t)
        with np.errstate(all="ignore"):
            pv = post_var(s, t)
        axes[0, 0].plot(t, ab, lw=1.2, label=s.name)
        pos = snr > 0
        axes[0, 1].plot(t[pos], snr[pos], lw=1.2, label=s.name)
        pos = np.isfinite(pv) & (pv > 0)
        axes[0, 2].plot(t[pos], pv[pos], lw=1.2, label=s.name)
    axes[0, 0].set_title("abar_t", fontsize=10)
    axes[0, 1].set_title("SNR_t = abar_t / (1 - abar_t)  (log scale; 0 not drawn)", fontsize=10)
    axes[0, 1].set_yscale("log")
    axes[0, 2].set_title(f"posterior variance = {proofs.IDENTITIES['posterior'].slots['variance']}", fontsize=9)
    axes[0, 2].set_yscale("log")
    for ax in axes[0]:
        ax.set_xlabel("t")
    axes[0, 0].legend(fontsize=7)
    _save(fig, path)


__all__ = ["simulate", "eps_figure", "running_figure", "pvalue_figure", "schedule_figure", "X0_VALUES"]
