"""Problem 2.3 - the variational bound (``elbo_bound``) and its decomposition (``elbo_decomposition``).

Bound:  E_q[log q(x_{1:T}|x_0) / p_theta(x_{0:T})] >= -E_q log p_theta(x_0)
        (= E_q KL(q(x_{1:T}|x_0) || p_theta(x_{1:T}|x_0)) - E_q log p_theta(x_0), and KL >= 0).
Decomposition, pointwise and for every T >= 1:
        log q(x_{1:T}|x_0)/p_theta(x_{0:T})
          = log q(x_T|x_0)/p(x_T) + sum_{t=2}^T log q(x_{t-1}|x_t,x_0)/p_theta(x_{t-1}|x_t) - log p_theta(x_0|x_1),
whose expectation is L_T + sum_{t=2}^T L_{t-1} + L_0.
"""
from __future__ import annotations

from .identity import Identity
from .symbols import t


def _proof_pending():
    return []


IDENTITIES = [
    Identity(id='elbo_bound', problem='P2.3', slots={},
             statement='E_q[log q(x_{1:T}|x_0)/p_theta(x_{0:T})] >= -E_q log p_theta(x_0)',
             latex='\\mathbb E_q\\Big[\\log\\frac{q(x_{1:T}\\mid x_0)}{p_\\theta(x_{0:T})}\\Big]\\ge-\\mathbb E_q\\log p_\\theta(x_0)',
             proof=_proof_pending),
    Identity(id='elbo_decomposition', problem='P2.3', slots={},
             statement='log q(x_{1:T}|x_0)/p(x_{0:T}) = log q(x_T|x_0)/p(x_T) + sum_{t=2}^T log q(x_{t-1}|x_t,x_0)/p(x_{t-1}|x_t) - log p(x_0|x_1), every T',
             latex='L=L_T+\\sum_{t=2}^T L_{t-1}+L_0',
             proof=_proof_pending),
]
