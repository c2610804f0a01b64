"""Planted errors on real data: every claim's stated power is honest.

The fixture (tests/claims/data, written by make_quick_fixture.py) is the documented quick run:
the results rows of every claim's sweeps and the power each claim stated in that run's
summary.json. For every claim: the true predictions PASS on those rows; multiplying one headline
quantity's predictions by 1 + 2e or 1 - 2e, e the stated detectable relative error of that
quantity in that direction, turns the verdict to FAIL; and where the claim states that an error is
not detected (e is None), a shift by the stated limit indeed leaves the verdict unchanged.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from giantstep.claims.base import ClaimContext
from giantstep.claims.registry import select

DATA = Path(__file__).resolve().parent / "data"
CLAIMS = ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8")


@pytest.fixture(scope="module")
def stated_power() -> dict:
    return json.loads((DATA / "quick_power.json").read_text())


def _context(claim, tmp_path) -> ClaimContext:
    table = pd.read_parquet(DATA / f"quick_{claim.id}.parquet")
    frames = {}
    for name in claim.sweeps("quick"):
        rows = table[table["sweep"] == f"{claim.id}.{name}"]
        frames[name] = rows.dropna(axis=1, how="all").reset_index(drop=True)
    return ClaimContext("quick", tmp_path, frames, array_loader=_arrays(claim))


def _arrays(claim):
    """The fixture's stored arrays of the claim's rows (``Claim.arrays``), or None."""
    path = DATA / f"quick_{claim.id}_arrays.npz"
    if not path.exists():
        return None
    by_row: dict = {}
    with np.load(path) as z:
        for key in z.files:
            rid, name = key.split(":", 1)
            by_row.setdefault(int(rid), {})[name] = z[key]
    return lambda sweep, row_id: by_row.get(int(row_id), {})


@pytest.mark.parametrize("cid", CLAIMS)
def test_stated_power_is_honest_on_the_quick_run(cid, stated_power, tmp_path):
    claim = select([cid])[0]
    ctx = _context(claim, tmp_path)
    pred = claim.predict("quick")
    truth = claim.analyse(ctx, pred)
    assert truth.verdict == "PASS", truth.reason
    power = stated_power[cid]
    assert list(power["quantities"]) == list(claim.headline)
    checked = 0
    for quantity, shift in claim.headline.items():
        per = power["per_quantity"][quantity]
        for sign, direction in ((1.0, "up"), (-1.0, "down")):
            e = per[direction]
            if e is None:  # stated: not detected up to the limit
                factor = 1.0 + sign * power["limits"][direction]
                assert claim.analyse(ctx, shift(pred, factor)).verdict != "FAIL", (quantity, direction)
                continue
            if sign < 0 and 2 * e >= 1.0:  # a shift by -2e would flip the prediction's sign
                continue
            factor = 1.0 + sign * 2.0 * e
            outcome = claim.analyse(ctx, shift(pred, factor))
            assert outcome.verdict == "FAIL", (quantity, direction, e, outcome.reason)
            checked += 1
    x = power["detectable_relative_error"]
    if x is not None:  # the claim-level number: any one quantity off by 2x, up, is detected
        for quantity, shift in claim.headline.items():
            assert claim.analyse(ctx, shift(pred, 1.0 + 2.0 * x)).verdict == "FAIL", quantity
        assert x <= 0.15  # the quick-mode target, every claim
    assert checked >= 1


@pytest.mark.parametrize("cid", ["C1", "C8"])
def test_stated_power_is_what_the_framework_computes(cid, stated_power, tmp_path):
    """The fixture's stated numbers are not stale: claim_power on the same rows gives them again
    (two claims whose bisection is cheap; the computation is deterministic)."""
    from giantstep.claims.base import claim_power

    claim = select([cid])[0]
    ctx = _context(claim, tmp_path)
    power = claim_power(claim, ctx, claim.predict("quick")).as_dict()
    assert power["detectable_relative_error"] == pytest.approx(stated_power[cid]["detectable_relative_error"], rel=1e-9)
    for q, per in stated_power[cid]["per_quantity"].items():
        for key in ("up", "down"):
            assert power["per_quantity"][q][key] == pytest.approx(per[key], rel=1e-9)
