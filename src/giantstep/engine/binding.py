r"""A sweep name is bound to its definition in a store, so two experiments are never mixed.

The *frame* of a sweep (:func:`giantstep.engine.sweep.frame_of`) is its resolved run config with
the axis paths marked and the seed removed, its axis names and its root seed: everything but the
values of its axes and its replicates. The first write of a sweep name records the frame and its
SHA-256 in the store's ``sweeps`` table. A later sweep under the same name must have the same
frame: adding axis values or replicates continues the same experiment, while another base, another
set of axes or another root seed is refused with a :class:`~giantstep.errors.ConfigError` naming
the first difference. Numbers are compared in their resolved form, so ``[1, 2]`` and ``[1.0, 2.0]``
are the same definition. A name that has rows but no recorded frame (a store written by schema
version 1) is bound on first use if each row's own frame agrees.

>>> # store with sweep 'grid' bound to base.teacher.link = 'he1'; the same name with 'he2':
>>> # ConfigError: The 'name' parameter must be a sweep name not bound to another definition in
>>> # this store: its sweep 'grid' has base.teacher.link = 'he1' where this definition has 'he2'
>>> # (use another --name or store). Got 'grid' instead.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from . import store as st
from .sweep import SweepSpec, first_difference, frame_hash, frame_of


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _where(path: str) -> str:
    if path.startswith("config."):
        return "base." + path[len("config."):]
    return {"root_seed": "seed", "config": "base"}.get(path, path)


def conflict(name: str, stored: Any, given: Any) -> ConfigError:
    """The error for a sweep name bound to another frame, naming the first difference."""
    diff = None
    if isinstance(stored, dict) and isinstance(given, dict):
        for key in ("axes", "root_seed"):  # whole values: the set of axes, the seed
            if stored.get(key) != given.get(key):
                diff = (key, stored.get(key), given.get(key))
                break
    path, was, now = diff or first_difference(stored, given) or ("(whole)", stored, given)
    return ConfigError(
        "name",
        f"a sweep name not bound to another definition in this store: its sweep {name!r} has {_where(path)} = "
        f"{_shown(was)} where this definition has {_shown(now)} (use another --name or store)",
        name,
    )


def _verify(con, spec: SweepSpec) -> bool:
    """Raise if the store binds ``spec.name`` to another frame; True if a binding is recorded."""
    frame = spec.frame
    digest = frame_hash(frame)
    bound = st.sweep_binding(con, spec.name)
    if bound is not None:
        if bound[0] != digest:
            raise conflict(spec.name, bound[1], frame)
        return True
    for config, axes, root in st.row_frames(con, spec.name):  # rows written before frames were recorded
        old = frame_of(config, axes, root)
        if frame_hash(old) != digest:
            raise conflict(spec.name, old, frame)
    return False


def check_binding(store_path: "str | Path", spec: SweepSpec) -> None:
    """Read-only check, before any work, that the store does not bind ``spec.name`` elsewhere."""
    con = st.connect(store_path, readonly=True)
    try:
        _verify(con, spec)
    finally:
        con.close()


def bind_sweep(con, spec: SweepSpec) -> None:
    """Check and record the binding of ``spec.name`` in one write transaction."""
    with st.transaction(con):
        if not _verify(con, spec):
            when = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
            st.record_binding(con, spec.name, frame_hash(spec.frame), spec.frame, when)
