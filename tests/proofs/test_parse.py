"""The whitelist claim parser: round trips, precedence, every refusal, hostile input, fuzzing."""
from __future__ import annotations

import os
import uuid

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proofs.engine.parse import MAX_DEPTH, MAX_LENGTH, ParseError, parse_expression
from proofs.symbols import abar, alpha, beta, noise_std, sigma, t, x, x_tilde


@pytest.mark.parametrize("text, expected", [
    ("sqrt(abar[t-1])*beta[t]/(1-abar[t])", sp.sqrt(abar[t - 1]) * beta[t] / (1 - abar[t])),
    ("sqrt(alpha[t])*(1-abar[t-1])/(1-abar[t])", sp.sqrt(alpha[t]) * (1 - abar[t - 1]) / (1 - abar[t])),
    ("-beta[t]/(sqrt(alpha[t])*sqrt(1-abar[t]))", -beta[t] / (sp.sqrt(alpha[t]) * sp.sqrt(1 - abar[t]))),
    ("beta[t]^2/(2*sigma[t]**2*alpha[t]*(1-abar[t]))", beta[t] ** 2 / (2 * sigma[t] ** 2 * alpha[t] * (1 - abar[t]))),
    ("-(x_tilde - x)/noise_std**2", -(x_tilde - x) / noise_std ** 2),
    ("exp(log(t)) + 0.25", t + sp.Rational(1, 4)),
    ("1e-4 * abar[0] + alpha[1]", sp.Rational(1, 10000) * abar[0] + alpha[1]),
    ("abar[t+2] - abar[t + 1 - 1]", abar[t + 2] - abar[t]),
    (".5 + 1.", sp.Rational(3, 2)),
    ("  t  ", t),
])
def test_round_trip(text, expected):
    got = parse_expression(text)
    assert sp.simplify(got - expected) == 0
    # printing the result and parsing it again gives the same expression (sstr uses our grammar)
    assert sp.simplify(parse_expression(sp.sstr(got)) - got) == 0


def test_decimals_are_exact_rationals():
    assert parse_expression("0.1") == sp.Rational(1, 10)
    assert isinstance(parse_expression("0.1"), sp.Rational)
    assert parse_expression("2.5e-3") == sp.Rational(1, 400)


@pytest.mark.parametrize("text, expected", [
    ("2**3**2", sp.Integer(512)),         # right-associative: 2**(3**2)
    ("2^3^2", sp.Integer(512)),
    ("-x**2", -x ** 2),                   # unary minus binds looser than **
    ("(-x)**2", x ** 2),
    ("2**-1", sp.Rational(1, 2)),
    ("1 - 2 - 3", sp.Integer(-4)),        # left-associative
    ("8/4/2", sp.Integer(1)),
    ("2 + 3*4", sp.Integer(14)),
    ("-2**2", sp.Integer(-4)),
    ("--t", t),
])
def test_precedence(text, expected):
    assert parse_expression(text) == expected


def test_nested_power_symbols():
    assert parse_expression("alpha[t]**beta[t]**t") == alpha[t] ** (beta[t] ** t)


@pytest.mark.parametrize("text, problem, token, position", [
    ("abar[t].real", "attribute access", ".", 7),
    ("eval(x)", "call of a function that is not allowed", "eval", 0),
    ("print(t)", "call of a function that is not allowed", "print", 0),
    ("__import__", "dunder names are not allowed", "__import__", 0),
    ("x__y", "dunder names are not allowed", "x__y", 0),
    ("lambda: 1", "Python keywords are not allowed", "lambda", 0),
    ("foo + t", "unknown name", "foo", 0),
    ("'t'", "strings/quotes are not allowed", "'", 0),
    ('t + "1"', "strings/quotes are not allowed", '"', 4),
    ("1, 2", "a comma is only allowed in a function call", ",", 1),
    ("sqrt(1, 2)", "sqrt takes exactly one argument", ",", 6),
    ("x[t]", "only the sequences alpha, beta, abar, sigma can be indexed", "x", 0),
    ("abar[x]", "bad index of abar", "x", 4),
    ("abar[t*2]", "bad index of abar", "t*2", 4),
    ("abar[t/2]", "bad index of abar", "t/2", 4),
    ("abar[-1]", "index of abar must be >= 0", "-1", 4),
    ("alpha[0]", "index of alpha must be >= 1", "0", 5),
    ("abar", "the sequence 'abar' must be indexed", "abar", 0),
    ("sqrt", "the function 'sqrt' must be called", "sqrt", 0),
    ("(t + 1", "unbalanced '(' opened at position 0", None, 6),
    ("abar[t", "unbalanced '[' opened at position 4", None, 6),
    ("t + 1)", "unbalanced ')'", ")", 5),
    ("t]", "unbalanced ']'", "]", 1),
    ("2 t", "unexpected name", "t", 2),
    ("t +", "unexpected end of text", None, 3),
    ("t ; 1", "unexpected character", ";", 2),
    ("9**9**9", "power too large", "**", 1),
    ("1e999", "number exponent out of range", "1e999", 0),
    ("(1 + t)**100000", "integer exponent over 256 of a symbolic base", "**", 7),
    ("((1 + t)**100)**100", "integer exponent over 256 of a symbolic base", "**", 14),
])
def test_refusals_name_problem_token_position(text, problem, token, position):
    with pytest.raises(ParseError) as info:
        parse_expression(text)
    err = info.value
    assert isinstance(err, ValueError)
    assert problem in str(err)
    assert err.token == token
    assert err.position == position
    if token is not None:
        assert repr(token) in str(err)
    assert f"position {position}" in str(err)


@pytest.mark.parametrize("text, problem", [
    ("", "empty expression"),
    ("   \t ", "empty expression"),
    ("t" * (MAX_LENGTH + 1), "text too long"),
    ("1/0", "not finite"),
    ("log(0)", "not finite"),
    ("sqrt(-1)", "not real"),
])
def test_refusals_without_position(text, problem):
    with pytest.raises(ParseError, match=problem):
        parse_expression(text)


def test_non_text_is_refused():
    with pytest.raises(ParseError, match="expected text"):
        parse_expression(b"t")  # type: ignore[arg-type]


def test_depth_limit():
    ok = "(" * (MAX_DEPTH - 1) + "t" + ")" * (MAX_DEPTH - 1)
    assert parse_expression(ok) == t
    for deep in ("(" * (MAX_DEPTH + 1) + "t" + ")" * (MAX_DEPTH + 1), "-" * (MAX_DEPTH + 1) + "t",
                 "t" + "**t" * (MAX_DEPTH + 1), "sqrt(" * (MAX_DEPTH + 1) + "t" + ")" * (MAX_DEPTH + 1)):
        with pytest.raises(ParseError, match=f"nesting deeper than {MAX_DEPTH}"):
            parse_expression(deep)


def test_length_limit_is_inclusive():
    text = "+".join(["t"] * ((MAX_LENGTH + 1) // 2))
    assert len(text) <= MAX_LENGTH
    assert parse_expression(text) == len(text.split("+")) * t


def test_root_of_huge_number_is_refused_quickly():
    with pytest.raises(ParseError, match="refused"):
        parse_expression("sqrt(" + "9" * 400 + ")")
    with pytest.raises(ParseError, match="root of a number"):
        parse_expression("sqrt(" + "*".join(["9" * 40] * 10) + ")")


HOSTILE = [
    "__import__('os').system('touch {path}')",
    "().__class__.__bases__[0].__subclasses__()",
    "lambda: open('{path}', 'w')",
    "abar[t].__class__",
    "eval(\"open('{path}', 'w')\")",
    "exec('import os')",
    "open('{path}', 'w').write('x')",
    "globals()['__builtins__']",
    "sqrt(1).__class__.__mro__",
    "getattr(t, 'is_integer')",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "t if 1 else 2",
    "import os",
    "os.system('touch {path}')",
    "Symbol('x')",
    "sympify('x')",
    "t; open('{path}', 'w')",
    "abar[__import__('os').getpid()]",
    "x.__dict__",
    "\\x41",
    "t\n__import__('os')",
]


@pytest.mark.parametrize("template", HOSTILE)
def test_hostile_input_is_refused_without_side_effects(template, tmp_path):
    path = tmp_path / f"pwned-{uuid.uuid4().hex}"
    text = template.format(path=path)
    before = set(os.listdir(tmp_path))
    with pytest.raises(ParseError):
        parse_expression(text)
    assert not path.exists()
    assert set(os.listdir(tmp_path)) == before


def test_hostile_pwned_file_in_tmp_is_not_created():
    marker = f"/tmp/pwned-{uuid.uuid4().hex}"
    with pytest.raises(ParseError):
        parse_expression(f"__import__('os').system('touch {marker}')")
    assert not os.path.exists(marker)


ALPHABET = st.sampled_from(list("tx_abrlphseigmqo0123456789.+-*/^()[], '\"e:;@!") + [
    "abar", "alpha", "beta", "sigma", "noise_std", "x_tilde", "sqrt", "exp", "log", "**", "__", "t-1", "[t]"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ALPHABET, max_size=40).map("".join))
def test_fuzz_tokens_only_parse_error(text):
    try:
        result = parse_expression(text)
    except ParseError:
        return
    assert isinstance(result, sp.Expr)
    assert not result.has(sp.zoo, sp.nan, sp.oo)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_fuzz_any_text_only_parse_error(text):
    try:
        result = parse_expression(text)
    except ParseError:
        return
    assert isinstance(result, sp.Expr)


def test_extra_names_are_allowed_only_when_given():
    import sympy as sp

    from proofs import ParseError, parse_expression
    a_t = sp.Symbol("a_t", positive=True)
    assert parse_expression("1/a_t", {"a_t": a_t}) == 1 / a_t
    with pytest.raises(ParseError, match="unknown name"):
        parse_expression("1/a_t")
    for bad in ({"sqrt": a_t}, {"abar": a_t}, {"a_t": sp.Function("a")}, {"1x": a_t}):
        with pytest.raises(ValueError):
            parse_expression("1", bad)
