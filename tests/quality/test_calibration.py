"""Calibration of the Monte Carlo checks: true claims are rejected at the stated rate.

Default run: at alpha = 0.05 with small samples, the family-wise rejection rate over seeds stays
within its binomial bound, and the seed is used (two seeds never give the same smallest p-value).
``-m slow``: every asymptotic sub-test, pooled per identity over many seeds, is checked at the
per-test levels 1e-3 and 1e-4 (a one-sided exact binomial test that the rate is not above the
level), with Clopper-Pearson intervals (scipy.stats.binomtest) printed for the README.
"""
import functools

import numpy as np
import pytest
from scipy import stats

from montecarlo import confirmation as C
from montecarlo.schedules import Schedule

IDS = ("forward_marginal", "posterior", "posterior_eps", "elbo_bound", "elbo_decomposition", "eps_loss", "dsm",
       "tweedie", "score_eps")
ASYMPTOTIC = tuple(i for i in IDS if i in C.ASYMPTOTIC)
SCHEDULE = Schedule.linear(100)


def measure(identity, runs, samples=None, alpha=0.05, first_seed=0):
    """(family rejections, run count, pooled sub-test p-values, smallest p per run) over seeds, at
    ``samples`` (default: the smallest the identity accepts, 2000 for most)."""
    samples = max(2000, C.min_samples(identity)) if samples is None else samples
    fam, pvals, pmins = 0, [], []
    for seed in range(first_seed, first_seed + runs):
        v = C.confirm(identity, SCHEDULE, alpha=alpha, samples=samples, seed=seed)
        fam += not v.passed
        ps = [d["p_value"] for d in v.details if d["role"] == "test"]
        pvals += ps
        pmins.append(min(ps))
    return fam, runs, np.asarray(pvals, dtype=float), pmins


@functools.lru_cache(maxsize=None)
def _slow_pvalues(identity):
    return measure(identity, 1500, first_seed=50_000)[2]


def interval(k, n):
    ci = stats.binomtest(int(k), int(n)).proportion_ci(0.95, method="exact")
    return k / n, ci.low, ci.high


@pytest.mark.parametrize("identity", IDS)
def test_familywise_rate_at_005_and_seed_is_used(identity):
    """30 seeds per identity at alpha = 0.05, small samples (2000; score_eps 20000) on linear(100)."""
    fam, n, pvals, pmins = measure(identity, 30)
    # the seed is used: every run sees different data, so no two smallest p-values coincide
    assert len(set(pmins)) == n, pmins
    # family-wise rate within its binomial bound: P(X >= fam) under Binomial(n, 0.05) is not tiny
    assert stats.binomtest(fam, n, 0.05, alternative="greater").pvalue > 1e-3, (identity, fam, n)


def test_seed_changes_every_statistic():
    a = C.confirm("tweedie", SCHEDULE, samples=2000, seed=1)
    b = C.confirm("tweedie", SCHEDULE, samples=2000, seed=2)
    sa = [d["statistic"] for d in a.details if d["role"] == "test"]
    sb = [d["statistic"] for d in b.details if d["role"] == "test"]
    assert len(sa) == len(sb) and all(x != y for x, y in zip(sa, sb))


@pytest.mark.slow
@pytest.mark.parametrize("identity", ASYMPTOTIC)
@pytest.mark.parametrize("level", [1e-3, 1e-4])
def test_per_test_rate_at_small_alpha(identity, level):
    """Every asymptotic sub-test of the identity, pooled over 1500 seeds (>= 4500 p-values): the share
    of p <= level is not significantly above the level (one-sided exact binomial test at 1e-3)."""
    pvals = _slow_pvalues(identity)
    k = int(np.sum(pvals <= level))
    rate, lo, hi = interval(k, pvals.size)
    print(f"{identity}: {k}/{pvals.size} p-values <= {level:g}: {rate:.2e} [{lo:.2e}, {hi:.2e}]")
    assert stats.binomtest(k, pvals.size, level, alternative="greater").pvalue > 1e-3, (rate, lo, hi)
