r"""Row filters for results tables: a small grammar, parsed into a tree and applied to columns.

The text of ``giantstep results --where`` and ``load_results(where=...)`` is never evaluated as
Python (or by pandas): it is tokenised and parsed by the grammar below, and the tree is applied
to the DataFrame's columns with vectorised comparisons.

    filter     := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | "(" filter ")" | comparison
    comparison := operand OP operand            OP: == != < <= > >=  ("=" is "==")
    operand    := COLUMN | NUMBER | STRING | true | false | null
    COLUMN     := name of letters, digits, '_' and '.' not starting with a digit (steps.0.alpha,
                  w1.s1), or any text between backticks (`my column`)
    NUMBER     := decimal or scientific literal (1, -2.5, 1e-3), inf, nan
    STRING     := '...' or "..." (no escapes)

Keywords (and, or, not, true, false, null, inf, nan) are case-insensitive; a column with such a
name is written in backticks. ``x == null`` / ``x != null`` test for missing values; an ordering
comparison with a missing value is false. Limits: 4096 characters, 64 levels of nesting.

>>> tree = parse_filter("status == 'done' and not (steps.0.alpha > 0.2 or width = 64)")
>>> sorted(columns_of(tree))
['status', 'steps.0.alpha', 'width']
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import ConfigError

MAX_LENGTH = 4096
MAX_DEPTH = 64
ALLOWED = ("a filter of comparisons (==, !=, <, <=, >, >=) between columns and literals, joined by and/or/not "
           "with parentheses, e.g. \"status == 'done' and steps.0.alpha > 0.2\"")

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?![A-Za-z_.\d]))
  | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
  | `(?P<quoted>[^`]*)`
  | '(?P<single>[^']*)'
  | "(?P<double>[^"]*)"
  | (?P<op>==|!=|<=|>=|<|>|=)
  | (?P<paren>[()])
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "true", "false", "null", "inf", "nan"}
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


@dataclass(frozen=True)
class Column:
    name: str


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Compare:
    left: "Column | Literal"
    op: str
    right: "Column | Literal"


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    items: tuple


@dataclass(frozen=True)
class Not:
    item: Any


@dataclass(frozen=True)
class _Token:
    kind: str  # number, name, column, string, op, paren, keyword
    text: str
    pos: int


def _error(text: str, problem: str) -> ConfigError:
    return ConfigError("where", f"{ALLOWED} ({problem})", text)


def tokenize(text: str) -> list[_Token]:
    """Split a filter into tokens; ConfigError('where') at the first character that fits no token."""
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            start = pos + len(text[pos:]) - len(text[pos:].lstrip())
            raise _error(text, f"unexpected character {text[start]!r} at position {start}")
        kind = m.lastgroup
        value = m.group(kind)
        start = m.start(kind)
        if kind == "name" and value.lower() in _KEYWORDS:
            tokens.append(_Token("keyword", value.lower(), start))
        elif kind == "name" or kind == "quoted":
            tokens.append(_Token("column", value, start))
        elif kind in ("single", "double"):
            tokens.append(_Token("string", value, start))
        else:
            tokens.append(_Token(kind, value, start))
        pos = m.end()
    return tokens


class _Parser:
    """Recursive descent over the token list; depth-bounded so no input can exhaust the stack."""

    def __init__(self, text: str, tokens: list[_Token]):
        self.text, self.tokens, self.i, self.depth = text, tokens, 0, 0

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Token:
        tok = self.peek()
        if tok is None:
            raise _error(self.text, "the filter ends too early")
        self.i += 1
        return tok

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _error(self.text, f"nested deeper than {MAX_DEPTH} levels")

    def boolean(self, op: str, sub: Callable[[], Any]) -> Any:
        items = [sub()]
        while (tok := self.peek()) is not None and tok.kind == "keyword" and tok.text == op:
            self.i += 1
            items.append(sub())
        return items[0] if len(items) == 1 else BoolOp(op, tuple(items))

    def parse_or(self) -> Any:
        return self.boolean("or", self.parse_and)

    def parse_and(self) -> Any:
        return self.boolean("and", self.parse_not)

    def parse_not(self) -> Any:
        tok = self.peek()
        if tok is not None and tok.kind == "keyword" and tok.text == "not":
            self.i += 1
            self.nested()
            item = Not(self.parse_not())
            self.depth -= 1
            return item
        if tok is not None and tok.kind == "paren" and tok.text == "(":
            self.i += 1
            self.nested()
            item = self.parse_or()
            close = self.take()
            if close.kind != "paren" or close.text != ")":
                raise _error(self.text, f"expected ')' at position {close.pos}")
            self.depth -= 1
            return item
        return self.comparison()

    def operand(self) -> "Column | Literal":
        tok = self.take()
        if tok.kind == "column":
            return Column(tok.text)
        if tok.kind == "string":
            return Literal(tok.text)
        if tok.kind == "number":
            value = float(tok.text)
            return Literal(int(tok.text) if re.fullmatch(r"[+-]?\d+", tok.text) else value)
        if tok.kind == "keyword" and tok.text in ("true", "false", "null", "inf", "nan"):
            return Literal({"true": True, "false": False, "null": None, "inf": math.inf, "nan": math.nan}[tok.text])
        raise _error(self.text, f"expected a column or a literal at position {tok.pos}, found {tok.text!r}")

    def comparison(self) -> Compare:
        left = self.operand()
        tok = self.take()
        if tok.kind != "op":
            raise _error(self.text, f"expected a comparison (==, !=, <, <=, >, >=) at position {tok.pos}")
        right = self.operand()
        op = "==" if tok.text == "=" else tok.text
        if op not in ("==", "!=") and (_is_null(left) or _is_null(right)):
            raise _error(self.text, f"null compares only with == or != (position {tok.pos})")
        return Compare(left, op, right)


def _is_null(node: Any) -> bool:
    return isinstance(node, Literal) and node.value is None


def parse_filter(text: Any) -> Any:
    """The tree of a filter text (ConfigError 'where' naming the problem and its position)."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("where", ALLOWED, text)
    if len(text) > MAX_LENGTH:
        raise _error(text, f"longer than {MAX_LENGTH} characters")
    parser = _Parser(text, tokenize(text))
    tree = parser.parse_or()
    if parser.peek() is not None:
        tok = parser.peek()
        raise _error(text, f"unexpected {tok.text!r} at position {tok.pos}")
    return tree


def columns_of(tree: Any) -> set[str]:
    """Column names a filter tree refers to."""
    if isinstance(tree, Column):
        return {tree.name}
    if isinstance(tree, Compare):
        return columns_of(tree.left) | columns_of(tree.right)
    if isinstance(tree, BoolOp):
        return set().union(*(columns_of(t) for t in tree.items))
    if isinstance(tree, Not):
        return columns_of(tree.item)
    return set()


def _values(node: "Column | Literal", df) -> Any:
    return df[node.name] if isinstance(node, Column) else node.value


def _compare(node: Compare, df, text: str):
    import pandas as pd

    if _is_null(node.left) or _is_null(node.right):
        other = node.right if _is_null(node.left) else node.left
        values = _values(other, df)
        missing = values.isna() if isinstance(values, pd.Series) else pd.Series(values is None, index=df.index)
        return missing if node.op == "==" else ~missing
    left, right = _values(node.left, df), _values(node.right, df)
    fn = _OPS[node.op]
    try:
        if _is_object(left) or _is_object(right):
            out = _elementwise(fn, left, right, df.index)
        else:
            out = fn(left, right)
    except TypeError:
        raise _error(text, f"cannot compare {_describe(node.left)} {node.op} {_describe(node.right)}: "
                           "order numbers with numbers and text with text") from None
    if not isinstance(out, pd.Series):
        out = pd.Series(bool(out), index=df.index)
    return out.fillna(False).astype(bool)


def _is_object(values: Any) -> bool:
    return hasattr(values, "dtype") and values.dtype == object


def _elementwise(fn: Callable[[Any, Any], Any], left: Any, right: Any, index):
    """Comparison of mixed-type columns (text with missing values, list-valued axes) item by item:
    missing or incomparable items are false; TypeError only if no item is comparable."""
    import pandas as pd

    lefts = list(left) if hasattr(left, "dtype") else [left] * len(index)
    rights = list(right) if hasattr(right, "dtype") else [right] * len(index)
    out, attempted, comparable = [], False, False
    for a, b in zip(lefts, rights):
        if a is None or b is None or (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
            out.append(fn is operator.ne)
            continue
        attempted = True
        try:
            out.append(bool(fn(a, b)))
            comparable = True
        except TypeError:
            out.append(False)
    if attempted and not comparable and fn not in (operator.eq, operator.ne):
        raise TypeError("no comparable items")
    return pd.Series(out, index=index, dtype=bool)


def _describe(node: "Column | Literal") -> str:
    return f"column {node.name!r}" if isinstance(node, Column) else repr(node.value)


def _mask(tree: Any, df, text: str):
    if isinstance(tree, Compare):
        return _compare(tree, df, text)
    if isinstance(tree, Not):
        return ~_mask(tree.item, df, text)
    masks = [_mask(t, df, text) for t in tree.items]
    out = masks[0]
    for m in masks[1:]:
        out = (out & m) if tree.op == "and" else (out | m)
    return out


def apply_filter(df, text: str):
    """The rows of ``df`` that satisfy the filter ``text`` (ConfigError 'where' for unknown columns)."""
    tree = parse_filter(text)
    unknown = sorted(columns_of(tree) - set(df.columns))
    if unknown:
        shown = ", ".join(list(df.columns)[:40]) + (", ..." if len(df.columns) > 40 else "")
        raise _error(text, f"unknown column {unknown[0]!r}; the columns are {shown}")
    if len(df) == 0:
        return df
    return df[_mask(tree, df, text).to_numpy()]
