"""``conformance diffusers --all``: every scheduler class diffusers ships, with its default config,
checked and summarised in one row each."""
from __future__ import annotations

import logging
import time
import warnings

__all__ = ["scheduler_classes", "check_all", "format_rows"]


def scheduler_classes() -> list:
    """Names of the classes in ``diffusers.schedulers`` whose name ends in "Scheduler" (lazy imports included)."""
    import diffusers.schedulers as schedulers
    return sorted(n for n in dir(schedulers) if n.endswith("Scheduler") and n != "Scheduler")


def _build(name):
    import diffusers.schedulers as schedulers
    try:
        return getattr(schedulers, name)(), None
    except Exception as exc:  # noqa: BLE001 - an optional dependency or a required argument
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return None, f"cannot be built with its defaults: {type(exc).__name__}: {first[:120]}"


def check_all(*, alpha: float = 1e-6, seed: int = 0) -> list:
    """[(name, report or None, build_error or None, seconds)] for every diffusers scheduler class."""
    from .checker import check_scheduler
    from .classify import _UNSUPPORTED
    rows = []
    logger = logging.getLogger("diffusers")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        for name in scheduler_classes():
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                obj, err = _build(name)
                if obj is None:
                    reason = _UNSUPPORTED.get(name)
                    rows.append((name, None, (reason + "; " if reason else "") + err, time.perf_counter() - t0))
                    continue
                try:
                    report = check_scheduler(obj, alpha=alpha, seed=seed)
                except ValueError as exc:  # the DDPM/DDIM path's own input errors
                    rows.append((name, None, f"rejected: {exc}", time.perf_counter() - t0))
                    continue
            rows.append((name, report, None, time.perf_counter() - t0))
    finally:
        logger.setLevel(level)
    return rows


def _findings_text(report) -> str:
    groups = {}
    for f in report.failures:
        groups[(f.identity, f.check)] = groups.get((f.identity, f.check), 0) + 1
    return ", ".join(f"{i}/{c}" for (i, c) in groups) or "-"


def format_rows(rows) -> str:
    lines = [f"{'scheduler':<36} {'status':<11} {'kind':<10} {'order':>6} {'ref':>6}  findings (identity/check) or reason"]
    for name, report, err, _ in rows:
        if report is None:
            lines.append(f"{name:<36} {'UNSUPPORTED':<11} {'-':<10} {'-':>6} {'-':>6}  {err}")
            continue
        order = "-" if report.order is None else f"{report.order:.2f}"
        ref = (report.solver or {}).get("reference_orders") or {}
        ref_o = next(iter(v for k, v in ref.items() if k.endswith("->160")), None)
        ref_s = "-" if ref_o is None else f"{ref_o:.2f}"
        text = report.reason if report.status == "UNSUPPORTED" else _findings_text(report)
        lines.append(f"{name:<36} {report.status:<11} {report.kind:<10} {order:>6} {ref_s:>6}  {text}")
    counts = {}
    for _, report, _, _ in rows:
        key = "UNSUPPORTED" if report is None else report.status
        counts[key] = counts.get(key, 0) + 1
    lines.append(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) +
                 f" ({len(rows)} classes; order: measured PF-ODE order between 80 and 160 steps, ref: the "
                 "paper reference on the same grid)")
    return "\n".join(lines)
