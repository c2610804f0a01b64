r"""Two gradient steps: power counting of the second step (docs/theory.md, section 9; Moniri &
Hassani 2026, arXiv 2605.17767).

Step sizes eta_t = eta0_t N^{alpha_t}, alpha_1, alpha_2 in [0, 1/2); residual r = y at both steps.
After step 1, w_i^(1) = w_i + sign(mu1) s1 a_i u1 + (bulk) with s1 = eta_1 |mu1| ||vhat_1|| / sqrt(N)
~ N^{alpha_1 - 1/2}, u1 = vhat_1/||vhat_1||. Expanding sigma' in the second gradient, term k
(k = 0, 1, ...) is

    eta_2 (c_{k+1} s1^k / (k! sqrt(N))) a^{(k+1)} [ (1/n) sum_mu y_mu kappa_mu^k x_mu ]^T,   kappa = X2 u1,

with operator norm ~ N^{alpha_2 - k (1/2 - alpha_1)} against ||W0||_op = O(1):

    exponent_k = alpha_2 - k (1/2 - alpha_1);   outlier iff exponent_k >= 0 (= 0 critical),
    new directions = floor(alpha_2 / (1/2 - alpha_1))  (terms k >= 1; k = 0 merges with the
    first-step spike),  outliers including the first = new directions + 1.
At a_i = +-1 the left vectors a^{(k+1)} take two values (a for k even, 1 for k odd), so at most two
distinct outliers appear; Gaussian a separates them. Counts are asymptotic; test exponents.

**Right vectors.** With z = <x, theta*>, u1 = gamma1 theta* + rho xi (rho^2 = 1 - gamma1^2) and zeta
the leave-one-out part of <x, xi>, a right vector R(b) = (1/n) sum_mu b_mu x_mu of a function b of
the sample has, in the limit,

    ||R(b)||^2 = E[b z]^2 + (E[b zeta] + self_xi E[b y])^2 + E[b^2]/psi2 - self_xi^2 E[b y]^2.

Fresh batch: self_xi = 0 and kappa = gamma1 z + rho zeta. Reused batch: x_mu is in vhat_1, so
<x_mu, xi> = zeta + self_xi y_mu with self_xi = 1/sqrt(psi2 E y^2), the part of R(b) off theta* and
xi loses its component along the batch's y (x_mu's are constrained by sum_mu y_mu x_mu = n vhat_1),
and the step-2 preactivation of neuron i on sample mu contains the self term of the first step:

    <w_i^(1), x_mu> = g_imu + a_i [sign(mu1) s1 kappa_loo + h y_mu sigma'(g_imu) / psi2] + (bulk),

h = eta_1 / sqrt(N) the row step, kappa_loo = gamma1 z + rho zeta. (Check: b = c1 y gives R = c1
vhat_1, ||R||^2 = c1^2 ||vhat_1||^2, exactly.)

**The self term (corrected).** The source's power counting replaces sigma'(g_imu) by its mean mu1,
i.e. kappa_mu = kappa_loo + y_mu / (psi2 ||vhat_1||) in every term (:attr:`SampleLaw.kappa`, kept
for the theta* content below). The neuron's own sigma'(g) is the first step's whole update (its
rank-one part and its bulk) projected on its own sample: it enters term k through the coefficients
E[sigma^{(k+1)}(g) sigma'(g)^q] of (h y / psi2)^q, q <= k, not c_{k+1} mu1^q. These agree for k = 0;
for k = 1, E[sigma''(g) sigma'(g)] = E[g sigma'(g)^2] / 2 (Stein), computed here (= c2 mu1 for an odd
sigma and for ReLU); for k >= 2 they are not computed and the magnitudes are refused. For a kinked
sigma, E_g[sigma'(g + t) sigma'(g)] has a kink at t = 0: there is no expansion at all past k = 1.

**Magnitudes** (leading order in s1) of term k: eta_2 N^{alpha_2} sqrt(E a^{2(k+1)}) ||R(y b_k)||, with
E a^{2j} = 1 (+-1) or (2j - 1)!! (Gaussian), b_k = c_{k+1} (sign(mu1) s1 kappa)^k / k! (fresh) and
b_0 = c1, b_1 = c2 sign(mu1) s1 kappa_loo + E[g sigma'^2]/2 h y / psi2 (reused). A coefficient with
|c_{k+1}| <= 1e-8 sqrt((k+1)! E sigma^2) is 0 (relu's c3 = c5 = ... = 0): the term is exactly 0.

**Exact in s1.** Summing the expansion inside the average over the neurons, the step-2 update's
low-rank part is (eta_2 N^{alpha_2} / sqrt(N)) sum over neurons of a_i Psi(a_i u, a_i v) with

    Psi(u, v) = E_g sigma'(g + u + v sigma'(g)),   u = sign(mu1) s1 kappa_loo,   v = h y / psi2 (reuse; 0 fresh)

(:func:`step2_derivative`). ``update_parts``: for a +-1 second layer, the parts along a (terms k
even: a (Psi(a .) + Psi(-a .))/2) and along 1 (k odd), each the norm eta_2 N^{alpha_2} ||R(y part)||
-- the two outliers of dW2 when its bulk is small; for a Gaussian second layer, the parts along
h_j = He_j(a)/||He_j(a)||, ||h_j^T dW2|| = eta_2 N^{alpha_2} / sqrt(j!) ||R(y F_j)||,
F_j = E_a[He_j(a) a Psi(a u, a v)] (:func:`left_hermite_part`), j = 1, 2, 3. The first step's bulk
adds variance (c - 1) a_i^2, c - 1 = O(N^{2 alpha_1 - 1}), to neuron i's step-2 preactivation.
``update_parts`` leave it out (refused when c - 1 > 0.1; the claims state an allowance for it);
``left_hermite_part`` includes it for a fresh batch (Psi with g scaled by sqrt(1 + (c - 1) a^2)),
where it weighs the rows of large |a| and is what the He3(a) part needed (+0.9% to +1.8% on C4's
ladder).

**Validity of the expansion.** At finite N, s1 kappa is not small where kappa has heavy tails (the
reuse self term is y/(psi2 ||vhat_1||) = O(1): He3 labels make E[kappa^2k] grow like (6k)!!), and
the leading-order magnitudes of successive terms grow instead of decreasing (2e12 at k = 9 for relu,
He3, N = 768, alpha = (0.45, 0.4)). Term k's magnitude is reported only where the expansion holds
to order k in its parity class: the exact size of what it leaves out of that class,
rest_k = sqrt(E_a ||R(y (class - sum_{j <= k} a^{j+1} b_j))||^2), is at most term_k/sqrt(2) (plus
1e-8 of the update's size, for rounding), and so for every earlier nonzero term of the class;
otherwise "not applicable: ...".

**Which terms carry theta*** (the source's power counting, rank-one self term): the theta* component
of term k's right vector is E[y kappa^k z].
  * fresh batch: kappa = gamma1 z + rho zeta, gamma1 = alignment of step 1 (0 if mu1* = 0:
    information exponent >= 2 learns nothing);
  * reused batch: kappa contains y / (psi2 ||vhat_1||), so term k carries E[y^{j+1} z] for j <= k:
    theta* is reached once some power y^{j+1} has a nonzero first Hermite coefficient and term k
    is visible. Even links (He2, |z|) never do.
Term k carries theta* when its theta* part is not negligible against the term's own scale:
|c_{k+1}| / sqrt((k+1)! E sigma^2) x |E[y kappa^k z]| / sqrt(E[y^2 kappa^{2k}]) > 1e-8 (both factors in
[0, 1]). With a reused batch and k >= 2 the answer is refused for a kinked sigma or mu1 = 0, where the
neuron's own sigma'(g) in the self term can make a term with c_{k+1} mu1^q = 0 nonzero.

**Verified** (tests/theory/test_two_step.py, tests/core/test_steps.py): b = c1 y (k = 0, reused)
gives c1 ||vhat_1|| exactly; Psi in closed form for ReLU; the parts tend to the leading order as
s1 -> 0 with the right order. Simulation, 6-12 seeds: relu, He1, +-1 a, N = 400 (1000), n = 2N,
(alpha1, alpha2) = (0.4, 0.3), reused batch: s1, s2(dW2) = 3.294 +- 0.052, 1.080 +- 0.029 (4.302 +-
0.062, 1.289 +- 0.032) against update_parts 3.243, 1.059 (4.291, 1.303); leading order 3.695, 1.259
(4.864, 1.512); fresh batch (N = 1000): 4.877, 1.016 against 4.864, 0.981. tanh, tanh, Gaussian a,
N = 1024, reused: He1(a), He3(a) parts 2.929 +- 0.015, 0.631 +- 0.029 against 2.918, 0.625.
At (alpha1, alpha2) = (0.4, 0.3), tanh, fresh batch, N = 512..2048 (s1 ~ 0.25-0.28) the He3(a) part
is ~35% below the leading order (0.27, 0.30, 0.34 vs 0.43, 0.46, 0.50): the higher terms
(a^5 = He5 + 10 He3 + 15 He1, ...) carry the opposite sign.

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

from ..hermite import gaussian_expectation, hermite_coefficients, hermite_constants
from .domain import require
from .first_step import DEFAULT_RESIDUAL, DEFAULT_SECOND_LAYER, RESIDUALS, SECOND_LAYERS, FirstStep, first_step
from .quadrature import HALF_RANGE, broadcast_grid, gauss_hermite, gaussian_panels, kinked_gaussian_rule, tensor_grid
from .result import Result
from .validation import (GROWING_STEP_EXPONENT, NOISE, NONNEGATIVE, POSITIVE, SIZE, UNIT, Function, Interval, Options,
                         validate_params)

BATCHES = ("fresh", "reuse")
EPS = 1e-12
VALID_RATIO = 1 / math.sqrt(2)  # largest rest / term of a term whose magnitude is reported
NEGLIGIBLE = 1e-8  # a normalised coefficient or theta* fraction below this is a zero (quadrature rounding ~1e-13)
MAX_BULK_INFLATION = 0.1  # c - 1 of step 1 beyond which the exact-in-s1 parts are refused
GRID_NODES = 40  # Gauss-Hermite nodes per direction of the sample law (exact for polynomials of degree < 80)
NOISE_NODES = 12  # Gauss-Hermite nodes of the label noise eps (y is linear in it)
A_NODES = 16  # Gauss-Hermite nodes of a Gaussian second layer
# update_theta_energy's rule: Gauss-Legendre order per panel of a (THETA_A_EDGES), then Gauss-Hermite
# nodes of g, xi, z, zeta; within 2e-3 of (3, 48, 16, 160, 16) (tests), 1e-3 of (3, 64, 16, 256, 24)
THETA_NODES = (3, 32, 12, 96, 16)
ROWS = 4096  # (u, v) pairs per block of step2_derivative
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
    """The structure; per term its magnitude and whether it carries theta* (each a value, or
    'not applicable: <reason>'), its theta* component E[y kappa^k z]; the update's parts exact in s1
    (a dict, or 'not applicable: ...'); the first step's s1, gamma1."""

    exponents: list
    new_directions: int
    outliers_including_first: int
    critical: list
    magnitudes: list
    theta_component: list
    carries_theta: list
    update_parts: "dict | str"
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


@dataclass(frozen=True)
class SampleLaw:
    """One sample of the second batch on a product Gauss-Hermite rule (weights ``w``): z = <x, theta*>,
    zeta the leave-one-out part of <x, xi> (xi the unit non-theta* part of u1 = gamma1 theta* + rho xi),
    y = g(z) + tau eps, kappa_loo = gamma1 z + rho zeta (module docstring, 'Right vectors').

    A reused batch adds self terms: <x, u1> = kappa_loo + self_kappa y and <x, xi> = zeta + self_xi y,
    self_kappa = 1/(psi2 ||vhat_1||), self_xi = 1/sqrt(psi2 E y^2); both are 0 for a fresh batch
    (and for y = 0)."""

    w: np.ndarray
    z: np.ndarray
    zeta: np.ndarray
    y: np.ndarray
    kappa_loo: np.ndarray
    psi2: float
    self_kappa: float
    self_xi: float

    @property
    def kappa(self) -> np.ndarray:
        """kappa = <x, u1> with the rank-one spike's self term (the source's power counting)."""
        return self.kappa_loo + self.self_kappa * self.y

    def right_norm2(self, b: np.ndarray) -> np.ndarray:
        """||(1/n) sum_mu b_mu x_mu||^2 in the limit, for b(sample) of shape (..., nodes):
        E[b z]^2 + (E[b zeta] + self_xi E[b y])^2 + E[b^2]/psi2 - self_xi^2 E[b y]^2."""
        w = self.w
        bz, bzeta, by, b2 = b @ (w * self.z), b @ (w * self.zeta), b @ (w * self.y), (b * b) @ w
        return np.maximum(bz**2 + (bzeta + self.self_xi * by) ** 2 + b2 / self.psi2 - (self.self_xi * by) ** 2, 0.0)


def sample_law(link, noise: float, batch: str, gamma1: float, psi2: float, vhat_norm: float,
               nodes: int = GRID_NODES, noise_nodes: int = GRID_NODES) -> SampleLaw:
    """The :class:`SampleLaw` of the second batch; the noise direction eps only when tau > 0."""
    rule = gauss_hermite(nodes)
    if noise > 0:
        (z, zeta, eps), w = tensor_grid(rule, rule, gauss_hermite(noise_nodes))
        y = link.f(z) + noise * eps
    else:
        (z, zeta), w = tensor_grid(rule, rule)
        y = link.f(z)
    kappa_loo = gamma1 * z + math.sqrt(max(1.0 - gamma1**2, 0.0)) * zeta
    ey2 = float(w @ (y * y))
    if batch == "reuse" and ey2 > 0:  # y = 0 has no self term
        return SampleLaw(w, z, zeta, y, kappa_loo, psi2, 1.0 / (psi2 * vhat_norm), 1.0 / math.sqrt(psi2 * ey2))
    return SampleLaw(w, z, zeta, y, kappa_loo, psi2, 0.0, 0.0)


@validate_params({"link": Function(), "noise": NOISE, "K": Interval(int, 0, 64), "batch": Options(BATCHES),
                  "gamma1": UNIT, "psi2": POSITIVE, "vhat_norm": POSITIVE, "nodes": Interval(int, 4, 200)})
def theta_components(link, K: int, batch: str, gamma1: float, psi2: float, vhat_norm: float, *, noise: float = 0.0,
                     nodes: int = GRID_NODES) -> np.ndarray:
    """E[y kappa^k z] for k = 0..K (the theta* component of term k's right vector; see module doc)."""
    law = sample_law(link, noise, batch, gamma1, psi2, vhat_norm, nodes)
    return np.array([float(law.w @ (law.y * law.kappa**k * law.z)) for k in range(K + 1)])


def step2_derivative(activation, u: np.ndarray, v: np.ndarray, scale: "np.ndarray | float" = 1.0) -> np.ndarray:
    """Psi(u, v) = E_g sigma'(lam g + u + v sigma'(lam g)), g ~ N(0, 1), lam = ``scale`` (> 0),
    elementwise (module docstring, 'Exact in s1'): the neuron average of sigma' at step 2, with the
    neuron's own sigma'(g) in the reuse self term v and lam^2 = 1 + (c - 1) a^2 the first step's bulk
    inflation of a fresh batch's preactivation. Composite Gauss-Legendre panels on [-9, 9], split at
    sigma's kinks and at k - u - v s for each kink k and one-sided value s of sigma' there (divided
    by lam; exact splitting for a piecewise-linear sigma). v = 0, lam = 1 gives
    F(u) = E_g sigma'(g + u) = sum_k c_{k+1} u^k / k!."""
    act = activation
    u, v, lam = np.broadcast_arrays(np.asarray(u, dtype=float), np.asarray(v, dtype=float),
                                    np.asarray(scale, dtype=float))
    kinks = np.asarray(act.kinks, dtype=float)
    sides = np.concatenate([act.df(kinks - 1e-9), act.df(kinks + 1e-9)]) if kinks.size else np.empty(0)
    shifted = np.concatenate([kinks, kinks]) if kinks.size else np.empty(0)
    base = np.linspace(-HALF_RANGE, HALF_RANGE, 37)
    uf, vf, lf, out = u.ravel(), v.ravel(), lam.ravel(), np.empty(u.size)
    for i in range(0, u.size, ROWS):
        uu, vv, ll = uf[i:i + ROWS, None], vf[i:i + ROWS, None], lf[i:i + ROWS, None]
        extra = np.concatenate([np.broadcast_to(kinks, (uu.shape[0], kinks.size)) / ll,
                                (shifted - uu - vv * sides) / ll], axis=1)
        g, wg = kinked_gaussian_rule(base, np.clip(extra, -HALF_RANGE, HALF_RANGE))
        out[i:i + ROWS] = np.sum(wg * act.df(ll * g + uu + vv * act.df(ll * g)), axis=1)
    return out.reshape(u.shape)


def _a_rule(second_layer: str) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the second layer's law: +-1 (rademacher, symmetric) or N(0, 1)."""
    if second_layer == "gaussian":
        return gauss_hermite(A_NODES)
    return np.array([1.0, -1.0]), np.array([0.5, 0.5])


def _parity_classes(activation, law: SampleLaw, fs: FirstStep, a: np.ndarray,
                    inflation: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(even k, odd k): the parts of a Psi(a s kappa_loo, a h y / psi2) odd and even in a, shape
    (len(a), nodes) -- the sums of the terms k of each parity, exact in s1 (s = sign(mu1) s1; the
    self term h y / psi2 only for a reused batch). With ``inflation`` (the caller passes it for a
    fresh batch only), the preactivation's variance is 1 + (c - 1) a^2: the first step's bulk (row i of the update is
    a_i times a vector of squared norm (c - 1), independent of a fresh batch)."""
    u = fs.sign * fs.s * a[:, None] * law.kappa_loo[None, :]
    v = a[:, None] * (fs.row_step * law.y / law.psi2)[None, :] if law.self_xi > 0 else np.zeros_like(u)
    lam = np.sqrt(1.0 + (fs.inflation - 1.0) * a * a)[:, None] if inflation else 1.0
    plus, minus = step2_derivative(activation, u, v, lam), step2_derivative(activation, -u, -v, lam)
    return a[:, None] * (plus + minus) / 2, a[:, None] * (plus - minus) / 2


def _first(activation, link, noise: float, d: int, width: int, n: int, eta1: float, alpha1: float,
           second_layer: str, residual: str) -> FirstStep:
    """Step 1 as the second step sees it: psi2, E y^2, ||vhat_1||^2, gamma1, s1 = s. Domain: the
    residual r = y at step 2 (``label``); centered and full feed the first step's change f1 - f0,
    of order N^alpha1, back into the second gradient, which these formulas do not contain."""
    require(residual == "label", f"two steps: the second-step formulas assume the residual r = y at step 2 "
                                 f"(residual 'label'); got '{residual}', whose step-2 residual contains f1 - f0")
    return first_step(activation, link, d, width, n, eta1, alpha1, noise=noise, second_layer=second_layer,
                      residual="label")


def _term_functions(activation, law: SampleLaw, fs: FirstStep, K: int) -> tuple[np.ndarray, np.ndarray]:
    """(b, c_hat): b[k] the function of the sample multiplying a^{k+1} in term k at leading order,
    and c_hat[k] = |c_{k+1}| / sqrt((k+1)! E sigma^2) in [0, 1] (coefficients below NEGLIGIBLE are 0).

    Fresh: b_k = c_{k+1} (s kappa)^k / k!. Reused: b_0 = c_1, b_1 = c_2 s kappa_loo + E[g sigma'(g)^2]/2
    h y / psi2 (the self term's coefficient E[sigma''(g) sigma'(g)], by Stein); b_k for k >= 2 is
    not computed (NaN): its self-term coefficients are E[sigma^(k+1)(g) sigma'(g)^q]."""
    hc = hermite_constants(activation)
    c = hermite_coefficients(activation, K + 1)[1:]
    c_hat = np.abs(c) / np.sqrt([math.factorial(k + 1) * hc.second_moment for k in range(K + 1)])
    c = np.where(c_hat > NEGLIGIBLE, c, 0.0)
    s = fs.sign * fs.s
    if law.self_xi == 0:
        return np.array([c[k] * (s * law.kappa_loo) ** k / math.factorial(k) for k in range(K + 1)]), c_hat
    act = activation
    self_coef = gaussian_expectation(lambda g: g * float(act.df(np.asarray(g))) ** 2, act.kinks) / 2
    self_coef = 0.0 if abs(self_coef) <= NEGLIGIBLE * (fs.var_dsigma + fs.mu1**2) else self_coef
    b = np.full((K + 1, law.w.size), np.nan)
    b[0] = c[0]
    if K >= 1:
        b[1] = c[1] * s * law.kappa_loo + self_coef * fs.row_step * law.y / law.psi2
    return b, c_hat


def _checked_magnitudes(term: np.ndarray, rest: np.ndarray, s1: float, scale: float) -> list:
    """Term k's magnitude where the expansion holds to order k in its parity class -- every nonzero
    term j <= k of the class has rest_j <= term_j / sqrt(2) + NEGLIGIBLE scale (what the truncation
    leaves out carries less than half the term's squared norm; ``scale`` is the update's size
    without cancellations, the floor for rounding) -- else "not applicable: <why>". A term whose
    coefficient is zero is exactly 0 at every N."""
    out: list = []
    failed = [False, False]
    for k in range(term.size):
        if not np.isfinite(term[k]):
            out.append(f"not applicable: with a reused batch term {k} contains powers of the self term h y "
                       f"sigma'(g) / psi2, whose coefficients E[sigma^({k + 1})(g) sigma'(g)^q] are not computed "
                       f"(see update_parts, exact in s1)")
            failed[k % 2] = True
            continue
        if term[k] == 0:
            out.append(0.0)
            continue
        failed[k % 2] = failed[k % 2] or rest[k] > VALID_RATIO * term[k] + NEGLIGIBLE * scale
        out.append(float(term[k]) if not failed[k % 2] else
                   f"not applicable: the expansion in s1 kappa fails at order {k} (what it leaves out of the "
                   f"terms of its parity, {rest[k]:.3g}, is not small against the term, {term[k]:.3g}; s1 = {s1:.3g})")
    return out


def _remainders(law: SampleLaw, classes: tuple[np.ndarray, np.ndarray], b: np.ndarray, a: np.ndarray,
                wa: np.ndarray) -> np.ndarray:
    """rest_k = sqrt(E_a ||R(y (class_p - sum_{j <= k, j = p mod 2} a^{j+1} b_j))||^2), p = k mod 2:
    the exact size of what the expansion to order k leaves out of term k's parity class (NaN where
    b_k is not computed)."""
    out = np.full(b.shape[0], np.nan)
    for p in (0, 1):
        rest = classes[p].copy()
        for k in range(p, b.shape[0], 2):
            if not np.all(np.isfinite(b[k])):
                break
            rest -= a[:, None] ** (k + 1) * b[k][None, :]
            out[k] = math.sqrt(float(wa @ law.right_norm2(law.y * rest)))
    return out


def _update_parts(law: SampleLaw, classes: tuple[np.ndarray, np.ndarray], a: np.ndarray, wa: np.ndarray,
                  fs: FirstStep, eta2_full: float, second_layer: str) -> "dict | str":
    """The low-rank parts of the step-2 update, exact in s1 (module docstring, 'Exact in s1'):
    +-1 a: the parts along a and along 1; Gaussian a: along He_j(a)/||He_j(a)||, j = 1, 2, 3."""
    if fs.inflation - 1.0 > MAX_BULK_INFLATION:
        return (f"not applicable: the first step's bulk adds c - 1 = {fs.inflation - 1.0:.3g} > "
                f"{MAX_BULK_INFLATION:g} to the step-2 preactivations, which these parts leave out")
    if second_layer != "gaussian":
        return {"a": eta2_full * math.sqrt(float(law.right_norm2(law.y * classes[0][0]))),
                "ones": eta2_full * math.sqrt(float(law.right_norm2(law.y * classes[1][0])))}
    both = classes[0] + classes[1]  # a Psi(a, .)
    return {f"he{j}": eta2_full / math.sqrt(math.factorial(j)) *
            math.sqrt(float(law.right_norm2(law.y * ((wa * hermeval(a, [0.0] * j + [1.0])) @ both)))) for j in (1, 2, 3)}


def _carries_theta(c_hat: np.ndarray, theta: np.ndarray, scale: np.ndarray, activation, fs: FirstStep,
                   batch: str) -> list:
    """Term k carries theta* when its theta* part is at least NEGLIGIBLE of the term's own scale:
    c_hat_k |E[y kappa^k z]| / sqrt(E[y^2 kappa^2k]) > NEGLIGIBLE, both factors in [0, 1]
    (Cauchy-Schwarz). With a reused batch, k >= 2, the coefficient is the rank-one spike's; for a
    kinked sigma (the self term is not analytic) or mu1 = 0 (no spike, but a self term) the answer is
    refused."""
    out: list = []
    no_spike = abs(fs.mu1) <= NEGLIGIBLE * math.sqrt(hermite_constants(activation).second_moment)
    for k in range(c_hat.size):
        if batch == "reuse" and k >= 2 and (activation.kinks or no_spike):
            why = "a kinked sigma" if activation.kinks else "mu1 = 0"
            out.append(f"not applicable: with a reused batch and {why}, term {k}'s self-term coefficients "
                       f"E[sigma^({k + 1})(g) sigma'(g)^q] are not those of the rank-one spike")
        else:
            out.append(bool(scale[k] > 0 and c_hat[k] * abs(theta[k]) / scale[k] > NEGLIGIBLE))
    return out


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
    """Per-term exponents, finite-N magnitudes (operator-norm estimates, leading order in s1) and
    theta* components (E[y kappa^k z], and whether term k carries theta*) of the second step, and the
    update's low-rank parts exact in s1 (module docstring). A magnitude is ``"not applicable: ..."``
    where the expansion in s1 kappa fails at this N or is not computed (module docstring, 'Validity').

    Domain (ValidityError outside): alpha1, alpha2 in [0, 1/2); residual ``label`` (r = y at
    both steps); the first step's domain (:func:`giantstep.theory.first_step.first_step`).
    """
    act = activation
    fs = _first(act, link, noise, d, width, n, eta1, alpha1, second_layer, residual)
    st = two_step_structure(alpha1, alpha2)
    K = len(st.exponents) - 1
    law = sample_law(link, noise, batch, fs.gamma, fs.psi2, math.sqrt(fs.vhat_norm2), noise_nodes=NOISE_NODES)
    b, c_hat = _term_functions(act, law, fs, K)
    a, wa = _a_rule(second_layer)
    a_moment = np.array([_double_factorial_odd(k + 1) if second_layer == "gaussian" else 1.0 for k in range(K + 1)])
    term = np.sqrt(a_moment * law.right_norm2(law.y * b))
    classes = _parity_classes(act, law, fs, a)
    eta2_full = eta2 * width**alpha2
    size = eta2_full * math.sqrt((fs.var_dsigma + fs.mu1**2) * fs.ey2 * (1.0 + 1.0 / fs.psi2))
    mags = _checked_magnitudes(eta2_full * term, eta2_full * _remainders(law, classes, b, a, wa), fs.s, size)
    powers = np.array([law.y * law.kappa**k for k in range(K + 1)])
    theta_c = powers @ (law.w * law.z)
    carries = _carries_theta(c_hat, theta_c, np.sqrt((powers * powers) @ law.w), act, fs, batch)
    parts = _update_parts(law, classes, a, wa, fs, eta2_full, second_layer)
    return TwoStepTerms(st.exponents, st.new_directions, st.outliers_including_first, st.critical, mags,
                        theta_c.tolist(), carries, parts, fs.s, fs.gamma, batch)


@validate_params({"activation": Function(), "link": Function(), "noise": NOISE, **STEPS,
                  "degree": Interval(int, 1, 12), "batch": Options(BATCHES), "residual": Options(RESIDUALS),
                  "nodes": Interval(int, 8, 200)})
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
    batch: str = "fresh",
    residual: str = DEFAULT_RESIDUAL,
    nodes: int = 48,
    first_step_bulk: bool = True,
) -> float:
    """||h_j^T dW2||: the step-2 update along the left direction h_j = He_j(a)/||He_j(a)||, exact in s1.

    Gaussian second layer, residual r = y (``label``); a fresh or a reused second batch (module
    docstring, 'Exact in s1'). ``degree`` j >= 1; returns the N -> infinity limit at the given
    (d, N, n) of the projection without the update's bulk (the noise that
    :func:`giantstep.spectra.left_hermite_parts` subtracts). With a fresh batch the first step's bulk
    is included: it inflates neuron i's step-2 preactivation variance to 1 + (c - 1) a_i^2, which
    weighs the rows of large |a_i| and moves the He3(a) part by +0.9% to +1.8% at C4's ladder
    (N = 512 .. 4096; measured offsets before: -0.1, +2.2, +1.7, +1.7%). A reused batch leaves it
    out (its bulk is not independent of the batch). ``first_step_bulk=False`` leaves it out everywhere
    (the expansion in s1 alone). At small steps the bulk's term is of the same order as the k = 2
    term (both O(eta1^2)): to leading order F_3 = 3 E[sigma^(3)(g)] ((c - 1) + s^2 kappa^2).
    Domain: that of :func:`two_step_terms`.

    >>> round(left_hermite_part("tanh", "tanh", 1024, 1024, 1024, 1.0, 0.4, 1.0, 0.3), 2)
    0.3
    """
    j = degree
    fs = _first(activation, link, noise, d, width, n, eta1, alpha1, "gaussian", residual)
    law = sample_law(link, noise, batch, fs.gamma, fs.psi2, math.sqrt(fs.vhat_norm2), nodes, noise_nodes=NOISE_NODES)
    a, wa = gauss_hermite(nodes)
    even, odd = _parity_classes(activation, law, fs, a, inflation=first_step_bulk and batch == "fresh")
    Fj = (wa * hermeval(a, [0.0] * j + [1.0])) @ (even + odd)  # F_j = E_a[He_j(a) a Psi(a, .)]
    return eta2 * width**alpha2 / math.sqrt(math.factorial(j)) * math.sqrt(float(law.right_norm2(law.y * Fj)))


@dataclass(frozen=True)
class ThetaEnergy(Result):
    """E||dW2 theta*||^2 of the second step's update = signal + noise + correlation (see
    :func:`update_theta_energy`); ``learned`` is the signal at the mean of the first batch's
    statistics (theta* . vhat = mu1*), the part that does not come from the O(n^{-1/2}) chance
    alignment of the first direction; ``correlation`` is the reused batch's covariance term (0 for a
    fresh batch)."""

    signal: float
    noise: float
    learned: float = 0.0
    correlation: float = 0.0

    @property
    def total(self) -> float:
        return self.signal + self.noise + self.correlation


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
    nodes: tuple[int, int, int, int, int] = THETA_NODES,
) -> ThetaEnergy:
    r"""E||(W2 - W1) theta*||^2 for a noiseless single-index teacher, exact in the first step [DER].

    Step 1 (on batch 1, r = y) moves neuron i's pre-activation on a sample x_mu by
    t1 a_i [mu1 (S z + sqrt(R) zeta) + b xi_i + (reused sample) y sigma'(g_i) / psi2],
    t1 = eta_1 / sqrt(N): S = <vhat, theta*> = (1/n) sum_nu y_nu z_nu and R = ||vhat_perp||^2 are
    the first batch's statistics (vhat = X^T y / n; on a reused sample, vhat without the sample
    itself), zeta ~ N(0, 1) the sample's coordinate along vhat_perp, b xi_i the neuron's own part of
    the update's bulk (b^2 = E y^2 Var sigma'(G) / psi2, xi_i ~ N(0, 1)), and on a reused sample
    its own label enters through the self term of vhat (<x, x> / n = 1 / psi2) with the neuron's own
    sigma'(g_i). Step 2 on a fresh or the reused batch, residual r = y (``label``) or
    r = y - (f1 - f0) = y - sqrt(N) Phi(z, zeta) (``centered``, Phi = E_{a,g,xi}[a (sigma(h) -
    sigma(g))]). The theta* coordinate of row i of the update is (eta_2 a_i / sqrt(N)) (1/n)
    sum_mu f_mu with f = r sigma'(h_i) z, so with G(a; T) = E[f] and M(a; T) = E[f^2] (over g, xi, z,
    zeta; M includes E[e^2] sigma'^2 z^2 for the centred residual) at the batch statistics T = (S, R),

        signal = eta_2^2 E_T E_a[a^2 G^2],   noise = eta_2^2 E_T E_a[a^2 (M - G^2)] / n,

        correlation = (2 eta_2^2 / n) E_a[a^2 grad_T G . Cov(f, t)]    (reused batch; 0 if fresh),

    eta_t = eta0_t N^{alpha_t}. T is a mean of per-sample terms t = (y z, y^2 / psi2) (plus, in R,
    the off-diagonal part of ||vhat_perp||^2, variance 2 (E y^2)^2 / (psi2 n)): T ~ N(T_bar, Sigma /
    n), T_bar = (mu1*, E y^2 / psi2), Sigma_SS = E[y^2 z^2] - mu1*^2, Sigma_SR = (E[y^3 z] - mu1*
    E y^2) / psi2, Sigma_RR = (Var y^2 + 2 E y^4 / d) / psi2^2 + 2 (E y^2)^2 / psi2. E_T is a
    5-point rule (:func:`_batch_rule`) on the principal axes of Sigma / n: for IE >= 2
    S is the O(n^{-1/2}) chance alignment of vhat with theta*, whose sign is random, and R moves
    by O(n^{-1/2}) relative (Var y^2 is large for He3: a 34% spread at n = 800). On a reused batch
    the same samples make both T and the step-2 average, so (1/n) sum_mu f_mu(T_{-mu}) correlates
    with T: expanding f_mu around T_bar, E[(1/n) sum f_mu (1/n) sum_lambda grad f_lambda .
    (T_{-lambda} - T_bar)] = grad F . Cov(f, t) / n, the ``correlation`` term (grad_T G by Stein's
    identity from the same rule, E[G q] = A grad G for T = T_bar + A q). The O(1/n) terms of the
    neuron's own bulk part (its norm's fluctuation, its theta* alignment) and of g's theta*
    component <w_i, theta*> z are left out: +0.1% and -0.2% of the energy in a paired simulation
    (He3, reused batch, d = 800, 300 seeds; docs/theory.md, section 9).

    For a fresh batch and information exponent >= 2 the signal vanishes at S = 0 (kappa is independent
    of z); on a reused batch the self term makes G(a) carry E[y^{j+1} z] (docs/theory.md, section 9),
    and with the ``centered`` residual the O(N^{alpha_1}) part sqrt(N) Phi, a function of the
    sample's own label, carries theta* already in the k = 0 term; the O(N^{alpha1}) centred residual
    also turns the chance alignment S into a signal of the fresh batch. ``learned`` is the signal at
    T_bar: the theta* part that a learned direction carries. Quadrature (a: Gauss-Legendre panels split
    at 0; g, xi, z, zeta: Gauss-Hermite, THETA_NODES) within 2e-3 of finer rules on C5's cells, 4e-3
    for erf, a = +-1; a kinked sigma (relu: the rule in g is 2-4% off) raises ValidityError.
    """
    act, g_link = activation, link
    require(not act.kinks, f"theta* energy: sigma must be smooth (the Gauss-Hermite rule in g does not resolve the jump "
                           f"of sigma' at a kink; '{act.name}' has kinks at {list(act.kinks)}: 2-4% error for relu)",
            hard=True)
    fs = first_step(act, g_link, d, width, n, eta1, alpha1, residual="label", second_layer=second_layer)
    t_bar, axes = _batch_statistics(g_link, int(d), int(n), fs.psi2)
    qa, qb, pq = _batch_rule(THETA_BATCH_NODES)
    args = (fs, int(width), int(n), eta1, alpha1, eta2, alpha2, batch, residual, second_layer, nodes)
    floor = 1e-3 * t_bar[1]
    grid = [_theta_terms(act, g_link, *_clip_r(t_bar + axes @ np.array([x, y]), floor), t_bar[0], *args)
            for x, y in zip(qa, qb)]
    center = grid[0]  # every rule starts at q = 0
    a2 = center.pa * center.a**2
    eta2_full = eta2 * int(width) ** alpha2
    G = np.array([t.G for t in grid])  # (points, a nodes)
    signal = eta2_full**2 * float(pq @ (G**2 @ a2))
    noise = eta2_full**2 * float(pq @ (np.array([t.M for t in grid]) - G**2) @ a2) / int(n)
    correlation = 0.0
    if batch == "reuse":
        correlation = 2.0 * eta2_full**2 * float(a2 @ _gradient_dot_covariance(G, pq, qa, qb, axes, center)) / int(n)
    return ThetaEnergy(signal, noise, eta2_full**2 * float(center.G**2 @ a2), correlation)


def _gradient_dot_covariance(G: np.ndarray, pq: np.ndarray, qa: np.ndarray, qb: np.ndarray, axes: np.ndarray,
                             center: "_ThetaTerms") -> np.ndarray:
    """grad_T G . Cov(f, t) per node of a: Stein's identity on the rule, E[G q] = A grad_T G for
    T = T_bar + A q, and Cov(f, t) = A c (it lies in the range of Sigma), so the product is E[G q] . c."""
    slope = np.einsum("k,ka,kj->aj", pq, G, np.stack([qa, qb], axis=1))
    cov_t = np.stack([center.cov_u, center.cov_w], axis=1)
    return np.sum(slope * (cov_t @ np.linalg.pinv(axes).T), axis=1)


THETA_BATCH_NODES = 3  # Gauss-Hermite nodes per principal axis of the first batch's statistics (S, R)


def _batch_rule(nodes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(q1, q2, weights) of a rule for E f(q), q ~ N(0, I_2), with q = 0 first: for 3 nodes the
    5-point rule (0, 0) weight 1/3, (+-sqrt3, 0), (0, +-sqrt3) weight 1/6 each (exact for degree 3
    and for the pure powers q_j^4, q_j^5 along each axis, like the 3-point Gauss-Hermite rule); else
    the tensor Gauss-Hermite rule of ``nodes`` per axis (odd, so that q = 0 is a node)."""
    if nodes == 3:
        r = math.sqrt(3.0)
        return np.array([0.0, r, -r, 0.0, 0.0]), np.array([0.0, 0.0, 0.0, r, -r]), np.array([1 / 3] + [1 / 6] * 4)
    if nodes % 2 == 0:
        raise ValueError(f"batch-statistics rule: an odd node count (q = 0 a node), not {nodes}")
    q1, p1 = gauss_hermite(nodes)
    (qa, qb), pq = tensor_grid((q1, p1), (q1, p1))
    first = np.argsort(np.abs(qa) + np.abs(qb), kind="stable")
    return qa[first], qb[first], pq[first]
THETA_A_EDGES = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, HALF_RANGE)


def _batch_statistics(g_link, d: int, n: int, psi2: float) -> tuple[np.ndarray, np.ndarray]:
    """T_bar = (mu1*, E y^2 / psi2) and A = (Sigma / n)^{1/2} (symmetric square root) of the first
    batch's statistics T = (<vhat, theta*>, ||vhat_perp||^2) (:func:`update_theta_energy`)."""
    zq, wq = gauss_hermite(80)
    y = g_link.f(zq)
    mu1s, ey2 = float(wq @ (y * zq)), float(wq @ y**2)
    ey4, ey3z, ey2z2 = float(wq @ y**4), float(wq @ (y**3 * zq)), float(wq @ (y * zq) ** 2)
    sigma = np.array([
        [ey2z2 - mu1s**2, (ey3z - mu1s * ey2) / psi2],
        [(ey3z - mu1s * ey2) / psi2, (ey4 - ey2**2 + 2.0 * ey4 / d) / psi2**2 + 2.0 * ey2**2 / psi2],
    ]) / n
    lam, vec = np.linalg.eigh(sigma)
    axes = (vec * np.sqrt(np.clip(lam, 0.0, None))) @ vec.T
    return np.array([mu1s, ey2 / psi2]), axes


def _clip_r(t: np.ndarray, floor: float) -> tuple[float, float]:
    """(S, R) with R = ||vhat_perp||^2 kept positive (a rule node of a heavy-tailed y^2 can fall below 0)."""
    return float(t[0]), max(float(t[1]), floor)


def _theta_a_rule(second_layer: str, order: int) -> tuple[np.ndarray, np.ndarray]:
    """The second layer's law as a rule: +-1, or for a Gaussian composite Gauss-Legendre panels
    split at 0 (G(a) behaves like |a| there, which a Gauss-Hermite rule resolves only slowly)."""
    if second_layer != "gaussian":
        return np.array([-1.0, 1.0]), np.array([0.5, 0.5])
    half = np.asarray(THETA_A_EDGES)
    return gaussian_panels(np.concatenate([-half[:0:-1], half]), order)


@dataclass(frozen=True)
class _ThetaTerms:
    """Per node of a (``a``, weights ``pa``): G = E[f], M = E[f^2 (+ spread)], Cov(f, y z) and
    Cov(f, y^2 / psi2) at given batch statistics (S, R)."""

    a: np.ndarray
    pa: np.ndarray
    G: np.ndarray
    M: np.ndarray
    cov_u: np.ndarray
    cov_w: np.ndarray


def _theta_terms(act, g_link, S: float, R: float, mu1s: float, fs: FirstStep, N: int, n: int, eta1: float,
                 alpha1: float, eta2: float, alpha2: float, batch: str, residual: str, second_layer: str,
                 nodes: tuple) -> _ThetaTerms:
    """The per-a expectations of :func:`update_theta_energy` at batch statistics (S, R).

    The grid (g, xi, z, zeta) is evaluated one node of a at a time (memory O(product of the other
    four node counts)); the centred residual's Phi(z, zeta) and its spread need the whole a axis
    first, so that residual makes two passes."""
    t1 = float(eta1) * N**alpha1 / math.sqrt(N)
    b = math.sqrt(fs.ey2 * fs.var_dsigma / fs.psi2)
    a_nodes, pa = _theta_a_rule(second_layer, nodes[0])
    (g, xi, z, ze), w = broadcast_grid(*[gauss_hermite(k) for k in nodes[1:]])  # axes: g, xi, z, zeta
    y = g_link.f(z)
    drive = fs.mu1 * (S * z + math.sqrt(R) * ze) + b * xi + (y * act.df(g) / fs.psi2 if batch == "reuse" else 0.0)
    sigma_g = act.f(g)
    r, spread = y, 0.0
    if residual == "centered":
        phi, second = 0.0, 0.0
        for a, p in zip(a_nodes, pa):
            per_neuron = a * (act.f(g + t1 * a * drive) - sigma_g)
            phi = phi + p * np.sum(w * per_neuron, axis=(0, 1), keepdims=True)
            second = second + p * np.sum(w * per_neuron**2, axis=(0, 1), keepdims=True)
        wn = np.sum(w, axis=(0, 1), keepdims=True)
        phi, spread = phi / wn, second / wn - (phi / wn) ** 2
        r = y - math.sqrt(N) * phi
    sums = np.empty((4, len(a_nodes)))
    for j, a in enumerate(a_nodes):
        ds_z = act.df(g + t1 * a * drive) * z
        f = r * ds_z
        sums[:, j] = [np.sum(w * f), np.sum(w * (r * r + spread) * ds_z**2), np.sum(w * f * y * z), np.sum(w * f * y * y)]
    G, M, fu, fy2 = sums / float(np.sum(w))
    return _ThetaTerms(a_nodes, pa, G, M, fu - G * mu1s, (fy2 - G * fs.ey2) / fs.psi2)  # Cov(f, y z), Cov(f, y^2/psi2)
