"""The :class:`Identity` record: one identity of the seed, its claim slots and its proof."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import sympy as sp

from .engine import Derivation, DerivationResult, InstanceCheck, InstanceResult, Verdict


@dataclass
class IdentityResult:
    """The outcome of checking one identity: every derivation and every closed-form instance."""

    id: str
    problem: str
    verdict: Verdict
    derivations: list[DerivationResult]
    instances: list[InstanceResult]
    seconds: float

    @property
    def steps(self) -> int:
        return sum(len(d.steps) for d in self.derivations)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "problem": self.problem,
            "verdict": self.verdict.value,
            "steps": self.steps,
            "seconds": round(self.seconds, 4),
            "derivations": [d.to_dict() for d in self.derivations],
            "instances": [i.to_dict() for i in self.instances],
        }


@dataclass
class Identity:
    """One identity of the seed.

    ``slots`` are the quantities a user's answer fills in (see :func:`proofs.check_claim`), each
    mapped to its proved SymPy expression in the symbols of :mod:`proofs.symbols`. ``proof``
    builds the derivations (base case and inductive step, or one chain); ``instances`` build the
    closed-form evaluations on concrete families (Gaussian, Gaussian mixture, polynomial models).
    """

    id: str
    problem: str
    statement: str
    latex: str
    slots: dict[str, sp.Expr]
    proof: Callable[[], list[Derivation]]
    instances: Callable[[], list[InstanceCheck]] = field(default=lambda: [])
    doc: str = ""

    def derivations(self) -> list[Derivation]:
        return self.proof()

    def check(self) -> IdentityResult:
        start = time.perf_counter()
        derivations = [d.check() for d in self.proof()]
        instances = [i.check() for i in self.instances()]
        verdict = Verdict.worst([d.verdict for d in derivations] + [i.verdict for i in instances])
        if not any(d.steps for d in derivations):  # no steps is no proof
            verdict = Verdict.REFUTED
        return IdentityResult(self.id, self.problem, verdict, derivations, instances,
                              time.perf_counter() - start)
