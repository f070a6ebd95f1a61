"""What kind of sampler a scheduler is, and so which conformance checks apply.

Kinds:

* ``posterior``: each step samples the DDPM posterior (DDPM, DDIM with eta > 0, the parallel
  variants) - checked step by step against ``posterior``/``posterior_eps`` by the checker;
  ancestral samplers in sigma form (Euler ancestral, KDPM2 ancestral) are posterior samplers whose
  steps are checked by their marginals (``frame`` set);
* ``ode``: a deterministic solver of the probability-flow ODE (DDIM eta = 0, Euler, Heun,
  DPM-Solver/DPM-Solver++ single- and multistep, UniPC, DEIS, LMS, PNDM, EDM, flow-match Euler/Heun);
* ``sde``: a stochastic solver (SDE-DPM-Solver++, SA-Solver, LCM/TCD's re-noising);
* ``unsupported``: with one line saying why.

``frame`` says how to read the scheduler's sample and noise level (see :mod:`.solvers`):
``vp`` x = a x_0 + s eps with sigma = s/a from ``sigmas``; ``ve`` x = x_0 + sigma eps (k-diffusion,
the model sees ``scale_model_input(x)``); ``edm`` like ``ve`` with EDM preconditioning;
``flow`` x = (1 - tau) x_0 + tau eps with tau in ``sigmas``; ``abar`` x = sqrt(abar_k) x_0 +
sqrt(1 - abar_k) eps read from ``alphas_cumprod`` at integer timesteps. ``sigma_source`` "call": the
noise level is the argument of each model call (k-diffusion samplers and denoiser wrappers, see
:mod:`.external`; denoising-diffusion-pytorch's GaussianDiffusion is a ``posterior`` sampler).
``reference`` names the paper algorithm in :mod:`.references` run on the same grid (None: no reference, order only).
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Classification", "classify", "KINDS"]

KINDS = ("posterior", "ode", "sde", "unsupported")


@dataclass(frozen=True)
class Classification:
    kind: str
    frame: str | None = None        # vp / ve / edm / flow / abar (None: the checker's DDPM/DDIM path)
    sigma_source: str | None = None  # index / scale / abar: where the noise level of a model call is read
    reference: str | None = None     # algorithm in .references
    reason: str = ""                 # for unsupported; a short description otherwise
    label: str = ""                  # e.g. "DPM-Solver++ 2M"


_UNSUPPORTED = {
    "AmusedScheduler": "masked-token sampler for discrete image tokens: no Gaussian path",
    "VQDiffusionScheduler": "discrete (VQ token) diffusion: no Gaussian path",
    "BlockRefinementScheduler": "block-wise refinement of discrete tokens: no Gaussian path",
    "EntropyBoundScheduler": "uniform corruption of discrete states: no Gaussian path",
    "DiscreteDDIMScheduler": "discrete-state DDIM (D3PM uniform corruption): no Gaussian path",
    "ConsistencyDecoderScheduler": "consistency decoder of a VAE: its model is a consistency function, not a denoiser",
    "CMStochasticIterativeScheduler": "consistency-model sampler: the model is a consistency function, not a denoiser",
    "SCMScheduler": "sCM (TrigFlow) consistency sampler: the model is a consistency function, not a denoiser",
    "RePaintScheduler": "inpainting sampler: step needs the known image and a mask",
    "UnCLIPScheduler": "deprecated by diffusers (its own docstring: use DDPMScheduler); not checked",
    "DDPMWuerstchenScheduler": "Wuerstchen's continuous-time cosine schedule with ratio timesteps: no alphas_cumprod "
                               "grid to check against",
    "DDIMInverseScheduler": "inversion (integrates data -> noise); only the sampling direction is checked",
    "DPMSolverMultistepInverseScheduler": "inversion (integrates data -> noise); only the sampling direction is checked",
    "ScoreSdeVeScheduler": "predictor-corrector VE-SDE sampler with step_pred/step_correct, no step(); not checked",
    "KarrasVeScheduler": "deprecated stochastic sampler with a two-call step/step_correct API; not checked",
    "ScoreSdeVpScheduler": "deprecated VP-SDE sampler; not checked",
    "CosineDPMSolverMultistepScheduler": "needs torchsde (Brownian tree noise), not installed",
    "DPMSolverSDEScheduler": "needs torchsde (Brownian tree noise), not installed",
    "IPNDMScheduler": "its own trigonometric time (alphas = cos, betas = sin of t) without a documented path "
                      "parameterisation to read the noise level of a model call from",
    "CogVideoXDDIMScheduler": "CogVideoX's DDIM variant with snr_shift_scale rescaling its alphas_cumprod; not checked",
    "CogVideoXDPMScheduler": "CogVideoX's DPM variant with snr_shift_scale rescaling its alphas_cumprod; not checked",
    "HeliosScheduler": "Helios' multi-stage pyramid sampler (stage-dependent resolution): not a single Gaussian path",
    "HeliosDMDScheduler": "Helios' DMD distilled few-step sampler: the model is a generator, not a denoiser",
    "LTXEulerAncestralRFScheduler": "LTX-Video ancestral RF sampler: timesteps in [0, 1] with no train grid; "
                                    "not checked",
    "PiflowScheduler": "PiFlow policy sampler: its model outputs a policy of widened outputs, not one prediction",
    "FlowMapEulerDiscreteScheduler": "flow-map sampler: the model predicts a jump between two times (r_timestep), "
                                     "not a velocity",
    "MiniMaxH3Scheduler": "MiniMax-H3: data-ward velocity with timestep = 1 - sigma (its own convention); not probed",
    "RFD4ProteinaScheduler": "protein-structure sampler (cannot be built with defaults)",
}


def _cfg(obj, key, default=None):
    config = getattr(obj, "config", None)
    try:
        return config[key] if config is not None and key in config else getattr(obj, key, default)
    except Exception:  # noqa: BLE001 - a config object without mapping access
        return getattr(obj, key, default)


def _mro_names(obj) -> list:
    return [k.__name__ for k in type(obj).__mro__ if k.__module__.startswith("diffusers.")]


def _external(obj):
    """denoising-diffusion-pytorch and k-diffusion objects (recognised by module name, see .external)."""
    from .packages import _function, identify, sampler_kind
    ident = identify(obj)
    if ident is None:
        return None
    what, detail = ident
    if what == "unsupported":
        return Classification("unsupported", reason=detail)
    if what == "gd":
        return Classification("posterior", reason="denoising-diffusion-pytorch GaussianDiffusion: p_sample checked as "
                              "the DDPM posterior step, ddim_sample (eta = 0) as a PF-ODE solver",
                              label="GaussianDiffusion")
    if what == "kd_denoiser":
        frame = "edm" if detail == "Denoiser" else "vp"
        return Classification("ode", frame, "call", "euler", f"k-diffusion {detail}: preconditioning, time maps, "
                              "and sample_euler through it", detail)
    kind, ref, label = sampler_kind(detail, _function(obj)[1])
    return Classification(kind, "ve", "call", ref, f"k-diffusion {detail}: {label}", label)


def classify(obj) -> Classification:
    """Classify ``obj`` (a diffusers scheduler instance, or anything else: a protocol sampler is a
    ``posterior`` sampler checked by the DDPM path)."""
    ext = _external(obj)
    if ext is not None:
        return ext
    names = _mro_names(obj)
    if not names:
        return Classification("posterior", reason="user sampler (SchedulerProtocol): checked as DDPM posterior sampler")
    name = next((n for n in names if n.endswith("Scheduler") and n != "SchedulerMixin"), names[0])
    if name in _UNSUPPORTED:
        return Classification("unsupported", reason=_UNSUPPORTED[name])
    algo = str(_cfg(obj, "algorithm_type", "") or "")
    order = int(_cfg(obj, "solver_order", 1) or 1)
    if name in ("DDPMScheduler", "DDPMParallelScheduler"):
        return Classification("posterior", reason="DDPM ancestral sampler", label="DDPM")
    if name in ("DDIMScheduler", "DDIMParallelScheduler"):
        return Classification("posterior", frame="abar", sigma_source="abar", reference="euler",
                              reason="DDIM: eta > 0 samples the posterior family, eta = 0 solves the PF-ODE",
                              label="DDIM (eta=0)")
    if name in ("EulerAncestralDiscreteScheduler", "KDPM2AncestralDiscreteScheduler"):
        return Classification("posterior", frame="ve", sigma_source="scale",
                              reason="ancestral sampler in sigma form: checked by its marginals", label=name[:-9])
    if name == "EulerDiscreteScheduler":
        return Classification("ode", "ve", "scale", "euler", "Euler in sigma on x/a (Karras et al. 2022)", "Euler")
    if name == "HeunDiscreteScheduler":
        return Classification("ode", "ve", "scale", "heun", "Heun in sigma (Karras et al. 2022, alg. 1)", "Heun")
    if name == "KDPM2DiscreteScheduler":
        return Classification("ode", "ve", "scale", None, "DPM-Solver-2 in sigma form (k-diffusion)", "KDPM2")
    if name == "LMSDiscreteScheduler":
        return Classification("ode", "ve", "scale", None, "linear multistep in sigma (k-diffusion)", "LMS")
    if name == "PNDMScheduler":
        return Classification("ode", "abar", "abar", None, "pseudo numerical method (Liu et al. 2022)", "PNDM")
    if name in ("DPMSolverMultistepScheduler", "EDMDPMSolverMultistepScheduler", "DPMSolverSinglestepScheduler"):
        frame = "edm" if name.startswith("EDM") else "vp"
        single = "Singlestep" in name
        if algo.startswith("sde-"):
            return Classification("sde", frame, "index", None, f"{algo} (stochastic)", f"SDE-DPM-Solver++ {order}")
        plus = "++" if algo in ("dpmsolver++", "") else ""
        solver_type = str(_cfg(obj, "solver_type", "midpoint"))
        ref = None
        if solver_type == "midpoint" and algo in ("dpmsolver++", "dpmsolver"):
            if single:
                ref = {1: "euler", 2: f"dpm{plus}_2s"}.get(order)
            else:
                ref = {1: "euler", 2: f"dpm{plus}_2m", 3: f"dpm{plus}_3m" if plus else None}.get(order)
        kind_label = f"DPM-Solver{plus} {order}{'S' if single else 'M'}"
        return Classification("ode", frame, "index", ref, kind_label + f" ({solver_type})", kind_label)
    if name == "UniPCMultistepScheduler":
        ref = "unipc_bh2" if (order == 2 and _cfg(obj, "solver_type", "bh2") == "bh2"
                              and _cfg(obj, "predict_x0", True) and not _cfg(obj, "disable_corrector", [])) else None
        return Classification("ode", "vp", "index", ref, f"UniPC order {order}", f"UniPC {order}")
    if name == "DEISMultistepScheduler":
        return Classification("ode", "vp", "index", None, f"DEIS order {order}", f"DEIS {order}")
    if name == "SASolverScheduler":
        return Classification("sde", "vp", "index", None, "SA-Solver (stochastic Adams, tau > 0 on part of the grid)",
                              "SA-Solver")
    if name == "EDMEulerScheduler":
        return Classification("ode", "edm", "index", "euler", "Euler in sigma, EDM preconditioning", "EDM Euler")
    if name == "FlowMatchEulerDiscreteScheduler":
        if _cfg(obj, "stochastic_sampling", False):
            return Classification("sde", "flow", "index", None, "flow-match Euler with stochastic_sampling", "FM Euler")
        return Classification("ode", "flow", "index", "euler", "Euler in tau on the rectified-flow ODE", "FM Euler")
    if name == "FlowMatchHeunDiscreteScheduler":
        return Classification("ode", "flow", "index", "heun", "Heun in tau on the rectified-flow ODE", "FM Heun")
    if name == "FlowMatchLCMScheduler":
        return Classification("sde", "flow", "index", None, "LCM on the flow path: x0 estimate, then re-noise", "FM LCM")
    if name in ("LCMScheduler", "TCDScheduler"):
        return Classification("sde", "abar", "abar", None, f"{name[:-9]}: x0 estimate, then re-noise", name[:-9])
    return Classification("unsupported", reason=f"{name} is not classified yet (no known path and step semantics)")
