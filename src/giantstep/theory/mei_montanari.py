r"""Random-features ridge regression: asymptotic risk, bias and variance (Mei & Montanari).

Setting (docs/theory.md, section 4): x, theta_j ~ Unif(S^{d-1}(sqrt(d))) (Gaussian x gives the same limit),
features sigma(<theta_j, x>/sqrt(d)) = sigma(<w_j, x>) with unit-norm w_j, j = 1..N, target
y = F1 <beta1, x> + f_NL(x) + eps with ||beta1|| = 1, E f_NL^2 = F*^2, Var eps = tau^2, and

    a_hat = argmin_a (1/n) sum_i (y_i - sum_j a_j sigma_ij)^2 + (N lambda / d) ||a||^2.

**lambda normalisation.** This lambda is Mei-Montanari's. The simulator's readout minimises
(1/n)||y - F a||^2 + ridge ||a||^2 with F = sigma(X W^T) and unit-norm rows, so
ridge = psi1 * lambda  (:func:`lambda_from_readout_ridge`, :func:`readout_ridge_from_lambda`).

With psi1 = N/d, psi2 = n/d, zeta = mu1/mu*, lambda_bar = lambda/mu*^2 and
s = sqrt(psi1 psi2 lambda_bar), the fixed point nu1 = i a, nu2 = i b (a, b > 0) solves

    a = psi1 / (s + b + zeta^2 b / (1 + zeta^2 a b)),    b = psi2 / (s + a + zeta^2 a / (1 + zeta^2 a b)),

chi = nu1 nu2 = -a b, and with E0, E1, E2 the polynomials of docs/theory.md, section 4,

    B = E1/E0,  V = E2/E0,  R = F1^2 B + (tau^2 + F*^2) V + F*^2

(R = E_x (f*(x) - f_hat(x))^2, the error against the noiseless target; it does not depend on mu0).
``bias`` = F1^2 B and ``variance`` = (tau^2 + F*^2) V are reported, so risk = bias + variance + F*^2.

Limits (checked in the tests): lambda -> inf gives R -> F1^2 + F*^2 (the null predictor);
psi1 -> inf at fixed psi2 gives kernel ridge regression, i.e. linear ridge on x with effective
ridge (1 + psi2 lambda_bar) / (zeta^2 psi2) (:func:`kernel_limit_risk`).

Solver: the fixed point is vectorised over all points of a curve (damped iteration, damping 1/2,
then Newton polishing); points that do not converge raise DivergenceError.

Domain (ValidityError outside): a nonlinear activation (mu* > 0: zeta = mu1/mu* and
lambda_bar = lambda/mu*^2 divide by it), lambda > 0. The target's linear part F1 and nonlinear
energy F*^2 are inputs (any centred teacher: the mean mu0* of a teacher is not part of the model).

Reference: Mei & Montanari, "The generalization error of random features regression: precise
asymptotics and double descent curve", CPAM 2022 (arXiv 1908.05355). Regime: N, n, d -> inf at
fixed psi1, psi2, lambda > 0; seed-to-seed scatter is 5-15% near interpolation (psi1 ~ psi2,
lambda <= 1e-2).

Example
-------
>>> r = rf_ridge_risk("relu", psi1=2.0, psi2=3.0, ridge_mm=1e-3, F1=1.0, Fstar=0.0, noise=0.0)
>>> 0 < r.risk < 1
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DivergenceError
from ..hermite import hermite_constants
from .domain import require
from .mp import mp_stieltjes
from .validation import NOISE, NONNEGATIVE, RATIO, RATIO_ARRAY, RIDGE, RIDGE_ARRAY, Function, validate_params
from .result import Result


MAX_ITER = 20000
TOL = 1e-13


@dataclass(frozen=True)
class RFRisk(Result):
    """Risk, bias F1^2 B, variance (tau^2 + F*^2) V, and the raw B, V (arrays or floats)."""

    risk: "float | np.ndarray"
    bias: "float | np.ndarray"
    variance: "float | np.ndarray"
    B: "float | np.ndarray"
    V: "float | np.ndarray"


@validate_params({"ridge": NONNEGATIVE, "psi1": RATIO})
def lambda_from_readout_ridge(ridge: float, psi1: float) -> float:
    """lambda_MM = ridge / psi1 for the readout (1/n)||y - F a||^2 + ridge ||a||^2 (unit rows)."""
    return ridge / psi1


@validate_params({"ridge_mm": NONNEGATIVE, "psi1": RATIO})
def readout_ridge_from_lambda(ridge_mm: float, psi1: float) -> float:
    """ridge = psi1 * lambda_MM (inverse of :func:`lambda_from_readout_ridge`)."""
    return ridge_mm * psi1


def _solve_ab(psi1: np.ndarray, psi2: np.ndarray, s: np.ndarray, z2: float) -> tuple[np.ndarray, np.ndarray]:
    """Positive solution (a, b) of the fixed point, vectorised; damped iteration + Newton."""
    a = np.minimum(psi1, 1.0) / (s + 1.0)
    b = np.minimum(psi2, 1.0) / (s + 1.0)

    def F(a, b):
        d = 1.0 + z2 * a * b
        fa = psi1 / (s + b + z2 * b / d)
        fb = psi2 / (s + a + z2 * a / d)
        return fa, fb

    for _ in range(MAX_ITER):
        fa, fb = F(a, b)
        na, nb = 0.5 * (a + fa), 0.5 * (b + fb)
        err = np.max(np.abs(na - a) / np.maximum(a, 1e-300) + np.abs(nb - b) / np.maximum(b, 1e-300))
        a, b = na, nb
        if err < 1e-9:
            break
    # Newton polish on g(a,b) = (a - fa, b - fb) (numerical Jacobian, vectorised)
    for _ in range(30):
        fa, fb = F(a, b)
        g1, g2 = a - fa, b - fb
        h = 1e-7 * np.maximum(a, 1e-12)
        k = 1e-7 * np.maximum(b, 1e-12)
        fa_a, fb_a = F(a + h, b)
        fa_b, fb_b = F(a, b + k)
        J11 = 1.0 - (fa_a - fa) / h
        J21 = -(fb_a - fb) / h
        J12 = -(fa_b - fa) / k
        J22 = 1.0 - (fb_b - fb) / k
        det = J11 * J22 - J12 * J21
        da = (J22 * g1 - J12 * g2) / det
        db = (-J21 * g1 + J11 * g2) / det
        a_new, b_new = a - da, b - db
        ok = (a_new > 0) & (b_new > 0) & np.isfinite(a_new) & np.isfinite(b_new)
        a, b = np.where(ok, a_new, a), np.where(ok, b_new, b)
        if np.max(np.abs(da) / a + np.abs(db) / b) < TOL:
            break
    fa, fb = F(a, b)
    resid = np.abs(a - fa) / a + np.abs(b - fb) / b
    if not np.all(resid < 1e-8) or not np.all(np.isfinite(resid)):
        bad = int(np.argmax(np.where(np.isfinite(resid), resid, np.inf)))
        raise DivergenceError(
            f"Mei-Montanari fixed point did not converge at psi1={float(psi1.flat[bad]):g}, "
            f"psi2={float(psi2.flat[bad]):g} (residual {float(resid.flat[bad]):.2e})"
        )
    return a, b


def bias_variance_factors(psi1, psi2, lam_bar, zeta: float) -> tuple[np.ndarray, np.ndarray]:
    """B = E1/E0 and V = E2/E0 (broadcast over array inputs), lam_bar = lambda / mu*^2."""
    psi1, psi2, lam_bar = np.broadcast_arrays(
        np.asarray(psi1, dtype=float), np.asarray(psi2, dtype=float), np.asarray(lam_bar, dtype=float)
    )
    s = np.sqrt(psi1 * psi2 * lam_bar)
    z2 = zeta * zeta
    a, b = _solve_ab(psi1.ravel(), psi2.ravel(), s.ravel(), z2)
    x = -a * b  # chi
    p1, p2 = psi1.ravel(), psi2.ravel()
    z4, z6 = z2 * z2, z2 * z2 * z2
    E0 = (
        -(x**5) * z6
        + 3 * x**4 * z4
        + (p1 * p2 - p2 - p1 + 1) * x**3 * z6
        - 2 * x**3 * z4
        - 3 * x**3 * z2
        + (p1 + p2 - 3 * p1 * p2 + 1) * x**2 * z4
        + 2 * x**2 * z2
        + x**2
        + 3 * p1 * p2 * x * z2
        - p1 * p2
    )
    E1 = p2 * x**3 * z4 - p2 * x**2 * z2 + p1 * p2 * x * z2 - p1 * p2
    E2 = x**5 * z6 - 3 * x**4 * z4 + (p1 - 1) * x**3 * z6 + 2 * x**3 * z4 + 3 * x**3 * z2 + (-p1 - 1) * x**2 * z4 - 2 * x**2 * z2 - x**2
    return (E1 / E0).reshape(psi1.shape), (E2 / E0).reshape(psi1.shape)


@validate_params({"activation": Function(), "psi1": RATIO_ARRAY, "psi2": RATIO_ARRAY, "ridge_mm": RIDGE_ARRAY,
                  "F1": NONNEGATIVE, "Fstar": NONNEGATIVE, "noise": NOISE})
def rf_ridge_risk(activation, psi1, psi2, ridge_mm, F1: float = 1.0, Fstar: float = 0.0, noise: float = 0.0) -> RFRisk:
    """Asymptotic RF ridge risk R = F1^2 B + (tau^2 + F*^2) V + F*^2 (docs/theory.md, section 4).

    ``psi1``, ``psi2``, ``ridge_mm`` may be arrays (broadcast); ``ridge_mm`` is lambda in
    Mei-Montanari's normalisation (penalty (N lambda / d)||a||^2); ``noise`` is tau (standard deviation).
    """
    hc = hermite_constants(activation)
    require(hc.mustar > 1e-9 * max(1.0, abs(hc.mu1)),
            f"Mei-Montanari: the activation must be nonlinear (mu* > 0); '{activation.name}' has mu* = {hc.mustar:.3g}",
            hard=True)
    p1, p2, la = (np.asarray(v, dtype=float) for v in (psi1, psi2, ridge_mm))
    tau = noise
    zeta = hc.mu1 / hc.mustar
    B, V = bias_variance_factors(p1, p2, la / hc.mustar**2, zeta)
    bias = F1**2 * B
    var = (tau**2 + Fstar**2) * V
    risk = bias + var + Fstar**2
    if risk.ndim == 0:
        return RFRisk(float(risk), float(bias), float(var), float(B), float(V))
    return RFRisk(risk, bias, var, B, V)


@validate_params({"psi2": RATIO, "ridge": RIDGE, "F1": NONNEGATIVE, "noise_var": NONNEGATIVE})
def linear_ridge_risk(psi2: float, ridge: float, F1: float, noise_var: float) -> tuple[float, float]:
    """(bias, variance) of linear ridge (1/n)||y - X b||^2 + ridge ||b||^2, x ~ N(0, I_d).

    For n = psi2 d samples, y = <beta, x> + noise with ||beta||^2 = F1^2 and noise variance
    ``noise_var``, as n, d -> inf; gamma = 1/psi2 and m the MP Stieltjes transform of ratio gamma
    (Dobriban & Wager 2018, arXiv 1507.03003; Hastie et al. 2019, arXiv 1903.08560):
    bias = F1^2 lam^2 m'(-lam), variance = noise_var gamma (m(-lam) - lam m'(-lam)).
    """
    gamma = 1.0 / psi2
    lam = ridge
    m = float(mp_stieltjes(-lam, gamma).real)
    h = 1e-5 * lam
    dm = float((mp_stieltjes(-lam + h, gamma).real - mp_stieltjes(-lam - h, gamma).real) / (2 * h))
    return F1**2 * lam**2 * dm, noise_var * gamma * (m - lam * dm)


@validate_params({"activation": Function(), "psi2": RATIO, "ridge_mm": RIDGE, "F1": NONNEGATIVE,
                  "Fstar": NONNEGATIVE, "noise": NOISE})
def kernel_limit_risk(activation, psi2: float, ridge_mm: float, F1: float = 1.0, Fstar: float = 0.0, noise: float = 0.0) -> float:
    """psi1 -> inf limit of :func:`rf_ridge_risk`: kernel ridge = linear ridge with ridge
    (1 + psi2 lam_bar)/(zeta^2 psi2), the nonlinear target part acting as noise:

        R_KRR = bias + (tau^2 + F*^2) gamma (m - lam_e m') + F*^2,   lam_e = (1/zeta^2 + psi2 lam/mu1^2)/psi2.
    """
    hc = hermite_constants(activation)
    lam_e = (hc.mustar**2 + psi2 * ridge_mm) / (hc.mu1**2 * psi2)
    bias, var = linear_ridge_risk(psi2, lam_e, F1, noise**2 + Fstar**2)
    return bias + var + Fstar**2
