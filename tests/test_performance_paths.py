"""The fast paths compute the same numbers as the plain ones (not timing tests).

* chunked vs unchunked: gradient pass, ridge readout and the whole ``steps`` record;
* the streamed readout (one syrk of [F | 1 | y] per block) vs the explicit formula on materialised
  features, and no feature block larger than ``readout.BLOCK`` rows; its block product
  (``linalg.times_transpose``, scipy's BLAS) vs numpy's ``X @ W.T``;
* the block-Krylov eigensolver vs dense LAPACK / ``numpy.linalg.svd``; the mixed-precision top
  spectrum (float32 reduction + float64 Rayleigh-Ritz) vs the float64 path, its brackets and the
  outlier count's fallback;
* float32 vs float64: every reported metric changes by less than its sampling error;
* the notebook-style reference (benchmarks/reference.py) agrees with the library on the same data.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import linalg as sla

from giantstep import linalg
from giantstep.experiments.kinds import parse_config, run_config
from giantstep.experiments.steps import batch, build
from giantstep.readout import fit_ridge, test_errors
from giantstep.training import gradient_pass

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the benchmarks package at the project root

EPS = np.finfo(np.float64).eps


def _cfg(d=64, width=48, n=500, n_readout=400, chunk=8192, dtype="float64", seed=0, top=5, activation="relu",
         residual="full"):
    return parse_config({
        "kind": "steps", "seed": seed, "d": d, "width": width, "n": n, "activation": activation,
        "teacher": {"link": "relu"}, "residual": residual, "steps": [{"eta0": 1.0, "alpha": 0.5}], "spectra": {"top": top},
        "readout": {"ridge": 1e-2, "n_train": n_readout, "n_test": n_readout},
        "dtype": dtype, "chunk": chunk, "theory": False,
    })


def test_gradient_pass_chunked_equals_unchunked():
    cfg = _cfg()
    net, teacher = build(cfg)
    src = batch(cfg, teacher, 0)
    full = gradient_pass(net, src.chunks(None))
    parts = gradient_pass(net, src.chunks(37))  # 14 chunks, the last one short
    # Each entry is a sum of n = 500 products; regrouping it into 14 partial sums changes it by
    # at most ~ n * eps * max|term| <= 1e-13 * max|grad| (terms are O(1) times the scale of grad).
    scale = np.abs(full.grad).max()
    assert np.abs(full.grad - parts.grad).max() <= 1e-12 * scale
    assert np.allclose(full.vhat, parts.vhat, rtol=0, atol=1e-12 * np.abs(full.vhat).max())
    assert abs(full.residual_mse - parts.residual_mse) <= 1e-12 * full.residual_mse
    assert parts.n == full.n == 500


def test_readout_chunked_equals_unchunked():
    cfg = _cfg()
    net, teacher = build(cfg)
    train, test = batch(cfg, teacher, "readout-train"), batch(cfg, teacher, "readout-test")
    fa = fit_ridge(net, train, 1e-2, None)
    fb = fit_ridge(net, train, 1e-2, 29)
    # Sufficient statistics (Gram, means, F^T y) differ by ~ n eps relative when summed in chunks;
    # the solve amplifies this by cond(G_c + ridge I) <= (lambda_max + ridge) / ridge, measured below.
    G = np.cov(net.features(train.materialize()[0]).T, bias=True)
    cond = (np.linalg.eigvalsh(G)[-1] + 1e-2) / 1e-2
    tol = 10 * train.n * EPS * cond
    assert tol < 1e-8  # the bound is meaningful at this size
    assert np.abs(fa.coef - fb.coef).max() <= tol * np.abs(fa.coef).max()
    assert abs(fa.train_error - fb.train_error) <= tol * fa.train_error
    ea, eb = test_errors(net, fa, test, None), test_errors(net, fa, test, 33)
    assert np.allclose(ea, eb, rtol=1e-12, atol=0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_times_transpose_is_x_times_w_transpose(dtype):
    """X W^T from scipy's gemm (the readout's block product): C-ordered, the input dtype, and equal
    to numpy's X @ W.T within the rounding bound of two k-term inner sums, 2 k eps |X| |W|^T
    (each is within k eps |X| |W|^T of the exact product, k = 96); gram_update then adds P^T P to
    the upper triangle within the same bound for k = 300 rows."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 96)).astype(dtype)
    W = rng.standard_normal((70, 96)).astype(dtype)
    P = linalg.times_transpose(X, W)
    assert P.shape == (300, 70) and P.dtype == dtype and P.flags.c_contiguous
    eps = float(np.finfo(dtype).eps)
    assert np.all(np.abs(P - X @ W.T) <= 2 * 96 * eps * (np.abs(X) @ np.abs(W).T))
    S = np.zeros((70, 70), dtype=dtype, order="F")
    linalg.gram_update(S, P)
    bound = 2 * 300 * eps * (np.abs(P).T @ np.abs(P))
    assert np.all(np.triu(np.abs(S - P.T @ P)) <= np.triu(bound))
    assert np.all(np.tril(S, -1) == 0)  # the strict lower triangle is not touched


def _explicit_readout(net, train, test, ridge):
    """The readout as written in the module docstring, on materialised features (numpy.linalg.solve)."""
    X, y = train.materialize()
    n = X.shape[0]
    F = net.activation.f(X @ net.W.T)
    m, ybar = F.mean(axis=0), y.mean()
    Fc, yc = F - m, y - ybar
    coef = np.linalg.solve(Fc.T @ Fc / n + ridge * np.eye(F.shape[1]), Fc.T @ yc / n)
    train_error = np.mean((yc - Fc @ coef) ** 2)
    Xt, yt = test.materialize()
    yhat = ybar + (net.activation.f(Xt @ net.W.T) - m) @ coef
    clean = test.teacher.clean(test.teacher.latent(Xt))
    return coef, m, train_error, np.mean((clean - yhat) ** 2), np.mean((yt - yhat) ** 2)


@pytest.mark.parametrize("activation,noise", [("relu", 0.0), ("tanh", 0.3), ("he1+0.5*he3", 0.0)])
def test_streamed_readout_matches_explicit_formula(activation, noise, monkeypatch):
    """Blocks of BLOCK rows, sufficient statistics from one syrk, centering in the Gram: the same
    coefficients and errors as the explicit formula, and no block of features above BLOCK rows."""
    import giantstep.readout as readout

    monkeypatch.setattr(readout, "BLOCK", 700)  # several blocks, the last one short
    cfg = parse_config({**_cfg(n_readout=2500, activation=activation).model_dump(mode="json"),
                        "teacher": {"link": "relu", "noise": noise}})
    net, teacher = build(cfg)
    ridge = 1e-2
    train, test = batch(cfg, teacher, "readout-train", 2500), batch(cfg, teacher, "readout-test", 2500)
    rows = []
    real = readout.activate_in_place
    monkeypatch.setattr(readout, "activate_in_place", lambda act, Z: rows.append(Z.shape[0]) or real(act, Z))
    fit = fit_ridge(net, train, ridge, 1000)
    errors = test_errors(net, fit, test, 1000)
    assert max(rows) <= 700 and sum(rows) == 2 * 2500
    coef, m, train_error, test_error, test_mse = _explicit_readout(net, train, test, ridge)
    # centering in the Gram (G / n - m m^T) loses ~ eps * |m|^2 / var(F) relative, and the solve
    # amplifies by cond(G_c + ridge I) <= (lambda_max + ridge) / ridge (< 1e4 here): 1e-9 leaves
    # a factor >= 100 over eps * 1e4 * |m|^2 / var(F) for these activations
    assert np.abs(fit.coef - coef).max() <= 1e-9 * np.abs(coef).max()
    assert np.allclose(fit.feature_mean, m, rtol=1e-12, atol=1e-14)
    assert fit.train_error == pytest.approx(train_error, rel=1e-9)
    assert errors[0] == pytest.approx(test_error, rel=1e-9) and errors[1] == pytest.approx(test_mse, rel=1e-9)
    if noise == 0:
        assert errors[0] == errors[1]


def test_steps_record_chunked_equals_unchunked():
    a = run_config(_cfg(chunk=8192)).metrics
    b = run_config(_cfg(chunk=41)).metrics
    assert a.keys() == b.keys()
    for key in a:
        if key.endswith(".outliers"):
            assert a[key] == b[key], key
        else:
            # singular values/overlaps: perturbation of W1 ~ 1e-13 relative (gradient test above),
            # amplified at most by 1 / (relative gap) ~ 1e2 for the overlaps of bulk vectors here.
            assert abs(a[key] - b[key]) <= 1e-9 * max(abs(a[key]), 1e-3), key


def _planted(rng, p, q, thetas):
    X = rng.standard_normal((p, q)) / math.sqrt(q)
    for th in thetas:
        u, v = rng.standard_normal(p), rng.standard_normal(q)
        X += th * np.outer(u / np.linalg.norm(u), v / np.linalg.norm(v))
    return X


@pytest.mark.parametrize("case", ["bulk", "spikes", "rank3", "paired"])
def test_krylov_path_matches_svd(case, monkeypatch):
    monkeypatch.setattr(linalg, "KRYLOV_MIN_SIZE", 256)  # force the block-Krylov path at a small size
    rng = np.random.default_rng(11)
    p, q = 400, 600
    if case == "bulk":
        A = _planted(rng, p, q, [])
    elif case == "spikes":
        A = _planted(rng, p, q, [3.0, 2.0, 1.5])
    elif case == "rank3":  # fewer nonzero singular values than requested
        A = rng.standard_normal((p, 3)) @ rng.standard_normal((3, q))
    else:  # identical row pairs (the 'symmetric' second layer): rank p / 2
        half = _planted(rng, p // 2, q, [2.0])
        A = np.vstack([half, half])
    k = 10
    U, s, Vt = np.linalg.svd(A)
    pairs = linalg.top_singular(A, k)
    assert pairs.s.shape == (k,) and pairs.U.shape == (p, k) and pairs.V.shape == (q, k)
    nonzero = s[:k] > 1e-6 * s[0]
    # Top values to 1e-8 relative (the documented target); exactly-zero values come out at the
    # Gram's rounding level sqrt(eps) * s_1, as on the dense path.
    assert np.allclose(pairs.s[nonzero], s[:k][nonzero], rtol=1e-8, atol=0)
    assert np.all(pairs.s[~nonzero] <= 1e-7 * s[0])
    assert np.abs(pairs.U.T @ pairs.U - np.eye(k)).max() < 1e-10
    # vectors of well-separated values agree with LAPACK up to sign
    for j in range(3 if case == "spikes" else 1):
        assert abs(abs(pairs.V[:, j] @ Vt[j]) - 1) < 1e-8
        assert abs(abs(pairs.U[:, j] @ U[:, j]) - 1) < 1e-8


def test_krylov_eigensolver_matches_dense_eigh():
    rng = np.random.default_rng(5)
    # four BBP outliers: the Krylov path converges well within its budget (dimension <= m / 3)
    W = _planted(rng, 800, 800, [3.0, 2.5, 2.0, 1.8])
    G = linalg.gram(W)
    w_dense = sla.eigh(G, subset_by_index=[800 - 4, 799], eigvals_only=True)[::-1]
    found = linalg._block_krylov(G.copy(), 4)
    assert found is not None
    w, U = found
    # stopping rule: Kato-Temple bound <= 1e-12 * theta_1; LAPACK itself is accurate to ~ 800 eps
    assert np.abs(w - w_dense).max() <= 1e-11 * w_dense[0]
    assert np.abs(G @ U - U * w).max() <= 1e-5 * w[0]  # residuals (the bound is on their squares / gap)


def test_float32_changes_every_metric_less_than_sampling_error():
    size = {"d": 256, "width": 256, "n": 512, "n_readout": 512}
    runs64 = [run_config(_cfg(**size, seed=s, top=3)).metrics for s in range(4)]
    m32 = run_config(_cfg(**size, seed=0, dtype="float32", top=3)).metrics
    m64 = runs64[0]
    assert m32.keys() == m64.keys()
    checked = 0
    for key in m64:
        vals = np.array([r[key] for r in runs64])
        sd = vals.std(ddof=1)
        if key.endswith(".outliers") or sd == 0.0:  # counts, and deterministic inputs such as eta
            assert m32[key] == m64[key], key
            continue
        if ".overlap" in key or ".span" in key:
            j = int(key[-1])
            prefix = key.rsplit(".", 1)[0]
            if j > m64[f"{prefix}.outliers"]:
                # Vectors inside the bulk are determined only up to the level spacing: not a
                # reported physical quantity, so float32 is not required to reproduce them.
                continue
        # float32 rounding changes a metric by ~ 1e-6 relative, the seed-to-seed sd is O(1/sqrt(d))
        # relative; requiring |change| < 0.1 sd leaves a factor >= 3 for the uncertainty of the
        # 4-seed sd estimate.
        assert abs(m32[key] - m64[key]) < 0.1 * sd, (key, m32[key], m64[key], sd)
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize("residual", ["full", "label", "centered"])
def test_reference_implementation_agrees_with_library(residual):
    from benchmarks.reference import reference_one_step

    cfg = _cfg(d=128, width=96, n=256, n_readout=300, top=3, residual=residual)
    lib = run_config(cfg).metrics
    ref = reference_one_step(cfg)
    assert len(ref) == 21
    for key, val in ref.items():
        # same data and formulas; differences are rounding (Gram-based vs LAPACK SVD ~ 1e-14, explicit
        # inverse vs Cholesky ~ cond * eps with cond <= 1e3 here)
        assert abs(lib[key] - val) <= 1e-9 * max(abs(val), 1e-6), (key, lib[key], val)


def test_mixed_precision_spectrum_matches_float64(monkeypatch):
    """Above SMALL_WORK the top eigenvalues come from a float32 reduction plus a float64
    Rayleigh-Ritz step: the values and vectors agree with the float64 path, the brackets contain
    the float64 values, and the count is the same. With brackets made too wide to decide the scan,
    the count is recomputed on the float64 path."""
    from giantstep import spectra

    rng = np.random.default_rng(8)
    p, q = 1040, 1100  # p^3 > SMALL_WORK
    assert float(p) ** 3 >= linalg.SMALL_WORK
    A = _planted(rng, p, q, [4.0, 3.0, 2.2, 1.6])
    mixed, exact = linalg.top_spectrum(A, 10, 80), linalg.top_spectrum(A, 10, 80, exact=True)
    assert np.any(mixed.upper > mixed.lower)  # the mixed path was taken
    # float32 reduction + float64 Rayleigh-Ritz on 80 vectors: Ritz errors ~ (eps32 ||G||)^2 / gap to
    # the 81st value (~1e-12 here); 1e-9 relative leaves a wide margin
    assert np.allclose(mixed.values, exact.values, rtol=1e-9, atol=0)
    assert np.all(mixed.lower <= exact.values * (1 + 1e-12)) and np.all(exact.values <= mixed.upper * (1 + 1e-12))
    for j in range(4):
        assert abs(abs(mixed.pairs.V[:, j] @ exact.pairs.V[:, j]) - 1) < 1e-9
    counted = spectra.spectrum(A, 5)
    assert counted.outliers == 4
    calls = []
    real = spectra.top_spectrum
    monkeypatch.setattr(spectra, "top_spectrum", lambda *a, **k: calls.append(k.get("exact")) or real(*a, **k))
    monkeypatch.setattr(linalg, "BACKWARD_FACTOR", 1e6)  # brackets wider than the scan's margins
    again = spectra.spectrum(A, 5)
    assert calls[-1] is True and again.outliers == 4 and again.bulk_edge == pytest.approx(counted.bulk_edge, rel=1e-9)


@pytest.mark.parametrize("d", [256, 500])
def test_record_bit_identical_whatever_the_thread_settings(monkeypatch, d):
    """Same config and seed, same bits: on an idle and on a saturated machine (the thread policy
    reads the work, never the load), and at d = 256 also with one thread everywhere (a sweep
    worker's setting). At d = 500 OpenBLAS's GEMM sums in a thread-dependent order (the inner
    dimension is not a multiple of its block), so only a load-independent policy keeps the bits.
    The step's chunks and the readout's blocks here exceed SMALL_WORK, so the policy does switch."""
    import os

    from threadpoolctl import threadpool_limits

    cfg = parse_config({**_cfg(d=d, width=640, n=2048, n_readout=4096, top=5).model_dump(mode="json"),
                        "readout": {"ridge": 1e-2, "n_train": 4096, "n_test": 2048}})
    assert 2048 * 640 * (2 * d + 640) >= linalg.SMALL_WORK
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    base = run_config(cfg).metrics
    monkeypatch.setattr(os, "getloadavg", lambda: (99.0, 99.0, 99.0))
    assert run_config(cfg).metrics == base
    if d == 256:
        with threadpool_limits(1):
            assert run_config(cfg).metrics == base
