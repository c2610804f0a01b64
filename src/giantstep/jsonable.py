"""One JSON cleaner for records, theory outputs and summaries.

:func:`to_jsonable` turns numpy scalars and arrays, tuples, paths and nested mappings into plain
JSON types. Non-finite floats become ``None`` (JSON has no NaN or infinity); callers that must
refuse a non-finite number instead (theory outputs) check with :func:`has_nonfinite` first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


def to_jsonable(obj: Any, keep_nonfinite: bool = False) -> Any:
    """Plain JSON types for ``obj`` (numpy -> Python, tuples -> lists, non-finite -> None, or kept
    as floats with ``keep_nonfinite`` for a caller that decides what they become)."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v, keep_nonfinite) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v, keep_nonfinite) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v, keep_nonfinite) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if keep_nonfinite or math.isfinite(v) else None
    if isinstance(obj, complex):
        return [to_jsonable(obj.real, keep_nonfinite), to_jsonable(obj.imag, keep_nonfinite)]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def has_nonfinite(obj: Any) -> str | None:
    """The dotted path of the first non-finite float in ``obj``, or None if there is none."""
    if isinstance(obj, Mapping):
        items = obj.items()
    elif isinstance(obj, (list, tuple, np.ndarray)):
        items = enumerate(np.asarray(obj, dtype=object).ravel().tolist() if isinstance(obj, np.ndarray) else obj)
    else:
        if isinstance(obj, (float, np.floating)) and not math.isfinite(float(obj)):
            return ""
        return None
    for key, value in items:
        sub = has_nonfinite(value)
        if sub is not None:
            return f"{key}.{sub}" if sub else str(key)
    return None
