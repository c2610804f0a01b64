r"""The heavy linear algebra, in one place (the seam for a future GPU/array-API backend).

Everything O(n d N) or O(N^3) that the science modules need goes through these functions:
matrix products over sample chunks, top singular pairs from a Gram matrix + partial ``eigh``,
full singular-value spectra without singular vectors, and Cholesky solves. Science modules never
call ``np.linalg.svd`` or form an explicit inverse.

Singular pairs via the Gram matrix: for A (p x q) with p <= q, A A^T = U S^2 U^T, so the top-k
singular values are the square roots of the top-k eigenvalues (LAPACK ``syevr`` subset, O(p^2 k)
after the O(p^2 q) Gram product) and V = A^T U S^{-1}. Relative accuracy of s_j is ~eps * (s_1/s_j)^2,
i.e. 1e-13 for the top values the library reports.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, NamedTuple

import numpy as np
from scipy import linalg as sla

DEFAULT_CHUNK = 8192


def chunk_slices(n: int, chunk: int | None) -> Iterator[slice]:
    """Consecutive slices covering range(n), each of length <= chunk (one slice if chunk is None)."""
    step = n if not chunk or chunk >= n else int(chunk)
    for start in range(0, n, max(step, 1)):
        yield slice(start, min(start + step, n))


def gram(A: np.ndarray) -> np.ndarray:
    """A A^T (BLAS syrk through numpy's A @ A.T detection)."""
    return A @ A.T


class SingularPairs(NamedTuple):
    """Top singular triplets of a matrix A ~ U diag(s) V^T (descending s)."""

    s: np.ndarray  # (k,)
    U: np.ndarray  # (p, k) left vectors
    V: np.ndarray  # (q, k) right vectors


def top_singular(A: np.ndarray, k: int) -> SingularPairs:
    """Top-k singular values and vectors of A (p x q) from the Gram matrix of its smaller side."""
    p, q = A.shape
    k = int(min(k, p, q))
    transpose = p > q
    B = A.T if transpose else A
    m = B.shape[0]
    G = gram(B)
    w, U = sla.eigh(G, subset_by_index=[m - k, m - 1], driver="evr", overwrite_a=True, check_finite=False)
    order = np.argsort(w)[::-1]
    w, U = np.maximum(w[order], 0.0), U[:, order]
    s = np.sqrt(w)
    safe = np.where(s > 0, s, 1.0)
    V = (B.T @ U) / safe
    if transpose:
        return SingularPairs(s, V, U)
    return SingularPairs(s, U, V)


def singular_values(A: np.ndarray) -> np.ndarray:
    """All min(p, q) singular values of A, descending, from the eigenvalues of the smaller Gram."""
    B = A.T if A.shape[0] > A.shape[1] else A
    w = sla.eigh(gram(B), eigvals_only=True, driver="evd", overwrite_a=True, check_finite=False)
    return np.sqrt(np.maximum(w[::-1], 0.0))


def cholesky_solve(G: np.ndarray, b: np.ndarray, ridge: float) -> np.ndarray:
    """Solve (G + ridge I) x = b for symmetric PSD G by Cholesky (no inverse formed)."""
    A = G + ridge * np.eye(G.shape[0], dtype=G.dtype) if ridge else G
    c, low = sla.cho_factor(A, lower=True, check_finite=False)
    return sla.cho_solve((c, low), b, check_finite=False)


@contextmanager
def blas_threads(n: int | None):
    """Limit BLAS/OpenMP threads inside the block (no-op for None)."""
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(n)):
        yield
