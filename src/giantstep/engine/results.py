r"""Reading a results store: rows as a pandas DataFrame, arrays and records by row.

:func:`load_results` returns one row per cell with the columns, in this order::

    row_id, sweep, status, reason,
    <one column per grid/zip axis, named by its dotted path, e.g. "steps.0.alpha">,
    seed (replicate index), cell_seed (the run seed),
    <one column per metric of ExperimentResult.metrics (NaN where a row has none, e.g. failed)>,
    kind, config_hash, root_seed, seed_path, version, host, worker, started, seconds, written, attempts

A metric or axis whose name collides with one of the fixed columns is prefixed ``metrics.`` or
``axes.``. Readers open the store read-only, so they can query it while a sweep writes (WAL).

``where`` is a row filter in the small grammar of :mod:`giantstep.engine.query` (parsed, never
evaluated), e.g. ``"status == 'done' and steps.0.alpha > 0.2"``. ``verify=True`` checks each done
row's arrays against their content hash: a row whose arrays are missing or corrupt gets status
``corrupt`` and the problem as its reason (a rerun of the sweep replaces it). ``columns`` keeps
the named columns only; :func:`compact_columns` is the default view of ``giantstep results``.

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
from .query import apply_filter

HEAD = ("row_id", "sweep", "status", "reason")
SEEDS = ("seed", "cell_seed")
TAIL = ("kind", "config_hash", "root_seed", "seed_path", "version", "host", "worker", "started", "seconds",
        "written", "attempts")
_SELECT = ("row_id, sweep, status, reason, axes, replicate, cell_seed, metrics, kind, config_hash, root_seed, "
           "seed_path, version, host, worker, started, seconds, written, attempts, arrays")
# The headline metrics of each kind (the compact view); "w{T}" is the last weights entry of a steps run.
HEADLINE = {
    "steps": ("w{T}.s1", "w{T}.overlap1", "w{T}.outliers", "readout.test_error"),
    "rf": ("test_risk", "train_error", "sgd_test_risk"),
    "phase": ("final_overlap", "final_risk", "hess_min", "outlier_overlap", "delta_alg"),
    "kernel": ("fit_s2", "fit_alignment", "vhat_overlap"),
}


def sweep_names(path: "str | Path") -> list[str]:
    """Names of the sweeps held by the store, sorted."""
    con = st.connect(path, readonly=True)
    try:
        return [r[0] for r in con.execute("SELECT DISTINCT sweep FROM runs ORDER BY sweep")]
    finally:
        con.close()


def load_results(path: "str | Path", sweep: str | None = None, where: str | None = None, *, verify: bool = False,
                 columns: "list[str] | None" = None) -> pd.DataFrame:
    """The store's rows as a DataFrame (see the module docstring for the columns).

    path    : the store file (``giantstep sweep --store``).
    sweep   : only the rows of this sweep (ConfigError naming the known sweeps if absent).
    where   : a row filter (:mod:`giantstep.engine.query`).
    verify  : check the arrays of done rows; failures get status ``corrupt``.
    columns : keep only these columns, in this order (ConfigError 'columns' for unknown names).
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
    checked: dict[str, str | None] = {}
    for (row_id, sw, status, reason, axes, rep, cseed, metrics, kind, chash, rseed, spath, version, host, worker,
         started, seconds, written, attempts, digest) in rows:
        if verify and status == "done" and digest:
            if digest not in checked:
                checked[digest] = st.verify_arrays(path, digest)
            if checked[digest] is not None:
                status, reason = "corrupt", f"arrays {checked[digest]}; rerun the sweep to replace them"
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
    layout = [*HEAD, *axis_cols.values(), *SEEDS, *metric_cols.values(), *TAIL]
    df = pd.DataFrame.from_records(records, columns=layout)
    for col in metric_cols.values():
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    if where is not None:
        df = apply_filter(df, where)
    if columns is not None:
        df = df[select_columns(df, columns)]
    return df.reset_index(drop=True)


def select_columns(df: pd.DataFrame, columns: Any) -> list[str]:
    """Validated column names (a list, or comma-separated text) of ``df``."""
    names = [c.strip() for c in columns.split(",")] if isinstance(columns, str) else columns
    if not isinstance(names, (list, tuple)) or not names or not all(isinstance(c, str) and c for c in names):
        raise ConfigError("columns", "a non-empty comma-separated list of column names", columns)
    for c in names:
        if c not in df.columns:
            shown = ", ".join(list(df.columns)[:40]) + (", ..." if len(df.columns) > 40 else "")
            raise ConfigError("columns", f"columns of the results (they are {shown})", c)
    return list(dict.fromkeys(names))


def column_groups(df: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(axis columns, metric columns) of a frame laid out by :func:`load_results`."""
    cols = list(df.columns)
    if not {"reason", "seed", "cell_seed", "kind"} <= set(cols):
        return [], []
    return cols[cols.index("reason") + 1: cols.index("seed")], cols[cols.index("cell_seed") + 1: cols.index("kind")]


def compact_columns(df: pd.DataFrame) -> list[str]:
    """The default view: row_id, sweep (if several), status, the axes, seed, the headline metrics
    of the kinds present (:data:`HEADLINE`) and reason (if any row has one)."""
    axes, metrics = column_groups(df)
    out = ["row_id"] + (["sweep"] if df["sweep"].nunique() > 1 else []) + ["status", *axes, "seed"]
    last = max((int(m[1:].split(".")[0]) for m in metrics if m.startswith("w") and m.endswith(".s1")
                and m[1:].split(".")[0].isdigit()), default=0)
    for kind in dict.fromkeys(df["kind"]):
        for name in HEADLINE.get(kind, ()):
            name = name.replace("{T}", str(last))
            if name in metrics and name not in out:
                out.append(name)
    if df["reason"].notna().any():
        out.append("reason")
    return out


SIZE_FIELDS = ("d", "width", "n", "delta", "m")


def config_sizes(path: "str | Path", row_ids: "list[int]", fields: tuple[str, ...] = SIZE_FIELDS) -> dict[str, list]:
    """{field: sorted distinct values} of the size fields in the configs of the given done rows."""
    con = st.connect(path, readonly=True)
    try:
        found: dict[str, set] = {}
        ids = [int(r) for r in row_ids]
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for (config,) in con.execute(f"SELECT config FROM runs WHERE status = 'done' AND row_id IN ({marks})", chunk):
                cfg = json.loads(config)
                for f in fields:
                    if isinstance(cfg.get(f), (int, float)) and not isinstance(cfg.get(f), bool):
                        found.setdefault(f, set()).add(cfg[f])
    finally:
        con.close()
    return {f: sorted(found[f]) for f in fields if f in found}


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
