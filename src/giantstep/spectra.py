r"""Spectra of weight, update and feature matrices; bulk edges, outliers and overlaps.

Weights W (N x d) with i.i.d. entries of variance v have singular values filling
sqrt(v) [|sqrt(N) - sqrt(d)|, sqrt(N) + sqrt(d)] (Marchenko-Pastur). For the initial law of
convention P (v = 1/d) the top edge is 1 + sqrt(N/d) = 1 + sqrt(psi1); for ``symmetric`` pairs
it is sqrt(2) (1 + sqrt(N/(2d))).

Empirical bulk edge (after training the bulk may be inflated, docs/theory.md, section 8): the bulk is taken
to be MP-shaped with an unknown entry variance v, estimated from its second moment,

    v_hat = (||W||_F^2 - sum_{outliers} s_j^2) / ((min(N,d) - #outliers) * max(N,d)),
    edge_hat = sqrt(v_hat) (sqrt(N) + sqrt(d)),

iterated with the outlier rule until the outlier count is stable (<= 10 rounds).

The second-moment estimate assumes an MP-shaped bulk, which holds for W_t but not for an update
W_t - W_{t-1}, whose bulk is a product of random matrices with a heavier, spread-out top. For
updates (``bulk="gap"``) the outliers are the values above the largest relative gap
s_j / s_{j+1} among the reported top values, provided that gap exceeds 1 + 8 min(N,d)^(-2/3)
(twice the outlier margin; bulk spacings near the edge are O(min(N,d)^(-2/3))); the edge is then
the first value below the gap.

Outlier rule: s_j is an outlier iff s_j > edge * (1 + 4 * min(N,d)^(-2/3)). The margin is four
times the Tracy-Widom fluctuation scale of the top singular value, so a spike-free matrix
reports 0 outliers with overwhelming probability, while BBP outliers (an O(1) distance from
the edge) are detected once min(N,d)^(-2/3) is small against that distance.

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

from .linalg import SingularPairs, singular_values, top_singular
from .theory.mp import initial_singular_edge, singular_edge

OUTLIER_MARGIN = 4.0
MAX_EDGE_ROUNDS = 10


def mp_edge(width: int, d: int, variance: float) -> float:
    """Top MP edge sqrt(v) (sqrt(N) + sqrt(d)) of an N x d matrix with entry variance v."""
    return singular_edge(width, d, variance)


def initial_edge(width: int, d: int, second_layer: str = "rademacher") -> float:
    """Top bulk edge of W0 in convention P: 1 + sqrt(N/d) (sqrt(2)(1 + sqrt(N/(2d))) for paired rows)."""
    return initial_singular_edge(width, d, paired=second_layer == "symmetric")


def outlier_threshold(edge: float, width: int, d: int) -> float:
    """edge * (1 + 4 min(N,d)^(-2/3)): the documented outlier rule."""
    return edge * (1.0 + OUTLIER_MARGIN * min(width, d) ** (-2.0 / 3.0))


def count_outliers(s: np.ndarray, edge: float, width: int, d: int) -> int:
    """Number of singular values above the outlier threshold."""
    return int(np.sum(np.asarray(s) > outlier_threshold(edge, width, d)))


def empirical_edge(s_top: np.ndarray, frob2: float, width: int, d: int) -> tuple[float, int]:
    """Empirical bulk edge and outlier count from the top singular values and ||W||_F^2."""
    p, q = min(width, d), max(width, d)
    outliers = 0
    edge = math.nan
    for _ in range(MAX_EDGE_ROUNDS):
        bulk2 = max(frob2 - float(np.sum(np.square(s_top[:outliers]))), 0.0)
        v = bulk2 / (max(p - outliers, 1) * q)
        edge = mp_edge(width, d, v)
        new = count_outliers(s_top, edge, width, d)
        if new == outliers:
            break
        outliers = new
    return edge, outliers


class MatrixSpectrum(NamedTuple):
    """Top singular pairs and bulk summary of one matrix."""

    pairs: SingularPairs
    bulk_edge: float  # empirical edge
    outliers: int  # count above the outlier threshold of the empirical edge
    all_values: np.ndarray | None  # every singular value (descending) when requested


def gap_edge(s_top: np.ndarray, width: int, d: int) -> tuple[float, int]:
    """Edge and outlier count from the largest relative gap among the top values (updates)."""
    if len(s_top) < 2 or s_top[-1] <= 0:
        return float(s_top[-1]) if len(s_top) else math.nan, 0
    ratios = s_top[:-1] / s_top[1:]
    j = int(np.argmax(ratios))
    if ratios[j] > 1.0 + 2 * OUTLIER_MARGIN * min(width, d) ** (-2.0 / 3.0):
        return float(s_top[j + 1]), j + 1
    return float(s_top[0]), 0


def spectrum(M: np.ndarray, top: int, full: bool = False, bulk: str = "mp") -> MatrixSpectrum:
    """Top-``top`` singular pairs of M, bulk edge and outlier count (``bulk`` = "mp" for weight
    matrices, "gap" for updates; see the module docstring), optionally all singular values."""
    width, d = M.shape
    pairs = top_singular(M, top)
    if bulk == "gap":
        edge, outliers = gap_edge(pairs.s, width, d)
    else:
        frob2 = float(np.einsum("ij,ij->", M, M))
        edge, outliers = empirical_edge(pairs.s, frob2, width, d)
    values = singular_values(M) if full else None
    return MatrixSpectrum(pairs, edge, outliers, values)


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
    HM = H.T @ M  # (degree + 1, d)
    rest = M - H @ HM
    row_energy = np.einsum("ij,ij->i", rest, rest)
    noise2 = (H**2).T @ row_energy
    proj2 = np.einsum("ij,ij->i", HM, HM)
    return np.sqrt(np.maximum(proj2 - noise2, 0.0)), np.sqrt(noise2)
