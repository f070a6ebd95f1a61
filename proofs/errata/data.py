"""The seed homework, transcribed: every displayed equation and every ``=`` step, as written.

One :class:`Entry` per display line or chain step: ``LATEX`` holds the seed's LaTeX verbatim
(typos included), the entry's ``build`` returns a :class:`Spec`: the SymPy comparisons that decide
whether the line holds *in context* (the lines before it, with earlier errors corrected, so each
error is charged to the line where it appears), the correction of a wrong line and the
comparisons that show the correction holds, and, for an ill-formed line, its intended meaning.
:mod:`proofs.errata` runs the comparisons with the derivation engine and computes the verdicts.

Stand-ins (stated in each entry): vectors are scalars (n = 1; isotropic Gaussians factor over
coordinates, so n = 1 decides the densities' identities); "..." chains are checked for a general t
through the recurrence where possible and for t = 1..6 (or 4..6) with explicit symbols; the
expectations of P2.3 are evaluated exactly on discrete instances (T = 4, binary states, rational
probabilities: a sum c_1 log p_1 + ... of logs of distinct primes p_k with rational c_k is zero only
when every c_k is, so equality there is decided exactly); P3 and P4 use generic functions where
the step is pointwise and Gaussian or two-point instances where it needs an integral.
"""
from __future__ import annotations

import itertools
import random
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Callable, Mapping

import sympy as sp

from ..engine import GaussianExpectation
from ..gaussian import normal_pdf
from ..symbols import abar, alpha, eps, eps_theta, family, noise_std, sigma, t, x, x_0, x_prev, x_t, x_tilde


@dataclass
class Check:
    """``lhs relation rhs`` for the engine (``relation`` "=" or ">=": lhs >= rhs)."""

    label: str
    lhs: sp.Expr
    rhs: sp.Expr
    relation: str = "="
    given: Mapping = field(default_factory=dict)
    log_domain: bool = False
    domains: Mapping = field(default_factory=dict)


@dataclass
class Spec:
    """What an entry claims and how it is checked.

    ``checks`` must all hold for the line to hold as written (in context); the first refuted one
    supplies the counterexample. A wrong line needs ``correction`` (text) and ``correction_checks``
    (which must hold). ``notation`` marks a line ill-formed as written, stating the intended
    meaning that ``checks`` verify. ``notes`` are reported in the detail without deciding the verdict.
    """

    checks: list[Check]
    method: str
    correction: str | None = None
    correction_checks: list[Check] = field(default_factory=list)
    notation: str | None = None
    notes: list[Check] = field(default_factory=list)


@dataclass
class Entry:
    problem: str
    index: int
    context: str
    build: Callable[[], Spec]

    @property
    def latex(self) -> str:
        return LATEX[(self.problem, self.index)]


# ---------------------------------------------------------------------------------------------
# shared symbols (scalar stand-ins)

EPS1 = sp.Symbol("epsilon_{t-1}", real=True)
Z = sp.Symbol("z", real=True)
NOISE = [sp.Symbol(f"epsilon_{k}", real=True) for k in range(8)]
HALF = sp.S.Half


def phi(z):
    """Standard normal density (n = 1): N(z; 0, 1)."""
    return normal_pdf(z, 0, 1)


def prod_alpha(lo: int, hi: int) -> sp.Expr:
    """alpha[lo] * ... * alpha[hi] (empty product 1)."""
    return sp.Mul(*[alpha[j] for j in range(lo, hi + 1)])


# ---------------------------------------------------------------------------------------------
# P2.1: the forward marginal


def forward_x(T: int) -> sp.Expr:
    """x_T from the forward recurrence x_k = sqrt(alpha_k) x_{k-1} + sqrt(1 - alpha_k) eps_{k-1}."""
    xk = x_0
    for k in range(1, T + 1):
        xk = sp.sqrt(alpha[k]) * xk + sp.sqrt(1 - alpha[k]) * NOISE[k - 1]
    return xk


def noise_sum(T: int) -> sp.Expr:
    """The seed's pattern: sum_{k=1}^T sqrt(alpha_T ... alpha_{k+1} (1 - alpha_k)) eps_{k-1}."""
    return sum(sp.sqrt(prod_alpha(k + 1, T) * (1 - alpha[k])) * NOISE[k - 1] for k in range(1, T + 1))


def variance(combination: sp.Expr, T: int) -> sp.Expr:
    """Var of a linear combination of independent N(0, 1) noises eps_0..eps_{T-1}: sum of squared coefficients."""
    combination = sp.expand(combination)
    return sum(combination.coeff(NOISE[k]) ** 2 for k in range(T))


def squared_coefficients(T: int) -> sp.Expr:
    """The seed's numerator (1 - alpha_T) + alpha_T (1 - alpha_{T-1}) + ... + alpha_T...alpha_2 (1 - alpha_1)."""
    return sum(prod_alpha(k + 1, T) * (1 - alpha[k]) for k in range(1, T + 1))


def _p21_1() -> Spec:
    k = sp.Symbol("k", integer=True, positive=True)
    checks = [Check(f"t = {T}: the forward recurrence unrolled equals the written sum", forward_x(T),
                    sp.sqrt(prod_alpha(1, T)) * x_0 + noise_sum(T)) for T in range(1, 7)]
    checks += [
        Check("general t, mean coefficient: sqrt(alpha_t) sqrt(abar_{t-1}) = sqrt(alpha_t ... alpha_1)",
              sp.sqrt(alpha[t]) * sp.sqrt(abar[t - 1]), sp.sqrt(abar[t])),
        Check("general t, coefficient of eps_{k-1} (k < t): sqrt(alpha_t) times its value at t - 1",
              sp.sqrt(alpha[t]) * sp.sqrt(abar[t - 1] / abar[k] * (1 - alpha[k])),
              sp.sqrt(abar[t] / abar[k] * (1 - alpha[k]))),
    ]
    return Spec(checks, "exact for t = 1..6 (explicit symbols) and for general t through the recurrence "
                        "x_t = sqrt(alpha_t) x_{t-1} + sqrt(1 - alpha_t) eps_{t-1} "
                        "(the new term k = t is sqrt(1 - alpha_t) eps_{t-1})")


def _eps_written(T: int) -> sp.Expr:
    return noise_sum(T) / sp.sqrt(1 - alpha[T])


def _eps_corrected(T: int) -> sp.Expr:
    return noise_sum(T) / sp.sqrt(1 - prod_alpha(1, T))


def _p21_2() -> Spec:
    return Spec(
        [Check(f"t = {T}: Var(eps) = 1 for eps as written", variance(_eps_written(T), T), 1) for T in range(1, 7)],
        "Var(eps) = sum of squared coefficients (independent unit noises), exact for t = 1..6; the text "
        "concludes eps ~ N(0, I) and x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps",
        correction=r"\epsilon = \frac{1}{\sqrt{1-\bar\alpha_t}}\big(\sqrt{1-\alpha_t}\epsilon_{t-1} + \dots\big)"
                   " (normalise by sqrt(1 - abar_t), not sqrt(1 - alpha_t))",
        correction_checks=[Check(f"t = {T}: Var(eps) = 1 with 1/sqrt(1 - abar_t)", variance(_eps_corrected(T), T), 1)
                           for T in range(1, 7)])


def _p21_3() -> Spec:
    written = lambda T: squared_coefficients(T) / (1 - prod_alpha(1, T))  # noqa: E731
    return Spec(
        [Check(f"t = {T}: Var(eps) = written right side", variance(_eps_corrected(T), T), written(T))
         for T in range(1, 7)],
        "exact for t = 1..6 with eps normalised as entry 2's correction (1/sqrt(1 - abar_t)), as this line does",
        notes=[Check("t = 2, against eps exactly as written in entry 2 (1/sqrt(1 - alpha_t))",
                     variance(_eps_written(2), 2), written(2))])


def _p21_4() -> Spec:
    checks = [Check("general t, inductive step: (1 - alpha_t) + alpha_t (1 - abar_{t-1}) = 1 - abar_t",
                    (1 - alpha[t]) + alpha[t] * (1 - abar[t - 1]), 1 - abar[t]),
              Check("base t = 1: 1 - alpha_1 = 1 - abar_1", 1 - alpha[1], 1 - abar[1])]
    checks += [Check(f"t = {T}: the telescoping sum", squared_coefficients(T) / (1 - abar[T]),
                     (1 - prod_alpha(1, T)) / (1 - prod_alpha(1, T))) for T in range(1, 7)]
    return Spec(checks, "the numerator S_t = (1 - alpha_t) + alpha_t S_{t-1} telescopes to 1 - abar_t: induction "
                        "(base and step, general t) and explicit t = 1..6")


def _p21_5() -> Spec:
    return Spec([Check("(1 - abar_t)/(1 - abar_t) = 1", (1 - abar[t]) / (1 - abar[t]), 1)],
                "exact, general t (0 < abar_t < 1)")


# ---------------------------------------------------------------------------------------------
# P2.2: the posterior


def chain_abar(expr: sp.Expr) -> sp.Expr:
    """Rewrite abar[i] = abar[i-1] alpha[i] wherever alpha[i] also occurs, so that every sampled
    point of the engine is consistent (abar[i] <= alpha[i])."""
    for _ in range(4):
        alphas = {a.indices[0] for a in expr.atoms(sp.Indexed) if family(a) == "alpha"}
        rules = {a: abar[a.indices[0] - 1] * alpha[a.indices[0]] for a in expr.atoms(sp.Indexed)
                 if family(a) == "abar" and a.indices[0] in alphas and not a.indices[0].is_Integer}
        if not rules:
            break
        expr = expr.xreplace(rules)
    return expr


def bayes_density() -> sp.Expr:
    """q(x_{t-1}|x_t, x_0) = q(x_t|x_{t-1}) q(x_{t-1}|x_0) / q(x_t|x_0), n = 1."""
    return (normal_pdf(x_t, sp.sqrt(alpha[t]) * x_prev, 1 - alpha[t]) * normal_pdf(x_prev, sp.sqrt(abar[t - 1]) * x_0, 1 - abar[t - 1])
            / normal_pdf(x_t, sp.sqrt(abar[t]) * x_0, 1 - abar[t]))


@lru_cache(maxsize=1)
def posterior_moments() -> tuple[sp.Expr, sp.Expr]:
    """Mean and variance of x_{t-1} under the Bayes density, computed: the log density is
    quadratic in x_{t-1}; mean = root of its derivative, variance = -1 / second derivative."""
    logq = sp.expand_log(sp.log(bayes_density()), force=True)
    d1 = sp.diff(logq, x_prev)
    return sp.solve(d1, x_prev)[0], -1 / sp.diff(d1, x_prev)


_EPS_N = (x_t - sp.sqrt(abar[t]) * x_0) / sp.sqrt(1 - abar[t])
_EPS1_N = (x_t - sp.sqrt(alpha[t]) * x_prev) / sp.sqrt(1 - alpha[t])
_EPSP_N = (x_prev - sp.sqrt(abar[t - 1]) * x_0) / sp.sqrt(1 - abar[t - 1])
BETA_TILDE = (1 - abar[t - 1]) * (1 - alpha[t]) / (1 - abar[t])


def _p22_1() -> Spec:
    return Spec([Check("eps recovered from x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps", eps, _EPS_N,
                       given={x_t: sp.sqrt(abar[t]) * x_0 + sp.sqrt(1 - abar[t]) * eps})],
                "exact, general t, substituting P2.1's x_t")


def _p22_2() -> Spec:
    written = phi(_EPSP_N) * phi(_EPS1_N) / phi(_EPS_N)
    jac = ((1 - abar[t]) / ((1 - alpha[t]) * (1 - abar[t - 1]))) ** HALF
    return Spec(
        [Check("Bayes density = p(eps') p(eps_{t-1}) / p(eps)", chain_abar(bayes_density()), chain_abar(written),
               log_domain=True)],
        "log domain, n = 1 (densities of N(0, 1) for the three standardised noises)",
        correction=r"q(x_{t-1}|x_t,x_0) = \big(\tfrac{1-\bar\alpha_t}{(1-\alpha_t)(1-\bar\alpha_{t-1})}\big)^{n/2}"
                   r"\frac{p_{\epsilon'}(\epsilon')p_{\epsilon_{t-1}}(\epsilon_{t-1})}{p_\epsilon(\epsilon)}"
                   r" = \tilde\beta_t^{-n/2}\cdots (the Jacobians of x -> eps)",
        correction_checks=[Check("Bayes density = Jacobian factor * p(eps') p(eps_{t-1}) / p(eps)",
                                 chain_abar(bayes_density()), chain_abar(jac * written), log_domain=True)])


def _p22_3() -> Spec:
    return Spec([Check("eps_{t-1} recovered from x_t = sqrt(alpha_t) x_{t-1} + sqrt(1 - alpha_t) eps_{t-1}",
                       EPS1, _EPS1_N, given={x_t: sp.sqrt(alpha[t]) * x_prev + sp.sqrt(1 - alpha[t]) * EPS1})],
                "exact, general t, substituting the forward step")


def _p22_4() -> Spec:
    return Spec([Check("eps' standardises x_{t-1} | x_0 ~ N(sqrt(abar_{t-1}) x_0, 1 - abar_{t-1})", Z, _EPSP_N,
                       given={x_prev: sp.sqrt(abar[t - 1]) * x_0 + sp.sqrt(1 - abar[t - 1]) * Z})],
                "exact, general t (alpha_{t-1}...alpha_1 = abar_{t-1}); eps' ~ N(0, I) as the text then uses")


def _eps_prime_rhs(T: int, last_hi: int) -> sp.Expr:
    """The written right side at t = T: terms k = T-1 .. 2 by the pattern, then the written last
    term sqrt(alpha_{last_hi} ... alpha_2 (1 - alpha_1)) eps_0, over sqrt(1 - abar_{T-1})."""
    terms = [sp.sqrt(prod_alpha(k + 1, T - 1) * (1 - alpha[k])) * NOISE[k - 1] for k in range(T - 1, 1, -1)]
    terms.append(sp.sqrt(prod_alpha(2, last_hi) * (1 - alpha[1])) * NOISE[0])
    return sp.Add(*terms) / sp.sqrt(1 - prod_alpha(1, T - 1))


def _eps_prime_lhs(T: int) -> sp.Expr:
    return (forward_x(T - 1) - sp.sqrt(prod_alpha(1, T - 1)) * x_0) / sp.sqrt(1 - prod_alpha(1, T - 1))


def _p22_5() -> Spec:
    return Spec(
        [Check(f"t = {T}: eps' with x_{{t-1}} unrolled = the written sum", _eps_prime_lhs(T), _eps_prime_rhs(T, T - 2))
         for T in range(4, 7)],
        "exact for t = 4..6 (explicit symbols; from t = 4 on the three written terms are distinct)",
        correction=r"last term \sqrt{\alpha_{t-1}\cdots\alpha_2(1-\alpha_1)}\,\epsilon_0 (the product starts at alpha_{t-1})",
        correction_checks=[Check(f"t = {T}: with alpha_{{t-1}} ... alpha_2", _eps_prime_lhs(T),
                                 _eps_prime_rhs(T, T - 1)) for T in range(4, 7)])


def _density_written(var_factor: sp.Expr, typo: bool) -> sp.Expr:
    a, v = (abar[t], 1 - abar[t]) if typo else (alpha[t], 1 - alpha[t])
    expo = HALF * ((x_t - sp.sqrt(abar[t]) * x_0) ** 2 / (1 - abar[t]) - (x_t - sp.sqrt(a) * x_prev) ** 2 / v
                   - (x_prev - sp.sqrt(abar[t - 1]) * x_0) ** 2 / (1 - abar[t - 1]))
    return var_factor * sp.exp(expo)


def _p22_6() -> Spec:
    written = _density_written(1 / sp.sqrt(2 * sp.pi), typo=True)
    fixed_exponent = _density_written(1 / sp.sqrt(2 * sp.pi), typo=False)
    corrected = _density_written(1 / sp.sqrt(2 * sp.pi * BETA_TILDE), typo=False)
    eq6 = phi(_EPSP_N) * phi(_EPS1_N) / phi(_EPS_N)
    c = lambda e: chain_abar(e)  # noqa: E731
    return Spec(
        [Check("Bayes density = the written density", c(bayes_density()), c(written), log_domain=True)],
        "log domain, n = 1",
        correction=r"(2\pi\tilde\beta_t)^{-n/2}\exp\big(\tfrac12(\cdots - \tfrac{||x_t-\sqrt{\alpha_t}x_{t-1}||^2}{1-\alpha_t}"
                   r" - \cdots)\big), \tilde\beta_t = \tfrac{(1-\bar\alpha_{t-1})(1-\alpha_t)}{1-\bar\alpha_t}"
                   " (sqrt(alpha_t) and 1 - alpha_t in the second term; normaliser with the variance)",
        correction_checks=[Check("Bayes density = corrected density", c(bayes_density()), c(corrected),
                                 log_domain=True)],
        notes=[Check("as written vs entry 2's right side as written (the exponent typo is new here)",
                     c(eq6), c(written), log_domain=True),
               Check("exponent fixed, normaliser (2 pi)^{-n/2} kept, vs entry 2's right side: the missing "
                     "factor is inherited from entry 2", c(eq6), c(fixed_exponent), log_domain=True)])


def _mu_eq7(x0_coef_sqrt: sp.Expr) -> sp.Expr:
    return ((2 * sp.sqrt(alpha[t]) / (1 - alpha[t]) * x_t + 2 * sp.sqrt(x0_coef_sqrt) / (1 - abar[t - 1]) * x_0)
            / (2 * (alpha[t] / (1 - alpha[t]) + 1 / (1 - abar[t - 1]))))


MU_EQ8 = ((sp.sqrt(alpha[t]) * (1 - abar[t] / alpha[t]) * x_t + (1 - alpha[t]) * sp.sqrt(abar[t] / alpha[t]) * x_0)
          / (1 - abar[t]))
MU_EQ9 = (((alpha[t] - abar[t]) * x_t + (1 - alpha[t]) * (-sp.sqrt(1 - abar[t]) * eps + x_t))
          / (sp.sqrt(alpha[t]) * (1 - abar[t])))
MU_EQ10 = (x_t - (1 - alpha[t]) / sp.sqrt(1 - abar[t]) * eps) / sp.sqrt(alpha[t])


def _p22_7() -> Spec:
    from ..posterior import SLOTS

    mean, var = posterior_moments()
    c = chain_abar
    return Spec(
        [Check("mean of the Bayes density = written mu~_t", c(mean), c(_mu_eq7(alpha[t - 1])))],
        "exact, general t; the mean is computed from the Bayes density (root of d/dx_{t-1} log q)",
        correction=r"\frac{2\sqrt{\bar\alpha_{t-1}}}{1-\bar\alpha_{t-1}}x_0 in the numerator (sqrt(abar_{t-1}), not sqrt(alpha_{t-1}))",
        correction_checks=[Check("mean = corrected mu~_t", c(mean), c(_mu_eq7(abar[t - 1])))],
        notes=[Check("computed mean = proofs.posterior coef_x0 x_0 + coef_xt x_t", c(mean),
                     c(SLOTS["coef_x0"] * x_0 + SLOTS["coef_xt"] * x_t)),
               Check("computed variance = proofs.posterior variance", c(var), c(SLOTS["variance"]))])


def _p22_8() -> Spec:
    mean, _ = posterior_moments()
    c = chain_abar
    return Spec([Check("mean of the Bayes density = this line", c(mean), c(MU_EQ8))],
                "exact, general t, against the computed posterior mean (entry 7 corrected)",
                notes=[Check("against entry 7 exactly as written (sqrt(alpha_{t-1})): the discrepancy is entry 7's typo",
                             c(_mu_eq7(alpha[t - 1])), c(MU_EQ8))])


def _p22_9() -> Spec:
    return Spec([Check("previous line with x_0 = (x_t - sqrt(1 - abar_t) eps)/sqrt(abar_t)", chain_abar(MU_EQ8),
                       chain_abar(MU_EQ9), given={x_0: (x_t - sp.sqrt(1 - abar[t]) * eps) / sp.sqrt(abar[t])})],
                "exact, general t, substituting entry 1 (eps in terms of x_t, x_0)")


def _p22_10() -> Spec:
    return Spec([Check("previous line = this line", chain_abar(MU_EQ9), chain_abar(MU_EQ10))], "exact, general t")


# ---------------------------------------------------------------------------------------------
# P2.3: the variational bound, on exact discrete instances


class _LogSum:
    """sum_k c_k log(prime_k) with rational c_k: an exact value for sums of rationals times logs."""

    def __init__(self, terms):
        self.c: dict[int, Fraction] = defaultdict(Fraction)
        for weight, ratio in terms:
            for prime, e in _factor(ratio):
                self.c[prime] += weight * e

    def expr(self) -> sp.Expr:
        return sp.Add(*[sp.Rational(v.numerator, v.denominator) * sp.log(p) for p, v in sorted(self.c.items()) if v])


@lru_cache(maxsize=4096)
def _factor(r: Fraction) -> tuple:
    if r <= 0:
        raise ValueError(f"log of a non-positive probability ratio {r}")
    out = [(p, e) for p, e in sp.factorint(r.numerator).items()]
    out += [(p, -e) for p, e in sp.factorint(r.denominator).items()]
    return tuple(out)


class Chain:
    """A discrete stand-in for P2.3: steps 1..T, states {0, 1}; forward q(x_0) prod_t q(x_t|x_{t-1}) and
    reverse p(x_T) prod_t p(x_{t-1}|x_t), all probabilities k/10 drawn with ``seed`` (each kernel's
    two rows differ, so every step depends on its past)."""

    def __init__(self, seed: int, T: int = 4):
        rng = random.Random(seed)

        def dist():
            a = Fraction(rng.randint(1, 9), 10)
            return (a, 1 - a)

        def kernel():  # two different rows: no step is independent of its past (a degenerate instance)
            rows = (dist(), dist())
            return {0: rows[0], 1: rows[1]} if rows[0] != rows[1] else kernel()

        self.seed, self.T = seed, T
        self.q0 = dist()
        self.Q = {k: kernel() for k in range(1, T + 1)}  # Q[k][x_{k-1}][x_k]
        self.pT = dist()
        self.P = {k: kernel() for k in range(1, T + 1)}  # P[k][x_k][x_{k-1}]
        self.paths = list(itertools.product((0, 1), repeat=T + 1))

    def describe(self) -> str:
        return f"discrete chain T={self.T}, binary states, seed={self.seed}"

    def q(self, xs) -> Fraction:
        out = self.q0[xs[0]]
        for k in range(1, self.T + 1):
            out *= self.Q[k][xs[k - 1]][xs[k]]
        return out

    def p(self, xs) -> Fraction:
        out = self.pT[xs[self.T]]
        for k in range(1, self.T + 1):
            out *= self.P[k][xs[k]][xs[k - 1]]
        return out

    @lru_cache(maxsize=None)
    def qm(self, fixed: tuple) -> Fraction:
        """Marginal q of the assignment ((index, value), ...)."""
        return sum((self.q(xs) for xs in self.paths if all(xs[i] == v for i, v in fixed)), Fraction(0))

    @lru_cache(maxsize=None)
    def pm(self, fixed: tuple) -> Fraction:
        return sum((self.p(xs) for xs in self.paths if all(xs[i] == v for i, v in fixed)), Fraction(0))

    def qc(self, a: tuple, b: tuple) -> Fraction:
        """q(a | b) for assignments a, b."""
        return self.qm(tuple(sorted(set(a + b)))) / self.qm(tuple(sorted(b)))

    # -- building blocks (lists of (weight, ratio): the value is sum weight * log(ratio))
    def E(self, f) -> list:
        """E_{q(x_{0:T})}[f(x)]."""
        return [(self.q(xs) * w, r) for xs in self.paths for w, r in f(xs)]

    def kl_T(self, x0) -> list:
        """sum_{x_T} q(x_T|x_0) log q(x_T|x_0)/p(x_T)."""
        T = self.T
        return [(self.qc(((T, z),), ((0, x0),)), self.qc(((T, z),), ((0, x0),)) / self.pT[z]) for z in (0, 1)]

    def kl_t(self, k, xk, x0, numerator_given=None) -> list:
        """sum_{x_{k-1}} q(x_{k-1}|x_k, x_0) log q(x_{k-1}| ., x_0)/p(x_{k-1}|x_k); the log's numerator
        conditions on ``numerator_given`` = (index, value) instead of (k, x_k) when given (the typo)."""
        num_given = numerator_given or (k, xk)
        out = []
        for z in (0, 1):
            w = self.qc(((k - 1, z),), ((k, xk), (0, x0)))
            num = self.qc(((k - 1, z),), (num_given, (0, x0)))
            out.append((w, num / self.P[k][xk][z]))
        return out

    def log_ratio(self, xs) -> list:
        """log q(x_{1:T}|x_0)/p(x_{0:T})."""
        return [(Fraction(1), self.q(xs) / self.qm(((0, xs[0]),)) / self.p(xs))]

    def neg(self, terms) -> list:
        return [(-w, r) for w, r in terms]


def _value(terms) -> sp.Expr:
    return _LogSum(terms).expr()


CHAINS = (1, 2)  # seeds of the two instances


@lru_cache(maxsize=None)
def chain(seed: int) -> Chain:
    return Chain(seed)


def _elbo_lines(ch: Chain) -> dict[str, sp.Expr]:
    """Every line of both chains of P2.3, evaluated exactly on ``ch``."""
    T, S = ch.T, (0, 1)
    tails = list(itertools.product(S, repeat=T))
    q1T = lambda x0, tail: ch.q((x0,) + tail) / ch.qm(((0, x0),))  # noqa: E731
    px0 = lambda x0: ch.pm(((0, x0),))  # noqa: E731
    lines = {}
    lines["A0"] = ch.E(ch.log_ratio)
    lines["A1"] = [(ch.q0[x0] * q1T(x0, tl), q1T(x0, tl) / ch.p((x0,) + tl)) for x0 in S for tl in tails]
    lines["A2"] = [(ch.q0[x0] * q1T(x0, tl), q1T(x0, tl) / (ch.p((x0,) + tl) / px0(x0))) for x0 in S for tl in tails] \
        + [(-ch.q0[x0], px0(x0)) for x0 in S]
    lines["A3"] = [(-ch.q0[x0], px0(x0)) for x0 in S]
    lines["A4"] = ch.E(lambda xs: [(Fraction(-1), px0(xs[0]))])

    def kl_terms(xs, typo=False):
        out = ch.kl_T(xs[0])
        for k in range(T, 1, -1):
            out += ch.kl_t(k, xs[k], xs[0], numerator_given=(T, xs[T]) if (typo and k == T - 1) else None)
        return out

    def p_x0_x1(xs):
        return [(Fraction(-1), ch.P[1][xs[1]][xs[0]])]

    def factorised(xs):  # log [q(x_T|x_0) prod q(x_{t-1}|x_t,x_0)] / [p(x_T) prod p(x_{t-1}|x_t)]
        num = ch.qc(((T, xs[T]),), ((0, xs[0]),))
        den = ch.pT[xs[T]]
        for k in range(T, 0, -1):
            num *= ch.qc(((k - 1, xs[k - 1]),), ((k, xs[k]), (0, xs[0]))) if k > 1 else 1
            den *= ch.P[k][xs[k]][xs[k - 1]]
        return [(Fraction(1), num / den)]

    lines["D1"] = ch.E(lambda xs: kl_terms(xs) + p_x0_x1(xs) + ch.neg(ch.log_ratio(xs)))
    lines["D2"] = ch.E(lambda xs: kl_terms(xs, typo=True) + p_x0_x1(xs) + ch.neg(factorised(xs)))
    lines["D2c"] = ch.E(lambda xs: kl_terms(xs) + p_x0_x1(xs) + ch.neg(factorised(xs)))
    d3 = [(ch.qm(((T, xT), (0, x0))), ch.qc(((T, xT),), ((0, x0),)) / ch.pT[xT]) for xT in S for x0 in S]
    for k in range(T, 1, -1):
        d3 += [(ch.qm(((k - 1, z), (k, xk), (0, x0))), ch.qc(((k - 1, z),), ((k, xk), (0, x0))) / ch.P[k][xk][z])
               for z in S for xk in S for x0 in S]
    lines["D3"] = d3
    lines["D3c"] = d3 + ch.E(lambda xs: p_x0_x1(xs) + ch.neg(ch.log_ratio(xs)))
    kl_sum = ch.E(lambda xs: kl_terms(xs) + p_x0_x1(xs))
    lines["claim_difference"] = kl_sum + ch.neg(lines["A0"])
    return {name: _value(terms) for name, terms in lines.items()}


@lru_cache(maxsize=None)
def elbo_lines(seed: int) -> dict[str, sp.Expr]:
    return _elbo_lines(chain(seed))


def _on_chains(label: str, a: str, b: str | int, relation: str = "=") -> list[Check]:
    """The comparison ``line a relation line b`` (or the integer b) on each instance."""
    out = []
    for seed in CHAINS:
        L = elbo_lines(seed)
        rhs = sp.Integer(b) if isinstance(b, int) else L[b]
        out.append(Check(f"{label} [{chain(seed).describe()}]", L[a], rhs, relation))
    return out


_DISCRETE = ("exact on two discrete instances (T = 4, binary states, probabilities k/10, seeds 1 and 2): "
             "each side is sum c_k log(prime_k) with rational c_k, so equality is decided exactly "
             "(an instance check, not a proof for every model)")


def _p23(label, a, b, relation="=", **kw) -> Callable[[], Spec]:
    return lambda: Spec(_on_chains(label, a, b, relation), _DISCRETE, **kw)


def _p23_6() -> Spec:
    return Spec(_on_chains("line 1 = line 2 as written", "D1", "D2"), _DISCRETE,
                correction=r"q(x_{T-2}|x_{T-1},x_0) in the numerator of the t = T-1 logarithm",
                correction_checks=_on_chains("line 1 = line 2 corrected", "D1", "D2c"))


def _p23_7() -> Spec:
    return Spec(
        _on_chains("line 2 (corrected) = line 3 read charitably", "D2c", "D3"), _DISCRETE,
        correction=r"\sum_{x_T,x_0}q(x_T,x_0)\log\frac{q(x_T|x_0)}{p_\theta(x_T)} + \sum_{t=2}^T\sum_{x_{t-1},x_t,x_0}"
                   r"q(x_{t-1},x_t,x_0)\log\frac{q(x_{t-1}|x_t,x_0)}{p_\theta(x_{t-1}|x_t)} - \mathbb E_q[\log p_\theta(x_0|x_1)]"
                   r" - \mathbb E_q\big[\log\frac{q(x_{1:T}|x_0)}{p_\theta(x_{0:T})}\big] (each term once, nothing dropped)",
        correction_checks=_on_chains("line 2 (corrected) = corrected line 3", "D2c", "D3c"),
        notation="garbled as written: rows repeated, q(x_T, x_0) summed over x_1, x_2, x_0 (x_T unbound), a stray "
                 r"\bigg]; read charitably as the L_T term plus each L_{t-1} term once")


# ---------------------------------------------------------------------------------------------
# P2.4: the epsilon loss

MU_TILDE_EPS = MU_EQ10
MU_THETA = (x_t - (1 - alpha[t]) / sp.sqrt(1 - abar[t]) * eps_theta) / sp.sqrt(alpha[t])


@lru_cache(maxsize=1)
def kl_posterior() -> sp.Expr:
    """KL(N(mu~, beta~) || N(mu_theta, sigma_t^2)), n = 1, computed as E_q[log q - log p] by Gaussian moments."""
    v = sp.Dummy("v", real=True)
    logn = lambda m, s2: -(v - m) ** 2 / (2 * s2) - sp.log(2 * sp.pi * s2) / 2  # noqa: E731
    return GaussianExpectation(logn(MU_TILDE_EPS, BETA_TILDE) - logn(MU_THETA, sigma[t] ** 2), v,
                               MU_TILDE_EPS, BETA_TILDE).evaluate()


def _p24_1() -> Spec:
    kl = kl_posterior()
    const = kl.subs(eps_theta, eps)  # the theta-free part (KL at mu_theta = mu~)
    spectral_sq = (sigma[t] ** 2) ** 2  # ||sigma_t^2 I||_2^2 = sigma_t^4 for every n
    written = (MU_TILDE_EPS - MU_THETA) ** 2 / (2 * spectral_sq)
    c = chain_abar
    return Spec(
        [Check("written loss = KL - (its theta-free part)", c(written), c(kl - const))],
        "exact, general t, n = 1, pointwise in (x_0, eps); the KL is computed from the Gaussian moments "
        "and compared up to its theta-free constant",
        correction=r"L_{t-1} = \frac{1}{2\sigma_t^2}\mathbb E||\tilde\mu_t-\mu_\theta||^2 + C, C = \tfrac n2\big(\tilde\beta_t/\sigma_t^2"
                   r" - 1 - \log(\tilde\beta_t/\sigma_t^2)\big) free of theta (weight 1/(2 sigma_t^2), not 1/(2 sigma_t^4)); "
                   r"\epsilon_\theta(x_t, t)",
        correction_checks=[Check("KL = corrected loss + C", c(kl),
                                 c((MU_TILDE_EPS - MU_THETA) ** 2 / (2 * sigma[t] ** 2) + const))],
        notation=r"\epsilon_\theta(x_t, x) means \epsilon_\theta(x_t, t); the seed's L_t is DDPM's L_{t-1}",
        notes=[Check("the constant C is not zero in general (the line also omits + C)", c(const), 0)])


def _p24_2() -> Spec:
    factor = 1 / (2 * (sigma[t] ** 2) ** 2)
    return Spec(
        [Check("factor the norm: ||a (eps_theta - eps)||^2 = a^2 ||eps_theta - eps||^2",
               chain_abar(factor * (MU_TILDE_EPS - MU_THETA) ** 2),
               chain_abar(factor * (1 - alpha[t]) ** 2 / (alpha[t] * (1 - abar[t])) * (eps_theta - eps) ** 2))],
        "exact, general t, n = 1 (the step, with the weight carried over unchanged; its error is entry 1's)",
        notation=r"\epsilon_\theta(x_t, x) means \epsilon_\theta(x_t, t)")


# ---------------------------------------------------------------------------------------------
# P3: denoising score matching

P_DATA = sp.Function("p_data")
Q_COND = sp.Function("q_sigma")  # q_sigma(x~ | x)
Q_JOINT = sp.Function("q_joint")  # q_sigma(x~, x)
S_THETA = sp.Function("s_theta")
M = sp.Symbol("m", real=True)
V = sp.Symbol("v", positive=True)
_C = sp.symbols("c0 c1 c2", real=True)
S_POLY = _C[0] + _C[1] * x_tilde + _C[2] * x_tilde ** 2  # a generic quadratic score model
S2 = noise_std ** 2


def joint_expectation(g: sp.Expr) -> sp.Expr:
    """E over x ~ N(m, v), x~ | x ~ N(x, sigma^2) of a polynomial g (Gaussian moments)."""
    return GaussianExpectation(GaussianExpectation(g, x_tilde, x, S2), x, M, V)


def marginal_expectation(g: sp.Expr) -> sp.Expr:
    """E over x~ ~ q_sigma(x~) = N(m, v + sigma^2) (a sum of independent Gaussians)."""
    return GaussianExpectation(g, x_tilde, M, V + S2)


def _integrand(k: int) -> sp.Expr:
    """The integrand of line k of the chain (generic p_data, q_sigma, s_theta)."""
    p, q, s, Q = P_DATA(x), Q_COND(x_tilde, x), S_THETA(x_tilde), Q_JOINT(x_tilde, x)
    return {1: p * q * sp.Derivative(sp.log(q), x_tilde) * s,
            2: p * sp.Derivative(q, x_tilde) * s,
            3: p * sp.Derivative(Q / p, x_tilde) * s,
            4: sp.Derivative(Q, x_tilde) * s}[k]


_POINTWISE = "exact for generic functions p_data(x) > 0, q_sigma(x~|x) > 0, s_theta(x~): equal integrands"


def _p3_1() -> Spec:
    cond = normal_pdf(x_tilde, x, S2)
    g = sp.diff(sp.log(cond), x_tilde) * S_POLY
    double = sp.integrate(sp.integrate(normal_pdf(x, M, V) * cond * g, (x_tilde, -sp.oo, sp.oo)), (x, -sp.oo, sp.oo))
    return Spec([Check("E_{p q}[grad log q(x~|x) s] = double integral (Gaussian p_data, quadratic s)",
                       joint_expectation(g), double)],
                "exact on the instance p_data = N(m, v), q_sigma(x~|x) = N(x, sigma^2), s(x~) = c0 + c1 x~ + c2 x~^2 "
                "(the integral by SymPy, the expectation by Gaussian moments)")


def _p3_step(k: int, given=None) -> Callable[[], Spec]:
    return lambda: Spec([Check(f"integrand of line {k} = integrand of line {k + 1}", _integrand(k), _integrand(k + 1),
                               given=given or {})], _POINTWISE)


def _p3_5() -> Spec:
    joint = normal_pdf(x, M, V) * normal_pdf(x_tilde, x, S2)
    g4 = sp.simplify(sp.diff(joint, x_tilde) / joint) * S_POLY  # grad q(x~, x) = q(x~, x) * this / s
    qm = normal_pdf(x_tilde, M, V + S2)
    g5 = sp.diff(sp.log(qm), x_tilde) * S_POLY
    esm = marginal_expectation((S_POLY - sp.diff(sp.log(qm), x_tilde)) ** 2)
    dsm = joint_expectation((S_POLY - sp.diff(sp.log(normal_pdf(x_tilde, x, S2)), x_tilde)) ** 2)
    const = (marginal_expectation(sp.diff(sp.log(qm), x_tilde) ** 2)
             - joint_expectation(sp.diff(sp.log(normal_pdf(x_tilde, x, S2)), x_tilde) ** 2))
    return Spec(
        [Check("double integral of grad q(x~, x) s = integral of q(x~) grad log q(x~) s (Gaussian instance)",
               joint_expectation(g4), marginal_expectation(g5))],
        "exact on the Gaussian instance of line 1 (q_sigma(x~) = N(m, v + sigma^2))",
        notation="stray dx: the last integral is over x~ only (the x-integral was used to form q_sigma(x~))",
        notes=[Check("gap: ESM - DSM = C, free of s (the chain proves only the cross terms equal)", esm - dsm, const),
               Check("gap: C = E|grad log q(x~)|^2 - E|grad log q(x~|x)|^2 is not 0, so 'we are done' needs + C",
                     const, 0)])


# ---------------------------------------------------------------------------------------------
# P4: Tweedie's formula and the score-epsilon relation

TH1, TH2 = sp.symbols("theta_1 theta_2", real=True)
W = sp.Symbol("w", positive=True)
UNIT_W = {W: "unit"}
ATOMS = ((TH1, W), (TH2, 1 - W))  # a two-point prior: theta_1 w.p. w, theta_2 w.p. 1 - w
THETA = sp.Symbol("theta", real=True)
A_T, B_T = sp.sqrt(abar[t]), sp.sqrt(1 - abar[t])  # x_t = A_T x_0 + B_T eps


def lik(xv, th, s2=noise_std ** 2):
    """p(x | theta) = N(x; theta, sigma^2) = exp(-(x - theta)^2 / (2 sigma^2)) / (sqrt(2 pi) sigma), as the seed writes it."""
    return normal_pdf(xv, th, s2)


def prior_integral(f) -> sp.Expr:
    """int f(theta) p(theta) dtheta for the two-point prior (a finite sum)."""
    return sp.Add(*[wi * f(ti) for ti, wi in ATOMS])


P_X = prior_integral(lambda th: lik(x, th))
POST_MEAN = prior_integral(lambda th: th * lik(x, th)) / P_X  # E[theta | x] by Bayes
P_XT = prior_integral(lambda th: lik(x_t, A_T * th, 1 - abar[t]))  # p_t(x_t) for x_0 two-point
SCORE_T = sp.Derivative(sp.log(P_XT), x_t)
E_EPS = prior_integral(lambda th: lik(x_t, A_T * th, 1 - abar[t]) * (x_t - A_T * th) / B_T) / P_XT  # E[eps | x_t]
_TWO_POINT = "exact on a two-point prior (theta_1 w.p. w, theta_2 w.p. 1 - w, all symbolic); the integrals are finite sums"


def _p4_1() -> Spec:
    return Spec([Check("mean coefficient: sqrt(alpha_t) sqrt(abar_{t-1}) = sqrt(abar_t)",
                       sp.sqrt(alpha[t]) * sp.sqrt(abar[t - 1]), sp.sqrt(abar[t])),
                 Check("variance: alpha_t (1 - abar_{t-1}) + 1 - alpha_t = 1 - abar_t",
                       alpha[t] * (1 - abar[t - 1]) + 1 - alpha[t], 1 - abar[t]),
                 Check("base t = 1", sp.sqrt(alpha[1]), sp.sqrt(abar[1]))],
                "exact, general t: the closed form satisfies the forward recurrence (induction; P2.1)")


def _gaussian_ls(target: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """Least squares over linear models k0 + k1 x_t of E[(target - k0 - k1 x_t)^2] with x_0 ~ N(m, v),
    eps ~ N(0, 1); returns (fitted function of x_t, E-free score of p_t = N(A m, A^2 v + B^2))."""
    k0, k1, e, x0 = sp.symbols("k0 k1 e x0", real=True)
    xt = A_T * x0 + B_T * e
    inner = GaussianExpectation((target.subs({eps: e, x_0: x0}) - k0 - k1 * xt) ** 2, e, 0, 1).evaluate()
    loss = GaussianExpectation(inner, x0, M, V).evaluate()
    sol = sp.solve([sp.diff(loss, k0), sp.diff(loss, k1)], [k0, k1], dict=True)[0]
    fitted = sol[k0] + sol[k1] * x_t
    score = sp.diff(sp.log(normal_pdf(x_t, A_T * M, abar[t] * V + 1 - abar[t])), x_t)
    return fitted, score


def _p4_2() -> Spec:
    fitted, score = _gaussian_ls(eps)
    cond_mean = B_T * (x_t - A_T * M) / (abar[t] * V + 1 - abar[t])  # Cov(eps, x_t)/Var(x_t) (x_t - E x_t)
    return Spec([Check("least-squares fit of eps from x_t = E[eps | x_t]", fitted, cond_mean)],
                "exact on x_0 ~ N(m, v): 'eps_theta estimates eps' read as least squares, whose optimum "
                "(linear models suffice here) is the conditional mean E[eps | x_t]")


def _p4_3() -> Spec:
    fitted, score = _gaussian_ls(-eps / B_T)  # the denoising target grad log q(x_t|x_0) = -eps/sqrt(1 - abar_t)
    return Spec([Check("least-squares fit of the denoising target = grad log p_t(x_t)", fitted, score)],
                "exact on x_0 ~ N(m, v): the score model fitted by denoising score matching recovers grad log p(x_t)")


def _p4_4() -> Spec:
    dens = lik(x, THETA)
    moments = [sp.integrate(x ** k * dens, (x, -sp.oo, sp.oo)) for k in range(3)]
    return Spec([Check("mass 1", moments[0], 1), Check("mean theta", moments[1], THETA),
                 Check("variance sigma^2", moments[2] - moments[1] ** 2, noise_std ** 2)],
                "exact (SymPy integrals) for the density the proof uses in its third line",
                notation="a density is not 'distributed as': intended x | theta ~ N(theta, sigma^2), i.e. "
                         "p(x|theta) = exp(-(x - theta)^2/(2 sigma^2))/(sqrt(2 pi) sigma)")


def _p4_5() -> Spec:
    gauss_prior_mean = (V * x + noise_std ** 2 * M) / (V + noise_std ** 2)
    gauss_px = normal_pdf(x, M, V + noise_std ** 2)
    tweedie = lambda p: x + noise_std ** 2 * sp.Derivative(sp.log(p), x)  # noqa: E731
    return Spec([Check("two-point prior", POST_MEAN, tweedie(P_X), domains=UNIT_W),
                 Check("Gaussian prior N(m, v)", gauss_prior_mean, tweedie(gauss_px))],
                "exact on a two-point prior and on a Gaussian prior N(m, v) (posterior mean by conjugacy)")


_TW_LINES = {
    6: lambda: POST_MEAN,
    7: lambda: prior_integral(lambda th: th * lik(x, th)) / P_X,
    8: lambda: 1 / P_X * prior_integral(lambda th: th * lik(x, th)),
    9: lambda: 1 / P_X * (x * prior_integral(lambda th: lik(x, th))
                          + prior_integral(lambda th: noise_std ** 2 * sp.Derivative(lik(x, th), x))),
    10: lambda: 1 / P_X * (x * prior_integral(lambda th: lik(x, th))
                           + prior_integral(lambda th: noise_std ** 2 * sp.Derivative(lik(x, th), x))),
    11: lambda: x + noise_std ** 2 * sp.Derivative(sp.log(P_X), x),
}


def _p4_6() -> Spec:
    bayes = prior_integral(lambda th: th * (lik(x, th) / P_X))  # int theta p(theta|x) dtheta, p(theta|x) by Bayes
    return Spec([Check("E[theta | x] = int theta p(theta|x) dtheta", POST_MEAN, bayes, domains=UNIT_W)],
                _TWO_POINT + " (the definition of the conditional mean)")


def _p4_tw(k: int) -> Callable[[], Spec]:
    return lambda: Spec([Check(f"line {k - 1} = line {k}", _TW_LINES[k - 1](), _TW_LINES[k](), domains=UNIT_W)],
                        _TWO_POINT)


def _p4_12() -> Spec:
    post = prior_integral(lambda th: A_T * th * lik(x_t, A_T * th, 1 - abar[t])) / P_XT
    return Spec([Check("E[sqrt(abar_t) x_0 | x_t] = x_t + (1 - abar_t) grad log p(x_t)", post,
                       x_t + (1 - abar[t]) * SCORE_T, domains=UNIT_W)],
                _TWO_POINT + " for x_0; '~' is read as the text says: the right side is E[sqrt(abar_t) x_0 | x_t]")


def _p4_13() -> Spec:
    fitted, _ = _gaussian_ls(eps)
    cond_mean = B_T * (x_t - A_T * M) / (abar[t] * V + 1 - abar[t])
    return Spec(
        [Check("if eps_theta(x_t, t) = eps, eps is a function of x_t: eps(x_t, x_0 = theta_1) = eps(x_t, x_0 = theta_2)",
               (x_t - A_T * TH1) / B_T, (x_t - A_T * TH2) / B_T, domains=UNIT_W)],
        "exact: two data points theta_1, theta_2 reach the same x_t with different noises, so no function "
        "eps_theta(x_t, t) can equal eps",
        correction=r"\epsilon_\theta(x_t,t) \approx \mathbb E[\epsilon|x_t] (the least-squares optimum)",
        correction_checks=[Check("least-squares optimum of eps from x_t = E[eps | x_t] (x_0 ~ N(m, v))",
                                 fitted, cond_mean)])


def _p4_14() -> Spec:
    return Spec(
        [Check("eps (at x_0 = theta_1) = -sqrt(1 - abar_t) grad log p(x_t)", (x_t - A_T * TH1) / B_T, -B_T * SCORE_T,
               domains=UNIT_W)],
        _TWO_POINT + " for x_0",
        correction=r"\mathbb E[\epsilon|x_t] = -\sqrt{1-\bar\alpha_t}\nabla\log p(x_t)",
        correction_checks=[Check("E[eps | x_t] = -sqrt(1 - abar_t) grad log p(x_t)", E_EPS, -B_T * SCORE_T,
                                 domains=UNIT_W)])


def _p4_15() -> Spec:
    return Spec([Check("ideal models: grad log p(x_t) = -E[eps | x_t]/sqrt(1 - abar_t)", SCORE_T, -E_EPS / B_T,
                       domains=UNIT_W)],
                _TWO_POINT + " for x_0, with the ideal models s* = grad log p_t and eps* = E[eps | x_t]")


# ---------------------------------------------------------------------------------------------
# the entries

_P3_START = (r"\mathbb{E}_{x \sim p_{\text{data}}(x), \tilde{x} \sim q_{\sigma}(\tilde{x}|x)} "
             r"[\nabla_{\tilde{x}} \log q_{\sigma}(\tilde{x}|x)^{T} s_{\theta}(\tilde{x})]")

ENTRIES: list[Entry] = [
    Entry("P2.1", 1, "Unrolling x_t = sqrt(alpha_t) x_{t-1} + sqrt(1 - alpha_t) eps_{t-1} down to x_0.", _p21_1),
    Entry("P2.1", 2, "Defines eps, the normalised noise sum, which the text then shows is N(0, I).", _p21_2),
    Entry("P2.1", 3, "Variance of eps: sum of squared coefficients over the normaliser.", _p21_3),
    Entry("P2.1", 4, "The numerator telescopes to 1 - alpha_t ... alpha_1.", _p21_4),
    Entry("P2.1", 5, "Cancelling: (1 - abar_t)/(1 - abar_t) I = I.", _p21_5),
    Entry("P2.2", 1, "eps given x_t and x_0, from x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps (P2.1).", _p22_1),
    Entry("P2.2", 2, "Bayes' rule q(x_{t-1}|x_t,x_0) = q(x_t|x_{t-1}) q(x_{t-1}|x_0)/q(x_t|x_0), written through the "
                     "standardised noises eps', eps_{t-1}, eps.", _p22_2),
    Entry("P2.2", 3, "eps_{t-1} from the forward step x_t = sqrt(alpha_t) x_{t-1} + sqrt(1 - alpha_t) eps_{t-1}.", _p22_3),
    Entry("P2.2", 4, "Defines eps', the standardised x_{t-1} given x_0.", _p22_4),
    Entry("P2.2", 5, "eps' expanded with P2.1's unrolled x_{t-1}.", _p22_5),
    Entry("P2.2", 6, "The density of entry 2 with N(0, I) densities plugged in.", _p22_6),
    Entry("P2.2", 7, "mu~_t, the mean of the Gaussian in x_{t-1} of entry 6 (completing the square).", _p22_7),
    Entry("P2.2", 8, "mu~_t simplified (1/(1-alpha_t) factors cleared).", _p22_8),
    Entry("P2.2", 9, "mu~_t with x_0 = (x_t - sqrt(1 - abar_t) eps)/sqrt(abar_t) (entry 1).", _p22_9),
    Entry("P2.2", 10, "mu~_t in terms of x_t and eps.", _p22_10),
    Entry("P2.3", 1, "Bound, line 1: E_q as nested sums (discrete notation for integrals).",
          _p23("E_q[log q/p] = nested sums", "A0", "A1")),
    Entry("P2.3", 2, "p(x_{0:T}) = p(x_{1:T}|x_0) p(x_0) and sum_{x_{1:T}} q(x_{1:T}|x_0) = 1.",
          _p23("line 1 = line 2", "A1", "A2")),
    Entry("P2.3", 3, "Drop the inner KL(q(x_{1:T}|x_0) || p(x_{1:T}|x_0)) >= 0.",
          lambda: Spec(_on_chains("line 2 >= line 3", "A2", "A3", ">="),
                       "on the two discrete instances of line 1: the difference (an exact constant, sum c_k log "
                       "prime_k) is nonnegative, its sign decided by SymPy (an instance check)")),
    Entry("P2.3", 4, "Rewriting the sum as an expectation.", _p23("line 3 = line 4", "A3", "A4")),
    Entry("P2.3", 5, "Decomposition: the chain starts at '= E_q[L_T + sum L_{t-1} + L_0 terms - log q/p]', i.e. "
                     "the claimed right side minus the left side, to be shown 0.",
          _p23("line 1 = (claimed decomposition) - E_q log q(x_{1:T}|x_0)/p(x_{0:T})", "D1", "claim_difference",
               notation="the chain opens with '=' and no left side; intended: (right side - left side of the "
                        "claimed decomposition) = this expression")),
    Entry("P2.3", 6, "The t-sum written out; log q(x_{1:T}|x_0)/p(x_{0:T}) factorised.", _p23_6),
    Entry("P2.3", 7, "Tower rule: E_q[sum_{x_{t-1}} q(x_{t-1}|x_t,x_0) f] = "
                     "sum_{x_{t-1},x_t,x_0} q(x_{t-1},x_t,x_0) f.", _p23_7),
    Entry("P2.3", 8, "The difference is 0 (so the decomposition holds).",
          lambda: Spec(_on_chains("corrected line 3 = 0", "D3c", 0), _DISCRETE,
                       notes=_on_chains("line 3 read charitably (as written) = 0", "D3", 0))),
    Entry("P2.4", 1, "L_t = KL(q(x_{t-1}|x_t,x_0) || p_theta(x_{t-1}|x_t)) with Sigma_theta = sigma_t^2 I, mu~_t from "
                     "P2.2 and mu_theta = (x_t - (1 - alpha_t)/sqrt(1 - abar_t) eps_theta)/sqrt(alpha_t).", _p24_1),
    Entry("P2.4", 2, "Pulling the common factor out of the norm.", _p24_2),
    Entry("P3", 1, "Starts from the cross term " + _P3_START + " (the 'second expression'): the expectation written as "
                   "an integral against p_data(x) q_sigma(x~|x).", _p3_1),
    Entry("P3", 2, "q grad log q = grad q.", _p3_step(1)),
    Entry("P3", 3, "q_sigma(x~|x) = q_sigma(x~, x)/p_data(x).",
          _p3_step(2, {Q_JOINT(x_tilde, x): P_DATA(x) * Q_COND(x_tilde, x)})),
    Entry("P3", 4, "p_data(x) does not depend on x~.", _p3_step(3)),
    Entry("P3", 5, "Integrate out x: int grad q(x~, x) dx = grad q(x~) = q(x~) grad log q(x~).", _p3_5),
    Entry("P4", 1, "The forward marginal (P2.1).", _p4_1),
    Entry("P4", 2, "eps_theta is trained to predict eps.", _p4_2),
    Entry("P4", 3, "The score model approximates the score.", _p4_3),
    Entry("P4", 4, "Lemma hypothesis: the observation model.", _p4_4),
    Entry("P4", 5, "Tweedie's formula (the lemma).", _p4_5),
    Entry("P4", 6, "Proof line 1: the definition of the conditional mean.", _p4_6),
    Entry("P4", 7, "Bayes: p(theta|x) = p(x|theta) p(theta)/p(x).", _p4_tw(7)),
    Entry("P4", 8, "The Gaussian likelihood written out.", _p4_tw(8)),
    Entry("P4", 9, "theta N(x; theta, sigma^2) = x N + sigma^2 d/dx N.", _p4_tw(9)),
    Entry("P4", 10, "The Gaussian written back as p(x|theta).", _p4_tw(10)),
    Entry("P4", 11, "int p(x|theta) p(theta) dtheta = p(x), derivative under the integral, p'/p = (log p)'.",
          _p4_tw(11)),
    Entry("P4", 12, "Tweedie for x_t | x_0 ~ N(sqrt(abar_t) x_0, 1 - abar_t): theta = sqrt(abar_t) x_0, sigma^2 = 1 - abar_t.",
          _p4_12),
    Entry("P4", 13, "The noise model set equal to the noise.", _p4_13),
    Entry("P4", 14, "The noise expressed by the score, from entry 12 and x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps.",
          _p4_14),
    Entry("P4", 15, "The relation between the DDPM noise model and the score model.", _p4_15),
]


# The seed's LaTeX, verbatim (typos included), one string per entry.
LATEX = {
    ('P2.1', 1): r"""x_t = \sqrt{\alpha_t \alpha_{t-1} \cdots \alpha_1} x_0 + \sqrt{1 - \alpha_t} \epsilon_{t-1} + \sqrt{\alpha_t (1 - \alpha_{t-1})} \epsilon_{t-2} + \cdots + \sqrt{\alpha_t \alpha_{t-1} \cdots \alpha_2 (1 - \alpha_1)} \epsilon_0.""",
    ('P2.1', 2): r"""\epsilon = \frac{1}{\sqrt{1 - \alpha_t}} \left( \sqrt{1 - \alpha_t} \epsilon_{t-1} + \sqrt{\alpha_t (1 - \alpha_{t-1})} \epsilon_{t-2} + \dots + \sqrt{\alpha_t \alpha_{t-1} \dots \alpha_2 (1 - \alpha_1)} \epsilon_0 \right).""",
    ('P2.1', 3): r"""\mathbb{V}(\epsilon) = \frac{(1 - \alpha_t)\mathbf{I} + \alpha_t(1 - \alpha_{t-1})\mathbf{I} + \dots + \alpha_t\alpha_{t-1} \dots \alpha_2(1 - \alpha_1)\mathbf{I}}{1 - \bar{\alpha}_t}""",
    ('P2.1', 4): r"""= \frac{1 - \alpha_t\alpha_{t-1} \dots \alpha_1}{1 - \alpha_t\alpha_{t-1} \dots \alpha_1}\mathbf{I}""",
    ('P2.1', 5): r"""= \mathbf{I}.""",
    ('P2.2', 1): r"""\epsilon = \frac{x_t - \sqrt{\bar{\alpha}_t} x_0}{\sqrt{1 - \bar{\alpha}_t}}.""",
    ('P2.2', 2): r"""q(x_{t-1}|x_t, x_0) = \frac{p_{\epsilon'}(\epsilon')p_{\epsilon_{t-1}}(\epsilon_{t-1})}{p_{\epsilon}(\epsilon)},""",
    ('P2.2', 3): r"""\epsilon_{t-1} = \frac{x_t - \sqrt{\alpha_t} x_{t-1}}{\sqrt{1 - \alpha_t}},""",
    ('P2.2', 4): r"""\epsilon' = \frac{x_{t-1} - \sqrt{\alpha_{t-1} \cdots \alpha_1} x_0}{\sqrt{1 - \alpha_{t-1} \cdots \alpha_1}}""",
    ('P2.2', 5): r"""= \frac{\sqrt{1 - \alpha_{t-1}} \epsilon_{t-2} + \sqrt{\alpha_{t-1} (1 - \alpha_{t-2})} \epsilon_{t-3} + \dots + \sqrt{\alpha_{t-2} \cdots \alpha_2 (1 - \alpha_1)} \epsilon_0}{\sqrt{1 - \alpha_{t-1} \cdots \alpha_1}}""",
    ('P2.2', 6): r"""q(x_{t-1}|x_t, x_0) = \frac{1}{(2\pi)^{\frac{n}{2}}} \exp\left(\frac{1}{2} \left(\frac{||x_t - \sqrt{\bar{\alpha}_t}x_0||^2}{1 - \bar{\alpha}_t} - \frac{||x_t - \sqrt{\bar{\alpha}_t}x_{t-1}||^2}{1 - \bar{\alpha}_t} - \frac{||x_{t-1} - \sqrt{\bar{\alpha}_{t-1}}x_0||^2}{1 - \bar{\alpha}_{t-1}}\right)\right).""",
    ('P2.2', 7): r"""\tilde{\mu}_{t} = \frac{\frac{2\sqrt{\alpha_{t}}}{1-\alpha_{t}}x_{t} + \frac{2\sqrt{\alpha_{t-1}}}{1-\overline{\alpha_{t-1}}}x_{0}}{2\left(\frac{\alpha_{t}}{1-\alpha_{t}} + \frac{1}{1-\overline{\alpha_{t-1}}}\right)}""",
    ('P2.2', 8): r"""= \frac{\sqrt{\alpha_{t}}(1 - \frac{\overline{\alpha_{t}}}{\alpha_{t}})x_{t} + (1 - \alpha_{t}) \cdot \sqrt{\frac{\overline{\alpha_{t}}}{\alpha_{t}}}x_{0}}{1 - \overline{\alpha_{t}}}""",
    ('P2.2', 9): r"""= \frac{(\alpha_{t} - \overline{\alpha_{t}})x_{t} + (1 - \alpha_{t}) \cdot (-\sqrt{1 - \overline{\alpha_{t}}}\epsilon + x_{t})}{\sqrt{\alpha_{t}}(1 - \overline{\alpha_{t}})}""",
    ('P2.2', 10): r"""= \frac{1}{\sqrt{\alpha_{t}}}\left(x_{t} - \frac{1 - \alpha_{t}}{\sqrt{1 - \overline{\alpha_{t}}}}\epsilon\right).""",
    ('P2.3', 1): r"""\mathbb{E}_{q(x_{0:T})} \left[ \log \frac{q(x_{1:T}|x_0)}{p_{\theta}(x_{0:T})} \right] = \sum_{x_0} q(x_0) \sum_{x_{1:T}} q(x_{1:T}|x_0) \log \frac{q(x_{1:T}|x_0)}{p_{\theta}(x_{0:T})}""",
    ('P2.3', 2): r"""= \sum_{x_0} q(x_0) \left( \sum_{x_{1:T}} q(x_{1:T}|x_0) \log \frac{q(x_{1:T}|x_0)}{p_{\theta}(x_{1:T}|x_0)} - \log p_{\theta}(x_0) \right)""",
    ('P2.3', 3): r"""\geq \sum_{x_0} q(x_0) (-\log p_{\theta}(x_0))""",
    ('P2.3', 4): r"""= -\mathbb{E}_{q(x_0)} [\log p_{\theta}(x_0)].""",
    ('P2.3', 5): '\\begin{split} &= \\mathbb{E}_q \\Bigg[ \\sum_{x_T} q(x_T | x_0) \\log \\frac{q(x_T | x_0)}{p_\\theta(x_T)} + \\sum_{t=2}^T \\sum_{x_{t-1}} q(x_{t-1} | x_t, x_0) \\log \\frac{q(x_{t-1} | x_t, x_0)}{p_\\theta(x_{t-1} | x_t)} - \\log p_\\theta(x_0 | x_1) \\\\ &- \\log \\frac{q(x_{1:T} | x_0)}{p_\\theta(x_{0:T})} \\Bigg] \\\\',
    ('P2.3', 6): '&= \\mathbb{E}_q \\Bigg[ \\sum_{x_T} q(x_T | x_0) \\log \\frac{q(x_T | x_0)}{p_\\theta(x_T)} + \\sum_{x_{T-1}} q(x_{T-1} | x_T, x_0) \\log \\frac{q(x_{T-1} | x_T, x_0)}{p_\\theta(x_{T-1} | x_T)} \\\\ &+ \\sum_{x_{T-2}} q(x_{T-2} | x_{T-1}, x_0) \\log \\frac{q(x_{T-2} | x_T, x_0)}{p_\\theta(x_{T-2} | x_{T-1})} + \\dots + \\sum_{x_1} q(x_1 | x_2, x_0) \\log \\frac{q(x_1 | x_2, x_0)}{p_\\theta(x_1 | x_2)} \\\\ &- \\log p_\\theta(x_0 | x_1) - \\log \\frac{q(x_T | x_0) q(x_{T-1} | x_T, x_0) \\dots q(x_1 | x_2, x_0)}{p_\\theta(x_T) p_\\theta(x_{T-1} | x_T) \\dots p_\\theta(x_0 | x_1)} \\Bigg] \\\\',
    ('P2.3', 7): r"""&= \sum_{x_T, x_0} q(x_T, x_0) \log \frac{q(x_T | x_0)}{p_\theta(x_T)} + \sum_{x_{T-1}, x_T, x_0} q(x_{T-1}, x_T, x_0) \log \frac{q(x_{T-1} | x_T, x_0)}{p_\theta(x_{T-1} | x_T)} \\ &+ \sum_{x_1, x_2, x_0} q(x_T, x_0) \log \frac{q(x_T | x_0)}{p_\theta(x_T)} + \sum_{x_{T-1}, x_T, x_0} q(x_{T-1}, x_T, x_0) \log \frac{q(x_{T-1} | x_T, x_0)}{p_\theta(x_{T-1} | x_T)} + \dots \\ &+ \sum_{x_1, x_2, x_0} q(x_T, x_0) \log \frac{q(x_T | x_0)}{p_\theta(x_T)} + \sum_{x_{T-1}, x_T, x_0} q(x_{T-1}, x_T, x_0) \log \frac{q(x_{T-1} | x_T, x_0)}{p_\theta(x_{T-1} | x_T)} + \dots \\ &+ \sum_{x_1, x_2, x_0} q(x_1, x_2, x_0) \log \frac{q(x_1 | x_2, x_0)}{p_\theta(x_1 | x_2)} \bigg]""",
    ('P2.3', 8): r"""= 0, \end{split}""",
    ('P2.4', 1): r"""L_{t} = \frac{1}{2||\Sigma_{\theta}||_{2}^{2}} \mathbb{E}_{x_{0},\epsilon} \left[ \left| \left| \frac{1}{\sqrt{\alpha_{t}}} \left( x_{t} - \frac{1 - \alpha_{t}}{\sqrt{1 - \overline{\alpha_{t}}}} \epsilon \right) - \frac{1}{\sqrt{\alpha_{t}}} \left( x_{t} - \frac{1 - \alpha_{t}}{\sqrt{1 - \overline{\alpha_{t}}}} \epsilon_{\theta}(x_{t}, x) \right) \right| \right|^{2} \right]""",
    ('P2.4', 2): r"""= \frac{1}{2||\Sigma_{\theta}||_{2}^{2}} \cdot \frac{(1 - \alpha_{t})^{2}}{\alpha_{t}(1 - \overline{\alpha_{t}})} \mathbb{E}_{x_{0},\epsilon} \left[ \left| \left| \epsilon_{\theta}(x_{t}, x) - \epsilon \right| \right|^{2} \right].""",
    ('P3', 1): r"""= \iint p_{\text{data}}(x) q_{\sigma}(\tilde{x}|x) \nabla_{\tilde{x}} \log q_{\sigma}(\tilde{x}|x)^{T} s_{\theta}(\tilde{x}) d\tilde{x} dx""",
    ('P3', 2): r"""= \iint p_{\text{data}}(x) \nabla_{\tilde{x}} q_{\sigma}(\tilde{x}|x)^{T} s_{\theta}(\tilde{x}) d\tilde{x} dx""",
    ('P3', 3): r"""= \iint p_{\text{data}}(x) \nabla_{\tilde{x}} \left( \frac{q_{\sigma}(\tilde{x}, x)}{p_{\text{data}}(x)} \right)^{T} s_{\theta}(\tilde{x}) d\tilde{x} dx""",
    ('P3', 4): r"""= \iint \nabla_{\tilde{x}} (q_{\sigma}(\tilde{x}, x))^{T} s_{\theta}(\tilde{x}) d\tilde{x} dx""",
    ('P3', 5): r"""= \int q_{\sigma}(\tilde{x}) \nabla_{\tilde{x}} \log q_{\sigma}(\tilde{x})^{T} s_{\theta}(\tilde{x}) d\tilde{x} dx.""",
    ('P4', 1): r"""x_t = \sqrt{\bar{\alpha}_t} x_0 + \sqrt{1 - \bar{\alpha}_t} \epsilon, \epsilon \sim \mathcal{N}(0, \mathbf{I}),""",
    ('P4', 2): r"""\epsilon \approx \epsilon_{\theta}(x_t, t).""",
    ('P4', 3): r"""s_{\theta}(x_t, t) \approx \nabla \log p(x_t),""",
    ('P4', 4): r"""p(x|\theta) \sim \mathcal{N}(\theta, \sigma^2).""",
    ('P4', 5): r"""\mathbb{E}_{\theta}[\theta|x] = x + \sigma^2 \frac{d}{dx} \log p(x).""",
    ('P4', 6): r"""\mathbb{E}_{\theta}[\theta|x] = \int \theta p(\theta|x)d\theta""",
    ('P4', 7): r"""= \int \theta \frac{p(x|\theta)p(\theta)}{p(x)}d\theta""",
    ('P4', 8): r"""= \frac{1}{p(x)} \int \theta \frac{1}{\sqrt{2\pi}\sigma} e^{-\frac{1}{2\sigma^2}(x-\theta)^2} p(\theta)d\theta""",
    ('P4', 9): r"""= \frac{1}{p(x)} \left( x \int p(x|\theta)p(\theta)d\theta + \int \sigma^2 \frac{d}{dx} \left( \frac{1}{\sqrt{2\pi}\sigma} e^{-\frac{1}{2\sigma^2}(x-\theta)^2} \right) p(\theta)d\theta \right)""",
    ('P4', 10): r"""= \frac{1}{p(x)} \left( x \int p(x|\theta)p(\theta)d\theta + \int \sigma^2 \frac{d}{dx} \left( p(x|\theta) \right) p(\theta)d\theta \right)""",
    ('P4', 11): r"""= x + \sigma^2 \frac{d}{dx} \log p(x).""",
    ('P4', 12): r"""\sqrt{\bar{\alpha}_t} x_0 \approx x_t + (1 - \bar{\alpha}_t) \nabla \log p(x_t),""",
    ('P4', 13): r"""\epsilon_{\theta}(x_t, t) = \epsilon""",
    ('P4', 14): r"""= -\sqrt{1 - \bar{\alpha_t}} \nabla \log p(x_t).""",
    ('P4', 15): r"""s_{\theta}(x_t, t) = -\frac{1}{\sqrt{1 - \bar{\alpha}_t}} \epsilon_{\theta}(x_t, t).""",
}
