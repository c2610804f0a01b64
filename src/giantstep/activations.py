r"""Scalar nonlinearities: activations sigma and teacher links g, by name or as callables.

An :class:`Activation` carries the function, its first two derivatives and the location of its
kinks (points where a derivative jumps), which the Hermite quadrature splits at.

Registry (all act elementwise on numpy arrays)::

    relu, tanh, erf, sigmoid, sin, gelu, abs, sign, softplus, linear (= he1), square (z^2),
    heK  -- the normalised probabilists' Hermite polynomial He_K / sqrt(K!), K = 0..12

and sums of registered names with numeric coefficients, e.g. ``"he1+0.5*he2"`` or
``"tanh - 0.2*he3"``. Any Python callable can be wrapped with :func:`from_callable`.

Hermite convention (docs/theory.md, section 0): He_0 = 1, He_1 = z, He_2 = z^2 - 1, ...,
E[He_j(G) He_k(G)] = k! delta_jk for G ~ N(0, 1).

Example
-------
>>> sigma = get_activation("relu")
>>> float(sigma(np.array(2.0)))
2.0
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Callable

import numpy as np
from scipy import special

from .errors import ConfigError

ArrayFn = Callable[[np.ndarray], np.ndarray]

MAX_HERMITE_DEGREE = 12


@dataclass(frozen=True, eq=False)
class Activation:
    """A scalar function with derivatives, used as activation sigma or teacher link g.

    Attributes
    ----------
    name : canonical spelling (used in configs and results).
    f, df, d2f : the function and its first two derivatives (elementwise on arrays).
    kinks : points where f or a derivative is not smooth (quadrature splits there).
    expression : canonical expression of a registry function or a sum of them, as sorted
        (registered name, coefficient) terms with repeated names merged (``"he2+he1+he1"`` and
        ``"2*he1+he2"`` share one); None for other callables. Caches key on it.
    """

    name: str
    f: ArrayFn
    df: ArrayFn
    d2f: ArrayFn
    kinks: tuple[float, ...] = field(default=())
    expression: tuple[tuple[str, float], ...] | None = None

    def __call__(self, z):
        return self.f(z)

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return f"Activation({self.name!r})"


def _const(c: float) -> ArrayFn:
    return lambda z: np.full_like(np.asarray(z, dtype=float), c)


def _hermite(k: int) -> Activation:
    """He_k / sqrt(k!) with derivatives from He_k' = k He_{k-1}."""
    norm = 1.0 / math.sqrt(math.factorial(k))

    def he(j: int) -> ArrayFn:
        if j < 0:
            return _const(0.0)
        return lambda z: special.eval_hermitenorm(j, np.asarray(z, dtype=float))

    f0, f1, f2 = he(k), he(k - 1), he(k - 2)
    return Activation(
        name=f"he{k}",
        f=lambda z: norm * f0(z),
        df=lambda z: norm * k * f1(z),
        d2f=lambda z: norm * k * (k - 1) * f2(z),
        expression=((f"he{k}", 1.0),),
    )


_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)


def _gauss_pdf(z):
    return np.exp(-0.5 * np.square(z)) / _SQRT2PI


def _gauss_cdf(z):
    return 0.5 * special.erfc(-np.asarray(z, dtype=float) / _SQRT2)


def _sigmoid(z):
    return special.expit(z)


_BUILTIN: dict[str, Activation] = {
    "relu": Activation(
        "relu",
        f=lambda z: np.maximum(z, 0.0),
        df=lambda z: (np.asarray(z) > 0).astype(float),
        d2f=_const(0.0),
        kinks=(0.0,),
    ),
    "tanh": Activation(
        "tanh",
        f=np.tanh,
        df=lambda z: 1.0 - np.tanh(z) ** 2,
        d2f=lambda z: -2.0 * np.tanh(z) * (1.0 - np.tanh(z) ** 2),
    ),
    "erf": Activation(
        "erf",
        f=special.erf,
        df=lambda z: (2.0 / math.sqrt(math.pi)) * np.exp(-np.square(z)),
        d2f=lambda z: (-4.0 / math.sqrt(math.pi)) * np.asarray(z) * np.exp(-np.square(z)),
    ),
    "sigmoid": Activation(
        "sigmoid",
        f=_sigmoid,
        df=lambda z: _sigmoid(z) * (1.0 - _sigmoid(z)),
        d2f=lambda z: _sigmoid(z) * (1.0 - _sigmoid(z)) * (1.0 - 2.0 * _sigmoid(z)),
    ),
    "sin": Activation("sin", f=np.sin, df=np.cos, d2f=lambda z: -np.sin(z)),
    "gelu": Activation(
        "gelu",
        f=lambda z: np.asarray(z) * _gauss_cdf(z),
        df=lambda z: _gauss_cdf(z) + np.asarray(z) * _gauss_pdf(z),
        d2f=lambda z: (2.0 - np.square(z)) * _gauss_pdf(z),
    ),
    "abs": Activation(
        "abs", f=np.abs, df=lambda z: np.sign(z).astype(float), d2f=_const(0.0), kinks=(0.0,)
    ),
    "sign": Activation(
        "sign", f=lambda z: np.sign(z).astype(float), df=_const(0.0), d2f=_const(0.0), kinks=(0.0,)
    ),
    "softplus": Activation(
        "softplus",
        f=lambda z: np.logaddexp(0.0, z),
        df=_sigmoid,
        d2f=lambda z: _sigmoid(z) * (1.0 - _sigmoid(z)),
    ),
    "linear": Activation("linear", f=lambda z: np.asarray(z, dtype=float), df=_const(1.0), d2f=_const(0.0)),
    "square": Activation(
        "square", f=np.square, df=lambda z: 2.0 * np.asarray(z, dtype=float), d2f=_const(2.0)
    ),
}
for _k in range(MAX_HERMITE_DEGREE + 1):
    _BUILTIN[f"he{_k}"] = _hermite(_k)
for _name, _act in _BUILTIN.items():
    if _act.expression is None:
        _BUILTIN[_name] = replace(_act, expression=((_name, 1.0),))

NAMES: tuple[str, ...] = tuple(_BUILTIN)

_TERM = re.compile(r"\s*([+-])?\s*(?:(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)\s*\*\s*)?([a-z][a-z0-9_]*)\s*")

_ALLOWED = "a registered name (" + ", ".join(n for n in NAMES if not n.startswith("he")) + ", he0..he12) or a sum such as 'he1+0.5*he2'"


def _linear_combination(terms: list[tuple[float, Activation]], name: str) -> Activation:
    coefs = [c for c, _ in terms]
    acts = [a for _, a in terms]
    kinks = tuple(sorted({k for a in acts for k in a.kinks}))
    merged: dict[str, float] = {}
    for c, a in terms:
        merged[a.name] = merged.get(a.name, 0.0) + c

    def comb(attr: str) -> ArrayFn:
        fns = [getattr(a, attr) for a in acts]
        return lambda z: sum(c * fn(z) for c, fn in zip(coefs, fns))

    return Activation(name=name, f=comb("f"), df=comb("df"), d2f=comb("d2f"), kinks=kinks,
                      expression=tuple(sorted(merged.items())))


def get_activation(spec: "str | Activation | Callable", field_name: str = "activation") -> Activation:
    """Resolve a name, a sum of names, an expression in x, an :class:`Activation` or a callable.

    A callable is wrapped once (:func:`callable_activation`), so its Hermite constants are computed
    once. An expression (:mod:`giantstep.expressions`) that is a linear combination of registry
    functions resolves to that sum of names (``0.5*(he1+he2)`` is ``0.5*he1+0.5*he2``). Raises
    :class:`ConfigError` naming ``field_name`` for an unknown name or a refused expression.
    """
    if isinstance(spec, Activation):
        return spec
    if callable(spec):
        return callable_activation(spec)
    if not isinstance(spec, str):
        raise ConfigError(field_name, _ALLOWED, spec)
    text = spec.strip().lower()
    if text in _BUILTIN:
        return _BUILTIN[text]
    if text in _NAMED:
        return _NAMED[text]
    terms = _sum_terms(text)
    if terms is not None:
        return _linear_combination(terms, name=text.replace(" ", ""))
    return _from_expression(spec, field_name)


def _sum_terms(text: str) -> list[tuple[float, Activation]] | None:
    """The (coefficient, function) terms of a sum of registered names, or None for other text."""
    pos, terms = 0, []
    while pos < len(text):
        m = _TERM.match(text, pos)
        if m is None or m.end() == pos or (terms and m.group(1) is None) or m.group(3) not in _BUILTIN:
            return None
        sign = -1.0 if m.group(1) == "-" else 1.0
        coef = float(m.group(2)) if m.group(2) else 1.0
        terms.append((sign * coef, _BUILTIN[m.group(3)]))
        pos = m.end()
    return terms or None


def _from_expression(text: str, field_name: str) -> Activation:
    """An expression in x: a sum of names if it is one, else its compiled tree (one per spelling)."""
    from . import expressions as ex

    tree = ex.parse(text, field_name)
    terms = [(c, n) for c, n in ex.linear_terms(tree) or [] if c != 0.0]
    if terms:
        sum_text = "".join(f"{'-' if c < 0 else '+' if i else ''}{'' if abs(c) == 1 else ex.number_text(abs(c)) + '*'}{n}"
                           for i, (c, n) in enumerate(terms))
        return get_activation(sum_text, field_name)
    compiled = ex.compile_tree(tree, field_name, text)
    return _expression_activation(compiled.name)


@lru_cache(maxsize=256)
def _expression_activation(name: str) -> Activation:
    from . import expressions as ex

    c = ex.compile_tree(ex.parse(name))
    return Activation(name=c.name, f=ex.function_of(c.tree), df=ex.function_of(c.d1), d2f=ex.function_of(c.d2),
                      kinks=c.kinks)


def registry() -> dict[str, Activation]:
    """The registered functions by name (a copy)."""
    return dict(_BUILTIN)


# Functions given from Python: one Activation per object, named "python:NAME" (unique in the process).
_CALLABLES: dict[int, tuple[object, Activation]] = {}
_NAMED: dict[str, Activation] = {}
CALLABLE_PREFIX = "python:"


def _register(obj: object, base: str, make: Callable[[str], Activation]) -> Activation:
    """The Activation registered for ``obj`` (by identity), made by ``make(name)`` on first use."""
    held = _CALLABLES.get(id(obj))
    if held is not None and held[0] is obj:
        return held[1]
    stem = CALLABLE_PREFIX + (base[len(CALLABLE_PREFIX):] if base.startswith(CALLABLE_PREFIX) else base)
    name, i = stem, 1
    while name.lower() in _NAMED:
        i += 1
        name = f"{stem}#{i}"
    act = make(name)
    _CALLABLES[id(obj)] = (obj, act)
    _NAMED[name.lower()] = act
    return act


def callable_activation(fn: Callable) -> Activation:
    """The :class:`Activation` of a Python callable, made once per callable (by identity), so that its
    Hermite constants are computed once; named ``python:NAME`` (``NAME`` its ``__name__``, made unique
    with ``#2``, ``#3``, ... in this process); derivatives by central differences (:func:`from_callable`)."""
    return _register(fn, getattr(fn, "__name__", "custom"), lambda name: from_callable(fn, name=name))


def function_name(spec: "str | Activation | Callable", field_name: str = "activation") -> str:
    """The text that names ``spec`` in a run config: a string as given; a registry function or a
    compiled expression by its name; any other :class:`Activation` or callable by its ``python:NAME``,
    which this process resolves (:func:`get_activation`) to that very function. A config holding a
    ``python:`` name cannot be rebuilt in another process."""
    if isinstance(spec, str):
        return spec
    if not isinstance(spec, Activation):
        return get_activation(spec, field_name).name
    if _BUILTIN.get(spec.name) is spec or _NAMED.get(spec.name.lower()) is spec:
        return spec.name
    if _is_compiled(spec):
        return spec.name
    return _register(spec, spec.name, lambda name: replace(spec, name=name)).name


def _is_compiled(act: Activation) -> bool:
    try:
        return get_activation(act.name) is act
    except ConfigError:
        return False


def from_callable(
    fn: Callable,
    name: str | None = None,
    df: Callable | None = None,
    d2f: Callable | None = None,
    kinks: tuple[float, ...] = (),
    h: float = 1e-5,
) -> Activation:
    """Wrap a user callable. Missing derivatives use central differences with step ``h``
    (error O(h^2) for smooth functions; pass ``df`` explicitly for kinked functions)."""
    f = lambda z: np.asarray(fn(np.asarray(z, dtype=float)), dtype=float)  # noqa: E731
    if df is None:
        df = lambda z: (f(np.asarray(z) + h) - f(np.asarray(z) - h)) / (2 * h)  # noqa: E731
    if d2f is None:
        d1 = df
        d2f = lambda z: (d1(np.asarray(z) + h) - d1(np.asarray(z) - h)) / (2 * h)  # noqa: E731
    return Activation(name=name or getattr(fn, "__name__", "custom"), f=f, df=df, d2f=d2f, kinks=tuple(kinks))
