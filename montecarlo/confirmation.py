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

import time

import numpy as np

import proofs
from proofs.claims import _validate
from proofs.numeric import slot_function

from . import stats as S
from .designs import dsm, elbo, eps_loss, forward_marginal, posterior, tweedie
from .designs.base import ASYMPTOTIC, DEFAULT_SAMPLES, MIN_SAMPLES, MIN_SAMPLES_ASYMPTOTIC, STREAMS, MCVerdict, _Ctx
from .kernel import make_generator
from .schedules import Schedule

CHECKS = {
    "forward_marginal": forward_marginal._check_forward_marginal,
    "posterior": posterior._check_posterior,
    "posterior_eps": posterior._check_posterior_eps,
    "elbo_bound": elbo._check_elbo_bound,
    "elbo_decomposition": elbo._check_elbo_decomposition,
    "eps_loss": eps_loss._check_eps_loss,
    "dsm": dsm._check_dsm,
    "tweedie": tweedie._check_tweedie,
    "score_eps": tweedie._check_score_eps,
}


# ----- entry points ----------------------------------------------------------------------------
def _slot_functions(identity_id: str, claim) -> tuple[dict, dict]:
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
    ctx = _Ctx(identity_id, schedule, alpha, int(n), int(seed), device, slots, STREAMS[identity_id], proved=proved)
    method = CHECKS[identity_id](ctx, **(_hooks or {}))
    if not ctx.tests:
        raise ValueError(f"{identity_id} has no test cell on {schedule!r} (eps_loss needs T >= 2)")
    family = S.holm(ctx.tests, alpha, name=identity_id)
    return MCVerdict(identity_id, family, ctx.tags, ctx.samples, time.perf_counter() - start,
                     repr(schedule), claim_text, method, ctx.notes)


def confirm_all(schedule: Schedule | None = None, *, alpha: float = 1e-6, seed: int = 0,
                device="cpu") -> list[MCVerdict]:
    """:func:`confirm` every identity of :data:`proofs.IDENTITIES` with its proved slots."""
    schedule = Schedule.linear(1000) if schedule is None else schedule
    return [confirm(i, schedule, alpha=alpha, seed=seed, device=device) for i in proofs.IDENTITIES]


__all__ = ["confirm", "confirm_all", "MCVerdict", "DEFAULT_SAMPLES", "CHECKS", "ASYMPTOTIC", "MIN_SAMPLES_ASYMPTOTIC"]
