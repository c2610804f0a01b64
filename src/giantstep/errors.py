"""Exceptions shared by the library and the CLI.

Two kinds of failure are distinguished everywhere:

* :class:`ConfigError` -- the user asked for something invalid. The CLI turns it into exit
  status 2 and one line built from the single message template
  ``The 'FIELD' parameter must be ALLOWED. Got VALUE instead.``
* :class:`DivergenceError` -- a run was valid but its numerics blew up (NaN/inf). The engine
  records the run as failed with the reason; it is never stored as numbers.
* :class:`ValidityError` -- a theory formula was asked outside the domain where it holds
  (activation parity, step regime, quadrature accuracy, ...). The CLI turns it into exit status 2
  and one line naming the violated condition; a run's theory block records
  ``"not applicable: <condition>"`` instead of a number.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class GiantstepError(Exception):
    """Base class of the library's own errors."""


class ConfigError(GiantstepError, ValueError):
    """Invalid user input: names the field, what is allowed and what was given."""

    def __init__(self, field: str, allowed: str, got: Any):
        self.field = field
        self.allowed = allowed
        self.got = got
        super().__init__(f"The '{printable_field(field)}' parameter must be {allowed}. Got {_show(got)} instead.")


class DivergenceError(GiantstepError, ArithmeticError):
    """A computation produced NaN or inf; ``reason`` says where."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class ValidityError(GiantstepError, ValueError):
    """A formula asked outside its domain; ``condition`` names what does not hold.

    ``hard`` marks conditions without which the number would be meaningless (an unresolved
    quadrature, an overflowing step): they are refused even when computing outside the domain
    is allowed.
    """

    def __init__(self, condition: str, hard: bool = False):
        self.condition = condition
        self.hard = hard
        super().__init__(f"outside the formula's domain: {condition}")


def printable_field(field: str) -> str:
    """A field name as one printable line: control characters of a user's key (e.g. '\\r') escaped."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(field))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_finite(name: str, value: Any) -> None:
    """Raise :class:`DivergenceError` if ``value`` (scalar or array) holds NaN or inf."""
    if isinstance(value, float):
        ok = math.isfinite(value)
    else:
        ok = bool(np.all(np.isfinite(value)))
    if not ok:
        raise DivergenceError(f"non-finite values in {name} (NaN or inf): the run diverged")
