"""Store paths and store recognition (issue 18 items 3, 4, 12).

* ``:memory:``, URIs, directories, paths under a file and read-only places are refused before
  any work, as one line with exit status 2 (items 4, 12).
* A database that is not a giantstep store is never modified: no table added, no WAL switch,
  no byte changed, no file created beside it (item 12).
* An empty file and a store whose creation was interrupted are initialised by the next writer;
  a store of schema version 1 (no application id, no sweeps table) is read and extended (item 3).
* A valid store in a read-only directory is readable (item 12).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import numpy as np
import pytest
import yaml

from giantstep.cli import main
from giantstep.engine import execution
from giantstep.engine import store as st
from giantstep.engine.execution import run_sweep
from giantstep.engine.results import load_arrays, load_results
from giantstep.errors import ConfigError

from .conftest import TINY_BASE, read_only, snapshot, unprivileged

SWEEP = {"name": "p", "base": TINY_BASE, "grid": {"width": [32, 40]}}


def _sweep_file(folder):
    path = folder / "p.yaml"
    path.write_text(yaml.safe_dump(SWEEP))
    return path


def _no_cluster(monkeypatch):
    """Fail the test if a cluster is started (paths must be refused before)."""
    def refuse(*args, **kwargs):
        raise AssertionError("a cluster was started although the store path is unusable")
    monkeypatch.setattr(execution, "dask_client", refuse)


def _exit2(capsys, argv, field="store"):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    captured = capsys.readouterr()
    lines = [ln for ln in captured.err.splitlines() if ln.strip()]
    assert len(lines) == 1 and f"'{field}'" in lines[0], captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    return lines[0]


@pytest.mark.parametrize("store", [":memory:", "", "  ", "file:s.db", "file:s.db?mode=memory&cache=shared",
                                   "https://example.org/s.db", "s3://bucket/s.db"])
def test_non_file_stores_are_refused(tmp_path, capsys, monkeypatch, store):
    monkeypatch.chdir(tmp_path)
    _no_cluster(monkeypatch)
    sweep = _sweep_file(tmp_path)
    before = snapshot(tmp_path)
    _exit2(capsys, ["sweep", str(sweep), "--store", store])
    assert snapshot(tmp_path) == before
    with pytest.raises(ConfigError):
        run_sweep(SWEEP, store)
    with pytest.raises(ConfigError):
        load_results(store)
    assert snapshot(tmp_path) == before


def test_unusable_store_paths_are_refused_before_any_work(tmp_path, capsys, monkeypatch):
    _no_cluster(monkeypatch)
    sweep = _sweep_file(tmp_path)
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "a-dir").mkdir()
    (tmp_path / "arr.db.arrays").write_text("not a directory")
    before = snapshot(tmp_path)
    for store, words in ((tmp_path / "a-file" / "s.db", "is a file"), (tmp_path / "a-file" / "x" / "s.db", "is a file"),
                         (tmp_path / "a-dir", "directory"), (tmp_path / "arr.db", "array directory")):
        line = _exit2(capsys, ["sweep", str(sweep), "--store", str(store)])
        assert words in line
    assert snapshot(tmp_path) == before


def _foreign(path, wal: bool):
    con = sqlite3.connect(path)
    if wal:
        con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    con.execute("INSERT INTO users (name) VALUES ('ada')")
    con.commit()
    con.close()


@pytest.mark.parametrize("kind", ["rollback-journal", "wal", "app-id", "not-sqlite", "sqlite-header-only"])
def test_a_foreign_database_is_never_touched(tmp_path, capsys, monkeypatch, kind):
    _no_cluster(monkeypatch)
    sweep = _sweep_file(tmp_path)
    db = tmp_path / "foreign.sqlite"
    if kind in ("rollback-journal", "wal"):
        _foreign(db, wal=kind == "wal")
    elif kind == "app-id":
        con = sqlite3.connect(db)
        con.execute("PRAGMA application_id=1234")
        con.execute("CREATE TABLE runs (x)")  # a look-alike table name does not make it a store
        con.execute("CREATE TABLE meta (y)")
        con.commit()
        con.close()
    elif kind == "not-sqlite":
        db.write_bytes(b"PK\x03\x04 a zip, or anything else " * 40)
    else:
        db.write_bytes(st.SQLITE_MAGIC + b"\x00" * 20)  # truncated header
    mode_before = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True).execute("PRAGMA journal_mode").fetchone() \
        if kind in ("rollback-journal", "wal") else None
    before = snapshot(tmp_path)
    for extra in ([], ["--no-resume"], ["--retry-failed"]):
        _exit2(capsys, ["sweep", str(sweep), "--store", str(db), *extra])
    _exit2(capsys, ["results", str(db)])
    with pytest.raises(ConfigError):
        st.connect(db)
    assert snapshot(tmp_path) == before  # no byte changed, no -wal/-shm/.arrays created
    if mode_before is not None:
        con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
        assert con.execute("PRAGMA journal_mode").fetchone() == mode_before
        assert {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} == {"users"}
        con.close()


@pytest.mark.parametrize("state", ["empty-file", "no-tables-wal", "no-tables-rollback"])
def test_empty_or_unfinished_stores_are_initialised_by_the_next_run(tmp_path, inline_sweeps, state):
    db = tmp_path / "s.db"
    if state == "empty-file":
        db.write_bytes(b"")
    else:  # what a writer killed before its schema was committed can leave
        con = sqlite3.connect(db)
        con.execute(f"PRAGMA journal_mode={'WAL' if state == 'no-tables-wal' else 'DELETE'}")
        con.execute("PRAGMA user_version=0")
        con.commit()
        con.close()
    assert st.store_state(db) == "empty"
    with pytest.raises(ConfigError):
        load_results(db)  # nothing to read yet
    rep = run_sweep(SWEEP, db, progress=False)
    assert (rep.done, rep.failed) == (2, 0)
    assert st.store_state(db) == "store"
    assert len(load_results(db)) == 2


def _v1_store(db):
    """A store as schema version 1 wrote it: runs + meta, no application id, no sweeps table."""
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(st._SCHEMA[0])
    con.execute(st._SCHEMA[1])
    con.execute(st._SCHEMA[2])
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.close()


def test_a_version_1_store_is_read_and_extended(tmp_path, inline_sweeps):
    db = tmp_path / "v1.db"
    _v1_store(db)
    assert st.store_state(db) == "store"
    run_sweep(SWEEP, db, progress=False)  # binds the name on first use
    rep = run_sweep(dict(SWEEP, grid={"width": [32, 40, 48]}), db, progress=False)  # extends the axis
    assert (rep.done, rep.skipped) == (1, 2)
    con = st.connect(db, readonly=True)
    assert con.execute("PRAGMA application_id").fetchone()[0] == st.APPLICATION_ID
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(st.SCHEMA_VERSION)
    con.close()


def test_a_valid_store_in_a_read_only_directory_is_readable(tmp_path, inline_sweeps):
    folder = tmp_path / "archive"
    folder.mkdir()
    db = folder / "s.db"
    run_sweep(SWEEP, db, progress=False)
    expected = load_results(db)["config_hash"].tolist()
    row = int(load_results(db)["row_id"][0])
    names = sorted(load_arrays(db, row))
    for aux in ("s.db-wal", "s.db-shm"):  # left by the readers above; an archive has only the store itself
        (folder / aux).unlink(missing_ok=True)
    script = ("import json, sys; from giantstep.engine.results import load_results, load_arrays\n"
              f"df = load_results({str(db)!r}, verify=True)\n"
              f"print(json.dumps([df.config_hash.tolist(), sorted(load_arrays({str(db)!r}, {row}))]))\n")
    with read_only(folder):
        proc = subprocess.run(unprivileged([sys.executable, "-c", script]), capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        import json

        assert json.loads(proc.stdout) == [expected, names]
        cli = subprocess.run(unprivileged([sys.executable, "-m", "giantstep", "results", str(db), "--format", "json"]),
                             capture_output=True, text=True, timeout=120)
        assert cli.returncode == 0, cli.stderr
        assert len(json.loads(cli.stdout)) == 2
        assert sorted(p.name for p in folder.iterdir()) == ["s.db", "s.db.arrays"]


def test_a_store_in_a_read_only_directory_is_refused_before_any_work(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    sweep = _sweep_file(tmp_path)
    with read_only(folder):
        proc = subprocess.run(unprivileged([sys.executable, "-m", "giantstep", "sweep", str(sweep), "--store",
                                            str(folder / "s.db"), "--workers", "1"]),
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "'store'" in lines[0] and "read-only" in lines[0]
    assert list(folder.iterdir()) == []


def test_arrays_are_stored_beside_a_fresh_store_created_in_a_new_directory(tmp_path, inline_sweeps):
    db = tmp_path / "new" / "deeper" / "s.db"
    run_sweep(SWEEP, db, progress=False)
    df = load_results(db)
    assert len(df) == 2 and all(np.isfinite(a).all() for a in load_arrays(db, int(df.row_id[0])).values())
