"""Recognising objects of denoising-diffusion-pytorch and k-diffusion by module name (neither package is
imported): :func:`identify` and :func:`sampler_kind`, used by :mod:`.classify` and :mod:`.external`."""
from __future__ import annotations

import functools
import inspect

__all__ = ["identify", "sampler_kind", "KD_SAMPLERS", "GD_PKG", "KD_PKG"]

GD_PKG, KD_PKG = "denoising_diffusion_pytorch", "k_diffusion"

#: k-diffusion samplers: name -> (kind, reference, label); kind as in .classify
KD_SAMPLERS = {
    "sample_euler": ("ode", "euler", "Euler (Karras et al. 2022, alg. 2)"),
    "sample_heun": ("ode", "heun", "Heun (Karras et al. 2022, alg. 2)"),
    "sample_dpm_2": ("ode", None, "DPM-Solver-2 in sigma (k-diffusion)"),
    "sample_lms": ("ode", None, "linear multistep in sigma (k-diffusion)"),
    "sample_dpmpp_2m": ("ode", "dpm++_2m", "DPM-Solver++(2M)"),
    "sample_euler_ancestral": ("posterior", None, "Euler ancestral"),
    "sample_dpm_2_ancestral": ("posterior", None, "DPM-Solver-2 ancestral"),
    "sample_dpmpp_2s_ancestral": ("posterior", None, "DPM-Solver++(2S) ancestral"),
    "sample_dpmpp_sde": ("sde", None, "DPM-Solver++ SDE"),
    "sample_dpmpp_2m_sde": ("sde", None, "DPM-Solver++(2M) SDE"),
    "sample_dpmpp_3m_sde": ("sde", None, "DPM-Solver++(3M) SDE"),
}
_KD_UNSUPPORTED = {
    "sample_dpm_fast": "takes (sigma_min, sigma_max, n) instead of a grid of sigmas; not checked",
    "sample_dpm_adaptive": "adaptive step size (no fixed grid to measure an order on); not checked",
}
_ETA0_REF = {"sample_euler_ancestral": "euler", "sample_dpmpp_2m_sde": "dpm++_2m"}
_KD_DENOISERS = ("DiscreteEpsDDPMDenoiser", "DiscreteVDDPMDenoiser", "VDenoiser", "Denoiser")


# ----- recognising the objects (module names only; nothing is imported) ---------------------------------
def _pkg_classes(obj, pkg):
    return [k for k in type(obj).__mro__ if (k.__module__ or "").split(".")[0] == pkg]


def _function(obj):
    """(function, partial keywords) of a function or functools.partial, else (None, {})."""
    kw = {}
    while isinstance(obj, functools.partial):
        kw = {**obj.keywords, **kw}
        obj = obj.func
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        return obj, kw
    return None, {}


def identify(obj):
    """("gd", class name) | ("kd_sampler", function name) | ("kd_denoiser", wrapper kind) |
    ("unsupported", reason) for the two packages; None for anything else."""
    gd = _pkg_classes(obj, GD_PKG)
    if gd:
        names = [k.__name__ for k in gd]
        if "GaussianDiffusion" in names and not any(n.endswith(("1D", "Elucidated")) for n in names):
            return "gd", names[0]
        return "unsupported", (f"denoising-diffusion-pytorch {names[0]}: only GaussianDiffusion (2-D, "
                               "denoising_diffusion_pytorch.py) is adapted")
    kd = _pkg_classes(obj, KD_PKG)
    if kd:
        names = [k.__name__ for k in kd]
        for kind in _KD_DENOISERS:
            if kind in names:
                return "kd_denoiser", kind
        return "unsupported", f"k-diffusion {names[0]}: not a sampler or a denoiser wrapper"
    fn, _ = _function(obj)
    if fn is not None and (getattr(fn, "__module__", "") or "").split(".")[0] == KD_PKG:
        name = fn.__name__
        if name in KD_SAMPLERS:
            return "kd_sampler", name
        return "unsupported", f"k-diffusion {name}: " + _KD_UNSUPPORTED.get(name, "not a known sampler")
    return None


def sampler_kind(name: str, keywords: dict):
    """(kind, reference, label) of a k-diffusion sampler with its partial keywords."""
    kind, ref, label = KD_SAMPLERS[name]
    if kind == "ode" and float(keywords.get("s_churn", 0.0) or 0.0) > 0:
        return "sde", None, label + f" with s_churn={keywords['s_churn']:g}"
    if kind in ("posterior", "sde") and "eta" in keywords and float(keywords["eta"]) == 0.0:
        st = keywords.get("solver_type", "midpoint")
        return "ode", (_ETA0_REF.get(name) if st == "midpoint" else None), label + " with eta=0"
    return kind, ref, label
