"""The runner end to end on a tiny claim, in a subprocess (real Dask cluster, real store), and
the reproduce/plot CLI's input errors."""

import json
import subprocess
import sys
import textwrap

import pytest

TINY = textwrap.dedent(
    '''
    import sys
    from pathlib import Path

    import numpy as np

    from giantstep import plots
    from giantstep.claims import registry
    from giantstep.claims.base import Claim, ClaimOutcome, compare, summarise, verdict_from
    from giantstep.claims.runner import reproduce

    PLANT = float(sys.argv[2])  # multiplies the prediction: 1 = honest, 3 = planted wrong value
    D = 40

    def sweeps(mode):
        return {"rf": {"base": {"kind": "rf", "d": D, "width": 120, "n": 80, "n_test": 2000,
                                "teacher": {"link": "he1", "noise": 0.1}, "ridge": 0.3},
                       "grid": {"width": [120, 200]}, "seeds": 3}}

    def predict(mode):
        from giantstep.theory.mei_montanari import rf_ridge_risk
        return {str(w): PLANT * rf_ridge_risk("relu", w / D, 2.0, 0.3 * D / w, F1=1.0, noise=0.1).risk for w in (120, 200)}

    def analyse(ctx, pred):
        tab = summarise(ctx.ok("rf"), "width", "test_risk")
        rows = [compare(f"risk at N={int(r.width)}", pred[str(int(r.width))], r["mean"], r["stderr"], k=3,
                        bias=10 * pred[str(int(r.width))] / D, note="3 stderr + 10R/d (tiny d)")
                for _, r in tab.iterrows()]
        verdict, reason = verdict_from(rows)
        return ClaimOutcome(verdict, reason, tuple(rows), {"d": D}, 3)

    def plot(ctx, pred, outcome):
        fig, ax = plots.figure()
        tab = summarise(ctx.ok("rf"), "width", "test_risk")
        plots.sim_points(ax, tab["width"], tab["mean"], tab["stderr"])
        return plots.save(fig, ctx.outdir, "tiny")

    registry._loaded = True  # only the tiny claim
    registry.register(Claim("T1", "tiny", "tiny statement", "test", sweeps, predict, analyse, plot, "tiny setting"))

    if __name__ == "__main__":
        out = Path(sys.argv[1])
        first = reproduce(["T1"], mode="quick", out=out, workers=1)
        second = reproduce(["T1"], mode="quick", out=out, workers=1)          # resume: nothing to run
        third = reproduce(["T1"], mode="quick", out=out, run_sweeps=False)     # re-plot from the store
        print(json.dumps({"first": first["claims"]["T1"]["sweep_reports"],
                          "second": second["claims"]["T1"]["sweep_reports"],
                          "third": third["claims"]["T1"]["verdict"]}))
    '''
)


def _run_tiny(tmp_path, plant):
    script = tmp_path / "tiny_claim.py"
    script.write_text("import json\n" + TINY)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(script), str(out), str(plant)], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.timeout(300)
def test_tiny_claim_end_to_end_and_planted_failure(tmp_path):
    out, info = _run_tiny(tmp_path, 1.0)
    assert info["first"]["rf"]["done"] == 6 and info["second"]["rf"]["skipped"] == 6 and info["second"]["rf"]["done"] == 0
    summary = json.loads((out / "summary.json").read_text())
    entry = summary["claims"]["T1"]
    assert entry["verdict"] == "PASS", entry["reason"]
    assert set(entry) >= {"verdict", "reason", "predicted", "measured", "comparisons", "sizes", "seeds", "figures"}
    assert entry["figures"] == ["figures/tiny.png", "figures/tiny.pdf"]
    assert (out / entry["figures"][0]).read_bytes()[:4] == b"\x89PNG"
    html = (out / "report.html").read_text()
    assert "T1: tiny" in html and "data:image/png;base64," in html and "PASS" in html

    planted = tmp_path / "planted"
    planted.mkdir()
    out2, _ = _run_tiny(planted, 3.0)
    entry = json.loads((out2 / "summary.json").read_text())["claims"]["T1"]
    assert entry["verdict"] == "FAIL" and "outside tolerance" in entry["reason"]


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "giantstep", *args], capture_output=True, text=True, timeout=120, cwd=cwd)


@pytest.mark.parametrize(
    "args,field",
    [
        (["reproduce", "C99", "--out", "x"], "claims"),
        (["reproduce", "C8", "--quick", "--full", "--out", "x"], "mode"),
        (["reproduce", "C8", "--workers", "0", "--out", "x"], "workers"),
        (["reproduce", "C8", "--scheduler", "localhost:1", "--out", "x"], "scheduler"),
        (["plot", "C8", "--out", "missing-dir"], "out"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(tmp_path, args, field):
    proc = _cli(*args, cwd=tmp_path)
    assert proc.returncode == 2
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and f"'{field}'" in lines[0], proc.stderr
    assert not (tmp_path / "x").exists()
