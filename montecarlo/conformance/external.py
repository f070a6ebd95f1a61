"""One-call conformance for two external packages: denoising-diffusion-pytorch and k-diffusion.

Usage (each is one call; the package is imported by the user, never by this module, which recognises
the objects by the module names of their types)::

    from montecarlo.conformance import check_scheduler
    check_scheduler(GaussianDiffusion(Unet(dim=8), image_size=8, timesteps=100, objective="pred_v"))
    check_scheduler(k_diffusion.sampling.sample_dpmpp_2m)              # a sampler: function or partial
    check_scheduler(functools.partial(k_diffusion.sampling.sample_euler_ancestral, eta=1.0))
    check_scheduler(k_diffusion.layers.Denoiser(inner, sigma_data=0.5))  # a denoiser wrapper

    from montecarlo.conformance.external import check_sampler
    check_sampler(sample_heun, denoiser=Denoiser(inner, sigma_data=0.5))  # the sampler through the wrapper

Design: :func:`adapt_external` returns an :class:`~.adapters.Adapter` for a ``GaussianDiffusion``
(used by :func:`~.adapters.adapt`), an :class:`ExternalCheck` (a report path) for a k-diffusion
sampler or denoiser, or None for anything else; :func:`external_report` is the hook of
``check_scheduler`` (None for anything else).

denoising-diffusion-pytorch 2.3.4 ``GaussianDiffusion`` (objectives pred_noise / pred_x0 / pred_v ->
prediction types epsilon / sample / v_prediction; its timestep ``t`` is diffusers' k, with
``alphas_cumprod[k] = abar_{k+1}`` and ``p_sample(x, k)`` mapping x_{k+1} to x_k):

* ``p_sample`` is checked step by step by the posterior checker (:mod:`.checker`) on the full grid
  (``p_sample_loop``), with the network swapped for the checker's probe (a shallow copy of the
  module holds the probe; the user's network and module are untouched). Its clamp of the x_0
  estimate to [-1, 1] is always on: declared as a note, probes keep |x0_hat| <= 0.5.
* ``p_sample`` draws its noise with ``torch.randn_like`` from the GLOBAL RNG: each call runs inside
  ``torch.random.fork_rng`` with the global RNG seeded by the checker's seed, so the noise is the
  checker's generator stream (checked exactly) and the user's RNG state is unchanged. Whether
  same-seed calls reproduce is probed once; if not (a subclass drawing elsewhere), a note says
  "noise not drawn from the generator: seed the global RNG / pass noise_sampler".
* ``q_sample`` is the adapter's add_noise, ``predict_v`` its get_velocity; ``targets`` holds
  ``predict_v`` (v_prediction) and ``p_losses`` (the training target of its objective, recovered
  exactly from three losses with a constant probe network: with loss_b = w (out_b - target_b)^2,
  outputs 0, 1, -1 give target = (L_-1 - L_1) / (2 (L_-1 + L_1 - 2 L_0))).
* ``ddim_sample`` (eta = 0) is run itself, with an exact network (Gaussian data N(m, v),
  :mod:`.oracle`) and sampling_timesteps = N: point-mass exactness (``ddim_exact``) and the error
  against the closed-form PF-ODE solution with its measured order, against the reference ``euler``
  (DDIM eta = 0) on the same grid (``path_pf_ode``), as :mod:`.solvers` does for diffusers. It
  runs with torch's default dtype set to float64 (restored after) so the order is not limited by
  float32 sample rounding. ddim_sample with eta > 0 is not checked (its start is drawn inside).

k-diffusion 0.1.1:

* a sampler ``sample_*(model, x, sigmas, ...)`` (function or ``functools.partial``; a function of
  any module with ``kind=``/``reference=`` via :func:`check_sampler`) is run on Karras grids with
  the exact denoiser on the VE path x = x_0 + sigma eps: deterministic samplers (euler, heun,
  dpm_2, lms, dpmpp_2m, and eta = 0 ancestral ones) get point-mass exactness and the measured order
  against the reference (euler -> euler, heun -> heun, dpmpp_2m -> dpm++_2m, others order only);
  ancestral and SDE samplers get the Monte Carlo marginal tests of :mod:`.solvers` (x after every
  step ~ N(m, sigma^2) for point-mass data, exact t and chi-square tests, Holm). Their noise comes
  from ``noise_sampler=`` (passed, drawing from the checker's generator, where the function takes
  one) and otherwise from the global RNG, seeded inside ``fork_rng``. Reproducibility under a fixed
  seed is probed; a mean mismatch of a sampler whose noise is not reproducible says "noise not
  drawn from the generator: seed the global RNG / pass noise_sampler".
* a denoiser wrapper (``layers.Denoiser``, ``external.VDenoiser``, ``DiscreteEpsDDPMDenoiser`` and
  its OpenAI/CompVis subclasses, ``DiscreteVDDPMDenoiser``), any ``sigma_data``: ``get_scalings``
  and ``forward`` (probed with a constant inner network) against the preconditioning derived from
  the proved Gaussian-data forms of :mod:`proofs.paths` (data N(0, sigma_data^2) on x = x_0 +
  sigma eps: c_skip = the denoiser's slope v/(v + sigma^2), c_out = sqrt of the posterior variance,
  c_in = 1/sqrt of the marginal variance, Karras et al. 2022 table 1; v-prediction: c_out negated;
  eps-prediction: path_conversions, x_0 = x - sigma eps, c_in = a = 1/sqrt(1 + sigma^2)). The EDM
  ``Denoiser`` is checked with its own sigma_data (any value); the wrappers of VP-trained networks
  (VDenoiser, Discrete*) with sigma_data = 1, because their network must see x_VP = a x with
  a = 1/sqrt(1 + sigma^2) (path_reparam) - a changed sigma_data there is reported;
  ``sigma_to_t``/``t_to_sigma`` round trips, and for discrete wrappers the sigma table against the
  proved VP -> VE conversion sigma = s/a = sqrt((1 - abar)/abar) (``path_reparam``) when
  ``alphas_cumprod`` is known (``inner_model.alphas_cumprod`` or ``alphas_cumprod=``). Then
  ``sample_euler`` (k-diffusion's, else the reference Euler) is run through the wrapper with an
  inner network that is exact under the proved preconditioning, so a wrong scaling shows as a
  trajectory error too.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import math

import numpy as np
import torch

from . import oracle
from .findings import ConformanceReport, Finding
from .packages import KD_SAMPLERS, _function, identify, sampler_kind

__all__ = ["adapt_external", "external_adapter", "external_report", "check_sampler", "check_denoiser",
           "ExternalCheck", "identify", "KD_SAMPLERS", "NOISE_HINT"]

NOISE_HINT = "noise not drawn from the generator: seed the global RNG / pass noise_sampler"
KARRAS = dict(sigma_min=0.02, sigma_max=80.0, rho=7.0)


# ----- RNG handling ----------------------------------------------------------------------------------------
@contextlib.contextmanager
def _seeded_global(seed: int):
    """The global CPU RNG seeded by ``seed`` inside a forked RNG state: the caller's state is restored."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


@contextlib.contextmanager
def _default_dtype(dtype):
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


@contextlib.contextmanager
def _quiet():
    """Progress bars (tqdm writes to stderr) and warnings of the packages are silenced while probing."""
    import io
    import warnings
    with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# ===== denoising-diffusion-pytorch: GaussianDiffusion ======================================================
_OBJECTIVES = {"pred_noise": "epsilon", "pred_x0": "sample", "pred_v": "v_prediction"}


class _ProbeNet(torch.nn.Module):
    """The network of a GaussianDiffusion during a probe: returns ``out`` (or ``fn(x, t)``)."""

    def __init__(self, channels=1, self_condition=False):
        super().__init__()
        self.channels, self.out_dim, self.self_condition = channels, channels, self_condition
        self.out = None
        self.fn = None

    def forward(self, x, t, x_self_cond=None):
        if self.fn is not None:
            return self.fn(x, t)
        return self.out.clone().to(x.dtype)


def _with_net(gd, net):
    """A shallow copy of ``gd`` whose network is ``net`` (the user's module is not touched)."""
    import types
    g = copy.copy(gd)
    g.__dict__ = {k: (types.MethodType(v.__func__, g) if inspect.ismethod(v) and v.__self__ is gd else v)
                  for k, v in gd.__dict__.items()}  # methods patched onto the instance act on the copy
    g._modules = dict(gd._modules)
    g._modules["model"] = net
    return g


def _gd_training_target(gd, x0, noise, k):
    """The target of ``p_losses`` (and its loss weight), recovered from three losses with constant outputs."""
    net = _ProbeNet(getattr(gd, "channels", 1))
    g = _with_net(gd, net)
    shape = x0.shape
    # float64 rows of one element each: the loss of row b is w_b (out_b - target_b)^2, and float64 keeps the
    # cancellation in (L_-1 - L_1) below float32 rounding of the target
    x0f, nf = x0.reshape(-1, 1, 1, 1).double(), noise.reshape(-1, 1, 1, 1).double()
    t = torch.as_tensor(k).reshape(-1)
    t = (t.expand(x0.shape[0]) if t.numel() == 1 else t)
    t = t.repeat_interleave(x0f.shape[0] // t.numel()).long()
    losses = []
    for c in (0.0, 1.0, -1.0):
        net.out = torch.full_like(x0f, c)
        with _seeded_global(0):
            losses.append(g.p_losses(x0f.clone(), t, noise=nf.clone(), loss_reduction="none").double())
    l0, l1, lm = losses
    w = (lm + l1 - 2 * l0) / 2
    target = (lm - l1) / (4 * w)
    return target.to(x0.dtype).reshape(shape)


def _gd_adapter(gd, num_inference_steps=None, spacings=None):
    from .adapters import Adapter, StepCall, _base, _grid_pairs, _unpack
    name = type(gd).__name__
    objective = getattr(gd, "objective", None)
    if objective not in _OBJECTIVES:
        raise ValueError(f"{name}.objective is {objective!r}: expected one of {sorted(_OBJECTIVES)}")
    pred = _OBJECTIVES[objective]
    base = _base(gd, name)
    notes = [("clip_denoised", f"{name}.p_sample always clamps its x_0 estimate to [-1, 1] (p_mean_variance "
              "clip_denoised=True; ddim_sample clip_x_start=True): probes keep |x0_hat| <= 0.5 where the clamp is "
              "inactive, so the identities are checked only there"),
             ("global_rng", f"{name}.p_sample draws its noise with torch.randn_like from the global RNG: each probe "
              "seeds it inside torch.random.fork_rng (the caller's RNG state is restored)")]
    if float(getattr(gd, "offset_noise_strength", 0.0) or 0.0) > 0:
        notes.append(("offset_noise", f"offset_noise_strength={gd.offset_noise_strength:g}: p_losses adds offset "
                      "noise to the training noise, so its target is not the noise of q_sample"))
    if getattr(gd, "immiscible", False):
        notes.append(("immiscible", "immiscible=True: q_sample reassigns the noise across the batch (linear "
                      "assignment), so add_noise is checked on a batch where that permutation applies"))
    net = _ProbeNet(getattr(gd, "channels", 1), getattr(gd, "self_condition", False))
    g = _with_net(gd, net)

    def call(m, k, x, seed):
        net.out = m
        with _seeded_global(seed):
            return _unpack(g.p_sample(x, int(k)))

    def call_pmv(m, k, x, seed):  # the step assembled from p_mean_variance with the checker's noise
        net.out = m
        t = torch.full((x.shape[0],), int(k), dtype=torch.long)
        with torch.inference_mode():
            mean, _, log_var, x0 = g.p_mean_variance(x, t, clip_denoised=True)
        if int(k) == 0:
            return mean, x0
        z = torch.randn(x.shape, generator=torch.Generator().manual_seed(int(seed)), dtype=x.dtype)
        return mean + (0.5 * log_var).exp() * z, x0

    label = "p_sample, full grid (fixed_small)"
    if not _gd_reproducible(call, base["T"]):
        notes.append(("noise_source", f"{NOISE_HINT}: two p_sample calls with the same seed differ (its noise does "
                      "not come from the seeded global RNG), so its mean cannot be recovered from same-seed "
                      "differences; the step is checked as p_mean_variance's mean and log-variance with the "
                      "checker's noise (p_sample's own noise draw is not checked)"))
        call, label = call_pmv, "p_mean_variance + checker noise, full grid (fixed_small)"
    T = base["T"]
    calls = [StepCall(label, _grid_pairs(range(T - 1, -1, -1)), call, noise="fixed_small")]
    add_noise = lambda x0, eps, k: gd.q_sample(x0, torch.as_tensor(k).long().reshape(-1), noise=eps)  # noqa: E731
    velocity = lambda x0, eps, k: gd.predict_v(x0, torch.as_tensor(k).long().reshape(-1), eps)  # noqa: E731
    targets = {"predict_v": (velocity, "v_prediction"),
               f"p_losses ({objective})": (functools.partial(_gd_training_target, gd), pred)}
    return Adapter(**base, prediction_type=pred, variance_type="fixed_small", clip_bound=0.5, add_noise=add_noise,
                   get_velocity=velocity, step_calls=calls, notes=notes, targets=targets)


def _gd_reproducible(call, T) -> bool:
    k = max(1, T // 2)
    x = torch.linspace(-0.1, 0.1, 64).reshape(1, 1, 1, -1)
    m = torch.zeros_like(x)
    try:
        a, _ = call(m, k, x, 123)
        b, _ = call(m, k, x, 123)
    except Exception:  # noqa: BLE001 - the checker reports the exception itself
        return True
    return bool(torch.equal(a, b))


def _gd_ddim_runner(gd):
    """run(n, m, v, xi, seed) -> _Traj of ``gd.ddim_sample`` with eta = 0 and sampling_timesteps = n."""
    pred = _OBJECTIVES[gd.objective]

    def run(n, m, v, xi, seed):
        traj = _Traj()
        abar = gd.alphas_cumprod.detach().double().cpu().numpy()

        def net_fn(x, t):
            k = int(torch.as_tensor(t).reshape(-1)[0])
            a, s = math.sqrt(abar[k]), math.sqrt(1.0 - abar[k])
            traj.calls.append(s / a)
            out = oracle.model_output(pred, x.detach().double().cpu().numpy().ravel(), a, s, m, v)
            return torch.as_tensor(out, dtype=x.dtype).reshape(x.shape)

        net = _ProbeNet(getattr(gd, "channels", 1), getattr(gd, "self_condition", False))
        net.fn = net_fn
        g = _with_net(gd, net)
        g.sampling_timesteps, g.ddim_sampling_eta, g.is_ddim_sampling = int(n), 0.0, True
        try:
            with _seeded_global(seed), _default_dtype(torch.float64), _quiet():
                imgs = g.ddim_sample((1, 1, 1, len(m)), return_all_timesteps=True)
        except Exception as exc:  # noqa: BLE001 - any error inside the sampler is a finding
            traj.error = f"{type(exc).__name__}: {exc}"
            return traj
        imgs = g.normalize(imgs.double())  # ddim_sample returns unnormalize(x); undo it (identity if not auto)
        states = [imgs[:, j].reshape(-1).cpu().numpy() for j in range(imgs.shape[1])]
        traj.start = (states[0], traj.calls[0] if traj.calls else math.inf)
        traj.states = states[1:]
        traj.grid = list(traj.calls) + [0.0]
        traj.final_sigma = 0.0
        return traj
    return run


# ===== shared trajectory checks (ODE order, point mass, Monte Carlo marginals) ===========================
class _Traj:
    def __init__(self):
        self.calls, self.states, self.grid = [], [], []
        self.start = None
        self.final_sigma = 0.0
        self.error = None
        self.has_mid = True


def _orders(errs):
    ns = sorted(errs)
    return {(a, b): math.log2(errs[a] / errs[b]) for a, b in zip(ns, ns[1:]) if errs[a] > 0 and errs[b] > 0}


def _ode_checks(runner, col, coef, reference, counts, label, grid_label, clip=False):
    """Point-mass exactness (v = 0) and the error/order against the closed-form PF-ODE solution."""
    from .references import REFERENCES, run_reference
    from .solvers import ASYMPTOTIC_PAIR, POINT_MASS_RTOL, _data, compare_with_reference, point_mass_states
    m, v, xi = _data(point_mass=True, clip=clip)
    traj = runner(counts[0], m, v, xi, 0)
    if traj.error is not None:
        col.add("path_pf_ode", "step", None, math.nan, math.nan, f"the sampler raised {traj.error[:200]}",
                grid=grid_label)
        return None, {}
    x0, s0 = traj.start
    a0, g0 = coef(s0)
    eps0 = (x0 - a0 * m) / g0
    point_mass_states(col, traj.states, traj.grid[1:], coef, m, eps0, POINT_MASS_RTOL, label, grid_label)
    m, v, xi = _data(seed=1, clip=clip)
    errs, ref_errs, where = {"mid": {}, "final": {}}, {"mid": {}, "final": {}}, {}
    runs = {}
    for n in counts:
        traj = runner(n, m, v, xi, 0)
        if traj.error is not None:
            col.add("path_pf_ode", "step", None, math.nan, math.nan, f"with {n} steps the sampler raised "
                    f"{traj.error[:200]}", step=n, grid=grid_label)
            break
        if not all(np.all(np.isfinite(s)) for s in traj.states if s is not None):
            col.add("path_pf_ode", "finite", None, 0.0, math.nan, f"NaN/inf with {n} steps", step=n, grid=grid_label)
            break
        x0, s0 = traj.start
        a0, g0 = coef(s0)
        a1, g1 = coef(traj.final_sigma)
        errs["final"][n] = float(np.abs(traj.states[-1] - oracle.pf_ode_solution(x0, a0, g0, a1, g1, m, v)).max())
        ref_states = None
        if reference in REFERENCES:
            def den(x, sig):
                a, s = coef(sig)
                return oracle.denoiser(x, a, s, m, v)
            ref_states = run_reference(reference, traj.grid, coef, x0, den)
            ref_errs["final"][n] = float(np.abs(ref_states[-1] - oracle.pf_ode_solution(x0, a0, g0, a1, g1, m, v))
                                         .max())
        runs[n] = (traj, ref_states)
        col.run["comparisons"] += len(m)
    # the intermediate point: the smallest positive noise level on every grid where the grids share one (nested
    # grids, e.g. ddim_sample's), else each grid's last positive one (the step to sigma = 0 is of lower order)
    usable = {n: r for n, r in runs.items() if r[0].has_mid}
    sets = [{x for x, st in zip(t.grid[1:], t.states) if x > 0 and st is not None} for t, _ in usable.values()]
    common = set.intersection(*sets) if len(sets) > 1 else set()
    s_common = min(common) if common else None
    for n, (traj, ref_states) in usable.items():
        s_mid = s_common if s_common is not None else (traj.grid[-2] if len(traj.grid) >= 3 else None)
        if s_mid is None or s_mid <= 0:
            continue
        j = max(i for i, x in enumerate(traj.grid[1:]) if x == s_mid)
        if traj.states[j] is None:
            continue
        x0, s0 = traj.start
        a0, g0 = coef(s0)
        am, gm = coef(s_mid)
        exact_mid = oracle.pf_ode_solution(x0, a0, g0, am, gm, m, v)
        errs["mid"][n] = float(np.abs(traj.states[j] - exact_mid).max())
        where[n] = s_mid
        if ref_states is not None:
            ref_errs["mid"][n] = float(np.abs(ref_states[j] - exact_mid).max())
    key = "mid" if errs["mid"] else "final"
    orders = _orders(errs[key])
    pair = ASYMPTOTIC_PAIR if ASYMPTOTIC_PAIR in orders else (max(orders) if orders else None)
    order = orders.get(pair) if pair else None
    info = {"errors": errs, "ref_errors": ref_errs, "orders": {f"{a}->{b}": o for (a, b), o in orders.items()},
            "order_at": (f"sigma = {s_common:.4g}, the smallest positive noise level common to all grids" if
                         s_common is not None else "the last positive noise level (the step to sigma = 0 is of "
                         "lower order by design)") if key == "mid" else "the end", "step_counts": list(counts), "pair": pair}
    if reference in REFERENCES and ref_errs[key]:
        ref_orders = _orders(ref_errs[key])
        info["ref_orders"] = {f"{a}->{b}": o for (a, b), o in ref_orders.items()}
        compare_with_reference(col, errs, ref_errs, key, orders, ref_orders, where, reference, 1e-11, pair,
                               grid_label)
    return order, info


def _marginal_checks(runner, col, alpha, seed, grid_label, reproducible=True, n=10):
    """Point-mass data m: after every step x ~ N(m, sigma^2) (VE path); exact t and chi-square tests, Holm."""
    from ..kernel import make_generator
    from ..stats import chi2_test_variance, holm, t_test_mean
    from .solvers import MC_SAMPLES
    m0 = 0.5
    m, v = np.full(MC_SAMPLES, m0), np.zeros(MC_SAMPLES)
    xi = torch.randn(MC_SAMPLES, generator=make_generator(seed, (12, 2)), dtype=torch.float64).numpy()
    traj = runner(n, m, v, xi, int(seed) + 12)
    if traj.error is not None:
        col.add("ddim_marginal", "step", None, math.nan, math.nan, f"the sampler raised {traj.error[:200]}",
                grid=grid_label)
        return None
    hint = "" if reproducible else f" ({NOISE_HINT}: two runs with the same seed differ)"
    results, where = [], []
    for j, (state, sig) in enumerate(zip(traj.states, traj.grid[1:])):
        if state is None:
            continue
        if not np.all(np.isfinite(state)):
            col.add("ddim_marginal", "finite", sig, 0.0, math.nan, f"step {j} returned NaN/inf", step=j,
                    grid=grid_label)
            continue
        if sig <= 1e-6:
            err = float(np.abs(state - m).max())
            if err > 1e-4 * (1 + abs(m0)):
                col.add("ddim_marginal", "final", sig, m0, float(state.mean()),
                        f"the last step (to sigma={sig:.3g}) returns values off the data point m={m0} by up to "
                        f"{err:.3g} (std {float(np.std(state - m)):.3g}: noise left in the output){hint}", step=j,
                        grid=grid_label)
            continue
        z = (state - m) / sig
        results.append(t_test_mean(z, 0.0, alpha=alpha, name=f"mean after step {j}"))
        where.append((j, sig, "mean", float(z.mean())))
        results.append(chi2_test_variance(z, 1.0, alpha=alpha, mean=0.0, name=f"variance after step {j}"))
        where.append((j, sig, "variance", float(np.mean(z * z))))
    col.run["comparisons"] += len(results)
    if not results:
        return None
    fam = holm(results, alpha, name="marginals")
    for r, adj, (j, sig, what, val) in zip(fam.results, fam.adjusted, where):
        if adj <= alpha:
            col.add("ddim_marginal", what, sig, 0.0 if what == "mean" else 1.0, val,
                    f"after step {j} (sigma={sig:.4g}) the standardised sample (x - m)/sigma has {what} {val:.4g} "
                    f"(Holm-adjusted p = {adj:.2g} < alpha = {alpha:g}); the step does not keep the marginal "
                    f"N(m, sigma^2){hint if what == 'mean' else ''}", step=j, grid=grid_label)
    mc = dict(alpha=alpha, tests=len(results), samples=MC_SAMPLES, exact=True,
              mde_mean_in_s=max(r.mde for r, w in zip(fam.results, where) if w[2] == "mean"),
              mde_variance_relative=max(r.mde for r, w in zip(fam.results, where) if w[2] == "variance"))
    col.run["mc"] = mc
    return mc


# ===== k-diffusion samplers ==================================================================================
def karras_sigmas(n, sigma_min=KARRAS["sigma_min"], sigma_max=KARRAS["sigma_max"], rho=KARRAS["rho"]) -> list:
    """Karras et al. 2022 grid of n noise levels plus 0 (float64; as k_diffusion.sampling.get_sigmas_karras)."""
    ramp = np.linspace(0.0, 1.0, n)
    s = (sigma_max ** (1 / rho) + ramp * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho
    return [float(x) for x in s] + [0.0]


def _accepts(fn, name) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _kd_runner(sample_fn, denoiser=None, sigma_range=None):
    """run(n, m, v, xi, seed) -> _Traj: ``sample_fn(model, x, sigmas, ...)`` on a Karras grid, exact model."""
    fn, _ = _function(sample_fn)
    target = fn if fn is not None else sample_fn
    smin, smax = sigma_range or (KARRAS["sigma_min"], KARRAS["sigma_max"])

    def run(n, m, v, xi, seed):
        traj = _Traj()
        grid = karras_sigmas(n, smin, smax)
        traj.grid, traj.final_sigma = grid, 0.0
        dtype = torch.float64

        def exact(x, sigma):
            traj.calls.append(sigma)
            return torch.as_tensor(oracle.denoiser(x.detach().double().cpu().numpy().ravel(), 1.0, sigma, m, v),
                                   dtype=x.dtype).reshape(x.shape)

        if denoiser is None:
            def model(x, sigma, **kw):
                return exact(x, float(torch.as_tensor(sigma).reshape(-1)[0]))
        else:
            model = _exact_through(denoiser, m, v, traj)
        x = torch.as_tensor(m + np.sqrt(v + grid[0] ** 2) * xi, dtype=dtype).reshape(1, 1, 1, -1)
        traj.start = (x.reshape(-1).numpy().copy(), grid[0])
        seen = {}
        kw = {}
        if _accepts(target, "callback"):
            kw["callback"] = lambda info: seen.__setitem__(int(info["i"]), info["x"].detach().double().reshape(-1)
                                                           .cpu().numpy().copy())
        if _accepts(target, "disable"):
            kw["disable"] = True
        gen = torch.Generator().manual_seed(int(seed) + 1)
        keywords = getattr(sample_fn, "keywords", {}) or {}
        if _accepts(target, "noise_sampler") and "noise_sampler" not in keywords:
            kw["noise_sampler"] = lambda s, s_next: torch.randn(x.shape, generator=gen, dtype=dtype)
        try:
            with _seeded_global(seed), _quiet():
                out = sample_fn(model, x, torch.tensor(grid, dtype=dtype), **kw)
        except Exception as exc:  # noqa: BLE001 - any error inside the sampler is a finding
            traj.error = f"{type(exc).__name__}: {exc}"
            return traj
        out = out[0] if isinstance(out, (tuple, list)) else out
        traj.states = [seen.get(i) for i in range(1, n)] + [out.detach().double().reshape(-1).cpu().numpy()]
        traj.has_mid = bool(seen)
        return traj
    return run


def _reproducible(runner) -> bool:
    from .solvers import MC_SAMPLES  # the Monte Carlo size: a noise_sampler of a fixed shape works here too
    m, v, xi = np.full(MC_SAMPLES, 0.5), np.zeros(MC_SAMPLES), np.linspace(-2, 2, MC_SAMPLES)
    a, b = runner(3, m, v, xi, 5), runner(3, m, v, xi, 5)
    if a.error or b.error:
        return True
    return all(np.array_equal(p, q) for p, q in zip(a.states, b.states) if p is not None and q is not None)


def check_sampler(sample_fn, denoiser=None, *, kind=None, reference=None, label=None, alpha: float = 1e-6,
                  seed: int = 0, num_inference_steps=None, sigma_min=None, sigma_max=None):
    """Check a k-diffusion-style sampler ``sample_fn(model, x, sigmas, extra_args=None, callback=None,
    disable=None, ...)`` (a function or functools.partial) with the exact model of Gaussian data.

    ``denoiser``: a k-diffusion wrapper to drive it through (its inner network is replaced by one exact
    under the proved preconditioning; the wrapper is checked too). ``kind`` ("ode", "sde", "posterior"
    for ancestral) and ``reference`` (a key of :data:`.references.REFERENCES`) default to the k-diffusion
    table (:data:`KD_SAMPLERS`); a function outside k-diffusion needs ``kind``. Returns a ConformanceReport."""
    from .solvers import STEP_COUNTS, _Collector, _finding_maker
    fn, keywords = _function(sample_fn)
    name = (fn or sample_fn).__name__ if hasattr(fn or sample_fn, "__name__") else type(sample_fn).__name__
    if kind is None:
        if name not in KD_SAMPLERS:
            raise ValueError(f"{name} is not a known k-diffusion sampler: pass kind= ('ode', 'sde' or 'posterior') "
                             "and, for an ODE solver, reference= (one of montecarlo.conformance.references.REFERENCES)")
        kind, ref0, label0 = sampler_kind(name, keywords)
        reference = reference if reference is not None else ref0
        label = label or label0
    if kind not in ("ode", "sde", "posterior"):
        raise ValueError(f"kind must be 'ode', 'sde' or 'posterior', got {kind!r}")
    label = label or name
    den_report = None
    sig_range = (sigma_min or KARRAS["sigma_min"], sigma_max or KARRAS["sigma_max"])
    if denoiser is not None:
        den_report = check_denoiser(denoiser, alpha=alpha, seed=seed, sampler=False)
        smin, smax = getattr(denoiser, "sigma_min", None), getattr(denoiser, "sigma_max", None)
        if sigma_min is None and smin is not None:
            sig_range = (float(smin), float(smax))
    report = ConformanceReport(scheduler=name + (f" via {type(denoiser).__name__}" if denoiser is not None else ""),
                               T=0, dtype="float64", prediction_type="sample (denoiser)", variance_type=label,
                               alpha=float(alpha), seed=int(seed), kind=kind, noise_mode="-")
    run = {"comparisons": 0}
    col = _Collector(run)
    runner = _kd_runner(sample_fn, denoiser, sig_range)
    n = int(num_inference_steps or 10)
    grid_label = f"Karras grid sigma in [{sig_range[0]:g}, {sig_range[1]:g}], rho=7"
    try:
        if kind == "ode":
            order, info = _ode_checks(runner, col, lambda s: (1.0, s), reference, STEP_COUNTS, label, grid_label)
            report.order = order
            run.update(info)
        else:
            reproducible = _reproducible(runner)
            mc = _marginal_checks(runner, col, alpha, seed, grid_label, reproducible, n)
            run["reproducible"] = reproducible
            if mc:
                report.stat_tests = mc["tests"]
                report.noise_mode = ("Monte Carlo marginals (exact t and chi-square tests, Holm)"
                                     + ("" if reproducible else f"; {NOISE_HINT}"))
    except Exception as exc:  # noqa: BLE001 - a sampler that breaks the probe is a finding, never a crash
        col.add("path_pf_ode", "probe", None, math.nan, math.nan, f"probing {name} raised {type(exc).__name__}: {exc}")
    col.emit(_finding_maker(report, Finding))
    if den_report is not None:
        report.findings.extend(den_report.findings)
        report.comparisons += den_report.comparisons
    report.comparisons += run["comparisons"]
    report.solver = _solver_details("ve", label, reference, f"k-diffusion {name}: {label}", run)
    report.grids = [grid_label + (": point-mass exactness, N = " + ", ".join(map(str, STEP_COUNTS)) + " steps vs the "
                                  "closed-form PF-ODE solution" if kind == "ode" else
                                  f", {n} steps: Monte Carlo marginals after each step")]
    report.findings.sort(key=lambda f: (f.severity != "note", f.identity, f.check))
    return report


def _solver_details(frame, label, reference, description, run) -> dict:
    from .solvers import ASYMPTOTIC_PAIR, FACTOR, ORDER_SLACK
    out = {"frame": frame, "label": label, "reference": reference, "description": description,
           "oracle": oracle.SOURCE, "probe_dtype": "float64"}
    if "errors" in run:
        pair = run.get("pair")
        out.update(step_counts=run.get("step_counts"), asymptotic_pair=list(pair or ASYMPTOTIC_PAIR), factor=FACTOR,
                   order_slack=ORDER_SLACK, order_at=run.get("order_at"), errors=run["errors"],
                   reference_errors=run.get("ref_errors"), orders=run.get("orders"),
                   reference_orders=run.get("ref_orders"))
    if "mc" in run:
        out["monte_carlo"] = run["mc"]
    if "reproducible" in run:
        out["noise_reproducible"] = run["reproducible"]
    return out


# ===== k-diffusion denoiser wrappers =========================================================================
def _proved_precond():
    """(c_skip, c_out, c_in)(sigma, sigma_data) from proofs.paths' Gaussian-data forms on the VE path (a = 1,
    s = sigma) with data N(0, sigma_data^2): slope of the denoiser, sqrt(posterior variance), 1/sqrt(marginal
    variance); and the VP -> VE sigma of path_reparam."""
    import sympy as sp
    from proofs import paths
    a, s, x, m, v = paths.a_t, paths.s_t, paths.x_t, paths.m, paths.v
    sub = {a: 1, m: 0}
    skip = sp.lambdify((s, v), sp.diff(paths.GAUSSIAN_DENOISER, x).subs(sub), "numpy")
    out = sp.lambdify((s, v), sp.sqrt(paths.GAUSSIAN_POSTERIOR_VARIANCE.subs(sub)), "numpy")
    cin = sp.lambdify((s, v), 1 / sp.sqrt(paths.GAUSSIAN_MARGINAL_VARIANCE.subs(sub)), "numpy")
    slots = paths.IDENTITIES if isinstance(paths.IDENTITIES, dict) else {i.id: i for i in paths.IDENTITIES}
    ve = slots["path_reparam"].slots["ve_sigma"]
    ve_sigma = sp.lambdify((a, s), ve, "numpy")
    conv = slots["path_conversions"].slots
    x0_eps = sp.lambdify((a, s), conv["x0_coef_eps"], "numpy")

    def precond(sigma, sd):
        vv = sd * sd
        return float(skip(sigma, vv)), float(out(sigma, vv)), float(cin(sigma, vv))
    return (precond, (lambda abar: ve_sigma(np.sqrt(abar), np.sqrt(1.0 - abar))),
            (lambda sigma: float(x0_eps(1.0, sigma))))


def _expected_sigma_data(kind, sd):
    """The sigma_data of the preconditioning: the wrapper's own for the EDM Denoiser; 1 for the wrappers of
    VP-trained networks (v-diffusion, DDPM eps/v models), whose input must be x_VP = a x with
    a = 1/sqrt(1 + sigma^2) (path_reparam), whatever sigma_data says."""
    return sd if kind == "Denoiser" else 1.0


def _expected_scalings(kind, sigma, sd, precond, x0_eps):
    """(c_skip, c_out, c_in) that the wrapper ``kind`` must compute at ``sigma``."""
    c_skip, c_out, c_in = precond(sigma, _expected_sigma_data(kind, sd))
    if kind in ("VDenoiser", "DiscreteVDDPMDenoiser"):
        return c_skip, -c_out, c_in
    if kind == "DiscreteEpsDDPMDenoiser":
        return 1.0, x0_eps(sigma), c_in   # x_0 = x - sigma eps (path_conversions on the VE path)
    return c_skip, c_out, c_in


class _InnerProbe(torch.nn.Module):
    def __init__(self, fn, learned_sigmas=False):
        super().__init__()
        self.fn, self.learned = fn, learned_sigmas
        self.seen = []

    def forward(self, u, t, *args, **kwargs):
        self.seen.append((u, t))
        out = self.fn(u, t)
        return torch.cat([out, torch.zeros_like(out)], dim=1) if self.learned else out

    def apply_model(self, u, t, *args, **kwargs):
        return self.forward(u, t)


def _with_inner(den, inner):
    d = copy.copy(den)
    d.__dict__ = dict(den.__dict__)
    d._modules = dict(den._modules)
    d._modules["inner_model"] = inner
    return d


def _sigma_of_inner_time(kind, den, t):
    """The noise level that the inner network is told (sigma, t = atan(sigma) 2/pi, or a table index)."""
    t = torch.as_tensor(t, dtype=torch.float64).reshape(-1)[0]
    if kind == "Denoiser":
        return float(t)
    if kind == "VDenoiser":
        return float(torch.tan(t * math.pi / 2))
    log_sigmas = den.log_sigmas.detach().double().cpu()
    lo = int(torch.floor(t).clamp(0, len(log_sigmas) - 1))
    hi = min(lo + 1, len(log_sigmas) - 1)
    w = float(t) - lo
    return float(torch.exp((1 - w) * log_sigmas[lo] + w * log_sigmas[hi]))


def _exact_through(den, m, v, traj):
    """The wrapper ``den`` with an inner network exact for data N(m, v) under the proved preconditioning."""
    kind = identify(den)[1]
    precond, _, x0_eps = _proved_precond()
    sd = float(getattr(den, "sigma_data", 1.0))

    def inner_fn(u, t):
        sigma = _sigma_of_inner_time(kind, den, t)
        traj.calls.append(sigma)
        c_skip, c_out, c_in = _expected_scalings(kind, sigma, sd, precond, x0_eps)
        x = u.detach().double().cpu().numpy().ravel() / c_in
        d = oracle.denoiser(x, 1.0, sigma, m, v)
        return torch.as_tensor((d - c_skip * x) / c_out, dtype=u.dtype).reshape(u.shape)

    wrapped = _with_inner(den, _InnerProbe(inner_fn, getattr(den, "has_learned_sigmas", False)))
    return lambda x, sigma, **kw: wrapped(x, sigma, **kw)


def check_denoiser(denoiser, *, alphas_cumprod=None, alpha: float = 1e-6, seed: int = 0, sampler=True):
    """Check a k-diffusion denoiser wrapper (see the module docstring). ``sampler``: also run k-diffusion's
    sample_euler (the reference Euler where k-diffusion does not import) through it. Returns a ConformanceReport."""
    from .solvers import STEP_COUNTS, _Collector, _finding_maker
    ident = identify(denoiser)
    if not ident or ident[0] != "kd_denoiser":
        raise ValueError(f"{type(denoiser).__name__} is not a k-diffusion denoiser wrapper")
    kind = ident[1]
    name = type(denoiser).__name__
    sd = float(getattr(denoiser, "sigma_data", 1.0))
    run = {"comparisons": 0}
    col = _Collector(run)
    precond, ve_sigma, x0_eps = _proved_precond()
    discrete = kind.startswith("Discrete")
    if discrete:
        table = denoiser.sigmas.detach().double().cpu().numpy()
        sigmas = np.unique(np.concatenate([table[:: max(1, len(table) // 8)], table[-1:]]))
    else:
        sigmas = np.logspace(-2, 2, 9)
    tol = 64 * float(torch.finfo(torch.float32).eps)
    ident_of = {"c_skip": "path_gaussian_data", "c_out": "path_gaussian_data", "c_in": "path_gaussian_data"}
    if kind == "DiscreteEpsDDPMDenoiser":
        ident_of = {"c_skip": "path_conversions", "c_out": "path_conversions", "c_in": "path_reparam"}
    grid = f"sigma_data={sd:g}"
    # get_scalings
    for sig in sigmas:
        exp = _expected_scalings(kind, float(sig), sd, precond, x0_eps)
        try:
            got = denoiser.get_scalings(torch.tensor(float(sig), dtype=torch.float64))
        except Exception as exc:  # noqa: BLE001
            col.add("path_gaussian_data", "get_scalings", float(sig), math.nan, math.nan,
                    f"get_scalings raised {type(exc).__name__}: {exc}", grid=grid)
            break
        got = [float(g) for g in got]
        if kind == "DiscreteEpsDDPMDenoiser":
            got = [1.0] + got
        for what, e, g in zip(("c_skip", "c_out", "c_in"), exp, got):
            run["comparisons"] += 1
            if not abs(g - e) <= tol * (abs(e) + 1e-300):
                hint = ""
                if what == "c_skip" and kind in ("Denoiser", "VDenoiser", "DiscreteVDDPMDenoiser") and 0 < g < 1:
                    sd_used = math.sqrt(g * sig * sig / (1 - g))
                    hint = (f" (it is the c_skip of sigma_data = {sd_used:.4g}, not the expected sigma_data = "
                            f"{_expected_sigma_data(kind, sd):g})")
                if _expected_sigma_data(kind, sd) != sd:
                    hint += (f" ({name} wraps a VP-trained network: its input must be a x = x/sqrt(1 + sigma^2), "
                             f"the preconditioning of sigma_data = 1, but its sigma_data is {sd:g})")
                col.add(ident_of[what], f"get_scalings.{what}", float(sig), e, g,
                        f"{name}.get_scalings gives {what} = {g:.6g} at sigma = {sig:.4g}; the preconditioning for "
                        f"data of std sigma_data = {_expected_sigma_data(kind, sd):g} gives {e:.6g}{hint}", grid=grid)
    # forward with a constant inner network: D = c_skip x + c_out F, the inner net sees c_in x
    _check_forward(denoiser, kind, name, sigmas, sd, precond, x0_eps, col, tol, ident_of, grid)
    _check_time_maps(denoiser, kind, name, sigmas, col, tol, grid)
    abar = alphas_cumprod
    if abar is None and discrete:
        abar = getattr(getattr(denoiser, "inner_model", None), "alphas_cumprod", None)
    if discrete and abar is not None:
        ab = torch.as_tensor(abar).detach().double().cpu().numpy()
        want = ve_sigma(ab)
        got = denoiser.sigmas.detach().double().cpu().numpy()
        run["comparisons"] += len(want)
        if got.shape != want.shape or not np.all(np.abs(got - want) <= tol * np.abs(want)):
            i = int(np.argmax(np.abs(got - want) / want)) if got.shape == want.shape else 0
            col.add("path_reparam", "sigmas.vp_to_ve", float(want[i]), float(want[i]),
                    float(got[i]) if got.shape == want.shape else float(got.size),
                    f"{name}.sigmas[{i}] = {got[i] if got.shape == want.shape else '?'}; the VP -> VE conversion "
                    f"sigma = s/a = sqrt((1 - abar)/abar) of alphas_cumprod[{i}] gives {want[i]:.6g}", grid=grid)
    elif discrete:
        col.add("path_reparam", "sigmas.vp_to_ve", None, math.nan, math.nan,
                f"alphas_cumprod not known ({name}.inner_model has none; pass alphas_cumprod=): the sigma table is "
                "checked by its round trips only", severity="note", grid=grid)
    report = ConformanceReport(scheduler=name, T=int(len(denoiser.sigmas)) if discrete else 0, dtype="float64",
                               prediction_type={"Denoiser": "preconditioned (EDM)", "VDenoiser": "v_prediction",
                                                "DiscreteVDDPMDenoiser": "v_prediction",
                                                "DiscreteEpsDDPMDenoiser": "epsilon"}[kind],
                               variance_type=f"k-diffusion {kind}", alpha=float(alpha), seed=int(seed),
                               kind="ode", noise_mode="-")
    if sampler:
        try:
            import k_diffusion.sampling as kds  # the package is there: the wrapper came from it
            euler = kds.sample_euler
        except Exception:  # noqa: BLE001 - a stand-in class (tests) or a broken install: the reference Euler
            euler = _reference_euler
        smin = float(getattr(denoiser, "sigma_min", KARRAS["sigma_min"]))
        smax = float(getattr(denoiser, "sigma_max", KARRAS["sigma_max"]))
        runner = _kd_runner(euler, denoiser, (smin, smax))
        glabel = f"sample_euler through {name}, Karras grid [{smin:.4g}, {smax:.4g}]"
        try:
            order, info = _ode_checks(runner, col, lambda s: (1.0, s), "euler", STEP_COUNTS, "Euler", glabel)
            report.order = order
            run.update(info)
        except Exception as exc:  # noqa: BLE001
            col.add("path_pf_ode", "probe", None, math.nan, math.nan, f"sampling through {name} raised "
                    f"{type(exc).__name__}: {exc}", grid=glabel)
        report.grids.append(glabel)
    col.emit(_finding_maker(report, Finding))
    report.comparisons = run["comparisons"]
    report.solver = _solver_details("edm" if kind == "Denoiser" else "vp", f"{kind} (sigma_data={sd:g})",
                                    "euler" if sampler else None, f"k-diffusion {name}", run)
    report.grids.insert(0, f"get_scalings/forward at {len(sigmas)} noise levels, sigma in [{sigmas.min():.4g}, "
                           f"{sigmas.max():.4g}]")
    report.findings.sort(key=lambda f: (f.severity != "note", f.identity, f.check))
    return report


def _reference_euler(model, x, sigmas, extra_args=None, callback=None, disable=None):
    """Euler in sigma (Karras et al. 2022, alg. 2 without churn), for wrappers checked without k-diffusion."""
    s_in = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * s_in)
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigmas[i], "sigma_hat": sigmas[i], "denoised": denoised})
        x = x + (x - denoised) / sigmas[i] * (sigmas[i + 1] - sigmas[i])
    return x


def _check_forward(den, kind, name, sigmas, sd, precond, x0_eps, col, tol, ident_of, grid):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 1, 1, 32, generator=g, dtype=torch.float64)
    F = torch.randn(1, 1, 1, 32, generator=g, dtype=torch.float64)
    state = {"out": None}
    probe = _InnerProbe(lambda u, t: state["out"].to(u.dtype), getattr(den, "has_learned_sigmas", False))
    d = _with_inner(den, probe)
    for sig in sigmas:
        c_skip, c_out, c_in = _expected_scalings(kind, float(sig), sd, precond, x0_eps)
        s = torch.full((1,), float(sig), dtype=torch.float64)
        try:
            state["out"] = torch.zeros_like(F)
            probe.seen.clear()
            d1 = d(x, s).double()
            u = probe.seen[-1][0].double()
            state["out"] = F
            d2 = d(torch.zeros_like(x), s).double()
        except Exception as exc:  # noqa: BLE001
            col.add(ident_of["c_skip"], "forward", float(sig), math.nan, math.nan,
                    f"{name}.forward raised {type(exc).__name__}: {exc}", grid=grid)
            return
        xv, fv = x.reshape(-1), F.reshape(-1)
        skip_hat = float(d1.reshape(-1) @ xv / (xv @ xv))
        out_hat = float(d2.reshape(-1) @ fv / (fv @ fv))
        in_hat = float(u.reshape(-1) @ xv / (xv @ xv))
        for what, e, h in (("c_skip", c_skip, skip_hat), ("c_out", c_out, out_hat), ("c_in", c_in, in_hat)):
            col.run["comparisons"] += 1
            if not abs(h - e) <= tol * (abs(e) + 1e-300):
                col.add(ident_of[what], f"forward.{what}", float(sig), e, h,
                        f"{name}.forward applies {what} = {h:.6g} at sigma = {sig:.4g} (recovered with a constant "
                        f"inner network); the preconditioning gives {e:.6g}", grid=grid)


def _check_time_maps(den, kind, name, sigmas, col, tol, grid):
    """sigma_to_t / t_to_sigma: round trips, and the inner network is told the noise level it is at."""
    if not (hasattr(den, "sigma_to_t") and hasattr(den, "t_to_sigma")):
        return
    s = torch.as_tensor(np.asarray(sigmas), dtype=torch.float64)
    if kind.startswith("Discrete"):
        table = den.sigmas.detach().double().cpu()
        T = len(table)
        ts = torch.linspace(0, T - 1, min(4 * T, 97), dtype=torch.float64)
        inner = torch.exp(torch.linspace(float(table.log()[0]), float(table.log()[-1]), 13, dtype=torch.float64))
        s = inner.to(den.sigmas.dtype).double()
    else:
        ts = torch.atan(s) * 2 / math.pi if kind == "VDenoiser" else s
    try:
        back = den.t_to_sigma(den.sigma_to_t(s.to(_dtype_of(den)))).double()
        t_back = den.sigma_to_t(den.t_to_sigma(ts.to(_dtype_of(den)))).double()
    except Exception as exc:  # noqa: BLE001
        col.add("path_reparam", "sigma_to_t", None, math.nan, math.nan,
                f"{name}.sigma_to_t/t_to_sigma raised {type(exc).__name__}: {exc}", grid=grid)
        return
    u = 8 * float(torch.finfo(_dtype_of(den)).eps) * 16
    col.run["comparisons"] += len(s) + len(ts)
    rel = (back - s).abs() / s
    if float(rel.max()) > u:
        i = int(rel.argmax())
        col.add("path_reparam", "sigma_to_t.round_trip", float(s[i]), float(s[i]), float(back[i]),
                f"t_to_sigma(sigma_to_t(sigma)) = {float(back[i]):.6g} at sigma = {float(s[i]):.6g}: the time map "
                "does not invert", grid=grid)
    err = (t_back - ts).abs() / ts.abs().clamp(min=1.0)
    if float(err.max()) > u:
        i = int(err.argmax())
        col.add("path_reparam", "t_to_sigma.round_trip", None, float(ts[i]), float(t_back[i]),
                f"sigma_to_t(t_to_sigma(t)) = {float(t_back[i]):.6g} at t = {float(ts[i]):.6g}", grid=grid)
    if kind == "VDenoiser":  # t = atan(sigma) 2/pi: cos(pi t/2) = a = 1/sqrt(1 + sigma^2) (VP <-> VE)
        want = torch.atan(s) * 2 / math.pi
        got = den.sigma_to_t(s).double()
        if float((got - want).abs().max()) > u:
            i = int((got - want).abs().argmax())
            col.add("path_reparam", "sigma_to_t.vp_time", float(s[i]), float(want[i]), float(got[i]),
                    f"sigma_to_t({float(s[i]):.4g}) = {float(got[i]):.6g}; the VP time with cos(pi t/2) = a = "
                    f"1/sqrt(1 + sigma^2) is {float(want[i]):.6g}", grid=grid)


def _dtype_of(den):
    t = getattr(den, "sigmas", None)
    return t.dtype if isinstance(t, torch.Tensor) else torch.float64


# ===== entry points ============================================================================================
class ExternalCheck:
    """A report path for an object that has no posterior step (a k-diffusion sampler or denoiser)."""

    def __init__(self, obj, what, detail):
        self.obj, self.what, self.detail = obj, what, detail

    def run(self, *, alpha=1e-6, seed=0, num_inference_steps=None):
        if self.what == "kd_sampler":
            return check_sampler(self.obj, alpha=alpha, seed=seed, num_inference_steps=num_inference_steps)
        if self.what == "kd_denoiser":
            return check_denoiser(self.obj, alpha=alpha, seed=seed)
        return ConformanceReport(scheduler=getattr(self.obj, "__name__", type(self.obj).__name__), T=0, dtype="-",
                                 prediction_type="-", variance_type="-", alpha=float(alpha), seed=int(seed),
                                 kind="unsupported", reason=self.detail, noise_mode="-")


def adapt_external(obj, *, num_inference_steps=None, spacings=None):
    """An Adapter (GaussianDiffusion), an :class:`ExternalCheck` (k-diffusion sampler or denoiser, or an
    unsupported object of either package), or None when ``obj`` belongs to neither package."""
    ident = identify(obj)
    if ident is None:
        return None
    if ident[0] == "gd":
        return _gd_adapter(obj, num_inference_steps, spacings)
    return ExternalCheck(obj, ident[0], ident[1])


def external_adapter(obj, *, num_inference_steps=None, spacings=None):
    """The hook of :func:`~.adapters.adapt`: the Adapter of a GaussianDiffusion, None for objects of neither
    package; ValueError for a k-diffusion object (it has no posterior step: check_scheduler routes it)."""
    ext = adapt_external(obj, num_inference_steps=num_inference_steps, spacings=spacings)
    if isinstance(ext, ExternalCheck):
        raise ValueError(f"{getattr(obj, '__name__', type(obj).__name__)} ({ext.what}: {ext.detail}) has no posterior "
                         "step to adapt: check_scheduler(obj) checks it (montecarlo.conformance.external)")
    return ext


def external_report(scheduler, *, alpha=1e-6, seed=0, num_inference_steps=None):
    """The hook of ``check_scheduler`` for objects without a posterior step: the report of a k-diffusion
    sampler or denoiser wrapper (or UNSUPPORTED for another object of the two packages); None for a
    GaussianDiffusion (the checker's posterior report, then :func:`post_checks`) and for other objects."""
    ident = identify(scheduler)
    if ident is None or ident[0] == "gd":
        return None
    return ExternalCheck(scheduler, ident[0], ident[1]).run(alpha=alpha, seed=seed,
                                                            num_inference_steps=num_inference_steps)


def post_checks(report, scheduler):
    """After the checker's posterior report: a GaussianDiffusion's ddim_sample (eta = 0) as a PF-ODE solver
    (:func:`add_ddim_checks`); nothing for other objects."""
    ident = identify(scheduler)
    if ident is not None and ident[0] == "gd":
        add_ddim_checks(report, scheduler, Finding)
    return report


def add_ddim_checks(report, gd, Finding):
    """``gd.ddim_sample`` with eta = 0 as a PF-ODE solver: point mass and measured order, into ``report``."""
    from .solvers import STEP_COUNTS, _Collector, _finding_maker
    T = int(gd.num_timesteps)
    counts = [n for n in STEP_COUNTS if n <= T] or [T]
    run = {"comparisons": 0}
    col = _Collector(run)
    label = "ddim_sample (eta=0)"
    try:
        order, info = _ode_checks(_gd_ddim_runner(gd), col, oracle.sigma_to_ab, "euler", counts, "DDIM eta=0",
                                  f"{label}, N = {', '.join(map(str, counts))}", clip=True)
        run.update(info)
    except Exception as exc:  # noqa: BLE001
        col.add("path_pf_ode", "probe", None, math.nan, math.nan,
                f"probing ddim_sample raised {type(exc).__name__}: {exc}")
        order = None
    eta = float(getattr(gd, "ddim_sampling_eta", 0.0) or 0.0)
    if eta != 0.0:
        col.add("ddim_marginal", "eta", None, math.nan, eta, f"ddim_sampling_eta = {eta:g} is configured: ddim_sample "
                "is checked with eta = 0 only (with eta > 0 its start is drawn inside, so its marginals are not "
                "tested)", severity="note", grid=label)
    col.emit(_finding_maker(report, Finding))
    report.comparisons += run["comparisons"]
    report.order = order
    details = _solver_details(None, label, "euler", "denoising-diffusion-pytorch ddim_sample, eta = 0", run)
    details.pop("frame")
    report.solver = details
    report.grids.append(f"{label}: point-mass exactness and error vs the closed-form PF-ODE solution at N = "
                        + ", ".join(map(str, counts)) + " steps")
    report.findings.sort(key=lambda f: (f.severity != "note", f.identity, f.check, f.t or 0))
    return report
