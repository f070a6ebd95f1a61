"""Errata of the seed homework: a verdict for every displayed equation and every ``=`` step.

The transcription (LaTeX as written, typos included, and the SymPy comparisons that decide each
line) lives in :mod:`proofs.errata.data`. This module runs those comparisons with the derivation
engine (:class:`proofs.derivation.Derivation`, ``log_domain=True`` for densities) and computes
each verdict at run time:

* ``holds``: every comparison is PROVED (exact), or agrees numerically (said so in the detail);
* ``wrong``: a comparison is REFUTED; the detail gives the engine's counterexample (a point of the
  domain, or the discrete instance, with both sides' values) and the correction, whose own
  comparisons must hold;
* ``notation``: ill-formed as written (the entry states the intended meaning), and the intended
  meaning holds;
* ``error``: the verdict could not be computed (a comparison failed to run, or a correction
  does not hold). ``diffusion-proofs errata`` exits 1 only then.

``errata_table(markdown=True)`` renders the table; ``errata_json()`` gives a list of objects with
problem, index, latex, verdict, detail (and context, form, counterexample, values, correction).
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import sympy as sp

from ..engine.results import point_text
from ..engine import Derivation, Step, StepResult, Verdict

VERDICTS = ("holds", "wrong", "notation", "error")


@dataclass
class CheckOutcome:
    """One engine comparison: the check (with the expressions actually compared) and its result."""

    check: object  # proofs.errata.data.Check
    result: StepResult

    def to_dict(self) -> dict:
        r = self.result
        return {"label": self.check.label, "relation": self.check.relation, "verdict": r.verdict.value,
                "method": r.method, "counterexample": r.counterexample, "lhs_value": r.lhs_value,
                "rhs_value": r.rhs_value}

    def line(self) -> str:
        r = self.result
        text = f"{self.check.label}: {r.verdict.value}"
        if r.verdict is Verdict.REFUTED:
            text += f" ({_values(r)})"
        return text


@dataclass
class ErrataEntry:
    problem: str
    index: int
    latex: str
    context: str
    form: str
    method: str
    verdict: str
    detail: str
    counterexample: dict | None = None
    lhs_value: float | None = None
    rhs_value: float | None = None
    correction: str | None = None
    notation: str | None = None
    checks: list[CheckOutcome] = field(default_factory=list)
    correction_checks: list[CheckOutcome] = field(default_factory=list)
    notes: list[CheckOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failing(self) -> CheckOutcome | None:
        """The first refuted comparison (the counterexample's), if any."""
        return next((c for c in self.checks if c.result.verdict is Verdict.REFUTED), None)

    def to_dict(self) -> dict:
        return {
            "problem": self.problem, "index": self.index, "latex": self.latex, "verdict": self.verdict,
            "detail": self.detail, "context": self.context, "form": self.form, "method": self.method,
            "counterexample": self.counterexample, "lhs_value": self.lhs_value, "rhs_value": self.rhs_value,
            "correction": self.correction, "notation": self.notation,
            "checks": [c.to_dict() for c in self.checks],
            "correction_checks": [c.to_dict() for c in self.correction_checks],
            "notes": [c.to_dict() for c in self.notes],
            "seconds": round(self.seconds, 3),
        }


def _values(r: StepResult) -> str:
    where = point_text(r.counterexample) if r.counterexample \
        else "the instance"
    lhs = "?" if r.lhs_value is None else f"{r.lhs_value:.6g}"
    rhs = "?" if r.rhs_value is None else f"{r.rhs_value:.6g}"
    return f"at {where}: left {lhs} vs right {rhs}"


def run_check(check) -> CheckOutcome:
    """Compare ``check.lhs`` with ``check.rhs`` using the engine."""
    d = Derivation(check.label, [Step(check.lhs, "left side"),
                                 Step(check.rhs, check.label, relation=check.relation, given=dict(check.given))],
                   log_domain=check.log_domain, domains=dict(check.domains))
    return CheckOutcome(check, d.check().steps[0])


def _form(check) -> str:
    text = f"{sp.sstr(check.lhs)}  {check.relation}  {sp.sstr(check.rhs)}"
    return text if len(text) <= 600 else text[:600] + " ..."


def check_entry(entry) -> ErrataEntry:
    """Run one entry's comparisons and compute its verdict."""
    t0 = time.perf_counter()
    base = dict(problem=entry.problem, index=entry.index, latex=entry.latex, context=entry.context)
    try:
        spec = entry.build()
        if not spec.checks:
            raise ValueError("the entry has no comparison to decide it")
        checks = [run_check(c) for c in spec.checks]
    except Exception as exc:  # a transcription that cannot be evaluated has no verdict
        return ErrataEntry(**base, form="", method="", verdict="error",
                           detail=f"could not compute: {type(exc).__name__}: {exc}", seconds=time.perf_counter() - t0)
    notes = [run_check(c) for c in spec.notes]
    out = ErrataEntry(**base, form=_form(spec.checks[0]), method=spec.method, verdict="holds", detail="",
                      correction=spec.correction, notation=spec.notation, checks=checks, notes=notes)
    failing = out.failing
    broken = next((c for c in checks if c.result.method.startswith("could not")), None)
    if broken is not None:
        out.verdict, out.detail = "error", f"could not compute: {broken.check.label}: {broken.result.method}"
    elif failing is not None:
        out.counterexample = failing.result.counterexample or {"instance": failing.check.label}
        out.lhs_value, out.rhs_value = failing.result.lhs_value, failing.result.rhs_value
        out.correction_checks = [run_check(c) for c in spec.correction_checks]
        bad = [c for c in out.correction_checks if c.result.verdict is Verdict.REFUTED]
        if not spec.correction or not out.correction_checks or bad:
            out.verdict = "error"
            out.detail = (f"refuted ({failing.check.label}, {_values(failing.result)}) but the correction "
                          + ("is missing" if not out.correction_checks else f"does not hold: {bad[0].line()}"))
        else:
            out.verdict = "wrong"
            how = _how(out.correction_checks)
            out.detail = (f"WRONG: {failing.check.label} fails {_values(failing.result)}. "
                          f"Correction: {spec.correction} [{how}]."
                          + (f" Also notation: {spec.notation}." if spec.notation else ""))
    else:
        how = _how(checks)
        if spec.notation:
            out.verdict = "notation"
            out.detail = f"NOTATION: {spec.notation}. Intended meaning checked [{how}]: {spec.method}."
        else:
            out.detail = f"{how}: {spec.method}."
    if notes and out.verdict != "error":
        out.detail += " Notes: " + "; ".join(n.line() for n in notes) + "."
    out.seconds = time.perf_counter() - t0
    return out


def _how(outcomes: list[CheckOutcome]) -> str:
    verdicts = {c.result.verdict for c in outcomes}
    n = len(outcomes)
    if verdicts == {Verdict.PROVED}:
        return f"{n} comparison{'s' if n > 1 else ''} PROVED"
    undecided = sum(c.result.verdict is Verdict.UNDECIDED for c in outcomes)
    return f"{n - undecided} PROVED, {undecided} UNDECIDED (neither proved nor refuted)"


def errata(entries=None) -> list[ErrataEntry]:
    """Verdicts for every transcribed entry (default: all of :data:`proofs.errata.data.ENTRIES`)."""
    if entries is None:
        from .data import ENTRIES as entries
    return [check_entry(e) for e in entries]


def counts(results: list[ErrataEntry]) -> dict[str, int]:
    c = Counter(r.verdict for r in results)
    return {v: c.get(v, 0) for v in VERDICTS}


def errata_json(results: list[ErrataEntry] | None = None) -> list[dict]:
    """The errata as JSON-ready objects (problem, index, latex, verdict, detail, ...)."""
    return [r.to_dict() for r in (errata() if results is None else results)]


def _cell(text: str, limit: int | None = None) -> str:
    text = " ".join(str(text).split())
    if limit and len(text) > limit:
        text = text[: limit - 1] + "\u2026"
    return text.replace("|", "\\|")


def errata_table(markdown: bool = True, results: list[ErrataEntry] | None = None) -> str:
    """The errata table: Markdown (LaTeX shortened to 90 characters; JSON has it whole) or plain text."""
    results = errata() if results is None else results
    c = counts(results)
    summary = (f"{len(results)} entries: {c['holds']} holds, {c['wrong']} wrong, {c['notation']} notation"
               + (f", {c['error']} error" if c["error"] else ""))
    if not markdown:
        rows = [f"{r.problem:<5} {r.index:>2}  {r.verdict:<8}  {_cell(r.latex, 70)}\n{'':11}{_cell(r.detail)}"
                for r in results]
        return summary + "\n\n" + "\n".join(rows) + "\n"
    lines = [summary, "", "| Problem | # | As written (LaTeX) | Verdict | Detail |", "|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.problem} | {r.index} | `{_cell(r.latex, 90)}` | **{r.verdict}** | {_cell(r.detail)} |")
    return "\n".join(lines) + "\n"


__all__ = ["errata", "errata_table", "errata_json", "check_entry", "run_check", "counts", "ErrataEntry",
           "CheckOutcome", "VERDICTS"]
