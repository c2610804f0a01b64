"""The results store without Dask: atomic arrays, upserts, WAL readers, DataFrame loading."""

from __future__ import annotations

import os
import sqlite3
import threading
import time

import numpy as np
import pytest

from giantstep.errors import ConfigError
from giantstep.engine import store as st
from giantstep.engine.execution import execute_cell, write_result
from giantstep.engine.results import load_arrays, load_results, load_row, sweep_names
from giantstep.engine.sweep import load_sweep

from .conftest import TINY_BASE


def _row(sweep="s", h="h0", status="done", metrics=None, arrays=None, **axes):
    return {
        "sweep": sweep, "config_hash": h, "kind": "steps", "cell_key": st._json(axes), "axes": axes,
        "replicate": 0, "cell_seed": 123, "root_seed": 0, "seed_path": [0, st._json(axes), 0],
        "config": {"seed": 123}, "status": status, "reason": None if status == "done" else "boom",
        "metrics": metrics or {}, "record": {"x": 1}, "arrays": arrays, "version": "0", "host": "h",
        "worker": None, "started": "t", "seconds": 0.1, "written": "t",
    }


def test_arrays_round_trip_content_hash_and_atomic_layout(tmp_path):
    db = tmp_path / "r.db"
    rng = np.random.default_rng(0)
    arrays = {"s": rng.standard_normal(7), "M": rng.standard_normal((3, 4)).astype(np.float32), "b": np.array([True])}
    digest = st.write_arrays(db, arrays)
    assert digest == st.arrays_hash(dict(reversed(list(arrays.items()))))  # order-independent
    back = st.read_arrays(db, digest)
    assert set(back) == set(arrays)
    for k in arrays:
        assert back[k].dtype == arrays[k].dtype and np.array_equal(back[k], arrays[k])
    path = st.array_file(db, digest)
    assert path.parent.parent == st.arrays_dir(db) and path.name == f"{digest}.npz"
    assert not list(st.arrays_dir(db).glob("*/.*.tmp"))  # no temporaries left
    mtime = path.stat().st_mtime_ns
    assert st.write_arrays(db, arrays) == digest and path.stat().st_mtime_ns == mtime  # deduplicated
    arrays2 = dict(arrays, s=arrays["s"] + 1e-15)
    assert st.write_arrays(db, arrays2) != digest
    assert st.write_arrays(db, {}) is None and st.read_arrays(db, None) == {}
    with pytest.raises(TypeError):
        st.write_arrays(db, {"o": np.array([object()])})


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path):
    import subprocess
    import sys

    db = tmp_path / "r.db"
    st.write_arrays(db, {"a": np.zeros(2)})
    sub = next(st.arrays_dir(db).iterdir())
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    stale = sub / f".abc.{dead_pid}.deadbeef.tmp"
    live = sub / f".abc.{os.getppid()}.deadbeef.tmp"
    stale.write_bytes(b"x")
    live.write_bytes(b"x")
    assert st.remove_stale_temporaries(db) == 1
    assert not stale.exists() and live.exists()


def test_upsert_keeps_one_row_per_cell_and_counts_attempts(tmp_path):
    db = tmp_path / "r.db"
    con = st.connect(db)
    rid = st.commit_row(con, _row(h="a", status="failed", width=32))
    rid2 = st.commit_row(con, _row(h="a", status="done", metrics={"m": 1.5}, width=32))
    st.commit_row(con, _row(sweep="other", h="a", status="done", width=32))
    assert rid == rid2
    rows = con.execute("SELECT sweep, status, attempts FROM runs ORDER BY row_id").fetchall()
    assert rows == [("s", "done", 2), ("other", "done", 1)]
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert st.statuses(con, "s") == {"a": "done"}
    con.close()
    assert sweep_names(db) == ["other", "s"]


def test_load_results_columns_where_and_arrays(tmp_path):
    db = tmp_path / "r.db"
    con = st.connect(db)
    d = st.write_arrays(db, {"v": np.arange(3.0)})
    st.commit_row(con, _row(h="a", metrics={"m": 1.0, "status": 7.0}, arrays=d, **{"steps.0.alpha": 0.1}))
    st.commit_row(con, _row(h="b", status="failed", **{"steps.0.alpha": 0.3}))
    st.commit_row(con, _row(sweep="t", h="c", metrics={"q": 2.0}, width=8))
    con.close()
    df = load_results(db, sweep="s")
    assert list(df.columns[:7]) == ["row_id", "sweep", "status", "reason", "steps.0.alpha", "seed", "cell_seed"]
    assert list(df.columns[7:9]) == ["m", "metrics.status"]  # a colliding metric name is prefixed
    assert df["m"].tolist()[0] == 1.0 and np.isnan(df["m"].tolist()[1])
    assert df["status"].tolist() == ["done", "failed"]
    sel = load_results(db, where="`steps.0.alpha` > 0.2")
    assert sel["config_hash"].tolist() == ["b"]
    assert len(load_results(db)) == 3 and "width" in load_results(db).columns
    assert np.array_equal(load_arrays(db, int(df.row_id[0]))["v"], np.arange(3.0))
    assert load_arrays(db, int(df.row_id[1])) == {}
    assert load_row(db, int(df.row_id[0]))["record"] == {"x": 1}
    for bad in ({"sweep": "nope"}, {"where": "no_such_column > 1"}, {"where": "status =="}):
        with pytest.raises(ConfigError) as e:
            load_results(db, **bad)
        assert e.value.field in ("sweep", "where")
    with pytest.raises(ConfigError) as e:
        load_arrays(db, 999)
    assert e.value.field == "row_id"
    with pytest.raises(ConfigError):
        load_results(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()


def test_reader_sees_committed_snapshot_while_a_write_transaction_is_open(tmp_path):
    db = tmp_path / "r.db"
    con = st.connect(db)
    st.commit_row(con, _row(h="a", width=1))
    con.execute("BEGIN IMMEDIATE")
    con.execute("UPDATE runs SET status = 'failed' WHERE config_hash = 'a'")
    t0 = time.perf_counter()
    df = load_results(db)  # WAL: not blocked by the open write transaction, sees the last commit
    assert time.perf_counter() - t0 < 5
    assert df["status"].tolist() == ["done"]
    con.execute("ROLLBACK")
    con.close()


def test_readers_query_while_a_writer_thread_commits_cells(tmp_path):
    """Real cells (tiny steps runs, in this process) written one by one while another thread reads."""
    db = tmp_path / "r.db"
    spec = load_sweep({"base": TINY_BASE, "grid": {"width": [32, 40, 48, 56]}, "seeds": 3, "name": "rw"})
    payloads = [(c, execute_cell(c.config, 1)) for c in spec.cells]
    assert all(p["status"] == "done" for _, p in payloads)
    con = st.connect(db)
    counts: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader():
        try:
            while not stop.is_set():
                counts.append(len(load_results(db)))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    t = threading.Thread(target=reader)
    t.start()
    for cell, payload in payloads:
        write_result(con, db, spec, cell, payload)
        time.sleep(0.02)
    stop.set()
    t.join(30)
    con.close()
    assert not errors
    assert counts == sorted(counts)  # never goes backwards
    assert any(0 < c < len(spec.cells) for c in counts)  # reads happened mid-sweep
    df = load_results(db, sweep="rw")
    assert len(df) == len(spec.cells) == df["config_hash"].nunique()
    assert set(df["config_hash"]) == {c.config_hash for c in spec.cells}


def test_corrupt_store_is_a_config_error(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(ConfigError) as e:
        load_results(bad)
    assert e.value.field == "store"
    with pytest.raises(ConfigError):
        st.connect(bad)
    assert bad.read_bytes() == b"not a database at all" * 100
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(bad).execute("SELECT 1 FROM runs").fetchall()
