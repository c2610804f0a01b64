r"""Marchenko-Pastur law (docs/theory.md, section 1).

Convention: S = X^T X / n with X (n x d) of i.i.d. entries of variance ``var``; aspect ratio
aspect = d / n. As n, d -> inf at fixed aspect the eigenvalue law of S converges to

    rho(x) = sqrt((b - x)(x - a)) / (2 pi aspect var x)  on [a, b],
    a, b   = var (1 -+ sqrt(aspect))^2,
    plus an atom of mass 1 - 1/aspect at 0 when aspect > 1.

Stieltjes transform (m(z) = int rho(x) / (x - z) dx, Im m > 0 for Im z > 0), variance 1:

    m(z) = (1 - aspect - z + sqrt(z - a) sqrt(z - b)) / (2 aspect z),

where the product of two principal square roots is the branch with a cut exactly on [a, b] and
~ z at infinity (so m(z) ~ -1/z); it includes the atom. It is evaluated as the equal
2 / (1 - aspect - z - sqrt(z - a) sqrt(z - b)), which has no cancellation at large |z|. For
variance v, m_v(z) = m(z / v) / v.
Moments (Narayana): E x^k = var^k sum_{r=0}^{k-1} aspect^r C(k, r) C(k-1, r) / (r + 1).

Singular values of a p x q matrix with i.i.d. entries of variance v: the top bulk edge is
sqrt(v) (sqrt(p) + sqrt(q)); e.g. W0 (N x d, entries 1/d) has edge 1 + sqrt(N/d)
(:func:`singular_edge`, :func:`initial_singular_edge`; :mod:`giantstep.spectra` uses them).

Reference: Marchenko & Pastur (1967); Bai & Silverstein, *Spectral Analysis of Large Dimensional
Random Matrices* (2010), ch. 3. Regime: proportional limit; finite-size edge fluctuations are
O(n^{-2/3}).

Example
-------
>>> a, b = mp_edges(0.5)
>>> round(a, 4), round(b, 4)
(0.0858, 2.9142)
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import comb

from .quadrature import gauss_legendre
from .validation import POSITIVE, RATIO, SIZE, Boolean, Interval, validate_params

RATIOS = {"aspect": RATIO, "var": POSITIVE}


@validate_params(RATIOS)
def mp_edges(aspect: float, var: float = 1.0) -> tuple[float, float]:
    """Support edges (a, b) = var (1 -+ sqrt(aspect))^2 of the continuous part."""
    r = math.sqrt(aspect)
    return var * (1.0 - r) ** 2, var * (1.0 + r) ** 2


@validate_params({"aspect": RATIO})
def mp_atom(aspect: float) -> float:
    """Mass of the atom at 0: max(0, 1 - 1/aspect)."""
    return max(0.0, 1.0 - 1.0 / aspect)


@validate_params(RATIOS)
def mp_density(x: np.ndarray, aspect: float, var: float = 1.0) -> np.ndarray:
    """Density of the continuous part at ``x`` (array); it integrates to 1 - atom."""
    a, b = mp_edges(aspect, var)
    x = np.asarray(x, dtype=float)
    inside = (x > a) & (x < b)
    out = np.zeros_like(x)
    xi = x[inside]
    out[inside] = np.sqrt((b - xi) * (xi - a)) / (2.0 * math.pi * aspect * var * xi)
    return out


@validate_params(RATIOS)
def mp_stieltjes(z: "complex | np.ndarray", aspect: float, var: float = 1.0) -> np.ndarray:
    """m(z) = int rho(x)/(x - z) dx (atom included) for z off the support (any complex z).

    Branch: sqrt(z - a) sqrt(z - b) with principal roots, which is analytic off [a, b] and
    ~ z at infinity, so Im m(z) > 0 whenever Im z > 0 and m is real and continuous on the real
    axis outside the support. On the support approach it from above (z + i0).
    """
    zz = np.asarray(z, dtype=complex) / var
    r = math.sqrt(aspect)
    a, b = (1.0 - r) ** 2, (1.0 + r) ** 2
    root = np.sqrt(zz - a) * np.sqrt(zz - b)
    # = (1 - aspect - z + root) / (2 aspect z), rationalised: no cancellation when |z| is large
    m = 2.0 / (1.0 - aspect - zz - root)
    return m / var


@validate_params({"k": Interval(int, 0, 64), **RATIOS})
def mp_moment(k: int, aspect: float, var: float = 1.0) -> float:
    """E[x^k] under MP (atom included): var^k sum_r aspect^r C(k,r) C(k-1,r)/(r+1)."""
    if k == 0:
        return 1.0
    total = sum(aspect**r * comb(k, r, exact=True) * comb(k - 1, r, exact=True) / (r + 1) for r in range(k))
    return float(var**k * total)


def singular_edge(rows: int, cols: int, entry_var: float) -> float:
    """Top singular-value bulk edge sqrt(v)(sqrt(p) + sqrt(q)) of a p x q i.i.d. matrix.

    Not validated, on purpose: it also serves measured entry variances (:mod:`giantstep.spectra`),
    where a non-finite value must propagate to the simulator's own divergence check.
    """
    return math.sqrt(entry_var) * (math.sqrt(rows) + math.sqrt(cols))


@validate_params({"width": SIZE, "d": SIZE, "paired": Boolean()})
def initial_singular_edge(width: int, d: int, paired: bool = False) -> float:
    """Top bulk edge of W0 (N x d, entries of variance 1/d): 1 + sqrt(N/d); for paired rows
    (w, a), (w, -a) the N/2 distinct rows appear twice: sqrt(2) (1/sqrt(d)) (sqrt(N/2) + sqrt(d))."""
    if paired:
        return math.sqrt(2.0) * singular_edge(width // 2, d, 1.0 / d)
    return singular_edge(width, d, 1.0 / d)


@validate_params({**RATIOS, "nodes": Interval(int, 2, 20000)})
def mp_quadrature(aspect: float, var: float = 1.0, *, nodes: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights integrating smooth functions against the MP law (atom included).

    Substitution x = (a+b)/2 + (b-a)/2 cos(theta) turns the continuous part into a smooth
    periodic integrand in theta, integrated by Gauss-Legendre with ``nodes`` points (spectral
    accuracy for functions analytic near [a, b]); the atom (aspect > 1) is a node at 0.
    """
    a, b = mp_edges(aspect, var)
    t, w = gauss_legendre(nodes)
    theta = 0.5 * math.pi * (t + 1.0)
    wt = 0.5 * math.pi * w
    c, h = 0.5 * (a + b), 0.5 * (b - a)
    x = c + h * np.cos(theta)
    # rho(x) dx = h^2 sin^2(theta) / (2 pi aspect var x) dtheta
    weights = wt * h * h * np.sin(theta) ** 2 / (2.0 * math.pi * aspect * var * x)
    atom = mp_atom(aspect)
    if atom > 0:
        x = np.concatenate([[0.0], x])
        weights = np.concatenate([[atom], weights])
    return x, weights
