"""`giantstep results`: --columns, the compact default view, formats (issue 17 item 5)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from giantstep.cli import main
from giantstep.engine.execution import run_sweep
from giantstep.engine.results import compact_columns, load_results

from .conftest import TINY_BASE


@pytest.fixture
def store(tmp_path, inline_sweeps):
    db = tmp_path / "s.db"
    run_sweep({"name": "v", "base": dict(TINY_BASE, readout={"n_train": 32, "n_test": 32}),
               "grid": {"width": [32, 40], "steps.0.eta0": [1.0, 1e300]}}, db, progress=False)
    run_sweep({"name": "r", "base": {"kind": "rf", "d": 8, "width": 8, "n": 16, "n_test": 16}, "grid": {"width": [8]}},
              db, progress=False)
    return db


def test_compact_default_view(store, capsys):
    df = load_results(store)
    assert compact_columns(df) == ["row_id", "sweep", "status", "width", "steps.0.eta0", "seed", "w1.s1",
                                   "w1.overlap1", "w1.outliers", "readout.test_error", "test_risk", "train_error",
                                   "reason"]
    assert compact_columns(load_results(store, sweep="r")) == ["row_id", "status", "width", "seed", "test_risk",
                                                               "train_error"]
    main(["results", str(store), "--sweep", "v"])
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["row_id", "status", "width", "steps.0.eta0", "seed", "w1.s1", "w1.overlap1",
                              "w1.outliers", "readout.test_error", "reason"]
    assert len(rows) == 4 and sum("non-finite" in r for r in rows) == 2


def test_columns_choose_what_every_format_shows(store, tmp_path, capsys):
    main(["results", str(store), "--columns", "row_id, seconds,w1.s1", "--where", "status == 'done'"])
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["row_id", "seconds", "w1.s1"] and len(out) == 4  # 2 steps rows + the rf row
    main(["results", str(store), "--columns", "config_hash,test_risk", "--format", "json", "--sweep", "r"])
    rows = json.loads(capsys.readouterr().out)
    assert list(rows[0]) == ["config_hash", "test_risk"] and len(rows) == 1
    main(["results", str(store), "--format", "csv", "--columns", "row_id,status", "--out", str(tmp_path / "x.csv")])
    assert list(pd.read_csv(tmp_path / "x.csv").columns) == ["row_id", "status"]
    main(["results", str(store), "--format", "csv", "--out", str(tmp_path / "all.csv")])
    assert "config_hash" in pd.read_csv(tmp_path / "all.csv").columns  # files keep every column by default
    with pytest.raises(SystemExit) as exc:
        main(["results", str(store), "--columns", "row_id,nope"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "'columns'" in err and "Got 'nope'" in err
