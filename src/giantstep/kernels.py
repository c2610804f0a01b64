r"""Random-feature kernels of a feature law, and their modes (docs/function_space.md).

A first layer W (N x d, rows w) and an activation sigma define the random-feature kernel

    K(x, x') = E_w sigma(<w, x>) sigma(<w, x'>)                                    (1)

with the expectation over the rows' law. Three ways to compute it:

(i)   empirical, from a weight matrix: K = F F'^T / N with F = sigma(X W^T) (m x N);
(ii)  width-infinity for the spiked feature law of one large step
      (:class:`giantstep.theory.feature_law.SpikedLaw`, section 9.1)

          w = sqrt(b(a)) w0 + s a u,   w0 ~ N(0, I_d / d),  ||u|| = 1,  b(a) = bulk + (c - 1) a^2.

      Given a, (<w,x>, <w,x'>) is Gaussian with means (a s <u,x>, a s <u,x'>) and covariance
      b(a) <x,x'>/d, so (1) is an average over a of bivariate Gaussian expectations. When the law
      is N(0, Sigma) (Gaussian a, c = 1; Sigma = (bulk/d) I + s^2 u u^T) it is one zero-mean
      expectation with c11 = x^T Sigma x, c22, c12 = x^T Sigma x': closed forms for erf (arcsine
      kernel) and relu (arc-cosine kernel of degree 1), 2-D Gauss-Hermite quadrature otherwise;
(iii) the input-space view (docs/function_space.md, 'Objects'): K(x, x') = K_iso(sqrt(d) Sigma^{1/2} x, ...),
      the isotropic kernel on inputs stretched along u by sqrt(b + d s^2) (and by sqrt(b)
      across u).

Mode analysis. For x ~ N(0, I_d) the kernel is an integral operator T f(x) = E_x' K(x,x') f(x').
For a named function f with E f^2 = 1 its Rayleigh quotient ("mode eigenvalue")

    lambda_f = <f, T f> = E_{x,x'} f(x) K(x, x') f(x') = E_w [P_f(w)^2],
    P_f(w) := E_x [f(x) sigma(<w, x>)]                                              (2)

equals the eigenvalue when f is an eigenfunction. For Gaussian x, with r = ||w||, t = <theta, w>
and c_k(r) := E[sigma(r G) He_k(G)] (Hermite coefficients at the row norm), P_f is explicit:

    const      1                                    P = c_0(r)
    radial     (||x||^2 - d) / sqrt(2 d)             P = c_2(r) / sqrt(2 d)
    lin_u      <theta, x>                            P = (t / r) c_1(r)
    he2_u      He_2(<theta, x>) / sqrt(2)            P = (t / r)^2 c_2(r) / sqrt(2)
    quad_u     (he2_u - radial/sqrt(d)) / sqrt(1 - 1/d)   (the part of he2_u orthogonal to radial;
               a traceless degree-2 harmonic)       P = c_2(r) (t^2/r^2 - 1/d) / sqrt(2 (1 - 1/d))
    lin_e, quad_e   the same along a generic direction e (orthogonal to theta)
    cross_e    <e1, x><e2, x>  (e1, e2 orthonormal, orthogonal to theta)
                                                     P = c_2(r) t1 t2 / r^2

(because <theta, x> given <w, x> = r G is (t/r) G + independent noise, and E[He_k(rho G + ...)|G] =
rho^k He_k(G)). So (2) can be evaluated three ways: from a kernel matrix on m samples (an unbiased
U-statistic, :func:`rayleigh_from_kernel`), from features with the exact per-neuron mean
c_0(||w||) removed (lower variance, :func:`mode_forms_from_features`), or exactly in x from the
rows of W (:func:`mode_forms_from_weights`). The block of B_fg = E_w[P_f P_g] on
(const, radial, quad_u) gives the *mixing angle*: the angle of its top eigenvector in the
(radial, quad_u) plane, 0 for an isotropic law (by symmetry) and growing with the spike.

Isotropic special values (relu, exact for every d): lambda_const = mu0^2, lambda_lin = mu1^2 / d,
lambda_radial = c2^2 / (2 d), lambda_quad = lambda_cross = c2^2 / (d (d + 2)); in general the
degree-l harmonic eigenvalue is c_l^2 / d^l to leading order.

Normalisation: x ~ N(0, I_d); rows w have ||w|| ~ 1 at initialisation; K/m is eigen-decomposed.
References: Lobo, Loureiro, Tran-Thanh, Liu (2026, seed 000); Cho & Saul 2009 (arc-cosine kernel);
Williams 1997 (arcsine kernel); Ba et al. 2022 (arXiv 2205.01445) for the one-step spike.

Example
-------
>>> import numpy as np
>>> X = np.eye(3) * np.sqrt(3)
>>> K = spiked_kernel("relu", X, law=SpikedLaw(d=3, s=0.0, u=np.eye(3)[0]))
>>> round(float(K[0, 0]), 12)   # E relu(G)^2 = 1/2
0.5
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import linalg as sla

from .activations import Activation, get_activation
from .errors import ConfigError
from .hermite import gaussian_expectation
from .linalg import chunk_slices, gram, top_singular
from .theory.bbp import spiked_covariance, spiked_covariance_strength
from .theory.feature_law import SpikedLaw
from .theory.quadrature import gauss_hermite
METHODS = ("auto", "closed", "gauss-hermite", "adaptive")
CLOSED_FORMS = ("relu", "erf")
# positively homogeneous activations: sigma(r z) = r^p sigma(z) for r > 0
HOMOGENEOUS = {"relu": 1, "abs": 1, "linear": 1, "he1": 1, "sign": 0, "square": 2}
MODE_NAMES = ("const", "radial", "lin_u", "he2_u", "quad_u", "lin_e", "quad_e", "cross_e")
MIXING_BLOCK = ("const", "radial", "quad_u")
DEFAULT_NODES = 48


# ----------------------------------------------------------------------------------------------
# bivariate Gaussian expectations


def _closed_relu(c11, c22, c12):
    # arc-cosine kernel of degree 1 (Cho & Saul 2009)
    norm = np.sqrt(c11 * c22)
    cos = np.clip(np.divide(c12, norm, out=np.zeros_like(norm), where=norm > 0), -1.0, 1.0)
    theta = np.arccos(cos)
    return norm * (np.sin(theta) + (math.pi - theta) * cos) / (2.0 * math.pi)


def _closed_erf(c11, c22, c12):
    # arcsine kernel (Williams 1997)
    arg = 2.0 * c12 / np.sqrt((1.0 + 2.0 * c11) * (1.0 + 2.0 * c22))
    return (2.0 / math.pi) * np.arcsin(np.clip(arg, -1.0, 1.0))


def _gauss_hermite_pair(f, c11, c22, c12, m1, m2, nodes):
    z, w = gauss_hermite(nodes)
    a = np.sqrt(np.maximum(c11, 0.0))
    safe = np.where(a > 0, a, 1.0)
    b = np.where(a > 0, c12 / safe, 0.0)
    c = np.sqrt(np.maximum(c22 - b * b, 0.0))
    shp = np.broadcast(c11, c22, c12, m1, m2).shape
    a, b, c, m1, m2 = (np.broadcast_to(v, shp).reshape(-1) for v in (a, b, c, m1, m2))
    out = np.empty(a.shape[0])
    step = max(1, 2_000_000 // (nodes * nodes))
    for sl in chunk_slices(a.shape[0], step):
        z1 = m1[sl, None] + a[sl, None] * z[None, :]  # (p, n)
        f1 = f(z1)
        inner = m2[sl, None, None] + b[sl, None, None] * z[None, :, None] + c[sl, None, None] * z[None, None, :]
        f2 = f(inner) @ w  # (p, n): E over g2
        out[sl] = (f1 * f2) @ w
    return out.reshape(shp)


def _adaptive_pair_scalar(act: Activation, c11, c22, c12, m1, m2) -> float:
    a = math.sqrt(max(c11, 0.0))
    b = c12 / a if a > 0 else 0.0
    c = math.sqrt(max(c22 - b * b, 0.0))
    f = lambda z: float(act.f(np.asarray(z, dtype=float)))  # noqa: E731

    def inner(g1: float) -> float:
        base = m2 + b * g1
        if c == 0:
            return f(base)
        kinks = tuple((k - base) / c for k in act.kinks)
        return gaussian_expectation(lambda g2: f(base + c * g2), kinks)

    outer_kinks = tuple((k - m1) / a for k in act.kinks) if a > 0 else ()
    # the inner expectation has a kink in g1 where base crosses a kink only if c == 0
    return gaussian_expectation(lambda g1: f(m1 + a * g1) * inner(g1), outer_kinks)


def pair_expectation(
    sigma: "str | Activation",
    c11,
    c22,
    c12,
    mean1=0.0,
    mean2=0.0,
    method: str = "auto",
    nodes: int = DEFAULT_NODES,
) -> np.ndarray:
    r"""E[sigma(z1) sigma(z2)] for (z1, z2) ~ N((mean1, mean2), [[c11, c12], [c12, c22]]).

    Arrays broadcast. ``method``: ``closed`` (relu: arc-cosine, erf: arcsine; zero means only),
    ``gauss-hermite`` (``nodes`` x ``nodes`` tensor rule on z1 = sqrt(c11) g1, z2 = (c12/sqrt(c11)) g1 +
    sqrt(c22 - c12^2/c11) g2; exact to ~1e-12 for smooth sigma, ~1e-3 at a kink), ``adaptive``
    (nested adaptive quadrature split at the kinks; slow, scalar loop, ~1e-11 for any sigma),
    ``auto`` (closed when available, else Gauss-Hermite).

    >>> round(float(pair_expectation("erf", 1.0, 1.0, 1.0, method="closed")), 6)
    0.464559
    """
    act = get_activation(sigma, "activation")
    if method not in METHODS:
        raise ConfigError("method", f"one of {list(METHODS)}", method)
    c11, c22, c12 = (np.asarray(v, dtype=float) for v in (c11, c22, c12))
    m1, m2 = np.asarray(mean1, dtype=float), np.asarray(mean2, dtype=float)
    zero_mean = not (np.any(m1 != 0) or np.any(m2 != 0))
    if method == "auto":
        method = "closed" if (act.name in CLOSED_FORMS and zero_mean) else "gauss-hermite"
    if method == "closed":
        if act.name not in CLOSED_FORMS:
            raise ConfigError("method", f"'closed' only for activations {list(CLOSED_FORMS)}", act.name)
        if not zero_mean:
            raise ConfigError("method", "'closed' only for zero means", "non-zero means")
        return (_closed_relu if act.name == "relu" else _closed_erf)(c11, c22, c12)
    if method == "gauss-hermite":
        return _gauss_hermite_pair(act.f, c11, c22, c12, m1, m2, int(nodes))
    shp = np.broadcast(c11, c22, c12, m1, m2).shape
    args = [np.broadcast_to(v, shp).reshape(-1) for v in (c11, c22, c12, m1, m2)]
    out = np.array([_adaptive_pair_scalar(act, *map(float, vals)) for vals in zip(*args)])
    return out.reshape(shp)


# ----------------------------------------------------------------------------------------------
# kernel matrices (i), (ii), (iii)


def features(sigma: "str | Activation", W: np.ndarray, X: np.ndarray) -> np.ndarray:
    """F = sigma(X W^T), shape (m, N)."""
    return get_activation(sigma, "activation").f(X @ W.T)


def empirical_kernel(sigma: "str | Activation", W: np.ndarray, X: np.ndarray, Xp: np.ndarray | None = None) -> np.ndarray:
    r"""(i) K = sigma(X W^T) sigma(X' W^T)^T / N, shape (m, m'). W (N, d), X (m, d)."""
    F = features(sigma, W, X)
    if Xp is None:
        return gram(F) / W.shape[0]
    return F @ features(sigma, W, Xp).T / W.shape[0]


def spiked_kernel(
    sigma: "str | Activation",
    X: np.ndarray,
    Xp: np.ndarray | None = None,
    *,
    law: SpikedLaw,
    method: str = "auto",
    nodes: int = DEFAULT_NODES,
    nodes_a: int = 24,
) -> np.ndarray:
    r"""(ii) Width-infinity kernel E_w sigma(<w,x>) sigma(<w,x'>) under ``law``, shape (m, m').

    Gaussian law (Gaussian a, c = 1): covariances c12 = bulk <x,x'>/d + s^2 <u,x><u,x'>. Otherwise
    the average over the second layer's rule for a (+-1, or ``nodes_a`` Gauss-Hermite nodes) of the
    kernel with means (a s <u,x>, a s <u,x'>) and covariance b(a) <x,x'>/d (Gauss-Hermite or
    adaptive; no closed form).
    """
    sym = Xp is None
    Xp = X if sym else Xp
    d, u = law.d, law.direction()
    k1, k2 = X @ u, Xp @ u
    g1 = np.einsum("ij,ij->i", X, X) / d
    g2 = np.einsum("ij,ij->i", Xp, Xp) / d
    g12 = (X @ Xp.T) / d
    if law.gaussian:
        s2 = law.s**2
        return pair_expectation(
            sigma, (law.bulk * g1 + s2 * k1**2)[:, None], (law.bulk * g2 + s2 * k2**2)[None, :],
            law.bulk * g12 + s2 * np.outer(k1, k2), method=method, nodes=nodes,
        )
    if method in ("closed",):
        raise ConfigError("method", "'gauss-hermite', 'adaptive' or 'auto' for a non-Gaussian law", method)
    meth = "gauss-hermite" if method == "auto" else method
    out = 0.0
    for a, p in zip(*law.second_layer_rule(nodes_a)):
        b = float(law.row_variance(a))
        out = out + p * pair_expectation(
            sigma, b * g1[:, None], b * g2[None, :], b * g12, (a * law.s * k1)[:, None], (a * law.s * k2)[None, :],
            method=meth, nodes=nodes,
        )
    return out


def stretch_inputs(X: np.ndarray, law: SpikedLaw) -> np.ndarray:
    r"""sqrt(d) Sigma^{1/2} x = sqrt(b) x + (sqrt(b + d s^2) - sqrt(b)) <u, x> u, row-wise."""
    u = law.direction()
    kappa = X @ u
    gain = math.sqrt(law.bulk + law.d * law.s**2) - math.sqrt(law.bulk)
    return math.sqrt(law.bulk) * X + gain * np.outer(kappa, u)


def input_space_kernel(
    sigma: "str | Activation",
    X: np.ndarray,
    Xp: np.ndarray | None = None,
    *,
    law: SpikedLaw,
    method: str = "auto",
    nodes: int = DEFAULT_NODES,
) -> np.ndarray:
    r"""(iii) K_iso(sqrt(d) Sigma^{1/2} x, sqrt(d) Sigma^{1/2} x'): the isotropic kernel
    (w ~ N(0, I/d)) on stretched inputs. Equals (ii) for a Gaussian second layer (docs/function_space.md);
    a +-1 second layer (or an a-dependent inflation c > 1) is not Gaussian along u and has no
    such view (ConfigError)."""
    if law.second_layer != "gaussian":
        raise ConfigError("second_layer", "'gaussian' for the input-space view", law.second_layer)
    if not law.gaussian:
        raise ConfigError("inflation", "1 for the input-space view (a Gaussian law)", law.inflation)
    iso = SpikedLaw(d=law.d, s=0.0, u=law.u)
    Xt = stretch_inputs(X, law)
    Xpt = None if Xp is None else stretch_inputs(Xp, law)
    return spiked_kernel(sigma, Xt, Xpt, law=iso, method=method, nodes=nodes)


# ----------------------------------------------------------------------------------------------
# Hermite coefficients at a row norm


def _chebyshev_nodes(lo: float, hi: float, n: int) -> np.ndarray:
    k = np.arange(n)
    return 0.5 * (lo + hi) + 0.5 * (hi - lo) * np.cos(math.pi * (k + 0.5) / n)


def _direct_scaled(act: Activation, r: np.ndarray, degree: int) -> np.ndarray:
    from scipy.special import eval_hermitenorm

    if act.kinks:
        out = np.empty((r.shape[0], degree + 1))
        for i, ri in enumerate(r):
            for k in range(degree + 1):
                out[i, k] = gaussian_expectation(
                    lambda z, k=k: float(act.f(np.asarray(ri * z))) * float(eval_hermitenorm(k, z)),
                    tuple(kk / ri for kk in act.kinks) if ri > 0 else (),
                )
        return out
    z, w = gauss_hermite(200)
    H = np.stack([eval_hermitenorm(k, z) for k in range(degree + 1)], axis=1)  # (n, K+1)
    return (act.f(r[:, None] * z[None, :]) * w[None, :]) @ H


def scaled_hermite(sigma: "str | Activation", r, degree: int = 2) -> np.ndarray:
    r"""c_k(r) = E[sigma(r G) He_k(G)] for k = 0..degree; shape r.shape + (degree + 1,).

    Positively homogeneous sigma (relu, abs, sign, linear, square): r^p c_k exactly. Otherwise
    200-node Gauss-Hermite (smooth sigma) or adaptive quadrature split at the kinks, evaluated
    directly for <= 64 values and through 64-node Chebyshev interpolation on [min r, max r]
    beyond (spectral accuracy: c_k(r) is smooth in r > 0).
    """
    act = get_activation(sigma, "activation")
    r = np.asarray(r, dtype=float)
    flat = r.reshape(-1)
    if act.name in HOMOGENEOUS:
        base = _direct_scaled(act, np.array([1.0]), degree)[0]
        p = HOMOGENEOUS[act.name]
        return (flat[:, None] ** p * base[None, :]).reshape(r.shape + (degree + 1,))
    lo, hi = float(flat.min(initial=1.0)), float(flat.max(initial=1.0))
    if flat.size <= 64 or hi - lo < 1e-12:
        uniq, inv = np.unique(flat, return_inverse=True)
        return _direct_scaled(act, uniq, degree)[inv].reshape(r.shape + (degree + 1,))
    nodes = _chebyshev_nodes(lo, hi, 64)
    vals = _direct_scaled(act, nodes, degree)  # (64, K+1)
    x = (2 * flat - (lo + hi)) / (hi - lo)
    xn = (2 * nodes - (lo + hi)) / (hi - lo)
    coef = np.polynomial.chebyshev.chebfit(xn, vals, 63)
    return np.polynomial.chebyshev.chebval(x, coef).T.reshape(r.shape + (degree + 1,))


# ----------------------------------------------------------------------------------------------
# named candidate functions and their Rayleigh quotients


def generic_directions(theta: np.ndarray, rng: np.random.Generator, count: int = 2) -> np.ndarray:
    """``count`` orthonormal directions (d, count) orthogonal to ``theta`` (Haar within the complement)."""
    theta = np.asarray(theta, dtype=float).reshape(-1)
    theta = theta / np.linalg.norm(theta)
    G = rng.standard_normal((theta.shape[0], count))
    G -= np.outer(theta, theta @ G)
    Q, R = np.linalg.qr(G)
    return Q * np.sign(np.diag(R))


def candidate_values(X: np.ndarray, theta: np.ndarray, E: np.ndarray) -> dict[str, np.ndarray]:
    """The named functions of the module docstring at the rows of X (each (m,), E f^2 = 1)."""
    d = X.shape[1]
    t = X @ theta
    te = X @ E
    radial = (np.einsum("ij,ij->i", X, X) - d) / math.sqrt(2 * d)
    shrink = 1.0 / math.sqrt(1.0 - 1.0 / d)
    he2u = (t**2 - 1) / math.sqrt(2)
    he2e = (te[:, 0] ** 2 - 1) / math.sqrt(2)
    return {
        "const": np.ones(X.shape[0]),
        "radial": radial,
        "lin_u": t,
        "he2_u": he2u,
        "quad_u": (he2u - radial / math.sqrt(d)) * shrink,
        "lin_e": te[:, 0],
        "quad_e": (he2e - radial / math.sqrt(d)) * shrink,
        "cross_e": te[:, 0] * te[:, 1],
    }


def neuron_projections(sigma: "str | Activation", W: np.ndarray, theta: np.ndarray, E: np.ndarray) -> dict[str, np.ndarray]:
    r"""P_f(w) = E_x[f(x) sigma(<w, x>)] for every row w of W and every named f (exact in x)."""
    d = W.shape[1]
    r = np.linalg.norm(W, axis=1)
    t = W @ theta
    te = W @ E
    return projections_from_invariants(sigma, d, r, t, te[:, 0], te[:, 1])


def projections_from_invariants(sigma, d: int, r, t, t1, t2) -> dict[str, np.ndarray]:
    """P_f from the invariants (r = ||w||, t = <theta,w>, t1 = <e1,w>, t2 = <e2,w>); broadcasts."""
    r = np.asarray(r, dtype=float)
    c = scaled_hermite(sigma, r, 2)
    c0, c1, c2 = c[..., 0], c[..., 1], c[..., 2]
    safe = np.where(r > 0, r, 1.0)
    cu, c1e, c2e = t / safe, t1 / safe, t2 / safe
    shrink = 1.0 / math.sqrt(2.0 * (1.0 - 1.0 / d))
    return {
        "const": c0,
        "radial": c2 / math.sqrt(2 * d),
        "lin_u": cu * c1,
        "he2_u": cu**2 * c2 / math.sqrt(2),
        "quad_u": c2 * (cu**2 - 1.0 / d) * shrink,
        "lin_e": c1e * c1,
        "quad_e": c2 * (c1e**2 - 1.0 / d) * shrink,
        "cross_e": c2 * c1e * c2e,
    }


class ModeForms(NamedTuple):
    """B_fg = <f, T g> on the named functions ``names`` (B is (p, p), symmetric)."""

    names: tuple[str, ...]
    B: np.ndarray

    def eigenvalue(self, name: str) -> float:
        """The Rayleigh quotient <f, T f> of one named function."""
        i = self.names.index(name)
        return float(self.B[i, i])

    def block(self, names: tuple[str, ...]) -> np.ndarray:
        idx = [self.names.index(n) for n in names]
        return self.B[np.ix_(idx, idx)]


def mode_forms_from_weights(sigma, W: np.ndarray, theta: np.ndarray, E: np.ndarray) -> ModeForms:
    """B = (1/N) sum_k P(w_k) P(w_k)^T: the empirical-width kernel integrated exactly over x."""
    P = neuron_projections(sigma, W, theta, E)
    M = np.stack([P[n] for n in MODE_NAMES])  # (p, N)
    return ModeForms(MODE_NAMES, M @ M.T / W.shape[0])


def mode_forms_from_features(sigma, W: np.ndarray, X: np.ndarray, theta: np.ndarray, E: np.ndarray) -> ModeForms:
    r"""U-statistic estimate of B from the empirical kernel on the m samples X (rows ~ N(0, I_d)).

    The exact per-neuron mean c_0(||w_k||) = E_x sigma(<w_k, x>) is removed from the features
    (it carries only the constant mode), which leaves the estimate unbiased for every mean-zero
    f and lowers its variance; the constant row uses c_0 exactly:

        B_fg = sum_{i != j} f(x_i) Kc_ij g(x_j) / (m (m - 1)),  Kc = Fc Fc^T / N,  Fc = F - c_0(r)
        B_const,g = (1/N) sum_k c_0(r_k) (1/m) sum_i g(x_i) Fc_ik,   B_const,const = mean_k c_0(r_k)^2.
    """
    m = X.shape[0]
    N = W.shape[0]
    r = np.linalg.norm(W, axis=1)
    c0 = scaled_hermite(sigma, r, 0)[:, 0]
    Fc = features(sigma, W, X) - c0[None, :]
    cand = candidate_values(X, theta, E)
    names = MODE_NAMES
    C = np.stack([cand[n] for n in names], axis=1)  # (m, p)
    A = C.T @ Fc  # (p, N)
    diag = np.einsum("ik,ik->i", Fc, Fc)
    B = (A @ A.T - (C * diag[:, None]).T @ C) / (N * m * (m - 1))
    i0 = names.index("const")
    row = (A / m) @ c0 / N
    B[i0, :] = row
    B[:, i0] = row
    B[i0, i0] = float(np.mean(c0**2))
    return ModeForms(names, B)


def rayleigh_from_kernel(K: np.ndarray, values: dict[str, np.ndarray], names: tuple[str, ...] | None = None) -> ModeForms:
    """Unbiased U-statistic B_fg = sum_{i != j} f_i K_ij g_j / (m (m - 1)) from a kernel matrix."""
    names = tuple(values) if names is None else tuple(names)
    m = K.shape[0]
    C = np.stack([values[n] for n in names], axis=1)
    KC = K @ C - np.diag(K)[:, None] * C
    return ModeForms(names, C.T @ KC / (m * (m - 1)))


def block_mixing_angle(block: np.ndarray) -> float:
    r"""Angle (degrees, in [0, 90]) of the top eigenvector of a 3 x 3 block on (const, radial, quad_u)
    within the (radial, quad_u) plane: atan(|v_quad_u| / |v_radial|). 0 for an isotropic law."""
    w, V = np.linalg.eigh(0.5 * (block + block.T))
    v = V[:, int(np.argmax(w))]
    return float(np.degrees(np.arctan2(abs(v[2]), abs(v[1]))))


def deflated_eigenvalue(block: np.ndarray) -> float:
    """B_qq - B_q0^2 / B_00 on the (const, radial, quad_u) block: quad_u after deflating the constant."""
    return float(block[2, 2] - block[0, 2] ** 2 / block[0, 0]) if block[0, 0] > 0 else float(block[2, 2])


def mixing_angle(forms: ModeForms) -> float:
    """:func:`block_mixing_angle` of the (const, radial, quad_u) block of ``forms``."""
    return block_mixing_angle(forms.block(MIXING_BLOCK))


# ----------------------------------------------------------------------------------------------
# spectrum of the kernel matrix with mode labels

LABEL_GROUPS = ("const", "radial", "lin_u", "quad_u", "lin_perp", "quad_perp")


class KernelSpectrum(NamedTuple):
    """Top eigenvalues of K/m (descending), the label of each eigenvector and its energy fractions."""

    eigenvalues: np.ndarray  # (top,)
    labels: tuple[str, ...]
    fractions: np.ndarray  # (top, len(LABEL_GROUPS)): energy of the eigenvector in each group


def label_basis(X: np.ndarray, theta: np.ndarray, E: np.ndarray, quad_dirs: int = 6) -> tuple[np.ndarray, np.ndarray]:
    d = X.shape[1]
    cand = candidate_values(X, theta, E)
    full, _ = np.linalg.qr(np.concatenate([theta[:, None], np.eye(d)], axis=1))  # (d, d), first column +-theta
    Xp = X @ full[:, 1:]  # the d - 1 linear functions orthogonal to theta
    te = X @ E
    q = [cand["quad_e"], cand["cross_e"]]
    k = min(quad_dirs, E.shape[1])
    for a in range(k):
        for b in range(a + 1, k):
            if (a, b) != (0, 1):
                q.append(te[:, a] * te[:, b])
    cols = [cand["const"][:, None], cand["radial"][:, None], cand["lin_u"][:, None], cand["quad_u"][:, None], Xp, np.stack(q, 1)]
    groups = np.concatenate([np.full(c.shape[1], g) for g, c in enumerate(cols)])
    M = np.concatenate(cols, axis=1)
    return _orthonormalize(M), groups


def _orthonormalize(M: np.ndarray) -> np.ndarray:
    """Orthonormal columns spanning M's (full-rank) columns, in order: Cholesky QR, twice."""
    Q = M
    for _ in range(2):
        L = sla.cholesky(Q.T @ Q, lower=True, check_finite=False)
        Q = sla.solve_triangular(L, Q.T, lower=True, check_finite=False).T
    return Q


def kernel_spectrum(
    X: np.ndarray,
    theta: np.ndarray,
    E: np.ndarray,
    top: int = 12,
    *,
    K: np.ndarray | None = None,
    factor: np.ndarray | None = None,
    basis: tuple[np.ndarray, np.ndarray] | None = None,
) -> KernelSpectrum:
    r"""Top eigenpairs of K/m labelled by the candidate group holding most of each eigenvector's
    energy: const, radial, lin_u (<theta,x>), quad_u, lin_perp (all linear functions orthogonal to
    theta), quad_perp (a few generic quadratic harmonics), or ``other`` when less than half of the
    energy lies in these groups (m must exceed d + 10).

    Give either the kernel matrix ``K`` (m x m; LAPACK ``syevr`` subset) or a factor A with
    K/m = A A^T, e.g. A = sigma(X W^T)/sqrt(N m) (then the top pairs come from the Gram matrix of
    the smaller side through :func:`giantstep.linalg.top_singular`, O(m N^2) instead of O(m^3)).
    ``basis`` = :func:`label_basis` (X, theta, E) may be passed to reuse it across kernels.
    """
    m = X.shape[0]
    top = int(min(top, m))
    if factor is not None:
        pairs = top_singular(factor, top)
        w, V = pairs.s**2, pairs.U
    else:
        w, V = sla.eigh(K / m, subset_by_index=[m - top, m - 1], driver="evr", check_finite=False)
        order = np.argsort(w)[::-1]
        w, V = w[order], V[:, order]
    Q, groups = label_basis(X, theta, E) if basis is None else basis
    coef = Q.T @ V  # (q, top)
    frac = np.stack([np.sum(coef[groups == g] ** 2, axis=0) for g in range(len(LABEL_GROUPS))], axis=1)
    labels = tuple(LABEL_GROUPS[int(np.argmax(f))] if f.max() >= 0.5 else "other" for f in frac)
    return KernelSpectrum(w, labels, frac)


# ----------------------------------------------------------------------------------------------
# spiked-Gaussian fit of measured weights


class SpikeFit(NamedTuple):
    r"""Fit of rows of W to w = sqrt(b) w0 + s a u (:mod:`giantstep.theory.feature_law`).

    s2          spike strength s^2 (BBP-corrected; 0 when the top eigenvalue is not an outlier)
    bulk        b (so the bulk covariance is b I / d)
    u           (d,) estimated spike direction (top eigenvector of W^T W / N)
    alignment   |<u_hat, theta>| (raw overlap with the target)
    alignment_corrected   |<u_hat, theta>| / overlap(u_hat, u), the BBP-corrected |<u, theta>|
    excess_kurtosis       of the projections <w_i, u_hat> (0 for a Gaussian law along u;
                          -2 beta^2/(1+beta)^2 for a +-1 second layer, beta = d s^2 / b)
    outlier     whether the top eigenvalue exceeds the MP edge b (1 + sqrt(d/N))^2 / d
    """

    s2: float
    bulk: float
    u: np.ndarray
    alignment: float
    alignment_corrected: float
    excess_kurtosis: float
    outlier: bool


def fit_spiked_gaussian(W: np.ndarray, theta: np.ndarray | None = None, iterations: int = 5) -> SpikeFit:
    r"""Estimate (s^2, b, u) from W (N, d) through the sample covariance S = W^T W / N.

    With aspect = d/N and ell = d s^2 / b, the spiked-covariance law (docs/theory.md, section 2,
    :func:`giantstep.theory.bbp.spiked_covariance`) gives the top eigenvalue
    lambda = (b/d)(1 + ell)(1 + aspect/ell) for ell > sqrt(aspect) and the squared overlap; we
    invert the first for ell (:func:`giantstep.theory.bbp.spiked_covariance_strength` at
    y = lambda d / b) and set b = tr S - s^2, iterating.
    """
    N, d = W.shape
    pairs = top_singular(W, 1)
    lam = float(pairs.s[0] ** 2 / N)
    u = pairs.V[:, 0]
    tr = float(np.sum(W * W) / N)
    aspect = d / N
    bulk, s2, ell = tr, 0.0, 0.0
    for _ in range(iterations):
        ell = spiked_covariance_strength(aspect, lam * d / bulk)
        s2 = ell * bulk / d
        bulk = tr - s2
    outlier = ell > 0
    t = W @ u
    t = t - t.mean()
    kurt = float(np.mean(t**4) / np.mean(t**2) ** 2 - 3.0)
    if theta is None:
        return SpikeFit(s2, bulk, u, float("nan"), float("nan"), kurt, bool(outlier))
    th = np.asarray(theta, dtype=float).reshape(-1)
    align = float(abs(u @ th) / np.linalg.norm(th))
    ov2 = spiked_covariance(aspect, ell).right_overlap2 if outlier else float("nan")
    corr = float(min(align / math.sqrt(ov2), 1.0)) if ov2 == ov2 and ov2 > 0 else float("nan")
    return SpikeFit(s2, bulk, u, align, corr, kurt, bool(outlier))
