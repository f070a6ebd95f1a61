"""Negative controls for the Gaussian-path identities (issue 12): x_t = a_t x_0 + s_t eps.

One hop away: the proofs are ``proofs/paths.py``, the Monte Carlo sampling designs
``montecarlo/designs/paths.py``; the right answers are in ``tests/proofs/test_paths.py``, the Monte
Carlo wrong claims (each of the kinds below also FAILS by simulation) in
``tests/montecarlo/test_paths_mc.py``.

The wrong answers are the ones people write: a flipped sign, a missing square root, a and s swapped,
a_{t|s} inverted, the flow-matching shift applied twice (diffusers issue #13243), the DDIM noise
coefficient s_s - sigma_s instead of sqrt(s_s^2 - sigma_s^2), the variance ratio instead of the std
ratio in the PF-ODE solution.

Monte Carlo power (issue 11, last section): every path slot off by 2%, everywhere or growing with the noise
level, is rejected by ``montecarlo.confirm`` (alpha = 1e-6, fixed seed) with that slot blamed first.
"""
import re

import pytest
import sympy as sp

from montecarlo import confirmation as C
from montecarlo.designs import paths as D
from montecarlo.designs.base import DEFAULT_SAMPLES
from proofs import paths as P
from proofs.paths import SYMBOLS

from ._controls import assert_claim_refuted, assert_instances_sensitive, assert_proof_fails_at, claim_id

a_t, s_t, a_s, s_s = (SYMBOLS[n] for n in ("a_t", "s_t", "a_s", "s_s"))
m, v, x_t, k, tau, sig = (SYMBOLS[n] for n in ("m", "v", "x_t", "k", "tau", "sigma_ddim"))
at, st, da, ds = (SYMBOLS[n] for n in ("a_tau", "s_tau", "da", "ds"))
sq = sp.sqrt
V_t, V_s = a_t ** 2 * v + s_t ** 2, a_s ** 2 * v + s_s ** 2
S2_TS = s_t ** 2 - (a_t / a_s) ** 2 * s_s ** 2
IDS = [i.id for i in P.IDENTITIES]

WRONG_CLAIMS = [
    ("path_conversions", "x0_coef_xt", "a for 1/a", a_t),
    ("path_conversions", "x0_coef_eps", "sign", s_t / a_t),
    ("path_conversions", "x0_coef_eps", "a <-> s swap", -a_t / s_t),
    ("path_conversions", "v_coef_eps", "a <-> s swap", s_t),
    ("path_conversions", "v_coef_x0", "sign", s_t),
    ("path_conversions", "x0_from_v_coef_xt", "a <-> s swap", s_t / (a_t ** 2 + s_t ** 2)),
    ("path_conversions", "x0_from_v_coef_v", "sign", s_t / (a_t ** 2 + s_t ** 2)),
    ("path_conversions", "eps_from_v_coef_xt", "a <-> s swap", a_t / (a_t ** 2 + s_t ** 2)),
    ("path_conversions", "eps_from_v_coef_v", "VP-only form (a^2 + s^2 = 1 assumed)", a_t),
    ("path_score", "cond_score_coef_eps", "sign", 1 / s_t),
    ("path_score", "cond_score_coef_eps", "variance for std", -1 / s_t ** 2),
    ("path_score", "score_coef_eps", "inverted", -s_t),
    ("path_score", "tweedie_coef", "missing square", s_t),
    ("path_score", "tweedie_coef", "a <-> s swap", a_t ** 2),
    ("path_velocity", "u_coef_x0", "sign", -da),
    ("path_velocity", "u_coef_eps", "a' for s'", da),
    ("path_velocity", "u_coef_xt", "a <-> s swap", ds / st),
    ("path_velocity", "u_coef_eps_hat", "sign of the correction", ds + da * st / at),
    ("path_pf_ode", "drift", "missing 1/a", da),
    ("path_pf_ode", "diffusion2", "missing -2 (a'/a) s^2 (VE only)", 2 * st * ds),
    ("path_transition", "mean_coef", "inverted", a_s / a_t),
    ("path_transition", "variance", "missing square on a_{t|s}", s_t ** 2 - a_t / a_s * s_s ** 2),
    ("path_transition", "variance", "VE form (no a_{t|s})", s_t ** 2 - s_s ** 2),
    ("path_posterior", "coef_xt", "a <-> s swap", (s_t / s_s) * a_s ** 2 / a_t ** 2),
    ("path_posterior", "coef_x0", "a_t for a_s", a_t * S2_TS / s_t ** 2),
    ("path_posterior", "variance", "missing square", S2_TS * s_s / s_t),
    ("ddim_marginal", "coef_x0", "a_t for a_s", a_t),
    ("ddim_exact", "coef_xt", "a <-> s swap", a_s / a_t),
    ("ddim_exact", "coef_x0", "a <-> s swap", s_s - a_s * a_t / s_t),
    ("path_reparam", "ve_scale", "1/s for 1/a", 1 / s_t),
    ("path_reparam", "ve_sigma", "inverted (that is e^lambda)", a_t / s_t),
    ("path_reparam", "flow_scale", "product for sum", 1 / (a_t * s_t)),
    ("path_reparam", "flow_tau", "a <-> s swap", a_t / (a_t + s_t)),
    ("path_reparam", "shift", "shift applied twice (diffusers #13243)", k ** 2 * tau / (1 + (k ** 2 - 1) * tau)),
    ("path_reparam", "shift", "shift on sigma = tau/(1 - tau) read as tau", k * tau),
    ("path_gaussian_data", "denoiser", "sign", m - a_t * v * (x_t - a_t * m) / V_t),
    ("path_gaussian_data", "denoiser", "a <-> s swap", m + s_t * v * (x_t - a_t * m) / (s_t ** 2 * v + a_t ** 2)),
    ("path_gaussian_data", "posterior_variance", "missing square", v * s_t / V_t),
    ("path_gaussian_data", "score", "sign", (x_t - a_t * m) / V_t),
    ("path_gaussian_data", "pf_ode_solution", "missing sqrt", a_s * m + V_s / V_t * (x_t - a_t * m)),
    ("path_gaussian_data", "pf_ode_solution", "DDIM step as the exact solution (v = 0)", a_s * m + s_s / s_t * (x_t - a_t * m)),
]

#: Wrong DDIM noise coefficients. The slot sqrt(s_s^2 - sigma_s^2) is real only for sigma_s <= s_s, a domain the
#: claim checker does not know (sigma_ddim is only declared positive): its counterexample may lie at sigma_s > s_s.
#: These are checked REFUTED, and separately shown wrong at a point inside the domain (sigma_s = s_s / 2).
DDIM_DOMAIN_CLAIMS = [
    ("ddim_marginal", "coef_eps", "missing sqrt", s_s - sig),
    ("ddim_marginal", "coef_eps", "sign of sigma^2", sq(s_s ** 2 + sig ** 2)),
]

#: (identity, slot, wrong expression, the derivation that must fail, a phrase of its failing step)
WRONG_SLOTS = [
    ("path_conversions", "x0_coef_xt", a_t, "x_0 = (x_t - s_t eps)/a_t", "the path"),
    ("path_conversions", "x0_coef_eps", s_t / a_t, "x_0 = (x_t - s_t eps)/a_t", "the path"),
    ("path_conversions", "v_coef_eps", s_t, "x_0 from (x_t, v), v = a_t eps - s_t x_0 (Salimans & Ho 2022; general path)",
     "v = v_coef_eps eps"),
    ("path_conversions", "v_coef_x0", s_t, "x_0 from (x_t, v), v = a_t eps - s_t x_0 (Salimans & Ho 2022; general path)",
     "v = v_coef_eps eps"),
    ("path_conversions", "x0_from_v_coef_xt", s_t / (a_t ** 2 + s_t ** 2),
     "x_0 from (x_t, v), v = a_t eps - s_t x_0 (Salimans & Ho 2022; general path)", "v = v_coef_eps eps"),
    ("path_conversions", "x0_from_v_coef_v", s_t / (a_t ** 2 + s_t ** 2),
     "x_0 from (x_t, v), v = a_t eps - s_t x_0 (Salimans & Ho 2022; general path)", "v = v_coef_eps eps"),
    ("path_conversions", "eps_from_v_coef_xt", a_t / (a_t ** 2 + s_t ** 2), "eps from (x_t, v)", "the path and v"),
    ("path_conversions", "eps_from_v_coef_v", a_t, "eps from (x_t, v)", "the path and v"),
    ("path_score", "cond_score_coef_eps", 1 / s_t, "grad_{x_t} log q(x_t|x_0) = -eps/s_t", "the slot"),
    ("path_score", "score_coef_eps", -s_t, "grad log p_t(x_t) = -E[eps|x_t]/s_t", "E[.|x_t] is linear"),
    ("path_score", "tweedie_coef", s_t,
     "the slot: E[x_0|x_t] = (x_t + tweedie_coef score)/a_t, score = grad log p_t(x_t)", "Tweedie for the path"),
    ("path_velocity", "u_coef_x0", -da, "u = d/dtau (a x_0 + s eps) = a' x_0 + s' eps", "the slots"),
    ("path_velocity", "u_coef_eps", da, "u = d/dtau (a x_0 + s eps) = a' x_0 + s' eps", "the slots"),
    ("path_velocity", "u_coef_xt", ds / st, "u = (a'/a) x_tau + (s' - a' s/a) eps", "x_tau = a x_0 + s eps"),
    ("path_velocity", "u_coef_eps_hat", ds + da * st / at, "u = (a'/a) x_tau + (s' - a' s/a) eps", "x_tau = a x_0 + s eps"),
    ("path_pf_ode", "drift", da, "the SDE dx = f x dtau + g dW has mean a x_0: m' = f m", "the slot drift"),
    ("path_pf_ode", "diffusion2", 2 * st * ds, "... and variance s^2: V' = 2 f V + g^2 (linear SDE moment equation)",
     "the slot diffusion2"),
    ("path_transition", "mean_coef", a_s / a_t,
     "x_t = a_{t|s} x_s + s_{t|s} eps' composes to q(x_t|x_0) = N(a_t x_0, s_t^2) (MGF)", "a_{t|s} a_s = a_t"),
    ("path_transition", "variance", s_t ** 2 - a_t / a_s * s_s ** 2,
     "x_t = a_{t|s} x_s + s_{t|s} eps' composes to q(x_t|x_0) = N(a_t x_0, s_t^2) (MGF)", "a_{t|s} a_s = a_t"),
    ("path_posterior", "coef_x0", a_t * S2_TS / s_t ** 2, "q(x_s|x_t, x_0) is Gaussian (Bayes, completing the square)",
     "(the slots)"),
    ("path_posterior", "coef_xt", (s_t / s_s) * a_s ** 2 / a_t ** 2,
     "q(x_s|x_t, x_0) is Gaussian (Bayes, completing the square)", "(the slots)"),
    ("path_posterior", "variance", S2_TS * s_s / s_t, "q(x_s|x_t, x_0) is Gaussian (Bayes, completing the square)",
     "(the slots)"),
    ("ddim_marginal", "coef_x0", a_t, "E[x_s|x_0] = a_s x_0 for every sigma_s", "Gaussian moments"),
    ("ddim_marginal", "coef_eps", s_s - sig, "Var[x_s|x_0] = s_s^2 for every sigma_s", "E[eps^2]"),
    ("ddim_exact", "coef_xt", a_s / a_t, "... it passes through x_t at time t and lands on DDIM eta = 0 at time s",
     "the slots coef_xt, coef_x0"),
    ("ddim_exact", "coef_x0", s_s - a_s * a_t / s_t,
     "... it passes through x_t at time t and lands on DDIM eta = 0 at time s", "the slots coef_xt, coef_x0"),
    ("path_reparam", "ve_scale", 1 / s_t, "VP -> VE: x_t/a_t = x_0 + sigma eps, sigma = s_t/a_t", "the slots"),
    ("path_reparam", "ve_sigma", a_t / s_t, "VP -> VE: x_t/a_t = x_0 + sigma eps, sigma = s_t/a_t", "the slots"),
    ("path_reparam", "flow_scale", 1 / (a_t * s_t),
     "VP -> flow: x_t/(a_t + s_t) = (1 - tau) x_0 + tau eps, tau = s_t/(a_t + s_t)", "a/(a + s)"),
    ("path_reparam", "flow_tau", a_t / (a_t + s_t),
     "VP -> flow: x_t/(a_t + s_t) = (1 - tau) x_0 + tau eps, tau = s_t/(a_t + s_t)", "a/(a + s)"),
    ("path_reparam", "shift", k ** 2 * tau / (1 + (k ** 2 - 1) * tau),
     "the shift is a change of time: e^{lambda(shift(tau))} = e^{lambda(tau)}/k", "lambda' = lambda - log k"),
    ("path_gaussian_data", "denoiser", m - a_t * v * (x_t - a_t * m) / V_t,
     "x_0 | x_t ~ N(denoiser, posterior_variance) for x_0 ~ N(m, v)", "complete the square"),
    ("path_gaussian_data", "posterior_variance", v * s_t / V_t,
     "x_0 | x_t ~ N(denoiser, posterior_variance) for x_0 ~ N(m, v)", "complete the square"),
    ("path_gaussian_data", "score", (x_t - a_t * m) / V_t, "score = d/dx_t log p_t(x_t)", "differentiate"),
    ("path_gaussian_data", "pf_ode_solution", a_s * m + V_s / V_t * (x_t - a_t * m),
     "X(tau) = a m + sqrt(V(tau)/V(t)) (x_t - a_t m) solves dX/dtau = f X - g^2/2 score(X, tau)", "the PF-ODE"),
]


@pytest.mark.parametrize("identity_id,slot,kind,expr", WRONG_CLAIMS, ids=[claim_id(w) for w in WRONG_CLAIMS])
def test_wrong_claim_is_refuted_with_a_real_counterexample(identity_id, slot, kind, expr):
    assert_claim_refuted(identity_id, slot, expr)


@pytest.mark.parametrize("identity_id,slot,wrong,derivation,reason", WRONG_SLOTS,
                         ids=[f"{w[0]}.{w[1]}" for w in WRONG_SLOTS])
def test_proof_fails_at_the_step_using_a_wrong_slot(monkeypatch, identity_id, slot, wrong, derivation, reason):
    assert_proof_fails_at(monkeypatch, identity_id, slot, wrong, derivation, reason)


@pytest.mark.parametrize("identity_id,slot,kind,expr", DDIM_DOMAIN_CLAIMS, ids=[claim_id(w) for w in DDIM_DOMAIN_CLAIMS])
def test_wrong_ddim_noise_coefficient_is_refuted_and_wrong_inside_the_domain(identity_id, slot, kind, expr):
    from proofs import Verdict, check_claim
    v = check_claim(identity_id, **{slot: expr})
    assert not v.holds and v.verdict is Verdict.REFUTED and v.counterexample
    point = {s_s: sp.Rational(7, 10), sig: sp.Rational(7, 20)}  # sigma_s = s_s / 2: inside [0, s_s]
    proved = P.SLOTS_DDIM[slot].xreplace(point)
    assert proved.is_real and abs(float(expr.xreplace(point) - proved)) > 1e-3


def test_every_path_slot_is_broken_once():
    slots = {(i.id, s) for i in P.IDENTITIES for s in i.slots}
    assert {(w[0], w[1]) for w in WRONG_SLOTS} == slots
    assert {(w[0], w[1]) for w in WRONG_CLAIMS + DDIM_DOMAIN_CLAIMS} == slots


@pytest.mark.parametrize("identity_id", IDS)
def test_instances_are_sensitive(identity_id):
    assert_instances_sensitive(identity_id)


def test_ddim_lemma_with_a_missing_sqrt_is_refuted_in_the_inductive_step(monkeypatch):
    """Lemma 1 by induction: with s_n - sigma_n for sqrt(s_n^2 - sigma_n^2) the inductive step fails."""
    from proofs import Verdict
    monkeypatch.setitem(P.SLOTS_DDIM, "coef_eps", s_s - sig)  # the induction reads the slot through _ddim_update
    r = next(i for i in P.IDENTITIES if i.id == "ddim_marginal").check()
    step = [d for d in r.derivations if "inductive step" in d.title][0]
    assert step.verdict is Verdict.REFUTED and step.failing.counterexample


# ----- Monte Carlo power (issue 11): every path slot off by 2% is caught and blamed ------------------------
# Shapes (DELTA = 2%): (1 + DELTA) everywhere, and (1 + DELTA w) with w = s/(a + s) in (0, 1), the noise level
# of the slot's own time (s_t/(a_t + s_t); s_tau/(a_tau + s_tau) for the slots in a(tau), s(tau); s_s/(a_s + s_s)
# for the DDIM step's target; tau for the shift): an error that vanishes at low noise and is ~DELTA at high noise.
# Each case first shows, from the true claim's verdict at the same budget and seed, that some cell resolves the
# error the shape puts there with power >= 0.99 (its MDE <= DELTA w at that cell), then asserts that the wrong
# claim FAILS with that slot named first in failed_slots.
DELTA = sp.Rational(2, 100)
W_T, W_S = s_t / (a_t + s_t), s_s / (a_s + s_s)
W_TAU = st / (at + st)
NOISE_WEIGHT = {"path_velocity": W_TAU, "path_pf_ode": W_TAU, "ddim_marginal": W_S}
#: slots whose 2% needs (most of) the full budget: chi-square tests of a variance, and the denoiser of Gaussian data
VARIANCE_SLOTS = {("path_pf_ode", "diffusion2"), ("path_transition", "variance"), ("path_posterior", "variance"),
                  ("ddim_marginal", "coef_eps"), ("path_reparam", "ve_sigma"), ("path_reparam", "flow_tau"),
                  ("path_gaussian_data", "posterior_variance"), ("path_gaussian_data", "denoiser")}
MC_CASES = [(i.id, slot, shape) for i in P.IDENTITIES for slot in i.slots for shape in ("const", "noise")]
_TRUTH: dict = {}


def _weight(identity, slot):
    if slot == "shift":
        return tau
    return NOISE_WEIGHT.get(identity, W_T)


def _budget(identity, slot, shape):
    """The full budget only for the shaped error of a variance slot (its high-noise cells must resolve ~2%
    alone); a quarter of it for the constant error (the pooled test resolves it); a tenth for the other slots."""
    n = DEFAULT_SAMPLES[identity]
    if (identity, slot) not in VARIANCE_SLOTS:
        return max(n // 10, 1000)
    return n if shape == "noise" else n // 4


def _truth(identity, samples):
    if (identity, samples) not in _TRUTH:
        _TRUTH[(identity, samples)] = C.confirm(identity, samples=samples, seed=11)
    return _TRUTH[(identity, samples)]


def _w_at(path, u):
    a, s = D._ab(path, u)
    return s / (a + s)


def _cell_weight(identity, slot, label):
    """The noise weight w of the shape at a cell, from its label (None where the label names no concrete
    path time: the discrete VP cells and the pooled tests are not used to certify the shaped error)."""
    text = label[2:] if label.startswith("t=") else label
    if slot == "shift":
        return 0.99  # the gate reads 99 taus up to 0.99, where the shaped error is 0.99 DELTA
    m = re.match(r"(\w+) eta=[\d.]+ step (\d+)$", text)
    if identity == "ddim_marginal" and m:
        taus = D.DDIM_TAUS.get(m.group(1))
        return _w_at(m.group(1), taus[int(m.group(2))]) if taus else None
    m = re.match(r"(\w+) (?:tau=)?([\d.e+-]+)(?:->([\d.e+-]+))?(?:,|$)", text)
    if not m or m.group(1) not in P.PATHS:
        return None
    ts, tt = float(m.group(2)), float(m.group(3)) if m.group(3) else None
    if identity == "path_pf_ode":  # the slot varies over [ts, tt]; its shaped error is at least DELTA w(ts)
        return _w_at(m.group(1), ts)
    return _w_at(m.group(1), tt if tt is not None else ts)


@pytest.mark.parametrize("identity,slot,shape", MC_CASES, ids=[f"{i}.{k}-{sh}" for i, k, sh in MC_CASES])
def test_two_percent_error_of_every_path_slot_is_caught_and_blamed(identity, slot, shape):
    samples = _budget(identity, slot, shape)
    truth = _truth(identity, samples)
    assert truth.passed, truth.summary()
    cells = truth.mde_cells[slot]
    d = float(DELTA)
    if shape == "const":
        effective = {c: d for c in cells}
    else:
        effective = {c: d * w for c in cells if (w := _cell_weight(identity, slot, c)) is not None}
        assert effective, (identity, slot, list(cells))
    assert any(cells[c] <= effective[c] for c in effective), ({c: cells[c] for c in effective}, effective)
    proved = next(i for i in P.IDENTITIES if i.id == identity).slots[slot]
    factor = 1 + DELTA * (1 if shape == "const" else _weight(identity, slot))
    v = C.confirm(identity, claim={slot: proved * factor}, samples=samples, seed=12)
    assert not v.passed, v.summary()
    assert v.failed_slots and v.failed_slots[0] == slot, (v.failed_slots, v.summary())


def test_every_path_slot_has_two_power_cases():
    slots = {(i.id, k) for i in P.IDENTITIES for k in i.slots}
    assert {(i, k) for i, k, _ in MC_CASES} == slots and len(MC_CASES) == 2 * len(slots)
    assert VARIANCE_SLOTS <= slots
