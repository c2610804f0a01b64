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
        "w1.s1": pred["eta"][str(e)]["s1"], "w1.overlap1": pred["eta"][str(e)]["overlap"] + 0.02,
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
    ctx = ClaimContext("quick", tmp_path, {"dd": dd, "dd_reg": reg, "sgd": sgd})
    assert c8.analyse(ctx, pred).verdict == "PASS"
    wrong = copy.deepcopy(pred)
    wrong["risk_reg"] = {k: 0.5 * v for k, v in wrong["risk_reg"].items()}  # planted: half the risk
    assert c8.analyse(ctx, wrong).verdict == "FAIL"
    wrong = copy.deepcopy(pred)
    wrong["peak_psi1"] = 6.0  # planted: peak in the wrong place
    assert c8.analyse(ctx, wrong).verdict == "FAIL"


def test_c5_planted_learning_flips(tmp_path):
    d = c5.SIZES["quick"]["d"]
    pred = {f"{l}_{b}": {str(a): {"learned": l == "he1", "critical": False, "terms_carrying_theta": [0]}
                         for a in c5.ALPHAS} for l in c5.LINKS for b in ("fresh", "reuse")}
    frames = {}
    for name, table in pred.items():
        ov = 0.5 if name.startswith("he1") else 1.0 / np.sqrt(d)  # learned: overlap 0.5; else null level
        frames[name] = _rows("steps.0.alpha", c5.ALPHAS, lambda a: {"dw2.overlap1": ov, "dw2.overlap2": 1 / np.sqrt(d),
                                                                     "dw2.overlap3": 1 / np.sqrt(d)}, jitter=0.05)
    ctx = ClaimContext("quick", tmp_path, frames)
    assert c5.analyse(ctx, pred).verdict == "PASS"
    wrong = copy.deepcopy(pred)
    wrong["he3_fresh"]["0.45"]["learned"] = True  # planted: claims fresh batches learn He3
    assert c5.analyse(ctx, wrong).verdict == "FAIL"


def test_c3_planted_wrong_error_fails(tmp_path):
    d = c3.SIZES["quick"]["d"]
    pred = {"test_error": {str(a): 0.1 for a in c3.ALPHAS}, "lambda1_pm": 100.0, "r": 1, "c": 1, "gamma": 1}
    net = _rows("readout.n_train", [int(a * d) for a in c3.ALPHAS], lambda n: {"readout.test_error": 0.1,
                                                                               "features.lambda1": 100.0})
    srf = _rows("n", [int(a * d) for a in c3.ALPHAS], lambda n: {"test_risk": 0.1, "features.lambda1": 100.0})
    ctx = ClaimContext("quick", tmp_path, {"net_pm": net, "srf_pm": srf, "net_gauss": net, "srf_gauss": srf})
    assert c3.analyse(ctx, pred).verdict == "PASS"
    wrong = copy.deepcopy(pred)
    wrong["test_error"]["2.0"] = 0.2
    assert c3.analyse(ctx, wrong).verdict == "FAIL"


def test_c1_prediction_matches_theory_one_step():
    """Two implementations of theory 1.2-1.3 agree: the claim's direct BBP mapping and
    giantstep.theory.one_step.one_step (rademacher a, r = y)."""
    from giantstep.theory.one_step import one_step

    for eta, psi2, N, d in [(8.0, 2.0, 512, 512), (3.5, 1.0, 1024, 512), (6.0, 4.0, 256, 512)]:
        mine = c1.one_step_point(eta, psi2, N, d)
        ref = one_step(c1.ACTIVATION, c1.LINK, 0.0, d=d, width=N, n=int(psi2 * d), eta0=eta, alpha=0.0,
                       second_layer="rademacher", residual="centered")
        assert mine["s1"] == pytest.approx(ref.s1_weights, rel=1e-8)
        assert mine["overlap"] == pytest.approx(ref.overlap_theta, rel=1e-6, abs=1e-9)
        assert bool(mine["outlier"]) == ref.outlier
