"""GE + deterministic-equivalent ridge risk conditional on W: simulation and Mei-Montanari."""

import math

import numpy as np
import pytest

from giantstep.activations import get_activation
from giantstep.errors import ConfigError
from giantstep.hermite import hermite_constants
from giantstep.network import TwoLayerNetwork, init_second_layer, init_weights
from giantstep.readout import fit_ridge, test_errors
from giantstep.seeding import stream
from giantstep.targets import BatchSource, Teacher
from giantstep.theory.ge_ridge import best_linear_error, ge_ridge_risk
from giantstep.theory.mei_montanari import rf_ridge_risk

D, N, NS = 300, 450, 600


def _setup(seed, act, spike=0.0):
    W = init_weights(stream(seed, "weights"), N, D, "gaussian")
    theta = stream(seed, "teacher").standard_normal(D)
    theta /= np.linalg.norm(theta)
    if spike:
        # a planted small-step update along theta (alpha = 0 regime: rows stay of norm ~ 1)
        a = init_second_layer(stream(seed, "a"), N)
        W = W + spike * np.outer(a / np.linalg.norm(a), theta)
    return W, theta


@pytest.mark.parametrize("act,link,spike", [("relu", "tanh", 0.0), ("tanh", "he1+0.5*he2", 0.0), ("tanh", "tanh", 2.5)])
def test_simulation_conditional_on_w(act, link, spike):
    """Readout of the simulator on features of a fixed W (d = 300, N = 450, n = 600, ridge 1e-2,
    noise 0.3), 3 data seeds, vs the DE conditional on the same W.

    Tolerance: over data draws the test error has relative sd ~ 1/sqrt(n) x few ~ 5% per seed ->
    3% for 3 seeds; GE is exact only asymptotically (O(1/sqrt(d)) ~ 6% bias at d = 300): 8% relative.
    """
    W, theta = _setup(1, act, spike)
    pred = ge_ridge_risk(W, theta, act, link, NS, 1e-2, noise=0.3)
    teacher = Teacher(theta[:, None], get_activation(link), 0.3)
    net = TwoLayerNetwork(W=W, a=np.ones(N), activation=get_activation(act))
    errs = []
    for seed in range(3):
        fit = fit_ridge(net, BatchSource(seed, "train", NS, teacher), 1e-2, None)
        errs.append(test_errors(net, fit, BatchSource(seed, "test", 3000, teacher), None)[0])
    assert np.mean(errs) == pytest.approx(pred.test_error, rel=0.08)
    assert pred.test_error >= pred.irreducible >= 0


def test_average_over_w_is_mei_montanari():
    """Theory 1.5: the DE averaged over W reproduces Mei-Montanari (psi1 = 1.5, psi2 = 2,
    lambda = ridge/psi1). Fluctuation over W ~5% at d = 800 (about 8% at d = 300); 3 draws: 6%."""
    act, link = "tanh", "tanh"
    vals = []
    for seed in range(3):
        W, theta = _setup(seed, act)
        vals.append(ge_ridge_risk(W, theta, act, link, NS, 1e-2).test_error)
    h = hermite_constants(link)
    fstar = math.sqrt(h.second_moment - h.mu0**2 - h.mu1**2)
    mm = rf_ridge_risk(act, N / D, NS / D, 1e-2 / (N / D), abs(h.mu1), fstar, 0.0).risk
    assert np.mean(vals) == pytest.approx(mm, rel=0.06)


def test_infinite_ridge_and_best_linear():
    W, theta = _setup(0, "relu")
    r = ge_ridge_risk(W, theta, "relu", "he1+0.5*he2", NS, 1e8)
    # null predictor: error = Var(g) = 1 + 0.25
    assert r.test_error == pytest.approx(1.25, rel=1e-5)
    assert best_linear_error("he1+0.5*he2") == pytest.approx(0.25, abs=1e-9)
    assert best_linear_error("he1") == pytest.approx(0.0, abs=1e-9)


def test_bad_input():
    W, theta = _setup(0, "relu")
    with pytest.raises(ConfigError, match="'theta'"):
        ge_ridge_risk(W, theta[:-1], "relu", "he1", NS, 1e-2)
    with pytest.raises(ConfigError, match="'ridge'"):
        ge_ridge_risk(W, theta, "relu", "he1", NS, -1.0)


@pytest.mark.parametrize("ridge", [0.0, 0.1])
def test_a_constant_activation_is_outside_the_domain(ridge):
    # sigma = 0 (mu1 = mu* = 0): every feature eigenvalue is 0 and the fixed point divided 0 by 0
    from giantstep.errors import ValidityError

    rng = np.random.default_rng(0)
    W = rng.standard_normal((30, 20)) / math.sqrt(20)
    theta = np.ones(20) / math.sqrt(20)
    with pytest.raises(ValidityError, match="must vary"):
        ge_ridge_risk(W, theta, "0", "tanh", n=10, ridge=ridge)
