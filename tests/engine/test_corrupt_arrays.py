"""Array files are verified on read; `results` flags corrupt cells; a rerun replaces them, with or
without --no-resume (issue 18 item 7)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import yaml

from giantstep.cli import main
from giantstep.engine import store as st
from giantstep.engine.execution import run_sweep
from giantstep.engine.results import load_arrays, load_results, load_row

from .conftest import TINY_BASE

SWEEP = {"name": "c", "base": TINY_BASE, "grid": {"width": [32, 40, 48]}}


def _damage(path, how):
    if how == "flipped":
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif how == "truncated":
        path.write_bytes(path.read_bytes()[:40])
    elif how == "missing":
        path.unlink()
    elif how == "other-content":  # a valid npz whose content does not match its name
        buf = io.BytesIO()
        np.savez_compressed(buf, x=np.zeros(3))
        path.write_bytes(buf.getvalue())
    elif how == "empty":
        path.write_bytes(b"")


@pytest.fixture
def sweep_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(SWEEP))
    return path


@pytest.mark.parametrize("how", ["flipped", "truncated", "missing", "other-content", "empty"])
def test_verified_read_flag_and_repair(tmp_path, sweep_file, inline_sweeps, capsys, how):
    db = tmp_path / "s.db"
    main(["sweep", str(sweep_file), "--store", str(db), "--quiet"])
    capsys.readouterr()
    df = load_results(db)
    bad_row = int(df.row_id[1])
    digest = load_row(db, bad_row)["arrays"]
    good = load_arrays(db, bad_row)
    _damage(st.array_file(db, digest), how)

    with pytest.raises(st.CorruptArrays) as e:
        load_arrays(db, bad_row)
    assert digest[:8] in str(e.value) and "rerun the sweep" in str(e.value)
    assert load_arrays(db, int(df.row_id[0]))  # the others still read

    main(["results", str(db), "--format", "json"])
    captured = capsys.readouterr()
    import json

    rows = {r["row_id"]: r for r in json.loads(captured.out)}
    assert rows[bad_row]["status"] == "corrupt" and "rerun the sweep" in rows[bad_row]["reason"]
    assert [r["status"] for k, r in rows.items() if k != bad_row] == ["done", "done"]
    assert captured.err.strip().startswith("warning: 1 row(s) have missing or corrupt arrays")
    main(["results", str(db), "--format", "json", "--no-verify"])
    assert {r["status"] for r in json.loads(capsys.readouterr().out)} == {"done"}

    main(["sweep", str(sweep_file), "--store", str(db), "--quiet"])  # resume: only the damaged cell runs
    assert "1 done, 0 failed, 2 skipped" in capsys.readouterr().out
    after = load_results(db, verify=True)
    assert (after.status == "done").all() and after.row_id.tolist() == df.row_id.tolist()
    repaired = load_arrays(db, bad_row)
    assert set(repaired) == set(good) and all(np.array_equal(repaired[k], good[k]) for k in good)
    assert after.set_index("row_id").loc[bad_row, "attempts"] == 2


def test_no_resume_replaces_a_corrupt_file_it_would_otherwise_reuse(tmp_path, inline_sweeps):
    db = tmp_path / "s.db"
    run_sweep(SWEEP, db, progress=False)
    row = int(load_results(db).row_id[0])
    path = st.array_file(db, load_row(db, row)["arrays"])
    _damage(path, "flipped")
    rep = run_sweep(SWEEP, db, resume=False, progress=False)
    assert (rep.done, rep.skipped) == (3, 0)
    assert st.verify_arrays(db, load_row(db, row)["arrays"]) is None
    assert (load_results(db, verify=True).status == "done").all()


def test_write_arrays_verifies_before_reusing(tmp_path):
    db = tmp_path / "s.db"
    arrays = {"v": np.arange(5.0)}
    digest = st.write_arrays(db, arrays)
    _damage(st.array_file(db, digest), "truncated")
    assert st.verify_arrays(db, digest) is not None
    assert st.write_arrays(db, arrays) == digest
    assert st.verify_arrays(db, digest) is None
