"""Spectral-method top eigenvalue / overlap / threshold (docs/phase_transitions.md) vs special points and simulation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from giantstep.claims.base import t_factor
from giantstep.errors import ConfigError
from giantstep.theory.spectral_threshold import (
    Preprocessing,
    simulate_spectral,
    spectral_prediction,
    spectral_threshold,
)

PR = Preprocessing(upper=3.0, shift=1.0)  # T(y) = min(y, 3) - 1, phase retrieval y = z^2


def test_theory_doc_spot_check_values():
    # docs/phase_transitions.md: predicted (top, cos^2) = (2.135, 0.391) at delta = 2 and (1.568, 0.647) at delta = 4
    p2 = spectral_prediction("square", PR, 2.0)
    p4 = spectral_prediction("square", PR, 4.0)
    assert (p2.top, p2.cos2) == pytest.approx((2.135, 0.391), abs=1.5e-3)
    assert (p4.top, p4.cos2) == pytest.approx((1.568, 0.647), abs=1.5e-3)
    assert p2.outlier and p2.top > p2.edge


def test_below_threshold_no_outlier():
    p = spectral_prediction("square", PR, 0.5)
    assert not p.outlier and p.cos2 == 0.0 and p.top == p.edge


def test_constant_preprocessing_is_marchenko_pastur_edge():
    # T = 1: D_T is the sample covariance, top -> (1 + 1/sqrt(delta))^2, no outlier (exact special point)
    T = Preprocessing(lower=1.0, upper=1.0)
    for delta in (0.5, 2.0, 8.0):
        p = spectral_prediction("square", T, delta)
        assert not p.outlier
        assert p.edge == pytest.approx((1 + 1 / math.sqrt(delta)) ** 2, rel=1e-7)


def test_threshold_direct_vs_bisection_and_consistency():
    direct = spectral_threshold("square", PR)
    bisect = spectral_threshold("square", PR, method="bisect")
    assert direct == pytest.approx(bisect, rel=1e-6)
    assert direct == pytest.approx(0.66122, abs=1e-4)
    assert not spectral_prediction("square", PR, direct * 0.99).outlier
    assert spectral_prediction("square", PR, direct * 1.01).outlier


def test_unbounded_preprocessing_is_rejected():
    with pytest.raises(ConfigError, match="'preprocessing'"):
        spectral_prediction("square", Preprocessing(), 2.0)  # T(y) = z^2 is not bounded above
    with pytest.raises(ConfigError, match="'delta'"):
        spectral_prediction("square", PR, -1.0)


def test_saturating_multi_index_link_is_bounded():
    # y = (tanh|z1| + tanh|z2|)/sqrt2 is bounded (sup sqrt2) but along the diagonal it still grows by
    # 6e-6 between radius 9 and 60: it was refused as "not bounded above". Checked against simulation
    # at d = 400, delta = 4, 3 seeds: t99 * stderr + 5 |pred| / d (as below; the 2-fold degenerate
    # outlier splits by O(d^-1/2), which the top of two values biases up by ~0.6 sd, inside t99 * se).
    T = Preprocessing(shift=0.786)
    p = spectral_prediction("tanh(abs(x))", T, 4.0, k=2, combine="sum")
    assert p.outlier and p.top > p.edge and 0 < p.cos2 < 1
    rng = np.random.default_rng(11)
    sims = np.array([simulate_spectral(rng, "tanh(abs(x))", T, 400, 4.0, k=2, combine="sum") for _ in range(3)])
    se = sims.std(axis=0, ddof=1) / math.sqrt(3)
    assert abs(sims[:, 0].mean() - p.top) <= t_factor(3) * se[0] + 5 * p.top / 400
    assert abs(sims[:, 1].mean() - p.cos2) <= t_factor(3) * se[1] + 5 / 400
    for unbounded in ("abs", "log(1 + abs(x))"):  # growth between the two radii: refused
        with pytest.raises(ConfigError, match="'preprocessing'"):
            spectral_prediction(unbounded, T, 4.0, k=2, combine="sum")


@pytest.mark.parametrize("delta", [2.0, 4.0])
def test_simulated_spectral_method_matches_prediction(delta):
    # d = 500, 4 seeds. Tolerance: t99(4 runs) * stderr over seeds (outlier fluctuations are O(d^-1/2);
    # measured spread 0.03-0.1 at d = 1000) + a stated O(1/d) bias allowance 5 |pred| / d.
    d, runs = 500, 4
    rng = np.random.default_rng(7 + int(delta))
    sims = np.array([simulate_spectral(rng, "square", PR, d, delta) for _ in range(runs)])
    p = spectral_prediction("square", PR, delta)
    kt = t_factor(runs)
    se = sims.std(axis=0, ddof=1) / math.sqrt(runs)
    assert abs(sims[:, 0].mean() - p.top) <= kt * se[0] + 5 * p.top / d
    assert abs(sims[:, 1].mean() - p.cos2) <= kt * se[1] + 5 / d


def test_simulated_below_threshold_overlap_small():
    # delta = 0.5 < delta_T = 0.661: cos^2 -> 0; at d = 500 the top eigenvector of the bulk has
    # overlap O(d^-1/3) at most (critical window) -- far below the 0.12 it would have at delta = 1
    rng = np.random.default_rng(3)
    sims = [simulate_spectral(rng, "square", PR, 500, 0.5)[1] for _ in range(2)]
    assert max(sims) < 0.08


def test_multi_index_rotation_invariant_target():
    # y = tanh(||z||), k = 2, centred T: the outlier is 2-fold degenerate with cos^2 per direction.
    # Simulated top eigenvector's mass in span(Theta*) vs predicted cos^2, d = 400, 4 seeds,
    # tolerance t99 * stderr + 5/d.
    from giantstep.theory.spectral_threshold import _get_law

    law = _get_law("tanh", Preprocessing(), 0.0, 2, "norm")
    T = Preprocessing(shift=float(law.w @ law.T))
    p = spectral_prediction("tanh", T, 4.0, 0.0, 2, "norm")
    assert p.outlier and 0.4 < p.cos2 < 0.6
    rng = np.random.default_rng(11)
    runs, d = 4, 400
    sims = np.array([simulate_spectral(rng, "tanh", T, d, 4.0, 0.0, 2, "norm") for _ in range(runs)])
    se = sims.std(axis=0, ddof=1) / math.sqrt(runs)
    kt = t_factor(runs)
    assert abs(sims[:, 0].mean() - p.top) <= kt * se[0] + 5 * p.top / d
    assert abs(sims[:, 1].mean() - p.cos2) <= kt * se[1] + 5 / d


def test_cli_spectral_threshold(cli):
    r = cli("theory", "spectral-threshold", "--link", "square", "--upper", "3", "--shift", "1", "--delta", "2", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["top"] == pytest.approx(2.135, abs=1.5e-3)
    assert out["delta_T"] == pytest.approx(0.66122, abs=1e-4)
    bad = cli("theory", "spectral-threshold", "--delta", "-2", "--upper", "3")
    assert bad.returncode == 2 and "delta" in bad.stderr


@pytest.mark.parametrize("link", ["1e308", "1e120*tanh"])
def test_labels_too_large_to_square_are_outside_the_domain(link):
    # T(y) ~ 1e308 made the edge's root finder see NaN (found by the fuzz tier)
    from giantstep.errors import ValidityError
    from giantstep.theory.spectral_threshold import spectral_prediction as prediction

    with pytest.raises(ValidityError, match="finite and at most"):
        prediction(link, delta=2.0)
