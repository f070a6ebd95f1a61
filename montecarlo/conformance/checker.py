"""Conformance of a real scheduler to the proved identities (diffusers, or a user's own sampler).

``check_scheduler(scheduler)`` probes a scheduler and compares what it computes with the
identities of :mod:`proofs`, evaluated in float64 from the proved slot expressions
(``proofs.numeric.slot_function(proofs.IDENTITIES[id].slots[slot])``, never retyped) on the
scheduler's own schedule (its ``alphas_cumprod``, else its ``betas``). What is checked:

* ``forward_marginal`` / abar_product: ``alphas_cumprod[k]`` is the running product of its own
  ``1 - betas`` (abar_t = mean_coef^2 on the schedule built from the betas).
* ``forward_marginal`` / add_noise: ``add_noise(x_0, eps, k) = mean_coef x_0 + sqrt(variance) eps``;
  get_velocity: ``v = mean_coef eps - sqrt(variance) x_0``; the step's x_0 estimate
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
from dataclasses import dataclass, field

import numpy as np
import torch

from .adapters import SchedulerProtocol, StepCall, adapt

from ..schedules import Schedule

__all__ = ["check_scheduler", "ConformanceReport", "Finding", "SchedulerProtocol", "resolve_spec", "SpecError", "K"]

K = 8.0  # safety factor over the handful of roundings in each computed coefficient
_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64}


def _u(dtype) -> float:
    return float(torch.finfo(dtype).eps) / 2.0


@dataclass(frozen=True)
class Finding:
    """One disagreement (severity "fail") or remark (severity "note").

    ``identity``: a proofs.IDENTITIES id; ``check``: what was compared; ``t``: paper timestep
    (1-based), ``k = t - 1`` the diffusers index; ``rel_error = |observed - expected|/|expected|``
    (inf when expected = 0 and observed is not); ``tolerance``: the absolute tolerance used (for a
    statistical finding, the Holm-adjusted p-value threshold)."""

    identity: str
    check: str
    t: int | None
    expected: float
    observed: float
    rel_error: float
    tolerance: float
    message: str
    severity: str = "fail"
    grid: str = ""
    sigma: float | None = None  # noise level (data-scaled sigma = s/a, or tau for flow matching) where it shows

    @property
    def k(self) -> int | None:
        return None if self.t is None else self.t - 1

    def to_dict(self) -> dict:
        out = {"identity": self.identity, "check": self.check, "t": self.t, "k": self.k, "grid": self.grid,
               "severity": self.severity, "expected": self.expected, "observed": self.observed,
               "rel_error": self.rel_error, "tolerance": self.tolerance, "message": self.message,
               "sigma": self.sigma}
        return {key: (str(v) if isinstance(v, float) and not math.isfinite(v) else v) for key, v in out.items()}


@dataclass
class ConformanceReport:
    scheduler: str
    T: int
    dtype: str
    prediction_type: str
    variance_type: str
    alpha: float
    seed: int
    findings: list = field(default_factory=list)
    comparisons: int = 0
    stat_tests: int = 0
    noise_mode: str = "exact"
    mde_noise_std_ratio: tuple | None = None  # (lower, upper) detectable at power 0.99
    grids: list = field(default_factory=list)
    tolerance: str = ("deterministic: |obs - exp| <= 8 [(u_p + u_s kappa)|exp| + output rounding]; "
                      "noise not reproducible from the generator: two-sided chi-square, exact for Gaussian noise, Holm")
    kind: str = "posterior"          # montecarlo.conformance.classify: posterior / ode / sde / unsupported
    order: float | None = None       # measured convergence order (deterministic solvers), else None
    reason: str = ""                 # why a scheduler is UNSUPPORTED
    solver: dict = field(default_factory=dict)  # ODE/SDE details: errors per step count, reference, MC design

    @property
    def status(self) -> str:
        """"PASS", "FAIL" (named findings) or "UNSUPPORTED" (``reason`` says why)."""
        if self.kind == "unsupported":
            return "UNSUPPORTED"
        return "FAIL" if self.failures else "PASS"

    @property
    def passed(self) -> bool:
        return self.status == "PASS"

    @property
    def failures(self) -> list:
        return [f for f in self.findings if f.severity == "fail"]

    @property
    def notes(self) -> list:
        return [f for f in self.findings if f.severity == "note"]

    def groups(self) -> list:
        """Findings grouped by (severity, grid, identity, check): (first finding, count), first by t."""
        groups: dict = {}
        for f in self.findings:
            groups.setdefault((f.severity, f.grid, f.identity, f.check), []).append(f)
        return [(items[0], len(items)) for items in groups.values()]

    def to_dict(self) -> dict:
        return {"scheduler": self.scheduler, "T": self.T, "dtype": self.dtype, "prediction_type": self.prediction_type,
                "variance_type": self.variance_type, "passed": self.passed, "alpha": self.alpha, "seed": self.seed,
                "comparisons": self.comparisons, "stat_tests": self.stat_tests, "noise_mode": self.noise_mode,
                "mde_noise_std_ratio": self.mde_noise_std_ratio, "grids": self.grids, "tolerance": self.tolerance,
                "status": self.status, "kind": self.kind, "order": self.order, "reason": self.reason,
                "solver": _jsonable(self.solver), "findings": [f.to_dict() for f in self.findings]}

    def summary(self) -> str:
        status = self.status
        if status == "UNSUPPORTED":
            return f"UNSUPPORTED: {self.scheduler}: {self.reason}"
        if self.kind != "posterior" or self.solver.get("frame"):
            from .solvers import summary_line
            return summary_line(self)
        text = (f"{status}: {self.scheduler} (T={self.T}, {self.prediction_type}, {self.variance_type}, "
                f"probed in {self.dtype}): {self.comparisons} comparisons, {len(self.failures)} failures, "
                f"{len(self.notes)} notes; noise scale: {self.noise_mode}")
        if self.stat_tests:
            lo, hi = self.mde_noise_std_ratio
            text += (f" ({self.stat_tests} chi-square tests, family-wise alpha={self.alpha:g}, exact; "
                     f"detects std ratio < {lo:.3f} or > {hi:.3f} at power 0.99)")
        if self.order is not None:
            text += f"; PF-ODE (eta=0) measured order {self.order:.2f}"
        return text

    def format_table(self, limit: int | None = 40) -> str:
        lines = [self.summary(), "grids: " + "; ".join(self.grids)]
        groups = self.groups()
        if groups:
            lines.append(f"{'':4} {'identity':<16} {'check':<18} {'t':>5} {'k':>5} {'expected':>12} {'observed':>12} "
                         f"{'rel.err':>9} {'more':>5}  grid / message")
        for f, count in groups[:limit]:
            t = "-" if f.t is None else str(f.t)
            if f.t is None and f.sigma is not None:  # solver findings are located by sigma
                t = f"s={f.sigma:.3g}"
            k = "-" if f.k is None else str(f.k)
            grid = f"[{f.grid}] " if f.grid else ""
            more = f"+{count - 1}" if count > 1 else ""
            if f.severity == "note":
                lines.append(f"note {f.identity:<16} {f.check:<18} {t:>5} {k:>5} {'':>12} {'':>12} {'':>9} {more:>5}  "
                             f"{grid}{f.message}")
                continue
            lines.append(f"FAIL {f.identity:<16} {f.check:<18} {t:>5} {k:>5} {f.expected:>12.6g} "
                         f"{f.observed:>12.6g} {f.rel_error:>9.3g} {more:>5}  {grid}{f.message}")
        if limit is not None and len(groups) > limit:
            lines.append(f"... {len(groups) - limit} more groups (use --json for all)")
        return "\n".join(lines)

    def failure_message(self, limit: int = 25) -> str:
        fails = [(f, n) for f, n in self.groups() if f.severity == "fail"]
        lines = [self.summary()]
        for f, n in fails[:limit]:
            more = f" (and {n - 1} more t)" if n > 1 else ""
            where = f"t={f.t} (k={f.k})" if f.t is not None or f.sigma is None else f"sigma={f.sigma:.4g}"
            lines.append(f"  - {f.identity} / {f.check} at {where} [{f.grid}]: {f.message}{more}")
        if len(fails) > limit:
            lines.append(f"  ... {len(fails) - limit} more")
        return "\n".join(lines)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


# ----- the checker ----------------------------------------------------------------------------------
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
        a = self.a
        n = 16
        u = np.linspace(-1.0, 1.0, n)
        B = len(ts)
        k = torch.as_tensor(np.asarray(ts) - 1, dtype=torch.long)
        probe = self.tensor(np.broadcast_to(u, (B, 1, 1, n)).copy())
        zero = torch.zeros_like(probe)
        pairs = [("add_noise", a.add_noise, "x_0", "noise")]
        if a.get_velocity is not None:
            pairs.append(("get_velocity", a.get_velocity, "sample", "noise"))
        mc = self.slots("forward_marginal", "mean_coef", self.ref, ts)
        var = self.slots("forward_marginal", "variance", self.ref, ts)
        sd = np.sqrt(var)
        abar = mc ** 2
        for name, fn, first, second in pairs:
            outs = self.guarded("forward_marginal", name, None, "", lambda: (fn(probe, zero, k), fn(zero, probe, k)))
            if outs is None:
                continue
            ox, oe = (o.detach().double().cpu().numpy().reshape(B, n) for o in outs)
            cx, ce = ox @ u / (u @ u), oe @ u / (u @ u)
            if name == "add_noise":
                exp_x, exp_e = mc, sd
                what = ("mean_coef = sqrt(abar_t)", "variance = 1 - abar_t")
            else:
                exp_x, exp_e = -sd, mc
                what = ("-sqrt(variance) (v = mean_coef eps - sqrt(variance) x_0)", "mean_coef")
            for i, t in enumerate(ts):
                t = int(t)
                # kappa per quantity: sqrt(abar_t) has no cancellation, sqrt(1 - abar_t) has 1/(1 - abar_t)
                kap_mc = 1.0 + (t if self.t_factor else 0.0)
                kap_sd = self.kappa(abar[i], 1.0, 0.0, t)
                kap_x, kap_e = (kap_mc, kap_sd) if name == "add_noise" else (kap_sd, kap_mc)
                rnd_x, rnd_e = self.u_p * float(np.abs(ox[i]).max()), self.u_p * float(np.abs(oe[i]).max())
                if not self.compare("forward_marginal", f"{name}.{first}", t, exp_x[i], cx[i],
                                    self.tol(exp_x[i], kap_x, rnd_x),
                                    f"{name} at t={t} (k={t - 1}) multiplies {first} by {cx[i]:.6g}; the forward "
                                    f"marginal gives {what[0]} = {exp_x[i]:.6g}"):
                    continue
                if name == "add_noise":
                    # compare the variance itself: a half-precision abar that rounds to 1 adds no noise at all
                    e2, o2 = var[i], ce[i] ** 2
                    self.compare("forward_marginal", "add_noise.variance", t, e2, o2,
                                 2 * self.tol(e2, kap_e, rnd_e * abs(ce[i])),
                                 f"add_noise at t={t} (k={t - 1}) adds noise of variance {o2:.6g}; forward_marginal."
                                 f"variance = 1 - abar_t = {e2:.6g}" + (" (no noise at all: abar_t rounds to 1 in "
                                                                          f"{str(self.dtype)[6:]})" if o2 == 0 else ""))
                else:
                    self.compare("forward_marginal", f"{name}.{second}", t, exp_e[i], ce[i],
                                 self.tol(exp_e[i], kap_e, rnd_e),
                                 f"get_velocity at t={t} (k={t - 1}) multiplies noise by {ce[i]:.6g}; v = mean_coef eps "
                                 f"- sqrt(variance) x_0 gives mean_coef = {exp_e[i]:.6g}")

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
                    num_inference_steps: int | None = None, spacings=None, probe_size: int = 1024) -> ConformanceReport:
    """Check ``scheduler`` against the proved identities (see the module docstring).

    ``scheduler``: a diffusers DDPMScheduler/DDIMScheduler (or subclass), or any
    :class:`SchedulerProtocol` object. ``timesteps``: paper t's (1-based; diffusers k = t - 1) to
    probe on the full grid, default all 1..T. ``dtype``: the probe dtype (float32, float16,
    bfloat16, float64): use the one you sample in. ``num_inference_steps`` (default min(10, T//2))
    and ``spacings`` (None: the configured timestep_spacing; "all" or a list of leading/trailing/
    linspace) choose the strided grids probed with set_timesteps. ``alpha``: family-wise
    false-alarm rate of the statistical noise tests. ``probe_size``: elements per probe tensor.
    Raises ValueError for an unusable scheduler or argument."""
    if isinstance(dtype, str):
        if dtype not in _DTYPES:
            raise ValueError(f"dtype {dtype!r} is not one of {sorted(_DTYPES)}")
        dtype = _DTYPES[dtype]
    if dtype not in _DTYPES.values():
        raise ValueError(f"dtype must be a torch floating dtype ({', '.join(_DTYPES)}), got {dtype!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(probe_size, bool) or not isinstance(probe_size, (int, np.integer)) or probe_size < 16:
        raise ValueError(f"probe_size must be an integer >= 16, got {probe_size!r}")
    from .classify import classify
    cls = classify(scheduler)
    if cls.kind == "unsupported" or cls.frame in ("ve", "vp", "edm", "flow") or (cls.kind != "posterior"):
        from .solvers import solver_report  # ODE/SDE samplers and ancestral samplers in sigma form
        return solver_report(scheduler, cls, ConformanceReport, Finding, alpha=float(alpha), seed=int(seed),
                             num_inference_steps=num_inference_steps)
    adapter = adapt(scheduler, num_inference_steps=num_inference_steps, spacings=spacings)
    T = adapter.T
    ts = list(range(1, T + 1)) if timesteps is None else _paper_timesteps(timesteps, T)
    report = ConformanceReport(scheduler=adapter.name, T=T, dtype=str(dtype).replace("torch.", ""),
                               prediction_type=adapter.prediction_type, variance_type=adapter.variance_type,
                               alpha=float(alpha), seed=int(seed))
    run = _Run(adapter, report, dtype, int(seed), int(probe_size))
    for check, sentence in adapter.notes:
        report.findings.append(Finding("posterior", check, None, math.nan, math.nan, 0.0, 0.0, sentence, "note"))
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
    if cls.frame == "abar" and cls.reference:  # DDIM: eta = 0 solves the PF-ODE, so it reports its order
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
