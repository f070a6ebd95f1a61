"""Gaussian paths - the theory behind every sampler (issue 12, part 1).

A *Gaussian path* is x_t = a_t x_0 + s_t eps, eps ~ N(0, I), with a, s > 0 functions of a
continuous time. It covers

* VP (DDPM/DDIM):        a = sqrt(abar),  s = sqrt(1 - abar);
* VE (k-diffusion, EDM): a = 1,           s = sigma;
* rectified flow (SD3, Flux): a = 1 - tau, s = tau.

Every identity below is proved for a *general* path: a_t, s_t, a_s, s_s are positive symbols (the
values of the path at two times s < t) and, where derivatives are needed, a(tau), s(tau) are
arbitrary positive functions (``sp.Function``) with their ``Derivative``. Closed-form instances
check the VP, VE and flow cases. One coordinate is written; isotropic covariances factor over
coordinates.

Symbols (``SYMBOLS``; the closed forms below use exactly these):

====================  =====================================================================
``a_t, s_t``          the path at the current time t (positive)
``a_s, s_s``          the path at the target time s (positive; s < t when sampling)
``x_t, x_s``          the sample at t and at s (real)
``x_0, eps, z``       data, the path's noise, fresh noise of a stochastic step (real)
``m, v``              Gaussian data N(m, v) per coordinate (m real, v > 0)
``x0_hat, eps_hat``   a model's data and noise predictions at (x_t, t) (real)
``score``             grad log p_t(x_t), the marginal score at x_t (real)
``sigma_ddim``        the DDIM noise std sigma_s in [0, s_s] (positive; eta = 0 is sigma -> 0)
``tau``               continuous time; ``a(tau)``, ``s(tau)`` general positive functions
``a_tau, s_tau``      a(tau), s(tau) at one time tau (positive); ``da, ds`` their derivatives (real)
``k``                 the flow-matching shift (positive)
====================  =====================================================================

Closed forms for Gaussian data x_0 ~ N(m, v) (proved in ``path_gaussian_data``):

* ``GAUSSIAN_DENOISER`` = E[x_0 | x_t] = m + a_t v (x_t - a_t m) / (a_t^2 v + s_t^2);
* ``GAUSSIAN_SCORE`` = grad log p_t(x_t) = -(x_t - a_t m) / (a_t^2 v + s_t^2);
* ``PF_ODE_GAUSSIAN_SOLUTION`` = the exact solution at time s of the probability-flow ODE started
  at x_t at time t: a_s m + sqrt((a_s^2 v + s_s^2) / (a_t^2 v + s_t^2)) (x_t - a_t m)
  (for any s, t: the flow keeps the standardised value (x - a m)/sqrt(a^2 v + s^2)).

Sources: Ho et al. 2020 (DDPM); Song et al. 2021, "Denoising diffusion implicit models", lemma 1
and eq. 12; Song et al. 2021, "Score-based generative modeling through SDEs" (probability-flow
ODE); Salimans & Ho 2022 ("Progressive distillation", v-prediction); Kingma et al. 2021
("Variational diffusion models", a_{t|s}, s_{t|s}); Lu et al. 2022 (DPM-Solver, DPM-Solver++);
Karras et al. 2022 ("Elucidating the design space", sigma = s/a, x/a); Lipman et al. 2023 and
Liu et al. 2023 (flow matching, rectified flow); Esser et al. 2024 (SD3, the shift
tau -> k tau/(1 + (k - 1) tau)).
"""
from __future__ import annotations

import sympy as sp

from .engine import Derivation, GaussianExpectation, Induction, InstanceCheck, Step
from .gaussian import normal_pdf
from .identity import Identity
from .symbols import abar, alpha, beta, t as t_step
from .symbols import eps as eps_shared, x_0 as x_0_shared, x_t as x_t_shared

# ----- symbols ---------------------------------------------------------------------------------
a_t, s_t, a_s, s_s = (sp.Symbol(n, positive=True) for n in ("a_t", "s_t", "a_s", "s_s"))
x_s, z = sp.Symbol("x_s", real=True), sp.Symbol("z", real=True)
x0, x_t, eps = x_0_shared, x_t_shared, eps_shared     # the package's own x_0, x_t, epsilon (proofs.symbols)
m, v = sp.Symbol("m", real=True), sp.Symbol("v", positive=True)
x0_hat, eps_hat = sp.Symbol("x0_hat", real=True), sp.Symbol("eps_hat", real=True)
score = sp.Symbol("score", real=True)
sigma_ddim = sp.Symbol("sigma_ddim", positive=True)
tau = sp.Symbol("tau", positive=True)
k_shift = sp.Symbol("k", positive=True)
a_fn, s_fn = sp.Function("a", positive=True), sp.Function("s", positive=True)
A, S = a_fn(tau), s_fn(tau)
dA, dS = sp.Derivative(A, tau), sp.Derivative(S, tau)
#: the path and its derivatives at one time tau, as symbols (the slots of path_velocity, path_pf_ode)
a_tau, s_tau = sp.Symbol("a_tau", positive=True), sp.Symbol("s_tau", positive=True)
da, ds = sp.Symbol("da", real=True), sp.Symbol("ds", real=True)
#: names for the values of a(tau), s(tau) and their derivatives (derivatives first: xreplace is top-down)
FUNCTION_VALUES = {dA: da, dS: ds, A: a_tau, S: s_tau}
X = sp.Function("X", real=True)          # a trajectory x(tau) of an ODE
# internal: the transition's own parameters a_{t|s}, s_{t|s} > 0 (a general SNR-decreasing pair)
a_ts, s_ts = sp.Symbol("a_{t|s}", positive=True), sp.Symbol("s_{t|s}", positive=True)
u_sym = sp.Symbol("u", real=True)           # mgf argument

SYMBOLS: dict[str, sp.Basic] = {
    "a_t": a_t, "s_t": s_t, "a_s": a_s, "s_s": s_s, "x_t": x_t, "x_s": x_s, "x_0": x0, "eps": eps, "z": z,
    "m": m, "v": v, "x0_hat": x0_hat, "eps_hat": eps_hat, "score": score, "sigma_ddim": sigma_ddim,
    "tau": tau, "k": k_shift, "a": a_fn, "s": s_fn, "a_tau": a_tau, "s_tau": s_tau, "da": da, "ds": ds,
}

#: a_{t|s} and s_{t|s}^2 in the path's values (Kingma et al. 2021)
A_TS = a_t / a_s
S2_TS = s_t ** 2 - (a_t / a_s) ** 2 * s_s ** 2
#: an SNR-decreasing pair (s < t) written with a_{t|s}, s_{t|s} > 0: covers every such pair
TRANSITION_PARAMETRISATION = {a_t: a_ts * a_s, s_t: sp.sqrt(a_ts ** 2 * s_s ** 2 + s_ts ** 2)}

GAUSSIAN_MARGINAL_VARIANCE = a_t ** 2 * v + s_t ** 2
GAUSSIAN_DENOISER = m + a_t * v * (x_t - a_t * m) / (a_t ** 2 * v + s_t ** 2)
GAUSSIAN_SCORE = -(x_t - a_t * m) / (a_t ** 2 * v + s_t ** 2)
GAUSSIAN_POSTERIOR_VARIANCE = v * s_t ** 2 / (a_t ** 2 * v + s_t ** 2)
PF_ODE_GAUSSIAN_SOLUTION = a_s * m + sp.sqrt((a_s ** 2 * v + s_s ** 2) / (a_t ** 2 * v + s_t ** 2)) * (x_t - a_t * m)

# drift and diffusion of the path's SDE dx = f x dtau + g dW, and its probability-flow ODE
DRIFT = dA / A
DIFFUSION2 = sp.Derivative(S ** 2, tau) - 2 * dA / A * S ** 2


def pf_ode_velocity(x, score_value):
    """The probability-flow ODE of the path: dx/dtau = f x - g^2/2 grad log p (Song et al. 2021)."""
    return DRIFT * x - DIFFUSION2 / 2 * score_value


VP = {a_t: sp.sqrt(abar[t_step]), s_t: sp.sqrt(1 - abar[t_step]),
      a_s: sp.sqrt(abar[t_step - 1]), s_s: sp.sqrt(1 - abar[t_step - 1])}


_PATH = {x_t: a_t * x0 + s_t * eps}


# ===== 1. conversions between eps, x_0, v ======================================================
SLOTS_CONV = {
    "x0_coef_xt": 1 / a_t,                        # x_0 = x0_coef_xt x_t + x0_coef_eps eps
    "x0_coef_eps": -s_t / a_t,
    "v_coef_eps": a_t,                            # v = v_coef_eps eps + v_coef_x0 x_0
    "v_coef_x0": -s_t,
    "x0_from_v_coef_xt": a_t / (a_t ** 2 + s_t ** 2),    # x_0 = . x_t + . v
    "x0_from_v_coef_v": -s_t / (a_t ** 2 + s_t ** 2),
    "eps_from_v_coef_xt": s_t / (a_t ** 2 + s_t ** 2),   # eps = . x_t + . v
    "eps_from_v_coef_v": a_t / (a_t ** 2 + s_t ** 2),
}


def conversions_proof() -> list[Derivation]:
    """Each conversion is substituted back into the path x_t = a_t x_0 + s_t eps."""
    c = SLOTS_CONV
    vel = c["v_coef_eps"] * eps + c["v_coef_x0"] * x0
    v_sym = sp.Symbol("v_pred", real=True)
    return [
        Derivation("x_0 = (x_t - s_t eps)/a_t", [
            Step(c["x0_coef_xt"] * x_t + c["x0_coef_eps"] * eps, "the slots x0_coef_xt, x0_coef_eps"),
            Step((a_t * x0 + s_t * eps) / a_t - s_t / a_t * eps, "the path x_t = a_t x_0 + s_t eps", given=_PATH),
            Step(x0, "cancel")], assumptions="a_t, s_t > 0"),
        Derivation("x_0 from (x_t, v), v = a_t eps - s_t x_0 (Salimans & Ho 2022; general path)", [
            Step(c["x0_from_v_coef_xt"] * x_t + c["x0_from_v_coef_v"] * v_sym, "the slots x0_from_v_*"),
            Step((a_t * (a_t * x0 + s_t * eps) - s_t * (a_t * eps - s_t * x0)) / (a_t ** 2 + s_t ** 2),
                 "the path and v = v_coef_eps eps + v_coef_x0 x_0", given={**_PATH, v_sym: vel}),
            Step((a_t ** 2 + s_t ** 2) * x0 / (a_t ** 2 + s_t ** 2), "the eps terms cancel"),
            Step(x0, "cancel a_t^2 + s_t^2 (= 1 on VP paths: x_0 = a_t x_t - s_t v)")], assumptions="a_t, s_t > 0"),
        Derivation("eps from (x_t, v)", [
            Step(c["eps_from_v_coef_xt"] * x_t + c["eps_from_v_coef_v"] * v_sym, "the slots eps_from_v_*"),
            Step((s_t * (a_t * x0 + s_t * eps) + a_t * (a_t * eps - s_t * x0)) / (a_t ** 2 + s_t ** 2),
                 "the path and v = a_t eps - s_t x_0", given={**_PATH, v_sym: vel}),
            Step(eps, "the x_0 terms cancel; (s_t^2 + a_t^2)/(a_t^2 + s_t^2) = 1")], assumptions="a_t, s_t > 0"),
    ]


def conversions_instances() -> list[InstanceCheck]:
    vp = {a_t: sp.sqrt(abar[t_step]), s_t: sp.sqrt(1 - abar[t_step])}
    return [
        InstanceCheck("VP: x_0 = sqrt(abar_t) x_t - sqrt(1 - abar_t) v (Salimans & Ho)",
                      lambda: (SLOTS_CONV["x0_from_v_coef_xt"].xreplace(vp) - SLOTS_CONV["x0_from_v_coef_v"].xreplace(vp),
                               sp.sqrt(abar[t_step]) + sp.sqrt(1 - abar[t_step]))),
        InstanceCheck("rectified flow tau = 1/3: x_0 = (x_t - tau eps)/(1 - tau) at x_t = 1, eps = 2",
                      lambda: ((SLOTS_CONV["x0_coef_xt"] + 2 * SLOTS_CONV["x0_coef_eps"]).xreplace(
                          {a_t: sp.Rational(2, 3), s_t: sp.Rational(1, 3)}), (1 - sp.Rational(2, 3)) / sp.Rational(2, 3))),
    ]


# ===== 2. scores and Tweedie for the path ========================================================
SLOTS_SCORE = {
    "cond_score_coef_eps": -1 / s_t,      # grad_{x_t} log q(x_t|x_0) = coef eps
    "score_coef_eps": -1 / s_t,           # grad log p_t(x_t) = coef E[eps|x_t]
    "tweedie_coef": s_t ** 2,             # E[x_0|x_t] = (x_t + tweedie_coef grad log p_t(x_t)) / a_t
}

_prior = sp.Function("p_data")       # any data density p(x_0)
_marg = sp.Function("p_t")           # p_t(x_t) = int N(x_t; a_t x_0, s_t^2) p(x_0) dx_0
_cond_x0 = sp.Symbol("E_x0_given_xt", real=True)
_cond_eps = sp.Symbol("E_eps_given_xt", real=True)


def score_proof() -> list[Derivation]:
    lik = normal_pdf(x_t, a_t * x0, s_t ** 2)
    integral = lambda f: sp.Integral(f, (x0, -sp.oo, sp.oo))  # noqa: E731
    p_x = integral(lik * _prior(x0))
    cond = Derivation("grad_{x_t} log q(x_t|x_0) = -eps/s_t", [
        Step(sp.Derivative(sp.log(lik), x_t), "the conditional score of N(x_t; a_t x_0, s_t^2)"),
        Step(-(x_t - a_t * x0) / s_t ** 2, "differentiate the Gaussian log density"),
        Step(-eps / s_t, "x_t - a_t x_0 = s_t eps (the path)", given=_PATH),
        Step(SLOTS_SCORE["cond_score_coef_eps"] * eps, "the slot cond_score_coef_eps")], assumptions="s_t > 0")
    tweedie = Derivation("Tweedie for the path: E[x_0|x_t] = (x_t + s_t^2 grad log p_t(x_t))/a_t", [
        Step(integral(x0 * lik * _prior(x0)) / p_x, "Bayes: E[x_0|x_t] = int x_0 q(x_t|x_0) p(x_0) dx_0 / p_t(x_t)"),
        Step((x_t * p_x + s_t ** 2 * integral(sp.Derivative(lik, x_t) * _prior(x0))) / (a_t * p_x),
             "a_t x_0 N(x_t; a_t x_0, s_t^2) = x_t N + s_t^2 dN/dx_t; linearity of the integral"),
        Step((x_t + s_t ** 2 * sp.Derivative(p_x, x_t) / p_x) / a_t,
             "differentiate under the integral sign (Gaussian tails: dominated convergence)"),
        Step((x_t + s_t ** 2 * sp.Derivative(sp.log(p_x), x_t)) / a_t, "p'/p = (log p)'"),
        Step((x_t + s_t ** 2 * sp.Derivative(sp.log(_marg(x_t)), x_t)) / a_t,
             "p_t is the marginal of x_t", given={p_x: _marg(x_t)})],
        assumptions="a_t, s_t > 0; p(x_0) a density with finite first moment (differentiation under the integral)",
        hypotheses=("leibniz", "fubini"))
    slot = Derivation("the slot: E[x_0|x_t] = (x_t + tweedie_coef score)/a_t, score = grad log p_t(x_t)", [
        Step((x_t + SLOTS_SCORE["tweedie_coef"] * score) / a_t, "the claimed form"),
        Step(_cond_x0, "Tweedie for the path (above)", given={_cond_x0: (x_t + s_t ** 2 * score) / a_t})],
        assumptions="a_t, s_t > 0")
    marginal = Derivation("grad log p_t(x_t) = -E[eps|x_t]/s_t", [
        Step(SLOTS_SCORE["score_coef_eps"] * _cond_eps, "the claimed relation score = coef E[eps|x_t]"),
        Step(-(x_t - a_t * _cond_x0) / s_t ** 2, "eps = (x_t - a_t x_0)/s_t and E[.|x_t] is linear"),
        Step(-(x_t - (x_t + s_t ** 2 * score)) / s_t ** 2, "Tweedie for the path (above)",
             given={_cond_x0: (x_t + s_t ** 2 * score) / a_t}),
        Step(score, "cancel x_t: the marginal score")],
        given={_cond_eps: (x_t - a_t * _cond_x0) / s_t}, assumptions="a_t, s_t > 0")
    return [cond, tweedie, slot, marginal]


def score_instances() -> list[InstanceCheck]:
    def gaussian():
        p = normal_pdf(x_t, a_t * m, a_t ** 2 * v + s_t ** 2)
        return sp.cancel(GAUSSIAN_DENOISER), sp.cancel((x_t + s_t ** 2 * sp.diff(sp.log(p), x_t)) / a_t)

    def mixture():  # two components, VE sigma = 1/2 (a = 1)
        at, st = sp.Integer(1), sp.Rational(1, 2)
        comps = [(sp.Rational(1, 3), sp.Integer(-2), sp.Rational(1, 2)), (sp.Rational(2, 3), sp.Integer(1), sp.Rational(3, 2))]
        dens = [w * normal_pdf(x_t, at * mu, at ** 2 * vv + st ** 2) for w, mu, vv in comps]
        means = [mu + at * vv * (x_t - at * mu) / (at ** 2 * vv + st ** 2) for _, mu, vv in comps]
        p = sp.Add(*dens)
        lhs = sp.Add(*[d * mu for d, mu in zip(dens, means)])
        return sp.expand(lhs), sp.expand((x_t * p + st ** 2 * sp.diff(p, x_t)) / at)

    return [InstanceCheck("Gaussian data N(m, v), general a_t, s_t: E[x_0|x_t] = (x_t + s_t^2 (log p_t)')/a_t", gaussian),
            InstanceCheck("two-component mixture data, VE sigma = 1/2: Tweedie times p_t", mixture)]


# ===== 3. flow velocity and the probability-flow ODE =================================================
# The slots speak about one time tau through the values a = a(tau), s = s(tau) and the derivatives
# da = a'(tau), ds = s'(tau) (symbols, so that a wrong claim has a certified counterexample); the
# proofs differentiate the general functions a(tau), s(tau) and then name these values (FUNCTION_VALUES).
SLOTS_VELOCITY = {
    "u_coef_x0": da,                      # u = d x_tau / d tau = a' x_0 + s' eps
    "u_coef_eps": ds,
    "u_coef_xt": da / a_tau,              # u = (a'/a) x_tau + (s' - a' s/a) eps
    "u_coef_eps_hat": ds - da * s_tau / a_tau,
}
SLOTS_PF_ODE = {
    "drift": DRIFT.xreplace(FUNCTION_VALUES),            # f = a'/a
    "diffusion2": 2 * s_tau * ds - 2 * da / a_tau * s_tau ** 2,   # g^2 = (s^2)' - 2 (a'/a) s^2
}

_xtau = A * x0 + S * eps
_cond_eps_tau = sp.Symbol("E_eps_given_x", real=True)
_score_tau = sp.Symbol("score_tau", real=True)
_x = sp.Symbol("x", real=True)


def velocity_proof() -> list[Derivation]:
    c = SLOTS_VELOCITY
    return [
        Derivation("u = d/dtau (a x_0 + s eps) = a' x_0 + s' eps", [
            Step(sp.Derivative(_xtau, tau), "the path at time tau, x_0 and eps fixed"),
            Step(dA * x0 + dS * eps, "differentiate (linearity)"),
            Step(c["u_coef_x0"] * x0 + c["u_coef_eps"] * eps, "the slots, with a'(tau) = da, s'(tau) = ds",
                 given=FUNCTION_VALUES)],
            assumptions="a, s differentiable, a, s > 0"),
        Derivation("u = (a'/a) x_tau + (s' - a' s/a) eps", [
            Step(c["u_coef_xt"] * _x + c["u_coef_eps_hat"] * eps, "the slots u_coef_xt, u_coef_eps_hat"),
            Step(da / a_tau * (a_tau * x0 + s_tau * eps) + (ds - da * s_tau / a_tau) * eps, "x_tau = a x_0 + s eps",
                 given={_x: a_tau * x0 + s_tau * eps}),
            Step(da * x0 + ds * eps, "the a' s/a eps terms cancel: u = a' x_0 + s' eps (above)")],
            assumptions="a, s > 0 at tau"),
    ]


def pf_ode_proof() -> list[Derivation]:
    f, g2 = SLOTS_PF_ODE["drift"], SLOTS_PF_ODE["diffusion2"]
    return [
        Derivation("the SDE dx = f x dtau + g dW has mean a x_0: m' = f m", [
            Step(sp.Derivative(A * x0, tau), "d/dtau E[x_tau|x_0] for the path"),
            Step(dA * x0, "differentiate"),
            Step(f * a_tau * x0, "f = a'/a (the slot drift)", given=FUNCTION_VALUES)],
            assumptions="a differentiable, a > 0"),
        Derivation("... and variance s^2: V' = 2 f V + g^2 (linear SDE moment equation)", [
            Step(sp.Derivative(S ** 2, tau), "d/dtau Var[x_tau|x_0] for the path"),
            Step(2 * S * dS, "differentiate"),
            Step(2 * f * s_tau ** 2 + g2, "2 (a'/a) s^2 + (s^2)' - 2 (a'/a) s^2 (the slot diffusion2)",
                 given=FUNCTION_VALUES)],
            assumptions="a, s differentiable, a, s > 0; Ito: Var' = 2 f Var + g^2 for dx = f x dtau + g dW"),
        Derivation("the PF-ODE drift f x - g^2/2 grad log p is the flow-matching velocity E[u|x_tau]", [
            Step(f * _x - g2 / 2 * _score_tau, "the probability-flow ODE (Song et al. 2021, eq. 13)"),
            Step(da / a_tau * _x + (ds - da * s_tau / a_tau) * (-s_tau * _score_tau),
                 "g^2/2 = s s' - (a'/a) s^2 = s (s' - a' s/a)"),
            Step(SLOTS_VELOCITY["u_coef_xt"] * _x + SLOTS_VELOCITY["u_coef_eps_hat"] * _cond_eps_tau,
                 "E[eps|x_tau] = -s grad log p_tau (identity path_score)", given={_cond_eps_tau: -s_tau * _score_tau})],
            assumptions="a, s > 0 at tau; u as in path_velocity, E[.|x_tau] linear"),
    ]


def on_path(expr, a_of_tau, s_of_tau):
    """``expr`` (in a_tau, s_tau, da, ds or a(tau), s(tau)) on the concrete path a = a_of_tau, s = s_of_tau
    (``sp.Lambda`` of tau), derivatives evaluated."""
    a_e, s_e = a_of_tau(tau), s_of_tau(tau)
    expr = expr.xreplace({da: sp.diff(a_e, tau), ds: sp.diff(s_e, tau), a_tau: a_e, s_tau: s_e})
    return expr.subs({a_fn: a_of_tau, s_fn: s_of_tau}).doit()


def _path_instances() -> tuple[list[InstanceCheck], list[InstanceCheck]]:
    """(velocity instances, PF-ODE instances) on concrete paths."""
    def flow():
        c = {k: on_path(e, sp.Lambda(tau, 1 - tau), sp.Lambda(tau, tau)) for k, e in SLOTS_VELOCITY.items()}
        return c["u_coef_x0"] * x0 + c["u_coef_eps"] * eps, eps - x0

    def ve():  # EDM: sigma = tau
        f, g2 = (on_path(SLOTS_PF_ODE[k], sp.Lambda(tau, sp.Integer(1)), sp.Lambda(tau, tau)) for k in ("drift", "diffusion2"))
        return f * x0 + g2 * eps, 2 * tau * eps

    def vp():  # VP with abar(tau) = exp(-tau) (constant beta = 1): f = -1/2, g^2 = 1
        f, g2 = (on_path(SLOTS_PF_ODE[k], sp.Lambda(tau, sp.exp(-tau / 2)), sp.Lambda(tau, sp.sqrt(1 - sp.exp(-tau))))
                 for k in ("drift", "diffusion2"))
        return f * x0 + g2 * eps, -x0 / 2 + eps

    def ve_velocity():  # VE sigma(tau) = tau^2: u = 2 tau eps
        c = {k_: on_path(e, sp.Lambda(tau, sp.Integer(1)), sp.Lambda(tau, tau ** 2)) for k_, e in SLOTS_VELOCITY.items()}
        return c["u_coef_x0"] * x0 + c["u_coef_eps"] * eps, 2 * tau * eps

    return [InstanceCheck("rectified flow a = 1 - tau, s = tau: u = eps - x_0", flow),
            InstanceCheck("VE sigma = tau^2: u = 2 tau eps", ve_velocity)], \
        [InstanceCheck("VE (EDM) sigma = tau: f = 0, g^2 = 2 tau", ve),
         InstanceCheck("VP beta(tau) = 1, abar = exp(-tau): f = -1/2, g^2 = beta = 1", vp)]


# ===== 4. the transition q(x_t|x_s) and the posterior q(x_s|x_t, x_0) ===================================
SLOTS_TRANSITION = {
    "mean_coef": A_TS,                     # a_{t|s} = a_t/a_s
    "variance": S2_TS,                     # s_{t|s}^2 = s_t^2 - a_{t|s}^2 s_s^2
}
SLOTS_POSTERIOR = {
    "coef_x0": a_s * S2_TS / s_t ** 2,
    "coef_xt": A_TS * s_s ** 2 / s_t ** 2,
    "variance": S2_TS * s_s ** 2 / s_t ** 2,
}


def transition_proof() -> list[Derivation]:
    c = SLOTS_TRANSITION
    mgf_s = lambda arg: sp.exp(arg * a_s * x0 + s_s ** 2 * arg ** 2 / 2)  # noqa: E731  MGF of x_s|x_0
    return [
        Derivation("x_t = a_{t|s} x_s + s_{t|s} eps' composes to q(x_t|x_0) = N(a_t x_0, s_t^2) (MGF)", [
            Step(mgf_s(c["mean_coef"] * u_sym) * sp.exp(c["variance"] * u_sym ** 2 / 2),
                 "M_{x_t|x_0}(u) = M_{x_s|x_0}(a_{t|s} u) M_{eps'}(s_{t|s} u), eps' independent of x_s"),
            Step(sp.exp(u_sym * a_t * x0 + s_t ** 2 * u_sym ** 2 / 2),
                 "a_{t|s} a_s = a_t; a_{t|s}^2 s_s^2 + s_{t|s}^2 = s_t^2")],
            log_domain=True, assumptions="a, s > 0; s_{t|s}^2 > 0, i.e. a_t/s_t < a_s/s_s (the SNR decreases)"),
        Derivation("VP one step: a_{t|t-1} = sqrt(alpha_t)", [
            Step(c["mean_coef"].xreplace(VP), "the slot at a = sqrt(abar), s = sqrt(1 - abar), s = t - 1"),
            Step(sp.sqrt(alpha[t_step]), "abar_t = abar_{t-1} alpha_t")]),
        Derivation("VP one step: s_{t|t-1}^2 = beta_t", [
            Step(c["variance"].xreplace(VP), "the slot at a = sqrt(abar), s = sqrt(1 - abar), s = t - 1"),
            Step(1 - abar[t_step] - alpha[t_step] * (1 - abar[t_step - 1]), "abar_t/abar_{t-1} = alpha_t"),
            Step(beta[t_step], "1 - alpha_t = beta_t")]),
    ]


def transition_instances() -> list[InstanceCheck]:
    def ve():  # VE sigma_s = 1/2 -> sigma_t = 2: a_{t|s} = 1, s_{t|s}^2 = 4 - 1/4
        sub = {a_t: 1, a_s: 1, s_t: 2, s_s: sp.Rational(1, 2)}
        c = SLOTS_TRANSITION
        return c["mean_coef"].xreplace(sub) * x_s + c["variance"].xreplace(sub), x_s + sp.Rational(15, 4)

    def flow():  # rectified flow tau_s = 1/4 -> tau_t = 1/2: a_{t|s} = 2/3, s_{t|s}^2 = 1/4 - (4/9)(1/16) = 2/9
        sub = {a_t: sp.Rational(1, 2), s_t: sp.Rational(1, 2), a_s: sp.Rational(3, 4), s_s: sp.Rational(1, 4)}
        c = SLOTS_TRANSITION
        return c["mean_coef"].xreplace(sub) * x_s + c["variance"].xreplace(sub), sp.Rational(2, 3) * x_s + sp.Rational(2, 9)

    return [InstanceCheck("VE sigma 1/2 -> 2: q(x_t|x_s) = N(x_s, 15/4)", ve),
            InstanceCheck("rectified flow tau 1/4 -> 1/2: q(x_t|x_s) = N(2/3 x_s, 2/9)", flow)]


def _bayes_ratio():
    return (normal_pdf(x_t, A_TS * x_s, S2_TS) * normal_pdf(x_s, a_s * x0, s_s ** 2)
            / normal_pdf(x_t, a_t * x0, s_t ** 2))


def posterior_path_proof() -> list[Derivation]:
    from .posterior import SLOTS as SEED_POSTERIOR
    c = SLOTS_POSTERIOR
    precision = A_TS ** 2 / S2_TS + 1 / s_s ** 2
    linear = A_TS / S2_TS * x_t + a_s / s_s ** 2 * x0
    par = lambda e: e.xreplace(TRANSITION_PARAMETRISATION)  # noqa: E731  (a change of variables, no premise)
    bayes = Derivation(
        "q(x_s|x_t, x_0) is Gaussian (Bayes, completing the square)",
        [Step(par(_bayes_ratio()), "Bayes and Markov: q(x_t|x_s) q(x_s|x_0) / q(x_t|x_0)"),
         Step(par(normal_pdf(x_s, linear / precision, 1 / precision)),
              "complete the square in x_s: precision a_{t|s}^2/s_{t|s}^2 + 1/s_s^2"),
         Step(par(normal_pdf(x_s, c["coef_x0"] * x0 + c["coef_xt"] * x_t, c["variance"])),
              "1/precision = s_{t|s}^2 s_s^2 / s_t^2 (the slots)")],
        log_domain=True,
        assumptions="a_t = a_{t|s} a_s, s_t^2 = a_{t|s}^2 s_s^2 + s_{t|s}^2 with a_{t|s}, s_{t|s} > 0 "
                    "(every pair s < t whose SNR decreases)")
    reductions = [
        Derivation(f"VP one step (s = t - 1): {name} reduces to the seed's posterior {name}", [
            Step(c[name].xreplace(VP), f"the slot {name} at a = sqrt(abar), s = sqrt(1 - abar)"),
            Step(SEED_POSTERIOR[name], f"the seed's posterior.{name} (identity `posterior`)")])
        for name in ("coef_x0", "coef_xt", "variance")]
    return [bayes, *reductions]


def posterior_path_instances() -> list[InstanceCheck]:
    def ve():  # VE sigma_s = 1/2, sigma_t = 1: coef_xt = 1/4, coef_x0 = 3/4, var = 3/16
        sub = {a_t: 1, a_s: 1, s_t: 1, s_s: sp.Rational(1, 2)}
        mean = SLOTS_POSTERIOR["coef_x0"] * x0 + SLOTS_POSTERIOR["coef_xt"] * x_t + SLOTS_POSTERIOR["variance"] * z
        return mean.xreplace(sub), sp.Rational(3, 4) * x0 + sp.Rational(1, 4) * x_t + sp.Rational(3, 16) * z

    def flow_density():  # rectified flow tau_s = 1/4, tau_t = 1/2, x_0 = 1, x_t = 1/3: log densities agree
        sub = {a_t: sp.Rational(1, 2), s_t: sp.Rational(1, 2), a_s: sp.Rational(3, 4), s_s: sp.Rational(1, 4),
               x0: 1, x_t: sp.Rational(1, 3)}
        lhs = _bayes_ratio().xreplace(sub)
        c = {k_: e.xreplace(sub) for k_, e in SLOTS_POSTERIOR.items()}
        rhs = normal_pdf(x_s, c["coef_x0"] + c["coef_xt"] * sp.Rational(1, 3), c["variance"])
        return (sp.expand(sp.expand_log(sp.log(lhs), force=True)), sp.expand(sp.expand_log(sp.log(rhs), force=True)))

    return [InstanceCheck("VE sigma_s = 1/2, sigma_t = 1: (coef_x0, coef_xt, variance) = (3/4, 1/4, 3/16)", ve),
            InstanceCheck("rectified flow tau_s = 1/4, tau_t = 1/2: Bayes ratio = N(posterior)", flow_density)]


# ===== 5. the DDIM family (Song et al. 2021, lemma 1) ===============================================
SLOTS_DDIM = {
    "coef_x0": a_s,                                       # x_s = coef_x0 x0_hat + coef_eps eps_hat + sigma z
    "coef_eps": sp.sqrt(s_s ** 2 - sigma_ddim ** 2),
}
#: sigma_s(eta) = eta * sqrt(posterior variance): eta = 1 is the posterior, eta = 0 the ODE
DDIM_SIGMA_ETA1 = sp.sqrt(SLOTS_POSTERIOR["variance"])

_A, _S, _SIG = sp.IndexedBase("a_n"), sp.IndexedBase("s_n"), sp.IndexedBase("sigma_n")
_n = sp.Symbol("n", integer=True, positive=True)


def _ddim_update(x_prev, a_prev, s_prev, a_next, s_next, sig):
    """One DDIM step from (a_prev, s_prev) to (a_next, s_next) with the inference distribution's
    x_0 and eps = (x_prev - a_prev x_0)/s_prev (Song et al. 2021, eq. 7 / 12)."""
    return (SLOTS_DDIM["coef_x0"].xreplace({a_s: a_next}) * x0
            + SLOTS_DDIM["coef_eps"].xreplace({s_s: s_next, sigma_ddim: sig}) * (x_prev - a_prev * x0) / s_prev
            + sig * z)


def ddim_proof() -> list[Derivation]:
    x_new = _ddim_update(x_t, a_t, s_t, a_s, s_s, sigma_ddim)
    inner = lambda f: GaussianExpectation(GaussianExpectation(f, z, 0, 1), x_t, a_t * x0, s_t ** 2)  # noqa: E731
    mean = Derivation("E[x_s|x_0] = a_s x_0 for every sigma_s", [
        Step(inner(x_new), "x_t ~ q(x_t|x_0) = N(a_t x_0, s_t^2), z ~ N(0, 1) independent"),
        Step(a_s * x0, "Gaussian moments")], assumptions="0 < sigma_s < s_s; a, s > 0")
    var = Derivation("Var[x_s|x_0] = s_s^2 for every sigma_s", [
        Step(inner((x_new - a_s * x0) ** 2), "second central moment"),
        Step((s_s ** 2 - sigma_ddim ** 2) + sigma_ddim ** 2, "(s_s^2 - sigma^2) E[eps^2] + sigma^2 E[z^2]"),
        Step(s_s ** 2, "cancel")], assumptions="0 < sigma_s < s_s; a, s > 0")
    # lemma 1 by induction over the sampling steps n = 0, 1, 2, ... (times decreasing), MGF of x_n | x_0
    mgf = lambda n_: sp.exp(u_sym * _A[n_] * x0 + _S[n_] ** 2 * u_sym ** 2 / 2)  # noqa: E731
    c = lambda n_: SLOTS_DDIM["coef_eps"].xreplace({s_s: _S[n_], sigma_ddim: _SIG[n_]}) / _S[n_ - 1]  # noqa: E731
    cx = lambda n_: SLOTS_DDIM["coef_x0"].xreplace({a_s: _A[n_]})  # noqa: E731

    def recurrence(prev, n_):
        # x_n = a_n x_0 + c_n (x_{n-1} - a_{n-1} x_0) + sigma_n z: M_n(u) = e^{u (a_n - c_n a_{n-1}) x_0} M_{n-1}(c_n u) e^{sigma_n^2 u^2/2}
        return (sp.exp(u_sym * (cx(n_) - c(n_) * _A[n_ - 1]) * x0) * prev.xreplace({u_sym: c(n_) * u_sym})
                * sp.exp(_SIG[n_] ** 2 * u_sym ** 2 / 2))

    lemma = Induction("lemma 1: every DDIM iterate has the marginal q(x_n|x_0) = N(a_n x_0, s_n^2)", _n,
                      closed=mgf(_n), recurrence=recurrence, initial=mgf(0), base=0,
                      options={"log_domain": True,
                               "assumptions": "x_{n=0} = x_T ~ q(x_T|x_0); a_n, s_n > 0, 0 <= sigma_n <= s_n"})
    par = lambda e: e.xreplace(TRANSITION_PARAMETRISATION)  # noqa: E731  (a change of variables, no premise)
    eta1 = Derivation("eta = 1 (sigma_s^2 = posterior variance) is the posterior q(x_s|x_t, x_0): mean", [
        Step(par(_ddim_update(x_t, a_t, s_t, a_s, s_s, DDIM_SIGMA_ETA1).xreplace({z: 0})),
             "the DDIM mean with sigma_s = sqrt(posterior variance)"),
        Step(par(SLOTS_POSTERIOR["coef_x0"] * x0 + SLOTS_POSTERIOR["coef_xt"] * x_t),
             "sqrt(s_s^2 - sigma_s^2) = a_{t|s} s_s^2/s_t (identity path_posterior)")],
        assumptions="s < t with a decreasing SNR: a_t = a_{t|s} a_s, s_t^2 = a_{t|s}^2 s_s^2 + s_{t|s}^2 "
                    "(a_{t|s}, s_{t|s} > 0)")
    return [mean, var, *lemma.derivations(), eta1]


def ddim_instances() -> list[InstanceCheck]:
    def vp_eta():
        # Song et al.'s sigma_t(eta=1) = sqrt((1 - abar_{t-1})/(1 - abar_t)) sqrt(1 - abar_t/abar_{t-1})
        ab_t, ab_s = sp.Rational(1, 2), sp.Rational(4, 5)
        sub = {a_t: sp.sqrt(ab_t), s_t: sp.sqrt(1 - ab_t), a_s: sp.sqrt(ab_s), s_s: sp.sqrt(1 - ab_s)}
        return DDIM_SIGMA_ETA1.xreplace(sub) ** 2, ((1 - ab_s) / (1 - ab_t)) * (1 - ab_t / ab_s)

    def flow_moments():
        sub = {a_t: sp.Rational(1, 3), s_t: sp.Rational(2, 3), a_s: sp.Rational(3, 4), s_s: sp.Rational(1, 4),
               sigma_ddim: sp.Rational(1, 5)}
        x_new = _ddim_update(x_t, a_t, s_t, a_s, s_s, sigma_ddim).xreplace(sub)
        inner = GaussianExpectation((x_new - sp.Rational(3, 4) * x0) ** 2, z, 0, 1).evaluate()
        var = GaussianExpectation(inner, x_t, sp.Rational(1, 3) * x0, sp.Rational(4, 9)).evaluate()
        return sp.expand(var), sp.Rational(1, 16)

    return [InstanceCheck("VP abar = 1/2 -> 4/5: eta = 1 is Song et al.'s sigma_t(1)", vp_eta),
            InstanceCheck("rectified flow tau 2/3 -> 1/4, sigma_s = 1/5: Var[x_s|x_0] = tau_s^2", flow_moments)]


# ===== 6. exact solutions: DDIM eta = 0, DPM-Solver(++)-1, Euler in sigma, flow Euler ====================
SLOTS_DDIM0 = {
    "coef_xt": s_s / s_t,                                 # x_s = coef_xt x_t + coef_x0 x0_hat
    "coef_x0": a_s - s_s * a_t / s_t,
}
_h = sp.log(a_s / s_s) - sp.log(a_t / s_t)              # h = lambda_s - lambda_t, lambda = log(a/s)


def ddim0_proof() -> list[Derivation]:
    c = SLOTS_DDIM0
    ddim0 = c["coef_xt"] * x_t + c["coef_x0"] * x0_hat
    eps_of_x0 = {eps_hat: (x_t - a_t * x0_hat) / s_t}
    X_tau = X(tau)
    # the PF-ODE with the data prediction held fixed: grad log p = (a D - x)/s^2 (Tweedie, path_score)
    ode_rhs = pf_ode_velocity(X_tau, (A * x0_hat - X_tau) / S ** 2)
    candidate = A * x0_hat + S * (x_t - a_t * x0_hat) / s_t
    return [
        Derivation("the PF-ODE with x0_hat fixed, in data-prediction form: dx/dtau = (s'/s) x + (a' - a s'/s) x0_hat", [
            Step(ode_rhs, "f x - g^2/2 grad log p, with grad log p = (a x0_hat - x)/s^2 (Tweedie for the path)"),
            Step(dS / S * X_tau + (dA - A * dS / S) * x0_hat, "g^2/(2 s^2) = s'/s - a'/a")],
            assumptions="a, s differentiable and positive"),
        Derivation("x(tau) = a(tau) x0_hat + s(tau) eps_hat solves it (exact solution, x0_hat fixed)", [
            Step(sp.Derivative(candidate, tau), "differentiate the candidate"),
            Step(dS / S * candidate + (dA - A * dS / S) * x0_hat, "the ODE's right side at x = the candidate")],
            assumptions="a, s differentiable and positive; unique solution of a linear ODE (Picard-Lindelof)"),
        Derivation("... it passes through x_t at time t and lands on DDIM eta = 0 at time s", [
            Step(candidate.xreplace({A: a_s, S: s_s}), "the solution at time s (a(s) = a_s, s(s) = s_s)"),
            Step(ddim0, "the slots coef_xt, coef_x0 (DDIM, Song et al. 2021 eq. 12 with sigma = 0)"),
            Step(a_s * x0_hat + s_s * eps_hat, "eps_hat = (x_t - a_t x0_hat)/s_t", given=eps_of_x0)]),
        Derivation("... and equals x_t at time t", [
            Step(candidate.xreplace({A: a_t, S: s_t}), "the solution at time t"),
            Step(x_t, "cancel")]),
        Derivation("in the log-SNR lambda = log(a/s): d(x/s)/dlambda = e^lambda x0_hat (DPM-Solver++, Lu et al. 2022b)", [
            Step(sp.Derivative(X_tau / S, tau) / sp.Derivative(sp.log(A / S), tau),
                 "chain rule: d(x/s)/dlambda = (d(x/s)/dtau)/(dlambda/dtau)"),
            Step(A / S * x0_hat, "the PF-ODE with x0_hat fixed (above); e^lambda = a/s",
                 given={sp.Derivative(X_tau, tau): dS / S * X_tau + (dA - A * dS / S) * x0_hat})],
            assumptions="a, s differentiable and positive, lambda strictly monotone"),
        Derivation("... so x/s gains x0_hat (e^{lambda_s} - e^{lambda_t}) from t to s: that is DDIM eta = 0", [
            Step((c["coef_xt"] * x_t + c["coef_x0"] * x0_hat) / s_s - x_t / s_t, "x_s/s_s - x_t/s_t for the slots"),
            Step(x0_hat * (a_s / s_s - a_t / s_t), "int_{lambda_t}^{lambda_s} e^lambda x0_hat dlambda, e^lambda = a/s")]),
        Derivation("DPM-Solver++ first order (Lu et al. 2022b): (s_s/s_t) x_t - a_s (e^{-h} - 1) x0_hat = DDIM", [
            Step(s_s / s_t * x_t - a_s * (sp.exp(-_h) - 1) * x0_hat, "h = lambda_s - lambda_t, lambda = log(a/s)"),
            Step(ddim0, "e^{-h} = (a_t s_s)/(s_t a_s)")]),
        Derivation("DPM-Solver first order (Lu et al. 2022a): (a_s/a_t) x_t - s_s (e^h - 1) eps_hat = DDIM", [
            Step(a_s / a_t * x_t - s_s * (sp.exp(_h) - 1) * eps_hat, "the eps-prediction exponential integrator"),
            Step(a_s * x0_hat + s_s * eps_hat, "e^h = (a_s s_t)/(s_s a_t); x_t = a_t x0_hat + s_t eps_hat",
                 given={x_t: a_t * x0_hat + s_t * eps_hat})]),
        Derivation("Euler in sigma = s/a on y = x/a (Karras et al. 2022) = DDIM", [
            Step(a_s * (x_t / a_t + (s_s / a_s - s_t / a_t) * (x_t / a_t - x0_hat) / (s_t / a_t)),
                 "y_s = y_t + (sigma_s - sigma_t) (y_t - x0_hat)/sigma_t, then x_s = a_s y_s"),
            Step(ddim0, "a_s sigma_s/(a_t sigma_t) = s_s/s_t")]),
        Derivation("flow-matching Euler x_s = x_t + (tau_s - tau_t) u, u = (x_t - x0_hat)/tau_t, = DDIM on a = 1 - tau, s = tau", [
            Step(x_t + (s_s - s_t) * (x_t - x0_hat) / s_t, "Euler with the velocity of path_velocity at eps_hat"),
            Step(ddim0.xreplace({a_s: 1 - s_s, a_t: 1 - s_t}), "DDIM with a = 1 - tau")]),
    ]


def ddim0_instances() -> list[InstanceCheck]:
    def point_mass():  # data = delta(m): the exact PF-ODE solution (Gaussian, v -> 0) is DDIM with x0_hat = m
        sol = PF_ODE_GAUSSIAN_SOLUTION.xreplace({v: 0})
        return sol, (SLOTS_DDIM0["coef_xt"] * x_t + SLOTS_DDIM0["coef_x0"] * m)

    return [InstanceCheck("point-mass data: the exact PF-ODE solution (v = 0) is one DDIM eta = 0 step", point_mass)]


# ===== 7. reparameterisations and the flow-matching shift ==================================================
SLOTS_REPARAM = {
    "ve_scale": 1 / a_t,                  # x/a = x_0 + sigma eps with sigma = s/a
    "ve_sigma": s_t / a_t,
    "flow_scale": 1 / (a_t + s_t),        # x/(a + s) = (1 - tau) x_0 + tau eps with tau = s/(a + s)
    "flow_tau": s_t / (a_t + s_t),
    "shift": k_shift * tau / (1 + (k_shift - 1) * tau),   # SD3: tau -> k tau / (1 + (k - 1) tau)
}


def reparam_proof() -> list[Derivation]:
    c = SLOTS_REPARAM
    path = a_t * x0 + s_t * eps
    tau_k = c["shift"]
    snr = lambda tt: (1 - tt) / tt  # noqa: E731  a/s on the flow path (e^lambda)
    X_tau = X(tau)
    dx = dS / S * X_tau + (dA - A * dS / S) * x0_hat   # PF-ODE with the denoiser (path_ddim0)
    sig = S / A
    return [
        Derivation("VP -> VE: x_t/a_t = x_0 + sigma eps, sigma = s_t/a_t", [
            Step(c["ve_scale"] * path, "scale the path"),
            Step(x0 + c["ve_sigma"] * eps, "the slots ve_scale, ve_sigma")]),
        Derivation("VP -> flow: x_t/(a_t + s_t) = (1 - tau) x_0 + tau eps, tau = s_t/(a_t + s_t)", [
            Step(c["flow_scale"] * path, "scale the path"),
            Step((1 - c["flow_tau"]) * x0 + c["flow_tau"] * eps, "a/(a + s) = 1 - s/(a + s)")]),
        Derivation("the reparameterisations keep the log-SNR: (1 - tau)/tau = a/s = 1/sigma", [
            Step(snr(c["flow_tau"]), "e^lambda on the flow path"),
            Step(a_t / s_t, "e^lambda on the original path"),
            Step(1 / c["ve_sigma"], "e^lambda on the VE path")]),
        Derivation("the shift is a change of time: e^{lambda(shift(tau))} = e^{lambda(tau)}/k", [
            Step(snr(tau_k), "(1 - tau')/tau' at tau' = k tau/(1 + (k - 1) tau)"),
            Step(snr(tau) / k_shift, "so lambda' = lambda - log k: the same flow path, a shifted grid")]),
        Derivation("the shift is increasing: d tau'/d tau = k/(1 + (k - 1) tau)^2 > 0", [
            Step(sp.Derivative(tau_k, tau), "differentiate"),
            Step(k_shift / (1 + (k_shift - 1) * tau) ** 2, "quotient rule")]),
        Derivation("shifting twice is one shift by k^2 (so a doubled shift is a different schedule)", [
            Step(tau_k.xreplace({tau: tau_k}), "shift(shift(tau))"),
            Step(c["shift"].xreplace({k_shift: k_shift ** 2}), "collect: k^2 tau/(1 + (k^2 - 1) tau)")]),
        Derivation("Karras et al.: with y = x/a and sigma = s/a the PF-ODE is dy/dsigma = (y - x0_hat)/sigma", [
            Step(sp.Derivative(X_tau / A, tau) / sp.Derivative(sig, tau), "chain rule dy/dsigma = (dy/dtau)/(dsigma/dtau)",
                 ),
            Step((X_tau / A - x0_hat) / sig, "the PF-ODE in data-prediction form (path_ddim0)",
                 given={sp.Derivative(X_tau, tau): dx})],
            assumptions="a, s differentiable, positive, s/a strictly monotone"),
    ]


def reparam_instances() -> list[InstanceCheck]:
    def vp_flow():
        ab = sp.Rational(9, 25)  # a = 3/5, s = 4/5 -> tau = 4/7
        return SLOTS_REPARAM["flow_tau"].xreplace({a_t: sp.sqrt(ab), s_t: sp.sqrt(1 - ab)}), sp.Rational(4, 7)

    def sd3():  # SD3 shift k = 3 at tau = 1/2 gives 3/4
        return SLOTS_REPARAM["shift"].xreplace({k_shift: 3, tau: sp.Rational(1, 2)}), sp.Rational(3, 4)

    return [InstanceCheck("VP abar = 9/25: tau = s/(a + s) = 4/7", vp_flow),
            InstanceCheck("SD3 shift k = 3: tau = 1/2 -> 3/4", sd3)]


# ===== 8. Gaussian data N(m, v): denoiser and the exact PF-ODE solution ==================================
SLOTS_GAUSSIAN = {
    "denoiser": GAUSSIAN_DENOISER,
    "posterior_variance": GAUSSIAN_POSTERIOR_VARIANCE,
    "score": GAUSSIAN_SCORE,
    "pf_ode_solution": PF_ODE_GAUSSIAN_SOLUTION,
}


def gaussian_proof() -> list[Derivation]:
    bayes = Derivation("x_0 | x_t ~ N(denoiser, posterior_variance) for x_0 ~ N(m, v)", [
        Step(normal_pdf(x_t, a_t * x0, s_t ** 2) * normal_pdf(x0, m, v) / normal_pdf(x_t, a_t * m, a_t ** 2 * v + s_t ** 2),
             "Bayes: q(x_t|x_0) p(x_0) / p_t(x_t), p_t = N(a_t m, a_t^2 v + s_t^2)"),
        Step(normal_pdf(x0, SLOTS_GAUSSIAN["denoiser"], SLOTS_GAUSSIAN["posterior_variance"]),
             "complete the square in x_0")], log_domain=True, assumptions="a_t, s_t, v > 0")
    marginal = Derivation("p_t = N(a_t m, a_t^2 v + s_t^2): mean and variance of a_t x_0 + s_t eps", [
        Step(GaussianExpectation(GaussianExpectation((a_t * x0 + s_t * eps - a_t * m) ** 2, eps, 0, 1), x0, m, v),
             "x_0 ~ N(m, v), eps ~ N(0, 1) independent"),
        Step(GAUSSIAN_MARGINAL_VARIANCE, "Gaussian moments")])
    score_d = Derivation("score = d/dx_t log p_t(x_t)", [
        Step(sp.Derivative(sp.log(normal_pdf(x_t, a_t * m, GAUSSIAN_MARGINAL_VARIANCE)), x_t), "the marginal score"),
        Step(SLOTS_GAUSSIAN["score"], "differentiate")])
    tweedie = Derivation("(x_t + s_t^2 score)/a_t = denoiser (Tweedie for the path, path_score)", [
        Step((x_t + s_t ** 2 * SLOTS_GAUSSIAN["score"]) / a_t, "Tweedie for the path"),
        Step(SLOTS_GAUSSIAN["denoiser"], "common denominator a_t^2 v + s_t^2")])
    # the exact PF-ODE solution: X(tau) = a m + sqrt(V(tau)/V_t) (x_t - a_t m), V = a^2 v + s^2
    V = A ** 2 * v + S ** 2
    closed = SLOTS_GAUSSIAN["pf_ode_solution"]
    sol = closed.xreplace({a_s: A, s_s: S})
    sol_at = sol.xreplace(FUNCTION_VALUES)
    V_at = V.xreplace(FUNCTION_VALUES)
    f_at, g2_at = DRIFT.xreplace(FUNCTION_VALUES), 2 * s_tau * ds - 2 * da / a_tau * s_tau ** 2
    ode = Derivation("X(tau) = a m + sqrt(V(tau)/V(t)) (x_t - a_t m) solves dX/dtau = f X - g^2/2 score(X, tau)", [
        Step(sp.Derivative(sol, tau), "differentiate the closed form"),
        Step(sp.diff(sol, tau), "chain rule"),
        Step(sp.diff(sol, tau).xreplace(FUNCTION_VALUES), "name a(tau), s(tau), a'(tau), s'(tau) as a_tau, s_tau, da, ds",
             given=FUNCTION_VALUES),
        Step(f_at * sol_at - g2_at / 2 * (-(sol_at - a_tau * m) / V_at),
             "the PF-ODE (path_pf_ode) with the Gaussian score -(x - a m)/V(tau)")],
        assumptions="a, s differentiable and positive; v > 0; the solution is unique (linear ODE)")
    start = Derivation("... and X(t) = x_t", [
        Step(closed.xreplace({a_s: a_t, s_s: s_t}), "the closed form at tau = t"),
        Step(x_t, "sqrt(V_t/V_t) = 1")])
    push = Derivation("the flow maps p_t = N(a_t m, V_t) onto p_s = N(a_s m, V_s): variance", [
        Step(GaussianExpectation((closed - a_s * m) ** 2, x_t, a_t * m, GAUSSIAN_MARGINAL_VARIANCE),
             "x_t ~ p_t"),
        Step(a_s ** 2 * v + s_s ** 2, "Gaussian moments")])
    push_mean = Derivation("... and mean", [
        Step(GaussianExpectation(closed, x_t, a_t * m, GAUSSIAN_MARGINAL_VARIANCE), "x_t ~ p_t"),
        Step(a_s * m, "Gaussian moments")])
    return [bayes, marginal, score_d, tweedie, ode, start, push, push_mean]


def gaussian_instances() -> list[InstanceCheck]:
    def flow():  # rectified flow, N(1, 4): tau 1/2 -> 0 maps x_t to the data quantile
        sub = {a_t: sp.Rational(1, 2), s_t: sp.Rational(1, 2), a_s: 1, s_s: 0, m: 1, v: 4}
        return PF_ODE_GAUSSIAN_SOLUTION.xreplace(sub), 1 + sp.sqrt(sp.Rational(4, sp.Rational(5, 4))) * (x_t - sp.Rational(1, 2))

    def vp_denoiser():  # VP abar = 1/2, standard Gaussian data: D = sqrt(abar) x_t
        return GAUSSIAN_DENOISER.xreplace({a_t: sp.sqrt(sp.Rational(1, 2)), s_t: sp.sqrt(sp.Rational(1, 2)), m: 0, v: 1}), \
            sp.sqrt(sp.Rational(1, 2)) * x_t

    return [InstanceCheck("rectified flow, data N(1, 4): tau = 1/2 -> 0", flow),
            InstanceCheck("VP abar = 1/2, data N(0, 1): denoiser = sqrt(abar) x_t", vp_denoiser)]


# ===== registry ==================================================================================
IDENTITIES = [
    Identity(id="path_conversions", problem="paths", slots=SLOTS_CONV,
             statement="x_0 = <<x0_coef_xt>> x_t + <<x0_coef_eps>> eps; v = <<v_coef_eps>> eps + <<v_coef_x0>> x_0; "
                       "x_0 = <<x0_from_v_coef_xt>> x_t + <<x0_from_v_coef_v>> v; "
                       "eps = <<eps_from_v_coef_xt>> x_t + <<eps_from_v_coef_v>> v",
             latex=r"x_0=<<x0_coef_xt>>x_t + <<x0_coef_eps>>\epsilon,\ v=<<v_coef_eps>>\epsilon + <<v_coef_x0>>x_0,\ "
                   r"x_0=<<x0_from_v_coef_xt>>x_t + <<x0_from_v_coef_v>>v,\ \epsilon=<<eps_from_v_coef_xt>>x_t + "
                   r"<<eps_from_v_coef_v>>v",
             proof=conversions_proof, instances=conversions_instances, doc=__doc__),
    Identity(id="path_score", problem="paths", slots=SLOTS_SCORE,
             statement="grad log q(x_t|x_0) = <<cond_score_coef_eps>> eps; E[x_0|x_t] = (x_t + <<tweedie_coef>> grad log p_t)/a_t; "
                       "grad log p_t = <<score_coef_eps>> E[eps|x_t]",
             latex=r"\nabla\log q(x_t\mid x_0)=<<cond_score_coef_eps>>\epsilon,\ \mathbb E[x_0\mid x_t]=\frac{x_t + "
                   r"<<tweedie_coef>>\nabla\log p_t(x_t)}{a_t},\ \nabla\log p_t=<<score_coef_eps>>\mathbb E[\epsilon\mid x_t]",
             proof=score_proof, instances=score_instances, doc=__doc__),
    Identity(id="path_velocity", problem="paths", slots=SLOTS_VELOCITY,
             statement="u = <<u_coef_x0>> x_0 + <<u_coef_eps>> eps = <<u_coef_xt>> x_tau + <<u_coef_eps_hat>> eps "
                       "(a_tau, s_tau, da, ds: a, s, a', s' at tau)",
             latex=r"u=<<u_coef_x0>>\,x_0 + <<u_coef_eps>>\,\epsilon=<<u_coef_xt>>\,x_\tau + <<u_coef_eps_hat>>\,\epsilon",
             proof=velocity_proof, instances=lambda: _path_instances()[0], doc=__doc__),
    Identity(id="path_pf_ode", problem="paths", slots=SLOTS_PF_ODE,
             statement="dx = f x dtau + g dW has marginal N(a x_0, s^2) for f = <<drift>>, g^2 = <<diffusion2>>; "
                       "f x - g^2/2 grad log p = E[u|x]",
             latex=r"\frac{dx}{d\tau}=f x-\tfrac12 g^2\nabla\log p_\tau(x),\ f=<<drift>>,\ g^2=<<diffusion2>>",
             proof=pf_ode_proof, instances=lambda: _path_instances()[1], doc=__doc__),
    Identity(id="path_transition", problem="paths", slots=SLOTS_TRANSITION,
             statement="q(x_t|x_s) = N(<<mean_coef>> x_s, <<variance>>)",
             latex=r"q(x_t\mid x_s)=\mathcal N\big(<<mean_coef>>x_s,\ <<variance>>\big)",
             proof=transition_proof, instances=transition_instances, doc=__doc__),
    Identity(id="path_posterior", problem="paths", slots=SLOTS_POSTERIOR,
             statement="q(x_s|x_t,x_0) = N(<<coef_x0>> x_0 + <<coef_xt>> x_t, <<variance>>)",
             latex=r"q(x_s\mid x_t,x_0)=\mathcal N\big(<<coef_x0>>x_0 + <<coef_xt>>x_t,\ <<variance>>\big)",
             proof=posterior_path_proof, instances=posterior_path_instances, doc=__doc__),
    Identity(id="ddim_marginal", problem="paths", slots=SLOTS_DDIM,
             statement="x_s = <<coef_x0>> x0_hat + <<coef_eps>> eps_hat + sigma_ddim z has marginal N(a_s x_0, s_s^2) "
                       "for every sigma_ddim in [0, s_s]",
             latex=r"x_s=<<coef_x0>>\hat x_0 + <<coef_eps>>\hat\epsilon+\sigma_s z\ \Rightarrow\ "
                   r"q(x_s\mid x_0)=\mathcal N(a_sx_0,s_s^2)",
             proof=ddim_proof, instances=ddim_instances, doc=__doc__),
    Identity(id="ddim_exact", problem="paths", slots=SLOTS_DDIM0,
             statement="DDIM eta = 0, x_s = <<coef_xt>> x_t + <<coef_x0>> x0_hat, is the exact PF-ODE solution with "
                       "x0_hat fixed = DPM-Solver(++)-1 = Euler in sigma = s/a on x/a = flow-matching Euler",
             latex=r"x_s=<<coef_xt>>x_t + <<coef_x0>>\hat x_0=\tfrac{s_s}{s_t}x_t-a_s(e^{-h}-1)\hat x_0",
             proof=ddim0_proof, instances=ddim0_instances, doc=__doc__),
    Identity(id="path_reparam", problem="paths", slots=SLOTS_REPARAM,
             statement="<<ve_scale>> x_t = x_0 + <<ve_sigma>> eps (VE); <<flow_scale>> x_t = (1 - tau) x_0 + tau eps with "
                       "tau = <<flow_tau>> (flow); the shift tau -> <<shift>> divides e^lambda by k",
             latex=r"<<ve_scale>>x_t=x_0+<<ve_sigma>>\epsilon,\ <<flow_scale>>x_t=(1-\tau)x_0+\tau\epsilon,\ "
                   r"\tau=<<flow_tau>>,\ \tau\mapsto<<shift>>",
             proof=reparam_proof, instances=reparam_instances, doc=__doc__),
    Identity(id="path_gaussian_data", problem="paths", slots=SLOTS_GAUSSIAN,
             statement="x_0 ~ N(m, v): x_0 | x_t ~ N(<<denoiser>>, <<posterior_variance>>), grad log p_t = <<score>>; "
                       "the PF-ODE solution is x_s = <<pf_ode_solution>>",
             latex=r"x_0\mid x_t\sim\mathcal N\big(<<denoiser>>,\ <<posterior_variance>>\big),\ \nabla\log p_t=<<score>>,"
                   r"\ x_s=<<pf_ode_solution>>",
             proof=gaussian_proof, instances=gaussian_instances, doc=__doc__),
]

# ===== concrete paths and the numeric bridge =======================================================
#: Concrete paths (a(tau), s(tau), (tau_min, tau_max)): the instances the Monte Carlo checks and the
#: conformance oracle evaluate. VP linear is Song et al. 2021's beta(tau) = 0.1 + 19.9 tau.
PATHS: dict[str, tuple] = {
    "vp_cosine": (sp.Lambda(tau, sp.cos(sp.pi * tau / 2)), sp.Lambda(tau, sp.sin(sp.pi * tau / 2)), (0, 1)),
    "vp_linear": (sp.Lambda(tau, sp.exp(-(tau / 10 + sp.Rational(199, 20) * tau ** 2) / 2)),
                  sp.Lambda(tau, sp.sqrt(1 - sp.exp(-(tau / 10 + sp.Rational(199, 20) * tau ** 2)))), (0, 1)),
    "ve_edm": (sp.Lambda(tau, sp.Integer(1)), sp.Lambda(tau, tau), (0, 80)),
    "flow": (sp.Lambda(tau, 1 - tau), sp.Lambda(tau, tau), (0, 1)),
    "flow_shift3": (sp.Lambda(tau, 1 - 3 * tau / (1 + 2 * tau)), sp.Lambda(tau, 3 * tau / (1 + 2 * tau)), (0, 1)),
}
_NAMES = {sym: name for name, sym in SYMBOLS.items() if isinstance(sym, sp.Symbol)}


def path_function(expr, path: str | None = None):
    """A float64 NumPy function of the named symbols of ``SYMBOLS`` evaluating ``expr`` (lambdify; one
    source of truth for the numeric checks). Expressions in a(tau), s(tau), their derivatives, or the values a_tau, s_tau, da, ds need
    ``path`` (a key of :data:`PATHS`), then take ``tau=``. The returned ``f(*ignored, **values)``
    ignores positional arguments (the Monte Carlo context passes a schedule and t) and raises
    ValueError naming a missing value."""
    import numpy as np

    if isinstance(expr, str):
        raise ValueError(f"path_function got the text {expr!r}: pass a SymPy expression")
    expr = sp.sympify(expr, strict=True)
    if path is not None:
        if path not in PATHS:
            raise ValueError(f"unknown path {path!r}; known: {', '.join(PATHS)}")
        a_, s_, _ = PATHS[path]
        expr = on_path(expr, a_, s_)
    if expr.atoms(sp.core.function.AppliedUndef) or expr.free_symbols & {a_tau, s_tau, da, ds}:
        raise ValueError(f"{expr} uses a(tau), s(tau) or their values a_tau, s_tau, da, ds: pass path= "
                         f"(one of {', '.join(PATHS)})")
    unknown = [s_ for s_ in expr.free_symbols if s_ not in _NAMES]
    if unknown:
        raise ValueError(f"{expr} has symbols outside proofs.paths.SYMBOLS: {sorted(map(str, unknown))}")
    args = sorted(expr.free_symbols, key=str)
    fn = sp.lambdify(args, expr, modules="numpy")

    def evaluate(*_ignored, **values):
        missing = [_NAMES[a] for a in args if _NAMES[a] not in values]
        if missing:
            raise ValueError(f"{expr} needs a value for {', '.join(missing)}")
        vals = [np.asarray(values[_NAMES[a]], dtype=np.float64) for a in args]
        with np.errstate(all="ignore"):
            out = np.asarray(fn(*vals), dtype=np.float64)
        return np.broadcast_to(out, np.broadcast(*vals, out).shape).copy() if vals else out

    evaluate.expr = expr
    evaluate.needs = tuple(_NAMES[a] for a in args)
    return evaluate


__all__ = ["SYMBOLS", "IDENTITIES", "PF_ODE_GAUSSIAN_SOLUTION", "GAUSSIAN_DENOISER", "GAUSSIAN_SCORE",
           "GAUSSIAN_MARGINAL_VARIANCE", "GAUSSIAN_POSTERIOR_VARIANCE", "DRIFT", "DIFFUSION2", "pf_ode_velocity",
           "A_TS", "S2_TS", "DDIM_SIGMA_ETA1", "PATHS", "path_function"]
