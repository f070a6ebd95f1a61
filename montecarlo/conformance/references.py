"""Small reference implementations of the ODE samplers, written from their papers.

They run on a given grid of noise levels with a given denoiser, so that a scheduler and its
reference see the same grid and the same (exact) oracle and their errors can be compared step
count by step count. Every algorithm is written for a general Gaussian path x = a x_0 + s eps
(``coef(sigma) -> (a, s)`` in the scheduler's native noise variable sigma), with the log-SNR
lambda_ = log(a/s) and the data prediction D(x, i) = E[x_0 | x] at grid point i:

* ``euler``: DDIM with eta = 0 (Song et al. 2021, eq. 12) = DPM-Solver(++)-1 (Lu et al. 2022) =
  Euler in sigma on x/a (Karras et al. 2022) = flow-match Euler in tau (linear interpolant):
  x_t = (s_t/s_s) x_s + (a_t - a_s s_t/s_s) D_s;
* ``heun``: Karras et al. 2022, algorithm 1 without churn, in the native variable
  (d = (x - a D)/s... for VE a = 1; for rectified flow u = (x - D)/tau), no correction on the
  step to sigma = 0;
* ``dpm++_2m`` / ``dpm++_3m``: DPM-Solver++ multistep (Lu et al. 2022b, alg. 2, midpoint form), first
  step(s) of lower order, the step to sigma = 0 of order 1 and, with ``lower_order_final`` and
  fewer than 15 steps, the last steps of order <= 2 (diffusers' documented choice, also in the
  authors' code with a threshold of 10);
* ``dpm_2m``: DPM-Solver multistep with noise prediction (Lu et al. 2022a), same order schedule;
* ``dpm++_2s`` / ``dpm_2s``: single-step second order, where the intermediate point of each
  two-interval block is the grid point in between (diffusers' singlestep layout); order list
  [1, 2] per block, a leftover interval and the step to sigma = 0 of order 1;
* ``unipc_bh2``: UniPC-2 (Zhao et al. 2023), data prediction, B(h) = e^h - 1, predictor UniP-2 and
  corrector UniC applied to every point except the last, last step of order 1.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["REFERENCES", "run_reference", "singlestep_orders"]


def _lam(a, s):
    if s == 0:
        return math.inf
    if a == 0:
        return -math.inf
    return math.log(a / s)


def _euler(x, a_s, s_s, a_t, s_t, d):
    return (s_t / s_s) * x + (a_t - a_s * s_t / s_s) * d


def _dpmpp(x, a_s, s_s, a_t, s_t, h, d0, d1=None, d2=None):
    """DPM-Solver++ update with first/second/third-order terms (e^{-h} - 1 written as expm1(-h))."""
    em = math.expm1(-h) if math.isfinite(h) else -1.0
    out = (s_t / s_s) * x - a_t * em * d0
    if d1 is not None and d2 is None:
        out = out - 0.5 * a_t * em * d1
    elif d1 is not None:
        out = out + a_t * (em / h + 1.0) * d1 - a_t * ((em + h) / h ** 2 - 0.5) * d2
    return out


def _dpm_noise(x, a_s, s_s, a_t, s_t, e0, e1=None):
    """DPM-Solver (noise prediction): x_t = (a_t/a_s) x_s - s_t (e^h - 1) eps_s [- 0.5 s_t (e^h - 1) D1];
    s_t (e^h - 1) = a_t s_s/a_s - s_t."""
    c = a_t * s_s / a_s - s_t
    out = (a_t / a_s) * x - c * e0
    if e1 is not None:
        out = out - 0.5 * c * e1
    return out


def _multistep_order(i, n, order, final_zero, lower_order_final=True):
    o = min(order, i + 1)
    if i == n - 1 and (final_zero or (lower_order_final and n < 15)):
        o = 1
    if i == n - 2 and lower_order_final and n < 15:
        o = min(o, 2)
    return o


def singlestep_orders(n: int, order: int, final_zero: bool) -> list:
    """The reference order list of single-step DPM-Solver: blocks [1, 2] (order 2) or [1, 2, 3]
    (order 3), a leftover of lower order, and order 1 for the step to sigma = 0."""
    if order == 1:
        return [1] * n
    block = list(range(1, order + 1))
    orders = block * (n // order)
    rest = n % order
    orders += list(range(1, rest + 1))
    if final_zero and orders[-1] > 1:
        orders[-1] = 1
    return orders


def run_reference(name: str, sigmas, coef, x, denoise):
    """Run reference ``name`` over ``sigmas`` (native noise levels, first to last) from sample ``x``.

    ``coef(sigma) -> (a, s)``; ``denoise(x, sigma) -> D``. Returns the samples at sigmas[1:], in order."""
    fn = REFERENCES[name]
    states = []
    fn(list(map(float, sigmas)), coef, np.array(x, dtype=np.float64), lambda xx, sg: denoise(xx, sg), states.append)
    return states


def _ab(coef, sigmas):
    return [coef(s) for s in sigmas]


def _ref_euler(sigmas, coef, x, denoise, keep):
    ab = _ab(coef, sigmas)
    for i in range(len(sigmas) - 1):
        (a_s, s_s), (a_t, s_t) = ab[i], ab[i + 1]
        x = _euler(x, a_s, s_s, a_t, s_t, denoise(x, sigmas[i]))
        keep(x)
    return x


def _ref_heun(sigmas, coef, x, denoise, keep):
    def deriv(x, sig):
        a, s = coef(sig)
        # dx/dsigma along the PF-ODE in the native variable, for a = 1 (VE) or a = 1 - tau, s = tau (flow):
        # both equal (x - D)/sigma
        return (x - denoise(x, sig)) / sig
    for i in range(len(sigmas) - 1):
        s0, s1 = sigmas[i], sigmas[i + 1]
        d = deriv(x, s0)
        x1 = x + (s1 - s0) * d
        if s1 > 0:
            x1 = x + (s1 - s0) * 0.5 * (d + deriv(x1, s1))
        x = x1
        keep(x)
    return x


def _make_dpm_multistep(order: int, plus: bool):
    def run(sigmas, coef, x, denoise, keep):
        ab = _ab(coef, sigmas)
        lam = [_lam(a, s) for a, s in ab]
        n = len(sigmas) - 1
        hist = []  # model outputs (D for ++, eps for noise prediction), newest last
        final_zero = ab[-1][1] == 0
        for i in range(n):
            (a_s, s_s), (a_t, s_t) = ab[i], ab[i + 1]
            d = denoise(x, sigmas[i])
            hist.append(d if plus else (x - a_s * d) / s_s)
            o = _multistep_order(i, n, order, final_zero)
            h = lam[i + 1] - lam[i]
            if plus:
                if o == 1:
                    x = _dpmpp(x, a_s, s_s, a_t, s_t, h, hist[-1])
                elif o == 2:
                    r0 = (lam[i] - lam[i - 1]) / h
                    x = _dpmpp(x, a_s, s_s, a_t, s_t, h, hist[-1], (hist[-1] - hist[-2]) / r0)
                else:
                    r0 = (lam[i] - lam[i - 1]) / h
                    r1 = (lam[i - 1] - lam[i - 2]) / h
                    d10 = (hist[-1] - hist[-2]) / r0
                    d11 = (hist[-2] - hist[-3]) / r1
                    d1 = d10 + r0 / (r0 + r1) * (d10 - d11)
                    d2 = (d10 - d11) / (r0 + r1)
                    x = _dpmpp(x, a_s, s_s, a_t, s_t, h, hist[-1], d1, d2)
            else:
                if o == 1:
                    x = _dpm_noise(x, a_s, s_s, a_t, s_t, hist[-1])
                else:
                    r0 = (lam[i] - lam[i - 1]) / h
                    x = _dpm_noise(x, a_s, s_s, a_t, s_t, hist[-1], (hist[-1] - hist[-2]) / r0)
            keep(x)
        return x
    return run


def _make_dpm_singlestep(plus: bool):
    def run(sigmas, coef, x, denoise, keep):
        ab = _ab(coef, sigmas)
        lam = [_lam(a, s) for a, s in ab]
        n = len(sigmas) - 1
        orders = singlestep_orders(n, 2, ab[-1][1] == 0)
        start_x, start_d = None, None
        for i in range(n):
            (a_s, s_s), (a_t, s_t) = ab[i], ab[i + 1]
            d = denoise(x, sigmas[i])
            m = d if plus else (x - a_s * d) / s_s
            if orders[i] == 1:
                start_x, start_d = x, m
                x = (_dpmpp(x, a_s, s_s, a_t, s_t, lam[i + 1] - lam[i], m) if plus
                     else _dpm_noise(x, a_s, s_s, a_t, s_t, m))
            else:  # from the block start s1 = i - 1, intermediate s0 = i
                a1, s1 = ab[i - 1]
                h = lam[i + 1] - lam[i - 1]
                r0 = (lam[i] - lam[i - 1]) / h
                d1 = (m - start_d) / r0
                x = (_dpmpp(start_x, a1, s1, a_t, s_t, h, start_d, d1) if plus
                     else _dpm_noise(start_x, a1, s1, a_t, s_t, start_d, d1))
            keep(x)
        return x
    return run


def _ref_unipc_bh2(sigmas, coef, x, denoise, keep):
    ab = _ab(coef, sigmas)
    lam = [_lam(a, s) for a, s in ab]
    n = len(sigmas) - 1
    ms = []          # data predictions at the (corrected) points
    last = None      # (x_prev, i_prev, order) of the last predictor, for the corrector
    for i in range(n):
        m_i = denoise(x, sigmas[i])
        if last is not None:  # UniC: correct x_i with the new model value (no extra evaluation)
            x_prev, j, p = last
            (_, s_s), (a_t, s_t) = ab[j], ab[i]
            h = lam[i] - lam[j]
            hh = -h
            h_phi_1 = math.expm1(hh)
            B_h = math.expm1(hh)
            x_t_ = (s_t / s_s) * x_prev - a_t * h_phi_1 * ms[j]
            if p == 1:
                rhos = [0.5]
                corr = rhos[-1] * (m_i - ms[j])
            else:
                r1 = (lam[j - 1] - lam[j]) / h
                rks = np.array([r1, 1.0])
                R, b = [], []
                h_phi_k = h_phi_1 / hh - 1.0
                fact = 1
                for k in range(1, p + 1):
                    R.append(rks ** (k - 1))
                    b.append(h_phi_k * fact / B_h)
                    fact *= k + 1
                    h_phi_k = h_phi_k / hh - 1.0 / fact
                rhos = np.linalg.solve(np.array(R), np.array(b))
                corr = rhos[0] * (ms[j - 1] - ms[j]) / r1 + rhos[1] * (m_i - ms[j])
            x = x_t_ - a_t * B_h * corr
        ms.append(m_i)
        o = min(2, i + 1, n - i)  # lower_order_final: the last step is of order 1
        (_, s_s), (a_t, s_t) = ab[i], ab[i + 1]
        h = lam[i + 1] - lam[i]
        hh = -h
        em = math.expm1(hh) if math.isfinite(hh) else -1.0
        x_new = (s_t / s_s) * x - a_t * em * ms[i]
        if o == 2:
            r0 = (lam[i - 1] - lam[i]) / h
            x_new = x_new - a_t * em * 0.5 * (ms[i - 1] - ms[i]) / r0
        last = (x, i, o)
        x = x_new
        keep(x)
    return x


REFERENCES = {
    "euler": _ref_euler,
    "heun": _ref_heun,
    "dpm++_2m": _make_dpm_multistep(2, True),
    "dpm++_3m": _make_dpm_multistep(3, True),
    "dpm_2m": _make_dpm_multistep(2, False),
    "dpm++_2s": _make_dpm_singlestep(True),
    "dpm_2s": _make_dpm_singlestep(False),
    "unipc_bh2": _ref_unipc_bh2,
}
