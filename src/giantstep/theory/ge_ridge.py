r"""Ridge risk on the features of given first-layer weights: Gaussian equivalence (GE) plus the
deterministic equivalent (DE) of ridge regression (docs/theory.md, section 5).

Second stage: fresh (X2, y2) with n samples, features F = sigma(X2 W^T) (n x N), column-centered
(an unpenalised intercept), readout a = argmin (1/n)||y2 - F a||^2 + ridge ||a||^2 (exactly the
simulator's readout). Single-index teacher y = g(<theta*, x>) + tau eps.

GE model (rows of W of norm ~ 1): phi(x) = mu1 W x + mu* z, z ~ N(0, I_N), so

    Omega = mu1^2 W W^T + mu*^2 I_N,   Cov(phi, y) = mu1 mu1* W theta*,   beta = Omega^{-1} Cov,
    sigma_e^2 = Var(y) - Cov^T beta   (includes tau^2 and the nonlinear part of the teacher).

DE of ridge (e.g. Bach 2023, arXiv 2303.01372; Hastie et al. 2019, arXiv 1903.08560):

    kappa solves  ridge = kappa (1 - df1/n),   df1 = tr Omega (Omega + kappa)^{-1},
    df2 = tr Omega^2 (Omega + kappa)^{-2},
    B = kappa^2 beta^T Omega (Omega + kappa)^{-2} beta / (1 - df2/n),
    V = sigma_e^2 (df2/n) / (1 - df2/n),
    test error (vs the noiseless target) = B + V + sigma_e^2 - tau^2.

Everything is computed in the eigenbasis of W W^T (singular pairs of W through
:func:`giantstep.linalg.top_singular`; no inverse is formed). Regime: GE holds for small steps
(alpha = 0, rows of norm ~ 1); the DE is exact as n, N -> inf proportionally; conditional on W
it fluctuates ~5% between draws of W at d = 800, and its average over W reproduces Mei-Montanari
(docs/theory.md, section 4). The *best-linear bound* (Ba et al. 2022) is Var(g) - mu1*^2 + tau^2 - tau^2 = E g^2 -
mu0*^2 - mu1*^2, the nonlinear energy of the teacher (:func:`best_linear_error`).

Domain (ValidityError outside): rows of W of norm ~ 1 (mean ||w||^2 within 0.25 of 1; the
constants mu1, mu* are those of unit preactivation variance), ridge > 0 or N != n.

Reference: Ba et al., NeurIPS 2022 (arXiv 2205.01445), section on small learning rates.

Example
-------
>>> rng = np.random.default_rng(0)
>>> W = rng.standard_normal((50, 40)) / np.sqrt(40)
>>> theta = np.eye(40)[0]
>>> r = ge_ridge_risk(W, theta, "tanh", "tanh", n=80, ridge=1e-2)
>>> 0 < r.test_error < 1
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from ..errors import ConfigError, DivergenceError
from ..hermite import hermite_constants
from ..linalg import top_singular
from .domain import require
from .validation import NOISE, NONNEGATIVE, SIZE, Function, validate_params
from .result import Result

ROW_NORM_TOL = 0.25


@dataclass(frozen=True)
class GERisk(Result):
    """DE ridge risk conditional on W: test_error = bias + variance + irreducible."""

    test_error: float
    bias: float
    variance: float
    irreducible: float  # sigma_e^2 - tau^2
    kappa: float
    df1: float
    df2: float


@validate_params({"link": Function()})
def best_linear_error(link) -> float:
    """E g^2 - mu0*^2 - mu1*^2: the error of the best linear predictor of g(<theta*, x>)."""
    h = hermite_constants(link)
    return max(h.second_moment - h.mu0**2 - h.mu1**2, 0.0)


@validate_params({"activation": Function(), "link": Function(), "noise": NOISE, "n": SIZE, "ridge": NONNEGATIVE})
def ge_ridge_risk(W: np.ndarray, theta: np.ndarray, activation, link, n: int, ridge: float, *, noise: float = 0.0) -> GERisk:
    """DE ridge risk on features sigma(X W^T) for weights ``W`` (N x d) and unit ``theta`` (d,)."""
    W = np.asarray(W, dtype=float)
    theta = np.asarray(theta, dtype=float).reshape(-1)
    if W.ndim != 2 or not np.all(np.isfinite(W)):
        raise ConfigError("weights", "a finite 2-D array (N x d)", f"array of shape {W.shape}")
    N, d = W.shape
    if theta.shape != (d,) or not np.all(np.isfinite(theta)) or np.linalg.norm(theta) == 0:
        raise ConfigError("theta", f"a nonzero finite vector of length d = {d}", f"array of shape {theta.shape}")
    theta = theta / np.linalg.norm(theta)
    row2 = float(np.mean(np.sum(W * W, axis=1)))
    require(abs(row2 - 1.0) <= ROW_NORM_TOL,
            f"GE ridge: the Gaussian equivalent uses mu1, mu* at unit preactivation variance, so the rows of W "
            f"must have norm ~ 1 (mean ||w||^2 within {ROW_NORM_TOL:g} of 1); got {row2:.4g}")
    tau = noise
    hs = hermite_constants(activation)
    hg = hermite_constants(link)
    k = min(N, d)
    pairs = top_singular(W, k)
    s = pairs.s
    proj = pairs.V.T @ theta  # (k,) components of theta on the right singular vectors
    mu1, mus2, m1s = hs.mu1, hs.mustar**2, hg.mu1
    require(mu1**2 + mus2 > 0, f"GE ridge: sigma = {activation.name} must vary (mu1^2 + mu*^2 > 0): a constant "
            "sigma gives no features beyond the intercept", hard=True)
    omega = mu1**2 * s**2 + mus2  # eigenvalues on span(U); mus2 on the N - k complement
    extra = N - k
    cov = mu1 * m1s * s * proj  # Cov(phi, y) in the U basis
    beta = cov / omega
    var_y = hg.second_moment - hg.mu0**2 + tau**2
    sigma_e2 = var_y - float(cov @ beta)

    def df(kappa: float, power: int) -> float:
        main = np.sum((omega / (omega + kappa)) ** power)
        return float(main + extra * (mus2 / (mus2 + kappa)) ** power)

    if ridge == 0.0:
        if N < n:
            kappa = 0.0
        elif N == n:
            raise DivergenceError("ridge = 0 at N = n (interpolation threshold): the risk diverges")
        else:
            kappa = optimize.brentq(lambda x: df(x, 1) - n, 1e-14, float(np.sum(omega) + extra * mus2), xtol=1e-15, rtol=1e-13)
    else:
        hi = ridge + (float(np.sum(omega)) + extra * mus2) / n + 1.0
        kappa = optimize.brentq(lambda x: x * (1.0 - df(x, 1) / n) - ridge, ridge, hi, xtol=1e-15, rtol=1e-13)
    df1, df2 = df(kappa, 1), df(kappa, 2)
    denom = 1.0 - df2 / n
    if denom <= 0:
        raise DivergenceError("deterministic equivalent: df2 >= n (no stable solution)")
    bias = kappa**2 * float(np.sum(beta**2 * omega / (omega + kappa) ** 2)) / denom
    variance = sigma_e2 * (df2 / n) / denom
    irreducible = sigma_e2 - tau**2
    return GERisk(bias + variance + irreducible, bias, variance, irreducible, kappa, df1, df2)
