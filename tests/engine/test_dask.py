"""Sweeps through real Dask clusters: local default, 1 vs 2 workers, an external scheduler,
divergent cells, resume and retry, and the ``results`` command.

The sweep (conftest.tiny_sweep) has 12 cells: eta0 in {0.5, 2, 1e300} x width in {32, 48} x 2
seeds; the 4 cells at eta0 = 1e300 overflow (inf in the spectrum of W1 - W0) and must be stored as
failed with a reason. Comparisons of metrics are exact: a cell's result depends only on its
config (seed included), not on the worker that ran it or on the number of workers.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from giantstep import cli as giantstep_cli
from giantstep.engine.execution import _pending, available_cores, run_sweep
from giantstep.engine.results import load_arrays, load_results, load_row
from giantstep.engine.sweep import load_sweep

from .conftest import tiny_sweep

pytestmark = pytest.mark.timeout(300)

N_CELLS = 12
N_DIVERGENT = 4


@pytest.fixture(scope="module")
def spec():
    return load_sweep(tiny_sweep())


@pytest.fixture(scope="module")
def stores(spec, tmp_path_factory):
    """The same sweep run with 1 worker and with the local default (one worker per core)."""
    root = tmp_path_factory.mktemp("stores")
    reports = {}
    for label, workers in (("one", 1), ("default", None)):
        reports[label] = run_sweep(spec, root / f"{label}.db", workers=workers, progress=False)
    return root, reports


def _by_hash(db):
    df = load_results(db, sweep="tiny")
    return df.set_index("config_hash").sort_index()


def _metric_columns(df):
    fixed = {"row_id", "sweep", "config_hash", "status", "reason", "seed", "cell_seed", "kind", "root_seed", "seed_path",
             "version", "host", "worker", "started", "seconds", "written", "attempts", "steps.0.eta0", "width"}
    return [c for c in df.columns if c not in fixed]


def _assert_same_records(db_a, db_b):
    a, b = _by_hash(db_a), _by_hash(db_b)
    assert len(a) == len(b) == N_CELLS
    assert list(a.index) == list(b.index)
    for col in ("status", "reason", "steps.0.eta0", "width", "seed", "cell_seed", "seed_path"):
        assert a[col].tolist() == b[col].tolist(), col
    cols = _metric_columns(a)
    assert cols == _metric_columns(b) and len(cols) > 10
    pd.testing.assert_frame_equal(a[cols], b[cols], check_exact=True)
    for h in a.index:
        ra, rb = load_row(db_a, int(a.loc[h, "row_id"])), load_row(db_b, int(b.loc[h, "row_id"]))
        assert ra["config"] == rb["config"]
        xa, xb = load_arrays(db_a, ra["row_id"]), load_arrays(db_b, rb["row_id"])
        assert ra["arrays"] == rb["arrays"]  # content hashes agree
        assert set(xa) == set(xb)
        for k in xa:
            assert np.array_equal(xa[k], xb[k])


def test_reports_and_divergent_cells_failed_with_reason(spec, stores):
    root, reports = stores
    for label, rep in reports.items():
        assert (rep.total, rep.done, rep.failed, rep.skipped) == (N_CELLS, N_CELLS - N_DIVERGENT, N_DIVERGENT, 0)
    assert reports["one"].workers == 1 and reports["default"].workers >= 1
    df = load_results(root / "one.db")
    failed = df[df.status == "failed"]
    assert set(failed["steps.0.eta0"]) == {1e300} and len(failed) == N_DIVERGENT
    assert all("non-finite" in r and "diverged" in r for r in failed.reason)
    assert failed[_metric_columns(df)].isna().all().all()  # never stored as numbers
    assert all(load_arrays(root / "one.db", int(r)) == {} for r in failed.row_id)
    done = df[df.status == "done"]
    assert len(done) == N_CELLS - N_DIVERGENT and done.reason.isna().all()
    assert np.isfinite(done[_metric_columns(df)].to_numpy(dtype=float)).all()
    row = load_row(root / "one.db", int(done.row_id.iloc[0]))
    cell = next(c for c in spec.cells if c.config_hash == row["config_hash"])
    assert row["seed_path"] == [spec.root_seed, cell.key, cell.replicate]
    assert row["config"]["seed"] == cell.seed == row["record"]["seed"]


def test_one_and_two_workers_give_identical_metrics(stores):
    root, reports = stores
    # the local default is one worker per core: 2 workers on the 2-core reference machine
    assert reports["default"].workers == min(available_cores(), N_CELLS)
    if reports["default"].workers < 2:
        pytest.skip("one core: the local default has a single worker")
    _assert_same_records(root / "one.db", root / "default.db")


def test_external_scheduler_gives_the_same_records_as_the_local_default(spec, stores, dask_scheduler, tmp_path):
    root, _ = stores
    db = tmp_path / "remote.db"
    rep = run_sweep(spec, db, scheduler=dask_scheduler, progress=False)
    assert rep.workers == 2 and (rep.done, rep.failed) == (N_CELLS - N_DIVERGENT, N_DIVERGENT)
    _assert_same_records(root / "default.db", db)
    workers = set(load_results(db)["worker"])
    assert len(workers) == 2  # both external workers ran cells


def test_resume_skips_done_and_failed_retry_failed_reruns_failed_only(spec, stores, tmp_path):
    root, _ = stores
    db = tmp_path / "copy.db"
    shutil.copy(root / "one.db", db)
    shutil.copytree(root / "one.db.arrays", tmp_path / "copy.db.arrays")
    before = load_results(db)
    rep = run_sweep(spec, db, progress=False)
    assert (rep.done, rep.failed, rep.skipped, rep.workers) == (0, 0, N_CELLS, 0)  # no cluster started
    # which cells a call would run: --no-resume reruns all, --retry-failed only the failed ones
    assert len(_pending(spec, db, resume=False, retry_failed=False)[0]) == N_CELLS
    todo, skipped = _pending(spec, db, resume=True, retry_failed=True)
    assert skipped == N_CELLS - N_DIVERGENT and {c.config["steps"][0]["eta0"] for c in todo} == {1e300}
    rep = run_sweep(spec, db, workers=1, retry_failed=True, progress=False)
    assert (rep.done, rep.failed, rep.skipped) == (0, N_DIVERGENT, N_CELLS - N_DIVERGENT)
    after = load_results(db)
    assert len(after) == N_CELLS and after.row_id.tolist() == before.row_id.tolist()  # rows replaced in place
    assert after.set_index("row_id")["attempts"].to_dict() == {
        r: (2 if s == "failed" else 1) for r, s in zip(before.row_id, before.status)
    }


def test_results_command_formats(stores, tmp_path, cli, capsys):
    root, _ = stores
    db = root / "one.db"
    proc = cli("results", db, "--format", "json", "--where", "status == 'done'")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert len(rows) == N_CELLS - N_DIVERGENT
    assert {"steps.0.eta0", "width", "seed", "status", "cell_seed", "w1.s1"} <= set(rows[0])
    giantstep_cli.main(["results", str(db), "--format", "csv", "--out", str(tmp_path / "r.csv"), "--sweep", "tiny"])
    giantstep_cli.main(["results", str(db), "--format", "parquet", "--out", str(tmp_path / "r.parquet")])
    giantstep_cli.main(["results", str(db)])
    table = capsys.readouterr().out
    assert "w1.s1" in table and len(table.splitlines()) == N_CELLS + 1
    csv = pd.read_csv(tmp_path / "r.csv")
    pq = pd.read_parquet(tmp_path / "r.parquet")
    ref = load_results(db)
    for other in (csv, pq):
        assert other["config_hash"].tolist() == ref["config_hash"].tolist()
        np.testing.assert_array_equal(other["w1.s1"].to_numpy(), ref["w1.s1"].to_numpy())
