"""The registry of identities: every identity of the seed, by id, in the seed's order."""
from __future__ import annotations

from . import dsm, elbo, eps_loss, forward_marginal, paths, posterior, tweedie
from .identity import Identity

IDENTITIES: dict[str, Identity] = {
    ident.id: ident
    for module in (forward_marginal, posterior, elbo, eps_loss, dsm, tweedie, paths)
    for ident in module.IDENTITIES
}

__all__ = ["IDENTITIES"]
