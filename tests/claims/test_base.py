"""The verdict machinery: comparisons, aggregation, t quantiles, per-cell summaries."""

import math

import numpy as np
import pandas as pd
import pytest

from giantstep.claims.base import (
    ClaimContext,
    ClaimOutcome,
    Comparison,
    compare,
    mean_stderr,
    summarise,
    t_factor,
    verdict_from,
)


def test_compare_tolerance_is_k_stderr_plus_bias():
    c = compare("x", 2.5, 2.49, 0.01, k=3, bias=0.02)
    assert c.tolerance == pytest.approx(0.05)
    assert c.passed is True
    assert compare("x", 2.5, 2.44, 0.01, k=3, bias=0.02).passed is False


def test_compare_without_prediction_is_not_decidable():
    c = compare("x", None, 1.0, 0.1)
    assert c.passed is None and c.tolerance is None and "no prediction" in c.note
    c = compare("x", 1.0, float("nan"), 0.1)
    assert c.passed is None and "not measured" in c.note


def test_verdict_rules():
    ok = Comparison("a", 1.0, 1.0, 0.0, 0.1, True)
    bad = Comparison("b", 1.0, 2.0, 0.0, 0.1, False)
    na = Comparison("c", None, 1.0, 0.0, None, None)
    assert verdict_from([ok, na])[0] == "PASS"
    verdict, reason = verdict_from([ok, bad, na])
    assert verdict == "FAIL" and "b: measured 2" in reason
    assert verdict_from([na])[0] == "INCONCLUSIVE"
    assert verdict_from([])[0] == "INCONCLUSIVE"


def test_outcome_rejects_unknown_verdict():
    with pytest.raises(ValueError):
        ClaimOutcome("MAYBE", "", (), {}, 1)


def test_t_factor_known_values():
    # two-sided 99% Student-t quantiles (tables): dof 2 -> 9.925, dof 4 -> 4.604; normal limit 2.576
    assert t_factor(3) == pytest.approx(9.925, abs=1e-3)
    assert t_factor(5) == pytest.approx(4.604, abs=1e-3)
    assert t_factor(10**6) == pytest.approx(2.576, abs=1e-3)
    assert math.isinf(t_factor(1))


def test_mean_stderr_and_summarise():
    m, se, n = mean_stderr([1.0, 2.0, 3.0, float("nan")])
    assert (m, n) == (2.0, 3) and se == pytest.approx(1.0 / math.sqrt(3))
    frame = pd.DataFrame({"x": [1, 1, 2, 2], "y": [1.0, 3.0, 5.0, 5.0]})
    tab = summarise(frame, "x", "y")
    assert tab["mean"].tolist() == [2.0, 5.0]
    assert tab["stderr"].tolist() == pytest.approx([1.0, 0.0])
    assert summarise(frame, "x", "missing").empty


def test_context_ok_filters_failed_rows(tmp_path):
    frame = pd.DataFrame({"status": ["done", "failed"], "row_id": [1, 2]})
    ctx = ClaimContext("quick", tmp_path, {"s": frame}, array_loader=lambda s, r: {"v": np.arange(r)})
    assert ctx.ok("s")["row_id"].tolist() == [1]
    assert ctx.ok("absent").empty
    assert ctx.arrays("s", 3)["v"].tolist() == [0, 1, 2]


def test_broken_analysis_makes_the_claim_inconclusive(tmp_path):
    from giantstep.claims.base import Claim
    from giantstep.claims.runner import evaluate_claim

    def analyse(ctx, pred):
        raise ZeroDivisionError("boom")

    claim = Claim("X1", "t", "s", "src", lambda m: {}, lambda m: {"p": 1}, analyse, lambda c, p, o: [])
    outcome, figures, _ = evaluate_claim(claim, ClaimContext("quick", tmp_path / "fig", {}))
    assert outcome.verdict == "INCONCLUSIVE" and "ZeroDivisionError: boom" in outcome.reason and figures == []


def test_scaled_multiplies_only_the_matched_numbers():
    from giantstep.claims.base import scaled

    pred = {"eta": {"1": {"s1": 2.0, "edge": 2.0}, "2": {"s1": [1.0, None], "edge": 2.0}}, "flag": True}
    out = scaled(pred, 1.5, "eta.*.s1")
    assert out["eta"]["1"] == {"s1": 3.0, "edge": 2.0} and out["eta"]["2"]["s1"] == [1.5, None]
    assert out["flag"] is True and pred["eta"]["1"]["s1"] == 2.0  # a copy: the input is untouched
    assert scaled(pred, 2.0, "eta.9.s1", "missing.*") == pred  # absent keys: nothing to scale


def test_smallest_failing_shift_bisects_to_the_threshold():
    from giantstep.claims.base import BISECT_REL, smallest_failing_shift

    e = smallest_failing_shift(lambda e: e > 0.0731, 10.0)
    assert 0.0731 < e <= 0.0731 * (1 + BISECT_REL)
    assert smallest_failing_shift(lambda e: False, 10.0) is None


def _one_row_claim(measured: float, stderr: float):
    """A claim with one row: prediction 2.0, tolerance 3 stderr + 0.01 (so its power is exact)."""
    from giantstep.claims.base import Claim, scaled

    def analyse(ctx, pred):
        row = compare("x", pred["x"], measured, stderr, k=3, bias=0.01)
        verdict, reason = verdict_from([row])
        return ClaimOutcome(verdict, reason, (row,), {}, 3)

    return Claim("X9", "t", "s", "src", lambda m: {}, lambda m: {"x": 2.0}, analyse, lambda c, p, o: [],
                 headline={"x": lambda p, f: scaled(p, f, "x")})


def test_claim_power_is_the_exact_shift_that_fails(tmp_path):
    from giantstep.claims.base import claim_power

    claim = _one_row_claim(2.02, 0.01)  # tolerance 0.04
    power = claim_power(claim, ClaimContext("quick", tmp_path, {}), {"x": 2.0})
    per = power.per_quantity["x"]
    assert per["up"] == pytest.approx((2.02 + 0.04) / 2.0 - 1, rel=0.011)  # 2 (1 + e) > 2.06
    assert per["down"] == pytest.approx(1 - (2.02 - 0.04) / 2.0, rel=0.011)  # 2 (1 - e) < 1.98
    assert power.detectable_relative_error == per["up"] and per["rows"] == 1
    assert per["median_tolerance_ratio"] == pytest.approx(0.02)
    failing = claim_power(_one_row_claim(2.5, 0.01), ClaimContext("quick", tmp_path, {}), {"x": 2.0})
    assert failing.detectable_relative_error is None and "not computed" in failing.how


def test_power_sentence_words():
    from giantstep.report import power_sentence

    power = {"quantities": ["s1(W1)", "overlap"], "detectable_relative_error": 0.06,
             "per_quantity": {"s1(W1)": {"detectable": 0.04}, "overlap": {"detectable": 0.06}},
             "limits": {"up": 10.0, "down": 0.99}}
    assert power_sentence(power) == "would detect a 6% error in any one of: s1(W1) (4%); overlap (6%)"
    power["per_quantity"]["overlap"]["detectable"] = None
    power["detectable_relative_error"] = None
    assert "not detected within +1000% / -99%" in power_sentence(power)
    assert "not stated" in power_sentence(None)
