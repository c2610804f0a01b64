r"""Ridge readout on the features of a trained first layer (second stage of the protocol).

With features F = sigma(X W^T) (n_train x N) of a fresh training batch,

    a_hat = argmin_a (1/n) ||y_c - F_c a||^2 + ridge ||a||^2

where F_c, y_c are centered with the training means (an unpenalised intercept), so
ŷ(x) = ybar + (sigma(W x) - Fbar)^T a_hat. Solved in the primal,
(F_c^T F_c / n + ridge I) a = F_c^T y_c / n, when N <= n (Gram accumulated over chunks), and in the
dual, a = F_c^T (F_c F_c^T / n + ridge I)^{-1} y_c / n, when n < N; both by Cholesky.
(ridge = 0 is allowed where the Gram matrix is nonsingular.)

Reported errors: ``train_error`` = (1/n) ||y - ŷ||^2 on the training labels; ``test_error`` =
mean (g(Theta*^T x) - ŷ(x))^2 against the noiseless target on a fresh test set (the quantity of
Mei-Montanari and docs/theory.md, section 5); ``test_mse`` = the same against noisy test labels.
Normalisation vs Mei-Montanari (docs/theory.md, section 4): for unit-norm rows, ridge = psi1 * lambda_MM.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import DivergenceError, check_finite
from .linalg import cholesky_solve
from .network import TwoLayerNetwork
from .targets import BatchSource


@dataclass(frozen=True)
class RidgeFit:
    """Fitted readout: ŷ = intercept + (features - feature_mean) @ coef."""

    coef: np.ndarray  # (N,)
    feature_mean: np.ndarray  # (N,)
    intercept: float
    train_error: float


def fit_ridge(net: TwoLayerNetwork, train: BatchSource, ridge: float, chunk: int | None) -> RidgeFit:
    """Fit the centered ridge readout on ``train`` (primal or dual by shape)."""
    N = net.width
    n = train.n
    if N <= n:
        G = None  # F^T F summed over chunks (BLAS syrk per chunk)
        fsum = np.zeros(N, dtype=net.W.dtype)
        fy = np.zeros(N, dtype=net.W.dtype)
        ysum = yy = 0.0
        for X, y in train.chunks(chunk):
            F = net.features(X)
            if G is None:
                G = F.T @ F
            else:
                G += F.T @ F
            fsum += F.sum(axis=0)
            fy += F.T @ y
            ysum += float(y.sum())
            yy += float(y @ y)
        m, ybar = fsum / n, ysum / n
        Gc = G  # centered Gram F_c^T F_c / n = G / n - m m^T, formed in place
        Gc /= n
        Gc -= np.outer(m, m)
        bc = fy / n - m * ybar
        coef = _solve(Gc, bc, ridge)
        # training error from sufficient statistics: (1/n)||y_c - F_c a||^2
        train_err = (yy / n - ybar**2) - 2.0 * float(coef @ bc) + float(coef @ Gc @ coef)
    else:
        X, y = train.materialize()
        F = net.features(X)
        m, ybar = F.mean(axis=0), float(y.mean())
        Fc = F - m
        yc = y - ybar
        K = Fc @ Fc.T / n
        beta = _solve(K, yc / n, ridge)
        coef = Fc.T @ beta
        resid = yc - Fc @ coef
        train_err = float(resid @ resid) / n
    check_finite("the ridge readout", coef)
    return RidgeFit(coef=coef, feature_mean=m, intercept=ybar, train_error=max(train_err, 0.0))


def _solve(G: np.ndarray, b: np.ndarray, ridge: float) -> np.ndarray:
    try:
        return cholesky_solve(G, b, ridge)
    except np.linalg.LinAlgError:
        raise DivergenceError(
            "the ridge system is singular (ridge = 0 with fewer samples than features?)"
        ) from None


def predict(net: TwoLayerNetwork, fit: RidgeFit, X: np.ndarray) -> np.ndarray:
    """ŷ(X), shape (n,)."""
    # (F - Fbar) a computed as F a - Fbar.a: no (n x N) temporary
    return net.features(X) @ fit.coef + (fit.intercept - float(fit.feature_mean @ fit.coef))


def test_errors(net: TwoLayerNetwork, fit: RidgeFit, test: BatchSource, chunk: int | None) -> tuple[float, float]:
    """(test_error vs the noiseless target, test_mse vs noisy labels) on ``test``."""
    se_clean = se_noisy = 0.0
    teacher = test.teacher
    for X, y in test.chunks(chunk):
        yhat = predict(net, fit, X)
        clean = teacher.clean(teacher.latent(X))
        se_clean += float(np.sum((clean - yhat) ** 2))
        se_noisy += float(np.sum((y - yhat) ** 2))
    return se_clean / test.n, se_noisy / test.n


test_errors.__test__ = False  # not a pytest test despite the name
