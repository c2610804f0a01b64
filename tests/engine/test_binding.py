"""A sweep name is bound to its definition in a store (issue 18 item 11); zip axes are pairs that
may repeat values (issue 17 item 6a)."""

from __future__ import annotations

import copy

import pytest
import yaml

from giantstep.cli import main
from giantstep.engine.binding import conflict
from giantstep.engine.execution import run_sweep
from giantstep.engine.results import load_results
from giantstep.engine.sweep import frame_hash, load_sweep
from giantstep.errors import ConfigError

from .conftest import TINY_BASE, snapshot

SWEEP = {"name": "b", "seed": 1, "base": dict(TINY_BASE, steps=[{"eta0": 1.0, "alpha": 0.0}]),
         "grid": {"steps.0.eta0": [1.0, 2.0]}, "seeds": 2}


def _with(**changes):
    spec = copy.deepcopy(SWEEP)
    for path, value in changes.items():
        node = spec
        parts = path.split("__")
        for p in parts[:-1]:
            node = node[p]
        node[parts[-1]] = value
    return spec


def test_numbers_are_canonical_so_1_and_1_point_0_are_the_same_cells(tmp_path, inline_sweeps):
    db = tmp_path / "s.db"
    floats = load_sweep(SWEEP)
    ints = load_sweep(_with(grid={"steps.0.eta0": [1, 2]}))
    assert [c.key for c in ints.cells] == [c.key for c in floats.cells]
    assert [c.config_hash for c in ints.cells] == [c.config_hash for c in floats.cells]
    widths = load_sweep(_with(grid={"width": [32.0, 40.0]}))
    assert [c.key for c in widths.cells][:1] == ['{"width":32}']
    run_sweep(SWEEP, db, progress=False)
    rep = run_sweep(_with(grid={"steps.0.eta0": [1, 2]}), db, progress=False)
    assert (rep.done, rep.skipped) == (0, 4)
    assert len(load_results(db)) == 4


def test_adding_values_or_replicates_continues_the_sweep(tmp_path, inline_sweeps):
    db = tmp_path / "s.db"
    run_sweep(SWEEP, db, progress=False)
    rep = run_sweep(_with(grid={"steps.0.eta0": [1.0, 2.0, 3.0]}, seeds=3), db, progress=False)
    assert (rep.done, rep.skipped) == (5, 4)
    assert load_results(db)["config_hash"].is_unique


@pytest.mark.parametrize("changes, where", [
    ({"base__teacher": {"link": "he2"}}, "base.teacher.link = 'he1' where this definition has 'he2'"),
    ({"base__n": 80}, "base.n = 64 where this definition has 80"),
    ({"seed": 2}, "seed = 1 where this definition has 2"),
    ({"grid": {"width": [32, 40]}}, "axes = ['steps.0.eta0'] where this definition has ['width']"),
    ({"base__steps": [{"eta0": 1.0, "alpha": 0.25}]}, "base.steps.0.alpha = 0.0 where this definition has 0.25"),
])
def test_a_conflicting_definition_is_refused_naming_the_difference(tmp_path, inline_sweeps, capsys, changes, where):
    db = tmp_path / "s.db"
    run_sweep(SWEEP, db, progress=False)
    path = tmp_path / "b.yaml"
    path.write_text(yaml.safe_dump(_with(**changes)))
    before = snapshot(tmp_path, sqlite_aux=False)
    with pytest.raises(SystemExit) as exc:
        main(["sweep", str(path), "--store", str(db)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'name'" in err[0] and where in err[0], err
    assert snapshot(tmp_path, sqlite_aux=False) == before
    with pytest.raises(ConfigError):
        run_sweep(_with(**changes), db, progress=False)
    rep = run_sweep(_with(**changes), db, name="b2", progress=False)  # another name is another experiment
    assert rep.failed == 0 and set(load_results(db).sweep) == {"b", "b2"}


def test_rows_written_without_a_recorded_binding_bind_on_first_use(tmp_path, inline_sweeps):
    from giantstep.engine import store as st

    db = tmp_path / "s.db"
    run_sweep(SWEEP, db, progress=False)
    con = st.connect(db)
    con.execute("DELETE FROM sweeps")  # as a schema-1 store: rows, no binding
    con.close()
    with pytest.raises(ConfigError) as e:
        run_sweep(_with(base__n=80), db, progress=False)
    assert "base.n = 64" in e.value.allowed
    assert run_sweep(SWEEP, db, progress=False).skipped == 4
    con = st.connect(db, readonly=True)
    assert con.execute("SELECT frame_hash FROM sweeps WHERE name = 'b'").fetchone()[0] == frame_hash(load_sweep(SWEEP).frame)
    con.close()


def test_conflict_message_for_whole_values():
    err = conflict("x", {"config": {"a": 1}, "axes": ["p"], "root_seed": 0},
                   {"config": {"a": 1}, "axes": ["p", "q"], "root_seed": 0})
    assert "axes = ['p'] where this definition has ['p', 'q']" in err.allowed


def test_zip_axes_are_pairs_and_may_repeat_values():
    spec = load_sweep({"base": dict(TINY_BASE), "zip": {"steps.0.eta0": [1.0, 1.0, 2.0],
                                                      "steps.0.alpha": [0.0, 0.5, 0.5]}})
    assert [dict(c.axes) for c in spec.cells] == [{"steps.0.eta0": 1.0, "steps.0.alpha": 0.0},
                                                  {"steps.0.eta0": 1.0, "steps.0.alpha": 0.5},
                                                  {"steps.0.eta0": 2.0, "steps.0.alpha": 0.5}]
    assert len({c.config_hash for c in spec.cells}) == 3
    with pytest.raises(ConfigError) as e:
        load_sweep({"base": dict(TINY_BASE), "zip": {"steps.0.eta0": [1.0, 1, 2.0], "steps.0.alpha": [0.5, 0.5, 0.0]}})
    assert e.value.field == "zip" and "pair 1 repeats pair 0" in e.value.allowed
    with pytest.raises(ConfigError) as e:
        load_sweep({"base": dict(TINY_BASE), "grid": {"width": [32, 32.0]}})
    assert e.value.field == "grid.width"
