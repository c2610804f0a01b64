"""Empirical-risk Hessian of the small-width network (docs/phase_transitions.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from giantstep.errors import ConfigError
from giantstep.hessian import (
    Eigs,
    hessian,
    hvp,
    learned_directions,
    outlier_report,
    risk_gradient,
    smallest_eigs,
)


def _problem(seed=1, m=3, d=7, n=200):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((m, d)) / np.sqrt(d)
    a = rng.standard_normal(m)
    X = rng.standard_normal((n, d))
    y = np.tanh(X[:, 0]) + X[:, 1] ** 2
    return W, a, X, y


@pytest.mark.parametrize("wrt", ["W", "Wa"])
@pytest.mark.parametrize("sigma", ["tanh", "softplus", "square"])
def test_hessian_equals_finite_differences_of_gradient(wrt, sigma):
    # central differences of the analytic gradient: error O(eps^2 * |grad'''|) + O(1e-16/eps) ~ 1e-10 << 1e-6
    W, a, X, y = _problem()
    m, d = W.shape
    H = hessian(W, a, sigma, X, y, wrt, chunk=64)
    theta = np.concatenate([W.ravel(), a]) if wrt == "Wa" else W.ravel()

    def grad(t):
        Wt = t[: m * d].reshape(m, d)
        at = t[m * d :] if wrt == "Wa" else a
        return risk_gradient(Wt, at, sigma, X, y, wrt)[1]

    eps = 1e-5
    P = theta.size
    fd = np.array([(grad(theta + eps * e) - grad(theta - eps * e)) / (2 * eps) for e in np.eye(P)]).T
    assert np.max(np.abs(H - fd)) <= 1e-6 * np.max(np.abs(H))
    assert np.allclose(H, H.T)


def test_quadratic_network_at_origin_is_minus_spectral_matrix():
    # docs/phase_transitions.md: m = 1, f = (w.x)^2, W = 0. With L = (1/2n) sum (y - f)^2 the Hessian is exactly
    # -(2/n) sum y x x^T; with the doc's (1/4n) normalisation, -(1/n) sum y x x^T.
    rng = np.random.default_rng(0)
    n, d = 300, 12
    X = rng.standard_normal((n, d))
    y = (X[:, 0] ** 2) + 0.1 * rng.standard_normal(n)
    H = hessian(np.zeros((1, d)), np.ones(1), "square", X, y, chunk=77)
    D = (X * y[:, None]).T @ X / n
    np.testing.assert_allclose(H, -2.0 * D, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(0.5 * H, -D, rtol=1e-12, atol=1e-13)


def test_chunking_does_not_change_the_hessian():
    W, a, X, y = _problem(seed=4)
    np.testing.assert_allclose(hessian(W, a, "tanh", X, y, "Wa", chunk=None), hessian(W, a, "tanh", X, y, "Wa", chunk=13),
                               rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("wrt", ["W", "Wa"])
def test_hvp_and_lanczos_agree_with_dense(wrt):
    W, a, X, y = _problem(seed=2, m=4, d=30, n=400)
    H = hessian(W, a, "tanh", X, y, wrt)
    v = np.random.default_rng(5).standard_normal(H.shape[0])
    np.testing.assert_allclose(hvp(W, a, "tanh", X, y, v, wrt, chunk=50), H @ v, rtol=1e-11, atol=1e-12)
    dense = smallest_eigs(W, a, "tanh", X, y, 5, wrt, method="dense")
    lanczos = smallest_eigs(W, a, "tanh", X, y, 5, wrt, method="lanczos")
    np.testing.assert_allclose(lanczos.values, dense.values, rtol=1e-8, atol=1e-10)
    # eigenvectors up to sign
    overlaps = np.abs(np.sum(lanczos.vectors * dense.vectors, axis=0))
    assert np.all(overlaps > 1 - 1e-6)


def test_planted_outlier_report():
    # H = diag with one planted negative direction along theta* (block of neuron 0): overlap 1, gap known
    d, m, k = 20, 2, 1
    theta = np.zeros((d, k))
    theta[3, 0] = 1.0
    P = m * d
    vals = np.concatenate([[-2.0], np.linspace(-0.5, 1.0, P - 1)])
    vecs = np.eye(P)[:, [3] + [i for i in range(P) if i != 3]]
    rep = outlier_report(Eigs(vals, vecs), m, d, theta, np.zeros((m, d)))
    assert rep.q == 1 and rep.learned == 0
    assert rep.gap == pytest.approx(1.5) and rep.edge == pytest.approx(-0.5)
    assert rep.overlap_theta == pytest.approx(1.0) and rep.overlap_new == pytest.approx(1.0)
    # once neuron 1 has learned theta*, the outlier direction is no longer "new"
    W = np.zeros((m, d))
    W[1, 3] = 1.0
    rep2 = outlier_report(Eigs(vals, vecs), m, d, theta, W)
    assert rep2.learned == 1 and rep2.overlap_new == pytest.approx(0.0) and rep2.overlap_theta == pytest.approx(1.0)


def test_next_direction_is_the_eigenpair_along_the_new_directions():
    # k = 2, theta_1 learned by the neuron; the planted eigenvector along theta_2 is the third smallest (below
    # it: one along theta_1, one random): next_* picks it, with its eigenvalue and its mass in theta_2 (0.81)
    d, m = 30, 1
    theta = np.eye(d)[:, [4, 9]]
    W = np.zeros((m, d))
    W[0, 4] = 2.0
    P = m * d
    rng = np.random.default_rng(0)
    vals = np.sort(rng.uniform(-1.0, 1.0, P))
    vecs = np.linalg.qr(rng.standard_normal((P, P)))[0]
    vecs[:, 0] = np.eye(P)[4]
    v = np.zeros(P)
    v[9], v[11] = 0.9, math.sqrt(1 - 0.81)
    vecs[:, 2] = v
    rep = outlier_report(Eigs(vals, vecs), m, d, theta, W)
    assert rep.learned == 1 and rep.next_index == 2
    assert rep.next_value == vals[2] and rep.next_overlap == pytest.approx(0.81)
    full = outlier_report(Eigs(vals, vecs), m, d, theta, np.zeros((m, d)))  # nothing learned: theta_1 counts too
    assert full.next_index == 0 and full.next_overlap == pytest.approx(1.0)
    W2 = np.zeros((2, d))  # two neurons, one per direction: both learned, no next direction
    W2[0, 4], W2[1, 9] = 2.0, 2.0
    done = outlier_report(Eigs(np.linspace(-1, 1, 2 * d), np.eye(2 * d)), 2, d, theta, W2)
    assert done.learned == 2 and done.next_index == -1 and math.isnan(done.next_value)


def test_learned_directions_ignores_tiny_neurons():
    theta = np.eye(5)[:, :2]
    W = np.zeros((2, 5))
    W[0, 0] = 1e-6  # aligned but still at the origin
    W[1, 1] = 0.8
    L = learned_directions(W, theta)
    assert L.shape == (2, 1) and abs(L[1, 0]) == pytest.approx(1.0)


def test_bad_wrt():
    W, a, X, y = _problem()
    with pytest.raises(ConfigError, match="'wrt'"):
        hessian(W, a, "tanh", X, y, "a")
