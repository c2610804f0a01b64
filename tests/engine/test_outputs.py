"""Output paths of every command (issue 18 items 2 and 12): checked before any work, never written
over without --force (the store being read never), written to a temporary file and renamed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from giantstep import outputs
from giantstep.cli import main
from giantstep.engine import store as st
from giantstep.engine.execution import run_sweep
from giantstep.errors import ConfigError

from .conftest import TINY_BASE, read_only, snapshot, unprivileged

RUN = dict(TINY_BASE, d=16, width=16, n=32)


@pytest.fixture
def store(tmp_path, inline_sweeps):
    db = tmp_path / "s.db"
    run_sweep({"name": "o", "base": TINY_BASE, "grid": {"width": [32, 40]}}, db, progress=False)
    return db


def _code(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    captured = capsys.readouterr()
    return exc.value.code, captured


def _refused(capsys, argv, field="out", words=""):
    code, captured = _code(capsys, argv)
    lines = [ln for ln in captured.err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and f"'{field}'" in lines[0] and words in lines[0], captured.err
    assert "Traceback" not in captured.err
    return lines[0]


def test_results_never_writes_over_its_store(store, capsys):
    before = snapshot(store.parent)
    for target in (store, Path(f"{store}-wal"), Path(f"{store}-shm"), st.arrays_dir(store) / "x.csv"):
        for force in ([], ["--force"]):
            _refused(capsys, ["results", str(store), "--format", "csv", "--out", str(target), *force],
                     words="other than the input")
    rel = Path("..") / store.parent.name / store.name  # the same file by another spelling
    _refused(capsys, ["results", str(store), "--out", str(store.parent / rel), "--force"], words="other than the input")
    assert snapshot(store.parent) == before


def test_results_out_needs_force_to_replace_and_replaces_atomically(store, tmp_path, capsys, monkeypatch):
    out = tmp_path / "r.csv"
    main(["results", str(store), "--format", "csv", "--out", str(out)])
    first = out.read_bytes()
    assert len(pd.read_csv(out)) == 2
    _refused(capsys, ["results", str(store), "--format", "csv", "--out", str(out)], words="--force")
    assert out.read_bytes() == first
    main(["results", str(store), "--format", "json", "--out", str(out), "--force"])
    assert len(json.loads(out.read_text())) == 2

    def broken(self, data):  # the disk fills up while the new text is written
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", broken)
    code, captured = _code(capsys, ["results", str(store), "--format", "csv", "--out", str(out), "--force"])
    monkeypatch.undo()
    assert code == 1 and captured.err.strip() == "failed: OSError: [Errno 28] No space left on device"
    assert len(json.loads(out.read_text())) == 2  # the old file is intact
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".r.csv.")]  # no temporary left


def test_results_out_paths_checked_before_reading(store, tmp_path, capsys):
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "a-dir").mkdir()
    before = snapshot(tmp_path)
    _refused(capsys, ["results", str(store), "--out", str(tmp_path / "missing" / "r.csv")], words="missing")
    _refused(capsys, ["results", str(store), "--out", str(tmp_path / "a-file" / "r.csv")], words="is a file")
    _refused(capsys, ["results", str(store), "--out", str(tmp_path / "a-dir")], words="directory")
    _refused(capsys, ["results", str(store), "--format", "parquet"], words="parquet")
    assert snapshot(tmp_path) == before
    main(["results", str(store), "--format", "parquet", "--out", str(tmp_path / "r.parquet")])
    assert len(pd.read_parquet(tmp_path / "r.parquet")) == 2


def test_results_out_in_a_read_only_directory(store, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    with read_only(folder):
        proc = subprocess.run(unprivileged([sys.executable, "-m", "giantstep", "results", str(store), "--format", "csv",
                                            "--out", str(folder / "r.csv")]), capture_output=True, text=True, timeout=120)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and "'out'" in lines[0] and "read-only" in lines[0], proc.stderr
    assert list(folder.iterdir()) == []


def _config(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(RUN))
    return path


def test_run_out_checked_before_the_run(tmp_path, capsys):
    config = _config(tmp_path)
    (tmp_path / "a-file").write_text("x")
    arrays_dir = tmp_path / "has-arrays-dir"
    (arrays_dir / "arrays.npz").mkdir(parents=True)
    before = snapshot(tmp_path)
    _refused(capsys, ["run", str(config), "--out", str(tmp_path / "a-file")], words="is a file")
    _refused(capsys, ["run", str(config), "--out", str(tmp_path / "a-file" / "sub")], words="is a file")
    for force in ([], ["--force"]):
        _refused(capsys, ["run", str(config), "--out", str(arrays_dir), *force], words="arrays.npz")
    assert snapshot(tmp_path) == before  # result.json was not written first


def test_run_out_replaces_only_with_force(tmp_path, capsys):
    config = _config(tmp_path)
    out = tmp_path / "out"
    main(["run", str(config), "--out", str(out)])
    capsys.readouterr()
    first = (out / "result.json").read_bytes()
    _refused(capsys, ["run", str(config), "--out", str(out)], words="--force")
    assert (out / "result.json").read_bytes() == first
    main(["run", str(config), "--out", str(out), "--force", "--json"])
    assert json.loads(capsys.readouterr().out)["seed"] == 0
    assert sorted(p.name for p in out.iterdir()) == ["arrays.npz", "result.json"]


def test_run_out_in_a_read_only_directory(tmp_path):
    config = _config(tmp_path)
    folder = tmp_path / "ro"
    folder.mkdir()
    with read_only(folder):
        proc = subprocess.run(unprivileged([sys.executable, "-m", "giantstep", "run", str(config), "--out",
                                            str(folder / "out")]), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "'out'" in proc.stderr and "read-only" in proc.stderr, proc.stderr
    assert list(folder.iterdir()) == []


def test_reproduce_and_plot_out_checked_before_any_work(tmp_path, capsys, monkeypatch):
    from giantstep.claims import runner

    def refuse(*args, **kwargs):
        raise AssertionError("work started although --out is unusable")

    monkeypatch.setattr(runner, "shared_cluster", refuse)
    (tmp_path / "a-file").write_text("x")
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"\xff\xd8")
    before = snapshot(tmp_path)
    for cmd in (["reproduce", "C8", "--quick"], ["plot", "C8"]):
        _refused(capsys, [*cmd, "--out", str(tmp_path / "a-file")], words="is a file")
        _refused(capsys, [*cmd, "--out", str(foreign)], words="--force")
    _refused(capsys, ["plot", "C8", "--out", str(tmp_path / "absent")])
    _refused(capsys, ["plot", "C8", "--out", str(foreign), "--force"], words="results.sqlite")
    assert snapshot(tmp_path) == before


def test_check_output_file_rules(tmp_path):
    (tmp_path / "x").write_text("old")
    with pytest.raises(ConfigError):
        outputs.check_output_file(tmp_path / "x", "out", force=False)
    assert outputs.check_output_file(tmp_path / "x", "out", force=True) == tmp_path / "x"
    assert outputs.check_output_file(tmp_path / "new", "out", force=False) == tmp_path / "new"
    outputs.atomic_write(tmp_path / "x", "new")
    assert (tmp_path / "x").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]
