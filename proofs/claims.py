"""Checking a user's answer (a *claim*) against the proved identities.

``check_claim("posterior", coef_x0=sqrt(abar[t-1])*beta[t]/(1-abar[t]))`` compares each given
slot with the expression the proof established, through the kernel: PROVED (exactly equal on the
domain of the symbols; ``holds`` is True), REFUTED with a certified counterexample point, the
claimed and the proved values (``holds`` is False), or UNDECIDED (``holds`` is None: neither, for
example when the time budget ran out; never counted as holding). Omitted slots take the proved
value.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import sympy as sp

from .engine import StepResult, Verdict, compare
from .engine.results import point_text
from .registry import IDENTITIES
from .symbols import PUBLIC, SEQUENCE_NAMES, family, t


@dataclass
class SlotResult:
    slot: str
    claimed: sp.Expr
    proved: sp.Expr
    verdict: Verdict
    counterexample: dict | None
    claimed_value: float | None
    proved_value: float | None
    domain: str | None = None
    method: str = ""


@dataclass
class ClaimVerdict:
    """``holds`` is True only when every given slot is PROVED equal to the proved value, False when
    one is REFUTED (``counterexample`` is then a point of the domain, symbol name -> value, where
    the first failing slot differs), and None when the kernel could not decide (UNDECIDED)."""

    identity: str
    holds: bool | None
    verdict: Verdict
    counterexample: dict | None
    detail: str
    slots: list[SlotResult] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "identity": self.identity,
            "holds": self.holds,
            "verdict": self.verdict.value,
            "domain": [s.domain for s in self.slots if s.domain],
            "counterexample": self.counterexample,
            "detail": self.detail,
            "seconds": round(self.seconds, 4),
            "slots": [{"slot": s.slot, "claimed": str(s.claimed), "proved": str(s.proved),
                       "verdict": s.verdict.value, "counterexample": s.counterexample,
                       "claimed_value": s.claimed_value, "proved_value": s.proved_value} for s in self.slots],
        }


class ClaimError(ValueError):
    """A claim that cannot be checked: unknown identity, slot or symbol, or a non-expression."""


def _validate(identity_id: str, slot: str, value) -> sp.Expr:
    if isinstance(value, str):
        raise ClaimError(
            f"slot {slot!r} of {identity_id!r} got the text {value!r}: pass a SymPy expression built from "
            "proofs.symbols, or parse text safely with proofs.parse_expression")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = sp.nsimplify(value) if isinstance(value, float) else sp.Integer(value)
    if not isinstance(value, sp.Basic) or not isinstance(value, sp.Expr):
        raise ClaimError(f"slot {slot!r} of {identity_id!r} must be a SymPy expression, got {type(value).__name__}: {value!r}")
    if value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise ClaimError(f"slot {slot!r} of {identity_id!r} is not finite: {value}")
    allowed = {s for s in PUBLIC.values() if isinstance(s, sp.Symbol)}
    from . import paths  # the Gaussian-path identities speak in their own symbols (a_t, s_t, ...)
    if any(i.id == identity_id for i in paths.IDENTITIES):
        allowed |= {s for s in paths.SYMBOLS.values() if isinstance(s, sp.Symbol)}
    for item in value.atoms(sp.Indexed):
        if family(item) not in SEQUENCE_NAMES:
            raise ClaimError(f"slot {slot!r}: unknown sequence {item.base} in {value}; known: alpha, beta, abar, sigma")
        off = sp.expand(item.indices[0] - t)
        if not (off.is_Integer or sp.expand(item.indices[0]).is_Integer):
            raise ClaimError(f"slot {slot!r}: index {item.indices[0]} of {item} must be t plus an integer, or an integer")
    unknown = {s for s in value.free_symbols
               if not isinstance(s, sp.Indexed) and s not in allowed and str(s) not in SEQUENCE_NAMES}
    if unknown:
        raise ClaimError(
            f"slot {slot!r} of {identity_id!r} uses unknown symbol(s) {sorted(map(str, unknown))}; "
            f"known: {', '.join(PUBLIC)} (see proofs.symbols)")
    return value


def check_claim(identity_id: str, *, budget: float | None = None, **slots) -> ClaimVerdict:
    """Check a user's answer to one identity, slot by slot, against the proof. ``budget``: seconds
    per slot (default :data:`proofs.engine.kernel.DEFAULT_BUDGET`); when it runs out the slot is
    UNDECIDED ("budget exhausted")."""
    start = time.perf_counter()
    if identity_id not in IDENTITIES:
        raise ClaimError(f"unknown identity {identity_id!r}; known: {', '.join(IDENTITIES)}")
    identity = IDENTITIES[identity_id]
    if not identity.slots:
        raise ClaimError(f"identity {identity_id!r} has no claim slots (it is an identity without free coefficients)")
    unknown = [s for s in slots if s not in identity.slots]
    if unknown:
        raise ClaimError(f"unknown slot(s) {unknown} for {identity_id!r}; slots: {', '.join(identity.slots)}")
    results: list[SlotResult] = []
    for name, proved in identity.slots.items():
        claimed = _validate(identity_id, name, slots[name]) if name in slots else proved
        r: StepResult = compare(claimed, proved, f"{identity_id}.{name}", budget=budget, real_rhs=True)
        results.append(SlotResult(name, claimed, proved, r.verdict, r.counterexample, r.lhs_value, r.rhs_value,
                                  r.domain, r.method))
    failing = next((r for r in results if r.verdict is Verdict.REFUTED), None)
    verdict = Verdict.worst(r.verdict for r in results)
    if failing is not None:
        def val(v):
            return f"{v:.6g}" if v is not None else "(not a real number)"
        where = f" at {point_text(failing.counterexample)}" if failing.counterexample else " (no point of the domain where both are real)"
        detail = (f"{identity_id}.{failing.slot} is wrong: claimed {failing.claimed} = {val(failing.claimed_value)} "
                  f"but the proof gives {failing.proved} = {val(failing.proved_value)}{where}")
        return ClaimVerdict(identity_id, False, verdict, failing.counterexample, detail, results,
                            time.perf_counter() - start)
    given = ", ".join(slots) or "no slots (the proved values)"
    if verdict is not Verdict.PROVED:
        open_ = next(r for r in results if r.verdict is not Verdict.PROVED)
        return ClaimVerdict(identity_id, None, verdict, None,
                            f"{identity_id}.{open_.slot}: UNDECIDED, neither proved nor refuted: {open_.method}",
                            results, time.perf_counter() - start)
    domains = "; ".join(f"{r.slot}: {r.domain}" for r in results if r.domain)
    where = f" (on the narrowed domain: {domains})" if domains else ""
    return ClaimVerdict(identity_id, True, verdict, None,
                        f"{identity_id}: {given} agree with the proof exactly (symbolic proof){where}",
                        results, time.perf_counter() - start)
