"""``diffusion-proofs verify``: prove every identity (SymPy) and confirm it by Monte Carlo."""
from __future__ import annotations

import argparse
import json
import math
import time

from . import options


def add_cli_arguments(p: argparse.ArgumentParser) -> None:
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--symbolic", action="store_true", help="only the SymPy proofs")
    kind.add_argument("--mc", action="store_true", help="only the Monte Carlo confirmations")
    p.add_argument("--device", type=options.device, default="cpu", help="torch device for Monte Carlo (cpu, cuda)")
    p.add_argument("--alpha", type=options.probability, default=1e-6,
                   help="family-wise false-alarm rate per Monte Carlo check, in (0, 1) (default 1e-6)")
    p.add_argument("--seed", type=options.non_negative_int, default=0, help="seed of the Monte Carlo checks")
    p.add_argument("--json", action="store_true", help="print a JSON list of {id, kind, verdict, seconds, ...}")


def symbolic_results(ids=None):
    from proofs import IDENTITIES

    ids = list(IDENTITIES) if ids is None else ids
    return [IDENTITIES[i].check() for i in options.progress(ids, desc="proofs")]


def mc_verdicts(*, alpha, seed, device, ids=None):
    """``montecarlo.confirm`` of every identity, one bar step each."""
    import proofs
    from montecarlo.confirmation import confirm
    from montecarlo.schedules import Schedule

    ids = list(proofs.IDENTITIES) if ids is None else ids
    schedule = Schedule.linear(1000)
    bar = options.progress(ids, desc="Monte Carlo")
    out = []
    for i in bar:
        bar.set_postfix_str(i)
        out.append(confirm(i, schedule, alpha=alpha, seed=seed, device=device))
    return out


def _conditions(r) -> tuple[list[str], list[str]]:
    """The hypotheses (declared or premises used) and narrowed domains an identity's proof rests on."""
    hyps = list(dict.fromkeys(h for d in r.derivations for h in d.hypotheses))
    doms = list(dict.fromkeys(x for d in r.derivations for x in d.domains))
    return hyps, doms


def _conditions_text(results) -> list[str]:
    lines = []
    for r in results:
        hyps, doms = _conditions(r)
        named = sorted({h.split(":")[0] for h in hyps if not h.startswith("given:")})
        given = sum(h.startswith("given:") for h in hyps)
        parts = named + ([f"{given} premise{'s' if given > 1 else ''} (given)"] if given else [])
        parts += [f"domain {d}" for d in doms]
        if parts:
            lines.append(f"  {r.id}: " + "; ".join(parts))
    return lines


def _symbolic_rows(results):
    return [{"id": r.id, "kind": "symbolic", "problem": r.problem, "verdict": r.verdict.value,
             "steps": r.steps, "instances": len(r.instances), "seconds": round(r.seconds, 3),
             "hypotheses": _conditions(r)[0], "domains": _conditions(r)[1],
             "derivations": [d.to_dict() for d in r.derivations],
             "instance_results": [i.to_dict() for i in r.instances]} for r in results]


def _failures_text(results) -> list[str]:
    lines = []
    for r in results:
        for d in r.derivations:
            for s in d.steps:
                if s.verdict.value != "PROVED":
                    lines.append(f"  {r.id}: '{d.title}' step {s.index} ({s.reason}): {s.verdict.value}, "
                                 f"{s.method}" + (f"; at {_point_text(s.counterexample)}: lhs = {s.lhs_value}, rhs = {s.rhs_value}"
                                                  if s.counterexample else ""))
        for i in r.instances:
            if i.verdict.value != "PROVED":
                lines.append(f"  {r.id}: instance '{i.title}': {i.verdict.value}, {i.detail}")
    return lines


def _finite_or_none(x):
    return x if isinstance(x, float) and math.isfinite(x) else None


def _finite_or_str(d):
    return None if d is None else {k: (x if isinstance(x, float) and math.isfinite(x) else str(x)) for k, x in d.items()}


def _mc_rows(verdicts):
    # per slot: mde / mde_worst_cell (relative error of that slot; "inf" where no test sees it);
    # p_value is the Holm-adjusted family p = min(1, m p_min), shown with the raw p_min and m
    return [{"id": v.identity, "kind": "mc", "verdict": "PASSED" if v.passed else "FAILED",
             "p_value": v.p_value, "p_min": _finite_or_none(getattr(v, "p_min", None)), "m": getattr(v, "m", None),
             "alpha": getattr(v, "alpha", None),
             "rate": "exact" if getattr(v, "exact", False) else "asymptotic", "mde": _finite_or_str(v.mde),
             "mde_worst_cell": _finite_or_str(getattr(v, "mde_worst", None)),
             "mde_kind": dict(getattr(v, "mde_kind", None) or {}),
             "covariance": getattr(v, "mde_aux", {}).get("covariance"),
             "failed_slots": getattr(v, "failed_slots", []),
             "samples": v.samples, "seconds": round(v.seconds, 3)} for v in verdicts]


def table(rows, columns) -> str:
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) if cells else len(c) for i, c in enumerate(columns)]
    out = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(out)


def _pct(x: float) -> str:
    """A relative error as a percentage, with two significant digits below 0.01% (never a bare 0.00%)."""
    if x == math.inf:
        return "inf"
    return f"{x:.2%}" if x >= 1e-4 or x == 0 else f"{100 * x:.2g}%"


def _fmt_mde(mde):
    if isinstance(mde, dict):
        worst = max((float(v) for v in mde.values() if isinstance(v, (int, float)) or v == "inf"), default=None)
        return "n/a" if worst is None else _pct(worst)
    return "n/a" if mde is None else (_pct(mde) if isinstance(mde, float) else str(mde))


def _fmt_kind(kinds: dict) -> str:
    """How the slots' MDEs are measured: "stat" (a test with a stated false-alarm rate and power), "gate"
    (a deterministic check: the MDE is the smallest error that certainly fails it), mixed, or "none"."""
    parts = {"statistical": ("stat",), "deterministic": ("gate",), "both": ("stat", "gate"), "none": ("none",)}
    got = {p for k in kinds.values() for p in parts.get(k, (str(k),))}
    return "+".join(p for p in ("stat", "gate", "none") if p in got) or "-"


def run_cli(args) -> int:
    """Exit 0 every proof PROVED and every Monte Carlo check passed, 1 otherwise."""
    do_sym = args.symbolic or not args.mc
    do_mc = args.mc or not args.symbolic
    rows, ok = [], True
    t0 = time.perf_counter()
    if do_sym:
        results = symbolic_results()
        rows += _symbolic_rows(results)
        ok &= all(r.verdict.value == "PROVED" for r in results)
        if not args.json:
            print(table(rows, ["id", "problem", "steps", "instances", "verdict", "seconds"]))
            fails = _failures_text(results)
            if fails:
                print("\nnot proved:\n" + "\n".join(fails))
            under = _conditions_text(results)
            if under:
                print("\nproved under (declared hypotheses, premises the kernel could not decide, narrowed domains; "
                      "--json lists them):\n" + "\n".join(under))
    if do_mc:
        verdicts = mc_verdicts(alpha=args.alpha, seed=args.seed, device=args.device)
        mc = _mc_rows(verdicts)
        rows += mc
        ok &= all(v.passed for v in verdicts)
        if not args.json:
            print()
            shown = [{**r, "holm p": f"{r['p_value']:.3g}", "p_min": "-" if r["p_min"] is None else f"{r['p_min']:.3g}",
                      "mde": _fmt_mde(r["mde"]), "worst cell": _fmt_mde(r["mde_worst_cell"]),
                      "mde by": _fmt_kind(r["mde_kind"])} for r in mc]
            print(table(shown, ["id", "verdict", "holm p", "p_min", "m", "rate", "mde", "worst cell", "mde by",
                                "samples", "seconds"]))
            print(f"\nMonte Carlo: family-wise alpha = {args.alpha:g} per identity (Holm over m sub-tests: "
                  "holm p = min(1, m p_min); deterministic checks are gates outside the family); mde = the largest "
                  "over the identity's slots of the relative error of that slot detectable with power 0.99 when "
                  "present at every probed t; worst cell = when confined to the least sensitive single t (or sigma, "
                  "or term); mde by: stat = statistical tests, gate = deterministic checks (the MDE is the smallest error that "
                  "certainly fails the gate); per-slot values, mde_kind and the covariance tests are in --json")
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    else:
        print(f"\n{'ALL VERIFIED' if ok else 'FAILED'} in {time.perf_counter() - t0:.1f} s")
    return 0 if ok else 1


__all__ = ["add_cli_arguments", "run_cli", "symbolic_results", "mc_verdicts"]


def _point_text(point) -> str:
    from proofs.engine.results import point_text

    return point_text(point)
