"""Shared machinery of the sampling designs: constants, the verdict record, the per-check context
and small helpers. The statistics are stated in :mod:`montecarlo.confirmation`."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

import numpy as np
import torch

from .. import stats as S
from ..schedules import Schedule

from ..kernel import forward_chain, make_generator

import proofs
from proofs.numeric import slot_function

DEFAULT_SAMPLES = {
    "forward_marginal": 150_000,
    "posterior": 150_000,
    "posterior_eps": 150_000,
    "elbo_bound": 100_000,
    "elbo_decomposition": 100_000,
    "eps_loss": 100_000,
    "dsm": 1_000_000,
    "tweedie": 300_000,
    "score_eps": 200_000,
}
#: Each identity's random stream: a fixed table, never the order of another dict.
STREAMS = {"forward_marginal": 0, "posterior": 1, "posterior_eps": 2, "elbo_bound": 3, "elbo_decomposition": 4,
           "eps_loss": 5, "dsm": 6, "tweedie": 7, "score_eps": 8}
X0 = (0.0, 1.0, -3.0, 10.0, 1000.0)
X0_SMALL = (0.0, 1.0, -3.0, 10.0)
REVERSE_ROWS = 13
LONG_DIV = 10
LONG_DTYPE = torch.float32
MIX_W = np.array([0.3, 0.7])
MIX_MU = np.array([-1.0, 1.0])  # overlapping components: the Rao-Blackwellized moments stay light-tailed
MIX_SD = np.array([0.7, 0.9])
NOISE_STDS = (0.3, 0.7, 2.0)
ELBO_STEPS = 8
MIN_SAMPLES = 100
#: Checks built on CLT z tests: below this many samples their false-alarm rate can exceed alpha
#: (measured at alpha = 0.05: 0.21 for score_eps at 200 samples, 0.02 at 5000), so it is refused.
MIN_SAMPLES_ASYMPTOTIC = 2000
ASYMPTOTIC = ("elbo_bound", "elbo_decomposition", "eps_loss", "dsm", "tweedie", "score_eps")


# ----- verdict ---------------------------------------------------------------------------------
class MCVerdict:
    """The outcome of one Monte Carlo confirmation.

    ``passed`` (Holm family p > alpha), ``p_value`` (family), ``alpha``, ``exact`` (all sub-tests
    finite-sample exact), ``mde`` / ``mde_worst`` / ``mde_cells`` ({key: relative MDE at power 0.99},
    see the module doc), ``samples`` (simulated rows: a chain, or a d-dimensional draw, counts
    once), ``seconds`` (simulation and testing, without the lazily computed MDEs), ``details`` (one
    dict per sub-test: name, slot, t / x0 / noise_std, statistic, p_value, adjusted_p, exact, n,
    mde, mde_units), ``failures`` (the rejected ones), ``notes`` (cells skipped as outside the
    proofs' domain), ``method``, ``claim``, ``schedule``; ``summary()`` and ``to_dict()``."""

    def __init__(self, identity, family: S.HolmResult, tags, samples, seconds, schedule, claim, method, notes=()):
        self.identity = identity
        self.family = family
        self._tags = tags
        self.samples = int(samples)
        self.seconds = float(seconds)
        self.schedule = schedule
        self.claim = claim
        self.method = method
        self.notes = list(notes)

    passed = property(lambda self: self.family.passed)
    p_value = property(lambda self: self.family.p_value)
    alpha = property(lambda self: self.family.alpha)
    exact = property(lambda self: self.family.exact)

    @cached_property
    def _mdes(self) -> list[float]:
        return [m / scale if scale else m for m, (slot, scale, cell) in zip(self.family.mde, self._tags)]

    @cached_property
    def mde_cells(self) -> dict[str, dict[str, float]]:
        """{key: {cell: relative MDE of an error confined to that cell (min over the cell's sub-tests)}}."""
        out: dict[str, dict[str, float]] = {}
        for value, (slot, scale, cell) in zip(self._mdes, self._tags):
            if slot is None or not math.isfinite(value):
                continue
            label = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in cell)
            cells = out.setdefault(slot, {})
            cells[label] = min(value, cells.get(label, math.inf))
        return out

    @cached_property
    def mde(self) -> dict[str, float]:
        """{key: relative MDE of an error of the key at every cell} (min over the key's sub-tests)."""
        return {k: float(min(v.values())) for k, v in self.mde_cells.items()}

    @cached_property
    def mde_worst(self) -> dict[str, float]:
        """{key: the largest over cells of the cell's MDE}: an error confined to the least sensitive cell."""
        return {k: float(max(v.values())) for k, v in self.mde_cells.items()}

    @cached_property
    def details(self) -> list[dict]:
        out = []
        for r, adj, m, (slot, scale, cell) in zip(self.family.results, self.family.adjusted, self._mdes, self._tags):
            d = r.to_dict()
            d.pop("mde", None)
            d.update(slot=slot, adjusted_p=adj, mde=_clean(m),
                     mde_units=f"relative error of {slot}" if slot and scale else r.units)
            out.append(d)
        return out

    @property
    def failures(self) -> list[dict]:
        return [d for d in self.details if d["adjusted_p"] <= self.alpha]

    def summary(self) -> str:
        worst_cell = self.mde_worst
        worst = ", ".join(f"{k} {v:.2%}" + (f" (worst single cell {worst_cell[k]:.2%})"
                                             if worst_cell.get(k, v) > v * 1.5 else "")
                          for k, v in self.mde.items())
        state = "PASSED" if self.passed else "FAILED"
        text = (f"{self.identity}: {state} (Holm p = {self.p_value:.3g}, alpha = {self.alpha:g}, "
                f"{'exact' if self.exact else 'asymptotic'}, {self.family.m} sub-tests, {self.samples} samples, "
                f"{self.seconds:.2f} s; MDE at power 0.99: {worst})")
        if not self.passed:
            f = min(self.failures, key=lambda d: d["p_value"])
            text += f"; first failure: {f['name']} (p = {f['p_value']:.3g})"
        return text

    def to_dict(self) -> dict:
        return {"identity": self.identity, "passed": self.passed, "p_value": self.p_value, "alpha": self.alpha,
                "exact": self.exact, "mde": self.mde, "mde_worst": self.mde_worst, "mde_cells": self.mde_cells,
                "samples": self.samples,
                "seconds": round(self.seconds, 3), "schedule": self.schedule, "claim": self.claim,
                "method": self.method, "notes": self.notes, "tests": self.family.m, "details": self.details}

    def __repr__(self) -> str:
        return f"MCVerdict({self.summary()})"


def _clean(v):
    return float(v) if math.isfinite(v) else str(v)


# ----- context ---------------------------------------------------------------------------------
@dataclass
class _Ctx:
    identity: str
    schedule: Schedule
    alpha: float
    n: int
    seed: int
    device: str
    slots: dict[str, Callable]
    stream: int
    tests: list = field(default_factory=list)
    tags: list = field(default_factory=list)
    samples: int = 0
    proved: dict = field(default_factory=dict)
    undefined: dict = field(default_factory=dict)
    outside: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    _k: int = 0

    def add(self, result: S.StatResult, slot=None, scale=None, **info):
        """Record a sub-test; ``slot`` names the key its MDE speaks about and ``scale`` divides its MDE
        into a relative error of that key (None: the test's MDE is already relative, else it is not
        counted for the key); the cell (t, sigma choice, noise_std or ELBO term; else x0) groups
        sub-tests for ``mde_cells``."""
        result.detail.update({k: v for k, v in info.items() if v is not None})
        cell = tuple((k, info[k]) for k in ("t", "sigma", "noise_std", "term") if k in info)
        cell = cell or (("x0", info.get("x0")),)
        if scale is None and result.units.startswith("relative"):
            scale = 1.0
        scale = abs(float(scale)) if scale is not None and math.isfinite(float(scale)) else 0.0
        self.tests.append(result)
        self.tags.append((slot if scale > 0 else None, scale or None, cell))

    def claim(self, slot, t=1, **extra) -> np.ndarray:
        """The claimed slot at t; NaN (reported by :meth:`bad_claim`) where the claim is undefined,
        e.g. abar[t+1] at t = T."""
        with np.errstate(all="ignore"):
            try:
                value = self.slots[slot](self.schedule, t, **extra)
            except ValueError as exc:
                self.undefined[(slot, t)] = str(exc)
                return np.full(np.shape(next(iter(extra.values()), t)), np.nan)
            if not np.all(np.isfinite(value)):
                proved = self.proved[slot](self.schedule, t, **extra)
                if not np.any(np.isfinite(proved)):  # e.g. 1/sqrt(alpha_T) with beta_T = 1
                    self.outside[(slot, t)] = True
            return value

    def generator(self) -> torch.Generator:
        self._k += 1
        return make_generator(self.seed, (self.stream, 1000 + self._k), self.device)

    def normal(self, *shape) -> np.ndarray:
        return torch.randn(shape, generator=self.generator(), dtype=torch.float64,
                           device=self.device).cpu().numpy()

    def uniform(self, *shape) -> np.ndarray:
        return torch.rand(shape, generator=self.generator(), dtype=torch.float64,
                          device=self.device).cpu().numpy()

    def chain(self, x0: np.ndarray, times, dtype, group: int, schedule=None) -> dict:
        self.samples += x0.shape[0]
        out = forward_chain(schedule or self.schedule, torch.from_numpy(x0), times, seed=self.seed, device=self.device,
                            dtype=dtype, stream=(self.stream, group))
        return {k: v.detach().cpu().double().numpy() for k, v in out.items()}

    def bad_claim(self, slot, value, t=None, positive=False, **info) -> bool:
        """Record a deterministic failure when a claimed value is not finite (or not positive where
        it must be); return True when it was bad."""
        v = np.asarray(value, dtype=np.float64)
        bad = ~np.isfinite(v) | ((v <= 0) if positive else False)
        if not np.any(bad):
            return False
        if self.outside.get((slot, t)):
            self.notes.append(f"t={t} skipped: the proved {slot} is not finite there (outside the proof's domain, "
                              "e.g. alpha_t = 0)")
            return True
        first = float(v[bad].flat[0]) if v.ndim else float(v)
        need = "finite and positive" if positive else "finite"
        why = f" ({self.undefined[(slot, t)]})" if (slot, t) in self.undefined else ""
        self.add(S.exact_check(f"claimed {slot} is {first!r} at t={t}{why}: must be {need}", False, first,
                               alpha=self.alpha, tolerance=0.0, units="deterministic"), slot=None, t=t, **info)
        return True


def _times(T: int, lo: int = 1) -> tuple[list[int], list[int]]:
    """(short, long) timesteps: short = {1, 2, 3, 10}, long = {T/10, T/2, T-1, T}, restricted to lo..T."""
    short = [t for t in (1, 2, 3, 10) if lo <= t <= T]
    long_ = sorted({t for t in (T // 10, T // 2, T - 1, T) if max(lo, 11) <= t <= T})
    return short, long_


def _rows(values, rows: int, d: int) -> np.ndarray:
    return np.repeat(np.asarray(values, dtype=np.float64), rows)[:, None].repeat(d, axis=1)


# ----- forward marginal ------------------------------------------------------------------------
def _time_groups(ctx: _Ctx):
    """(timesteps, rows, dtype): the short times in float64 at full size, the long chains (to t near T)
    in float32 with a tenth of the rows."""
    short, long_ = _times(ctx.schedule.T)
    return [(short, ctx.n, torch.float64), (long_, max(ctx.n // LONG_DIV, 20), LONG_DTYPE)]


def _proved(identity: str, slot: str):
    return slot_function(proofs.IDENTITIES[identity].slots[slot])


def _forward(schedule, t):
    """(sqrt(abar_t), 1 - abar_t) from the proved forward_marginal slots."""
    return _proved("forward_marginal", "mean_coef")(schedule, t), _proved("forward_marginal", "variance")(schedule, t)


# ----- Gaussian-mixture identities -------------------------------------------------------------
def _mixture(ctx, n, with_component=False):
    """n draws of 0.3 N(-1, 0.7^2) + 0.7 N(1, 0.9^2) (and the component index k of each)."""
    comp = (ctx.uniform(n) >= MIX_W[0]).astype(int)
    x = MIX_MU[comp] + MIX_SD[comp] * ctx.normal(n)
    return (x, comp) if with_component else x


def _mixture_score(x, mean_scale=1.0, var_scale=1.0, var_add=0.0):
    """d/dx log of sum_k w_k N(x; mean_scale mu_k, var_scale sd_k^2 + var_add) (exact)."""
    m = mean_scale * MIX_MU[:, None]
    v = (var_scale * MIX_SD ** 2 + var_add)[:, None]
    logw = np.log(MIX_W)[:, None] - 0.5 * np.log(2 * np.pi * v) - (x[None, :] - m) ** 2 / (2 * v)
    resp = np.exp(logw - logw.max(axis=0))
    resp /= resp.sum(axis=0)
    return np.sum(resp * (-(x[None, :] - m) / v), axis=0)


TEST_FUNCTIONS = {"1": np.ones_like, "x": lambda x: x, "x^2": lambda x: x * x, "tanh(x)": np.tanh}
