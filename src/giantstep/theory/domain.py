r"""Where a formula holds: domain conditions, refused by default, allowed with warnings on request.

Every public theory function states in its docstring the domain where its formula holds
(activation parity, second-layer law, step regime, p = d, ridge against the mean mode, quadrature
accuracy, ...) and checks each condition with :func:`require`. Outside the domain the function
raises :class:`~giantstep.errors.ValidityError` naming the violated condition; the CLI turns it
into exit status 2 and one line, and a run's theory block records ``"not applicable: <reason>"``.

To compute a number outside its domain anyway (to study how a formula fails), wrap the call::

    with allow_outside() as warnings:
        res = srf_test_error("relu", "tanh", ...)   # relu is not odd: computed, warned
    # warnings == ["srf: the activation must be odd ...; got 'relu'"]

``giantstep theory ... --allow-outside`` does exactly that and prints the non-empty list under
``"warnings"``. Conditions that would make the number meaningless rather than merely unproven
(a quadrature that does not resolve its integrand, a step that overflows float64) are refused even
then (:func:`require` with ``hard=True``).

Example
-------
>>> with allow_outside() as w:
...     require(False, "demo: a condition that fails")
>>> w
['demo: a condition that fails']
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Iterator

import numpy as np

from ..activations import Activation
from ..errors import ValidityError

PARITY_GRID = np.linspace(-8.0, 8.0, 1601)

_WARNINGS: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("giantstep_outside", default=None)


def require(ok: bool, condition: str, hard: bool = False) -> None:
    """Check one domain condition: raise ValidityError(condition) unless it holds, or, inside
    :func:`allow_outside` and when not ``hard``, record ``condition`` as a warning."""
    if ok:
        return
    warnings = _WARNINGS.get()
    if warnings is None or hard:
        raise ValidityError(condition, hard=hard)
    if condition not in warnings:
        warnings.append(condition)


def is_odd(act: Activation) -> bool:
    """sigma(-z) = -sigma(z) on [-8, 8] (to 1e-12 of max |sigma|; a grid that contains 0 and every
    kink mirrored exactly)."""
    f = np.asarray(act.f(PARITY_GRID), dtype=float)
    scale = max(float(np.max(np.abs(f))), 1e-300)
    return bool(np.all(np.isfinite(f))) and float(np.max(np.abs(f + f[::-1]))) <= 1e-12 * scale


@contextlib.contextmanager
def allow_outside(allow: bool = True) -> Iterator[list[str]]:
    """Within the block, soft domain violations become warnings (collected in the yielded list)."""
    warnings: list[str] = []
    token = _WARNINGS.set(warnings if allow else None)
    try:
        yield warnings
    finally:
        _WARNINGS.reset(token)
