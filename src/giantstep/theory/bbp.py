r"""BBP phase transitions for rank-one perturbations (docs/theory.md, section 2).

Rectangular (Benaych-Georges & Nadakuditi 2012, arXiv 1103.2221): X (n x m, n <= m) with
i.i.d. entries of variance 1/m, c = n/m in (0, 1]; bulk singular values fill
[1 - sqrt(c), 1 + sqrt(c)]. For X + theta u v^T (unit u in R^n, v in R^m):

    theta <= c^{1/4}:  s1 -> 1 + sqrt(c), overlaps -> 0
    theta >  c^{1/4}:  s1 -> sqrt((1 + theta^2)(c + theta^2)) / theta
                       |<u1, u>|^2 -> 1 - c (1 + theta^2) / (theta^2 (theta^2 + c))   (left, dim n)
                       |<v1, v>|^2 -> 1 - (c + theta^2) / (theta^2 (theta^2 + 1))     (right, dim m)

Spiked Wigner (Feral & Peche 2007): H symmetric n x n, off-diagonal variance 1/n (semicircle on
[-2, 2]), H + theta u u^T: for theta > 1, lambda1 -> theta + 1/theta, overlap^2 -> 1 - 1/theta^2.

Spiked covariance (Baik, Ben Arous & Peche 2005; Paul 2007): population covariance I + l v v^T,
aspect = d/n: for l > sqrt(aspect), lambda1(S) -> (1 + l)(1 + aspect/l),
overlap^2 -> (1 - aspect/l^2) / (1 + aspect/l); otherwise the edge (1 + sqrt(aspect))^2. The
inverse map top -> l (:func:`spiked_covariance_strength`) fits a spike to a measured top eigenvalue.

Additive spike on a Wishart-type matrix (Benaych-Georges & Nadakuditi 2011, arXiv 0910.2120):
A + theta v v^T with A of law mu (right edge b): an outlier lambda > b exists iff
theta G(b+) > 1, where G(lambda) = int dmu(x)/(lambda - x); it solves G(lambda) = 1/theta and
overlap^2 = 1 / (theta^2 int dmu(x)/(lambda - x)^2). Used for W1^T W1 when the bulk Gram and the
spike add (paired neurons, where W0^T a = 0).

Regime: proportional limit; at finite size the transition is smoothed over a window
theta - theta_c ~ n^{-1/3} and outliers fluctuate by O(n^{-1/2}).

Example
-------
>>> r = rectangular(1.0, 2.0)
>>> r.top, r.left_overlap2
(2.5, 0.75)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .domain import require
from .mp import mp_edges, mp_quadrature
from .validation import NONNEGATIVE, POSITIVE, RATIO, SIZE, Interval, validate_params
from .result import Result


@dataclass(frozen=True)
class BBPResult(Result):
    """Top singular value / eigenvalue, bulk edge, squared overlaps, whether there is an outlier."""

    top: float
    edge: float
    left_overlap2: float
    right_overlap2: float
    outlier: bool


@validate_params({"aspect": Interval(float, 0, 1, closed="right"), "theta": NONNEGATIVE})
def rectangular(aspect: float, theta: float) -> BBPResult:
    """Rectangular BBP: ``aspect`` c = smaller/larger dimension in (0, 1], entries variance 1/larger.

    ``left`` is the smaller dimension (n), ``right`` the larger (m). Written in u = 1/theta^2 so that
    every theta representable as a float gives finite values.
    """
    c = aspect
    edge = 1.0 + math.sqrt(c)
    if theta <= c**0.25:
        return BBPResult(edge, edge, 0.0, 0.0, False)
    u = (1.0 / theta) ** 2
    top = theta * math.sqrt((1.0 + u) * (1.0 + c * u))
    left = 1.0 - c * u * (1.0 + u) / (1.0 + c * u)
    right = 1.0 - u * (1.0 + c * u) / (1.0 + u)
    return BBPResult(top, edge, left, right, True)


@validate_params({"theta": NONNEGATIVE})
def spiked_wigner(theta: float) -> BBPResult:
    """Spiked Wigner: top eigenvalue theta + 1/theta and overlap^2 1 - 1/theta^2 for theta > 1."""
    if theta <= 1.0:
        return BBPResult(2.0, 2.0, 0.0, 0.0, False)
    ov = 1.0 - (1.0 / theta) ** 2
    return BBPResult(theta + 1.0 / theta, 2.0, ov, ov, True)


@validate_params({"aspect": RATIO, "ell": NONNEGATIVE})
def spiked_covariance(aspect: float, ell: float) -> BBPResult:
    """Spiked covariance I + l v v^T, aspect = d/n: top eigenvalue of S and overlap^2."""
    edge = (1.0 + math.sqrt(aspect)) ** 2
    if ell <= math.sqrt(aspect):
        return BBPResult(edge, edge, 0.0, 0.0, False)
    top = (1.0 + ell) * (1.0 + aspect / ell)
    ov = (1.0 - aspect / ell / ell) / (1.0 + aspect / ell)
    return BBPResult(top, edge, ov, ov, True)


@validate_params({"aspect": RATIO, "top": NONNEGATIVE})
def spiked_covariance_strength(aspect: float, top: float) -> float:
    """Inverse of :func:`spiked_covariance`: the strength l > sqrt(aspect) whose top eigenvalue is
    ``top``, the root of l^2 + (1 + aspect - top) l + aspect = 0; 0 when ``top`` is not above the
    edge (1 + sqrt(aspect))^2 (no outlier, no strength to recover)."""
    m = top - 1.0 - aspect
    if top <= (1.0 + math.sqrt(aspect)) ** 2 or m <= 0 or 4.0 * aspect / m / m >= 1.0:
        return 0.0
    return 0.5 * m * (1.0 + math.sqrt(1.0 - 4.0 * aspect / m / m))


@validate_params({"aspect": RATIO, "scale": POSITIVE, "theta": NONNEGATIVE, "nodes": Interval(int, 16, 20000)})
def additive_spike_mp(aspect: float, scale: float, theta: float, *, nodes: int = 400) -> BBPResult:
    """Top eigenvalue of A + theta v v^T with A = scale * S, S ~ MP(aspect) (atom included).

    G(lambda) = int dmu/(lambda - x) is evaluated with :func:`~giantstep.theory.mp.mp_quadrature`;
    G is decreasing on (b, inf), so the root of G = 1/theta is bracketed and found by brentq.
    Overlaps are reported in both slots (the matrix is symmetric).
    """
    _, b = mp_edges(aspect, scale)
    x, w = mp_quadrature(aspect, scale, nodes=nodes)

    def G(lam: float) -> float:
        return float(np.sum(w / (lam - x)))

    # G(b+) is finite for MP (square-root edge): G(b) = int dmu/(b - x)
    gb = G(b * (1.0 + 1e-12) + 1e-15)
    if theta == 0.0 or theta * gb <= 1.0:
        return BBPResult(b, b, 0.0, 0.0, False)
    hi = b + theta + 1.0
    lam = optimize.brentq(lambda t: G(t) - 1.0 / theta, b * (1 + 1e-12) + 1e-15, hi, xtol=1e-14, rtol=1e-14)
    g2 = float(np.sum(w / (lam - x) ** 2))
    ov = 1.0 / (theta * theta * g2)
    return BBPResult(lam, b, ov, ov, True)


@validate_params({"c": Interval(float, 0, 1, closed="right"), "theta": NONNEGATIVE, "n": SIZE})
def rectangular_subcritical(c: float, theta: float, n: int) -> BBPResult:
    r"""Finite-n squared overlaps of the top singular vectors below the rectangular BBP threshold.

    X (n x m, n <= m, c = n/m, entries variance 1/m) plus theta u v^T with theta < c^{1/4}. The
    top singular pair of X (l1, r1) has overlaps <l1, u> ~ N(0, 1/n), <r1, v> ~ N(0, 1/m). To first
    order in the perturbation of that pair (its resolvent pole) with the isotropic local law
    elsewhere -- u^T z (z^2 - X X^T)^{-1} u -> phi(z), v^T z (z^2 - X^T X)^{-1} v -> phi~(z), at the
    edge z = 1 + sqrt(c): phi = c^{-1/2}, phi~ = 1, so theta^2 phi phi~ = theta^2 / sqrt(c) --
    the top vectors of X + theta u v^T satisfy

        <u1, u> = (<l1, u> + theta phi  <r1, v>) / D,   <v1, v> = (<r1, v> + theta phi~ <l1, u>) / D,
        D = 1 - theta^2 / sqrt(c),

    hence E<u1, u>^2 = (1 + theta^2) / (n D^2) (left, dim n) and
    E<v1, v>^2 = (1 + theta^2 / c) / (m D^2) (right, dim m); both are 1/dim at theta = 0 and
    (1 + theta^2) / (n (1 - theta^2)^2) for c = 1. Valid outside the critical window,
    c^{1/4} - theta >> n^{-1/3}; the next order is relative O(n^{-1/3} / (c^{1/4} - theta)).
    ``top`` and ``edge`` are the edge 1 + sqrt(c).

    >>> r = rectangular_subcritical(1.0, 0.5, 1000)
    >>> round(r.left_overlap2 * 1000, 4), round(r.right_overlap2 * 1000, 4)
    (2.2222, 2.2222)
    """
    require(theta < c**0.25, f"rectangular_subcritical: theta = {theta:g} must lie below the BBP threshold "
                             f"c^(1/4) = {c**0.25:g}", hard=True)
    edge = 1.0 + math.sqrt(c)
    m = n / c
    t2 = theta * theta
    D2 = (1.0 - t2 / math.sqrt(c)) ** 2
    return BBPResult(edge, edge, (1.0 + t2) / (n * D2), (1.0 + t2 / c) / (m * D2), False)
