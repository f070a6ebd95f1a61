"""Conformance of a real scheduler to the proved identities (diffusers, or a user's own sampler).

``check_scheduler(scheduler)`` probes a scheduler and compares what it computes with the
identities of :mod:`proofs`, evaluated in float64 from the proved slot expressions
(``proofs.numeric.slot_function(proofs.IDENTITIES[id].slots[slot])``, never retyped) on the
scheduler's own schedule (its ``alphas_cumprod``, else its ``betas``). What is checked:

* ``forward_marginal`` / abar_product: ``alphas_cumprod[k]`` is the running product of its own
  ``1 - betas`` (abar_t = mean_coef^2 on the schedule built from the betas).
* ``forward_marginal`` / add_noise: ``add_noise(x_0, eps, k) = mean_coef x_0 + sqrt(variance) eps``;
  get_velocity: ``v = mean_coef eps - sqrt(variance) x_0``; training targets (``Adapter.targets``):
  eps, x_0 or v. Each is probed as an affine map row by row (:mod:`.residual`): distinct asymmetric
  rows, permuted, single and duplicated rows; a constant offset, a batch-coupled row or a fit residual
  above rounding fails, offset noise is a note (a documented deviation); the step's x_0 estimate
  (pred_original_sample) inverts the marginal for its prediction type (eps: (x - sqrt(variance) m)/
  mean_coef; sample: m; v: mean_coef x - sqrt(variance) m).
* ``posterior_eps`` (epsilon-prediction) / ``posterior`` (sample and v-prediction): step's mean
  ``A x_t + B m`` (m = model output) is the posterior mean. A and B are recovered
  deterministically: three calls with the same generator seed (inputs 0, x_t-probe, m-probe),
  so the noise cancels in the differences. On a strided grid (set_timesteps) the step from t to
  the previous grid point t' uses the strided posterior: the slots are evaluated on the two-step
  schedule (abar_t', abar_t), i.e. abar_t' in place of abar_{t-1} and alpha = abar_t/abar_t'.
* noise: the step's noise std is sqrt(posterior.variance) (fixed_small), or sqrt(beta) for
  variance_type fixed_large (Ho et al.'s documented alternative; no noise on the step to x_0). When
  fixed_small fails and beta matches, the finding names fixed_large. DDIM: eta = 1 must equal the
  posterior (mean and noise), eta = 0 must be deterministic with mean
  ``sqrt(abar_t') x0_hat + sqrt(1 - abar_t') eps_hat`` (the forward marginal at t').
* non-finite output anywhere, and an exception from the scheduler, are failures of their own.

Timesteps: diffusers' 0-based timestep k is the paper's t = k + 1 (``alphas_cumprod[k] =
abar_{k+1}``; ``step(m, k, x)`` maps x_{k+1} to x_k). ``timesteps=`` takes paper t's; findings
report both t and k.

Tolerances (deterministic checks), stated: ``|observed - expected| <= K [(u_p + u_s kappa) |expected|
+ r]`` with K = 8, u_p the unit roundoff of the probe dtype (float32 5.96e-8, float16 4.88e-4,
bfloat16 3.91e-3, float64 1.11e-16), u_s that of the scheduler's stored schedule but at least
float32's (every scheduler may store its schedule in float32, as diffusers does), kappa the
condition number of the cancellations a scheduler may do in its storage precision
(1/(1-abar_t) + 1/(1-abar_t') + 1/beta_t(strided) + 1, plus t when only betas are stored), and r the
rounding of the probe outputs (u_p max|output| divided by the probe amplitude). So a scheduler
that loses precision in the dtype it is run in (float16: abar_1 = 0.9999 rounds to 1, add_noise
adds no noise) fails; one exact in its stored float32 passes.

Noise scale: recovered exactly (deterministic tolerance above) when the step's noise is
``torch.randn(shape, generator=generator, dtype)`` (diffusers); otherwise a chi-square test of
sum(r^2)/S^2 ~ chi2(n) on the zero-input output r = S z, exact (finite-sample) for Gaussian noise,
two-sided, Holm across all such tests so the report's false-alarm rate is ``alpha`` family-wise;
the report states the minimum detectable std ratio at power 0.99.
"""
from __future__ import annotations

import importlib
import json
import math
import re

import numpy as np
import torch

from .adapters import SchedulerProtocol, StepCall
from .adapters import adapt as _adapt_scheduler
from .findings import ConformanceReport, Finding

from ..schedules import Schedule

__all__ = ["check_scheduler", "ConformanceReport", "Finding", "SchedulerProtocol", "resolve_spec", "SpecError", "K"]

K = 8.0  # safety factor over the handful of roundings in each computed coefficient
_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64}


def _u(dtype) -> float:
    return float(torch.finfo(dtype).eps) / 2.0


class _Slots:
    """float64 evaluators of the proved slots, by (identity, slot)."""

    def __init__(self):
        from proofs import IDENTITIES
        from proofs.numeric import slot_function
        self._fns = {}
        for ident in ("forward_marginal", "posterior", "posterior_eps"):
            for slot, expr in IDENTITIES[ident].slots.items():
                self._fns[ident, slot] = slot_function(expr)

    def __call__(self, ident, slot, schedule, t):
        return self._fns[ident, slot](schedule, t)


def _sub_schedule(abar_prev: float, abar_t: float) -> Schedule:
    """The schedule whose last step goes from abar_prev (abar_{t'}) to abar_t: evaluated at its last
    t, a slot's abar[t-1] is abar_{t'} and alpha[t] = abar_t/abar_{t'} (the strided step)."""
    if abar_prev >= 1.0:
        return Schedule.from_alpha_bar([abar_t])
    return Schedule.from_alpha_bar([abar_prev, abar_t])


class _Run:
    def __init__(self, adapter, report, dtype, seed, probe_size):
        self.a, self.report, self.dtype, self.seed, self.n = adapter, report, dtype, seed, probe_size
        self.u_p = _u(dtype)
        # every scheduler is allowed the precision of a float32-stored schedule (diffusers' choice); only the
        # rounding of the result is allowed for the probe dtype, so half precision cancellations are reported
        self.u_s = max(_u(adapter.storage_dtype if adapter.storage_dtype.is_floating_point else torch.float64),
                       _u(torch.float32))
        self.slots = _Slots()
        attr = "alphas_cumprod" if adapter.alphas_cumprod is not None else "betas"
        try:  # the reference: the scheduler's own abar (float64 of what it stores), else its betas
            if attr == "alphas_cumprod":
                self.ref = Schedule.from_alpha_bar(adapter.alphas_cumprod, name=adapter.name)
            else:
                self.ref = Schedule.from_betas(adapter.betas, name=adapter.name)
        except ValueError as exc:
            raise ValueError(f"{adapter.name}.{attr} is not a valid schedule: {exc}") from exc
        self.t_factor = attr == "betas"  # its abar is then its own float cumprod: allow t roundings
        self.stats = []  # (p, p_alt, finding args)
        self.noise_exact = self.noise_chi2 = 0

    # -- bookkeeping --
    def finding(self, **kw):
        self.report.findings.append(Finding(**kw))

    def compare(self, identity, check, t, expected, observed, tol, message, grid=""):
        """Record one comparison; a failure when |observed - expected| > tol (or non-finite)."""
        self.report.comparisons += 1
        err = abs(observed - expected)
        if math.isfinite(observed) and err <= tol:
            return True
        rel = err / abs(expected) if expected != 0 else (math.inf if err > 0 else 0.0)
        if not math.isfinite(observed):
            rel = math.inf
        self.finding(identity=identity, check=check, t=t, expected=float(expected), observed=float(observed),
                     rel_error=float(rel), tolerance=float(tol), message=message, grid=grid)
        return False

    def kappa(self, abar_t, abar_prev, beta, t):
        kap = 1.0 + (t if self.t_factor else 0.0)
        kap += 1.0 / (1.0 - abar_t) if abar_t < 1 else 0.0
        kap += 1.0 / (1.0 - abar_prev) if abar_prev < 1 else 0.0
        kap += 1.0 / beta if beta > 0 else 0.0
        return kap

    def tol(self, expected, kappa, rounding=0.0):
        return K * ((self.u_p + self.u_s * kappa) * abs(expected) + rounding)

    def tensor(self, values):
        return torch.as_tensor(np.asarray(values), dtype=self.dtype)

    def guarded(self, identity, check, t, grid, fn):
        """Run ``fn`` (a call into the scheduler); an exception or non-finite output is a finding."""
        try:
            outs = fn()
        except Exception as exc:  # noqa: BLE001 - any error inside the user's scheduler is reported
            self.finding(identity=identity, check=check, t=t, expected=math.nan, observed=math.nan,
                         rel_error=math.inf, tolerance=0.0, grid=grid,
                         message=f"{check} raised {type(exc).__name__}: {exc}")
            return None
        for out in outs:
            if out is not None and not bool(torch.isfinite(out).all()):
                self.finding(identity=identity, check="finite", t=t, expected=0.0, observed=math.nan,
                             rel_error=math.inf, tolerance=0.0, grid=grid,
                             message=f"{check} returned non-finite values (NaN/inf) at t={t} (k={t - 1 if t else '-'})")
                return None
        return outs

    # -- schedule --
    def check_abar_product(self, ts):
        a = self.a
        if a.alphas_cumprod is None or a.betas is None:
            return
        try:
            from_betas = Schedule.from_betas(a.betas)
        except ValueError as exc:
            self.finding(identity="forward_marginal", check="abar_product", t=None, expected=math.nan,
                         observed=math.nan, rel_error=math.inf, tolerance=0.0, message=f"betas invalid: {exc}")
            return
        expected = self.slots("forward_marginal", "mean_coef", from_betas, ts) ** 2
        for t, e in zip(ts, expected):
            o = float(a.alphas_cumprod[t - 1])
            self.compare("forward_marginal", "abar_product", int(t), float(e), o,
                         K * 2 * t * self.u_s * e,
                         f"alphas_cumprod[{t - 1}] = {o:.9g} is not the running product of its own alpha = 1 - beta "
                         f"up to t={t}: prod_(s<={t}) (1 - beta_s) = {e:.9g} (forward_marginal: abar_t = mean_coef^2)")

    # -- forward process --
    def check_add_noise(self, ts):
        """add_noise, get_velocity and every training target (``Adapter.targets``) as affine maps of
        (x_0, noise), row by row (:mod:`.residual`): a batch of distinct asymmetric rows, each its own t,
        plus repeated, permuted, single and duplicated rows. The fit's coefficients are compared with
        the proved slots; a nonzero c_0 is a constant offset, a per-(row, channel) offset proportional
        to the noise (or fresh per call) is offset noise (a note), a row that depends on other rows is
        batch-coupled, and the fit residual must be at rounding level."""
        from .residual import ProbeInputs
        a = self.a
        ts = [int(t) for t in ts]
        mc = self.slots("forward_marginal", "mean_coef", self.ref, ts)
        var = self.slots("forward_marginal", "variance", self.ref, ts)
        sd = np.sqrt(var)
        abar = mc ** 2
        kap_mc = np.array([1.0 + (t if self.t_factor else 0.0) for t in ts])  # sqrt(abar_t): no cancellation
        kap_sd = np.array([self.kappa(ab, 1.0, 0.0, t) for ab, t in zip(abar, ts)])  # sqrt(1 - abar_t)
        one, zero = np.ones_like(mc), np.zeros_like(mc)
        v_text = "v = mean_coef eps - sqrt(variance) x_0 gives"
        # (label, fn, (expected c_x, c_e), (kappa x, e), (x check, e check), (text x, text e))
        maps = [("add_noise", a.add_noise, (mc, sd), (kap_mc, kap_sd), ("x_0", "variance"),
                 ("the forward marginal gives mean_coef = sqrt(abar_t)", "forward_marginal.variance = 1 - abar_t"))]
        if a.get_velocity is not None:
            maps.append(("get_velocity", a.get_velocity, (-sd, mc), (kap_sd, kap_mc), ("sample", "noise"),
                         (f"{v_text} -sqrt(variance)", f"{v_text} mean_coef")))
        for tname, (fn, kind) in (getattr(a, "targets", None) or {}).items():
            label = f"target.{tname}"
            expect = {"epsilon": ((zero, one), (one, one), "the epsilon target is the noise: coefficient"),
                      "sample": ((one, zero), (one, one), "the sample target is x_0: coefficient"),
                      "v_prediction": ((-sd, mc), (kap_sd, kap_mc), None)}.get(kind)
            if expect is None:
                self.finding(identity="forward_marginal", check=label, t=None, expected=math.nan, observed=math.nan,
                             rel_error=math.inf, tolerance=0.0,
                             message=f"training target {tname!r} has kind {kind!r}: expected epsilon, sample or "
                                     "v_prediction")
                continue
            texts = (f"{v_text} -sqrt(variance)", f"{v_text} mean_coef") if expect[2] is None else (expect[2],) * 2
            maps.append((label, fn, expect[0], expect[1], ("x_0", "noise"), texts))
        inputs = ProbeInputs.make(ts, self.seed, self.dtype)
        for label, fn, expected, kappas, checks, texts in maps:
            self.check_map(label, fn, inputs, ts, expected, kappas, checks, texts, var)

    def check_map(self, label, fn, inputs, ts, expected, kappas, checks, texts, var):
        """One map of :meth:`check_add_noise` (see :mod:`.residual` for the probes and tolerances)."""
        from .residual import OFFSET_NOISE_NOTE, analyse_map
        ident = "forward_marginal"
        outs = self.guarded(ident, label, None, "", lambda: inputs.run(fn))
        if outs is None:
            return
        try:
            pr = analyse_map(inputs, outs, self.u_p)
        except ValueError as exc:
            self.finding(identity=ident, check=label, t=None, expected=math.nan, observed=math.nan,
                         rel_error=math.inf, tolerance=0.0, message=f"{label}: {exc}")
            return
        where = lambda i: f"{label} at t={ts[i]} (k={ts[i] - 1})"  # noqa: E731

        def cmp(check, t, expected, observed, tol, message):  # compare(), the message built only when it fails
            if math.isfinite(observed) and abs(observed - expected) <= tol:
                self.report.comparisons += 1
                return True
            return self.compare(ident, check, t, expected, observed, tol, message())
        if not pr.deterministic:
            i = pr.repeat_row
            self.compare(ident, f"{label}.deterministic", ts[i], 0.0, pr.repeat_dev, K * pr.fit.delta[i],
                         f"{where(i)} returns a different output for the same inputs (max difference "
                         f"{pr.repeat_dev:.3g}, not a per-channel constant): random inside, so not the map "
                         "(x_0, noise) -> output the identities describe; nothing else checked")
            return
        cx, ce = pr.coef_x, pr.coef_e
        rx, re_ = pr.rounding("x"), pr.rounding("e")
        (ex, ee), (kx, ke), (nx, ne), (tx, te) = expected, kappas, checks, texts
        for i, t in enumerate(ts):
            cmp(f"{label}.{nx}", t, ex[i], cx[i], self.tol(ex[i], kx[i], rx[i]),
                lambda: f"{where(i)} multiplies {nx} by {cx[i]:.6g}; {tx} = {ex[i]:.6g}")
            if ne == "variance":  # the variance itself: a half-precision abar that rounds to 1 adds no noise at all
                e2, o2 = var[i], ce[i] ** 2
                cmp(f"{label}.variance", t, e2, o2, 2 * self.tol(e2, ke[i], re_[i] * abs(ce[i])),
                    lambda: f"{where(i)} adds noise of variance {o2:.6g}; {te} = {e2:.6g}"
                    + (f" (no noise at all: abar_t rounds to 1 in {str(self.dtype)[6:]})" if o2 == 0 else ""))
                tol_s = self.tol(float(np.sqrt(var[i])), ke[i], re_[i])
                if -ce[i] > tol_s:  # the right variance with the noise's sign flipped: x_t = a x_0 - s eps
                    cmp(f"{label}.noise_sign", t, float(np.sqrt(var[i])), float(ce[i]), tol_s,
                        lambda: f"{where(i)} multiplies noise by {ce[i]:.6g} < 0 (sign flipped): the law of x_t is right, "
                        f"but x_t = mean_coef x_0 - sqrt(variance) eps breaks the convention the eps target, "
                        "get_velocity and the step's x_0 estimate share (x_t = mean_coef x_0 + sqrt(variance) eps)")
            else:
                cmp(f"{label}.{ne}", t, ee[i], ce[i], self.tol(ee[i], ke[i], re_[i]),
                    lambda: f"{where(i)} multiplies noise by {ce[i]:.6g}; {te} = {ee[i]:.6g}")
        d, tol_d = pr.fit.offset, pr.offset_tol
        if pr.offset_kind in ("offset_noise", "random_offset_noise"):
            form = ("c_e (noise + s noise.mean((2, 3))), one s for the batch" if pr.offset_kind == "offset_noise" else
                    "c_e (noise + s z) with z ~ N(0, 1) fresh per (sample, channel) on every call; s is its rms")
            self.report.comparisons += 1
            self.finding(identity=ident, check=f"{label}.offset_noise", t=None, expected=0.0,
                         observed=float(pr.offset_scale), rel_error=math.inf, tolerance=0.0, severity="note",
                         message=f"{label}: {OFFSET_NOISE_NOTE}: out = c_x x_0 + {form}, s = {pr.offset_scale:.3g}; "
                                 "not the forward marginal's noise, reported rather than failed")
        else:
            for i, t in enumerate(ts):
                if pr.offset_kind == "per_channel" and pr.offset_rows[i]:
                    j = int(np.argmax(np.abs(d[i])))
                    cmp(f"{label}.offset", t, 0.0, float(d[i, j]), tol_d[i],
                        lambda: f"{where(i)} adds per-channel offsets {np.array2string(d[i], precision=3)} that are "
                        "neither one constant nor offset noise (proportional to the noise)")
                else:
                    c0 = float(d[i].mean())
                    cmp(f"{label}.offset", t, 0.0, c0, tol_d[i],
                        lambda: f"{where(i)} adds a constant offset c_0 = {c0:.6g} (fit out = c_x x_0 + c_e noise + "
                        "c_0; the identity has c_0 = 0)")
        for i, t in enumerate(ts):
            cmp(f"{label}.affine", t, 0.0, float(pr.fit.residual[i]), float(pr.residual_tol[i]),
                lambda: f"{where(i)} is not affine in its own row's (x_0, noise): fit residual "
                f"{pr.fit.residual[i]:.3g} (non-linear, or mixes in other rows)")
        add_dev, add_tol = pr.additivity()
        for i, t in enumerate(ts):
            cmp(f"{label}.affine", t, 0.0, float(add_dev[i]), float(add_tol[i]),
                lambda: f"{where(i)} is not additive: with both inputs its coefficients are (x_0: "
                f"{pr.fit.coef[i, 0]:.6g}, noise: {pr.fit.coef[i, 1]:.6g}), with one input at a time ({cx[i]:.6g}, "
                f"{ce[i]:.6g})")
        for what, row, dev, tol in pr.checks:
            self.compare(ident, f"{label}.batch_coupled", ts[row], 0.0, dev, tol,
                         f"{label} is batch-coupled: {what} differs by {dev:.3g} at row t={ts[row]} (k={ts[row] - 1}); "
                         "a row's output must depend on its own x_0, noise and t only (timesteps[0] used for every "
                         "row? noise mixed across the batch? batch statistics?)")

    # -- step --
    def x0_map(self, mc, sd):
        """x0_hat = P x_t + Q m and eps_hat = Ex x_t + Em m for the prediction type (forward marginal
        x_t = mc x_0 + sd eps inverted; v = mc eps - sd x_0)."""
        pred = self.a.prediction_type
        mc, sd = np.float64(mc), np.float64(sd)
        with np.errstate(divide="ignore", invalid="ignore"):
            if pred == "epsilon":
                return 1.0 / mc, -sd / mc, 0.0, 1.0
            if pred == "sample":
                return 0.0, 1.0, 1.0 / sd, -mc / sd
            return mc, -sd, sd, mc

    def expected_step(self, call: StepCall, k, k_prev):
        """Expected (A, B, noise std, fixed_large std, identity, x0 map, kappa) for the step k -> k_prev."""
        t = k + 1
        abar_t = float(self.ref.alpha_bar(t))
        abar_prev = float(self.ref.alpha_bar(k_prev + 1)) if k_prev >= 0 else float(call.final_abar)
        if not abar_prev > abar_t:
            return None
        sub = _sub_schedule(abar_prev, abar_t)
        tt = sub.T
        mc = float(self.slots("forward_marginal", "mean_coef", sub, tt))
        sd = math.sqrt(float(self.slots("forward_marginal", "variance", sub, tt)))
        P, Q, Ex, Em = self.x0_map(mc, sd)
        beta = 1.0 - abar_t / abar_prev
        if call.mean == "posterior":
            if self.a.prediction_type == "epsilon":
                ident = "posterior_eps"
                A = float(self.slots("posterior_eps", "coef_xt", sub, tt))
                Bc = float(self.slots("posterior_eps", "coef_eps", sub, tt))
            else:
                ident = "posterior"
                cx0 = float(self.slots("posterior", "coef_x0", sub, tt))
                cxt = float(self.slots("posterior", "coef_xt", sub, tt))
                A, Bc = cx0 * P + cxt, cx0 * Q
        else:  # DDIM eta = 0: the forward marginal at t' evaluated at (x0_hat, eps_hat)
            ident = "forward_marginal"
            mcp = float(self.slots("forward_marginal", "mean_coef", sub, tt - 1))
            sdp = math.sqrt(float(self.slots("forward_marginal", "variance", sub, tt - 1)))
            A, Bc = mcp * P + sdp * Ex, mcp * Q + sdp * Em
        post_sd = math.sqrt(float(self.slots("posterior", "variance", sub, tt)))
        large_sd = math.sqrt(beta) if k_prev >= 0 or abar_prev < 1.0 else 0.0
        noise = {"fixed_small": post_sd, "fixed_large": large_sd, "none": 0.0}.get(call.noise)
        kap = self.kappa(abar_t, abar_prev, beta, t)
        return dict(t=t, tp=k_prev + 1, A=A, B=Bc, S=noise, post_sd=post_sd, large_sd=large_sd, ident=ident,
                    P=P, Q=Q, kappa=kap)

    def check_step(self, call: StepCall, ts_wanted):
        a, n = self.a, self.n
        self.report.grids.append(call.label)
        u = np.linspace(-1.0, 1.0, n)  # probe values; sum|u| / sum u^2 = 1.5 bounds the regression's rounding gain
        shape = (1, 1, 1, n)
        zero = torch.zeros(shape, dtype=self.dtype)
        for k, k_prev in call.pairs:
            t = k + 1
            if call.full_grid and t not in ts_wanted:
                continue
            with np.errstate(divide="ignore", invalid="ignore"):  # eps-prediction at abar_t = 0 is undefined
                e = self.expected_step(call, k, k_prev)
            grid = call.label
            if e is None:
                self.finding(identity="posterior", check="degenerate_step", t=t, expected=math.nan, observed=math.nan,
                             rel_error=0.0, tolerance=0.0, severity="note", grid=grid,
                             message=f"step from t={t} targets the same noise level (abar_t' = abar_t); not checked")
                continue
            bound = a.clip_bound
            amp_x = min(1.0, bound / abs(e["P"])) if e["P"] != 0 and math.isfinite(e["P"]) else 1.0
            amp_m = min(1.0, bound / abs(e["Q"])) if e["Q"] != 0 and math.isfinite(e["Q"]) else 1.0
            xin = (torch.as_tensor(u) * amp_x).to(self.dtype).reshape(shape)
            min_ = (torch.as_tensor(u) * amp_m).to(self.dtype).reshape(shape)
            seed = self.seed * 1_000_003 + k
            outs = self.guarded(e["ident"], "step", t, grid, lambda: (  # same seed: the noise cancels in differences
                *call.call(zero, k, zero, seed), *call.call(zero, k, xin, seed), *call.call(min_, k, zero, seed)))
            if outs is None:
                continue
            o0, p0, o1, p1, o2, p2 = (None if o is None else o.detach().double().cpu().numpy().ravel() for o in outs)
            xv, mv = xin.double().numpy().ravel(), min_.double().numpy().ravel()
            A_hat = float((o1 - o0) @ xv / (xv @ xv))
            B_hat = float((o2 - o0) @ mv / (mv @ mv))
            rnd = self.u_p * float(np.abs(o0).max() + max(np.abs(o1).max(), np.abs(o2).max()))
            where = f"t={t} -> t'={e['tp']}" + ("" if call.full_grid else f" (k={k} -> {k_prev})")
            idn = e["ident"]
            what = {"posterior_eps": "posterior_eps.coef_xt", "posterior": "posterior coef_x0 * x0_hat + coef_xt",
                    "forward_marginal": "sqrt(abar_t') x0_hat + sqrt(1-abar_t') eps_hat"}[idn]
            ok_a = self.compare(idn, "step.mean_xt", t, e["A"], A_hat,
                                self.tol(e["A"], e["kappa"], rnd * 1.5 / amp_x),
                                f"step {where} multiplies x_t by {A_hat:.6g}; {what} gives {e['A']:.6g}", grid)
            what_m = {"posterior_eps": "posterior_eps.coef_eps", "posterior": "posterior coef_x0 * d x0_hat/dm",
                      "forward_marginal": "the eta=0 DDIM update"}[idn]
            ok_b = self.compare(idn, "step.mean_model", t, e["B"], B_hat,
                                self.tol(e["B"], e["kappa"], rnd * 1.5 / amp_m),
                                f"step {where} multiplies the model output ({a.prediction_type}) by {B_hat:.6g}; "
                                f"{what_m} gives {e['B']:.6g}", grid)
            if ok_a and ok_b:  # affine check: a clipped or input-dependent noise would leave a residual
                resid = max(np.abs(o1 - o0 - A_hat * xv).max(), np.abs(o2 - o0 - B_hat * mv).max())
                rnd3 = self.u_p * float(np.abs(o0).max() + np.abs(o1).max() + np.abs(o2).max())
                self.compare(idn, "step.affine", t, 0.0, float(resid), 2 * K * rnd3,
                             f"step {where} is not affine in (x_t, model output) for probes with |x0_hat| <= "
                             f"{a.clip_bound:g}: residual {resid:.3g} (clipping active, or noise not drawn from "
                             "the generator?)", grid)
            if p0 is not None and p1 is not None and p2 is not None:
                P_hat = float((p1 - p0) @ xv / (xv @ xv))
                Q_hat = float((p2 - p0) @ mv / (mv @ mv))
                kap0 = self.kappa(float(self.ref.alpha_bar(t)), 1.0, 1.0, t)
                prnd = self.u_p * float(np.abs(p0).max() + max(np.abs(p1).max(), np.abs(p2).max()))
                for name, ex, ob, amp in (("x0_estimate.x_t", e["P"], P_hat, amp_x),
                                          ("x0_estimate.model", e["Q"], Q_hat, amp_m)):
                    if math.isfinite(ex):
                        self.compare("forward_marginal", name, t, ex, ob, self.tol(ex, kap0, prnd * 1.5 / amp),
                                     f"step's x_0 estimate ({a.prediction_type}) at t={t} has coefficient {ob:.6g} on "
                                     f"{name.split('.')[1]}; inverting the forward marginal gives {ex:.6g}", grid)
            if call.noise != "unchecked":
                self.check_noise(call, e, o0, seed, where, grid)

    def check_noise(self, call, e, r, seed, where, grid):
        """r = step(0, k, 0) = S z. Exact when r is a multiple of torch.randn(generator=seed) (diffusers' draw),
        else chi-square: sum(r^2)/S^2 ~ chi2(n) under H0 (Gaussian z), two-sided, Holm in finish_stats."""
        t, S = e["t"], e["S"]
        z = torch.randn(r.shape, generator=torch.Generator().manual_seed(seed), dtype=self.dtype).double().numpy()
        s_hat = float(r @ z / (z @ z))
        exact = np.abs(r - s_hat * z).max() <= K * self.u_p * (np.abs(r).max() + 1e-300) or not np.any(r)
        kind = {"fixed_small": "sqrt(posterior.variance) (fixed_small)",
                "fixed_large": "sqrt(beta_t) (fixed_large)" + (" = 0 on the step to x_0" if e["tp"] == 0 else ""),
                "none": "0 (deterministic)"}[call.noise]
        noise_ident = "forward_marginal" if call.mean == "ddim_eta0" else "posterior"
        if exact:
            self.noise_exact += 1
            # + u_p: noise below the probe dtype's resolution of unit-scale data is invisible (diffusers
            # floors the variance at 1e-20, std 1e-10, where the posterior variance is 0)
            rnd = self.u_p * (float(np.abs(r).max()) + 1.0)
            tol = self.tol(S, e["kappa"], rnd)
            alt = ""
            if abs(s_hat - S) > tol and call.noise == "fixed_small":
                if abs(s_hat - e["large_sd"]) <= self.tol(e["large_sd"], e["kappa"], rnd):
                    alt = f"; it matches sqrt(beta_t) = {e['large_sd']:.6g}, i.e. variance_type fixed_large"
            self.compare(noise_ident, "step.noise_std", t, S, s_hat, tol,
                         f"step {where} adds noise of std {s_hat:.6g}; expected {kind} = {S:.6g}{alt}", grid)
            return
        self.noise_chi2 += 1
        from scipy import stats
        n = r.size
        if S == 0.0:
            self.compare("posterior", "step.noise_std", t, 0.0, float(np.sqrt(np.mean(r ** 2))), 0.0,
                         f"step {where} is random (rms {np.sqrt(np.mean(r ** 2)):.3g}); expected {kind}", grid)
            return
        def p_two(sd):
            q = float(r @ r) / sd ** 2
            return min(1.0, 2.0 * min(stats.chi2.cdf(q, n), stats.chi2.sf(q, n)))
        p = p_two(S)
        p_alt = p_two(e["large_sd"]) if call.noise == "fixed_small" and e["large_sd"] > 0 else None
        self.report.stat_tests += 1
        self.stats.append((p, p_alt, dict(t=t, S=S, s_hat=float(np.sqrt(r @ r / n)), kind=kind, where=where,
                                          grid=grid, large=e["large_sd"])))

    def finish_stats(self, alpha):
        m = len(self.stats)
        if m:
            from scipy import stats
            order = sorted(range(m), key=lambda i: self.stats[i][0])
            for rank, i in enumerate(order):
                level = alpha / (m - rank)
                p, p_alt, d = self.stats[i]
                if p > level:
                    break
                alt = ""
                if p_alt is not None and p_alt > level:
                    alt = f"; consistent with sqrt(beta_t) = {d['large']:.6g} (fixed_large, p = {p_alt:.3g})"
                self.finding(identity="posterior", check="step.noise_std", t=d["t"], expected=d["S"],
                             observed=d["s_hat"], rel_error=abs(d["s_hat"] - d["S"]) / d["S"], tolerance=level,
                             grid=d["grid"], message=f"step {d['where']}: noise rms {d['s_hat']:.6g} vs expected "
                             f"{d['kind']} = {d['S']:.6g} (chi-square p = {p:.3g} < Holm level {level:.3g}){alt}")
            n = self.n
            lvl = alpha / m
            hi_c, lo_c = stats.chi2.isf(lvl / 2, n), stats.chi2.ppf(lvl / 2, n)
            up = math.sqrt(hi_c / stats.chi2.ppf(0.01, n))
            lo = math.sqrt(lo_c / stats.chi2.isf(0.01, n))
            self.report.mde_noise_std_ratio = (lo, up)
        if self.noise_chi2 and self.noise_exact:
            self.report.noise_mode = "exact where reproducible, chi-square elsewhere"
        elif self.noise_chi2:
            self.report.noise_mode = "chi-square (noise not reproducible from the generator)"
        else:
            self.report.noise_mode = "exact (noise reproduced from the generator)"


def _paper_timesteps(timesteps, T) -> list:
    values = np.atleast_1d(np.asarray(timesteps, dtype=object)).tolist()
    for t in values:
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or not 1 <= t <= T:
            raise ValueError(f"timesteps are paper t's, integers in 1..T={T} (diffusers k = t - 1); got {t!r}")
    if not values:
        raise ValueError("timesteps is empty: give at least one paper t in 1..T")
    return sorted({int(t) for t in values})


def check_scheduler(scheduler, *, alpha: float = 1e-6, seed: int = 0, timesteps=None, dtype=torch.float32,
                    num_inference_steps: int | None = None, spacings=None, probe_size: int = 1024,
                    sweep: bool = False, quick: bool = False):
    """Check ``scheduler`` against the proved identities (see the module docstring).

    ``scheduler``: a diffusers DDPMScheduler/DDIMScheduler (or subclass), or any
    :class:`SchedulerProtocol` object. ``timesteps``: paper t's (1-based; diffusers k = t - 1) to
    probe on the full grid, default all 1..T. ``dtype``: the probe dtype (float32, float16,
    bfloat16, float64): use the one you sample in. ``num_inference_steps`` (default min(10, T//2))
    and ``spacings`` (None: the configured timestep_spacing; "all" or a list of leading/trailing/
    linspace) choose the strided grids probed with set_timesteps. ``alpha``: family-wise
    false-alarm rate of the statistical noise tests. ``probe_size``: elements per probe tensor.
    When the config names its schedule (``beta_schedule``, ``timestep_spacing``), the betas and the
    probed grids are also compared with their published definitions (:mod:`.named`).

    ``sweep=True``: run every documented configuration axis of a DDPM/DDIM(-Parallel) scheduler
    (``scheduler`` is then its class, a factory of keyword arguments, or an instance whose config is the
    base) and return a :class:`~montecarlo.conformance.sweep.SweepReport` (:mod:`.sweep`); ``quick=True``
    a smaller design. ``timesteps``/``num_inference_steps``/``spacings`` are chosen by the sweep.
    Raises ValueError for an unusable scheduler or argument."""
    if not isinstance(sweep, bool) or not isinstance(quick, bool):
        raise ValueError(f"sweep and quick must be True or False, got sweep={sweep!r}, quick={quick!r}")
    if quick and not sweep:
        raise ValueError("quick=True selects the quick sweep design: it needs sweep=True")
    if sweep:
        fixed = [name for name, value in (("timesteps", timesteps), ("num_inference_steps", num_inference_steps),
                                          ("spacings", spacings)) if value is not None]
        if fixed:
            raise ValueError(f"sweep=True chooses {fixed[0]} itself (every axis value is swept); drop {fixed[0]}="
                             f"{locals()[fixed[0]]!r}")
        import sys
        from .sweep import sweep_scheduler
        return sweep_scheduler(scheduler, checker=sys.modules[__name__], quick=quick, alpha=alpha, seed=seed,
                               probe_size=probe_size)
    dtype = _probe_dtype(dtype)
    _check_common(alpha, seed, probe_size)
    from .external import external_report  # denoising-diffusion-pytorch, k-diffusion (None for other objects)
    if (ext := external_report(scheduler, alpha=alpha, seed=seed,
                               num_inference_steps=num_inference_steps)) is not None:
        return ext  # a k-diffusion sampler or denoiser wrapper (or an unsupported object of either package)
    from .classify import classify
    cls = classify(scheduler)
    if cls.kind == "unsupported" or cls.frame in ("ve", "vp", "edm", "flow") or (cls.kind != "posterior"):
        from .solvers import solver_report  # ODE/SDE samplers and ancestral samplers in sigma form
        return solver_report(scheduler, cls, ConformanceReport, Finding, alpha=float(alpha), seed=int(seed),
                             num_inference_steps=num_inference_steps)
    adapter = adapt(scheduler, num_inference_steps=num_inference_steps, spacings=spacings)
    named = None
    config = getattr(scheduler, "config", None)
    if config is not None and "timestep_spacing" in getattr(config, "keys", lambda: ())():
        from .adapters import _default_steps, _spacings
        named = (_spacings(scheduler, spacings), (_default_steps(adapter.T, num_inference_steps),))
    report = _check_adapter(adapter, scheduler, cls, alpha=alpha, seed=seed, timesteps=timesteps, dtype=dtype,
                            probe_size=probe_size, named=named)
    from .external import post_checks  # GaussianDiffusion: its ddim_sample as a PF-ODE solver
    post_checks(report, scheduler)
    return report


def adapt(obj, *, num_inference_steps: int | None = None, spacings=None):
    """The :class:`~.adapters.Adapter` of ``obj``: denoising-diffusion-pytorch's GaussianDiffusion
    (:mod:`.external`), diffusers DDPM/DDIM and their subclasses, or any :class:`SchedulerProtocol`
    object (:func:`.adapters.adapt`)."""
    from .external import external_adapter
    ext = external_adapter(obj, num_inference_steps=num_inference_steps, spacings=spacings)
    return ext if ext is not None else _adapt_scheduler(obj, num_inference_steps=num_inference_steps,
                                                        spacings=spacings)


def _probe_dtype(dtype):
    if isinstance(dtype, str):
        if dtype not in _DTYPES:
            raise ValueError(f"dtype {dtype!r} is not one of {sorted(_DTYPES)}")
        dtype = _DTYPES[dtype]
    if dtype not in _DTYPES.values():
        raise ValueError(f"dtype must be a torch floating dtype ({', '.join(_DTYPES)}), got {dtype!r}")
    return dtype


def _check_common(alpha, seed, probe_size):
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(probe_size, bool) or not isinstance(probe_size, (int, np.integer)) or probe_size < 16:
        raise ValueError(f"probe_size must be an integer >= 16, got {probe_size!r}")


def _check_adapter(adapter, scheduler, cls, *, alpha, seed, timesteps, dtype, probe_size, named=None,
                   ode_checks=True) -> ConformanceReport:
    """The posterior-sampler checks of ``check_scheduler`` on a built adapter (the sweep adds its own step
    calls to the adapter first). ``named``: (spacings, steps) for :func:`.named.named_findings`, or None."""
    T = adapter.T
    ts = list(range(1, T + 1)) if timesteps is None else _paper_timesteps(timesteps, T)
    report = ConformanceReport(scheduler=adapter.name, T=T, dtype=str(dtype).replace("torch.", ""),
                               prediction_type=adapter.prediction_type, variance_type=adapter.variance_type,
                               alpha=float(alpha), seed=int(seed))
    run = _Run(adapter, report, dtype, int(seed), int(probe_size))
    for check, sentence in adapter.notes:
        report.findings.append(Finding("posterior", check, None, math.nan, math.nan, 0.0, 0.0, sentence, "note"))
    if named is not None:  # named schedules are what they say (the rest takes the scheduler's own abar)
        from .named import named_findings
        found, compared = named_findings(scheduler, spacings=named[0], steps=named[1], finding=Finding)
        report.findings.extend(found)
        report.comparisons += compared
    run.check_abar_product(ts)
    run.check_add_noise(ts)
    wanted = set(ts)
    for call in adapter.step_calls:
        if not call.full_grid and call.pairs and call.pairs[0][0] != T - 1 and call.noise != "none":
            first = call.pairs[0][0] + 1
            ab = float(run.ref.alpha_bar(first))
            report.findings.append(Finding(
                "forward_marginal", "grid_start", first, float(run.ref.alpha_bar(T)), ab, math.nan, 0.0,
                f"the grid starts at t={first} < T={T}: sampling from N(0, I) there assumes abar_{first} ~ 0, but "
                f"abar_{first} = {ab:.3g} (Lin et al. 2024: use trailing spacing)", "note", call.label))
        run.check_step(call, wanted)
    run.finish_stats(alpha)
    if ode_checks and cls.frame == "abar" and cls.reference:  # DDIM: eta = 0 solves the PF-ODE: its order
        from .solvers import add_ode_checks
        add_ode_checks(report, scheduler, cls, Finding)
    order = {g: i for i, g in enumerate([""] + report.grids)}
    report.findings.sort(key=lambda f: (f.severity != "note", order.get(f.grid, 0), f.identity, f.check, f.t or 0))
    return report


# ----- spec resolution and CLI ------------------------------------------------------------------------
class SpecError(ValueError):
    """A bad ``module:factory`` spec or --config (CLI exit code 2)."""


_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def resolve_spec(spec: str, config: str | dict | None = None):
    """``module:attr`` -> ``getattr(importlib.import_module(module), attr)(**config)`` (importlib and
    getattr only, no eval). The module is looked up with the current directory on ``sys.path``, as
    ``python -m`` does. ``config``: a dict or a JSON object string. A non-callable attribute is
    returned as is (then config must be empty). Raises :class:`SpecError`."""
    import os
    import sys

    if not isinstance(spec, str) or spec.count(":") != 1:
        raise SpecError(f"scheduler spec {spec!r} must look like module:factory, e.g. diffusers:DDPMScheduler")
    module_name, attr = spec.split(":")
    if not _DOTTED.match(module_name) or not _DOTTED.match(attr):
        raise SpecError(f"scheduler spec {spec!r}: module and factory must be dotted Python names")
    if config is None or config == "":
        kwargs = {}
    elif isinstance(config, dict):
        kwargs = dict(config)
    else:
        try:
            kwargs = json.loads(config)
        except json.JSONDecodeError as exc:
            raise SpecError(f"--config is not valid JSON ({exc.msg} at position {exc.pos}): {config!r}") from exc
        if not isinstance(kwargs, dict):
            raise SpecError(f"--config must be a JSON object of keyword arguments, got {config!r}")
    cwd_added = not ({"", ".", os.getcwd()} & set(sys.path))
    if cwd_added:  # as `python -m` does: a module in the current directory is found first
        sys.path.insert(0, os.getcwd())
    try:
        obj = importlib.import_module(module_name)
    except ImportError as exc:
        hint = " (pip install diffusers)" if module_name.split(".")[0] == "diffusers" else ""
        raise SpecError(f"cannot import module {module_name!r}{hint}: {exc}") from exc
    finally:
        if cwd_added and sys.path and sys.path[0] == os.getcwd():
            del sys.path[0]
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise SpecError(f"{spec!r}: {type(obj).__name__} {getattr(obj, '__name__', obj)!r} has no attribute {part!r}")
        obj = getattr(obj, part)
    if not (isinstance(obj, type) or (callable(obj) and not hasattr(obj, "step"))):  # an instance: use it
        if kwargs:
            raise SpecError(f"{spec!r} is not callable, so --config cannot be applied")
        return obj
    try:
        return obj(**kwargs)
    except Exception as exc:  # noqa: BLE001 - the user's factory failed
        raise SpecError(f"calling {spec}(**{kwargs!r}) failed: {type(exc).__name__}: {exc}") from exc
