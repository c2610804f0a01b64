r"""The results store: one SQLite file (WAL mode) plus content-addressed compressed array files.

Layout for a store at ``results.db``::

    results.db                 SQLite database (journal_mode=WAL), tables ``runs``, ``sweeps``, ``meta``
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

Table ``sweeps`` binds each sweep name to the *frame* of its definition (everything but the
values of its axes and its replicates; :func:`giantstep.engine.sweep.SweepSpec.frame`): name,
frame_hash, frame (JSON), written. Table ``meta`` holds ``schema_version``. The SQLite header's
``application_id`` is :data:`APPLICATION_ID`, which is how a giantstep store is recognised.

Guarantees (docs/guarantees.md names the test of each).

* Recognition before any write: a path is ``absent``, ``empty`` (a 0-byte file, or a SQLite file
  without a single table: a store whose creation was interrupted), a giantstep ``store``, or
  ``foreign`` (anything else). A foreign file is refused and never opened for writing, so no
  table is added to it and its journal mode is never changed. ``:memory:``, URIs, directories and
  special files are refused as store paths.
* Atomic creation: the schema, the ``application_id`` and ``schema_version`` are created in one
  ``BEGIN IMMEDIATE ... COMMIT`` transaction in rollback-journal mode, and only then is the file
  switched to WAL. A process killed at any moment of creation leaves no file, an empty file, or
  a complete store; the next writer initialises the first two.
* Arrays are written first: serialised to a temporary file in the target directory, flushed and
  ``fsync``-ed, renamed into place (atomic on POSIX) and the directory ``fsync``-ed. Only then is
  the row written, in one ``BEGIN IMMEDIATE ... COMMIT`` transaction, as an upsert on
  ``UNIQUE(sweep, config_hash)``: a retried cell replaces its row and never duplicates it. A
  process killed at any point leaves either no row for the cell (and possibly an unreferenced
  array file, which is harmless) or a complete row whose arrays are on disk.
* Arrays are verified on read: the content hash of what is read must equal the file's name
  (:class:`CorruptArrays` otherwise); an existing array file is verified before it is reused.
* WAL mode lets readers query the store while a sweep writes to it; readers open it read-only,
  and a store in a read-only directory is read as an immutable file.

The content hash of an array set is the SHA-256 over the sorted names, dtypes, shapes and raw bytes,
so identical arrays share one file and the file name does not depend on zip timestamps.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import sqlite3
import uuid
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from ..errors import ConfigError, GiantstepError

SCHEMA_VERSION = 2
APPLICATION_ID = 0x47535450  # "GSTP" in the SQLite header: this file is a giantstep results store
BUSY_TIMEOUT_MS = 60_000
SQLITE_MAGIC = b"SQLite format 3\x00"
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:/")  # scheme:/ or scheme:// (a Path keeps one slash)
STORE_TABLES = frozenset({"runs", "meta"})  # the tables of every schema version

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS runs (
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
    )""",
    "CREATE INDEX IF NOT EXISTS runs_sweep_status ON runs (sweep, status)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS sweeps (name TEXT PRIMARY KEY, frame_hash TEXT NOT NULL, frame TEXT NOT NULL, "
    "written TEXT NOT NULL)",
)

ROW_FIELDS = (
    "sweep", "config_hash", "kind", "cell_key", "axes", "replicate", "cell_seed", "root_seed",
    "seed_path", "config", "status", "reason", "metrics", "record", "arrays", "version", "host",
    "worker", "started", "seconds", "written",
)


class CorruptArrays(GiantstepError):
    """An array file of the store is missing, unreadable or does not match its content hash."""

    def __init__(self, path: Path, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"array file {path.name} of the results store is {reason}; rerun the sweep to replace it")


# ----------------------------------------------------------------------------- paths and recognition


def check_store_path(store_path: Any, *, write: bool) -> Path:
    """The store's path as a :class:`Path`, refused (ConfigError 'store') unless it names a file.

    Refused: ``:memory:``, the empty path and URIs (``file:...``, ``scheme://...``), directories and
    special files; for writing also a path under a file, in a read-only directory, a read-only
    store file or a store whose array directory is not a writable directory.
    """
    text = str(store_path) if isinstance(store_path, (str, os.PathLike)) else None
    if text is None or not text.strip() or text.strip() == ":memory:" or text.startswith("file:") or _URI.match(text):
        raise ConfigError("store", "a file path (not empty, ':memory:' or a URI)", text if text is not None else store_path)
    p = Path(text)
    if p.exists() and not p.is_file():
        raise ConfigError("store", "a regular file path (this is a directory or a special file)", text)
    if not write:
        return p
    ancestor = p.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError("store", f"a path under a directory ({ancestor} is a file)", text)
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError("store", f"a path in a writable directory ({ancestor} is read-only)", text)
    if p.exists() and not os.access(p, os.R_OK | os.W_OK):
        raise ConfigError("store", "a readable and writable store file", text)
    adir = arrays_dir(p)
    if adir.exists() and (not adir.is_dir() or not os.access(adir, os.W_OK | os.X_OK)):
        raise ConfigError("store", f"a store whose array directory {adir.name} is a writable directory", text)
    return p


def _immutable_uri(p: Path) -> str:
    return f"{p.resolve().as_uri()}?mode=ro&immutable=1"


def store_state(store_path: "str | Path") -> str:
    """What is at ``store_path``: ``"absent"``, ``"empty"``, ``"store"`` or ``"foreign"``.

    Reads the file's first 100 bytes and, when the header does not decide, the table names through
    an immutable read-only connection: nothing is created, locked or modified. ``empty`` is a
    0-byte file or a SQLite file without tables (an interrupted creation).
    """
    p = Path(store_path)
    if not p.exists():
        return "absent"
    if not p.is_file():
        return "foreign"
    with open(p, "rb") as fh:
        head = fh.read(100)
    if not head:
        return "empty"
    if len(head) < 100 or head[:16] != SQLITE_MAGIC:
        return "foreign"
    app = int.from_bytes(head[68:72], "big")
    if app == APPLICATION_ID:
        return "store"
    if app != 0:
        return "foreign"
    try:
        con = sqlite3.connect(_immutable_uri(p), uri=True)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            con.close()
    except sqlite3.DatabaseError:
        return "foreign"
    return _classify_tables(tables)


def _classify_tables(tables: set[str]) -> str:
    tables = tables - {"sqlite_sequence"}
    if not tables:
        return "empty"
    if STORE_TABLES <= tables <= STORE_TABLES | {"sweeps"}:
        return "store"  # written by schema version 1 (no application_id) or later
    return "foreign"


def _foreign(store_path: Any) -> ConfigError:
    return ConfigError("store", "a giantstep results store or a new file path (this file is another database or "
                                "not a database; it was left untouched)", str(store_path))


# ----------------------------------------------------------------------------- connections


def connect(store_path: "str | Path", *, readonly: bool = False) -> sqlite3.Connection:
    """Open the store (see the module docstring); read-only connections never create or modify it.

    Writing: an absent or empty path is initialised atomically; a foreign file is refused before
    it is opened. Reading: the file must be a store; in a directory where SQLite cannot create its
    shared-memory file (read-only media, archives) the store is opened as an immutable file.
    """
    p = check_store_path(store_path, write=not readonly)
    state = store_state(p)
    if state == "foreign":
        raise _foreign(store_path)
    if readonly:
        if state != "store":
            raise ConfigError("store", "an existing results store file", str(store_path))
        return _open_readonly(p, store_path)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(f"{p.resolve().as_uri()}?mode=rwc", uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                          isolation_level=None)
    try:
        con.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        _initialise(con, store_path)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
    except sqlite3.DatabaseError as exc:
        con.close()
        raise ConfigError("store", "a giantstep results store (SQLite) or a new file path", f"{store_path} ({exc})") from None
    except BaseException:
        con.close()
        raise
    return con


def _initialise(con: sqlite3.Connection, store_path: Any) -> None:
    """Create the schema in one transaction if the file has no tables; upgrade a version-1 store."""
    con.execute("BEGIN IMMEDIATE")
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        state = _classify_tables(tables)
        if state == "foreign":
            raise _foreign(store_path)
        if con.execute("PRAGMA application_id").fetchone()[0] not in (0, APPLICATION_ID):
            raise _foreign(store_path)
        for statement in _SCHEMA:
            con.execute(statement)
        con.execute(f"PRAGMA application_id={APPLICATION_ID}")
        con.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET "
                    "value = excluded.value", (str(SCHEMA_VERSION),))
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _open_readonly(p: Path, store_path: Any) -> sqlite3.Connection:
    last: Exception | None = None
    for uri in (f"{p.resolve().as_uri()}?mode=ro", _immutable_uri(p)):
        con = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            con.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            con.execute("SELECT 1 FROM runs LIMIT 1").fetchall()
            return con
        except sqlite3.OperationalError as exc:  # e.g. no -shm file and a read-only directory
            con.close()
            last = exc
        except sqlite3.DatabaseError as exc:
            con.close()
            raise ConfigError("store", "a giantstep results store (SQLite)", f"{store_path} ({exc})") from None
    raise ConfigError("store", "a readable giantstep results store", f"{store_path} ({last})")


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


# ----------------------------------------------------------------------------- arrays


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
    An existing file of the same hash is reused only if it verifies; a corrupt one is replaced.
    """
    if not arrays:
        return None
    clean = {str(k): np.asarray(v) for k, v in arrays.items()}
    for k, v in clean.items():
        if v.dtype.hasobject:
            raise TypeError(f"array {k!r} has dtype object; only numeric/boolean arrays can be stored")
    digest = arrays_hash(clean)
    target = array_file(store_path, digest)
    if target.is_file() and verify_arrays(store_path, digest) is None:
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


def _load_verified(store_path: "str | Path", digest: str) -> dict[str, np.ndarray]:
    path = array_file(store_path, digest)
    if not path.is_file():
        raise CorruptArrays(path, "missing")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as exc:  # noqa: BLE001 - a damaged zip surfaces as OSError, BadZipFile, zlib.error, ...
        raise CorruptArrays(path, f"unreadable ({type(exc).__name__})") from None
    if arrays_hash(arrays) != digest:
        raise CorruptArrays(path, "corrupt (its content does not match its hash)")
    return arrays


def verify_arrays(store_path: "str | Path", digest: str | None) -> str | None:
    """None if the array set ``digest`` is on disk and matches its hash, else the problem."""
    if not digest:
        return None
    try:
        _load_verified(store_path, digest)
    except CorruptArrays as exc:
        return exc.reason
    return None


def read_arrays(store_path: "str | Path", digest: str | None) -> dict[str, np.ndarray]:
    """Load an array set by content hash ({} for None), verified: :class:`CorruptArrays` if it fails."""
    if not digest:
        return {}
    return _load_verified(store_path, digest)


# ----------------------------------------------------------------------------- rows and sweeps


def statuses(con: sqlite3.Connection, sweep: str) -> dict[str, str]:
    """config_hash -> status for the rows of one sweep."""
    return dict(con.execute("SELECT config_hash, status FROM runs WHERE sweep = ?", (sweep,)).fetchall())


def done_arrays(con: sqlite3.Connection, sweep: str) -> dict[str, str]:
    """config_hash -> array content hash for the done rows of one sweep that have arrays."""
    return dict(con.execute("SELECT config_hash, arrays FROM runs WHERE sweep = ? AND status = 'done' AND "
                            "arrays IS NOT NULL", (sweep,)).fetchall())


def has_table(con: sqlite3.Connection, name: str) -> bool:
    return con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def sweep_binding(con: sqlite3.Connection, name: str) -> tuple[str, Any] | None:
    """(frame_hash, frame) recorded for a sweep name, or None (also for stores of schema version 1)."""
    if not has_table(con, "sweeps"):
        return None
    row = con.execute("SELECT frame_hash, frame FROM sweeps WHERE name = ?", (name,)).fetchone()
    return None if row is None else (row[0], json.loads(row[1]))


def row_frames(con: sqlite3.Connection, sweep: str) -> Iterator[tuple[dict, list[str], int]]:
    """(config, axis names, root seed) of every row of a sweep, for binding rows written without one."""
    for config, axes, root in con.execute("SELECT config, axes, root_seed FROM runs WHERE sweep = ?", (sweep,)):
        yield json.loads(config), sorted(json.loads(axes)), int(root)


def record_binding(con: sqlite3.Connection, name: str, frame_hash: str, frame: Any, written: str) -> None:
    """Bind a sweep name to a frame (inside the caller's transaction)."""
    con.execute("INSERT INTO sweeps (name, frame_hash, frame, written) VALUES (?, ?, ?, ?)",
                (name, frame_hash, _json(frame), written))


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
