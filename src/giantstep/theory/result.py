"""The one shape of every theory result: a frozen dataclass whose fields are its numbers.

:meth:`Result.as_dict` turns a result (and the results nested in it) into plain Python types;
numpy arrays are kept as arrays for :func:`giantstep.jsonable.to_jsonable` to convert.

Example
-------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Pair(Result):
...     top: float
...     edge: float
>>> Pair(2.5, 2.0).as_dict()
{'top': 2.5, 'edge': 2.0}
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Result:
    """Base class of the theory results (frozen dataclasses)."""

    def as_dict(self) -> dict[str, Any]:
        """Field name -> value, nested results and tuples made plain (dicts and lists)."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


def _plain(value: Any) -> Any:
    if isinstance(value, Result):
        return value.as_dict()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
