"""Conformance of ODE and SDE samplers (diffusers' sigma-, flow- and alphas_cumprod-based schedulers).

A scheduler is driven the way a pipeline drives it (``set_timesteps``, then per timestep
``scale_model_input`` and ``step``) with an exact model: Gaussian data N(m, v), elementwise, and
the exact denoiser of :mod:`.oracle` evaluated at the noise level of each model call, converted to
the scheduler's prediction type. The noise level of a call is read from the scheduler itself
(``sigmas[step_index]``, the factor of ``scale_model_input``, or ``alphas_cumprod[t]``, see
:mod:`.classify`), so the check is of the solver, not of the time discretisation of the model.

Checks (identity / check; one finding per (identity, check), with its range of sigma):

* ``forward_marginal`` / add_noise: ``add_noise(x_0, eps, t)`` = a_t x_0 + s_t eps of the path at
  the training noise level of t, coefficients recovered by least squares on two probes, plus an
  affine residual and the constant (a constant added to the output is caught).
* ``grid`` / monotone, duplicates, final_sigma (0 where declared), train_schedule (set_timesteps(T)
  reproduces the training noise levels); ``path_reparam`` / shift_once (flow: un-shifting the grid once
  with the inverse of tau -> k tau / (1 + (k - 1) tau) gives an evenly spaced grid).
* ``ddim_exact`` / point_mass: with v = 0 (the data prediction is constant) every step must land on
  the exact trajectory a m + s eps_0 (to rounding: |error| <= 1e-5 (|a m| + |s eps_0|), float32
  storage of the schedule allowed); ``path_pf_ode`` / finite: NaN/inf with the step and sigma;
  dtype: the step fails in float64 (then checked in float32); order_list (single-step DPM-Solver).
* ``path_pf_ode`` / order: with v > 0 in float64 the final error against the closed-form PF-ODE solution
  at N = 10, 20, 40, 80, 160 steps; the observed order log2(e_N / e_2N). Against the reference of
  :mod:`.references` on the same grid: ``error_vs_reference`` when e_sched > FACTOR e_ref (FACTOR = 2)
  at N >= 40, ``order_vs_reference`` when the scheduler's order at the last pair (80 -> 160) falls
  short of the reference's by more than 0.3.
* ``ddim_marginal`` / mean, variance (stochastic samplers and ancestral ones): with point-mass data
  the exact sampler keeps x ~ N(a m, s^2) after every step; one-sample t test of the standardised
  mean and chi-square test of its variance, exact for Gaussian noise, Holm over all steps at
  family-wise ``alpha``; the report states the MDE of each (mean shift in units of s, relative
  variance error).
"""
from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import torch

from . import oracle
from .classify import Classification
from .references import REFERENCES, run_reference, singlestep_orders

__all__ = ["check_solver", "STEP_COUNTS", "FACTOR", "ORDER_SLACK", "ASYMPTOTIC_PAIR", "POINT_MASS_RTOL"]

STEP_COUNTS = (10, 20, 40, 80, 160)
ASYMPTOTIC_PAIR = (80, 160)
FACTOR = 2.0
ORDER_SLACK = 0.3
POINT_MASS_RTOL = 1e-5
PROBE = 64
MC_SAMPLES = 20000


# ----- reading a scheduler ---------------------------------------------------------------------------
def _cfg(obj, key, default=None):
    config = getattr(obj, "config", None)
    if config is not None and key in config:
        return config[key]
    return default


def _prediction(obj, cls: Classification) -> str:
    if cls.frame == "flow":
        pred = _cfg(obj, "prediction_type", "flow_prediction")
        return "flow_prediction" if pred in (None, "flow_prediction", "flow") else pred
    return _cfg(obj, "prediction_type", "epsilon") or "epsilon"


def _coef(frame: str):
    """(a, s) of the native noise level: VE sigma (vp, ve, edm, abar) or tau (flow)."""
    if frame == "vp" or frame == "abar":
        return oracle.sigma_to_ab
    if frame == "flow":
        return lambda tau: (1.0 - tau, tau)
    return lambda sigma: (1.0, sigma)


def _abar_sigma(obj, t) -> float:
    k = int(round(float(t)))
    ab = float(obj.alphas_cumprod[k]) if k >= 0 else float(getattr(obj, "final_alpha_cumprod", 1.0))
    return math.sqrt(max(0.0, 1.0 - ab) / ab)


def _final_sigma(obj, cls) -> float:
    if cls.frame == "abar":
        f = float(getattr(obj, "final_alpha_cumprod", torch.tensor(1.0)))
        return math.sqrt(max(0.0, 1.0 - f) / f)
    return float(obj.sigmas[-1])


def _first_sigma(obj, cls) -> float:
    if cls.frame == "abar":
        return _abar_sigma(obj, obj.timesteps[0])
    return float(obj.sigmas[0])


def _call_sigma(obj, cls, t, x) -> float:
    if cls.sigma_source == "abar":
        return _abar_sigma(obj, t)
    if getattr(obj, "step_index", None) is None and hasattr(obj, "_init_step_index"):
        obj._init_step_index(t)
    if cls.sigma_source == "scale" and hasattr(obj, "sigmas_interpol") and not getattr(obj, "state_in_first_order", True):
        # KDPM2's second stage: the interpolated sigma (the ancestral variant indexes it from step_index - 1)
        shift = 1 if "Ancestral" in type(obj).__name__ else 0
        return float(obj.sigmas_interpol[obj.step_index - shift])
    return float(obj.sigmas[obj.step_index])


def _edm_output(obj, x, sigma, d):
    """EDM schedulers precondition the model output: D = c_skip x + c_out F; invert for F."""
    sig = torch.tensor(sigma, dtype=x.dtype)
    c0 = obj.precondition_outputs(x, torch.zeros_like(x), sig)
    c1 = obj.precondition_outputs(x, torch.ones_like(x), sig)
    return (torch.as_tensor(d, dtype=x.dtype) - c0) / (c1 - c0)


class _Trajectory:
    def __init__(self):
        self.calls = []    # (timestep, sigma) of each model call
        self.states = []   # sample after each step (float64 numpy)
        self.error = None  # exception text
        self.final_sigma = None


def _drive(base, cls, n, m, v, xi, dtype, seed=None, *, mu=None):
    """Run ``base`` for ``n`` steps with the exact model; start x = a m + sqrt(a^2 v + s^2) xi."""
    obj = copy.deepcopy(base)
    traj = _Trajectory()
    kw = {"mu": mu} if mu is not None else {}
    obj.set_timesteps(n, **kw)
    coef = _coef(cls.frame)
    pred = _prediction(obj, cls)
    s0 = _first_sigma(obj, cls)
    a, s = coef(s0)
    shape = (1, 1, 1, -1)  # (batch, channels, height, width), as a pipeline's latents
    x = torch.as_tensor(a * m + np.sqrt(a * a * v + s * s) * xi, dtype=dtype).reshape(shape)
    traj.start = (x.double().numpy().ravel().copy(), s0)
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    for t in obj.timesteps:
        try:
            sig = _call_sigma(obj, cls, t, x)
            a, s = coef(sig)
            xn = x.double().numpy().ravel()
            if cls.frame == "edm":
                d = oracle.denoiser(xn, a, s, m, v)
                out = _edm_output(obj, x, sig, torch.as_tensor(d).reshape(shape))
            else:
                out = torch.as_tensor(oracle.model_output(pred, xn, a, s, m, v), dtype=dtype).reshape(shape)
            if hasattr(obj, "scale_model_input"):
                obj.scale_model_input(x, t)  # as a pipeline does (some schedulers set state there)
            kwargs = {}
            if gen is not None:
                kwargs["generator"] = gen
            if cls.frame == "abar" and type(obj).__name__.startswith("DDIM"):
                kwargs["eta"] = 0.0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = obj.step(out, t, x, **kwargs)
            x = res.prev_sample if hasattr(res, "prev_sample") else res[0]
        except Exception as exc:  # noqa: BLE001 - any error inside the scheduler is a finding
            traj.error = (len(traj.calls), float(t), f"{type(exc).__name__}: {exc}")
            break
        traj.calls.append((float(t), sig))
        traj.states.append(x.double().numpy().ravel().copy())
    traj.final_sigma = _final_sigma(obj, cls)
    traj.obj = obj
    return traj


# ----- the report rows ---------------------------------------------------------------------------------
class _Collector:
    """Findings grouped by (identity, check): one row with the range of sigma where it shows."""

    def __init__(self, run):
        self.run = run
        self.rows = {}

    def add(self, identity, check, sigma, expected, observed, message, *, severity="fail", step=None, grid=""):
        key = (severity, grid, identity, check)
        row = self.rows.get(key)
        if row is None:
            self.rows[key] = dict(identity=identity, check=check, sigmas=[sigma], expected=expected,
                                  observed=observed, message=message, severity=severity, steps=[step], grid=grid)
        else:
            row["sigmas"].append(sigma)
            row["steps"].append(step)

    def emit(self, make):
        for row in self.rows.values():
            sig = [s for s in row["sigmas"] if s is not None]
            where = ""
            if len(row["sigmas"]) > 1 and sig:
                where = f" (at {len(row['sigmas'])} points, sigma in [{min(sig):.4g}, {max(sig):.4g}])"
            make(row["identity"], row["check"], sig[0] if sig else None, row["expected"], row["observed"],
                 row["message"] + where, row["severity"], row["grid"])


def _rel(a, b):
    return abs(a - b) / abs(b) if b != 0 else (math.inf if a != b else 0.0)


# ----- checks ------------------------------------------------------------------------------------------
def check_add_noise(base, cls, col, dtype):
    """add_noise(x_0, eps, t) against the path marginal at the training noise level of t."""
    obj = copy.deepcopy(base)
    fn = getattr(obj, "add_noise", None)
    if fn is None and hasattr(obj, "scale_noise"):
        fn = lambda x0, e, t: obj.scale_noise(x0, t, e)  # noqa: E731 - flow matching's name for it
    if fn is None:
        col.add("forward_marginal", "add_noise", None, math.nan, math.nan,
                "no add_noise/scale_noise: the training marginal cannot be checked", severity="note")
        return
    T = int(_cfg(obj, "num_train_timesteps", 1000))
    g = torch.Generator().manual_seed(7)
    x0 = torch.randn(PROBE, generator=g, dtype=torch.float64)
    e = torch.randn(PROBE, generator=g, dtype=torch.float64)
    coef = _coef(cls.frame)
    if cls.frame == "flow":
        if getattr(obj, "timesteps", None) is None:
            obj.set_timesteps(20)
        ts = torch.as_tensor(obj.timesteps)[:: max(1, len(obj.timesteps) // 20)]
        native = lambda t: float(obj.sigmas[int((obj.timesteps == t).nonzero()[0])])  # noqa: E731
        train = [(t, native(t)) for t in ts]
    else:
        ks = sorted(set([0, 1, T // 4, T // 2, 3 * T // 4, T - 2, T - 1]))
        acp = getattr(obj, "alphas_cumprod", None)
        if acp is None:
            return
        train = [(torch.tensor(k), math.sqrt((1 - float(acp[k])) / float(acp[k]))) for k in ks]
    base_obj = obj
    for t, sig in train:
        a, s = coef(sig)
        obj = copy.deepcopy(base_obj)  # some add_noise/scale_noise cache the step index of their first call
        fn = getattr(obj, "add_noise", None) or (lambda x0, e, t, o=obj: o.scale_noise(x0, t, e))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tt = torch.full((1,), float(t)) if cls.frame == "flow" else torch.full((1,), int(t), dtype=torch.long)
                y0 = fn(x0[None].to(dtype), torch.zeros_like(e)[None].to(dtype), tt).double().reshape(-1)
                y1 = fn(x0[None].to(dtype), e[None].to(dtype), tt).double().reshape(-1)
                y2 = fn(torch.zeros_like(x0)[None].to(dtype), torch.zeros_like(e)[None].to(dtype), tt)
                y2 = y2.double().reshape(-1)
        except Exception as exc:  # noqa: BLE001
            col.add("forward_marginal", "add_noise", sig, math.nan, math.nan,
                    f"add_noise raised {type(exc).__name__}: {exc}")
            return
        X = torch.stack([x0, e], 1).numpy()
        Y = y1.numpy() - y2.numpy()
        A = float(np.dot(y0.numpy() - y2.numpy(), x0.numpy()) / np.dot(x0.numpy(), x0.numpy()))
        B = float(np.dot(Y - A * x0.numpy(), e.numpy()) / np.dot(e.numpy(), e.numpy()))
        resid = float(np.abs(Y - X @ np.array([A, B])).max())
        const = float(np.abs(y2.numpy()).max())
        u = 64 * float(torch.finfo(torch.float32).eps)  # schedules are stored in float32 (diffusers' choice)
        frame_a, frame_s = (1.0, sig) if cls.frame in ("ve", "edm") else (a, s)
        k_label = f"t={float(t):g}"
        if abs(A - frame_a) > u * (abs(frame_a) + 1e-30) + u * 1e-6 or abs(B - frame_s) > u * (abs(frame_s) + abs(frame_a)):
            bad_k = ""
            if cls.frame != "flow" and hasattr(obj, "sigmas") and len(obj.sigmas) == T:
                sig_used = B / A if A else math.inf
                ref = np.sqrt((1 - obj.alphas_cumprod.double().numpy()) / obj.alphas_cumprod.double().numpy())
                j = int(np.argmin(np.abs(ref - sig_used)))
                bad_k = (f"; it uses the noise level of timestep {j} (sigmas[] of a freshly built scheduler is in "
                         "ascending order while timesteps descend, so index_for_timestep(k) picks T-1-k; after "
                         "set_timesteps the lookup is right)") if j != int(t) else ""
            col.add("forward_marginal", "add_noise.coefficients", sig, frame_s, B,
                    f"add_noise at {k_label} gives {A:.6g} x_0 + {B:.6g} eps; the path marginal is "
                    f"{frame_a:.6g} x_0 + {frame_s:.6g} eps{bad_k}")
        elif resid > u * (1 + float(np.abs(Y).max())) or const > u * (1 + float(np.abs(y1.numpy()).max())):
            col.add("forward_marginal", "add_noise.affine", sig, 0.0, max(resid, const),
                    f"add_noise at {k_label} is not a x_0 + s eps: residual {resid:.3g}, constant {const:.3g}")
        col.run["comparisons"] += 3


def check_grid(base, cls, col, n=10):
    obj = copy.deepcopy(base)
    name = type(obj).__name__
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obj.set_timesteps(n)
    grid_label = f"{n} steps"
    if cls.frame == "abar":
        sig = [_abar_sigma(obj, t) for t in obj.timesteps] + [_final_sigma(obj, cls)]
    else:
        sig = [float(s) for s in obj.sigmas][: len(obj.timesteps) + 1]  # the ones the steps use
    ts = [float(t) for t in obj.timesteps]
    interleaved = name.startswith(("Heun", "KDPM2", "FlowMatchHeun", "PNDM"))  # two-stage (or PRK) by design
    col.run["comparisons"] += len(sig)
    # duplicates: interleaved second-order schedulers repeat each inner sigma exactly twice by design
    distinct = []
    for i, s in enumerate(sig):
        if distinct and s == distinct[-1]:
            if interleaved and i < len(sig) - 1:
                continue
            if cls.frame == "abar" and i == len(sig) - 1 and not _cfg(obj, "set_alpha_to_one", True):
                col.add("grid", "final_step", s, 0.0, s, "set_alpha_to_one=False: the last step goes from "
                        f"abar_0 to final_alpha_cumprod = abar_0 (sigma {s:.4g} to itself), a no-op step by this "
                        "documented choice; the output keeps noise of that std", severity="note", grid=grid_label)
                continue
            col.add("grid", "duplicates", s, 0.0, s, f"sigma {s:.6g} repeats at positions {i - 1} and {i} "
                    f"of the {grid_label} grid: the step between them is a dummy step (diffusers PR #6477)",
                    grid=grid_label)
            continue
        distinct.append(s)
    if interleaved:
        counts = {}
        for s in sig[1:-1]:
            counts[s] = counts.get(s, 0) + 1
        extra = [s for s, c in counts.items() if c > 2 and s > 0]
        for s in extra:
            col.add("grid", "duplicates", s, 2, counts[s], f"sigma {s:.6g} appears {counts[s]} times (expected 2 "
                    "for a two-stage step)", grid=grid_label)
    for i in range(len(distinct) - 1):
        if not distinct[i + 1] < distinct[i]:
            col.add("grid", "monotone", distinct[i + 1], distinct[i], distinct[i + 1],
                    f"sigma increases from {distinct[i]:.6g} to {distinct[i + 1]:.6g} at position {i + 1}",
                    grid=grid_label)
    uniq_t = ts if not interleaved else [t for i, t in enumerate(ts) if i == 0 or t != ts[i - 1]]
    if len(set(uniq_t)) != len(uniq_t) and name != "PNDMScheduler":
        dup = [t for t in uniq_t if uniq_t.count(t) > 1]
        col.add("grid", "duplicate_timesteps", None, 0.0, float(len(uniq_t) - len(set(uniq_t))),
                f"timesteps repeat ({sorted(set(dup))[:4]}): the model is evaluated twice at one noise level "
                "(diffusers issue #12771)", grid=grid_label)
    declared_zero = _declares_final_zero(obj, cls)
    if declared_zero and sig[-1] != 0.0:
        col.add("grid", "final_sigma", sig[-1], 0.0, sig[-1],
                f"the grid ends at sigma = {sig[-1]:.6g}, not 0: residual noise of std {sig[-1]:.3g} (in data "
                "units) is left in the output (diffusers PR #5690)", grid=grid_label)
    elif not declared_zero and sig[-1] != 0.0:
        col.add("grid", "final_sigma", sig[-1], 0.0, sig[-1],
                f"the grid ends at sigma = {sig[-1]:.4g} (not 0, as configured): the output keeps noise of that "
                "std", severity="note", grid=grid_label)
    check_shift(obj, cls, col, n)
    check_train_grid(base, cls, col)


def _declares_final_zero(obj, cls) -> bool:
    fst = _cfg(obj, "final_sigmas_type", None)
    if fst is not None:
        return fst == "zero"
    if cls.frame == "abar":
        return bool(_cfg(obj, "set_alpha_to_one", True))
    name = type(obj).__name__
    return name.startswith(("Euler", "Heun", "KDPM2", "LMS", "FlowMatch", "EDM", "MiniMax"))


def check_shift(obj, cls, col, n):
    if cls.frame != "flow" or _cfg(obj, "use_dynamic_shifting", False) or _cfg(obj, "use_karras_sigmas", False) \
            or _cfg(obj, "use_exponential_sigmas", False) or _cfg(obj, "use_beta_sigmas", False) \
            or _cfg(obj, "shift_terminal", None):
        return
    shift = float(getattr(obj, "shift", _cfg(obj, "shift", 1.0)) or 1.0)
    sig = np.array([float(s) for s in obj.sigmas if float(s) > 0])
    if type(obj).__name__.startswith("FlowMatchHeun"):
        sig = np.array([s for i, s in enumerate(sig) if i == 0 or s != sig[i - 1]])
    fwd = _proved_shift()
    base_grid = np.array([_invert(lambda t: fwd(shift, t), float(x)) for x in sig])  # un-shift once
    d = np.diff(base_grid)
    dev = float(np.abs(d - d.mean()).max() / abs(d.mean())) if d.size > 1 else 0.0
    col.run["comparisons"] += 1
    if dev > 1e-3:
        i = int(np.argmax(np.abs(d - d.mean())))
        col.add("path_reparam", "shift_once", float(sig[i + 1]), float(d.mean()), float(d[i]),
                f"un-shifting the grid once (shift = {shift:g}) does not give evenly spaced times: spacing "
                f"{d[i]:.4g} vs mean {d.mean():.4g} (relative deviation {dev:.3g}); a shift applied twice? "
                "(diffusers issue #13243)", grid=f"{n} steps")


def _proved_shift():
    """The flow-matching shift tau -> k tau / (1 + (k - 1) tau), from proofs.IDENTITIES["path_reparam"]
    (lambdified; the closed form if that identity is not registered)."""
    try:
        import sympy as sp
        from proofs import IDENTITIES
        expr = IDENTITIES["path_reparam"].slots["shift"]
        names = {str(x): x for x in expr.free_symbols}
        return sp.lambdify((names["k"], names["tau"]), expr, modules="math")
    except Exception:  # noqa: BLE001 - proofs.paths not there (older tree)
        return lambda k, tau: k * tau / (1 + (k - 1) * tau)


def _invert(f, y: float) -> float:
    """tau in [0, 1] with f(tau) = y (f increasing), by bisection to float64 resolution."""
    lo, hi = 0.0, 1.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if f(mid) < y:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def check_train_grid(base, cls, col):
    """set_timesteps(T) must reproduce the training noise levels."""
    obj = copy.deepcopy(base)
    T = int(_cfg(obj, "num_train_timesteps", 0) or 0)
    if not T or any(_cfg(obj, k, False) for k in ("use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas",
                                                   "use_dynamic_shifting")):
        return
    name = type(obj).__name__
    if cls.frame in ("edm",) or name.startswith(("Heun", "KDPM2", "FlowMatchHeun", "PNDM", "LCM", "TCD",
                                                 "FlowMatchLCM")):
        return  # two-stage grids, PRK warm-up, or few-step distilled samplers (original_inference_steps)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj.set_timesteps(T)
    except Exception as exc:  # noqa: BLE001
        col.add("grid", "train_schedule", None, T, math.nan, f"set_timesteps(T={T}) raised {type(exc).__name__}: {exc}")
        return
    if cls.frame == "flow":
        k = float(getattr(obj, "shift", 1.0) or 1.0)
        base_t = np.arange(T, 0, -1) / T
        train = k * base_t / (1 + (k - 1) * base_t)
        got = np.array([float(s) for s in obj.sigmas[:T]])
    else:
        acp = obj.alphas_cumprod.double().numpy()
        train = np.sqrt((1 - acp) / acp)[::-1]
        if cls.frame == "abar":
            got = np.array([_abar_sigma(obj, t) for t in obj.timesteps])
        else:
            got = np.array([float(s) for s in obj.sigmas[:T]])
    col.run["comparisons"] += T
    if got.shape != train.shape:
        col.add("grid", "train_schedule", None, float(T), float(got.size), f"set_timesteps(T={T}) gives "
                f"{got.size} noise levels, not T")
        return
    rel = np.abs(got - train) / np.maximum(train, 1e-12)
    bad = np.flatnonzero(rel > 1e-5)
    if bad.size:
        i = int(bad[np.argmax(rel[bad])])
        ts = [float(t) for t in obj.timesteps]
        extra = ""
        if cls.frame == "flow":
            k = float(getattr(obj, "shift", 1.0) or 1.0)
            twice = _proved_shift()(k, float(train[-1]))
            if abs(float(got[-1]) - twice) <= 1e-5 * twice and abs(float(got[-1]) - float(train[-1])) > 1e-5:
                extra = (f"; the grid ends at {float(got[-1]):.6g} = shift(shift(1/T)) with k = {k:g}: set_timesteps "
                         "starts from the already shifted sigma_min and shifts it again (the shift is applied twice "
                         "at the end of the grid, cf. diffusers issue #13243)")
        else:
            dup = len(ts) - len(set(ts))
            missing = sorted(set(range(T)) - {int(round(t)) for t in ts})
            extra = (f"; its timesteps have {dup} duplicate(s) and miss {len(missing)} of 0..{T - 1}"
                     + (f" (first missing: {missing[:3]})" if missing else "")
                     + f", spacing {_cfg(obj, 'timestep_spacing', '?')!r}")
        col.add("grid", "train_schedule", float(train[i]), float(train[i]), float(got[i]),
                f"set_timesteps(T={T}) does not reproduce the training noise levels at {bad.size} of {T} points "
                f"(worst: {got[i]:.6g} vs {train[i]:.6g}){extra}")


def _clips(obj) -> bool:
    return bool(_cfg(obj, "clip_sample", False) or _cfg(obj, "thresholding", False))


def _data(seed=0, point_mass=False, size=PROBE, clip=False):
    """m, v, xi per element. With clip_sample/thresholding on, the data stay where clipping is inactive
    (|x_0 estimate| < 1 along every trajectory): m in [-0.25, 0.25], v in [0.01, 0.05]."""
    rng = np.random.default_rng(seed)
    m = rng.uniform(-0.25, 0.25, size) if clip else rng.uniform(-1.0, 1.0, size)
    v = np.zeros(size) if point_mass else (rng.uniform(0.01, 0.05, size) if clip else rng.uniform(0.05, 0.5, size))
    xi = np.linspace(-2.0, 2.0, size)
    return m, v, xi


def check_point_mass(base, cls, col, n=10):
    """v = 0: every step lands on the exact trajectory a m + s eps_0."""
    m, v, xi = _data(point_mass=True, clip=_clips(base))
    traj = _drive(base, cls, n, m, v, xi, torch.float64)
    dtype_used = "float64"
    if traj.error is not None and ("dtype" in traj.error[2].lower() or "expected" in traj.error[2].lower()):
        col.add("path_pf_ode", "dtype", traj.calls[-1][1] if traj.calls else None, 0.0, math.nan,
                f"step raised on a float64 sample at step {traj.error[0]} (t={traj.error[1]:g}): {traj.error[2][:160]}"
                "; checked in float32 instead (orders are then limited by float32 rounding)")
        traj = _drive(base, cls, n, m, v, xi, torch.float32)
        dtype_used = "float32"
    col.run["dtype"] = dtype_used
    if traj.error is not None:
        col.add("path_pf_ode", "step", None, math.nan, math.nan,
                f"step {traj.error[0]} (t={traj.error[1]:g}) raised {traj.error[2][:200]}", step=traj.error[0])
        return dtype_used
    coef = _coef(cls.frame)
    eps0 = (traj.start[0] - coef(traj.start[1])[0] * m) / coef(traj.start[1])[1]
    sig_after = [c[1] for c in traj.calls[1:]] + [traj.final_sigma]
    tol_u = POINT_MASS_RTOL if dtype_used == "float64" else 1e-3
    point_mass_states(col, traj.states, sig_after, coef, m, eps0, tol_u, cls.label or "solver")
    return dtype_used


def point_mass_states(col, states, sigmas, coef, m, eps0, rtol, label, grid=""):
    """Point-mass data (x_0 = m): every state of a first-order-exact solver is a(sigma) m + s(sigma) eps_0
    (``ddim_exact``); a state off by more than ``rtol`` of its scale, or non-finite, is a finding."""
    for j, (state, sig) in enumerate(zip(states, sigmas)):
        if state is None:
            continue
        col.run["comparisons"] += state.size
        if not np.all(np.isfinite(state)):
            col.add("path_pf_ode", "finite", sig, 0.0, math.nan, f"step {j} returned NaN/inf (landing at sigma={sig:.4g})",
                    step=j, grid=grid)
            continue
        a, s = coef(sig)
        exact = a * m + s * eps0
        err = float(np.abs(state - exact).max())
        scale = float(np.abs(a * m).max() + np.abs(s * eps0).max())
        if err > rtol * scale:
            col.add("ddim_exact", "point_mass", sig, float(exact[0]), float(state[0]),
                    f"with point-mass data the step {j} -> sigma={sig:.4g} misses the exact trajectory a m + s eps_0 "
                    f"by {err:.3g} (relative {err / scale:.2g}; first-order exactness of the {label} update)",
                    step=j, grid=grid)


def _ref_grid(traj, cls):
    """The distinct noise levels of the run (first call .. final), for the reference."""
    grid = []
    for _, s in traj.calls:
        if not grid or s != grid[-1]:
            grid.append(s)
    if traj.final_sigma != grid[-1]:
        grid.append(traj.final_sigma)
    return grid


def _last_positive(traj):
    """Index of the last state at the smallest positive noise level (the last complete step before the
    step to sigma = 0, which is of lower order by design), and that sigma."""
    sig_after = [c[1] for c in traj.calls[1:]] + [traj.final_sigma]
    pos = [s for s in sig_after if s > 0]
    if not pos:
        return None, None
    target = min(pos)
    j = max(i for i, s in enumerate(sig_after) if s == target)
    return j, target


def _orders(errs):
    ns = sorted(errs)
    return {(a, b): math.log2(errs[a] / errs[b]) for a, b in zip(ns, ns[1:]) if errs[a] > 0 and errs[b] > 0}


def measure_order(base, cls, col, dtype_name="float64"):
    """Errors against the closed-form PF-ODE solution for N in STEP_COUNTS, at the last positive noise
    level (``mid``: the solver's own order) and at the end (``final``), for the scheduler and its reference."""
    dtype = torch.float64 if dtype_name == "float64" else torch.float32
    m, v, xi = _data(seed=1, clip=_clips(base))
    coef = _coef(cls.frame)
    errs = {"mid": {}, "final": {}}
    ref_errs = {"mid": {}, "final": {}}
    where = {}
    T = int(_cfg(base, "num_train_timesteps", 0) or 0)
    for n in [n for n in STEP_COUNTS if not T or n <= T]:  # no more steps than training timesteps
        traj = _drive(base, cls, n, m, v, xi, dtype)
        if traj.error is not None:
            col.add("path_pf_ode", "step", None, math.nan, math.nan, f"with {n} steps, step {traj.error[0]} "
                    f"(t={traj.error[1]:g}) raised {traj.error[2][:160]}", step=n)
            break
        bad = [j for j, st in enumerate(traj.states) if not np.all(np.isfinite(st))]
        if bad:
            sig_after = [c[1] for c in traj.calls[1:]] + [traj.final_sigma]
            col.add("path_pf_ode", "finite", sig_after[bad[0]], 0.0, math.nan,
                    f"NaN/inf from step {bad[0]} of {len(traj.states)} (landing at sigma={sig_after[bad[0]]:.4g}) "
                    f"with {n} steps (cf. diffusers issue #9007)", step=bad[0])
            break
        x0, s_start = traj.start
        a0, g0 = coef(s_start)
        j, s_mid = _last_positive(traj)
        a1, g1 = coef(traj.final_sigma)
        errs["final"][n] = float(np.abs(traj.states[-1] - oracle.pf_ode_solution(x0, a0, g0, a1, g1, m, v)).max())
        if j is not None:
            am, gm = coef(s_mid)
            exact_mid = oracle.pf_ode_solution(x0, a0, g0, am, gm, m, v)
            errs["mid"][n] = float(np.abs(traj.states[j] - exact_mid).max())
            where[n] = s_mid
        if cls.reference in REFERENCES:
            if cls.reference == "heun":  # Heun's grid: every other call is the second stage
                grid = [traj.calls[i][1] for i in range(0, len(traj.calls), 2)] + [traj.final_sigma]
            else:
                grid = _ref_grid(traj, cls)

            def den(x, sig):
                a, s = coef(sig)
                return oracle.denoiser(x, a, s, m, v)
            states = run_reference(cls.reference, grid, coef, x0, den)
            ref_errs["final"][n] = float(np.abs(states[-1] - oracle.pf_ode_solution(x0, a0, g0, a1, g1, m, v)).max())
            if j is not None and s_mid in grid[1:]:
                k = len(grid) - 2 - grid[::-1].index(s_mid)
                ref_errs["mid"][n] = float(np.abs(states[k] - exact_mid).max())
        col.run["comparisons"] += PROBE
    key = "mid" if errs["mid"] else "final"
    orders = _orders(errs[key])
    order = orders.get(ASYMPTOTIC_PAIR, orders[max(orders)] if orders else None)
    col.run["order_at"] = ("the last positive noise level (sigma = %s at N = 160; the step to 0 is of lower order "
                           "by design)" % (f"{where[max(where)]:.4g}" if where else "?")) if key == "mid" else "the end"
    col.run["errors"] = errs
    col.run["ref_errors"] = ref_errs
    col.run["orders"] = {f"{a}->{b}": o for (a, b), o in orders.items()}
    if cls.reference in REFERENCES and ref_errs[key]:
        ref_orders = _orders(ref_errs[key])
        col.run["ref_orders"] = {f"{a}->{b}": o for (a, b), o in ref_orders.items()}
        floor = 1e-11 if dtype == torch.float64 else 1e-5
        compare_with_reference(col, errs, ref_errs, key, orders, ref_orders, where, cls.reference, floor,
                               ASYMPTOTIC_PAIR)
    return order


def compare_with_reference(col, errs, ref_errs, key, orders, ref_orders, where, reference, floor, pair, grid=""):
    """The solver's errors against the paper reference's on the same grids: an error over FACTOR times the
    reference's (from 40 steps), or an order short of the reference's by more than ORDER_SLACK, is a finding."""
    for kind in ("mid", "final"):
        for n in sorted(errs[kind]):
            e, r = errs[kind][n], ref_errs[kind].get(n)
            if n >= 40 and r is not None and e > FACTOR * r and e > floor:
                at = "at the last positive sigma" if kind == "mid" else "at the end"
                col.add("path_pf_ode", "error_vs_reference", where.get(n) if kind == "mid" else None, r, e,
                        f"with {n} steps the error {at} against the exact PF-ODE solution is {e:.3g}, "
                        f"{e / r:.3g}x the reference {reference} on the same grid ({r:.3g}; allowed factor "
                        f"{FACTOR:g})", step=n, grid=grid)
    if pair in orders and pair in ref_orders and orders[pair] < ref_orders[pair] - ORDER_SLACK \
            and errs[key][pair[1]] > floor:
        col.add("path_pf_ode", "order_vs_reference", where.get(pair[1]), ref_orders[pair], orders[pair],
                f"observed order {orders[pair]:.2f} between {pair[0]} and {pair[1]} steps, reference "
                f"{reference} {ref_orders[pair]:.2f} (allowed shortfall {ORDER_SLACK}): a dropped correction?",
                grid=grid)


def check_order_list(base, cls, col):
    """Single-step DPM-Solver: the order list against the reference's."""
    if not hasattr(base, "get_order_list"):
        return
    order = int(_cfg(base, "solver_order", 2))
    if order > 2:
        return
    for n in (5, 6, 10, 15, 16):
        obj = copy.deepcopy(base)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj.set_timesteps(n)
        got = list(obj.order_list)
        want = singlestep_orders(n, order, float(obj.sigmas[-1]) == 0.0)
        col.run["comparisons"] += 1
        if got != want:
            i = next(i for i, (g, w) in enumerate(zip(got + [None] * n, want + [None] * n)) if g != w)
            col.add("path_pf_ode", "order_list", float(obj.sigmas[min(i, len(obj.sigmas) - 1)]), float(want[i] if i < len(want) else 0),
                    float(got[i] if i < len(got) else 0),
                    f"order list for {n} steps is {got}; the single-step schedule is {want} (first difference at "
                    f"step {i}) (diffusers PR #6953)", step=i)


def check_marginals(base, cls, col, alpha, seed, n=10):
    """Stochastic/ancestral samplers, point-mass data: x after every step ~ N(a m, s^2)."""
    from ..kernel import make_generator
    from ..stats import chi2_test_variance, holm, t_test_mean
    m0 = 0.5
    size = MC_SAMPLES
    m = np.full(size, m0)
    v = np.zeros(size)
    gen = make_generator(seed, (12, 2))
    xi = torch.randn(size, generator=gen, dtype=torch.float64).numpy()
    traj = _drive(base, cls, n, m, v, xi, torch.float64, seed=int(seed) + 12)
    if traj.error is not None:
        col.add("ddim_marginal", "step", None, math.nan, math.nan,
                f"step {traj.error[0]} (t={traj.error[1]:g}) raised {traj.error[2][:200]}")
        return
    coef = _coef(cls.frame)
    sig_after = [c[1] for c in traj.calls[1:]] + [traj.final_sigma]
    results, where = [], []
    for j, (state, sig) in enumerate(zip(traj.states, sig_after)):
        a, s = coef(sig)
        if not np.all(np.isfinite(state)):
            col.add("ddim_marginal", "finite", sig, 0.0, math.nan, f"step {j} returned NaN/inf", step=j)
            continue
        if s <= 1e-6:  # the last step returns the data: exactly m
            err = float(np.abs(state - a * m).max())
            if err > 1e-4 * (1 + abs(m0)):
                sd = float(np.std(state - a * m))
                col.add("ddim_marginal", "final", sig, a * m0, float(state.mean()),
                        f"the last step (to sigma={sig:.3g}) returns values off the data point m={m0} by up to {err:.3g} "
                        f"(std {sd:.3g}: noise left in the output)", step=j)
            continue
        z = (state - a * m) / s
        results.append(t_test_mean(z, 0.0, alpha=alpha, name=f"mean after step {j}"))
        where.append((j, sig, "mean", float(z.mean())))
        results.append(chi2_test_variance(z, 1.0, alpha=alpha, mean=0.0, name=f"variance after step {j}"))
        where.append((j, sig, "variance", float(np.mean(z * z))))
    col.run["comparisons"] += len(results)
    if not results:
        return
    fam = holm(results, alpha, name="marginals")
    for r, adj, (j, sig, what, val) in zip(fam.results, fam.adjusted, where):
        if adj <= alpha:
            col.add("ddim_marginal", what, sig, 0.0 if what == "mean" else 1.0, val,
                    f"after step {j} (sigma={sig:.4g}) the standardised sample (x - a m)/s has {what} {val:.4g} "
                    f"(Holm-adjusted p = {adj:.2g} < alpha = {alpha:g}); the step does not keep the marginal "
                    f"N(a m, s^2)", step=j)
    mde_mean = max(r.mde for r, w in zip(fam.results, where) if w[2] == "mean") if results else None
    mde_var = max(r.mde for r, w in zip(fam.results, where) if w[2] == "variance") if results else None
    col.run["mc"] = dict(alpha=alpha, tests=len(results), samples=size, exact=True,
                         mde_mean_in_s=mde_mean, mde_variance_relative=mde_var)


# ----- entry point ---------------------------------------------------------------------------------------
class _Quiet:
    """Silence diffusers' logger (config-change warnings repeated per set_timesteps) while probing."""

    def __enter__(self):
        import logging
        self.logger = logging.getLogger("diffusers")
        self.level = self.logger.level
        self.logger.setLevel(logging.ERROR)
        return self

    def __exit__(self, *exc):
        self.logger.setLevel(self.level)
        return False


def check_solver(scheduler, cls: Classification, *, alpha=1e-6, seed=0, num_inference_steps=None, measure=True):
    """Run the checks for a sigma/flow-based scheduler. Returns (collector of findings, run info)."""
    with _Quiet():
        return _check_solver(scheduler, cls, alpha=alpha, seed=seed, num_inference_steps=num_inference_steps,
                             measure=measure)


def _check_solver(scheduler, cls, *, alpha, seed, num_inference_steps, measure):
    run = {"comparisons": 0}
    col = _Collector(run)
    n = int(num_inference_steps or 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_add_noise(scheduler, cls, col, torch.float64)
        check_grid(scheduler, cls, col, n)
        order = None
        if cls.kind == "ode" or (cls.frame == "abar" and cls.kind == "posterior"):
            dt = check_point_mass(scheduler, cls, col, n)
            if cls.kind == "ode" or cls.reference:
                check_order_list(scheduler, cls, col)
                if measure and not any(r["check"] == "step" for r in col.rows.values()):
                    order = measure_order(scheduler, cls, col, dt)
        else:
            check_marginals(scheduler, cls, col, alpha, seed, n)
    run["order"] = order
    return col, run


# ----- reports -------------------------------------------------------------------------------------------
def _finding_maker(report, Finding):

    def make(identity, check, sigma, expected, observed, message, severity, grid):
        exp = float(expected) if expected is not None else math.nan
        obs = float(observed) if observed is not None else math.nan
        rel = abs(obs - exp) / abs(exp) if exp not in (0.0,) and math.isfinite(exp) and math.isfinite(obs) else math.inf
        report.findings.append(Finding(identity, check, None, exp, obs, rel, 0.0, message, severity, grid,
                                       None if sigma is None else float(sigma)))
    return make


def _details(cls, run) -> dict:
    out = {"frame": cls.frame, "label": cls.label, "reference": cls.reference, "description": cls.reason,
           "oracle": oracle.SOURCE, "probe_dtype": run.get("dtype", "float64")}
    if "errors" in run:
        out.update(step_counts=list(STEP_COUNTS), asymptotic_pair=list(ASYMPTOTIC_PAIR), factor=FACTOR,
                   order_slack=ORDER_SLACK, order_at=run.get("order_at"), errors=run["errors"],
                   reference_errors=run.get("ref_errors"), orders=run.get("orders"),
                   reference_orders=run.get("ref_orders"))
    if "mc" in run:
        out["monte_carlo"] = run["mc"]
    return out


def solver_report(scheduler, cls: Classification, ConformanceReport, Finding, *, alpha=1e-6, seed=0,
                  num_inference_steps=None):
    """The :class:`~.checker.ConformanceReport` of an ODE/SDE/ancestral sampler or an unsupported one
    (the checker passes its report and finding classes, so this module does not import it)."""
    name = type(scheduler).__name__
    T = int(_cfg(scheduler, "num_train_timesteps", 0) or 0)
    pred = _prediction(scheduler, cls) if cls.kind != "unsupported" else str(_cfg(scheduler, "prediction_type", "-"))
    report = ConformanceReport(scheduler=name, T=T, dtype="float64", prediction_type=str(pred),
                               variance_type=cls.label or cls.kind, alpha=float(alpha), seed=int(seed),
                               kind=cls.kind, reason=cls.reason if cls.kind == "unsupported" else "",
                               noise_mode="-")
    if cls.kind == "unsupported":
        return report
    try:
        col, run = check_solver(scheduler, cls, alpha=alpha, seed=seed, num_inference_steps=num_inference_steps)
    except Exception as exc:  # noqa: BLE001 - a scheduler that breaks the probe is a finding, never a crash
        report.findings.append(Finding("path_pf_ode", "probe", None, math.nan, math.nan, math.inf, 0.0,
                                       f"probing {name} raised {type(exc).__name__}: {str(exc)[:200]}"))
        return report
    col.emit(_finding_maker(report, Finding))
    report.comparisons = run["comparisons"]
    report.order = run.get("order")
    report.dtype = run.get("dtype", "float64")
    report.solver = _details(cls, run)
    n = int(num_inference_steps or 10)
    report.grids = [f"set_timesteps({n}): grid checks, " + ("point-mass exactness" if "mc" not in run else
                                                            "Monte Carlo marginals after each step")]
    if "errors" in run:
        report.grids.append("N = " + ", ".join(map(str, STEP_COUNTS)) + " steps: error vs the closed-form PF-ODE "
                            "solution and the reference on the same grid")
    if "mc" in run:
        report.stat_tests = run["mc"]["tests"]
        report.noise_mode = "Monte Carlo marginals (exact t and chi-square tests, Holm)"
    report.findings.sort(key=lambda f: (f.severity != "note", f.identity, f.check))
    return report


def add_ode_checks(report, scheduler, cls, Finding):
    """DDIM: eta = 0 is a PF-ODE solver: point-mass exactness and the measured order, into ``report``."""
    run = {"comparisons": 0}
    col = _Collector(run)
    with _Quiet(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            dt = check_point_mass(scheduler, cls, col, 10)
            order = measure_order(scheduler, cls, col, dt)
        except Exception as exc:  # noqa: BLE001
            col.add("path_pf_ode", "probe", None, math.nan, math.nan, f"probing eta=0 raised {type(exc).__name__}: {exc}")
            order = None
    for row in col.rows.values():
        row["grid"] = "DDIM eta=0 as PF-ODE solver"
    col.emit(_finding_maker(report, Finding))
    report.comparisons += run["comparisons"]
    report.order = order
    details = _details(cls, run)
    details.pop("frame")
    report.solver = details


def summary_line(report) -> str:
    d = report.solver or {}
    head = (f"{report.status}: {report.scheduler} ({report.kind}: {d.get('label') or report.variance_type}, "
            f"T={report.T}, {report.prediction_type}, probed in {report.dtype}): {report.comparisons} comparisons, "
            f"{len(report.failures)} failures, {len(report.notes)} notes")
    if report.order is not None:
        ref = d.get("reference")
        rord = (d.get("reference_orders") or {}).get(f"{ASYMPTOTIC_PAIR[0]}->{ASYMPTOTIC_PAIR[1]}")
        head += f"; measured order {report.order:.2f} ({ASYMPTOTIC_PAIR[0]}->{ASYMPTOTIC_PAIR[1]} steps"
        head += f", reference {ref} {rord:.2f})" if ref and rord is not None else ", no reference)"
    mc = d.get("monte_carlo")
    if mc:
        head += (f"; marginals: {mc['tests']} tests on {mc['samples']} samples, family-wise alpha={mc['alpha']:g} "
                 f"(exact), MDE mean {mc['mde_mean_in_s']:.3f} s, variance {mc['mde_variance_relative']:.1%}")
    return head
