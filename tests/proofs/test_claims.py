"""check_claim, slot by slot: correct answers written differently hold (PROVED); wrong answers of
the usual kinds (index off by one, missing square root, alpha for abar, flipped sign, inverted
ratio) are refuted with a counterexample that really separates them."""
import pytest
import sympy as sp

from proofs import ClaimError, Verdict, check_claim
from proofs.symbols import abar, alpha, beta, noise_std, sigma, t, x, x_tilde

S, A, AB, B, SG = sp.sqrt, alpha[t], abar[t], beta[t], sigma[t]
ABP = abar[t - 1]

RIGHT = [
    ("forward_marginal", "mean_coef", S(ABP * A)),
    ("forward_marginal", "mean_coef", S(ABP) * S(A)),
    ("forward_marginal", "variance", 1 - ABP * A),
    ("forward_marginal", "variance", B + A * (1 - ABP)),
    ("posterior", "coef_x0", S(ABP) * (1 - A) / (1 - ABP * A)),
    ("posterior", "coef_x0", (1 - A) * S(AB / A) / (1 - AB)),  # the seed's second line
    ("posterior", "coef_xt", S(A) * (1 - ABP) / (1 - ABP * A)),
    ("posterior", "coef_xt", (A - AB) / (S(A) * (1 - AB))),  # sqrt(alpha)(1 - abar/alpha)/(1 - abar)
    ("posterior", "variance", 1 / (1 / (1 - ABP) + A / B)),  # precision form
    ("posterior", "variance", (1 - ABP) * (1 - A) / (1 - ABP * A)),
    ("posterior_eps", "coef_xt", S(A) / A),
    ("posterior_eps", "coef_xt", S(ABP / AB)),
    ("posterior_eps", "coef_eps", -(1 - A) / S(A * (1 - AB))),
    ("posterior_eps", "coef_eps", -B * S(1 - AB) / (S(A) * (1 - AB))),
    ("eps_loss", "weight", B ** 2 / (2 * SG ** 2 * A * (1 - ABP * A))),
    ("eps_loss", "weight", (1 - A) ** 2 / (2 * SG ** 2 * (A - A * AB))),
    ("dsm", "target", (x - x_tilde) / noise_std ** 2),
    ("dsm", "target", x / noise_std ** 2 - x_tilde / noise_std ** 2),
    ("tweedie", "coef", noise_std ** 4 / noise_std ** 2),
    ("tweedie", "coef", S(noise_std ** 4)),
    ("score_eps", "coef", -1 / S(1 - ABP * A)),
    ("score_eps", "coef", -S(1 - AB) / (1 - AB)),
]

# (identity, slot, kind of error, wrong expression)
WRONG = [
    ("forward_marginal", "mean_coef", "off by one", S(ABP)),
    ("forward_marginal", "mean_coef", "missing sqrt", AB),
    ("forward_marginal", "mean_coef", "alpha for abar", S(A)),
    ("forward_marginal", "mean_coef", "sign", -S(AB)),
    ("forward_marginal", "mean_coef", "inverted", 1 / S(AB)),
    ("forward_marginal", "variance", "off by one", 1 - abar[t + 1]),
    ("forward_marginal", "variance", "extra sqrt", S(1 - AB)),
    ("forward_marginal", "variance", "alpha for abar", 1 - A),
    ("forward_marginal", "variance", "sign", AB - 1),
    ("forward_marginal", "variance", "inverted", 1 / (1 - AB)),
    ("posterior", "coef_x0", "off by one", S(AB) * B / (1 - AB)),
    ("posterior", "coef_x0", "missing sqrt", ABP * B / (1 - AB)),
    ("posterior", "coef_x0", "alpha for abar (the seed's typo)", S(alpha[t - 1]) * B / (1 - AB)),
    ("posterior", "coef_x0", "sign", -S(ABP) * B / (1 - AB)),
    ("posterior", "coef_x0", "inverted", (1 - AB) / (S(ABP) * B)),
    ("posterior", "coef_xt", "off by one", S(A) * (1 - AB) / (1 - abar[t + 1])),
    ("posterior", "coef_xt", "missing sqrt", A * (1 - ABP) / (1 - AB)),
    ("posterior", "coef_xt", "abar for alpha", S(AB) * (1 - ABP) / (1 - AB)),
    ("posterior", "coef_xt", "sign", -S(A) * (1 - ABP) / (1 - AB)),
    ("posterior", "coef_xt", "inverted", (1 - AB) / (S(A) * (1 - ABP))),
    ("posterior", "variance", "off by one", (1 - AB) * B / (1 - abar[t + 1])),
    ("posterior", "variance", "extra sqrt", S((1 - ABP) * B / (1 - AB))),
    ("posterior", "variance", "alpha for abar", (1 - alpha[t - 1]) * B / (1 - A)),
    ("posterior", "variance", "sign", -(1 - ABP) * B / (1 - AB)),
    ("posterior", "variance", "inverted", (1 - AB) * B / (1 - ABP)),
    ("posterior_eps", "coef_xt", "off by one", 1 / S(alpha[t - 1])),
    ("posterior_eps", "coef_xt", "missing sqrt", 1 / A),
    ("posterior_eps", "coef_xt", "abar for alpha", 1 / S(AB)),
    ("posterior_eps", "coef_xt", "sign", -1 / S(A)),
    ("posterior_eps", "coef_xt", "inverted", S(A)),
    ("posterior_eps", "coef_eps", "off by one", -B / (S(A) * S(1 - ABP))),
    ("posterior_eps", "coef_eps", "missing sqrt", -B / (S(A) * (1 - AB))),
    ("posterior_eps", "coef_eps", "alpha for abar", -B / (S(A) * S(1 - A))),
    ("posterior_eps", "coef_eps", "sign", B / (S(A) * S(1 - AB))),
    ("posterior_eps", "coef_eps", "inverted", -S(A) * S(1 - AB) / B),
    ("eps_loss", "weight", "off by one", B ** 2 / (2 * SG ** 2 * A * (1 - ABP))),
    ("eps_loss", "weight", "the seed's ||Sigma||_2^2 = sigma^4", B ** 2 / (2 * SG ** 4 * A * (1 - AB))),
    ("eps_loss", "weight", "alpha for abar", B ** 2 / (2 * SG ** 2 * A * (1 - A))),
    ("eps_loss", "weight", "sign", -B ** 2 / (2 * SG ** 2 * A * (1 - AB))),
    ("eps_loss", "weight", "inverted", 2 * SG ** 2 * A * (1 - AB) / B ** 2),
    ("dsm", "target", "sign", (x_tilde - x) / noise_std ** 2),
    ("dsm", "target", "missing square", -(x_tilde - x) / noise_std),
    ("dsm", "target", "inverted", -(x_tilde - x) * noise_std ** 2),
    ("tweedie", "coef", "missing square", noise_std),
    ("tweedie", "coef", "sign", -noise_std ** 2),
    ("tweedie", "coef", "inverted", 1 / noise_std ** 2),
    ("score_eps", "coef", "off by one", -1 / S(1 - ABP)),
    ("score_eps", "coef", "missing sqrt", -1 / (1 - AB)),
    ("score_eps", "coef", "alpha for abar", -1 / S(1 - A)),
    ("score_eps", "coef", "sign", 1 / S(1 - AB)),
    ("score_eps", "coef", "inverted", -S(1 - AB)),
]


@pytest.mark.parametrize("identity_id,slot,expr", RIGHT)
def test_right_claim_written_differently_is_proved(identity_id, slot, expr):
    v = check_claim(identity_id, **{slot: expr})
    assert v.holds and v.verdict is Verdict.PROVED and v.counterexample is None, v.detail


@pytest.mark.parametrize("identity_id,slot,kind,expr", WRONG, ids=[f"{w[0]}.{w[1]}:{w[2]}" for w in WRONG])
def test_wrong_claim_is_refuted_with_a_real_counterexample(identity_id, slot, kind, expr):
    v = check_claim(identity_id, **{slot: expr})
    assert not v.holds and v.verdict is Verdict.REFUTED
    assert v.counterexample
    failing = next(s for s in v.slots if s.slot == slot)
    assert abs(failing.claimed_value - failing.proved_value) > 1e-9 * max(1, abs(failing.proved_value))
    # re-evaluate the claim at the counterexample independently of the engine
    names = {str(a): a for a in expr.atoms(sp.Indexed) | expr.free_symbols}
    point = {names[n]: value for n, value in v.counterexample.items() if n in names}
    claimed = float(expr.xreplace(point))
    assert abs(claimed - failing.claimed_value) < 1e-9 * max(1, abs(claimed))


def test_every_slot_has_right_and_wrong_cases():
    from proofs import IDENTITIES
    slots = {(i, s) for i, ident in IDENTITIES.items() for s in ident.slots}
    assert slots == {(i, s) for i, s, _ in RIGHT}
    assert slots == {(i, s) for i, s, _, _ in WRONG}


def test_omitted_slots_take_the_proved_value():
    v = check_claim("posterior")
    assert v.holds and len(v.slots) == 3


def test_several_slots_at_once_first_wrong_one_reported():
    v = check_claim("posterior", coef_x0=S(ABP) * B / (1 - AB), variance=(1 - AB) * B / (1 - ABP))
    assert not v.holds and "variance" in v.detail


@pytest.mark.parametrize("call,message", [
    (lambda: check_claim("posterior_mean", coef_x0=A), "unknown identity 'posterior_mean'"),
    (lambda: check_claim("posterior", coef_x1=A), "unknown slot"),
    (lambda: check_claim("posterior", coef_x0=sp.Symbol("y")), "unknown symbol(s) ['y']"),
    (lambda: check_claim("posterior", coef_x0="sqrt(abar[t-1])"), "pass a SymPy expression"),
    (lambda: check_claim("posterior", coef_x0=sp.oo), "not finite"),
    (lambda: check_claim("elbo_bound", weight=A), "has no claim slots"),
    (lambda: check_claim("posterior", coef_x0=abar[x]), "must be t plus an integer"),
    (lambda: check_claim("posterior", coef_x0=sp.IndexedBase("gamma")[t]), "unknown sequence gamma"),
])
def test_bad_claims_get_clear_errors(call, message):
    with pytest.raises(ClaimError) as info:
        call()
    assert message in str(info.value)
