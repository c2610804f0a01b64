r"""Spectra of weight, update and feature matrices; bulk edges, outliers and overlaps.

Weights W (N x d) with i.i.d. entries of variance v have singular values filling
sqrt(v) [|sqrt(N) - sqrt(d)|, sqrt(N) + sqrt(d)] (Marchenko-Pastur). For the initial law of
convention P (v = 1/d) the top edge is 1 + sqrt(N/d) = 1 + sqrt(psi1); for ``symmetric`` pairs
it is sqrt(2) (1 + sqrt(N/(2d))).

Bulk edge and outliers (one rule for weights W_t and updates W_t - W_{t-1}). After a step the bulk
is not Marchenko-Pastur shaped: a maximal step rescales the rows of W0 by 1 + O(a_i) and adds a
product-of-random-matrices part, which spreads the top of the bulk into a smooth tail well above
the MP edge of the same second moment (relu, alpha = 1/2, N = d = 1024: 22 values above it). What
every such bulk keeps is a square-root edge: its density vanishes as sqrt(E - s), so its j-th
largest singular value sits at E - C (j - 1/2)^(2/3) up to Tracy-Widom fluctuations of order C.
The rule fits that law to the values below the outliers and counts what lies above it:

    (E_K, C_K) = least squares of s_{K+j} = E - C (j - 1/2)^(2/3) over j = 1..J   (J = 24),
    outliers = the largest K <= K0 with s_K > E_K + kappa C_K,  kappa = 2.5   (0 if none),

found by scanning K down from K0 = min(64, p / 8) (p = min(N, d)); ``bulk_edge`` = E_K. Deep in
the bulk the test is conservative (see :func:`count_outliers`), so only the edge region and the
values above it can be counted. If the deepest window itself looks contaminated, K0 is doubled and
more values are computed. The threshold 2.5 C is about 7 Tracy-Widom scales (C = (3 pi / 2)^(2/3)
sigma_TW) above the fitted edge: over 3700 spike-free Gaussian matrices (p = 64, 200, 512) none
reported an outlier. BBP outliers, an O(1) distance from the edge, are counted once that distance
exceeds 2.5 C = O(p^(-2/3)); closer to the threshold the count is conservative. For a Gram side
p < 192 the window shrinks to J = max(3, p / 8) values. The count is exact: every value down to
s_{K0+J} is computed, so it does not depend on how many values are reported (``top``). It counts
every separated spike, including those no first-order theory predicts (e.g. the He2 spike of a
link with c2 != 0 after a maximal step). Validated on maximal-step spectra in the tests (planted
spikes on a real post-step bulk).

Overlaps: |<v_j, theta*_i>| for the top right singular vectors v_j (d-dimensional) and each
teacher direction theta*_i; and |<v_j(W_t), v_l(W_{t-1})>| between consecutive steps.
Left Hermite parts (:func:`left_hermite_parts`): the part of an update M (N x d) along the left
directions h_j, j = 0..J, obtained by orthonormalising the columns 1, a, a^2, ..., a^J of the
second-layer weights (for Gaussian a, h_j -> He_j(a)/||He_j(a)||), with the update's bulk removed:

    part_j^2 = ||h_j^T M||^2 - sum_i h_{j,i}^2 ||(P M)_i||^2,   P = I - sum_l h_l h_l^T,

where the subtracted term is the bulk's energy along h_j from the rows' own energies (the rows of
an update scale with a_i, so the bulk is not isotropic in the left space; e.g. E[a^2 He3(a)^2] /
E[He3(a)^2] = 7). Consistent as N -> infinity when the bulk's rows are uncorrelated; compared with
:func:`giantstep.theory.two_step.left_hermite_part` in claim C4.
References: Benaych-Georges & Nadakuditi 2012 (arXiv 1103.2221); docs/theory.md, sections 6, 9, 2.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .backend import Backend, backend_of, namespace, to_host
from .linalg import SingularPairs, TopSpectrum, backend_top_spectrum, singular_values, top_spectrum
from .theory.mp import initial_singular_edge, singular_edge

OUTLIER_MARGIN = 2.5  # kappa: outliers lie above E + kappa C
EDGE_WINDOW = 24  # J: bulk values in the edge fit
OUTLIER_ALLOWANCE = 64  # K0: the scan starts this deep (at most p / 8); doubled while it finds only outliers


def mp_edge(width: int, d: int, variance: float) -> float:
    """Top MP edge sqrt(v) (sqrt(N) + sqrt(d)) of an N x d matrix with entry variance v."""
    return singular_edge(width, d, variance)


def initial_edge(width: int, d: int, second_layer: str = "rademacher") -> float:
    """Top bulk edge of W0 in convention P: 1 + sqrt(N/d) (sqrt(2)(1 + sqrt(N/(2d))) for paired rows)."""
    return initial_singular_edge(width, d, paired=second_layer == "symmetric")


class EdgeFit(NamedTuple):
    """Square-root-law fit of a bulk edge and the outliers above it (module docstring)."""

    edge: float  # E
    scale: float  # C: the j-th bulk value sits at E - C (j - 1/2)^(2/3)
    outliers: int  # values above E + kappa C
    margin: float  # smallest |s_K - (E_K + kappa C_K)| / sensitivity over the scan's decisions


def fit_window(side: int) -> tuple[int, int]:
    """(J, K0): bulk values in the fit and the depth where the scan starts, for a Gram side ``side``."""
    return min(EDGE_WINDOW, max(3, side // 8)), min(OUTLIER_ALLOWANCE, max(1, side // 8))


def _sensitivity(window: int, skip: int) -> float:
    """Largest change of s_K - (E_K + kappa C_K) when every value moves by at most 1: 1 + sum_j
    |dE/ds_j + kappa dC/ds_j| over the fit window (E and C are linear in the values)."""
    x = (np.arange(skip + 1, window + 1) - 0.5) ** (2.0 / 3.0)
    xc = x - x.mean()
    slope = xc / (xc @ xc)  # d slope / d s_j; E = mean - slope * mean(x), C = -slope
    return 1.0 + float(np.sum(np.abs(1.0 / x.size - x.mean() * slope - OUTLIER_MARGIN * slope)))


def edge_fit(s: np.ndarray, outliers: int, window: int, skip: int = 0) -> tuple[float, float]:
    """(E, C) of the least-squares fit s_{K+j} = E - C (j - 1/2)^(2/3), j = skip+1..J (K =
    ``outliers``, J = ``window``; ``s`` descending, at least K + J values)."""
    x = (np.arange(skip + 1, window + 1) - 0.5) ** (2.0 / 3.0)
    y = np.asarray(s[outliers + skip : outliers + window], dtype=np.float64)
    xc = x - x.mean()
    slope = float(xc @ (y - y.mean()) / (xc @ xc))
    return float(y.mean() - slope * x.mean()), -slope


def count_outliers(s: np.ndarray, allowance: int, window: int) -> EdgeFit | None:
    """Outlier count of descending singular values ``s`` by the edge-fit rule (module docstring),
    scanning K down from ``allowance`` = K0.

    Returns None when the scan's deepest window may hold outliers and ``s`` has more values than
    the scan used (compute more values and call again with a larger allowance): when s_{K0} is an
    outlier, or when the top of the window, s_{K0+1}, lies above the fit of the window's lower
    half (which tolerates outliers in up to half of the window).

    Deep in the bulk the scan is conservative: there the values are locally linear in j, and a
    line in x = (j - 1/2)^(2/3) fitted to them extrapolates above the next value (x^(3/2) is
    convex), so only the edge region and what lies above it can produce a count.

    >>> s = 2.0 - 0.05 * (np.arange(1, 40) - 0.5) ** (2 / 3)
    >>> count_outliers(np.concatenate([[5.0, 3.0], s]), 8, 24).outliers
    2

    With no more values than the window (min(N, d) <= J) no edge can be fitted: the count is 0 and
    the edge is the top value.
    """
    s = np.asarray(s, dtype=np.float64)
    if len(s) <= window:  # too few values to fit an edge (a tiny matrix): no outlier can be told apart
        return EdgeFit(float(s[0]), 0.0, 0, math.inf)
    start = min(allowance, len(s) - window)
    floor = 1e-6 * max(float(s[0]), np.finfo(np.float64).tiny)  # resolution of Gram-based values

    margin = math.inf

    def above(K: int, skip: int = 0) -> tuple[bool, float, float]:
        nonlocal margin
        E, C = edge_fit(s, K, window, skip)
        gap = float(s[K - 1] - (E + OUTLIER_MARGIN * max(C, floor)))
        margin = min(margin, abs(gap) / _sensitivity(window, skip))
        return gap > 0, E, C

    more = len(s) > start + window
    if more and start == allowance and above(start + 1, window // 2)[0]:
        return None  # outliers inside the deepest window
    for K in range(start, 0, -1):
        outlier, E, C = above(K)
        if outlier:
            return None if (more and K == allowance) else EdgeFit(E, C, K, margin)
    E, C = edge_fit(s, 0, window)
    return EdgeFit(E, C, 0, margin)


class MatrixSpectrum(NamedTuple):
    """Top singular pairs and bulk summary of one matrix."""

    pairs: SingularPairs
    bulk_edge: float  # fitted edge E of the bulk
    outliers: int  # exact count of values above E + kappa C
    all_values: np.ndarray | None  # every singular value (descending) when requested
    edge_scale: float  # C of the fit


def spectrum(M: np.ndarray, top: int, full: bool = False, backend: Backend | None = None) -> MatrixSpectrum:
    """Top-``top`` singular pairs of M (N x d), its bulk edge and exact outlier count (edge-fit
    rule, module docstring), and optionally all its singular values.

    The values come from :func:`giantstep.linalg.top_spectrum` with brackets; the count is kept
    only if every decision of the scan holds for every set of values inside the brackets (each
    decision's distance to its threshold, divided by its sensitivity to a uniform perturbation of
    the values, exceeds the widest bracket), and recomputed on the float64 path otherwise."""
    window, allowance = fit_window(min(M.shape))
    if not isinstance(M, np.ndarray):
        return _backend_spectrum(M, top, full, allowance, window, backend)
    all_values = singular_values(M) if full else None
    ts, fit = _edge_and_count(M, top, allowance, window, all_values, exact=False)
    if fit is None:  # overflow: the caller's finiteness check names the stage
        return MatrixSpectrum(ts.pairs, math.nan, 0, all_values, math.nan)
    width = float(np.max(ts.upper - ts.lower)) if all_values is None else 0.0
    if width > 0 and not fit.margin > width:
        ts, fit = _edge_and_count(M, top, allowance, window, all_values, exact=True)
        if fit is None:
            return MatrixSpectrum(ts.pairs, math.nan, 0, all_values, math.nan)
    return MatrixSpectrum(ts.pairs, fit.edge, fit.outliers, all_values, fit.scale)


def _backend_spectrum(M, top: int, full: bool, allowance: int, window: int, backend: Backend) -> MatrixSpectrum:
    """The spectrum of a backend array: every singular value from one eigensolve on the device
    (:func:`giantstep.linalg.backend_top_spectrum`), so the count is the exact one of the full
    spectrum (as with ``full`` on the host) and needs no brackets."""
    ts = backend_top_spectrum(M, top, backend or backend_of(M))
    if len(ts.values) == 0 or not np.all(np.isfinite(ts.values)):
        return MatrixSpectrum(ts.pairs, math.nan, 0, ts.values if full else None, math.nan)
    fit = count_outliers(ts.values, allowance, window)
    while fit is None:  # the deepest window may hold outliers: scan from twice as deep
        allowance *= 2
        fit = count_outliers(ts.values, allowance, window)
    return MatrixSpectrum(ts.pairs, fit.edge, fit.outliers, ts.values if full else None, fit.scale)


def _edge_and_count(M, top, allowance, window, all_values, exact) -> tuple[TopSpectrum, EdgeFit | None]:
    """Top spectrum and edge fit, computing more values while the scan asks for them (None: the
    values are not finite)."""
    ts = top_spectrum(M, top, allowance + window + 1, exact=exact)
    values = ts.values if all_values is None else all_values
    if len(values) == 0 or not np.all(np.isfinite(values)):
        return ts, None
    fit = count_outliers(values, allowance, window)
    while fit is None:  # the deepest window may hold outliers: scan from twice as deep
        allowance *= 2
        if all_values is None:
            more = top_spectrum(M, top, allowance + window + 1, exact=exact)
            ts, values = TopSpectrum(ts.pairs, more.values, more.lower, more.upper), more.values
        fit = count_outliers(values, allowance, window)
    return ts, fit


def overlaps(V: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """|<v_j, theta_i>| for columns v_j of V (d, p) and theta_i of ``directions`` (d, k): shape (p, k)."""
    return np.abs(V.T @ directions)


def feature_covariance_eigenvalues(F: np.ndarray) -> np.ndarray:
    """Eigenvalues (descending) of the column-centered feature covariance (1/n) F_c^T F_c, F (n, N)."""
    Fc = F - F.mean(axis=0, keepdims=True)
    s = singular_values(Fc)
    return np.square(s) / F.shape[0]


def left_hermite_parts(M: np.ndarray, a: np.ndarray, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """(parts, noise), each of shape (degree + 1,): the bias-corrected norm of M (N x d) along the
    orthonormalised left directions h_0..h_degree built from 1, a, ..., a^degree (a of shape (N,)),
    and the subtracted bulk level sqrt(sum_i h_{j,i}^2 ||(P M)_i||^2) (module docstring).

    >>> a = np.array([1.0, -1.0, 2.0, -2.0, 0.5]); b = np.array([1.0, 0.0])
    >>> H, _ = np.linalg.qr(np.vander(a, 3, increasing=True))
    >>> parts, noise = left_hermite_parts(np.outer(3.0 * H[:, 1], b), a, 2)
    >>> np.round(parts, 12).tolist(), np.round(noise, 12).tolist()
    ([0.0, 3.0, 0.0], [0.0, 0.0, 0.0])
    """
    powers = np.vander(np.asarray(a, dtype=np.float64), degree + 1, increasing=True)  # (N, degree + 1)
    H, R = np.linalg.qr(powers)
    H = H * np.sign(np.where(np.diag(R) == 0, 1.0, np.diag(R)))  # h_j has a positive component along a^j
    if not isinstance(M, np.ndarray):  # a backend array: the products on its device, in float64
        xp = namespace(M)
        Hd = xp.asarray(H, device=M.device)
        M = xp.astype(M, xp.float64)
        HM = Hd.T @ M
        rest = M - Hd @ HM
        row_energy = xp.sum(rest * rest, axis=1)
        noise2 = to_host((Hd * Hd).T @ row_energy)
        proj2 = to_host(xp.sum(HM * HM, axis=1))
        return np.sqrt(np.maximum(proj2 - noise2, 0.0)), np.sqrt(noise2)
    HM = H.T @ M  # (degree + 1, d)
    rest = M - H @ HM
    row_energy = np.einsum("ij,ij->i", rest, rest)
    noise2 = (H**2).T @ row_energy
    proj2 = np.einsum("ij,ij->i", HM, HM)
    return np.sqrt(np.maximum(proj2 - noise2, 0.0)), np.sqrt(noise2)
