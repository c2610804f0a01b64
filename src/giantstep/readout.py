r"""Ridge readout on the features of a trained first layer (second stage of the protocol).

With features F = sigma(X W^T) (n_train x N) of a fresh training batch,

    a_hat = argmin_a (1/n) ||y_c - F_c a||^2 + ridge ||a||^2

where F_c, y_c are centered with the training means (an unpenalised intercept), so
ŷ(x) = ybar + (sigma(W x) - Fbar)^T a_hat. Solved in the primal,
(F_c^T F_c / n + ridge I) a = F_c^T y_c / n, when N <= n, and in the dual,
a = F_c^T (F_c F_c^T / n + ridge I)^{-1} y_c / n, when n < N; both by Cholesky
(:func:`solve_ridge`, the library's one ridge solver). ridge = 0 is allowed where the Gram matrix
is nonsingular.

Primal pass, streamed in blocks of ``BLOCK`` rows (no n x N matrix is formed): each block's
pre-activations are computed into A = X_b [W; 0; 0]^T (b x (N + 2)), the activation is applied in
place, the last two columns are set to 1 and y, and one BLAS ``syrk`` adds A^T A to a single
(N + 2)^2 accumulator. That one product holds every sufficient statistic: F^T F, the column sums
F^T 1, F^T y, n, sum y and y^T y, so centering costs no pass over the data:

    F_c^T F_c / n = F^T F / n - m m^T,   F_c^T y_c / n = F^T y / n - m ybar,   m = F^T 1 / n.

The block (2048 rows, ~16 MB at N = 1024) stays in cache between the product, the activation and
syrk; the product and syrk come from the same BLAS library (:mod:`giantstep.linalg`, "One BLAS
library per loop": mixing numpy's and scipy's halved the loop's speed). The test pass streams the
same way: activation in place, then one matrix-vector product.

Reported errors: ``train_error`` = (1/n) ||y - ŷ||^2 on the training labels; ``test_error`` =
mean (g(Theta*^T x) - ŷ(x))^2 against the noiseless target on a fresh test set (the quantity of
Mei-Montanari and docs/theory.md, section 5); ``test_mse`` = the same against noisy test labels.
Normalisation vs Mei-Montanari (docs/theory.md, section 4): for unit-norm rows, ridge = psi1 * lambda_MM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
from scipy import linalg as sla

from .backend import Backend, activation_values, check_finite_array
from .errors import DivergenceError, check_finite
from .linalg import (backend_cholesky_solve, cholesky_solve, chunk_slices, few_threads, gram, gram_update,
                     times_transpose)
from .network import TwoLayerNetwork, activate_in_place
from .targets import BatchSource

BLOCK = 2048  # rows per block of the streamed feature passes


@dataclass(frozen=True)
class RidgeFit:
    """Fitted readout: ŷ = intercept + (features - feature_mean) @ coef."""

    coef: np.ndarray  # (N,)
    feature_mean: np.ndarray  # (N,)
    intercept: float
    train_error: float


def solve_ridge(G: np.ndarray, b: np.ndarray, ridge: float, backend: Backend | None = None) -> np.ndarray:
    """x with (G + ridge I) x = b for a symmetric PSD G (m x m), b of shape (m,) or (m, r), by
    Cholesky (no inverse formed; G is not modified; only its upper triangle is read). The
    library's one ridge solver; with a non-numpy ``backend``, G (held in full) and b are backend
    arrays and the solve runs on its device (:func:`giantstep.linalg.backend_cholesky_solve`).

    Raises :class:`DivergenceError` when G + ridge I is not positive definite.
    """
    try:
        if backend is not None and not backend.is_host:
            return backend_cholesky_solve(G, b, ridge, backend)
        return cholesky_solve(G, b, ridge)
    except np.linalg.LinAlgError:
        m = G.shape[0]
        raise DivergenceError(
            f"the ridge system ({m} x {m}, ridge = {ridge}) is not positive definite "
            "(ridge = 0 with fewer samples than features?)"
        ) from None


def ridge_coefficients(F: np.ndarray, y: np.ndarray, ridge: float) -> np.ndarray:
    """argmin_a (1/n) ||y - F a||^2 + ridge ||a||^2 for features F (n x N) held in memory (no
    intercept), from the smaller Gram: primal (F^T F / n + ridge I) a = F^T y / n when N <= n,
    dual a = F^T c with (F F^T / n + ridge I) c = y / n otherwise (ridge = 0: minimum norm)."""
    n, N = F.shape
    if N <= n:
        return solve_ridge(gram(F.T) / n, F.T @ y / n, ridge)
    return F.T @ solve_ridge(gram(F) / n, y / n, ridge)


def _blocks(source: BatchSource, chunk: int | None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(X_b, y_b) blocks of at most BLOCK rows, in row order, from ``source`` drawn in ``chunk``s."""
    for X, y in source.chunks(chunk):
        for sl in chunk_slices(X.shape[0], BLOCK):
            yield X[sl], y[sl]


def sufficient_statistics(net: TwoLayerNetwork, train: BatchSource, chunk: int | None) -> np.ndarray:
    """The upper triangle of S = A^T A ((N + 2) x (N + 2), Fortran-ordered; the strict lower
    triangle is zero) for A = [F | 1 | y] over the whole batch, streamed (module docstring):
    S[:N, :N] = F^T F, S[:N, N] = F^T 1, S[:N, N + 1] = F^T y, S[N, N] = n, S[N, N + 1] = sum y,
    S[N + 1, N + 1] = y^T y."""
    N, d = net.W.shape
    dtype = net.W.dtype
    W_aug = np.zeros((N + 2, d), dtype=dtype)
    W_aug[:N] = net.W
    S = np.zeros((N + 2, N + 2), dtype=dtype, order="F")
    for X, y in _blocks(train, chunk):
        with few_threads(X.shape[0] * N * (2.0 * d + N)):
            A = activate_in_place(net.activation, times_transpose(X, W_aug))
            A[:, N] = 1.0
            A[:, N + 1] = y
            gram_update(S, A)
    return S


def fit_ridge(net: TwoLayerNetwork, train: BatchSource, ridge: float, chunk: int | None,
              backend: Backend | None = None) -> RidgeFit:
    """Fit the centered ridge readout on ``train`` (primal streamed, or dual, by shape). With a
    non-numpy ``backend`` the network holds backend arrays, so do ``coef`` and ``feature_mean``
    (:func:`_fit_on_backend`)."""
    if backend is not None and not backend.is_host:
        return _fit_on_backend(net, train, ridge, chunk, backend)
    N, n = net.width, train.n
    if N > n:
        return _fit_dual(net, train, ridge)
    S = sufficient_statistics(net, train, chunk)  # upper triangle
    m, ybar = S[:N, N] / n, float(S[N, N + 1]) / n
    Gc = np.asfortranarray(S[:N, :N] / n)  # upper triangle of F_c^T F_c / n = F^T F / n - m m^T:
    syr = sla.blas.get_blas_funcs("syr", (Gc,))
    Gc = syr(-1.0, m, a=Gc, lower=0, overwrite_a=1)  # the rank-one correction in place
    bc = S[:N, N + 1] / n - m * ybar  # F_c^T y_c / n
    coef = solve_ridge(Gc, bc, ridge)
    # training error from the sufficient statistics: (1/n)||y_c - F_c a||^2
    symv = sla.blas.get_blas_funcs("symv", (Gc,))
    with few_threads(0.0):  # one thread: the same sums whatever the thread settings
        quad = float(coef @ symv(1.0, Gc, coef, lower=0))
    train_err = (float(S[N + 1, N + 1]) / n - ybar**2) - 2.0 * float(coef @ bc) + quad
    check_finite("the ridge readout", coef)
    return RidgeFit(coef=coef, feature_mean=m, intercept=ybar, train_error=max(train_err, 0.0))


def _fit_dual(net: TwoLayerNetwork, train: BatchSource, ridge: float) -> RidgeFit:
    """Dual readout (n < N): the n x n kernel of centered features, batch held in memory."""
    X, y = train.materialize()
    n = X.shape[0]
    F = net.features(X)
    m, ybar = F.mean(axis=0), float(y.mean())
    Fc = F - m
    yc = y - ybar
    coef = Fc.T @ solve_ridge(gram(Fc) / n, yc / n, ridge)
    resid = yc - Fc @ coef
    check_finite("the ridge readout", coef)
    return RidgeFit(coef=coef, feature_mean=m, intercept=ybar, train_error=max(float(resid @ resid) / n, 0.0))


def _fit_on_backend(net: TwoLayerNetwork, train: BatchSource, ridge: float, chunk: int | None,
                    backend: Backend) -> RidgeFit:
    """The readout on backend arrays (array API). Primal (N <= n): the same sufficient statistics
    as :func:`sufficient_statistics` accumulated chunk by chunk on the device (F^T F, F^T 1, F^T y,
    sum y, y^T y; one chunk of features at a time), centering on the Gram, one Cholesky solve
    (:func:`giantstep.linalg.backend_cholesky_solve`). Dual (n < N): the centered n x n kernel."""
    xp = backend.xp
    N, n = net.width, train.n
    if N > n:
        X, y = (backend.put(v) for v in train.materialize())
        F = activation_values(net.activation, X @ net.W.T, backend)
        m, ybar = xp.mean(F, axis=0), backend.scalar(xp.mean(y))
        Fc, yc = F - m, y - ybar
        coef = Fc.T @ solve_ridge(Fc @ Fc.T / n, yc / n, ridge, backend)
        resid = yc - Fc @ coef
        check_finite_array("the ridge readout", coef, backend)
        train_err = backend.scalar(xp.vecdot(resid, resid)) / n
        return RidgeFit(coef=coef, feature_mean=m, intercept=ybar, train_error=max(train_err, 0.0))
    G, f1, fy = backend.zeros((N, N)), backend.zeros((N,)), backend.zeros((N,))
    y1 = yy = 0.0
    for X, y in train.device_chunks(chunk, backend):
        F = activation_values(net.activation, X @ net.W.T, backend)
        G += F.T @ F
        f1 += xp.sum(F, axis=0)
        fy += y @ F
        y1 += backend.scalar(xp.sum(y))
        yy += backend.scalar(xp.vecdot(y, y))
    m, ybar = f1 / n, y1 / n
    Gc = G / n - m[:, None] * m[None, :]  # F_c^T F_c / n
    bc = fy / n - m * ybar  # F_c^T y_c / n
    coef = solve_ridge(Gc, bc, ridge, backend)
    quad = backend.scalar(xp.vecdot(coef, Gc @ coef))
    train_err = (yy / n - ybar**2) - 2.0 * backend.scalar(xp.vecdot(coef, bc)) + quad
    check_finite_array("the ridge readout", coef, backend)
    return RidgeFit(coef=coef, feature_mean=m, intercept=ybar, train_error=max(train_err, 0.0))


def predict(net: TwoLayerNetwork, fit: RidgeFit, X: np.ndarray) -> np.ndarray:
    """ŷ(X), shape (n,): (F - Fbar) a computed as F a + (intercept - Fbar . a), no (n x N) temporary
    beyond the features."""
    F = activate_in_place(net.activation, net.preactivations(X))
    return F @ fit.coef + (fit.intercept - float(fit.feature_mean @ fit.coef))


def test_errors(net: TwoLayerNetwork, fit: RidgeFit, test: BatchSource, chunk: int | None,
                backend: Backend | None = None) -> tuple[float, float]:
    """(test_error vs the noiseless target, test_mse vs noisy labels) on ``test``, streamed in blocks.
    Without label noise the labels are the noiseless target (same rows, same formula)."""
    if backend is not None and not backend.is_host:
        return _test_errors_on_backend(net, fit, test, chunk, backend)
    se_clean = se_noisy = 0.0
    teacher = test.teacher
    for X, y in _blocks(test, chunk):
        with few_threads(2.0 * X.shape[0] * net.d * net.width):
            yhat = predict(net, fit, X)
        err = yhat - y
        se_noisy += float(err @ err)
        if teacher.noise > 0:
            err = yhat - teacher.clean(teacher.latent(X))
        se_clean += float(err @ err)
    return se_clean / test.n, se_noisy / test.n


test_errors.__test__ = False  # not a pytest test despite the name


def _test_errors_on_backend(net: TwoLayerNetwork, fit: RidgeFit, test: BatchSource, chunk: int | None,
                            backend: Backend) -> tuple[float, float]:
    """:func:`test_errors` on backend arrays, chunk by chunk; the noiseless labels of a noisy
    teacher are computed on the host with the draw (:meth:`BatchSource.device_chunks`)."""
    xp = backend.xp
    noisy = test.teacher.noise > 0
    offset = fit.intercept - backend.scalar(xp.vecdot(fit.feature_mean, fit.coef))
    se_clean = se_noisy = 0.0
    for parts in test.device_chunks(chunk, backend, clean=noisy):
        X, y = parts[0], parts[1]
        yhat = activation_values(net.activation, X @ net.W.T, backend) @ fit.coef + offset
        err = yhat - y
        se_noisy += backend.scalar(xp.vecdot(err, err))
        if noisy:
            err = yhat - parts[2]
        se_clean += backend.scalar(xp.vecdot(err, err))
    return se_clean / test.n, se_noisy / test.n
