r"""The results store: one SQLite file (WAL mode) plus content-addressed compressed array files.

Layout for a store at ``results.db``::

    results.db                 SQLite database (journal_mode=WAL), table ``runs``
    results.db-wal, -shm       SQLite's write-ahead log and index (managed by SQLite)
    results.db.arrays/ab/abcdef....npz   arrays of a run, compressed, named by content hash

Table ``runs`` (one row per (sweep, config_hash); ``row_id`` is stable across retries)::

    row_id INTEGER PRIMARY KEY   sweep TEXT            config_hash TEXT (SHA-256 of resolved config)
    kind TEXT                    cell_key TEXT         axes TEXT (JSON {axis: value})
    replicate INTEGER (seed)     cell_seed INTEGER     root_seed INTEGER
    seed_path TEXT (JSON [root, cell_key, replicate])  config TEXT (resolved config JSON)
    status TEXT ('done'|'failed')  reason TEXT         metrics TEXT (JSON {name: float})
    record TEXT (full run record JSON)                 arrays TEXT (content hash or NULL)
    version TEXT                 host TEXT             worker TEXT
    started TEXT (UTC ISO-8601)  seconds REAL (run time)  written TEXT (UTC ISO-8601)
    attempts INTEGER (how many times the cell was executed and written)

Guarantees. Arrays are written first: serialised to a temporary file in the target directory,
flushed and ``fsync``-ed, renamed into place (atomic on POSIX) and the directory ``fsync``-ed. Only
then is the row written, in one ``BEGIN IMMEDIATE ... COMMIT`` transaction, as an upsert on
``UNIQUE(sweep, config_hash)``: a retried cell replaces its row and never duplicates it. A process
killed at any point leaves either no row for the cell (and possibly an unreferenced array file, which
is harmless) or a complete row whose arrays are on disk. WAL mode lets readers query the store while
a sweep writes to it; readers open it read-only.

The content hash of an array set is the SHA-256 over the sorted names, dtypes, shapes and raw bytes,
so identical arrays share one file and the file name does not depend on zip timestamps.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sqlite3
import uuid
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from ..errors import ConfigError

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 60_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    row_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    sweep       TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    kind        TEXT NOT NULL,
    cell_key    TEXT NOT NULL,
    axes        TEXT NOT NULL,
    replicate   INTEGER NOT NULL,
    cell_seed   INTEGER NOT NULL,
    root_seed   INTEGER NOT NULL,
    seed_path   TEXT NOT NULL,
    config      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    reason      TEXT,
    metrics     TEXT NOT NULL DEFAULT '{}',
    record      TEXT,
    arrays      TEXT,
    version     TEXT NOT NULL,
    host        TEXT,
    worker      TEXT,
    started     TEXT,
    seconds     REAL,
    written     TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 1,
    UNIQUE (sweep, config_hash)
);
CREATE INDEX IF NOT EXISTS runs_sweep_status ON runs (sweep, status);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

ROW_FIELDS = (
    "sweep", "config_hash", "kind", "cell_key", "axes", "replicate", "cell_seed", "root_seed",
    "seed_path", "config", "status", "reason", "metrics", "record", "arrays", "version", "host",
    "worker", "started", "seconds", "written",
)


def arrays_dir(store_path: "str | Path") -> Path:
    """Directory holding the array files of the store at ``store_path``."""
    p = Path(store_path)
    return p.with_name(p.name + ".arrays")


def arrays_hash(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 hex digest of an array set (names, dtypes, shapes and bytes; order-independent)."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def array_file(store_path: "str | Path", digest: str) -> Path:
    return arrays_dir(store_path) / digest[:2] / f"{digest}.npz"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_arrays(store_path: "str | Path", arrays: Mapping[str, np.ndarray]) -> str | None:
    """Write ``arrays`` atomically as a compressed ``.npz``; return its content hash (None if empty).

    temp file in the target directory -> write -> flush -> fsync -> rename -> fsync(directory).
    """
    if not arrays:
        return None
    clean = {str(k): np.asarray(v) for k, v in arrays.items()}
    for k, v in clean.items():
        if v.dtype.hasobject:
            raise TypeError(f"array {k!r} has dtype object; only numeric/boolean arrays can be stored")
    digest = arrays_hash(clean)
    target = array_file(store_path, digest)
    if target.exists():
        return digest
    target.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez_compressed(buf, **clean)
    tmp = target.with_name(f".{digest}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(buf.getbuffer())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    _fsync_dir(target.parent)
    return digest


def read_arrays(store_path: "str | Path", digest: str | None) -> dict[str, np.ndarray]:
    """Load an array set by content hash ({} for None)."""
    if not digest:
        return {}
    with np.load(array_file(store_path, digest), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def connect(store_path: "str | Path", *, readonly: bool = False) -> sqlite3.Connection:
    """Open the store. Read-only connections never create or modify it."""
    p = Path(store_path)
    if readonly:
        if not p.is_file():
            raise ConfigError("store", "an existing results store file", str(store_path))
        con = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        con.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        try:
            con.execute("SELECT 1 FROM runs LIMIT 1").fetchall()
        except sqlite3.DatabaseError as exc:
            con.close()
            raise ConfigError("store", "a giantstep results store (SQLite)", f"{store_path} ({exc})") from None
        return con
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(p, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        con.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.executescript(_SCHEMA)
        con.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    except sqlite3.DatabaseError as exc:
        con.close()
        raise ConfigError("store", "a giantstep results store (SQLite) or a new file path", f"{store_path} ({exc})") from None
    return con


@contextlib.contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction (BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error)."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def statuses(con: sqlite3.Connection, sweep: str) -> dict[str, str]:
    """config_hash -> status for the rows of one sweep."""
    return dict(con.execute("SELECT config_hash, status FROM runs WHERE sweep = ?", (sweep,)).fetchall())


def _json(value: Any) -> str:
    return json.dumps(value, default=_json_default)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def commit_row(con: sqlite3.Connection, row: Mapping[str, Any]) -> int:
    """Insert or replace the row of (sweep, config_hash) in one transaction; return its row_id.

    JSON-valued fields (axes, seed_path, config, metrics, record) may be given as Python objects.
    The caller writes the arrays first (:func:`write_arrays`) and passes their hash in ``arrays``.
    """
    values = dict(row)
    for k in ("axes", "seed_path", "config", "metrics", "record"):
        if values.get(k) is not None and not isinstance(values[k], str):
            values[k] = _json(values[k])
    values.setdefault("metrics", "{}")
    cols = ", ".join(ROW_FIELDS)
    marks = ", ".join(f":{c}" for c in ROW_FIELDS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in ROW_FIELDS if c not in ("sweep", "config_hash"))
    params = {c: values.get(c) for c in ROW_FIELDS}
    with transaction(con):
        con.execute(
            f"INSERT INTO runs ({cols}) VALUES ({marks}) ON CONFLICT (sweep, config_hash) DO UPDATE SET "
            f"{updates}, attempts = runs.attempts + 1",
            params,
        )
        (row_id,) = con.execute(
            "SELECT row_id FROM runs WHERE sweep = ? AND config_hash = ?", (params["sweep"], params["config_hash"])
        ).fetchone()
    return int(row_id)


def remove_stale_temporaries(store_path: "str | Path") -> int:
    """Delete temporary array files left by writer processes that no longer exist; return the count."""
    import psutil

    base = arrays_dir(store_path)
    if not base.is_dir():
        return 0
    removed = 0
    for tmp in base.glob("*/.*.tmp"):
        parts = tmp.name.split(".")
        pid = int(parts[2]) if len(parts) > 3 and parts[2].isdigit() else None
        if pid is not None and pid != os.getpid() and not psutil.pid_exists(pid):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
                removed += 1
    return removed
