"""Loading a mutated diffusers scheduler module, and the per-config fingerprint used to find
equivalent mutants.

``load(source, kind, tag)`` executes ``source`` in a fresh module object named
``diffusers.schedulers.scheduling_<kind>_<tag>`` with ``__package__ = "diffusers.schedulers"``, so that
the module's relative imports (``..configuration_utils``, ``.scheduling_utils``) resolve to the installed
diffusers package and the class keeps its name and a module under ``diffusers.`` (which is how the
checker recognises a diffusers scheduler).

``fingerprint(cls, kind)`` runs the scheduler class over many configurations and yields
``(label, value)`` pairs: every array it computes (betas, alphas, alphas_cumprod, timesteps,
add_noise, get_velocity, _get_variance, step outputs with a fixed generator) or the exception type an
operation raised. Two classes are equivalent when every pair is identical (bitwise, NaN = NaN; or within
1e-12 relative).
"""
from __future__ import annotations

import importlib
import itertools
import random
import sys
import types

import numpy as np
import torch

KINDS = {"ddpm": ("scheduling_ddpm", "DDPMScheduler"), "ddim": ("scheduling_ddim", "DDIMScheduler")}
TARGETS = ("__init__", "_get_variance", "step", "add_noise", "get_velocity", "set_timesteps", "betas_for_alpha_bar",
           "rescale_zero_terminal_snr", "_threshold_sample", "previous_timestep")


def original_source(kind: str) -> str:
    mod = importlib.import_module(f"diffusers.schedulers.{KINDS[kind][0]}")
    with open(mod.__file__, encoding="utf-8") as fh:
        return fh.read()


def load(source: str, kind: str, tag: str):
    """The scheduler class of the module text ``source`` (raises whatever executing it raises)."""
    name = f"diffusers.schedulers.{KINDS[kind][0]}_{tag}"
    mod = types.ModuleType(name)
    mod.__package__ = "diffusers.schedulers"
    mod.__file__ = f"<mutant {tag}>"
    sys.modules[name] = mod
    try:
        exec(compile(source, mod.__file__, "exec"), mod.__dict__)  # noqa: S102 - the benchmark's own mutants
    except BaseException:
        del sys.modules[name]
        raise
    return getattr(mod, KINDS[kind][1])


# ----- fingerprint ----------------------------------------------------------------------------------------
SCHEDULES = {"ddpm": ("linear", "scaled_linear", "squaredcos_cap_v2", "sigmoid", "laplace"),
             "ddim": ("linear", "scaled_linear", "squaredcos_cap_v2")}
PREDS = ("epsilon", "sample", "v_prediction")
VTYPES = ("fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log", "learned", "learned_range")
SPACINGS = ("leading", "trailing", "linspace")


def configs(kind: str, n_random: int = 40, seed: int = 0) -> list:
    """Configurations for the equivalence check: every beta_schedule x prediction_type, one factor at a
    time around the default (variance_type, clip, thresholding, rescale zero-SNR, spacing, steps_offset,
    set_alpha_to_one, T, trained betas), and ``n_random`` random points of the full product."""
    out = []
    for sch, pred in itertools.product(SCHEDULES[kind], PREDS):
        out.append({"beta_schedule": sch, "prediction_type": pred})
    factors = {"clip_sample": (False,), "thresholding": (True,), "rescale_betas_zero_snr": (True,),
               "timestep_spacing": SPACINGS, "steps_offset": (1,), "clip_sample_range": (2.0,),
               "num_train_timesteps": (50, 7), "beta_end": (0.2,)}
    if kind == "ddpm":
        factors["variance_type"] = VTYPES
    else:
        factors["set_alpha_to_one"] = (False,)
    for i, (key, values) in enumerate(sorted(factors.items())):
        for j, v in enumerate(values):
            out.append({"beta_schedule": SCHEDULES[kind][(i + j) % len(SCHEDULES[kind])],
                        "prediction_type": PREDS[(i + 2 * j) % 3], key: v})
    out.append({"trained_betas": np.linspace(0.001, 0.3, 20).tolist()})
    out.append({"thresholding": True, "sample_max_value": 1.5, "dynamic_thresholding_ratio": 0.9})
    rng = random.Random(seed)
    for _ in range(n_random):
        c = {"beta_schedule": rng.choice(SCHEDULES[kind]), "prediction_type": rng.choice(PREDS),
             "clip_sample": rng.random() < 0.5, "thresholding": rng.random() < 0.3,
             "rescale_betas_zero_snr": rng.random() < 0.3, "timestep_spacing": rng.choice(SPACINGS),
             "steps_offset": rng.choice((0, 1)), "num_train_timesteps": rng.choice((1000, 1000, 100, 30))}
        if c["thresholding"]:
            c["sample_max_value"] = rng.choice((1.0, 1.5, 3.0))
        if kind == "ddpm":
            c["variance_type"] = rng.choice(VTYPES)
        else:
            c["set_alpha_to_one"] = rng.random() < 0.5
        out.append(c)
    return out


def _probe(shape, seed, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g) * scale


def _val(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().clone()
    if isinstance(x, np.ndarray):
        return torch.from_numpy(x.copy())
    if isinstance(x, (tuple, list)):
        return tuple(_val(v) for v in x)
    if isinstance(x, dict):  # diffusers' BaseOutput is an OrderedDict
        return tuple((k, _val(v)) for k, v in x.items())
    if isinstance(x, (int, float, bool, str)) or x is None:
        return x
    return repr(x)


def _call(fn):
    try:
        return _val(fn())
    except Exception as exc:  # noqa: BLE001 - the exception type is part of the fingerprint
        return f"raised {type(exc).__name__}"


def fingerprint(cls, kind: str, cfgs=None):
    """Yields (label, value) for ``cls`` over ``cfgs`` (default :func:`configs`)."""
    cfgs = configs(kind) if cfgs is None else cfgs
    x = _probe((2, 3, 4, 4), 1)
    m = _probe((2, 3, 4, 4), 2)
    big = _probe((2, 3, 4, 4), 3, scale=4.0)  # clipping / thresholding active
    for ci, cfg in enumerate(cfgs):
        lab = f"cfg{ci}"
        try:
            s = cls(**cfg)
        except Exception as exc:  # noqa: BLE001
            yield lab, f"init raised {type(exc).__name__}"
            continue
        T = s.config.num_train_timesteps
        for attr in ("betas", "alphas", "alphas_cumprod", "final_alpha_cumprod", "one", "timesteps", "init_noise_sigma",
                     "order", "variance_type", "custom_timesteps", "num_inference_steps"):
            if hasattr(s, attr):
                yield f"{lab}.{attr}", _val(getattr(s, attr))
        ks = sorted({0, 1, T // 2, T - 2, T - 1} & set(range(T)))
        x0 = _probe((len(ks), 3, 2, 2), 4)
        eps = _probe((len(ks), 3, 2, 2), 5)
        kt = torch.tensor(ks)
        yield f"{lab}.add_noise", _call(lambda: s.add_noise(x0, eps, kt))
        yield f"{lab}.get_velocity", _call(lambda: s.get_velocity(x0, eps, kt))
        if kind == "ddpm":
            for k in ks:
                yield f"{lab}.var{k}", _call(lambda: s._get_variance(k))
            extra = cfg.get("variance_type") in ("learned", "learned_range")
            grids = [("full", None)]
            grids += [(f"n{n}", n) for n in (10, 7, 1) if n <= T]
            grids += [("custom", "custom")] if T > 101 else []
        else:
            extra = False
            grids = [(f"n{n}", n) for n in (T, 10, 7, 1) if n <= T]
        if kind == "ddpm":  # set_timesteps' validation of custom timesteps
            for bad in ([100, 87, 50, 51, 0], [87, 100, 0], [T, 0], [T - 1, 0], [5, 5, 0]):
                sv = cls(**cfg)
                yield f"{lab}.custom{bad}", _call(lambda: sv.set_timesteps(timesteps=bad))
                yield f"{lab}.custom{bad}.t", _val(sv.timesteps)
            sv = cls(**cfg)
            yield f"{lab}.custom.both", _call(lambda: sv.set_timesteps(num_inference_steps=3, timesteps=[2, 1, 0]))
        for n in (0, T - 1, T, T + 1):  # the edges of set_timesteps: refused or not, and the grid it gives
            sv = cls(**cfg)
            yield f"{lab}.set{n}", _call(lambda: sv.set_timesteps(n))
            yield f"{lab}.set{n}.t", _val(sv.timesteps)
        for gname, n in grids:
            sg = cls(**cfg)
            if n == "custom":
                r = _call(lambda: sg.set_timesteps(timesteps=[100, 87, 50, 1, 0]))
            elif n is not None:
                r = _call(lambda: sg.set_timesteps(n))
            else:
                r = None
            yield f"{lab}.{gname}.set", r
            yield f"{lab}.{gname}.timesteps", _val(sg.timesteps)
            tl = sg.timesteps.tolist()
            pick = sorted(set([tl[0], tl[-1]] + tl[len(tl) // 2: len(tl) // 2 + 1] + tl[-2:-1]), reverse=True)
            if kind == "ddpm" and n is not None:
                for k in pick:
                    yield f"{lab}.{gname}.prev{k}", _call(lambda: sg.previous_timestep(k))
            if kind == "ddim":
                for k in pick:
                    kp = k - T // len(tl)
                    yield f"{lab}.{gname}.var{k}", _call(lambda: sg._get_variance(k, kp))
            for k in pick:
                for xin, tag in ((x, "x"), (big, "big")):
                    mo = torch.cat([m, torch.tanh(m)], dim=1) if extra else m
                    if kind == "ddpm":
                        yield (f"{lab}.{gname}.step{k}{tag}",
                               _call(lambda: tuple(_val(o) for o in sg.step(mo, k, xin, generator=torch.Generator()
                                                                            .manual_seed(k), return_dict=False))))
                    else:
                        for eta, clipped in ((0.0, False), (1.0, False), (0.5, True)):
                            yield (f"{lab}.{gname}.step{k}{tag}e{eta}c{clipped}",
                                   _call(lambda: tuple(_val(o) for o in sg.step(
                                       mo, k, xin, eta=eta, use_clipped_model_output=clipped,
                                       generator=torch.Generator().manual_seed(k), return_dict=False))))
            if kind == "ddim" and gname == "n10":
                vn = _probe(x.shape, 9)
                yield f"{lab}.vnoise", _call(lambda: sg.step(m, tl[1], x, eta=1.0, variance_noise=vn).prev_sample)
                for eta in (0.0, 1.0):  # both a generator and variance_noise: refused when there is noise to add
                    yield f"{lab}.both{eta}", _call(lambda: sg.step(m, tl[1], x, eta=eta, variance_noise=vn,
                                                                    generator=torch.Generator().manual_seed(0)))


def same(a, b) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype.is_floating_point:
            a64, b64 = a.double(), b.double()
            both_nan = torch.isnan(a64) & torch.isnan(b64)
            eq = (a64 == b64) | both_nan | ((a64 - b64).abs() <= 1e-12 * torch.maximum(a64.abs(), b64.abs()))
            return bool(eq.all())
        return bool(torch.equal(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (a != a and b != b) or abs(a - b) <= 1e-12 * max(abs(a), abs(b))
    return type(a) is type(b) and a == b


def first_difference(reference: list, cls, kind: str, cfgs=None):
    """The label of the first output where ``cls`` differs from ``reference`` (a list of (label, value)
    from the original), or None when every output is identical (an equivalent mutant)."""
    it = fingerprint(cls, kind, cfgs)
    for (lab, ref), got in itertools.zip_longest(reference, it, fillvalue=(None, None)):
        glab, gval = got
        if glab != lab:
            return lab or glab
        if not same(ref, gval):
            return lab
    return None
