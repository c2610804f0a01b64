"""Claim C7: sweeps, predictions, the delta_NN estimator, computed verdicts (and planted failures), figures."""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest

from giantstep.claims import c7
from giantstep.claims.base import ClaimContext


@pytest.fixture(scope="module")
def pred():
    return c7.predict("quick")


def test_claim_object_and_sweeps_validate():
    from giantstep.engine.sweep import load_sweep

    assert c7.CLAIM.id == "C7"
    for mode in ("quick", "full"):
        sw = c7.sweeps(mode)
        assert set(sw) == {"ladder_k1", "ladder_k2", "spectra_k1", "spectra_k2"}
        for name, mapping in sw.items():
            spec = load_sweep(mapping, name=f"c7_{name}")
            assert len(spec.cells) > 0
    quick_runs = sum(len(v["grid"]["delta"]) * len(v["grid"].get("d", [0])) * v["seeds"] for v in c7.sweeps("quick").values())
    assert quick_runs <= 160  # ~0.1-0.4 s per run: about a minute on 2 cores


def test_predictions(pred):
    # delta_alg: tanh is injective on [0, inf), so y = tanh||z|| has the phase-retrieval value k/2
    assert pred["k1"]["delta_alg"] == pytest.approx(0.5, abs=1e-6)
    assert pred["k2"]["delta_alg"] == pytest.approx(1.0, abs=3e-3)
    # spectral threshold of the Hessian's preprocessing T = y - E y (direct root, cross-checked by bisection
    # in tests/theory/test_spectral_threshold.py)
    assert pred["k1"]["delta_T"] == pytest.approx(0.64985, abs=1e-4)
    assert pred["k2"]["delta_T"] == pytest.approx(1.46969, abs=1e-4)
    for key in ("k1", "k2"):
        assert pred[key]["delta_T"] >= pred[key]["delta_alg"]
        assert math.isfinite(pred[key]["estimator_bias"])


def test_estimator_exact_on_a_planted_line_and_nan_when_underdetermined():
    x = np.array([0.5, 1.0, 1.25, 2.0, 4.0])
    y = 0.6 * np.clip(1 / 0.8 - 1 / x, 0, None)  # cos^2 linear in 1/delta, zero at 0.8
    assert c7.estimate_threshold(x, y) == pytest.approx(0.8, rel=1e-12)
    assert math.isnan(c7.estimate_threshold(x[:2], y[:2]))


def _synthetic_frames(pred, mode="quick", noise=0.01):
    """Frames whose outlier cos^2 and eigenvalues follow the asymptotic prediction (+ small scatter)."""
    rng = np.random.default_rng(0)
    s = c7.SIZES[mode]
    frames = {}
    row = 0
    for key, t in c7.TARGETS.items():
        rows = []
        for d in s["d"]:
            for dl in t["ladder"]:
                p = pred[key]["points"][repr(float(dl))]
                for seed in range(s["seeds"]):
                    row += 1
                    rows.append({"row_id": row, "status": "done", "delta": dl, "d": d, "seed": seed,
                                 "outlier_overlap_theta": p["cos2"] + noise * rng.standard_normal(),
                                 "hess_outlier_mean": p["hess_min"] + noise * rng.standard_normal(),
                                 "hess_gap": p["gap"], "final_best_overlap": 0.5})
        frames[f"ladder_{key}"] = pd.DataFrame(rows)
        frames[f"spectra_{key}"] = pd.DataFrame(
            [{"row_id": 10_000 + i, "status": "done", "delta": dl, "seed": 0} for i, dl in enumerate(c7.SPECTRA_DELTAS[key])]
        )
    return frames


def _arrays(sweep, row_id):
    rng = np.random.default_rng(int(row_id))
    return {"hess_eigs": np.sort(rng.standard_normal(50) * 0.3)}


def test_verdict_passes_on_planted_truth_and_flips_on_planted_errors(pred, tmp_path):
    ctx = ClaimContext("quick", tmp_path, _synthetic_frames(pred), array_loader=_arrays)
    out = c7.analyse(ctx, pred)
    assert out.verdict == "PASS", out.reason
    by = {c.quantity: c for c in out.comparisons}
    row = by["k=1: delta_NN (Hessian negative-outlier threshold, d=200)"]
    assert row.passed and row.measured == pytest.approx(pred["k1"]["delta_T"], abs=0.05)

    wrong = copy.deepcopy(pred)
    wrong["k1"]["delta_T"] = 2.5  # a wrong threshold prediction
    assert c7.analyse(ctx, wrong).verdict == "FAIL"

    wrong = copy.deepcopy(pred)
    wrong["k2"]["delta_alg"] = 10.0  # delta_NN >= delta_alg violated
    bad = c7.analyse(ctx, wrong)
    assert bad.verdict == "FAIL" and any(c.passed is False and "delta_alg" in c.quantity for c in bad.comparisons)

    wrong = copy.deepcopy(pred)
    top = repr(float(max(c7.TARGETS["k2"]["ladder"])))
    wrong["k2"]["points"][top]["hess_min"] *= 1.5  # wrong outlier location
    assert c7.analyse(ctx, wrong).verdict == "FAIL"


def test_real_small_runs(pred, tmp_path, monkeypatch):
    # a reduced real sweep (d = 40, 80; 3 deltas; 3 seeds; 80 GD steps) through the phase kind and analyse
    from giantstep.experiments.phase import PhaseConfig, run
    from giantstep.experiments.validation import validate

    monkeypatch.setitem(c7.SIZES, "quick", {"d": [40, 80], "seeds": 3, "steps": 80, "spectra_d": 40})
    targets = copy.deepcopy(c7.TARGETS)
    targets["k1"]["ladder"] = [0.6, 1.3, 3.0]
    targets["k2"]["ladder"] = [1.2, 3.0, 5.0]
    monkeypatch.setattr(c7, "TARGETS", targets)
    frames, arrays, row = {}, {}, 0
    for name, sw in c7.sweeps("quick").items():
        rows = []
        d_values = sw["grid"].get("d", [sw["base"]["d"]])
        for d in d_values:
            for dl in sw["grid"]["delta"]:
                for seed in range(sw["seeds"]):
                    cfg = copy.deepcopy(sw["base"])
                    cfg.update(d=d, delta=dl, seed=seed)
                    res = run(validate(PhaseConfig, cfg))
                    row += 1
                    rows.append({"row_id": row, "status": "done", "delta": dl, "d": d, "seed": seed, **res.metrics})
                    arrays[row] = res.arrays
        frames[name] = pd.DataFrame(rows)
    ctx = ClaimContext("quick", tmp_path, frames, array_loader=lambda sweep, r: arrays[r])
    out = c7.analyse(ctx, pred)
    assert out.verdict in ("PASS", "FAIL", "INCONCLUSIVE")
    by = {c.quantity: c for c in out.comparisons}
    loc = by["k=1: mean of the 1 smallest Hessian eigenvalues at delta=3, d -> inf"]
    assert loc.measured is not None and loc.measured < 0
    wrong = copy.deepcopy(pred)
    wrong["k1"]["points"][repr(3.0)]["hess_min"] = 5.0  # a positive "outlier": must fail
    assert c7.analyse(ctx, wrong).verdict == "FAIL"


def test_figures_written(pred, tmp_path):
    ctx = ClaimContext("quick", tmp_path, _synthetic_frames(pred), array_loader=_arrays)
    out = c7.analyse(ctx, pred)
    paths = c7.plot(ctx, pred, out)
    names = sorted(p.name for p in paths)
    assert names == sorted(f"{stem}.{ext}" for stem in ("c7_phase_diagram", "c7_hessian_spectra", "c7_outlier_gap")
                           for ext in ("png", "pdf"))
    assert all(p.exists() and p.stat().st_size > 1000 for p in paths)
