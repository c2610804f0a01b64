"""One-step spike predictions: exact values, the Gram (additive) form of BBP, and the full-residual
correction checked by simulation (the centered case is checked in tests/core)."""

import math

import numpy as np
import pytest

from giantstep.errors import ConfigError, ValidityError
from giantstep.experiments.kinds import run_config
from giantstep.theory.bbp import rectangular
from giantstep.theory.domain import allow_outside
from giantstep.theory.first_step import derivative_variance
from giantstep.theory.one_step import one_step

RUNS = 3


def test_exact_values_linear_teacher():
    """he1 teacher, psi2 = 2: ||vhat||^2 = 1 + 1/2, gamma^2 = 2/3; relu mu1 = 1/2 -> s = eta/2 sqrt(3/2)."""
    p = one_step("relu", "he1", d=1000, width=1000, n=2000, eta0=2.0, alpha=0.0)
    assert p.vhat_norm2 == pytest.approx(1.5) and p.gamma2 == pytest.approx(2 / 3)
    assert p.s1_update == pytest.approx(math.sqrt(1.5))
    # noise adds tau^2/psi2
    assert one_step("relu", "he1", 1000, 1000, 2000, 2.0, 0.0, noise=1.0).vhat_norm2 == pytest.approx(2.0)
    assert derivative_variance("relu") == pytest.approx(0.25, abs=1e-10)
    assert derivative_variance("tanh") == pytest.approx(0.097524, abs=1e-6)


@pytest.mark.parametrize("d,N", [(600, 600), (400, 800), (800, 400)])
def test_centered_equals_rectangular_bbp(d, N):
    """Centered residual: the Gram (additive-spike) form used by one_step equals the rectangular BBP formula (docs/theory.md, section 2), i.e.
    rectangular BBP with theta = s on the sqrt(c)-scaled bulk (c = reported inflation), N >= d and N < d."""
    p = one_step("tanh", "he1", d, N, 2 * d, 3.0, 0.0)
    c = p.bulk_inflation
    s = p.s1_update / math.sqrt(c)
    if N >= d:
        r = rectangular(d / N, s * math.sqrt(d / N)); top = math.sqrt(c * N / d) * r.top; ov = r.left_overlap2
    else:
        r = rectangular(N / d, s); top = math.sqrt(c) * r.top; ov = r.right_overlap2
    # the Gram form uses ||q||^2 = c + s_raw^2 = c (1 + s^2): identical to BBP on the sqrt(c)-scaled bulk
    assert p.s1_weights == pytest.approx(top, rel=1e-9)
    assert p.overlap_theta2 == pytest.approx(ov * p.gamma2, rel=1e-8)


def _measure(act, eta0, second_layer, residual, d=600, N=600, n=1200):
    rows = []
    for seed in range(RUNS):
        cfg = dict(kind="steps", seed=seed, d=d, width=N, n=n, activation=act, second_layer=second_layer,
                   residual=residual, teacher={"link": "he1"}, steps=[{"eta0": eta0, "alpha": 0.0}], theory=False)
        w = run_config(cfg).record["weights"][1]
        rows.append([w["update"]["singular_values"][0], w["singular_values"][0], w["overlaps"][0][0]])
    return np.array(rows)


@pytest.mark.parametrize("act,eta0,second_layer", [("tanh", 3.0, "rademacher"), ("erf", 3.0, "symmetric")])
def test_full_residual_simulation(act, eta0, second_layer):
    """Full residual (f0 kept), d = N = 600, n = 1200, alpha = 0, 3 seeds (odd sigma: mu0 = 0, so
    ||f0||^2 does not carry the (sum a)^2/N fluctuation).

    Tolerance: 4 standard errors over seeds + 3/sqrt(d) relative finite-size bias (docs/theory.md, section 6
    remainder). For rademacher a, the rectangular formula applied naively (theta = s, W0 independent of the spike)
    is rejected: the f0 part of vhat is -mu1 W0^T a / sqrt(N), which shrinks W0 along a; the naive
    overlap is off by > 4 standard errors (documented in docs/theory.md).
    """
    m = _measure(act, eta0, second_layer, "full")
    p = one_step(act, "he1", 600, 600, 1200, eta0, 0.0, second_layer=second_layer, residual="full")
    mean, se = m.mean(axis=0), m.std(axis=0, ddof=1) / math.sqrt(RUNS)
    for j, want in enumerate((p.s1_update, p.s1_weights, p.overlap_theta)):
        assert abs(mean[j] - want) <= 4 * se[j] + 3 / math.sqrt(600) * abs(want), (j, mean[j], want)
    if second_layer == "rademacher":
        naive = math.sqrt(rectangular(1.0, p.s1_update).left_overlap2 * p.gamma2)
        assert abs(mean[2] - naive) > 4 * se[2] + abs(mean[2] - p.overlap_theta)


def test_regimes_and_bad_input():
    """alpha = 1/2 is outside the rank-one + BBP picture: refused, or computed with a warning."""
    with pytest.raises(ValidityError, match="alpha < 1/2"):
        one_step("tanh", "tanh", 100, 100, 200, 1.0, 0.5)
    with allow_outside() as warnings:
        assert one_step("tanh", "tanh", 100, 100, 200, 1.0, 0.5).s1_weights > 0
    assert len(warnings) == 1 and "alpha < 1/2" in warnings[0]
    with pytest.raises(ConfigError, match="'second_layer' parameter must be one of"):
        one_step("relu", "he1", 10, 10, 10, 1.0, 0.0, second_layer="ones")
    with pytest.raises(ConfigError, match="'alpha'"):
        one_step("relu", "he1", 10, 10, 10, 1.0, 0.7)
    with pytest.raises(ConfigError, match="'link'"):
        one_step("relu", "nope", 10, 10, 10, 1.0, 0.0)
