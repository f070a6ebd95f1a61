"""Problem 2.4 - the epsilon-parameterised loss (``eps_loss``).

With p_theta(x_{t-1} | x_t) = N(mu_theta, sigma_t^2 I) and
mu_theta = (x_t - beta_t / sqrt(1 - abar_t) eps_theta) / sqrt(alpha_t),

    L_{t-1} = E_q KL(q(x_{t-1}|x_t,x_0) || p_theta(x_{t-1}|x_t))
            = beta_t^2 / (2 sigma_t^2 alpha_t (1 - abar_t)) E ||eps - eps_theta||^2 + C,

C free of theta. (The seed writes 1/(2 ||Sigma_theta||_2^2): that is 1/(2 sigma_t^4), wrong.)
"""
from __future__ import annotations

import sympy as sp

from .engine import Derivation, GaussianExpectation, InstanceCheck, Step

from .gaussian import log_normal_pdf
from .identity import Identity
from .posterior import SLOTS_EPS as POSTERIOR_EPS
from .symbols import abar, alpha, beta, eps, eps_theta, sigma, t, x_prev, x_t

SLOTS = {
    "weight": beta[t] ** 2 / (2 * sigma[t] ** 2 * alpha[t] * (1 - abar[t])),
}


mu_q = sp.Symbol("mu_tilde", real=True)
mu_p = sp.Symbol("mu_theta", real=True)
post_var = sp.Symbol("beta_tilde", positive=True)


def constant_term():
    """C = beta_tilde/(2 sigma_t^2) - 1/2 + log(sigma_t^2 / beta_tilde)/2: free of theta."""
    return post_var / (2 * sigma[t] ** 2) - sp.Rational(1, 2) + sp.log(sigma[t] ** 2 / post_var) / 2


def proof() -> Derivation:
    """Per coordinate (isotropic covariances: the d-dimensional KL is the sum over coordinates)."""
    mean_eps = POSTERIOR_EPS["coef_xt"] * x_t + POSTERIOR_EPS["coef_eps"] * eps
    means = {mu_q: mean_eps, mu_p: mean_eps.subs(eps, eps_theta)}
    return Derivation(
        "L_{t-1} = weight E||eps - eps_theta||^2 + C",
        [Step(GaussianExpectation(log_normal_pdf(x_prev, mu_q, post_var) - log_normal_pdf(x_prev, mu_p, sigma[t] ** 2),
                                  x_prev, mu_q, post_var),
              "KL(q(x_{t-1}|x_t,x_0) || p_theta(x_{t-1}|x_t)) = E_q[log q - log p], q = N(mu_tilde, beta_tilde)"),
         Step(((mu_q - mu_p) ** 2 + post_var) / (2 * sigma[t] ** 2) - sp.Rational(1, 2)
              + sp.log(sigma[t] ** 2 / post_var) / 2,
              "Gaussian moments: E(x - mu_theta)^2 = beta_tilde + (mu_tilde - mu_theta)^2"),
         Step(beta[t] ** 2 / (2 * sigma[t] ** 2 * alpha[t] * (1 - abar[t])) * (eps - eps_theta) ** 2 + constant_term(),
              "both means in the eps form (identity `posterior_eps`): "
              "mu_tilde - mu_theta = beta_t (eps_theta - eps)/(sqrt(alpha_t) sqrt(1 - abar_t))",
              given=means),
         Step(SLOTS["weight"] * (eps - eps_theta) ** 2 + constant_term(), "the slot `weight`; C is free of theta")])


def instance() -> tuple[sp.Expr, sp.Expr]:
    """alpha_t = 4/5, abar_{t-1} = 3/5, sigma_t^2 = beta_t: the closed-form Gaussian KL
    against weight (eps - eps_theta)^2 + C, exactly, as polynomials in x_t, eps, eps_theta."""
    a, abp, s2 = sp.Rational(4, 5), sp.Rational(3, 5), sp.Rational(1, 5)
    ab = a * abp
    v = (1 - abp) * (1 - a) / (1 - ab)
    m_q = (x_t - (1 - a) / sp.sqrt(1 - ab) * eps) / sp.sqrt(a)
    m_p = (x_t - (1 - a) / sp.sqrt(1 - ab) * eps_theta) / sp.sqrt(a)
    kl = sp.log(sp.sqrt(s2) / sp.sqrt(v)) + (v + (m_q - m_p) ** 2) / (2 * s2) - sp.Rational(1, 2)
    weight = (1 - a) ** 2 / (2 * s2 * a * (1 - ab))
    return sp.expand(kl), sp.expand(weight * (eps - eps_theta) ** 2 + v / (2 * s2) - sp.Rational(1, 2) + sp.log(s2 / v) / 2)


IDENTITIES = [
    Identity(id="eps_loss", problem="P2.4", slots=SLOTS,
             statement="L_{t-1} = <<weight>>*E||eps - eps_theta||^2 + C",
             latex=r"L_{t-1}=<<weight>>\,\mathbb E\|\epsilon-\epsilon_\theta\|^2+C",
             proof=lambda: [proof()],
             instances=lambda: [InstanceCheck("alpha_t = 4/5, abar_{t-1} = 3/5, sigma_t^2 = beta_t: Gaussian KL in closed form", instance)],
             doc=__doc__),
]
