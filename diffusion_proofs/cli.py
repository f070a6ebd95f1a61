"""The ``diffusion-proofs`` command (also ``python -m diffusion_proofs``): one argparse tree, one error policy.

Exit codes, for every command: 0 all good, 1 a check failed, 2 bad usage or input.

Each verb lives in its own module with two functions: ``add_cli_arguments(parser)``, light (it imports
nothing heavy, and its argparse types validate the input while the command line is parsed), and
``run_cli(args)``, which imports what the verb needs (torch, scipy, matplotlib, diffusers) when it runs.
:func:`main` builds only the parser of the verb it is given, so ``--help``, usage errors and parse
errors print at once.

Error policy (:func:`main`): a usage or parse error, an :class:`~diffusion_proofs.options.InputError` or
another ValueError subclass raised for bad input (``SpecError``, ``ClaimError``, ``ParseError``), and an
OSError (a file or folder that cannot be written) print ONE line ``diffusion-proofs VERB: error: ...``
on stderr and exit 2. Any other exception is a bug and shows its traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

EPILOG = "exit codes: 0 all good, 1 a check failed, 2 bad usage or input"

#: verb -> (module, add-arguments function, run function, one-line help, example)
VERBS = {
    "verify": ("diffusion_proofs.verify", "add_cli_arguments", "run_cli",
               "prove every identity (SymPy) and confirm it by Monte Carlo",
               "diffusion-proofs verify --symbolic --json"),
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


def _input_errors() -> tuple:
    """The exceptions that mean bad input (exit 2, one line): checked against what is loaded, so that
    the policy itself imports nothing."""
    kinds = [OSError]
    from .options import InputError
    kinds.append(InputError)
    for module, name in (("proofs.claims", "ClaimError"), ("proofs.engine.parse", "ParseError"),
                         ("montecarlo.conformance.checker", "SpecError")):
        mod = sys.modules.get(module)
        if mod is not None and hasattr(mod, name):
            kinds.append(getattr(mod, name))
    return tuple(kinds)


class _Parser(argparse.ArgumentParser):
    """Usage and parse errors are one line, ``PROG: error: MESSAGE`` (no usage block), exit 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argparse tree. ``only``: fill in the arguments of that verb alone (the others are listed in
    ``--help`` but not built, so nothing they need is imported); None builds them all."""
    parser = _Parser(prog="diffusion-proofs",
                     description="Machine-checked proofs, Monte Carlo confirmation and conformance checks "
                                 "for the identities of denoising diffusion models.",
                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module, add, run, help_text, example) in VERBS.items():
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=f"example: {example}\n{EPILOG}",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        if only is None or only == name:
            mod = importlib.import_module(module)
            getattr(mod, add)(p)
            p.set_defaults(run=getattr(mod, run))
    return parser


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        text = f"{exc.strerror or type(exc).__name__}: {exc.filename!r}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def main(argv=None) -> int:
    """Run one command; returns its exit code (``sys.exit(main())`` is the console script)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    verb = argv[0] if argv and argv[0] in VERBS else ""
    parser = build_parser(only=verb)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0), or a usage error already printed as one line (2)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if not getattr(args, "run", None):
        print(f"diffusion-proofs: error: give a command, one of {', '.join(VERBS)} "
              "(see diffusion-proofs --help)", file=sys.stderr)
        return 2
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if isinstance(exc, _input_errors()):
            print(f"diffusion-proofs {args.command}: error: {_one_line(exc)}", file=sys.stderr)
            return 2
        raise


__all__ = ["main", "build_parser", "VERBS"]
