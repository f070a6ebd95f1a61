"""Residual checks: ``add_noise``, ``get_velocity`` and training targets as affine maps; loss weights.

**Affine-map probe** (:class:`MapProbe`, used by ``check_scheduler`` for ``add_noise``,
``get_velocity`` and every entry of ``Adapter.targets``). A map ``f(x_0, noise, k)`` that the
identities say is ``c_x x_0 + c_e noise`` row by row is probed with a batch of shape
``(B, C, H, W) = (len(ts), 3, 4, 4)``: row i has its own timestep and its own x_0 and noise, drawn
independently with a fixed seed, asymmetric and with nonzero mean (x_0 ~ U(-0.5, 1), noise
z + 0.3 z^2 with z standard normal). Per row, least squares fits

    out = c_x x_0 + c_e noise + d_c      (d_c: one intercept per channel; c_0 = d_c when they agree)

and the calls below are compared:

* ``repeat``: the same inputs again must give the same output (a map that draws noise inside is
  "not deterministic"), unless the difference is a per-(row, channel) constant: random offset noise;
* ``permuted``: the rows permuted (every row moves) must give the outputs permuted;
* ``alone``: three rows (first, middle, last) called as a batch of one must give their batch rows;
* ``duplicated``: the batch with row 0 appended must leave the B rows as they were, and give row 0's
  output again in the appended row.

Any of the last three failing is **batch-coupled** (``timesteps[0]`` used for every row, noise mixed
across rows, batch statistics). Offsets ``d`` are classified: all zero (conforms); proportional, with
one factor s for the whole batch, to ``c_e`` times the channel mean of the row's noise (the
deterministic form of **offset noise**, ``noise + s noise.mean((2, 3))``) or random per (row,
channel) (diffusers' ``noise_offset`` training option, ``noise += s randn(B, C, 1, 1)``): a
*documented deviation* (Guttenberg 2023), reported as a note; equal across the channels of a row:
a **constant offset** (failure); anything else: a per-channel offset (failure). The coefficients
compared with the identities are fitted (same model, per-channel intercepts included) on the
single-input calls ``f(x_0, 0, k)`` and ``f(0, noise, k)``, so the rounding of the other input does not
blur them (half precision); the joint call's coefficients must agree with them (additivity).

Tolerances, stated: with ``delta_ij = u_p (|out_ij| + sum |c x_ij| + |d|) + n u_64 max_j |out_ij|``
(the roundings of one output element in the probe dtype, its products and its sum, plus the float64
fit's own rounding over the n = 48 elements of a row), a fitted coefficient's rounding is at most
``sum_j |pinv(X)_kj| delta_ij`` (X the row's design matrix; exact for elementwise perturbations
bounded by delta), the fit residual at most ``max_l sum_j |(I - X pinv(X))_lj| delta_ij``; the
checker allows K = 8 times these (plus ``K (u_p + u_s kappa)|expected|`` on coefficients, as
everywhere), and K max_j delta_ij between outputs that must agree.

**Loss weights** (:func:`check_snr`, :func:`check_loss_weight`). ``check_snr(fn, scheduler)``
compares ``fn(k)`` (e.g. ``diffusers.training_utils.compute_snr(scheduler, k)``) with SNR_t =
mean_coef^2 / variance (``forward_marginal`` slots). ``check_loss_weight(w, scheduler,
prediction_type)`` takes a per-sample weight ``w(k)`` on the MSE of the prediction type's target,
converts it to the weight on the epsilon-MSE it equals (``path_conversions`` slots at a_t =
mean_coef, s_t = sqrt(variance): x_0 error = x0_coef_eps times the eps error; v error =
(v_coef_eps + v_coef_x0 x0_coef_eps) times it) and classifies it, up to one positive scale c:

* ``elbo``: c times ``eps_loss.weight`` with sigma_t^2 the posterior variance (fixed_small) or
  beta_t (fixed_large): the ELBO weight (t where it is infinite, t = 1 for fixed_small, the decoder
  term, are left out). Conforms.
* ``simple``: a constant weight on the target's own MSE (the plain MSE; for epsilon Ho et al.'s
  L_simple): a documented deviation (note).
* ``min_snr``: c min(SNR_t, gamma) / SNR_t on the eps-MSE: min-SNR-gamma weighting (Hang et al. 2023),
  a documented deviation (note); gamma is estimated (or checked when given), and must exceed the
  smallest SNR probed (else the weight is c gamma / SNR_t, no min-SNR).
* anything else: a failure, located at the t farthest from the ELBO weight.

Tolerance: ``2 K (u_p + u_s kappa) |expected|`` with kappa = 1/(1 - abar_t) + 1/(1 - abar_{t-1}) +
1/beta_t + 1 (the cancellations of the slots), the factor 2 for the fitted scale (and gamma).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from .findings import FindingsMixin

__all__ = ["PROBE_SHAPE", "ProbeInputs", "AffineFit", "fit_affine", "MapProbe", "analyse_map",
           "WeightReport", "check_snr", "check_loss_weight", "OFFSET_NOISE_NOTE", "MIN_SNR_NOTE"]

PROBE_SHAPE = (3, 4, 4)  # (C, H, W): C >= 2, so per-channel offsets show; 16 elements per channel
_U64 = float(np.finfo(np.float64).eps) / 2.0
K = 8.0  # the checker's safety factor (montecarlo.conformance.checker.K)

OFFSET_NOISE_NOTE = ("offset noise (documented deviation: Guttenberg 2023 / diffusers' noise_offset training option): "
                     "the noise gets a per-(sample, channel) constant")
MIN_SNR_NOTE = "min-SNR-gamma weighting (documented deviation: Hang et al. 2023)"


def _u(dtype) -> float:
    return float(torch.finfo(dtype).eps) / 2.0


# ----- the probe ----------------------------------------------------------------------------------------
@dataclass
class ProbeInputs:
    """Distinct asymmetric rows: ``x0``, ``noise`` (B, C, H, W) in the probe dtype, ``k`` (B,) long."""

    x0: torch.Tensor
    noise: torch.Tensor
    k: torch.Tensor
    perm: np.ndarray
    alone: tuple

    @classmethod
    def make(cls, ts, seed: int, dtype, shape=PROBE_SHAPE) -> "ProbeInputs":
        ts = np.asarray(ts, dtype=np.int64)
        B = int(ts.size)
        if len(shape) != 3 or shape[0] < 2:
            raise ValueError(f"probe shape (C, H, W) needs C >= 2, got {shape}")
        rng = np.random.default_rng([int(seed), 0x7E5])
        x0 = rng.uniform(-0.5, 1.0, size=(B, *shape))
        z = rng.standard_normal((B, *shape))
        noise = z + 0.3 * z ** 2  # skewed, mean 0.3
        perm = rng.permutation(B)
        while B >= 2 and np.any(perm == np.arange(B)):  # a derangement: every row moves (row 0 included)
            perm = rng.permutation(B)
        alone = tuple(sorted({0, B // 2, B - 1}))
        return cls(torch.as_tensor(x0, dtype=dtype), torch.as_tensor(noise, dtype=dtype),
                   torch.as_tensor(ts - 1, dtype=torch.long), perm, alone)

    def run(self, fn) -> tuple:
        """All the calls, in a fixed order (see :func:`analyse_map`)."""
        x0, e, k = self.x0, self.noise, self.k
        zero = torch.zeros_like(x0)
        p = torch.as_tensor(self.perm, dtype=torch.long)
        outs = [fn(x0, e, k), fn(x0, e, k), fn(x0, zero, k), fn(zero, e, k), fn(x0[p], e[p], k[p]),
                fn(torch.cat([x0, x0[:1]]), torch.cat([e, e[:1]]), torch.cat([k, k[:1]]))]
        outs += [fn(x0[i:i + 1], e[i:i + 1], k[i:i + 1]) for i in self.alone]
        return tuple(outs)


@dataclass
class AffineFit:
    """Per-row least squares ``out = sum_j coef[:, j] regressor_j + offset[:, c]`` (one intercept per channel)."""

    coef: np.ndarray        # (B, m)
    offset: np.ndarray      # (B, C)
    residual: np.ndarray    # (B,) max |out - fitted|
    rounding: np.ndarray    # (B, m + C) |pinv(X)| delta: bound on each coefficient's rounding, before K
    resid_bound: np.ndarray  # (B,) max |I - X pinv(X)| delta: bound on the residual's rounding, before K
    delta: np.ndarray       # (B,) max_j delta_ij: bound on one output element's rounding, before K

    @property
    def offset_rounding(self) -> np.ndarray:
        return self.rounding[:, self.coef.shape[1]:].max(axis=1)


def fit_affine(out: np.ndarray, regressors, u_p: float) -> AffineFit:
    """Fit ``out`` (B, C, H, W) on ``regressors`` (arrays of the same shape) plus per-channel intercepts,
    row by row; ``u_p``: the unit roundoff of the dtype the outputs were computed in."""
    B, C = out.shape[:2]
    n = int(np.prod(out.shape[1:]))
    m = len(regressors)
    X = np.empty((B, n, m + C))
    for j, r in enumerate(regressors):
        X[:, :, j] = r.reshape(B, n)
    X[:, :, m:] = np.repeat(np.eye(C), n // C, axis=0)[None]
    P = np.linalg.pinv(X)  # (B, m + C, n)
    y = out.reshape(B, n)
    coef = np.einsum("bpn,bn->bp", P, y)
    resid = y - np.einsum("bnp,bp->bn", X, coef)
    R = np.eye(n)[None] - X @ P
    scale = np.abs(y) + np.abs(X[:, :, m:] @ coef[:, m:, None])[:, :, 0]
    for j in range(m):
        scale += np.abs(coef[:, j:j + 1] * X[:, :, j])
    delta = u_p * scale + n * _U64 * np.abs(y).max(axis=1, keepdims=True)  # (B, n)
    return AffineFit(coef[:, :m], coef[:, m:], np.abs(resid).max(axis=1), np.einsum("bpn,bn->bp", np.abs(P), delta),
                     np.einsum("bln,bn->bl", np.abs(R), delta).max(axis=1), delta.max(axis=1))


@dataclass
class MapProbe:
    """What :func:`analyse_map` found for one map (see the module doc). The coefficients come from the
    single-input calls (x_0 with noise 0, noise with x_0 0: the other input's rounding does not blur
    them), the offsets and the residual from the joint call; ``additivity`` compares the two."""

    fit: AffineFit              # main call on (x_0, noise)
    fit_x: AffineFit            # f(x_0, 0) on x_0
    fit_e: AffineFit            # f(0, noise) on noise
    deterministic: bool = True
    repeat_dev: float = 0.0     # max |repeat - first| where not deterministic
    repeat_row: int = 0
    offset_kind: str = "none"   # none / offset_noise / random_offset_noise / constant / per_channel
    offset_scale: float = 0.0   # s of offset noise (relative to the noise coefficient)
    offset_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # rows with an offset
    offset_tol: np.ndarray = field(default_factory=lambda: np.zeros(0))
    checks: list = field(default_factory=list)  # batch probes: (description, worst row, deviation, tolerance)

    @property
    def coef_x(self) -> np.ndarray:
        return self.fit_x.coef[:, 0]

    @property
    def coef_e(self) -> np.ndarray:
        return self.fit_e.coef[:, 0]

    @property
    def coupling(self) -> list:
        """The batch probes that failed (K times the row's element rounding)."""
        return [c for c in self.checks if not c[2] <= c[3]]

    @property
    def batch_coupled(self) -> bool:
        return bool(self.coupling)

    def rounding(self, which: str) -> np.ndarray:
        """Absolute rounding allowance (before K) of coef_x ("x"), coef_e ("e") or the offsets ("d")."""
        if which == "x":
            return self.fit_x.rounding[:, 0]
        if which == "e":
            return self.fit_e.rounding[:, 0]
        return self.fit.offset_rounding

    @property
    def residual_tol(self) -> np.ndarray:
        return K * self.fit.resid_bound

    def additivity(self) -> tuple:
        """(deviation, tolerance) per row: the joint call's coefficients against the single-input ones."""
        dev = np.maximum(np.abs(self.fit.coef[:, 0] - self.coef_x), np.abs(self.fit.coef[:, 1] - self.coef_e))
        tol = K * (self.fit.rounding[:, :2].max(axis=1) + np.maximum(self.rounding("x"), self.rounding("e")))
        return dev, tol


def _np(t) -> np.ndarray:
    return t.detach().double().cpu().numpy()


def _channel_const(diff, tol_rows) -> bool:
    """diff (B, C, H, W) constant within every (row, channel), up to tol per row."""
    dev = np.abs(diff - diff.mean(axis=(2, 3), keepdims=True)).reshape(diff.shape[0], -1).max(axis=1)
    return bool(np.all(dev <= tol_rows))


def analyse_map(inputs: ProbeInputs, outs: tuple, u_p: float) -> MapProbe:
    """Analyse the outputs of :meth:`ProbeInputs.run` (probe dtype unit roundoff ``u_p``)."""
    x0, e = _np(inputs.x0), _np(inputs.noise)
    B = x0.shape[0]
    shape = x0.shape[1:]
    arrs = []
    for o, b in zip(outs, [B] * 5 + [B + 1] + [1] * len(inputs.alone)):
        arr = _np(o)
        if arr.shape != (b, *shape):
            if arr.size != b * int(np.prod(shape)):
                raise ValueError(f"the map returned shape {tuple(arr.shape)} for inputs of shape {(b, *shape)}")
            arr = arr.reshape(b, *shape)
        arrs.append(arr)
    main, again, no_e, no_x, permuted, dup, *alone = arrs
    res = MapProbe(fit=fit_affine(main, [x0, e], u_p), fit_x=fit_affine(no_e, [x0], u_p),
                   fit_e=fit_affine(no_x, [e], u_p))
    fit, delta = res.fit, res.fit.delta
    flat = lambda a: a.reshape(a.shape[0], -1)  # noqa: E731
    tol = K * delta
    # -- determinism: the same call twice --
    rep = np.abs(flat(again) - flat(main)).max(axis=1)
    random_offset = False
    if np.any(rep > tol):
        if _channel_const(again - main, tol):
            random_offset = True
        else:
            res.deterministic = False
            res.repeat_row = int(np.argmax(rep / np.maximum(tol, 1e-300)))
            res.repeat_dev = float(rep[res.repeat_row])
            return res
    # -- offsets --
    d = fit.offset
    tol_d = K * res.rounding("d")
    has = np.any(np.abs(d) > tol_d[:, None], axis=1)
    res.offset_rows, res.offset_tol = has, tol_d
    if np.any(has):
        ebar = e.mean(axis=(2, 3))  # (B, C) channel means of the noise
        ce = fit.coef[:, 1:2]
        basis = ce * ebar
        s = float((basis * d).sum() / (basis * basis).sum()) if np.any(basis) else 0.0
        if random_offset:
            res.offset_kind = "random_offset_noise"
            ok = np.abs(ce[:, 0]) > 0
            res.offset_scale = float(np.sqrt(np.mean((d[ok] / ce[ok]) ** 2))) if np.any(ok) else math.nan
        elif s != 0.0 and np.all(np.abs(d - s * basis) <= tol_d[:, None]):
            res.offset_kind, res.offset_scale = "offset_noise", s
        elif np.all(np.abs(d - d.mean(axis=1, keepdims=True)) <= tol_d[:, None]):
            res.offset_kind = "constant"
        else:
            res.offset_kind = "per_channel"
    # -- batch coupling: the output of a row depends on its own inputs only --
    if random_offset:  # compare the offset-free parts (the offsets are fresh on every call)
        strip = lambda o, xx, ee: o - fit_affine(o, [xx, ee], u_p).offset[:, :, None, None]  # noqa: E731
        p = inputs.perm
        main_c = strip(main, x0, e)
        permuted = strip(permuted, x0[p], e[p])
        dup = strip(dup, np.concatenate([x0, x0[:1]]), np.concatenate([e, e[:1]]))
        alone = [strip(a, x0[i:i + 1], e[i:i + 1]) for a, i in zip(alone, inputs.alone)]
        tol = tol + 2 * K * fit.offset_rounding
    else:
        main_c = main
    checks = [("the batch with its rows permuted (row outputs must permute the same way)",
               np.abs(flat(permuted) - flat(main_c)[inputs.perm]).max(axis=1), inputs.perm),
              ("the batch with row 0 appended as a duplicate (the other rows must not change)",
               np.abs(flat(dup[:B]) - flat(main_c)).max(axis=1), np.arange(B)),
              ("the duplicate of row 0 (appended to the batch) against row 0",
               np.abs(flat(dup[B:]) - flat(main_c[:1])).max(axis=1), np.array([0]))]
    for a, i in zip(alone, inputs.alone):
        checks.append((f"row {i} called alone (a batch of one) against the same row in the batch",
                       np.abs(flat(a) - flat(main_c[i:i + 1])).max(axis=1), np.array([i])))
    for what, dev, rows in checks:
        j = int(np.argmax(dev / np.maximum(tol[rows], 1e-300)))
        res.checks.append((what, int(rows[j]), float(dev[j]), float(tol[rows[j]])))
    return res


# ----- loss weights -------------------------------------------------------------------------------------
@dataclass
class WeightReport(FindingsMixin):
    """Result of :func:`check_snr` / :func:`check_loss_weight`: ``kind`` ("snr", "elbo", "simple",
    "min_snr", "other"), the fitted ``scale`` c and ``gamma``; ``findings`` are
    :class:`montecarlo.conformance.findings.Finding`."""

    name: str
    what: str
    prediction_type: str
    kind: str = ""
    scale: float = math.nan
    gamma: float | None = None
    comparisons: int = 0
    findings: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        status = "PASS" if self.passed else "FAIL"
        text = f"{status}: {self.what} of {self.name} ({self.prediction_type}): {self.kind}"
        if self.kind in ("elbo", "simple", "min_snr") and math.isfinite(self.scale):
            text += f", scale {self.scale:.6g}"
        if self.gamma is not None:
            text += f", gamma {self.gamma:.6g}"
        lines = [text] + [f"  {f.severity} {f.identity}/{f.check}"
                          + (f" at t={f.t} (k={f.k})" if f.t is not None else "") + f": {f.message}"
                          for f in self.findings]
        return "\n".join(lines)


def _schedule_of(obj):
    """(Schedule, storage u, name, only-betas) from a Schedule, or an object with alphas_cumprod or betas."""
    from ..schedules import Schedule
    if isinstance(obj, Schedule):
        return obj, _u(torch.float64), obj.name, False
    name = type(obj).__name__
    for attr in ("alphas_cumprod", "betas"):
        values = getattr(obj, attr, None)
        if values is None:
            continue
        if isinstance(values, torch.Tensor):
            u = _u(values.dtype) if values.dtype.is_floating_point else _u(torch.float64)
            arr = values.detach().double().cpu().numpy()
        else:
            arr = np.asarray(values)
            u = float(np.finfo(arr.dtype).eps) / 2 if arr.dtype.kind == "f" else _u(torch.float64)
            arr = arr.astype(np.float64)
        build = Schedule.from_alpha_bar if attr == "alphas_cumprod" else Schedule.from_betas
        return build(arr, name=name), u, name, attr == "betas"
    raise ValueError(f"{name} has neither alphas_cumprod nor betas: the schedule is needed")


def _ts(timesteps, T) -> np.ndarray:
    if timesteps is None:
        return np.arange(1, T + 1)
    ts = np.atleast_1d(np.asarray(timesteps))
    if ts.size == 0 or ts.dtype.kind not in "iu" or ts.min() < 1 or ts.max() > T:
        raise ValueError(f"timesteps are paper t's, integers in 1..T={T} (diffusers k = t - 1); got {timesteps!r}")
    return np.unique(ts.astype(np.int64))


def _call(fn, ts, what):
    out = fn(torch.as_tensor(ts - 1, dtype=torch.long))
    out = out.detach().double().cpu().numpy() if isinstance(out, torch.Tensor) else np.asarray(out, dtype=np.float64)
    out = np.broadcast_to(out, ts.shape) if out.size in (1, ts.size) else out
    if out.shape != ts.shape:
        out = out.reshape(-1)
    if out.shape != ts.shape:
        raise ValueError(f"{what} returned {out.size} values for {ts.size} timesteps")
    return out.astype(np.float64)


class _W:
    """Shared set-up of the weight checks: schedule, slots, tolerances."""

    def __init__(self, scheduler, timesteps, dtype):
        from proofs import IDENTITIES
        from proofs.numeric import slot_function
        from proofs.paths import path_function
        from .findings import Finding
        self.Finding = Finding
        self.sched, u_s, self.name, only_betas = _schedule_of(scheduler)
        self.u_p, self.u_s = _u(dtype), max(u_s, _u(torch.float32))
        self.ts = _ts(timesteps, self.sched.T)
        fm = IDENTITIES["forward_marginal"].slots
        mc = slot_function(fm["mean_coef"])(self.sched, self.ts)
        var = slot_function(fm["variance"])(self.sched, self.ts)
        self.mc, self.sd, self.var = mc, np.sqrt(var), var
        with np.errstate(divide="ignore", invalid="ignore"):
            self.snr = mc ** 2 / var
        self.slot = slot_function(IDENTITIES["eps_loss"].slots["weight"])
        self.conv = {k: path_function(v) for k, v in IDENTITIES["path_conversions"].slots.items()}
        ab = self.sched.alpha_bar(self.ts)
        abp = self.sched.alpha_bar(self.ts - 1)
        beta = self.sched.beta(self.ts)
        with np.errstate(divide="ignore"):
            self.kappa = (1.0 + np.where(ab < 1, 1 / (1 - ab), 0) + np.where(abp < 1, 1 / (1 - abp), 0)
                          + np.where(beta > 0, 1 / beta, 0) + (self.ts if only_betas else 0))

    def tol(self, expected, factor=1.0):
        return factor * K * (self.u_p + self.u_s * self.kappa) * np.abs(expected)


def check_snr(snr_fn, scheduler, *, timesteps=None, dtype=torch.float32) -> WeightReport:
    """``snr_fn(k)`` (diffusers k = t - 1, a LongTensor) against SNR_t = mean_coef^2 / variance, the
    ``forward_marginal`` slots on the scheduler's own schedule. E.g. ``check_snr(lambda k:
    compute_snr(scheduler, k), scheduler)``. ``dtype``: the precision snr_fn computes in."""
    w = _W(scheduler, timesteps, dtype)
    rep = WeightReport(name=w.name, what="SNR", prediction_type="-", kind="snr")
    obs = _call(snr_fn, w.ts, "snr_fn")
    tol = w.tol(w.snr)
    for t, ex, ob, tl in zip(w.ts, w.snr, obs, tol):
        rep.comparisons += 1
        if ex == ob or (math.isfinite(ob) and abs(ob - ex) <= tl):
            continue
        rep.findings.append(w.Finding(
            "forward_marginal", "snr", int(t), float(ex), float(ob),
            float(abs(ob - ex) / abs(ex)) if ex not in (0.0, math.inf) else math.inf, float(tl),
            f"SNR at t={t} (k={t - 1}) is {ob:.6g}; mean_coef^2 / variance = abar_t / (1 - abar_t) = {ex:.6g}"))
    return rep


def check_loss_weight(weight_fn, scheduler, *, prediction_type: str | None = None, timesteps=None, gamma=None,
                      variance_type: str | None = None, dtype=torch.float32) -> WeightReport:
    """Classify a per-sample loss weight ``weight_fn(k)`` (diffusers k = t - 1, a LongTensor) on the MSE
    of ``prediction_type``'s target (see the module doc): ELBO (conforms), the plain MSE or min-SNR-gamma
    (documented deviations, notes), else a failure. ``gamma``: check min-SNR with this gamma instead of
    estimating it. ``variance_type``: the sampler's sigma_t^2 in the ELBO weight (fixed_small or
    fixed_large). Both default to the scheduler's config (else epsilon, fixed_small)."""
    config = getattr(scheduler, "config", None)
    if prediction_type is None:
        prediction_type = getattr(config, "prediction_type", None) or getattr(scheduler, "prediction_type", "epsilon")
    if variance_type is None:
        vt = str(getattr(config, "variance_type", None) or getattr(scheduler, "variance_type", "fixed_small"))
        variance_type = "fixed_large" if vt.startswith("fixed_large") else "fixed_small"
    if prediction_type not in ("epsilon", "sample", "v_prediction"):
        raise ValueError(f"prediction_type must be epsilon, sample or v_prediction, got {prediction_type!r}")
    if variance_type not in ("fixed_small", "fixed_large"):
        raise ValueError(f"variance_type must be fixed_small or fixed_large, got {variance_type!r}")
    w = _W(scheduler, timesteps, dtype)
    rep = WeightReport(name=w.name, what="loss weight", prediction_type=prediction_type)
    obs = _call(weight_fn, w.ts, "weight_fn")
    vals = dict(a_t=w.mc, s_t=w.sd)
    x0e = w.conv["x0_coef_eps"](**vals)
    ratio = {"epsilon": np.ones_like(w.mc), "sample": x0e ** 2,
             "v_prediction": (w.conv["v_coef_eps"](**vals) + w.conv["v_coef_x0"](**vals) * x0e) ** 2}[prediction_type]
    with np.errstate(all="ignore"):
        w_eps = obs * ratio
        if variance_type == "fixed_small":
            from proofs import IDENTITIES
            from proofs.numeric import slot_function
            pv = slot_function(IDENTITIES["posterior"].slots["variance"])(w.sched, np.arange(1, w.sched.T + 1))
            sigma = np.sqrt(pv)
        else:
            sigma = np.sqrt(w.sched.beta(np.arange(1, w.sched.T + 1)))
        elbo = w.slot(w.sched, w.ts, sigma=sigma)
    usable = np.isfinite(w.snr) & (w.snr > 0) & np.isfinite(ratio)
    if not np.all(np.isfinite(obs)):
        t = int(w.ts[~np.isfinite(obs)][0])
        rep.kind = "other"
        rep.findings.append(w.Finding("eps_loss", "loss_weight", t, math.nan, math.nan, math.inf, 0.0,
                                      f"the weight at t={t} (k={t - 1}) is not finite"))
        return rep
    if not np.all(usable):
        bad = w.ts[~usable]
        rep.findings.append(w.Finding("forward_marginal", "loss_weight.snr", None, math.nan, math.nan, 0.0, 0.0,
                                      f"SNR is 0 or infinite at t={bad.tolist()[:5]}: not compared there", "note"))
    ts, we, snr, el = w.ts[usable], w_eps[usable], w.snr[usable], elbo[usable]
    tol_all = w.tol(np.ones_like(w.ts, dtype=float), 2.0)[usable]
    unit = {"epsilon": "eps-MSE", "sample": "x_0-MSE", "v_prediction": "v-MSE"}[prediction_type]

    def matches(model):
        return bool(np.all(np.abs(we - model) <= tol_all * np.abs(model)))

    rep.comparisons += int(ts.size)
    fin = np.isfinite(el)
    if np.any(fin):
        c = float(np.median(we[fin] / el[fin]))
        if c > 0 and np.all(np.abs(we[fin] - c * el[fin]) <= tol_all[fin] * c * np.abs(el[fin])):
            rep.kind, rep.scale = "elbo", c
            return rep
    r_ok = ratio[usable]
    c = float(np.median(we / r_ok))
    if c > 0 and matches(c * r_ok):  # a constant weight on the target's own MSE
        rep.kind, rep.scale = "simple", c
        eq = {"epsilon": "", "sample": ", i.e. c/SNR_t on the eps-MSE",
              "v_prediction": ", i.e. c (SNR_t + 1)/SNR_t on the eps-MSE"}[prediction_type]
        rep.findings.append(w.Finding(
            "eps_loss", "loss_weight.simple", None, math.nan, c, 0.0, 0.0,
            f"constant weight c = {c:.6g} on the {unit}{eq} (the plain MSE, L_simple of Ho et al. 2020): a documented "
            f"deviation from the ELBO weight eps_loss.weight ({variance_type})", "note"))
        return rep
    c = float(we[np.argmin(snr)])
    g = gamma
    if g is None and c > 0:
        below = we < c * (1 - tol_all)
        g = float(np.median(we[below] * snr[below] / c)) if np.any(below) else None
    # gamma must leave a flat part (SNR_t < gamma somewhere), else c min(SNR, gamma)/SNR is just c gamma/SNR
    flat = g is not None and bool(np.any(snr < g * (1 - tol_all)))
    if flat and c > 0 and g > 0 and matches(c * np.minimum(snr, g) / snr):
        rep.kind, rep.scale, rep.gamma = "min_snr", c, float(g)
        rep.findings.append(w.Finding(
            "eps_loss", "loss_weight.min_snr", None, math.nan, float(g), 0.0, 0.0,
            f"{MIN_SNR_NOTE}: the weight on the {unit} is, on the eps-MSE, c min(SNR_t, gamma)/SNR_t with c = {c:.6g}, "
            f"gamma = {g:.6g}; the ELBO weight is eps_loss.weight ({variance_type})", "note"))
        return rep
    rep.kind = "other"
    ref = np.where(np.isfinite(el), el, np.nan)
    cs = float(np.nanmedian(we / ref)) if np.any(np.isfinite(ref)) else 1.0
    with np.errstate(all="ignore"):
        rel = np.abs(we - cs * ref) / np.abs(cs * ref)
    j = int(np.nanargmax(rel)) if np.any(np.isfinite(rel)) else 0
    t = int(ts[j])
    rep.findings.append(w.Finding(
        "eps_loss", "loss_weight", t, float(cs * ref[j]), float(we[j]), float(rel[j]), float(tol_all[j]),
        f"the weight on the {unit} at t={t} (k={t - 1}) is {obs[usable][j]:.6g}, i.e. {we[j]:.6g} on the eps-MSE: "
        f"neither the ELBO weight (eps_loss.weight, {variance_type}, scale {cs:.6g}: {cs * ref[j]:.6g}), a constant "
        f"on the {unit} (plain MSE) nor c min(SNR, gamma)/SNR on the eps-MSE (min-SNR-gamma"
        + (f" with gamma = {gamma:g})" if gamma is not None else ")")))
    return rep
