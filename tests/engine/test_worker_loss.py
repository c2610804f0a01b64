"""A worker process lost mid-cell (SIGKILL): Dask retries its cells elsewhere, or, once the
scheduler's allowed failures are used up, they are stored as failed with the reason and the
sweep goes on.

Each test starts its own ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1 (each
worker under its nanny, which restarts a killed worker process), runs a sweep against them in a
background thread, watches the scheduler for a worker that is running a cell and SIGKILLs that
worker's process. Cells take ~0.5-1 s on one core (d = N = 384, n = 32768, one step), and the
watcher polls every 20 ms, so the kill lands inside a cell.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

from giantstep.engine.execution import run_sweep
from giantstep.engine.results import load_arrays, load_results
from giantstep.engine.sweep import load_sweep

from .conftest import external_cluster

pytestmark = pytest.mark.timeout(300)

SWEEP = {
    "name": "lossy",
    "seed": 5,
    "base": {"d": 384, "width": 384, "n": 32768, "theory": False, "spectra": {"top": 3},
             "steps": [{"eta0": 1.0, "alpha": 0.0}]},
    "grid": {"width": [384, 392]},
    "seeds": 2,
}
N_CELLS = 4


def _sweep_in_background(spec, db, scheduler):
    out: dict = {}

    def target():
        try:
            out["report"] = run_sweep(spec, db, scheduler=scheduler, progress=False)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            out["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, out


def _kill_a_busy_worker(scheduler: str, busy_for: float = 0.15, timeout: float = 120.0) -> str:
    """SIGKILL the process of the first worker seen running a cell for ``busy_for`` seconds;
    return the 16-hex-digit config-hash prefix of that cell (from its task key)."""
    from distributed import Client

    deadline = time.monotonic() + timeout
    with Client(scheduler, timeout="10s", set_as_default=False) as client:
        first_seen: dict[tuple[str, str], float] = {}
        while time.monotonic() < deadline:
            for worker, keys in client.processing().items():
                for key in keys:
                    key = str(key)
                    if not key.startswith("giantstep-cell-"):
                        continue
                    t0 = first_seen.setdefault((worker, key), time.monotonic())
                    if time.monotonic() - t0 >= busy_for:
                        pid = client.run(os.getpid, workers=[worker])[worker]
                        os.kill(pid, signal.SIGKILL)
                        return key.split("-")[2]
            time.sleep(0.02)
    pytest.fail("no worker was seen running a cell")


def _finish(thread, out, timeout: float = 240.0):
    thread.join(timeout)
    assert not thread.is_alive(), "the sweep did not finish after the worker was killed"
    if "error" in out:
        raise out["error"]
    return out["report"]


def _assert_arrays_readable(db, df):
    for row_id in df[df.status == "done"].row_id:
        arrays = load_arrays(db, int(row_id))
        assert arrays and all(np.all(np.isfinite(a)) for a in arrays.values())


def test_cell_on_a_killed_worker_is_retried_and_the_sweep_completes(tmp_path):
    spec = load_sweep(SWEEP)
    db = tmp_path / "s.db"
    with external_cluster(tmp_path) as scheduler:  # default: 3 allowed failures per task
        thread, out = _sweep_in_background(spec, db, scheduler)
        killed = _kill_a_busy_worker(scheduler)
        rep = _finish(thread, out)
    assert (rep.done, rep.failed) == (N_CELLS, 0)
    df = load_results(db)
    assert len(df) == N_CELLS and df.config_hash.is_unique and (df.status == "done").all()
    assert any(h.startswith(killed) for h in df.config_hash)
    _assert_arrays_readable(db, df)


def test_cell_that_exhausts_allowed_failures_is_stored_failed_and_the_sweep_goes_on(tmp_path):
    spec = load_sweep(SWEEP)
    db = tmp_path / "s.db"
    no_retry = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
    with external_cluster(tmp_path, scheduler_env=no_retry) as scheduler:
        thread, out = _sweep_in_background(spec, db, scheduler)
        killed = _kill_a_busy_worker(scheduler)
        rep = _finish(thread, out)
        # every cell the scheduler had assigned to the killed worker (the running one, and one
        # queued behind it) is lost with it and, with no retry allowed, stored as failed
        assert rep.failed >= 1 and rep.done + rep.failed == N_CELLS
        df = load_results(db)
        failed = df[df.status == "failed"]
        assert len(df) == N_CELLS and len(failed) == rep.failed
        assert any(h.startswith(killed) for h in failed.config_hash)
        assert all("KilledWorker" in r for r in failed.reason)
        assert failed["w1.s1"].isna().all()  # a lost cell is never stored as numbers
        _assert_arrays_readable(db, df)
        # --retry-failed reruns only those cells, in place, on the (restarted) workers
        rep_retry = run_sweep(spec, db, scheduler=scheduler, retry_failed=True, progress=False)
    assert (rep_retry.done, rep_retry.failed, rep_retry.skipped) == (rep.failed, 0, N_CELLS - rep.failed)
    after = load_results(db)
    assert len(after) == N_CELLS and (after.status == "done").all()
    assert after.row_id.tolist() == df.row_id.tolist()
    _assert_arrays_readable(db, after)
