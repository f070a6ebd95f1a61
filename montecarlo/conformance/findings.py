"""The conformance checker's results: :class:`Finding` (one disagreement or remark) and
:class:`ConformanceReport` (every finding of one scheduler, sampler or wrapper, with its status).

Shared by the checker (:mod:`.checker`), the residual checks (:mod:`.residual`), the solver checks
(:mod:`.solvers`) and the adapters of other packages (:mod:`.external`); it imports none of them at
module level, so each can build findings without importing the checker.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["Finding", "ConformanceReport", "FindingsMixin"]


@dataclass(frozen=True)
class Finding:
    """One disagreement (severity "fail") or remark (severity "note").

    ``identity``: a proofs.IDENTITIES id; ``check``: what was compared; ``t``: paper timestep
    (1-based), ``k = t - 1`` the diffusers index; ``rel_error = |observed - expected|/|expected|``
    (inf when expected = 0 and observed is not); ``tolerance``: the absolute tolerance used (for a
    statistical finding, the Holm-adjusted p-value threshold)."""

    identity: str
    check: str
    t: int | None
    expected: float
    observed: float
    rel_error: float
    tolerance: float
    message: str
    severity: str = "fail"
    grid: str = ""
    sigma: float | None = None  # noise level (data-scaled sigma = s/a, or tau for flow matching) where it shows

    @property
    def k(self) -> int | None:
        return None if self.t is None else self.t - 1

    def to_dict(self) -> dict:
        out = {"identity": self.identity, "check": self.check, "t": self.t, "k": self.k, "grid": self.grid,
               "severity": self.severity, "expected": self.expected, "observed": self.observed,
               "rel_error": self.rel_error, "tolerance": self.tolerance, "message": self.message,
               "sigma": self.sigma}
        return {key: (str(v) if isinstance(v, float) and not math.isfinite(v) else v) for key, v in out.items()}


class FindingsMixin:
    """``failures`` and ``notes`` of a record with a ``findings`` list."""

    @property
    def failures(self) -> list:
        return [f for f in self.findings if f.severity == "fail"]

    @property
    def notes(self) -> list:
        return [f for f in self.findings if f.severity == "note"]


@dataclass
class ConformanceReport(FindingsMixin):
    scheduler: str
    T: int
    dtype: str
    prediction_type: str
    variance_type: str
    alpha: float
    seed: int
    findings: list = field(default_factory=list)
    comparisons: int = 0
    stat_tests: int = 0
    noise_mode: str = "exact"
    mde_noise_std_ratio: tuple | None = None  # (lower, upper) detectable at power 0.99
    grids: list = field(default_factory=list)
    tolerance: str = ("deterministic: |obs - exp| <= 8 [(u_p + u_s kappa)|exp| + output rounding]; "
                      "noise not reproducible from the generator: two-sided chi-square, exact for Gaussian noise, Holm")
    kind: str = "posterior"          # montecarlo.conformance.classify: posterior / ode / sde / unsupported
    order: float | None = None       # measured convergence order (deterministic solvers), else None
    reason: str = ""                 # why a scheduler is UNSUPPORTED
    solver: dict = field(default_factory=dict)  # ODE/SDE details: errors per step count, reference, MC design

    @property
    def status(self) -> str:
        """"PASS", "FAIL" (named findings) or "UNSUPPORTED" (``reason`` says why)."""
        if self.kind == "unsupported":
            return "UNSUPPORTED"
        return "FAIL" if self.failures else "PASS"

    @property
    def passed(self) -> bool:
        return self.status == "PASS"


    def groups(self) -> list:
        """Findings grouped by (severity, grid, identity, check): (first finding, count), first by t."""
        groups: dict = {}
        for f in self.findings:
            groups.setdefault((f.severity, f.grid, f.identity, f.check), []).append(f)
        return [(items[0], len(items)) for items in groups.values()]

    def to_dict(self) -> dict:
        return {"scheduler": self.scheduler, "T": self.T, "dtype": self.dtype, "prediction_type": self.prediction_type,
                "variance_type": self.variance_type, "passed": self.passed, "alpha": self.alpha, "seed": self.seed,
                "comparisons": self.comparisons, "stat_tests": self.stat_tests, "noise_mode": self.noise_mode,
                "mde_noise_std_ratio": self.mde_noise_std_ratio, "grids": self.grids, "tolerance": self.tolerance,
                "status": self.status, "kind": self.kind, "order": self.order, "reason": self.reason,
                "solver": _jsonable(self.solver), "findings": [f.to_dict() for f in self.findings]}

    def summary(self) -> str:
        status = self.status
        if status == "UNSUPPORTED":
            return f"UNSUPPORTED: {self.scheduler}: {self.reason}"
        if self.kind != "posterior" or self.solver.get("frame"):
            from .solvers import summary_line
            return summary_line(self)
        text = (f"{status}: {self.scheduler} (T={self.T}, {self.prediction_type}, {self.variance_type}, "
                f"probed in {self.dtype}): {self.comparisons} comparisons, {len(self.failures)} failures, "
                f"{len(self.notes)} notes; noise scale: {self.noise_mode}")
        if self.stat_tests:
            lo, hi = self.mde_noise_std_ratio
            text += (f" ({self.stat_tests} chi-square tests, family-wise alpha={self.alpha:g}, exact; "
                     f"detects std ratio < {lo:.3f} or > {hi:.3f} at power 0.99)")
        if self.order is not None:
            text += f"; PF-ODE (eta=0) measured order {self.order:.2f}"
        return text

    def format_table(self, limit: int | None = 40) -> str:
        lines = [self.summary(), "grids: " + "; ".join(self.grids)]
        groups = self.groups()
        if groups:
            lines.append(f"{'':4} {'identity':<16} {'check':<18} {'t':>5} {'k':>5} {'expected':>12} {'observed':>12} "
                         f"{'rel.err':>9} {'more':>5}  grid / message")
        for f, count in groups[:limit]:
            t = "-" if f.t is None else str(f.t)
            if f.t is None and f.sigma is not None:  # solver findings are located by sigma
                t = f"s={f.sigma:.3g}"
            k = "-" if f.k is None else str(f.k)
            grid = f"[{f.grid}] " if f.grid else ""
            more = f"+{count - 1}" if count > 1 else ""
            if f.severity == "note":
                lines.append(f"note {f.identity:<16} {f.check:<18} {t:>5} {k:>5} {'':>12} {'':>12} {'':>9} {more:>5}  "
                             f"{grid}{f.message}")
                continue
            lines.append(f"FAIL {f.identity:<16} {f.check:<18} {t:>5} {k:>5} {f.expected:>12.6g} "
                         f"{f.observed:>12.6g} {f.rel_error:>9.3g} {more:>5}  {grid}{f.message}")
        if limit is not None and len(groups) > limit:
            lines.append(f"... {len(groups) - limit} more groups (use --json for all)")
        return "\n".join(lines)

    def failure_message(self, limit: int = 25) -> str:
        fails = [(f, n) for f, n in self.groups() if f.severity == "fail"]
        lines = [self.summary()]
        for f, n in fails[:limit]:
            more = f" (and {n - 1} more t)" if n > 1 else ""
            where = f"t={f.t} (k={f.k})" if f.t is not None or f.sigma is None else f"sigma={f.sigma:.4g}"
            lines.append(f"  - {f.identity} / {f.check} at {where} [{f.grid}]: {f.message}{more}")
        if len(fails) > limit:
            lines.append(f"  ... {len(fails) - limit} more")
        return "\n".join(lines)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


# ----- the checker ----------------------------------------------------------------------------------
