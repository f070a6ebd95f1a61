"""Hypothesis strategies for noise schedules and timesteps (public; compose them in your own tests).

    from hypothesis import given, strategies as st
    from diffusion_proofs.testing.strategies import schedules, alpha_bar_schedules, timesteps, schedules_and_timesteps

    @given(schedules(max_T=200))
    def test_alpha_bar_decreases(sched): ...

    @given(st.data())
    def test_at_some_t(data):
        sched = data.draw(schedules(families=("cosine", "zero_terminal_snr")))
        t = data.draw(timesteps(sched))

Families (each draws T in [min_T, max_T] and its parameters):
  linear          Ho et al.: betas = linspace(beta_start, beta_end, T), 1e-6 <= beta_start <= beta_end <= 0.999
                  (and beta_end <= 1 - exp(-600/T): alpha_bar_T >= e^-600 never underflows; same for the next two)
  scaled_linear   Stable Diffusion: betas = linspace(sqrt(beta_start), sqrt(beta_end), T)**2
  cosine          Nichol & Dhariwal: alpha_bar(t) ~ cos^2((t/T + s)/(1 + s) pi/2), s in [1e-4, 0.2],
                  betas clipped at max_beta in [0.5, 0.999]
  sigmoid         beta_start + (beta_end - beta_start) * sigmoid(linspace(-scale, scale, T))
  alpha_bar       any strictly decreasing alpha_bar (see alpha_bar_schedules)
  tiny_betas      every beta_t = 10**u, u in [-10, -6]: alpha_bar within ~1e-6 of 1, 1 - alpha_bar ~ 1e-10
  near_one_betas  every beta_t = 1 - 10**u, u in [-9, -0.5]; T <= 24 so alpha_bar_T >= 1e-216 stays normal
  zero_terminal_snr  one of the first five, T >= 2, rescaled by Lin et al. (alpha_bar_T = 0, beta_T = 1)

Randomness that is too large for Hypothesis to draw element by element (arrays of T up to 4000) comes
from ``numpy.random.default_rng(seed)`` with the seed drawn by Hypothesis, so runs stay reproducible
(and derandomized under the "ci" profile); arrays of T <= 8 are drawn element by element, which shrinks well.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from montecarlo.schedules import Schedule

FAMILIES = ("linear", "scaled_linear", "cosine", "sigmoid", "alpha_bar", "tiny_betas", "near_one_betas",
            "zero_terminal_snr")
STANDARD = ("linear", "scaled_linear", "cosine", "sigmoid", "alpha_bar")
NEAR_ONE_MAX_T = 24
MAX_STEP_DECAY = 30.0
SEEDS = st.integers(0, 2**32 - 1)


def _check_range(min_T, max_T) -> tuple[int, int]:
    for name, value in (("min_T", min_T), ("max_T", max_T)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if min_T > max_T:
        raise ValueError(f"min_T = {min_T} exceeds max_T = {max_T}")
    return int(min_T), int(max_T)


def _renamed(sched: Schedule, name: str) -> Schedule:
    return Schedule(sched.betas, name=name)


def _beta_pair(draw, T: int):
    """(beta_start, beta_end): beta_start = 10**u, u in [-6, log10 0.05]; beta_end in [beta_start, cap(T)]
    with cap(T) = min(0.999, 1 - exp(-600/T)), so that -log alpha_bar_T <= 600 (no underflow to 0)."""
    start = draw(st.floats(-6.0, np.log10(0.05)).map(lambda e: 10.0 ** e))
    end = draw(st.floats(start, min(0.999, -np.expm1(-600.0 / T))))
    return start, end


@st.composite
def _linear(draw, min_T, max_T):
    T = draw(st.integers(min_T, max_T))
    start, end = _beta_pair(draw, T)
    return _renamed(Schedule.linear(T, start, end), f"linear(T={T}, {start:.3g}, {end:.3g})")


@st.composite
def _scaled_linear(draw, min_T, max_T):
    T = draw(st.integers(min_T, max_T))
    start, end = _beta_pair(draw, T)
    return _renamed(Schedule.scaled_linear(T, start, end), f"scaled_linear(T={T}, {start:.3g}, {end:.3g})")


@st.composite
def _cosine(draw, min_T, max_T):
    T = draw(st.integers(min_T, max_T))
    s, max_beta = draw(st.floats(1e-4, 0.2)), draw(st.floats(0.5, 0.999))
    return _renamed(Schedule.cosine(T, s=s, max_beta=max_beta), f"cosine(T={T}, s={s:.3g}, max_beta={max_beta:.3g})")


@st.composite
def _sigmoid(draw, min_T, max_T):
    T = draw(st.integers(min_T, max_T))
    start, end = _beta_pair(draw, T)
    scale = draw(st.floats(0.5, 10.0))
    return _renamed(Schedule.sigmoid(T, start, end, scale=scale),
                    f"sigmoid(T={T}, {start:.3g}, {end:.3g}, scale={scale:.3g})")


def _exponents(draw, T: int, low: float, high: float) -> np.ndarray:
    """T numbers in [low, high]: drawn one by one for T <= 8, else from a Hypothesis-drawn numpy seed."""
    if T <= 8:
        return np.array(draw(st.lists(st.floats(low, high), min_size=T, max_size=T)))
    return np.random.default_rng(draw(SEEDS)).uniform(low, high, T)


@st.composite
def _tiny_betas(draw, min_T, max_T):
    T = draw(st.integers(min_T, max_T))
    return Schedule.from_betas(10.0 ** _exponents(draw, T, -10.0, -6.0), name=f"tiny_betas(T={T})")


@st.composite
def _near_one_betas(draw, min_T, max_T):
    T = draw(st.integers(min_T, min(max_T, NEAR_ONE_MAX_T)))
    return Schedule.from_betas(1.0 - 10.0 ** _exponents(draw, T, -9.0, -0.5), name=f"near_one_betas(T={T})")


@st.composite
def alpha_bar_schedules(draw, min_T: int = 1, max_T: int = 4000, max_log_decay: float = 50.0,
                        zero_terminal=None):
    """Schedules from an arbitrary strictly decreasing alpha_bar.

    Draws positive log-increments delta_t = -log alpha_t = L * w_t / sum(w), with total decay
    L = -log alpha_bar_T in [1e-6, max_log_decay] and weights w_t = exp(spread * u_t), u_t in [0, 1],
    spread in [0, 8] (so the smallest step is >= e^-8 of the mean and alpha_bar stays strictly
    decreasing in float64), each delta_t capped at MAX_STEP_DECAY = 30 (alpha_t >= e^-30, else
    beta_t = 1 - alpha_t rounds to 1); alpha_bar_t = exp(-sum_{s<=t} delta_s). ``zero_terminal`` True sets
    alpha_bar_T = 0 (None: Hypothesis decides).
    """
    min_T, max_T = _check_range(min_T, max_T)
    if not 1e-6 <= max_log_decay <= 700:
        raise ValueError(f"max_log_decay must lie in [1e-6, 700], got {max_log_decay!r}")
    T = draw(st.integers(min_T, max_T))
    total = draw(st.floats(1e-6, max_log_decay))
    spread = draw(st.floats(0.0, 8.0))
    weights = np.exp(spread * _exponents(draw, T, 0.0, 1.0))
    deltas = np.minimum(total * weights / weights.sum(), MAX_STEP_DECAY)
    alpha_bar = np.exp(-np.cumsum(deltas))
    zero = draw(st.booleans()) if zero_terminal is None else bool(zero_terminal)
    if zero:
        alpha_bar[-1] = 0.0
    return Schedule.from_alpha_bar(alpha_bar, name=f"alpha_bar(T={T}, decay={total:.3g}{', zero SNR' if zero else ''})")


@st.composite
def _zero_terminal_snr(draw, min_T, max_T):
    base = draw(st.one_of([_BUILDERS[f](max(min_T, 2), max(max_T, 2)) for f in STANDARD]))
    return _renamed(base.rescale_zero_terminal_snr(), f"{base.name}+zero_terminal_snr")


_BUILDERS = {
    "linear": _linear, "scaled_linear": _scaled_linear, "cosine": _cosine, "sigmoid": _sigmoid,
    "alpha_bar": lambda lo, hi: alpha_bar_schedules(lo, hi), "tiny_betas": _tiny_betas,
    "near_one_betas": _near_one_betas, "zero_terminal_snr": _zero_terminal_snr,
}


def schedules(min_T: int = 1, max_T: int = 4000, families=FAMILIES) -> st.SearchStrategy[Schedule]:
    """Schedules of T in [min_T, max_T] steps from the named ``families`` (see the module doc).

    Families that cannot produce such T are left out (zero_terminal_snr needs max_T >= 2,
    near_one_betas needs min_T <= 24); a ValueError names an unknown family or an empty choice.
    """
    min_T, max_T = _check_range(min_T, max_T)
    families = (families,) if isinstance(families, str) else tuple(families)
    unknown = [f for f in families if f not in _BUILDERS]
    if unknown:
        raise ValueError(f"unknown schedule families {unknown}: choose from {FAMILIES}")
    usable = [f for f in families
              if not (f == "zero_terminal_snr" and max_T < 2) and not (f == "near_one_betas" and min_T > NEAR_ONE_MAX_T)]
    if not usable:
        raise ValueError(f"none of the families {families} can draw T in [{min_T}, {max_T}]")
    return st.one_of([_BUILDERS[f](min_T, max_T) for f in usable])


def timesteps(schedule: Schedule, min_t: int = 1) -> st.SearchStrategy[int]:
    """Timesteps t in [min_t, T] of ``schedule`` (min_t = 0 includes alpha_bar_0 = 1)."""
    if isinstance(min_t, bool) or not isinstance(min_t, (int, np.integer)) or not 0 <= min_t <= schedule.T:
        raise ValueError(f"min_t must be an integer in 0..T = {schedule.T}, got {min_t!r}")
    return st.integers(int(min_t), schedule.T)


def schedules_and_timesteps(min_t: int = 1, **kwargs) -> st.SearchStrategy[tuple[Schedule, int]]:
    """(schedule, t) pairs: a schedule from ``schedules(**kwargs)`` and t in [min_t, T]."""
    return schedules(**kwargs).flatmap(lambda s: st.tuples(st.just(s), timesteps(s, min(min_t, s.T))))


__all__ = ["schedules", "alpha_bar_schedules", "timesteps", "schedules_and_timesteps", "FAMILIES"]
