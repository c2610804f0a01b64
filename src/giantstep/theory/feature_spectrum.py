r"""Deterministic equivalent of the feature spectrum after one maximal step (docs/theory.md, section 11).

Matrix described: C = Phi^T Phi / n (p x p), Phi (n x p) the features of n fresh inputs,
**column-centred** by default (Phi_c = Phi - 1 mean(Phi), as the simulator's ``features``
spectrum, :func:`giantstep.spectra.feature_covariance_eigenvalues`) or raw (``centred=False``).
Features are those of the spiked random-features (sRF) model of one maximal step (alpha = 1/2,
eta = eta0 sqrt(N); Cui et al. arXiv 2402.04980, Dandi et al. arXiv 2410.18938; docs/theory.md, section 8):

    phi_i(x) = sigma(sqrt(c) <w_i, x> + a_i r kappa),   kappa = <v, x>,   W (p x d) isotropic rows,

with (r, c) from :func:`giantstep.theory.srf.srf_parameters`, ratios psi1 = p/d and
readout ratio n/d, beta = p/n.

**Bulk.** Conditionally on kappa the features are mu0(kappa) 1 + sqrt(c) mu1(kappa) W x +
mu2(kappa) xi (conditional Gaussian equivalence; coefficients of sigma(r kappa + sqrt(c) z) from
:func:`giantstep.theory.srf.conditional_coefficients`). The part sqrt(c) mu1 W Pi x + mu2 xi
(Pi = I - v v^T) has conditional covariance S(kappa) = mu1^2 Omega + mu2^2 I, Omega = c W Pi W^T,
whose spectrum is c MP(psi1). For independent samples with covariances S(kappa_mu) the resolvent
(C - z)^{-1} has the deterministic equivalent (A1 Omega + A2 - z)^{-1} with

    A_j(z)  = E_kappa[ mu_j(kappa)^2 / (1 + mu1(kappa)^2 delta1 + mu2(kappa)^2 delta2) ],  j = 1, 2
    delta1  = beta int D dmu_Omega(D) / (A1 D + A2 - z),   delta2 = beta int dmu_Omega(D) / (A1 D + A2 - z)
    g(z)    = (1/p) tr (C - z)^{-1} -> int dmu_Omega(D) / (A1 D + A2 - z) = m_Omega(w) / A1,
              w = (z - A2)/A1,

m_Omega the Marchenko-Pastur Stieltjes transform (:func:`giantstep.theory.mp.mp_stieltjes`,
closed form; no random matrix is sampled). Density rho(x) = Im g(x + i0)/pi. At r = 0, c = 1 it
is the Pennington-Worah law; at z = -lam/alpha, (delta1, delta2, alpha A1, alpha A2) are the
(V1, V2, V1hat, V2hat) of the sRF ridge fixed point (docs/theory.md, section 8, alpha = n/d, p = d).

**Outliers** (above the bulk). The finite-rank part of Phi is sum_k f_k(kappa) l_k^T with the
modes k: "mean" (f = mu0(kappa), l = 1, ||l||^2 = p), "spike" (f = kappa mu1(kappa),
l = sqrt(c) W v, ||l||^2 = c psi1) and, for Gaussian rows, "row_norm" (f = E_z[(z^2-1) sigma]/2,
l_i = ||w_i||^2 - 1, ||l||^2 = 2 psi1); centring replaces f_k by f_k - E f_k. The directions are
generic with respect to Omega, and an eigenvalue z > bulk solves the secular equation

    det( I + g(z) Lambda^{1/2} H(z) Lambda^{1/2} ) = 0,   H_kl(z) = E_kappa[f_k f_l / (1 + delta(kappa; z))],

Lambda = diag(||l_k||^2), delta(kappa; z) = mu1^2 delta1 + mu2^2 delta2. The mean mode gives the
eigenvalue p E[f_mean^2] + O(1); the others sit at O(1) and see only the part of f_k orthogonal to
f_mean (Schur complement). Derivation and checks: docs/theory.md section 11.

Domain: second layer "ones" (any sigma) or "rademacher" with an odd or even sigma (then
Phi(a) = Phi(1) diag(a) or Phi(1) with rows a_i w_i: same spectrum); init "sphere" or "gaussian";
any psi1, readout ratio > 0. A Gaussian or paired second layer is refused (a continuum / two
families of spikes a_i r: the conditional covariances no longer commute with Omega).

Solver: two complex unknowns (delta1, delta2) per z, Newton's method with an analytic Jacobian,
followed by continuation along the vertical path z + i L s (s from 1 down to 0): the physical
solution is analytic in the upper half plane and tends to 0 at infinity, so every z is reached
from delta = 0 at |z| ~ L. Each step is accepted only if it lowers the residual and keeps
Im delta2 >= 0, and a rung where Newton stalls is split; the result reports the largest final
residual and ``converged``. :func:`feature_stieltjes_sd` gives the O(n^{-1/2}) fluctuation of the
empirical transform over the draw of the kappa_mu (for tolerances).

Example
-------
>>> model = feature_model("tanh", r=1.0, c=1.1, psi1=1.0, readout_ratio=2.0)
>>> res = feature_stieltjes(np.array([1.0 + 0.5j]), model)
>>> bool(res.converged), bool(res.g[0].imag > 0)
(True, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from ..activations import Activation, get_activation
from ..errors import ConfigError, DivergenceError
from ..linalg import blas_threads
from .validation import NONNEGATIVE, POSITIVE, SIZE, Options
from .mp import mp_stieltjes
from .srf import ConditionalCoefficients, conditional_coefficients, srf_parameters

SECOND_LAYERS = ("rademacher", "ones")
INITS = ("sphere", "gaussian")
LADDER = np.concatenate([np.geomspace(1.0, 1e-10, 16), [0.0]])
NEWTON_STEPS = 8  # per rung of the ladder
NEWTON_FINAL = 80  # on the last rung (slow, linear convergence only at a bulk edge)
NEWTON_TOL = 1e-13  # relative residual at which Newton stops
RUNG_TOL = 1e-10  # relative residual below which a rung of the continuation is done
MAX_SPLITS = 8  # a rung is split at most this deep
CONVERGED_TOL = 1e-9  # relative residual reported as converged
DENSITY_EPS = 1e-10  # density evaluated at x + i eps * scale
EDGE_BISECTIONS = 36
EDGE_LEVEL = 1e-9  # Im g(x + i0) * scale above this counts as inside the bulk


@dataclass(frozen=True, eq=False)
class FeatureModel:
    """The sRF feature model whose covariance spectrum is described (see the module docstring)."""

    sigma: Activation
    r: float
    c: float
    psi1: float  # p / d
    readout_ratio: float  # n / d
    centred: bool
    second_layer: str
    init: str
    coefficients: ConditionalCoefficients

    @property
    def activation(self) -> str:
        """The activation's canonical name."""
        return self.sigma.name

    @property
    def beta(self) -> float:
        """p / n."""
        return self.psi1 / self.readout_ratio

    @property
    def a1(self) -> np.ndarray:
        return self.coefficients.mu1**2

    @property
    def a2(self) -> np.ndarray:
        return self.coefficients.mu2sq

    @property
    def moments_basis(self) -> np.ndarray:
        """(mu1^2, mu2^2) on the kappa nodes, shape (2, K)."""
        return np.stack([self.a1, self.a2]).astype(complex)

    @property
    def moments_pairs(self) -> np.ndarray:
        """(mu1^4, mu1^2 mu2^2, mu2^4) on the kappa nodes, shape (3, K)."""
        return np.stack([self.a1 * self.a1, self.a1 * self.a2, self.a2 * self.a2]).astype(complex)

    @property
    def bulk_mean(self) -> float:
        """E_kappa[c mu1^2 + mu2^2]: the mean of the bulk eigenvalues."""
        w = self.coefficients.weights
        return float(w @ (self.c * self.a1 + self.a2))

    @property
    def scale(self) -> float:
        """A size of the bulk: (1 + sqrt(beta))^2 (E[mu1^2] c (1 + sqrt(psi1))^2 + E[mu2^2])."""
        w = self.coefficients.weights
        pop = float(w @ self.a1) * self.c * (1 + math.sqrt(self.psi1)) ** 2 + float(w @ self.a2)
        return max((1 + math.sqrt(self.beta)) ** 2 * pop, 1e-300)

    def as_dict(self) -> dict:
        return {
            "activation": self.activation, "r": self.r, "c": self.c, "psi1": self.psi1,
            "readout_ratio": self.readout_ratio, "centred": self.centred,
            "second_layer": self.second_layer, "init": self.init,
        }


def _parity(act) -> str | None:
    """'odd', 'even' or None, checked on a grid of [-6, 6]."""
    t = np.linspace(0.05, 6.0, 120)
    fp, fm = act.f(t), act.f(-t)
    tol = 1e-12 * (1.0 + float(np.max(np.abs(fp))))
    if np.max(np.abs(fp + fm)) <= tol:
        return "odd"
    if np.max(np.abs(fp - fm)) <= tol:
        return "even"
    return None


def feature_model(
    activation,
    r: float,
    c: float,
    psi1: float = 1.0,
    readout_ratio: float = 2.0,
    *,
    centred: bool = True,
    second_layer: str = "rademacher",
    init: str = "sphere",
    nk: int = 101,
    nz: int = 81,
) -> FeatureModel:
    """Validated :class:`FeatureModel`; raises ConfigError outside the domain (module docstring)."""
    act = get_activation(activation)
    r = NONNEGATIVE.check("r", r)
    c = POSITIVE.check("c", c)
    psi1 = POSITIVE.check("psi1", psi1)
    readout_ratio = POSITIVE.check("readout_ratio", readout_ratio)
    second_layer = Options(SECOND_LAYERS).check("second_layer", second_layer)
    init = Options(INITS).check("init", init)
    if second_layer == "rademacher" and r > 0 and _parity(act) is None:
        raise ConfigError(
            "second_layer", f"'ones' for an activation that is neither odd nor even ({act.name})", second_layer
        )
    coef = conditional_coefficients(act, r, c, SIZE.check("nk", nk), SIZE.check("nz", nz))
    return FeatureModel(act, r, c, psi1, readout_ratio, bool(centred), second_layer, init, coef)


def bounded_variance(model: FeatureModel) -> bool:
    """Whether Var_z sigma(r kappa + sqrt(c) z) = c mu1^2 + mu2^2 stays bounded in kappa: its maximum
    over 12 <= |kappa| <= 40 is at most twice that over |kappa| <= 12 (polynomials of degree >= 2
    grow like kappa^2 or faster; bounded and ReLU-like activations do not)."""
    if model.r == 0:
        return True
    act = model.sigma
    z, wz = np.polynomial.hermite_e.hermegauss(81)
    wz = wz / wz.sum()
    kap = np.concatenate([np.linspace(-40, -12, 57), np.linspace(-12, 12, 97), np.linspace(12, 40, 57)])
    S = act.f(model.r * kap[:, None] + math.sqrt(model.c) * z[None, :])
    var = (S * S) @ wz - (S @ wz) ** 2
    near = np.abs(kap) <= 12
    return bool(np.max(var[~near]) <= 2.0 * np.max(var[near]) + 1e-12)


def _require_bounded(model: FeatureModel) -> None:
    if not bounded_variance(model):
        raise ConfigError(
            "activation",
            "an activation whose conditional variance Var_z sigma(r kappa + sqrt(c) z) stays bounded in kappa "
            "(the bulk of a polynomial of degree >= 2 has an unbounded upper tail when r > 0)",
            model.activation,
        )


def feature_model_from_step(
    activation, link, eta0: float, psi2: float, readout_ratio: float, noise: float = 0.0, psi1: float = 1.0, **kw
) -> FeatureModel:
    """The model after one maximal step: (r, c) = srf_parameters(activation, link, eta0, psi2, noise=noise)."""
    par = srf_parameters(activation, link, eta0, psi2, noise=noise)
    return feature_model(activation, par.r, par.c, psi1, readout_ratio, **kw)


# ----------------------------------------------------------------------------------------------
# the bulk: fixed point in (delta1, delta2)


def _omega_moments(model: FeatureModel, A1, A2, z):
    """int (1, D)/(A1 D + A2 - z) and int (1, D, D^2)/(A1 D + A2 - z)^2 over D ~ c MP(psi1).

    With w = (z - A2)/A1 and m(w) = int dmu/(D - w): the first pair is (m, 1 + w m)/A1 and the second
    (m', m + w m', 1 + 2 w m + w^2 m')/A1^2; m' = -m (1 + psi1 c m)/s with s the square root of the
    MP law (from its quadratic psi1 u m1^2 - (1 - psi1 - u) m1 + 1 = 0, u = w/c, m1 = c m).
    """
    c, gam = model.c, model.psi1
    flat = np.abs(A1) * c * (1 + gam) <= 1e-13 * np.abs(A2)  # mu1 ~ 0: Omega drops out
    A1s = np.where(flat, 1.0, A1)
    w = (z - A2) / A1s
    u = w / c
    m1 = mp_stieltjes(u, gam)
    s = 2.0 * gam * u * m1 - (1.0 - gam - u)
    m, dm = m1 / c, -m1 * (1.0 + gam * m1) / s / c**2
    inv = 1.0 / A1s
    out = [m * inv, (1.0 + w * m) * inv, dm * inv**2, (m + w * dm) * inv**2, (1.0 + 2 * w * m + w * w * dm) * inv**2]
    if np.any(flat):
        e = 1.0 / (A2 - z)  # Omega's moments: E D = c, E D^2 = c^2 (1 + psi1)
        lim = [e, c * e, e * e, c * e * e, c * c * (1 + gam) * e * e]
        out = [np.where(flat, b, a) for a, b in zip(out, lim)]
    return out


def _fixed_point_map(model: FeatureModel, z, d1, d2):
    """F(delta) = beta (int D/(.), int 1/(.)), its Jacobian (2, 2, M), and (A1, A2, g)."""
    a = model.moments_basis  # rows a1, a2 (2, K)
    den = 1.0 + np.stack([d1, d2], axis=1) @ a
    q = model.coefficients.weights / den
    A1, A2 = (q @ a.T).T
    q2 = q / den
    s11, s12, s22 = (q2 @ model.moments_pairs.T).T
    dA = -np.array([[s11, s12], [s12, s22]])
    g0, g1, I0, I1, I2 = _omega_moments(model, A1, A2, z)
    b = model.beta
    dF = -b * np.array([[I2, I1], [I1, I0]])
    J = np.einsum("ijm,jkm->ikm", dF, dA)
    return b * g1, b * g0, J, (A1, A2, g0)


def _residual(d1, d2, F1, F2):
    """|F - delta| relative to |F| + |delta| (1 at delta = 0)."""
    return (np.abs(F1 - d1) + np.abs(F2 - d2)) / (np.abs(F1) + np.abs(F2) + np.abs(d1) + np.abs(d2) + 1e-300)


def _evaluate(model: FeatureModel, z, d1, d2):
    """Residual, Newton step and Jacobian-free data at delta (all arrays over the points)."""
    F1, F2, J, _ = _fixed_point_map(model, z, d1, d2)
    a, b, c, d = J[0, 0] - 1.0, J[0, 1], J[1, 0], J[1, 1] - 1.0
    det = a * d - b * c
    R1, R2 = F1 - d1, F2 - d2
    return _residual(d1, d2, F1, F2), (b * R2 - d * R1) / det, (c * R1 - a * R2) / det


def _newton(model: FeatureModel, z, d1, d2, steps: int):
    """Newton iterations on F(delta) - delta = 0, on the points not yet converged; a step is halved
    (up to 6 times, else refused) unless it lowers the residual and keeps Im delta2 >= 0 when Im z > 0.
    Returns (delta1, delta2, residual)."""
    d1, d2 = d1.copy(), d2.copy()
    idx = np.arange(z.size)
    res, s1, s2 = _evaluate(model, z, d1, d2)
    final = res.copy()
    for _ in range(steps):
        keep = np.isfinite(res) & (res > NEWTON_TOL)
        idx, res, s1, s2 = idx[keep], res[keep], s1[keep], s2[keep]
        if idx.size == 0:
            break
        lam = np.ones(idx.size)
        pending = np.arange(idx.size)
        new_res, new_s1, new_s2 = np.full(idx.size, np.inf), s1.copy(), s2.copy()
        for _ in range(7):
            j = idx[pending]
            n1 = d1[j] + lam[pending] * s1[pending]
            n2 = d2[j] + lam[pending] * s2[pending]
            r, t1, t2 = _evaluate(model, z[j], n1, n2)
            ok = np.isfinite(r) & (r < res[pending]) & ~((z[j].imag > 0) & (n2.imag < -1e-14 * np.abs(n2)))
            acc = pending[ok]
            d1[j[ok]], d2[j[ok]] = n1[ok], n2[ok]
            new_res[acc], new_s1[acc], new_s2[acc] = r[ok], t1[ok], t2[ok]
            final[j[ok]] = r[ok]
            pending = pending[~ok]
            if pending.size == 0:
                break
            lam[pending] *= 0.5
        moved = np.isfinite(new_res)
        idx, res, s1, s2 = idx[moved], new_res[moved], new_s1[moved], new_s2[moved]
    return d1, d2, final


def _continue(model: FeatureModel, z, L, s0: float, s1: float, d1, d2, depth: int = 0):
    """delta at z + i L s1 from delta at z + i L s0 (arrays over points); where Newton does not reach
    RUNG_TOL the rung is split in two (geometric midpoint; s0/10 towards s1 = 0), up to MAX_SPLITS deep."""
    n1, n2, res = _newton(model, z + 1j * L * s1, d1, d2, NEWTON_FINAL if s1 == 0 else NEWTON_STEPS)
    bad = ~(res < RUNG_TOL)
    if np.any(bad) and depth < MAX_SPLITS:
        mid = math.sqrt(s0 * s1) if s1 > 0 else 0.1 * s0
        b1, b2 = _continue(model, z[bad], L[bad], s0, mid, d1[bad], d2[bad], depth + 1)
        n1[bad], n2[bad] = _continue(model, z[bad], L[bad], mid, s1, b1, b2, depth + 1)
    return n1, n2


@dataclass(frozen=True, eq=False)
class StieltjesValues:
    """g(z) = lim (1/p) tr (C - z)^{-1} and the fixed point behind it, at each z (arrays of shape (M,))."""

    z: np.ndarray
    g: np.ndarray
    delta1: np.ndarray
    delta2: np.ndarray
    A1: np.ndarray
    A2: np.ndarray
    residual: float
    converged: bool


def feature_stieltjes(z, model: FeatureModel) -> StieltjesValues:
    """The deterministic equivalent at complex z with Im z >= 0 (array in, arrays out).

    Real z is allowed outside the bulk (real solution) and on it (the limit from above).
    Raises DivergenceError if the fixed point produces non-finite values.
    """
    z = np.atleast_1d(np.asarray(z, dtype=complex)).ravel()
    if np.any(~np.isfinite(z)) or np.any(z.imag < 0):
        raise ConfigError("z", "finite complex numbers with Im z >= 0", z.tolist()[:4])
    L = 10.0 * (np.abs(z) + model.scale) + 1.0
    d1 = np.zeros(z.size, dtype=complex)
    d2 = np.zeros(z.size, dtype=complex)
    with blas_threads(1), np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # products with inner dimension 2-3: threads only add overhead; non-finite trial steps are refused
        for s0, s1 in zip(np.concatenate([[np.inf], LADDER[:-1]]), LADDER):
            d1, d2 = _continue(model, z, L, float(s0), float(s1), d1, d2)
        F1, F2, _, (A1, A2, g) = _fixed_point_map(model, z, d1, d2)
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(d1)) and np.all(np.isfinite(d2))):
        raise DivergenceError("the feature-spectrum fixed point produced non-finite values")
    res = float(np.max(_residual(d1, d2, F1, F2))) if z.size else 0.0
    return StieltjesValues(z, g, d1, d2, A1, A2, res, res < CONVERGED_TOL)


def feature_atom(model: FeatureModel) -> float:
    """Mass of the eigenvalue atom at 0: 1 - rank/p with rank = min(n, p), and min(n, d, p) when
    mu2 == 0 (the features then lie in the row space of W); the limit -i eta g(i eta) agrees (tested)."""
    ranks = [1.0, 1.0 / model.beta]
    if float(np.max(model.a2)) <= 1e-12 * model.c * float(np.max(model.a1)):
        ranks.append(1.0 / model.psi1)
    return max(0.0, 1.0 - min(ranks))


def feature_stieltjes_sd(z, model: FeatureModel, n: int) -> np.ndarray:
    """Standard deviation of the empirical (1/p) tr (C - z)^{-1} over the draw of the n values
    kappa_mu = <v, x_mu> (shape of z): the leading O(n^{-1/2}) fluctuation of the spectrum, which
    depends on the sample only through their empirical law nu_n (the rest is O(1/p)).

    Perturbing nu by e moves A = int h(kappa) dnu, h = (mu1^2, mu2^2)/(1 + delta(kappa)), and through
    the fixed point delta = Phi(A(delta)) (Jacobians dA/ddelta, dPhi/dA, J = dPhi dA/ddelta):
        dA = [dA/ddelta (I - J)^{-1} dPhi + I] int h de,     dg = (dg/dA) . dA,
    so dg = (1/n) sum_mu IF(kappa_mu) with IF(kappa) = (dg/dA) M (h(kappa) - A) and
    sd = sqrt(E_kappa |IF|^2 / n).
    """
    n = SIZE.check("n", n)
    z = np.atleast_1d(np.asarray(z, dtype=complex)).ravel()
    sol = feature_stieltjes(z, model)
    a = model.moments_basis  # (2, K)
    den = 1.0 + np.stack([sol.delta1, sol.delta2], axis=1) @ a  # (M, K)
    h = a[None, :, :] / den[:, None, :] - np.stack([sol.A1, sol.A2], axis=1)[:, :, None]  # (M, 2, K)
    _, _, J, _ = _fixed_point_map(model, z, sol.delta1, sol.delta2)
    q2 = model.coefficients.weights / den**2
    s11, s12, s22 = (q2 @ model.moments_pairs.T).T
    dA = -np.array([[s11, s12], [s12, s22]]).transpose(2, 0, 1)  # (M, 2, 2)
    _, _, I0, I1, I2 = _omega_moments(model, sol.A1, sol.A2, z)
    dPhi = -model.beta * np.array([[I2, I1], [I1, I0]]).transpose(2, 0, 1)
    M = dA @ np.linalg.solve(np.eye(2) - J.transpose(2, 0, 1), dPhi) + np.eye(2)
    grad = -np.stack([I1, I0], axis=1)  # dg/dA
    infl = np.einsum("mi,mij,mjk->mk", grad, M, h)  # (M, K)
    return np.sqrt((np.abs(infl) ** 2) @ model.coefficients.weights / n)


def feature_density(x, model: FeatureModel) -> np.ndarray:
    """Bulk density rho(x) = [Im g(x + i eps) - atom eps/(x^2 + eps^2)]/pi on a real grid (any shape),
    eps = 1e-10 x scale: the continuous part, integrating to 1 - atom."""
    x = np.asarray(x, dtype=float)
    eps = DENSITY_EPS * model.scale
    sol = feature_stieltjes(x.ravel() + 1j * eps, model)
    lorentz = feature_atom(model) * eps / (x.ravel() ** 2 + eps**2)
    return np.maximum((sol.g.imag - lorentz) / math.pi, 0.0).reshape(x.shape)


def _interval_cdf(model: FeatureModel, a: float, b: float, nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid on [a, b] and the cumulative integral of rho on it, in the angle x = (a+b)/2 - (b-a)/2 cos(theta)
    (square-root edges become a smooth integrand; cumulative trapezoid)."""
    theta = np.linspace(0.0, math.pi, nodes)
    t = 0.5 * (a + b) - 0.5 * (b - a) * np.cos(theta)
    f = feature_density(t, model) * 0.5 * (b - a) * np.sin(theta)
    return t, np.concatenate([[0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(theta))])


def feature_cdf(x, model: FeatureModel, support: "BulkSupport | None" = None, nodes: int = 2000) -> np.ndarray:
    """Predicted distribution function F(x) of the eigenvalues of C, atom included.

    Built from the top: F(x) = 1 - (bulk mass above x), so that mass the scan of the support does not
    resolve (a thin tail of small eigenvalues, see :func:`feature_bulk_edges`) is placed below the
    lowest interval; there F rises linearly from the atom to its value at that interval.
    """
    sup = feature_bulk_edges(model) if support is None else support
    x = np.asarray(x, dtype=float)
    above = np.zeros_like(x)
    total = 0.0
    for a, b in sup.intervals:
        t, cum = _interval_cdf(model, a, b, nodes)
        above += cum[-1] - np.interp(x, t, cum, left=0.0, right=cum[-1])
        total += float(cum[-1])
    out = 1.0 - above
    low = sup.lower
    at_low = 1.0 - total
    ramp = sup.atom + (at_low - sup.atom) * np.clip(x / low, 0.0, 1.0) if low > 0 else at_low
    return np.where(x < 0, 0.0, np.where(x < low, ramp, out))


# ----------------------------------------------------------------------------------------------
# bulk edges


@dataclass(frozen=True)
class BulkSupport:
    """Intervals of the continuous part (ascending) and the atom at 0."""

    intervals: tuple[tuple[float, float], ...]
    atom: float

    @property
    def lower(self) -> float:
        return self.intervals[0][0]

    @property
    def upper(self) -> float:
        return self.intervals[-1][1]


def _inside(x: np.ndarray, model: FeatureModel) -> np.ndarray:
    """Im g(x + i0) * scale > EDGE_LEVEL: x is in the bulk (outside it the solution is real)."""
    return feature_stieltjes(x + 0j, model).g.imag * model.scale > EDGE_LEVEL


def _runs(inside: np.ndarray) -> list[tuple[int, int]]:
    """Index ranges [i0, i1] of the consecutive True entries."""
    flips = np.flatnonzero(np.diff(np.concatenate([[0], inside.astype(int), [0]])))
    return [(int(a), int(b) - 1) for a, b in zip(flips[::2], flips[1::2])]


def feature_bulk_edges(model: FeatureModel, grid: int = 400) -> BulkSupport:
    """Support of the bulk: scanned on ``grid`` points of (0, x_max], each edge then bisected
    EDGE_BISECTIONS times on the sign of Im g(x + i0) (relative precision ~ 2^-36 of the grid step).

    The scan adds 40 log-spaced points below the first grid step. With p > n and a saturating sigma
    the samples with large |kappa| have almost constant features and give a thin tail of eigenvalues
    towards 0; the kappa quadrature resolves it as small separate intervals (their positions are
    those of the nodes; the CDF of :func:`feature_cdf` keeps only their total mass).
    Raises ConfigError for an unbounded conditional variance (:func:`bounded_variance`).
    """
    _require_bounded(model)
    x_max = 2.0 * model.scale
    for _ in range(8):
        near0 = np.geomspace(1e-8 * model.scale, x_max / grid, 40, endpoint=False)
        x = np.concatenate([near0, np.linspace(x_max / grid, x_max, grid)])
        inside = _inside(x, model)
        if not inside[-1]:
            break
        x_max *= 2.0
    else:
        raise DivergenceError("the feature bulk did not end within 2^8 times its nominal scale")
    runs = _runs(inside)
    if not runs:
        raise DivergenceError("no bulk found for the feature covariance (density zero on the grid)")
    lo = np.array([x[i0 - 1] if i0 > 0 else 0.0 for i0, _ in runs] + [x[i1] for _, i1 in runs])
    hi = np.array([x[i0] for i0, _ in runs] + [x[i1 + 1] for _, i1 in runs])
    is_lower = np.arange(lo.size) < len(runs)
    for _ in range(EDGE_BISECTIONS):
        mid = 0.5 * (lo + hi)
        ins = _inside(mid, model)
        move_hi = ins == is_lower  # lower edge: inside -> edge below mid; upper edge: outside -> below
        hi = np.where(move_hi, mid, hi)
        lo = np.where(move_hi, lo, mid)
    edges = 0.5 * (lo + hi)
    k = len(runs)
    return BulkSupport(tuple((float(edges[j]), float(edges[k + j])) for j in range(k)), feature_atom(model))


# ----------------------------------------------------------------------------------------------
# outliers: the secular equation of the finite-rank part


@dataclass(frozen=True, eq=False)
class FiniteRankMode:
    """One finite-rank term f(kappa) l^T of the features: f on the kappa nodes, ||l||^2 = norm2."""

    name: str
    values: np.ndarray
    norm2: float


def feature_modes(model: FeatureModel, width: int | None = None) -> tuple[FiniteRankMode, ...]:
    """The model's modes: "mean" (needs ``width`` = p; omitted when None), "spike", and for Gaussian
    rows "row_norm"; centred by their kappa-mean when the model is centred."""
    co = model.coefficients
    raw = []
    if width is not None:
        raw.append(("mean", co.mu0, float(SIZE.check("width", width))))
    raw.append(("spike", co.kappa * co.mu1, model.c * model.psi1))
    if model.init == "gaussian":
        raw.append(("row_norm", 0.5 * co.he2, 2.0 * model.psi1))
    w = co.weights
    return tuple(FiniteRankMode(n, f - (w @ f) * model.centred, nu) for n, f, nu in raw)


def mean_mode_values(model: FeatureModel) -> np.ndarray:
    """f_mean(kappa) = mu0(kappa) (minus its mean when centred) on the kappa nodes."""
    co = model.coefficients
    return co.mu0 - (co.weights @ co.mu0) * model.centred


def _secular_matrices(model: FeatureModel, z: np.ndarray, modes, project) -> np.ndarray:
    """I + g(z) Lambda^{1/2} H(z) Lambda^{1/2} at real z above the bulk, shape (M, k, k); with
    ``project`` (values of f_mean) H is replaced by its Schur complement with respect to f_mean."""
    sol = feature_stieltjes(z.astype(complex), model)
    delta = (sol.delta1[:, None] * model.a1 + sol.delta2[:, None] * model.a2).real
    wq = model.coefficients.weights / (1.0 + delta)  # (M, K)
    F = np.array([m.values for m in modes])  # (k, K)
    H = np.einsum("mq,iq,jq->mij", wq, F, F)
    if project is not None:
        h0 = wq @ (F * project).T  # (M, k)
        h00 = wq @ (project * project)
        H = H - h0[:, :, None] * h0[:, None, :] / h00[:, None, None]
    s = np.sqrt([m.norm2 for m in modes])
    return np.eye(len(modes)) + sol.g.real[:, None, None] * H * s[None, :, None] * s[None, None, :]


def _branch(model: FeatureModel, z: float, j: int, modes, project) -> float:
    """j-th smallest eigenvalue of the secular matrix at z (increasing in z above the bulk)."""
    return float(np.linalg.eigvalsh(_secular_matrices(model, np.array([z]), modes, project)[0])[j])


@dataclass(frozen=True)
class FeatureOutliers:
    """Eigenvalues of C above the bulk (descending) from the secular equation, and the modes used.

    mean_mode_slope = E_kappa[f_mean^2]: the mean mode's eigenvalue is p * mean_mode_slope + O(1);
    it is among ``locations`` only when the width p was given.
    """

    locations: tuple[float, ...]
    modes: tuple[str, ...]
    mean_mode_slope: float
    width: int | None


def feature_outliers(
    model: FeatureModel, width: int | None = None, support: BulkSupport | None = None, extra_modes=()
) -> FeatureOutliers:
    """Roots above the upper bulk edge of det(I + g Lambda^{1/2} H Lambda^{1/2}) (module docstring).

    Without ``width`` the limit p -> inf is taken: the mean mode is projected out of the others and
    reported through ``mean_mode_slope``. ``extra_modes`` (FiniteRankMode) add planted terms.
    """
    sup = feature_bulk_edges(model) if support is None else support
    _require_bounded(model)
    f0 = mean_mode_values(model)
    slope = float(model.coefficients.weights @ (f0 * f0))
    has_mean = slope > 1e-12 * model.bulk_mean
    slope = slope if has_mean else 0.0
    modes = feature_modes(model, width) + tuple(extra_modes)
    project = f0 if (width is None and has_mean) else None
    if width is not None and not has_mean:
        modes = tuple(m for m in modes if m.name != "mean")
    z0 = sup.upper * (1.0 + 1e-9) + 1e-12
    nu0 = np.linalg.eigvalsh(_secular_matrices(model, np.array([z0]), modes, project)[0])
    roots = []
    for j in np.flatnonzero(nu0 < 0):
        hi = z0 + model.scale
        for _ in range(80):
            if _branch(model, hi, int(j), modes, project) > 0:
                break
            hi = z0 + 2.0 * (hi - z0)
        else:
            raise DivergenceError("an outlier branch of the feature spectrum did not cross zero")
        roots.append(optimize.brentq(lambda t: _branch(model, t, int(j), modes, project), z0, hi, xtol=1e-12, rtol=1e-12))
    return FeatureOutliers(tuple(sorted(roots, reverse=True)), tuple(m.name for m in modes), slope, width)


# ----------------------------------------------------------------------------------------------
# everything at once, and the upper tail along eta0


@dataclass(frozen=True, eq=False)
class FeatureSpectrum:
    """Density on a grid over the bulk, support, outliers and g at one z (see :func:`feature_spectrum`)."""

    model: FeatureModel
    x: np.ndarray
    density: np.ndarray
    support: BulkSupport
    outliers: FeatureOutliers
    z: complex | None
    stieltjes: complex | None
    residual: float
    converged: bool

    def as_dict(self) -> dict:
        out = {
            **self.model.as_dict(),
            "x": self.x.tolist(),
            "density": self.density.tolist(),
            "bulk_edges": [self.support.lower, self.support.upper],
            "support": [list(iv) for iv in self.support.intervals],
            "atom": self.support.atom,
            "bulk_mean": self.model.bulk_mean,
            "outliers": list(self.outliers.locations),
            "outlier_modes": list(self.outliers.modes),
            "mean_mode_slope": self.outliers.mean_mode_slope,
            "width": "inf" if self.outliers.width is None else self.outliers.width,  # None: the limit p -> inf
            "converged": self.converged,
            "residual": self.residual,
        }
        if self.z is not None:
            out["z"] = [self.z.real, self.z.imag]
            out["stieltjes"] = [self.stieltjes.real, self.stieltjes.imag]
        return out


def edge_grid(a: float, b: float, points: int) -> np.ndarray:
    """x = (a + b)/2 - (b - a)/2 cos(theta), theta uniform on [0, pi]: points crowd at both edges, so
    the trapezoid rule on (x, rho(x)) keeps its accuracy at square-root edges."""
    return 0.5 * (a + b) - 0.5 * (b - a) * np.cos(np.linspace(0.0, math.pi, points))


def feature_spectrum(model: FeatureModel, grid: int = 200, z: complex | None = None, width: int | None = None) -> FeatureSpectrum:
    """The deterministic equivalent of the feature spectrum: density on ``grid`` points from the lower
    to the upper bulk edge (:func:`edge_grid`), the support, the outliers (the mean mode among them when ``width`` = p is
    given) and g(z) at an optional complex ``z`` with Im z > 0."""
    grid = SIZE.check("grid", grid)
    if grid < 2:
        raise ConfigError("grid", "an integer >= 2", grid)
    sup = feature_bulk_edges(model)
    out = feature_outliers(model, width=width, support=sup)
    x = edge_grid(sup.lower, sup.upper, grid)
    rho = feature_density(x, model)
    sol = feature_stieltjes(x + 1j * DENSITY_EPS * model.scale, model)
    res = [sol.residual]
    g = None
    if z is not None:
        z = complex(z)
        if not (math.isfinite(z.real) and math.isfinite(z.imag) and z.imag > 0):
            raise ConfigError("z", "a complex number with Im z > 0", z)
        at = feature_stieltjes(np.array([z]), model)
        g = complex(at.g[0])
        res.append(at.residual)
    residual = float(max(res))
    return FeatureSpectrum(model, x, rho, sup, out, z, g, residual, residual < CONVERGED_TOL)


@dataclass(frozen=True)
class FeatureTail:
    """How the upper part of the spectrum moves with eta0 (one entry per eta0)."""

    eta0: tuple[float, ...]
    r: tuple[float, ...]
    c: tuple[float, ...]
    lower_edge: tuple[float, ...]
    upper_edge: tuple[float, ...]
    outliers: tuple[tuple[float, ...], ...]
    mean_mode_slope: tuple[float, ...]
    width: int | None

    def as_dict(self) -> dict:
        return {
            "eta0": list(self.eta0), "r": list(self.r), "c": list(self.c), "lower_edge": list(self.lower_edge),
            "upper_edge": list(self.upper_edge), "outliers": [list(o) for o in self.outliers],
            "mean_mode_slope": list(self.mean_mode_slope), "width": "inf" if self.width is None else self.width,
        }


def feature_tail(
    activation, link, eta0s, psi2: float, readout_ratio: float, noise: float = 0.0, psi1: float = 1.0,
    width: int | None = None, **kw,
) -> FeatureTail:
    """Bulk edges, outliers and mean-mode slope after one maximal step for each eta0 in ``eta0s``
    (eta0 = 0 is the untrained network): the "tails of the feature spectrum" as training grows."""
    rows = []
    for e in eta0s:
        model = feature_model_from_step(activation, link, e, psi2, readout_ratio, noise, psi1, **kw)
        sup = feature_bulk_edges(model)
        out = feature_outliers(model, width=width, support=sup)
        rows.append((float(e), model.r, model.c, sup.lower, sup.upper, out.locations, out.mean_mode_slope))
    cols = list(zip(*rows)) if rows else [()] * 7
    return FeatureTail(*(tuple(col) for col in cols), width=width)
