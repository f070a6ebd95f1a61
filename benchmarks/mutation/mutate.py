"""Mutant generator for the mutation benchmark: one AST change per mutant, numerical code only.

``sites(source, targets)`` enumerates every mutation, deterministically (a fixed traversal of the AST in
field order); ``apply(source, mutation)`` returns the mutated module as ``ast.unparse`` text. Only nodes
inside the target functions (module-level functions and methods named in ``targets``) are mutated, and
never inside strings, f-strings, annotations, decorators or the keyword arguments in ``_KW_SKIP``.

Operator classes (``Mutation.op``):

* ``arith``: ``+ <-> -``, ``* <-> /``, ``// -> /`` and ``/ -> //`` is not done; augmented ``+= <-> -=``,
  ``*= <-> /=``;
* ``pow``: an exponent ``e`` (a constant) becomes ``e + 1`` or ``e / 2`` (``e + 1 == 1`` excluded);
* ``sqrt``: a square root dropped: ``x ** 0.5 -> x``, ``x.sqrt() -> x``, ``math.sqrt(x) -> x``;
* ``const``: a numeric constant ``c -> c + 1`` and ``c - 1`` (also in slices);
* ``index``: a subscript's (non-constant) index ``i -> i + 1`` and ``i - 1``;
* ``swap``: ``alpha_prod_t <-> alpha_prod_t_prev`` / ``current_alpha_t``, ``beta_prod_t <-> beta_prod_t_prev``,
  ``self.alphas_cumprod <-> self.alphas`` (abar vs alpha);
* ``sign``: a unary minus dropped, or a nonzero numeric constant negated;
* ``cmp``: ``< <-> <=``, ``> <-> >=``, ``== <-> !=`` (comparisons with a string constant, i.e. config
  routing such as ``prediction_type == 'epsilon'``, are left alone).
"""
from __future__ import annotations

import ast
import copy
import difflib
import random
from dataclasses import dataclass, asdict

OPS = ("arith", "pow", "sqrt", "const", "index", "swap", "sign", "cmp")

_BIN_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div}
_CMP_SWAP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq}
_NAME_SWAP = {"alpha_prod_t": ("alpha_prod_t_prev", "current_alpha_t"), "alpha_prod_t_prev": ("alpha_prod_t",),
              "beta_prod_t": ("beta_prod_t_prev",), "beta_prod_t_prev": ("beta_prod_t",)}
_ATTR_SWAP = {"alphas_cumprod": ("alphas",), "alphas": ("alphas_cumprod",)}
_KW_SKIP = {"dim", "dtype", "device", "generator", "as_tuple", "return_dict"}
_SYM = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Lt: "<", ast.LtE: "<=",
        ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


@dataclass(frozen=True)
class Mutation:
    site: int       # index of the node in the deterministic traversal of eligible nodes
    op: str         # operator class, one of OPS
    variant: str    # what replaces what, e.g. "+ -> -"
    function: str   # Class.method or function
    lineno: int     # line in the original source

    @property
    def key(self) -> str:
        return f"{self.function}:{self.lineno}:{self.site}:{self.op}:{self.variant}"

    def to_dict(self) -> dict:
        return asdict(self)


def _num(node) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool)


def _const(v):
    return ast.Constant(value=v)


def _shift(node, delta):
    return ast.BinOp(left=copy.deepcopy(node), op=ast.Add() if delta > 0 else ast.Sub(), right=_const(1))


def _variants(node, parent_field):
    """[(op, variant, replacement node)] for ``node``; ``parent_field`` names where it sits."""
    out = []
    if isinstance(node, ast.BinOp):
        t = type(node.op)
        if t in _BIN_SWAP:
            new = copy.deepcopy(node)
            new.op = _BIN_SWAP[t]()
            out.append(("arith", f"{_SYM[t]} -> {_SYM[_BIN_SWAP[t]]}", new))
        if t is ast.Pow and _num(node.right):
            e = node.right.value
            if e == 0.5:
                out.append(("sqrt", "x ** 0.5 -> x", copy.deepcopy(node.left)))
            for v in (e + 1, e / 2):
                if v != 1:
                    new = copy.deepcopy(node)
                    new.right = _const(v)
                    out.append(("pow", f"** {e!r} -> ** {v!r}", new))
    elif isinstance(node, ast.AugAssign):
        t = type(node.op)
        if t in (ast.Add, ast.Sub, ast.Mult, ast.Div):
            new = copy.deepcopy(node)
            new.op = _BIN_SWAP[t]()
            out.append(("arith", f"{_SYM[t]}= -> {_SYM[_BIN_SWAP[t]]}=", new))
    elif isinstance(node, ast.Call):
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr == "sqrt" and not node.args and isinstance(f.value, ast.expr) \
                and not (isinstance(f.value, ast.Name) and f.value.id in ("math", "torch", "np")):
            out.append(("sqrt", "x.sqrt() -> x", copy.deepcopy(f.value)))
        elif isinstance(f, ast.Attribute) and f.attr == "sqrt" and len(node.args) == 1:
            out.append(("sqrt", f"{ast.unparse(f)}(x) -> x", copy.deepcopy(node.args[0])))
    elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _CMP_SWAP:
        if not any(isinstance(c, ast.Constant) and isinstance(c.value, str) for c in [node.left, *node.comparators]):
            t = type(node.ops[0])
            new = copy.deepcopy(node)
            new.ops = [_CMP_SWAP[t]()]
            out.append(("cmp", f"{_SYM[t]} -> {_SYM[_CMP_SWAP[t]]}", new))
    elif _num(node) and parent_field != "pow_exponent":
        c = node.value
        out.append(("const", f"{c!r} -> {c + 1!r}", _const(c + 1)))
        out.append(("const", f"{c!r} -> {c - 1!r}", _const(c - 1)))
        if c != 0 and parent_field != "slice_bound":
            out.append(("sign", f"{c!r} -> {-c!r}", _const(-c)))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        out.append(("sign", "-x -> x", copy.deepcopy(node.operand)))
    elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in _NAME_SWAP:
        for other in _NAME_SWAP[node.id]:
            out.append(("swap", f"{node.id} -> {other}", ast.Name(id=other, ctx=ast.Load())))
    elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and node.attr in _ATTR_SWAP \
            and isinstance(node.value, ast.Name) and node.value.id == "self":
        for other in _ATTR_SWAP[node.attr]:
            out.append(("swap", f"self.{node.attr} -> self.{other}",
                        ast.Attribute(value=ast.Name(id="self", ctx=ast.Load()), attr=other, ctx=ast.Load())))
    if isinstance(node, ast.Subscript) and not isinstance(node.slice, (ast.Slice, ast.Tuple)) \
            and not _num(node.slice) and not (isinstance(node.slice, ast.UnaryOp) and _num(node.slice.operand)):
        for d in (1, -1):
            new = copy.deepcopy(node)
            new.slice = _shift(node.slice, d)
            out.append(("index", f"[i] -> [i {'+' if d > 0 else '-'} 1]", new))
    return out


class _Walker(ast.NodeTransformer):
    """Visits eligible nodes of the target functions in a fixed order; counts them (``self.site``) and either
    records their variants or, when ``target`` = (site, k), replaces that node by its k-th variant."""

    def __init__(self, targets, target=None):
        self.targets, self.target = set(targets), target
        self.site, self.found, self.stack, self.applied = 0, [], [], None

    def _in_target(self):
        return any(name in self.targets for name in self.stack)

    def _func(self):
        names = [n for n in self.stack if n]
        return ".".join(names) if names else "<module>"

    def visit_ClassDef(self, node):
        self.stack.append(node.name)
        node.body = [self.visit(n) for n in node.body]  # decorators and bases untouched
        self.stack.pop()
        return node

    def visit_FunctionDef(self, node):
        self.stack.append(node.name)
        body = node.body
        start = 1 if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) else 0
        node.body = body[:start] + [self._child(n, node, "body") for n in body[start:]]
        self.stack.pop()
        return node

    def visit_JoinedStr(self, node):
        return node

    def visit_Raise(self, node):  # error messages are not numerical code
        return node

    def visit_keyword(self, node):
        if node.arg in _KW_SKIP:
            return node
        return self.generic_visit(node)

    def visit_arguments(self, node):  # defaults and annotations of nested functions
        return node

    def visit_AnnAssign(self, node):
        return node

    def generic_visit(self, node):
        # children first, in field order; the field tells constants in exponents and slices apart
        for field, old in ast.iter_fields(node):
            if isinstance(old, list):
                new_list = []
                for item in old:
                    if isinstance(item, ast.AST):
                        item = self._child(item, node, field)
                        if item is None:
                            continue
                    new_list.append(item)
                old[:] = new_list
            elif isinstance(old, ast.AST):
                setattr(node, field, self._child(old, node, field))
        return node

    def _child(self, child, parent, field):
        if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Pow) and field == "right":
            role = "pow_exponent"
        elif isinstance(parent, ast.Slice):
            role = "slice_bound"
        else:
            role = field
        child = self.visit(child)
        if self._in_target() and isinstance(child, ast.AST) and not isinstance(child, (ast.stmt,)) \
                or isinstance(child, ast.AugAssign) and self._in_target():
            variants = _variants(child, role)
            for k, (op, variant, new) in enumerate(variants):
                if self.target is None:
                    self.found.append(Mutation(self.site, op, variant, self._func(), getattr(child, "lineno", 0)))
                elif self.target == (self.site, k):
                    self.applied = (op, variant)
                    ast.copy_location(new, child)
                    child = new
            if variants:
                self.site += 1
        return child


def _parse(source):
    return ast.parse(source)


def sites(source: str, targets) -> list:
    """Every mutation of ``source`` inside ``targets`` (function or method names), in a fixed order."""
    walker = _Walker(targets)
    walker.visit(_parse(source))
    # several variants share a site: number them by their order within the site
    return walker.found


def apply(source: str, mutation: Mutation, targets) -> str:
    """The module text (ast.unparse) with exactly ``mutation`` applied."""
    same_site = [m for m in sites(source, targets) if m.site == mutation.site]
    k = same_site.index(mutation)
    walker = _Walker(targets, target=(mutation.site, k))
    tree = walker.visit(_parse(source))
    if walker.applied != (mutation.op, mutation.variant):
        raise ValueError(f"mutation {mutation.key} did not apply")
    return ast.unparse(ast.fix_missing_locations(tree))


def normalised(source: str) -> str:
    """The unmutated module as ast.unparse writes it (the baseline every mutant is compared with)."""
    return ast.unparse(_parse(source))


def diff(original: str, mutant: str, name: str = "") -> str:
    return "".join(difflib.unified_diff(original.splitlines(True), mutant.splitlines(True),
                                        f"a/{name}", f"b/{name}", n=1))


def sample(mutations: list, n: int, seed: int, per_class_min: int = 6) -> list:
    """A fixed-seed sample of ``n`` mutations, stratified by operator class: each class keeps
    min(all, per_class_min, n // classes) and the rest of the budget is filled uniformly at random; returned in
    enumeration order."""
    if n >= len(mutations):
        return list(mutations)
    rng = random.Random(seed)
    by_op: dict = {}
    for m in mutations:
        by_op.setdefault(m.op, []).append(m)
    per_class_min = min(per_class_min, n // len(by_op))  # never more than n in all
    chosen = set()
    for op in sorted(by_op):
        items = by_op[op]
        chosen.update(rng.sample(items, min(len(items), per_class_min)))
    rest = [m for m in mutations if m not in chosen]
    chosen.update(rng.sample(rest, max(0, n - len(chosen))))
    return [m for m in mutations if m in chosen]
