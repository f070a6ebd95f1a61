"""The :class:`Identity` record: one identity of the seed, its claim slots and its proof."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Callable

import sympy as sp

from .engine import Derivation, DerivationResult, InstanceCheck, InstanceResult, Verdict

#: Seconds per step of the suite's own proofs (user claims get kernel.DEFAULT_BUDGET): generous, so
#: that a loaded machine does not turn a proof into UNDECIDED; still a bound, never a hang.
PROOF_BUDGET = 120.0
from .symbols import abar, noise_std, x_tilde

#: How a slot is named in an identity's statement and LaTeX templates: ``<<coef_x0>>``.
PLACEHOLDER = re.compile(r"([+-]\s*)?<<(\w+)>>")

#: LaTeX names of the symbols whose SymPy names are not LaTeX (abar -> \bar\alpha, ...).
LATEX_NAMES = {abar.label: r"\bar{\alpha}", noise_std: r"\sigma", x_tilde: r"\tilde{x}"}


def slot_text(expr: sp.Expr) -> str:
    """A slot expression as text (``sympy.sstr``), in parentheses when it is a sum."""
    text = sp.sstr(expr)
    return f"({text})" if isinstance(expr, sp.Add) else text


def slot_latex(expr: sp.Expr) -> str:
    """A slot expression as LaTeX (``sympy.latex`` with :data:`LATEX_NAMES`), in parentheses when it is a sum."""
    text = sp.latex(expr, symbol_names=LATEX_NAMES)
    return rf"\left({text}\right)" if isinstance(expr, sp.Add) else text


def fill(template: str, slots: dict[str, sp.Expr], render: Callable[[sp.Expr], str]) -> str:
    """``template`` with every ``<<slot>>`` replaced by ``render(slots[slot])``; a sign before a
    negative slot is flipped (``+ <<c>>`` with c = -b gives ``- b``, never ``+ -b``)."""
    def one(match: re.Match) -> str:
        sign, name = match.groups()
        text = render(slots[name])
        if sign and text.startswith("-"):
            return {"+": "-", "-": "+"}[sign[0]] + sign[1:] + text[1:].lstrip()
        return (sign or "") + text
    return PLACEHOLDER.sub(one, template)


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


@dataclass(init=False)
class Identity:
    """One identity of the seed.

    ``slots`` are the quantities a user's answer fills in (see :func:`proofs.check_claim`), each
    mapped to its proved SymPy expression in the symbols of :mod:`proofs.symbols`. ``proof``
    builds the derivations (base case and inductive step, or one chain); ``instances`` build the
    closed-form evaluations on concrete families (Gaussian, Gaussian mixture, polynomial models).

    ``statement`` and ``latex`` are generated from the slots: the identity module writes templates
    (``statement_template``, ``latex_template``) in which ``<<slot>>`` stands for a slot, filled with
    ``sympy.sstr`` and ``sympy.latex`` of the slot's current expression. A template without
    placeholders (an identity with no slots) is used as written.
    """

    id: str
    problem: str
    statement_template: str
    latex_template: str
    slots: dict[str, sp.Expr]
    proof: Callable[[], list[Derivation]]
    instances: Callable[[], list[InstanceCheck]]
    doc: str

    def __init__(self, id: str, problem: str, statement: str, latex: str, slots: dict[str, sp.Expr],
                 proof: Callable[[], list[Derivation]], instances: Callable[[], list[InstanceCheck]] | None = None,
                 doc: str = ""):
        for template in (statement, latex):
            unknown = [m.group(2) for m in PLACEHOLDER.finditer(template) if m.group(2) not in slots]
            if unknown:
                raise ValueError(f"identity {id}: template names unknown slot(s) {unknown}; slots are {sorted(slots)}")
        self.id, self.problem, self.slots, self.proof, self.doc = id, problem, slots, proof, doc
        self.statement_template, self.latex_template = statement, latex
        self.instances = instances if instances is not None else (lambda: [])

    @property
    def statement(self) -> str:
        """The statement in plain text, the slots filled in with ``sympy.sstr``."""
        return fill(self.statement_template, self.slots, slot_text)

    @property
    def latex(self) -> str:
        """The statement in LaTeX, the slots filled in with ``sympy.latex``."""
        return fill(self.latex_template, self.slots, slot_latex)

    def derivations(self) -> list[Derivation]:
        return self.proof()

    def check(self) -> IdentityResult:
        start = time.perf_counter()
        derivations = []
        for d in self.proof():
            if d.budget is None:
                d.budget = PROOF_BUDGET
            derivations.append(d.check())
        instances = [i.check() for i in self.instances()]
        verdict = Verdict.worst([d.verdict for d in derivations] + [i.verdict for i in instances])
        if not any(d.steps for d in derivations):  # no steps is no proof
            verdict = Verdict.UNDECIDED
        return IdentityResult(self.id, self.problem, verdict, derivations, instances,
                              time.perf_counter() - start)
