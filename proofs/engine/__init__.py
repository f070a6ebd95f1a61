"""The derivation engine: the trusted kernel (:mod:`.kernel`, the only code that says PROVED), results
and verdicts, operators (expectations, integrals, sums), canonical forms, the counterexample search
(proposals only), derivations and the whitelist parser."""
from __future__ import annotations

from .canonical import apply_meaning, meaning_rules
from .kernel import DEFAULT_BUDGET, HYPOTHESES, RULES, exactly_zero, is_positive, is_real, log_of_positive
from .derivation import Derivation, Induction, InstanceCheck, compare
from .operators import Expectation, GaussianExpectation, canonical, canonical_integrals, gaussian_integral
from .parse import ParseError, parse_expression
from .results import DerivationResult, InstanceResult, Step, StepResult, Verdict, as_expr, point_text

__all__ = ["Derivation", "Induction", "InstanceCheck", "compare", "Step", "StepResult", "DerivationResult",
           "InstanceResult", "Verdict", "as_expr", "Expectation", "GaussianExpectation", "canonical",
           "canonical_integrals", "gaussian_integral", "apply_meaning", "exactly_zero", "is_positive",
           "log_of_positive", "meaning_rules", "ParseError", "parse_expression", "HYPOTHESES", "RULES",
           "DEFAULT_BUDGET", "is_real", "point_text"]
