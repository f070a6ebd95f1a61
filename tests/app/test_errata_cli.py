"""``diffusion-proofs errata``: the table, JSON and exit codes."""
import argparse
import json

import pytest

from diffusion_proofs import errata as errata_cli
from proofs.errata import check_entry, errata
from proofs.errata.data import Entry


@pytest.fixture(scope="module")
def results():
    return errata()


def _cli_args(argv):
    parser = argparse.ArgumentParser()
    errata_cli.add_cli_arguments(parser)
    return parser.parse_args(argv)


def test_cli_prints_table_and_json(results, monkeypatch, capsys):
    monkeypatch.setattr(errata_cli, "errata", lambda: results)
    assert errata_cli.run_cli(_cli_args([])) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{len(results)} entries:") and "| Problem |" in out
    assert errata_cli.run_cli(_cli_args(["--json"])) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(d["problem"], d["index"]) for d in data] == [(r.problem, r.index) for r in results]


def test_cli_exit_1_only_when_a_verdict_is_missing(results, monkeypatch, capsys):
    broken = check_entry(Entry("P2.1", 1, "test", lambda: (_ for _ in ()).throw(RuntimeError("x"))))
    monkeypatch.setattr(errata_cli, "errata", lambda: list(results) + [broken])
    assert errata_cli.run_cli(_cli_args([])) == 1
    assert "error" in capsys.readouterr().out
