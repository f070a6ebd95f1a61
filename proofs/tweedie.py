"""Problem 4 - Tweedie's formula (``tweedie``) and the score-epsilon relation (``score_eps``).

Tweedie: theta ~ p(theta), x | theta ~ N(theta, sigma^2)  =>  E[theta | x] = x + sigma^2 d/dx log p(x).
Score-epsilon: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps  =>
E[eps | x_t] = -sqrt(1 - abar_t) grad log p_t(x_t), so s_theta = -eps_theta / sqrt(1 - abar_t).
"""
from __future__ import annotations

import sympy as sp

from .engine import Derivation, InstanceCheck, Step

from .gaussian import normal_pdf
from .identity import Identity
from .symbols import abar, eps_theta, noise_std, t, x, x_t

SLOTS = {
    "coef": noise_std ** 2,
}

SLOTS_SCORE = {
    "coef": -1 / sp.sqrt(1 - abar[t]),
}


theta = sp.Symbol("theta", real=True)
prior = sp.Function("p_prior")          # p(theta): any prior density
marginal = sp.Function("p")             # p(x) = int N(x; theta, sigma^2) p(theta) dtheta
score_t = sp.Symbol("score_t", real=True)         # grad log p_t(x_t) at the point x_t
cond_mean_x0 = sp.Symbol("E_sqrt_abar_x0", real=True)  # E[sqrt(abar_t) x_0 | x_t]
INF = sp.oo


def _likelihood():
    return normal_pdf(x, theta, noise_std ** 2)


def _integral(f):
    return sp.Integral(f, (theta, -INF, INF))


def tweedie_proof() -> Derivation:
    """The seed's chain: theta N(x; theta, s^2) = x N + s^2 dN/dx under the integral."""
    lik, p_theta = _likelihood(), prior(theta)
    p_x = _integral(lik * p_theta)
    return Derivation(
        "Tweedie: E[theta | x] = x + sigma^2 d/dx log p(x)",
        [Step(_integral(theta * lik * p_theta) / p_x, "Bayes: E[theta|x] = int theta p(x|theta) p(theta) dtheta / p(x)"),
         Step((x * p_x + noise_std ** 2 * _integral(sp.Derivative(lik, x) * p_theta)) / p_x,
              "theta N(x; theta, sigma^2) = x N + sigma^2 dN/dx, linearity of the integral"),
         Step(x + noise_std ** 2 * sp.Derivative(p_x, x) / p_x,
              "differentiate under the integral sign (Gaussian tails: dominated convergence)"),
         Step(x + noise_std ** 2 * sp.Derivative(sp.log(p_x), x), "p'/p = (log p)'"),
         Step(x + SLOTS["coef"] * sp.Derivative(sp.log(marginal(x)), x),
              "p(x) is the marginal of x", given={p_x: marginal(x)})],
        assumptions="sigma > 0; p(theta) a density with int |theta| N p < oo (differentiation under the integral)",
        hypotheses=("leibniz", "fubini"))


def score_eps_proof() -> list[Derivation]:
    """Tweedie with theta = sqrt(abar_t) x_0 and sigma^2 = 1 - abar_t (forward marginal)."""
    c = sp.sqrt(1 - abar[t])
    tweedie_here = {cond_mean_x0: x_t + SLOTS["coef"].subs(noise_std, c) * score_t}
    conditional = Derivation(
        "E[eps | x_t] = -sqrt(1 - abar_t) grad log p_t(x_t)",
        [Step((x_t - cond_mean_x0) / c,
              "eps = (x_t - sqrt(abar_t) x_0)/sqrt(1 - abar_t); E[.|x_t] is linear"),
         Step((x_t - (x_t + (1 - abar[t]) * score_t)) / c,
              "Tweedie (identity `tweedie`) with theta = sqrt(abar_t) x_0, sigma^2 = 1 - abar_t",
              given=tweedie_here),
         Step(-c * score_t, "cancel x_t; (1 - abar_t)/sqrt(1 - abar_t) = sqrt(1 - abar_t)")])
    relation = Derivation(
        "s_theta = coef * eps_theta when eps_theta(x_t) = E[eps | x_t] and s_theta = grad log p_t",
        [Step(SLOTS_SCORE["coef"] * eps_theta, "the claimed relation s = coef eps_theta"),
         Step(SLOTS_SCORE["coef"] * (-c * score_t), "the optimal eps_theta is E[eps|x_t] (above)",
              given={eps_theta: -c * score_t}),
         Step(score_t, "= grad log p_t(x_t), the optimal score model")])
    return [conditional, relation]


# ----- closed-form instances -------------------------------------------------------------------
_S2 = sp.Rational(1, 4)  # sigma^2
_MIX = [(sp.Rational(1, 3), sp.Integer(-2), sp.Rational(1, 2)),  # (weight, mean, variance)
        (sp.Rational(2, 3), sp.Integer(1), sp.Rational(3, 2))]


def _posterior_mean_mixture(mix, s2):
    """E[theta|x] for a Gaussian-mixture prior: responsibilities times per-component means."""
    dens = [w * normal_pdf(x, m, v + s2) for w, m, v in mix]
    means = [(v * x + s2 * m) / (v + s2) for _, m, v in mix]
    return sp.Add(*[d * mu for d, mu in zip(dens, means)]) / sp.Add(*dens), sp.Add(*dens)


def tweedie_gaussian_instance():
    """theta ~ N(-2, 1/2), sigma^2 = 1/4: E[theta|x] against x + sigma^2 (log p)'(x), exactly."""
    lhs, p = _posterior_mean_mixture(_MIX[:1], _S2)
    return sp.cancel(lhs), sp.cancel(x + _S2 * sp.diff(sp.log(p), x))


def tweedie_mixture_instance():
    """Two-component Gaussian-mixture prior: both sides times p(x), exactly."""
    lhs, p = _posterior_mean_mixture(_MIX, _S2)
    return sp.expand(lhs * p), sp.expand(x * p + _S2 * sp.diff(p, x))


def _eps_posterior_mean(mix, ab):
    """E[eps | x_t] for x_0 ~ mixture, x_t = sqrt(ab) x_0 + sqrt(1 - ab) eps (Gaussian conditioning
    within each component, weighted by responsibilities); also p_t."""
    dens, means = [], []
    for w, m, v in mix:
        var_t = ab * v + 1 - ab
        dens.append(w * normal_pdf(x, sp.sqrt(ab) * m, var_t))
        means.append(sp.sqrt(1 - ab) * (x - sp.sqrt(ab) * m) / var_t)  # Cov(eps, x_t)/Var(x_t)
    p = sp.Add(*dens)
    return sp.Add(*[d * mu for d, mu in zip(dens, means)]) / p, p


def score_eps_instance():
    """x_0 ~ two-component mixture, abar_t = 9/25: E[eps|x_t] p_t against -sqrt(1 - abar_t) p_t', exactly."""
    ab = sp.Rational(9, 25)
    lhs, p = _eps_posterior_mean(_MIX, ab)
    return sp.expand(lhs * p), sp.expand(-sp.sqrt(1 - ab) * sp.diff(p, x))


def tweedie_instances():
    return [InstanceCheck("Gaussian prior N(-2, 1/2), sigma^2 = 1/4", tweedie_gaussian_instance),
            InstanceCheck("two-component Gaussian-mixture prior, sigma^2 = 1/4", tweedie_mixture_instance)]


def score_eps_instances():
    return [InstanceCheck("Gaussian-mixture data, abar_t = 9/25: E[eps|x_t] = -sqrt(1-abar_t) grad log p_t",
                          score_eps_instance)]


IDENTITIES = [
    Identity(id="tweedie", problem="P4 lemma", slots=SLOTS,
             statement="E[theta|x] = x + <<coef>>*d/dx log p(x)",
             latex=r"\mathbb E[\theta\mid x]=x+<<coef>>\,\frac{d}{dx}\log p(x)",
             proof=lambda: [tweedie_proof()], instances=tweedie_instances, doc=__doc__),
    Identity(id="score_eps", problem="P4", slots=SLOTS_SCORE,
             statement="s_theta(x_t, t) = <<coef>>*eps_theta(x_t, t), since E[eps|x_t] = -sqrt(1 - abar_t) grad log p_t(x_t)",
             latex=r"s_\theta(x_t,t)=<<coef>>\,\epsilon_\theta(x_t,t)",
             proof=score_eps_proof, instances=score_eps_instances, doc=__doc__),
]
