"""SIGKILL at random moments, including the first milliseconds of a store's life (issue 18 item 3
and "must show").

1. A process that creates a store is killed a random 0-4 ms after the file appears (the creation
   transaction takes a few milliseconds with fsync): whatever the moment, the file left is absent,
   empty or a complete store, and the next writer opens it as a store.
2. ``giantstep sweep`` is killed at random moments (right after its store appears, or at a random
   time of its run); a rerun completes it, and the rows are exactly those of an uninterrupted run:
   none lost, none duplicated, metrics and array hashes bit-identical.

The delays come from a seeded generator. The fuzz tier repeats both many more times.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import yaml

from giantstep.engine import store as st
from giantstep.engine.results import load_results

pytestmark = pytest.mark.timeout(600)

CREATE = "import sys\nfrom giantstep.engine import store\nstore.connect(sys.argv[1]).close()\n"
SWEEP = {"name": "k", "seed": 4, "base": {"d": 24, "width": 24, "n": 256, "theory": False, "spectra": {"top": 3},
                                          "steps": [{"eta0": 1.0, "alpha": 0.0}]},
         "grid": {"width": [24, 28, 32]}, "seeds": 2}


def _wait_for(path, proc, timeout=120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if os.path.exists(path):
            return True
        time.sleep(0.0002)
    return os.path.exists(path)


def _kill_creations(tmp_path, trials: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    seen: dict[str, int] = {}
    for i in range(trials):
        db = tmp_path / f"c{i}.db"
        proc = subprocess.Popen([sys.executable, "-c", CREATE, str(db)], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            if _wait_for(db, proc):
                time.sleep(rng.uniform(0.0, 0.004))
        finally:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(timeout=30)
        state = st.store_state(db)
        assert state in ("absent", "empty", "store"), state
        seen[state] = seen.get(state, 0) + 1
        st.connect(db).close()  # the next writer: initialises what the killed one left
        assert st.store_state(db) == "store"
        assert len(load_results(db)) == 0
    return seen


def test_kills_in_the_first_milliseconds_of_a_store(tmp_path):
    seen = _kill_creations(tmp_path, trials=12, seed=20240518)
    assert sum(seen.values()) == 12


@pytest.mark.fuzz
def test_kills_in_the_first_milliseconds_of_a_store_fuzz(tmp_path):
    trials = int(os.environ.get("GIANTSTEP_FUZZ_EXAMPLES", "2000")) // 10
    _kill_creations(tmp_path, trials=trials, seed=int(os.environ.get("GIANTSTEP_FUZZ_SEED", "0")) or 1)


def _sweep_cmd(sweep, db):
    return [sys.executable, "-m", "giantstep", "sweep", str(sweep), "--store", str(db), "--workers", "1", "--quiet"]


def _rows(db):
    df = load_results(db, verify=True).set_index("config_hash").sort_index()
    metrics = [c for c in df.columns if c.startswith(("w0.", "w1.", "dw1."))]
    from giantstep.engine.results import load_row

    return {h: (row.status, tuple(row[metrics]), load_row(db, int(row.row_id))["arrays"]) for h, row in df.iterrows()}


def _kill_sweeps(tmp_path, moments: list[tuple[str, float]]) -> None:
    sweep = tmp_path / "k.yaml"
    sweep.write_text(yaml.safe_dump(SWEEP))
    reference = tmp_path / "ref.db"
    done = subprocess.run(_sweep_cmd(sweep, reference), capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = _rows(reference)
    assert len(expected) == 6 and all(status == "done" for status, _, _ in expected.values())
    for i, (when, delay) in enumerate(moments):
        db = tmp_path / f"killed{i}.db"
        proc = subprocess.Popen(_sweep_cmd(sweep, db), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            if when == "store-appears":
                _wait_for(db, proc)
            time.sleep(delay)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        assert st.store_state(db) in ("absent", "empty", "store")
        rerun = subprocess.run(_sweep_cmd(sweep, db), capture_output=True, text=True, timeout=300,
                               stdin=subprocess.DEVNULL)
        assert rerun.returncode == 0, (when, delay, rerun.stderr[-2000:])
        assert _rows(db) == expected, (when, delay)
        assert not list(st.arrays_dir(db).glob("*/.*.tmp"))


def test_sweeps_killed_at_random_moments_resume_to_the_same_rows(tmp_path):
    rng = random.Random(7)
    _kill_sweeps(tmp_path, [("store-appears", rng.uniform(0.0, 0.015)), ("store-appears", rng.uniform(0.0, 0.015)),
                            ("start", rng.uniform(2.0, 6.0))])


@pytest.mark.fuzz
def test_sweeps_killed_at_random_moments_resume_to_the_same_rows_fuzz(tmp_path):
    rng = random.Random(int(os.environ.get("GIANTSTEP_FUZZ_SEED", "0")) or 11)
    count = max(4, int(os.environ.get("GIANTSTEP_FUZZ_EXAMPLES", "2000")) // 200)
    moments = [("store-appears", rng.uniform(0.0, 0.05)) if i % 2 else ("start", rng.uniform(0.0, 8.0))
               for i in range(count)]
    _kill_sweeps(tmp_path, moments)
