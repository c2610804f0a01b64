"""BBP transitions: special points, continuity, the additive form, and planted simulations."""

import math

import numpy as np
import pytest

from giantstep.errors import ConfigError
from giantstep.linalg import top_singular
from giantstep.theory.bbp import (
    additive_spike_mp, rectangular, spiked_covariance, spiked_covariance_strength, spiked_wigner,
)


def test_special_points():
    r = rectangular(1.0, 2.0)
    assert (r.top, r.edge, r.left_overlap2, r.right_overlap2, r.outlier) == (2.5, 2.0, 0.75, 0.75, True)
    w = spiked_wigner(2.0)
    assert (w.top, w.left_overlap2) == (2.5, 0.75)
    c = spiked_covariance(0.5, 2.0)
    assert c.top == pytest.approx(3.75) and c.left_overlap2 == pytest.approx(0.7)
    assert c.edge == pytest.approx(2.9142135624)


@pytest.mark.parametrize("aspect,ell", [(0.5, 2.0), (2.0, 1.6), (1.0, 1.0001), (0.1, 40.0)])
def test_spiked_covariance_strength_inverts_the_top(aspect, ell):
    """The fitted strength of a top eigenvalue is the strength that produced it; below the edge, 0."""
    top = spiked_covariance(aspect, ell).top
    assert spiked_covariance_strength(aspect, top) == pytest.approx(ell, rel=1e-9)
    assert spiked_covariance_strength(aspect, (1 + aspect**0.5) ** 2 * 0.999) == 0.0


@pytest.mark.parametrize("c", [0.25, 0.5, 1.0])
def test_continuity_at_threshold(c):
    """At theta = c^{1/4} the outlier meets the edge and the overlaps vanish."""
    th = c**0.25
    below, above = rectangular(c, th * (1 - 1e-9)), rectangular(c, th * (1 + 1e-7))
    assert not below.outlier and above.outlier
    assert above.top == pytest.approx(1 + math.sqrt(c), abs=1e-6)
    assert above.left_overlap2 == pytest.approx(0.0, abs=1e-6) and above.right_overlap2 == pytest.approx(0.0, abs=1e-6)
    assert spiked_wigner(1 + 1e-9).top == pytest.approx(2.0, abs=1e-8)
    assert spiked_covariance(0.5, math.sqrt(0.5) * (1 + 1e-9)).top == pytest.approx((1 + math.sqrt(0.5)) ** 2, abs=1e-7)


@pytest.mark.parametrize("c,theta", [(1.0, 2.0), (0.5, 1.5), (0.25, 3.0), (2 / 3, 1.2)])
def test_rectangular_equals_additive_gram_form(c, theta):
    """Rectangular BBP restated as an additive spike on the Gram matrix (the form one_step uses).

    With X (n x m), c = n/m, split X = u g^T + X_perp (g = X^T u): (X + theta u v^T)^T (...) =
    X_perp^T X_perp + q q^T with ||q||^2 = 1 + theta^2, and X^T X (m x m) has law c MP(1/c).
    The top value and the m-side overlap (times <q/||q||, v>^2 = theta^2/(1+theta^2)) must agree.
    """
    r = rectangular(c, theta)
    a = additive_spike_mp(1.0 / c, c, 1.0 + theta**2)  # X^T X (m x m) = c * MP(1/c)
    assert math.sqrt(a.top) == pytest.approx(r.top, rel=1e-9)
    assert a.left_overlap2 * theta**2 / (1 + theta**2) == pytest.approx(r.right_overlap2, rel=1e-8)


def test_rectangular_simulation():
    """n = 400, m = 800 (c = 1/2), theta = 1.5, 3 seeds.

    Tolerance: the outlier fluctuates by O(n^{-1/2}) ~ 0.05 (one seed) and the squared overlaps by
    O(n^{-1/2}) ~ 0.05; with the mean of 3 seeds, 0.05 absolute is > 2 sd.
    """
    n, m, theta = 400, 800, 1.5
    pred = rectangular(n / m, theta)
    rng = np.random.default_rng(7)
    tops, lo, ro = [], [], []
    for _ in range(3):
        X = rng.standard_normal((n, m)) / math.sqrt(m)
        u = rng.standard_normal(n); u /= np.linalg.norm(u)
        v = rng.standard_normal(m); v /= np.linalg.norm(v)
        p = top_singular(X + theta * np.outer(u, v), 1)
        tops.append(p.s[0]); lo.append((p.U[:, 0] @ u) ** 2); ro.append((p.V[:, 0] @ v) ** 2)
    assert np.mean(tops) == pytest.approx(pred.top, abs=0.05)
    assert np.mean(lo) == pytest.approx(pred.left_overlap2, abs=0.05)
    assert np.mean(ro) == pytest.approx(pred.right_overlap2, abs=0.05)
    assert pred.left_overlap2 > pred.right_overlap2  # the smaller side aligns better


def test_wigner_and_covariance_simulation():
    """Spiked Wigner n = 800, theta = 2; spiked covariance n = 1600, d = 800, l = 2 (one seed each).

    Tolerance: outlier O(n^{-1/2}) ~ 0.035 x 3 = 0.1; overlap^2 O(n^{-1/2}) ~ 0.04 x 2 = 0.08.
    """
    rng = np.random.default_rng(11)
    n = 800
    G = rng.standard_normal((n, n))
    H = (G + G.T) / math.sqrt(2 * n)
    u = rng.standard_normal(n); u /= np.linalg.norm(u)
    ev, V = np.linalg.eigh(H + 2.0 * np.outer(u, u))
    pw = spiked_wigner(2.0)
    assert ev[-1] == pytest.approx(pw.top, abs=0.1) and (V[:, -1] @ u) ** 2 == pytest.approx(pw.left_overlap2, abs=0.08)

    nn, d, ell = 1600, 800, 2.0
    v = rng.standard_normal(d); v /= np.linalg.norm(v)
    Z = rng.standard_normal((nn, d))
    X = Z + (math.sqrt(1 + ell) - 1) * np.outer(Z @ v, v)  # covariance I + l v v^T
    ev, V = np.linalg.eigh(X.T @ X / nn)
    pc = spiked_covariance(d / nn, ell)
    assert ev[-1] == pytest.approx(pc.top, abs=0.15) and (V[:, -1] @ v) ** 2 == pytest.approx(pc.left_overlap2, abs=0.08)


def test_additive_simulation():
    """A + theta v v^T with A = W^T W, W (300 x 600) entries 1/600: law (1/2) MP(2) -- 2 seeds.

    Tolerance: outlier and overlap^2 fluctuate by O(d^{-1/2}) ~ 0.04; 0.08 absolute for the mean.
    """
    rng = np.random.default_rng(5)
    N, d, theta = 300, 600, 3.0
    pred = additive_spike_mp(d / N, N / d, theta)
    tops, ovs = [], []
    for _ in range(2):
        W = rng.standard_normal((N, d)) / math.sqrt(d)
        v = rng.standard_normal(d); v /= np.linalg.norm(v)
        ev, V = np.linalg.eigh(W.T @ W + theta * np.outer(v, v))
        tops.append(ev[-1]); ovs.append((V[:, -1] @ v) ** 2)
    assert np.mean(tops) == pytest.approx(pred.top, abs=0.08)
    assert np.mean(ovs) == pytest.approx(pred.left_overlap2, abs=0.08)


def test_bad_input():
    with pytest.raises(ConfigError, match="'aspect' parameter must be a float in \\(0, 1\\]"):
        rectangular(1.5, 2.0)
    with pytest.raises(ConfigError, match="'theta'"):
        rectangular(0.5, -1.0)
