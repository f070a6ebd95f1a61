"""``diffusion-proofs check IDENTITY --SLOT EXPR ...``: check your answer to one identity.

Each claim slot of an identity is an option (``_`` written ``-``): ``--coef-x0``, ``--coef-xt``,
``--variance``, ``--mean-coef``, ``--coef-eps``, ``--weight``, ``--target``, ``--coef``. The text is
parsed by the whitelist parser :func:`proofs.parse_expression` (never evaluated), then

* symbolically: :func:`proofs.check_claim` -> PROVED / NUMERIC (agreement at random points only)
  / REFUTED with a counterexample point and both values;
* by Monte Carlo (unless ``--no-mc``): :func:`montecarlo.confirm` with ``claim={slot: expr}``
  -> passed, Holm family p-value at the family-wise ``--alpha``, MDE (relative error detectable
  with power 0.99).

Exit codes: 0 both agree the claim holds, 1 a check failed (or the Monte Carlo check could not run),
2 bad usage or input (unknown option, an option of another identity, unparsable text).
"""
from __future__ import annotations

import argparse
import json
import sys

from proofs import IDENTITIES, ClaimError, ParseError, check_claim, parse_expression

SCHEDULES = ("linear", "scaled_linear", "cosine", "sigmoid")


def _identities() -> dict:
    return {k: v for k, v in IDENTITIES.items() if v.slots}


def _all_slots() -> dict[str, list[str]]:
    """slot -> identities having it, in a stable order."""
    out: dict[str, list[str]] = {}
    for ident in _identities().values():
        for slot in ident.slots:
            out.setdefault(slot, []).append(ident.id)
    return out


def option(slot: str) -> str:
    return "--" + slot.replace("_", "-")


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Check your answer to one identity: each slot is parsed safely (no eval), checked "
                          "against the symbolic proof and confirmed by Monte Carlo.")
    notes = ("names: t, alpha[.], beta[.], abar[.], sigma[.], noise_std, x, x_tilde; functions sqrt, exp, log\n"
             "a value starting with '-' needs '=': --coef-eps='-beta[t]/sqrt(alpha[t]*(1-abar[t]))'")
    parser.epilog = (f"{parser.epilog}\n{notes}" if parser.epilog else
                     "example: diffusion-proofs check posterior --coef-x0 'sqrt(abar[t-1])*beta[t]/(1-abar[t])'\n"
                     f"{notes}\nexit codes: 0 both checks agree the claim holds, 1 a check failed, 2 bad usage or input")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.allow_abbrev = False  # --coef must not silently stand for --coef-x0, --var for --variance
    idents = _identities()
    parser.add_argument("identity", choices=list(idents), help="the identity whose slots you claim")
    for slot, owners in _all_slots().items():
        parser.add_argument(option(slot), dest=slot, metavar="EXPR", default=None,
                            help=f"your {slot} (identities: {', '.join(owners)})")
    parser.add_argument("--no-mc", action="store_true", help="skip the Monte Carlo confirmation")
    parser.add_argument("--alpha", type=float, default=1e-6, help="family-wise false-alarm rate of the MC check")
    parser.add_argument("--samples", type=int, default=None, help="MC sample size (default: the check's own)")
    parser.add_argument("--seed", type=int, default=0, help="MC seed")
    parser.add_argument("--device", default="cpu", help="torch device for MC (cpu, cuda)")
    parser.add_argument("--schedule", choices=SCHEDULES, default="linear", help="MC schedule (default linear)")
    parser.add_argument("--T", type=int, default=1000, help="MC schedule length (default 1000)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _usage(message: str) -> int:
    print(f"diffusion-proofs check: error: {message}", file=sys.stderr)
    return 2


def _claims(args: argparse.Namespace) -> tuple[dict, str | None]:
    """The parsed claim {slot: expr}, or an error message for a usage error."""
    identity = _identities().get(args.identity)
    if identity is None:
        return {}, f"unknown identity {args.identity!r}; known: {', '.join(_identities())}"
    own = ", ".join(option(s) for s in identity.slots)
    given = {slot: getattr(args, slot) for slot in _all_slots() if getattr(args, slot, None) is not None}
    foreign = [s for s in given if s not in identity.slots]
    if foreign:
        return {}, (f"option {option(foreign[0])} does not belong to identity {args.identity!r} "
                    f"(its options: {own})")
    if not given:
        return {}, f"give at least one claim for {args.identity!r}: {own}"
    claim = {}
    for slot, text in given.items():
        try:
            claim[slot] = parse_expression(text)
        except ParseError as exc:
            return {}, f"{option(slot)}: {exc}"
    return claim, None


def _run_mc(args, claim: dict):
    """MCVerdict, or (None, reason) when the Monte Carlo check cannot run."""
    try:
        from montecarlo.confirmation import confirm
        from montecarlo.schedules import Schedule
    except ImportError as exc:
        return None, f"Monte Carlo unavailable ({exc}); use --no-mc to skip it"
    schedule = getattr(Schedule, args.schedule)(args.T)
    return confirm(args.identity, schedule, claim, alpha=args.alpha, samples=args.samples, seed=args.seed,
                   device=args.device), None


def run_cli(args: argparse.Namespace) -> int:
    """Parse, check symbolically and by Monte Carlo, print both verdicts; return the exit code."""
    claim, error = _claims(args)
    if error:
        return _usage(error)
    try:
        symbolic = check_claim(args.identity, **claim)
    except ClaimError as exc:
        return _usage(str(exc))
    mc, mc_error = None, None
    if not args.no_mc:
        try:
            mc, mc_error = _run_mc(args, claim)
        except ValueError as exc:  # bad alpha, samples, device, schedule length
            return _usage(str(exc))
    mc_ok = args.no_mc or (mc is not None and mc.passed)
    holds = symbolic.holds and mc_ok
    if args.json:
        print(json.dumps({
            "identity": args.identity, "claim": {k: str(v) for k, v in claim.items()}, "holds": holds,
            "symbolic": symbolic.to_dict(),
            "mc": None if args.no_mc else (mc.to_dict() if mc is not None else {"error": mc_error}),
        }, indent=2, default=str))
    else:
        for slot, expr in claim.items():
            print(f"claim: {args.identity}.{slot} = {expr}")
        print(_symbolic_line(symbolic))
        if args.no_mc:
            print("Monte Carlo: skipped (--no-mc)")
        elif mc is None:
            print(f"Monte Carlo: FAILED TO RUN: {mc_error}")
        else:
            print(_mc_line(mc))
        print("verdict: " + ("HOLDS (the checks agree)" if holds else "FAILED"))
    return 0 if holds else 1


def _symbolic_line(v) -> str:
    if not v.holds:
        return f"symbolic: REFUTED: {v.detail}"
    if v.verdict.value == "PROVED":
        return f"symbolic: PROVED: {v.detail}"
    return f"symbolic: NUMERIC (agreement at random points only, not proved): {v.detail}"


def _mc_line(mc) -> str:
    mde = ", ".join(f"{k} {val:.3g}" for k, val in mc.mde.items())
    return (f"Monte Carlo: {'PASSED' if mc.passed else 'FAILED'}: Holm family p = {mc.p_value:.3g} "
            f"({'>' if mc.passed else '<='} alpha = {mc.alpha:g}, {'exact' if mc.exact else 'asymptotic'} level), "
            f"{mc.samples} samples, {mc.seconds:.2f} s; MDE (relative, power 0.99): {mde}")


__all__ = ["add_cli_arguments", "run_cli", "option"]
