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

from .identity import Identity
from .symbols import abar, alpha, beta, t

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


def _proof_pending():
    return []


IDENTITIES = [
    Identity(id='posterior', problem='P2.2', slots=SLOTS,
             statement='q(x_{t-1}|x_t,x_0) = N(coef_x0 x_0 + coef_xt x_t, posterior_variance I)',
             latex='q(x_{t-1}\\mid x_t,x_0)=\\mathcal N\\big(\\tfrac{\\sqrt{\\bar\\alpha_{t-1}}\\beta_t}{1-\\bar\\alpha_t}x_0+\\tfrac{\\sqrt{\\alpha_t}(1-\\bar\\alpha_{t-1})}{1-\\bar\\alpha_t}x_t,\\ \\tfrac{1-\\bar\\alpha_{t-1}}{1-\\bar\\alpha_t}\\beta_t I\\big)',
             proof=_proof_pending),
    Identity(id='posterior_eps', problem='P2.2', slots=SLOTS_EPS,
             statement='posterior mean = (x_t - beta_t/sqrt(1 - abar_t) eps)/sqrt(alpha_t)',
             latex='\\tilde\\mu_t=\\frac{1}{\\sqrt{\\alpha_t}}\\Big(x_t-\\frac{\\beta_t}{\\sqrt{1-\\bar\\alpha_t}}\\epsilon\\Big)',
             proof=_proof_pending),
]
