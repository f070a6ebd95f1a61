"""Monte Carlo confirmation of every identity in :data:`proofs.IDENTITIES`.

``confirm(identity_id, schedule=None, claim=None, *, alpha=1e-6, samples=None, seed=0, device="cpu")``
simulates the quantities an identity speaks about and tests the claimed coefficients against them.
The claimed coefficients are the claim slots of :func:`proofs.check_claim`: by default the
expressions the proofs proved, ``proofs.IDENTITIES[id].slots`` evaluated through
:func:`proofs.numeric.slot_function` (one source of truth); ``claim={slot: sympy expression}``
replaces some of them. Other closed forms a check needs (the forward marginal used to build x_t
from x_0, the posterior used by the ELBO decomposition) are likewise the *proved* slots of those
identities, never retyped.

Statistics. A verdict has two parts. Deterministic checks (pointwise identities to float precision,
claims that are not finite where they must be) are **gates**: any failure fails the verdict, and they
spend no alpha. The statistical sub-tests (see :mod:`montecarlo.stats`) form a Holm family at level
``alpha`` (default 1e-6): the verdict fails when the Holm p-value min(1, m p_min) is ``<= alpha``; the
raw smallest p ``p_min`` and the family size ``m`` are reported next to it. ``exact`` is True when
every sub-test's false-alarm rate is exact in finite samples (F, t, chi-square and correlation tests on
Gaussian data), False when some are asymptotic (z and Hotelling/Wald tests; their calibration at small
alpha is measured in tests/quality/test_calibration.py). One cell (a t, a noise_std, a (t, sigma) choice,
an ELBO term) gets one joint test where its moments are correlated: an F test of r on (1, x_t, x_0)
with follow-ups per coefficient that say which slot a rejection blames (``failed_slots``), or
Hotelling's T^2 over common-random-number moments with their estimated covariance.

Power. ``mde[slot]`` is the relative error of that claim slot, present at every probed cell, that the
check detects with probability >= 0.99 (the smallest over cells of the cell's MDE at level alpha / m);
``mde_cells[slot][cell]`` the same for an error confined to one cell and ``mde_worst[slot]`` the largest
over cells; inf where no test sees the slot; correlations are in ``mde_aux``. Rows are allocated to
cells by what each cell needs (Neyman allocation from closed-form design moments or a discarded pilot),
and variance is reduced where the conditional law is known: Rao-Blackwellisation (the last step of the
chain integrated out exactly in posterior_eps and the blame follow-ups of posterior; E[theta | x, k] and
E[eps | x_t, k] in tweedie / score_eps), antithetic draws (dsm). At the default budget every slot has
mde <= 1% and mde_worst <= 2% (tests/montecarlo/test_confirm.py).

Default schedule: ``Schedule.linear(1000)`` (Ho et al. 2020). Cells: t in {1, 2, 3, 10, T/10, T/2, T-1, T}
(those in range), x_0 in {0, 1, -3, 10, 1000} (posterior designs add 1e4), d > 1 with the covariance
tested. forward_marginal simulates the chain itself: short chains (t <= 10) carry ``samples`` rows per
x_0 in float64, long chains ``samples // 5`` rows per x_0 in float32.

Designs (n = ``samples``, default :data:`DEFAULT_SAMPLES`; each design module's docstring has the detail):

* forward_marginal: per t, OLS of r = x_t - mean_coef x_0 on (1, x_0) pooled over rows and coordinates:
  exact F test (t follow-ups), chi-square test of the residual sum of squares (n - 2 df) against the
  variance, within-x_0 correlation tests (covariance).
* posterior: x_{t-1} | x_0 from the proved forward marginal, x_t by one transition step (so a cell at
  t = T costs what t = 2 costs); per t >= 2 exact F test of r = x_{t-1} - coef_xt x_t - coef_x0 x_0 on
  (1, x_t, x_0) with Rao-Blackwellised z follow-ups, chi-square of the residual variance, covariance
  tests; t = 1 gates (a point mass).
* posterior_eps: same data; per t >= 2 the Rao-Blackwellised normal equations of r on (1, x_t, eps)
  (last step integrated out exactly), Hotelling/Wald test with z follow-ups; t = 1 gate.
* elbo_bound / elbo_decomposition: linear-Gaussian reverse model on the schedule respaced to 8 steps.
  elbo_bound: z tests of MC means against closed forms, one-sided bound test reported with its margin,
  exact chi-square of Var(x_0) under the reverse model. elbo_decomposition: per x_0 one joint Wald
  (Hotelling T^2) test of the per-term residuals (sampled term - closed-form KL) with their estimated
  common-random-number covariance, z follow-ups per term naming the wrong term (``elbo.blamed_terms``);
  a term with no variance is a gate. Pointwise decomposition and closed-form sums are gates. kl_terms
  MDEs are relative to max(|closed-form term|, 1 nat) (L_T is ~0 nats).
* eps_loss: per (t, sigma choice) Hotelling over the linearly independent models' log-likelihood-ratio
  moments (common random numbers).
* dsm: per noise_std Hotelling over the models x~, 0.3 x~^2, 0.5 - x~ + 0.2 x~^2 (the constant model,
  blind to a relative error of the target, is gone), antithetic pairs.
* tweedie / score_eps: per noise_std / t Hotelling over g in {x, x^2, tanh} (g = 1 is blind: E[score] = 0).

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
from .designs import dsm, elbo, eps_loss, forward_marginal, paths, posterior, tweedie
from .designs.base import (ASYMPTOTIC, DEFAULT_SAMPLES, MIN_SAMPLES_ASYMPTOTIC, STREAMS, MCVerdict, _Ctx,
                           min_samples)
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
    **paths.CHECKS,  # the Gaussian paths (issue 12)
}
#: Identities whose slots are not in the schedule's symbols get their own numeric bridge.
SLOT_FUNCTIONS = {i: paths.slot_function for i in paths.CHECKS}


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
    make = SLOT_FUNCTIONS.get(identity_id, slot_function)
    proved = {k: make(v) for k, v in proofs.IDENTITIES[identity_id].slots.items()}
    return {k: make(v) for k, v in slots.items()}, proved, {k: str(v) for k, v in claim.items()}


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
    least = min_samples(identity_id)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < least:
        why = " (its z tests are asymptotic: fewer samples would break the stated false-alarm rate)" \
            if identity_id in ASYMPTOTIC else ""
        raise ValueError(f"samples for {identity_id} must be an integer >= {least}{why}, got {samples!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    make_generator(0, 0, device)  # validates the device (ValueError naming it)
    ctx = _Ctx(identity_id, schedule, alpha, int(n), int(seed), device, slots, STREAMS[identity_id], proved=proved)
    method = CHECKS[identity_id](ctx, **(_hooks or {}))
    if not ctx.members and not ctx.gates:
        raise ValueError(f"{identity_id} has no test cell on {schedule!r} (eps_loss needs T >= 2)")
    family = S.holm(ctx.tests, alpha, name=identity_id) if ctx.members else None
    return MCVerdict(identity_id, family, ctx.members, ctx.gates, ctx.samples, time.perf_counter() - start,
                     repr(schedule), claim_text, method, ctx.notes, slots=tuple(proofs.IDENTITIES[identity_id].slots),
                     alpha=alpha)


def confirm_all(schedule: Schedule | None = None, *, alpha: float = 1e-6, seed: int = 0,
                device="cpu") -> list[MCVerdict]:
    """:func:`confirm` every identity of :data:`proofs.IDENTITIES` with its proved slots."""
    schedule = Schedule.linear(1000) if schedule is None else schedule
    return [confirm(i, schedule, alpha=alpha, seed=seed, device=device) for i in proofs.IDENTITIES]


__all__ = ["confirm", "confirm_all", "MCVerdict", "DEFAULT_SAMPLES", "CHECKS", "ASYMPTOTIC", "MIN_SAMPLES_ASYMPTOTIC",
           "min_samples"]
