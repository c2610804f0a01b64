r"""Kernel modes after one large step: the predictions of seed 000 (Lobo et al.), checked and corrected.

Setting (convention P, docs/theory.md, sections 0, 6, 8; docs/function_space.md). One step W1 = W0 - eta grad,
eta = eta0 N^alpha, residual r = y (network at initialisation subtracted), single-index teacher
y = g(<theta*, x>) + tau eps. To leading order each row moves as

    w1 = sqrt(1 + zeta^2 a^2) w0 + s a u,    u = vhat / ||vhat||,                  (1)

with the per-row move s, the alignment gamma = <u, theta*> and zeta^2 = c - 1 (c the bulk
inflation) of :mod:`giantstep.theory.first_step`. zeta^2 = O(N^{2 alpha - 1}) vanishes for
alpha < 1/2. With a Gaussian second layer and zeta = 0 the law (1) is N(0, Sigma),
Sigma = I/d + s^2 u u^T.

Exact mode eigenvalues of the law (kernels module, eq. (2)): lambda_f = E_w[P_f(w)^2] with P_f
explicit in (r = ||w||, t = <theta*, w>, <e, w>). :func:`law_mode_forms` evaluates the
expectation over (1) by tensor quadrature -- Gauss-Hermite in a (or the two points +-1) and in
the O(1/sqrt(d)) Gaussian coordinates of w0 along theta*, u and generic directions, generalised
Gauss-Laguerre (Golub-Welsch) for the chi-square norm of the rest -- so it is exact at every d
(no 1/d expansion), to ~1e-12 for relu.

Leading order in 1/d at beta = d s^2 = O(1) (alpha = 0), with beta_t := beta gamma^2 the spike
seen along theta*. What seed 000 predicts, and what the exact expressions give:

* linear along theta*: ratio 1 + beta_t (exact for relu; 9.3 writes 1 + beta along u).
* generic linear <e, x>, e orthogonal to theta*, u: ratio 1 (exactly (1 + zeta^2) for relu).
* He_2 along theta*: 9.3 says the eigenvalue is multiplied by (1 + beta)^2. That holds for the
  harmonic part only: the quadratic harmonic quad_u is no longer orthogonal to the top
  (constant/radial) mode, and its Rayleigh quotient is
  c2^2 [3 (1 + beta_t)^2 - 2 (1 + beta_t) + 1] / (2 d^2), i.e. ratio 1 + 2 beta_t + 1.5 beta_t^2;
  after deflating the top mode (Schur complement against the constant) it is c2^2 (1 + beta_t)^2 / d^2,
  ratio (1 + beta_t)^2 as 9.3 says.
* mixing: the top eigenfunction is ~ E sigma(sqrt(x^T Sigma x) G) = m(||x||^2/d + s^2 <u,x>^2);
  its non-constant part points along radial + (beta_t / sqrt(d)) quad_u, so the mixing angle is
  phi = arctan(beta_t / sqrt(d)) (needs mu0 != 0 and c2 != 0; e.g. relu).
* isotropic degree-l eigenvalue c_l^2 / d^l (9.3's "(1/d^k) x multiplicity normalisation": the
  normalisation is exactly 1 per unit-norm harmonic); exact relu values at every d:
  lin mu1^2/d, radial c2^2/(2d), quad and cross c2^2/(d(d+2)).

Large step (alpha = 1/2, s = O(1), beta = O(d)): the top of the spectrum is the 1-D operator
k0(kappa, kappa') = E_a[m0(s a kappa) m0(s a kappa')], m0(t) = E_g sigma(sqrt(1 + zeta^2 a^2) g + t),
kappa ~ N(0, 1) (seed 000, with the bulk inflation c of docs/theory.md, section 8, added). It has rank 2 for a
+-1 second layer (two neuron types sigma(g +- s kappa)) and a decaying spectrum for Gaussian a.
:func:`k0_spectrum` diagonalises it by Gauss-Hermite Nystrom in kappa, exact in a.

Reference: Lobo, Loureiro, Tran-Thanh, Liu (2026, seed 000); Ba et al. 2022 (arXiv 2205.01445);
Cui et al. 2024 (arXiv 2402.04980) for the bulk inflation.

Example
-------
>>> out = law_mode_forms("relu", d=50, s=0.0)
>>> round(out["eigenvalues"]["lin_u"] * 50, 10)    # mu1^2 = 1/4
0.25
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import eval_hermitenorm, ndtr

from ..activations import Activation
from ..errors import ConfigError
from ..hermite import hermite_constants
from ..kernels import MIXING_BLOCK, block_mixing_angle, deflated_eigenvalue, projections_from_invariants
from .feature_law import SECOND_LAYERS, SpikedLaw
from .first_step import first_step
from .quadrature import HALF_RANGE, gauss_hermite, kinked_gaussian_rule, tensor_grid
from .validation import NOISE, NONNEGATIVE, SIZE, STEP_EXPONENT, UNIT, Function, Interval, Optional, Options, validate_params
from .result import Result

AMPLIFIED = ("lin_u", "he2_u", "quad_u", "quad_u_deflated", "lin_e", "quad_e", "cross_e", "radial", "const")


# ----------------------------------------------------------------------------------------------
# quadrature rules


def _chi2_over_d(nu: int, d: int, nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes/weights for R = chi^2_nu / d (Golub-Welsch for the Gamma(nu/2) law, any nu)."""
    if nu <= 0:
        return np.zeros(1), np.ones(1)
    al = nu / 2.0 - 1.0
    k = np.arange(nodes)
    diag = 2 * k + al + 1
    off = np.sqrt(k[1:] * (k[1:] + al))
    J = np.diag(diag) + np.diag(off, 1) + np.diag(off, -1)
    y, V = np.linalg.eigh(J)
    return 2.0 * y / d, V[0, :] ** 2


@dataclass(frozen=True)
class LawModes(Result):
    """<f, T f> per named mode (with ``quad_u_deflated``), the (const, radial, quad_u) block and its angle."""

    eigenvalues: dict
    mixing_block: np.ndarray
    mixing_angle_deg: float


@dataclass(frozen=True)
class ModePredictions(Result):
    """Eigenvalues before (W0) and after (the law), their ratios (NaN for a mode absent before) and angles."""

    before: dict
    after: dict
    ratio: dict
    mixing_angle_before_deg: float
    mixing_angle_after_deg: float


@dataclass(frozen=True)
class LeadingOrder(Result):
    """The 1/d leading-order formulas (module docstring), beta_t = beta gamma^2, zeta = 0."""

    iso_const: float
    iso_lin: float
    iso_radial: float
    iso_quad: float
    ratio_lin_u: float
    ratio_quad_u_deflated: float
    ratio_quad_u: float
    ratio_lin_e: float
    mixing_angle_deg: float


@dataclass(frozen=True)
class KernelModeReport(Result):
    """Every prediction of this module for one step (``giantstep theory kernel-modes``); a ratio
    whose mode has eigenvalue 0 before the step is the text 'undefined: ...'."""

    activation: str
    link: str
    s: float
    gamma: float
    inflation: float
    beta: float
    before: dict
    after: dict
    ratio: dict
    mixing_angle_before_deg: float
    mixing_angle_after_deg: float
    leading_order: LeadingOrder
    k0_eigenvalues: list


# ----------------------------------------------------------------------------------------------
# exact mode eigenvalues of the law


@validate_params({"activation": Function(), "gamma": UNIT, "nodes_a": Interval(int, 2, 200),
                  "nodes_g": Interval(int, 2, 100), "nodes_chi": Interval(int, 2, 100)})
def law_mode_forms(
    activation: str,
    law: SpikedLaw,
    gamma: float = 1.0,
    *,
    nodes_a: int = 24,
    nodes_g: int = 10,
    nodes_chi: int = 10,
) -> LawModes:
    r"""Exact <f, T f> for every named f under the law (1), plus the mixing block and angle.

    Returns ``eigenvalues`` (name -> lambda_f, with ``quad_u_deflated`` = B_qq - B_q0^2 / B_00),
    ``mixing_block`` (3 x 3 on const, radial, quad_u) and ``mixing_angle_deg``.
    Coordinates: a (second layer), g1 = <theta*, w0>, g2 = <e', w0> with u = gamma theta* +
    sqrt(1 - gamma^2) e', h = <u, w0>, g3, g4 along generic e1, e2 orthogonal to theta*, u, and
    R = ||rest of w0||^2 ~ chi^2 / d; b(a) = law.row_variance(a).
    """
    d, s = law.d, law.s
    if d < 5:
        raise ConfigError("d", "an integer >= 5", d)
    sd = 1.0 / math.sqrt(d)
    ga = law.second_layer_rule(nodes_a)
    gg = (gauss_hermite(nodes_g)[0] * sd, gauss_hermite(nodes_g)[1])
    perp = math.sqrt(max(1.0 - gamma * gamma, 0.0))

    # theta*-modes and the mixing block: (a, g1, g2, R), R ~ chi^2_{d-2}/d
    (a, g1, g2, R), w = tensor_grid(ga, gg, gg, _chi2_over_d(d - 2, d, nodes_chi))
    b = law.row_variance(a)
    sb = np.sqrt(b)
    t = sb * g1 + s * a * gamma
    r = np.sqrt(b * (g1 * g1 + g2 * g2 + R) + 2 * s * a * sb * (gamma * g1 + perp * g2) + (s * a) ** 2)
    P = projections_from_invariants(activation, d, r, t, 0.0 * t, 0.0 * t)
    M = np.stack([P[n] for n in MIXING_BLOCK])
    block = (M * w) @ M.T
    eig = {n: float(w @ P[n] ** 2) for n in ("const", "radial", "lin_u", "he2_u", "quad_u")}
    eig["quad_u_deflated"] = deflated_eigenvalue(block)

    # generic modes: (a, h, g3, g4, R), R ~ chi^2_{d-3}/d
    (a, h, g3, g4, R), w = tensor_grid(ga, gg, gg, gg, _chi2_over_d(d - 3, d, nodes_chi))
    b = law.row_variance(a)
    sb = np.sqrt(b)
    r = np.sqrt(b * (h * h + g3 * g3 + g4 * g4 + R) + 2 * s * a * sb * h + (s * a) ** 2)
    P = projections_from_invariants(activation, d, r, 0.0 * r, sb * g3, sb * g4)
    for n in ("lin_e", "quad_e", "cross_e"):
        eig[n] = float(w @ P[n] ** 2)

    return LawModes(eig, block, block_mixing_angle(block))


@validate_params({"activation": Function(), "gamma": UNIT})
def mode_predictions(activation: str, law: SpikedLaw, gamma: float = 1.0) -> ModePredictions:
    """Before (isotropic law of W0) and after (``law``) eigenvalues, ratios and mixing angles."""
    before = law_mode_forms(activation, SpikedLaw(law.d, 0.0, second_layer=law.second_layer), 1.0)
    after = law_mode_forms(activation, law, gamma)
    ratios = {}
    for n in AMPLIFIED:
        b0 = before.eigenvalues[n]
        ratios[n] = after.eigenvalues[n] / b0 if b0 > 0 else float("nan")
    return ModePredictions(before.eigenvalues, after.eigenvalues, ratios, before.mixing_angle_deg, after.mixing_angle_deg)


@validate_params({"activation": Function(), "d": SIZE, "beta": NONNEGATIVE, "gamma": UNIT})
def leading_order(activation: str, d: int, beta: float, gamma: float = 1.0) -> LeadingOrder:
    r"""The 1/d leading-order formulas of the module docstring (beta_t = beta gamma^2, zeta = 0)."""
    c = hermite_constants(activation).coefficients
    bt = beta * gamma**2
    return LeadingOrder(c[0] ** 2, c[1] ** 2 / d, c[2] ** 2 / (2 * d), c[2] ** 2 / d**2, 1 + bt, (1 + bt) ** 2,
                        1 + 2 * bt + 1.5 * bt**2, 1.0, math.degrees(math.atan(bt / math.sqrt(d))))


# ----------------------------------------------------------------------------------------------
# the large-step 1-D operator


def _m0(act: Activation, t: np.ndarray, scale: np.ndarray | float) -> np.ndarray:
    """m0(t) = E_g sigma(scale g + t): closed form for relu and erf; for another kinked sigma,
    Gauss-Legendre panels split at each t's kinks (120-node Gauss-Hermite across a kink errs by
    ~1e-3: -relu gave a k0 eigenvalue 0.17% off relu's); 120-node Gauss-Hermite for a smooth sigma."""
    t = np.asarray(t, dtype=float)
    sc = np.broadcast_to(np.asarray(scale, dtype=float), t.shape)
    if act.name == "relu":
        z = t / sc
        return sc * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi) + t * ndtr(z)
    if act.name == "erf":
        from scipy.special import erf

        return erf(t / np.sqrt(1 + 2 * sc * sc))
    if act.kinks:
        tf, sf = t.ravel(), sc.ravel()
        edges = np.clip((np.asarray(act.kinks, dtype=float)[None, :] - tf[:, None]) / sf[:, None], -HALF_RANGE, HALF_RANGE)
        z, w = kinked_gaussian_rule(np.linspace(-HALF_RANGE, HALF_RANGE, 37), edges)
        return np.sum(w * act.f(tf[:, None] + sf[:, None] * z), axis=1).reshape(t.shape)
    z, w = gauss_hermite(120)
    return act.f(t[..., None] + sc[..., None] * z) @ w


@dataclass(frozen=True)
class K0Spectrum(Result):
    """Eigenvalues (descending) of k0 and the He_k(kappa)/sqrt(k!) content (k = 0..4) of each eigenfunction."""

    eigenvalues: np.ndarray
    hermite_content: np.ndarray  # (top, 5), squared coefficients (sum <= 1)


@validate_params({"activation": Function(), "top": SIZE, "nodes": Interval(int, 8, 1000), "nodes_a": Interval(int, 2, 200)})
def k0_spectrum(
    activation: str,
    law: SpikedLaw,
    *,
    top: int = 6,
    nodes: int = 96,
    nodes_a: int = 48,
) -> K0Spectrum:
    r"""Eigen-decomposition of k0(kappa, kappa') = E_a[m0(s a kappa) m0(s a kappa')] on L^2(N(0,1)),
    m0(t) = E_g sigma(sqrt(b(a)) g + t) with the law's s and b(a).

    Nystrom with ``nodes`` Gauss-Hermite points in kappa: A = M^T M with
    M_{a,i} = sqrt(p_a w_i) m0(s a kappa_i); eigenvalues of A are those of k0 (rank <= #a-nodes).
    """
    kap, wk = gauss_hermite(nodes)
    av, pa = law.second_layer_rule(nodes_a)
    scale = np.sqrt(law.row_variance(av))[:, None]
    M = np.sqrt(pa)[:, None] * np.sqrt(wk)[None, :] * _m0(activation, law.s * av[:, None] * kap[None, :], scale)
    G = M @ M.T  # small (#a x #a): same non-zero spectrum as M^T M
    lam, U = np.linalg.eigh(G)
    order = np.argsort(lam)[::-1][:top]
    lam = np.maximum(lam[order], 0.0)
    U = U[:, order]
    # eigenvectors of M^T M: M^T U / sqrt(lam), i.e. sqrt(w_i) phi(kappa_i)
    safe = np.where(lam > 0, np.sqrt(lam), 1.0)
    Y = (M.T @ U) / safe  # (nodes, top)
    H = np.stack([eval_hermitenorm(k, kap) / math.sqrt(math.factorial(k)) for k in range(5)], axis=1)
    coef = (H * np.sqrt(wk)[:, None]).T @ Y  # (5, top)
    return K0Spectrum(lam, (coef**2).T)


# ----------------------------------------------------------------------------------------------
# CLI


@validate_params({"activation": Function(), "link": Function(), "noise": NOISE, "d": Interval(int, 5, None),
                  "width": SIZE, "n": SIZE, "eta0": NONNEGATIVE, "alpha": STEP_EXPONENT,
                  "second_layer": Options(SECOND_LAYERS), "s": Optional(NONNEGATIVE), "gamma": Optional(UNIT)})
def kernel_mode_report(
    activation: str,
    link: str,
    d: int,
    width: int,
    n: int,
    eta0: float,
    alpha: float = 0.0,
    *,
    noise: float = 0.0,
    second_layer: str = "gaussian",
    s: float | None = None,
    gamma: float | None = None,
) -> KernelModeReport:
    """All predictions of this module for one step (``giantstep theory kernel-modes``): the spike
    (s, gamma, c) of :mod:`giantstep.theory.first_step` (residual r = y) unless overridden, the mode
    eigenvalues of the law before and after, the leading order, and the top of k0.

    Domain: that of first_step; the law (1) is leading order in the step (alpha in [0, 1/2]);
    d >= 5 for the exact law integrals.
    """
    spike = first_step(activation, link, d, width, n, eta0, alpha, noise=noise, residual="label")
    s_val = spike.s if s is None else s
    g_val = spike.gamma if gamma is None else gamma
    law = SpikedLaw(d, s_val, inflation=spike.inflation, second_layer=second_layer)
    pred = mode_predictions(activation, law, g_val)
    ratio = {k: (v if math.isfinite(v) else "undefined: the mode's eigenvalue is 0 before the step")
             for k, v in pred.ratio.items()}
    return KernelModeReport(activation.name, link.name, s_val, g_val, spike.inflation, d * s_val**2, pred.before,
                            pred.after, ratio, pred.mixing_angle_before_deg, pred.mixing_angle_after_deg,
                            leading_order(activation, d, d * s_val**2, g_val),
                            k0_spectrum(activation, law, top=4).eigenvalues.tolist())
