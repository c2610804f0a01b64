"""Same config + seed -> bit-identical result, whatever the worker count (issue 18 item 5).

BLAS kernels reduce in an order that depends on their thread count: at d = N = 256 a cell run
with 2 BLAS threads differs from one run with 1 thread in the last bits of most metrics and in
every array hash (checked below, so the test keeps its teeth on any machine with 2 cores). Before
the fix a LocalCluster gave each worker cores // workers BLAS threads, so 1 and 2 workers
disagreed; now every cell runs with the engine's fixed thread count.
"""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_limits

from giantstep.engine import store as st
from giantstep.engine.execution import CELL_BLAS_THREADS, available_cores, execute_cell, run_sweep
from giantstep.engine.results import load_results, load_row

pytestmark = pytest.mark.timeout(300)

BASE = {"d": 256, "width": 256, "n": 1024, "theory": False, "steps": [{"eta0": 1.0, "alpha": 0.0}],
        "readout": {"n_train": 512, "n_test": 256}}
SWEEP = {"name": "det", "seed": 7, "base": BASE, "grid": {"width": [256, 264]}}


def _digests(db):
    df = load_results(db).set_index("config_hash").sort_index()
    metrics = [c for c in df.columns if "." in c and c not in ("seconds",)]
    return ({h: load_row(db, int(r))["arrays"] for h, r in df["row_id"].items()},
            df[metrics].to_dict(orient="index"))


def test_a_cell_is_bit_identical_whatever_the_blas_threads_around_it():
    # the cell fixes its BLAS threads (CELL_BLAS_THREADS), and the kernels that would depend on the
    # thread count (eigensolves, Cholesky, small products) run on one thread anyway (linalg.few_threads)
    config = dict(BASE, seed=3)
    one = execute_cell(config, 1)
    runs = [execute_cell(config, 2)] if available_cores() >= 2 else []
    with threadpool_limits(limits=2):  # whatever the surrounding process allows
        runs.append(execute_cell(config))
    assert CELL_BLAS_THREADS == 1
    for other in runs:
        assert st.arrays_hash(other["arrays"]) == st.arrays_hash(one["arrays"])
        assert other["metrics"] == one["metrics"]


def test_one_and_two_workers_give_identical_array_hashes(tmp_path):
    reports = {w: run_sweep(SWEEP, tmp_path / f"w{w}.db", workers=w, progress=False) for w in (1, 2)}
    assert [r.workers for r in reports.values()] == [1, 2]
    assert all(r.blas_threads == CELL_BLAS_THREADS and r.done == 2 for r in reports.values())
    arrays1, metrics1 = _digests(tmp_path / "w1.db")
    arrays2, metrics2 = _digests(tmp_path / "w2.db")
    assert arrays1 == arrays2 and all(arrays1.values())
    assert metrics1 == metrics2  # exact equality of every metric
