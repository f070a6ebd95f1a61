"""Problem 3 - denoising score matching (``dsm``), Vincent (2011).

    E_{q_sigma(x~)} ||s(x~) - grad log q_sigma(x~)||^2
      = E_{p(x) q_sigma(x~|x)} ||s(x~) - grad_x~ log q_sigma(x~|x)||^2 + C,   C free of s,

with q_sigma(x~|x) = N(x, sigma^2): the regression target is -(x~ - x)/sigma^2.
"""
from __future__ import annotations

import sympy as sp

from .engine import Derivation, GaussianExpectation, InstanceCheck, Step, canonical
from .gaussian import normal_pdf
from .identity import Identity
from .symbols import noise_std, x, x_tilde

SLOTS = {
    "target": -(x_tilde - x) / noise_std ** 2,
}


p_data = sp.Function("p_data")      # p(x): any data density
q_cond = sp.Function("q_cond")      # q_sigma(x~ | x)
q_joint = sp.Function("q_joint")    # q_sigma(x~, x) = p(x) q_sigma(x~ | x)
q_marg = sp.Function("q_marg")      # q_sigma(x~) = int q_sigma(x~, x) dx
s_model = sp.Function("s")          # the score model s_theta(x~)
INF = sp.oo


def _I2(f):
    return sp.Integral(f, (x_tilde, -INF, INF), (x, -INF, INF))


def _I1(f):
    return sp.Integral(f, (x_tilde, -INF, INF))


def _d(f):
    return sp.Derivative(f, x_tilde)




def target_proof() -> Derivation:
    return Derivation(
        "the regression target grad_x~ log q_sigma(x~ | x) for q_sigma(x~|x) = N(x, sigma^2)",
        [Step(_d(sp.log(normal_pdf(x_tilde, x, noise_std ** 2))), "grad of the Gaussian log density"),
         Step(SLOTS["target"], "= -(x~ - x)/sigma^2, the slot `target`")])


def cross_term_proof() -> Derivation:
    """The seed's chain: E_{p(x) q(x~|x)}[grad log q(x~|x) s] = E_{q(x~)}[grad log q(x~) s]."""
    qc, J, qm, s_ = q_cond(x_tilde, x), q_joint(x_tilde, x), q_marg(x_tilde), s_model(x_tilde)
    return Derivation(
        "cross terms: E_{p q(x~|x)}[s grad log q(x~|x)] = E_{q(x~)}[s grad log q(x~)]",
        [Step(_I2(p_data(x) * qc * _d(sp.log(qc)) * s_), "E over p(x) q_sigma(x~|x)"),
         Step(_I2(p_data(x) * _d(qc) * s_), "q grad log q = grad q"),
         Step(_I2(p_data(x) * _d(J / p_data(x)) * s_), "q_sigma(x~|x) = q_sigma(x~, x)/p(x)",
              given={qc: J / p_data(x)}),
         Step(_I2(_d(J) * s_), "p(x) does not depend on x~"),
         Step(_I1(_d(sp.Integral(J, (x, -INF, INF))) * s_),
              "Fubini and differentiation under the integral sign (Gaussian q_sigma)", hypotheses=("leibniz",)),
         Step(_I1(_d(qm) * s_), "int q_sigma(x~, x) dx = q_sigma(x~)",
              given={sp.Integral(J, (x, -INF, INF)): qm}),
         Step(_I1(qm * _d(sp.log(qm)) * s_), "grad q = q grad log q")],
        assumptions="p a density; q_sigma Gaussian, so every integrand is absolutely integrable for polynomial-growth s",
        hypotheses=("fubini",))


def constant_proof() -> Derivation:
    """The part the seed leaves out: the two objectives differ by a constant C free of s."""
    qc, J, qm, s_ = q_cond(x_tilde, x), q_joint(x_tilde, x), q_marg(x_tilde), s_model(x_tilde)
    g_marg = _I1(qm * _d(sp.log(qm)) ** 2)
    g_cond = _I2(J * _d(sp.log(qc)) ** 2)
    marginal_s2 = {canonical(_I2(J * s_ ** 2)): canonical(_I1(qm * s_ ** 2))}
    cross = {canonical(_I2(J * _d(sp.log(qc)) * s_)): canonical(_I1(qm * _d(sp.log(qm)) * s_))}
    return Derivation(
        "E_q||s - grad log q||^2 - E_{pq}||s - grad log q(x~|x)||^2 = C, free of s",
        [Step(_I1(qm * (s_ - _d(sp.log(qm))) ** 2) - _I2(J * (s_ - _d(sp.log(qc))) ** 2),
              "the explicit objective minus the denoising objective, with q(x~,x) = p(x) q(x~|x)"),
         Step((_I1(qm * s_ ** 2) - _I2(J * s_ ** 2))
              - 2 * (_I1(qm * _d(sp.log(qm)) * s_) - _I2(J * _d(sp.log(qc)) * s_)) + g_marg - g_cond,
              "expand the squares; linearity"),
         Step(-2 * (_I1(qm * _d(sp.log(qm)) * s_) - _I2(J * _d(sp.log(qc)) * s_)) + g_marg - g_cond,
              "E_{p q}[s(x~)^2] = E_{q(x~)}[s(x~)^2]: the x~-marginal of q(x~, x) is q(x~)", given=marginal_s2),
         Step(g_marg - g_cond, "the cross terms are equal (derivation above)", given=cross)],
        assumptions="every integrand absolutely integrable (Gaussian q_sigma, polynomial-growth s)",
        hypotheses=("fubini",))


def proof() -> list[Derivation]:
    return [target_proof(), cross_term_proof(), constant_proof()]


# ----- closed-form instances: Gaussian and two-component mixture data, quadratic score model -----
th = sp.symbols("theta_0:3", real=True)
_S2 = sp.Rational(1, 4)
_MIX = [(sp.Rational(1, 3), sp.Integer(-2), sp.Rational(1, 2)), (sp.Rational(2, 3), sp.Integer(1), sp.Rational(3, 2))]


def _s(v):
    return th[0] + th[1] * v + th[2] * v ** 2


def _objective_parts(mix, s2):
    """(E_q[s^2], E_q[s grad log q], E_pq[s^2], E_pq[s * target]) in closed form by Gaussian moments."""
    target = SLOTS["target"].subs(noise_std ** 2, s2).subs(noise_std, sp.sqrt(s2))
    e_q_s2 = e_q_cross = e_pq_s2 = e_pq_cross = sp.Integer(0)
    for w, m, v in mix:
        V = v + s2
        e_q_s2 += w * GaussianExpectation(_s(x_tilde) ** 2, x_tilde, m, V).evaluate()
        e_q_cross += w * GaussianExpectation(_s(x_tilde) * (-(x_tilde - m) / V), x_tilde, m, V).evaluate()
        inner_s2 = GaussianExpectation(_s(x_tilde) ** 2, x_tilde, x, s2).evaluate()
        inner_cross = GaussianExpectation(sp.expand(_s(x_tilde) * target), x_tilde, x, s2).evaluate()
        e_pq_s2 += w * GaussianExpectation(inner_s2, x, m, v).evaluate()
        e_pq_cross += w * GaussianExpectation(inner_cross, x, m, v).evaluate()
    return e_q_s2, e_q_cross, e_pq_s2, e_pq_cross


def gaussian_instance():
    """x ~ N(-2, 1/2), sigma^2 = 1/4: J_ESM(theta) - J_DSM(theta) = 1/(v + sigma^2) - 1/sigma^2 for all theta."""
    (w, m, v), = _MIX[:1]
    e_q_s2, e_q_cross, e_pq_s2, e_pq_cross = _objective_parts([(1, m, v)], _S2)
    g_marg, g_cond = 1 / (v + _S2), 1 / _S2  # E (x~ - m)^2 / V^2 and E (x~ - x)^2 / sigma^4
    return sp.expand((e_q_s2 - 2 * e_q_cross + g_marg) - (e_pq_s2 - 2 * e_pq_cross + g_cond)), g_marg - g_cond


def mixture_instance():
    """Two-component mixture data: the theta-dependent parts of the two objectives agree exactly."""
    e_q_s2, e_q_cross, e_pq_s2, e_pq_cross = _objective_parts(_MIX, _S2)
    return sp.expand(e_q_s2 - 2 * e_q_cross), sp.expand(e_pq_s2 - 2 * e_pq_cross)


def instances():
    return [InstanceCheck("Gaussian data N(-2, 1/2), sigma^2 = 1/4, s = theta_0 + theta_1 x~ + theta_2 x~^2",
                          gaussian_instance),
            InstanceCheck("two-component Gaussian-mixture data, quadratic s: theta-dependent parts equal",
                          mixture_instance)]


IDENTITIES = [
    Identity(id="dsm", problem="P3", slots=SLOTS,
             statement="E_q||s - grad log q_sigma||^2 = E_{p q_sigma(x~|x)}||s - grad log q_sigma(x~|x)||^2 + C, "
                       "grad_x~ log q_sigma(x~|x) = <<target>>",
             latex=r"\mathbb E_{q_\sigma(\tilde x)}\|s-\nabla\log q_\sigma(\tilde x)\|^2"
                   r"=\mathbb E_{p(x)q_\sigma(\tilde x\mid x)}\big\|s-<<target>>\big\|^2+C",
             proof=proof, instances=instances, doc=__doc__),
]
