"""montecarlo.kernel: the forward chain, its noise contract, and its input checks."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

import proofs
from montecarlo.kernel import BLOCK, chain_coefficients, forward_chain, make_generator, worker_index
from montecarlo.schedules import Schedule
from proofs.numeric import slot_function

SCHED = Schedule.linear(50, 1e-3, 0.2)
MEAN_COEF = slot_function(proofs.IDENTITIES["forward_marginal"].slots["mean_coef"])  # sqrt(abar_t)


def x0_rows(n=37, d=3, seed=1):
    return torch.from_numpy(np.random.default_rng(seed).normal(0.0, 2.0, (n, d)))


# ----- results: shapes, keys, determinism --------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(37,), (37, 3)])
def test_shapes_keys_and_t0(shape, dtype):
    x0 = torch.randn(shape, dtype=torch.float64)
    out = forward_chain(SCHED, x0, [0, 3, 50, 3], dtype=dtype, chunk_size=10, return_noise=True)
    assert set(out) == {0, 3, 50, ("eps", 3), ("eps", 50)}
    for value in out.values():
        assert value.shape == x0.shape and value.dtype == dtype and value.device.type == "cpu"
    assert torch.equal(out[0], x0.to(dtype))
    assert not torch.equal(out[3], out[50])


def test_same_seed_same_result_other_seed_other_result():
    a = forward_chain(SCHED, x0_rows(), [10], seed=7)[10]
    assert torch.equal(a, forward_chain(SCHED, x0_rows(), [10], seed=7)[10])
    assert not torch.allclose(a, forward_chain(SCHED, x0_rows(), [10], seed=8)[10])


def test_times_accept_arrays_tensors_and_iterables():
    ref = forward_chain(SCHED, x0_rows(), [2, 5])
    for times in (np.array([5, 2]), torch.tensor([[2], [5]]), (t for t in (2, 5, 5)), [2.0, 5.0]):
        out = forward_chain(SCHED, x0_rows(), times)
        assert set(out) == {2, 5} and torch.equal(out[5], ref[5])


def test_workers_do_not_change_the_result():
    one = forward_chain(SCHED, x0_rows(100, 2), [7], chunk_size=9, workers=1, return_noise=True)
    many = forward_chain(SCHED, x0_rows(100, 2), [7], chunk_size=9, workers=3, return_noise=True)
    assert all(torch.equal(one[k], many[k]) for k in one)


def test_times_only_zero_runs_no_step():
    out = forward_chain(SCHED, x0_rows(), 0, dtype=torch.float64, return_noise=True)
    assert set(out) == {0} and torch.equal(out[0], x0_rows())


def test_coefficients_are_float64_rounded_once():
    a32, b32 = chain_coefficients(SCHED, 50, torch.float32)
    a64, b64 = chain_coefficients(SCHED, 50, torch.float64)
    assert a64 == list(np.sqrt(1.0 - SCHED.betas)) and b64 == list(np.sqrt(SCHED.betas))
    assert a32 == [float(np.float32(v)) for v in a64] and b32 == [float(np.float32(v)) for v in b64]


# ----- the chain is the right chain ---------------------------------------------------------
def test_each_step_is_the_recurrence():
    """x_t - sqrt(alpha_t) x_{t-1} = sqrt(beta_t) eps_t, with the returned eps_t (float64 rounding)."""
    out = forward_chain(SCHED, x0_rows(), range(51), dtype=torch.float64, return_noise=True, chunk_size=16)
    for t in range(1, 51):
        lhs = out[t] - math.sqrt(SCHED.alpha(t)) * out[t - 1]
        rhs = math.sqrt(SCHED.beta(t)) * out[("eps", t)]
        assert torch.allclose(lhs, rhs, rtol=0, atol=8 * 2.0 ** -52 * (1 + float(out[t - 1].abs().max())))


def test_chain_equals_problem_2_unrolled_sum():
    """x_t = sqrt(abar_t) x_0 + sum_{s<=t} sqrt(abar_t / abar_s) sqrt(beta_s) eps_s (the seed's Problem 2),
    with sqrt(abar_t) from the forward_marginal slot; float64, 50 steps: agreement to 1e-12."""
    x0 = x0_rows()
    out = forward_chain(SCHED, x0, range(51), dtype=torch.float64, return_noise=True, chunk_size=16)
    for t in (1, 2, 17, 50):
        total = float(MEAN_COEF(SCHED, t)) * x0
        for s in range(1, t + 1):
            gain = math.exp(0.5 * (SCHED.log_alpha_bar(t) - SCHED.log_alpha_bar(s)))
            total = total + gain * math.sqrt(SCHED.beta(s)) * out[("eps", s)]
        assert torch.allclose(out[t], total, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype, ulps", [(torch.float64, 2), (torch.float32, 2)])
@pytest.mark.parametrize("n, d, chunk", [(37, 3, 10), (BLOCK + 123, 1, 65536), (300, 70, 250)])
def test_fast_path_equals_reference(n, d, chunk, dtype, ulps):
    """Identical noise; per step at most one rounding of |a x| + |b eps| apart, contracted by a_t <= 1:
    |fast - ref| <= ulps * t * eps_dtype * max(|x|) + |eps|). Covers several chunks, a ragged last chunk
    and more than one in-place BLOCK per chunk."""
    x0 = torch.from_numpy(np.random.default_rng(n).normal(0.0, 2.0, (n, d)))
    times = [1, 2, 5]
    fast = forward_chain(SCHED, x0, times, dtype=dtype, chunk_size=chunk, return_noise=True)
    ref = forward_chain(SCHED, x0, times, dtype=dtype, chunk_size=chunk, fast=False, return_noise=True)
    scale = max(float(v.abs().max()) for v in ref.values())
    for t in times:
        assert torch.equal(fast[("eps", t)], ref[("eps", t)])
        assert float((fast[t] - ref[t]).abs().max()) <= ulps * t * torch.finfo(dtype).eps * 2 * scale


def test_float32_chain_is_the_recurrence_to_rounding():
    """In float32, each step is sqrt(alpha_t) x_{t-1} + sqrt(beta_t) eps_t (float32-rounded coefficients,
    exact arithmetic in float64 on the float32 values) up to two float32 roundings."""
    out = forward_chain(SCHED, x0_rows(), range(51), dtype=torch.float32, return_noise=True)
    a, b = chain_coefficients(SCHED, 50, torch.float32)
    for t in range(1, 51):
        resid = out[t].double() - (a[t - 1] * out[t - 1].double() + b[t - 1] * out[("eps", t)].double())
        assert float(resid.abs().max()) <= 2 * torch.finfo(torch.float32).eps * (1 + float(out[t - 1].abs().max()))


# ----- noise layout and streams ---------------------------------------------------------------
def test_noise_layout_chunk_k_uses_stream_k():
    """Chunk k (rows k*chunk .. ) draws randn((rows, d)) per step from make_generator(seed, k)."""
    out = forward_chain(SCHED, x0_rows(25, 2), [1, 2], seed=5, chunk_size=10, return_noise=True)
    for k, rows in enumerate([slice(0, 10), slice(10, 20), slice(20, 25)]):
        gen = make_generator(5, k)
        n = rows.stop - rows.start
        assert torch.equal(out[("eps", 1)][rows], torch.randn((n, 2), generator=gen))
        assert torch.equal(out[("eps", 2)][rows], torch.randn((n, 2), generator=gen))


def test_worker_streams():
    """stream=(w,) puts chunk k on stream (w, k): workers get distinct noise, each reproducible."""
    x0 = x0_rows(20, 1)
    w0 = forward_chain(SCHED, x0, [1], seed=3, stream=(0,), return_noise=True)[("eps", 1)]
    w1 = forward_chain(SCHED, x0, [1], seed=3, stream=(1,), return_noise=True)[("eps", 1)]
    plain = forward_chain(SCHED, x0, [1], seed=3, return_noise=True)[("eps", 1)]
    assert torch.equal(w1, torch.randn((20, 1), generator=make_generator(3, (1, 0))))
    assert not torch.equal(w0, w1) and not torch.equal(w0, plain)
    assert torch.equal(w1, forward_chain(SCHED, x0, [1], seed=3, stream=(1,), return_noise=True)[("eps", 1)])


def test_make_generator_and_worker_index():
    draw = lambda g: torch.randn(8, generator=g)  # noqa: E731
    assert torch.equal(draw(make_generator(1, 2)), draw(make_generator(1, 2)))
    assert torch.equal(draw(make_generator(1, 2)), draw(make_generator(1, (2,))))
    assert not torch.equal(draw(make_generator(1, 2)), draw(make_generator(1, 3)))
    assert not torch.equal(draw(make_generator(1, 2)), draw(make_generator(2, 2)))
    assert not torch.equal(draw(make_generator(1, (0, 2))), draw(make_generator(1, 2)))
    assert worker_index({"PYTEST_XDIST_WORKER": "gw3"}) == 3 and worker_index({}) == 0
    assert worker_index({"PYTEST_XDIST_WORKER": "master"}) == 0


def stream_correlation_tests(eps_a: dict, eps_b: dict, alpha: float):
    """Holm family of Pearson tests that chunk A's and chunk B's noise are uncorrelated, at lags 0, +1, -1
    (steps 1 and 2). Under independence with Gaussian noise each p-value is exact (t with n - 2 df).
    Returns (reject, p_values, mde) with mde the correlation detected with power 0.99 at the Holm
    level alpha / 3 (Fisher z, asymptotic): tanh((z_{1 - alpha/6} + z_{0.99}) / sqrt(n - 3))."""
    pairs = [(eps_a[1], eps_b[1]), (eps_a[1], eps_b[2]), (eps_a[2], eps_b[1])]
    p = np.array([stats.pearsonr(u.numpy().ravel(), v.numpy().ravel()).pvalue for u, v in pairs])
    reject = bool(p.min() <= alpha / 3)  # Holm rejects some hypothesis iff its first step does: min p <= alpha/m
    n = pairs[0][0].numel()
    mde = math.tanh((stats.norm.ppf(1 - alpha / 6) + stats.norm.ppf(0.99)) / math.sqrt(n - 3))
    return reject, p, mde


def test_chunk_streams_are_uncorrelated():
    """Monte Carlo check, alpha = 1e-3 family-wise (Holm over 3 exact Pearson tests; fixed seed),
    n = 4096 pairs: MDE |r| = 0.092 at power 0.99. Negative control: one stream reused -> r = 1, rejected."""
    alpha, n = 1e-3, 4096
    out = forward_chain(SCHED, torch.zeros(2 * n), [1, 2], seed=11, chunk_size=n, return_noise=True)
    a = {t: out[("eps", t)][:n] for t in (1, 2)}
    b = {t: out[("eps", t)][n:] for t in (1, 2)}
    reject, p, mde = stream_correlation_tests(a, b, alpha)
    assert not reject, p
    assert mde == pytest.approx(0.092, abs=0.001)
    same = forward_chain(SCHED, torch.zeros(n), [1, 2], seed=11, chunk_size=n, return_noise=True)
    assert torch.equal(same[("eps", 1)], a[1])  # reusing stream 0 ...
    assert stream_correlation_tests(a, {t: same[("eps", t)] for t in (1, 2)}, alpha)[0]  # ... is caught


# ----- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, pattern", [
    ({"times": [51]}, r"t = 51 is out of range.*0\.\.50"),
    ({"times": [-1]}, r"t = -1 is out of range"),
    ({"times": [2.5]}, r"integer timesteps, got 2\.5"),
    ({"times": [True]}, r"integer timesteps, got True"),
    ({"times": []}, r"times is empty"),
    ({"times": ["3"]}, r"integer timesteps, got '3'"),
    ({"times": None}, r"times must be an integer or an iterable"),
    ({"times": [float("nan")]}, r"integer timesteps, got nan"),
    ({"x0": torch.tensor([0.0, float("nan"), 1.0])}, r"x0\[1\] is nan"),
    ({"x0": torch.tensor([[0.0, 1.0], [float("inf"), 2.0]])}, r"x0\[1, 0\] is inf"),
    ({"x0": torch.zeros(2, 2, 2)}, r"shape \(n,\) or \(n, d\), got shape \(2, 2, 2\)"),
    ({"x0": torch.zeros(())}, r"got shape \(\)"),
    ({"x0": torch.zeros(0, 3)}, r"at least one row.*\(0, 3\)"),
    ({"x0": torch.zeros(4, 0)}, r"at least one row.*\(4, 0\)"),
    ({"x0": "abc"}, r"x0 must be a tensor"),
    ({"device": "tpu"}, r"device 'tpu'"),
    ({"device": "nonsense:0"}, r"unknown device 'nonsense:0'"),
    ({"dtype": torch.float16}, r"torch\.float32 or torch\.float64, got torch\.float16"),
    ({"chunk_size": 0}, r"chunk_size must be a positive integer, got 0"),
    ({"seed": -1}, r"seed must be a non-negative integer, got -1"),
    ({"seed": 1.5}, r"got 1\.5"),
    ({"stream": (1, -2)}, r"stream must be .*\(1, -2\)"),
    ({"schedule": [0.1, 0.2]}, r"Schedule, got list"),
])
def test_bad_input_raises_value_error(kwargs, pattern):
    args = {"schedule": SCHED, "x0": torch.zeros(4), "times": [1]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=pattern):
        forward_chain(args.pop("schedule"), args.pop("x0"), args.pop("times"), **args)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown when CUDA is missing")
def test_cuda_requested_without_cuda():
    with pytest.raises(ValueError, match="CUDA is not available"):
        forward_chain(SCHED, torch.zeros(4), [1], device="cuda")


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cuda_fast_equals_reference(dtype):
    x0 = x0_rows(5000, 4)
    fast = forward_chain(SCHED, x0, [1, 50], device="cuda", dtype=dtype, chunk_size=3000, return_noise=True)
    ref = forward_chain(SCHED, x0, [1, 50], device="cuda", dtype=dtype, chunk_size=3000, fast=False,
                        return_noise=True)
    assert fast[50].device.type == "cuda" and make_generator(0, 0, "cuda").device.type == "cuda"
    scale = max(float(v.abs().max()) for v in ref.values())
    for t in (1, 50):
        assert torch.equal(fast[("eps", t)], ref[("eps", t)])
        assert float((fast[t] - ref[t]).abs().max()) <= 2 * t * torch.finfo(dtype).eps * 2 * scale
    assert torch.equal(fast[50], forward_chain(SCHED, x0, [50], device="cuda", dtype=dtype, chunk_size=3000)[50])
