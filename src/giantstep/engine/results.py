r"""Reading a results store: rows as a pandas DataFrame, arrays and records by row.

:func:`load_results` returns one row per cell with the columns, in this order::

    row_id, sweep, status, reason,
    <one column per grid/zip axis, named by its dotted path, e.g. "steps.0.alpha">,
    seed (replicate index), cell_seed (the run seed),
    <one column per metric of ExperimentResult.metrics (NaN where a row has none, e.g. failed)>,
    kind, config_hash, root_seed, seed_path, version, host, worker, started, seconds, written, attempts

A metric or axis whose name collides with one of the fixed columns is prefixed ``metrics.`` or
``axes.``. Readers open the store read-only, so they can query it while a sweep writes (WAL).

``where`` is a pandas query expression over these columns; dotted names need backticks, e.g.
``"status == 'done' and `steps.0.alpha` > 0.2"``.

>>> df = load_results("results.db", sweep="alpha-grid")               # doctest: +SKIP
>>> df.groupby("steps.0.alpha")["overlap"].mean()                     # doctest: +SKIP
>>> arrays = load_arrays("results.db", int(df.row_id[0]))             # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError
from . import store as st

HEAD = ("row_id", "sweep", "status", "reason")
SEEDS = ("seed", "cell_seed")
TAIL = ("kind", "config_hash", "root_seed", "seed_path", "version", "host", "worker", "started", "seconds",
        "written", "attempts")
_SELECT = ("row_id, sweep, status, reason, axes, replicate, cell_seed, metrics, kind, config_hash, root_seed, "
           "seed_path, version, host, worker, started, seconds, written, attempts")


def sweep_names(path: "str | Path") -> list[str]:
    """Names of the sweeps held by the store, sorted."""
    con = st.connect(path, readonly=True)
    try:
        return [r[0] for r in con.execute("SELECT DISTINCT sweep FROM runs ORDER BY sweep")]
    finally:
        con.close()


def load_results(path: "str | Path", sweep: str | None = None, where: str | None = None) -> pd.DataFrame:
    """The store's rows as a DataFrame (see the module docstring for the columns).

    path  : the store file (``giantstep sweep --store``).
    sweep : only the rows of this sweep (ConfigError naming the known sweeps if absent).
    where : a pandas query expression filtering the rows.
    """
    con = st.connect(path, readonly=True)
    try:
        if sweep is not None:
            names = [r[0] for r in con.execute("SELECT DISTINCT sweep FROM runs ORDER BY sweep")]
            if sweep not in names:
                raise ConfigError("sweep", f"the name of a sweep in the store {names}", sweep)
            rows = con.execute(f"SELECT {_SELECT} FROM runs WHERE sweep = ? ORDER BY row_id", (sweep,)).fetchall()
        else:
            rows = con.execute(f"SELECT {_SELECT} FROM runs ORDER BY row_id").fetchall()
    finally:
        con.close()

    fixed = set(HEAD) | set(SEEDS) | set(TAIL)
    axis_cols: dict[str, str] = {}
    metric_cols: dict[str, str] = {}
    records: list[dict[str, Any]] = []
    for (row_id, sw, status, reason, axes, rep, cseed, metrics, kind, chash, rseed, spath, version, host, worker,
         started, seconds, written, attempts) in rows:
        rec: dict[str, Any] = {"row_id": row_id, "sweep": sw, "status": status, "reason": reason}
        for a, v in json.loads(axes).items():
            col = axis_cols.setdefault(a, f"axes.{a}" if a in fixed else a)
            rec[col] = v
        rec["seed"] = rep
        rec["cell_seed"] = cseed
        for m, v in json.loads(metrics).items():
            col = metric_cols.setdefault(m, f"metrics.{m}" if (m in fixed or m in axis_cols) else m)
            rec[col] = v
        rec.update(kind=kind, config_hash=chash, root_seed=rseed, seed_path=spath, version=version, host=host,
                   worker=worker, started=started, seconds=seconds, written=written, attempts=attempts)
        records.append(rec)
    columns = [*HEAD, *axis_cols.values(), *SEEDS, *metric_cols.values(), *TAIL]
    df = pd.DataFrame.from_records(records, columns=columns)
    for col in metric_cols.values():
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    if where is not None:
        if not isinstance(where, str) or not where.strip():
            raise ConfigError("where", "a non-empty pandas query expression", where)
        try:
            df = df.query(where)
        except Exception as exc:  # noqa: BLE001 - any parse/evaluation problem is a user error
            raise ConfigError(
                "where",
                "a pandas query expression over the columns (backticks around dotted names such as `steps.0.alpha`)",
                f"{where} ({type(exc).__name__}: {exc})",
            ) from None
        if not isinstance(df, pd.DataFrame):
            raise ConfigError("where", "a boolean row filter expression", where)
    return df.reset_index(drop=True)


def _fetch(path: "str | Path", row_id: Any, columns: str) -> tuple:
    if isinstance(row_id, bool) or not isinstance(row_id, (int, np.integer)):
        raise ConfigError("row_id", "an integer row_id from load_results", row_id)
    con = st.connect(path, readonly=True)
    try:
        row = con.execute(f"SELECT {columns} FROM runs WHERE row_id = ?", (int(row_id),)).fetchone()
    finally:
        con.close()
    if row is None:
        raise ConfigError("row_id", "the row_id of a row in the store", row_id)
    return row


def load_arrays(path: "str | Path", row_id: int) -> dict[str, np.ndarray]:
    """The arrays stored with one row (``{}`` for a failed row or a run without arrays)."""
    (digest,) = _fetch(path, row_id, "arrays")
    return st.read_arrays(path, digest)


def load_row(path: "str | Path", row_id: int) -> dict[str, Any]:
    """One row with its JSON fields decoded: config, record, metrics, axes, seed_path and the rest."""
    cols = ("row_id", "sweep", "status", "reason", "axes", "replicate", "cell_seed", "root_seed", "seed_path",
            "config", "metrics", "record", "arrays", "kind", "config_hash", "version", "host", "worker", "started",
            "seconds", "written", "attempts")
    values = _fetch(path, row_id, ", ".join(cols))
    out = dict(zip(cols, values))
    for k in ("axes", "seed_path", "config", "metrics", "record"):
        if out[k] is not None:
            out[k] = json.loads(out[k])
    return out
