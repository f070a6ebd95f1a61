"""check_claim, slot by slot: correct answers written differently hold (PROVED); several slots at
once, omitted slots and bad claims behave as documented. Wrong answers of the usual kinds (index off
by one, missing square root, alpha for abar, flipped sign, inverted ratio) are the negative controls
in tests/quality/test_<identity>.py, refuted there with a counterexample that really separates them."""
import pytest
import sympy as sp

from proofs import ClaimError, Verdict, check_claim
from proofs.symbols import abar, alpha, beta, noise_std, sigma, t, x, x_tilde
from tests.quality._controls import catalogue

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

@pytest.mark.parametrize("identity_id,slot,expr", RIGHT)
def test_right_claim_written_differently_is_proved(identity_id, slot, expr):
    v = check_claim(identity_id, **{slot: expr})
    assert v.holds and v.verdict is Verdict.PROVED and v.counterexample is None, v.detail


def test_every_slot_has_right_and_wrong_cases():
    """Right cases here, wrong cases (the negative controls) in tests/quality/test_<identity>.py."""
    from proofs import IDENTITIES
    seed_ids = list(IDENTITIES)[:9]  # the seed's identities (issue 12's path identities are tested apart)
    slots = {(i, s) for i in seed_ids for s in IDENTITIES[i].slots}
    assert slots == {(i, s) for i, s, _ in RIGHT}
    assert slots == {(i, s) for i, s, _, _ in catalogue("WRONG_CLAIMS")}


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
