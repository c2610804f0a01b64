"""C3's feature-spectrum rows: the empirical Stieltjes transform, the c shift, and what the quick run
(the committed fixture, tests/claims/data) shows: the network's own rows detect a wrong bulk inflation
c, and the spectrum's upper tail recedes with eta0 as predicted."""

import numpy as np
import pytest
from test_planted_on_real_data import _context

from giantstep.claims import c3
from giantstep.claims.base import ClaimContext
from giantstep.theory.feature_spectrum import feature_model, feature_stieltjes


def test_spectral_statistics_exact_small_case():
    # eigenvalues 5 (outlier), 2, 1 of a p = 5 matrix: two zeros not stored
    s = c3.spectral_statistics(np.array([2.0, 5.0, 1.0]), 5)
    for k, z in enumerate(c3.BULK_Z):
        g = (1 / (2 - z) + 1 / (1 - z) + 2 / (0 - z)) / 5
        assert s[f"g_re{k}"] == pytest.approx(g.real, abs=1e-15)
        assert s[f"g_im{k}"] == pytest.approx(g.imag, abs=1e-15)
    assert (s["lambda1"], s["lambda_bulk"]) == (5.0, 2.0)


@pytest.mark.parametrize("n", [30, 90])
def test_spectral_statistics_is_the_resolvent_trace(n):
    """Against (1/p) tr (C - z)^{-1} computed by inverting C (an independent path), the outlier's
    term removed; n < p exercises the zero eigenvalues the simulators do not store."""
    rng = np.random.default_rng(n)
    p = 60
    F = rng.standard_normal((n, p)) + 4.0 * rng.standard_normal((n, 1))  # a mean-mode-like outlier
    F -= F.mean(axis=0)
    C = F.T @ F / n
    s = np.linalg.svd(F, compute_uv=False) ** 2 / n  # min(n, p) values, as stored
    stats = c3.spectral_statistics(s, p)
    top = s.max()
    for k, z in enumerate(c3.BULK_Z):
        tr = np.trace(np.linalg.inv(C - z * np.eye(p))) / p - 1 / (p * (top - z))
        assert stats[f"g_re{k}"] + 1j * stats[f"g_im{k}"] == pytest.approx(tr, abs=1e-10)


def test_shift_c_recomputes_the_bulk():
    p = c3._params()
    g = feature_stieltjes(np.array(c3.BULK_Z), feature_model("tanh", p.r, p.c, 1.0, 2.0)).g
    pred = {"c": p.c, "spectrum": {"net": {"r": p.r, "c": p.c, "readout_ratio": 2.0, "g_re": g.real.tolist(),
                                           "g_im": g.imag.tolist()}}}
    same = c3.shift_c(pred, 1.0)["spectrum"]["net"]
    assert np.allclose(same["g_re"], g.real, atol=1e-12) and np.allclose(same["g_im"], g.imag, atol=1e-12)
    moved = c3.shift_c(pred, 1.05)
    assert moved["c"] == pytest.approx(1.05 * p.c) and pred["c"] == p.c  # a copy
    # the module docstring's sensitivity: a 5% change of c moves g by > 0.01 at some z
    dg = np.hypot(np.subtract(moved["spectrum"]["net"]["g_re"], g.real), np.subtract(moved["spectrum"]["net"]["g_im"], g.imag))
    assert dg.max() > 0.01


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    claim = c3.CLAIM
    return claim, _context(claim, tmp_path_factory.mktemp("c3")), claim.predict("quick")


def test_the_network_alone_detects_a_wrong_bulk_inflation(quick, tmp_path):
    """With only the network's sweeps (no sRF simulation, whose c is an input), c off by 10% either
    way FAILs and the true c PASSes: the claim tests the network's bulk inflation itself."""
    claim, ctx, pred = quick
    net_only = ClaimContext("quick", tmp_path, {k: v for k, v in ctx.frames.items() if k in ("net_pm", "tail")},
                            array_loader=ctx.array_loader)
    assert claim.analyse(net_only, pred).verdict == "PASS"
    for factor in (0.9, 1.1):
        out = claim.analyse(net_only, c3.shift_c(pred, factor))
        assert out.verdict == "FAIL", factor
        assert any("g(" in r.quantity and r.passed is False for r in out.comparisons)


def test_the_upper_tail_recedes_with_eta0(quick):
    """tanh: training moves variance from the bulk into the mean mode. Predicted: the upper edge falls
    and the outlier grows with eta0; measured on the quick run: the top bulk eigenvalue falls too."""
    claim, ctx, pred = quick
    tail = pred["tail"]
    edges = [e["upper_edge"] for e in tail]
    assert [e["eta0"] for e in tail] == sorted(c3.TAIL_ETA0 + [c3.ETA0])
    assert all(a > b for a, b in zip(edges, edges[1:]))
    outliers = [e["lambda1"] for e in tail[1:]]
    assert tail[0]["lambda1"] is None and all(a < b for a, b in zip(outliers, outliers[1:]))
    stats = c3._statistics(ctx, "tail", c3.SIZES["quick"]["d"], outliers=None)
    top = stats.groupby("steps.0.eta0")["lambda_bulk"].mean()
    assert all(a > b for a, b in zip(top.values, top.values[1:]))


def test_the_first_published_bulk_inflation_is_told_apart(quick):
    """docs/theory.md, section 8: the notebook's first c (extra mu1^2 on the inflation term, 1.0635
    here) moves the test error by < 1%, which no test-error row sees; the spectrum rows FAIL it."""
    from giantstep.hermite import hermite_constants

    claim, ctx, pred = quick
    mu1 = hermite_constants(c3.ACTIVATION).mu1
    first = 1.0 + (pred["c"] - 1.0) * mu1**2
    assert first == pytest.approx(1.0635, abs=1e-3)
    out = claim.analyse(ctx, c3.shift_c(pred, first / pred["c"]))
    assert out.verdict == "FAIL"
    assert all(r.passed is not False for r in out.comparisons if "test error" in r.quantity)
