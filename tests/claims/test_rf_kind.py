"""Experiment kind "rf": ridge solvers, SGD readout, spiked features, Mei-Montanari agreement."""

import numpy as np
import pytest

from giantstep.errors import ConfigError
from giantstep.experiments.kinds import parse_config, run_config
from giantstep.experiments.rf import SGDConfig, sgd_readout, spike_direction
from giantstep.readout import ridge_coefficients as ridge_readout
from giantstep.seeding import stream


def _F(n, N, seed=0):
    rng = stream(seed, "test")
    return np.maximum(rng.standard_normal((n, 30)) @ rng.standard_normal((30, N)) / np.sqrt(30), 0), rng.standard_normal(n)


@pytest.mark.parametrize("n,N", [(80, 40), (40, 80)])
def test_ridge_primal_dual_agree_with_direct_solve(n, N):
    F, y = _F(n, N)
    lam = 0.05
    a = ridge_readout(F, y, lam)
    direct = np.linalg.solve(F.T @ F / n + lam * np.eye(N), F.T @ y / n)
    assert np.allclose(a, direct, rtol=1e-8, atol=1e-10)


def test_ridge_zero_is_min_norm_interpolator():
    F, y = _F(30, 90)
    a = ridge_readout(F, y, 0.0)
    assert np.allclose(F @ a, y, atol=1e-8)
    assert np.allclose(a, np.linalg.pinv(F) @ y, atol=1e-8)


def test_sgd_converges_to_ridge_solution():
    F, y = _F(100, 40)
    lam = 0.1
    ref = ridge_readout(F, y, lam)
    small, passes, curve = sgd_readout(F, y, lam, SGDConfig(epochs=400, batch=10, step=0.1), stream(1, "sgd"),
                                       monitor=lambda a: float(a @ a))
    large, _, _ = sgd_readout(F, y, lam, SGDConfig(epochs=400, batch=10, step=0.5), stream(1, "sgd"))
    dist = lambda a: np.linalg.norm(a - ref) / np.linalg.norm(ref)  # noqa: E731
    # constant step: SGD reaches a stationary cloud around the ridge solution whose radius shrinks
    # with the step (measured 0.9% at step 0.1, 12% at step 0.5 after 400 passes)
    assert dist(small) < 0.03
    assert dist(small) < dist(large)
    assert passes[-1] == 400 and len(curve) == len(passes)


def test_spike_direction_has_exact_angle():
    theta = np.zeros(50)
    theta[3] = 1.0
    v = spike_direction(stream(0, "x"), theta, 0.3)
    assert np.linalg.norm(v) == pytest.approx(1.0) and v @ theta == pytest.approx(0.3)


def test_bad_fields_raise_config_error_naming_them():
    with pytest.raises(ConfigError, match="'ridge'"):
        parse_config({"kind": "rf", "d": 10, "width": 20, "n": 20, "ridge": 0.0})
    with pytest.raises(ConfigError, match="teacher.k"):
        parse_config({"kind": "rf", "d": 10, "width": 20, "n": 30, "teacher": {"k": 2}})
    with pytest.raises(ConfigError, match="sgd.step"):
        parse_config({"kind": "rf", "d": 10, "width": 20, "n": 30, "readout": "sgd", "sgd": {"step": 3.0}})


def test_run_is_reproducible_and_reports_metrics():
    cfg = {"kind": "rf", "seed": 3, "d": 30, "width": 45, "n": 60, "n_test": 300, "readout": "both",
           "sgd": {"epochs": 20, "batch": 10}, "spectrum": True, "spike": {"r": 1.0, "c": 1.2, "gamma": 0.8}}
    a, b = run_config(cfg), run_config(cfg)
    assert a.metrics == b.metrics
    assert {"test_risk", "train_error", "sgd_test_risk", "sgd_distance", "features.lambda1"} <= set(a.metrics)
    assert a.arrays["sgd_curve"].shape == a.arrays["sgd_epochs"].shape
    assert a.metrics["psi1"] == 1.5 and a.metrics["ridge_mm"] == pytest.approx(1e-3 / 1.5)


def test_mei_montanari_risk_matches_simulation():
    """relu features, y = He1(z) + 0.5 He2(z)/sqrt2, psi1 = 3, psi2 = 2, lambda_MM = 0.1, d = 150.

    Tolerance: 3 stderr over 4 seeds + 5 R / d (the O(1/d) finite-size bias stated in claim C8;
    the point is far from the interpolation peak, where the seed variance is small).
    """
    from giantstep.hermite import hermite_constants
    from giantstep.theory.mei_montanari import rf_ridge_risk

    d, psi1, psi2, lam = 150, 3.0, 2.0, 0.1
    link = "he1+0.5*he2"
    g = hermite_constants(link)
    R = rf_ridge_risk("relu", psi1, psi2, lam, F1=g.mu1, Fstar=g.mustar, noise=0.1).risk
    risks = [run_config({"kind": "rf", "seed": s, "d": d, "width": int(psi1 * d), "n": int(psi2 * d), "n_test": 3000,
                         "teacher": {"link": link, "noise": 0.1}, "ridge": psi1 * lam}).metrics["test_risk"]
             for s in range(4)]
    m, se = np.mean(risks), np.std(risks, ddof=1) / 2
    assert abs(m - R) <= 3 * se + 5 * R / d
