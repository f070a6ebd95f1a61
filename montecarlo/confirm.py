"""Monte Carlo confirmation of every identity in :data:`proofs.IDENTITIES`.

``confirm(identity_id, schedule=None, claim=None, *, alpha=1e-6, samples=None, seed=0, device="cpu")``
simulates the quantities an identity speaks about and tests the claimed coefficients against them.
The claimed coefficients are the claim slots of :func:`proofs.check_claim`: by default the
expressions the proofs proved, ``proofs.IDENTITIES[id].slots`` evaluated through
:func:`proofs.numeric.slot_function` (one source of truth); ``claim={slot: sympy expression}``
replaces some of them. Other closed forms a check needs (the forward marginal used to build x_t
from x_0, the posterior used by the ELBO decomposition) are likewise the *proved* slots of those
identities, never retyped.

Statistics. Each check runs sub-tests (see :mod:`montecarlo.stats`) and combines them with Holm at
the family-wise level ``alpha`` (default 1e-6): the verdict fails when the Holm family p-value
``<= alpha``. ``exact`` is True when every sub-test's false-alarm rate is exact in finite samples
(t, chi-square and correlation tests on Gaussian data, deterministic float checks), False when some
are CLT z tests (asymptotic). ``mde[key]`` is the relative error of the key coefficient, applied at
every test point, that the check detects with probability >= 0.99: the smallest, over that key's
sub-tests, of the sub-test's minimum detectable effect at level alpha / m (Holm rejects as soon as
one sub-test has p <= alpha / m); ``mde_cells[key][cell]`` is the same for an error confined to one
cell (a timestep t, a noise_std, an ELBO term, ...), and ``mde_worst[key]`` the largest over cells.

Default schedule: ``Schedule.linear(1000)`` (Ho et al. 2020). Cells probe where wrong claims show:
t in {1, 2, 3, 10, T/10, T/2, T-1, T} (those in range), x_0 in {0, 1, -3, 10, 1000}, d > 1 with the
cross-covariance tested. Short chains (t <= 10) carry ``samples`` rows per x_0 in float64; long chains
(to T) carry ``samples // 10`` rows per x_0 in float32 (5x faster on CPU; rounding ~1e-6 relative, far
below every MDE; the cells that resolve 1e-4 effects, t <= 10 with x_0 = 1000, stay in float64).

Designs (n = ``samples``, default :data:`DEFAULT_SAMPLES`):

* forward_marginal: rows x_0 -> forward_chain; residual r = x_t - mean_coef * x_0. Per (t, x_0): t test
  of mean(r) = 0 (exact). Per t: chi-square test sum r^2 / variance ~ chi2_N (known mean 0, exact);
  zero correlation of every pair of coordinates of r (exact).
* posterior: chain gives (x_0, x_{t-1}, x_t); r = x_{t-1} - coef_xt x_t - coef_x0 x_0 is N(0, variance)
  and independent of x_t under the claim. Per (t, x_0): OLS of r on (1, x_t - mean x_t), exact t tests
  that both coefficients are 0 (slope <-> coef_xt, level <-> coef_x0 x_0). Per t: chi-square of
  sum r^2 / variance (exact), correlation of the coordinates of r. t = 1 is deterministic
  (x_0 is known given x_1 and x_0): r = 0 and variance = 0 to float precision.
* posterior_eps: eps = (x_t - sqrt(abar_t) x_0)/sqrt(1 - abar_t) (proved forward marginal);
  r = x_{t-1} - coef_xt x_t - coef_eps eps; per t, pooled over x_0 (which decorrelates x_t and eps),
  OLS of r on (1, x_t, eps): exact t tests that all three coefficients are 0. t = 1 deterministic.
* elbo_bound: the schedule respaced to T' = 8 steps (if T > 10); reverse model p(x_T') = N(0, 1),
  p(x_{t-1}|x_t) = N(a_t x_t, s_t^2) with a_t = 0.9 sqrt(alpha_t), s_t^2 = 1.5 beta_t, so that
  -log p(x_0) = log(2 pi V_0)/2 + x_0^2/(2 V_0), V_{t-1} = a_t^2 V_t + s_t^2, V_T' = 1. Per x_0: z test
  that the MC mean of L = log q(x_{1:T}|x_0) - log p(x_{0:T}) equals its Gaussian-moment closed form;
  deterministic check closed form >= -log p(x_0) (margin reported); one-sided z test
  (H0: E L >= -log p(x_0)).
* elbo_decomposition: same model; pointwise on every sampled chain, log q(x_{1:T}|x_0)/p(x_{0:T}) =
  log q(x_T|x_0)/p(x_T) + sum_{t>=2} log q(x_{t-1}|x_t,x_0)/p(x_{t-1}|x_t) - log p(x_0|x_1) with q(x_T|x_0),
  q(x_{t-1}|x_t,x_0) from the proved forward_marginal and posterior slots (deterministic, 1e-9
  relative); z tests that the MC mean of each term equals its closed-form KL (L_T, L_{t-1}, L_0);
  deterministic check that the closed-form terms sum to elbo_bound's closed form.
* eps_loss: x_{t-1} ~ q(x_{t-1}|x_0), x_t = sqrt(alpha_t) x_{t-1} + sqrt(beta_t) e, eps from x_t, x_0; models
  eps_theta_k(x_t) = c_k x_t + b_k, mu_theta = coef_xt x_t + coef_eps eps_theta (proved posterior_eps
  slots). With common random numbers, D_k = [log p_0 - log p_k](x_{t-1}|x_t) - weight (||eps - eps_k||^2 -
  ||eps - eps_0||^2) has mean 0 iff L_{t-1}(theta) - weight E||eps - eps_theta||^2 is free of theta;
  z test per (t, sigma choice, k), sigma_t^2 = beta_t and sigma_t^2 = posterior variance.
* dsm: x ~ 0.3 N(-1, 0.7^2) + 0.7 N(1, 0.9^2), x~ = x + noise_std z, exact score of q_sigma (a mixture);
  s_k(x~) = th0 + th1 x~ + th2 x~^2; per sample e_k = (s_k - score)^2 - (s_k - target)^2 (ESM minus DSM
  integrand); z test that e_k - e_0 has mean 0 (C free of theta), per (noise_std, k).
* tweedie: theta ~ that mixture (component k), x = theta + noise_std z; z tests of
  E[(theta - x - coef d/dx log p(x)) g(x)] = 0, g in {1, x, x^2, tanh x}, per noise_std, with theta
  Rao-Blackwellized to E[theta | x, k] = mu_k + sd_k^2 (x - mu_k)/(sd_k^2 + noise_std^2) (same moments).
* score_eps: x_0 ~ the mixture (component k), x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, p_t a mixture
  with exact score s; the claim s = coef * eps_theta with eps_theta = E[eps|x_t] means
  E[(eps - s(x_t)/coef) g(x_t)] = 0; eps is Rao-Blackwellized to E[eps | x_t, k] =
  sqrt(1 - abar_t)(x_t - sqrt(abar_t) mu_k)/(abar_t sd_k^2 + 1 - abar_t) (Gaussian conditioning within a
  component; same moment by the tower rule, far less noise at small t); z tests per (t, g).

Test hook (for identities without slots): ``confirm(..., _hooks={...})`` passes keyword arguments to
the internal check: ``elbo_bound`` takes ``closed_form(schedule, a, s2, x0) -> (expected L, -log p(x0))``,
``elbo_decomposition`` takes ``posterior_slots={slot: expr}`` (the posterior used by the
decomposition) and ``kl_terms(schedule, a, s2, x0, fwd, post) -> (n_terms,) closed-form terms``.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

import numpy as np
import torch

from . import stats as S
from .schedules import Schedule

from .kernel import forward_chain, make_generator

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
ORDER = list(DEFAULT_SAMPLES)
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


def _check_forward_marginal(ctx: _Ctx, d: int = 3):
    groups = _time_groups(ctx)
    for g, (times, rows, dtype) in enumerate(groups):
        if not times:
            continue
        x0 = _rows(X0, rows, d)
        out = ctx.chain(x0, times, dtype, g)
        for t in times:
            c, v = ctx.claim("mean_coef", t), ctx.claim("variance", t)
            if ctx.bad_claim("mean_coef", c, t):
                continue
            r = out[t] - float(c) * x0
            for j, x0v in enumerate(X0):
                rr = r[j * rows:(j + 1) * rows].ravel()
                res = S.t_test_mean(rr, 0.0, alpha=ctx.alpha,
                                    name=f"mean of x_t - mean_coef x_0 = 0 (t={t}, x0={x0v:g})")
                ctx.add(res, "mean_coef", float(c) * x0v, t=t, x0=x0v)
            if not ctx.bad_claim("variance", v, t, positive=True):
                ctx.add(S.chi2_test_variance(r.ravel(), float(v), alpha=ctx.alpha, mean=0.0,
                                             name=f"sum r^2 / variance ~ chi2 (t={t})"), "variance", t=t)
            for a in range(d):
                for b in range(a + 1, d):
                    ctx.add(S.correlation_test(r[:, a], r[:, b], alpha=ctx.alpha,
                                               name=f"cov(r_{a}, r_{b}) = 0 (t={t})"), "covariance", 1.0, t=t)
    return ("forward_chain from fixed x0 rows; per (t, x0) t test of the residual mean, per t chi-square "
            "test of the variance and correlation tests of the off-diagonal covariance")


# ----- posterior -------------------------------------------------------------------------------
def _posterior_data(ctx, d):
    """Yield (t, x0 rows (n, d), x_{t-1}, x_t, rows per x0) for the short and the long timesteps."""
    groups = _time_groups(ctx)
    for g, (times, rows, dtype) in enumerate(groups):
        if not times:
            continue
        x0 = _rows(X0, rows, d)
        need = sorted({s for t in times for s in (t - 1, t)})
        out = ctx.chain(x0, need, dtype, g)
        for t in times:
            yield t, x0, out[t - 1], out[t], rows


def _exact_first_step(ctx, r, x0, x1, t, slot_var=None):
    """t = 1: q(x_0 | x_1, x_0) is a point mass, so the residual must vanish to float precision."""
    scale = 1.0 + np.max(np.abs(x0)) + np.max(np.abs(x1))
    err = float(np.max(np.abs(r))) / scale
    ctx.add(S.exact_check(f"t=1: x_0 - claimed mean vanishes (max |r| / scale = {err:.3g})", err <= 1e-9, err,
                          alpha=ctx.alpha, tolerance=1e-9, n=r.size, units="relative error"), None, t=t)
    if slot_var is not None:
        v = float(ctx.claim(slot_var, 1))
        ok = math.isfinite(v) and abs(v) <= 1e-12
        ctx.add(S.exact_check(f"t=1: claimed variance {v!r} = 0 (the posterior is a point mass)", ok, v,
                              alpha=ctx.alpha, tolerance=1e-12, units="absolute"), None, t=t)


def _check_posterior(ctx: _Ctx, d: int = 2):
    for t, x0, xp, xt, rows in _posterior_data(ctx, d):
        a, b, v = (float(ctx.claim(s, t)) for s in ("coef_xt", "coef_x0", "variance"))
        if ctx.bad_claim("coef_xt", a, t) or ctx.bad_claim("coef_x0", b, t):
            continue
        with np.errstate(all="ignore"):
            r = xp - a * xt - b * x0
        if t == 1:
            _exact_first_step(ctx, r, x0, xt, t, "variance")
            continue
        for j, x0v in enumerate(X0):
            rr, xx = r[j * rows:(j + 1) * rows].ravel(), xt[j * rows:(j + 1) * rows].ravel()
            fit = S.ols(rr, np.c_[np.ones_like(xx), xx - xx.mean()])
            ctx.add(S.t_test_coef(fit, 1, 0.0, alpha=ctx.alpha, relative_to=a,
                                  name=f"slope of r on x_t = 0 (t={t}, x0={x0v:g})"), "coef_xt", t=t, x0=x0v)
            ctx.add(S.t_test_coef(fit, 0, 0.0, alpha=ctx.alpha, relative_to=b * x0v,
                                  name=f"level of r = 0 (t={t}, x0={x0v:g})"), "coef_x0", t=t, x0=x0v)
        if not ctx.bad_claim("variance", v, t, positive=True):
            ctx.add(S.chi2_test_variance(r.ravel(), v, alpha=ctx.alpha, mean=0.0,
                                         name=f"sum r^2 / variance ~ chi2 (t={t})"), "variance", t=t)
        for p in range(d):
            for q in range(p + 1, d):
                ctx.add(S.correlation_test(r[:, p], r[:, q], alpha=ctx.alpha, name=f"cov(r_{p}, r_{q}) = 0 (t={t})"),
                        "covariance", 1.0, t=t)
    return ("forward_chain gives (x0, x_{t-1}, x_t); r = x_{t-1} - coef_xt x_t - coef_x0 x0; per (t, x0) OLS of r "
            "on (1, x_t) with exact t tests, per t chi-square test of the variance and covariance tests; t = 1 exact")


def _proved(identity: str, slot: str):
    import proofs
    from proofs.numeric import slot_function
    return slot_function(proofs.IDENTITIES[identity].slots[slot])


def _forward(schedule, t):
    """(sqrt(abar_t), 1 - abar_t) from the proved forward_marginal slots."""
    return _proved("forward_marginal", "mean_coef")(schedule, t), _proved("forward_marginal", "variance")(schedule, t)


def _check_posterior_eps(ctx: _Ctx, d: int = 2):
    for t, x0, xp, xt, rows in _posterior_data(ctx, d):
        a, e = float(ctx.claim("coef_xt", t)), float(ctx.claim("coef_eps", t))
        if ctx.bad_claim("coef_xt", a, t) or ctx.bad_claim("coef_eps", e, t):
            continue
        m, v = (float(u) for u in _forward(ctx.schedule, t))
        eps = (xt - m * x0) / math.sqrt(v)
        r = xp - a * xt - e * eps
        if t == 1:
            _exact_first_step(ctx, r, x0, xt, t)
            continue
        if m == 0.0:  # abar_t = 0: eps = x_t, only the sum coef_xt + coef_eps is identified
            fit = S.ols(r.ravel(), np.c_[np.ones(r.size), xt.ravel()])
            ctx.add(S.t_test_coef(fit, 1, 0.0, alpha=ctx.alpha, name=f"coefficient of x_t = eps in r = 0 (t={t})"),
                    None, t=t)
            continue
        fit = S.ols(r.ravel(), np.c_[np.ones(r.size), xt.ravel(), eps.ravel()])
        ctx.add(S.t_test_coef(fit, 0, 0.0, alpha=ctx.alpha, name=f"intercept of r = 0 (t={t})"), None, t=t)
        ctx.add(S.t_test_coef(fit, 1, 0.0, alpha=ctx.alpha, relative_to=a, name=f"coefficient of x_t in r = 0 (t={t})"),
                "coef_xt", t=t)
        ctx.add(S.t_test_coef(fit, 2, 0.0, alpha=ctx.alpha, relative_to=e, name=f"coefficient of eps in r = 0 (t={t})"),
                "coef_eps", t=t)
    return ("forward_chain gives (x0, x_{t-1}, x_t), eps = (x_t - sqrt(abar_t) x0)/sqrt(1 - abar_t); per t OLS of "
            "r = x_{t-1} - coef_xt x_t - coef_eps eps on (1, x_t, eps) pooled over x0, exact t tests; t = 1 exact")


# ----- ELBO ------------------------------------------------------------------------------------
def _small_schedule(schedule: Schedule) -> Schedule:
    """The schedule itself if T <= 10, else respaced to ELBO_STEPS steps: abar at t = T k / 8."""
    if schedule.T <= 10:
        return schedule
    idx = np.unique(np.round(np.linspace(0, schedule.T, ELBO_STEPS + 1)).astype(int))[1:]
    return Schedule.from_alpha_bar(schedule.alpha_bar(idx), name=f"{schedule.name} respaced to {idx.size} steps")


def _reverse_model(s: Schedule):
    """a_t = 0.9 sqrt(alpha_t), s_t^2 = 1.5 beta_t, t = 1..T (index t-1)."""
    ts = np.arange(1, s.T + 1)
    return 0.9 * np.sqrt(s.alpha(ts)), 1.5 * s.beta(ts)


def _chain_moments(s: Schedule, x0: float):
    """Mean and variance of x_t | x_0 and Cov(x_{t-1}, x_t) by the transition recursion
    m_t = sqrt(alpha_t) m_{t-1}, v_t = alpha_t v_{t-1} + beta_t, c_t = sqrt(alpha_t) v_{t-1} (t = 0..T)."""
    m, v, c = [x0], [0.0], [0.0]
    for t in range(1, s.T + 1):
        al = float(s.alpha(t))
        c.append(math.sqrt(al) * v[-1])
        m.append(math.sqrt(al) * m[-1])
        v.append(al * v[-1] + float(s.beta(t)))
    return np.array(m), np.array(v), np.array(c)


def _elbo_closed_form(s: Schedule, a, s2, x0: float):
    """(E_q[log q(x_{1:T}|x_0) - log p(x_{0:T})], -log p(x_0)) for the linear-Gaussian reverse model.

    E log q = -sum_t (log(2 pi beta_t) + 1)/2 (each step's standardized noise is N(0, 1));
    E log p = -(log 2 pi + m_T^2 + v_T)/2 - sum_t [log(2 pi s_t^2) + E(x_{t-1} - a_t x_t)^2 / s_t^2]/2 with
    E(x_{t-1} - a x_t)^2 = v_{t-1} + a^2 v_t - 2 a c_t + (m_{t-1} - a m_t)^2;
    -log p(x_0) = (log(2 pi V_0) + x_0^2 / V_0)/2, V_T = 1, V_{t-1} = a_t^2 V_t + s_t^2."""
    m, v, c = _chain_moments(s, x0)
    ts = np.arange(1, s.T + 1)
    e_log_q = -0.5 * np.sum(np.log(2 * np.pi * s.beta(ts)) + 1.0)
    sq = v[:-1] + a ** 2 * v[1:] - 2 * a * c[1:] + (m[:-1] - a * m[1:]) ** 2
    e_log_p = -0.5 * (math.log(2 * math.pi) + m[-1] ** 2 + v[-1]) - 0.5 * np.sum(np.log(2 * np.pi * s2) + sq / s2)
    V = 1.0
    for t in range(s.T, 0, -1):
        V = a[t - 1] ** 2 * V + s2[t - 1]
    return float(e_log_q - e_log_p), float(0.5 * (math.log(2 * math.pi * V) + x0 ** 2 / V))


def _log_normal(x, mean, var):
    return -0.5 * (np.log(2 * np.pi * var) + (x - mean) ** 2 / var)


def _elbo_samples(ctx, s: Schedule, x0v: float, group: int):
    """Chains x_{0:T} | x_0 = x0v (n rows, d = 1) on the small schedule: {t: x_t} and the per-step log q."""
    x0 = np.full((ctx.n, 1), x0v)
    out = ctx.chain(x0, list(range(s.T + 1)), torch.float64, group, s)
    xs = np.stack([out[t][:, 0] for t in range(s.T + 1)])  # (T+1, n)
    ts = np.arange(1, s.T + 1)
    log_q_steps = _log_normal(xs[1:], np.sqrt(s.alpha(ts))[:, None] * xs[:-1], s.beta(ts)[:, None])
    return xs, log_q_steps


def _check_elbo_bound(ctx: _Ctx, closed_form=None):
    closed_form = closed_form or _elbo_closed_form
    s = _small_schedule(ctx.schedule)
    a, s2 = _reverse_model(s)
    for g, x0v in enumerate(X0_SMALL):
        xs, log_q_steps = _elbo_samples(ctx, s, x0v, g)
        log_p = _log_normal(xs[-1], 0.0, 1.0) + np.sum(_log_normal(xs[:-1], a[:, None] * xs[1:], s2[:, None]), axis=0)
        L = log_q_steps.sum(axis=0) - log_p
        expected, nlp = closed_form(s, a, s2, x0v)
        margin = expected - nlp
        ctx.add(S.z_test_mean(L, expected, alpha=ctx.alpha,
                              name=f"MC mean of the ELBO integrand = closed form (x0={x0v:g})"),
                "expected_elbo", expected, x0=x0v, closed_form=expected)
        ctx.add(S.exact_check(f"closed form {expected:.6g} >= -log p(x0) = {nlp:.6g} (margin {margin:.4g}, x0={x0v:g})",
                              bool(margin >= -1e-9 * (1 + abs(nlp))), margin, alpha=ctx.alpha, tolerance=1e-9,
                              units="nats"), None, x0=x0v, margin=margin)
        ctx.add(S.z_test_mean(L, nlp, alpha=ctx.alpha, alternative="less",
                              name=f"one-sided: E L >= -log p(x0) (x0={x0v:g}, margin {margin:.4g})"),
                "bound", nlp, x0=x0v, neg_log_p0=nlp, margin=margin)
    # -log p(x0) itself, independently of the closed form: under the reverse model x0 ~ N(0, V0);
    # simulate it (exact chi-square test of V0) and require -log p(x0) = -log N(x0; 0, V0) for each x0
    v0 = _reverse_marginal_variance(a, s2)
    n_rev = REVERSE_ROWS * ctx.n  # one cheap 1-D chain: enough rows for a 1% MDE on V0 at the default budget
    x = ctx.normal(n_rev)
    for t in range(s.T, 0, -1):
        x = a[t - 1] * x + math.sqrt(s2[t - 1]) * ctx.normal(n_rev)
    ctx.add(S.chi2_test_variance(x, v0, alpha=ctx.alpha, mean=0.0,
                                 name=f"reverse model: Var(x0) = V0 = {v0:.6g} (x_T ~ N(0, 1) simulated down to x0)"),
            "likelihood", x0=None, term="V0")
    for x0v in X0_SMALL:
        nlp = closed_form(s, a, s2, x0v)[1]
        direct = 0.5 * (math.log(2 * math.pi * v0) + x0v ** 2 / v0)
        ctx.add(S.exact_check(f"-log p(x0) = -log N(x0; 0, V0) (x0={x0v:g}): {nlp:.9g} vs {direct:.9g}",
                              bool(abs(nlp - direct) <= 1e-9 * (1 + abs(direct))), nlp - direct,
                              alpha=ctx.alpha, tolerance=1e-9, units="nats"), None, x0=x0v)
    return (f"linear-Gaussian reverse model on {s.name}: per x0 z test of the MC ELBO against its closed form, "
            "exact closed form >= -log p(x0), one-sided z test MC mean >= -log p(x0); -log p(x0) itself from "
            "the simulated reverse model (exact chi-square test of Var(x0) = V0)")


def _reverse_marginal_variance(a, s2) -> float:
    """V0 = Var(x0) under p: V_T = 1, V_{t-1} = a_t^2 V_t + s_t^2."""
    v = 1.0
    for t in range(len(a), 0, -1):
        v = a[t - 1] ** 2 * v + s2[t - 1]
    return float(v)


def _kl_terms(s: Schedule, a, s2, x0: float, fwd, post):
    """Closed-form [L_T, L_{T-1}, ..., L_1, L_0] for fixed x_0, from the proved slots:
    L_T = KL(N(m_T, v_T) || N(0, 1)) = (m_T^2 + v_T - 1 - log v_T)/2 with m_T = mean_coef(T) x0, v_T = variance(T);
    L_{t-1} = E_{x_t|x_0} KL(N(b x0 + c x_t, w) || N(a_t x_t, s_t^2))
            = (log(s_t^2 / w) + w / s_t^2 - 1)/2 + [(b x0 + (c - a_t) m_t)^2 + (c - a_t)^2 v_t] / (2 s_t^2);
    L_0 = -E log p(x_0|x_1) = (log(2 pi s_1^2) + [(x0 - a_1 m_1)^2 + a_1^2 v_1] / s_1^2)/2."""
    T = s.T
    ts = np.arange(1, T + 1)
    mc, var = fwd["mean_coef"](s, ts) * x0, fwd["variance"](s, ts)
    out = [0.5 * (mc[-1] ** 2 + var[-1] - 1.0 - math.log(var[-1]))]
    for t in range(T, 1, -1):
        b, c, w = (float(post[k](s, t)) for k in ("coef_x0", "coef_xt", "variance"))
        at, st2, m_t, v_t = a[t - 1], s2[t - 1], mc[t - 1], var[t - 1]
        out.append(0.5 * (math.log(st2 / w) + w / st2 - 1.0)
                   + ((b * x0 + (c - at) * m_t) ** 2 + (c - at) ** 2 * v_t) / (2 * st2))
    out.append(0.5 * (math.log(2 * math.pi * s2[0]) + ((x0 - a[0] * mc[0]) ** 2 + a[0] ** 2 * var[0]) / s2[0]))
    return np.array(out)


def _check_elbo_decomposition(ctx: _Ctx, posterior_slots=None, kl_terms=None):
    import proofs
    from proofs.numeric import slot_function
    kl_terms = kl_terms or _kl_terms
    post_exprs = dict(proofs.IDENTITIES["posterior"].slots, **(posterior_slots or {}))
    post = {k: slot_function(v) for k, v in post_exprs.items()}
    fwd = {k: _proved("forward_marginal", k) for k in ("mean_coef", "variance")}
    s = _small_schedule(ctx.schedule)
    a, s2 = _reverse_model(s)
    T = s.T
    for g, x0v in enumerate(X0_SMALL):
        xs, log_q_steps = _elbo_samples(ctx, s, x0v, 10 + g)
        log_p_steps = _log_normal(xs[:-1], a[:, None] * xs[1:], s2[:, None])  # row t-1: log p(x_{t-1}|x_t)
        log_pT = _log_normal(xs[-1], 0.0, 1.0)
        lhs = log_q_steps.sum(axis=0) - log_pT - log_p_steps.sum(axis=0)
        with np.errstate(all="ignore"):
            terms = [_log_normal(xs[-1], fwd["mean_coef"](s, T) * x0v, fwd["variance"](s, T)) - log_pT]
            for t in range(T, 1, -1):
                mean = post["coef_x0"](s, t) * x0v + post["coef_xt"](s, t) * xs[t]
                terms.append(_log_normal(xs[t - 1], mean, post["variance"](s, t)) - log_p_steps[t - 1])
            terms.append(-log_p_steps[0])
        terms = np.array(terms)
        rhs = terms.sum(axis=0)
        scale = 1.0 + np.max(np.abs(terms))
        err = float(np.max(np.abs(lhs - rhs)) / scale) if np.all(np.isfinite(rhs)) else float("inf")
        ctx.add(S.exact_check(f"pointwise log q/p = L_T + sum L_(t-1) + L_0 (x0={x0v:g}, max rel err {err:.2g})",
                              err <= 1e-9, err, alpha=ctx.alpha, tolerance=1e-9, n=lhs.size, units="relative error"),
                None, x0=x0v)
        closed = kl_terms(s, a, s2, x0v, fwd, post)
        total = float(np.sum(closed))
        expected, _ = _elbo_closed_form(s, a, s2, x0v)
        gap = abs(total - expected) / (1 + abs(expected))
        ctx.add(S.exact_check(f"closed-form terms sum to the ELBO {expected:.6g} (x0={x0v:g})", gap <= 1e-9, gap,
                              alpha=ctx.alpha, tolerance=1e-9, units="relative error"), None, x0=x0v)
        labels = [f"L_{T}"] + [f"L_{t - 1}" for t in range(T, 1, -1)] + ["L_0"]
        for lab, term, value in zip(labels, terms, closed):
            if not np.all(np.isfinite(term)):
                ctx.add(S.exact_check(f"{lab} is not finite (x0={x0v:g})", False, float("nan"), alpha=ctx.alpha,
                                      tolerance=0.0), None, x0=x0v)
                continue
            ctx.add(S.z_test_mean(term, float(value), alpha=ctx.alpha,
                                  name=f"MC mean of {lab} = closed-form KL (x0={x0v:g})"),
                    "kl_terms", value, x0=x0v, term=lab, closed_form=float(value))
    return (f"linear-Gaussian reverse model on {s.name}: pointwise decomposition with the proved forward/posterior "
            "densities (deterministic), z tests of each term's MC mean against its closed-form KL")


# ----- eps loss --------------------------------------------------------------------------------
EPS_MODELS = ((0.0, 0.0), (0.5, 20.0), (-1.0, -40.0), (0.0, 60.0))  # eps_theta(x_t) = c x_t + b


def _check_eps_loss(ctx: _Ctx, d: int = 2):
    s = ctx.schedule
    short, long_ = _times(s.T, lo=2)
    post_var = _proved("posterior", "variance")
    A, E = _proved("posterior_eps", "coef_xt"), _proved("posterior_eps", "coef_eps")
    sigmas = {"sigma^2=beta": lambda k: np.sqrt(s.beta(k)),
              "sigma^2=posterior variance": lambda k: np.sqrt(post_var(s, k))}
    x0 = _rows(X0_SMALL, max(ctx.n // len(X0_SMALL), 5), d)
    n = x0.shape[0]
    for t in short + long_:
        m1, v1 = (float(u) for u in _forward(s, t - 1))
        m, v = (float(u) for u in _forward(s, t))
        xp = m1 * x0 + math.sqrt(v1) * ctx.normal(n, d)
        xt = math.sqrt(float(s.alpha(t))) * xp + math.sqrt(float(s.beta(t))) * ctx.normal(n, d)
        ctx.samples += n
        eps = (xt - m * x0) / math.sqrt(v)
        with np.errstate(all="ignore"):
            at, et = float(A(s, t)), float(E(s, t))
        if not (math.isfinite(at) and math.isfinite(et)):
            ctx.notes.append(f"t={t} skipped: the proved posterior_eps coefficients are not finite (alpha_t = 0)")
            continue
        eps_k = [c * xt + b for c, b in EPS_MODELS]
        sq = [np.sum((xp - (at * xt + et * ek)) ** 2, axis=1) for ek in eps_k]
        u = [np.sum((eps - ek) ** 2, axis=1) for ek in eps_k]
        for name, sig in sigmas.items():
            w = ctx.claim("weight", t, sigma=sig)
            if ctx.bad_claim("weight", w, t, sigma=name):
                continue
            w, sig2 = float(w), float(sig(t)) ** 2
            for k in range(1, len(EPS_MODELS)):
                du = u[k] - u[0]
                D = (sq[k] - sq[0]) / (2 * sig2) - w * du
                ctx.add(S.z_test_mean(D, 0.0, alpha=ctx.alpha,
                                      name=f"L(theta_{k}) - L(theta_0) = weight (E|eps-eps_{k}|^2 - "
                                           f"E|eps-eps_0|^2) (t={t}, {name})"),
                        "weight", w * float(np.mean(du)), t=t, sigma=name, model=k)
    return ("(x0, x_{t-1}, x_t) from the forward process, eps_theta_k = c_k x_t + b_k; z tests that the per-sample "
            "log-likelihood-ratio between models minus weight times the change of |eps - eps_theta|^2 has mean 0")


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


DSM_MODELS = ((0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 0.3), (0.5, -1.0, 0.2))
TEST_FUNCTIONS = {"1": np.ones_like, "x": lambda x: x, "x^2": lambda x: x * x, "tanh(x)": np.tanh}


def _check_dsm(ctx: _Ctx):
    n = ctx.n
    for sd in NOISE_STDS:
        x = _mixture(ctx, n)
        xt = x + sd * ctx.normal(n)
        ctx.samples += n
        target = ctx.claim("target", 1, x=x, x_tilde=xt, noise_std=sd)
        if ctx.bad_claim("target", target, None, noise_std=sd):
            continue
        score = _mixture_score(xt, var_add=sd ** 2)
        s = [th0 + th1 * xt + th2 * xt ** 2 for th0, th1, th2 in DSM_MODELS]
        e = [(sk - score) ** 2 - (sk - target) ** 2 for sk in s]
        for k in range(1, len(DSM_MODELS)):
            scale = 2 * float(np.mean((s[k] - s[0]) * score))  # d E[e_k - e_0] / d(relative error of the target)
            ctx.add(S.z_test_mean(e[k] - e[0], 0.0, alpha=ctx.alpha,
                                  name=f"J_ESM - J_DSM equal for theta_{k} and theta_0 (noise_std={sd:g})"),
                    "target", scale, noise_std=sd, model=k)
    return ("two-component Gaussian mixture data, exact score of q_sigma; polynomial score models with common random "
            "numbers; z tests that (ESM - DSM) integrands do not depend on theta")


def _check_tweedie(ctx: _Ctx):
    n = ctx.n
    for sd in NOISE_STDS:
        theta, k = _mixture(ctx, n, with_component=True)
        x = theta + sd * ctx.normal(n)
        ctx.samples += n
        # Rao-Blackwell within the component: E[theta | x, k] = mu_k + sd_k^2 (x - mu_k) / (sd_k^2 + noise_std^2)
        theta = MIX_MU[k] + MIX_SD[k] ** 2 * (x - MIX_MU[k]) / (MIX_SD[k] ** 2 + sd ** 2)
        coef = ctx.claim("coef", 1, noise_std=sd)
        if ctx.bad_claim("coef", coef, None, noise_std=sd):
            continue
        coef = float(coef)
        score = _mixture_score(x, var_add=sd ** 2)
        resid = theta - x - coef * score
        for gname, g in TEST_FUNCTIONS.items():
            gx = g(x)
            ctx.add(S.z_test_mean(resid * gx, 0.0, alpha=ctx.alpha,
                                  name=f"E[(theta - x - coef score) {gname}] = 0 (noise_std={sd:g})"),
                    "coef", coef * float(np.mean(score * gx)), noise_std=sd, g=gname)
    return ("theta from a Gaussian mixture, x = theta + noise_std z, exact score of p(x); z tests of the moment "
            "conditions E[(E[theta|x, k] - x - coef score(x)) g(x)] = 0 for g in 1, x, x^2, tanh "
            "(k: theta's component)")


def _check_score_eps(ctx: _Ctx):
    s = ctx.schedule
    short, long_ = _times(s.T)
    n = ctx.n
    for t in short + long_:
        m, v = (float(u) for u in _forward(s, t))
        eps = ctx.normal(n)
        x0, k = _mixture(ctx, n, with_component=True)
        xt = m * x0 + math.sqrt(v) * eps
        ctx.samples += n
        # Rao-Blackwell over x0 within its component: (x0, eps, x_t) | k is Gaussian, so
        # E[eps | x_t, k] = sqrt(v) (x_t - m mu_k) / (m^2 sd_k^2 + v); the tower rule keeps the moment condition
        eps = math.sqrt(v) * (xt - m * MIX_MU[k]) / (m * m * MIX_SD[k] ** 2 + v)
        coef = float(ctx.claim("coef", t))
        if ctx.bad_claim("coef", coef if coef != 0 else np.nan, t):
            continue
        score = _mixture_score(xt, mean_scale=m, var_scale=m * m, var_add=v)
        resid = eps - score / coef
        if m == 0.0:  # abar_t = 0 (zero terminal SNR): x_t = eps, the relation is deterministic
            err = float(np.max(np.abs(resid)))
            ctx.add(S.exact_check(f"abar_t = 0: eps - score / coef vanishes (max {err:.2g}, t={t})", err <= 1e-9, err,
                                  alpha=ctx.alpha, tolerance=1e-9, n=n), None, t=t)
            continue
        for gname, g in TEST_FUNCTIONS.items():
            gx = g(xt)
            ctx.add(S.z_test_mean(resid * gx, 0.0, alpha=ctx.alpha,
                                  name=f"E[(eps - score / coef) {gname}] = 0 (t={t})"),
                    "coef", float(np.mean(score * gx)) / coef, t=t, g=gname)
    return ("x0 from a Gaussian mixture, x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, exact score of p_t; z tests of "
            "E[(E[eps|x_t, k] - score(x_t)/coef) g(x_t)] = 0 for g in 1, x, x^2, tanh (k: x0's component)")


CHECKS = {
    "forward_marginal": _check_forward_marginal,
    "posterior": _check_posterior,
    "posterior_eps": _check_posterior_eps,
    "elbo_bound": _check_elbo_bound,
    "elbo_decomposition": _check_elbo_decomposition,
    "eps_loss": _check_eps_loss,
    "dsm": _check_dsm,
    "tweedie": _check_tweedie,
    "score_eps": _check_score_eps,
}


# ----- entry points ----------------------------------------------------------------------------
def _slot_functions(identity_id: str, claim) -> tuple[dict, dict]:
    import proofs
    from proofs.claims import _validate
    from proofs.numeric import slot_function

    if identity_id not in proofs.IDENTITIES:
        raise ValueError(f"unknown identity {identity_id!r}; known: {', '.join(proofs.IDENTITIES)}")
    if identity_id not in CHECKS:
        raise ValueError(f"identity {identity_id!r} has no Monte Carlo check yet; checks: {', '.join(CHECKS)}")
    slots = dict(proofs.IDENTITIES[identity_id].slots)
    claim = dict(claim or {})
    if claim and not slots:
        raise ValueError(f"identity {identity_id!r} has no claim slots, got a claim for {sorted(claim)}")
    unknown = [k for k in claim if k not in slots]
    if unknown:
        raise ValueError(f"unknown slot(s) {unknown} for {identity_id!r}; slots: {', '.join(slots)}")
    for k, expr in claim.items():
        slots[k] = _validate(identity_id, k, expr)
    proved = {k: slot_function(v) for k, v in proofs.IDENTITIES[identity_id].slots.items()}
    return {k: slot_function(v) for k, v in slots.items()}, proved, {k: str(v) for k, v in claim.items()}


def confirm(identity_id: str, schedule: Schedule | None = None, claim: dict | None = None, *, alpha: float = 1e-6,
            samples: int | None = None, seed: int = 0, device="cpu", _hooks: dict | None = None) -> MCVerdict:
    """Monte Carlo confirmation of one identity (see the module doc for each design).

    ``schedule``: a :class:`Schedule` (default ``Schedule.linear(1000)``). ``claim``: {slot: SymPy
    expression} replacing the proved slots. ``alpha``: family-wise false-alarm rate (Holm).
    ``samples``: Monte Carlo size of the main cells (default ``DEFAULT_SAMPLES[identity_id]``; long
    chains use samples // 10 rows per x_0). ``_hooks``: test hook, keyword arguments for the
    internal check of elbo_bound / elbo_decomposition (module doc). Raises ValueError on bad input."""
    start = time.perf_counter()
    slots, proved, claim_text = _slot_functions(identity_id, claim)
    schedule = Schedule.linear(1000) if schedule is None else schedule
    if not isinstance(schedule, Schedule):
        raise ValueError(f"schedule must be a montecarlo.schedules.Schedule, got {type(schedule).__name__}")
    alpha = S._check_alpha(alpha)
    n = DEFAULT_SAMPLES[identity_id] if samples is None else samples
    least = MIN_SAMPLES_ASYMPTOTIC if identity_id in ASYMPTOTIC else MIN_SAMPLES
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < least:
        why = " (its z tests are asymptotic: fewer samples would break the stated false-alarm rate)" \
            if identity_id in ASYMPTOTIC else ""
        raise ValueError(f"samples for {identity_id} must be an integer >= {least}{why}, got {samples!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    make_generator(0, 0, device)  # validates the device (ValueError naming it)
    ctx = _Ctx(identity_id, schedule, alpha, int(n), int(seed), device, slots, ORDER.index(identity_id), proved=proved)
    method = CHECKS[identity_id](ctx, **(_hooks or {}))
    if not ctx.tests:
        raise ValueError(f"{identity_id} has no test cell on {schedule!r} (eps_loss needs T >= 2)")
    family = S.holm(ctx.tests, alpha, name=identity_id)
    return MCVerdict(identity_id, family, ctx.tags, ctx.samples, time.perf_counter() - start,
                     repr(schedule), claim_text, method, ctx.notes)


def confirm_all(schedule: Schedule | None = None, *, alpha: float = 1e-6, seed: int = 0,
                device="cpu") -> list[MCVerdict]:
    """:func:`confirm` every identity of :data:`proofs.IDENTITIES` with its proved slots."""
    import proofs
    schedule = Schedule.linear(1000) if schedule is None else schedule
    return [confirm(i, schedule, alpha=alpha, seed=seed, device=device) for i in proofs.IDENTITIES]


__all__ = ["confirm", "confirm_all", "MCVerdict", "DEFAULT_SAMPLES", "CHECKS"]
