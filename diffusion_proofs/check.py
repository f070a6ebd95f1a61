"""``diffusion-proofs check IDENTITY --SLOT EXPR ...``: check your answer to one identity.

Each claim slot of an identity is an option (``_`` written ``-``): ``--coef-x0``, ``--coef-xt``,
``--variance``, ``--mean-coef``, ``--coef-eps``, ``--weight``, ``--target``, ``--coef``. The text is
parsed by the whitelist parser :func:`proofs.parse_expression` (never evaluated), then

* symbolically: :func:`proofs.check_claim` -> PROVED / UNDECIDED (neither proved nor refuted; exit 1)
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

import sympy as sp

from proofs import IDENTITIES, ParseError, check_claim, parse_expression

from . import options
from .options import InputError

SCHEDULES = ("linear", "scaled_linear", "cosine", "sigmoid")


def _path_names() -> dict:
    """The scalar symbols of the Gaussian-path identities (proofs.paths.SYMBOLS), allowed in their claims."""
    import sympy as sp

    from proofs.paths import SYMBOLS
    return {name: sym for name, sym in SYMBOLS.items() if isinstance(sym, sp.Symbol)}


def _names(identity) -> dict | None:
    return _path_names() if identity.problem == "paths" else None


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
             f"Gaussian-path identities also: {', '.join(_path_names())}\n"
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
    parser.add_argument("--alpha", type=options.probability, default=1e-6,
                        help="family-wise false-alarm rate of the MC check, in (0, 1)")
    parser.add_argument("--samples", type=options.positive_int, default=None,
                        help="MC sample size (default: the check's own)")
    parser.add_argument("--seed", type=options.non_negative_int, default=0, help="MC seed")
    parser.add_argument("--device", type=options.device, default="cpu", help="torch device for MC (cpu, cuda)")
    parser.add_argument("--schedule", choices=SCHEDULES, default="linear", help="MC schedule (default linear)")
    parser.add_argument("--T", type=options.positive_int, default=1000, help="MC schedule length (default 1000)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _claims(args: argparse.Namespace) -> dict:
    """The parsed claim {slot: expr}; InputError for a usage error."""
    identity = _identities().get(args.identity)
    if identity is None:
        raise InputError(f"unknown identity {args.identity!r}; known: {', '.join(_identities())}")
    own = ", ".join(option(s) for s in identity.slots)
    given = {slot: getattr(args, slot) for slot in _all_slots() if getattr(args, slot, None) is not None}
    foreign = [s for s in given if s not in identity.slots]
    if foreign:
        raise InputError(f"option {option(foreign[0])} does not belong to identity {args.identity!r} "
                         f"(its options: {own})")
    if not given:
        raise InputError(f"give at least one claim for {args.identity!r}: {own}")
    claim = {}
    for slot, text in given.items():
        try:
            claim[slot] = parse_expression(text, _names(identity))
        except ParseError as exc:
            raise InputError(f"{option(slot)}: {exc}") from exc
        names = _names(identity)
        if names is not None:  # a path claim lives in the path's symbols: no t, abar[t], ...
            foreign = sorted(str(a) for a in claim[slot].atoms(sp.Symbol, sp.Indexed)
                             if a not in names.values() and not isinstance(a, sp.Idx))
            if foreign:
                raise InputError(f"{option(slot)}: {foreign[0]!r} is not a symbol of the Gaussian-path identities "
                                 f"(known: {', '.join(names)}): {text!r}")
    return claim


def _mc_plan(args):
    """(confirm, schedule) for the Monte Carlo check, every input checked before any work; (None, reason)
    when Monte Carlo cannot run here."""
    try:
        from montecarlo.confirmation import confirm
        from montecarlo.designs.base import min_samples
        from montecarlo.schedules import Schedule
    except ImportError as exc:
        return None, f"Monte Carlo unavailable ({exc}); use --no-mc to skip it"
    least = min_samples(args.identity)  # the calibrated floor (20000 for tweedie and elbo_decomposition, 50000 for score_eps)
    if args.samples is not None and args.samples < least:
        raise InputError(f"--samples for {args.identity} must be at least {least}, got {args.samples}")
    if args.identity == "eps_loss" and args.T < 2:
        raise InputError(f"--T for eps_loss must be at least 2 (it compares two steps), got {args.T}")
    try:
        schedule = getattr(Schedule, args.schedule)(args.T)
    except ValueError as exc:
        raise InputError(f"--schedule {args.schedule} --T {args.T}: {exc}") from exc
    return confirm, schedule


def run_cli(args: argparse.Namespace) -> int:
    """Parse, check symbolically and by Monte Carlo, print both verdicts; return the exit code."""
    claim = _claims(args)
    plan = None if args.no_mc else _mc_plan(args)  # every input checked before the first check runs
    with options.phase("symbolic check"):
        symbolic = check_claim(args.identity, **claim)
    mc, mc_error = None, None
    if plan is not None:
        confirm, schedule = plan
        if confirm is None:
            mc_error = schedule
        else:
            with options.phase("Monte Carlo check"):
                mc = confirm(args.identity, schedule, claim, alpha=args.alpha, samples=args.samples,
                             seed=args.seed, device=args.device)
    mc_ok = args.no_mc or (mc is not None and mc.passed)
    holds = symbolic.holds is True and mc_ok
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
        print("verdict: " + ("HOLDS (the checks agree)" if holds else
                             "UNDECIDED" if symbolic.holds is None and mc_ok else "FAILED"))
    return 0 if holds else 1


def _symbolic_line(v) -> str:
    if v.holds is None:
        return f"symbolic: UNDECIDED (neither proved nor refuted, not counted as holding): {v.detail}"
    if not v.holds:
        return f"symbolic: REFUTED: {v.detail}"
    if v.verdict.value == "PROVED":
        return f"symbolic: PROVED: {v.detail}"
    return f"symbolic: {v.verdict.value}: {v.detail}"


def _mc_line(mc) -> str:
    mde = ", ".join(f"{k} {val:.3g}" for k, val in mc.mde.items())
    return (f"Monte Carlo: {'PASSED' if mc.passed else 'FAILED'}: Holm family p = {mc.p_value:.3g} "
            f"({'>' if mc.passed else '<='} alpha = {mc.alpha:g}, {'exact' if mc.exact else 'asymptotic'} level), "
            f"{mc.samples} samples, {mc.seconds:.2f} s; MDE (relative, power 0.99): {mde}")


__all__ = ["add_cli_arguments", "run_cli", "option"]
