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
from .quadrature import broadcast_grid, gauss_hermite, tensor_grid
from .result import Result
from .validation import GROWING_STEP_EXPONENT, NOISE, NONNEGATIVE, SIZE, UNIT, Function, Interval, Options, validate_params

BATCHES = ("fresh", "reuse")
EPS = 1e-12
GAMMA_NODES = 6  # Gauss-Hermite nodes over the first direction's alignment (update_theta_energy)
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


@dataclass(frozen=True)
class ThetaEnergy(Result):
    """E||dW2 theta*||^2 of the second step's update = signal + noise (see :func:`update_theta_energy`);
    ``learned`` is the signal at the first direction's mean alignment mu1*/||vhat|| (0 for IE >= 2),
    the part that does not come from the O(n^{-1/2}) chance alignment of the first direction."""

    signal: float
    noise: float
    learned: float = 0.0

    @property
    def total(self) -> float:
        return self.signal + self.noise


@validate_params({"activation": Function(), "link": Function(), **STEPS, "batch": Options(BATCHES),
                  "residual": Options(("label", "centered")), "second_layer": Options(("gaussian", "rademacher"))})
def update_theta_energy(
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
    batch: str = "fresh",
    residual: str = "label",
    second_layer: str = "gaussian",
    nodes: tuple[int, int, int, int, int] = (20, 24, 8, 32, 12),
) -> ThetaEnergy:
    r"""E||(W2 - W1) theta*||^2 for a noiseless single-index teacher, exact in the first step [DER].

    Step 1 (on batch 1, r = y) moves neuron i's pre-activation on a sample x by
    t1 a_i [mu1 ||vhat|| kappa + b xi_i + (reused sample) y sigma'(g_i) / psi2], t1 = eta_1 / sqrt(N):
    kappa = gamma1 z + sqrt(1 - gamma1^2) zeta is the sample's projection on the first direction
    (shared by all neurons), b xi_i the neuron's own part of the update's bulk (b^2 = E y^2
    Var sigma'(G) / psi2, xi_i ~ N(0, 1)), and on a reused sample its own label enters through the
    self term of vhat (<x, x> / n = 1 / psi2) with the neuron's own sigma'(g_i). Step 2 on a fresh or
    the reused batch, residual r = y (``label``) or r = y - (f1 - f0) = y - sqrt(N) Phi(z, zeta)
    (``centered``, Phi = E_{a,g,xi}[a (sigma(h) - sigma(g))]). The theta* coordinate of row i of
    the update is (eta_2 a_i / sqrt(N)) (1/n) sum_mu r sigma'(h_i) z, so with
    G(a) = E[r sigma'(h) z] and M(a) = E[r^2 sigma'(h)^2 z^2] (over g, xi, z, zeta),

        signal = eta_2^2 E_a[a^2 G(a)^2],   noise = eta_2^2 E_a[a^2 (M(a) - G(a)^2)] / n,

    (M includes E[e^2] sigma'^2 z^2 for the centred residual),

    eta_t = eta0_t N^{alpha_t}; g ~ N(0, 1) independent of (z, zeta) up to O(d^{-1/2}). For a fresh
    batch and information exponent >= 2 the signal vanishes (kappa is independent of z); on a reused
    batch the self term makes G(a) carry E[y^{j+1} z] (theory 4.2), and with the ``centered``
    residual the O(N^{alpha_1}) part sqrt(N) Phi, a function of the sample's own label, carries
    theta* already in the k = 0 term. The first direction's alignment is taken at finite n,
    gamma1^2 = (mu1*^2 + (E[y^2 z^2] - mu1*^2) / n) / ||vhat||^2: for IE >= 2 the alignment is the
    O(n^{-1/2}) heteroscedastic part of vhat, which the O(N^{alpha1}) centred residual turns into a
    signal of the fresh batch too (E over the sign of <vhat, theta*> of the squared signal, exact to
    leading order in gamma1). The energy is averaged over gamma1 ~ N(mu1*/||vhat||, (E[y^2 z^2] -
    mu1*^2)/(n ||vhat||^2)) (the law of <vhat, theta*>/||vhat||; the sign of a pure-noise alignment
    is random) by GAMMA_NODES-point Gauss-Hermite. ``learned`` is the signal at the mean alignment:
    the theta* part that a learned direction carries (for the centred residual and IE >= 2 the
    chance alignment makes the huge update along the first direction put energy on theta* without
    aligning with it). Tensor Gauss-Hermite quadrature over (a, g, xi, z, zeta).
    """
    act, g_link = activation, link
    fs = first_step(act, g_link, d, width, n, eta1, alpha1, residual="label", second_layer=second_layer)
    vn2 = fs.vhat_norm2
    zq, wq = gauss_hermite(80)
    mu1s = float(np.sum(wq * g_link.f(zq) * zq))
    sd_gamma = math.sqrt(max(float(np.sum(wq * (g_link.f(zq) * zq) ** 2)) - mu1s**2, 0.0) / int(n) / vn2)
    gq, pg = gauss_hermite(GAMMA_NODES)
    args = (fs, int(width), int(n), eta1, alpha1, eta2, alpha2, batch, residual, second_layer, nodes)
    parts = [_theta_energy_at(act, g_link, float(np.clip(mu1s / math.sqrt(vn2) + sd_gamma * x, -1.0, 1.0)), *args)
             for x in gq]
    mean = _theta_energy_at(act, g_link, mu1s / math.sqrt(vn2), *args)
    return ThetaEnergy(float(pg @ [p.signal for p in parts]), float(pg @ [p.noise for p in parts]), mean.signal)


def _theta_energy_at(act, g_link, gamma1: float, fs: FirstStep, N: int, n: int, eta1: float, alpha1: float,
                     eta2: float, alpha2: float, batch: str, residual: str, second_layer: str,
                     nodes: tuple) -> ThetaEnergy:
    """:func:`update_theta_energy` at a given alignment gamma1 of the first direction."""
    psi2, vn2 = fs.psi2, fs.vhat_norm2
    t1 = float(eta1) * N**alpha1 / math.sqrt(N)
    eta2_full = eta2 * N**alpha2
    b = math.sqrt(fs.ey2 * fs.var_dsigma / psi2)
    rules = [gauss_hermite(nodes[0]) if second_layer == "gaussian" else (np.array([-1.0, 1.0]), np.array([0.5, 0.5]))]
    rules += [gauss_hermite(k) for k in nodes[1:]]
    (a, g, xi, z, ze), w = broadcast_grid(*rules)  # axes: a, g, xi, z, zeta
    y = g_link.f(z)
    kappa = gamma1 * z + math.sqrt(max(1.0 - gamma1**2, 0.0)) * ze
    drive = fs.mu1 * math.sqrt(vn2) * kappa + b * xi + (y * act.df(g) / psi2 if batch == "reuse" else 0.0)
    h = g + t1 * a * drive
    r, spread = y, 0.0
    if residual == "centered":
        per_neuron = a * (act.f(h) - act.f(g))
        wn = np.sum(w, axis=(0, 1, 2), keepdims=True)
        phi = np.sum(w * per_neuron, axis=(0, 1, 2), keepdims=True) / wn
        spread = np.sum(w * per_neuron**2, axis=(0, 1, 2), keepdims=True) / wn - phi**2
        r = y - math.sqrt(N) * phi
    ds = act.df(h)
    wa = np.sum(w, axis=(1, 2, 3, 4))
    G = np.sum(w * r * ds * z, axis=(1, 2, 3, 4)) / wa
    M = np.sum(w * (r * r + spread) * (ds * z) ** 2, axis=(1, 2, 3, 4)) / wa
    a_nodes, pa = rules[0]
    signal = eta2_full**2 * float(np.sum(pa * a_nodes**2 * G**2))
    noise = eta2_full**2 * float(np.sum(pa * a_nodes**2 * (M - G**2))) / int(n)
    return ThetaEnergy(signal, noise)
