r"""Spectral methods D_T = (1/n) sum_mu T(y_mu) x_mu x_mu^T: top eigenvalue, overlap, threshold.

Setting (docs/phase_transitions.md; Lu & Li 2017, arXiv 1702.06435; Mondelli & Montanari 2018,
arXiv 1708.05932): x_mu ~ N(0, I_d) (unit-variance entries, no 1/d), n = delta * d, y_mu depends
on x_mu through z = Theta*^T x_mu, and T is bounded above with tau = sup T. For lambda > tau

    psi_delta(lambda) = lambda (1/delta + E[T / (lambda - T)])
    phi(lambda)       = lambda E[T z^2 / (lambda - T)]
    lambda_bar        = argmin_{lambda > tau} psi_delta        (psi is convex there)
    zeta_delta(lambda)= psi_delta(max(lambda, lambda_bar))

and lambda* solves zeta_delta(lambda*) = phi(lambda*). As n, d -> infinity:

* the top eigenvalue of D_T -> zeta_delta(lambda*), and the bulk edge -> psi_delta(lambda_bar);
* an informative outlier exists iff psi'_delta(lambda*) > 0, and then
  cos^2(v1, theta*) -> psi'(lambda*) / (psi'(lambda*) - phi'(lambda*)), else cos^2 -> 0;
* psi'(lambda) = 1/delta - E[T^2/(lambda - T)^2],  phi'(lambda) = -E[T^2 z^2/(lambda - T)^2].

The threshold delta_T is the smallest delta with an outlier: the outlier exists iff
phi(lambda_bar) > psi(lambda_bar). Negative outliers of D_T (e.g. of a Hessian, whose negative part
is minus a spectral matrix) are the positive outliers of D_{-T}.

Multi-index extension [DER, verified by simulation in the tests]: for z in R^k the outlier equation
holds direction by direction with phi replaced by the eigenvalues of the k x k matrix
Phi(lambda) = lambda E[T z z^T/(lambda - T)]; for teachers invariant under rotations of z
(``combine = "norm"``) Phi = phi I and the outlier is k-fold degenerate, its eigenvectors spanning
span(Theta*) with the same cos^2 per direction.

Expectations are sums over a fixed quadrature grid (Gauss-Legendre in z, and in eps for label
noise), computed once. For k = 1 without noise the panels are aligned with the kinks of T(g(z))
(clipping levels, kinks of g), which makes the 24k-node rule accurate to ~1e-12; elsewhere the grid is
uniform and a kink costs O(h^2) ~ 1e-5.

Example: phase retrieval y = z^2 with T(y) = min(y, 3) - 1 at delta = 2

>>> p = spectral_prediction("square", Preprocessing(upper=3.0, shift=1.0), 2.0)
>>> round(p.top, 2), round(p.cos2, 2)
(2.13, 0.39)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import optimize

from ..activations import Activation, get_activation
from ..errors import ConfigError
from ..targets import COMBINES, multi_index_link
from .domain import require
from .quadrature import gaussian_panels, tensor_grid
from .result import Result
from .validation import NOISE, POSITIVE, RATIO, Function, Instance, Interval, Options, validate_params


@dataclass(frozen=True)
class Preprocessing:
    r"""T(y) = scale * (clip(y, lower, upper) - shift).

    ``scale < 0`` flips the sign (negative outliers). sup T is finite when (scale > 0 and upper
    finite) or (scale < 0 and lower finite) or y itself is bounded on the support.
    """

    scale: float = 1.0
    shift: float = 0.0
    lower: float = -math.inf
    upper: float = math.inf

    def __call__(self, y: np.ndarray) -> np.ndarray:
        return self.scale * (np.clip(y, self.lower, self.upper) - self.shift)

    def describe(self) -> str:
        return f"T(y) = {self.scale:g} * (clip(y, {self.lower:g}, {self.upper:g}) - {self.shift:g})"


@dataclass(frozen=True)
class SpectralPrediction(Result):
    """Asymptotic top of the spectrum of D_T (see the module docstring)."""

    delta: float
    top: float  # limit of the largest eigenvalue of D_T
    edge: float  # limit of the bulk's right edge psi(lambda_bar)
    cos2: float  # limit of the squared overlap of the top eigenvector with span(Theta*) (per direction)
    outlier: bool
    lambda_star: float
    lambda_bar: float
    sup_T: float


@dataclass(frozen=True)
class _Law:
    """Quadrature law of (T, z z^T): weights, T values, and the k x k second-moment features."""

    w: np.ndarray
    T: np.ndarray
    Z2: np.ndarray  # (P, k) z_a^2, only the diagonal is needed for isotropic/separable cases
    Zab: np.ndarray  # (P, k*k) products z_a z_b, or empty for k = 1
    sup: float


def _kink_points(act: Activation, T: Preprocessing, zmax: float) -> list[float]:
    """z where T(g(z)) is not smooth: kinks of g and crossings of the clipping levels (k = 1, no noise)."""
    z = np.linspace(-zmax, zmax, 40001)
    y = np.asarray(act.f(z), dtype=float)
    pts = [float(k) for k in act.kinks if -zmax < k < zmax]
    for level in (T.lower, T.upper):
        if not math.isfinite(level):
            continue
        s = np.sign(y - level)
        for i in np.flatnonzero(s[:-1] * s[1:] < 0):
            pts.append(optimize.brentq(lambda t: float(act.f(np.array(t))) - level, z[i], z[i + 1], xtol=1e-15))
    return sorted(set(pts))


def _law(act: Activation, T: Preprocessing, noise: float, k: int, combine: str) -> _Law:
    zmax = 9.0
    if k == 1 and combine == "sum" and noise == 0:
        # panels aligned with the kinks of T(g(z)): Gauss-Legendre is then accurate to ~1e-12
        edges = np.unique(np.concatenate([np.linspace(-zmax, zmax, 3001), _kink_points(act, T, zmax)]))
    else:
        nz = {1: 3_000, 2: 48, 3: 16}[k]  # 8-node panels per axis (k = 2: cos^2 converged to ~1e-7)
        if noise > 0:
            nz = {1: 400, 2: 24, 3: 8}[k]
        edges = np.linspace(-zmax, zmax, nz + 1)
    pts, W = tensor_grid(*[gaussian_panels(edges)] * k)
    Z = np.stack(pts, axis=1)
    y = multi_index_link(act, combine, Z) if k > 1 or combine != "sum" else np.asarray(act.f(Z[:, 0]), dtype=float)
    if noise > 0:
        e, we = gaussian_panels(np.linspace(-zmax, zmax, 31))
        y = (y[:, None] + noise * e[None, :]).ravel()
        W = (W[:, None] * we[None, :]).ravel()
        Z = np.repeat(Z, e.size, axis=0)
    keep = W > 1e-300
    W, y, Z = W[keep], y[keep], Z[keep]
    W = W / W.sum()
    t = T(y)
    sup = float(t.max())
    Zab = np.einsum("pa,pb->pab", Z, Z).reshape(Z.shape[0], k * k) if k > 1 else np.empty((0,))
    return _Law(W, t, Z * Z, Zab, sup)


SATURATION = 1e-4  # relative growth of sup T between radius 9 and 60 still read as a bounded (saturating) link


def probe_rays(k: int) -> np.ndarray:
    """Unit directions in R^k along which growth at infinity is probed: the axes, the diagonal and 8
    fixed random directions (rows)."""
    rng = np.random.default_rng(0)
    dirs = np.vstack([np.eye(k), np.ones((1, k)) / math.sqrt(k), rng.standard_normal((8, k))])
    return dirs / np.linalg.norm(dirs, axis=1, keepdims=True)


def saturates(near: float, far: float) -> bool:
    """Whether a sup read at radius 9 (``near``) and 60 (``far``) belongs to a bounded function: ``far``
    finite and above ``near`` by at most SATURATION (relative)."""
    return math.isfinite(far) and far <= near + SATURATION * (1.0 + abs(near))


def _bounded_above(act: Activation, T: Preprocessing, noise: float, k: int, combine: str) -> bool:
    """Whether T(y) is bounded above on the support of y (clipping, or a bounded link without noise).

    Probed along rays (:func:`probe_rays`, :func:`saturates`): sup T at radius 60 may exceed sup T at
    radius 9 by at most SATURATION (relative). A saturating link passes (tanh(|z_1|) + tanh(|z_2|) along
    the diagonal still grows by 6e-6 between the two radii, far below the quadrature's reach: the law
    puts mass e^-40 beyond 9); any power or logarithmic growth fails (log(1 + |z|) grows by 0.68)."""
    if (T.scale > 0 and math.isfinite(T.upper)) or (T.scale < 0 and math.isfinite(T.lower)):
        return True
    if noise > 0:
        return False
    dirs = probe_rays(k)
    near, far = [], []
    for r, store in ((9.0, near), (60.0, far)):
        for sgn in (1.0, -1.0):
            Z = sgn * r * dirs
            y = multi_index_link(act, combine, Z) if k > 1 or combine != "sum" else np.asarray(act.f(Z[:, 0]), dtype=float)
            store.append(float(np.max(T(y))))
    return saturates(max(near), max(far))


@lru_cache(maxsize=64)
def _cached_law(link_name: str, T: Preprocessing, noise: float, k: int, combine: str) -> _Law:
    return _law(get_activation(link_name, "link"), T, noise, k, combine)


def _get_law(link, T, noise, k, combine) -> _Law:
    act = get_activation(link, "link")
    if isinstance(link, str):
        return _cached_law(link, T, float(noise), int(k), combine)
    return _law(act, T, float(noise), int(k), combine)


def _funcs(law: _Law, delta: float):
    w, t = law.w, law.T
    k = law.Z2.shape[1]

    def psi(lam):
        return lam * (1.0 / delta + np.dot(w, t / (lam - t)))

    def dpsi(lam):
        return 1.0 / delta - np.dot(w, (t / (lam - t)) ** 2)

    def phi_mat(lam):
        a = w * t / (lam - t)
        if k == 1:
            return np.array([[lam * np.dot(a, law.Z2[:, 0])]])
        return lam * (a @ law.Zab).reshape(k, k)

    def phi(lam):
        return float(np.linalg.eigvalsh(phi_mat(lam))[-1])

    def dphi(lam):
        M = phi_mat(lam)
        val, vec = np.linalg.eigh(M)
        v = vec[:, -1]
        b = w * (t / (lam - t)) ** 2
        if k == 1:
            return -float(np.dot(b, law.Z2[:, 0]))
        return -float(v @ (b @ law.Zab).reshape(k, k) @ v)

    return psi, dpsi, phi, dphi


def _lambda_bar(dpsi, sup: float) -> float:
    scale = max(1.0, abs(sup))
    hi = sup + scale
    while dpsi(hi) <= 0:
        hi = sup + 2 * (hi - sup)
    s = 1.0
    while s > 1e-13:
        lo = sup + s * scale
        if dpsi(lo) < 0:
            return optimize.brentq(dpsi, lo, hi, xtol=1e-14 * scale, rtol=1e-13)
        hi = lo
        s *= 0.25
    return sup  # psi increasing on (sup, inf): minimum at the boundary


LAW = {"link": Function(resolve=False), "T": Instance(Preprocessing, "a Preprocessing transform"), "noise": NOISE,
       "k": Interval(int, 1, 3), "combine": Options(COMBINES)}


@validate_params({**LAW, "delta": RATIO})
def spectral_prediction(
    link: "str | Activation" = "square",
    T: Preprocessing = Preprocessing(),
    delta: float = 2.0,
    noise: float = 0.0,
    k: int = 1,
    combine: str = "sum",
) -> SpectralPrediction:
    r"""Asymptotic top eigenvalue, bulk edge and overlap of D_T at sample ratio delta = n/d.

    Regime: n, d -> inf with n/d = delta, Gaussian x with identity covariance, T bounded above.
    Formula and references: module docstring (Lu & Li 2017, Mondelli & Montanari 2018).
    """
    _require_bounded(link, T, noise, k, combine)
    return predict_from_law(_get_law(link, T, noise, k, combine), delta)


def predict_from_law(law: _Law, delta: float) -> SpectralPrediction:
    """The top of the spectrum of D_T for a quadrature law of (T, z z^T) (module docstring's formulas;
    used by :func:`spectral_prediction` and by laws built elsewhere, e.g. a preprocessing that depends on
    more than y: :mod:`giantstep.theory.one_step_hessian`)."""
    psi, dpsi, phi, dphi = _funcs(law, delta)
    tau = law.sup
    lam_bar = _lambda_bar(dpsi, tau)
    edge = float(psi(lam_bar)) if lam_bar > tau else float(psi(tau + 1e-12 * max(1, abs(tau))))
    # outlier iff phi > psi at lambda_bar; then lambda* > lambda_bar solves psi = phi there
    F = lambda lam: psi(lam) - phi(lam)  # noqa: E731
    base = max(lam_bar, tau + 1e-12 * max(1.0, abs(tau)))
    if F(base) < 0:
        hi = base + max(1.0, abs(base))
        while F(hi) < 0:
            hi = base + 2 * (hi - base)
        lam_star = optimize.brentq(F, base, hi, xtol=1e-13, rtol=1e-13)
        d1, d2 = dpsi(lam_star), dphi(lam_star)
        if d1 > 0:
            return SpectralPrediction(delta, float(psi(lam_star)), edge, float(d1 / (d1 - d2)), True, lam_star, lam_bar, tau)
    # no informative outlier: the top eigenvalue sits at the bulk edge
    return SpectralPrediction(delta, edge, edge, 0.0, False, math.nan, lam_bar, tau)


@validate_params({**LAW, "delta_max": POSITIVE, "method": Options(("direct", "bisect"))})
def spectral_threshold(
    link: "str | Activation" = "square",
    T: Preprocessing = Preprocessing(),
    noise: float = 0.0,
    k: int = 1,
    combine: str = "sum",
    *,
    delta_max: float = 1e4,
    method: str = "direct",
) -> float:
    r"""delta_T: the smallest delta at which D_T has an informative outlier (inf if none below delta_max).

    The outlier exists iff phi(lambda_bar) > psi_delta(lambda_bar), and lambda_bar solves
    1/delta = E[T^2/(lambda_bar - T)^2]. ``method="direct"`` parametrises by lambda = lambda_bar: the
    threshold is delta_T = 1/E[T^2/(lambda_c - T)^2] at the root lambda_c of

        F(lambda) = E[T z^2/(lambda - T)] - E[T^2/(lambda - T)^2] - E[T/(lambda - T)]

    (the last sign change coming from large lambda, i.e. large delta), or, when lambda_bar sticks at
    sup T, the delta solving phi(tau) = psi_delta(tau). ``method="bisect"`` bisects the outlier
    indicator in log delta (slow; an independent cross-check). Relative accuracy ~1e-8.

    >>> round(spectral_threshold("square", Preprocessing(upper=3.0, shift=1.0)), 4)
    0.6612
    """
    _require_bounded(link, T, noise, k, combine)
    law = _get_law(link, T, noise, k, combine)
    tau = law.sup
    scale = max(1.0, abs(tau))
    if method == "bisect":
        def has(dl: float) -> bool:
            psi, dpsi, phi, _ = _funcs(law, dl)
            lam_bar = max(_lambda_bar(dpsi, tau), tau + 1e-12 * scale)
            return phi(lam_bar) > psi(lam_bar)

        lo, hi = 1e-4, 1.0
        while not has(hi):
            lo, hi = hi, hi * 4
            if hi > delta_max:
                return math.inf
        if has(lo):
            return 0.0
        while hi / lo > 1 + 1e-8:
            mid = math.sqrt(lo * hi)
            lo, hi = (lo, mid) if has(mid) else (mid, hi)
        return hi

    w, t = law.w, law.T
    z2 = law.Z2[:, 0] if k == 1 else None
    _, _, phi_fn, _ = _funcs(law, 1.0)  # phi does not depend on delta

    def inv_delta(lam: float) -> float:
        return float(np.dot(w, (t / (lam - t)) ** 2))

    def F(lam: float) -> float:
        return phi_fn(lam) / lam - inv_delta(lam) - float(np.dot(w, t / (lam - t)))

    grid = tau + scale * np.logspace(-12, 8, 81)
    vals = np.array([F(x) for x in grid])
    if vals[-1] <= 0:
        return math.inf
    neg = np.flatnonzero(vals <= 0)
    if neg.size:
        i = int(neg[-1])
        lam_c = optimize.brentq(F, grid[i], grid[i + 1], xtol=1e-15 * scale, rtol=1e-14)
        dl = 1.0 / inv_delta(lam_c)
        return dl if dl <= delta_max else math.inf
    # F > 0 for every lambda > tau: outlier whenever lambda_bar > tau; below, lambda_bar = tau and the
    # outlier condition phi(tau) > psi_delta(tau) is linear in 1/delta
    lam0 = tau + 1e-12 * scale
    rhs = phi_fn(lam0) / lam0 - float(np.dot(w, t / (lam0 - t)))
    del z2
    return 1.0 / rhs if rhs > 0 else math.inf


def simulate_spectral(
    rng: np.random.Generator,
    link: "str | Activation",
    T: Preprocessing,
    d: int,
    delta: float,
    noise: float = 0.0,
    k: int = 1,
    combine: str = "sum",
    *,
    chunk: int = 4096,
) -> tuple[float, float]:
    """One draw of D_T at size d: (top eigenvalue, overlap^2 of the top eigenvector with span(Theta*)).

    Theta* is the first k coordinate axes (D_T's law is rotation invariant). Formed in sample chunks;
    the top pair by a partial symmetric eigensolver.
    """
    from scipy.linalg import eigh

    act = get_activation(link, "link")
    n = int(round(delta * d))
    D = np.zeros((d, d))
    for s in range(0, n, chunk):
        m = min(chunk, n - s)
        X = rng.standard_normal((m, d))
        Z = X[:, :k]
        y = multi_index_link(act, combine, Z) if (k > 1 or combine != "sum") else np.asarray(act.f(Z[:, 0]), dtype=float)
        if noise > 0:
            y = y + noise * rng.standard_normal(m)
        D += (X * T(y)[:, None]).T @ X
    D /= n
    val, vec = eigh(D, subset_by_index=[d - 1, d - 1])
    v = vec[:, 0]
    return float(val[0]), float(np.sum(v[:k] ** 2))


MAX_LEVEL = 1e100  # largest |T(y)| on the quadrature nodes: the formulas square T(y) / (lambda - T(y))


def _require_bounded(link, T: Preprocessing, noise, k, combine) -> None:
    if not _bounded_above(get_activation(link, "link"), T, float(noise), int(k), combine):
        raise ConfigError("preprocessing", "a transform T bounded above on the support of y (clip it with 'upper')",
                          T.describe())
    t = _get_law(link, T, noise, k, combine).T
    require(bool(np.all(np.isfinite(t))) and float(np.max(np.abs(t))) <= MAX_LEVEL,
            f"spectral threshold: the preprocessed labels T(y) must be finite and at most {MAX_LEVEL:g} in size "
            f"on the quadrature nodes (the formulas square them); got up to {float(np.max(np.abs(t))):.3g}", hard=True)
