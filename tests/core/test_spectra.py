"""Spectral fast path and outlier rule: agreement with LAPACK SVD, planted rank-one spikes (BBP),
exact outlier counts, and the rule on maximal-step spectra (planted spikes on a real post-step bulk)."""

import math

import numpy as np
import pytest

from giantstep.linalg import singular_values, top_singular
from giantstep.spectra import count_outliers, initial_edge, overlaps, spectrum
from giantstep.experiments.kinds import parse_config
from giantstep.experiments.steps import build, train
from giantstep.theory.bbp import rectangular


@pytest.mark.parametrize("shape", [(300, 200), (200, 300), (256, 256)])
def test_fast_path_matches_svd(shape):
    rng = np.random.default_rng(0)
    A = rng.standard_normal(shape) / math.sqrt(shape[1])
    A += 3.0 * np.outer(rng.standard_normal(shape[0]), rng.standard_normal(shape[1])) / math.sqrt(shape[0] * shape[1])
    U, s, Vt = np.linalg.svd(A)
    pairs = top_singular(A, 10)
    assert np.allclose(pairs.s, s[:10], rtol=1e-8, atol=0)
    # vectors agree up to sign where the singular values are separated
    for j in range(3):
        assert abs(abs(pairs.V[:, j] @ Vt[j]) - 1) < 1e-8
        assert abs(abs(pairs.U[:, j] @ U[:, j]) - 1) < 1e-8
    assert np.allclose(singular_values(A), s, rtol=1e-8, atol=1e-10)


def _planted(rng, p, q, theta):
    """X (p x q, p <= q, entries N(0, 1/q)) + theta u v^T with unit u, v."""
    X = rng.standard_normal((p, q)) / math.sqrt(q)
    u = rng.standard_normal(p)
    v = rng.standard_normal(q)
    u /= np.linalg.norm(u)
    v /= np.linalg.norm(v)
    return X + theta * np.outer(u, v), u, v


@pytest.mark.parametrize("p,q,theta", [(600, 600, 2.0), (400, 1600, 1.5), (600, 600, 0.6), (400, 1600, 0.5)])
def test_planted_spike_reproduces_bbp(p, q, theta):
    c = p / q
    pred = rectangular(c, theta)
    runs = 4
    tops, lefts, rights, counts = [], [], [], []
    for seed in range(runs):
        rng = np.random.default_rng(100 + seed)
        M, u, v = _planted(rng, p, q, theta)
        spec = spectrum(M, 5)
        tops.append(spec.pairs.s[0])
        lefts.append(float(spec.pairs.U[:, 0] @ u) ** 2)
        rights.append(float(spec.pairs.V[:, 0] @ v) ** 2)
        counts.append(spec.outliers)
    tops, lefts, rights = map(np.array, (tops, lefts, rights))
    if pred.outlier:
        # Outlier location and overlaps fluctuate as O(p^{-1/2}) (Gaussian fluctuations of a BBP
        # outlier); the finite-size bias is O(1/p). Tolerance: 4 standard errors over the runs
        # plus 2/sqrt(p) (a generous bound on the O(p^{-1/2}) scale when the standard error of
        # 4 runs is itself uncertain).
        for meas, want in ((tops, pred.top), (lefts, pred.left_overlap2), (rights, pred.right_overlap2)):
            tol = 4 * meas.std(ddof=1) / math.sqrt(runs) + 2 / math.sqrt(p)
            assert abs(meas.mean() - want) < tol, (meas.mean(), want, tol)
        assert all(cnt == 1 for cnt in counts)
    else:
        # Below threshold the top value sticks to the edge within Tracy-Widom fluctuations
        # (scale p^{-2/3}; 4 of them allowed), and the squared overlaps vanish as p grows
        # (they are O(p^{-1/3}) at the edge): 0.25 is far below the above-threshold values.
        assert np.all(np.abs(tops - pred.edge) < 4 * p ** (-2 / 3) * pred.edge)
        assert lefts.mean() < 0.25 and rights.mean() < 0.25
        assert all(cnt == 0 for cnt in counts)


def test_initial_edge_and_no_false_outliers():
    rng = np.random.default_rng(7)
    for N, d in [(400, 400), (800, 200), (200, 800)]:
        W = rng.standard_normal((N, d)) / math.sqrt(d)
        spec = spectrum(W, 10)
        edge = initial_edge(N, d)
        assert abs(edge - (1 + math.sqrt(N / d))) < 1e-12
        assert spec.outliers == 0
        # the fitted edge sits within a few Tracy-Widom scales (C ~ p^(-2/3) edge) of the MP edge
        assert abs(spec.bulk_edge - edge) < 3 * spec.edge_scale
        assert 0.2 * min(N, d) ** (-2 / 3) * edge < spec.edge_scale < 5 * min(N, d) ** (-2 / 3) * edge


def test_overlaps_shape_and_values():
    V = np.eye(5)[:, :3]
    theta = np.eye(5)[:, [0, 4]]
    ov = overlaps(V, theta)
    assert ov.shape == (3, 2)
    assert ov[0, 0] == 1 and ov[1, 0] == 0 and ov[0, 1] == 0


def test_left_hermite_parts_planted():
    """Planted parts m_j h_j b_j^T plus a bulk whose rows scale with |a_i| (as an update's do):
    the noise-corrected parts recover m_j within a few times their sampling scale, a part with
    nothing planted comes out at the bulk's fluctuation level, and without a bulk the parts are exact."""
    from giantstep.spectra import left_hermite_parts

    rng = np.random.default_rng(3)
    N, d = 3000, 1500
    a = rng.standard_normal(N)
    H, R = np.linalg.qr(np.vander(a, 4, increasing=True))
    H *= np.sign(np.diag(R))
    b = rng.standard_normal((4, d)) / np.sqrt(d)
    planted = np.array([0.0, 2.0, 0.0, 0.5])
    S = (H * planted) @ b
    parts, noise = left_hermite_parts(S, a, 3)
    assert np.allclose(parts, planted * np.linalg.norm(b, axis=1), atol=1e-12) and np.allclose(noise, 0.0, atol=1e-12)
    bulk = 0.1 * np.abs(a)[:, None] * rng.standard_normal((N, d)) / np.sqrt(d)
    parts, noise = left_hermite_parts(S + bulk, a, 3)
    target = planted * np.linalg.norm(b, axis=1)
    # bulk energy along h_j: 0.01 sum_i h_ji^2 a_i^2 (e.g. 7 x 0.01 for He3); its estimate's error is
    # O(noise^2 / sqrt(d)) and the cross term O(m_j noise / sqrt(d)): allow 5 of those scales
    scale = noise**2 / np.sqrt(d) + target * noise / np.sqrt(d)
    assert noise[3] == pytest.approx(0.1 * np.sqrt(np.sum(H[:, 3] ** 2 * a**2)), rel=0.05)
    assert np.all(np.abs(parts**2 - target**2) <= 5 * scale + 1e-12)


def _plant(B, thetas, rng):
    """B + sum_i theta_i u_i v_i^T with orthonormal random u_i (left) and v_i (right)."""
    U, _ = np.linalg.qr(rng.standard_normal((B.shape[0], len(thetas))))
    V, _ = np.linalg.qr(rng.standard_normal((B.shape[1], len(thetas))))
    return B + (U * np.asarray(thetas)) @ V.T


@pytest.mark.parametrize("k", [12, 21, 45])
def test_outlier_count_is_not_capped_by_top(k):
    """k strong spikes on a Marchenko-Pastur bulk: the count is k whatever ``top`` is (45 > p / 8
    = 37 also exercises the doubling of the scan's depth)."""
    rng = np.random.default_rng(4)
    B = rng.standard_normal((300, 600)) / math.sqrt(600)
    M = _plant(B, np.linspace(4.0, 9.0, k), rng)
    for top in (1, 3, 10, 40):
        spec = spectrum(M, top)
        assert spec.outliers == k, (top, spec.outliers)
        assert len(spec.pairs.s) == top
    # the same count from every singular value
    assert spectrum(M, 3, full=True).outliers == k


def test_count_outliers_scan():
    """The rule on a noiseless square-root edge: values above E + 2.5 C are outliers, however many."""
    bulk = 2.0 - 0.05 * (np.arange(1, 60) - 0.5) ** (2 / 3)
    assert count_outliers(bulk, 16, 24).outliers == 0
    fit = count_outliers(np.concatenate([[3.0, 2.5, 2.2], bulk]), 16, 24)
    assert fit.outliers == 3 and abs(fit.edge - 2.0) < 1e-12 and abs(fit.scale - 0.05) < 1e-12
    # 2.0 + 2.4 C is inside the margin, 2.0 + 2.6 C is not
    assert count_outliers(np.concatenate([[2.0 + 2.4 * 0.05], bulk]), 16, 24).outliers == 0
    assert count_outliers(np.concatenate([[2.0 + 2.6 * 0.05], bulk]), 16, 24).outliers == 1
    # every allowed value an outlier, or one inside the deepest window: more values are needed
    # (None), unless there are no more
    many = np.concatenate([np.linspace(9, 5, 16), bulk])
    assert count_outliers(many, 16, 24) is None
    assert count_outliers(many, 15, 24) is None
    assert count_outliers(many[: 16 + 24], 16, 24).outliers == 16
    assert count_outliers(many, 32, 24).outliers == 16


def _maximal_step(seed, d=512, width=512, n=1024, layer="rademacher"):
    cfg = parse_config({"kind": "steps", "seed": seed, "d": d, "width": width, "n": n, "activation": "relu",
                        "second_layer": layer, "teacher": {"link": "relu"}, "steps": [{"eta0": 1.0, "alpha": 0.5}],
                        "theory": False})
    net0, teacher = build(cfg)
    return cfg, net0.W, train(cfg, net0, teacher).weights[1]


@pytest.mark.parametrize("seed,layer", [(0, "rademacher"), (1, "rademacher"), (2, "gaussian")])
def test_maximal_step_outliers(seed, layer):
    """A maximal step (alpha = 1/2) with relu rescales the rows of W0 and spreads the top of the
    bulk into a smooth tail far above the MP edge of the same second moment. The rule counts the
    one spike the theory predicts, in W1 and in the update; the tail alone (W1 with its spike
    removed) has no outlier; k spikes planted on that tail are counted exactly.

    Planted strengths theta_i >= 1.5 s_1(B): the planted matrix has k values >= min theta_i -
    ||U^T B V|| > s_1(B) (Courant-Fischer on span V), and by interlacing its (k+1)-th value is
    <= s_1(B), so exactly k values leave the bulk; the rule must count them and nothing else.
    """
    from giantstep.theory.srf import srf_parameters

    cfg, W0, W1 = _maximal_step(seed, layer=layer)
    # the sRF picture of a maximal step (docs/theory.md, spiked random features): W1 ~ sqrt(c) W0' +
    # r a v^T, one rank-one spike of singular value r ||a|| = r sqrt(N), far above the O(1) bulk
    par = srf_parameters("relu", "relu", 1.0, cfg.n / cfg.d)
    assert par.r * math.sqrt(cfg.width) > 2 * (1 + math.sqrt(cfg.width / cfg.d)) * math.sqrt(par.c)
    predicted = 1
    spec = spectrum(W1, 10)
    assert spec.outliers == predicted
    assert spectrum(W1 - W0, 10).outliers == predicted
    # the tail: W1 without its spike, well above the MP edge of its second moment
    s, U, V = spec.pairs
    B = W1 - s[0] * np.outer(U[:, 0], V[:, 0])
    p, q = min(B.shape), max(B.shape)
    mp = math.sqrt(float(np.sum(B * B)) / (p * q)) * (math.sqrt(p) + math.sqrt(q))
    tail = spectrum(B, 10)
    assert tail.outliers == 0
    if layer == "rademacher":  # rows rescaled by 1 +- kappa: the tail lies above the MP edge of its second moment
        assert tail.bulk_edge > mp * (1 + 4 * p ** (-2 / 3))
    rng = np.random.default_rng(100 + seed)
    top_bulk = float(tail.pairs.s[0])
    for k in (1, 2, 5, 9):
        thetas = top_bulk * (1.5 + 0.25 * np.arange(k))
        assert spectrum(_plant(B, thetas, rng), 3).outliers == k
    assert spectrum(_plant(B, [2 * top_bulk, 2 * top_bulk], rng), 3).outliers == 2  # equal spikes (k-index teachers)
