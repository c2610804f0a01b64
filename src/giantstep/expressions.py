r"""Safe expressions for an activation sigma or a link g: formulas in ``x``, never evaluated by Python.

An expression is parsed with :mod:`ast` into Python's syntax tree, checked node by node against an
allow list, and rebuilt as a small tree of this module's own node types, which :func:`evaluate`
walks. ``eval``/``exec``/``compile`` of the text never happen, no attribute is looked up, nothing
is imported or called except the numpy and scipy functions of the allow list.

Grammar (lower case; spaces are ignored)::

    expr  :=  number | x | NAME | FUNC(expr) | maximum(expr, expr) | minimum(expr, expr)
           |  expr + expr | expr - expr | expr * expr | expr / expr | -expr | +expr
           |  expr ** c            (c an expression of numbers only, |c| <= 64)
    FUNC  :=  exp log sqrt cos arctan sinh cosh  |  a registry name (relu, tanh, erf, sigmoid, sin,
              gelu, abs, sign, softplus, linear, square, he0 ... he12)
    NAME  :=  a registry name alone, meaning NAME(x) (so ``he1+0.5*he2`` is an expression too)

Limits: at most :data:`MAX_LENGTH` characters of printable ASCII, :data:`MAX_NODES` nodes, nesting
depth :data:`MAX_DEPTH`, exponents of magnitude at most :data:`MAX_EXPONENT`, finite numbers.
Everything else -- other names, attribute access, subscripts, calls of anything else, keyword or
starred arguments, lambdas, comprehensions, comparisons, conditionals, strings, statements -- is
refused with a :class:`~giantstep.errors.ConfigError` naming the field.

Derivatives are symbolic: :func:`derivative` applies the sum, product, quotient, power and chain
rules to the tree (a registry function brings its own first and second derivatives; maximum and
minimum differentiate branch-wise), so sigma' and sigma'' are exact, not finite differences.
Kinks -- the points where a derivative jumps or the function is singular: x where the argument of
relu, abs, sign, sqrt or log crosses its breakpoint, where the two arguments of maximum/minimum
cross, where a denominator or the base of a negative or fractional power crosses zero -- are located
by a sign scan of the argument on [-L, L] refined by Brent's method, and handed to the Gaussian
quadrature of :mod:`giantstep.hermite` as breakpoints.

A function is accepted only if it is finite on [-L, L] (L = :data:`SPAN`), has no pole (a
denominator or a negatively powered base that changes sign or vanishes) and has a finite Gaussian
second moment (|f(x)|^2 exp(-x^2/2) -> 0 at |x| = L), so that its Hermite constants exist.

Example
-------
>>> act = compile_expression("x*tanh(x)")
>>> act.name, float(act.f(np.array(1.0))) == math.tanh(1.0)
('x*tanh(x)', True)
>>> float(act.df(np.array(0.0)))                 # d/dx x tanh(x) = tanh(x) + x (1 - tanh(x)^2)
0.0
>>> compile_expression("relu(x - 1)").kinks
(1.0,)
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Union

import numpy as np
from scipy import optimize

from .errors import ConfigError

MAX_LENGTH = 400
MAX_NODES = 200
MAX_DEPTH = 40
MAX_EXPONENT = 64.0
MAX_KINKS = 256
SPAN = 40.0  # the quadrature range of giantstep.hermite: phi(40) ~ 1e-348
_GRID = np.linspace(-SPAN, SPAN, 16001)  # step 0.005 for the sign scans and the value checks
TAIL_LOG_BOUND = math.log(1e-20)  # log(|f(L)|^2 phi(L)) must stay below this

ArrayFn = Callable[[np.ndarray], np.ndarray]


# ----------------------------------------------------------------------------- the function table


@dataclass(frozen=True)
class Elementary:
    """A function of one argument with its first two derivatives and its breakpoints."""

    name: str
    f: ArrayFn
    df: ArrayFn
    d2f: ArrayFn
    kinks: tuple[float, ...] = ()

    def order(self, k: int) -> ArrayFn:
        """The k-th derivative, k = 0, 1, 2."""
        return (self.f, self.df, self.d2f)[k]


def _numpy_functions() -> dict[str, Elementary]:
    """numpy's elementary functions that are not registry names, with their derivatives."""
    return {
        "exp": Elementary("exp", np.exp, np.exp, np.exp),
        "log": Elementary("log", np.log, lambda u: 1.0 / u, lambda u: -1.0 / np.square(u), kinks=(0.0,)),
        "sqrt": Elementary("sqrt", np.sqrt, lambda u: 0.5 / np.sqrt(u), lambda u: -0.25 * np.power(u, -1.5),
                           kinks=(0.0,)),
        "cos": Elementary("cos", np.cos, lambda u: -np.sin(u), lambda u: -np.cos(u)),
        "arctan": Elementary("arctan", np.arctan, lambda u: 1.0 / (1.0 + np.square(u)),
                             lambda u: -2.0 * u / np.square(1.0 + np.square(u))),
        "sinh": Elementary("sinh", np.sinh, np.cosh, np.sinh),
        "cosh": Elementary("cosh", np.cosh, np.sinh, np.cosh),
    }


@lru_cache(maxsize=1)
def functions() -> dict[str, Elementary]:
    """Every function name an expression may call: numpy's elementary ones and the registry's."""
    from .activations import registry

    table = _numpy_functions()
    for name, act in registry().items():
        table[name] = Elementary(name, act.f, act.df, act.d2f, tuple(act.kinks))
    return table


BINARY = ("maximum", "minimum")


def allowed_text(reason: str) -> str:
    """What an expression field accepts, with the reason a given text was refused."""
    names = ", ".join(sorted(_numpy_functions()))
    return (f"a registered name or an expression in x (numbers, + - * / **, {names}, maximum, minimum and the "
            f"registry functions; docs/expressions.md): {reason}")


# ----------------------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Const:
    value: float


@dataclass(frozen=True)
class Var:
    """The variable x."""


@dataclass(frozen=True)
class Apply:
    """The ``order``-th derivative (0, 1 or 2) of the function ``name`` at ``arg``."""

    name: str
    arg: "Node"
    order: int = 0


@dataclass(frozen=True)
class Arith:
    """``left op right`` with op one of + - * /."""

    op: str
    left: "Node"
    right: "Node"


@dataclass(frozen=True)
class Neg:
    arg: "Node"


@dataclass(frozen=True)
class Power:
    """``base ** exponent`` with a numeric exponent."""

    base: "Node"
    exponent: float


@dataclass(frozen=True)
class Select:
    """``above`` where ``left >= right``, else ``below`` (maximum, minimum and their derivatives)."""

    left: "Node"
    right: "Node"
    above: "Node"
    below: "Node"


Node = Union[Const, Var, Apply, Arith, Neg, Power, Select]

ZERO, ONE = Const(0.0), Const(1.0)


# ----------------------------------------------------------------------------- parsing


def _refuse(field: str, text: str, reason: str) -> ConfigError:
    return ConfigError(field, allowed_text(reason), text)


_REFUSED_NODES = {
    ast.Attribute: "attribute access is not allowed",
    ast.Subscript: "subscripts are not allowed",
    ast.Lambda: "lambdas are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.Compare: "comparisons are not allowed (use maximum, minimum, relu or sign)",
    ast.BoolOp: "and/or are not allowed",
    ast.IfExp: "conditional expressions are not allowed (use maximum, minimum, relu or sign)",
    ast.NamedExpr: "assignments are not allowed",
    ast.JoinedStr: "strings are not allowed",
    ast.Starred: "starred arguments are not allowed",
}


def _check_shape(tree: ast.AST, field: str, text: str) -> None:
    """Node count and nesting depth within the limits (an explicit stack: no recursion)."""
    count, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise _refuse(field, text, f"at most {MAX_NODES} nodes")
        if depth > MAX_DEPTH:
            raise _refuse(field, text, f"nesting at most {MAX_DEPTH} levels")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def parse(text: str, field: str = "activation") -> Node:
    """The checked tree of an expression (ConfigError naming ``field`` for anything not allowed)."""
    if not isinstance(text, str):
        raise ConfigError(field, allowed_text("a string"), text)
    if len(text) > MAX_LENGTH:
        raise _refuse(field, text, f"at most {MAX_LENGTH} characters")
    if not all(32 <= ord(ch) < 127 for ch in text):
        raise _refuse(field, text, "printable ASCII characters only")
    source = text.strip().lower()
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise _refuse(field, text, "valid syntax") from None
    _check_shape(tree, field, text)
    return _Builder(field, text).build(tree.body)


class _Builder:
    """Python's syntax tree -> this module's tree, refusing every node outside the allow list."""

    def __init__(self, field: str, text: str):
        self.field, self.text = field, text

    def refuse(self, reason: str) -> ConfigError:
        return _refuse(self.field, self.text, reason)

    def build(self, node: ast.AST) -> Node:
        for kind, reason in _REFUSED_NODES.items():
            if isinstance(node, kind):
                raise self.refuse(reason)
        handlers = {ast.Constant: self._constant, ast.Name: self._name, ast.UnaryOp: self._unary,
                    ast.BinOp: self._binary, ast.Call: self._call}
        handler = handlers.get(type(node))
        if handler is None:
            raise self.refuse(f"'{type(node).__name__}' is not allowed")
        return handler(node)

    def _constant(self, node: ast.Constant) -> Node:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.refuse("numbers are the only constants")
        if isinstance(value, int) and abs(value) > 10**308:
            raise self.refuse("finite numbers")
        number = float(value)
        if not math.isfinite(number):
            raise self.refuse("finite numbers")
        return Const(number)

    def _name(self, node: ast.Name) -> Node:
        if node.id == "x":
            return Var()
        if node.id in functions() and node.id not in _numpy_functions():
            return Apply(node.id, Var())  # a registry name alone is its function of x
        raise self.refuse(f"the only variable is x (got the name {node.id!r})")

    def _unary(self, node: ast.UnaryOp) -> Node:
        if isinstance(node.op, ast.USub):
            return neg(self.build(node.operand))
        if isinstance(node.op, ast.UAdd):
            return self.build(node.operand)
        raise self.refuse("the unary operators + and -")

    def _binary(self, node: ast.BinOp) -> Node:
        ops = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
        if isinstance(node.op, ast.Pow):
            base, exponent = self.build(node.left), self.build(node.right)
            if not isinstance(exponent, Const):
                raise self.refuse("exponents that are numbers (x**2, x**0.5)")
            if abs(exponent.value) > MAX_EXPONENT:
                raise self.refuse(f"exponents of magnitude at most {MAX_EXPONENT:g}")
            return self._folded(lambda: power(base, exponent.value))
        op = ops.get(type(node.op))
        if op is None:
            raise self.refuse("the operators + - * / **")
        left, right = self.build(node.left), self.build(node.right)
        return self._folded(lambda: arith(op, left, right))

    def _folded(self, make: Callable[[], Node]) -> Node:
        """A node whose constant parts are folded; an undefined or infinite constant is refused."""
        with np.errstate(all="raise"):
            try:
                node = make()
            except (ArithmeticError, FloatingPointError, ValueError):
                raise self.refuse("constants that are finite (no division by zero, no overflow)") from None
        if isinstance(node, Const) and not math.isfinite(node.value):
            raise self.refuse("constants that are finite (no division by zero, no overflow)")
        return node

    def _call(self, node: ast.Call) -> Node:
        if not isinstance(node.func, ast.Name):
            raise self.refuse("calls of the allowed functions by name only")
        name = node.func.id
        if node.keywords:
            raise self.refuse("calls without keyword arguments")
        args = [self.build(a) for a in node.args]
        if name in BINARY:
            if len(args) != 2:
                raise self.refuse(f"{name} with two arguments")
            a, b = args
            return Select(a, b, a, b) if name == "maximum" else Select(a, b, b, a)
        if name not in functions():
            raise self.refuse(f"calls of the allowed functions only (got {name!r})")
        if len(args) != 1:
            raise self.refuse(f"{name} with one argument")
        return Apply(name, args[0])


# ----------------------------------------------------------------------------- smart constructors


def _const(node: Node) -> float | None:
    return node.value if isinstance(node, Const) else None


def neg(a: Node) -> Node:
    if isinstance(a, Const):
        return Const(-a.value)
    if isinstance(a, Neg):
        return a.arg
    return Neg(a)


def arith(op: str, a: Node, b: Node) -> Node:
    """``a op b`` with constants folded and the identities of 0 and 1 applied."""
    ca, cb = _const(a), _const(b)
    if ca is not None and cb is not None:
        return Const({"+": ca + cb, "-": ca - cb, "*": ca * cb}[op] if op != "/" else _divide(ca, cb))
    if op == "+":
        return b if ca == 0 else a if cb == 0 else Arith("+", a, b)
    if op == "-":
        return neg(b) if ca == 0 else a if cb == 0 else Arith("-", a, b)
    if op == "*":
        if ca == 0 or cb == 0:
            return ZERO
        return b if ca == 1 else a if cb == 1 else Arith("*", a, b)
    if cb == 0:
        raise ZeroDivisionError("division by zero")
    return ZERO if ca == 0 else a if cb == 1 else Arith("/", a, b)


def _divide(a: float, b: float) -> float:
    if b == 0:
        raise ZeroDivisionError("division by zero")
    return a / b


def power(base: Node, exponent: float) -> Node:
    if exponent == 0:
        return ONE
    if exponent == 1:
        return base
    cb = _const(base)
    if cb is not None:
        return Const(float(np.power(np.float64(cb), exponent)))
    return Power(base, float(exponent))


# ----------------------------------------------------------------------------- evaluation


def evaluate(node: Node, x: np.ndarray) -> np.ndarray:
    """The value of the tree at ``x`` (elementwise on arrays): the tree walker."""
    if isinstance(node, Var):
        return x
    if isinstance(node, Const):
        return np.full_like(np.asarray(x, dtype=float), node.value)
    if isinstance(node, Apply):
        return functions()[node.name].order(node.order)(evaluate(node.arg, x))
    if isinstance(node, Neg):
        return -evaluate(node.arg, x)
    if isinstance(node, Power):
        return np.power(evaluate(node.base, x), node.exponent)
    if isinstance(node, Select):
        return np.where(evaluate(node.left, x) >= evaluate(node.right, x), evaluate(node.above, x),
                        evaluate(node.below, x))
    a, b = _operand(node.left, x), _operand(node.right, x)
    if node.op == "+":
        return a + b
    if node.op == "-":
        return a - b
    if node.op == "*":
        return a * b
    return a / b


def _operand(node: Node, x: np.ndarray):
    """An operand of + - * /: a constant stays a Python float (no array of it is built)."""
    return node.value if isinstance(node, Const) else evaluate(node, x)


# ----------------------------------------------------------------------------- derivatives


def derivative(node: Node) -> Node:
    """d/dx of the tree, by the sum, product, quotient, power and chain rules."""
    if isinstance(node, Const):
        return ZERO
    if isinstance(node, Var):
        return ONE
    if isinstance(node, Apply):
        if node.order >= 2:
            raise ValueError("third derivatives of registry functions are not available")
        return arith("*", Apply(node.name, node.arg, node.order + 1), derivative(node.arg))
    if isinstance(node, Neg):
        return neg(derivative(node.arg))
    if isinstance(node, Power):
        outer = arith("*", Const(node.exponent), power(node.base, node.exponent - 1.0))
        return arith("*", outer, derivative(node.base))
    if isinstance(node, Select):
        return Select(node.left, node.right, derivative(node.above), derivative(node.below))
    a, b = node.left, node.right
    da, db = derivative(a), derivative(b)
    if node.op in "+-":
        return arith(node.op, da, db)
    if node.op == "*":
        return arith("+", arith("*", da, b), arith("*", a, db))
    return arith("/", arith("-", arith("*", da, b), arith("*", a, db)), power(b, 2.0))


# ----------------------------------------------------------------------------- canonical text

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def number_text(value: float) -> str:
    """A number in its shortest spelling (integral values without a decimal point)."""
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def canonical(node: Node) -> str:
    """The canonical spelling of a tree: no spaces, minimal parentheses, numbers in shortest form
    (``x * tanh( x )`` and ``x*tanh(x)`` are the same function and the same text)."""
    return _text(node)[0]


def _text(node: Node) -> tuple[str, int]:
    """(text, precedence) with precedence 1 (+ -), 2 (* /), 3 (unary -), 4 (**), 5 (atoms)."""
    if isinstance(node, Var):
        return "x", 5
    if isinstance(node, Const):
        return (number_text(node.value), 5) if node.value >= 0 else ("-" + number_text(-node.value), 3)
    if isinstance(node, Apply):
        if node.order:
            raise ValueError("a derivative node has no spelling")
        return f"{node.name}({canonical(node.arg)})", 5
    if isinstance(node, Neg):
        inner, p = _text(node.arg)
        return "-" + (inner if p >= 3 else f"({inner})"), 3
    if isinstance(node, Power):
        inner, p = _text(node.base)
        base = inner if p >= 5 else f"({inner})"
        exponent = number_text(node.exponent) if node.exponent >= 0 else f"({number_text(node.exponent)})"
        return f"{base}**{exponent}", 4
    if isinstance(node, Select):
        if (node.above, node.below) == (node.left, node.right):
            return f"maximum({canonical(node.left)},{canonical(node.right)})", 5
        if (node.above, node.below) == (node.right, node.left):
            return f"minimum({canonical(node.left)},{canonical(node.right)})", 5
        raise ValueError("a derivative node has no spelling")
    p = _PRECEDENCE[node.op]
    left, pl = _text(node.left)
    right, pr = _text(node.right)
    left = left if pl >= p else f"({left})"
    right = right if pr > p or (pr == p and node.op in "+*") else f"({right})"
    return f"{left}{node.op}{right}", p


def linear_terms(node: Node) -> list[tuple[float, str]] | None:
    """``[(coefficient, registry name), ...]`` when the tree is a linear combination of registry
    functions of x (a number c counts as c*he0 and x as he1); None otherwise."""
    if isinstance(node, Const):
        return [(node.value, "he0")] if node.value else []
    if isinstance(node, Var):
        return [(1.0, "he1")]
    if isinstance(node, Apply):
        return [(1.0, node.name)] if isinstance(node.arg, Var) and node.order == 0 and node.name in _registry_names() \
            else None
    if isinstance(node, Neg):
        inner = linear_terms(node.arg)
        return None if inner is None else [(-c, n) for c, n in inner]
    if not isinstance(node, Arith):
        return None
    if node.op in "+-":
        a, b = linear_terms(node.left), linear_terms(node.right)
        if a is None or b is None:
            return None
        return a + (b if node.op == "+" else [(-c, n) for c, n in b])
    scale = _const(node.right) if node.op in "*/" else None
    other = node.left
    if node.op == "*" and scale is None:
        scale, other = _const(node.left), node.right
    if scale is None:
        return None
    inner = linear_terms(other)
    factor = scale if node.op == "*" else 1.0 / scale
    return None if inner is None else [(c * factor, n) for c, n in inner]


def _registry_names() -> set[str]:
    return set(functions()) - set(_numpy_functions())


# ----------------------------------------------------------------------------- kinks and checks


def kinks(node: Node) -> tuple[float, ...]:
    """Points of [-L, L] where the function or a derivative is not smooth (module docstring)."""
    found: set[float] = set()
    for fn, level in _breakpoint_functions(node):
        found.update(_crossings(fn, level))
    return tuple(sorted(found))[:MAX_KINKS]


def poles(node: Node) -> tuple[float, ...]:
    """Points where a denominator or a negatively powered base changes sign or vanishes."""
    found: set[float] = set()
    for sub in _subtrees(node):
        if isinstance(sub, Arith) and sub.op == "/":
            found.update(_crossings(sub.right, 0.0))
        elif isinstance(sub, Power) and sub.exponent < 0:
            found.update(_crossings(sub.base, 0.0))
    return tuple(sorted(found))


def _subtrees(node: Node):
    stack = [node]
    while stack:
        sub = stack.pop()
        yield sub
        if isinstance(sub, (Apply, Neg)):
            stack.append(sub.arg)
        elif isinstance(sub, Arith):
            stack += [sub.left, sub.right]
        elif isinstance(sub, Power):
            stack.append(sub.base)
        elif isinstance(sub, Select):
            stack += [sub.left, sub.right, sub.above, sub.below]


def _breakpoint_functions(node: Node):
    """(sub-expression, level) pairs whose crossings are kinks."""
    for sub in _subtrees(node):
        if isinstance(sub, Apply):
            for k in functions()[sub.name].kinks:
                yield sub.arg, k
        elif isinstance(sub, Select):
            yield Arith("-", sub.left, sub.right), 0.0
        elif isinstance(sub, Power) and not (sub.exponent >= 0 and float(sub.exponent).is_integer()):
            yield sub.base, 0.0
        elif isinstance(sub, Arith) and sub.op == "/":
            yield sub.right, 0.0


def _crossings(node: Node, level: float) -> list[float]:
    """x in [-L, L] where ``node(x) - level`` vanishes or changes sign (grid scan + Brent)."""
    if isinstance(node, Const):
        return []
    with np.errstate(all="ignore"):
        values = np.asarray(evaluate(node, _GRID), dtype=float) - level
        exact = _GRID[values == 0.0]
        if exact.size == _GRID.size:  # identically at the level: no crossing
            return []
        out = [float(v) for v in exact[:MAX_KINKS]]
        finite = np.isfinite(values[:-1]) & np.isfinite(values[1:])
        change = np.nonzero(finite & (np.sign(values[:-1]) * np.sign(values[1:]) < 0))[0]

        def g(t: float) -> float:
            return float(evaluate(node, np.array([t]))[0]) - level

        for i in change[:MAX_KINKS]:
            out.append(float(optimize.brentq(g, _GRID[i], _GRID[i + 1], xtol=1e-15, rtol=4 * np.finfo(float).eps)))
    return out


def check_function(node: Node, kink_points: tuple[float, ...], field: str, text: str) -> None:
    """Refuse a function with a pole, a non-finite value on [-L, L] or an infinite Gaussian second moment."""
    pole = poles(node)
    if pole:
        raise _refuse(field, text, f"a function without poles (one at x = {pole[0]:.6g})")
    points = np.concatenate([_GRID, np.asarray(kink_points, dtype=float)])
    with np.errstate(all="ignore"):
        values = np.asarray(evaluate(node, points), dtype=float)
    if not np.all(np.isfinite(values)):
        bad = float(points[~np.isfinite(values)][0])
        raise _refuse(field, text, f"a function with finite values (not finite at x = {bad:.6g}; log and sqrt "
                                   "need arguments > 0 and >= 0)")
    with np.errstate(divide="ignore"):
        tail = 2.0 * np.log(np.abs(values[[0, _GRID.size - 1]])) - 0.5 * SPAN**2 - 0.5 * math.log(2 * math.pi)
    if np.any(tail > TAIL_LOG_BOUND):
        raise _refuse(field, text, "a function with a finite Gaussian second moment (|f(x)|^2 exp(-x^2/2) -> 0)")


# ----------------------------------------------------------------------------- compiled expressions


@dataclass(frozen=True)
class Compiled:
    """An expression's tree, its two derivatives and its kinks."""

    name: str
    tree: Node
    d1: Node
    d2: Node
    kinks: tuple[float, ...]


@lru_cache(maxsize=256)
def _compiled(name: str) -> Compiled:
    tree = parse(name)
    d1 = derivative(tree)
    return Compiled(name, tree, d1, derivative(d1), kinks(tree))


def compile_tree(tree: Node, field: str = "activation", text: str | None = None) -> Compiled:
    """The compiled form of a parsed tree (one object per canonical spelling), checked."""
    compiled = _compiled(canonical(tree))
    check_function(compiled.tree, compiled.kinks, field, canonical(tree) if text is None else text)
    return compiled


def function_of(tree: Node) -> ArrayFn:
    """The tree as a function of an array (walked at every call). Floating-point warnings are not
    raised: a value that overflows or is undefined is NaN or inf, which the runs check and report."""

    def fn(z):
        with np.errstate(all="ignore"):
            return evaluate(tree, z)

    return fn


def compile_expression(text: str, field: str = "activation"):
    """An :class:`~giantstep.activations.Activation` for an expression (see the module docstring)."""
    from .activations import get_activation

    return get_activation(text, field_name=field)
