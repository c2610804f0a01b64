"""Verdicts are computed: results that match the predictions give PASS, a planted wrong
prediction (same results) gives FAIL. Frames are built from the predictions themselves so the
test runs without simulation; one real end-to-end run is in test_runner_e2e.py."""

import copy

import numpy as np
import pandas as pd
import pytest

from giantstep.claims import c1, c3, c5, c8
from giantstep.claims.base import ClaimContext


def _rows(axis, values, metrics_of, seeds=3, jitter=1e-3, extra=None):
    rows, rid = [], 0
    for v in values:
        for s in range(seeds):
            rid += 1
            m = {k: val * (1 + jitter * (s - 1)) for k, val in metrics_of(v).items()}
            rows.append({"row_id": rid, "status": "done", axis: v, "seed": s, **m, **(extra or {})})
    return pd.DataFrame(rows)


def _c1_frames(pred):
    d = c1.SIZES["quick"]["d"]
    eta = _rows("steps.0.eta0", c1.ETA_GRID, lambda e: {
        "w1.s1": pred["eta"][str(e)]["s1"], "w1.overlap1": pred["eta"][str(e)]["overlap"],
        "w1.outliers": pred["eta"][str(e)]["outlier"], "w1.bulk_edge": 2.0})
    ratio = _rows("n", [int(r * d) for r in c1.RATIO_GRID], lambda n: {
        "w1.s1": pred["ratio"][str(float(n / d))]["s1"], "w1.overlap1": pred["ratio"][str(float(n / d))]["overlap"],
        "w1.outliers": pred["ratio"][str(float(n / d))]["outlier"]})
    return {"eta": eta, "ratio": ratio}


def test_c1_pass_then_planted_fail(tmp_path):
    pred = c1.predict("quick")
    ctx = ClaimContext("quick", tmp_path, _c1_frames(pred))
    assert c1.analyse(ctx, pred).verdict == "PASS"
    wrong = copy.deepcopy(pred)
    wrong["eta"]["8.0"]["s1"] *= 1.3  # planted: outlier 30% too far out
    out = c1.analyse(ctx, wrong)
    assert out.verdict == "FAIL" and "eta0=8" in out.reason


def test_c8_pass_then_planted_fail(tmp_path):
    pred = c8.predict("quick")
    d = c8.SIZES["quick"]["d"]

    def risk(table):
        return lambda w: {"psi1": w / d, "test_risk": table[c8._key(w / d, table)]}

    widths = c8._widths("quick", c8.PSI1_GRID)
    dd = _rows("width", widths, risk(pred["risk_dd"]))
    reg = _rows("width", widths, risk(pred["risk_reg"]))
    sgd_w = c8._widths("quick", c8.SIZES["quick"]["psi1_sgd"])
    sgd = _rows("width", sgd_w, lambda w: {"psi1": w / d, "test_risk": pred["risk_sgd"][c8._key(w / d, pred["risk_sgd"])],
                                          "sgd_test_risk": pred["risk_sgd"][c8._key(w / d, pred["risk_sgd"])]})
    for frame in (dd, reg, sgd):  # psi1 is an axis (N/d), not a measured value: no scatter
        frame["psi1"] = frame["width"] / d
    ctx = ClaimContext("quick", tmp_path, {"dd": dd, "dd_reg": reg, "sgd": sgd})
    assert c8.analyse(ctx, pred).verdict == "PASS"
    wrong = copy.deepcopy(pred)
    wrong["risk_reg"] = {k: 0.5 * v for k, v in wrong["risk_reg"].items()}  # planted: half the risk
    assert c8.analyse(ctx, wrong).verdict == "FAIL"
    wrong = copy.deepcopy(pred)
    wrong["peak_psi1"] = 6.0  # planted: peak in the wrong place
    assert c8.analyse(ctx, wrong).verdict == "FAIL"


def _c5_frames(d, pred, q_of, energy_scale=1.0):
    """Frames for every C5 sweep with q = d * overlap1^2 = q_of(residual, link, batch) per seed
    (overlap2 = overlap3 = 0) and the theta* energy of the update at its prediction (times
    ``energy_scale``, +-2% scatter); the fresh and reused sweeps share their seeds."""
    frames = {}
    for residual in c5.RESIDUALS:
        for link in c5.LINKS:
            for batch in c5.BATCHES:
                name = c5._name(residual, link, batch)
                rows, rid = [], 0
                for a1, a2 in c5.SIZES["quick"]["alphas"]:
                    energy = pred["cells"][name][c5._key(a1, a2)]["energy"] * energy_scale
                    for seed, q in enumerate(q_of(residual, link, batch)):
                        rid += 1
                        rows.append({"row_id": rid, "status": "done", "steps.0.alpha": a1, "steps.1.alpha": a2,
                                     "seed": seed, "w2.overlap1": np.sqrt(q / d), "w2.overlap2": 0.0,
                                     "w2.overlap3": 0.0, "dw2.theta_norm2": energy * (1 + 0.02 * (seed % 3 - 1))})
                frames[name] = pd.DataFrame(rows)
    return frames


def _q_learned(residual, link, batch):
    base = {"he1": 400.0, "he2": 6.0, "he3": 8.0}[link]
    gain = 120.0 if (link == "he3" and batch == "reuse") else 0.0
    return [base + gain + 1.5 * (s - 2) for s in range(5)]


@pytest.fixture(scope="module")
def c5_pred():
    return c5.predict("quick")


def test_c5_pass_then_planted_errors_fail(tmp_path, c5_pred):
    d = c5.SIZES["quick"]["d"]
    pred = c5_pred
    key = c5._key(*c5.SIZES["quick"]["alphas"][0])
    # the theory's pattern at the quick size: He1 learned by both batches, He2 never, He3 only with reuse
    assert [pred["cells"][c5._name(r, l, b)][key]["learned"] for r in c5.RESIDUALS for l in c5.LINKS
            for b in c5.BATCHES] == [True, True, False, False, False, True] * 2
    ctx = ClaimContext("quick", tmp_path, _c5_frames(d, pred, _q_learned))
    assert c5.analyse(ctx, pred).verdict == "PASS"
    wrong = copy.deepcopy(pred)
    wrong["cells"][c5._name("label", "he2", "reuse")][key]["learned"] = True  # planted: reuse learns an even link
    assert c5.analyse(ctx, wrong).verdict == "FAIL"
    wrong = copy.deepcopy(pred)  # planted: no reuse signal for He3 (the energy of the fresh batch)
    wrong["cells"][c5._name("label", "he3", "reuse")][key]["energy"] = pred["cells"][c5._name("label", "he3", "fresh")][key]["energy"]
    out = c5.analyse(ctx, wrong)
    assert out.verdict == "FAIL" and "theta*||^2" in out.reason


def test_c5_no_reuse_gain_fails(tmp_path, c5_pred):
    """Reused and fresh batches alike (no gain in q) for He3: the paired reuse-gain row fails."""
    d = c5.SIZES["quick"]["d"]
    ctx = ClaimContext("quick", tmp_path, _c5_frames(d, c5_pred, lambda r, link, b: [
        ({"he1": 400.0, "he2": 6.0, "he3": 15.0}[link]) + 1.5 * (s - 2) for s in range(5)]))
    out = c5.analyse(ctx, c5_pred)
    assert out.verdict == "FAIL" and "reuse gain" in out.reason


def test_c5_energy_off_by_a_third_fails(tmp_path, c5_pred):
    ctx = ClaimContext("quick", tmp_path, _c5_frames(c5.SIZES["quick"]["d"], c5_pred, _q_learned, energy_scale=1.33))
    assert c5.analyse(ctx, c5_pred).verdict == "FAIL"


def test_c5_hetero_factor_exact_values():
    # rho = E[y^2 z^2] / E[y^2]: E[z^4] = 3; E[He2^2 z^2]/2 = (15 - 6 + 1)/2 = 5; E[He3^2 z^2]/6 = 42/6 = 7
    assert c5.hetero_factor("he1") == pytest.approx(3.0, rel=1e-6)
    assert c5.hetero_factor("he2") == pytest.approx(5.0, rel=1e-6)
    assert c5.hetero_factor("he3") == pytest.approx(7.0, rel=1e-6)


def test_c3_planted_wrong_error_fails(tmp_path):
    d = c3.SIZES["quick"]["d"]
    pred = {"test_error": {str(a): 0.1 for a in c3.ALPHAS}, "spectrum": {}, "tail": [], "r": 1, "c": 1, "gamma": 1}
    net = _rows("readout.n_train", [int(a * d) for a in c3.ALPHAS], lambda n: {"readout.test_error": 0.1,
                                                                               "features.lambda1": 100.0})
    srf = _rows("n", [int(a * d) for a in c3.ALPHAS], lambda n: {"test_risk": 0.1, "features.lambda1": 100.0})
    ctx = ClaimContext("quick", tmp_path, {"net_pm": net, "srf_pm": srf, "net_gauss": net, "srf_gauss": srf})
    assert c3.analyse(ctx, pred).verdict == "PASS"
    wrong = copy.deepcopy(pred)
    wrong["test_error"]["2.0"] = 0.2
    assert c3.analyse(ctx, wrong).verdict == "FAIL"
