"""The verification report (``diffusion-proofs report``): content, figures, failures, bad usage.

One ``--fast`` report is written through the real CLI (``diffusion_proofs.cli.main``) and shared by the
content tests; the failure tests write small reports (one identity, some sections).
"""
from __future__ import annotations

import contextlib
import io
import json
import re
import struct
import sys
from pathlib import Path

import pytest
import sympy as sp

import proofs
from diffusion_proofs import report as R
from diffusion_proofs.cli import main
from proofs.symbols import abar, t

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_main(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def fast(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    code, stdout, _ = run_main(["report", "--out", str(out), "--fast", "--json"])
    return {"code": code, "summary": json.loads(stdout), "out": out,
            "md": (out / "report.md").read_text(encoding="utf-8"),
            "html": (out / "report.html").read_text(encoding="utf-8"),
            "data": json.loads((out / "report.json").read_text(encoding="utf-8"))}


def assert_png(path):
    data = path.read_bytes()
    assert len(data) > 1000, f"{path} is {len(data)} bytes"
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 200 and height >= 100, (path, width, height)


def test_cli_writes_report_and_json_summary(fast):
    s = fast["summary"]
    assert fast["code"] == 0 == s["exit_code"] and s["passed"] is True, s["sections"]
    assert set(s["sections"]) == set(R.SECTIONS)
    for name, sec in s["sections"].items():
        assert sec["status"] in ("passed", "info", "skipped", "unavailable"), (name, sec)
    assert {Path(f).name for f in s["files"]} >= {"report.md", "report.html", "report.json", "mc_eps_hist.png"}
    for f in s["files"]:
        assert Path(f).is_file() and Path(f).is_relative_to(fast["out"]), f
    assert "ALL CHECKS PASSED" in fast["md"]


def test_every_identity_and_every_step_has_a_verdict(fast):
    md = fast["md"]
    proof_data = {d["id"]: d for d in fast["data"]["data"]["proofs"]}
    assert set(proof_data) == set(proofs.IDENTITIES)
    for ident_id, d in proof_data.items():
        part = md.split(f"### `{ident_id}`", 1)[1].split("\n### ", 1)[0]
        verdicts = re.findall(r"^Step (\d+) \(.*\): \*\*(PROVED|NUMERIC|REFUTED)\*\*", part, flags=re.M)
        assert len(verdicts) == d["steps"] > 0, ident_id
        assert [v for _, v in verdicts] == [s["verdict"] for der in d["derivations"] for s in der["steps"]]
        assert part.count("$$") >= 2 * len(verdicts)  # one display per step at least


def test_latex_blocks_are_balanced_sympy_latex(fast):
    md = fast["md"]
    blocks = re.findall(r"^\$\$\n(.*?)\n\$\$$", md, flags=re.M | re.S)
    assert md.count("$$") == 2 * len(blocks) and len(blocks) > 50
    assert any(r"{\bar{\alpha}}_{t - 1}" in b for b in blocks)  # sympy.latex with abar -> \bar{\alpha}
    for b in blocks:
        assert b.count("{") == b.count("}"), b[:200]
    slot = sp.latex(proofs.IDENTITIES["posterior"].slots["variance"], symbol_names={abar.label: r"\bar{\alpha}"})
    assert r"\mathrm{variance} = " + slot in md


def test_monte_carlo_schedule_conformance_and_errata_sections(fast):
    md = fast["md"]
    mc = md.split("## 2. Monte Carlo confirmation", 1)[1].split("\n## 3.", 1)[0]
    for ident_id in proofs.IDENTITIES:
        assert re.search(rf"^\| `{ident_id}` \| \*\*PASSED\*\* \| [0-9.e-]+ \| 1e-06 \| (exact|asymptotic) \|", mc,
                         flags=re.M), ident_id
    assert "## 3. Noise schedules" in md and "+zero_terminal_snr | 1000 | 0 | 0 | 0 | 0 | 1 |" in md
    conf = md.split("## 4. Conformance", 1)[1].split("\n## 5.", 1)[0]
    assert ("| DDPMScheduler | **PASS** |" in conf and "| DDIMScheduler | **PASS** |" in conf) \
        or "diffusers not installed" in conf
    errata = md.split("## 5. Errata", 1)[1]
    assert "| Problem | # | As written (LaTeX) | Verdict | Detail |" in errata or "not available" in errata


def test_every_referenced_figure_is_a_png(fast):
    refs = re.findall(r"\]\((figures/[^)]+\.png)\)", fast["md"])
    assert {"figures/mc_eps_hist.png", "figures/mc_running.png", "figures/schedules.png",
            "figures/mc_pvalues.png", "figures/lin_et_al.png"} <= set(refs)
    for ref in refs:
        assert_png(fast["out"] / ref)
    html_refs = re.findall(r"<img src='([^']+)'", fast["html"])
    assert sorted(html_refs) == sorted(refs)
    assert "<script" not in fast["html"]  # self-contained: no MathJax, no network
    assert all(f"<code>{i}</code>" in fast["html"] for i in proofs.IDENTITIES)


def test_a_wrong_slot_is_reported_refuted_and_failed(monkeypatch, tmp_path):
    monkeypatch.setitem(proofs.IDENTITIES["forward_marginal"].slots, "variance", 1 - abar[t - 1])
    result = R.write_report(tmp_path, fast=True, identities=["forward_marginal"], sections=("proofs", "montecarlo"))
    assert result.exit_code == 1 and not result.passed
    assert result.sections["proofs"]["status"] == "failed" == result.sections["montecarlo"]["status"]
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "SOME CHECKS FAILED" in md
    assert "### `forward_marginal` (P2.1): REFUTED" in md
    assert re.search(r"^Step \d+ \(.*\): \*\*REFUTED\*\*, .*counterexample", md, flags=re.M)
    assert "| `forward_marginal` | **FAILED** |" in md


def test_missing_modules_are_stated_not_fatal(monkeypatch, tmp_path):
    import montecarlo
    for name, parent, attr in (("diffusers", None, None), ("proofs.errata", proofs, "errata"),
                               ("montecarlo.confirmation", montecarlo, "confirmation")):
        monkeypatch.setitem(sys.modules, name, None)  # import -> ImportError
        if parent is not None:
            monkeypatch.delattr(parent, attr, raising=False)
    result = R.write_report(tmp_path, fast=True, identities=["tweedie"],
                            sections=("montecarlo", "conformance", "errata"))
    assert result.exit_code == 0  # nothing failed: absent checks are stated, not counted as failures
    assert [result.sections[s]["status"] for s in ("montecarlo", "conformance", "errata")] == \
        ["unavailable", "skipped", "unavailable"]
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "Monte Carlo confirmation is not available: montecarlo.confirmation could not be imported" in md
    assert "diffusers not installed" in md and "The errata are not available" in md


def test_a_raising_confirmation_is_reported_as_error(monkeypatch, tmp_path):
    import montecarlo.confirmation as C

    def boom(*args, **kwargs):
        raise RuntimeError("simulated failure in confirm")

    monkeypatch.setattr(C, "confirm", boom)
    result = R.write_report(tmp_path, fast=True, identities=["tweedie"], sections=("montecarlo",))
    assert result.exit_code == 1 and result.sections["montecarlo"]["status"] == "error"
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| `tweedie` | **ERROR** |" in md and "RuntimeError: simulated failure in confirm" in md
    assert_png(tmp_path / "figures" / "mc_eps_hist.png")  # the descriptive figures are still drawn


def test_bad_out_is_a_usage_error(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("keep me")
    for out in (blocker, blocker / "sub"):
        code, _, err = run_main(["report", "--out", str(out), "--fast"])
        assert code == 2 and ("is a file" in err or "not a directory" in err), err
        assert str(blocker) in err
    assert blocker.read_text() == "keep me"
    code, _, err = run_main(["report", "--out", str(tmp_path / "r"), "--alpha", "1.5"])
    assert code == 2 and "alpha" in err and not (tmp_path / "r").exists()
    with pytest.raises(ValueError, match="unknown identity 'nope'"):
        R.write_report(tmp_path / "r", identities=["nope"])


def test_tex_keeps_short_expressions_and_truncates_long_sums():
    e = 1 - abar[t]
    assert R.tex(e) == r"1 - {\bar{\alpha}}_{t}"
    long_sum = sum(sp.Symbol(f"y_{k}") ** 2 for k in range(60))
    s = R.tex(long_sum, limit=100)
    assert r"\cdots" in s and "of 60 terms shown" in s and len(s) < 200
    assert s.count("{") == s.count("}")


def test_progress_bar_only_on_a_terminal_outside_ci(monkeypatch):
    """The one progress helper of every verb (report, verify, errata, bench, check, conformance)."""
    from diffusion_proofs import options

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", Tty())
    monkeypatch.delenv("CI", raising=False)
    assert options.progress(total=3).disable is False
    with options.phase("Monte Carlo check"):
        pass
    assert "Monte Carlo check" in sys.stderr.getvalue()
    monkeypatch.setenv("CI", "1")
    assert options.progress(total=3).disable is True
    monkeypatch.delenv("CI")
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert options.progress(total=3).disable is True
    with options.phase("Monte Carlo check"):
        pass
    assert sys.stderr.getvalue() == ""


def test_the_seed_is_named_by_its_file_name(fast):
    """Never an absolute path of the machine the report ran on."""
    assert fast["data"]["seed"] == R.SEED_FILE
    for text in (fast["md"], fast["html"], json.dumps(fast["data"])):
        assert R.SEED_FILE in text
        assert "/work/" not in text and "/shared/seeds" not in text and str(fast["out"]) not in text
    assert "figures/mc_eps_hist.png" in fast["data"]["sections"]["montecarlo"]["figures"]
