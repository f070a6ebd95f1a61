"""Problem 4 - Tweedie's formula (``tweedie``) and the score-epsilon relation (``score_eps``).

Tweedie: theta ~ p(theta), x | theta ~ N(theta, sigma^2)  =>  E[theta | x] = x + sigma^2 d/dx log p(x).
Score-epsilon: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps  =>
E[eps | x_t] = -sqrt(1 - abar_t) grad log p_t(x_t), so s_theta = -eps_theta / sqrt(1 - abar_t).
"""
from __future__ import annotations

import sympy as sp

from .identity import Identity
from .symbols import abar, noise_std, t

SLOTS = {
    "coef": noise_std ** 2,
}

SLOTS_SCORE = {
    "coef": -1 / sp.sqrt(1 - abar[t]),
}


def _proof_pending():
    return []


IDENTITIES = [
    Identity(id='tweedie', problem='P4 lemma', slots=SLOTS,
             statement='E[theta|x] = x + sigma^2 d/dx log p(x)',
             latex='\\mathbb E[\\theta\\mid x]=x+\\sigma^2\\frac{d}{dx}\\log p(x)',
             proof=_proof_pending),
    Identity(id='score_eps', problem='P4', slots=SLOTS_SCORE,
             statement='E[eps|x_t] = -sqrt(1 - abar_t) grad log p_t(x_t), so s_theta = -eps_theta/sqrt(1 - abar_t)',
             latex='s_\\theta(x_t,t)=-\\frac{\\epsilon_\\theta(x_t,t)}{\\sqrt{1-\\bar\\alpha_t}}',
             proof=_proof_pending),
]
