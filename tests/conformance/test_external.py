"""One-call adapters for denoising-diffusion-pytorch and k-diffusion (montecarlo.conformance.external).

Two layers of tests:

* stand-ins that copy the interface (and the relevant lines) of denoising-diffusion-pytorch 2.3.4's
  ``GaussianDiffusion`` and k-diffusion 0.1.1's samplers and wrappers, with their module names, so CI
  exercises the adapters without the packages (they need torchvision);
* the real packages, skipped with the reason where they do not import.

Each check is tested both ways: the right object passes, an injected fault is caught and named.
"""
from __future__ import annotations

import functools
import math
from collections import namedtuple

import pytest
import torch
from torch import nn

from montecarlo.conformance import adapt, check_scheduler, classify
from montecarlo.conformance.external import (NOISE_HINT, ExternalCheck, adapt_external, check_denoiser,
                                             check_sampler, identify)

GD_MOD = "denoising_diffusion_pytorch.denoising_diffusion_pytorch"

try:
    import denoising_diffusion_pytorch as ddp
    HAVE_DDP, DDP_REASON = True, ""
except Exception as exc:  # noqa: BLE001 - torchvision missing or mismatched: the reason is reported
    ddp, HAVE_DDP, DDP_REASON = None, False, f"{type(exc).__name__}: {exc}"
try:
    import k_diffusion as kdiff
    HAVE_KD, KD_REASON = True, ""
except Exception as exc:  # noqa: BLE001
    kdiff, HAVE_KD, KD_REASON = None, False, f"{type(exc).__name__}: {exc}"

_VENV = ("see README: pip install torch==2.14.1 torchvision 'setuptools<81' denoising-diffusion-pytorch==2.3.4 "
         "k-diffusion==0.1.1 in a separate venv")
needs_ddp = pytest.mark.skipif(not HAVE_DDP, reason=f"denoising-diffusion-pytorch does not import here "
                               f"({DDP_REASON[:160]}); {_VENV}")
needs_kd = pytest.mark.skipif(not HAVE_KD, reason="k-diffusion does not import here (" + KD_REASON[:160]
                              + "); see README for the venv where it does")


def _fails(report):
    return {(f.identity, f.check) for f in report.failures}


# ===== a stand-in for denoising-diffusion-pytorch's GaussianDiffusion (its lines, its module name) ==========
def _extract(a, t, x_shape):
    b, *_ = t.shape
    return a.gather(-1, t).reshape(b, *((1,) * (len(x_shape) - 1)))


def _sigmoid_beta_schedule(timesteps, start=-3, end=3, tau=1, clamp_min=1e-5):
    steps = timesteps + 1
    t = torch.linspace(0, timesteps, steps, dtype=torch.float64) / timesteps
    v_start, v_end = torch.tensor(start / tau).sigmoid(), torch.tensor(end / tau).sigmoid()
    ac = (-((t * (end - start) + start) / tau).sigmoid() + v_end) / (v_end - v_start)
    ac = ac / ac[0]
    return torch.clip(1 - (ac[1:] / ac[:-1]), 0, 0.999)


ModelPrediction = namedtuple("ModelPrediction", ["pred_noise", "pred_x_start"])


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.channels, self.out_dim, self.self_condition = 1, 1, False
        self.lin = nn.Linear(1, 1)

    def forward(self, x, t, x_self_cond=None):
        return self.lin(x.unsqueeze(-1)).squeeze(-1)


class GaussianDiffusion(nn.Module):
    """denoising_diffusion_pytorch 2.3.4 GaussianDiffusion: the lines the adapter uses, copied."""

    def __init__(self, model, *, image_size, timesteps=1000, sampling_timesteps=None, objective="pred_v",
                 ddim_sampling_eta=0.0, auto_normalize=True):
        super().__init__()
        self.model, self.channels, self.self_condition = model, model.channels, model.self_condition
        self.image_size, self.objective = (image_size, image_size), objective
        betas = _sigmoid_beta_schedule(timesteps)
        alphas = 1.0 - betas
        ac = torch.cumprod(alphas, dim=0)
        ac_prev = torch.nn.functional.pad(ac[:-1], (1, 0), value=1.0)
        self.num_timesteps = int(betas.shape[0])
        self.sampling_timesteps = sampling_timesteps or timesteps
        self.is_ddim_sampling = self.sampling_timesteps < timesteps
        self.ddim_sampling_eta = ddim_sampling_eta
        rb = lambda name, val: self.register_buffer(name, val.to(torch.float32))  # noqa: E731
        rb("betas", betas)
        rb("alphas_cumprod", ac)
        rb("alphas_cumprod_prev", ac_prev)
        rb("sqrt_alphas_cumprod", torch.sqrt(ac))
        rb("sqrt_one_minus_alphas_cumprod", torch.sqrt(1.0 - ac))
        rb("sqrt_recip_alphas_cumprod", torch.sqrt(1.0 / ac))
        rb("sqrt_recipm1_alphas_cumprod", torch.sqrt(1.0 / ac - 1))
        pv = betas * (1.0 - ac_prev) / (1.0 - ac)
        rb("posterior_variance", pv)
        rb("posterior_log_variance_clipped", torch.log(pv.clamp(min=1e-20)))
        rb("posterior_mean_coef1", betas * torch.sqrt(ac_prev) / (1.0 - ac))
        rb("posterior_mean_coef2", (1.0 - ac_prev) * torch.sqrt(alphas) / (1.0 - ac))
        snr = ac / (1 - ac)
        rb("loss_weight", {"pred_noise": snr / snr, "pred_x0": snr, "pred_v": snr / (snr + 1)}[objective])
        self.offset_noise_strength, self.immiscible = 0.0, False
        self.normalize = (lambda img: img * 2 - 1) if auto_normalize else (lambda t: t)
        self.unnormalize = (lambda t: (t + 1) * 0.5) if auto_normalize else (lambda t: t)

    def predict_start_from_noise(self, x_t, t, noise):
        return (_extract(self.sqrt_recip_alphas_cumprod, t, x_t.shape) * x_t
                - _extract(self.sqrt_recipm1_alphas_cumprod, t, x_t.shape) * noise)

    def predict_noise_from_start(self, x_t, t, x0):
        return ((_extract(self.sqrt_recip_alphas_cumprod, t, x_t.shape) * x_t - x0)
                / _extract(self.sqrt_recipm1_alphas_cumprod, t, x_t.shape))

    def predict_v(self, x_start, t, noise):
        return (_extract(self.sqrt_alphas_cumprod, t, x_start.shape) * noise
                - _extract(self.sqrt_one_minus_alphas_cumprod, t, x_start.shape) * x_start)

    def predict_start_from_v(self, x_t, t, v):
        return (_extract(self.sqrt_alphas_cumprod, t, x_t.shape) * x_t
                - _extract(self.sqrt_one_minus_alphas_cumprod, t, x_t.shape) * v)

    def q_posterior(self, x_start, x_t, t):
        mean = (_extract(self.posterior_mean_coef1, t, x_t.shape) * x_start
                + _extract(self.posterior_mean_coef2, t, x_t.shape) * x_t)
        return mean, _extract(self.posterior_variance, t, x_t.shape), \
            _extract(self.posterior_log_variance_clipped, t, x_t.shape)

    def model_predictions(self, x, t, x_self_cond=None, clip_x_start=False, rederive_pred_noise=False):
        out = self.model(x, t, x_self_cond)
        clip = functools.partial(torch.clamp, min=-1.0, max=1.0) if clip_x_start else (lambda z: z)
        if self.objective == "pred_noise":
            pred_noise, x_start = out, clip(self.predict_start_from_noise(x, t, out))
            if clip_x_start and rederive_pred_noise:
                pred_noise = self.predict_noise_from_start(x, t, x_start)
        elif self.objective == "pred_x0":
            x_start = clip(out)
            pred_noise = self.predict_noise_from_start(x, t, x_start)
        else:
            x_start = clip(self.predict_start_from_v(x, t, out))
            pred_noise = self.predict_noise_from_start(x, t, x_start)
        return ModelPrediction(pred_noise, x_start)

    def p_mean_variance(self, x, t, x_self_cond=None, clip_denoised=True):
        x_start = self.model_predictions(x, t, x_self_cond).pred_x_start
        if clip_denoised:
            x_start.clamp_(-1.0, 1.0)
        mean, var, log_var = self.q_posterior(x_start=x_start, x_t=x, t=t)
        return mean, var, log_var, x_start

    @torch.inference_mode()
    def p_sample(self, x, t: int, x_self_cond=None):
        bt = torch.full((x.shape[0],), t, dtype=torch.long)
        mean, _, log_var, x_start = self.p_mean_variance(x=x, t=bt, x_self_cond=x_self_cond, clip_denoised=True)
        noise = torch.randn_like(x) if t > 0 else 0.0
        return mean + (0.5 * log_var).exp() * noise, x_start

    @torch.inference_mode()
    def ddim_sample(self, shape, return_all_timesteps=False):
        T, n, eta = self.num_timesteps, self.sampling_timesteps, self.ddim_sampling_eta
        times = list(reversed(torch.linspace(-1, T - 1, steps=n + 1).int().tolist()))
        img = torch.randn(shape)
        imgs = [img]
        for time, time_next in zip(times[:-1], times[1:]):
            tc = torch.full((shape[0],), time, dtype=torch.long)
            pred_noise, x_start = self.model_predictions(img, tc, None, clip_x_start=True, rederive_pred_noise=True)
            if time_next < 0:
                img = x_start
                imgs.append(img)
                continue
            alpha, alpha_next = self.alphas_cumprod[time], self.alphas_cumprod[time_next]
            sigma = eta * ((1 - alpha / alpha_next) * (1 - alpha_next) / (1 - alpha)).sqrt()
            c = (1 - alpha_next - sigma ** 2).sqrt()
            img = x_start * alpha_next.sqrt() + c * pred_noise + sigma * torch.randn_like(img)
            imgs.append(img)
        ret = img if not return_all_timesteps else torch.stack(imgs, dim=1)
        return self.unnormalize(ret)

    def q_sample(self, x_start, t, noise=None):
        noise = torch.randn_like(x_start) if noise is None else noise
        return (_extract(self.sqrt_alphas_cumprod, t, x_start.shape) * x_start
                + _extract(self.sqrt_one_minus_alphas_cumprod, t, x_start.shape) * noise)

    def p_losses(self, x_start, t, noise=None, offset_noise_strength=None, loss_reduction="mean"):
        noise = torch.randn_like(x_start) if noise is None else noise
        x = self.q_sample(x_start=x_start, t=t, noise=noise)
        model_out = self.model(x, t, None)
        target = {"pred_noise": noise, "pred_x0": x_start}.get(self.objective)
        if target is None:
            target = self.predict_v(x_start, t, noise)
        loss = torch.nn.functional.mse_loss(model_out, target, reduction="none").flatten(1).mean(1)
        loss = loss * _extract(self.loss_weight, t, loss.shape)
        return loss if loss_reduction == "none" else loss.mean()


GaussianDiffusion.__module__ = GD_MOD


def _gd(objective="pred_v", cls=GaussianDiffusion, T=100):
    torch.manual_seed(0)
    return cls(TinyNet(), image_size=8, timesteps=T, objective=objective)


# ===== stand-ins for k-diffusion 0.1.1 (sampling.py, layers.py, external.py lines, their module names) =======
def _kd(fn, module="k_diffusion.sampling"):
    fn.__module__ = module
    return fn


def _append_dims(x, n):
    return x[(...,) + (None,) * (n - x.ndim)]


def to_d(x, sigma, denoised):
    return (x - denoised) / _append_dims(sigma, x.ndim)


def get_ancestral_step(sigma_from, sigma_to, eta=1.0):
    if not eta:
        return sigma_to, 0.0
    sigma_up = min(sigma_to, eta * (sigma_to ** 2 * (sigma_from ** 2 - sigma_to ** 2) / sigma_from ** 2) ** 0.5)
    return (sigma_to ** 2 - sigma_up ** 2) ** 0.5, sigma_up


@_kd
@torch.no_grad()
def sample_euler(model, x, sigmas, extra_args=None, callback=None, disable=None, s_churn=0.0, s_tmin=0.0,
                 s_tmax=float("inf"), s_noise=1.0):
    s_in = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        gamma = min(s_churn / (len(sigmas) - 1), 2 ** 0.5 - 1) if s_tmin <= sigmas[i] <= s_tmax else 0.0
        eps = torch.randn_like(x) * s_noise
        sigma_hat = sigmas[i] * (gamma + 1)
        if gamma > 0:
            x = x + eps * (sigma_hat ** 2 - sigmas[i] ** 2) ** 0.5
        denoised = model(x, sigma_hat * s_in)
        d = to_d(x, sigma_hat, denoised)
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigmas[i], "sigma_hat": sigma_hat, "denoised": denoised})
        x = x + d * (sigmas[i + 1] - sigma_hat)
    return x


@_kd
@torch.no_grad()
def sample_heun(model, x, sigmas, extra_args=None, callback=None, disable=None):
    s_in = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * s_in)
        d = to_d(x, sigmas[i], denoised)
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigmas[i], "sigma_hat": sigmas[i], "denoised": denoised})
        dt = sigmas[i + 1] - sigmas[i]
        if sigmas[i + 1] == 0:
            x = x + d * dt
        else:
            x_2 = x + d * dt
            d_2 = to_d(x_2, sigmas[i + 1], model(x_2, sigmas[i + 1] * s_in))
            x = x + (d + d_2) / 2 * dt
    return x


@_kd
@torch.no_grad()
def sample_dpmpp_2m(model, x, sigmas, extra_args=None, callback=None, disable=None):
    s_in = x.new_ones([x.shape[0]])
    sigma_fn, t_fn = (lambda t: t.neg().exp()), (lambda sigma: sigma.log().neg())
    old_denoised = None
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * s_in)
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigmas[i], "sigma_hat": sigmas[i], "denoised": denoised})
        t, t_next = t_fn(sigmas[i]), t_fn(sigmas[i + 1])
        h = t_next - t
        if old_denoised is None or sigmas[i + 1] == 0:
            x = (sigma_fn(t_next) / sigma_fn(t)) * x - (-h).expm1() * denoised
        else:
            r = (t - t_fn(sigmas[i - 1])) / h
            denoised_d = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * old_denoised
            x = (sigma_fn(t_next) / sigma_fn(t)) * x - (-h).expm1() * denoised_d
        old_denoised = denoised
    return x


@_kd
@torch.no_grad()
def sample_euler_ancestral(model, x, sigmas, extra_args=None, callback=None, disable=None, eta=1.0, s_noise=1.0,
                           noise_sampler=None):
    noise_sampler = (lambda sigma, sigma_next: torch.randn_like(x)) if noise_sampler is None else noise_sampler
    s_in = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * s_in)
        sigma_down, sigma_up = get_ancestral_step(sigmas[i], sigmas[i + 1], eta=eta)
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigmas[i], "sigma_hat": sigmas[i], "denoised": denoised})
        x = x + to_d(x, sigmas[i], denoised) * (sigma_down - sigmas[i])
        if sigmas[i + 1] > 0:
            x = x + noise_sampler(sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
    return x


@_kd
def sample_dpm_fast(model, x, sigma_min, sigma_max, n, **kwargs):
    raise AssertionError("never called: the adapter declares it unsupported")


class Denoiser(nn.Module):
    """k_diffusion.layers.Denoiser (Karras et al. preconditioner)."""

    def __init__(self, inner_model, sigma_data=1.0):
        super().__init__()
        self.inner_model, self.sigma_data = inner_model, sigma_data

    def get_scalings(self, sigma):
        c_skip = self.sigma_data ** 2 / (sigma ** 2 + self.sigma_data ** 2)
        c_out = sigma * self.sigma_data / (sigma ** 2 + self.sigma_data ** 2) ** 0.5
        c_in = 1 / (sigma ** 2 + self.sigma_data ** 2) ** 0.5
        return c_skip, c_out, c_in

    def forward(self, input, sigma, **kwargs):
        c_skip, c_out, c_in = [_append_dims(x, input.ndim) for x in self.get_scalings(sigma)]
        return self.inner_model(input * c_in, sigma, **kwargs) * c_out + input * c_skip


Denoiser.__module__ = "k_diffusion.layers"


class VDenoiser(nn.Module):
    """k_diffusion.external.VDenoiser."""

    def __init__(self, inner_model):
        super().__init__()
        self.inner_model, self.sigma_data = inner_model, 1.0

    def get_scalings(self, sigma):
        c_skip = self.sigma_data ** 2 / (sigma ** 2 + self.sigma_data ** 2)
        c_out = -sigma * self.sigma_data / (sigma ** 2 + self.sigma_data ** 2) ** 0.5
        c_in = 1 / (sigma ** 2 + self.sigma_data ** 2) ** 0.5
        return c_skip, c_out, c_in

    def sigma_to_t(self, sigma):
        return sigma.atan() / math.pi * 2

    def t_to_sigma(self, t):
        return (t * math.pi / 2).tan()

    def forward(self, input, sigma, **kwargs):
        c_skip, c_out, c_in = [_append_dims(x, input.ndim) for x in self.get_scalings(sigma)]
        return self.inner_model(input * c_in, self.sigma_to_t(sigma), **kwargs) * c_out + input * c_skip


VDenoiser.__module__ = "k_diffusion.external"


class DiscreteSchedule(nn.Module):
    def __init__(self, sigmas, quantize):
        super().__init__()
        self.register_buffer("sigmas", sigmas)
        self.register_buffer("log_sigmas", sigmas.log())
        self.quantize = quantize

    @property
    def sigma_min(self):
        return self.sigmas[0]

    @property
    def sigma_max(self):
        return self.sigmas[-1]

    def sigma_to_t(self, sigma, quantize=None):
        log_sigma = sigma.log()
        dists = log_sigma - self.log_sigmas[:, None]
        low_idx = dists.ge(0).cumsum(dim=0).argmax(dim=0).clamp(max=self.log_sigmas.shape[0] - 2)
        high_idx = low_idx + 1
        low, high = self.log_sigmas[low_idx], self.log_sigmas[high_idx]
        w = ((low - log_sigma) / (low - high)).clamp(0, 1)
        return ((1 - w) * low_idx + w * high_idx).view(sigma.shape)

    def t_to_sigma(self, t):
        t = t.float()
        low_idx, high_idx, w = t.floor().long(), t.ceil().long(), t.frac()
        return ((1 - w) * self.log_sigmas[low_idx] + w * self.log_sigmas[high_idx]).exp()


class DiscreteEpsDDPMDenoiser(DiscreteSchedule):
    """k_diffusion.external.DiscreteEpsDDPMDenoiser."""

    def __init__(self, model, alphas_cumprod, quantize):
        super().__init__(((1 - alphas_cumprod) / alphas_cumprod) ** 0.5, quantize)
        self.inner_model, self.sigma_data = model, 1.0

    def get_scalings(self, sigma):
        return -sigma, 1 / (sigma ** 2 + self.sigma_data ** 2) ** 0.5

    def forward(self, input, sigma, **kwargs):
        c_out, c_in = [_append_dims(x, input.ndim) for x in self.get_scalings(sigma)]
        return input + self.inner_model(input * c_in, self.sigma_to_t(sigma), **kwargs) * c_out


DiscreteSchedule.__module__ = DiscreteEpsDDPMDenoiser.__module__ = "k_diffusion.external"


def _abar(T=200):
    return torch.cumprod(1 - torch.linspace(1e-4, 0.02, T, dtype=torch.float64), 0).float()


# ===== recognising the objects ==================================================================================
def test_identify_by_module_name_only():
    assert identify(_gd()) == ("gd", "GaussianDiffusion")
    assert identify(sample_euler) == ("kd_sampler", "sample_euler")
    assert identify(functools.partial(sample_euler_ancestral, eta=0.5)) == ("kd_sampler", "sample_euler_ancestral")
    assert identify(Denoiser(nn.Identity())) == ("kd_denoiser", "Denoiser")
    eps_den = DiscreteEpsDDPMDenoiser(nn.Identity(), _abar(), False)
    assert identify(eps_den) == ("kd_denoiser", "DiscreteEpsDDPMDenoiser")
    assert identify(sample_dpm_fast)[0] == "unsupported"
    for other in (object(), len, lambda x: x, TinyNet(), to_d):  # to_d is not in a k_diffusion module here
        assert identify(other) is None and adapt_external(other) is None


def test_classify_external_kinds():
    assert classify(sample_euler).kind == "ode" and classify(sample_euler).reference == "euler"
    assert classify(sample_dpmpp_2m).reference == "dpm++_2m"
    assert classify(sample_euler_ancestral).kind == "posterior"
    eta0 = classify(functools.partial(sample_euler_ancestral, eta=0.0))
    assert (eta0.kind, eta0.reference) == ("ode", "euler")
    assert classify(functools.partial(sample_euler, s_churn=1.0)).kind == "sde"
    assert classify(_gd()).kind == "posterior" and classify(_gd()).frame is None
    assert classify(sample_dpm_fast).kind == "unsupported"
    assert classify(Denoiser(nn.Identity())).frame == "edm"


def test_adapt_hook_gives_gd_adapter_and_refuses_kdiffusion_objects():
    a = adapt(_gd("pred_noise"))
    assert (a.prediction_type, a.T, a.clip_bound) == ("epsilon", 100, 0.5)
    assert {"clip_denoised", "global_rng"} <= {check for check, _ in a.notes}
    assert isinstance(adapt_external(sample_heun), ExternalCheck)
    with pytest.raises(ValueError, match="no posterior step"):
        adapt(sample_heun)


# ===== GaussianDiffusion (stand-in) ==============================================================================
@pytest.mark.parametrize("objective", ["pred_noise", "pred_x0", "pred_v"])
def test_gd_standin_passes_all_objectives_and_leaves_rng_alone(objective):
    gd = _gd(objective)
    torch.manual_seed(1234)
    state = torch.get_rng_state()
    report = check_scheduler(gd)
    assert torch.equal(state, torch.get_rng_state()), "the user's global RNG state changed"
    assert report.passed, report.failure_message()
    assert report.noise_mode.startswith("exact")  # the global RNG seeded per probe reproduces the generator
    assert report.order is not None and report.solver["reference"] == "euler"
    errs, refs = report.solver["errors"]["final"], report.solver["reference_errors"]["final"]
    assert all(abs(errs[n] - refs[n]) <= 1e-3 * refs[n] for n in errs)  # ddim_sample = DDIM eta=0 on its grid


def test_gd_targets_are_its_training_targets():
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(2, 1, 4, 4, generator=g) * 0.5, torch.randn(2, 1, 4, 4, generator=g)
    k = torch.tensor([3, 70])
    for objective, kind in (("pred_noise", "epsilon"), ("pred_x0", "sample"), ("pred_v", "v_prediction")):
        gd = _gd(objective)
        a = adapt(gd)
        fn, got_kind = a.targets[f"p_losses ({objective})"]
        ab = gd.alphas_cumprod.double()[k].reshape(-1, 1, 1, 1)
        want = {"epsilon": eps.double(), "sample": x0.double(),
                "v_prediction": ab.sqrt() * eps.double() - (1 - ab).sqrt() * x0.double()}[kind]
        assert got_kind == kind
        assert torch.allclose(fn(x0, eps, k).double(), want, atol=2e-5), objective
        v_fn, v_kind = a.targets["predict_v"]
        assert v_kind == "v_prediction"
        assert torch.allclose(v_fn(x0, eps, k).double(), ab.sqrt() * eps - (1 - ab).sqrt() * x0, atol=1e-6)
    # the other way: a GaussianDiffusion whose p_losses trains pred_v on the noise is seen as such
    gd = _gd("pred_v")
    gd.predict_v = lambda x_start, t, noise: noise
    fn, _ = adapt(gd).targets["p_losses (pred_v)"]
    ab = gd.alphas_cumprod.double()[k].reshape(-1, 1, 1, 1)
    assert not torch.allclose(fn(x0, eps, k).double(), ab.sqrt() * eps - (1 - ab).sqrt() * x0, atol=1e-3)
    assert torch.allclose(fn(x0, eps, k).double(), eps.double(), atol=2e-5)


def test_gd_wrong_training_target_is_caught_through_check_scheduler():
    import types

    def p_losses(self, x_start, t, noise=None, offset_noise_strength=None, loss_reduction="mean"):
        x = self.q_sample(x_start=x_start, t=t, noise=noise)  # pred_v trained on the noise instead of v
        loss = torch.nn.functional.mse_loss(self.model(x, t, None), noise, reduction="none").flatten(1).mean(1)
        return loss * _extract(self.loss_weight, t, loss.shape)
    gd = _gd("pred_v")
    gd.p_losses = types.MethodType(p_losses, gd)
    fails = _fails(check_scheduler(gd, timesteps=[2, 50, 100]))
    assert any(i == "forward_marginal" and c.startswith("target.p_losses") for i, c in fails), fails
    assert check_scheduler(_gd("pred_v"), timesteps=[2, 50, 100]).passed


def test_gd_standin_faults_are_caught_and_named():
    ts = [2, 50, 100]
    gd = _gd("pred_noise")
    gd.posterior_mean_coef1 = gd.posterior_mean_coef1 * 1.01  # wrong posterior coefficient
    assert ("posterior_eps", "step.mean_xt") in _fails(check_scheduler(gd, timesteps=ts))
    gd = _gd("pred_x0")
    orig = gd.q_sample
    gd.q_sample = lambda x_start, t, noise=None: orig(x_start, t, noise) + 0.01  # a constant in q_sample
    fails = _fails(check_scheduler(gd, timesteps=ts))
    assert any(i == "forward_marginal" and c.startswith("add_noise") for i, c in fails), fails
    gd = _gd("pred_noise")
    gd.sqrt_recipm1_alphas_cumprod = torch.sqrt(1 / gd.alphas_cumprod) - 1  # wrong sqrt in predict_start_from_noise
    fails = _fails(check_scheduler(gd, timesteps=ts))
    assert ("forward_marginal", "x0_estimate.model") in fails and ("ddim_exact", "point_mass") in fails, fails


def test_gd_ddim_fault_is_caught_by_the_ode_check():
    class WrongDDIM(GaussianDiffusion):
        def predict_noise_from_start(self, x_t, t, x0):  # used only by ddim's rederived noise for pred_v/x0
            return 1.05 * super().predict_noise_from_start(x_t, t, x0)
    report = check_scheduler(_gd("pred_x0", WrongDDIM), timesteps=[2, 100])
    assert ("ddim_exact", "point_mass") in _fails(report)


def test_gd_noise_outside_the_generator_is_explained_not_a_false_failure():
    class OwnNoise(GaussianDiffusion):
        _gen = torch.Generator().manual_seed(99)

        @torch.inference_mode()
        def p_sample(self, x, t, x_self_cond=None):
            bt = torch.full((x.shape[0],), t, dtype=torch.long)
            mean, _, log_var, x_start = self.p_mean_variance(x=x, t=bt, clip_denoised=True)
            noise = torch.randn(x.shape, generator=self._gen) if t > 0 else 0.0
            return mean + (0.5 * log_var).exp() * noise, x_start

    report = check_scheduler(_gd("pred_v", OwnNoise), timesteps=[2, 50, 100])
    assert report.passed, report.failure_message()
    assert any(NOISE_HINT in f.message for f in report.notes)
    wrong = _gd("pred_v", OwnNoise)
    wrong.posterior_mean_coef2 = wrong.posterior_mean_coef2 * 1.01
    assert ("posterior", "step.mean_xt") in _fails(check_scheduler(wrong, timesteps=[2, 50, 100]))


# ===== k-diffusion samplers (stand-ins) ==========================================================================
@pytest.mark.parametrize("fn,order", [(sample_euler, 1.0), (sample_heun, 2.0), (sample_dpmpp_2m, 2.0)])
def test_kd_standin_ode_samplers_pass_with_their_order(fn, order):
    state = torch.get_rng_state()
    report = check_scheduler(fn)
    assert torch.equal(state, torch.get_rng_state())
    assert report.passed, report.failure_message()
    assert report.kind == "ode" and abs(report.order - order) < 0.3


def test_kd_standin_ancestral_passes_marginals():
    report = check_scheduler(sample_euler_ancestral)
    assert report.passed, report.failure_message()
    assert report.kind == "posterior" and report.stat_tests > 0 and report.solver["noise_reproducible"]
    assert check_scheduler(functools.partial(sample_euler_ancestral, eta=0.0)).order == pytest.approx(1.0, abs=0.3)


def test_kd_sampler_with_a_wrong_step_is_caught():
    @_kd
    def sample_euler(model, x, sigmas, extra_args=None, callback=None, disable=None):  # noqa: F811 - dt 2% off
        s_in = x.new_ones([x.shape[0]])
        for i in range(len(sigmas) - 1):
            denoised = model(x, sigmas[i] * s_in)
            if callback is not None:
                callback({"x": x, "i": i, "sigma": sigmas[i], "sigma_hat": sigmas[i], "denoised": denoised})
            x = x + to_d(x, sigmas[i], denoised) * (sigmas[i + 1] - sigmas[i]) * 1.02
        return x
    fails = _fails(check_scheduler(sample_euler))
    assert ("ddim_exact", "point_mass") in fails and ("path_pf_ode", "error_vs_reference") in fails


def test_kd_noise_outside_the_generator_named_on_a_mean_mismatch():
    own = torch.Generator().manual_seed(5)
    ignores = functools.partial(sample_euler_ancestral,
                                noise_sampler=lambda s, sn: torch.randn(20000, generator=own, dtype=torch.float64))
    report = check_scheduler(ignores)  # correct, but its noise ignores the generator: passes, and says so
    assert report.passed, report.failure_message()
    assert NOISE_HINT in report.noise_mode and report.solver["noise_reproducible"] is False
    biased = functools.partial(sample_euler_ancestral, noise_sampler=lambda s, sn: 0.3 + torch.randn(
        20000, generator=own, dtype=torch.float64))
    means = [f for f in check_scheduler(biased).failures if f.check == "mean"]
    assert means and all(NOISE_HINT in f.message for f in means)
    seeded = functools.partial(sample_euler_ancestral, noise_sampler=None)  # global RNG, seeded: no hint
    biased_global = functools.partial(sample_euler_ancestral,
                                      noise_sampler=lambda s, sn: 0.3 + torch.randn(20000, dtype=torch.float64))
    assert check_scheduler(seeded).passed
    means = [f for f in check_scheduler(biased_global).failures if f.check == "mean"]
    assert means and not any(NOISE_HINT in f.message for f in means)


def test_check_sampler_for_a_function_outside_kdiffusion():
    def my_euler(model, x, sigmas, callback=None):
        return sample_euler(model, x, sigmas, callback=callback)
    with pytest.raises(ValueError, match="kind="):
        check_sampler(my_euler)
    assert check_sampler(my_euler, kind="ode", reference="euler").passed


def test_unsupported_kdiffusion_function_is_reported():
    report = check_scheduler(sample_dpm_fast)
    assert report.status == "UNSUPPORTED" and "sigma_min" in report.reason


# ===== k-diffusion denoiser wrappers (stand-ins) ==================================================================
@pytest.mark.parametrize("den", [Denoiser(nn.Identity(), sigma_data=0.5), Denoiser(nn.Identity()),
                                 VDenoiser(nn.Identity()), DiscreteEpsDDPMDenoiser(nn.Identity(), _abar(), False)],
                         ids=["edm-0.5", "edm-1", "v", "eps"])
def test_kd_standin_denoisers_pass(den):
    report = check_scheduler(den)
    assert report.passed, report.failure_message()
    assert report.order == pytest.approx(1.0, abs=0.3)


def test_kd_denoiser_with_wrong_sigma_data_in_c_skip_is_caught():
    class WrongSkip(Denoiser):
        def get_scalings(self, sigma):
            _, c_out, c_in = super().get_scalings(sigma)
            return 1.0 / (sigma ** 2 + 1.0), c_out, c_in  # sigma_data = 1 in c_skip
    report = check_scheduler(WrongSkip(nn.Identity(), sigma_data=0.5))
    fails = _fails(report)
    assert ("path_gaussian_data", "get_scalings.c_skip") in fails and ("path_gaussian_data", "forward.c_skip") in fails
    msg = next(f.message for f in report.failures if f.check == "get_scalings.c_skip")
    assert "sigma_data = 1," in msg
    assert ("path_pf_ode", "error_vs_reference") in fails  # and a sampler through it goes wrong


def test_kd_vp_wrapper_with_changed_sigma_data_is_reported():
    den = VDenoiser(nn.Identity())
    den.sigma_data = 0.5  # a v-diffusion network trained on the VP path needs x_VP = x/sqrt(1 + sigma^2)
    report = check_denoiser(den, sampler=False)
    assert ("path_gaussian_data", "get_scalings.c_in") in _fails(report)
    assert any("VP-trained" in f.message for f in report.failures)


def test_kd_discrete_sigma_table_against_vp_to_ve():
    ab = _abar()
    good = DiscreteEpsDDPMDenoiser(nn.Identity(), ab, False)
    assert check_denoiser(good, alphas_cumprod=ab, sampler=False).passed
    bad = DiscreteEpsDDPMDenoiser(nn.Identity(), ab, False)
    bad.sigmas = (1 - ab) / ab  # no sqrt: sigma^2 in place of sigma
    bad.log_sigmas = bad.sigmas.log()
    assert ("path_reparam", "sigmas.vp_to_ve") in _fails(check_denoiser(bad, alphas_cumprod=ab, sampler=False))


def test_kd_time_map_fault_is_caught():
    class WrongT(VDenoiser):
        def sigma_to_t(self, sigma):
            return sigma.atan() / math.pi * 2.02
    fails = _fails(check_denoiser(WrongT(nn.Identity()), sampler=False))
    assert ("path_reparam", "sigma_to_t.round_trip") in fails and ("path_reparam", "sigma_to_t.vp_time") in fails


def test_check_sampler_through_a_denoiser():
    report = check_sampler(sample_heun, denoiser=Denoiser(nn.Identity(), sigma_data=0.5))
    assert report.passed, report.failure_message()
    assert report.order == pytest.approx(2.0, abs=0.3)


# ===== the real packages ===========================================================================================
def _real_gd(objective, T=100):
    torch.manual_seed(0)
    net = ddp.Unet(dim=8, dim_mults=(1, 2), channels=1)
    return ddp.GaussianDiffusion(net, image_size=8, timesteps=T, objective=objective)


@needs_ddp
@pytest.mark.parametrize("objective", ["pred_noise", "pred_x0", "pred_v"])
def test_real_gaussian_diffusion_passes(objective):
    gd = _real_gd(objective)
    torch.manual_seed(4321)
    state = torch.get_rng_state()
    report = check_scheduler(gd)
    assert torch.equal(state, torch.get_rng_state()), "the user's global RNG state changed"
    assert report.passed, report.failure_message()
    assert report.noise_mode.startswith("exact") and report.order is not None
    fn, kind = adapt(gd).targets[f"p_losses ({objective})"]
    x0, eps, k = torch.rand(3, 1, 2, 2) - 0.5, torch.randn(3, 1, 2, 2), torch.tensor([0, 40, 99])
    want = {"pred_noise": eps, "pred_x0": x0, "pred_v": gd.predict_v(x0, k, eps)}[objective]
    assert torch.allclose(fn(x0, eps, k), want, atol=2e-5)


@needs_ddp
def test_real_gaussian_diffusion_faults_are_caught():
    ts = [2, 50, 100]
    gd = _real_gd("pred_noise")
    gd.posterior_mean_coef1 = gd.posterior_mean_coef1 * 1.01
    assert ("posterior_eps", "step.mean_xt") in _fails(check_scheduler(gd, timesteps=ts))
    gd = _real_gd("pred_x0")
    orig = gd.q_sample
    gd.q_sample = lambda x_start, t, noise=None: orig(x_start, t, noise) + 0.01
    fails = _fails(check_scheduler(gd, timesteps=ts))
    assert any(i == "forward_marginal" and c.startswith("add_noise") for i, c in fails), fails
    gd = _real_gd("pred_noise")
    gd.sqrt_recipm1_alphas_cumprod = torch.sqrt(1 / gd.alphas_cumprod) - 1
    fails = _fails(check_scheduler(gd, timesteps=ts))
    assert ("forward_marginal", "x0_estimate.model") in fails and ("ddim_exact", "point_mass") in fails


REAL_SAMPLERS = ["sample_euler", "sample_heun", "sample_dpm_2", "sample_lms", "sample_dpmpp_2m",
                 "sample_euler_ancestral", "sample_dpm_2_ancestral", "sample_dpmpp_2s_ancestral", "sample_dpmpp_sde",
                 "sample_dpmpp_2m_sde", "sample_dpmpp_3m_sde"]


@needs_kd
@pytest.mark.parametrize("name", REAL_SAMPLERS)
def test_real_kdiffusion_samplers_pass(name):
    state = torch.get_rng_state()
    report = check_scheduler(getattr(kdiff.sampling, name))
    assert torch.equal(state, torch.get_rng_state())
    assert report.passed, report.failure_message()


@needs_kd
def test_real_kdiffusion_wrong_step_is_caught(monkeypatch):
    right = kdiff.sampling.to_d
    monkeypatch.setattr(kdiff.sampling, "to_d", lambda x, sigma, denoised: 1.02 * right(x, sigma, denoised))
    fails = _fails(check_scheduler(kdiff.sampling.sample_euler))
    assert ("ddim_exact", "point_mass") in fails and ("path_pf_ode", "error_vs_reference") in fails
    assert not check_scheduler(kdiff.sampling.sample_euler_ancestral).passed


@needs_kd
def test_real_kdiffusion_denoisers():
    ab = _abar()

    class CompVisLike(nn.Module):
        alphas_cumprod = ab

        def apply_model(self, x, t, cond=None):
            return x

    for den in (kdiff.layers.Denoiser(nn.Identity(), sigma_data=0.5), kdiff.external.VDenoiser(nn.Identity()),
                kdiff.external.CompVisDenoiser(CompVisLike()),
                kdiff.external.DiscreteVDDPMDenoiser(nn.Identity(), ab, False)):
        report = check_scheduler(den)
        assert report.passed, report.failure_message()

    class WrongSkip(kdiff.layers.Denoiser):
        def get_scalings(self, sigma):
            _, c_out, c_in = super().get_scalings(sigma)
            return 1.0 / (sigma ** 2 + 1.0), c_out, c_in
    report = check_scheduler(WrongSkip(nn.Identity(), sigma_data=0.5))
    assert ("path_gaussian_data", "get_scalings.c_skip") in _fails(report)
    assert ("path_gaussian_data", "forward.c_skip") in _fails(report)


@needs_kd
def test_real_sampler_through_real_denoiser():
    den = kdiff.external.DiscreteEpsDDPMDenoiser(nn.Identity(), _abar(), quantize=False)
    report = check_sampler(kdiff.sampling.sample_dpmpp_2m, denoiser=den)
    assert report.passed, report.failure_message()
    assert report.order == pytest.approx(2.0, abs=0.35)
