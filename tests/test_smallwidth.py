"""Small-width networks, full-batch GD, the phase-end rule and the ``phase`` experiment kind."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from giantstep.errors import ConfigError
from giantstep.experiments.phase import PhaseConfig, predictions, run
from giantstep.experiments.validation import validate
from giantstep.smallwidth import (
    best_neuron_overlap,
    forward,
    init_small,
    phase_end,
    risk_and_grad,
    subspace_overlap,
    train,
)
from giantstep.targets import make_teacher, sample_inputs


def _setup(seed=0, m=3, d=15, n=120, link="square"):
    rng = np.random.default_rng(seed)
    teacher = make_teacher(rng, d, link, 1, 0.0, "sum")
    X = sample_inputs(rng, n, d)
    y = teacher.labels(X)
    net = init_small(rng, m, d, "tanh", scale=1.0, second_layer="gaussian")
    return replace(net, b=0.3), teacher, X, y


def test_gradient_matches_finite_differences_of_risk():
    net, _, X, y = _setup()
    L, gW, ga, gb = risk_and_grad(net, X, y, chunk=17)
    eps = 1e-6
    for idx in [(0, 0), (1, 4), (2, 14)]:
        E = np.zeros_like(net.W)
        E[idx] = eps
        fd = (risk_and_grad(replace(net, W=net.W + E), X, y)[0] - risk_and_grad(replace(net, W=net.W - E), X, y)[0]) / (2 * eps)
        assert fd == pytest.approx(gW[idx], rel=1e-6, abs=1e-10)
    fa = (risk_and_grad(replace(net, a=net.a + eps * np.eye(3)[1]), X, y)[0]
          - risk_and_grad(replace(net, a=net.a - eps * np.eye(3)[1]), X, y)[0]) / (2 * eps)
    assert fa == pytest.approx(ga[1], rel=1e-6)
    fb = (risk_and_grad(replace(net, b=net.b + eps), X, y)[0] - risk_and_grad(replace(net, b=net.b - eps), X, y)[0]) / (2 * eps)
    assert fb == pytest.approx(gb, rel=1e-6)
    assert L == pytest.approx(0.5 * np.mean((y - forward(net, X)) ** 2), rel=1e-12)


def test_chunking_invariance():
    net, _, X, y = _setup(seed=2)
    a = risk_and_grad(net, X, y, chunk=None)
    b = risk_and_grad(net, X, y, chunk=7)
    assert a[0] == pytest.approx(b[0], rel=1e-13)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-12, atol=1e-15)


def test_phase_end_rule():
    assert phase_end(np.array([1e-9, 1.0]), floor=1e-6) == 0  # starts at a stationary point
    assert phase_end(np.array([1.0, 2.0, 1.5, 0.03, 0.01]), rho=0.01) == 4  # decayed to 1% of the peak 2.0
    assert phase_end(np.array([1.0, 2.0, 3.0])) is None  # still growing


def test_training_records_overlaps_and_decreases_risk():
    net, teacher, X, y = _setup(seed=3)
    traj = train(net, X, y, lr=0.05, steps=40, theta=teacher.theta, train_a=True, train_bias=True, record_every=5)
    assert traj.overlaps.shape == (9, 3, 1) and traj.steps[-1] == 40
    np.testing.assert_allclose(traj.overlaps[-1], traj.net.W @ teacher.theta)
    assert np.all(np.diff(traj.risk) <= 1e-12)  # small-step GD descends


def test_planted_quadratic_network_learns_phase_retrieval():
    # y = z^2, f = (w.x)^2 + b: the global minimiser is w = +-theta*, b = 0; from a small init GD escapes
    # the saddle along the top of D_{y - mean y}, informative at delta = 8 >> delta_T
    rng = np.random.default_rng(1)
    d, n = 40, 320
    teacher = make_teacher(rng, d, "square", 1, 0.0, "sum")
    X = sample_inputs(rng, n, d)
    y = teacher.labels(X)
    net = init_small(rng, 1, d, "square", scale=1e-4, second_layer="ones")
    traj = train(net, X, y, lr=0.05, steps=400, theta=teacher.theta, train_bias=True, record_every=50)
    assert best_neuron_overlap(traj.net.W, teacher.theta) > 0.95
    assert traj.phase_end is not None and traj.phase_end < 400


def test_overlap_measures():
    theta = np.linalg.qr(np.random.default_rng(0).standard_normal((50, 2)))[0]
    assert subspace_overlap(theta.T, theta) == pytest.approx(1.0)
    W = np.random.default_rng(1).standard_normal((3, 50))
    assert subspace_overlap(W, theta) < 0.3  # ~ m/d = 0.06 for random rows


def test_bad_second_layer():
    with pytest.raises(ConfigError, match="'second_layer'"):
        init_small(np.random.default_rng(0), 2, 5, "tanh", 1.0, "zeros")


# ---- the ``phase`` experiment kind ----------------------------------------------------------------


def _cfg(**kw):
    base = {"kind": "phase", "d": 60, "delta": 4.0, "teacher": {"link": "tanh", "k": 1, "combine": "norm"},
            "gd": {"lr": 0.2, "steps": 150}, "theory": False}
    base.update(kw)
    return validate(PhaseConfig, base)


def test_phase_run_metrics_and_saddle_hessian():
    res = run(_cfg())
    m = res.metrics
    for key in ("final_overlap", "hess_min", "hess_gap", "outlier_overlap", "phase_end_step", "hess_outlier_mean"):
        assert key in m and math.isfinite(m[key])
    # the large-gradient phase (fitting the bias) ends before the network leaves the saddle
    assert 0 < m["phase_end_step"] < 60 and m["learned"] == 0
    assert m["hess_min"] < 0 < m["hess_gap"]
    assert res.arrays["overlaps"].shape[1:] == (1, 1)
    json.dumps(res.record, allow_nan=False)


def test_width_two_at_the_saddle_reports_each_outlier_once():
    # Two neurons at the saddle (second layer ones): the Hessian is diag(-2 D_T, -2 D_T), so every
    # eigenvalue of D_T appears twice. The outlier, the bulk edge below it and the overlap must be
    # those of width 1 on the same batch (the batch and Theta* do not depend on the width; the bias
    # at the end of the phase may differ by the GD steps taken, hence the 1e-3 tolerance). Before
    # the copies were counted, width 2 reported the outlier's second copy as the bulk edge (gap 0).
    one, two = run(_cfg(delta=6.0)).metrics, run(_cfg(delta=6.0, width=2)).metrics
    assert two["hess_min"] == pytest.approx(two["hess_min2"], rel=1e-9)  # the two copies
    for key in ("hess_outlier_mean", "hess_edge", "hess_gap", "outlier_overlap"):
        assert two[key] == pytest.approx(one[key], rel=1e-3, abs=1e-6), key
    assert two["hess_gap"] > 0.01 * abs(two["hess_edge"])


def test_phase_predictions_apply_at_the_saddle():
    p = predictions(_cfg(theory=True))
    assert p["delta_alg"] == pytest.approx(0.5, abs=1e-6)
    assert p["delta_T"] == pytest.approx(0.6498, abs=1e-3)
    assert p["hess_min_pred"] < 0 and 0 < p["outlier_overlap_pred"] < 1
    # an activation with sigma'(0) != 0 has a Gauss-Newton part at W = 0: no spectral-method prediction
    q = predictions(_cfg(theory=True, activation="tanh"))
    assert math.isnan(q["delta_T"])


def test_phase_config_errors():
    with pytest.raises(ConfigError, match="'width'"):
        _cfg(width=20)
    with pytest.raises(ConfigError, match="'teacher.k'"):
        _cfg(d=3, teacher={"link": "tanh", "k": 4, "combine": "norm"})


def test_cli_run_phase(cli, tmp_path):
    pytest.importorskip("giantstep.experiments.steps")
    cfg = tmp_path / "phase.yaml"
    cfg.write_text("kind: phase\nd: 40\ndelta: 3.0\ngd: {lr: 0.2, steps: 60}\ntheory: false\n")
    r = cli("run", str(cfg), "--json")
    assert r.returncode == 0, r.stderr
    rec = json.loads(r.stdout)
    assert rec["kind"] == "phase" and rec["sizes"]["n"] == 120
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: phase\nd: 40\ndelta: -1\n")
    r2 = cli("run", str(bad))
    assert r2.returncode == 2 and "delta" in r2.stderr
