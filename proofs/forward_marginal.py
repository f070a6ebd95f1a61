"""Problem 2.1 - the forward marginal (``forward_marginal``).

    x_t = sqrt(alpha_t) x_{t-1} + sqrt(1 - alpha_t) eps_t   (eps_t ~ N(0, I) independent)
    =>  x_t | x_0 ~ N(sqrt(abar_t) x_0, (1 - abar_t) I),

i.e. x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps with eps ~ N(0, I): the noise variances
(1 - alpha_t) + alpha_t (1 - alpha_{t-1}) + ... + alpha_t...alpha_2 (1 - alpha_1) telescope to
1 - abar_t.
"""
from __future__ import annotations

import sympy as sp

from .engine import Derivation, Induction, InstanceCheck, Step

from .identity import Identity
from .symbols import abar, alpha, beta, t, x_0

SLOTS = {
    "mean_coef": sp.sqrt(abar[t]),
    "variance": 1 - abar[t],
}


s_ = sp.Symbol("s", real=True)  # the argument of the moment generating function

#: The one-step transition x_t = sqrt(alpha_t) x_{t-1} + sqrt(beta_t) eps_t, as MGF of x_t | x_0.
marginal_mgf = sp.exp(s_ * SLOTS["mean_coef"] * x_0 + SLOTS["variance"] * s_**2 / 2)


def mean_induction() -> Induction:
    """m_t = sqrt(alpha_t) m_{t-1}, m_0 = 1  =>  m_t = sqrt(abar_t)."""
    return Induction(
        "mean coefficient of x_0", t, closed=SLOTS["mean_coef"],
        recurrence=lambda prev, n: sp.sqrt(alpha[n]) * prev, initial=sp.sqrt(alpha[1]),
        step_steps=[Step(sp.sqrt(abar[t]), "sqrt(alpha_t) sqrt(abar_{t-1}) = sqrt(alpha_t abar_{t-1}) = sqrt(abar_t)")])


def variance_induction() -> Induction:
    """The seed's telescoping sum: v_t = alpha_t v_{t-1} + beta_t, v_1 = beta_1  =>  v_t = 1 - abar_t.

    v_t is the variance of the noise part (1-alpha_t) + alpha_t (1-alpha_{t-1}) + ... of x_t, so
    eps = noise / sqrt(1 - abar_t) has variance I."""
    return Induction(
        "noise variance telescopes", t, closed=SLOTS["variance"],
        recurrence=lambda prev, n: alpha[n] * prev + beta[n], initial=beta[1],
        base_steps=[Step(1 - alpha[1], "beta_1 = 1 - alpha_1")],
        step_steps=[Step(alpha[t] - alpha[t] * abar[t - 1] + 1 - alpha[t], "expand, beta_t = 1 - alpha_t"),
                    Step(1 - alpha[t] * abar[t - 1], "alpha_t cancels"),
                    Step(1 - abar[t], "abar_t = abar_{t-1} alpha_t")])


def mgf_induction() -> Induction:
    """Gaussianity by moment generating functions, as in the seed: if x_{t-1}|x_0 has MGF
    M(s) then x_t = sqrt(alpha_t) x_{t-1} + sqrt(beta_t) eps_t (eps_t independent) has MGF
    M(sqrt(alpha_t) s) exp(beta_t s^2 / 2)."""
    return Induction(
        "x_t | x_0 is Gaussian (MGF)", t, closed=marginal_mgf,
        recurrence=lambda prev, n: prev.subs(s_, sp.sqrt(alpha[n]) * s_) * sp.exp(beta[n] * s_**2 / 2),
        initial=sp.exp(s_ * sp.sqrt(alpha[1]) * x_0) * sp.exp(beta[1] * s_**2 / 2),
        step_steps=[Step(sp.exp(s_ * sp.sqrt(alpha[t]) * sp.sqrt(abar[t - 1]) * x_0
                                + (alpha[t] * (1 - abar[t - 1]) + beta[t]) * s_**2 / 2),
                         "product of exponentials", given={})],
        options={"log_domain": True})


def standardised_noise() -> Derivation:
    """eps = (x_t - sqrt(abar_t) x_0)/sqrt(1 - abar_t) has MGF exp(s^2/2): eps ~ N(0, 1) per coordinate."""
    c = sp.sqrt(1 - abar[t])
    return Derivation(
        "eps = (x_t - sqrt(abar_t) x_0)/sqrt(1 - abar_t) ~ N(0, I)",
        [Step(sp.exp(-s_ * sp.sqrt(abar[t]) * x_0 / c) * marginal_mgf.subs(s_, s_ / c),
              "M_eps(s) = exp(-s sqrt(abar_t) x_0 / c) M_{x_t|x_0}(s / c), c = sqrt(1 - abar_t)"),
         Step(sp.exp(s_**2 / 2), "the MGF of N(0, 1)")],
        log_domain=True)


def proof() -> list[Derivation]:
    return [*mean_induction().derivations(), *variance_induction().derivations(),
            *mgf_induction().derivations(), standardised_noise()]


def unrolled_instance() -> tuple[sp.Expr, sp.Expr]:
    """T = 4, alpha = (9/10, 4/5, 7/10, 1/2): the seed's unrolled noise variance
    sum_s (1 - alpha_s) prod_{r > s} alpha_r against 1 - abar_4, exactly."""
    alphas = [sp.Rational(9, 10), sp.Rational(4, 5), sp.Rational(7, 10), sp.Rational(1, 2)]
    unrolled = sum((1 - alphas[k]) * sp.Mul(*alphas[k + 1:]) for k in range(4))
    return unrolled, 1 - sp.Mul(*alphas)


def unrolled_mean_instance() -> tuple[sp.Expr, sp.Expr]:
    """T = 4: the product of sqrt(alpha_s) against sqrt(abar_4), exactly."""
    alphas = [sp.Rational(9, 10), sp.Rational(4, 5), sp.Rational(7, 10), sp.Rational(1, 2)]
    return sp.Mul(*[sp.sqrt(a) for a in alphas]), sp.sqrt(sp.Mul(*alphas))


def instances() -> list[InstanceCheck]:
    return [InstanceCheck("T = 4 schedule: unrolled noise variance = 1 - abar_4", unrolled_instance),
            InstanceCheck("T = 4 schedule: prod sqrt(alpha_s) = sqrt(abar_4)", unrolled_mean_instance)]


IDENTITIES = [
    Identity(id="forward_marginal", problem="P2.1", slots=SLOTS,
             statement="x_t | x_0 ~ N(<<mean_coef>>*x_0, <<variance>>*I) for every t >= 1",
             latex=r"q(x_t\mid x_0)=\mathcal N\big(<<mean_coef>>\,x_0,\ <<variance>>\,I\big)\ \text{for every } t\ge1",
             proof=proof, instances=instances, doc=__doc__),
]
