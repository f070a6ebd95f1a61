"""The diffusion-proofs command: verify, bench, usage errors, and the hooks it wires."""
import json
import subprocess
import sys

import pytest
import sympy as sp

from proofs import IDENTITIES
from diffusion_proofs.cli import build_parser, main
from proofs.symbols import abar, t


def test_verify_symbolic_table_and_exit_0(capsys):
    assert main(["verify", "--symbolic"]) == 0
    out = capsys.readouterr().out
    for ident in IDENTITIES.values():
        assert ident.id in out and ident.problem in out
    assert out.count("PROVED") == len(IDENTITIES)
    assert "ALL VERIFIED" in out


def test_verify_symbolic_json(capsys):
    assert main(["verify", "--symbolic", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == list(IDENTITIES)
    for r in rows:
        assert r["verdict"] == "PROVED" and isinstance(r["seconds"], float) and r["steps"] > 0
        assert all(s["verdict"] == "PROVED" for d in r["derivations"] for s in d["steps"])


def test_verify_exits_1_and_names_the_failing_step(monkeypatch, capsys):
    monkeypatch.setitem(IDENTITIES["forward_marginal"].slots, "variance", 1 - abar[t - 1])
    assert main(["verify", "--symbolic"]) == 1
    out = capsys.readouterr().out
    assert "REFUTED" in out and "FAILED" in out
    assert "forward_marginal" in out.split("not proved:")[1]


def test_verify_mc_json_fields(capsys):
    assert main(["verify", "--mc", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["id"] for r in rows} == set(IDENTITIES)
    for r in rows:
        assert r["verdict"] == "PASSED" and r["kind"] == "mc" and r["rate"] in ("exact", "asymptotic")
        assert 0 <= r["p_value"] <= 1 and r["samples"] > 0 and r["alpha"] == 1e-6


def test_bench_symbolic_json(capsys):
    assert main(["bench", "--symbolic", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["proofs"]) == set(IDENTITIES)
    assert all(p["verdict"] == "PROVED" for p in out["proofs"].values())
    assert out["baseline_simplify_proved"] <= out["claims_held"] and out["baseline_over_engine"] > 0
    assert 0 < out["claims_held"] < out["claims"]  # the batch holds right and wrong claims


@pytest.mark.parametrize("argv", [["verify", "--symbolic", "--mc"], ["nonsense"], ["verify", "--alpha", "x"]])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "error" in capsys.readouterr().err


def test_bad_input_is_a_message_not_a_traceback(capsys):
    assert main(["verify", "--mc", "--alpha", "1.5"]) == 2
    err = capsys.readouterr().err
    assert "alpha" in err and "Traceback" not in err


def test_every_command_is_wired_with_json_and_an_example():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == {"verify", "bench", "conformance", "health", "errata", "check", "report"}
    for name, p in sub.choices.items():
        assert "--json" in p.format_help(), name
        assert "example: diffusion-proofs" in p.format_help(), name


def test_python_dash_m_diffusion_proofs_is_the_same_command():
    r = subprocess.run([sys.executable, "-m", "diffusion_proofs", "verify", "--symbolic", "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert {row["id"] for row in json.loads(r.stdout)} == set(IDENTITIES)
