"""The ``diffusion-proofs`` command (also ``python -m diffusion_proofs``).

Exit codes, for every command: 0 all good, 1 a check failed, 2 bad usage or input.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import time

EPILOG = "exit codes: 0 all good, 1 a check failed, 2 bad usage or input"

#: subcommand -> (module, add-arguments function, run function, one-line help, example)
HOOKS = {
    "bench": ("diffusion_proofs.bench", "add_cli_arguments", "run_cli",
              "benchmark the proofs, the claims and the Monte Carlo kernel against baselines",
              "diffusion-proofs bench --mc --json"),
    "conformance": ("diffusion_proofs.conformance", "add_cli_arguments", "run_cli",
                    "check a diffusers scheduler or your own against the identities",
                    "diffusion-proofs conformance diffusers:DDPMScheduler --config '{\"beta_schedule\": \"linear\"}'"),
    "health": ("diffusion_proofs.conformance", "add_health_cli_arguments", "run_health_cli",
               "terminal SNR, prior gap L_T and warnings for a schedule",
               "diffusion-proofs health scaled_linear --T 1000"),
    "errata": ("diffusion_proofs.errata", "add_cli_arguments", "run_cli",
               "every equation of the seed homework, as written, with a verdict",
               "diffusion-proofs errata --json"),
    "check": ("diffusion_proofs.check", "add_cli_arguments", "run_cli",
              "check your answer to one identity, symbolically and by Monte Carlo",
              "diffusion-proofs check posterior --coef-x0 'sqrt(abar[t-1])*beta[t]/(1-abar[t])'"),
    "report": ("diffusion_proofs.report", "add_cli_arguments", "run_cli",
               "write the Markdown/HTML verification report with figures",
               "diffusion-proofs report --out report"),
}


class UsageError(Exception):
    """Bad usage or input: printed without a traceback, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


# ----- verify ------------------------------------------------------------------------------------------

def _progress(iterable, total, desc):
    """A tqdm bar on a terminal, nothing in CI or when piped."""
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=False, disable=not sys.stderr.isatty())


def symbolic_results(ids=None):
    from proofs import IDENTITIES

    ids = list(IDENTITIES) if ids is None else ids
    return [IDENTITIES[i].check() for i in _progress(ids, len(ids), "proofs")]


def _symbolic_rows(results):
    rows = []
    for r in results:
        rows.append({"id": r.id, "kind": "symbolic", "problem": r.problem, "verdict": r.verdict.value,
                     "steps": r.steps, "instances": len(r.instances), "seconds": round(r.seconds, 3),
                     "derivations": [d.to_dict() for d in r.derivations],
                     "instance_results": [i.to_dict() for i in r.instances]})
    return rows


def _failures_text(results) -> list[str]:
    lines = []
    for r in results:
        for d in r.derivations:
            for s in d.steps:
                if s.verdict.value != "PROVED":
                    lines.append(f"  {r.id}: '{d.title}' step {s.index} ({s.reason}): {s.verdict.value}, "
                                 f"{s.method}" + (f"; at {s.counterexample}: lhs = {s.lhs_value}, rhs = {s.rhs_value}"
                                                  if s.counterexample else ""))
        for i in r.instances:
            if i.verdict.value != "PROVED":
                lines.append(f"  {r.id}: instance '{i.title}': {i.verdict.value}, {i.detail}")
    return lines


def _mc_rows(verdicts):
    rows = []
    for v in verdicts:
        rows.append({"id": v.identity, "kind": "mc",
                     "verdict": "PASSED" if v.passed else "FAILED",
                     "p_value": v.p_value, "alpha": getattr(v, "alpha", None),
                     "rate": "exact" if getattr(v, "exact", False) else "asymptotic", "mde": v.mde,
                     "mde_worst_cell": getattr(v, "mde_worst", None),
                     "samples": v.samples, "seconds": round(v.seconds, 3)})
    return rows


def _table(rows, columns) -> str:
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) if cells else len(c) for i, c in enumerate(columns)]
    out = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(out)


def _fmt_mde(mde):
    if isinstance(mde, dict):
        worst = max((v for v in mde.values() if isinstance(v, (int, float))), default=None)
        return "n/a" if worst is None else f"{worst:.2%}"
    return "n/a" if mde is None else (f"{mde:.2%}" if isinstance(mde, float) else str(mde))


def run_verify(args) -> int:
    do_sym = args.symbolic or not args.mc
    do_mc = args.mc or not args.symbolic
    rows, ok = [], True
    t0 = time.perf_counter()
    if do_sym:
        results = symbolic_results()
        rows += _symbolic_rows(results)
        ok &= all(r.verdict.value == "PROVED" for r in results)
        if not args.json:
            print(_table(rows, ["id", "problem", "steps", "instances", "verdict", "seconds"]))
            fails = _failures_text(results)
            if fails:
                print("\nnot proved:\n" + "\n".join(fails))
    if do_mc:
        from montecarlo.confirmation import confirm_all

        verdicts = confirm_all(alpha=args.alpha, seed=args.seed, device=args.device)
        mc = _mc_rows(verdicts)
        rows += mc
        ok &= all(v.passed for v in verdicts)
        if not args.json:
            print()
            shown = [{**r, "p_value": f"{r['p_value']:.3g}", "mde": _fmt_mde(r["mde"]),
                      "worst cell": _fmt_mde(r["mde_worst_cell"])} for r in mc]
            print(_table(shown, ["id", "verdict", "p_value", "rate", "mde", "worst cell", "samples", "seconds"]))
            print(f"\nMonte Carlo: family-wise alpha = {args.alpha:g} per identity (Holm over sub-tests); "
                  "mde = relative error of the key coefficients detectable with power 0.99 when present at every "
                  "probed t; worst cell = when confined to the least sensitive single t (or sigma, or term)")
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    else:
        print(f"\n{'ALL VERIFIED' if ok else 'FAILED'} in {time.perf_counter() - t0:.1f} s")
    return 0 if ok else 1


def add_verify_arguments(p):
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--symbolic", action="store_true", help="only the SymPy proofs")
    kind.add_argument("--mc", action="store_true", help="only the Monte Carlo confirmations")
    p.add_argument("--device", default="cpu", help="torch device for Monte Carlo (cpu, cuda)")
    p.add_argument("--alpha", type=float, default=1e-6, help="family-wise false-alarm rate per MC check")
    p.add_argument("--seed", type=int, default=0, help="seed of the Monte Carlo checks")
    p.add_argument("--json", action="store_true", help="print a JSON list of {id, kind, verdict, seconds, ...}")


# ----- main ----------------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="diffusion-proofs",
                     description="Machine-checked proofs, Monte Carlo confirmation and conformance checks "
                                 "for the identities of denoising diffusion models.",
                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    p = sub.add_parser("verify", help="prove every identity (SymPy) and confirm it by Monte Carlo",
                       epilog="example: diffusion-proofs verify --symbolic --json\n" + EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_verify_arguments(p)
    p.set_defaults(run=run_verify)
    for name, (module, add, run, help_text, example) in HOOKS.items():
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        if not hasattr(mod, add) or not hasattr(mod, run):
            continue
        p = sub.add_parser(name, help=help_text, epilog=f"example: {example}\n{EPILOG}",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        getattr(mod, add)(p)
        p.set_defaults(run=getattr(mod, run))
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args))
    except (ValueError, UsageError) as exc:
        print(f"diffusion-proofs {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


