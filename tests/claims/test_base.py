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
