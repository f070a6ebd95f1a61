"""Problem 3 - denoising score matching (``dsm``), Vincent (2011).

    E_{q_sigma(x~)} ||s(x~) - grad log q_sigma(x~)||^2
      = E_{p(x) q_sigma(x~|x)} ||s(x~) - grad_x~ log q_sigma(x~|x)||^2 + C,   C free of s,

with q_sigma(x~|x) = N(x, sigma^2): the regression target is -(x~ - x)/sigma^2.
"""
from __future__ import annotations

from .identity import Identity
from .symbols import noise_std, x, x_tilde

SLOTS = {
    "target": -(x_tilde - x) / noise_std ** 2,
}


def _proof_pending():
    return []


IDENTITIES = [
    Identity(id='dsm', problem='P3', slots=SLOTS,
             statement='E_q||s - grad log q_sigma||^2 = E_{p q_sigma(x~|x)}||s - grad log q_sigma(x~|x)||^2 + C',
             latex='\\mathbb E_{q_\\sigma(\\tilde x)}\\|s-\\nabla\\log q_\\sigma(\\tilde x)\\|^2=\\mathbb E\\|s-\\nabla_{\\tilde x}\\log q_\\sigma(\\tilde x\\mid x)\\|^2+C',
             proof=_proof_pending),
]
