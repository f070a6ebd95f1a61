"""``diffusion-proofs errata``: every equation of the seed, as written, with a verdict."""
from __future__ import annotations

import argparse
import json

from proofs.errata import errata, errata_json, errata_table


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Verdict (holds / wrong / notation) for every displayed equation and every '=' step "
                          "of the seed homework, computed by the derivation engine.")
    parser.epilog = parser.epilog or ("example: diffusion-proofs errata --json > errata.json\n"
                                      "exit codes: 0 every entry got a verdict, 1 some verdict could not be computed")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of the Markdown table")


def run_cli(args: argparse.Namespace) -> int:
    """Print the table (or JSON); exit 0 when every entry got a verdict, 1 otherwise."""
    results = errata()
    if getattr(args, "json", False):
        print(json.dumps(errata_json(results), indent=2, default=str))
    else:
        print(errata_table(markdown=True, results=results), end="")
    return 1 if any(r.verdict == "error" for r in results) else 0


