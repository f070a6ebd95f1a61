"""Problem 2.1 - the forward marginal (``forward_marginal``).

    x_t = sqrt(alpha_t) x_{t-1} + sqrt(1 - alpha_t) eps_t   (eps_t ~ N(0, I) independent)
    =>  x_t | x_0 ~ N(sqrt(abar_t) x_0, (1 - abar_t) I),

i.e. x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps with eps ~ N(0, I): the noise variances
(1 - alpha_t) + alpha_t (1 - alpha_{t-1}) + ... + alpha_t...alpha_2 (1 - alpha_1) telescope to
1 - abar_t.
"""
from __future__ import annotations

import sympy as sp

from .identity import Identity
from .symbols import abar, alpha, beta, t

SLOTS = {
    "mean_coef": sp.sqrt(abar[t]),
    "variance": 1 - abar[t],
}


def _proof_pending():
    return []


IDENTITIES = [
    Identity(id='forward_marginal', problem='P2.1', slots=SLOTS,
             statement='x_t | x_0 ~ N(sqrt(abar_t) x_0, (1 - abar_t) I) for every t >= 1',
             latex='x_t = \\sqrt{\\bar\\alpha_t}\\,x_0 + \\sqrt{1-\\bar\\alpha_t}\\,\\epsilon,\\ \\epsilon\\sim\\mathcal N(0,I)',
             proof=_proof_pending),
]
