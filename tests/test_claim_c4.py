"""C4's count rule at N: the margins, the asymptotic counts of the update, and how a count row decides."""

import pytest

from giantstep.claims import c4


def test_count_at_n_margins():
    """Counted when a value lands >= 30% above the edge; not counted when theta <= 0.8 theta_c;
    anything between leaves the count undecided."""
    edge, theta_c = 1.0, 0.5
    clear = c4.count_at_n([5.0, 0.3], [5.05, 1.0], edge, theta_c)
    assert clear["count"] == 1 and clear["decided"]
    two = c4.count_at_n([5.0, 1.2, 0.1], [5.05, 1.31, 1.0], edge, theta_c)
    assert two["count"] == 2 and two["decided"]
    near = c4.count_at_n([5.0, 0.45], [5.05, 1.0], edge, theta_c)  # 0.45 > 0.8 theta_c: inside the margin
    assert not near["decided"] and "inside the margin" in near["why"]
    just = c4.count_at_n([5.0, 1.0], [5.05, 1.25], edge, theta_c)  # 25% above the edge: not clear
    assert not just["decided"] and just["count"] == 1


@pytest.mark.parametrize("alpha1,gauss,pm", [(0.1, 2, 2), (0.25, 2, 2), (0.4, 3, 2), (0.45, 6, 2)])
def test_asymptotic_update_count(alpha1, gauss, pm):
    """gelu: c1, c2, c4, c6, c8, c10 != 0, c3 = c5 = ... = 0; the terms with k (1/2 - alpha1) < 1/2
    are k < 1.25, 2, 5, 10: k in {0, 1}, {0, 1}, {0, 1, 3}, {0, 1, 3, 5, 7, 9}; for Gaussian a each
    is a direction, for +-1 they fall in two parity classes."""
    assert c4.asymptotic_update_count(alpha1, "gaussian") == gauss
    assert c4.asymptotic_update_count(alpha1, "rademacher") == pm


def test_count_rows_decide_exactly_or_as_a_lower_bound():
    p = {"count": 2, "decided": True, "why": ""}
    assert c4._count_row("q", p, 3, [2, 2, 2]).passed is True
    assert c4._count_row("q", p, 3, [2, 3, 2]).passed is False
    assert c4._count_row("q", p, 3, [2, 3, 2], lower_bound=True).passed is True
    assert c4._count_row("q", p, 3, [2, 1, 2], lower_bound=True).passed is False
    undecided = c4._count_row("q", {"count": 1, "decided": False, "why": "inside"}, 2, [1, 2])
    assert undecided.passed is None and "not decided" in undecided.note


def test_magnitude_rows_fail_when_the_prediction_moves():
    """t99 stderr + |push| + first-step allowance: a shifted prediction fails, the true one passes."""
    vals = [1.0, 1.02, 0.98, 1.01, 0.99, 1.0]
    assert c4._magnitude_row("q", 1.0, vals, 0.005, 0.005).passed
    assert not c4._magnitude_row("q", 1.1, vals, 0.005, 0.005).passed
    assert c4._magnitude_row("q", 1.1, vals, 0.05, 0.005, push_weight=2.0).passed  # 2 x push = 0.1
