"""Exact oracles for solver conformance: Gaussian data N(m, v) on the Gaussian path x = a x_0 + s eps.

For any Gaussian path x = a x_0 + s eps (VP: a = sqrt(abar), s = sqrt(1 - abar); VE: a = 1,
s = sigma; rectified flow: a = 1 - tau, s = tau) and data x_0 ~ N(m, v), elementwise:

* the exact denoiser (Tweedie) D(x) = E[x_0 | x] = m + a v / (a^2 v + s^2) (x - a m);
* the exact probability-flow ODE solution from (a0, s0) to (a1, s1) (it transports quantiles):
  x1 = a1 m + sqrt((a1^2 v + s1^2) / (a0^2 v + s0^2)) (x0 - a0 m).

With v = 0 (point-mass data) the denoiser is the constant m and the trajectory is x = a m + s eps_0.

One source of truth: :mod:`proofs.paths` provides ``GAUSSIAN_DENOISER`` and
``PF_ODE_GAUSSIAN_SOLUTION`` (SymPy closed forms proved there); they are lambdified and used, after a
check against the closed forms above at a few points. If that module is unavailable (or its forms
change shape) the closed forms above are used directly, and ``SOURCE`` says which.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["denoiser", "pf_ode_solution", "model_output", "SOURCE", "sigma_to_ab", "PREDICTIONS"]

PREDICTIONS = ("epsilon", "sample", "v_prediction", "flow_prediction")


def _local_denoiser(x, a, s, m, v):
    return m + a * v / (a * a * v + s * s) * (x - a * m)


def _local_solution(x0, a0, s0, a1, s1, m, v):
    return a1 * m + np.sqrt((a1 * a1 * v + s1 * s1) / (a0 * a0 * v + s0 * s0)) * (x0 - a0 * m)


def _from_proofs():
    """Lambdify proofs.paths' closed forms when that module provides them (matched by symbol name,
    checked against the closed forms above before use); None otherwise."""
    try:
        from proofs import paths  # noqa: WPS433 - optional until the path theory lands
        den_expr, sol_expr = paths.GAUSSIAN_DENOISER, paths.PF_ODE_GAUSSIAN_SOLUTION
    except (ImportError, AttributeError):
        return None
    try:
        return _lambdify_paths(den_expr, sol_expr)
    except Exception:  # noqa: BLE001 - an unexpected shape of the expressions: keep the closed forms
        return None


def _lambdify_paths(den_expr, sol_expr):
    import sympy as sp

    def build(expr, roles):
        expr = getattr(expr, "rhs", expr)
        by_name = {str(s): s for s in expr.free_symbols}
        args = []
        for names in roles:
            sym = next((by_name[n] for n in names if n in by_name), None)
            args.append(sym if sym is not None else sp.Dummy())
        if not set(expr.free_symbols) <= set(args):
            raise KeyError(f"unmatched symbols {expr.free_symbols - set(args)}")
        return sp.lambdify(args, expr, modules="numpy")

    # proofs.paths: GAUSSIAN_DENOISER(x_t, a_t, s_t, m, v); PF_ODE_GAUSSIAN_SOLUTION carries x_t at
    # (a_t, s_t) to (a_s, s_s)
    den = build(den_expr, (("x_t",), ("a_t",), ("s_t",), ("m",), ("v",)))
    sol = build(sol_expr, (("x_t",), ("a_t",), ("s_t",), ("a_s",), ("s_s",), ("m",), ("v",)))
    x, a, s, m, v = (np.array(q) for q in ([0.3, -1.2], [0.9, 0.4], [0.2, 0.8], [0.1, -0.4], [0.5, 0.2]))
    if not (np.allclose(den(x, a, s, m, v), _local_denoiser(x, a, s, m, v), rtol=1e-12, atol=0)
            and np.allclose(sol(x, a, s, a + 0.05, s / 3, m, v), _local_solution(x, a, s, a + 0.05, s / 3, m, v),
                            rtol=1e-12, atol=0)):
        return None
    return den, sol


_PROVED = _from_proofs()
SOURCE = "proofs.paths (lambdified)" if _PROVED else "closed form (proofs.paths not available)"


def denoiser(x, a, s, m, v):
    """E[x_0 | x] for x_0 ~ N(m, v) and x = a x_0 + s eps (Tweedie; elementwise, float64)."""
    if _PROVED:
        return np.asarray(_PROVED[0](x, a, s, m, v), dtype=np.float64) * np.ones_like(x)
    return _local_denoiser(x, a, s, m, v)


def pf_ode_solution(x0, a0, s0, a1, s1, m, v):
    """The probability-flow ODE solution at (a1, s1) from x = x0 at (a0, s0), data N(m, v)."""
    if _PROVED:
        return np.asarray(_PROVED[1](x0, a0, s0, a1, s1, m, v), dtype=np.float64) * np.ones_like(x0)
    return _local_solution(x0, a0, s0, a1, s1, m, v)


def sigma_to_ab(sigma: float) -> tuple[float, float]:
    """VP coefficients (a, s) = (1/sqrt(1 + sigma^2), sigma/sqrt(1 + sigma^2)) of the data-scaled sigma."""
    if math.isinf(sigma):
        return 0.0, 1.0
    a = 1.0 / math.sqrt(1.0 + sigma * sigma)
    return a, sigma * a


def model_output(prediction_type: str, x, a: float, s: float, m, v):
    """What an exact model outputs at sample x = a x_0 + s eps (any Gaussian path).

    epsilon: eps_hat = (x - a D)/s; sample: D; v_prediction (Salimans & Ho, on the VP-normalised
    path a^2 + s^2 = 1): a' eps_hat - s' D; flow_prediction (rectified flow, u = eps - x_0): eps_hat - D."""
    d = denoiser(x, a, s, m, v)
    eps = (x - a * d) / s if s > 0 else np.zeros_like(d)
    if prediction_type == "epsilon":
        return eps
    if prediction_type == "sample":
        return d
    if prediction_type == "v_prediction":
        r = math.hypot(a, s)
        return (a / r) * eps - (s / r) * d
    if prediction_type == "flow_prediction":
        return eps - d
    raise ValueError(f"prediction_type {prediction_type!r}: expected one of {PREDICTIONS}")
