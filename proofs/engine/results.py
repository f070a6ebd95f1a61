"""Verdicts and result records of the derivation engine."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import sympy as sp


def as_expr(e) -> sp.Basic:
    """A SymPy object from a SymPy object or a number; text is refused (it would be eval'd by
    sympify): parse it with :func:`proofs.parse.parse_expression`."""
    if isinstance(e, str):
        raise ValueError(f"got the text {e!r}: build a SymPy expression or use proofs.parse_expression")
    return sp.sympify(e, strict=True)


class Verdict(str, enum.Enum):
    PROVED = "PROVED"
    NUMERIC = "NUMERIC"
    REFUTED = "REFUTED"

    @staticmethod
    def worst(verdicts: Iterable["Verdict"]) -> "Verdict":
        order = [Verdict.REFUTED, Verdict.NUMERIC, Verdict.PROVED]
        verdicts = list(verdicts)
        for v in order:
            if v in verdicts:
                return v
        return Verdict.PROVED


@dataclass
class Step:
    """One link of a chain: ``expr`` follows from the previous expression by ``reason``.

    ``relation`` is ``"="`` or ``">="`` (previous >= this). ``given`` are substitutions the step
    uses (an inductive hypothesis, Bayes' rule, a lemma), applied to both sides of this link.
    ``positive_change`` (for ``>=``) is an optional change of variables ``{old: new}`` with a
    single new positive variable used to prove the inequality by convexity.
    """

    expr: sp.Expr
    reason: str
    relation: str = "="
    given: Mapping = field(default_factory=dict)
    positive_change: Mapping | None = None

    def __post_init__(self):
        if self.relation not in ("=", ">="):
            raise ValueError(f"Step relation must be '=' or '>=', got {self.relation!r}")


@dataclass
class StepResult:
    index: int
    reason: str
    relation: str
    verdict: Verdict
    method: str
    seconds: float
    lhs: sp.Expr
    rhs: sp.Expr
    counterexample: dict | None = None
    lhs_value: float | None = None
    rhs_value: float | None = None

    def to_dict(self) -> dict:
        return {
            "index": self.index,
            "reason": self.reason,
            "relation": self.relation,
            "verdict": self.verdict.value,
            "method": self.method,
            "seconds": round(self.seconds, 4),
            "lhs": sp.latex(self.lhs),
            "rhs": sp.latex(self.rhs),
            "counterexample": self.counterexample,
            "lhs_value": self.lhs_value,
            "rhs_value": self.rhs_value,
        }


@dataclass
class DerivationResult:
    title: str
    assumptions: str
    steps: list[StepResult]
    seconds: float

    @property
    def verdict(self) -> Verdict:
        return Verdict.worst(s.verdict for s in self.steps)

    @property
    def failing(self) -> StepResult | None:
        return next((s for s in self.steps if s.verdict is not Verdict.PROVED), None)

    def to_dict(self) -> dict:
        return {
            "title": self.title,
            "assumptions": self.assumptions,
            "verdict": self.verdict.value,
            "seconds": round(self.seconds, 4),
            "steps": [s.to_dict() for s in self.steps],
        }


@dataclass
class InstanceResult:
    title: str
    verdict: Verdict
    lhs: str
    rhs: str
    detail: str
    seconds: float

    def to_dict(self) -> dict:
        return {"title": self.title, "verdict": self.verdict.value, "lhs": self.lhs, "rhs": self.rhs,
                "detail": self.detail, "seconds": round(self.seconds, 4)}
