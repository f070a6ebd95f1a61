"""A whitelist parser for claim text: ``parse_expression("sqrt(abar[t-1])*beta[t]/(1-abar[t])")``.

No ``eval``, ``sympify`` or ``parse_expr`` touches the text: a tokenizer and a
precedence-climbing parser build the SymPy objects themselves. Grammar (``^`` = ``**``)::

    expr    := term (("+" | "-") term)*
    term    := unary (("*" | "/") unary)*
    unary   := ("-" | "+") unary | power
    power   := postfix (("**" | "^") unary)?        # right-associative; -x**2 = -(x**2)
    postfix := atom ("[" expr "]")?                  # only alpha, beta, abar, sigma
    atom    := NUMBER | NAME | FUNC "(" expr ")" | "(" expr ")"

Names are those of :mod:`proofs.symbols` (t, alpha, beta, abar, sigma, noise_std, x, x_tilde);
functions are sqrt, exp, log. Numbers are exact (``0.1`` is ``1/10``). A sequence index is
``t + k`` or ``t - k`` with an integer ``k``, or an integer (>= 0 for abar, >= 1 otherwise).
Anything else raises :class:`ParseError` naming the problem, the token and its position.
Costly input is refused too: text over 2000 characters, nesting over 100 levels, exact powers
over 20000 bits (``9**9**9``), roots of numbers over 1000 bits, integer powers over 256 of a
symbolic base, number literals with an exponent beyond 1e300.
"""
from __future__ import annotations

import keyword
import re
from fractions import Fraction

import sympy as sp

from ..symbols import PUBLIC, SEQUENCES, abar, t

MAX_LENGTH = 2000
MAX_DEPTH = 100
MAX_POWER_BITS = 20000  # refuse exact powers whose result would exceed this many bits
MAX_ROOT_BITS = 1000  # refuse roots (non-integer powers) of rationals larger than this
MAX_SYMBOLIC_EXPONENT = 256  # refuse (1 + t)**100000 and the like, which the checker would expand
MAX_EXPONENT_DENOMINATOR = 64  # refuse x**(9999/10000): a radical of degree 10^4 is too costly to reduce
MAX_INDEX_OFFSET = 64  # refuse abar[t+1000]: the recurrence would expand it into 1000 factors
MAX_NUMBER_DIGITS = 40  # refuse 100-digit literals (no integer factorisation of user numbers)

FUNCTIONS = {"sqrt": sp.sqrt, "exp": sp.exp, "log": sp.log}
_SEQUENCE_NAMES = {str(s.label): s for s in SEQUENCES}
_SCALARS = {name: obj for name, obj in PUBLIC.items() if name not in _SEQUENCE_NAMES}

_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = ("**", "+", "-", "*", "/", "^", "(", ")", "[", "]", ",")


class ParseError(ValueError):
    """Refused claim text. ``token`` and ``position`` (0-based character offset) locate it."""

    def __init__(self, problem: str, token: str | None = None, position: int | None = None):
        text = problem + ("" if token is None else f": {token!r}")
        super().__init__(text + ("" if position is None else f" at position {position}"))
        self.problem, self.token, self.position = problem, token, position


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    """Split ``text`` into (kind, value, position); kinds: num, name, op, end."""
    tokens, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        m = _NUMBER.match(text, i)
        if m:
            exponent = m.group(2)
            if exponent and abs(int(exponent[1:])) > 300:
                raise ParseError("number exponent out of range (|e| <= 300)", m.group(0), i)
            tokens.append(("num", m.group(0), i))
            i = m.end()
            continue
        m = _NAME.match(text, i)
        if m:
            name = m.group(0)
            if "__" in name:
                raise ParseError("dunder names are not allowed", name, i)
            if keyword.iskeyword(name):
                raise ParseError("Python keywords are not allowed", name, i)
            tokens.append(("name", name, i))
            i = m.end()
            continue
        if c in "'\"":
            raise ParseError("strings/quotes are not allowed", c, i)
        if c == ".":
            raise ParseError("attribute access ('.') is not allowed", c, i)
        op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
        if op is None:
            raise ParseError("unexpected character", c, i)
        tokens.append(("op", op, i))
        i += len(op)
    tokens.append(("end", "", n))
    return tokens


class _Parser:
    def __init__(self, text: str, names: dict | None = None):
        self.text = text
        self.scalars = {**_SCALARS, **(names or {})}
        self.known = list(PUBLIC) + [n for n in (names or {}) if n not in PUBLIC]
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0
        self.open: list[tuple[str, int]] = []  # open brackets, for messages

    # -- helpers
    @property
    def tok(self):
        return self.tokens[self.i]

    def take(self):
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def is_op(self, *ops) -> bool:
        kind, value, _ = self.tok
        return kind == "op" and value in ops

    def unexpected(self, expecting: str):
        kind, value, pos = self.tok
        if kind == "end":
            if self.open:
                bracket, where = self.open[-1]
                raise ParseError(f"unbalanced {bracket!r} opened at position {where}: missing "
                                 f"{')' if bracket == '(' else ']'!r}", None, pos)
            raise ParseError(f"unexpected end of text, expecting {expecting}", None, pos)
        if kind == "op" and value in ")]":
            raise ParseError(f"unbalanced {value!r}", value, pos)
        if kind == "op" and value == ",":
            raise ParseError("a comma is only allowed in a function call, and sqrt/exp/log take one argument",
                             value, pos)
        if kind == "name":
            raise ParseError(f"unexpected name, expecting {expecting} (write * for multiplication)", value, pos)
        raise ParseError(f"unexpected token, expecting {expecting}", value, pos)

    def close(self, bracket: str):
        if not self.is_op(bracket):
            self.unexpected(f"{bracket!r}")
        self.take()
        self.open.pop()

    # -- grammar
    def parse(self) -> sp.Expr:
        if self.tok[0] == "end":
            raise ParseError("empty expression")
        expr = self.expr()
        if self.tok[0] != "end":
            self.unexpected("an operator or the end of the text")
        return expr

    def expr(self) -> sp.Expr:
        left = self.term()
        while self.is_op("+", "-"):
            op = self.take()[1]
            right = self.term()
            left = left + right if op == "+" else left - right
        return left

    def term(self) -> sp.Expr:
        left = self.unary()
        while self.is_op("*", "/"):
            op = self.take()[1]
            right = self.unary()
            left = left * right if op == "*" else left / right
        return left

    def unary(self) -> sp.Expr:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError(f"nesting deeper than {MAX_DEPTH} levels", self.tok[1], self.tok[2])
        if self.is_op("-", "+"):
            op = self.take()[1]
            operand = self.unary()
            result = -operand if op == "-" else operand
        else:
            result = self.power()
        self.depth -= 1
        return result

    def power(self) -> sp.Expr:
        base = self.postfix()
        if self.is_op("**", "^"):
            _, op, pos = self.take()
            exponent = self.unary()
            _check_power_size(base, exponent, op, pos)
            if exponent.is_Rational and not exponent.is_Integer and not base.is_number \
                    and (exponent.q > MAX_EXPONENT_DENOMINATOR or abs(exponent.p) > MAX_SYMBOLIC_EXPONENT):
                raise ParseError(f"exponent {exponent} of a symbolic base is refused: denominators up to "
                                 f"{MAX_EXPONENT_DENOMINATOR} and numerators up to {MAX_SYMBOLIC_EXPONENT}", op, pos)
            result = sp.Pow(base, exponent)
            if isinstance(result, sp.Pow) and result.exp.is_Rational and not result.exp.is_Integer \
                    and not result.base.is_number and result.exp.q > MAX_EXPONENT_DENOMINATOR:
                raise ParseError(f"exponent {result.exp} (after combining powers) has a denominator over "
                                 f"{MAX_EXPONENT_DENOMINATOR}", op, pos)
            if isinstance(result, sp.Pow) and result.exp.is_Integer and abs(result.exp) > MAX_SYMBOLIC_EXPONENT \
                    and not result.base.is_number:
                raise ParseError(f"integer exponent over {MAX_SYMBOLIC_EXPONENT} of a symbolic base is refused "
                                 "(too costly to check)", op, pos)
            return result
        return base

    def postfix(self) -> sp.Expr:
        kind, value, pos = self.tok
        atom = self.atom()
        if self.is_op("["):
            _, _, bpos = self.take()
            if kind != "name" or value not in _SEQUENCE_NAMES:
                raise ParseError("only the sequences alpha, beta, abar, sigma can be indexed", value, pos)
            self.open.append(("[", bpos))
            start = self.tok[2]
            index = self.expr()
            end = self.tok[2]
            self.close("]")
            return _index(_SEQUENCE_NAMES[value], index, self.text[start:end].strip(), bpos)
        if kind == "name" and value in _SEQUENCE_NAMES:
            raise ParseError(f"the sequence {value!r} must be indexed, e.g. {value}[t] or {value}[t-1]", value, pos)
        return atom

    def atom(self) -> sp.Expr:
        kind, value, pos = self.take()
        if kind == "num":
            return _number(value, pos)
        if kind == "name":
            if self.is_op("("):
                if value not in FUNCTIONS:
                    raise ParseError("call of a function that is not allowed (allowed: sqrt, exp, log)", value, pos)
                _, _, ppos = self.take()
                self.open.append(("(", ppos))
                arg = self.expr()
                if self.is_op(","):
                    raise ParseError(f"{value} takes exactly one argument", ",", self.tok[2])
                self.close(")")
                if value == "sqrt":
                    _check_power_size(arg, sp.S.Half, value, pos)
                return FUNCTIONS[value](arg)
            if value in FUNCTIONS:
                raise ParseError(f"the function {value!r} must be called, e.g. {value}(t)", value, pos)
            if value in _SEQUENCE_NAMES:
                return _SEQUENCE_NAMES[value]  # postfix demands the index
            if value in self.scalars:
                return self.scalars[value]
            raise ParseError(f"unknown name (known: {', '.join(self.known)}; functions: {', '.join(FUNCTIONS)})",
                             value, pos)
        if kind == "op" and value == "(":
            self.open.append(("(", pos))
            inner = self.expr()
            self.close(")")
            return inner
        self.i -= 1
        self.unexpected("a number, a name or '('")


def _number(text: str, pos: int) -> sp.Rational:
    digits = len(text.split("e")[0].split("E")[0].replace(".", "").lstrip("0"))
    if digits > MAX_NUMBER_DIGITS:
        raise ParseError(f"a number of {digits} digits is refused (at most {MAX_NUMBER_DIGITS})", text, pos)
    if "e" in text.lower() and abs(int(text.lower().split("e")[1])) > 300:
        raise ParseError("a number with an exponent beyond 1e+-300 is refused", text, pos)
    value = Fraction(text)
    return sp.Rational(value.numerator, value.denominator)


def _check_power_size(base: sp.Expr, exponent: sp.Expr, op: str, pos: int) -> None:
    """Refuse exact powers too costly to compute (9**9**9, roots of huge integers), before SymPy tries."""
    if not (base.is_Rational and exponent.is_Rational):
        return
    if not exponent.is_Integer and max(abs(base.p).bit_length(), base.q.bit_length()) > MAX_ROOT_BITS:
        raise ParseError(f"root of a number over {MAX_ROOT_BITS} bits is refused (too costly)", op, pos)
    if exponent.is_Integer:
        bits = max(abs(base.p).bit_length(), abs(base.q).bit_length())
        if bits > 1 and abs(int(exponent)) * bits > MAX_POWER_BITS:
            raise ParseError(f"power too large to evaluate exactly (over {MAX_POWER_BITS} bits)", op, pos)
    elif abs(exponent.p) > 10 ** 4 or exponent.q > 10 ** 4:
        raise ParseError("rational exponent too large", op, pos)


def _index(base: sp.IndexedBase, index: sp.Expr, text: str, pos: int) -> sp.Indexed:
    index = sp.expand(index)
    offset = sp.expand(index - t)
    if index.is_Integer:
        low = 0 if base is abar else 1
        if index < low:
            raise ParseError(f"index of {base} must be >= {low}", text, pos)
        if index > MAX_INDEX_OFFSET:
            raise ParseError(f"index {index} of {base} is refused (at most {MAX_INDEX_OFFSET})", text, pos)
    elif not offset.is_Integer:
        raise ParseError(f"bad index of {base}: write t, t+k, t-k (k an integer) or an integer", text, pos)
    elif abs(int(offset)) > MAX_INDEX_OFFSET:
        raise ParseError(f"index offset {offset} of {base} is refused (|k| <= {MAX_INDEX_OFFSET} in t+k)", text, pos)
    return base[index]


def parse_expression(text: str, names: dict | None = None) -> sp.Expr:
    """Parse claim text into a SymPy expression in the symbols of :mod:`proofs.symbols`.

    ``names``: extra scalar names {name: sympy.Symbol} allowed in the text (the Gaussian-path
    identities pass :data:`proofs.paths.SYMBOLS`' symbols: a_t, s_t, a_s, s_s, tau, k, ...); a
    name given here takes precedence over a scalar of the same name. Only Symbols are accepted.

    Raises :class:`ParseError` (a ValueError) for anything outside the whitelist: other
    names or calls, attribute access, strings, commas, bad indices, unbalanced brackets,
    empty text, text over 2000 characters, nesting over 100 levels, non-finite results.
    """
    if not isinstance(text, str):
        raise ParseError(f"expected text (str), got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"text too long ({len(text)} characters; at most {MAX_LENGTH})")
    if names is not None:
        bad = [n for n, sym in names.items() if not (isinstance(n, str) and _NAME.fullmatch(n)
                                                      and isinstance(sym, sp.Symbol))]
        if bad or set(names) & (set(FUNCTIONS) | set(_SEQUENCE_NAMES)):
            raise ValueError(f"names must map identifiers (not functions or sequences) to sympy Symbols: "
                             f"{(bad or sorted(set(names) & (set(FUNCTIONS) | set(_SEQUENCE_NAMES))))[0]!r}")
    expr = _Parser(text, names).parse()
    if expr.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise ParseError(f"the expression is not finite (division by zero or log(0)?): {expr}")
    if expr.has(sp.I):
        raise ParseError(f"the expression is not real: {expr}")
    return expr


__all__ = ["parse_expression", "ParseError", "MAX_LENGTH", "MAX_DEPTH"]
