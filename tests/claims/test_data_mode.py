"""A report states only the mode and sizes of the data it read (issue 18 item 6), claims' quick and
full sweeps live side by side in one store, and figures are published atomically.

A tiny claim (sizes differ between quick and full) runs in-process: cells execute inline (no
cluster), so the test exercises the runner, the store, plot's mode resolution and the report.
"""

from __future__ import annotations

import contextlib
import json

import pytest

from giantstep import plots
from giantstep.claims import registry, runner
from giantstep.claims.base import Claim, ClaimOutcome, compare, summarise, verdict_from
from giantstep.cli import main
from giantstep.engine import execution

SIZES = {"quick": 8, "full": 12}


def _sweeps(mode):
    d = SIZES[mode]
    return {"g": {"base": {"d": d, "width": d, "n": 2 * d, "theory": False, "steps": [{"eta0": 1.0}]},
                  "grid": {"width": [d, d + 4]}, "seeds": 2}}


def _analyse(ctx, pred):
    tab = summarise(ctx.ok("g"), "width", "w1.s1")
    rows = [compare(f"s1 at N={int(r.width)}", 2.0, r["mean"], r["stderr"], k=3, bias=5.0, note="wide") for _, r in
            tab.iterrows()]
    verdict, reason = verdict_from(rows)
    # the claim's own statement of sizes is the mode it was asked for (the data statement is the runner's)
    return ClaimOutcome(verdict, reason, tuple(rows), {"d": SIZES[ctx.mode], "claimed": "N up to 4096"}, 2)


def _plot(ctx, pred, outcome):
    fig, ax = plots.figure()
    tab = summarise(ctx.ok("g"), "width", "w1.s1")
    plots.sim_points(ax, tab["width"], tab["mean"], tab["stderr"])
    return plots.save(fig, ctx.outdir, "t9")


@pytest.fixture
def tiny_claim(monkeypatch):
    from giantstep.engine.progress import Progress

    registry.load_all()
    monkeypatch.setitem(registry.CLAIMS, "T9", Claim("T9", "tiny", "statement", "test", _sweeps, lambda m: {},
                                                     _analyse, _plot, "setting"))

    @contextlib.contextmanager
    def client(workers, scheduler, n_tasks, blas_threads, gpus=None):
        yield None, 1, 1

    def execute(_client, con, store_path, spec, todo, threads, bar: Progress, device=None):
        for cell in todo:
            status = execution.write_result(con, store_path, spec, cell, execution.execute_cell(cell.config, None, device))
            bar.advance(done=int(status == "done"), failed=int(status != "done"))
        return len(todo), 0

    @contextlib.contextmanager
    def cluster(workers, scheduler):
        yield None, None

    monkeypatch.setattr(execution, "dask_client", client)
    monkeypatch.setattr(execution, "_execute", execute)
    monkeypatch.setattr(runner, "shared_cluster", cluster)


def _exit(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in argv])
    return exc.value.code, capsys.readouterr()


def test_plot_states_the_mode_and_sizes_of_the_data_it_read(tmp_path, tiny_claim, capsys):
    out = tmp_path / "a"
    main(["reproduce", "T9", "--quick", "--out", str(out), "--quiet"])
    capsys.readouterr()
    code, captured = _exit(["plot", "T9", "--full", "--out", out], capsys)
    assert code == 2 and "'mode'" in captured.err and "(quick)" in captured.err  # no full data: refused
    main(["plot", "T9", "--out", str(out)])
    capsys.readouterr()
    entry = json.loads((out / "summary.json").read_text())["claims"]["T9"]
    assert entry["data"] == {"mode": "quick", "rows": 4, "done": 4, "expected": 4,
                             "sizes": {"d": [8], "width": [8, 12], "n": [16]}}
    html = (out / "report.html").read_text()
    assert "data of mode <b>quick</b>" in html and "full" not in html.split("<h2")[0]
    assert "mode quick; 4 of 4 rows (4 done); d = 8; width = 8, 12; n = 16" in html
    assert "N up to 4096" not in html  # a claim's own size statement is not the report's

    main(["reproduce", "T9", "--full", "--out", str(out), "--quiet"])  # full beside quick, not mixed
    capsys.readouterr()
    from giantstep.engine.results import sweep_names

    assert sweep_names(out / runner.STORE_NAME) == ["T9.full.g", "T9.quick.g"]
    entry = json.loads((out / "summary.json").read_text())["claims"]["T9"]
    assert entry["data"]["mode"] == "full" and entry["data"]["sizes"]["d"] == [12]
    main(["plot", "T9", "--quick", "--out", str(out)])
    capsys.readouterr()
    entry = json.loads((out / "summary.json").read_text())["claims"]["T9"]
    assert entry["data"]["mode"] == "quick" and entry["data"]["sizes"]["d"] == [8]
    assert entry["figures"] == ["figures/t9.png", "figures/t9.pdf"]
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["t9.pdf", "t9.png"]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging directory left


def test_report_without_data_entries_says_so(tmp_path):
    from giantstep.report import data_statement, render

    assert data_statement({}) == "data not recorded"
    html = render({"claims": {"C1": {"title": "t", "verdict": "PASS", "mode": "full"}}, "mode": "full"}, tmp_path)
    assert "data of mode <b>not recorded</b>" in html
