"""Noise schedules: beta_t, alpha_t = 1 - beta_t and alpha_bar_t = prod_{s<=t} alpha_s.

All arithmetic is float64. The cumulative product is carried in log space,
``log alpha_bar_t = sum_{s<=t} log1p(-beta_s)``, so alpha_bar stays accurate both near 1
(small t, where ``1 - alpha_bar_t`` is computed with ``expm1``) and near 0 (large t).

Timesteps are 1-based as in the DDPM paper: ``t = 1..T``; ``alpha_bar(0) = 1``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._validate import positive_int


def _as_float_array(values, name: str) -> np.ndarray:
    if hasattr(values, "detach"):  # torch tensor
        values = values.detach().cpu().double().numpy()
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a 1-D sequence of numbers, got {values!r}") from exc
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size < 1:
        raise ValueError(f"{name} must have at least one entry (T >= 1), got T = 0")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name}[{i}] (t = {i + 1}) is {float(arr[i])!r}: every entry must be finite")
    return arr


@dataclass(frozen=True, eq=False)
class Schedule:
    """A DDPM noise schedule of ``T`` steps, built from its betas (index t-1 holds beta_t)."""

    betas: np.ndarray
    name: str = "custom"

    def __post_init__(self):
        betas = _as_float_array(self.betas, "betas")
        bad = np.flatnonzero(~((betas > 0.0) & (betas <= 1.0)))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"betas[{i}] (t = {i + 1}) is {float(betas[i])!r}: every beta_t must lie in (0, 1]")
        if np.any(betas[:-1] >= 1.0):
            i = int(np.flatnonzero(betas[:-1] >= 1.0)[0])
            raise ValueError(
                f"betas[{i}] (t = {i + 1}) is 1.0: only the last step may have beta_T = 1 (alpha_bar_T = 0)")
        betas = betas.copy()
        betas.setflags(write=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_alpha = np.log1p(-betas)  # -inf where beta = 1
            log_abar = np.concatenate([[0.0], np.cumsum(log_alpha)])
        log_abar.setflags(write=False)
        object.__setattr__(self, "betas", betas)
        object.__setattr__(self, "_log_alpha_bar", log_abar)

    # ----- constructors -------------------------------------------------------------
    @classmethod
    def linear(cls, T: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> "Schedule":
        """Ho et al. (2020): betas evenly spaced from beta_start to beta_end."""
        T = _check_T(T)
        return cls(np.linspace(beta_start, beta_end, T, dtype=np.float64), name=f"linear(T={T})")

    @classmethod
    def scaled_linear(cls, T: int, beta_start: float = 0.00085, beta_end: float = 0.012) -> "Schedule":
        """Stable Diffusion: sqrt(beta) evenly spaced, then squared."""
        T = _check_T(T)
        betas = np.linspace(math.sqrt(beta_start), math.sqrt(beta_end), T, dtype=np.float64) ** 2
        return cls(betas, name=f"scaled_linear(T={T})")

    @classmethod
    def cosine(cls, T: int, s: float = 0.008, max_beta: float = 0.999) -> "Schedule":
        """Nichol & Dhariwal (2021): alpha_bar(t) = cos^2((t/T + s)/(1 + s) * pi/2) / f(0),
        beta_t = min(1 - alpha_bar(t)/alpha_bar(t-1), max_beta)."""
        T = _check_T(T)

        def f(u):
            return np.cos((u / T + s) / (1 + s) * np.pi / 2) ** 2

        steps = np.arange(T, dtype=np.float64)
        betas = np.minimum(1.0 - f(steps + 1) / f(steps), max_beta)
        return cls(betas, name=f"cosine(T={T})")

    @classmethod
    def sigmoid(cls, T: int, beta_start: float = 1e-4, beta_end: float = 0.02, scale: float = 6.0) -> "Schedule":
        """diffusers' 'sigmoid' schedule: beta_start + (beta_end - beta_start) * sigmoid(linspace(-6, 6, T))."""
        T = _check_T(T)
        u = np.linspace(-scale, scale, T, dtype=np.float64)
        betas = beta_start + (beta_end - beta_start) / (1.0 + np.exp(-u))
        return cls(betas, name=f"sigmoid(T={T})")

    @classmethod
    def squaredcos_cap_v2(cls, T: int, max_beta: float = 0.999) -> "Schedule":
        """diffusers' ``beta_schedule="squaredcos_cap_v2"``: the cosine schedule of Nichol & Dhariwal (2021),
        eq. 17 with s = 0.008, betas capped at max_beta = 0.999 (their Sec. 3.2; diffusers
        ``betas_for_alpha_bar(T, max_beta=0.999, alpha_transform_type="cosine")``)."""
        sched = cls.cosine(T, max_beta=max_beta)
        return cls(sched.betas, name=f"squaredcos_cap_v2(T={sched.T})")

    @classmethod
    def laplace(cls, T: int, max_beta: float = 0.999) -> "Schedule":
        """diffusers' ``beta_schedule="laplace"`` (DDPMScheduler; diffusers PR #11320, after Hang et al. 2024,
        "Improved Noise Schedule for Diffusion Training", arXiv:2407.03297, Laplace with mu = 0, b = 0.5):
        lambda(u) = -0.5 copysign(1, 0.5 - u) log(1 - 2|0.5 - u| + 1e-6), f(u) = sqrt(e^lambda / (1 + e^lambda)),
        beta_t = min(1 - f(t/T)/f((t-1)/T), max_beta), exactly as diffusers' ``betas_for_alpha_bar(...,
        alpha_transform_type="laplace")`` defines it. Note: diffusers takes f = sqrt(sigmoid(lambda)) as
        alpha_bar, so log SNR_t is not lambda(t/T) (a VP reading of lambda = log SNR gives sigmoid(lambda))."""
        T = _check_T(T)

        def f(u):
            lmb = -0.5 * np.copysign(1.0, 0.5 - u) * np.log(1.0 - 2.0 * np.abs(0.5 - u) + 1e-6)
            return np.sqrt(1.0 / (1.0 + np.exp(-lmb)))

        steps = np.arange(T, dtype=np.float64)
        betas = np.minimum(1.0 - f((steps + 1) / T) / f(steps / T), max_beta)
        return cls(betas, name=f"laplace(T={T})")

    @classmethod
    def exp(cls, T: int, rate: float = 12.0, max_beta: float = 0.999) -> "Schedule":
        """diffusers' ``betas_for_alpha_bar(..., alpha_transform_type="exp")``: alpha_bar(u) = exp(-12 u) on
        u = t/T, beta_t = min(1 - alpha_bar(t/T)/alpha_bar((t-1)/T), max_beta) = 1 - exp(-12/T) for every t
        (a constant beta)."""
        T = _check_T(T)
        steps = np.arange(T, dtype=np.float64)
        betas = np.minimum(1.0 - np.exp(-rate * (steps + 1) / T) / np.exp(-rate * steps / T), max_beta)
        return cls(betas, name=f"exp(T={T})")

    @classmethod
    def named(cls, name: str, T: int, beta_start: float | None = None, beta_end: float | None = None) -> "Schedule":
        """The schedule diffusers calls ``name`` (``beta_schedule``): linear, scaled_linear, squaredcos_cap_v2,
        sigmoid, laplace, exp (and cosine, our name for squaredcos_cap_v2); beta_start/beta_end where the
        family takes them (None: the family's default). Raises ValueError for an unknown name."""
        ranged = {"linear": cls.linear, "scaled_linear": cls.scaled_linear, "sigmoid": cls.sigmoid}
        fixed = {"squaredcos_cap_v2": cls.squaredcos_cap_v2, "cosine": cls.cosine, "laplace": cls.laplace,
                 "exp": cls.exp}
        if name in ranged:
            kwargs = {k: float(v) for k, v in (("beta_start", beta_start), ("beta_end", beta_end)) if v is not None}
            return ranged[name](T, **kwargs)
        if name in fixed:
            return fixed[name](T)
        raise ValueError(f"unknown beta_schedule {name!r}: expected one of {', '.join(NAMED_SCHEDULES)}")

    @classmethod
    def from_betas(cls, betas, name: str = "custom") -> "Schedule":
        """Any betas in (0, 1] (beta_T = 1 allowed: zero terminal SNR)."""
        return cls(betas, name=name)

    @classmethod
    def from_alpha_bar(cls, alpha_bar, name: str = "custom") -> "Schedule":
        """alpha_bar_1..alpha_bar_T, strictly decreasing in (0, 1) (alpha_bar_T = 0 allowed)."""
        ab = _as_float_array(alpha_bar, "alpha_bar")
        bad = np.flatnonzero(~((ab >= 0.0) & (ab < 1.0)))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"alpha_bar[{i}] (t = {i + 1}) is {float(ab[i])!r}: alpha_bar_t must lie in [0, 1)")
        prev = np.concatenate([[1.0], ab[:-1]])
        bad = np.flatnonzero(~(ab < prev))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"alpha_bar[{i}] (t = {i + 1}) is {float(ab[i])!r}, not below alpha_bar at t = {i} ({float(prev[i])!r}): "
                "alpha_bar must be strictly decreasing")
        zero = np.flatnonzero(ab[:-1] == 0.0)
        if zero.size:
            i = int(zero[0])
            raise ValueError(f"alpha_bar[{i}] (t = {i + 1}) is 0 before the last step")
        betas = 1.0 - ab / prev
        unresolved = np.flatnonzero(betas[:-1] >= 1.0)
        if unresolved.size:
            i = int(unresolved[0])
            raise ValueError(
                f"alpha_bar[{i}] (t = {i + 1}) is {float(ab[i])!r}, only {float(ab[i] / prev[i]):.3g} times alpha_bar at "
                f"t = {i}: alpha_t below float64 resolution rounds beta_t = 1 - alpha_t to 1, which only the last step may have")
        return cls(betas, name=name)

    def rescale_zero_terminal_snr(self) -> "Schedule":
        """Lin et al. (2024), Algorithm 1: shift and scale sqrt(alpha_bar) so that
        sqrt(alpha_bar_1) is kept and sqrt(alpha_bar_T) = 0 (zero terminal SNR)."""
        if self.T < 2:
            raise ValueError(f"rescale_zero_terminal_snr needs T >= 2, got T = {self.T}")
        sqrt_ab = np.sqrt(self.alpha_bar(np.arange(1, self.T + 1)))
        first, last = sqrt_ab[0], sqrt_ab[-1]
        sqrt_ab = (sqrt_ab - last) * first / (first - last)
        return Schedule.from_alpha_bar(sqrt_ab ** 2, name=f"{self.name}+zero_terminal_snr")

    # ----- accessors -----------------------------------------------------------------
    @property
    def T(self) -> int:
        return int(self.betas.shape[0])

    def _index(self, t, lowest: int):
        arr = np.asarray(t)
        if arr.dtype.kind not in "iu":
            if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
                arr = arr.astype(np.int64)
            else:
                raise ValueError(f"t must be an integer timestep, got {t!r}")
        bad = (arr < lowest) | (arr > self.T)
        if np.any(bad):
            value = arr[bad].flat[0] if arr.ndim else arr
            raise ValueError(f"t = {int(value)} is out of range: this schedule has t = {lowest}..{self.T}")
        return arr

    def beta(self, t):
        """beta_t for t = 1..T."""
        return self.betas[self._index(t, 1) - 1]

    def alpha(self, t):
        """alpha_t = 1 - beta_t for t = 1..T."""
        return 1.0 - self.beta(t)

    def log_alpha_bar(self, t):
        """log alpha_bar_t for t = 0..T (log alpha_bar_0 = 0)."""
        return self._log_alpha_bar[self._index(t, 0)]

    def alpha_bar(self, t):
        """alpha_bar_t = alpha_1 ... alpha_t for t = 0..T (alpha_bar_0 = 1)."""
        return np.exp(self.log_alpha_bar(t))

    def one_minus_alpha_bar(self, t):
        """1 - alpha_bar_t, accurate when alpha_bar_t is close to 1."""
        return -np.expm1(self.log_alpha_bar(t))

    def snr(self, t):
        """Signal-to-noise ratio alpha_bar_t / (1 - alpha_bar_t) for t = 1..T."""
        idx = self._index(t, 1)
        return self.alpha_bar(idx) / self.one_minus_alpha_bar(idx)

    def __repr__(self) -> str:
        return f"Schedule({self.name}, T={self.T})"

    def __len__(self) -> int:
        return self.T


def _check_T(T) -> int:
    return positive_int(T, "T (the number of steps)")


#: beta_schedule names :meth:`Schedule.named` builds (diffusers' names; cosine = squaredcos_cap_v2)
NAMED_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2", "sigmoid", "laplace", "exp", "cosine")


# ----- inference timestep grids (diffusers' 0-based k = paper t - 1, in sampling order) --------------------
def _check_grid_args(T, n, steps_offset=0):
    T = _check_T(T)
    n = positive_int(n, "num_inference_steps")
    if n > T:
        raise ValueError(f"num_inference_steps = {n} exceeds T = {T}")
    if isinstance(steps_offset, bool) or not isinstance(steps_offset, (int, np.integer)) or steps_offset < 0:
        raise ValueError(f"steps_offset must be a non-negative integer, got {steps_offset!r}")
    return T, n, int(steps_offset)


def timesteps_leading(T: int, n: int, steps_offset: int = 0) -> np.ndarray:
    """"Leading" spacing (DDIM, Stable Diffusion): k_i = i (T // n) + steps_offset, i = n-1, ..., 0.

    Lin et al. (2024), "Common Diffusion Noise Schedules and Sample Steps are Flawed", Table 2: for
    T = 1000, n = 10, t = k + 1 = 901, 801, ..., 1 (the grid never reaches t = T); diffusers
    DDPMScheduler/DDIMScheduler ``timestep_spacing="leading"`` (``steps_offset`` is added to this
    spacing only, as diffusers documents: "An offset added to the inference steps")."""
    T, n, off = _check_grid_args(T, n, steps_offset)
    return (np.arange(n, dtype=np.int64) * (T // n))[::-1] + off


def timesteps_trailing(T: int, n: int) -> np.ndarray:
    """"Trailing" spacing (Lin et al. 2024, Table 2, their recommendation): k = round(T - i T/n) - 1,
    i = 0..n-1, i.e. t = k + 1 = 1000, 900, ..., 100 for T = 1000, n = 10: the grid starts at t = T.
    diffusers ``timestep_spacing="trailing"`` (``np.round(np.arange(T, 0, -T / n)) - 1``; no steps_offset)."""
    T, n, _ = _check_grid_args(T, n)
    return (np.round(np.arange(T, 0, -T / n)) - 1).astype(np.int64)


def timesteps_linspace(T: int, n: int) -> np.ndarray:
    """"Linspace" spacing (iDDPM; Lin et al. 2024, Table 2): k = round(linspace(0, T - 1, n)) in reverse,
    i.e. t = k + 1 = 1000, 889, 778, ..., 1 for T = 1000, n = 10. diffusers ``timestep_spacing="linspace"``
    (numpy's round half to even; no steps_offset)."""
    T, n, _ = _check_grid_args(T, n)
    return np.linspace(0, T - 1, n).round()[::-1].astype(np.int64)


def inference_timesteps(spacing: str, T: int, n: int, steps_offset: int = 0) -> np.ndarray:
    """The grid of ``timestep_spacing=spacing`` (leading, trailing, linspace), diffusers' 0-based k in
    sampling order; ``steps_offset`` applies to leading only (diffusers DDPM/DDIM)."""
    if spacing == "leading":
        return timesteps_leading(T, n, steps_offset)
    if spacing == "trailing":
        return timesteps_trailing(T, n)
    if spacing == "linspace":
        return timesteps_linspace(T, n)
    raise ValueError(f"unknown timestep_spacing {spacing!r}: expected leading, trailing or linspace")


__all__ = ["Schedule", "NAMED_SCHEDULES", "timesteps_leading", "timesteps_trailing", "timesteps_linspace",
           "inference_timesteps"]
