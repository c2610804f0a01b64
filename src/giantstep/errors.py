"""Exceptions shared by the library and the CLI.

Two kinds of failure are distinguished everywhere:

* :class:`ConfigError` -- the user asked for something invalid. The CLI turns it into exit
  status 2 and one line built from the single message template
  ``The 'FIELD' parameter must be ALLOWED. Got VALUE instead.``
* :class:`DivergenceError` -- a run was valid but its numerics blew up (NaN/inf). The engine
  records the run as failed with the reason; it is never stored as numbers.
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
        super().__init__(f"The '{field}' parameter must be {allowed}. Got {_show(got)} instead.")


class DivergenceError(GiantstepError, ArithmeticError):
    """A computation produced NaN or inf; ``reason`` says where."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


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
