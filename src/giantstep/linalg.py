r"""The heavy linear algebra, in one place (the seam for a future GPU/array-API backend).

Everything O(n d N) or O(N^3) that the science modules need goes through these functions:
matrix products over sample chunks, top singular pairs from a Gram matrix, full singular-value
spectra without singular vectors, and Cholesky solves. Science modules never call
``np.linalg.svd`` or form an explicit inverse. A GPU backend (array API: cupy/torch) replaces
this module's bodies; the signatures take and return plain arrays.

Singular pairs via the Gram matrix: for A (p x q) with p <= q, A A^T = U S^2 U^T, so the top-k
singular values are the square roots of the top-k eigenvalues of G = A A^T (one BLAS ``syrk``,
p^2 q flops) and V = A^T U S^{-1}. The top eigenpairs of G are found by

* dense LAPACK ``syevr`` on a subset (tridiagonal reduction, 4/3 p^3 flops, half of them
  memory-bound BLAS-2) when p < ``KRYLOV_MIN_SIZE`` or k > p / 16, and otherwise by
* block Krylov with full reorthogonalisation and Rayleigh-Ritz (:func:`top_eigh`): BLAS-3 only,
  O(p^2 m) flops for a Krylov dimension m (m ~ 400 at p = 2048 for values at a Marchenko-Pastur
  edge), stopped when every wanted Ritz value satisfies the Kato-Temple bound
  min(||r_i||, ||r_i||^2 / gap_i) <= tol * theta_1, which bounds its distance to an eigenvalue of G.
  If the dimension reaches p / 3 first, it falls back to the dense path.

Accuracy of s_j (both paths): relative ~ eps * (s_1 / s_j)^2 + tol (s_1 / s_j)^2 / 2, i.e.
< 1e-11 for the top values the library reports (tests compare with ``numpy.linalg.svd``).

Spectra with the outlier rule (:func:`top_spectrum`) need the top ~90 values of each matrix, not
only the reported ones. Above ``SMALL_WORK`` they take a mixed path: the tridiagonal reduction on
the Gram rounded to float32 (2.6x faster than in float64, measured at 2048), then a float64
Rayleigh-Ritz step on the float32 eigenvectors, which restores float64 accuracy (1e-11 relative,
measured), with rigorous brackets of each value for the outlier count's certificate.

Counting (:func:`count_eigenvalues_above`): the number of eigenvalues of a symmetric G above t is
read off the inertia of G - t I = L D L^T (LAPACK ``sytrf``, Bunch-Kaufman; Sylvester's law of
inertia), p^3 / 3 flops, exact for a matrix within eps ||G|| of G.

Threads (:func:`few_threads`): LAPACK factorisations (eigensolves, Cholesky, ``sytrf``) always
run on one BLAS thread, and so do products whose work is below ``SMALL_WORK`` flops (about
1024^3, ~10-20 ms on one core) and the whole theory block of a run. Factorisations synchronise
their threads after every panel (thousands of times for a tridiagonal reduction, which is half
memory-bound BLAS-2 and gains little from a second thread on a quiet machine), and threads that
wait on each other cost far more than they save when the cores are shared: measured under load
(load average 5-7 on 2 cores), a top-10 eigensolve of a 2048^2 Gram took 4.7 s on two threads and
0.36 s on one, a 256^2 Cholesky 0.30 s, a 256-node Gauss-Legendre rule (eigvalsh of 256^2) 4.2 s.
Large products (GEMM, syrk) keep the threads they are given. The choice depends on the work
only, never on the machine's load: OpenBLAS's GEMM sums in a thread-count-dependent order when
the inner dimension is not a multiple of its block (measured: X W^T with d = 500, 700, 1500 and
D^T X over a chunk of 4956 rows differ between one and two threads in the last bits), so a
load-dependent choice made a run's record depend on what else the machine was doing (the readout
errors at d = 500, the step's metrics once the step followed the same rule). On a shared machine,
limit the threads of the whole process instead (OPENBLAS_NUM_THREADS=1, or a sweep's
``--blas-threads``; under load the readout's block loop at N = 1024 ran at 48 GFLOP/s on one
thread and 17-32 on two, at load 6.7).

Ridge systems (:func:`cholesky_solve`) and Gram accumulation over sample blocks
(:func:`gram_update`, BLAS ``syrk`` into the upper triangle of one preallocated matrix, fed by
:func:`times_transpose`) are the readout's kernels.

One BLAS library per loop: the numpy and scipy wheels each ship their own OpenBLAS with its own
thread pool, and a pool's threads spin-wait for a while after each call. A loop that alternates
a numpy product with a scipy kernel therefore runs each of them beside the other pool's spinning
thread: measured on 2 cores at N = 1024, d = 512, blocks of 2048 rows, X W^T then ``syrk`` ran at
57 and 42 GFLOP/s mixed (numpy's matmul, scipy's syrk) and at 109 and 97 GFLOP/s with both from
scipy. The readout's block loop takes both products from scipy's BLAS.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, NamedTuple

import numpy as np
from scipy import linalg as sla

DEFAULT_CHUNK = 8192
SMALL_WORK = 1.1e9  # flops below which a call runs on one BLAS thread (few_threads)
BACKWARD_FACTOR = 16.0  # times eps ||G|| bounds syevr's eigenvalue error (mixed path of top_spectrum)
KRYLOV_MIN_SIZE = 3072  # Gram side below which dense syevr is used (measured crossover, docs/performance.md)
KRYLOV_SEED = 0x5EED  # fixed start block: results do not depend on it beyond the tolerance
KRYLOV_TOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-6}


def chunk_slices(n: int, chunk: int | None) -> Iterator[slice]:
    """Consecutive slices covering range(n), each of length <= chunk (one slice if chunk is None)."""
    step = n if not chunk or chunk >= n else int(chunk)
    for start in range(0, n, max(step, 1)):
        yield slice(start, min(start + step, n))


def gram(A: np.ndarray) -> np.ndarray:
    """A A^T (BLAS syrk through numpy's A @ A.T detection: p^2 q flops for A of shape (p, q))."""
    return A @ A.T


def gram_update(S: np.ndarray, A: np.ndarray) -> np.ndarray:
    """S + A^T A on the upper triangle of S (q x q, Fortran-ordered, updated in place) for a
    C-ordered block A (p x q): one BLAS ``syrk`` (scipy's BLAS), p q^2 flops, no temporary.
    Returns S; the strict lower triangle is not touched."""
    syrk = sla.blas.get_blas_funcs("syrk", (A, S))
    out = syrk(1.0, A.T, beta=1.0, c=S, trans=0, lower=0, overwrite_c=1)
    if out is not S:  # only when S is not a Fortran-ordered array of A's dtype (the caller's bug)
        raise TypeError("gram_update needs a Fortran-ordered accumulator of the block's dtype")
    return S


def times_transpose(X: np.ndarray, W: np.ndarray) -> np.ndarray:
    """X W^T (p x q, C-ordered, new) for C-ordered X (p x d) and W (q x d), by scipy's BLAS
    ``gemm`` as the Fortran-ordered (W X^T) (no copy of either operand; measured bit-equal to
    numpy's ``X @ W.T`` on the same number of threads): the product that feeds
    :func:`gram_update` from the same BLAS library (module docstring, "One BLAS library per
    loop")."""
    gemm = sla.blas.get_blas_funcs("gemm", (X, W))
    return gemm(1.0, np.ascontiguousarray(W).T, np.ascontiguousarray(X).T, trans_a=1, trans_b=0).T


_CONTROLLER = None


@contextmanager
def few_threads(work: float) -> Iterator[None]:
    """One BLAS thread inside the block when ``work`` (flops) < SMALL_WORK; no-op otherwise. A
    function of the work alone (module docstring: the same config gives the same bits whatever
    the load). Never raises the number of threads (an outer limit, e.g. a sweep worker's, still
    holds)."""
    global _CONTROLLER
    if work >= SMALL_WORK:
        yield
        return
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()  # numpy's and scipy's BLAS are loaded by now
    with _CONTROLLER.limit(limits=1, user_api="blas"):
        yield


def count_eigenvalues_above(G: np.ndarray, t: float) -> int:
    """#{eigenvalues of the symmetric G (p x p) > t} from the inertia of G - t I = L D L^T.

    D is block diagonal with 1 x 1 and 2 x 2 blocks (Bunch-Kaufman); by Sylvester's law of
    inertia the count is the number of positive eigenvalues of D. Exact for a matrix within
    O(eps ||G||) of G (backward stability of ``sytrf``); G is not modified.
    """
    A = G.T - t * np.eye(G.shape[0], dtype=G.dtype)  # Fortran-ordered (G is symmetric)
    sytrf = sla.get_lapack_funcs("sytrf", (A,))
    with few_threads(0.0):
        ldu, ipiv, info = sytrf(A, lower=1, overwrite_a=1)
    if info < 0:
        raise ValueError(f"sytrf: illegal argument {-info}")
    diag = np.diag(ldu).copy()
    off = np.diag(ldu, -1)
    count, i, p = 0, 0, G.shape[0]
    while i < p:
        if ipiv[i] < 0 and i + 1 < p:  # 2 x 2 block [[a, b], [b, c]]: det < 0 -> one positive, one negative
            a, b, c = diag[i], off[i], diag[i + 1]
            det = a * c - b * b
            count += 1 if det < 0 else (2 if a + c > 0 else 0)
            i += 2
        else:
            count += int(diag[i] > 0)
            i += 1
    return count


class SingularPairs(NamedTuple):
    """Top singular triplets of a matrix A ~ U diag(s) V^T (descending s)."""

    s: np.ndarray  # (k,)
    U: np.ndarray  # (p, k) left vectors
    V: np.ndarray  # (q, k) right vectors


def top_singular(A: np.ndarray, k: int) -> SingularPairs:
    """Top-k singular values and vectors of A (p x q) from the Gram matrix of its smaller side.

    Shapes: s (k,), U (p, k), V (q, k) with k <= min(p, q); vectors of exactly-zero singular
    values are returned as zero columns of V. See the module docstring for the method and its
    accuracy.

    >>> A = np.diag([3.0, 2.0, 1.0])
    >>> top_singular(A, 2).s
    array([3., 2.])
    """
    return top_spectrum(A, k, k, exact=True).pairs


class TopSpectrum(NamedTuple):
    """Top-k singular pairs of a matrix, its top-m singular values and rigorous brackets of them."""

    pairs: SingularPairs
    values: np.ndarray  # (m,) descending
    lower: np.ndarray  # (m,) lower[i] <= s_i <= upper[i] for the i-th largest singular value s_i
    upper: np.ndarray  # (m,) (equal to ``values`` on the float64 path, which is taken as exact)


def top_spectrum(A: np.ndarray, k: int, m: int, exact: bool = False) -> TopSpectrum:
    """Top-k singular pairs of A (p x q) and its top-m singular values (m >= k), from one Gram
    matrix G of the smaller side and one eigensolve.

    Float64 path (``exact``, float32 input, or a small Gram): ``syevr`` on G (or block Krylov,
    :func:`top_eigh`); the values are exact to the eigensolver's accuracy (module docstring).

    Mixed path (float64 A with a Gram side of ~1024 or more): the tridiagonal reduction, the costly
    and memory-bound part, runs on G rounded to float32 (half the bytes, about twice as fast), and
    a float64 Rayleigh-Ritz step on the m float32 eigenvectors gives the values and vectors. The
    i-th true eigenvalue of G is bracketed: the Ritz value is a lower bound (Cauchy interlacing),
    and it lies within eta = (eps32 / 2) tr G + 16 eps32 ||G||_2 of the i-th float32 eigenvalue
    (Weyl: the rounding of G to float32 moves no eigenvalue by more than ||G - G32||_F, and
    ``syevr`` computes the eigenvalues of G32 to within its error bound eps32 ||G32||_2 (LAPACK
    Users' Guide, section 4.7), taken 16 times). Measured accuracy at N = d = 2048 (W0, W1 and
    W1 - W0 of P1) against the float64 path: the top 89 values to 1e-11 relative (a Ritz value's
    error is about ||residual||^2 / the gap to the first value outside the m-dimensional
    subspace); the vectors' residuals ||G u - theta u|| / theta_1 are ~4e-7 (a float32
    reduction's accuracy), so a vector is determined to ~4e-7 theta_1 / gap in angle: overlaps of
    separated outliers change by 1e-10 to 1e-6 relative, those of vectors inside the bulk (not
    physical quantities: determined only up to the level spacing) by up to ~3e-5.
    """
    p, q = A.shape
    side = min(p, q)
    k, m = int(min(k, side)), int(min(max(m, k), side))
    transpose = p > q
    B = A.T if transpose else A
    with few_threads(float(side) ** 2 * max(p, q)):
        G = gram(B)
    mixed = not exact and G.dtype == np.float64 and float(side) ** 3 >= SMALL_WORK and 4 * m <= side
    if mixed:
        w, U, lower, upper = _mixed_top_eigh(G, m)
    else:
        with few_threads(0.0):
            w, U = top_eigh(G, m)
        lower = upper = w
    w = np.maximum(w, 0.0)
    U = U[:, :k]
    s = np.sqrt(w[:k])
    safe = np.where(s > 0, s, 1.0)
    with few_threads(2.0 * side * max(p, q) * k):
        V = (B.T @ U) / safe
    pairs = SingularPairs(s, V, U) if transpose else SingularPairs(s, U, V)
    root = lambda x: np.sqrt(np.maximum(x, 0.0))  # noqa: E731
    return TopSpectrum(pairs, np.sqrt(w), root(lower), root(upper))


def _mixed_top_eigh(G: np.ndarray, m: int) -> tuple[np.ndarray, ...]:
    """(theta, U, lower, upper): top-m Ritz pairs of the float64 G on the span of the float32
    top-m eigenvectors, and rigorous brackets of G's top-m eigenvalues (see :func:`top_spectrum`)."""
    p = G.shape[0]
    eps32 = float(np.finfo(np.float32).eps)
    G32 = G.astype(np.float32)
    # ||G - G32||_2 <= ||G - G32||_F <= (eps32 / 2) ||G||_F <= (eps32 / 2) tr G (G is PSD)
    eta = 0.5 * eps32 * float(np.trace(G))
    with few_threads(0.0):
        w32, V32 = sla.eigh(G32.T, subset_by_index=[p - m, p - 1], driver="evr", overwrite_a=True,
                            check_finite=False)
    w32, V32 = w32[::-1].astype(np.float64), V32[:, ::-1]
    eta += BACKWARD_FACTOR * eps32 * max(abs(float(w32[0])), abs(float(w32[-1])))
    V = V32.astype(np.float64)  # orthonormal to ~1e-7: Rayleigh-Ritz with its Gram V^T V
    with few_threads(2.0 * p * p * m):
        GV = G @ V
    H, S = V.T @ GV, V.T @ V
    theta, Y = sla.eigh(0.5 * (H + H.T), 0.5 * (S + S.T), check_finite=False)
    theta, Y = theta[::-1], Y[:, ::-1]
    return theta, V @ Y, np.maximum(theta, w32 - eta), w32 + eta


def top_eigh(G: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k eigenpairs (descending) of a symmetric PSD matrix G (m x m); G may be overwritten.

    Dense ``syevr`` subset for small m or large k, block Krylov otherwise (module docstring).
    """
    m = G.shape[0]
    k = int(min(k, m))
    if m >= KRYLOV_MIN_SIZE and 16 * k <= m:
        found = _block_krylov(G, k)
        if found is not None:
            return found
    # G is symmetric, so G.T (Fortran-ordered when G is C-ordered) is the same matrix and LAPACK
    # can overwrite it in place instead of receiving a copy
    w, U = sla.eigh(G.T, subset_by_index=[m - k, m - 1], driver="evr", overwrite_a=True, check_finite=False)
    order = np.argsort(w)[::-1]
    return w[order], U[:, order]


def _block_krylov(G: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Block Krylov + Rayleigh-Ritz for the top-k eigenpairs of symmetric PSD G; None if not converged.

    Basis rows Kt = [Q_0^T; Q_1^T; ...] (orthonormal; each new block G Q_j is orthogonalised twice
    against all previous ones, then QR'd), with GKt = (G K)^T kept alongside. The projected matrix
    T = K^T G K is block tridiagonal (G Q_j lies in span(Q_0..Q_{j+1})), so only its band is formed.
    Ritz pairs are tested on a geometric schedule; the test uses the true residuals
    r_i = G u_i - theta_i u_i computed from Kt and GKt, so an inexact T can only delay convergence.
    """
    m = G.shape[0]
    dtype = G.dtype
    eps, tiny = np.finfo(dtype).eps, np.finfo(dtype).tiny
    tol = KRYLOV_TOL.get(np.dtype(dtype), 1e-12)
    b = k + 6
    cap = (m // 3) // b * b
    rng = np.random.default_rng(KRYLOV_SEED)
    Kt = np.empty((cap, m), dtype=dtype)
    GKt = np.empty((cap, m), dtype=dtype)
    T = np.zeros((cap, cap), dtype=dtype)
    Q, _ = np.linalg.qr(rng.standard_normal((m, b)).astype(dtype, copy=False))
    j = 0  # basis size
    next_check = 6 * b
    while j + b <= cap:
        Kt[j : j + b] = Q.T
        GQ = G @ Q
        GKt[j : j + b] = GQ.T
        lo = max(j - b, 0)
        T[lo : j + b, j : j + b] = GKt[lo : j + b] @ Q  # K_sub^T G Q_j
        T[j : j + b, lo : j + b] = T[lo : j + b, j : j + b].T
        j += b
        if j >= next_check or j + b > cap:
            next_check = int(1.25 * j)
            theta, Y = sla.eigh(T[:j, :j], subset_by_index=[j - k - 1, j - 1], driver="evr", check_finite=False)
            theta, Y = theta[::-1], Y[:, ::-1]
            Yk = Y[:, :k]
            Ut = Yk.T @ Kt[:j]  # (k, m) Ritz vectors
            res = np.linalg.norm(Yk.T @ GKt[:j] - theta[:k, None] * Ut, axis=1)
            gaps = np.abs(theta[:k, None] - theta[None, : k + 1])
            gaps[np.arange(k), np.arange(k)] = np.inf
            bound = np.minimum(res, res**2 / np.maximum(gaps.min(axis=1), tiny))
            if np.all(bound <= tol * max(float(theta[0]), tiny)):
                # certificate: no eigenvalue of G above the k-th was missed (inertia count)
                level = float(theta[k - 1]) - float(np.max(bound)) - tol * max(float(theta[0]), tiny)
                if count_eigenvalues_above(G, level) != k:
                    return None
                return theta[:k].copy(), Ut.T
        # next block: G Q orthogonalised twice against the basis; (near-)invariant columns refreshed
        Y2 = GQ
        for _ in range(2):
            Y2 = Y2 - Kt[:j].T @ (Kt[:j] @ Y2)
        Q = _cholesky_qr2(Y2)
        if Q is None:  # (nearly) invariant basis: Householder QR, refresh the dependent columns
            Q, R = np.linalg.qr(Y2)
            small = np.abs(np.diag(R)) <= 1e3 * eps * max(float(np.linalg.norm(GQ)), tiny)
            Y2 = np.where(small[None, :], rng.standard_normal((m, b)).astype(dtype, copy=False), Y2)
            for _ in range(2):
                Y2 = Y2 - Kt[:j].T @ (Kt[:j] @ Y2)
            Q, _ = np.linalg.qr(Y2)
    return None


def _cholesky_qr2(Y: np.ndarray) -> np.ndarray | None:
    """Orthonormal basis of the columns of Y (m x b) by CholeskyQR applied twice (BLAS-3 only);
    None when Y is too ill-conditioned for it (cond(Y) >~ eps^(-1/2))."""
    Q = Y
    for _ in range(2):
        try:
            L = np.linalg.cholesky(Q.T @ Q)
        except np.linalg.LinAlgError:
            return None
        if not np.all(np.isfinite(L)) or np.min(np.abs(np.diag(L))) <= 1e-6 * np.max(np.abs(np.diag(L))):
            return None
        Q = sla.solve_triangular(L, Q.T, lower=True, check_finite=False).T
    return Q


def singular_values(A: np.ndarray) -> np.ndarray:
    """All min(p, q) singular values of A, descending, from the eigenvalues of the smaller Gram."""
    B = A.T if A.shape[0] > A.shape[1] else A
    with few_threads(float(min(A.shape)) ** 2 * max(A.shape)):
        G = gram(B)
    with few_threads(0.0):
        w = sla.eigh(G, eigvals_only=True, driver="evd", overwrite_a=True, check_finite=False)
    return np.sqrt(np.maximum(w[::-1], 0.0))


def cholesky_solve(G: np.ndarray, b: np.ndarray, ridge: float) -> np.ndarray:
    """Solve (G + ridge I) x = b for symmetric PSD G by Cholesky (no inverse formed); G is not
    modified and only its upper triangle is read. Raises ``numpy.linalg.LinAlgError`` when
    G + ridge I is not positive definite."""
    A = G.T.copy(order="K")  # G is symmetric: its transpose is the Fortran-ordered copy LAPACK works in place on
    A.flat[:: A.shape[0] + 1] += ridge
    with few_threads(0.0):
        c, low = sla.cho_factor(A, lower=True, overwrite_a=True, check_finite=False)
        return sla.cho_solve((c, low), b, check_finite=False)


def backend_top_spectrum(A, k: int, backend) -> TopSpectrum:
    """Top-k singular pairs and *every* singular value of a backend array A (p x q), on the backend:
    one Gram G of the smaller side (``matmul``), one full symmetric eigensolve ``linalg.eigh(G)``
    (cuSOLVER ``syevd`` on a GPU: values and vectors, O(p^3)), V = B^T U / s; only the k pairs
    and the min(p, q) values come back to the host (float64 numpy arrays; brackets equal to the
    values). Float32 input is solved in float32, as on the host path."""
    xp = backend.xp
    p, q = A.shape
    side = min(p, q)
    k = int(min(k, side))
    transpose = p > q
    B = A.T if transpose else A
    w, U = xp.linalg.eigh(B @ B.T)  # ascending
    w = xp.flip(w)
    w = xp.maximum(w, xp.zeros_like(w))
    U = xp.flip(U[:, side - k:], axis=1) if k else U[:, :0]
    s = xp.sqrt(w[:k])
    safe = xp.where(s > 0, s, xp.ones_like(s))
    V = (B.T @ U) / safe
    host = lambda x: backend.get(x).astype(np.float64)  # noqa: E731
    values, U, V = np.sqrt(host(w)), host(U), host(V)
    s = values[:k]
    pairs = SingularPairs(s, V, U) if transpose else SingularPairs(s, U, V)
    return TopSpectrum(pairs, values, values, values)


def backend_cholesky_solve(G, b, ridge: float, backend):
    """Solve (G + ridge I) x = b on the backend for a symmetric PSD G held in full: Cholesky
    (``linalg.cholesky``), then two triangular solves (the library's own when it has one, a
    general ``linalg.solve`` on the factor otherwise: array_api_strict). Raises
    ``numpy.linalg.LinAlgError`` when G + ridge I is not positive definite."""
    xp = backend.xp
    A = G + ridge * xp.eye(G.shape[0], dtype=G.dtype, device=backend.device)
    L = _backend_cholesky(A, backend)
    if not bool(xp.all(xp.isfinite(L))):
        raise np.linalg.LinAlgError("the matrix is not positive definite")
    column = b.ndim == 1
    rhs = b[:, None] if column else b
    if backend.library == "cupy":
        from cupyx.scipy.linalg import solve_triangular

        x = solve_triangular(L.T, solve_triangular(L, rhs, lower=True), lower=False)
    elif backend.library == "torch":
        import torch

        x = torch.linalg.solve_triangular(L.T, torch.linalg.solve_triangular(L, rhs, upper=False), upper=True)
    else:
        x = xp.linalg.solve(L.T, xp.linalg.solve(L, rhs))
    return x[:, 0] if column else x


def _backend_cholesky(A, backend):
    """Lower Cholesky factor on the backend; a failed factorisation raises LinAlgError (CuPy is
    asked to raise rather than return a partial factor)."""
    if backend.library == "cupy":
        import cupyx

        with cupyx.errstate(linalg="raise"):
            return backend.xp.linalg.cholesky(A)
    try:
        return backend.xp.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        raise
    except RuntimeError as exc:  # torch's error for a matrix that is not positive definite
        raise np.linalg.LinAlgError(str(exc)) from None


@contextmanager
def blas_threads(n: int | None):
    """Limit BLAS/OpenMP threads inside the block (no-op for None)."""
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(n)):
        yield
