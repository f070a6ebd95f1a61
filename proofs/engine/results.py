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
    """PROVED (by the kernel, with its hypotheses and domain), UNDECIDED (neither proved nor refuted:
    evidence only, never counted as holding), REFUTED (a certified counterexample in the domain)."""

    PROVED = "PROVED"
    UNDECIDED = "UNDECIDED"
    REFUTED = "REFUTED"

    @staticmethod
    def worst(verdicts: Iterable["Verdict"]) -> "Verdict":
        """REFUTED if any, else UNDECIDED if any (or if there is nothing at all), else PROVED."""
        verdicts = list(verdicts)
        if not verdicts:
            return Verdict.UNDECIDED  # nothing checked proves nothing
        for v in (Verdict.REFUTED, Verdict.UNDECIDED):
            if v in verdicts:
                return v
        return Verdict.PROVED


def point_text(point: dict | None, digits: int = 4) -> str:
    """A counterexample point for people: values to ``digits`` significant digits (exact rationals
    "p/q" are shown rounded; the point itself keeps them exact)."""
    if not point:
        return "{}"
    def fmt(v):
        if isinstance(v, str) and "/" in v:
            p, q = v.split("/")
            v = int(p) / int(q)
        return f"{v:.{digits}g}" if isinstance(v, float) else str(v)
    return "{" + ", ".join(f"{k}: {fmt(v)}" for k, v in point.items()) + "}"


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
    hypotheses: tuple = ()

    def __post_init__(self):
        if self.relation not in ("=", ">="):
            raise ValueError(f"Step relation must be '=' or '>=', got {self.relation!r}")
        self.hypotheses = (self.hypotheses,) if isinstance(self.hypotheses, str) else tuple(self.hypotheses)


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
    values: tuple | None = None        # (lhs, rhs) at the counterexample, complex where not real
    hypotheses: tuple = ()             # what a PROVED verdict rests on (declared or undecided premises)
    domain: str | None = None          # the narrowed domain of a PROVED verdict ("t >= 2; undefined at t = 1")
    certificate: object = None         # the kernel's token: required for PROVED
    exact_point: dict | None = None    # REFUTED: the certified point exactly, values as rational strings "p/q"

    def __post_init__(self):
        # the kernel's token, recognised without importing the kernel (which imports this module)
        token = type(self.certificate)
        if self.verdict is Verdict.PROVED and (token.__module__, token.__name__) != ("proofs.engine.kernel", "_Token"):
            raise ValueError("only the kernel (proofs.engine.kernel.conclude) can say PROVED")

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
            "hypotheses": list(self.hypotheses),
            "domain": self.domain,
            "exact_point": self.exact_point,
        }


@dataclass
class DerivationResult:
    title: str
    assumptions: str
    steps: list[StepResult]
    seconds: float

    @property
    def verdict(self) -> Verdict:
        """The worst step verdict; a chain with no link (a single expression) proves nothing."""
        return Verdict.worst(s.verdict for s in self.steps)

    @property
    def hypotheses(self) -> list[str]:
        return list(dict.fromkeys(h for s in self.steps for h in s.hypotheses))

    @property
    def domains(self) -> list[str]:
        return list(dict.fromkeys(s.domain for s in self.steps if s.domain))

    @property
    def failing(self) -> StepResult | None:
        return next((s for s in self.steps if s.verdict is not Verdict.PROVED), None)

    def to_dict(self) -> dict:
        return {
            "title": self.title,
            "assumptions": self.assumptions,
            "verdict": self.verdict.value,
            "seconds": round(self.seconds, 4),
            "hypotheses": self.hypotheses,
            "domains": self.domains,
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
