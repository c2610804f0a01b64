"""Claim C6: the verdict is computed from measured vs predicted values (a planted wrong
prediction flips it to FAIL); the figures are written; the full quick run is in the slow tier."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from giantstep.claims.base import ClaimContext
from giantstep.claims.c6 import CLAIM, LAYERS, SIZES

SMALL = {
    "ratio_w_lin_u": "pred_ratio_lin_u",
    "ratio_lin_u": "pred_ratio_lin_u",
    "ratio_w_lin_e": "pred_ratio_lin_e",
    "ratio_w_quad_u_deflated": "pred_ratio_quad_u_deflated",
    "ratio_w_quad_e": "pred_ratio_quad_e",
    "mixing_angle_w_after": "pred_mixing_angle_after",
    "mixing_angle_after": "pred_mixing_angle_after",
    "fit_s2": "pred_s2",
    "fit_alignment_corrected": "pred_gamma",
}
LARGE = {
    "ratio_w_lin_u": "pred_ratio_lin_u",
    "mixing_angle_w_after": "pred_mixing_angle_after",
    "eig_after_0": "pred_k0_0",
    "eig_after_1": "pred_k0_1",
    "fit_kurtosis": "pred_kurtosis_sample",
    "fit_s2": "pred_s2",
}


@pytest.fixture(scope="module")
def predictions():
    return CLAIM.predict("quick")


def _frames(pred: dict, seeds: int = 4, jitter: float = 0.01) -> dict[str, pd.DataFrame]:
    """Frames whose metrics scatter by +-1% around the predictions (a faithful simulation)."""
    rng = np.random.default_rng(0)
    rows, rid = [], 0
    for key, p in pred["small"].items():
        for seed in range(seeds):
            row = {"row_id": rid, "status": "done", "step.eta0": float(key), "seed": seed}
            for m, pk in SMALL.items():
                row[m] = p[pk] * (1 + jitter * rng.standard_normal())
            for tag in ("before", "after"):
                for mode in ("radial", "lin_u", "lin_e", "quad_u", "quad_u_deflated", "quad_e", "cross_e"):
                    row[f"lamw_{mode}_{tag}"] = p[f"pred_lam_{mode}_{tag}"]
                for j in range(4):
                    row[f"eig_{tag}_{j}"] = 0.1 / (j + 1)
            rows.append(row)
            rid += 1
    small = pd.DataFrame(rows)
    rows = []
    for key, p in pred["large"].items():
        layer, eta = key.split(":")
        for seed in range(seeds):
            row = {"row_id": rid, "status": "done", "step.eta0": float(eta), "second_layer": layer, "seed": seed}
            for m, pk in LARGE.items():
                row[m] = p[pk] * (1 + jitter * rng.standard_normal())
            for tag in ("before", "after"):
                for j in range(4):
                    row[f"eig_{tag}_{j}"] = p[f"pred_k0_{j}"] if tag == "after" else 0.1 / (j + 1)
            rows.append(row)
            rid += 1
    return {"small": small, "large": pd.DataFrame(rows)}


def test_faithful_measurements_pass_and_planted_wrong_prediction_fails(predictions, tmp_path):
    ctx = ClaimContext("quick", tmp_path, _frames(predictions))
    good = CLAIM.analyse(ctx, predictions)
    assert good.verdict == "PASS", good.reason
    assert len(good.comparisons) >= 40
    assert good.sizes["d"] == SIZES["quick"]["d"]
    # plant a wrong prediction: seed 000's (1 + beta)^2 applied to the aligned linear mode
    wrong = copy.deepcopy(predictions)
    for p in wrong["small"].values():
        p["pred_ratio_lin_u"] = (1 + p["pred_beta"] * p["pred_gamma"] ** 2) ** 2
    bad = CLAIM.analyse(ctx, wrong)
    assert bad.verdict == "FAIL"
    assert "theta*" in bad.reason
    # and a wrong mixing angle alone (no mixing: 0 degrees) also fails
    flat = copy.deepcopy(predictions)
    for p in flat["small"].values():
        p["pred_mixing_angle_after"] = 0.0
    assert CLAIM.analyse(ctx, flat).verdict == "FAIL"


def test_no_results_is_inconclusive(predictions, tmp_path):
    ctx = ClaimContext("quick", tmp_path, {"small": pd.DataFrame(), "large": pd.DataFrame()})
    assert CLAIM.analyse(ctx, predictions).verdict == "INCONCLUSIVE"


def test_figures_are_written(predictions, tmp_path):
    ctx = ClaimContext("quick", tmp_path, _frames(predictions))
    outcome = CLAIM.analyse(ctx, predictions)
    paths = CLAIM.plot(ctx, predictions, outcome)
    names = {Path(p).name for p in paths}
    for stem in ("c6_modes", "c6_amplification", "c6_mixing_angle", "c6_spectrum"):
        assert f"{stem}.png" in names and f"{stem}.pdf" in names
    assert all(Path(p).stat().st_size > 1000 for p in paths)


def test_sweeps_use_the_kernel_kind():
    sw = CLAIM.sweeps("quick")
    assert set(sw) == {"small", "large"}
    assert sw["small"]["base"]["kind"] == "kernel"
    assert sw["large"]["grid"]["second_layer"] == list(LAYERS)


@pytest.mark.slow
def test_quick_claim_end_to_end(tmp_path):
    from giantstep.claims.runner import STORE_NAME, context_for, run_claim_sweeps

    run_claim_sweeps(CLAIM, "quick", tmp_path / STORE_NAME, workers=1)
    ctx = context_for(CLAIM, "quick", tmp_path)
    outcome = CLAIM.analyse(ctx, CLAIM.predict("quick"))
    assert outcome.verdict == "PASS", outcome.reason
