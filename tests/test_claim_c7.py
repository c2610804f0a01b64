"""Claim C7: sweeps, predictions, the whole-curve delta_NN estimator, computed verdicts (and planted failures), figures."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from giantstep.claims import c7
from giantstep.claims.base import ClaimContext


@pytest.fixture(scope="module")
def pred():
    return c7.CLAIM.predict("quick")


def test_claim_object_and_sweeps_validate():
    from giantstep.engine.sweep import load_sweep

    assert c7.CLAIM.id == "C7"
    names = {f"{kind}_{key}" for kind in ("ladder", "curve", "spectra") for key in ("k1", "k2", "stair")}
    for mode in ("quick", "full"):
        sw = c7.sweeps(mode)
        assert set(sw) == names
        for name, mapping in sw.items():
            spec = load_sweep(mapping, name=f"c7_{name}")
            assert len(spec.cells) > 0
            if name.endswith("stair"):  # one step from w = 0: the Hessian after it, whatever the phase-end rule
                assert mapping["base"]["gd"]["steps"] == 1 and mapping["base"]["init_scale"] == 0.0
            else:
                assert mapping["base"]["gd"]["rho"] == (c7.RHO if name.startswith("curve") else c7.RHO_LADDER)
        for key in c7.TARGETS:  # the fit needs two sizes (1/d extrapolation) and seeds to bootstrap
            assert len(sw[f"curve_{key}"]["grid"]["d"]) == 2 and sw[f"curve_{key}"]["seeds"] >= 8
    quick = c7.sweeps("quick")
    runs = sum(len(v["grid"]["delta"]) * len(v["grid"].get("d", [0])) * v["seeds"] for v in quick.values())
    # cost of one run ~ n d^2 flop (forming the Hessian); ~1.0e12 in all (the staircase's curve 5.9e11 of it),
    # measured 75 s for all 593 runs on 2 cores
    cost = sum(dl * d ** 3 * v["seeds"] for v in quick.values() for dl in v["grid"]["delta"] for d in v["grid"].get("d", [v["base"]["d"]]))
    assert runs <= 600 and cost <= 1.1e12


def test_predictions(pred):
    # delta_alg: tanh is injective on [0, inf), so y = tanh||z|| has the phase-retrieval value k/2
    assert pred["k1"]["delta_alg"] == pytest.approx(0.5, abs=1e-6)
    assert pred["k2"]["delta_alg"] == pytest.approx(1.0, abs=3e-3)
    # spectral threshold of the Hessian's preprocessing T = y - E y (direct root, cross-checked by bisection
    # in tests/theory/test_spectral_threshold.py)
    assert pred["k1"]["delta_T"] == pytest.approx(0.64985, abs=1e-4)
    assert pred["k2"]["delta_T"] == pytest.approx(1.46969, abs=1e-4)
    # the staircase (theory.one_step_hessian; tests/theory/test_one_step_hessian.py): the next direction's
    # threshold with the finite-delta law of the step, and the population-fit law's, far below it
    assert pred["stair"]["delta_T"] == pytest.approx(10.306, abs=0.02)
    assert pred["stair"]["delta_T_population"] == pytest.approx(2.3879, abs=1e-3)
    for key in ("k1", "k2", "stair"):
        p = pred[key]
        assert p["delta_T"] >= p.get("delta_alg", 0.0)
        x, c = np.array(p["shape"]["x"]), np.array(p["shape"]["cos2"])
        assert x[0] == 1.0 and c[0] == 0.0 and np.all(np.diff(c) > 0)  # C(x) = 0 at the threshold, then rises
        # the shape at x = delta / delta_T is the cos^2 predicted at delta (same theory, independent call)
        for dl in c7.TARGETS[key]["curve"]:
            shape_value = np.interp(np.log(dl / p["delta_T"]), np.log(x), c)
            assert shape_value == pytest.approx(p["points"][repr(float(dl))]["cos2"], abs=2e-4)


def _shape_value(shape, x):
    return np.interp(np.log(x), np.log(shape["x"]), shape["cos2"], left=0.0)


def test_fit_recovers_a_planted_scale(pred):
    shape = pred["k1"]["shape"]
    deltas = np.array(c7.TARGETS["k1"]["curve"])
    for planted in (0.5, 0.65, 0.8):
        means = _shape_value(shape, deltas / planted)
        assert float(c7.fit_delta_nn(deltas, means, shape)) == pytest.approx(planted, rel=5e-4)
    # vectorised over replicates: each row fitted on its own
    rows = np.stack([_shape_value(shape, deltas / p) for p in (0.55, 0.7)])
    assert c7.fit_delta_nn(deltas, rows, shape) == pytest.approx([0.55, 0.7], rel=5e-4)


def test_bootstrap_error_matches_the_linearised_error(pred):
    """Independent computation: for cell means with noise sigma/sqrt(s), least squares in u = log delta_NN
    has se(u) = (sigma/sqrt(s)) / sqrt(sum_j g_j^2), g_j = dC/du at the cells; the bootstrap over seeds agrees
    (within 15%: the bootstrap se of 400 replicates from 40 seeds per cell is itself uncertain by ~10%)."""
    shape, planted, sigma, s = pred["k1"]["shape"], 0.65, 0.03, 40
    deltas = np.array(c7.TARGETS["k1"]["curve"])
    rng = np.random.default_rng(3)
    rows = [{"delta": dl, "outlier_overlap_theta": _shape_value(shape, dl / planted) + sigma * rng.standard_normal()}
            for dl in deltas for _ in range(s)]
    est, reps = c7.fit_with_bootstrap(pd.DataFrame(rows), shape, seed=1)
    h = 1e-4
    g = (_shape_value(shape, deltas / (planted * math.exp(h))) - _shape_value(shape, deltas / (planted * math.exp(-h)))) / (2 * h)
    se_u = sigma / math.sqrt(s) / math.sqrt(np.sum(g ** 2))
    assert np.std(np.log(reps)) == pytest.approx(se_u, rel=0.15)
    assert abs(math.log(est / planted)) < 4 * se_u


def test_fit_chi2_is_exact_on_a_planted_offset(pred):
    """Two seeds per cell at C(x_j) + off +- e: mean C + off, se = e, so chi^2/dof = J (off/e)^2 / (J - 1)."""
    shape, dnn = pred["k1"]["shape"], 0.65
    deltas = c7.TARGETS["k1"]["curve"]
    for off, e in ((0.0, 0.01), (0.02, 0.01)):
        rows = [{"delta": dl, "seed": i, "outlier_overlap_theta": _shape_value(shape, dl / dnn) + off + sgn * e}
                for dl in deltas for i, sgn in enumerate((1.0, -1.0))]
        expected = len(deltas) * (off / e) ** 2 / (len(deltas) - 1)
        assert c7.fit_chi2(pd.DataFrame(rows), shape, dnn) == pytest.approx(expected, abs=1e-9)


def _synthetic_frames(pred, mode="quick", noise=0.01, bias=0.0, delta_nn=None):
    """Frames following the asymptotic prediction, with ``bias`` * (400 / d) added to cos^2 (an O(1/d)
    finite-size bias), the curve shifted to threshold ``delta_nn`` when given, and small scatter."""
    rng = np.random.default_rng(0)
    s = c7.SIZES[mode]
    frames, row = {}, 0
    for key, t in c7.TARGETS.items():
        p = pred[key]
        scale = 1.0 if delta_nn is None else delta_nn[key] / p["delta_T"]
        for kind, sizes, deltas, seeds in (("ladder", s["d"], t["ladder"], s["seeds"]), ("curve", s["curve_d"], t["curve"], s["curve_seeds"])):
            rows = []
            for d in sizes:
                for dl in deltas:
                    pt = p["points"][repr(float(dl))]
                    c2 = _shape_value(p["shape"], dl / (p["delta_T"] * scale)) + bias * 400 / d
                    for seed in range(seeds):
                        row += 1
                        c2_seed, value = c2 + noise * rng.standard_normal(), pt["hess_min"] * (1 + noise * rng.standard_normal())
                        rows.append({"row_id": row, "status": "done", "delta": dl, "d": d, "seed": seed,
                                     "outlier_overlap_theta": c2_seed, "hess_outlier_mean": value,
                                     "next_overlap": c2_seed, "next_value": value,
                                     "hess_gap": pt["gap"], "final_best_overlap": 0.5})
            frames[f"{kind}_{key}"] = pd.DataFrame(rows)
        frames[f"spectra_{key}"] = pd.DataFrame(
            [{"row_id": 10_000 + i, "status": "done", "delta": dl, "seed": 0} for i, dl in enumerate(c7.SPECTRA_DELTAS[key])]
        )
    return frames


def _arrays(sweep, row_id):
    rng = np.random.default_rng(int(row_id))
    return {"hess_eigs": np.sort(rng.standard_normal(50) * 0.3)}


def _row(outcome, start):
    return next(c for c in outcome.comparisons if c.quantity.startswith(start))


def test_extrapolation_removes_a_planted_one_over_d_bias(pred, tmp_path):
    ctx = ClaimContext("quick", tmp_path, _synthetic_frames(pred, noise=0.002, bias=0.02), array_loader=_arrays)
    m = c7.delta_nn(ctx, "k1", pred["k1"]["shape"])
    at = {d: v["delta_nn"] for d, v in m["per_d"].items()}
    assert at["400"] < at["800"] < pred["k1"]["delta_T"] - 0.01  # the bias lifts cos^2, so the fit moves left
    # the bias is 1/d in cos^2 and the fit is locally linear: the extrapolation removes it to second order
    assert m["delta_nn"] == pytest.approx(pred["k1"]["delta_T"], abs=2e-3)


def test_verdict_passes_on_planted_truth_and_flips_on_planted_errors(pred, tmp_path):
    ctx = ClaimContext("quick", tmp_path, _synthetic_frames(pred), array_loader=_arrays)
    out = c7.analyse(ctx, pred)
    assert out.verdict == "PASS", out.reason
    row = _row(out, "k=1: delta_NN (whole-curve fit")
    assert row.passed and row.measured == pytest.approx(pred["k1"]["delta_T"], abs=0.01)

    row = _row(out, "staircase (next direction): delta_NN")
    assert row.passed and row.measured == pytest.approx(pred["stair"]["delta_T"], rel=0.02)
    stair_pop = pred["stair"]["delta_T_population"]
    for key, wrong_value in (("k1", 0.5), ("k2", 1.0), ("k1", 0.75), ("stair", stair_pop), ("stair", 1.15 * pred["stair"]["delta_T"])):
        # delta_T at delta_alg, or 15% high; the staircase's at the population-fit law's, or 15% high
        wrong = copy.deepcopy(pred)
        wrong[key]["delta_T"] = wrong_value
        assert c7.analyse(ctx, wrong).verdict == "FAIL", (key, wrong_value)

    wrong = copy.deepcopy(pred)
    wrong["k2"]["delta_alg"] = 10.0  # delta_NN >= delta_alg violated
    bad = c7.analyse(ctx, wrong)
    assert bad.verdict == "FAIL" and any(c.passed is False and "delta_alg" in c.quantity for c in bad.comparisons)

    wrong = copy.deepcopy(pred)
    for dl in c7.TARGETS["k2"]["curve"]:
        wrong["k2"]["points"][repr(float(dl))]["hess_min"] *= 1.1  # wrong outlier location
    assert c7.analyse(ctx, wrong).verdict == "FAIL"
    wrong = copy.deepcopy(pred)
    for dl in c7.TARGETS["stair"]["curve"]:
        wrong["stair"]["points"][repr(float(dl))]["hess_min"] *= 1.1  # the staircase's outlier 10% off
    assert c7.analyse(ctx, wrong).verdict == "FAIL"

    # data whose threshold is delta_alg (a network learning at the algorithmic threshold) fail against delta_T
    shifted = _synthetic_frames(pred, delta_nn={"k1": 0.5, "k2": pred["k2"]["delta_T"], "stair": pred["stair"]["delta_T"]})
    out = c7.analyse(ClaimContext("quick", tmp_path, shifted, array_loader=_arrays), pred)
    assert out.verdict == "FAIL" and _row(out, "k=1: delta_NN (whole").measured == pytest.approx(0.5, abs=0.01)


DATA = Path(__file__).resolve().parent / "claims" / "data"


def test_committed_quick_run_tells_delta_T_from_delta_alg(pred, tmp_path):
    """On the committed quick run (tests/claims/data): PASS, and delta_T planted at delta_alg FAILS."""
    table = pd.read_parquet(DATA / "quick_C7.parquet")
    frames = {name: table[table["sweep"] == f"C7.{name}"].dropna(axis=1, how="all").reset_index(drop=True)
              for name in c7.sweeps("quick")}
    ctx = ClaimContext("quick", tmp_path, frames)
    assert c7.analyse(ctx, pred).verdict == "PASS"
    stated = json.loads((DATA / "quick_power.json").read_text())["C7"]["detectable_relative_error"]
    assert stated is not None and stated <= 0.15  # the quick-mode target of issue 13
    for key in c7.TARGETS:
        stair = key == "stair"  # told apart from the population-fit law's threshold instead of delta_alg
        other = pred[key]["delta_T_population"] if stair else pred[key]["delta_alg"]
        row = _row(c7.analyse(ctx, pred), "staircase (next direction): delta_NN" if stair else f"k={c7.TARGETS[key]['k']}: delta_NN (whole")
        assert row.tolerance < 0.5 * (pred[key]["delta_T"] - other)  # resolution finer than the gap
        wrong = copy.deepcopy(pred)
        wrong[key]["delta_T"] = other
        assert c7.analyse(ctx, wrong).verdict == "FAIL", key


def test_real_small_runs(pred, tmp_path, monkeypatch):
    # a reduced real sweep (small d, 2-3 deltas, 3-4 seeds) through the phase kind and analyse
    from giantstep.experiments.phase import PhaseConfig, run
    from giantstep.experiments.validation import validate

    monkeypatch.setitem(c7.SIZES, "quick", {**c7.SIZES["quick"], "d": [40, 80], "seeds": 3, "steps": 60, "spectra_d": 40,
                                            "curve_d": [60, 120], "curve_seeds": 4})
    targets = copy.deepcopy(c7.TARGETS)
    targets["k1"].update(ladder=[0.6, 3.0], curve=[2.0, 3.9])
    targets["k2"].update(ladder=[1.2, 5.0], curve=[4.4, 8.8])
    targets["stair"].update(ladder=[8.0, 21.0], curve=[12.0, 21.0])
    monkeypatch.setattr(c7, "TARGETS", targets)
    frames, arrays, row = {}, {}, 0
    for name, sw in c7.sweeps("quick").items():
        rows = []
        for d in sw["grid"].get("d", [sw["base"]["d"]]):
            for dl in sw["grid"]["delta"]:
                for seed in range(sw["seeds"]):
                    cfg = copy.deepcopy(sw["base"])
                    cfg.update(d=d, delta=dl, seed=seed)
                    res = run(validate(PhaseConfig, cfg))
                    if name.startswith("curve") and not name.endswith("stair"):  # b - mean y decays as 0.8^t: 0.8^42 < 1e-4
                        assert res.metrics["phase_end_step"] == 42
                    row += 1
                    rows.append({"row_id": row, "status": "done", "delta": dl, "d": d, "seed": seed, **res.metrics})
                    arrays[row] = res.arrays
        frames[name] = pd.DataFrame(rows)
    ctx = ClaimContext("quick", tmp_path, frames, array_loader=lambda sweep, r: arrays[r])
    out = c7.analyse(ctx, pred)
    assert out.verdict in ("PASS", "FAIL", "INCONCLUSIVE")
    loc = _row(out, "k=1: mean of the 1 smallest Hessian eigenvalues")
    assert loc.measured is not None and loc.measured < 0
    assert math.isfinite(_row(out, "k=1: delta_NN (whole").measured)
    assert _row(out, "staircase (next direction): Hessian eigenvalue").measured < 0  # negative: a descent direction
    wrong = copy.deepcopy(pred)
    for dl in (2.0, 3.9):
        wrong["k1"]["points"][repr(dl)]["hess_min"] = 5.0  # a positive "outlier": must fail
    assert c7.analyse(ctx, wrong).verdict == "FAIL"


def test_figures_written(pred, tmp_path):
    ctx = ClaimContext("quick", tmp_path, _synthetic_frames(pred), array_loader=_arrays)
    out = c7.analyse(ctx, pred)
    paths = c7.plot(ctx, pred, out)
    names = sorted(p.name for p in paths)
    assert names == sorted(f"{stem}.{ext}" for stem in ("c7_phase_diagram", "c7_hessian_spectra", "c7_outlier_gap")
                           for ext in ("png", "pdf"))
    assert all(p.exists() and p.stat().st_size > 1000 for p in paths)
