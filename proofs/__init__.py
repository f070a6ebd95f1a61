"""diffusion-proofs: step-checked SymPy proofs of the identities of denoising diffusion models.

``IDENTITIES`` maps each id (forward_marginal, posterior, posterior_eps, elbo_bound,
elbo_decomposition, eps_loss, dsm, tweedie, score_eps) to its :class:`Identity`;
``check_claim`` checks a user's answer against the proofs. Pure SymPy: importing this package
loads neither torch nor :mod:`montecarlo`.
"""
from __future__ import annotations

from .claims import ClaimError, ClaimVerdict, check_claim
from .engine import Derivation, Expectation, GaussianExpectation, Induction, Step, Verdict
from .engine.parse import ParseError, parse_expression
from .gaussian import normal_pdf
from .identity import Identity, IdentityResult
from .registry import IDENTITIES

__all__ = ["IDENTITIES", "check_claim", "parse_expression", "Derivation", "Step", "Induction", "Expectation",
           "GaussianExpectation", "Verdict", "normal_pdf", "Identity", "IdentityResult", "ClaimVerdict",
           "ClaimError", "ParseError"]
