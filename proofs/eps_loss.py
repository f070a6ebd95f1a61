"""Problem 2.4 - the epsilon-parameterised loss (``eps_loss``).

With p_theta(x_{t-1} | x_t) = N(mu_theta, sigma_t^2 I) and
mu_theta = (x_t - beta_t / sqrt(1 - abar_t) eps_theta) / sqrt(alpha_t),

    L_{t-1} = E_q KL(q(x_{t-1}|x_t,x_0) || p_theta(x_{t-1}|x_t))
            = beta_t^2 / (2 sigma_t^2 alpha_t (1 - abar_t)) E ||eps - eps_theta||^2 + C,

C free of theta. (The seed writes 1/(2 ||Sigma_theta||_2^2): that is 1/(2 sigma_t^4), wrong.)
"""
from __future__ import annotations

import sympy as sp

from .identity import Identity
from .symbols import abar, alpha, beta, sigma, t

SLOTS = {
    "weight": beta[t] ** 2 / (2 * sigma[t] ** 2 * alpha[t] * (1 - abar[t])),
}


def _proof_pending():
    return []


IDENTITIES = [
    Identity(id='eps_loss', problem='P2.4', slots=SLOTS,
             statement='L_{t-1} = beta_t^2/(2 sigma_t^2 alpha_t (1 - abar_t)) E||eps - eps_theta||^2 + C',
             latex='L_{t-1}=\\frac{\\beta_t^2}{2\\sigma_t^2\\alpha_t(1-\\bar\\alpha_t)}\\mathbb E\\|\\epsilon-\\epsilon_\\theta\\|^2+C',
             proof=_proof_pending),
]
