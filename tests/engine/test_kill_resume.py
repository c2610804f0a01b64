"""A sweep killed with SIGKILL mid-way resumes to exactly the full set of records.

The test starts ``giantstep sweep`` as its own child (a new session, so the kill reaches the
client and its LocalCluster worker processes), reads the store while the sweep writes to it, and
SIGKILLs the child's process group once some but not all cells are committed. A second
``giantstep sweep`` with the default ``--resume`` completes the rest.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from giantstep.errors import ConfigError
from giantstep.engine import store as st
from giantstep.engine.execution import execute_cell
from giantstep.engine.results import load_arrays, load_results
from giantstep.engine.sweep import load_sweep

pytestmark = pytest.mark.timeout(300)

# 12 cells of ~0.05 s each on an idle core (d = N = 128, n = 2048, one step) on one worker: the
# reader polls every ~20 ms, so the kill lands between the first and the last cell.
SWEEP = {
    "name": "killme",
    "seed": 3,
    "base": {"d": 128, "width": 128, "n": 2048, "theory": False, "spectra": {"top": 5},
             "steps": [{"eta0": 1.0, "alpha": 0.0}]},
    "grid": {"width": [128, 136, 144, 152]},
    "seeds": 3,
}
N_CELLS = 12
KILL_AFTER = 2


def _count(db) -> int | None:
    try:
        return len(load_results(db))
    except ConfigError:  # store not created yet
        return None


def test_sigkill_mid_sweep_then_resume_gives_the_full_set(tmp_path):
    sweep = tmp_path / "killme.yaml"
    sweep.write_text(yaml.safe_dump(SWEEP))
    db = tmp_path / "s.db"
    cmd = [sys.executable, "-m", "giantstep", "sweep", str(sweep), "--store", str(db), "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            cwd=tmp_path, start_new_session=True)
    seen: list[int] = []
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            n = _count(db)  # a reader querying the store while the sweep writes
            if n is not None:
                seen.append(n)
                if n >= KILL_AFTER:
                    os.killpg(proc.pid, signal.SIGKILL)
                    break
            time.sleep(0.02)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, err.decode()[-2000:])
    assert seen == sorted(seen) and seen[-1] >= KILL_AFTER
    at_kill = load_results(db)
    assert KILL_AFTER <= len(at_kill) < N_CELLS, "the kill must land mid-way"
    assert (at_kill.status == "done").all()

    resumed = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=tmp_path,
                             timeout=240)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"{N_CELLS - len(at_kill)} done, 0 failed, {len(at_kill)} skipped" in resumed.stdout
    assert "remaining" not in resumed.stderr  # no progress bar when stderr is not a terminal

    spec = load_sweep(sweep)
    df = load_results(db, sweep="killme")
    assert len(df) == N_CELLS  # none lost, none duplicated
    assert sorted(df.config_hash) == sorted(c.config_hash for c in spec.cells)
    assert (df.status == "done").all() and (df.attempts == 1).all()
    # rows committed before the kill are untouched
    kept = df.set_index("config_hash").loc[at_kill.config_hash]
    assert kept.row_id.tolist() == at_kill.row_id.tolist()
    assert kept.written.tolist() == at_kill.written.tolist()
    for row_id in df.row_id:
        arrays = load_arrays(db, int(row_id))
        assert arrays and all(np.isfinite(a).all() for a in arrays.values())
    assert not list(st.arrays_dir(db).glob("*/.*.tmp"))
    # resumption does not change results: one cell from each side of the kill, recomputed here
    by_hash = {c.config_hash: c for c in spec.cells}
    for h in (at_kill.config_hash.iloc[0], sorted(set(df.config_hash) - set(at_kill.config_hash))[0]):
        payload = execute_cell(by_hash[h].config, 2)
        row = df[df.config_hash == h].iloc[0]
        for k, v in payload["metrics"].items():
            assert row[k] == v, k
