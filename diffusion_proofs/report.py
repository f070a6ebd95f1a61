"""The verification report: ``diffusion-proofs report --out DIR``.

Writes ``DIR/report.md`` (Markdown; LaTeX in ``$$ ... $$`` blocks, rendered by GitHub, VS Code,
Jupyter, pandoc), ``DIR/report.html`` (the same content as a self-contained page: no network, so no
MathJax; each LaTeX block is shown as source text in a ``<pre class="math">``), ``DIR/report.json``
(everything machine-readable: proof steps with full LaTeX, Monte Carlo sub-tests, conformance
findings, errata) and PNG figures in ``DIR/figures/`` (matplotlib, Agg canvas). Sections:

1. ``proofs``: every identity of :data:`proofs.IDENTITIES`, ``Identity.check()``: each derivation's
   steps as a chain ``e_0 = e_1 = ...`` (``sympy.latex``; an expression over ``LATEX_LIMIT``
   characters shows its leading terms and says how many are left out) with the verdict of every
   step (PROVED with its hypotheses and domain / UNDECIDED / REFUTED, with the counterexample), and the closed-form instances.
2. ``montecarlo``: :func:`montecarlo.confirm` of every identity: Holm family p-value at
   family-wise ``alpha``, exact or asymptotic rate, MDE at power 0.99; figures from
   :mod:`diffusion_proofs.plots` (eps against N(0, 1), running estimates with 99% bands, p-values and MDEs).
3. ``schedules``: abar_t, SNR_t and the posterior variance (the proved slot) for linear, cosine,
   scaled_linear, sigmoid (T = 1000) and scaled_linear rescaled to zero terminal SNR; the
   :func:`montecarlo.conformance.schedule_health` table and Lin et al.'s figure.
4. ``conformance``: :func:`montecarlo.conformance.check_scheduler` on diffusers' default
   ``DDPMScheduler()`` and ``DDIMScheduler()`` (diffusers is optional).
5. ``errata``: :mod:`proofs.errata`, the seed's equations as written with a verdict each.

Section status: ``passed``, ``failed`` (a check failed: a step not PROVED, a Monte Carlo check
rejected, a conformance failure, an erratum whose verdict could not be computed), ``error`` (the
section or a check raised; the report says what), ``unavailable`` (a module it needs is missing),
``skipped`` (diffusers not installed), ``info`` (no pass/fail check: schedule plots). Exit code:
0 report written and every check passed, 1 written but some section ``failed``/``error``,
2 bad usage (``--out`` is an existing file, alpha outside (0, 1), unknown device).

``--fast`` (for tests): Monte Carlo with ``FAST_SAMPLES`` rows per check, figures from
``FAST_FIGURE_SAMPLES`` chains, conformance on ``FAST_TIMESTEPS`` only. A tqdm bar is shown on a
terminal, never when stderr is not a TTY or the ``CI`` variable is set. The seed is named by its file
name (:data:`SEED_FILE`), never by a path of the machine the report ran on.
"""
from __future__ import annotations

import argparse
import datetime
import html
import json
import math
import platform
import re
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from . import options

SECTIONS = ("proofs", "montecarlo", "schedules", "conformance", "errata")
FAILING = ("failed", "error")
LATEX_LIMIT = 1500
FAST_SAMPLES = 2_000
FIGURE_SAMPLES, FAST_FIGURE_SAMPLES = 200_000, 20_000
FAST_TIMESTEPS = (1, 2, 3, 10, 100, 500, 999, 1000)
EPS_TIMES = (1, 10, 500, 1000)
SEED_FILE = "000_7b2066bcb9a0a2e2.txt"  # the seed homework, named by its file name only


# ----- document blocks ------------------------------------------------------------------------
@dataclass
class Section:
    """One section: ``blocks`` are ("h", level, text), ("p", text), ("math", latex),
    ("table", header, rows), ("img", relative path, caption), ("pre", text), ("md", markdown, plain)."""

    name: str
    title: str
    status: str = "passed"
    detail: str = ""
    blocks: list = field(default_factory=list)
    data: object = None
    figures: list = field(default_factory=list)

    def h(self, level, text):
        self.blocks.append(("h", level, text))

    def p(self, text):
        self.blocks.append(("p", text))

    def math(self, latex):
        self.blocks.append(("math", latex))

    def table(self, header, rows):
        self.blocks.append(("table", list(header), [[str(c) for c in r] for r in rows]))

    def img(self, path: Path, caption: str):
        self.figures.append(str(path))
        self.blocks.append(("img", f"figures/{path.name}", caption))

    def pre(self, text):
        self.blocks.append(("pre", text))

    def fail(self, status="failed"):
        if self.status not in FAILING or status == "error":
            self.status = status

    def summary(self) -> dict:
        return {"status": self.status, "detail": self.detail, "figures": self.figures}


def _error_text(exc: BaseException) -> str:
    frame = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" (at {Path(frame[0].filename).name}:{frame[0].lineno})" if frame else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _fmt(v, spec=".3g") -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return format(v, spec) if math.isfinite(v) else str(v)
    return str(v)


def _pct(v) -> str:
    return f"{100 * v:.3g}%" if isinstance(v, (int, float)) and math.isfinite(v) else "n/a"


# ----- LaTeX ----------------------------------------------------------------------------------
def _names() -> dict:
    from proofs.symbols import abar, noise_std, x_tilde
    return {abar.label: r"\bar{\alpha}", x_tilde: r"\tilde{x}", noise_std: r"\sigma"}


def _latex_full(expr) -> str:
    import sympy as sp
    s = sp.latex(expr, symbol_names=_names())
    return s.replace("x_{tilde}", r"\tilde{x}").replace("noise_{std}", r"\sigma")


def tex(expr, limit: int = LATEX_LIMIT) -> str:
    """``sympy.latex`` of ``expr``; over ``limit`` characters, a sum keeps its leading terms and
    says how many are left out (the full LaTeX is in report.json)."""
    import sympy as sp
    s = _latex_full(expr)
    if len(s) <= limit:
        return s
    if isinstance(expr, sp.Add):
        terms = [_latex_full(a) for a in expr.as_ordered_terms()]
        out = terms[0]
        shown = 1
        for piece in terms[1:]:
            nxt = out + (" " if piece.startswith("-") else " + ") + piece
            if len(nxt) > limit:
                break
            out, shown = nxt, shown + 1
        if len(out) <= 2 * limit:
            return out + r" + \cdots \quad \text{(" + f"{shown} of {len(terms)} terms shown)" + "}"
    return r"\text{(" + f"{type(expr).__name__}: {len(s)} characters of LaTeX, in report.json)" + "}"


def _texttt(name: str) -> str:
    return r"\mathrm{" + name.replace("_", r"\_") + "}"


# ----- section 1: proofs ----------------------------------------------------------------------
def proofs_section(ids, bar) -> Section:
    import proofs
    sec = Section("proofs", "Identities: step-checked symbolic proofs")
    sec.p("Each identity of the seed is proved by a chain of expressions; every link is checked by the derivation "
          "engine (`proofs.engine`): **PROVED** = exact symbolic equality (or a proved inequality) on the stated "
          "domain (with the hypotheses it rests on and any narrowed domain); **UNDECIDED** = neither proved nor refuted, never counted as holding; **REFUTED** = a certified "
          "point of the domain where the two sides differ. Instances evaluate both sides in closed form on concrete "
          "families.")
    rows, data, n_steps, bad = [], [], 0, []
    results = {}
    for i in ids:
        ident = proofs.IDENTITIES[i]
        try:
            r = ident.check()
            results[i] = r
            rows.append([f"`{i}`", ident.problem, f"**{r.verdict.value}**", r.steps, len(r.instances),
                         f"{r.seconds:.2f}"])
            data.append(r.to_dict())
            n_steps += r.steps
            if r.verdict.value != "PROVED":
                bad.append(i)
        except Exception as exc:  # the report states it and goes on
            results[i] = exc
            rows.append([f"`{i}`", ident.problem, "**ERROR**", "-", "-", "-"])
            data.append({"id": i, "verdict": "ERROR", "error": _error_text(exc)})
            bad.append(i)
            sec.fail("error")
        bar.update(1)
    sec.table(["identity", "problem", "verdict", "steps", "instances", "seconds"], rows)
    for i in ids:
        ident, r = proofs.IDENTITIES[i], results[i]
        verdict = "ERROR" if isinstance(r, Exception) else r.verdict.value
        sec.h(3, f"`{i}` ({ident.problem}): {verdict}")
        sec.p(ident.statement)
        if ident.latex:
            sec.math(ident.latex)
        for slot, expr in ident.slots.items():
            sec.math(f"{_texttt(slot)} = {tex(expr)}")
        if isinstance(r, Exception):
            sec.p(f"**ERROR**: the proof raised {_error_text(r)}")
            continue
        for k, d in enumerate(r.derivations, 1):
            sec.h(4, f"Derivation {k}: {d.title} ({d.verdict.value})")
            sec.p(f"Assumptions: {d.assumptions}")
            prev = None
            for s in d.steps:
                rel = r"\ge" if s.relation == ">=" else "="
                text = f"Step {s.index} ({s.reason}): **{s.verdict.value}**, {s.method}"
                if s.verdict.value != "PROVED" and s.counterexample:
                    text += (f"; counterexample {_point_text(s.counterexample)}: left {_fmt(s.lhs_value, '.6g')}, "
                             f"right {_fmt(s.rhs_value, '.6g')}")
                sec.p(text)
                same = prev is not None and s.lhs == prev
                sec.math(f"{rel} \\; {tex(s.rhs)}" if same else f"{tex(s.lhs)} \\; {rel} \\; {tex(s.rhs)}")
                prev = s.rhs
        if r.instances:
            sec.p("Closed-form instances:")
            sec.table(["instance", "verdict", "detail"],
                      [[ins.title, f"**{ins.verdict.value}**", ins.detail] for ins in r.instances])
    if bad and sec.status == "passed":
        sec.fail()
    sec.detail = (f"{len(ids)} identities, {n_steps} steps: " +
                  ("all PROVED" if not bad else f"not proved: {', '.join(bad)}"))
    sec.data = data
    return sec


# ----- section 2: Monte Carlo -----------------------------------------------------------------
def montecarlo_section(ids, figdir: Path, *, fast, seed, alpha, device, bar) -> Section:
    sec = Section("montecarlo", "Monte Carlo confirmation")
    try:
        from montecarlo import confirmation as C
    except Exception as exc:
        sec.status, sec.detail = "unavailable", f"montecarlo.confirmation could not be imported ({_error_text(exc)})"
        sec.p(f"Monte Carlo confirmation is not available: {sec.detail}.")
        bar.update(len(ids))
        _mc_figures(sec, figdir, fast=fast, seed=seed, device=device, bar=bar)
        return sec
    samples = FAST_SAMPLES if fast else None
    sec.p(f"Each identity is simulated and its claimed coefficients (the proved slots, via "
          f"`proofs.numeric.slot_function`) are tested. Sub-tests are combined with Holm at family-wise alpha = "
          f"{alpha:g} (the check fails when the Holm family p-value is <= alpha). *exact*: every sub-test's "
          f"false-alarm rate holds in finite samples (t, chi-square, correlation tests on Gaussian data, deterministic "
          f"checks); *asymptotic*: some sub-tests are CLT z tests. MDE: the relative error of the slot detected with "
          f"probability 0.99 when applied at every cell, and when confined to the least sensitive cell. Samples per "
          f"check: {'%d (--fast)' % FAST_SAMPLES if fast else 'montecarlo.designs.base.DEFAULT_SAMPLES'}; seed {seed}; "
          f"device {device}.")
    rows, data, summary, failed = [], [], [], []
    for i in ids:
        try:
            n_i = None if samples is None else max(samples, C.min_samples(i))  # score_eps refuses < 50000
            v = C.confirm(i, alpha=alpha, samples=n_i, seed=seed, device=device)
        except Exception as exc:
            rows.append([f"`{i}`", "**ERROR**", "-", _fmt(alpha, "g"), "-", "-", "-", "-", "-", _error_text(exc)])
            data.append({"identity": i, "error": _error_text(exc)})
            failed.append(i)
            sec.fail("error")
            bar.update(1)
            continue
        mde = getattr(v, "mde", {}) or {}
        worst = getattr(v, "mde_worst", {}) or {}
        mde_text = ", ".join(f"{k} {_pct(x)}" for k, x in mde.items()) or "n/a"
        worst_text = ", ".join(f"{k} {_pct(x)}" for k, x in worst.items()) or "n/a"
        family = getattr(v, "family", None)
        rows.append([f"`{i}`", f"**{'PASSED' if v.passed else 'FAILED'}**", _fmt(v.p_value), _fmt(v.alpha, "g"),
                     "exact" if getattr(v, "exact", False) else "asymptotic", getattr(family, "m", "?"), v.samples,
                     f"{v.seconds:.2f}", mde_text, worst_text])
        data.append(v.to_dict() if hasattr(v, "to_dict") else {"identity": i, "passed": v.passed})
        summary.append({"id": i, "p_value": float(v.p_value), "passed": bool(v.passed), "mde": mde})
        if not v.passed:
            failed.append(i)
            sec.fail()
        bar.update(1)
    sec.table(["identity", "verdict", "Holm p", "alpha", "rate", "sub-tests", "samples", "seconds",
               "MDE (every cell)", "MDE (worst cell)"], rows)
    for item in data:
        if item.get("passed") is False and "details" in item:
            def p_of(d, key):  # a sub-test without a p-value (a deterministic check) is never "rejected" by one
                value = d.get(key)
                return 1.0 if value is None else value
            worst_tests = sorted((d for d in item.get("details", []) if p_of(d, "adjusted_p") <= item["alpha"]),
                                 key=lambda d: p_of(d, "p_value"))[:5]
            sec.p(f"`{item['identity']}` FAILED; first rejected sub-tests:")
            sec.table(["sub-test", "p", "Holm-adjusted p"],
                      [[d.get("name", "?"), _fmt(d.get("p_value")), _fmt(d.get("adjusted_p"))] for d in worst_tests])
    designs = [[f"`{d['identity']}`", d.get("method", "")] for d in data if "method" in d]
    if designs:
        sec.p("Designs:")
        sec.table(["identity", "what is simulated and tested"], designs)
    if summary:
        from . import plots
        path = figdir / "mc_pvalues.png"
        plots.pvalue_figure(path, summary, alpha)
        sec.img(path, f"Holm family p-values (-log10) against alpha = {alpha:g}, and each slot's MDE at power 0.99.")
    n_ok = len(ids) - len(failed)
    sec.detail = f"{n_ok} of {len(ids)} checks passed at alpha = {alpha:g}" + (
        f"; failed: {', '.join(failed)}" if failed else "")
    sec.data = {"checks": data}
    _mc_figures(sec, figdir, fast=fast, seed=seed, device=device, bar=bar)
    return sec


def _mc_figures(sec: Section, figdir: Path, *, fast, seed, device, bar):
    """The forward-chain figures (eps against N(0, 1), running estimates): descriptive, no verdict.
    Drawn with the slots as they stand: a wrong slot shows (division by zero included, hence errstate)."""
    import numpy as np
    try:
        from . import plots
        from montecarlo.schedules import Schedule
        n = FAST_FIGURE_SAMPLES if fast else FIGURE_SAMPLES
        sched = Schedule.linear(1000)
        x0, xs = plots.simulate(sched, set(EPS_TIMES) | {9, 10, 500}, n, seed=seed, device=device)
        path = figdir / "mc_eps_hist.png"
        with np.errstate(all="ignore"):
            ks = plots.eps_figure(path, sched, x0, xs, EPS_TIMES)
        sec.img(path, f"eps = (x_t - mean_coef x_0)/sqrt(variance) (the forward_marginal slots) from `forward_chain` "
                      f"({n} chains on {sched.name}, x_0 cycling through {plots.X0_VALUES}, float64) "
                      f"against the N(0, 1) density, and a normal QQ plot. Kolmogorov-Smirnov p-values (descriptive): "
                      + ", ".join(f"t = {t}: {p:.3g}" for t, p in ks.items()) + ".")
        path = figdir / "mc_running.png"
        with np.errstate(all="ignore"):
            est = plots.running_figure(path, sched, x0, xs)
        sec.img(path, "Running estimates against the sample count with 99% acceptance bands around the claimed value "
                      "(pointwise in n; exact: chi2_n/n for the variance ratios, Gaussian for the OLS slope given x_t). "
                      "Final estimates: " + ", ".join(f"{k} = {v:.5g} ({'inside' if ok else 'OUTSIDE'} the band)"
                                                      for k, (v, ok) in est.items()) + ".")
        if isinstance(sec.data, dict):
            sec.data["figures"] = {"ks_p": ks, "running": est}
    except Exception as exc:
        sec.p(f"The forward-chain figures could not be drawn: {_error_text(exc)}.")
    bar.update(1)


# ----- section 3: schedules -------------------------------------------------------------------
def named_schedules():
    from montecarlo.schedules import Schedule
    return [Schedule.linear(1000), Schedule.cosine(1000), Schedule.scaled_linear(1000), Schedule.sigmoid(1000),
            Schedule.scaled_linear(1000).rescale_zero_terminal_snr()]


def schedules_section(figdir: Path, bar) -> Section:
    from . import plots
    from montecarlo.conformance import lin_et_al_figure, schedule_health
    sec = Section("schedules", "Noise schedules", status="info")
    scheds = named_schedules()
    path = figdir / "schedules.png"
    plots.schedule_figure(path, scheds)
    sec.img(path, "abar_t, SNR_t (log scale) and the posterior variance, evaluated from the proved slot "
                  "`posterior.variance` with `proofs.numeric.slot_function` (t = 1 has variance 0 and is not drawn "
                  "on the log scale; nor is SNR_T = 0).")
    rows, data, warnings = [], [], []
    for s in scheds:
        h = schedule_health(s)
        data.append(h.to_dict())
        rows.append([h.name, h.T, _fmt(h.alpha_bar_T, ".4g"), _fmt(h.sqrt_alpha_bar_T, ".4g"), _fmt(h.snr_T, ".4g"),
                     _fmt(h.prior_kl_per_dim, ".4g"), len(h.warnings)])
        warnings += [f"{h.name}: {w}" for w in h.warnings]
    sec.p("Schedule health (`montecarlo.conformance.schedule_health`): the signal left at t = T and the prior term "
          "L_T = KL(q(x_T|x_0) || N(0, I)) per dimension for E[x_0^2] = 1.")
    sec.table(["schedule", "T", "abar_T", "sqrt(abar_T)", "SNR_T", "L_T (nats/dim)", "warnings"], rows)
    for w in warnings:
        sec.p(f"Warning: {w}")
    path = figdir / "lin_et_al.png"
    lin_et_al_figure(1000, path=str(path))
    sec.img(path, "Lin et al. (2024): Stable Diffusion's schedule (scaled_linear 0.00085..0.012) and its "
                  "zero-terminal-SNR rescale: sqrt(abar_t) and log SNR_t.")
    sec.detail = f"{len(scheds)} schedules, {len(warnings)} health warnings (informational)"
    sec.data = data
    bar.update(1)
    return sec


# ----- section 4: conformance -----------------------------------------------------------------
def conformance_section(*, fast, seed, alpha, bar) -> Section:
    sec = Section("conformance", "Conformance of diffusers schedulers")
    try:
        from diffusers import DDIMScheduler, DDPMScheduler
    except ImportError:
        sec.status, sec.detail = "skipped", "diffusers not installed"
        sec.p("diffusers not installed: `pip install 'diffusion-proofs[diffusers]'` to check DDPMScheduler and "
              "DDIMScheduler.")
        bar.update(2)
        return sec
    from montecarlo.conformance import check_scheduler
    timesteps = list(FAST_TIMESTEPS) if fast else None
    sec.p("`montecarlo.conformance.check_scheduler` on the default `DDPMScheduler()` and `DDIMScheduler()` (float32): "
          "the running product abar_t, `add_noise`, `get_velocity`, the step's x_0 estimate, mean and noise scale, "
          "strided grids, against the proved slots evaluated in float64. Timesteps probed on the full grid: "
          + (", ".join(map(str, FAST_TIMESTEPS)) + " (--fast)" if fast else "all t = 1..T") + ".")
    rows, data, failed = [], [], []
    for cls in (DDPMScheduler, DDIMScheduler):
        try:
            rep = check_scheduler(cls(), alpha=alpha, seed=seed, timesteps=timesteps)
        except Exception as exc:
            rows.append([cls.__name__, "**ERROR**", "-", "-", "-", _error_text(exc)])
            failed.append(cls.__name__)
            sec.fail("error")
            bar.update(1)
            continue
        rows.append([cls.__name__, f"**{'PASS' if rep.passed else 'FAIL'}**", rep.comparisons, len(rep.failures),
                     len(rep.notes), rep.noise_mode])
        data.append(rep.to_dict())
        sec.h(3, f"{cls.__name__}()")
        sec.pre(rep.format_table(limit=20))
        if not rep.passed:
            failed.append(cls.__name__)
            sec.fail()
        bar.update(1)
    sec.blocks.insert(1, ("table", ["scheduler", "verdict", "comparisons", "failures", "notes", "noise scale"], rows))
    sec.detail = "all conform" if not failed else f"not conforming: {', '.join(failed)}"
    sec.data = data
    return sec


# ----- section 5: errata ----------------------------------------------------------------------
def errata_section(bar) -> Section:
    sec = Section("errata", "Errata of the seed homework")
    try:
        from proofs import errata as E
    except ImportError as exc:
        sec.status, sec.detail = "unavailable", f"proofs.errata is missing ({exc})"
        sec.p(f"The errata are not available: {sec.detail}.")
        bar.update(1)
        return sec
    results = E.errata()
    sec.p(f"Every displayed equation and `=` step of the seed ({SEED_FILE}), as "
          "written, with a verdict computed by the derivation engine: *holds*, *wrong* (counterexample and "
          "correction), *notation* (ill-formed as written, intended meaning holds), *error* (no verdict could be "
          "computed: counted as a failed check). The LaTeX is shortened here; report.json has it whole.")
    sec.blocks.append(("md", E.errata_table(markdown=True, results=results),
                       E.errata_table(markdown=False, results=results)))
    c = E.counts(results)
    sec.detail = ", ".join(f"{v} {k}" for k, v in c.items())
    if c.get("error"):
        sec.fail()
    sec.data = E.errata_json(results)
    bar.update(1)
    return sec


# ----- rendering ------------------------------------------------------------------------------
def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def to_markdown(blocks) -> str:
    out = []
    for b in blocks:
        kind = b[0]
        if kind == "h":
            out.append("#" * b[1] + " " + b[2])
        elif kind == "p":
            out.append(b[1])
        elif kind == "math":
            out.append("$$\n" + b[1] + "\n$$")
        elif kind == "table":
            lines = ["| " + " | ".join(_cell(h) for h in b[1]) + " |", "|" + "---|" * len(b[1])]
            lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in b[2]]
            out.append("\n".join(lines))
        elif kind == "img":
            out.append(f"![{Path(b[1]).stem}]({b[1]})\n\n*{b[2]}*")
        elif kind == "pre":
            out.append("```text\n" + b[1] + "\n```")
        elif kind == "md":
            out.append(b[1].rstrip())
    return "\n\n".join(out) + "\n"


def _inline(text: str) -> str:
    s = html.escape(str(text))
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    s = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", s)
    return re.sub(r"(?<![\w*])\*([^*]+)\*(?![\w*])", r"<i>\1</i>", s)


CSS = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45}"
       "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;padding:2px 6px;font-size:90%}"
       "pre{background:#f5f5f5;padding:6px;overflow-x:auto}pre.math{background:#eef3fb}img{max-width:100%}"
       "figcaption{font-size:90%;color:#444}")


def to_html(blocks, title: str) -> str:
    out = [f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
           f"<style>{CSS}</style></head><body>",
           "<p><i>LaTeX is shown as source (no network access, so no MathJax); report.md renders it.</i></p>"]
    for b in blocks:
        kind = b[0]
        if kind == "h":
            out.append(f"<h{b[1]}>{_inline(b[2])}</h{b[1]}>")
        elif kind == "p":
            out.append(f"<p>{_inline(b[1])}</p>")
        elif kind == "math":
            out.append(f"<pre class='math'>$$ {html.escape(b[1])} $$</pre>")
        elif kind == "table":
            rows = ["<tr>" + "".join(f"<th>{_inline(h)}</th>" for h in b[1]) + "</tr>"]
            rows += ["<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in b[2]]
            out.append("<table>" + "".join(rows) + "</table>")
        elif kind == "img":
            out.append(f"<figure><img src='{html.escape(b[1])}' alt='{html.escape(b[2])}'>"
                       f"<figcaption>{_inline(b[2])}</figcaption></figure>")
        elif kind == "pre":
            out.append(f"<pre>{html.escape(b[1])}</pre>")
        elif kind == "md":
            out.append(f"<pre>{html.escape(b[2])}</pre>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# ----- driver ---------------------------------------------------------------------------------
@dataclass
class ReportResult:
    out: str
    files: list
    sections: dict
    passed: bool
    seconds: float

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    def to_dict(self) -> dict:
        return {"out": self.out, "passed": self.passed, "exit_code": self.exit_code, "seconds": round(self.seconds, 2),
                "files": self.files, "sections": self.sections}


def _check_out(out) -> Path:
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ValueError(f"--out {str(out)!r} exists and is not a directory")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise ValueError(f"--out {str(out)!r}: {str(parent)!r} is a file, not a directory")
    return path


def _versions() -> str:
    import numpy
    import sympy
    parts = [f"Python {platform.python_version()}", f"sympy {sympy.__version__}", f"numpy {numpy.__version__}"]
    for mod in ("torch", "diffusers"):
        m = sys.modules.get(mod)
        if m is not None:
            parts.append(f"{mod} {m.__version__}")
    return ", ".join(parts)


def write_report(out, *, fast: bool = False, identities=None, sections=SECTIONS, seed: int = 0,
                 alpha: float = 1e-6, device: str = "cpu", html_page: bool = True) -> ReportResult:
    """Write the report into directory ``out`` (created; existing report files are overwritten).

    ``identities``: ids to report (default all of :data:`proofs.IDENTITIES`); ``sections``: a
    subset of :data:`SECTIONS`. Raises ValueError for bad arguments (``out`` an existing file,
    unknown identity or section, alpha outside (0, 1), negative seed, unknown device)."""
    import proofs
    start = time.perf_counter()
    out = _check_out(out)
    ids = list(proofs.IDENTITIES) if identities is None else list(identities)
    unknown = [i for i in ids if i not in proofs.IDENTITIES]
    if unknown:
        raise ValueError(f"unknown identity {unknown[0]!r}; known: {', '.join(proofs.IDENTITIES)}")
    bad = [s for s in sections if s not in SECTIONS]
    if bad:
        raise ValueError(f"unknown section {bad[0]!r}; sections: {', '.join(SECTIONS)}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if "montecarlo" in sections:
        try:
            from montecarlo.kernel import make_generator
        except ImportError:
            pass
        else:
            make_generator(0, 0, device)  # ValueError naming an unknown device
    figdir = options.make_dir(out / "figures", "--out")  # before any work: an unwritable --out is exit 2

    total = (len(ids) if "proofs" in sections else 0) + (len(ids) + 1 if "montecarlo" in sections else 0) + \
        ("schedules" in sections) + 2 * ("conformance" in sections) + ("errata" in sections)
    built = []
    with options.progress(total=total, desc="report") as bar:
        jobs = {
            "proofs": lambda: proofs_section(ids, bar),
            "montecarlo": lambda: montecarlo_section(ids, figdir, fast=fast, seed=seed, alpha=alpha, device=device,
                                                     bar=bar),
            "schedules": lambda: schedules_section(figdir, bar),
            "conformance": lambda: conformance_section(fast=fast, seed=seed, alpha=alpha, bar=bar),
            "errata": lambda: errata_section(bar),
        }
        for name in SECTIONS:
            if name not in sections:
                continue
            bar.set_description(f"report: {name}")
            try:
                built.append(jobs[name]())
            except Exception as exc:  # a section that raises is reported, not fatal
                sec = Section(name, name, status="error", detail=_error_text(exc))
                sec.p(f"**ERROR**: this section raised {_error_text(exc)}; the rest of the report was written.")
                built.append(sec)
    passed = not any(s.status in FAILING for s in built)

    titles = {"proofs": "1.", "montecarlo": "2.", "schedules": "3.", "conformance": "4.", "errata": "5."}
    head = Section("summary", "Summary")
    head.h(1, "Verification report: diffusion-proofs")
    head.p(f"Generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC} by `diffusion-proofs report"
           f"{' --fast' if fast else ''}` (seed {seed}, alpha {alpha:g}, device {device}); {_versions()}. "
           f"Seed homework: {SEED_FILE}.")
    head.p(f"**{'ALL CHECKS PASSED' if passed else 'SOME CHECKS FAILED'}**")
    head.table(["section", "status", "detail"],
               [[f"{titles[s.name]} {s.title}", f"**{s.status}**", s.detail] for s in built])
    blocks = list(head.blocks)
    for s in built:
        blocks.append(("h", 2, f"{titles[s.name]} {s.title}"))
        blocks.extend(s.blocks)

    files = []
    md = out / "report.md"
    md.write_text(to_markdown(blocks), encoding="utf-8")
    files.append(str(md))
    if html_page:
        page = out / "report.html"
        page.write_text(to_html(blocks, "diffusion-proofs verification report"), encoding="utf-8")
        files.append(str(page))
    summary = {s.name: s.summary() for s in built}
    js = out / "report.json"
    portable = {name: {**sec, "figures": [Path(f).relative_to(out).as_posix() for f in sec["figures"]]}
                for name, sec in summary.items()}  # paths inside the report folder, not of this machine
    js.write_text(json.dumps({"passed": passed, "seed": SEED_FILE, "sections": portable,
                              "data": {s.name: s.data for s in built}}, indent=1, default=str), encoding="utf-8")
    files.append(str(js))
    files += [f for s in built for f in s.figures]
    return ReportResult(str(out), files, summary, passed, time.perf_counter() - start)


# ----- CLI hook ---------------------------------------------------------------------------------
def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Write the verification report: DIR/report.md (LaTeX in $$ blocks), DIR/report.html "
                          "(same content, LaTeX as source text, no network), DIR/report.json and PNG figures in "
                          "DIR/figures/.")
    parser.add_argument("--out", required=True, metavar="DIR", type=options.output_dir,
                        help="output directory (created if missing)")
    parser.add_argument("--fast", action="store_true",
                        help=f"small budgets for tests: {FAST_SAMPLES} Monte Carlo samples per check, "
                             f"{FAST_FIGURE_SAMPLES} chains for the figures, conformance at {len(FAST_TIMESTEPS)} t's")
    parser.add_argument("--seed", type=options.non_negative_int, default=0,
                        help="seed of the Monte Carlo checks and figures")
    parser.add_argument("--alpha", type=options.probability, default=1e-6,
                        help="family-wise false-alarm rate per Monte Carlo check, in (0, 1)")
    parser.add_argument("--device", type=options.device, default="cpu", help="torch device for Monte Carlo (cpu, cuda)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary: files written, per-section status")


def run_cli(args: argparse.Namespace) -> int:
    """Write the report; exit 0 all checks passed, 1 some failed (2 bad usage: the parser's types, or an
    InputError / OSError handled by :func:`diffusion_proofs.cli.main`)."""
    options.make_dir(args.out, "--out")  # first: an unwritable --out is reported before anything is imported
    result = write_report(args.out, fast=args.fast, seed=args.seed, alpha=args.alpha, device=args.device)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        for name, s in result.sections.items():
            print(f"{name:<12} {s['status']:<11} {s['detail']}")
        print(f"wrote {result.files[0]} ({len(result.files)} files) in {result.seconds:.1f} s: "
              f"{'ALL CHECKS PASSED' if result.passed else 'SOME CHECKS FAILED'}")
    return result.exit_code


__all__ = ["write_report", "ReportResult", "Section", "tex", "to_markdown", "to_html", "add_cli_arguments",
           "run_cli", "SECTIONS"]


def _point_text(point) -> str:
    from proofs.engine.results import point_text

    return point_text(point)
