"""The errata: every transcribed line gets a computed verdict, exactly the known lines are wrong or
notation, right lines hold, counterexamples respect the domain, and the table and JSON are complete.
The negative controls (each wrong line's counterexample re-evaluated outside the engine, its
correction checked) are in tests/quality/test_<identity>.py."""
from __future__ import annotations

import json
import math
from collections import Counter

import pytest
import sympy as sp

from proofs.engine import Verdict
from proofs.errata import check_entry, counts, errata, errata_json, errata_table
from proofs.errata.data import ENTRIES, LATEX, Check, Entry, Spec
from proofs.symbols import abar, alpha, t
from tests.quality._controls import catalogue

# the wrong lines, and why: one table per identity in tests/quality/test_<identity>.py (their negative
# controls re-evaluate each counterexample outside the engine and check the correction)
KNOWN_WRONG = dict(catalogue("ERRATA_WRONG"))
KNOWN_NOTATION = {("P2.3", 5), ("P2.4", 2), ("P3", 5), ("P4", 4)}
KNOWN_RIGHT = [("P2.1", 1), ("P2.1", 4), ("P2.2", 8), ("P2.2", 10), ("P2.3", 3), ("P2.3", 8), ("P3", 2),
               ("P4", 5), ("P4", 12), ("P4", 15)]


@pytest.fixture(scope="module")
def results():
    return errata()


@pytest.fixture(scope="module")
def by_key(results):
    return {(r.problem, r.index): r for r in results}


def test_transcription_is_complete_and_numbered():
    keys = [(e.problem, e.index) for e in ENTRIES]
    assert len(keys) == len(set(keys)) == len(LATEX)
    assert set(keys) == set(LATEX)
    for problem in {p for p, _ in keys}:
        indices = sorted(i for p, i in keys if p == problem)
        assert indices == list(range(1, len(indices) + 1)), problem
    assert {p for p, _ in keys} == {"P2.1", "P2.2", "P2.3", "P2.4", "P3", "P4"}


def test_typos_are_transcribed_as_written():
    assert r"\frac{1}{\sqrt{1 - \alpha_t}}" in LATEX[("P2.1", 2)]
    assert r"\sqrt{\alpha_{t-2} \cdots \alpha_2 (1 - \alpha_1)} \epsilon_0" in LATEX[("P2.2", 5)]
    assert r"||x_t - \sqrt{\bar{\alpha}_t}x_{t-1}||^2}{1 - \bar{\alpha}_t}" in LATEX[("P2.2", 6)]
    assert r"\frac{2\sqrt{\alpha_{t-1}}}{1-\overline{\alpha_{t-1}}}x_{0}" in LATEX[("P2.2", 7)]
    assert r"\log \frac{q(x_{T-2} | x_T, x_0)}" in LATEX[("P2.3", 6)]
    assert r"\sum_{x_1, x_2, x_0} q(x_T, x_0)" in LATEX[("P2.3", 7)]
    assert r"\epsilon_{\theta}(x_{t}, x)" in LATEX[("P2.4", 2)]
    assert r"d\tilde{x} dx." in LATEX[("P3", 5)]


def test_every_entry_gets_a_verdict(results):
    assert len(results) == len(ENTRIES)
    for r in results:
        assert r.verdict in ("holds", "wrong", "notation"), (r.problem, r.index, r.detail)
        assert r.detail and r.method and r.form


def test_verdict_classes(by_key):
    got = {k for k, r in by_key.items() if r.verdict == "wrong"}
    assert got == set(KNOWN_WRONG)
    assert {k for k, r in by_key.items() if r.verdict == "notation"} == KNOWN_NOTATION
    for key in KNOWN_RIGHT:
        r = by_key[key]
        assert r.verdict == "holds", (key, r.detail)
        assert all(c.result.verdict is Verdict.PROVED for c in r.checks), key


def test_counterexample_points_respect_the_domain(by_key):
    """Every sampled alpha, abar lies in (0, 1) and abar_k = abar_{k-1} alpha_k where both appear."""
    for key in KNOWN_WRONG:
        point = by_key[key].counterexample
        for name, value in point.items():
            if name.startswith(("alpha[", "abar[")):
                assert 0 < value < 1, (key, name, value)
        for name in point:
            if name.startswith("abar[t"):
                idx = sp.sympify(name[5:-1], locals={"t": t})
                prev, a = str(abar[idx - 1]), str(alpha[idx])
                if prev in point and a in point:
                    assert math.isclose(point[name], point[prev] * point[a], rel_tol=1e-12), (key, name)


def test_known_problems_are_located(by_key):
    # P2.2 mean: the next line is right, and its mismatch with the line as written is entry 7's typo
    nxt = by_key[("P2.2", 8)]
    assert nxt.verdict == "holds"
    assert nxt.notes[0].result.verdict is Verdict.REFUTED
    # P2.2 density: with the exponent fixed, the (2 pi)^{-n/2} normaliser agrees with entry 2 (inherited)
    dens = by_key[("P2.2", 6)]
    assert [n.result.verdict for n in dens.notes] == [Verdict.REFUTED, Verdict.PROVED]
    # P2.2 mean: the computed posterior mean and variance are the proved slots of proofs.posterior
    assert all(n.result.verdict is Verdict.PROVED for n in by_key[("P2.2", 7)].notes)
    # P2.4: the constant C is not zero (the line also drops + C)
    assert by_key[("P2.4", 1)].notes[0].result.verdict is Verdict.REFUTED
    # P3: ESM - DSM = C free of s, and C != 0: 'we are done' needs + C
    gap = by_key[("P3", 5)].notes
    assert [n.result.verdict for n in gap] == [Verdict.PROVED, Verdict.REFUTED]
    # P2.3: the garbled third line as written is not 0 (a sum of expected KLs)
    final = by_key[("P2.3", 8)]
    assert all(n.result.verdict is Verdict.REFUTED and n.result.lhs_value > 0 for n in final.notes)
    # P2.1 variance: the line holds with the corrected eps, not with eps as written
    assert by_key[("P2.1", 3)].notes[0].result.verdict is Verdict.REFUTED


def test_json_fields(results):
    data = errata_json(results)
    text = json.dumps(data)
    assert len(json.loads(text)) == len(ENTRIES)
    for obj in data:
        for key in ("problem", "index", "latex", "verdict", "detail", "context", "form", "counterexample",
                    "correction", "checks"):
            assert key in obj
        assert obj["latex"] == LATEX[(obj["problem"], obj["index"])]
        if obj["verdict"] == "wrong":
            assert obj["counterexample"] and obj["correction"]
            assert obj["lhs_value"] != obj["rhs_value"]


def test_markdown_table(results):
    table = errata_table(markdown=True, results=results)
    c = counts(results)
    assert table.splitlines()[0] == (f"{len(results)} entries: {c['holds']} holds, {c['wrong']} wrong, "
                                     f"{c['notation']} notation")
    rows = [line for line in table.splitlines() if line.startswith(("| P2", "| P3", "| P4"))]
    assert len(rows) == len(results)
    for line, r in zip(rows, results):
        cells = line.replace("\\|", "").split("|")
        assert len(cells) == 7, line[:120]  # 5 columns: the pipes of ||x|| and q(x|y) are escaped
        assert f"**{r.verdict}**" in line
    assert Counter(r.verdict for r in results) == Counter({k: v for k, v in c.items() if v})
    plain = errata_table(markdown=False, results=results)
    assert "| P2" not in plain and plain.count("\n") >= 2 * len(results)


def test_checker_catches_a_wrong_line_and_accepts_the_fixed_one():
    wrong = Entry("P2.2", 7, "test", lambda: Spec(
        [Check("abar_t vs alpha_t", abar[t], alpha[t])], "exact",
        correction="abar_t = abar_{t-1} alpha_t",
        correction_checks=[Check("abar_t vs abar_{t-1} alpha_t", abar[t], abar[t - 1] * alpha[t])]))
    r = check_entry(wrong)
    assert r.verdict == "wrong" and r.counterexample
    right = Entry("P2.2", 7, "test", lambda: Spec([Check("fixed", abar[t], abar[t - 1] * alpha[t])], "exact"))
    assert check_entry(right).verdict == "holds"


def test_no_verdict_is_an_error_not_a_guess():
    no_correction = Entry("P2.1", 1, "test", lambda: Spec([Check("1 = 2", sp.Integer(1), sp.Integer(2))], "exact"))
    assert check_entry(no_correction).verdict == "error"
    bad_correction = Entry("P2.1", 1, "test", lambda: Spec(
        [Check("1 = 2", sp.Integer(1), sp.Integer(2))], "exact", correction="also wrong",
        correction_checks=[Check("1 = 3", sp.Integer(1), sp.Integer(3))]))
    r = check_entry(bad_correction)
    assert r.verdict == "error" and "does not hold" in r.detail

    def broken():
        raise RuntimeError("cannot build")

    r = check_entry(Entry("P2.1", 1, "test", broken))
    assert r.verdict == "error" and "RuntimeError" in r.detail
