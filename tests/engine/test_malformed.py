"""Malformed sweeps: exit status 2, one line naming the field, nothing written to the store.

Every case runs ``giantstep sweep`` through the CLI entry point (``giantstep.cli.main``) in this
process (fast); a representative subset also runs as a real ``python -m giantstep`` subprocess.
Each case is checked twice: against a store path that does not exist (it must not be created) and
against an existing store holding one committed row (its files must be byte-for-byte unchanged).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from giantstep.cli import main
from giantstep.engine import store as st
from giantstep.errors import printable_field

from .conftest import TINY_BASE

GOOD = {"name": "bad", "base": TINY_BASE, "grid": {"width": [32, 48]}, "seeds": 1}


def _with(**changes):
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in GOOD.items()}
    for k, v in changes.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def _base(**changes):
    b = dict(TINY_BASE)
    b.update(changes)
    return b


# (case id, sweep mapping or raw file text, extra CLI args, field named in the message)
CASES = [
    ("unknown-top-field", _with(colour="red"), [], "colour"),
    ("unknown-base-field", _with(base=_base(widht=32)), [], "base.widht"),
    ("wrong-type-base", _with(base=_base(n="many")), [], "base.n"),
    ("wrong-type-axis-value", _with(grid={"width": ["big"]}), [], "grid.width"),
    ("empty-axis", _with(grid={"width": []}), [], "grid.width"),
    ("axis-not-a-list", _with(grid={"width": 32}), [], "grid.width"),
    ("negative-size-axis", _with(grid={"n": [64, -5]}), [], "grid.n"),
    ("negative-size-base", _with(base=_base(d=-1)), [], "base.d"),
    ("alpha-out-of-range-axis", _with(grid={"steps.0.alpha": [0.1, 0.9]}), [], "grid.steps.0.alpha"),
    ("alpha-out-of-range-base", _with(base=_base(steps=[{"eta0": 1.0, "alpha": -0.1}])), [], "base.steps.0.alpha"),
    ("unknown-activation-axis", _with(grid={"activation": ["relu", "nope"]}), [], "grid.activation"),
    ("unknown-link-base", _with(base=_base(teacher={"link": "wiggle"})), [], "base.teacher.link"),
    ("unknown-link-axis", _with(grid={"teacher.link": ["he2", "xx"]}), [], "grid.teacher.link"),
    ("unreadable-base-file", _with(base="does-not-exist.yaml"), [], "base"),
    ("unknown-kind", _with(base=_base(kind="nope")), [], "base.kind"),
    ("seeds-zero", _with(seeds=0), [], "seeds"),
    ("seeds-wrong-type", _with(seeds="three"), [], "seeds"),
    ("seeds-duplicates", _with(seeds=[1, 1]), [], "seeds"),
    ("zip-unequal", _with(zip={"n": [64, 128], "spectra.top": [2]}), [], "zip.spectra.top"),
    ("grid-not-mapping", _with(grid=["width", 32]), [], "grid"),
    ("index-out-of-range", _with(grid={"steps.2.alpha": [0.1]}), [], "grid.steps.2.alpha"),
    ("duplicate-axis-values", _with(grid={"width": [32, 32]}), [], "grid.width"),
    ("overlapping-axes", _with(grid={"teacher": [{"k": 1}], "teacher.k": [1]}), [], "grid.teacher.k"),
    ("seed-as-axis", _with(grid={"seed": [1, 2]}), [], "grid.seed"),
    ("negative-root-seed", _with(seed=-3), [], "seed"),
    ("bad-name", _with(name="has space"), [], "name"),
    ("missing-base", _with(base=None), [], "base"),
    ("first-step-reuse", _with(base=_base(steps=[{"eta0": 1.0, "batch": "reuse"}])), [], "base.steps.0.batch"),
    ("k-above-d-axis", _with(grid={"teacher.k": [1, 64]}), [], "grid.teacher.k"),
    ("non-finite-axis-value", _with(grid={"steps.0.eta0": [float("nan")]}), [], "grid.steps.0.eta0"),
    ("invalid-yaml", "base: {d: 32\ngrid: [", [], "sweep"),
    ("file-not-a-mapping", "- 1\n- 2\n", [], "sweep"),
    ("workers-zero", GOOD, ["--workers", "0"], "workers"),
    ("workers-and-scheduler", GOOD, ["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "workers"),
    ("scheduler-not-an-address", GOOD, ["--scheduler", "localhost:8786"], "scheduler"),
]
assert len(CASES) >= 20


def _write(tmp: Path, sweep) -> Path:
    path = tmp / "sweep.yaml"
    path.write_text(sweep if isinstance(sweep, str) else yaml.safe_dump(sweep))
    return path


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _existing_store(folder: Path) -> Path:
    db = folder / "existing.db"
    con = st.connect(db)
    st.commit_row(con, {"sweep": "bad", "config_hash": "x", "kind": "steps", "cell_key": "{}", "axes": {},
                        "replicate": 0, "cell_seed": 1, "root_seed": 0, "seed_path": [0, "{}", 0], "config": {},
                        "status": "done", "metrics": {"m": 1.0}, "version": "0", "written": "t"})
    con.close()
    return db


def _check_one_line(err: str, out: str, field: str) -> None:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert f"'{field}'" in lines[0], lines[0]
    assert "Traceback" not in err
    assert out == ""


@pytest.fixture(scope="module")
def existing(tmp_path_factory):
    """A store holding one committed row, shared by the cases, and a snapshot of its files."""
    folder = tmp_path_factory.mktemp("existing")
    db = _existing_store(folder)
    return db, _snapshot(folder)


@pytest.mark.parametrize("case_id, sweep, extra, field", CASES, ids=[c[0] for c in CASES])
def test_malformed_sweep_exits_2_names_field_writes_nothing(tmp_path, capsys, existing, case_id, sweep, extra,
                                                            field):
    path = _write(tmp_path, sweep)
    new_store = tmp_path / "new.db"
    existing_db, existing_files = existing
    before = _snapshot(tmp_path)
    for store in (new_store, existing_db):
        with pytest.raises(SystemExit) as exc:
            main(["sweep", str(path), "--store", str(store), *extra])
        assert exc.value.code == 2
        captured = capsys.readouterr()
        _check_one_line(captured.err, captured.out, field)
    assert not new_store.exists() and not st.arrays_dir(new_store).exists()
    assert _snapshot(tmp_path) == before
    assert _snapshot(existing_db.parent) == existing_files


def test_unreadable_sweep_file(tmp_path, capsys):
    for args in (["sweep", str(tmp_path / "absent.yaml")], ["sweep", str(_write(tmp_path, GOOD).with_suffix(".txt"))]):
        with pytest.raises(SystemExit) as exc:
            main([*args, "--store", str(tmp_path / "s.db")])
        assert exc.value.code == 2
        captured = capsys.readouterr()
        _check_one_line(captured.err, captured.out, "sweep")
    assert list(tmp_path.iterdir()) == [tmp_path / "sweep.yaml"]


SUBPROCESS_CASES = [c for c in CASES if c[0] in ("alpha-out-of-range-axis", "unknown-link-base", "empty-axis",
                                                  "workers-and-scheduler")]


@pytest.mark.parametrize("case_id, sweep, extra, field", SUBPROCESS_CASES, ids=[c[0] for c in SUBPROCESS_CASES])
def test_malformed_sweep_in_a_subprocess(tmp_path, cli, case_id, sweep, extra, field):
    path = _write(tmp_path, sweep)
    proc = cli("sweep", path, "--store", tmp_path / "s.db", *extra, cwd=tmp_path)
    assert proc.returncode == 2
    _check_one_line(proc.stderr, proc.stdout, field)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.yaml"]


def test_results_command_bad_input(tmp_path, capsys):
    db = _existing_store(tmp_path)
    for args, field in ((["--format", "xml"], "format"), (["--format", "parquet"], "out"),
                        (["--sweep", "nope"], "sweep"), (["--where", "zzz > 1"], "where")):
        with pytest.raises(SystemExit) as exc:
            main(["results", str(db), *args])
        assert exc.value.code == 2
        captured = capsys.readouterr()
        _check_one_line(captured.err, captured.out, field)
    with pytest.raises(SystemExit) as exc:
        main(["results", str(tmp_path / "absent.db")])
    assert exc.value.code == 2 and not (tmp_path / "absent.db").exists()
    capsys.readouterr()


@pytest.mark.parametrize("key", ["\r", "a\nb", "\x1b[2J"])
def test_control_characters_in_a_key_are_escaped_in_the_one_line_message(tmp_path, capsys, key):
    # a key '\r' used to put a carriage return inside the message (found by the fuzz tier)
    path = tmp_path / "run.yaml"  # JSON is YAML: the key written with its escape
    path.write_text(__import__("json").dumps({"seed": 0, "d": 4, "width": 4, "n": 4, "teacher": {key: 0}}))
    with pytest.raises(SystemExit) as exc:
        main(["run", str(path)])
    err = capsys.readouterr().err
    escaped = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in key)  # '\r' -> backslash r
    assert printable_field(key) == escaped
    assert exc.value.code == 2 and err.endswith("\n") and err[:-1].isprintable(), repr(err)
    assert f"'teacher.{escaped}' parameter" in err
