"""The mutant generator of benchmarks/mutation (the benchmark itself is not run in CI): on a tiny source,
every mutant is valid Python, differs from the original in exactly one place, stays inside the target
functions, and the enumeration and the sample are deterministic."""
from __future__ import annotations

import ast
import importlib.util
import sys
from collections import Counter
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "mutation" / "mutate.py"

SOURCE = '''
import math


def betas_for_alpha_bar(n, max_beta=0.999):
    """Doc 1.0 stays."""
    betas = []
    for i in range(n):
        betas.append(min(1 - math.cos(i / n) ** 2, max_beta))
    return betas


class Sched:
    def step(self, x, t):
        alpha_prod_t = self.alphas_cumprod[t]
        alpha_prod_t_prev = self.alphas_cumprod[t - 1] if t > 0 else 1.0
        beta_prod_t = 1 - alpha_prod_t
        if self.kind == "epsilon":
            raise ValueError(f"bad {t + 1}")
        x -= -x * beta_prod_t ** 0.5 / alpha_prod_t_prev.sqrt()
        return x

    def untouched(self, x):
        return x + 1
'''
TARGETS = ("betas_for_alpha_bar", "step")


@pytest.fixture(scope="module")
def mutate():
    spec = importlib.util.spec_from_file_location("mutation_mutate", PATH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    try:
        spec.loader.exec_module(mod)
        yield mod
    finally:
        sys.modules.pop(spec.name, None)


def _changed(a: str, b: str) -> list:
    la, lb = a.splitlines(), b.splitlines()
    assert len(la) == len(lb)
    return [i for i, (x, y) in enumerate(zip(la, lb)) if x != y]


def test_every_mutant_is_valid_python_with_one_change(mutate):
    sites = mutate.sites(SOURCE, TARGETS)
    base = mutate.normalised(SOURCE)
    assert len(sites) > 30
    texts = set()
    for m in sites:
        text = mutate.apply(SOURCE, m, TARGETS)
        ast.parse(text)
        lines = _changed(base, text)
        assert len(lines) == 1, (m, lines)
        line = base.splitlines()[lines[0]]
        assert "untouched" not in line and "return x + 1" not in line  # outside the targets
        assert "Doc" not in line and "raise" not in line and "max_beta=" not in line  # docstrings, messages, defaults
        texts.add(text)
    assert len(texts) == len(sites)  # no two mutations give the same module


def test_operator_classes_are_all_exercised(mutate):
    ops = Counter(m.op for m in mutate.sites(SOURCE, TARGETS))
    assert set(ops) == set(mutate.OPS), ops
    variants = {m.variant for m in mutate.sites(SOURCE, TARGETS)}
    assert {"x ** 0.5 -> x", "x.sqrt() -> x", "alpha_prod_t -> alpha_prod_t_prev", "> -> >=", "-= -> +=",
            "-x -> x", "[i] -> [i + 1]", "self.alphas_cumprod -> self.alphas"} <= variants


def test_specific_mutants(mutate):
    sites = {(m.function, m.variant): m for m in mutate.sites(SOURCE, TARGETS)}
    text = mutate.apply(SOURCE, sites["Sched.step", "x ** 0.5 -> x"], TARGETS)
    assert "x -= -x * beta_prod_t / alpha_prod_t_prev.sqrt()" in text
    text = mutate.apply(SOURCE, sites["Sched.step", "x.sqrt() -> x"], TARGETS)
    assert "x -= -x * beta_prod_t ** 0.5 / alpha_prod_t_prev\n" in text
    text = mutate.apply(SOURCE, sites["Sched.step", "> -> >="], TARGETS)
    assert "if t >= 0 else 1.0" in text


def test_deterministic_enumeration_and_sample(mutate):
    a, b = mutate.sites(SOURCE, TARGETS), mutate.sites(SOURCE, TARGETS)
    assert a == b
    s1, s2 = mutate.sample(a, 20, seed=3, per_class_min=2), mutate.sample(b, 20, seed=3, per_class_min=2)
    assert s1 == s2 and len(s1) == 20
    assert [m.site for m in s1] == sorted(m.site for m in s1)  # enumeration order
    assert mutate.sample(a, 20, seed=4, per_class_min=2) != s1
    assert all(mutate.apply(SOURCE, m, TARGETS) == mutate.apply(SOURCE, m, TARGETS) for m in s1[:5])
