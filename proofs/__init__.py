"""diffusion-proofs: step-checked SymPy proofs of the identities of denoising diffusion models.

``IDENTITIES`` maps each id (forward_marginal, posterior, posterior_eps, elbo_bound,
elbo_decomposition, eps_loss, dsm, tweedie, score_eps) to its :class:`Identity`;
``check_claim`` checks a user's answer against the proofs.
"""
from __future__ import annotations

from . import dsm, elbo, eps_loss, forward_marginal, posterior, tweedie
from .claims import ClaimError, ClaimVerdict, check_claim
from .derivation import Derivation, Induction, Step, Verdict
from .identity import Identity, IdentityResult
from .parse import ParseError, parse_expression

IDENTITIES: dict[str, Identity] = {
    ident.id: ident
    for module in (forward_marginal, posterior, elbo, eps_loss, dsm, tweedie)
    for ident in module.IDENTITIES
}

__all__ = ["IDENTITIES", "Identity", "IdentityResult", "check_claim", "ClaimVerdict", "ClaimError",
           "Derivation", "Induction", "Step", "Verdict", "parse_expression", "ParseError"]
