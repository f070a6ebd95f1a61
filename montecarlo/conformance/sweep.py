"""Sweep mode: every documented configuration axis of a DDPM/DDIM(-Parallel) scheduler, checked.

``check_scheduler(SchedulerClass, sweep=True)`` (or ``sweep_scheduler``) builds the scheduler once per
configuration of a covering design and runs the full check (:func:`.checker.check_scheduler`'s posterior
checks, the named-schedule comparison of :mod:`.named`, plus what only a sweep probes: custom timesteps and
their validation, DDIM's ``use_clipped_model_output``) on each.

Axes (values the class documents; "extra" values are tried and, when the class refuses them in
``__init__``/``set_timesteps``, reported as REFUSED rather than failed):

==========================  ===================================================================
beta_schedule               linear, scaled_linear, squaredcos_cap_v2, sigmoid (DDPM), trained_betas;
                            extra: sigmoid (DDIM), laplace
prediction_type             epsilon, sample, v_prediction
timestep_spacing            leading, trailing, linspace
steps_offset                0, 1
clipping                    off, clip_sample, thresholding
rescale_betas_zero_snr      False, True (not with epsilon: see EXCLUDED)
dtype (probe)               float32, float64
variance_type (DDPM)        fixed_small, fixed_small_log, fixed_large, fixed_large_log, learned, learned_range
custom_timesteps (DDPM)     False, True: ``set_timesteps(timesteps=[...])`` on an uneven list, and the
                            validation it must do (descending, 0 <= k < T, not with num_inference_steps)
set_alpha_to_one (DDIM)     True, False
use_clipped_model_output    False, True (DDIM ``step`` keyword)
==========================  ===================================================================

Design (a covering design, not the full product): the full product beta_schedule x prediction_type x
timestep_spacing (every pair of these important axes, and every triple); the other axes assigned greedily so
every value of every axis appears and as many pairs as possible of all axes are covered (the report states
how many). ``quick``: every prediction_type x timestep_spacing pair once (9 configurations) with the other
axes, beta_schedule included, assigned the same way; every value of every axis still appears. Each
configuration uses T = 50 training steps (all t probed) and 10- and 7-step inference grids (DDIM's PF-ODE
order checks, 10 to 160 steps, run on the first configuration of each spacing); one T = 1000
configuration per beta_schedule compares the schedule and its Lin et al. (2024) Table 2 grids (n = 10) with
the published definitions.

Known upstream defects (:data:`KNOWN_DEFECTS`) are recognised only when the defect's own model explains the
findings exactly (e.g. DDIM on a linspace grid must then match the posterior of the stride T // n it
uses); such a configuration is KNOWN, listed, and does not fail the sweep. Any other finding in it fails it.
"""
from __future__ import annotations

import copy
import itertools
import math
import re
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch

__all__ = ["SweepReport", "SweepRow", "sweep_scheduler", "KNOWN_DEFECTS", "EXCLUDED", "axes_for"]

# The checker module is handed in by check_scheduler (``checker=``): importing it here would make an import cycle.

T_SMALL = 50
T_LARGE = 1000
STEPS = (10, 7)
PREDICTIONS = ("epsilon", "sample", "v_prediction")
SPACINGS = ("leading", "trailing", "linspace")
CLIPPING = ("off", "clip_sample", "thresholding")
DTYPES = ("float32", "float64")
VARIANCES = ("fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log", "learned", "learned_range")

#: combinations left out by design, with the reason (reported in every SweepReport)
EXCLUDED = [("rescale_betas_zero_snr=True with prediction_type='epsilon'",
             "ill-posed: at zero terminal SNR (abar_T = 0) the x_0 estimate divides by sqrt(abar_T) = 0; Lin et al. "
             "(2024), Sec. 3.2, pair the rescale with v-prediction (x_0-prediction works too)"),
            ("probe dtype float16 / bfloat16",
             "the forward marginal at small t is lost to rounding for every schedule (abar_1 = 0.9999 rounds to 1 in "
             "float16), so every configuration would fail alike: check half precision with check_scheduler(dtype=...)")]

_SHORT = {"beta_schedule": "beta", "prediction_type": "pred", "timestep_spacing": "spacing", "steps_offset": "offset",
          "clipping": "clip", "rescale_betas_zero_snr": "zsnr", "dtype": "dtype", "variance_type": "var",
          "custom_timesteps": "custom", "set_alpha_to_one": "alpha_one", "use_clipped_model_output": "clipped_eps",
          "T": "T"}


def _family(klass) -> str | None:
    for k in getattr(klass, "__mro__", ()):
        if k.__module__.startswith("diffusers.") and k.__name__ in ("DDIMScheduler", "DDIMParallelScheduler"):
            return "ddim"
        if k.__module__.startswith("diffusers.") and k.__name__ in ("DDPMScheduler", "DDPMParallelScheduler"):
            return "ddpm"
    return None


def axes_for(family: str) -> dict:
    """axis -> (documented values, extra values tried) for ``family`` ("ddpm" or "ddim")."""
    if family == "ddpm":
        betas = (("linear", "scaled_linear", "squaredcos_cap_v2", "sigmoid", "trained_betas"), ("laplace",))
    else:
        betas = (("linear", "scaled_linear", "squaredcos_cap_v2", "trained_betas"), ("sigmoid", "laplace"))
    axes = {"beta_schedule": betas, "prediction_type": (PREDICTIONS, ()), "timestep_spacing": (SPACINGS, ()),
            "steps_offset": ((0, 1), ()), "clipping": (CLIPPING, ()), "rescale_betas_zero_snr": ((False, True), ()),
            "dtype": (DTYPES, ())}
    if family == "ddpm":
        axes["variance_type"] = (VARIANCES, ())
        axes["custom_timesteps"] = ((False, True), ())
    else:
        axes["set_alpha_to_one"] = ((True, False), ())
        axes["use_clipped_model_output"] = ((False, True), ())
    return axes


def _allowed(cfg: dict) -> bool:
    return not (cfg.get("rescale_betas_zero_snr") and cfg.get("prediction_type") == "epsilon")


def _design(family: str, quick: bool, refused=()) -> tuple[list, str, dict]:
    """(configurations, description, coverage): a covering design (see the module docstring). ``refused``:
    (axis, value) pairs of extra values the class refuses, left out (they get one REFUSED row each)."""
    axes = axes_for(family)
    values = {a: tuple(v for v in tuple(doc) + tuple(extra) if (a, v) not in refused) for a, (doc, extra) in axes.items()}
    if quick:
        core_axes = ("prediction_type", "timestep_spacing")
        core = [dict(zip(core_axes, c)) for c in itertools.product(values["prediction_type"], values["timestep_spacing"])]
        desc = ("quick: every prediction_type x timestep_spacing pair; every value of every axis at least once")
    else:
        core_axes = ("beta_schedule", "prediction_type", "timestep_spacing")
        core = [dict(zip(core_axes, c)) for c in itertools.product(*(values[a] for a in core_axes))]
        desc = ("full product beta_schedule x prediction_type x timestep_spacing (every pair and triple of the "
                "important axes); other axes greedy pairwise")
    rest = [a for a in values if a not in core_axes]
    covered: set = set()
    used = {a: {v: 0 for v in values[a]} for a in values}

    def pairs_of(cfg):
        keys = sorted(cfg)
        return {((a, cfg[a]), (b, cfg[b])) for a, b in itertools.combinations(keys, 2)}

    for i, cfg in enumerate(core):
        for a in rest:
            best, best_key = None, None
            for j, v in enumerate(values[a]):
                trial = dict(cfg, **{a: v})
                if not _allowed(trial):
                    continue
                new = len(pairs_of(trial) - covered)
                key = (new, -used[a][v], -((j - i) % len(values[a])))
                if best_key is None or key > best_key:
                    best, best_key = v, key
            cfg[a] = best
        covered |= pairs_of(cfg)
        for a, v in cfg.items():
            used[a][v] += 1
    for a in values:  # every value of every axis at least once
        for v in values[a]:
            if used[a][v] == 0:
                base = dict(core[0])
                base[a] = v
                if not _allowed(base):
                    base["prediction_type"] = "v_prediction"
                core.append(base)
                used[a][v] += 1
                covered |= pairs_of(base)
    all_pairs = set()
    for a, b in itertools.combinations(sorted(values), 2):
        for va in values[a]:
            for vb in values[b]:
                if _allowed({a: va, b: vb}):
                    all_pairs.add(((a, va), (b, vb)))
    coverage = {"configurations": len(core), "pairs_covered": len(all_pairs & covered), "pairs_total": len(all_pairs),
                "values": {a: list(v) for a, v in values.items()}}
    return core, desc, coverage


# ----- building one configuration ---------------------------------------------------------------------------
def _kwargs(family: str, cfg: dict, T: int, base: dict) -> dict:
    kw = dict(base)
    for drop in ("trained_betas", "_class_name", "_diffusers_version"):
        kw.pop(drop, None)
    kw["num_train_timesteps"] = T
    name = cfg["beta_schedule"]
    if name == "trained_betas":  # a smooth, non-named schedule the class must take as given
        kw["trained_betas"] = np.linspace(2e-4, 0.04, T).astype(np.float32).tolist()
        kw.pop("beta_schedule", None)
    else:
        kw["beta_schedule"] = name
        if name == "scaled_linear":
            kw.setdefault("beta_start", 0.00085)
            kw.setdefault("beta_end", 0.012)
    kw["prediction_type"] = cfg["prediction_type"]
    kw["timestep_spacing"] = cfg["timestep_spacing"]
    kw["steps_offset"] = cfg["steps_offset"]
    kw["clip_sample"] = cfg["clipping"] == "clip_sample"
    kw["thresholding"] = cfg["clipping"] == "thresholding"
    if cfg["clipping"] == "clip_sample":  # not the default 1: a range the code ignores is then seen
        kw.setdefault("clip_sample_range", 1.5)
    if cfg["clipping"] == "thresholding":  # s = quantile of |x0| clamped to [1, 2]: the dynamic range acts
        kw.setdefault("sample_max_value", 2.0)
    kw["rescale_betas_zero_snr"] = cfg["rescale_betas_zero_snr"]
    if family == "ddpm":
        kw["variance_type"] = cfg["variance_type"]
    else:
        kw["set_alpha_to_one"] = cfg["set_alpha_to_one"]
    return kw


def _custom_list(T: int) -> list:
    """An uneven descending list of k's that starts at T - 1 and stops above 0 (the last step then goes to x_0
    from k > 0)."""
    ks = sorted({T - 1, int(0.8 * T), int(0.55 * T), int(0.3 * T), int(0.12 * T), 2}, reverse=True)
    return [k for k in ks if 0 <= k < T]


def _custom_validation(obj, T: int, Finding) -> tuple[list, int]:
    """set_timesteps(timesteps=...) must refuse invalid lists and take a valid one as given."""
    good = _custom_list(T)
    invalid = [("ascending", sorted(good)), ("repeated", [good[0], good[1], good[1], good[2]]),
               ("first pair ascending", [good[1], good[0]] + good[2:]), ("first pair repeated", [good[0]] + good),
               (f"starts at T = {T}", [T] + good[1:]), ("starts above T", [T + 5] + good[1:]),
               ("negative", good[:-1] + [-1])]
    findings, comparisons = [], 0
    for what, ks in invalid:
        sched = copy.deepcopy(obj)
        comparisons += 1
        try:
            sched.set_timesteps(timesteps=ks)
        except Exception:  # noqa: BLE001 - any refusal is right
            continue
        findings.append(Finding("grid", "custom_timesteps.validation", None, math.nan, math.nan, math.inf, 0.0,
                                f"set_timesteps(timesteps={ks}) is accepted: the list is invalid ({what}); a custom "
                                f"list must be strictly descending diffusers k's in 0..T-1 = 0..{T - 1}",
                                grid="custom timesteps"))
    sched = copy.deepcopy(obj)
    comparisons += 2
    try:
        sched.set_timesteps(num_inference_steps=len(good), timesteps=good)
        findings.append(Finding("grid", "custom_timesteps.validation", None, math.nan, math.nan, math.inf, 0.0,
                                "set_timesteps(num_inference_steps=..., timesteps=...) is accepted: only one of them "
                                "may be given (diffusers documents the ValueError)", grid="custom timesteps"))
    except Exception:  # noqa: BLE001
        pass
    sched = copy.deepcopy(obj)
    try:
        sched.set_timesteps(timesteps=good)
        got = [int(k) for k in torch.as_tensor(sched.timesteps).tolist()]
        if got != good:
            findings.append(Finding("grid", "custom_timesteps", None, float(good[0]), float(got[0] if got else math.nan),
                                    math.inf, 0.0, f"set_timesteps(timesteps={good}) gives timesteps {got}: a valid "
                                    "custom list must be used as given", grid="custom timesteps"))
    except Exception as exc:  # noqa: BLE001
        findings.append(Finding("grid", "custom_timesteps", None, math.nan, math.nan, math.inf, 0.0,
                                f"set_timesteps(timesteps={good}) (a valid list) raised {type(exc).__name__}: {exc}",
                                grid="custom timesteps"))
    return findings, comparisons


# ----- clipping and thresholding where they act -----------------------------------------------------------------
def _clip_active(obj, cfg, family, ck) -> tuple[list, int]:
    """The rest of the checker probes clip_sample / thresholding only where they are inactive. Here x_0 estimates
    in [-3, 3] are fed in (x_t = linspace(-1, 1), the model output solved for them), at three training steps:

    * ``pred_original_sample`` must be clamp(x0, -r, r) (clip_sample, r = clip_sample_range) or, for dynamic
      thresholding (Saharia et al. 2022), clamp(x0, -s, s)/s with s = clamp(quantile(|x0|, ratio), 1,
      sample_max_value);
    * the step's mean (noise cancelled: same seed, minus the step at zero inputs) must be the posterior mean
      coef_x0 x0c + coef_xt x_t (DDPM) or the eta = 0 update sqrt(abar_t') x0c + sqrt(1 - abar_t') eps_hat
      (DDIM; eps_hat from the unclipped estimate, or from x0c with use_clipped_model_output), the coefficients
      from the proved slots on the step's own (abar_t', abar_t).
    Tolerance 1e-5 (1 + |expected|) kappa, kappa = 1 + 1/(1 - abar_t) + 1/(1 - abar_t') + 1/beta (float32)."""
    if cfg["clipping"] == "off":
        return [], 0
    slots = ck._Slots()
    T = int(obj.config.num_train_timesteps)
    pred = obj.config.prediction_type
    shape = (2, 3, 1, 16)  # batch 2 with different ranges: thresholding's s is per batch element
    x = torch.linspace(-1.0, 1.0, 96, dtype=torch.float64).reshape(shape)
    x0 = torch.linspace(-3.0, 3.0, 96, dtype=torch.float64).reshape(shape)
    x0[1] = x0[1] * 0.6
    abar = obj.alphas_cumprod.double().numpy()
    sched = copy.deepcopy(obj)
    if family == "ddim":
        sched.set_timesteps(T)
    findings, comparisons = [], 0
    for k in sorted({T - 1, T // 2, T // 4}):
        a, ap = float(abar[k]), (float(abar[k - 1]) if k >= 1 else
                                 (1.0 if family == "ddpm" else float(obj.final_alpha_cumprod)))
        if not (0.0 < a < ap) or ap >= 1.0 and family == "ddim" and k == 0:
            continue
        sub = ck._sub_schedule(ap, a)
        tt = sub.T
        mc = float(slots("forward_marginal", "mean_coef", sub, tt))
        sd = math.sqrt(float(slots("forward_marginal", "variance", sub, tt)))
        if pred == "epsilon":
            m = (x - mc * x0) / sd
        elif pred == "sample":
            m = x0.clone()
        else:
            m = (mc * x - x0) / sd
        if cfg["clipping"] == "clip_sample":
            r = float(obj.config.clip_sample_range)
            x0c, what = x0.clamp(-r, r), f"clamp(x0, -{r:g}, {r:g})"
        else:
            q = np.quantile(np.abs(x0.numpy().reshape(2, -1)), float(obj.config.dynamic_thresholding_ratio), axis=1)
            sv = torch.as_tensor(np.clip(q, 1.0, float(obj.config.sample_max_value))).reshape(2, 1, 1, 1)
            x0c = torch.maximum(torch.minimum(x0, sv), -sv) / sv
            what = f"clamp(x0, -s, s)/s with s = {float(sv[0]):.4g}, {float(sv[1]):.4g} per batch element"
        eps_raw = m if pred == "epsilon" else ((x - mc * x0) / sd)
        if family == "ddpm":
            cx0 = float(slots("posterior", "coef_x0", sub, tt))
            cxt = float(slots("posterior", "coef_xt", sub, tt))
            mean = cx0 * x0c + cxt * x
            where = "posterior mean coef_x0 x0c + coef_xt x_t"
        else:
            mcp = float(slots("forward_marginal", "mean_coef", sub, tt - 1))
            sdp = math.sqrt(float(slots("forward_marginal", "variance", sub, tt - 1)))
            eps_hat = (x - mc * x0c) / sd if cfg.get("use_clipped_model_output") else eps_raw
            mean = mcp * x0c + sdp * eps_hat
            where = "eta=0 update sqrt(abar_t') x0c + sqrt(1 - abar_t') eps_hat"
        kappa = 1.0 + 1.0 / (1.0 - a) + (1.0 / (1.0 - ap) if ap < 1 else 0.0) + 1.0 / (1.0 - a / ap)
        extra = {}
        if family == "ddim":
            extra = dict(eta=0.0, **_step_kwargs(cfg))
        vtype = getattr(obj.config, "variance_type", None)
        pad = (lambda t: torch.cat([t, torch.full_like(t, -1.0 if vtype == "learned_range" else 1.0)], dim=1)) \
            if vtype in ("learned", "learned_range") else (lambda t: t)
        try:
            out = sched.step(pad(m.float()), k, x.float(), generator=torch.Generator().manual_seed(k), **extra)
            zero = sched.step(pad(torch.zeros_like(m).float()), k, torch.zeros_like(x).float(),
                              generator=torch.Generator().manual_seed(k), **extra)
        except Exception as exc:  # noqa: BLE001
            findings.append(ck.Finding("posterior", "clip_active", k + 1, math.nan, math.nan, math.inf, 0.0,
                                       f"step with an active {cfg['clipping']} raised {type(exc).__name__}: {exc}",
                                       grid="clipping active"))
            continue
        checks = [("clip_active.x0", out.pred_original_sample, x0c, what)]
        if bool(torch.isfinite(zero.prev_sample).all()):  # NaN noise is reported by the finite check already
            checks.append(("clip_active.mean", out.prev_sample.double() - zero.prev_sample.double(), mean, where))
        for name, got, want, desc in checks:
            got = got.double()
            comparisons += 1
            if got.shape != want.shape:
                findings.append(ck.Finding("posterior", name, k + 1, math.nan, math.nan, math.inf, 0.0,
                                           f"{cfg['clipping']} active: output shape {tuple(got.shape)}, expected "
                                           f"{tuple(want.shape)}", grid="clipping active"))
                continue
            err = (got - want).abs()
            tol = 1e-5 * (1.0 + want.abs()) * kappa
            bad = ~(err <= tol)
            if bool(bad.any()):
                if got.shape != want.shape:
                    findings.append(ck.Finding("posterior", name, k + 1, math.nan, math.nan, math.inf, 0.0,
                                               f"{cfg['clipping']} active: output shape {tuple(got.shape)}, expected "
                                               f"{tuple(want.shape)}", grid="clipping active"))
                    continue
                i = int(torch.nonzero(bad.flatten())[0])
                o, e = float(got.flatten()[i]), float(want.flatten()[i])
                findings.append(ck.Finding(
                    "posterior", name, k + 1, e, o, abs(o - e) / abs(e) if e else math.inf, float(tol.flatten()[i]),
                    f"{cfg['clipping']} active at t={k + 1} (x_0 estimate {float(x0.flatten()[i]):.3g}): "
                    f"{'pred_original_sample' if name.endswith('x0') else 'the step mean'} is {o:.6g}, the {desc} "
                    f"gives {e:.6g}", grid="clipping active"))
    return findings, comparisons


# ----- the pipeline contract and the learned variances ------------------------------------------------------------
def _contract(obj, cfg, family, ck) -> tuple[list, int]:
    """What a pipeline relies on besides step/add_noise (diffusers' documented behaviour):

    * ``init_noise_sigma`` = 1: a variance-preserving process starts from x_T ~ N(0, I);
    * ``scale_model_input(x, k)`` returns x unchanged (the model sees x_t itself);
    * before ``set_timesteps``, ``timesteps`` is the whole training grid T-1, ..., 0;
    * ``set_timesteps(T)`` is accepted and ``set_timesteps(T + 1)`` refused ("cannot be larger than T");
    * DDPM ``variance_type="learned"``: the noise std is sqrt(v) for the model's variance output v;
      ``"learned_range"`` (Nichol & Dhariwal 2021, eq. 15): std = exp((f log beta_t + (1 - f) log beta~_t)/2)
      with f = (v + 1)/2, beta~_t the posterior variance (proved slot), probed at v = -1, 0, 1 with batch 2 x
      3 channels (so the model output's variance half is split by channels, not by batch)."""
    F = ck.Finding
    T = int(obj.config.num_train_timesteps)
    findings, n = [], 0

    def fail(identity, check, message, t=None, expected=math.nan, observed=math.nan):
        rel = abs(observed - expected) / abs(expected) if expected not in (0.0,) and math.isfinite(expected) else math.inf
        findings.append(F(identity, check, t, float(expected), float(observed), rel, 0.0, message, grid="contract"))

    n += 1
    sigma = float(getattr(obj, "init_noise_sigma", math.nan))
    if sigma != 1.0:
        fail("forward_marginal", "init_noise_sigma", f"init_noise_sigma = {sigma:g}: a variance-preserving sampler "
             "starts from x_T ~ N(0, I), std 1", expected=1.0, observed=sigma)
    x = torch.linspace(-1.0, 1.0, 24).reshape(2, 3, 1, 4)
    for k in (0, T // 2, T - 1):
        n += 1
        try:
            out = copy.deepcopy(obj).scale_model_input(x, k)
        except Exception as exc:  # noqa: BLE001
            fail("forward_marginal", "scale_model_input", f"scale_model_input(x, {k}) raised {type(exc).__name__}: {exc}")
            break
        if not (isinstance(out, torch.Tensor) and out.shape == x.shape and torch.equal(out, x)):
            fail("forward_marginal", "scale_model_input", f"scale_model_input(x, {k}) changes x: a DDPM/DDIM model "
                 "takes x_t itself", t=k + 1)
            break
    n += 1
    fresh = [int(k) for k in torch.as_tensor(obj.timesteps).tolist()] if obj.num_inference_steps is None else None
    if fresh is not None and fresh != list(range(T - 1, -1, -1)):
        fail("grid", "initial_timesteps", f"before set_timesteps, timesteps is {fresh[:4]}...{fresh[-2:]}: it must be "
             f"the training grid {T - 1}, ..., 0 in sampling order")
    for steps, ok in ((T, True), (T + 1, False)):
        n += 1
        sched = copy.deepcopy(obj)
        try:
            sched.set_timesteps(steps)
            got = len(sched.timesteps)
        except Exception as exc:  # noqa: BLE001
            if ok:
                fail("grid", "num_inference_steps.validation", f"set_timesteps({steps}) (= T) raised "
                     f"{type(exc).__name__}: {exc}; diffusers documents only n > T as an error")
            continue
        if not ok:
            fail("grid", "num_inference_steps.validation", f"set_timesteps({steps}) (> T = {T}) is accepted: it must "
                 "raise (the model knows only T timesteps)")
        elif got != steps:
            fail("grid", "num_inference_steps.validation", f"set_timesteps({steps}) gives {got} timesteps")
    n += 1
    if len(obj) != T:
        fail("grid", "len", f"len(scheduler) = {len(obj)}; diffusers documents num_train_timesteps = {T}")
    # step(return_dict=False) is the tuple (prev_sample, pred_original_sample) of the same call
    sched = copy.deepcopy(obj)
    if family == "ddim":
        sched.set_timesteps(T)
    vt = cfg.get("variance_type")
    m = torch.linspace(-0.4, 0.4, 24).reshape(2, 3, 1, 4)
    if vt in ("learned", "learned_range"):
        m = torch.cat([m, torch.full_like(m, -1.0 if vt == "learned_range" else 0.5)], dim=1)
    kws = dict(eta=1.0, **_step_kwargs(cfg)) if family == "ddim" else {}
    k = T // 2
    n += 1
    try:
        a = sched.step(m, k, x * 0.5, generator=torch.Generator().manual_seed(3), **kws)
        b = sched.step(m, k, x * 0.5, generator=torch.Generator().manual_seed(3), return_dict=False, **kws)
        def eq(u, v):  # equal, NaN where NaN (fixed_large_log's known NaN noise)
            return u.shape == v.shape and bool(((u == v) | (torch.isnan(u) & torch.isnan(v))).all())
        same = isinstance(b, tuple) and len(b) == 2 and eq(b[0], a.prev_sample) and eq(b[1], a.pred_original_sample)
        if not same:
            fail("posterior", "return_dict", "step(..., return_dict=False) is not (prev_sample, pred_original_sample) "
                 "of the same call", t=k + 1)
    except Exception as exc:  # noqa: BLE001
        fail("posterior", "return_dict", f"step(..., return_dict=False) raised {type(exc).__name__}: {exc}", t=k + 1)
    if family == "ddim":  # variance_noise replaces the generator's draw; both at once is an error
        n += 2
        z = torch.randn(x.shape, generator=torch.Generator().manual_seed(3))
        try:
            c = sched.step(m, k, x * 0.5, eta=1.0, variance_noise=z, **_step_kwargs(cfg))
            if not torch.allclose(c.prev_sample, a.prev_sample, rtol=1e-6, atol=1e-7):
                fail("posterior", "variance_noise", "step(..., variance_noise=z) differs from the step whose generator "
                     "draws the same z", t=k + 1)
        except Exception as exc:  # noqa: BLE001
            fail("posterior", "variance_noise", f"step(..., variance_noise=z) raised {type(exc).__name__}: {exc}",
                 t=k + 1)
        try:
            sched.step(m, k, x * 0.5, eta=1.0, variance_noise=z, generator=torch.Generator().manual_seed(3),
                       **_step_kwargs(cfg))
            fail("posterior", "variance_noise", "step(..., variance_noise=z, generator=g) is accepted: diffusers "
                 "documents a ValueError (only one source of noise)", t=k + 1)
        except ValueError:
            pass
        except Exception as exc:  # noqa: BLE001
            fail("posterior", "variance_noise", f"step with both variance_noise and generator raised "
                 f"{type(exc).__name__} (documented: ValueError): {exc}", t=k + 1)
    # previous_timestep(k): the next point of the grid, -1 after the last (diffusers' convention; pipelines read it)
    if callable(getattr(obj, "previous_timestep", None)):
        grids = [("full grid", None)] + [(f"{sp} grid, {steps} steps", steps) for sp in (cfg["timestep_spacing"],)
                                         for steps in STEPS]
        if cfg.get("custom_timesteps"):
            grids.append(("custom timesteps", "custom"))
        for label, steps in grids:
            sched = copy.deepcopy(obj)
            if steps == "custom":
                sched.set_timesteps(timesteps=_custom_list(T))
            elif steps is not None:
                sched.set_timesteps(steps)
            ks = [int(k) for k in torch.as_tensor(sched.timesteps).tolist()]
            want = ks[1:] + [-1]
            n += 1
            try:
                got = [int(sched.previous_timestep(k)) for k in ks]
            except Exception as exc:  # noqa: BLE001
                fail("grid", "previous_timestep", f"[{label}] previous_timestep raised {type(exc).__name__}: {exc}")
                continue
            if got != want:
                i = next(j for j, (g, w) in enumerate(zip(got, want)) if g != w)
                fail("grid", "previous_timestep", f"[{label}] previous_timestep({ks[i]}) = {got[i]}; the grid's next "
                     f"point is {want[i]} (-1 after the last point)", t=ks[i] + 1, expected=want[i], observed=got[i])
    # a step that adds no noise draws none: the caller's generator is left as it was (pipelines share it)
    probes = [(0, {})] if family == "ddpm" else [(T // 2, dict(eta=0.0)), (0, dict(eta=0.0))]
    sched = copy.deepcopy(obj)
    if family == "ddim":
        sched.set_timesteps(T)
    else:
        sched.num_inference_steps, sched.custom_timesteps = None, False
    for k, kw in probes:
        n += 1
        g = torch.Generator().manual_seed(11)
        before = g.get_state().clone()
        try:
            sched.step(m, k, x * 0.5, generator=g, **kw, **(_step_kwargs(cfg) if family == "ddim" else {}))
        except Exception as exc:  # noqa: BLE001
            fail("posterior", "generator", f"step at t={k + 1} raised {type(exc).__name__}: {exc}", t=k + 1)
            continue
        if not torch.equal(g.get_state(), before):
            what = "eta = 0" if family == "ddim" else "the step to x_0"
            fail("posterior", "generator", f"{what} at t={k + 1} adds no noise but draws from the generator (a "
                 "pipeline's later draws change)", t=k + 1)
    vtype = cfg.get("variance_type")
    if family == "ddpm" and vtype in ("learned", "learned_range"):
        slots = ck._Slots()
        abar = obj.alphas_cumprod.double().numpy()
        sched = copy.deepcopy(obj)
        sched.num_inference_steps, sched.custom_timesteps = None, False
        zero = torch.zeros(2, 3, 1, 4)
        for k in sorted({T - 1, T // 2, 1}):
            sub = ck._sub_schedule(float(abar[k - 1]), float(abar[k]))
            post = float(slots("posterior", "variance", sub, sub.T))
            beta = 1.0 - float(abar[k]) / float(abar[k - 1])
            for v in ((0.25, 0.04) if vtype == "learned" else (-1.0, 0.0, 1.0)):
                if vtype == "learned":
                    want, what = math.sqrt(v), f"sqrt(v) for the model's variance v = {v:g}"
                else:
                    f = (v + 1.0) / 2.0
                    want = math.exp(0.5 * (f * math.log(beta) + (1.0 - f) * math.log(post)))
                    what = f"exp((f log beta + (1 - f) log beta~)/2), f = (v + 1)/2 = {f:g}"
                n += 1
                try:
                    out = sched.step(torch.cat([zero, torch.full_like(zero, v)], dim=1), k, zero,
                                     generator=torch.Generator().manual_seed(k)).prev_sample
                except Exception as exc:  # noqa: BLE001
                    fail("posterior", "learned_variance", f"step with a {vtype} variance output (batch 2, 3 channels) "
                         f"raised {type(exc).__name__}: {exc}", t=k + 1)
                    break
                z = torch.randn(zero.shape, generator=torch.Generator().manual_seed(k), dtype=zero.dtype)
                if out.shape != zero.shape:
                    fail("posterior", "learned_variance", f"step returns shape {tuple(out.shape)} for a sample of "
                         f"shape {tuple(zero.shape)} ({vtype}: the model output has 2 x 3 channels)", t=k + 1)
                    break
                got = float((out.double() * z.double()).sum() / (z.double() ** 2).sum())
                resid = float((out.double() - got * z.double()).abs().max())
                if not (abs(got - want) <= 1e-5 * want * (1 + 1 / beta) and resid <= 1e-5 * max(want, 1e-6)):
                    fail("posterior", "learned_variance", f"{vtype}: at t={k + 1} the step adds noise of std {got:.6g} "
                         f"for v = {v:g}; {what} gives {want:.6g}", t=k + 1, expected=want, observed=got)
    return findings, n


# ----- known upstream defects -------------------------------------------------------------------------------
@dataclass(frozen=True)
class KnownDefect:
    id: str
    title: str
    reference: str


KNOWN_DEFECTS = {
    "ddim_linspace_stride": KnownDefect(
        "ddim_linspace_stride", "DDIM.step goes back by T // n whatever the grid: a linspace grid (and a trailing "
        "grid when n does not divide T) moves by other strides, so a step lands on the wrong noise level",
        "diffusers issue #12633"),
    "ddim_eta1_cancellation": KnownDefect(
        "ddim_eta1_cancellation", "DDIM eta > 0 computes sqrt(1 - abar_t' - sigma_t^2) (Song et al. 2021, eq. 12) in "
        "float32: as abar_t -> 0, sigma_t^2 -> 1 - abar_t' and the difference loses digits; at zero terminal SNR it "
        "rounds below 0 and the step at t = T is NaN", "found by the sweep (diffusers 0.42.1 DDIMScheduler.step)"),
    "ddpm_fixed_large_log_nan": KnownDefect(
        "ddpm_fixed_large_log_nan", "DDPM variance_type='fixed_large_log': step takes sqrt(log(beta_t)) < 0 as the "
        "noise std, NaN from t = 2 on", "README 'Conformance' (diffusers 0.42.1)"),
    "ddpm_fixed_large_final_noise": KnownDefect(
        "ddpm_fixed_large_final_noise", "DDPM fixed_large: the step to x_0 from k > 0 (trailing/custom grids, "
        "leading with steps_offset) adds noise of std sqrt(1 - abar_t); Ho et al. (2020) add none on the last step",
        "README 'Conformance' (diffusers 0.42.1)"),
    "ddpm_variance_floor": KnownDefect(
        "ddpm_variance_floor", "DDPM floors the posterior variance at 1e-20: the step to x_0 from k > 0, whose "
        "posterior variance is 0, adds noise of std exactly 1e-10 (visible to float64 probes only)",
        "diffusers DDPMScheduler._get_variance: torch.clamp(variance, min=1e-20)"),
    "ddpm_custom_negative": KnownDefect(
        "ddpm_custom_negative", "DDPM set_timesteps(timesteps=...) accepts negative k (it checks the order and the "
        "upper bound only); step(k=-1) then reads alphas_cumprod[-1]", "diffusers 0.42.1 set_timesteps"),
}


def _stride_model_passes(obj, cfg, n, spacing, ck, dtype, seed, alpha, probe_size) -> bool:
    """diffusers #12633's model: DDIM steps from k to k - T // n (or to the final abar) on any grid.
    True when the step matches the posterior / eta = 0 update of exactly that stride."""
    from .adapters import _adapt_ddim
    from .classify import classify
    T = int(obj.config.num_train_timesteps)
    adapter = _adapt_ddim(obj, n, [spacing], step_kwargs=_step_kwargs(cfg))
    calls = [c for c in adapter.step_calls if not c.full_grid]
    for c in calls:
        c.pairs = [(k, k - T // n if k - T // n >= 0 else -1) for k, _ in c.pairs]
        c.label += f" (stride T // n = {T // n}, diffusers #12633)"
    adapter.step_calls = calls
    rep = ck._check_adapter(adapter, obj, classify(obj), alpha=alpha, seed=seed, timesteps=[1], dtype=dtype,
                         probe_size=probe_size, named=None, ode_checks=False)
    return not _ddim_cancellation(obj, rep.failures, {})  # the float32 eta = 1 cancellation is its own defect


def _classify_known(obj, cfg, family, findings, ctx) -> dict:
    """{id(finding): defect id} for the failures a known defect explains exactly."""
    known = {}
    fails = [f for f in findings if f.severity == "fail"]
    sp = cfg.get("timestep_spacing")
    if family == "ddim":
        fails = _ddim_cancellation(obj, fails, known)
    if family == "ddim" and sp in ("linspace", "trailing"):
        # the step's findings only: the grid itself (identity "grid", named.py) must be the published one
        hit = [f for f in fails if f.identity != "grid" and (f"{sp} grid" in f.grid
                                                              or f.grid == "DDIM eta=0 as PF-ODE solver")]
        if hit and all(_stride_model_passes(obj, cfg, n, sp, *ctx) for n in STEPS):
            known.update({id(f): "ddim_linspace_stride" for f in hit})
    if family == "ddpm" and cfg.get("variance_type") == "fixed_large_log":
        abar = obj.alphas_cumprod.double().numpy()
        # sqrt(log(beta_t)): NaN where beta_t < 1; 0 where beta_t = 1 (abar_t = 0, zero terminal SNR)
        hit = [f for f in fails if (f.check == "finite" and f.t is not None and f.t >= 2) or
               (f.check == "step.noise_std" and f.t and abar[f.t - 1] == 0.0 and f.observed == 0.0)]
        if hit and _nan_only_in_noise(obj):
            known.update({id(f): "ddpm_fixed_large_log_nan" for f in hit})
    if family == "ddpm" and cfg.get("variance_type") in ("fixed_small", "fixed_small_log", "learned_range"):
        for f in fails:
            if (f.check == "step.noise_std" and f.expected == 0.0 and abs(f.observed - 1e-10) <= 1e-16
                    and f.t is not None and f.t >= 2):  # at k = 0 diffusers adds no noise at all
                known[id(f)] = "ddpm_variance_floor"
    if family == "ddpm" and cfg.get("variance_type") == "fixed_large":
        abar = obj.alphas_cumprod.double().numpy()
        for f in fails:
            if f.check == "step.noise_std" and f.expected == 0.0 and "-> t'=0" in f.message and f.t and f.t >= 2:
                want = math.sqrt(1.0 - abar[f.t - 1])
                if abs(f.observed - want) <= 1e-5 * want:
                    known[id(f)] = "ddpm_fixed_large_final_noise"
    for f in fails:
        if f.check == "custom_timesteps.validation" and "(negative)" in f.message:
            known[id(f)] = "ddpm_custom_negative"
    return known


_STEP = re.compile(r"step t=(\d+) -> t'=(\d+)")
_STEPS_IN = re.compile(r"(\d+) steps")


def _ddim_cancellation(obj, fails, known) -> list:
    """Mark the eta = 1 findings that float32 rounding of sqrt(1 - abar_t' - sigma_t^2) explains: NaN where that
    float32 difference is negative; elsewhere a coefficient off by at most 4x the direction's float32 error times
    its weight (eps: 1 on the model output; v: sqrt(1 - abar_t) on x_t, sqrt(abar_t) on the model output; x_0:
    1/sqrt(1 - abar_t) on x_t, sqrt(abar_t)/sqrt(1 - abar_t) on the model output). Returns the rest."""
    abar32 = obj.alphas_cumprod.to(torch.float32)
    final = torch.as_tensor(obj.final_alpha_cumprod, dtype=torch.float32)
    pred = obj.config.prediction_type
    rest = []
    for f in fails:
        if not f.grid.startswith("DDIM eta=1") or f.t is None:
            rest.append(f)
            continue
        tp = None
        m = _STEP.search(f.message)
        steps = _STEPS_IN.search(f.grid)
        if m:
            tp = int(m.group(2))
        elif f.check == "finite":  # DDIM.step itself goes back by T // n (n = T on the full grid)
            T = int(abar32.numel())
            tp = max(0, f.t - T // (int(steps.group(1)) if steps else T))
        if tp is None:
            rest.append(f)
            continue
        a, ap = abar32[f.t - 1], (abar32[tp - 1] if tp >= 1 else final)
        var32 = (1 - ap) / (1 - a) * (1 - a / ap)
        d32 = (1 - ap - (var32 ** 0.5) ** 2) ** 0.5
        a64, ap64 = float(a), float(ap)
        d64 = math.sqrt(max(0.0, (1 - ap64) * (1 - (1 - a64 / ap64) / (1 - a64))))
        if f.check == "finite":
            if bool(torch.isnan(d32)):
                known[id(f)] = "ddim_eta1_cancellation"
                continue
            rest.append(f)
            continue
        if f.check not in ("step.mean_xt", "step.mean_model") or bool(torch.isnan(d32)):
            rest.append(f)
            continue
        weight = {("epsilon", "step.mean_xt"): 0.0, ("epsilon", "step.mean_model"): 1.0,
                  ("v_prediction", "step.mean_xt"): math.sqrt(1 - a64), ("v_prediction", "step.mean_model"): math.sqrt(a64),
                  ("sample", "step.mean_xt"): 1 / math.sqrt(1 - a64),
                  ("sample", "step.mean_model"): math.sqrt(a64) / math.sqrt(1 - a64)}[pred, f.check]
        if abs(f.observed - f.expected) <= 4 * weight * abs(float(d32) - d64) + f.tolerance:
            known[id(f)] = "ddim_eta1_cancellation"
        else:
            rest.append(f)
    return rest


def _nan_only_in_noise(obj) -> bool:
    """fixed_large_log: the step's x_0 estimate is finite and its output NaN exactly where noise is drawn (k >= 1)."""
    sched = copy.deepcopy(obj)
    x = torch.zeros(1, 1, 1, 8)
    try:
        out = sched.step(x, 1, x, generator=torch.Generator().manual_seed(0))
        out0 = sched.step(x, 0, x, generator=torch.Generator().manual_seed(0))
    except Exception:  # noqa: BLE001
        return False
    return (bool(torch.isnan(out.prev_sample).all()) and bool(torch.isfinite(out.pred_original_sample).all())
            and bool(torch.isfinite(out0.prev_sample).all()))


def _step_kwargs(cfg) -> dict:
    return {"use_clipped_model_output": True} if cfg.get("use_clipped_model_output") else {}


# ----- the report -------------------------------------------------------------------------------------------
@dataclass
class SweepRow:
    """One configuration: ``status`` PASS, FAIL, KNOWN (only findings a known defect explains exactly) or
    REFUSED (the class raised building it for a value it does not document)."""

    config: dict
    status: str
    findings: list = field(default_factory=list)   # Finding (fail and note) of the check
    known: dict = field(default_factory=dict)       # defect id -> number of findings it explains
    seconds: float = 0.0
    comparisons: int = 0
    reason: str = ""                                # REFUSED: the class's error
    report: object = None                           # the ConformanceReport (None when refused)

    @property
    def failures(self) -> list:
        return [f for f in self.findings if f.severity == "fail" and not getattr(f, "_known", False)]

    def label(self) -> str:
        return " ".join(f"{_SHORT.get(k, k)}={_fmt(v)}" for k, v in self.config.items())

    def to_dict(self) -> dict:
        return {"config": {k: (v if not isinstance(v, np.generic) else v.item()) for k, v in self.config.items()}, "status": self.status, "findings": len(self.failures),
                "known": dict(self.known), "seconds": round(self.seconds, 3), "comparisons": self.comparisons,
                "reason": self.reason, "failures": [f.to_dict() for f in self.failures]}


def _fmt(v) -> str:
    return {True: "T", False: "F"}.get(v, str(v)) if isinstance(v, bool) else str(v)


@dataclass
class SweepReport:
    scheduler: str
    family: str
    quick: bool
    design: str
    coverage: dict
    rows: list = field(default_factory=list)
    excluded: list = field(default_factory=lambda: list(EXCLUDED))
    seconds: float = 0.0

    @property
    def status(self) -> str:
        return "FAIL" if any(r.status == "FAIL" for r in self.rows) else "PASS"

    @property
    def passed(self) -> bool:
        return self.status == "PASS"

    @property
    def failures(self) -> list:
        return [f for r in self.rows for f in r.failures]

    def by_axis(self) -> dict:
        """axis -> value -> (configurations with that value, of them FAIL): refused rows are not counted."""
        out: dict = {}
        for r in self.rows:
            if r.status == "REFUSED":
                continue
            for a, v in r.config.items():
                if a == "T":
                    continue
                n, bad = out.setdefault(a, {}).get(_fmt(v), (0, 0))
                out[a][_fmt(v)] = (n + 1, bad + (r.status == "FAIL"))
        return out

    def failing_axis_values(self) -> list:
        """["prediction_type=sample: 3 of 12 configurations fail", ...], most specific first: values all of
        whose configurations fail come first, then by failure count."""
        lines = []
        for a, vals in self.by_axis().items():
            for v, (n, bad) in vals.items():
                if bad:
                    lines.append((-(bad == n), -bad, f"{a}={v}: {bad} of {n} configurations fail"))
        return [line for *_, line in sorted(lines)]

    def explaining_values(self) -> list:
        """The axis values that explain the failures exactly: the configurations with that value are exactly
        the failing ones. More than one means they are confounded in this design (the full sweep separates more)."""
        rows = [r for r in self.rows if r.status != "REFUSED"]
        failing = {i for i, r in enumerate(rows) if r.status == "FAIL"}
        if not failing:
            return []
        out = []
        for a, vals in self.by_axis().items():
            for v in vals:
                having = {i for i, r in enumerate(rows) if a in r.config and _fmt(r.config[a]) == v}
                if having == failing:
                    out.append(f"{a}={v}")
        return out

    def known_defects(self) -> dict:
        out: dict = {}
        for r in self.rows:
            for d in r.known:
                out.setdefault(d, []).append(r.label())
        return out

    def summary(self) -> str:
        counts = {s: sum(r.status == s for r in self.rows) for s in ("PASS", "FAIL", "KNOWN", "REFUSED")}
        cov = self.coverage
        return (f"{self.status}: {self.scheduler} sweep ({'quick' if self.quick else 'full'}): {len(self.rows)} "
                f"configurations, {counts['PASS']} PASS, {counts['FAIL']} FAIL, {counts['KNOWN']} KNOWN (upstream "
                f"defects), {counts['REFUSED']} REFUSED; {len(self.failures)} findings; {self.seconds:.1f} s; design: "
                f"{self.design}; {cov['pairs_covered']} of {cov['pairs_total']} value pairs of all axes covered")

    def format_table(self, limit: int | None = None) -> str:
        lines = [self.summary()]
        width = max([len(r.label()) for r in self.rows] + [6])
        lines.append(f"{'#':>3}  {'config':<{width}}  {'status':<7} {'findings':>8} {'seconds':>7}  known defects")
        for i, r in enumerate(self.rows[:limit] if limit else self.rows, 1):
            lines.append(f"{i:>3}  {r.label():<{width}}  {r.status:<7} {len(r.failures):>8} {r.seconds:>7.2f}  "
                         + ", ".join(sorted(r.known)))
        if limit and len(self.rows) > limit:
            lines.append(f"... {len(self.rows) - limit} more configurations (use --json for all)")
        fav = self.failing_axis_values()
        if fav:
            exact = self.explaining_values()
            live = [r for r in self.rows if r.status != "REFUSED"]
            if live and all(r.status == "FAIL" for r in live):
                lines.append("every configuration fails: the defect does not depend on the swept axes")
            elif exact:
                lines.append("the failures are exactly the configurations with " + " = ".join(exact)
                             + (" (confounded in this design; the full sweep separates more)" if len(exact) > 1 else ""))
            lines.append("failing configurations by axis value:")
            lines += [f"  {x}" for x in fav]
            lines.append("findings (first per configuration and check):")
            for i, r in enumerate(self.rows, 1):
                seen = set()
                for f in r.failures:
                    if (f.identity, f.check, f.grid) in seen:
                        continue
                    seen.add((f.identity, f.check, f.grid))
                    where = f" t={f.t}" if f.t is not None else ""
                    lines.append(f"  #{i} {f.identity}/{f.check}{where} [{f.grid}]: {f.message}")
        for d, labels in self.known_defects().items():
            k = KNOWN_DEFECTS[d]
            lines.append(f"known defect {d} ({k.reference}), not counted: {k.title}; in {len(labels)} "
                         "configuration(s), each finding verified against the defect's own model")
        for r in self.rows:
            if r.status == "REFUSED":
                lines.append(f"refused by the class (undocumented value): {r.label()}: {r.reason}")
        for what, why in self.excluded:
            lines.append(f"excluded by design: {what}: {why}")
        return "\n".join(lines)

    def failure_message(self) -> str:
        return self.format_table()

    def to_dict(self) -> dict:
        return {"scheduler": self.scheduler, "family": self.family, "sweep": "quick" if self.quick else "full",
                "status": self.status, "passed": self.passed, "design": self.design, "coverage": self.coverage,
                "seconds": round(self.seconds, 3),
                "by_axis": {a: {v: {"configurations": n, "fail": b} for v, (n, b) in vals.items()}
                            for a, vals in self.by_axis().items()},
                "failing_axis_values": self.failing_axis_values(), "explaining_values": self.explaining_values(),
                "known_defects": {d: {"title": KNOWN_DEFECTS[d].title, "reference": KNOWN_DEFECTS[d].reference,
                                      "configurations": labels} for d, labels in self.known_defects().items()},
                "excluded": [{"combination": w, "reason": y} for w, y in self.excluded],
                "rows": [r.to_dict() for r in self.rows]}


# ----- running ----------------------------------------------------------------------------------------------
def _factory(scheduler):
    """(factory(**kwargs), base kwargs, family, name) for a class, a factory function or an instance."""
    if isinstance(scheduler, type):
        family = _family(scheduler)
        if family is None:
            raise ValueError(f"sweep=True sweeps the configuration axes of diffusers DDPMScheduler / DDIMScheduler "
                             f"(and their Parallel variants and subclasses); {scheduler.__name__} is neither")
        return scheduler, {}, family, scheduler.__name__
    if callable(scheduler) and not hasattr(scheduler, "step"):
        try:
            probe = scheduler()
        except Exception as exc:  # noqa: BLE001
            raise ValueError(f"sweep=True calls the factory {getattr(scheduler, '__name__', scheduler)!r} with keyword "
                             f"arguments; calling it without any failed: {type(exc).__name__}: {exc}") from exc
        family = _family(type(probe))
        if family is None:
            raise ValueError(f"the factory returns a {type(probe).__name__}: sweep=True needs a DDPM/DDIM scheduler")
        return scheduler, {}, family, type(probe).__name__
    family = _family(type(scheduler))
    if family is None:
        raise ValueError(f"sweep=True sweeps the configuration axes of diffusers DDPMScheduler / DDIMScheduler; got "
                         f"a {type(scheduler).__name__}")
    base = {k: v for k, v in dict(scheduler.config).items() if not k.startswith("_")}
    return type(scheduler), base, family, type(scheduler).__name__


def _run_row(ck, factory, base, family, cfg, *, alpha, seed, probe_size, documented, schedule_row=False,
             ode=True) -> SweepRow:
    from .adapters import _adapt_ddim, _adapt_ddpm
    _DTYPES, Finding, _check_adapter = ck._DTYPES, ck.Finding, ck._check_adapter
    from .classify import classify
    t0 = time.perf_counter()
    T = T_LARGE if schedule_row else T_SMALL
    row = SweepRow(config=dict(cfg, T=T) if schedule_row else dict(cfg), status="PASS")
    kwargs = _kwargs(family, cfg, T, base)
    dtype = _DTYPES[cfg["dtype"]]

    def refused(where, exc):
        undocumented = [f"{a}={cfg[a]!r}" for a in cfg if a in documented and cfg[a] not in documented[a]]
        msg = f"{where} raised {type(exc).__name__}: {str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ''}"
        # a refusal names what it refuses (diffusers: NotImplementedError "<name> is not implemented"); any other
        # error building an undocumented value the class implements is a failure of that value
        named = isinstance(exc, NotImplementedError) or any(str(cfg[a.split("=")[0]]) in str(exc)
                                                             for a in undocumented)
        if undocumented and named:
            row.status, row.reason = "REFUSED", f"{', '.join(undocumented)}: {msg}"
        else:
            row.status = "FAIL"
            row.findings.append(Finding("grid", "refused", None, math.nan, math.nan, math.inf, 0.0,
                                        f"the class refuses a documented configuration: {msg}"))
        row.seconds = time.perf_counter() - t0
        return row

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            obj = factory(**kwargs)
        except Exception as exc:  # noqa: BLE001 - a refused configuration is reported, not raised
            return refused("__init__", exc)
        for n in STEPS:
            try:
                copy.deepcopy(obj).set_timesteps(n)
            except Exception as exc:  # noqa: BLE001
                return refused(f"set_timesteps({n})", exc)
        try:
            adapter = None
            for n in STEPS:  # the 10-step grid, then the grid of a step count that does not divide T
                if family == "ddpm":
                    custom = _custom_list(T) if cfg.get("custom_timesteps") and adapter is None else None
                    more = _adapt_ddpm(obj, n, [cfg["timestep_spacing"]], custom_timesteps=custom)
                else:
                    more = _adapt_ddim(obj, n, [cfg["timestep_spacing"]], step_kwargs=_step_kwargs(cfg))
                if adapter is None:
                    adapter = more
                else:
                    adapter.step_calls += [c for c in more.step_calls if not c.full_grid]
            spacings = SPACINGS if schedule_row else (cfg["timestep_spacing"],)
            ts = sorted(set(range(1, T + 1, 37)) | {1, 2, T - 1, T}) if schedule_row else None
            # the PF-ODE checks work in sigma = sqrt((1 - abar)/abar), infinite at zero terminal SNR: not run there
            report = _check_adapter(adapter, obj, classify(obj), alpha=alpha, seed=seed, timesteps=ts, dtype=dtype,
                                    probe_size=probe_size, named=(spacings, (10,) if schedule_row else STEPS),
                                    ode_checks=ode and not cfg["rescale_betas_zero_snr"])
        except Exception as exc:  # noqa: BLE001 - the scheduler broke while being probed
            row.status = "FAIL"
            row.findings.append(Finding("posterior", "probe", None, math.nan, math.nan, math.inf, 0.0,
                                        f"probing raised {type(exc).__name__}: {exc}"))
            row.seconds = time.perf_counter() - t0
            return row
        if family == "ddpm" and cfg.get("custom_timesteps"):
            found, compared = _custom_validation(obj, T, Finding)
            report.findings.extend(found)
            report.comparisons += compared
        for extra in (_clip_active, _contract):
            found, compared = extra(obj, cfg, family, ck)
            report.findings.extend(found)
            report.comparisons += compared
        known = _classify_known(obj, cfg, family, report.findings, (ck, dtype, seed, alpha, probe_size))
    for f in report.findings:
        if id(f) in known:
            object.__setattr__(f, "_known", True)
            row.known[known[id(f)]] = row.known.get(known[id(f)], 0) + 1
    row.findings = list(report.findings)
    row.report = report
    row.comparisons = report.comparisons
    row.status = "FAIL" if row.failures else ("KNOWN" if row.known else "PASS")
    row.seconds = time.perf_counter() - t0
    return row


def sweep_scheduler(scheduler, *, checker, quick: bool = False, alpha: float = 1e-6, seed: int = 0,
                    probe_size: int = 256) -> SweepReport:
    """Run the sweep (see the module docstring) on a DDPM/DDIM(-Parallel) class, a factory of keyword arguments
    or an instance (its class is rebuilt per configuration, its config the base). Raises ValueError for
    anything else. Called by ``check_scheduler(..., sweep=True)``, which hands in ``checker`` (its module: the
    report types and the posterior checks), so this module does not import the checker (no import cycle)."""
    ck = checker
    ck._check_common(alpha, seed, probe_size)
    factory, base, family, name = _factory(scheduler)
    t0 = time.perf_counter()
    documented = {a: doc for a, (doc, _) in axes_for(family).items()}
    first, _, _ = _design(family, True)
    refused_rows, refused = [], set()
    for axis, (_, extra) in axes_for(family).items():  # an undocumented value is tried once; refused: one row
        for value in extra:
            cfg = dict(first[0], **{axis: value})
            row = _run_row(ck, factory, base, family, cfg, alpha=alpha, seed=seed, probe_size=probe_size,
                           documented=documented)
            if row.status == "REFUSED":
                refused_rows.append(row)
                refused.add((axis, value))
    configs, desc, coverage = _design(family, quick, refused)
    report = SweepReport(scheduler=name, family=family, quick=quick, design=desc, coverage=coverage)
    report.rows.extend(refused_rows)
    ode_spacings = set()  # DDIM's PF-ODE order checks (slow, 10-160 steps): once per spacing
    for cfg in configs:
        ode = not cfg["rescale_betas_zero_snr"] and cfg["timestep_spacing"] not in ode_spacings
        ode_spacings |= {cfg["timestep_spacing"]} if ode else set()
        report.rows.append(_run_row(ck, factory, base, family, cfg, alpha=alpha, seed=seed, probe_size=probe_size,
                                    documented=documented, ode=ode))
    if not quick:  # one T = 1000 configuration per schedule: the named schedule and Lin et al.'s Table 2 grids
        for name_ in coverage["values"]["beta_schedule"]:
            cfg = dict(configs[0], beta_schedule=name_, prediction_type="v_prediction", clipping="off",
                       rescale_betas_zero_snr=False, steps_offset=1)
            report.rows.append(_run_row(ck, factory, base, family, cfg, alpha=alpha, seed=seed, probe_size=probe_size,
                                        documented=documented, schedule_row=True))
    report.seconds = time.perf_counter() - t0
    return report
