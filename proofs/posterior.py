"""Problem 2.2 - the forward-process posterior (``posterior``, ``posterior_eps``).

    q(x_{t-1} | x_t, x_0) = N(coef_x0 x_0 + coef_xt x_t, posterior_variance I),
    coef_x0 = sqrt(abar_{t-1}) beta_t / (1 - abar_t),
    coef_xt = sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t),
    posterior_variance = (1 - abar_{t-1}) beta_t / (1 - abar_t),

and, with x_0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t), the mean is
(x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(alpha_t).
"""
from __future__ import annotations

import sympy as sp

from .engine import Derivation, InstanceCheck, Step, gaussian_integral

from .gaussian import normal_pdf
from .identity import Identity
from .symbols import abar, alpha, beta, eps, t, x_0, x_prev, x_t

posterior_mean_coef_x0 = sp.sqrt(abar[t - 1]) * beta[t] / (1 - abar[t])
posterior_mean_coef_xt = sp.sqrt(alpha[t]) * (1 - abar[t - 1]) / (1 - abar[t])
posterior_variance = (1 - abar[t - 1]) * beta[t] / (1 - abar[t])

SLOTS = {
    "coef_x0": posterior_mean_coef_x0,
    "coef_xt": posterior_mean_coef_xt,
    "variance": posterior_variance,
}

SLOTS_EPS = {
    "coef_xt": 1 / sp.sqrt(alpha[t]),
    "coef_eps": -beta[t] / (sp.sqrt(alpha[t]) * sp.sqrt(1 - abar[t])),
}


def bayes_ratio(a, ab_prev, ab):
    """q(x_t|x_{t-1}) q(x_{t-1}|x_0) / q(x_t|x_0), with the forward marginal of Problem 2.1."""
    return (normal_pdf(x_t, sp.sqrt(a) * x_prev, 1 - a) * normal_pdf(x_prev, sp.sqrt(ab_prev) * x_0, 1 - ab_prev)
            / normal_pdf(x_t, sp.sqrt(ab) * x_0, 1 - ab))


def posterior_proof() -> Derivation:
    """Bayes' rule, then completing the square in x_{t-1} (normalising constant included)."""
    precision = alpha[t] / beta[t] + 1 / (1 - abar[t - 1])
    linear = sp.sqrt(alpha[t]) / beta[t] * x_t + sp.sqrt(abar[t - 1]) / (1 - abar[t - 1]) * x_0
    return Derivation(
        "q(x_{t-1} | x_t, x_0) is Gaussian",
        [Step(bayes_ratio(alpha[t], abar[t - 1], abar[t]),
              "Bayes and the Markov property: q(x_t|x_{t-1}) q(x_{t-1}|x_0) / q(x_t|x_0)"),
         Step(sp.exp(-(x_t - sp.sqrt(alpha[t]) * x_prev) ** 2 / (2 * beta[t])
                     - (x_prev - sp.sqrt(abar[t - 1]) * x_0) ** 2 / (2 * (1 - abar[t - 1]))
                     + (x_t - sp.sqrt(abar[t]) * x_0) ** 2 / (2 * (1 - abar[t])))
              * sp.sqrt((1 - abar[t]) / (2 * sp.pi * beta[t] * (1 - abar[t - 1]))),
              "collect the exponents and the normalising constants"),
         Step(normal_pdf(x_prev, linear / precision, 1 / precision),
              "complete the square in x_{t-1}: precision alpha_t/beta_t + 1/(1 - abar_{t-1})"),
         Step(normal_pdf(x_prev, SLOTS["coef_x0"] * x_0 + SLOTS["coef_xt"] * x_t, SLOTS["variance"]),
              "simplify: 1/precision = (1 - abar_{t-1}) beta_t/(1 - abar_t) = posterior_variance")],
        log_domain=True)


def posterior_eps_proof() -> Derivation:
    """The seed's chain: substitute x_0 = (x_t - sqrt(1 - abar_t) eps)/sqrt(abar_t) into the mean."""
    mean = SLOTS["coef_x0"] * x_0 + SLOTS["coef_xt"] * x_t
    x0_of_eps = {x_0: (x_t - sp.sqrt(1 - abar[t]) * eps) / sp.sqrt(abar[t])}
    return Derivation(
        "posterior mean in terms of eps",
        [Step(mean, "the posterior mean (identity `posterior`)"),
         Step((sp.sqrt(alpha[t]) * (1 - abar[t] / alpha[t]) * x_t
               + (1 - alpha[t]) * sp.sqrt(abar[t] / alpha[t]) * x_0) / (1 - abar[t]),
              "the seed's second line: sqrt(abar_{t-1}) = sqrt(abar_t / alpha_t)"),
         Step(((alpha[t] - abar[t]) * x_t + (1 - alpha[t]) * (-sp.sqrt(1 - abar[t]) * eps + x_t))
              / (sp.sqrt(alpha[t]) * (1 - abar[t])),
              "x_0 = (x_t - sqrt(1 - abar_t) eps)/sqrt(abar_t) (forward marginal)", given=x0_of_eps),
         Step((x_t - beta[t] / sp.sqrt(1 - abar[t]) * eps) / sp.sqrt(alpha[t]),
              "collect x_t: (alpha_t - abar_t) + (1 - alpha_t) = 1 - abar_t"),
         Step(SLOTS_EPS["coef_xt"] * x_t + SLOTS_EPS["coef_eps"] * eps, "the slots coef_xt, coef_eps")])


def _instance_schedule():
    return sp.Rational(4, 5), sp.Rational(3, 5)  # alpha_t, abar_{t-1}


def gaussian_instance() -> tuple[sp.Expr, sp.Expr]:
    """alpha_t = 4/5, abar_{t-1} = 3/5: log of the Bayes ratio against log N(mean, variance), exact
    polynomials in x_0, x_t, x_{t-1}."""
    a, abp = _instance_schedule()
    rhs = normal_pdf(x_prev, (sp.sqrt(abp) * (1 - a) * x_0 + sp.sqrt(a) * (1 - abp) * x_t) / (1 - abp * a),
                     (1 - abp) * (1 - a) / (1 - abp * a))
    return (sp.expand(sp.expand_log(sp.log(bayes_ratio(a, abp, abp * a)), force=True)),
            sp.expand(sp.expand_log(sp.log(rhs), force=True)))


def normalised_instance() -> tuple[sp.Expr, sp.Expr]:
    """alpha_t = 4/5, abar_{t-1} = 3/5, x_0 = 1, x_t = 1/2: the Bayes ratio integrates to 1 over x_{t-1}."""
    a, abp = _instance_schedule()
    dens = bayes_ratio(a, abp, abp * a).subs({x_0: 1, x_t: sp.Rational(1, 2)})
    return gaussian_integral(dens, x_prev), sp.Integer(1)


def instances() -> list[InstanceCheck]:
    return [InstanceCheck("alpha_t = 4/5, abar_{t-1} = 3/5: Bayes ratio = N(posterior mean, variance)", gaussian_instance),
            InstanceCheck("alpha_t = 4/5, abar_{t-1} = 3/5: the posterior density integrates to 1", normalised_instance)]


IDENTITIES = [
    Identity(id="posterior", problem="P2.2", slots=SLOTS,
             statement="q(x_{t-1}|x_t,x_0) = N(<<coef_x0>>*x_0 + <<coef_xt>>*x_t, <<variance>>*I)",
             latex=r"q(x_{t-1}\mid x_t,x_0)=\mathcal N\big(<<coef_x0>>\,x_0+<<coef_xt>>\,x_t,\ <<variance>>\,I\big)",
             proof=lambda: [posterior_proof()], instances=instances, doc=__doc__),
    Identity(id="posterior_eps", problem="P2.2", slots=SLOTS_EPS,
             statement="posterior mean = <<coef_xt>>*x_t + <<coef_eps>>*eps, "
                       "with x_0 = (x_t - sqrt(1 - abar_t) eps)/sqrt(abar_t)",
             latex=r"\tilde\mu_t=<<coef_xt>>\,x_t+<<coef_eps>>\,\epsilon",
             proof=lambda: [posterior_eps_proof()], doc=__doc__),
]
