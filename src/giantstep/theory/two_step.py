r"""Two gradient steps: power counting of the second step (theory 4; Moniri & Hassani 2026,
arXiv 2605.17767).

Step sizes eta_t = eta0_t N^{alpha_t}, alpha_1, alpha_2 in [0, 1/2). After step 1,
w_i^(1) = w_i + s1 a_i u1 with s1 = eta_1 mu1 ||vhat_1|| / sqrt(N) ~ N^{alpha_1 - 1/2}. Expanding
sigma' in the second gradient, term k (k = 0, 1, ...) is

    eta_2 (c_{k+1} s1^k / (k! sqrt(N))) a^{(k+1)} [ (1/n) sum_mu r_mu kappa1_mu^k x_mu ]^T,   kappa1 = X2 u1,

with operator norm ~ N^{alpha_2 - k (1/2 - alpha_1)} against ||W0||_op = O(1):

    exponent_k = alpha_2 - k (1/2 - alpha_1);   outlier iff exponent_k >= 0 (= 0 critical),
    new directions = floor(alpha_2 / (1/2 - alpha_1))  (terms k >= 1; k = 0 merges with the
    first-step spike),  outliers including the first = new directions + 1.

Finite-N magnitude of term k [DER, leading order, noise-dominated right vector]:
    ||term_k|| ~ eta_2 |c_{k+1}| s1^k / k! * sqrt(E a^{2(k+1)}) * sqrt(E[y^2 kappa^{2k}]/psi2 + E[y kappa^k z]^2),
with E a^{2j} = 1 (rademacher) or (2j - 1)!! (gaussian).

Which terms carry theta*: the theta* component of the right vector is E[y kappa^k z] (z = <theta*, x>).
  * fresh batch: kappa = gamma1 z + sqrt(1 - gamma1^2) zeta (zeta independent), gamma1 = alignment
    of step 1 (0 if mu1* = 0: information exponent >= 2 learns nothing);
  * reused batch: kappa_mu also contains the self term y_mu ||x_mu||^2 / (n ||vhat_1||) ~
    y_mu / (psi2 ||vhat_1||) [DER; the theory notes drop the 1/||vhat_1|| of the normalised u1],
    so term k carries E[y^{j+1} z] for j <= k: theta* is reached once some power y^{j+1} has a
    nonzero first Hermite coefficient and term k is visible. Even links (He2, |z|) never do.
At a_i = +-1 the left vectors a^{(k+1)} take two values, so at most two distinct outliers appear;
Gaussian a separates them. Counts are asymptotic; test exponents, not exact counts.

The right vector of term k has, besides theta*, a component along xi (u1 = gamma1 theta* +
sqrt(1 - gamma1^2) xi): E[y kappa^k zeta]; both enter its norm.

New part of the update along He_j(a), exact in s1 [DER][NUM] (Gaussian a, fresh batch): the left
vector a^{k+1} = sum_j <a^{k+1}, He_j> He_j / j! overlaps earlier terms, and at finite s1 every
term k >= j - 1 of the same parity feeds the He_j(a) direction. Summing the Taylor series inside
the expectation over the neurons, with h_j = He_j(a) / ||He_j(a)|| (||He_j(a)||^2 = N j!),

    ||h_j^T dW2|| -> eta_2 / sqrt(j!) * sqrt(E[y^2 F_j(kappa)^2]/psi2 + E[y F_j z]^2 + E[y F_j zeta]^2),
    F_j(kappa) = E_{a, g}[He_j(a) a sigma'(g + s1 a kappa)],   a, g ~ N(0, 1),

(:func:`left_hermite_part`). To leading order in s1 it is term k = j - 1 restricted to He_j(a):
the magnitude of :func:`two_step_terms` times sqrt(j! / (2j - 1)!!). At (alpha1, alpha2) =
(0.4, 0.3), tanh, N = 512..2048 (s1 ~ 0.25-0.28) the exact value is ~35% below the leading order
(0.27, 0.30, 0.34 vs 0.43, 0.46, 0.50): the higher terms (a^5 = He5 + 10 He3 + 15 He1, ...) carry
the opposite sign. Measured by :func:`giantstep.spectra.left_hermite_parts` (noise-corrected
projection): 0.30 +- 0.06, 0.30, 0.35 (3 seeds).

Example
-------
>>> two_step_structure(0.4, 0.3).new_directions
3
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.polynomial.hermite_e import hermeval

from ..hermite import hermite_coefficients
from .domain import require
from .first_step import DEFAULT_RESIDUAL, DEFAULT_SECOND_LAYER, RESIDUALS, SECOND_LAYERS, FirstStep, first_step
from .quadrature import gauss_hermite, tensor_grid
from .result import Result
from .validation import GROWING_STEP_EXPONENT, NOISE, NONNEGATIVE, SIZE, UNIT, Function, Interval, Options, validate_params

BATCHES = ("fresh", "reuse")
EPS = 1e-12
STEPS = {"d": SIZE, "width": SIZE, "n": SIZE, "eta1": NONNEGATIVE, "alpha1": GROWING_STEP_EXPONENT,
         "eta2": NONNEGATIVE, "alpha2": GROWING_STEP_EXPONENT}


@dataclass(frozen=True)
class TwoStepStructure(Result):
    """Exponents per term k = 0..K, counts, and the critical terms."""

    exponents: list
    new_directions: int
    outliers_including_first: int
    critical: list


@dataclass(frozen=True)
class TwoStepTerms(Result):
    """The structure, per-term magnitudes and theta* components, and the first step's s1, gamma1."""

    exponents: list
    new_directions: int
    outliers_including_first: int
    critical: list
    magnitudes: list
    theta_component: list
    carries_theta: list
    s1: float
    gamma1: float
    batch: str


@validate_params({"alpha1": GROWING_STEP_EXPONENT, "alpha2": GROWING_STEP_EXPONENT})
def two_step_structure(alpha1: float, alpha2: float, *, max_terms: int | None = None) -> TwoStepStructure:
    """Exponents alpha2 - k(1/2 - alpha1) for k = 0..K (K = count + 1, at least 4) and the counts."""
    gap = 0.5 - alpha1
    ratio = alpha2 / gap
    count = int(math.floor(ratio + EPS))
    K = max(count + 1, 4) if max_terms is None else int(max_terms)
    exps = [alpha2 - k * gap for k in range(K + 1)]
    crit = [k for k, e in enumerate(exps) if abs(e) <= EPS]
    return TwoStepStructure([0.0 if abs(e) <= EPS else round(e, 12) for e in exps], count, count + 1, crit)


def _double_factorial_odd(j: int) -> float:
    """(2j - 1)!! = E G^{2j}."""
    return float(np.prod(np.arange(1, 2 * j, 2))) if j > 0 else 1.0


def _right_vector_grid(link, tau: float, batch: str, gamma1: float, psi2: float, vhat_norm: float, nodes: int):
    """Tensor Gauss-Hermite grid over (z, zeta, eps) with weights, y = g(z) + tau eps and kappa
    = gamma1 z + sqrt(1 - gamma1^2) zeta (+ the reuse self term y / (psi2 ||vhat_1||))."""
    rule = gauss_hermite(nodes)
    (z, zeta, eps), w = tensor_grid(rule, rule, rule)
    y = link.f(z) + tau * eps
    kappa = gamma1 * z + math.sqrt(max(1.0 - gamma1**2, 0.0)) * zeta
    if batch == "reuse":
        kappa = kappa + y / (psi2 * vhat_norm)
    return w, z, zeta, y, kappa


@validate_params({"link": Function(), "noise": NOISE, "K": Interval(int, 0, 64), "batch": Options(BATCHES),
                  "gamma1": UNIT, "psi2": Interval(float, 0, None, closed="neither"),
                  "vhat_norm": Interval(float, 0, None, closed="neither"), "nodes": Interval(int, 4, 200)})
def theta_components(link, K: int, batch: str, gamma1: float, psi2: float, vhat_norm: float, *, noise: float = 0.0,
                     nodes: int = 40) -> np.ndarray:
    """E[y kappa^k z] for k = 0..K (the theta* component of term k's right vector; see module doc)."""
    w, z, _, y, kappa = _right_vector_grid(link, noise, batch, gamma1, psi2, vhat_norm, nodes)
    return np.array([float(np.sum(w * y * kappa**k * z)) for k in range(K + 1)])


def _first(activation, link, noise: float, d: int, width: int, n: int, eta1: float, alpha1: float,
           second_layer: str, residual: str) -> FirstStep:
    """Step 1 as the second step sees it: psi2, E y^2, ||vhat_1||^2, gamma1, s1 = s. Domain: the
    residual r = y at step 2 (``label``); centered and full feed the first step's change f1 - f0,
    of order N^alpha1, back into the second gradient, which these formulas do not contain."""
    require(residual == "label", f"two steps: the second-step formulas assume the residual r = y at step 2 "
                                 f"(residual 'label'); got '{residual}', whose step-2 residual contains f1 - f0")
    return first_step(activation, link, d, width, n, eta1, alpha1, noise=noise, second_layer=second_layer,
                      residual="label")


@validate_params({"activation": Function(), "link": Function(), "noise": NOISE, **STEPS,
                  "batch": Options(BATCHES), "second_layer": Options(SECOND_LAYERS), "residual": Options(RESIDUALS)})
def two_step_terms(
    activation,
    link,
    d: int,
    width: int,
    n: int,
    eta1: float,
    alpha1: float,
    eta2: float,
    alpha2: float,
    *,
    noise: float = 0.0,
    batch: str = "fresh",
    second_layer: str = DEFAULT_SECOND_LAYER,
    residual: str = DEFAULT_RESIDUAL,
) -> TwoStepTerms:
    """Per-term exponents, finite-N magnitudes (operator-norm estimates) and theta* components
    (E[y kappa^k z], and whether it is non-zero) of the second step (module docstring).

    Domain (ValidityError outside): alpha1, alpha2 in [0, 1/2); residual ``label`` (r = y at
    both steps); the first step's domain (:func:`giantstep.theory.first_step.first_step`).
    Magnitudes are leading order in s1 (:func:`left_hermite_part` is exact in s1).
    """
    fs = _first(activation, link, noise, d, width, n, eta1, alpha1, second_layer, residual)
    psi2, ey2, gamma1, s1 = fs.psi2, fs.ey2, fs.gamma, fs.s
    st = two_step_structure(alpha1, alpha2)
    K = len(st.exponents) - 1
    c = hermite_coefficients(activation, K + 1)
    w, z, zeta, y, kappa = _right_vector_grid(link, noise, batch, gamma1, psi2, math.sqrt(fs.vhat_norm2), 40)
    theta_c = np.array([float(np.sum(w * y * kappa**k * z)) for k in range(K + 1)])
    eta2_full = eta2 * width**alpha2
    mags, carries = [], []
    scale_y = math.sqrt(max(ey2, 1e-300))
    for k in range(K + 1):
        a_moment = _double_factorial_odd(k + 1) if second_layer == "gaussian" else 1.0
        xi_c = float(np.sum(w * y * kappa**k * zeta))  # E[y kappa^k zeta]: the right vector's xi component
        right2 = float(np.sum(w * y**2 * kappa ** (2 * k))) / psi2 + theta_c[k] ** 2 + xi_c**2
        mags.append(eta2_full * abs(c[k + 1]) * s1**k / math.factorial(k) * math.sqrt(a_moment) * math.sqrt(right2))
        carries.append(bool(abs(theta_c[k]) > 1e-6 * scale_y))
    return TwoStepTerms(st.exponents, st.new_directions, st.outliers_including_first, st.critical, mags,
                        theta_c.tolist(), carries, s1, gamma1, batch)


@validate_params({"activation": Function(), "link": Function(), "noise": NOISE, **STEPS,
                  "degree": Interval(int, 1, 12), "residual": Options(RESIDUALS), "nodes": Interval(int, 8, 200)})
def left_hermite_part(
    activation,
    link,
    d: int,
    width: int,
    n: int,
    eta1: float,
    alpha1: float,
    eta2: float,
    alpha2: float,
    *,
    degree: int = 3,
    noise: float = 0.0,
    residual: str = DEFAULT_RESIDUAL,
    nodes: int = 48,
) -> float:
    """||h_j^T dW2||: the step-2 update along the left direction h_j = He_j(a)/||He_j(a)||, exact in s1.

    Gaussian second layer, fresh second batch, residual r = y (``label``; see the module docstring
    for the formula and its leading order). ``degree`` j >= 1; returns the N -> infinity limit at the
    given (d, N, n) of the projection without the update's bulk (the noise that
    :func:`giantstep.spectra.left_hermite_parts` subtracts). Domain: that of :func:`two_step_terms`.

    >>> round(left_hermite_part("tanh", "tanh", 1024, 1024, 1024, 1.0, 0.4, 1.0, 0.3), 2)
    0.3
    """
    j = degree
    fs = _first(activation, link, noise, d, width, n, eta1, alpha1, "gaussian", residual)
    psi2, gamma1, s1 = fs.psi2, fs.gamma, fs.s
    x, w = gauss_hermite(nodes)
    # F_j(kappa) = E_{a,g}[He_j(a) a sigma'(g + s1 a kappa)] on the kappa grid of the (z, zeta) quadrature
    he_j = hermeval(x, [0.0] * j + [1.0])
    (z, zeta), wz = tensor_grid((x, w), (x, w))
    kappa = gamma1 * z + math.sqrt(max(1.0 - gamma1**2, 0.0)) * zeta
    lead = (w * he_j * x)[:, None, None]  # over a
    shift = s1 * x[:, None, None] * kappa[None, :, None] + x[None, None, :]  # a, (z, zeta), g
    F = np.sum(lead * w[None, None, :] * activation.df(shift), axis=(0, 2))
    y = link.f(z)
    ey2F2 = float(np.sum(wz * (y**2 + noise**2) * F**2))
    bz, bzeta = float(np.sum(wz * y * F * z)), float(np.sum(wz * y * F * zeta))
    return eta2 * width**alpha2 / math.sqrt(math.factorial(j)) * math.sqrt(ey2F2 / psi2 + bz**2 + bzeta**2)
