"""Boundary checks shared by the theory modules (ConfigError naming the field)."""

from __future__ import annotations

import math
from typing import Any

from ..errors import ConfigError


def positive(name: str, value: Any, allow_inf: bool = False) -> float:
    """A float in (0, inf)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(name, "a float in (0, inf)", value) from None
    if not (v > 0 and (allow_inf or math.isfinite(v))):
        raise ConfigError(name, "a float in (0, inf)", value)
    return v


def nonnegative(name: str, value: Any) -> float:
    """A float in [0, inf)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(name, "a float in [0, inf)", value) from None
    if not (v >= 0 and math.isfinite(v)):
        raise ConfigError(name, "a float in [0, inf)", value)
    return v


def in_range(name: str, value: Any, lo: float, hi: float, lo_open: bool = False, hi_open: bool = False) -> float:
    """A float in the interval [lo, hi] (ends open when asked)."""
    text = f"a float in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(name, text, value) from None
    ok = math.isfinite(v) and (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    if not ok:
        raise ConfigError(name, text, value)
    return v


def positive_int(name: str, value: Any) -> int:
    """An integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int,)) or value < 1:
        try:
            if float(value) == int(value) and int(value) >= 1:
                return int(value)
        except (TypeError, ValueError, OverflowError):
            pass
        raise ConfigError(name, "an integer >= 1", value)
    return int(value)


def choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """One of ``allowed``."""
    if value not in allowed:
        raise ConfigError(name, "one of " + ", ".join(repr(a) for a in allowed), value)
    return value
