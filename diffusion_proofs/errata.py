"""``diffusion-proofs errata``: every equation of the seed, as written, with a verdict."""
from __future__ import annotations

import argparse
import json

from . import options


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Verdict (holds / wrong / notation) for every displayed equation and every '=' step "
                          "of the seed homework, computed by the derivation engine.")
    parser.epilog = ("example: diffusion-proofs errata --json > errata.json\n"
                     "exit codes: 0 every entry got a verdict, 1 some verdict could not be computed, 2 bad usage")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of the Markdown table")


def errata():
    """Every entry of :data:`proofs.errata.data.ENTRIES` checked, one bar step each."""
    from proofs.errata import errata as check_all
    from proofs.errata.data import ENTRIES

    return check_all(options.progress(ENTRIES, desc="errata"))


def run_cli(args: argparse.Namespace) -> int:
    """Print the table (or JSON); exit 0 when every entry got a verdict, 1 otherwise."""
    from proofs.errata import errata_json, errata_table

    results = errata()
    if getattr(args, "json", False):
        print(json.dumps(errata_json(results), indent=2, default=str))
    else:
        print(errata_table(markdown=True, results=results), end="")
    return 1 if any(r.verdict == "error" for r in results) else 0
