"""Fuzzing every sub-command (issue 18, "must show"): random configs, sweep files, hostile files and
command lines; each invocation must keep the command contract (tests/engine/fuzzing.py): exit 0, 1
or 2, no traceback, one line and nothing written on 2.

Tiers. The default tier runs a few hundred examples with derandomised (fixed) seeds, tiny sizes and
the theory block off, in-process and without a Dask cluster (cells run inline). ``bin/test --fuzz``
runs the ``fuzz``-marked tests: thousands of examples, the theory block on, random seeds (set
GIANTSTEP_FUZZ_SEED to replay one; the seed is printed on failure by hypothesis).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, seed, settings
from hypothesis import strategies as st

from giantstep.engine import store as store_mod
from giantstep.errors import ConfigError, printable_field
from giantstep.experiments.kinds import parse_config
from giantstep.experiments.memory import check_memory

from . import fuzzing as fz
from .conftest import TINY_BASE

pytestmark = pytest.mark.timeout(900)

_COMMON = dict(deadline=None, database=None, print_blob=True,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                      HealthCheck.data_too_large, HealthCheck.filter_too_much])
FUZZ_EXAMPLES = int(os.environ.get("GIANTSTEP_FUZZ_EXAMPLES", "2000"))
FUZZ_SEED = int(os.environ.get("GIANTSTEP_FUZZ_SEED", "0")) or None


def default(n: int):
    """Settings of the default tier: ``n`` examples, fixed seeds."""
    return settings(max_examples=n, derandomize=True, **_COMMON)


def fuzz(share: float = 1.0):
    """Settings of the fuzz tier: a share of GIANTSTEP_FUZZ_EXAMPLES, random (or GIANTSTEP_FUZZ_SEED) seeds."""
    def wrap(fn):
        fn = settings(max_examples=max(1, int(FUZZ_EXAMPLES * share)), **_COMMON)(fn)
        return seed(FUZZ_SEED)(fn) if FUZZ_SEED is not None else fn
    return wrap


def _validation_error(mapping) -> str | None:
    """The ConfigError field validation reports for ``mapping`` (None if it validates)."""
    try:
        check_memory(parse_config(mapping))
    except ConfigError as exc:
        return exc.field
    return None


def _check_run(mapping, tmp: Path) -> None:
    path = tmp / "run.yaml"
    path.write_text(yaml.safe_dump(mapping))
    reloaded = yaml.safe_load(path.read_text())
    out = tmp / "out"
    before = fz.files(tmp)
    code, stdout, stderr = fz.invoke(["run", path, "--json", "--out", out])
    event(f"exit {code}")
    fz.check_contract(code, stdout, stderr)
    refused = _validation_error(reloaded)
    assert (code == 2) == (refused is not None), (code, refused, stderr)  # validation decides, never the run
    if code == 2:
        assert f"'{printable_field(refused)}'" in stderr  # the field validation names, exactly (escaped)
        assert fz.files(tmp) == before
    elif code == 0:
        record = json.loads(stdout)
        assert stdout.count("\n") == 1 and record["config"]["kind"] == reloaded.get("kind", "steps")
        assert json.loads((out / "result.json").read_text()) == record
    else:
        assert not out.exists()


@default(160)
@given(fz.run_config(theory=False))
def test_run_random_configs(mapping):
    with tempfile.TemporaryDirectory() as tmp:
        _check_run(mapping, Path(tmp))


@pytest.mark.fuzz
@fuzz(1.0)
@given(fz.run_config(theory=True))
def test_run_random_configs_fuzz(mapping):
    with tempfile.TemporaryDirectory() as tmp:
        _check_run(mapping, Path(tmp))


def _check_hostile_file(data: bytes, suffix: str, command: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / f"input{suffix}"
        path.write_bytes(data)
        before = fz.files(tmp)
        argv = ["run", path] if command == "run" else ["sweep", path, "--store", tmp / "s.db", "--quiet"]
        code, stdout, stderr = fz.invoke(argv)
        fz.check_contract(code, stdout, stderr)
        if code == 2:
            assert fz.files(tmp) == before


@default(60)
@given(fz.hostile_document(), st.sampled_from([".yaml", ".toml", ".yml"]), st.sampled_from(["run", "sweep"]))
def test_hostile_files(inline_sweeps, data, suffix, command):
    _check_hostile_file(data, suffix, command)


@pytest.mark.fuzz
@fuzz(0.25)
@given(fz.hostile_document(), st.sampled_from([".yaml", ".toml", ".yml"]), st.sampled_from(["run", "sweep"]))
def test_hostile_files_fuzz(inline_sweeps, data, suffix, command):
    _check_hostile_file(data, suffix, command)


def sweep_file() -> st.SearchStrategy:
    base = fz.either(st.just(dict(TINY_BASE)) | fz.steps_config(theory=False))
    paths = st.sampled_from(["width", "n", "steps.0.eta0", "steps.0.alpha", "teacher.link", "teacher", "readout.ridge",
                             "steps.3.alpha", "seed", "kind", "spectra.top", "", "a..b", "steps.x"])
    values = fz.either(st.lists(st.one_of(st.integers(1, 64), st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0, "he2"])),
                                min_size=1, max_size=3))
    axes = fz.either(st.dictionaries(paths, values, max_size=2))
    return fz.some_of({"name": fz.either(st.sampled_from(["s", "a.b", "x-1"])), "seed": fz.either(st.integers(0, 9)),
                       "base": base, "grid": axes, "zip": axes,
                       "seeds": fz.either(st.one_of(st.integers(1, 2), st.lists(st.integers(0, 3), max_size=2)))},
                      required=("base",))


def _check_sweep(mapping, store_kind: str, tmp: Path, stores: dict) -> None:
    path = tmp / "sweep.yaml"
    path.write_text(yaml.safe_dump(mapping))
    store = {"new": tmp / "new.db", "memory": ":memory:", "dir": tmp, "foreign": stores["foreign"],
             "existing": stores["existing"]}[store_kind]
    before, before_stores = fz.files(tmp), {k: fz.files(Path(v).parent) for k, v in stores.items()}
    code, stdout, stderr = fz.invoke(["sweep", path, "--store", store, "--quiet"])
    fz.check_contract(code, stdout, stderr, failed_prefixes=())
    assert code in (0, 2), stderr
    if code == 2:
        assert fz.files(tmp) == before
        assert {k: fz.files(Path(v).parent) for k, v in stores.items()} == before_stores
    else:
        assert store_kind in ("new", "existing") and "done" in stdout


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """A foreign SQLite database and an existing store (module-wide; sweeps into the existing one
    run under fresh names, so the examples do not depend on each other's order)."""
    import sqlite3

    root = tmp_path_factory.mktemp("stores")
    (root / "f").mkdir()
    foreign = root / "f" / "foreign.sqlite"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    (root / "e").mkdir()
    existing = root / "e" / "existing.db"
    store_mod.connect(existing).close()
    return {"foreign": foreign, "existing": existing}


@default(60)
@given(sweep_file(), st.sampled_from(["new", "new", "new", "memory", "dir", "foreign"]))
def test_sweep_random_files(inline_sweeps, stores, mapping, store_kind):
    with tempfile.TemporaryDirectory() as tmp:
        _check_sweep(mapping, store_kind, Path(tmp), stores)


@pytest.mark.fuzz
@fuzz(0.5)
@given(sweep_file(), st.sampled_from(["new", "new", "memory", "dir", "foreign"]))
def test_sweep_random_files_fuzz(inline_sweeps, stores, mapping, store_kind):
    with tempfile.TemporaryDirectory() as tmp:
        _check_sweep(mapping, store_kind, Path(tmp), stores)


TEXT = st.one_of(st.text(max_size=30), st.sampled_from(["status == 'done'", "width > 32", "w1.s1 != null", "x = = 1",
                                                       "@st", "__import__('os')", "(" * 80, "row_id,status", "nope"]))


@st.composite
def results_argv(draw):
    argv = ["results", draw(st.sampled_from(["STORE", "STORE", "missing.db", "FOREIGN", "", ":memory:", "."]))]
    for option, values in (("--where", TEXT), ("--columns", TEXT), ("--sweep", st.sampled_from(["r", "nope", ""])),
                           ("--format", st.sampled_from(["table", "csv", "json", "parquet", "xml", ""])),
                           ("--out", st.sampled_from(["out.csv", "STORE", "sub/out.csv", ".", "FOREIGN", "EXISTING"]))):
        if draw(st.booleans()):
            argv += [option, draw(values)]
    for flag in ("--force", "--no-verify", "--bogus"):
        if draw(st.integers(0, 3)) == 0:
            argv.append(flag)
    return argv


@pytest.fixture(scope="module")
def results_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    db = root / "r.db"
    payloads = {"name": "r", "base": TINY_BASE, "grid": {"steps.0.eta0": [0.5, 1e300]}}
    from giantstep.engine import execution

    spec = execution.load_sweep(payloads)
    con = store_mod.connect(db)
    for cell in spec.cells:
        execution.write_result(con, db, spec, cell, execution.execute_cell(cell.config))
    con.close()
    return db


def _check_results(argv, db: Path) -> None:
    import sqlite3

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "EXISTING").write_text("keep")
        con = sqlite3.connect(tmp / "foreign.sqlite")
        con.execute("CREATE TABLE t (x)")
        con.commit()
        con.close()
        subst = {"STORE": db, "FOREIGN": tmp / "foreign.sqlite", "EXISTING": tmp / "EXISTING"}
        argv = [str(subst.get(a, a)) if a in subst else (str(tmp / a) if a in ("out.csv", "sub/out.csv") else a)
                for a in argv]
        before, store_before = fz.files(tmp), fz.files(db.parent)
        code, stdout, stderr = fz.invoke(argv)
        fz.check_contract(code, stdout, stderr, failed_prefixes=())
        assert code in (0, 2), stderr
        assert fz.files(db.parent) == store_before  # the store and its neighbours are never written
        if code == 2:
            assert fz.files(tmp) == before


@default(80)
@given(results_argv())
def test_results_random_arguments(results_store, argv):
    _check_results(argv, results_store)


@pytest.mark.fuzz
@fuzz(0.5)
@given(results_argv())
def test_results_random_arguments_fuzz(results_store, argv):
    _check_results(argv, results_store)


@st.composite
def claims_argv(draw):
    argv = [draw(st.sampled_from(["reproduce", "plot"]))]
    argv += draw(st.lists(st.sampled_from(["C1", "C4", "C8", "C9", "c8", "", "all", "C8.x"]), max_size=2))
    for option, values in (("--out", st.sampled_from(["OUT", "FILE", "FOREIGN", "", "sub/deep"])),
                           ("--workers", st.sampled_from(["0", "1", "-3", "x", "99999"])),
                           ("--scheduler", st.sampled_from(["tcp://127.0.0.1:1", "localhost:1", "", "tls://"]))):
        if draw(st.booleans()):
            argv += [option, draw(values)]
    for flag in ("--quick", "--full", "--force", "--quiet", "--nope"):
        if draw(st.integers(0, 3)) == 0:
            argv.append(flag)
    return argv


@pytest.fixture
def no_claim_work(monkeypatch):
    """reproduce/plot validate and check everything, then stop before any cluster or simulation."""
    from giantstep.claims import runner

    @contextlib.contextmanager
    def cluster(workers, scheduler):
        yield None, None

    def one_claim(claim, mode, out, store, summary, *args):
        summary["claims"][claim.id] = {"verdict": "INCONCLUSIVE", "reason": "not run", "figures": [], "mode": mode}

    monkeypatch.setattr(runner, "shared_cluster", cluster)
    monkeypatch.setattr(runner, "_one_claim", one_claim)


def _check_claims(argv) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "FILE").write_text("x")
        (tmp / "FOREIGN").mkdir()
        (tmp / "FOREIGN" / "notes.txt").write_text("mine")
        subst = {"OUT": tmp / "out", "FILE": tmp / "FILE", "FOREIGN": tmp / "FOREIGN", "sub/deep": tmp / "sub" / "deep"}
        argv = [str(subst[a]) if a in subst else a for a in argv]
        if "--out" not in argv:
            argv += ["--out", str(tmp / "default-out")]
        before = fz.files(tmp)
        with contextlib.chdir(tmp):  # '--out ""' is the working directory: keep it inside tmp
            code, stdout, stderr = fz.invoke(argv)
        fz.check_contract(code, stdout, stderr, failed_prefixes=())
        assert code in (0, 2), stderr
        if code == 2:
            assert fz.files(tmp) == before


@default(60)
@given(claims_argv())
def test_reproduce_and_plot_random_arguments(no_claim_work, argv):
    _check_claims(argv)


@pytest.mark.fuzz
@fuzz(0.25)
@given(claims_argv())
def test_reproduce_and_plot_random_arguments_fuzz(no_claim_work, argv):
    _check_claims(argv)


def _theory_commands() -> dict:
    import typer

    from giantstep import cli

    cli._attach(["theory"])
    return typer.main.get_command(cli.app).commands["theory"].commands


NUMBERS = st.sampled_from(["0.5", "1", "2", "0.25", "3", "16"])
ODD = st.sampled_from(["0", "-1", "1e308", "-1e308", "1e-320", "nan", "inf", "x", "", "relu", "he1", "0*relu", "64",
                       "1e999", "--json"])


@st.composite
def theory_argv(draw):
    """A theory command with its required options and a random subset of the others."""
    commands = _theory_commands()
    name = draw(st.sampled_from(sorted(commands)))
    argv = ["theory", name]
    for param in commands[name].params:
        if not (param.required or draw(st.booleans())):
            continue
        if getattr(param, "is_flag", False):
            argv.append(param.opts[0])
            continue
        value = draw(st.integers(0, 3).flatmap(lambda i: ODD if i == 0 else NUMBERS))
        argv += [value] if param.param_type_name == "argument" else [param.opts[0], value]
    if draw(st.integers(0, 9)) == 0:
        argv.append(draw(st.sampled_from(["--bogus", "extra", "--json=1"])))
    return argv


def _check_theory(argv) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        before = fz.files(Path(tmp))
        with contextlib.chdir(tmp):
            code, stdout, stderr = fz.invoke(argv)
        # theory commands report a solver that gives up as "error: <reason>" with status 1
        fz.check_contract(code, stdout, stderr, failed_prefixes=("run failed: ", "error: "))
        if code == 2:
            assert fz.files(Path(tmp)) == before


@default(60)
@given(theory_argv())
def test_theory_random_arguments(argv):
    _check_theory(argv)


@pytest.mark.fuzz
@fuzz(0.5)
@given(theory_argv())
def test_theory_random_arguments_fuzz(argv):
    _check_theory(argv)
