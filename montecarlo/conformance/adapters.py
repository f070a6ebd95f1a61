"""Adapters: one uniform view of a scheduler for :func:`montecarlo.conformance.check_scheduler`.

Timestep convention (read this once): diffusers indexes its arrays from 0. Its timestep ``k``
(``k = 0..T-1``) is the paper's ``t = k + 1``: ``alphas_cumprod[k] = abar_{k+1}``,
``betas[k] = beta_{k+1}``, and ``step(model_output, k, x)`` maps ``x_{k+1}`` to ``x_k`` (paper
indices), so ``step(..., 0, ...)`` returns ``x_0``. A user's own sampler (the
:class:`SchedulerProtocol`) follows the same convention. Findings report both ``t`` (paper) and
``k`` (diffusers).

diffusers is optional: it is imported only when the object handed in is a diffusers scheduler
(detected by its module name), so this package imports without it.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, runtime_checkable

import numpy as np
import torch

__all__ = ["SchedulerProtocol", "StepCall", "Adapter", "adapt", "SPACINGS"]

SPACINGS = ("leading", "trailing", "linspace")
PREDICTION_TYPES = ("epsilon", "sample", "v_prediction")


@runtime_checkable
class SchedulerProtocol(Protocol):
    """What :func:`check_scheduler` needs from a user's own sampler (diffusers-compatible).

    Required:

    * ``prediction_type``: ``"epsilon"``, ``"sample"`` (x_0) or ``"v_prediction"``
      (``v = sqrt(abar_t) eps - sqrt(1 - abar_t) x_0``); a ``config.prediction_type`` also works.
    * ``alphas_cumprod`` (entry k = abar_{k+1}) or ``betas`` (entry k = beta_{k+1}): 1-D tensor
      or array of length T.
    * ``add_noise(original_samples, noise, timesteps) -> Tensor``: ``x_t = sqrt(abar_t) x_0 +
      sqrt(1 - abar_t) noise`` row by row; ``timesteps`` is a LongTensor of k's, one per row.
    * ``step(model_output, timestep, sample, generator=None)`` -> a Tensor, a tuple whose first
      item is x_{t-1}, or an object with ``prev_sample`` (and optionally
      ``pred_original_sample``). Its noise must come from ``generator`` (equal seeds, equal
      noise): the checker recovers the step's affine coefficients from differences of calls
      with the same seed. Drawing it as ``torch.randn(sample.shape, generator=generator,
      dtype=sample.dtype)`` (as diffusers does) lets the noise scale be checked exactly;
      any other Gaussian draw is checked with a chi-square test.

    Optional: ``variance_type`` (``"fixed_small"``: posterior variance, the default;
    ``"fixed_large"``: beta_t); ``get_velocity(sample, noise, timesteps)``;
    ``set_timesteps(n)`` + ``timesteps`` (+ ``previous_timestep(k)``) for a strided inference
    grid; ``clip_sample``/``clip_sample_range``/``thresholding`` as in diffusers.
    Probes are float tensors shaped ``(batch, 1, 1, n)``.
    """

    prediction_type: str

    def add_noise(self, original_samples, noise, timesteps): ...

    def step(self, model_output, timestep, sample, generator=None): ...


@dataclass
class StepCall:
    """One way of calling ``step`` on one timestep grid, and what the identities say it does.

    ``pairs``: (k, k_prev) in sampling order, k_prev = -1 meaning the step returns x_0.
    ``call(m, k, x, seed) -> (x_prev, x0_estimate or None)``.
    ``mean``: "posterior" (DDPM, DDIM eta=1) or "ddim_eta0" (x_{t'} = sqrt(abar_t') x0_hat +
    sqrt(1 - abar_t') eps_hat). ``noise``: "fixed_small" (posterior std), "fixed_large"
    (sqrt(beta), none on the step to x_0, Ho et al. 2020), "none" (deterministic) or
    "unchecked" (learned by the model).
    """

    label: str
    pairs: list
    call: Callable
    mean: str = "posterior"
    noise: str = "fixed_small"
    final_abar: float = 1.0
    full_grid: bool = True


@dataclass
class Adapter:
    obj: Any
    name: str
    T: int
    alphas_cumprod: np.ndarray | None
    betas: np.ndarray | None
    storage_dtype: torch.dtype
    prediction_type: str
    variance_type: str
    clip_bound: float  # |x0_hat| the probes keep below, so clipping/thresholding stay inactive
    add_noise: Callable
    get_velocity: Callable | None
    step_calls: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # (check, sentence)
    #: training targets: name -> (fn(x_0, noise, k) -> Tensor, kind), kind one of PREDICTION_TYPES
    #: ("epsilon": the noise, "sample": x_0, "v_prediction": v = sqrt(abar) noise - sqrt(1 - abar) x_0)
    targets: dict = field(default_factory=dict)


def _to_numpy(values, what: str, name: str):
    if values is None:
        return None, None
    if isinstance(values, torch.Tensor):
        dtype = values.dtype
        arr = values.detach().cpu().double().numpy()
    else:
        arr = np.asarray(values)
        dtype = {np.dtype("float32"): torch.float32, np.dtype("float16"): torch.float16}.get(arr.dtype, torch.float64)
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}.{what} must be a 1-D array of numbers, got {values!r}") from exc
    if arr.ndim != 1 or arr.size < 1:
        raise ValueError(f"{name}.{what} must be a non-empty 1-D array, got shape {arr.shape}")
    return arr, dtype


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def _unpack(out):
    if isinstance(out, torch.Tensor):
        return out, None
    if isinstance(out, (tuple, list)):
        return out[0], (out[1] if len(out) > 1 and isinstance(out[1], torch.Tensor) else None)
    if hasattr(out, "prev_sample"):
        return out.prev_sample, getattr(out, "pred_original_sample", None)
    raise ValueError(f"step returned {type(out).__name__}: expected a Tensor, a tuple or an object with prev_sample")


def _grid_pairs(ks) -> list:
    ks = [int(k) for k in ks]
    return list(zip(ks, ks[1:] + [-1]))


def _is_diffusers(obj, cls_name: str) -> bool:
    for klass in type(obj).__mro__:
        if klass.__name__ == cls_name and klass.__module__.startswith("diffusers."):
            return True
    return False


def _clip_bound(obj, notes: list) -> float:
    config = getattr(obj, "config", None)

    def get(key, default):
        if config is not None and key in getattr(config, "keys", lambda: ())():
            return config[key]
        return getattr(obj, key, default)

    bound = 1.0
    if get("thresholding", False):
        notes.append(("thresholding", "dynamic thresholding is on: step rescales x0_hat when its "
                      f"{get('dynamic_thresholding_ratio', 0.995)} quantile of |x0_hat| exceeds 1 (up to "
                      f"sample_max_value={get('sample_max_value', 1.0)}); probes keep |x0_hat| <= 0.5 where it is "
                      "inactive, so the identities are checked only for x0_hat in [-1, 1]"))
    elif get("clip_sample", False):
        rng = float(get("clip_sample_range", 1.0))
        bound = min(bound, rng)
        notes.append(("clip_sample", f"clip_sample is on: step clamps x0_hat to [-{rng:g}, {rng:g}]; probes keep "
                      f"|x0_hat| <= {0.5 * bound:g} where clipping is inactive, so the posterior identities are "
                      "checked only there (a model whose x0_hat leaves the range is not sampled from the posterior)"))
    return 0.5 * bound


def _prediction_type(obj, name: str) -> str:
    config = getattr(obj, "config", None)
    pred = getattr(config, "prediction_type", None) if config is not None else None
    pred = getattr(obj, "prediction_type", pred) if pred is None else pred
    if pred not in PREDICTION_TYPES:
        raise ValueError(f"{name}.prediction_type is {pred!r}: expected one of {PREDICTION_TYPES}")
    return pred


def adapt(obj, *, num_inference_steps: int | None = None, spacings=None) -> Adapter:
    """Build the :class:`Adapter` for ``obj``: diffusers DDPMScheduler / DDIMScheduler (and their
    subclasses) by type, otherwise anything that satisfies :class:`SchedulerProtocol`. (Objects of
    other packages: :func:`montecarlo.conformance.adapt`, which tries :mod:`.external` first.)"""
    if _is_diffusers(obj, "DDIMScheduler") or _is_diffusers(obj, "DDIMParallelScheduler"):  # same step(), eta
        return _adapt_ddim(obj, num_inference_steps, spacings)
    if _is_diffusers(obj, "DDPMScheduler") or _is_diffusers(obj, "DDPMParallelScheduler"):
        return _adapt_ddpm(obj, num_inference_steps, spacings)
    return _adapt_protocol(obj, num_inference_steps)


def _base(obj, name: str) -> dict:
    abar, abar_dtype = _to_numpy(getattr(obj, "alphas_cumprod", None), "alphas_cumprod", name)
    betas, betas_dtype = _to_numpy(getattr(obj, "betas", None), "betas", name)
    if abar is None and betas is None:
        raise ValueError(f"{name} has neither alphas_cumprod nor betas: the checker needs its schedule")
    if abar is not None and betas is not None and abar.shape != betas.shape:
        raise ValueError(f"{name}: alphas_cumprod has {abar.size} entries but betas has {betas.size}")
    T = int((abar if abar is not None else betas).size)
    return dict(obj=obj, name=name, T=T, alphas_cumprod=abar, betas=betas,
                storage_dtype=abar_dtype if abar is not None else betas_dtype)


def _default_steps(T: int, n: int | None) -> int:
    if n is None:
        return max(1, min(10, T // 2))
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= T:
        raise ValueError(f"num_inference_steps must be an integer in 1..T={T}, got {n!r}")
    return int(n)


def _spacings(obj, spacings) -> tuple:
    if spacings is None:
        return (obj.config.timestep_spacing,)
    if spacings == "all":
        return SPACINGS
    if isinstance(spacings, str):
        spacings = (spacings,)
    bad = [s for s in spacings if s not in SPACINGS]
    if bad:
        raise ValueError(f"unknown timestep_spacing {bad[0]!r}: expected one of {SPACINGS} or 'all'")
    return tuple(spacings)


def _diffusers_add_noise(obj):
    return lambda x0, eps, k: obj.add_noise(x0, eps, k)


def _adapt_ddpm(obj, n, spacings, custom_timesteps=None) -> Adapter:
    """DDPMScheduler(-Parallel). ``custom_timesteps``: also probe ``set_timesteps(timesteps=[...])`` on that
    list of diffusers k's (descending; the sweep's custom-timesteps axis)."""
    name = type(obj).__name__
    base = _base(obj, name)
    notes: list = []
    pred = _prediction_type(obj, name)
    vtype = getattr(obj, "variance_type", obj.config.variance_type)
    noise = {"fixed_small": "fixed_small", "fixed_small_log": "fixed_small", "fixed_large": "fixed_large",
             "fixed_large_log": "fixed_large", "learned_range": "fixed_small", "learned": "unchecked"}.get(vtype)
    if noise is None:
        raise ValueError(f"{name}.variance_type is {vtype!r}: not a DDPMScheduler variance type")
    if vtype == "learned":
        notes.append(("variance_type", "variance_type='learned': the model supplies the variance, so only the "
                      "step's mean is checked"))
    if vtype == "learned_range":
        notes.append(("variance_type", "variance_type='learned_range': probed with the model's variance output "
                      "v = -1, the end of the range that is the posterior variance (fixed_small)"))
    extra = {"learned": 1.0, "learned_range": -1.0}.get(vtype)

    def caller(sched):
        def call(m, k, x, seed):
            model_output = m if extra is None else torch.cat([m, torch.full_like(m, extra)], dim=1)
            return _unpack(sched.step(model_output, int(k), x, generator=_generator(seed)))
        return call

    full = copy.deepcopy(obj)
    full.num_inference_steps = None
    full.custom_timesteps = False
    T = base["T"]
    calls = [StepCall(f"full grid ({vtype})", _grid_pairs(range(T - 1, -1, -1)), caller(full), noise=noise)]
    steps = _default_steps(T, n)
    for sp in _spacings(obj, spacings):
        sched = copy.deepcopy(obj)
        sched.register_to_config(timestep_spacing=sp)
        sched.set_timesteps(steps)
        calls.append(StepCall(f"{sp} grid, {steps} steps ({vtype})", _grid_pairs(sched.timesteps.tolist()),
                              caller(sched), noise=noise, full_grid=False))
    if custom_timesteps is not None:
        sched = copy.deepcopy(obj)
        sched.set_timesteps(timesteps=[int(k) for k in custom_timesteps])
        calls.append(StepCall(f"custom timesteps {len(custom_timesteps)} steps ({vtype})",
                              _grid_pairs(sched.timesteps.tolist()), caller(sched), noise=noise, full_grid=False))
    return Adapter(**base, prediction_type=pred, variance_type=vtype, clip_bound=_clip_bound(obj, notes),
                   add_noise=_diffusers_add_noise(obj), get_velocity=obj.get_velocity, step_calls=calls, notes=notes)


def _adapt_ddim(obj, n, spacings, step_kwargs=None) -> Adapter:
    """DDIMScheduler(-Parallel). ``step_kwargs``: extra keyword arguments of every ``step`` call (the sweep's
    ``use_clipped_model_output`` axis)."""
    name = type(obj).__name__
    step_kwargs = dict(step_kwargs or {})
    base = _base(obj, name)
    notes: list = []
    pred = _prediction_type(obj, name)
    final = float(obj.final_alpha_cumprod)
    if final != 1.0:
        notes.append(("set_alpha_to_one", f"set_alpha_to_one=False: the last step stops at abar = alphas_cumprod[0] "
                      f"= {final:.6g} (diffusers' documented choice) instead of returning x_0; the last step is "
                      "checked against that target"))

    def caller(sched, eta):
        def call(m, k, x, seed):
            return _unpack(sched.step(m, int(k), x, eta=eta, generator=_generator(seed), **step_kwargs))
        return call

    T = base["T"]
    full = copy.deepcopy(obj)
    full.set_timesteps(T)
    pairs = _grid_pairs(range(T - 1, -1, -1))
    calls = [StepCall("DDIM eta=1, full grid", pairs, caller(full, 1.0), final_abar=final),
             StepCall("DDIM eta=0, full grid", pairs, caller(full, 0.0), mean="ddim_eta0", noise="none",
                      final_abar=final)]
    steps = _default_steps(T, n)
    for sp in _spacings(obj, spacings):
        sched = copy.deepcopy(obj)
        sched.register_to_config(timestep_spacing=sp)
        sched.set_timesteps(steps)
        pairs = _grid_pairs(sched.timesteps.tolist())
        calls.append(StepCall(f"DDIM eta=1, {sp} grid, {steps} steps", pairs, caller(sched, 1.0),
                              final_abar=final, full_grid=False))
        calls.append(StepCall(f"DDIM eta=0, {sp} grid, {steps} steps", pairs, caller(sched, 0.0),
                              mean="ddim_eta0", noise="none", final_abar=final, full_grid=False))
    return Adapter(**base, prediction_type=pred, variance_type="fixed_small (eta=1) / none (eta=0)",
                   clip_bound=_clip_bound(obj, notes), add_noise=_diffusers_add_noise(obj),
                   get_velocity=obj.get_velocity, step_calls=calls, notes=notes)


def _adapt_protocol(obj, n) -> Adapter:
    name = type(obj).__name__
    missing = [m for m in ("add_noise", "step") if not callable(getattr(obj, m, None))]
    if missing:
        raise ValueError(f"{name} is not a scheduler: it has no {missing[0]}() (see SchedulerProtocol: "
                         "prediction_type, alphas_cumprod or betas, add_noise, step)")
    base = _base(obj, name)
    notes: list = []
    pred = _prediction_type(obj, name)
    vtype = getattr(obj, "variance_type", None) or "fixed_small"
    if vtype not in ("fixed_small", "fixed_large"):
        raise ValueError(f"{name}.variance_type is {vtype!r}: a protocol sampler declares 'fixed_small' or 'fixed_large'")

    def caller(sched):
        def call(m, k, x, seed):
            return _unpack(sched.step(m, int(k), x, generator=_generator(seed)))
        return call

    try:
        full = copy.deepcopy(obj)
    except Exception:  # noqa: BLE001 - an uncopyable sampler is probed in place
        full = obj
    T = base["T"]
    calls = [StepCall(f"full grid ({vtype})", _grid_pairs(range(T - 1, -1, -1)), caller(full), noise=vtype)]
    if callable(getattr(obj, "set_timesteps", None)):
        steps = _default_steps(T, n)
        sched = copy.deepcopy(obj)
        sched.set_timesteps(steps)
        ks = [int(k) for k in torch.as_tensor(sched.timesteps).tolist()]
        calls.append(StepCall(f"inference grid, {steps} steps ({vtype})", _grid_pairs(ks), caller(sched),
                              noise=vtype, full_grid=False))
    velocity = getattr(obj, "get_velocity", None)
    return Adapter(**base, prediction_type=pred, variance_type=vtype, clip_bound=_clip_bound(obj, notes),
                   add_noise=lambda x0, eps, k: obj.add_noise(x0, eps, k),
                   get_velocity=velocity if callable(velocity) else None, step_calls=calls, notes=notes)
