r"""One validator for the theory functions: a constraint table per public function.

Each public theory function declares what its inputs may be, scikit-learn style::

    @validate_params({"d": Interval(int, 1, None), "eta0": Interval(float, 0, None),
                      "activation": Function("activation"), "second_layer": Options(SECOND_LAYERS)})
    def first_step(activation, link, d, width, n, eta0, alpha=0.0, *, ...): ...

The decorator binds the call to the signature, checks every named parameter against its
constraint and passes the checked, converted value on (an integral float becomes an int, a
function name an :class:`~giantstep.activations.Activation`). A violation raises
:class:`~giantstep.errors.ConfigError` with the one-line template
``The 'NAME' parameter must be ALLOWED. Got VALUE instead.``, which the CLI turns into exit
status 2. Constraints are plain objects with ``check(name, value)`` and ``allowed``, so code that is
not a decorated function (the CLI) checks single values with the same objects.

Domain conditions that are not about one input's type or range (activation parity, step regime,
quadrature accuracy) are :func:`giantstep.theory.domain.require` checks inside the function.

Example
-------
>>> Interval(float, 0, 0.5).check("alpha", 0.25)
0.25
>>> Interval(int, 1, None).allowed
'an integer in [1, inf)'
"""

from __future__ import annotations

import functools
import inspect
import math
from typing import Any, Callable

import numpy as np

from ..activations import get_activation
from ..errors import ConfigError

INT_LIMIT = 1 << 62  # integers beyond this are not sizes (and overflow numpy's int64 arithmetic)


class Constraint:
    """What one parameter may be: ``allowed`` (text for the error) and ``check`` (convert or raise)."""

    allowed = "a valid value"

    def check(self, name: str, value: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError


def _bound_text(x: float | None, infinite: str) -> str:
    return infinite if x is None else f"{x:g}"


class Interval(Constraint):
    """A number of ``kind`` (int or float) in an interval; ``None`` ends are unbounded (never reached).

    ``closed`` is "both", "left", "right" or "neither". ``array=True`` accepts arrays too (every
    entry checked; the value comes back as a float array, or a float for a scalar).
    """

    def __init__(self, kind: type, left: float | None, right: float | None, closed: str = "both", array: bool = False):
        self.kind, self.left, self.right, self.closed, self.array = kind, left, right, closed, array
        lo = "[" if closed in ("both", "left") and left is not None else "("
        hi = "]" if closed in ("both", "right") and right is not None else ")"
        noun = "an integer" if kind is int else "a float"
        text = f"{noun} in {lo}{_bound_text(left, '-inf')}, {_bound_text(right, 'inf')}{hi}"
        self.allowed = text + (" (or an array of them)" if array else "")

    def _inside(self, v: np.ndarray) -> bool:
        ok = np.isfinite(v) if self.kind is int else ~np.isnan(v)
        if self.left is None:
            ok &= v > -math.inf
        else:
            ok &= v >= self.left if self.closed in ("both", "left") else v > self.left
        if self.right is None:
            ok &= v < math.inf
        else:
            ok &= v <= self.right if self.closed in ("both", "right") else v < self.right
        return bool(np.all(ok))

    def check(self, name: str, value: Any) -> Any:
        if isinstance(value, (bool, np.bool_, str)):
            raise ConfigError(name, self.allowed, value)
        try:
            v = np.asarray(value, dtype=float)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(name, self.allowed, value) from None
        if (v.ndim and not self.array) or v.size == 0 or not self._inside(v):
            raise ConfigError(name, self.allowed, value)
        if self.kind is int:
            if not np.all(v == np.round(v)) or np.any(np.abs(v) > INT_LIMIT):
                raise ConfigError(name, self.allowed, value)
            return int(v) if v.ndim == 0 else v.astype(np.int64)
        return float(v) if v.ndim == 0 else v


class Options(Constraint):
    """One of a fixed set of values."""

    def __init__(self, values: tuple):
        self.values = tuple(values)
        self.allowed = "one of " + ", ".join(repr(v) for v in self.values)

    def check(self, name: str, value: Any) -> Any:
        if not isinstance(value, (str, int, float, bool)) or value not in self.values:
            raise ConfigError(name, self.allowed, value)
        return value


class Function(Constraint):
    """An activation or link: a registered name, a sum expression, an Activation or a callable.

    Passed on as the resolved :class:`~giantstep.activations.Activation`, or unchanged with
    ``resolve=False`` (for functions that cache by name).
    """

    allowed = "a registered name or a sum such as 'he1+0.5*he2'"

    def __init__(self, resolve: bool = True):
        self.resolve = resolve

    def check(self, name: str, value: Any) -> Any:
        act = get_activation(value, field_name=name)
        return act if self.resolve else value


class Optional(Constraint):
    """``None`` ("not given") or a value satisfying ``inner``."""

    def __init__(self, inner: Constraint):
        self.inner = inner
        self.allowed = inner.allowed + " (or not given)"

    def check(self, name: str, value: Any) -> Any:
        return None if value is None else self.inner.check(name, value)


class Instance(Constraint):
    """An instance of a given class (a structured input such as a transform or a law)."""

    def __init__(self, cls: type, allowed: str):
        self.cls, self.allowed = cls, allowed

    def check(self, name: str, value: Any) -> Any:
        if not isinstance(value, self.cls):
            raise ConfigError(name, self.allowed, value)
        return value


class Boolean(Constraint):
    """True or False."""

    allowed = "true or false"

    def check(self, name: str, value: Any) -> Any:
        if not isinstance(value, (bool, np.bool_)):
            raise ConfigError(name, self.allowed, value)
        return bool(value)


def validate_params(table: dict[str, Constraint]) -> Callable:
    """Decorator: check the named parameters of every call against ``table`` (module docstring)."""

    def decorate(fn: Callable) -> Callable:
        sig = inspect.signature(fn)
        missing = set(table) - set(sig.parameters)
        if missing:
            raise TypeError(f"{fn.__qualname__}: no parameter(s) {sorted(missing)} to validate")

        @functools.wraps(fn)
        def checked(*args, **kwargs):
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            for name, constraint in table.items():
                bound.arguments[name] = constraint.check(name, bound.arguments[name])
            return fn(*bound.args, **bound.kwargs)

        checked.constraints = dict(table)
        return checked

    return decorate


# the constraints most theory functions share. Ratios, noise levels and ridges are bounded where
# the formulas were checked in float64 (Mei-Montanari meets its kernel limit at psi1 = 1e10; its
# interpolation-threshold risk scales as ridge^(-1/2) down to 1e-20); beyond, a number would not
# be right.
SIZE = Interval(int, 1, None)
RATIO = Interval(float, 0, 1e10, closed="right")
RATIO_ARRAY = Interval(float, 0, 1e10, closed="right", array=True)
NOISE = Interval(float, 0, 1e10)
RIDGE = Interval(float, 1e-20, None, closed="left")
RIDGE_ARRAY = Interval(float, 1e-20, None, closed="left", array=True)
POSITIVE = Interval(float, 0, None, closed="neither")
NONNEGATIVE = Interval(float, 0, None, closed="left")
UNIT = Interval(float, 0, 1)
STEP_EXPONENT = Interval(float, 0, 0.5)
GROWING_STEP_EXPONENT = Interval(float, 0, 0.5, closed="left")
