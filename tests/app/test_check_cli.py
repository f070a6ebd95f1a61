"""``diffusion-proofs check``: right claims exit 0, wrong ones 1 with a counterexample, bad input 2."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import types
import uuid
from pathlib import Path

import pytest

from diffusion_proofs import check as check_cli
from diffusion_proofs.cli import main

RIGHT_X0 = "sqrt(abar[t-1])*beta[t]/(1-abar[t])"
WRONG_X0 = "sqrt(alpha[t-1])*beta[t]/(1-abar[t])"  # the seed's typo
ROOT = Path(__file__).resolve().parents[2]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="diffusion-proofs check")
    check_cli.add_cli_arguments(parser)
    return parser


def run(argv, capsys):
    """The real command, in process: its error policy included."""
    code = main(["check", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_every_slot_has_an_option():
    import proofs

    text = _parser().format_help()
    for ident in proofs.IDENTITIES.values():
        for slot in ident.slots:
            assert check_cli.option(slot) in text
    for opt in ("--coef-x0", "--coef-xt", "--variance", "--mean-coef", "--coef-eps", "--weight", "--target",
                "--coef", "--no-mc", "--json"):
        assert opt in text


@pytest.mark.parametrize("argv", [
    ["posterior", "--coef-x0", RIGHT_X0],
    ["posterior", "--coef-xt", "sqrt(alpha[t])*(1-abar[t-1])/(1-abar[t])", "--variance",
     "(1-abar[t-1])*beta[t]/(1-abar[t])"],
    ["forward_marginal", "--mean-coef", "sqrt(abar[t-1]*alpha[t])"],
    ["posterior_eps", "--coef-eps=-beta[t]/sqrt(alpha[t]*(1-abar[t]))"],
    ["eps_loss", "--weight", "beta[t]^2/(2*sigma[t]^2*alpha[t]*(1-abar[t]))"],
    ["dsm", "--target", "(x - x_tilde)/noise_std**2"],
    ["tweedie", "--coef", "noise_std**2"],
    ["score_eps", "--coef=-1/sqrt(1-abar[t])"],
])
def test_right_claims_exit_0_symbolic(argv, capsys):
    code, out, err = run(argv + ["--no-mc"], capsys)
    assert code == 0, out + err
    assert "symbolic: PROVED" in out and "verdict: HOLDS" in out and "skipped (--no-mc)" in out


@pytest.mark.parametrize("argv, slot", [
    (["posterior", "--coef-x0", WRONG_X0], "coef_x0"),
    (["eps_loss", "--weight", "beta[t]^2/(2*sigma[t]^4*alpha[t]*(1-abar[t]))"], "weight"),
    (["dsm", "--target", "(x_tilde - x)/noise_std**2"], "target"),
    (["score_eps", "--coef=-sqrt(1-abar[t])"], "coef"),
])
def test_wrong_claims_exit_1_with_counterexample(argv, slot, capsys):
    code, out, _ = run(argv + ["--no-mc"], capsys)
    assert code == 1
    assert "symbolic: REFUTED" in out and f".{slot} is wrong" in out and " at {" in out
    assert "verdict: FAILED" in out


def test_right_claim_with_monte_carlo_exit_0(capsys):
    code, out, _ = run(["posterior", "--coef-x0", RIGHT_X0, "--samples", "2000", "--T", "100"], capsys)
    assert code == 0, out
    assert "Monte Carlo: PASSED" in out and "MDE" in out and "alpha = 1e-06" in out


def test_wrong_claim_with_monte_carlo_exit_1_both_fail(capsys):
    code, out, _ = run(["posterior", "--coef-x0", WRONG_X0, "--samples", "2000", "--T", "100", "--json"], capsys)
    assert code == 1
    data = json.loads(out)
    assert data["holds"] is False
    assert data["symbolic"]["holds"] is False and data["symbolic"]["counterexample"]
    assert data["mc"]["passed"] is False and data["mc"]["p_value"] <= data["mc"]["alpha"]


def test_json_shape(capsys):
    code, out, _ = run(["tweedie", "--coef", "noise_std^2", "--no-mc", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["identity"] == "tweedie" and data["claim"] == {"coef": "noise_std**2"}
    assert data["symbolic"]["verdict"] == "PROVED" and data["mc"] is None and data["holds"] is True


class _FakeVerdict:
    def __init__(self, passed):
        self.passed, self.p_value, self.alpha, self.exact = passed, (0.5 if passed else 1e-9), 1e-6, True
        self.mde, self.samples, self.seconds = {"coef": 0.01}, 1000, 0.1

    def to_dict(self):
        return {"passed": self.passed, "p_value": self.p_value}


def _fake_confirm_module(passed, calls):
    mod = types.ModuleType("montecarlo.confirmation")

    def confirm(identity_id, schedule=None, claim=None, *, alpha=1e-6, samples=None, seed=0, device="cpu"):
        calls.append((identity_id, claim, alpha, samples, seed, device))
        return _FakeVerdict(passed)

    mod.confirm = confirm
    return mod


def test_symbolic_holds_but_mc_fails_exit_1(monkeypatch, capsys):
    calls = []
    monkeypatch.setitem(sys.modules, "montecarlo.confirmation", _fake_confirm_module(False, calls))
    code, out, _ = run(["tweedie", "--coef", "noise_std**2", "--alpha", "0.001", "--seed", "3"], capsys)
    assert code == 1
    assert "symbolic: PROVED" in out and "Monte Carlo: FAILED" in out and "verdict: FAILED" in out
    (ident, claim, alpha, samples, seed, device), = calls
    assert ident == "tweedie" and str(claim["coef"]) == "noise_std**2" and alpha == 0.001 and seed == 3


def test_mc_unavailable_is_a_failure_not_a_pass(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "montecarlo.confirmation", None)  # import raises ImportError
    code, out, _ = run(["tweedie", "--coef", "noise_std**2"], capsys)
    assert code == 1
    assert "FAILED TO RUN" in out and "--no-mc" in out


@pytest.mark.parametrize("argv, message", [
    (["posterior", "--coef-eps", "1"], "option --coef-eps does not belong to identity 'posterior'"),
    (["posterior"], "give at least one claim for 'posterior'"),
    (["posterior", "--coef-x0", "abar[t].__class__"], "--coef-x0: attribute access"),
    (["posterior", "--coef-x0", "sqrt(abar[t-1]"], "unbalanced '('"),
    (["posterior", "--coef-x0", "abar[t*2]"], "bad index of abar"),
    (["posterior", "--coef-x0", ""], "empty expression"),
    (["posterior", "--coef-x0", RIGHT_X0, "--samples", "5"], "--samples for posterior must be at least 100, got 5"),
    (["tweedie", "--coef", "1", "--samples", "5000"], "--samples for tweedie must be at least 20000, got 5000"),
    (["posterior", "--coef-x0", RIGHT_X0, "--T", "0"], "T"),
])
def test_bad_usage_exit_2_with_message(argv, message, capsys):
    code, out, err = run(argv, capsys)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert err.startswith("diffusion-proofs check: error: ") and err.count("\n") == 1
    assert "verdict" not in out and "claim:" not in out  # refused before any check ran


@pytest.mark.parametrize("argv", [["posterior", "--foo", "1"], ["elbo_bound", "--coef", "1"], ["nope"], [],
                                  ["posterior", "--coef-x", "1"], ["posterior", "--var", "1"]])
def test_unknown_option_or_identity_is_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as info:
        _parser().parse_args(argv)
    assert info.value.code == 2
    assert "error" in capsys.readouterr().err


HOSTILE = ["__import__('os').system('touch {path}')", "open('{path}', 'w').write('x')",
           "().__class__.__bases__", "lambda: 1", "eval('1')"]


@pytest.mark.parametrize("template", HOSTILE)
def test_hostile_text_exit_2_no_side_effects(template, tmp_path, capsys):
    path = tmp_path / f"pwned-{uuid.uuid4().hex}"
    code, out, err = run(["posterior", "--coef-x0", template.format(path=path), "--no-mc"], capsys)
    assert code == 2 and "--coef-x0:" in err
    assert not path.exists() and list(tmp_path.iterdir()) == []


# ---- the installed command (python -m diffusion_proofs check ...) ------------------------------------

def _command() -> list[str]:
    return [sys.executable, "-m", "diffusion_proofs", "check"]


def _subprocess(args):
    return subprocess.run(_command() + args, capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_subprocess_right_claim_exit_0():
    ok = _subprocess(["posterior", "--coef-x0", RIGHT_X0, "--no-mc"])
    assert ok.returncode == 0, ok.stderr
    assert "symbolic: PROVED" in ok.stdout and "verdict: HOLDS" in ok.stdout


def test_subprocess_hostile_text_exit_2_no_side_effect(tmp_path):
    path = tmp_path / "pwned"
    r = _subprocess(["posterior", "--coef-x0", f"__import__('os').system('touch {path}')", "--no-mc"])
    assert r.returncode == 2 and "dunder" in r.stderr and "Traceback" not in r.stderr
    assert not path.exists()


@pytest.mark.parametrize("argv, code, verdict", [
    (["path_conversions", "--x0-coef-xt", "1/a_t", "--x0-coef-eps=-s_t/a_t", "--no-mc"], 0, "PROVED"),
    (["path_conversions", "--x0-coef-xt", "1/s_t", "--no-mc"], 1, "REFUTED"),
    (["path_reparam", "--shift", "k*tau/(1 + (k - 1)*tau)", "--no-mc"], 0, "PROVED"),
    (["path_reparam", "--shift", "k**2*tau/(1 + (k**2 - 1)*tau)", "--no-mc"], 1, "REFUTED"),  # applied twice
])
def test_path_identities_parse_their_own_symbols(argv, code, verdict, capsys):
    """The Gaussian-path identities' claims are written in proofs.paths.SYMBOLS (a_t, s_t, tau, k, ...)."""
    got, out, err = run(argv, capsys)
    assert got == code, (out, err)
    assert verdict in out


def test_path_symbols_stay_out_of_the_seed_identities(capsys):
    got, out, err = run(["posterior", "--coef-x0", "a_t", "--no-mc"], capsys)
    assert got == 2 and "unknown name" in err and "'a_t'" in err and "Traceback" not in err
    got, out, err = run(["path_conversions", "--x0-coef-xt", "1/a_t + abar[t]", "--no-mc"], capsys)
    assert got == 2 and "abar[t]" in err and "not a symbol of the Gaussian-path identities" in err
    assert err.count("\n") == 1 and "Traceback" not in err
