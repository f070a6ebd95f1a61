"""Problem 2.3 - the variational bound (``elbo_bound``) and its decomposition (``elbo_decomposition``).

Bound:  E_q[log q(x_{1:T}|x_0) / p_theta(x_{0:T})] >= -E_q log p_theta(x_0)
        (= E_q KL(q(x_{1:T}|x_0) || p_theta(x_{1:T}|x_0)) - E_q log p_theta(x_0), and KL >= 0).
Decomposition, pointwise and for every T >= 1:
        log q(x_{1:T}|x_0)/p_theta(x_{0:T})
          = log q(x_T|x_0)/p(x_T) + sum_{t=2}^T log q(x_{t-1}|x_t,x_0)/p_theta(x_{t-1}|x_t) - log p_theta(x_0|x_1),
whose expectation is L_T + sum_{t=2}^T L_{t-1} + L_0.
"""
from __future__ import annotations

import sympy as sp

from .engine import Derivation, Expectation, GaussianExpectation, Induction, InstanceCheck, Step
from .gaussian import log_normal_pdf
from .identity import Identity
from .symbols import x_0


# ----- the bound -------------------------------------------------------------------------------
# Values at a point x_{0:T}: Q = q(x_{1:T}|x_0), P = p(x_{1:T}|x_0), p0 = p(x_0), J = p(x_{0:T}).
Q, P, p0, J = (sp.Symbol(n, positive=True) for n in ("q_{1:T|0}", "p_{1:T|0}", "p_0", "p_{0:T}"))
r = sp.Symbol("r", positive=True)


def bound_proof() -> Derivation:
    """For every x_0 (hence under E_{q(x_0)}): E_q[log Q/J] = E_q[log Q/P] - log p0 >= -log p0."""
    return Derivation(
        "E_q[log q(x_{1:T}|x_0)/p(x_{0:T})] >= -log p(x_0) for every x_0",
        [Step(Expectation(sp.log(Q / J)), "E over x_{1:T} ~ q(.|x_0) of the log ratio"),
         Step(Expectation(sp.log(Q / P)) - sp.log(p0),
              "p(x_{0:T}) = p(x_{1:T}|x_0) p(x_0); p(x_0) is constant under E_q(.|x_0)", given={J: P * p0}),
         Step(Expectation(1 - P / Q) - sp.log(p0),
              "-log u >= 1 - u for u = p/q > 0 (convexity), E_q monotone", relation=">=",
              positive_change={P: r * Q}),
         Step(1 - Expectation(P / Q) - sp.log(p0), "linearity"),
         Step(-sp.log(p0), "E_q[p/q] = int p(x_{1:T}|x_0) dx_{1:T} = 1", given={Expectation(P / Q): 1})],
        random=(Q, P),
        assumptions="q, p positive densities on the same support (KL finite)")


# ----- the decomposition, for every T by induction ------------------------------------------------
T, k = sp.symbols("T k", integer=True, positive=True)
log_q = sp.Function("log_q")            # log q(x_k | x_{k-1})
log_q_marg = sp.Function("log_q_marg")  # log q(x_k | x_0)
log_q_post = sp.Function("log_q_post")  # log q(x_{k-1} | x_k, x_0)
log_p = sp.Function("log_p")            # log p(x_{k-1} | x_k)
log_prior = sp.Function("log_prior")    # log p(x_T)


def log_ratio(n):
    """log q(x_{1:n}|x_0) / p(x_{0:n}) by the Markov factorisations of q and p."""
    return (sp.Sum(log_q(k), (k, 1, n)) - log_prior(n) - sp.Sum(log_p(k), (k, 1, n)))


def decomposed(n):
    """L_T + sum_{t=2}^T L_{t-1} + L_0, pointwise: log q(x_n|x_0)/p(x_n) + sum_{k=2}^n
    log q(x_{k-1}|x_k,x_0)/p(x_{k-1}|x_k) - log p(x_0|x_1)."""
    return (log_q_marg(n) - log_prior(n) + sp.Sum(log_q_post(k) - log_p(k), (k, 2, n)) - log_p(1))


def decomposition_induction() -> Induction:
    bayes = {log_q(T): log_q_post(T) + log_q_marg(T) - log_q_marg(T - 1)}
    return Induction(
        "log q(x_{1:T}|x_0)/p(x_{0:T}) - (L_T + sum L_{t-1} + L_0) = 0", T, closed=sp.Integer(0),
        sequence=log_ratio(T) - decomposed(T),
        base_steps=[Step(log_q(1) - log_q_marg(1), "T = 1: one-term sums, the sum from 2 to 1 is empty"),
                    Step(sp.Integer(0), "q(x_1|x_0) is both the first transition and the marginal at t = 1",
                         given={log_q(1): log_q_marg(1)})],
        step_steps=[Step(log_q(T) - log_q_marg(T) + log_q_marg(T - 1) - log_q_post(T),
                         "peel the T-th terms off every sum"),
                    Step(sp.Integer(0), "Bayes + Markov: q(x_T|x_{T-1}) = q(x_{T-1}|x_T,x_0) q(x_T|x_0)/q(x_{T-1}|x_0)",
                         given=bayes)])


# ----- closed-form instances: a T = 2 linear-Gaussian chain ---------------------------------------
_x1, _x2 = sp.symbols("x_1 x_2", real=True)  # the chain x_0 -> x_1 -> x_2 (x_0 shared)
_A = [sp.Rational(9, 10), sp.Rational(3, 5)]             # alpha_1, alpha_2
_REV = [(sp.Rational(4, 5), sp.Rational(1, 5)),          # p(x_0|x_1) = N(a x_1, s2)
        (sp.Rational(1, 2), sp.Rational(1, 2))]          # p(x_1|x_2) = N(a x_2, s2)
_X0 = sp.Rational(1, 2)


def _e_forward(f):
    """E over x_1 ~ q(.|x_0), x_2 ~ q(.|x_1) of a polynomial f(x_1, x_2), exactly, at x_0 = 1/2."""
    inner = GaussianExpectation(f, _x2, sp.sqrt(_A[1]) * _x1, 1 - _A[1]).evaluate()
    return GaussianExpectation(inner, _x1, sp.sqrt(_A[0]) * _X0, 1 - _A[0]).evaluate().subs(x_0, _X0)


def _chain_terms():
    (a0, s0), (a1, s1) = _REV
    log_q12 = log_normal_pdf(_x1, sp.sqrt(_A[0]) * x_0, 1 - _A[0]) + log_normal_pdf(_x2, sp.sqrt(_A[1]) * _x1, 1 - _A[1])
    log_p012 = log_normal_pdf(_x2, 0, 1) + log_normal_pdf(_x1, a1 * _x2, s1) + log_normal_pdf(x_0, a0 * _x1, s0)
    return log_q12.subs(x_0, _X0), log_p012.subs(x_0, _X0)


def bound_instance():
    """E_q[log q(x_{1:2}|x_0)/p(x_{0:2})] against -log p(x_0) (p(x_0) Gaussian: x_0 = a0 (a1 x_2 + ...))."""
    (a0, s0), (a1, s1) = _REV
    log_q12, log_p012 = _chain_terms()
    var_x0 = a0 ** 2 * (a1 ** 2 + s1) + s0
    return _e_forward(sp.expand(log_q12 - log_p012)), -log_normal_pdf(_X0, 0, var_x0)


def decomposition_instance():
    """E_q of the log ratio against L_T + L_1 + L_0 computed from closed-form Gaussian KLs."""
    (a0, s0), (a1, s1) = _REV
    log_q12, log_p012 = _chain_terms()
    ab2 = _A[0] * _A[1]
    # L_T = KL(q(x_2|x_0) || N(0, 1)); L_1 = E KL(q(x_1|x_2,x_0) || N(a1 x_2, s1)); L_0 = -E log p(x_0|x_1)
    m2, v2 = sp.sqrt(ab2) * _X0, 1 - ab2
    L_T = (v2 + m2 ** 2 - 1 - sp.log(v2)) / 2
    post_mean = (sp.sqrt(_A[0]) * (1 - _A[1]) * _X0 + sp.sqrt(_A[1]) * (1 - _A[0]) * _x2) / (1 - ab2)
    post_var = (1 - _A[0]) * (1 - _A[1]) / (1 - ab2)
    kl_1 = (post_var + (post_mean - a1 * _x2) ** 2) / (2 * s1) - sp.Rational(1, 2) + sp.log(s1 / post_var) / 2
    L_1 = GaussianExpectation(sp.expand(kl_1), _x2, m2, v2).evaluate()
    L_0 = -_e_forward(sp.expand(log_normal_pdf(_X0, a0 * _x1, s0)))
    return _e_forward(sp.expand(log_q12 - log_p012)), L_T + L_1 + L_0


IDENTITIES = [
    Identity(id="elbo_bound", problem="P2.3", slots={},
             statement="E_q[log q(x_{1:T}|x_0)/p_theta(x_{0:T})] >= -E_q log p_theta(x_0)",
             latex=r"\mathbb E_q\Big[\log\frac{q(x_{1:T}\mid x_0)}{p_\theta(x_{0:T})}\Big]\ge-\mathbb E_q\log p_\theta(x_0)",
             proof=lambda: [bound_proof()],
             instances=lambda: [InstanceCheck("T = 2 linear-Gaussian model, x_0 = 1/2: bound against the exact -log p(x_0)",
                                              bound_instance, relation=">=")],
             doc=__doc__),
    Identity(id="elbo_decomposition", problem="P2.3", slots={},
             statement="log q(x_{1:T}|x_0)/p(x_{0:T}) = log q(x_T|x_0)/p(x_T) + sum_{t=2}^T log q(x_{t-1}|x_t,x_0)/p(x_{t-1}|x_t) - log p(x_0|x_1), every T",
             latex=r"L=L_T+\sum_{t=2}^T L_{t-1}+L_0",
             proof=lambda: decomposition_induction().derivations(),
             instances=lambda: [InstanceCheck("T = 2 linear-Gaussian model, x_0 = 1/2: E log ratio = L_T + L_1 + L_0 (closed-form KLs)",
                                              decomposition_instance)],
             doc=__doc__),
]
