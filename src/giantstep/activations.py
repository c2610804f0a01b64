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
from dataclasses import dataclass, field
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
    """

    name: str
    f: ArrayFn
    df: ArrayFn
    d2f: ArrayFn
    kinks: tuple[float, ...] = field(default=())

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

NAMES: tuple[str, ...] = tuple(_BUILTIN)

_TERM = re.compile(r"\s*([+-])?\s*(?:(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)\s*\*\s*)?([a-z][a-z0-9_]*)\s*")

_ALLOWED = "a registered name (" + ", ".join(n for n in NAMES if not n.startswith("he")) + ", he0..he12) or a sum such as 'he1+0.5*he2'"


def _linear_combination(terms: list[tuple[float, Activation]], name: str) -> Activation:
    coefs = [c for c, _ in terms]
    acts = [a for _, a in terms]
    kinks = tuple(sorted({k for a in acts for k in a.kinks}))

    def comb(attr: str) -> ArrayFn:
        fns = [getattr(a, attr) for a in acts]
        return lambda z: sum(c * fn(z) for c, fn in zip(coefs, fns))

    return Activation(name=name, f=comb("f"), df=comb("df"), d2f=comb("d2f"), kinks=kinks)


def get_activation(spec: "str | Activation | Callable", field_name: str = "activation") -> Activation:
    """Resolve a name, a sum expression, an :class:`Activation` or a callable.

    Raises :class:`ConfigError` naming ``field_name`` for an unknown name or a malformed sum.
    """
    if isinstance(spec, Activation):
        return spec
    if callable(spec):
        return from_callable(spec)
    if not isinstance(spec, str):
        raise ConfigError(field_name, _ALLOWED, spec)
    text = spec.strip().lower()
    if text in _BUILTIN:
        return _BUILTIN[text]
    pos, terms = 0, []
    while pos < len(text):
        m = _TERM.match(text, pos)
        if m is None or m.end() == pos or (terms and m.group(1) is None):
            raise ConfigError(field_name, _ALLOWED, spec)
        sign = -1.0 if m.group(1) == "-" else 1.0
        coef = float(m.group(2)) if m.group(2) else 1.0
        name = m.group(3)
        if name not in _BUILTIN:
            raise ConfigError(field_name, _ALLOWED, spec)
        terms.append((sign * coef, _BUILTIN[name]))
        pos = m.end()
    if not terms:
        raise ConfigError(field_name, _ALLOWED, spec)
    return _linear_combination(terms, name=text.replace(" ", ""))


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
