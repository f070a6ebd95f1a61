"""The derivation engine: results and verdicts, operators (expectations, integrals, sums),
canonical forms and the positivity oracle, the counterexample search, derivations and the
whitelist parser."""
from __future__ import annotations

from .canonical import apply_meaning, exactly_zero, is_positive, log_of_positive, meaning_rules
from .derivation import Derivation, Induction, InstanceCheck, compare
from .operators import Expectation, GaussianExpectation, canonical, canonical_integrals, gaussian_integral
from .parse import ParseError, parse_expression
from .results import DerivationResult, InstanceResult, Step, StepResult, Verdict, as_expr

__all__ = ["Derivation", "Induction", "InstanceCheck", "compare", "Step", "StepResult", "DerivationResult",
           "InstanceResult", "Verdict", "as_expr", "Expectation", "GaussianExpectation", "canonical",
           "canonical_integrals", "gaussian_integral", "apply_meaning", "exactly_zero", "is_positive",
           "log_of_positive", "meaning_rules", "ParseError", "parse_expression"]
