r"""The empirical-risk Hessian of a small-width two-layer network, its spectrum and its outliers.

Model (docs/phase_transitions.md; Montanari & Wang 2026, arXiv 2602.01434): fixed width m,

    f(x) = sum_{j<=m} a_j sigma(<w_j, x>),     L(W, a) = (1/2n) sum_mu (y_mu - f(x_mu))^2,

with r = y - f. Parameters are ordered theta = (vec W row by row, a) (the a part only when the
second layer is trained, ``wrt="Wa"``). The Hessian is

    H = (1/n) J^T J - (1/n) sum_mu r_mu grad^2 f(x_mu)

where J (n x P) has rows (a_j sigma'(<w_j,x>) x, ..., sigma(<w_j,x>), ...). The W-W part of the second
term is block diagonal: block (j, j) is -(1/n) sum_mu r_mu a_j sigma''(<w_j,x_mu>) x_mu x_mu^T, i.e.
minus a spectral-method matrix D_T with T_mu = r_mu a_j sigma''_j (this is where negative outliers come
from). The a_j-w_j cross term is -(1/n) sum_mu r_mu sigma'_j x_mu.

At W = 0 for the quadratic network (sigma(t) = t^2, m = 1, a = 1) the Gauss-Newton part vanishes and
H = -(2/n) sum_mu y_mu x_mu x_mu^T exactly; with the loss (1/4n) sum (y - f)^2 of docs/phase_transitions.md this is
-(1/n) sum y x x^T.

Two paths:

* :func:`hessian` forms H (P x P, P = m d [+ m]) by sample chunks with one BLAS ``A^T A`` product
  per chunk for the Gauss-Newton part (O(n P^2) flops, memory O(P^2 + chunk P));
* :func:`hvp` applies H to a vector in O(n m d) without forming it, and :func:`smallest_eigs` uses
  it with Lanczos (``scipy.sparse.linalg.eigsh``, which="SA") for large m d.

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.standard_normal((50, 4)); y = rng.standard_normal(50)
>>> H = hessian(np.zeros((1, 4)), np.ones(1), "square", X, y)
>>> bool(np.allclose(H, -(2 / 50) * (X * y[:, None]).T @ X))
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import linalg as sla
from scipy.sparse.linalg import LinearOperator, eigsh

from .activations import Activation, get_activation
from .errors import ConfigError
from .backend import Backend, activation_values
from .linalg import DEFAULT_CHUNK, chunk_slices

WRT = ("W", "Wa")


def _act(sigma) -> Activation:
    return get_activation(sigma, "activation")


def _check_wrt(wrt: str) -> None:
    if wrt not in WRT:
        raise ConfigError("wrt", f"one of {list(WRT)}", wrt)


def n_params(m: int, d: int, wrt: str = "W") -> int:
    return m * d + (m if wrt == "Wa" else 0)


def risk_gradient(W, a, sigma, X, y, wrt: str = "W", chunk: int | None = DEFAULT_CHUNK) -> tuple[float, np.ndarray]:
    """(L, grad L) with grad flattened as theta = (vec W, [a]); computed over sample chunks."""
    _check_wrt(wrt)
    act = _act(sigma)
    m, d = W.shape
    n = X.shape[0]
    gW = np.zeros((m, d))
    ga = np.zeros(m)
    loss = 0.0
    for sl in chunk_slices(n, chunk):
        Xc = X[sl]
        U = Xc @ W.T
        S = act.f(U)
        r = y[sl] - S @ a
        loss += 0.5 * float(r @ r)
        gW -= ((act.df(U) * a) * r[:, None]).T @ Xc
        ga -= S.T @ r
    g = gW.ravel() / n
    if wrt == "Wa":
        g = np.concatenate([g, ga / n])
    return loss / n, g


def hessian(W, a, sigma, X, y, wrt: str = "W", chunk: int | None = DEFAULT_CHUNK) -> np.ndarray:
    r"""The Hessian of L at (W, a), shape (P, P), P = m d (+ m if ``wrt="Wa"``). See the module docstring.

    Shapes: W (m, d), a (m,), X (n, d), y (n,). Cost O(n P^2) in BLAS-3 products over chunks.
    """
    _check_wrt(wrt)
    act = _act(sigma)
    m, d = W.shape
    n = X.shape[0]
    P = n_params(m, d, wrt)
    H = np.zeros((P, P))
    for sl in chunk_slices(n, chunk):
        Xc = X[sl]
        c = Xc.shape[0]
        U = Xc @ W.T
        S = act.f(U)
        r = y[sl] - S @ a
        s1 = act.df(U) * a  # (c, m)
        s2 = act.d2f(U) * a
        J = (s1[:, :, None] * Xc[:, None, :]).reshape(c, m * d)
        if wrt == "Wa":
            J = np.concatenate([J, S], axis=1)
        H += J.T @ J
        for j in range(m):
            blk = slice(j * d, (j + 1) * d)
            H[blk, blk] -= (Xc * (r * s2[:, j])[:, None]).T @ Xc
            if wrt == "Wa":
                cross = Xc.T @ (r * act.df(U[:, j]))
                H[m * d + j, blk] -= cross
                H[blk, m * d + j] -= cross
    H /= n
    return 0.5 * (H + H.T)


def hvp(W, a, sigma, X, y, v, wrt: str = "W", chunk: int | None = DEFAULT_CHUNK, backend: Backend | None = None):
    """H v without forming H (O(n m d) per product, over sample chunks). With a non-numpy
    ``backend`` every array is a backend array and so is the result (:func:`_backend_hvp`)."""
    act = _act(sigma)
    if backend is not None and not backend.is_host:
        return _backend_hvp(W, a, act, X, y, v, wrt, chunk, backend)
    m, d = W.shape
    n = X.shape[0]
    V = v[: m * d].reshape(m, d)
    b = v[m * d :] if wrt == "Wa" else None
    outW = np.zeros((m, d))
    outa = np.zeros(m)
    for sl in chunk_slices(n, chunk):
        Xc = X[sl]
        U = Xc @ W.T
        S = act.f(U)
        dS = act.df(U)
        r = y[sl] - S @ a
        XV = Xc @ V.T  # (c, m)
        Jv = (dS * a * XV).sum(axis=1)
        if b is not None:
            Jv = Jv + S @ b
        # Gauss-Newton part: J^T (J v)
        coefW = (dS * a) * Jv[:, None]  # (c, m)
        # second-order part: -sum r grad^2 f v
        coefW -= r[:, None] * (act.d2f(U) * a) * XV
        if b is not None:
            coefW -= r[:, None] * dS * b[None, :]
            outa += S.T @ Jv - (r[:, None] * dS * XV).sum(axis=0)
        outW += coefW.T @ Xc
    out = outW.ravel() / n
    if wrt == "Wa":
        out = np.concatenate([out, outa / n])
    return out


def _backend_hvp(W, a, act: Activation, X, y, v, wrt: str, chunk: int | None, backend: Backend):
    """:func:`hvp` through the array API: the same chunked products on the backend's device."""
    xp = backend.xp
    m, d = W.shape
    n = X.shape[0]
    V = xp.reshape(v[: m * d], (m, d))
    b = v[m * d :] if wrt == "Wa" else None
    outW, outa = backend.zeros((m, d)), backend.zeros((m,))
    for sl in chunk_slices(n, chunk):
        Xc = X[sl, :]
        U = Xc @ W.T
        S = activation_values(act, U, backend)
        dS = activation_values(act, U, backend, 1)
        r = y[sl] - S @ a
        XV = Xc @ V.T  # (c, m)
        Jv = xp.sum(dS * a * XV, axis=1)
        if b is not None:
            Jv = Jv + S @ b
        coefW = (dS * a) * Jv[:, None] - r[:, None] * (activation_values(act, U, backend, 2) * a) * XV
        if b is not None:
            coefW = coefW - r[:, None] * dS * b[None, :]
            outa += S.T @ Jv - xp.sum(r[:, None] * dS * XV, axis=0)
        outW += coefW.T @ Xc
    out = xp.reshape(outW, (m * d,)) / n
    if wrt == "Wa":
        out = xp.concat([out, outa / n])
    return out


class Eigs(NamedTuple):
    """Smallest eigenpairs, ascending: values (q,), vectors (P, q)."""

    values: np.ndarray
    vectors: np.ndarray


def smallest_eigs(
    W, a, sigma, X, y, q: int = 6, wrt: str = "W", method: str = "auto", chunk: int | None = DEFAULT_CHUNK,
    dense_max: int = 2500, tol: float = 1e-10, rng: np.random.Generator | None = None,
    backend: Backend | None = None,
) -> Eigs:
    """The q smallest eigenpairs of H: dense ``eigh`` (subset) when P <= dense_max, else Lanczos on
    Hessian-vector products (``method`` in {"auto", "dense", "lanczos"}). With a non-numpy
    ``backend`` the Lanczos products run on its device (W, a, X, y copied there once; each
    Lanczos vector copied there and back); the dense path stays on the host."""
    m, d = W.shape
    P = n_params(m, d, wrt)
    q = int(min(q, P))
    if method not in ("auto", "dense", "lanczos"):
        raise ConfigError("method", "one of ['auto', 'dense', 'lanczos']", method)
    if method == "dense" or (method == "auto" and P <= dense_max) or q >= P - 1:
        H = hessian(W, a, sigma, X, y, wrt, chunk)
        val, vec = sla.eigh(H, subset_by_index=[0, q - 1], driver="evr", check_finite=False)
        return Eigs(val, vec)
    if backend is not None and not backend.is_host:
        on = [backend.put(x, "float64") for x in (W, a, X, y)]

        def matvec(v):
            out = hvp(*on[:2], sigma, *on[2:], backend.put(np.asarray(v).ravel(), "float64"), wrt, chunk, backend)
            return backend.get(out)
    else:
        def matvec(v):
            return hvp(W, a, sigma, X, y, np.asarray(v).ravel(), wrt, chunk)
    op = LinearOperator((P, P), matvec=matvec, dtype=float)
    v0 = (rng or np.random.default_rng(0)).standard_normal(P)
    val, vec = eigsh(op, k=q, which="SA", tol=tol, v0=v0, ncv=min(P, max(4 * q + 1, 40)))
    order = np.argsort(val)
    return Eigs(val[order], vec[:, order])


@dataclass(frozen=True)
class OutlierReport:
    """Negative-outlier summary of the bottom of the Hessian spectrum.

    values        : the smallest eigenvalues (ascending).
    q             : number of candidate outliers examined (target directions still to learn).
    gap           : values[q] - values[q-1], separation of the q-th smallest from the next one.
    edge          : values[q], the bulk-edge proxy.
    overlap_new   : mean over the q bottom eigenvectors of their squared mass in span(Theta*)
                    orthogonal to the learned directions (random baseline ~ (k - learned)/d).
    overlap_theta : same with all of span(Theta*).
    learned       : number of already-learned target directions.
    next_index    : among all the eigenpairs examined, the one whose eigenvector has the largest squared
                    mass in the new directions (-1 when every target direction is learned): the
                    outlier along the next direction, which need not be the smallest eigenvalue
                    (e.g. after a gradient step, below an outlier along the learned one).
    next_value, next_overlap : its eigenvalue and that squared mass (NaN when next_index is -1).
    """

    values: np.ndarray
    q: int
    gap: float
    edge: float
    overlap_new: float
    overlap_theta: float
    learned: int
    next_index: int = -1
    next_value: float = float("nan")
    next_overlap: float = float("nan")


def learned_directions(W: np.ndarray, theta: np.ndarray, tol: float = 0.5, min_norm: float = 1e-2) -> np.ndarray:
    """Orthonormal basis (k, l) of the target directions already learned by W.

    A neuron counts when ||w_j|| >= min_norm (a neuron still next to the origin has learned nothing)
    and ||Theta*^T w_j|| / ||w_j|| >= tol; the learned subspace of R^k is spanned by the
    Theta*-coordinates of those neurons (rank-revealing QR, relative threshold 1e-8).
    """
    k = theta.shape[1]
    C = W @ theta  # (m, k)
    norms = np.linalg.norm(W, axis=1)
    sel = (np.linalg.norm(C, axis=1) >= tol * np.maximum(norms, 1e-300)) & (norms >= min_norm)
    if not np.any(sel):
        return np.zeros((k, 0))
    Q, R, _ = sla.qr(C[sel].T, pivoting=True, mode="economic")
    diag = np.abs(np.diag(R))
    rank = int(np.sum(diag > 1e-8 * diag.max())) if diag.size else 0
    return Q[:, :rank]


def outlier_report(eigs: Eigs, m: int, d: int, theta: np.ndarray, W: np.ndarray, q: int | None = None,
                   learned_tol: float = 0.5, copies: int = 1) -> OutlierReport:
    """Gap, edge and overlaps of the bottom q eigenvectors (q defaults to k - learned, at least 1,
    times ``copies``: how often the Hessian repeats each outlier, e.g. once per neuron at a saddle)."""
    k = theta.shape[1]
    L = learned_directions(W, theta, learned_tol)
    l = L.shape[1]
    # new target directions: Theta* times the orthogonal complement of L in R^k
    if l:
        comp = sla.null_space(L.T) if l < k else np.zeros((k, 0))
    else:
        comp = np.eye(k)
    theta_new = theta @ comp
    q = int(q if q is not None else max(k - l, 1) * copies)
    q = min(q, eigs.values.size - 1)
    vals = eigs.values

    def mass(i: int, basis: np.ndarray) -> float:  # squared mass of eigenvector i's W-block in span(basis)
        return float(np.sum((eigs.vectors[: m * d, i].reshape(m, d) @ basis) ** 2))

    new = [mass(i, theta_new) for i in range(vals.size)] if theta_new.shape[1] else [0.0] * vals.size
    ov_new, ov_all = sum(new[:q], 0.0), sum((mass(i, theta) for i in range(q)), 0.0)
    nxt, nxt_val, nxt_ov = -1, float("nan"), float("nan")
    if theta_new.shape[1]:
        nxt = int(np.argmax(new))
        nxt_val, nxt_ov = float(vals[nxt]), new[nxt]
    return OutlierReport(vals, q, float(vals[q] - vals[q - 1]), float(vals[q]), ov_new / q, ov_all / q, l,
                         nxt, nxt_val, nxt_ov)
