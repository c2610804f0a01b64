r"""Conjugate-kernel spectrum of nonlinear random features (Pennington & Worah 2017; docs/theory.md, section 3).

Setting: W (n1 x n0) with entries N(0, sigma_w^2/n0), X (n0 x m) with entries N(0, sigma_x^2),
Y = f(W X) for a *centered* f (E f(sigma_w sigma_x G) = 0), M = Y Y^T / m (n1 x n1).
Ratios phi = n0/m, psi = n0/n1; constants

    eta  = E f(sigma_w sigma_x G)^2,      zeta = (sigma_w sigma_x E f'(sigma_w sigma_x G))^2.

The Stieltjes transform G(z) = int rho(t)/(z - t) dt of the limiting eigenvalue law of M is

    G(z) = (psi / z) P(1 / (z psi)) + (1 - psi) / z,

where P = P(t) solves  P = 1 + (eta - zeta) t P_phi P_psi + P_phi P_psi t zeta / (1 - P_phi P_psi t zeta),
P_phi = 1 + (P - 1) phi,  P_psi = 1 + (P - 1) psi. Clearing the denominator gives the quartic

    (P - 1)(1 - zeta A) - (eta - zeta) A (1 - zeta A) - zeta A = 0,     A = t P_phi P_psi.

Root choice: by continuity from P = 1 at |z| = inf. Each target z is reached along the vertical
path z + i L s (s from 1 down to 0, log-spaced; Stieltjes transforms are analytic in the upper
half plane so roots do not cross there); at every point the root nearest the previous one is
kept. The density is rho(x) = -Im G(x + i eps)/pi.

In the library's notation (features F = sigma(X W^T) - mu0 of n samples, X (n x d) Gaussian,
W (N x d) with entries of variance 1/d): n0 = d, n1 = N, m = n, so phi = d/n, psi = d/N,
eta = E sigma^2 - mu0^2, zeta = mu1^2; the law is that of the eigenvalues of F^T F / n (N x N).
The same bulk follows from the Gaussian-equivalent features mu1 X W^T + mu* Z.

Reference: Pennington & Worah, "Nonlinear random matrix theory for deep learning", NeurIPS 2017.
Regime: proportional limit; f centered; no outlier from mu0 (it adds one spike ~ mu0 sqrt(n N)).
Domain: phi, psi, eta > 0 (a constant activation has no spectrum: ValidityError in
:func:`ck_constants`), zeta >= 0.

Example
-------
>>> g = ck_stieltjes(np.array([3.0 + 1.0j]), phi=0.5, psi=0.5, eta=1.0, zeta=0.0)
>>> g.shape
(1,)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..hermite import hermite_constants
from .domain import require
from .validation import NONNEGATIVE, POSITIVE, RATIO, Function, Interval, validate_params
from .result import Result

LAW = {"phi": RATIO, "psi": RATIO, "eta": POSITIVE, "zeta": NONNEGATIVE}

PATH_STEPS = 60


@dataclass(frozen=True)
class CKConstants(Result):
    """eta = Var sigma(G), zeta = mu1^2 for the centered activation (unit preactivation variance)."""

    eta: float
    zeta: float


@validate_params({"activation": Function()})
def ck_constants(activation: str = "relu") -> CKConstants:
    """(eta, zeta) = (E sigma^2 - mu0^2, mu1^2) for sigma_w sigma_x = 1 after centering."""
    hc = hermite_constants(activation)
    eta = hc.second_moment - hc.mu0**2
    require(eta > 1e-12 * max(1.0, hc.second_moment),
            f"conjugate kernel: the centred activation must not vanish (E sigma^2 - mu0^2 > 0); '{activation.name}' "
            f"has {eta:.3g}", hard=True)
    return CKConstants(eta, hc.mu1**2)


def _quartic_coefficients(t: np.ndarray, phi: float, psi: float, eta: float, zeta: float) -> np.ndarray:
    """Coefficients (highest degree first, shape (len(t), 5)) of the quartic in P at each t.

    With b(P) = P_phi P_psi = b0 + b1 P + b2 P^2 and A = t b(P), the equation is
    (P - 1) - zeta (P - 1) A - eta A + zeta (eta - zeta) A^2 = 0.
    """
    t = np.asarray(t, dtype=complex)[:, None]
    b = np.convolve([1.0 - phi, phi], [1.0 - psi, psi])  # b0, b1, b2 (convolve keeps zero coefficients)
    pm1_b = np.convolve([-1.0, 1.0], b)  # degree 3
    b_sq = np.convolve(b, b)  # degree 4
    low = np.zeros((t.shape[0], 5), dtype=complex)  # lowest degree first
    low[:, 0] += -1.0
    low[:, 1] += 1.0
    low[:, :4] += -zeta * t * pm1_b[None, :]
    low[:, :3] += -eta * t * b[None, :]
    low[:, :5] += zeta * (eta - zeta) * t * t * b_sq[None, :]
    return low[:, ::-1]


def _all_roots(coefs: np.ndarray) -> np.ndarray:
    """Roots of a batch of quartics (rows highest-degree first) via companion eigenvalues."""
    leading = coefs[:, 0]
    deg = 4
    if np.any(np.abs(leading) < 1e-300):
        # degenerate (zeta = 0 or eta = zeta): solve each with np.roots, pad with nan
        roots = np.full((coefs.shape[0], deg), np.nan + 0j)
        for j, c in enumerate(coefs):
            r = np.roots(c)
            roots[j, : r.size] = r
        return roots
    comp = np.zeros((coefs.shape[0], deg, deg), dtype=complex)
    comp[:, 0, :] = -coefs[:, 1:] / leading[:, None]
    comp[:, np.arange(1, deg), np.arange(deg - 1)] = 1.0
    return np.linalg.eigvals(comp)


@validate_params(LAW)
def ck_stieltjes(z: np.ndarray, phi: float, psi: float, eta: float, zeta: float) -> np.ndarray:
    """G(z) = int rho(t)/(z - t) dt for complex z with Im z > 0 (array in, array out).

    Root chosen by continuity along z + i L s, L = 10 (1 + |z| + eta (1+phi)(1+1/psi)).
    """
    z = np.atleast_1d(np.asarray(z, dtype=complex))
    L = 10.0 * (1.0 + np.abs(z) + eta * (1.0 + phi) * (1.0 + 1.0 / psi))
    ladder = np.concatenate([np.geomspace(1.0, 1e-9, PATH_STEPS), [0.0]])
    current = np.ones(z.size, dtype=complex)  # P -> 1 as |z| -> inf
    for s in ladder:
        zs = z + 1j * L * s
        roots = _all_roots(_quartic_coefficients(1.0 / (zs * psi), phi, psi, eta, zeta))
        dist = np.abs(roots - current[:, None])
        dist = np.where(np.isnan(dist), np.inf, dist)
        current = roots[np.arange(z.size), np.argmin(dist, axis=1)]
    return (psi / z) * current + (1.0 - psi) / z


@validate_params({**LAW, "eps": POSITIVE})
def ck_density(x: np.ndarray, phi: float, psi: float, eta: float, zeta: float, *, eps: float = 1e-7) -> np.ndarray:
    """rho(x) = -Im G(x + i eps)/pi on a real grid (the atom at 0 for psi > 1 is not included)."""
    x = np.asarray(x, dtype=float)
    g = ck_stieltjes(x + 1j * eps, phi, psi, eta, zeta)
    return np.maximum(-g.imag / math.pi, 0.0)


@validate_params({**LAW, "grid": Interval(int, 10, 100000)})
def ck_support_edge(phi: float, psi: float, eta: float, zeta: float, *, grid: int = 600) -> float:
    """Right edge of the limiting support: last grid point with density > 1e-6, refined on finer grids."""
    upper = 2.0 * eta * (1.0 + math.sqrt(phi)) ** 2 * (1.0 + math.sqrt(1.0 / psi)) ** 2 + 4.0 * eta
    x = np.linspace(1e-6, upper, grid)
    rho = ck_density(x, phi, psi, eta, zeta)
    inside = np.nonzero(rho > 1e-6)[0]
    if inside.size == 0:
        return 0.0
    j = int(inside[-1])
    lo, hi = float(x[j]), float(x[min(j + 1, grid - 1)])
    for _ in range(3):  # three vectorised refinements: resolution (upper / grid) / 100^3
        fine = np.linspace(lo, hi, 101)
        r = ck_density(fine, phi, psi, eta, zeta)
        k = np.nonzero(r > 1e-6)[0]
        i = int(k[-1]) if k.size else 0
        lo, hi = float(fine[i]), float(fine[min(i + 1, 100)])
    return 0.5 * (lo + hi)
