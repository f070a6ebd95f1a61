"""Named schedules are what they say: a scheduler's betas and inference grids against their published
definitions.

The rest of the checker takes the scheduler's own ``alphas_cumprod`` as the reference, so a wrong but
self-consistent schedule (a "scaled_linear" that is linear, a wrong ``beta_end``, a misplaced but valid
inference grid) passes there. Here the schedule the config *declares* is rebuilt from
:mod:`montecarlo.schedules` (float64, each constructor citing its source) and compared:

* ``forward_marginal`` / ``named_schedule``: ``betas`` against ``Schedule.named(beta_schedule, T,
  beta_start, beta_end)`` (or the config's ``trained_betas``); with ``rescale_betas_zero_snr``,
  sqrt(alphas_cumprod) against Lin et al. (2024) Algorithm 1 applied to that schedule
  (``Schedule.rescale_zero_terminal_snr``), and abar_T = 0.
* ``forward_marginal`` / ``set_alpha_to_one`` (DDIM): ``final_alpha_cumprod`` is 1, or abar_1 when
  ``set_alpha_to_one=False`` (diffusers' documented choice).
* ``grid`` / ``spacing``: ``set_timesteps(n)`` under ``timestep_spacing`` leading / trailing / linspace
  (with ``steps_offset``) against :func:`montecarlo.schedules.inference_timesteps` (Lin et al. 2024,
  Table 2, and diffusers' documented behaviour).

Tolerances: diffusers stores float32 schedules built in float32 (``torch.linspace``, ``torch.sigmoid``,
``torch.cumprod``), so a beta is allowed ``K u32 (|beta| + max|beta|)`` (K = 8: a few roundings of values
up to max|beta|) and a rescaled sqrt(abar_t) ``K u32 (1 + t sqrt(abar_t)) g`` (t roundings of the running
product, one of the shift; g = s_1/(s_1 - s_T) the gain of Algorithm 1's rescale). A wrong family, or a beta_start/beta_end off by 0.1%, is orders of magnitude
beyond either.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import torch

from ..schedules import NAMED_SCHEDULES, Schedule, inference_timesteps

__all__ = ["named_findings", "schedule_findings", "grid_findings", "U32"]

U32 = float(np.finfo(np.float32).eps) / 2.0
K = 8.0
SPACINGS = ("leading", "trailing", "linspace")
_RANGED = ("linear", "scaled_linear", "sigmoid")


def _config(obj) -> dict:
    config = getattr(obj, "config", None)
    if config is None:
        return {}
    try:
        return dict(config)
    except (TypeError, ValueError):
        return {}


def _array(values):
    if values is None:
        return None
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().double().numpy().ravel()
    return np.asarray(values, dtype=np.float64).ravel()


def _make(finding):
    """finding(identity, check, t, expected, observed, rel, tol, message, grid=""): the checker's Finding
    (handed in by the caller: this module does not import the checker, which imports it) or, by default,
    a plain dict with the same fields."""
    def make(identity, check, t, expected, observed, rel, tol, message, grid=""):
        kw = dict(identity=identity, check=check, t=t, expected=float(expected), observed=float(observed),
                  rel_error=float(rel), tolerance=float(tol), message=message, grid=grid)
        return finding(**kw) if finding is not None else kw
    return make


def _beta_tol(ref: np.ndarray) -> np.ndarray:
    return K * U32 * (np.abs(ref) + np.max(np.abs(ref)))


def _describe(name, cfg) -> str:
    if name == "trained_betas":
        return "trained_betas"
    if name in _RANGED:
        return f"{name}(beta_start={cfg.get('beta_start')!r}, beta_end={cfg.get('beta_end')!r})"
    return name


def _reference(name: str, T: int, cfg: dict) -> Schedule:
    if name == "trained_betas":
        return Schedule.from_betas(np.asarray(cfg["trained_betas"], dtype=np.float32).astype(np.float64),
                                   name="trained_betas")
    return Schedule.named(name, T, cfg.get("beta_start"), cfg.get("beta_end"))


def _look_alike(betas: np.ndarray, declared: str, cfg: dict) -> str:
    """Which other named schedule (same beta range) the observed betas are, if any."""
    T = betas.size
    for other in NAMED_SCHEDULES:
        if other in (declared, "cosine") or (declared == "squaredcos_cap_v2" and other == "cosine"):
            continue
        try:
            ref = Schedule.named(other, T, cfg.get("beta_start") if other in _RANGED else None,
                                 cfg.get("beta_end") if other in _RANGED else None).betas
        except ValueError:
            continue
        if np.all(np.abs(betas - ref) <= _beta_tol(ref)):
            return other
    return ""


def schedule_findings(obj, finding=None) -> tuple[list, int]:
    """(findings, comparisons): the scheduler's betas / alphas_cumprod against the schedule its config names.
    Nothing is compared when the config names no schedule (a protocol sampler, an unknown name). ``finding``:
    the Finding class to build (``montecarlo.conformance.Finding``); default plain dicts."""
    _finding = _make(finding)
    cfg = _config(obj)
    name = "trained_betas" if cfg.get("trained_betas") is not None else cfg.get("beta_schedule")
    if name is None or (name != "trained_betas" and name not in NAMED_SCHEDULES):
        return [], 0
    betas = _array(getattr(obj, "betas", None))
    abar = _array(getattr(obj, "alphas_cumprod", None))
    if betas is None and abar is None:
        return [], 0
    T = int((betas if betas is not None else abar).size)
    declared = int(cfg.get("num_train_timesteps", T) or T)
    what = _describe(name, cfg)
    findings: list = []
    if declared != T:
        findings.append(_finding("forward_marginal", "named_schedule", None, declared, T, abs(T - declared) / declared,
                                 0.0, f"num_train_timesteps={declared} but the schedule has {T} entries"))
        return findings, 1
    try:
        ref = _reference(name, T, cfg)
    except ValueError as exc:  # a config the published definition rejects (beta_end > 1, ...)
        findings.append(_finding("forward_marginal", "named_schedule", None, math.nan, math.nan, math.inf, 0.0,
                                 f"beta_schedule={what}: the published definition rejects this config: {exc}"))
        return findings, 1
    rescale = bool(cfg.get("rescale_betas_zero_snr", False))
    comparisons = 0
    if not rescale and betas is not None:
        ref_b = ref.betas
        err = np.abs(betas - ref_b)
        tol = _beta_tol(ref_b)
        comparisons += T
        bad = np.flatnonzero(~(err <= tol))
        if bad.size:
            rel = err / np.abs(ref_b)
            i = int(np.nanargmax(np.where(np.isfinite(rel), rel, np.inf)))
            alike = _look_alike(betas, name, cfg)
            head = (f"beta_schedule={name!r} but betas are {alike}" if alike else
                    f"beta_schedule={what} but betas differ from its definition at {bad.size} of {T} t")
            findings.append(_finding(
                "forward_marginal", "named_schedule", i + 1, ref_b[i], betas[i], rel[i], tol[i],
                f"{head}: max rel error {rel[i]:.3g} at t={i + 1} (beta = {betas[i]:.6g}, {ref.name} gives "
                f"{ref_b[i]:.6g}); beta_1 = {betas[0]:.6g} vs {ref_b[0]:.6g}, beta_T = {betas[-1]:.6g} vs "
                f"{ref_b[-1]:.6g}"))
    if rescale:
        if T < 2:
            return findings, comparisons
        target = ref.rescale_zero_terminal_snr()
        ts = np.arange(1, T + 1)
        s_ref = np.sqrt(target.alpha_bar(ts))
        s_obs = np.sqrt(np.clip(abar if abar is not None else np.cumprod(1.0 - betas), 0.0, None))
        err = np.abs(s_obs - s_ref)
        s_base = np.sqrt(ref.alpha_bar(np.array([1, T])))
        gain = s_base[0] / (s_base[0] - s_base[1])  # Algorithm 1 scales by s_1/(s_1 - s_T): errors grow by that
        tol = K * U32 * (1.0 + ts * s_ref) * gain
        comparisons += T
        bad = np.flatnonzero(~(err <= tol))
        if bad.size:
            i = int(bad[np.argmax(err[bad] / np.maximum(tol[bad], 1e-300))])
            rel = err[i] / s_ref[i] if s_ref[i] > 0 else math.inf
            why = (f"sqrt(abar_T) = {s_obs[-1]:.3g}, not 0: the terminal SNR is not zero" if err[-1] > tol[-1] else
                   f"max error at t={i + 1}")
            findings.append(_finding(
                "forward_marginal", "named_schedule", i + 1, s_ref[i], s_obs[i], rel, tol[i],
                f"rescale_betas_zero_snr=True with beta_schedule={what} but sqrt(alphas_cumprod) is not Lin et al. "
                f"(2024) Algorithm 1 applied to it: {why} (sqrt(abar_{i + 1}) = {s_obs[i]:.6g}, expected "
                f"{s_ref[i]:.6g})"))
    if "set_alpha_to_one" in cfg and hasattr(obj, "final_alpha_cumprod") and abar is not None:
        expected = 1.0 if cfg["set_alpha_to_one"] else float(abar[0])
        observed = float(_array(obj.final_alpha_cumprod)[0])
        comparisons += 1
        if not abs(observed - expected) <= K * U32 * expected:
            findings.append(_finding(
                "forward_marginal", "set_alpha_to_one", 0, expected, observed, abs(observed - expected) / expected,
                K * U32 * expected, f"set_alpha_to_one={cfg['set_alpha_to_one']} but final_alpha_cumprod = "
                f"{observed:.6g}; diffusers documents {'1' if cfg['set_alpha_to_one'] else 'alphas_cumprod[0]'} = "
                f"{expected:.6g}"))
    return findings, comparisons


def _show(ks) -> str:
    ks = [int(k) for k in ks]
    return str(ks) if len(ks) <= 12 else f"[{', '.join(map(str, ks[:6]))}, ..., {', '.join(map(str, ks[-3:]))}]"


def grid_findings(obj, spacings=None, steps=(10,), finding=None) -> tuple[list, int]:
    """(findings, comparisons): ``set_timesteps(n)`` under each spacing (default: the configured one) against
    :func:`montecarlo.schedules.inference_timesteps`. A scheduler without ``set_timesteps`` or a
    ``timestep_spacing`` config is not compared. ``finding``: as in :func:`schedule_findings`."""
    _finding = _make(finding)
    cfg = _config(obj)
    if "timestep_spacing" not in cfg or not callable(getattr(obj, "set_timesteps", None)):
        return [], 0
    T = int(cfg.get("num_train_timesteps") or 0)
    if T < 1:
        return [], 0
    offset = int(cfg.get("steps_offset", 0) or 0)
    spacings = (cfg["timestep_spacing"],) if spacings is None else tuple(spacings)
    findings, comparisons = [], 0
    for sp in spacings:
        if sp not in SPACINGS:
            continue
        for n in steps:
            if not 1 <= n <= T:
                continue
            label = f"{sp} grid, {n} steps"
            ref = inference_timesteps(sp, T, n, offset)
            sched = copy.deepcopy(obj)
            comparisons += 1
            try:
                sched.register_to_config(timestep_spacing=sp)
                sched.set_timesteps(n)
                got = _array(sched.timesteps)
            except Exception as exc:  # noqa: BLE001 - the scheduler's own error is the finding
                findings.append(_finding("grid", "spacing", None, math.nan, math.nan, math.inf, 0.0,
                                         f"set_timesteps({n}) with timestep_spacing={sp!r} raised "
                                         f"{type(exc).__name__}: {exc}", label))
                continue
            if got.shape == ref.shape and np.array_equal(got, ref):
                continue
            if got.shape != ref.shape:
                i, exp_k, obs_k = min(got.size, ref.size), float(ref.size), float(got.size)
                where = f"{got.size} timesteps instead of {ref.size}"
            else:
                i = int(np.flatnonzero(got != ref)[0])
                exp_k, obs_k = float(ref[i]), float(got[i])
                where = f"first difference at position {i}: k={obs_k:g} instead of {exp_k:g}"
            shift = ""
            if got.shape == ref.shape and np.all(got - ref == got[0] - ref[0]):
                shift = f" (the whole grid is shifted by {int(got[0] - ref[0]):+d})"
            src = ("Lin et al. 2024 Table 2 / diffusers" + (f", steps_offset={offset}" if sp == "leading" else ""))
            findings.append(_finding(
                "grid", "spacing", None if not 0 <= obs_k < T else int(obs_k) + 1, exp_k, obs_k,
                abs(obs_k - exp_k) / abs(exp_k) if exp_k else math.inf, 0.0,
                f"timestep_spacing={sp!r}, {n} steps: timesteps {_show(got)} but {src} gives {_show(ref)}; "
                f"{where}{shift}", label))
    return findings, comparisons


def named_findings(obj, spacings=None, steps=(10,), finding=None) -> tuple[list, int]:
    """:func:`schedule_findings` and :func:`grid_findings` together: (findings, comparisons)."""
    f1, n1 = schedule_findings(obj, finding)
    f2, n2 = grid_findings(obj, spacings, steps, finding)
    return f1 + f2, n1 + n2
