"""The assert_proved fixture: pytest as a proof checker, both ways."""
import textwrap

pytest_plugins = ["pytester"]


def test_assert_proved_passes_and_fails_with_the_step(pytester):
    pytester.makepyfile(test_user=textwrap.dedent("""
        import proofs
        from proofs import Derivation, Induction, Step
        from proofs.symbols import t, alpha, beta, abar

        def test_right(assert_proved):
            assert_proved(Derivation("telescoping", [
                Step(alpha[t] * (1 - abar[t - 1]) + beta[t], "the variance recurrence"),
                Step(1 - abar[t], "abar_t = abar_{t-1} alpha_t")]))
            assert_proved(Induction("variance", t, closed=1 - abar[t],
                                    recurrence=lambda prev, n: alpha[n] * prev + beta[n], initial=beta[1]))
            assert_proved(proofs.IDENTITIES["posterior_eps"])

        def test_wrong(assert_proved):
            assert_proved(Derivation("dropped alpha", [
                Step(alpha[t] * (1 - abar[t - 1]) + beta[t], "the variance recurrence"),
                Step(1 - abar[t - 1], "forgot alpha_t")]))
    """))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*'dropped alpha' step 1 (forgot alpha_t): REFUTED*counterexample*"])
