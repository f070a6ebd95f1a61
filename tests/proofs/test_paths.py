"""The Gaussian-path identities (proofs/paths.py, issue 12): every one is PROVED for a general path
(a_t, s_t positive symbols; a(tau), s(tau) general functions), with the analytic hypotheses it rests
on listed on the verdict; right claims written differently hold; the closed forms the conformance
checks use are importable and evaluate numerically. The wrong claims and wrong proofs (sign, missing
sqrt, a <-> s swap, shift applied twice, ...) are in tests/quality/test_paths.py, the Monte Carlo
confirmations in tests/montecarlo/test_paths_mc.py."""
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from proofs import IDENTITIES, Verdict, check_claim
from proofs import paths as P
from proofs.paths import GAUSSIAN_DENOISER, PF_ODE_GAUSSIAN_SOLUTION, SYMBOLS

IDS = [i.id for i in P.IDENTITIES]
a_t, s_t, a_s, s_s = (SYMBOLS[n] for n in ("a_t", "s_t", "a_s", "s_s"))
m, v, x_t, k, tau, sig = (SYMBOLS[n] for n in ("m", "v", "x_t", "k", "tau", "sigma_ddim"))
at, st, da, ds = (SYMBOLS[n] for n in ("a_tau", "s_tau", "da", "ds"))
sq = sp.sqrt

#: (identity, slot, the right answer written differently): every slot once
RIGHT = [
    ("path_conversions", "x0_coef_xt", a_t / a_t ** 2),
    ("path_conversions", "x0_coef_eps", -s_t ** 2 / (a_t * s_t)),
    ("path_conversions", "v_coef_eps", sq(a_t ** 2)),
    ("path_conversions", "v_coef_x0", -sq(s_t ** 2)),
    ("path_conversions", "x0_from_v_coef_xt", 1 / (a_t + s_t ** 2 / a_t)),
    ("path_conversions", "x0_from_v_coef_v", -(s_t / a_t) / (a_t + s_t ** 2 / a_t)),
    ("path_conversions", "eps_from_v_coef_xt", (s_t / a_t) / (a_t + s_t ** 2 / a_t)),
    ("path_conversions", "eps_from_v_coef_v", (1 / a_t) / (1 + (s_t / a_t) ** 2)),
    ("path_score", "cond_score_coef_eps", -s_t / s_t ** 2),
    ("path_score", "score_coef_eps", -sq(1 / s_t ** 2)),
    ("path_score", "tweedie_coef", sq(s_t ** 4)),
    ("path_velocity", "u_coef_x0", at * (da / at)),
    ("path_velocity", "u_coef_eps", (ds * st + da * 0) / st),
    ("path_velocity", "u_coef_xt", sp.log(sp.exp(da / at))),
    ("path_velocity", "u_coef_eps_hat", (at * ds - da * st) / at),
    ("path_pf_ode", "drift", da * at / at ** 2),
    ("path_pf_ode", "diffusion2", 2 * st ** 2 * (ds / st - da / at)),
    ("path_transition", "mean_coef", sq(a_t ** 2 / a_s ** 2)),
    ("path_transition", "variance", (s_t ** 2 * a_s ** 2 - a_t ** 2 * s_s ** 2) / a_s ** 2),
    ("path_posterior", "coef_x0", a_s * (1 - (a_t * s_s / (a_s * s_t)) ** 2)),
    ("path_posterior", "coef_xt", a_t * s_s ** 2 / (a_s * s_t ** 2)),
    ("path_posterior", "variance", 1 / (1 / s_s ** 2 + (a_t / a_s) ** 2 / (s_t ** 2 - (a_t / a_s) ** 2 * s_s ** 2))),
    ("ddim_marginal", "coef_x0", sq(a_s ** 2)),
    ("ddim_marginal", "coef_eps", sq((s_s - sig) * (s_s + sig))),
    ("ddim_exact", "coef_xt", sq(s_s ** 2 / s_t ** 2)),
    ("ddim_exact", "coef_x0", -a_s * (sp.exp(-(sp.log(a_s / s_s) - sp.log(a_t / s_t))) - 1)),  # DPM-Solver++(1)
    ("path_reparam", "ve_scale", s_t / (a_t * s_t)),
    ("path_reparam", "ve_sigma", 1 / (a_t / s_t)),
    ("path_reparam", "flow_scale", (1 / a_t) / (1 + s_t / a_t)),
    ("path_reparam", "flow_tau", 1 - a_t / (a_t + s_t)),
    ("path_reparam", "shift", 1 / (1 + (1 - tau) / (k * tau))),  # SNR divided by k^2
    ("path_gaussian_data", "denoiser", (m * s_t ** 2 + a_t * v * x_t) / (a_t ** 2 * v + s_t ** 2)),
    ("path_gaussian_data", "posterior_variance", 1 / (1 / v + a_t ** 2 / s_t ** 2)),
    ("path_gaussian_data", "score", (a_t * m - x_t) / (a_t ** 2 * v + s_t ** 2)),
    ("path_gaussian_data", "pf_ode_solution",
     a_s * m + sq(a_s ** 2 * v + s_s ** 2) * (x_t - a_t * m) / sq(a_t ** 2 * v + s_t ** 2)),
]


@pytest.fixture(scope="module")
def results():
    return {i: IDENTITIES[i].check() for i in IDS}


def test_the_path_identities_are_registered():
    assert [i for i in IDENTITIES if i in IDS] == IDS
    assert len(IDS) == 10


@pytest.mark.parametrize("identity_id", IDS)
def test_path_identity_is_proved_for_a_general_path(results, identity_id):
    r = results[identity_id]
    assert r.verdict is Verdict.PROVED, r.to_dict()
    steps = [s for d in r.derivations for s in d.steps]
    assert steps and all(s.verdict is Verdict.PROVED for s in steps)
    assert r.instances and all(i.verdict is Verdict.PROVED for i in r.instances)
    ident = IDENTITIES[identity_id]
    assert ident.statement and ident.latex and ident.doc and ident.problem == "paths"


@pytest.mark.parametrize("identity_id", IDS)
def test_statement_and_latex_are_generated_from_the_slots(monkeypatch, identity_id):
    """Every slot's text and LaTeX (up to the sign the template absorbs) is in the statement; changing a slot
    changes it."""
    from proofs.identity import slot_latex, slot_text
    ident = IDENTITIES[identity_id]
    for expr in ident.slots.values():
        assert slot_text(expr).lstrip("-") in ident.statement, (slot_text(expr), ident.statement)
        assert slot_latex(expr).lstrip("-") in ident.latex, (slot_latex(expr), ident.latex)
    assert "<<" not in ident.statement + ident.latex
    name = next(iter(ident.slots))
    before = ident.statement
    monkeypatch.setitem(ident.slots, name, sp.Symbol("changed"))
    assert ident.statement != before and "changed" in ident.statement


def test_tweedie_for_the_path_declares_leibniz(results):
    hyps = [h for d in results["path_score"].derivations for h in d.hypotheses]
    assert any(h.startswith("leibniz") for h in hyps), hyps


def test_the_proofs_are_for_general_schedules():
    """No concrete schedule in the general derivations: a_t, s_t are free positive symbols and the ODE
    proofs use the undefined functions a(tau), s(tau)."""
    for ident in P.IDENTITIES:
        for d in ident.derivations():
            for step in d.steps:
                assert not step.expr.has(sp.Symbol("abar")), (ident.id, d.title)
    exact = [d for d in IDENTITIES["ddim_exact"].derivations() if "solves it" in d.title][0]
    assert exact.steps[0].expr.has(P.a_fn) and exact.steps[0].expr.has(P.s_fn)


def test_vp_reductions_to_the_seed_posterior_and_one_step_transition(results):
    titles = {d.title: d.verdict for d in results["path_posterior"].derivations}
    for slot in ("coef_x0", "coef_xt", "variance"):
        title = f"VP one step (s = t - 1): {slot} reduces to the seed's posterior {slot}"
        assert titles[title] is Verdict.PROVED
    titles = {d.title: d.verdict for d in results["path_transition"].derivations}
    assert titles["VP one step: a_{t|t-1} = sqrt(alpha_t)"] is Verdict.PROVED
    assert titles["VP one step: s_{t|t-1}^2 = beta_t"] is Verdict.PROVED


def test_ddim_lemma_is_an_induction_over_the_steps(results):
    titles = [d.title for d in results["ddim_marginal"].derivations]
    assert any("base case n = 0" in s for s in titles) and any("inductive step" in s for s in titles)


@pytest.mark.parametrize("identity_id,slot,expr", RIGHT, ids=[f"{r[0]}.{r[1]}" for r in RIGHT])
def test_right_claim_written_differently_holds(identity_id, slot, expr):
    v = check_claim(identity_id, **{slot: expr})
    assert v.holds and v.verdict is Verdict.PROVED, v.detail


def test_every_path_slot_has_a_right_case():
    assert {(i, s) for i in IDS for s in IDENTITIES[i].slots} == {(i, s) for i, s, _ in RIGHT}


def test_claims_in_unknown_symbols_are_refused():
    from proofs import ClaimError
    with pytest.raises(ClaimError, match=r"unknown symbol\(s\) \['y'\]"):
        check_claim("path_conversions", x0_coef_xt=sp.Symbol("y"))


# ----- the closed forms the conformance checks use ------------------------------------------------
def test_closed_forms_use_the_documented_symbols():
    assert PF_ODE_GAUSSIAN_SOLUTION.free_symbols == {a_s, s_s, a_t, s_t, m, v, x_t}
    assert GAUSSIAN_DENOISER.free_symbols == {a_t, s_t, m, v, x_t}
    assert all(SYMBOLS[n].is_positive for n in ("a_t", "s_t", "a_s", "s_s", "v"))
    assert all(SYMBOLS[n].is_real for n in ("x_t", "m", "x_0", "eps"))
    assert IDENTITIES["path_gaussian_data"].slots["pf_ode_solution"] == PF_ODE_GAUSSIAN_SOLUTION


def test_closed_forms_evaluate_numerically():
    """The numeric bridge: flow path, N(1, 4) data, tau 1/2 -> 0 sends x_t to the data quantile."""
    sol = P.path_function(PF_ODE_GAUSSIAN_SOLUTION)
    xs = np.array([-1.0, 0.5, 2.0])
    got = sol(a_t=0.5, s_t=0.5, a_s=1.0, s_s=0.0, m=1.0, v=4.0, x_t=xs)
    np.testing.assert_allclose(got, 1.0 + np.sqrt(4.0 / 1.25) * (xs - 0.5), rtol=1e-14)
    den = P.path_function(GAUSSIAN_DENOISER)(a_t=0.6, s_t=0.8, m=1.0, v=4.0, x_t=xs)
    np.testing.assert_allclose(den, 1.0 + 0.6 * 4.0 * (xs - 0.6) / (0.36 * 4.0 + 0.64), rtol=1e-14)
    with pytest.raises(ValueError, match="needs a value for"):
        sol(a_t=0.5)
    g2 = P.path_function(IDENTITIES["path_pf_ode"].slots["diffusion2"], "vp_linear")
    np.testing.assert_allclose(g2(tau=np.array([0.0, 0.5, 1.0])), [0.1, 10.05, 20.0], rtol=1e-12)  # beta(tau)
    with pytest.raises(ValueError, match="pass path="):
        P.path_function(IDENTITIES["path_pf_ode"].slots["drift"])
    with pytest.raises(ValueError, match="unknown path"):
        P.path_function(IDENTITIES["path_pf_ode"].slots["drift"], "cosine")


def test_importing_the_paths_loads_no_torch():
    code = "import sys, proofs.paths; assert 'torch' not in sys.modules, 'torch was imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
