"""Registry of claims: ``CLAIMS`` (id -> :class:`~giantstep.claims.base.Claim`).

Each module listed in ``CLAIM_MODULES`` calls :func:`register` at import. Adding a claim means
adding one module and one line here; the runner is not touched.
"""

from __future__ import annotations

import importlib
import re

from ..errors import ConfigError
from .base import Claim

CLAIM_MODULES: tuple[str, ...] = (
    "giantstep.claims.c1",
    "giantstep.claims.c2",
    "giantstep.claims.c3",
    "giantstep.claims.c4",
    "giantstep.claims.c5",
    "giantstep.claims.c6",
    "giantstep.claims.c7",
    "giantstep.claims.c8",
)

CLAIMS: dict[str, Claim] = {}
_loaded = False


def register(claim: Claim) -> Claim:
    """Add ``claim`` to :data:`CLAIMS` (replacing one with the same id)."""
    CLAIMS[claim.id] = claim
    return claim


def load_all() -> dict[str, Claim]:
    """Import every module of :data:`CLAIM_MODULES` once; return :data:`CLAIMS`."""
    global _loaded
    if not _loaded:
        for name in CLAIM_MODULES:
            importlib.import_module(name)
        _loaded = True
    return CLAIMS


def _order(cid: str) -> tuple[int, str]:
    m = re.match(r"[A-Za-z]*(\d+)", cid)
    return (int(m.group(1)) if m else 10**6, cid)


def select(ids: list[str] | tuple[str, ...] | None = None) -> list[Claim]:
    """Claims by id (case-insensitive), in C1..C8 order; all registered claims when ``ids`` is empty."""
    claims = load_all()
    if not ids:
        return [claims[c] for c in sorted(claims, key=_order)]
    out = []
    for raw in ids:
        cid = str(raw).upper()
        if cid not in claims:
            raise ConfigError("claims", f"one of {sorted(claims, key=_order)}", raw)
        if claims[cid] not in out:
            out.append(claims[cid])
    return sorted(out, key=lambda c: _order(c.id))
