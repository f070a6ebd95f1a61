"""Schedule health: terminal signal, terminal SNR and the prior gap L_T of a noise schedule.

For a schedule of T steps (a :class:`montecarlo.schedules.Schedule`, a diffusers scheduler or
any object with ``alphas_cumprod`` or ``betas``):

* ``alpha_bar_T`` and ``sqrt(alpha_bar_T)``: the signal left in x_T; ``SNR_T = abar_T/(1-abar_T)``.
* The prior term of the ELBO, per dimension, in nats:
  ``L_T = KL(q(x_T | x_0) || N(0, 1)) = 1/2 [v + m^2 E[x_0^2] - 1 - log v]`` with
  ``m = forward_marginal.mean_coef = sqrt(abar_T)`` and ``v = forward_marginal.variance = 1 - abar_T``
  (the proved slots, evaluated by :func:`proofs.numeric.slot_function`), averaged over x_0 with
  ``E[x_0^2] = x0_second_moment`` (default 1: unit-scale data). With ``E[x_0^2] = 1``,
  ``L_T = -1/2 log(1 - abar_T)``. ``L_T = 0`` exactly when ``abar_T = 0`` (zero terminal SNR).
* Warnings: ``abar_T = 0`` makes epsilon-prediction ill-posed at t = T (x_T carries no information
  about x_0, and eps-prediction's x_0 estimate ``(x_T - sqrt(1-abar_T) eps)/sqrt(abar_T)``
  divides by zero: use v-prediction, Lin et al. 2024); ``SNR_T > snr_warn`` (default 1e-4)
  means sampling from N(0, I) at t = T mismatches the x_T seen in training (the prior gap).

Lin et al. (2024), "Common Diffusion Noise Schedules and Sample Steps are Flawed": Stable
Diffusion's scaled_linear schedule (0.00085..0.012, T = 1000) has sqrt(abar_T) = 0.068 and
SNR_T = 0.0047; :meth:`Schedule.rescale_zero_terminal_snr` makes abar_T = 0, so L_T = 0.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ..schedules import Schedule

__all__ = ["ScheduleHealth", "schedule_health", "as_schedule", "lin_et_al_figure", "NAMED_SCHEDULES"]

NAMED_SCHEDULES = ("linear", "scaled_linear", "sd", "cosine", "sigmoid")


def as_schedule(obj) -> Schedule:
    """A float64 :class:`Schedule` for ``obj``: a Schedule, or a scheduler's ``alphas_cumprod``
    (entry k = abar_{k+1}; preferred, it is what the scheduler uses) or ``betas``."""
    if isinstance(obj, Schedule):
        return obj
    name = type(obj).__name__
    for attr, build in (("alphas_cumprod", Schedule.from_alpha_bar), ("betas", Schedule.from_betas)):
        values = getattr(obj, attr, None)
        if values is not None:
            if hasattr(values, "detach"):
                values = values.detach().cpu().double().numpy()
            try:
                return build(np.asarray(values, dtype=np.float64), name=name)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{name}.{attr} is not a valid schedule: {exc}") from exc
    raise ValueError(f"{obj!r} is not a schedule: expected a montecarlo.schedules.Schedule or an object with "
                     "alphas_cumprod or betas")


@dataclass
class ScheduleHealth:
    name: str
    T: int
    alpha_bar_T: float
    sqrt_alpha_bar_T: float
    snr_T: float
    prior_kl_per_dim: float  # nats, E[x0^2] = x0_second_moment
    x0_second_moment: float
    eps_x0_amplification: float  # sqrt((1-abar_T)/abar_T): eps-pred's error gain in its x_0 estimate at t = T
    warnings: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.warnings

    def prior_kl(self, dims: int) -> float:
        """L_T for ``dims`` independent dimensions (nats)."""
        return self.prior_kl_per_dim * dims

    def to_dict(self) -> dict:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, float) and not math.isfinite(value):
                out[key] = str(value)
        return out


def schedule_health(schedule, *, x0_second_moment: float = 1.0, snr_warn: float = 1e-4,
                    amplification_warn: float = 1e3) -> ScheduleHealth:
    """Terminal abar_T, SNR_T, prior gap L_T (nats per dimension) and warnings (see module doc)."""
    from proofs import IDENTITIES
    from proofs.numeric import slot_function

    if not (isinstance(x0_second_moment, (int, float)) and math.isfinite(x0_second_moment)
            and x0_second_moment >= 0):
        raise ValueError(f"x0_second_moment must be a finite number >= 0, got {x0_second_moment!r}")
    sched = as_schedule(schedule)
    T = sched.T
    slots = IDENTITIES["forward_marginal"].slots
    m = float(slot_function(slots["mean_coef"])(sched, T))
    v = float(slot_function(slots["variance"])(sched, T))
    abar_T = m * m
    kl = 0.5 * (v + m * m * x0_second_moment - 1.0 - math.log(v))
    snr = abar_T / v
    gain = math.sqrt(v / abar_T) if abar_T > 0 else math.inf
    warnings = []
    if abar_T == 0.0:
        warnings.append("abar_T = 0 (zero terminal SNR): epsilon-prediction is ill-posed at t = T: x_T carries no "
                        "information about x_0 and eps-prediction's x_0 estimate (x_T - sqrt(1-abar_T) eps)/"
                        "sqrt(abar_T) divides by sqrt(abar_T) = 0; use v-prediction (Lin et al. 2024)")
    elif gain > amplification_warn:
        warnings.append(f"sqrt(abar_T) = {m:.3g}: eps-prediction's x_0 estimate at t = T multiplies the eps error by "
                        f"sqrt((1-abar_T)/abar_T) = {gain:.3g} (> {amplification_warn:g})")
    if snr > snr_warn:
        warnings.append(f"terminal SNR {snr:.3g} > {snr_warn:g}: x_T still holds sqrt(abar_T) = {m:.3g} of x_0, so "
                        f"sampling from N(0, I) mismatches training (prior gap L_T = {kl:.3g} nats/dim); "
                        "rescale to zero terminal SNR (Lin et al. 2024) or add steps")
    return ScheduleHealth(sched.name, T, abar_T, m, snr, kl, float(x0_second_moment), gain, warnings)


def lin_et_al_figure(T: int = 1000, path: str | None = None) -> dict:
    """Stable Diffusion's schedule (scaled_linear 0.00085..0.012) and its zero-terminal-SNR rescale:
    sqrt(abar_t) and log SNR_t for t = 1..T (Lin et al. 2024's comparison), plus both health
    records. Saves a two-panel PNG at ``path`` when given (needs matplotlib)."""
    sd = Schedule.scaled_linear(T, 0.00085, 0.012)
    zs = sd.rescale_zero_terminal_snr()
    t = np.arange(1, T + 1)
    data = {"t": t, "sqrt_abar_sd": np.sqrt(sd.alpha_bar(t)), "sqrt_abar_zero_snr": np.sqrt(zs.alpha_bar(t)),
            "log_snr_sd": np.log(sd.snr(t))}
    with np.errstate(divide="ignore"):
        data["log_snr_zero_snr"] = np.log(zs.snr(t))
    data["health_sd"] = schedule_health(sd)
    data["health_zero_snr"] = schedule_health(zs)
    if path is not None:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
        ax1.plot(t, data["sqrt_abar_sd"], label=f"SD (sqrt abar_T = {data['health_sd'].sqrt_alpha_bar_T:.3f})")
        ax1.plot(t, data["sqrt_abar_zero_snr"], label="zero terminal SNR")
        ax1.set_xlabel("t"), ax1.set_ylabel("sqrt(abar_t)"), ax1.legend()
        ax2.plot(t, data["log_snr_sd"], label="SD")
        ax2.plot(t[:-1], data["log_snr_zero_snr"][:-1], label="zero terminal SNR (-inf at T)")
        ax2.set_xlabel("t"), ax2.set_ylabel("log SNR_t"), ax2.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return data
