"""Mei-Montanari RF ridge risk: limits, an independent kernel-limit formula, and simulation
through the simulator's own readout (which also checks the ridge converter)."""

import math

import numpy as np
import pytest

from giantstep.activations import get_activation
from giantstep.errors import ConfigError
from giantstep.network import TwoLayerNetwork, init_second_layer, init_weights
from giantstep.readout import fit_ridge, test_errors
from giantstep.seeding import stream
from giantstep.targets import BatchSource, make_teacher
from giantstep.theory.mei_montanari import (
    kernel_limit_risk, lambda_from_readout_ridge, linear_ridge_risk, readout_ridge_from_lambda, rf_ridge_risk,
)


def test_null_risk_at_infinite_ridge():
    """lambda -> inf: a -> 0, so R -> F1^2 + F*^2 (the null predictor), B -> 1, V -> 0."""
    r = rf_ridge_risk("relu", 2.0, 3.0, 1e9, F1=1.0, Fstar=0.5, noise=0.3)
    assert r.risk == pytest.approx(1.25, rel=1e-6)
    assert r.B == pytest.approx(1.0, rel=1e-6) and abs(r.V) < 1e-6


@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_wide_limit_is_kernel_ridge(act):
    """psi1 -> inf at fixed psi2 approaches kernel ridge, computed independently as linear ridge with
    ridge (mu*^2 + psi2 lambda)/(mu1^2 psi2) through the MP Stieltjes transform. The gap is
    O(1/psi1): 1e-2 relative at psi1 = 1e3 would be loose, we ask 3e-3."""
    want = kernel_limit_risk(act, 3.0, 1e-2, F1=1.0, Fstar=0.5, noise=0.3)
    got_far = rf_ridge_risk(act, 1e5, 3.0, 1e-2, 1.0, 0.5, 0.3).risk
    got_mid = rf_ridge_risk(act, 1e3, 3.0, 1e-2, 1.0, 0.5, 0.3).risk
    assert got_far == pytest.approx(want, rel=1e-4)
    assert got_mid == pytest.approx(want, rel=3e-3)
    assert abs(got_far - want) < abs(got_mid - want)  # monotone approach


def test_linear_ridge_formula_by_simulation():
    """The linear-ridge formula used by the kernel limit, vs simulation (d = 300, n = 600, 4 seeds).

    Tolerance: test error of ridge fluctuates by O(1/sqrt(d)) relative ~ 6% per seed -> 3% for the
    mean of 4, plus O(1/d) bias: 6% relative.
    """
    d, n, lam, sig2 = 300, 600, 0.2, 0.5
    bias, var = linear_ridge_risk(n / d, lam, 1.0, sig2)
    rng = np.random.default_rng(0)
    errs = []
    for _ in range(4):
        beta = rng.standard_normal(d); beta /= np.linalg.norm(beta)
        X = rng.standard_normal((n, d))
        y = X @ beta + math.sqrt(sig2) * rng.standard_normal(n)
        b = np.linalg.solve(X.T @ X / n + lam * np.eye(d), X.T @ y / n)
        errs.append(float(np.sum((b - beta) ** 2)))
    assert np.mean(errs) == pytest.approx(bias + var, rel=0.06)


def test_converter_round_trip():
    assert lambda_from_readout_ridge(0.3, 1.5) == pytest.approx(0.2)
    assert readout_ridge_from_lambda(0.2, 1.5) == pytest.approx(0.3)


def test_vectorised_curve_matches_pointwise():
    p1 = np.linspace(0.2, 5.0, 25)
    curve = rf_ridge_risk("tanh", p1, 2.0, 1e-3, 1.0, 0.3, 0.2).risk
    for j in (0, 7, 24):
        assert curve[j] == pytest.approx(rf_ridge_risk("tanh", float(p1[j]), 2.0, 1e-3, 1.0, 0.3, 0.2).risk, rel=1e-10)
    assert rf_ridge_risk("relu", 2.0, 3.0, 1e-3, 1.0, 0.0, 0.0).risk == pytest.approx(
        rf_ridge_risk("relu", 2.0, 3.0, 1e-3, 1.0, 0.0, 0.0).bias + rf_ridge_risk("relu", 2.0, 3.0, 1e-3, 1.0, 0.0, 0.0).variance)


@pytest.mark.parametrize("act,ridge", [("relu", 1.2), ("tanh", 0.4)])
def test_simulation_through_the_readout(act, ridge):
    """The simulator's readout ((1/n)||y - F a||^2 + ridge ||a||^2, centered, unit-norm rows) on
    d = 150, N = 600, n = 450 (psi1 = 4, psi2 = 3), linear teacher + noise tau = 0.5, 3 seeds,
    against Mei-Montanari at lambda = ridge / psi1.

    Tolerance: seed-to-seed sd of the test error is ~5% here (away from interpolation), so 3 seeds
    give ~3%; the O(1/sqrt(d)) finite-size bias is ~6% at d = 150: 10% relative in total. A wrong
    converter (lambda = ridge, off by psi1 = 4) shifts the prediction by > 25% (checked below).
    """
    d, N, n = 150, 600, 450
    psi1 = N / d
    pred = rf_ridge_risk(act, psi1, n / d, lambda_from_readout_ridge(ridge, psi1), 1.0, 0.0, 0.5).risk
    wrong = rf_ridge_risk(act, psi1, n / d, ridge, 1.0, 0.0, 0.5).risk
    errs = []
    for seed in range(3):
        W = init_weights(stream(seed, "weights"), N, d, "sphere")
        net = TwoLayerNetwork(W=W, a=init_second_layer(stream(seed, "a"), N), activation=get_activation(act))
        teacher = make_teacher(stream(seed, "teacher"), d, "he1", noise=0.5)
        fit = fit_ridge(net, BatchSource(seed, "train", n, teacher), ridge, None)
        errs.append(test_errors(net, fit, BatchSource(seed, "test", 4000, teacher), None)[0])
    assert np.mean(errs) == pytest.approx(pred, rel=0.10)
    assert abs(wrong - pred) / pred > 0.25


def test_bad_input():
    with pytest.raises(ConfigError, match="'psi1'"):
        rf_ridge_risk("relu", -1.0, 1.0, 0.1)
    with pytest.raises(ConfigError, match="'ridge_mm'"):
        rf_ridge_risk("relu", 1.0, 1.0, 0.0)
