"""Monte Carlo kernel: simulate the DDPM forward chain with seeded torch noise.

The chain (DDPM eq. 2, the homework's Problem 2) is

    x_t = sqrt(alpha_t) * x_{t-1} + sqrt(beta_t) * eps_t,    eps_t ~ N(0, I),  t = 1..T,

started from given rows x_0 of shape (n, d). Its coefficients sqrt(alpha_t) = sqrt(1 - beta_t) and
sqrt(beta_t) are computed from the schedule in float64 and then rounded once to the working dtype.

Noise layout (the contract that makes runs reproducible and the two code paths comparable):
rows are cut into chunks of ``chunk_size``; chunk k owns the generator
``make_generator(seed, (*stream, k), device)`` and draws, for t = 1, 2, ..., one
``torch.randn((rows_k, d))`` per step, in that order. The result therefore depends on
(seed, stream, chunk_size, dtype, device) and on nothing else: not on the thread, the process,
nor on the pytest-xdist worker that runs it.

Streams. ``make_generator`` hashes (seed, *stream) with ``numpy.random.SeedSequence`` (the spawn key
is the stream tuple) into a 64-bit torch seed, so distinct streams are statistically independent.
Chunks are streams (..., 0), (..., 1), ...; a caller splitting one simulation across pytest-xdist
workers passes ``stream=(worker_index(),)`` so that worker w uses (w, k) for its chunks. Tests
that must give the same answer under ``pytest -n auto`` and plain ``pytest`` leave ``stream`` empty
and choose their own seed; the kernel never reads the environment.

Two code paths consume identical noise: ``fast=False`` is the textbook loop (a fresh noise tensor
and a fresh state tensor per step); ``fast=True`` draws each step's noise into one preallocated
buffer and updates the state in place, ``x.mul_(sqrt(alpha_t)).add_(eps, alpha=sqrt(beta_t))``
(on CPU in blocks of ``BLOCK`` elements, see ``_chunk_fast``). They agree up to float rounding
(the in-place add may fuse a multiply-add).

Threads: on CPU, chunks run on ``workers`` threads (default ``torch.get_num_threads()``). torch.randn
on a CPU generator is serial, so this is what uses more than one core; each chunk owns its generator
and its rows, so the result is the same for any number of workers.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral

import numpy as np
import torch

from ._validate import non_negative_int, positive_int
from .schedules import Schedule

DTYPES = (torch.float32, torch.float64)
BLOCK = 32704  # elements per CPU elementwise op (511 * 64, below ATen's intra-op GRAIN_SIZE = 32768)


# ----- generators ------------------------------------------------------------------------
def _stream_key(stream) -> tuple[int, ...]:
    key = (stream,) if isinstance(stream, Integral) else tuple(stream)
    try:
        return tuple(non_negative_int(part, "stream") for part in key)
    except ValueError:
        raise ValueError(f"stream must be a non-negative integer or a tuple of them, got {stream!r}") from None


def _check_seed(seed) -> int:
    return non_negative_int(seed, "seed")


def _check_device(device) -> torch.device:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"unknown device {device!r}: use 'cpu' or 'cuda'") from exc
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"unsupported device {device!r}: use 'cpu' or 'cuda'")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available on this machine")
    return dev


def make_generator(seed: int, stream=0, device="cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded by hashing (seed, stream).

    torch seed = SeedSequence(seed, spawn_key=stream).generate_state(1, uint64)[0]; ``stream`` is an
    int or a tuple of ints (e.g. (worker, chunk)). Same (seed, stream, device) -> same noise;
    different streams -> independent noise.
    """
    key = _stream_key(stream)
    state = np.random.SeedSequence(_check_seed(seed), spawn_key=key).generate_state(1, dtype=np.uint64)[0]
    gen = torch.Generator(device=_check_device(device))
    gen.manual_seed(int(state))
    return gen


def worker_index(env=None) -> int:
    """The pytest-xdist worker number: ``PYTEST_XDIST_WORKER='gw3'`` -> 3; 0 when not under xdist."""
    name = (os.environ if env is None else env).get("PYTEST_XDIST_WORKER", "")
    digits = name[2:] if name.startswith("gw") else ""
    return int(digits) if digits.isdigit() else 0


# ----- input checks ----------------------------------------------------------------------
def _check_schedule(schedule) -> Schedule:
    if not isinstance(schedule, Schedule):
        raise ValueError(f"schedule must be a montecarlo.schedules.Schedule, got {type(schedule).__name__}")
    return schedule


def _check_dtype(dtype) -> torch.dtype:
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    return dtype


_check_positive_int = positive_int  # the old name (diffusion_proofs.bench imports it); new code: montecarlo._validate


def _timestep(item, T: int) -> int:
    if isinstance(item, bool) or not (isinstance(item, Integral) or (isinstance(item, float) and item.is_integer())):
        raise ValueError(f"times must hold integer timesteps, got {item!r}")
    if not 0 <= int(item) <= T:
        raise ValueError(f"t = {int(item)} is out of range: this schedule has t = 0..{T}")
    return int(item)


def _check_times(times, T: int) -> list[int]:
    """Sorted distinct timesteps, each an integer in 0..T (an int, an iterable, an array or a tensor)."""
    if isinstance(times, (Integral, float)):
        items = [times]
    elif hasattr(times, "reshape") and hasattr(times, "tolist"):
        items = times.reshape(-1).tolist()
    else:
        try:
            items = list(times)
        except TypeError as exc:
            raise ValueError(f"times must be an integer or an iterable of integers, got {times!r}") from exc
    if not items:
        raise ValueError("times is empty: name at least one timestep in 0..T")
    return sorted({_timestep(item, T) for item in items})


def _all_finite(x: torch.Tensor) -> bool:
    """All entries finite; single-threaded numpy on CPU (an OpenMP reduction on a busy 2-core machine
    was measured at 18 ms for 65536 numbers)."""
    if x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64):
        return bool(np.isfinite(x.detach().numpy()).all())
    return bool(torch.isfinite(x).all())


def _check_x0(x0) -> tuple[torch.Tensor, torch.Size]:
    """(x0 as a finite 2-D tensor (n, d), its original shape); n, d >= 1 (a 1-D x0 is read as d = 1)."""
    try:
        x0 = torch.as_tensor(x0).detach()
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"x0 must be a tensor of shape (n,) or (n, d), got {type(x0).__name__}") from exc
    if x0.ndim not in (1, 2):
        raise ValueError(f"x0 must have shape (n,) or (n, d), got shape {tuple(x0.shape)}")
    if x0.shape[0] == 0 or (x0.ndim == 2 and x0.shape[1] == 0):
        raise ValueError(f"x0 must have at least one row and one column, got shape {tuple(x0.shape)}")
    if not (x0.is_floating_point() or x0.dtype in (torch.int32, torch.int64, torch.int16, torch.int8, torch.uint8)):
        raise ValueError(f"x0 must hold real numbers, got dtype {x0.dtype}")
    if x0.is_floating_point() and not _all_finite(x0):
        idx = tuple(int(i) for i in (~torch.isfinite(x0)).nonzero()[0])
        raise ValueError(f"x0{list(idx)} is {float(x0[idx])!r}: x0 must be finite")
    return (x0 if x0.ndim == 2 else x0.unsqueeze(1)), x0.shape


def chain_coefficients(schedule, t_max: int, dtype=torch.float32) -> tuple[list[float], list[float]]:
    """(sqrt(alpha_t), sqrt(beta_t)) for t = 1..t_max: float64 from the schedule, rounded to ``dtype``
    (returned as Python floats holding the rounded values)."""
    if t_max == 0:
        return [], []
    beta = _check_schedule(schedule).beta(np.arange(1, t_max + 1))
    sqrt_alpha = torch.tensor(np.sqrt(1.0 - beta), dtype=torch.float64).to(dtype)
    sqrt_beta = torch.tensor(np.sqrt(beta), dtype=torch.float64).to(dtype)
    return sqrt_alpha.tolist(), sqrt_beta.tolist()


# ----- the two code paths ----------------------------------------------------------------
def _chunk_reference(x, sqrt_alpha, sqrt_beta, gen, save) -> None:
    """Textbook loop: eps_t = randn(); x_t = sqrt(alpha_t) x_{t-1} + sqrt(beta_t) eps_t."""
    for t in range(1, len(sqrt_alpha) + 1):
        eps = torch.randn(x.shape, generator=gen, dtype=x.dtype, device=x.device)
        x = sqrt_alpha[t - 1] * x + sqrt_beta[t - 1] * eps
        save(t, x, eps)


def _blocks(*tensors) -> list[tuple]:
    """Matching flat views of BLOCK elements (one view each on CUDA) of equally shaped contiguous tensors."""
    flat = [v.view(-1) for v in tensors]
    size = BLOCK if flat[0].device.type == "cpu" else max(1, flat[0].numel())
    return list(zip(*(v.split(size) for v in flat)))


def _copy(dst: torch.Tensor, src: torch.Tensor) -> None:
    """dst <- src (casting) block by block, so that each copy runs on the calling thread."""
    for d, s in _blocks(dst, src.contiguous()):
        d.copy_(s)


def _chunk_fast(x, sqrt_alpha, sqrt_beta, gen, save) -> None:
    """Same draws into one preallocated buffer; in-place x <- sqrt(alpha_t) x + sqrt(beta_t) eps.

    On CPU every elementwise op covers at most BLOCK elements: it stays below ATen's intra-op grain
    size and runs on the calling thread. The update is cheap next to randn (which is serial anyway),
    and an OpenMP fork/join per op on a busy 2-core machine was measured at up to 100x the work itself.
    """
    eps = torch.empty_like(x)
    pieces = _blocks(x, eps)
    for t in range(1, len(sqrt_alpha) + 1):
        torch.randn(x.shape, generator=gen, out=eps)
        a, b = sqrt_alpha[t - 1], sqrt_beta[t - 1]
        for xs, es in pieces:
            xs.mul_(a).add_(es, alpha=b)
        save(t, x, eps)


def _check_workers(workers, device: torch.device, chunks: int) -> int:
    """Threads for the chunk loop: None -> min(torch.get_num_threads(), chunks) on CPU, 1 on CUDA."""
    if workers is None:
        return 1 if device.type == "cuda" else max(1, min(torch.get_num_threads(), chunks))
    return min(positive_int(workers, "workers"), chunks)


def forward_chain(schedule, x0, times, *, seed: int = 0, device="cpu", dtype=torch.float32,
                  chunk_size: int = 65536, fast: bool = True, return_noise: bool = False,
                  stream=(), workers: int | None = None) -> dict:
    """Simulate x_t = sqrt(alpha_t) x_{t-1} + sqrt(beta_t) eps_t for t = 1..max(times) from ``x0``.

    ``x0``: shape (n,) or (n, d). ``times``: timesteps in 0..T (an int or an iterable; t = 0 gives x0).
    Returns {t: x_t} (shaped like x0, on ``device``, in ``dtype``) and, with ``return_noise``,
    {("eps", t): eps_t} for each t >= 1 in ``times``. Chunk k of ``chunk_size`` rows uses the
    generator ``make_generator(seed, (*stream, k), device)`` (see the module doc for the noise layout).
    ``fast=False`` runs the reference loop on the same noise. ``workers`` threads run chunks side by
    side (default: torch.get_num_threads() on CPU, 1 on CUDA); each chunk owns its generator and
    its rows, so the result does not depend on ``workers``.
    """
    schedule = _check_schedule(schedule)
    dev, dtype = _check_device(device), _check_dtype(dtype)
    x0_2d, shape = _check_x0(x0)
    x0_2d = x0_2d.contiguous()
    times = _check_times(times, schedule.T)
    chunk_size, seed = positive_int(chunk_size, "chunk_size"), _check_seed(seed)
    prefix = _stream_key(stream)
    n = x0_2d.shape[0]
    starts = list(range(0, n, chunk_size))
    workers = _check_workers(workers, dev, len(starts))
    sqrt_alpha, sqrt_beta = chain_coefficients(schedule, times[-1], dtype)
    wanted = set(times)
    out = {t: torch.empty(x0_2d.shape, dtype=dtype, device=dev) for t in times}
    noise = {t: torch.empty(x0_2d.shape, dtype=dtype, device=dev) for t in times if t and return_noise}
    run = _chunk_fast if fast else _chunk_reference

    def chunk(k: int) -> None:
        rows = slice(starts[k], min(starts[k] + chunk_size, n))
        x = torch.empty((rows.stop - rows.start, x0_2d.shape[1]), dtype=dtype, device=dev)
        _copy(x, x0_2d[rows].to(dev))
        if 0 in wanted:
            _copy(out[0][rows], x)

        def save(t, x_t, eps_t):
            if t in wanted:
                _copy(out[t][rows], x_t)
                if return_noise:
                    _copy(noise[t][rows], eps_t)

        run(x, sqrt_alpha, sqrt_beta, make_generator(seed, (*prefix, k), dev), save)

    if workers == 1:
        for k in range(len(starts)):
            chunk(k)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(chunk, range(len(starts))))
    result = {t: v.reshape(shape) for t, v in out.items()}
    result.update({("eps", t): v.reshape(shape) for t, v in noise.items()})
    return result


__all__ = ["forward_chain", "make_generator", "worker_index", "chain_coefficients", "DTYPES"]
