"""Monte Carlo confirmation of the proved identities on a small torch kernel (CPU or CUDA).

Public surface: ``confirm(identity_id, schedule, claim=None, ...)`` (:mod:`montecarlo.confirmation`),
``Schedule`` (:mod:`montecarlo.schedules`), ``forward_chain`` (:mod:`montecarlo.kernel`) and
``check_scheduler`` (:mod:`montecarlo.conformance`). Imports :mod:`proofs` (downward), never the
application layer :mod:`diffusion_proofs`.
"""
from __future__ import annotations

from .confirmation import MCVerdict, confirm, confirm_all
from .conformance import check_scheduler
from .kernel import forward_chain
from .schedules import Schedule

__all__ = ["confirm", "confirm_all", "MCVerdict", "Schedule", "forward_chain", "check_scheduler"]
