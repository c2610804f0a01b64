r"""The spectrum of the second step's update dW2 = W2 - W1 at finite N: its low-rank part, exact
in s1, its bulk edge, and where each low-rank singular value lands (docs/theory.md, section 9).

**Low-rank part** (fresh batch, residual r = y). Row i of dW2 is (eta2 a_i / sqrt(N)) (1/n)
sum_mu y_mu sigma'(h_imu) x_mu, eta2 = eta0_2 N^{alpha_2}. Its mean over the neuron's own
pre-activation is a_i Psi(a_i u_mu), u = sign(mu1) s1 kappa_loo (:func:`two_step.step2_derivative`),
so the low-rank part is L = N^{-1/2} sum_i e_i f(a_i)^T with f(a) = eta2 R(y a Psi(a u)),
R(b) = (1/n) sum_mu b_mu x_mu, and L^T L -> E_a[f(a) f(a)^T] = sum_j r_j r_j^T over an orthonormal
basis of the law of a:

  * Gaussian a: h_j = He_j(a)/sqrt(j!), r_j = eta2 R(y F_j)/sqrt(j!), F_j = E_a[He_j(a) a Psi(a u)],
    j = 0..J (J = 7);
  * a = +-1: h = a (terms k even) and 1 (k odd), r = eta2 R(y a Psi(a u)) at a = 1 split by parity.

The singular values of L are the square roots of the eigenvalues of the Gram matrix <r_j, r_l>,
with <R(b), R(b')> = E[b z] E[b' z] + E[b zeta] E[b' zeta] + E[b b'] / psi2 (two_step, 'Right
vectors'); its diagonal is ``update_parts``. The right vectors of different terms are correlated
(the same samples), so the second singular value is below the second part.

**Bulk** [DER]. The rest of the update is B = (eta2 / (n sqrt(N))) F X, F_imu = a_i y_mu
(sigma'(h_imu) - Psi(a_i u_mu)) with variance v(a_i, mu) = a_i^2 y_mu^2 V(a_i u_mu),
V(w) = Var_g sigma'(sqrt(c) g + w) (c: the first step's bulk inflation), X (n x d) the fresh batch.
The entries of F are taken independent of X (the nonlinear part of sigma'; for tanh, c2 = 0, there
is no linear part) and the profile separable, v ~ r_i t_mu / E v (r_i, t_mu its row and column
means). Then B B^T has the nonzero eigenvalues of (eta2^2 d / n^2) Q W in the n x n frame, with
Q = T^{1/2} (E^T R E / N) T^{1/2} and W = X X^T / d free, and S-transforms multiply:

    S(z) = S_T(z) S_K(z) / (1 + (n/d) z),   S_K(z) = S_RW(zn/N) (n/N)(1 + z)/(1 + zn/N),
    S_RW(z) = S_R(z) (N/n) / (1 + (N/n) z),

S_mu(z) = chi_mu(z)(1 + z)/z, chi_mu the inverse of psi_mu(t) = int t x/(1 - t x) dmu. The top
edge of the squared singular values is kappa / max_{z > 0} chi(z), chi = S z/(1 + z),
kappa = eta2^2 d / n^2 (check: a single Wishart gives (1 + sqrt(lambda))^2). The law of a enters
at the run's own N: Gaussian a through its N quantiles Phi^{-1}((i - 1/2)/N) (the largest |a_i|
set the edge: for Gaussian a the limit law has no edge).

**Outliers** (rectangular BBP through the D-transform, Benaych-Georges & Nadakuditi 2012,
arXiv 1103.2221): a low-rank singular value theta lands at x > edge solving
(1 + (n/N) z)(1 + (n/d) z) / x^2 = 1/theta^2 with chi(z) = kappa / x^2, z in (0, z*); below
theta_c^2 = kappa / ((1 + (n/N) z*)(1 + (n/d) z*) chi(z*)) it stays at the edge (check: square MP,
theta_c = 1 and x = theta + 1/theta). This treats the low-rank vectors as free from the bulk.

Regime and checks: N <= d, smooth sigma (no kinks), fresh batch, residual ``label``; the
exact-in-s1 part leaves out c - 1 (refused when c - 1 > 0.1, as ``update_parts``). The S-transform
chain agrees with direct simulation of the random-matrix model (square and rectangular shapes: the
edge lies 4-8% above the top value of a draw at N = 128-256, 2-5% at N = 512-768, the finite-N gap
of a row law whose top atoms carry mass 1/N). Against the two-step network
(tests/theory/test_update_spectrum.py; claim C4, N = d = n = 512): the low-rank positions within
1-2% (Gaussian a) and 4% (+-1); the bulk edge 1-6% low for Gaussian a, 6-11% low for +-1 (tanh:
no linear part c2 h in sigma'(h); gelu: the linear part is correlated with X, which the model
leaves out). For N > d the N pre-activations of a sample span only d dimensions, so the entries of
F are correlated across neurons: at N = 2d the edge is 8-23% above the model, and N > d is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.polynomial.hermite_e import hermeval
from scipy import optimize, special

from .bbp import rectangular
from .domain import require
from .first_step import SECOND_LAYERS
from .quadrature import gauss_hermite
from .result import Result
from .two_step import MAX_BULK_INFLATION, NOISE_NODES, STEPS, SampleLaw, _first, sample_law, step2_derivative
from .validation import NOISE, Function, Options, validate_params

GAUSS_DEGREE = 7  # J: Hermite directions h_0..h_J of a Gaussian second layer
A_NODES = 48  # Gauss-Hermite nodes over a in F_j
V_NODES = 80  # Gauss-Hermite nodes of g in V(w)
V_MAX = 36.0  # psi is inverted on t = (1 - e^{-v}) / max atom, v <= V_MAX (1 - e^{-v} < 1 in float64)


@dataclass(frozen=True)
class UpdateSpectrum(Result):
    """Low-rank singular values of dW2 (exact in s1, descending), the bulk edge, the BBP threshold
    theta_c on that bulk, and the predicted singular value of dW2 for each low-rank value (the
    edge when theta <= theta_c); the same for W2 (``w2_``: the first step's spike added, bulk W0's
    inflated by c and by dW2's bulk); s1 and c of the first step."""

    low_rank: list
    bulk_edge: float
    threshold: float
    positions: list
    w2_low_rank: list
    w2_bulk_edge: float
    w2_threshold: float
    w2_positions: list
    s1: float
    inflation: float


def _inner(law: SampleLaw, b1: np.ndarray, b2: np.ndarray) -> float:
    """<R(b1), R(b2)> by polarisation of :meth:`SampleLaw.right_norm2`."""
    return float(law.right_norm2(b1 + b2) - law.right_norm2(b1 - b2)) / 4.0


def _psi_at(activation, w: np.ndarray) -> np.ndarray:
    """Psi(w) = E_g sigma'(g + w) at every entry of ``w``: :func:`two_step.step2_derivative` tabulated
    on a grid of spacing 1e-3 covering |w| and read by linear interpolation (error ~ 1e-7 for a
    smooth sigma)."""
    reach = float(np.max(np.abs(w))) + 1e-3
    grid = np.linspace(-reach, reach, 2 * int(math.ceil(reach / 1e-3)) + 1)
    return np.interp(w, grid, step2_derivative(activation, grid, np.zeros_like(grid)))


def _a_psi(activation, law: SampleLaw, fs, a: np.ndarray) -> np.ndarray:
    """a Psi(a u) of shape (len(a), nodes), u = sign(mu1) s1 kappa_loo (fresh batch)."""
    return a[:, None] * _psi_at(activation, a[:, None] * (fs.sign * fs.s * law.kappa_loo)[None, :])


def low_rank_rows(activation, law: SampleLaw, fs, eta2_full: float, second_layer: str) -> list:
    """The functions b_j of the sample with r_j = R(b_j) (module docstring, 'Low-rank part')."""
    if second_layer == "gaussian":
        a, wa = gauss_hermite(A_NODES)
        both = _a_psi(activation, law, fs, a)
        rows = [(wa * hermeval(a, [0.0] * j + [1.0])) @ both / math.sqrt(math.factorial(j))
                for j in range(GAUSS_DEGREE + 1)]
    else:
        plus, minus = _a_psi(activation, law, fs, np.array([1.0, -1.0]))
        rows = [(plus - minus) / 2, (plus + minus) / 2]  # along a (a Psi odd in a), along 1 (even)
    return [eta2_full * law.y * r for r in rows]


def low_rank_gram(activation, law: SampleLaw, fs, eta2_full: float, second_layer: str) -> np.ndarray:
    """The Gram matrix <r_j, r_l> of the update's low-rank right vectors (module docstring)."""
    b = low_rank_rows(activation, law, fs, eta2_full, second_layer)
    return np.array([[_inner(law, bj, bl) for bl in b] for bj in b])


def _psi(atoms: np.ndarray, weights: np.ndarray, t: float) -> float:
    return float(weights @ (t * atoms / (1.0 - t * atoms)))


def s_transform(atoms: np.ndarray, weights: np.ndarray):
    """(S, z_max): S(z) of the law sum_k w_k delta(atoms_k) (atoms >= 0, not all 0) for 0 < z < z_max,
    chi(z)(1 + z)/z with chi the inverse of psi on (0, 1/max atom), found in t = (1 - e^{-v}) / max
    atom, v <= 36 (z_max = psi there)."""
    top = float(np.max(atoms))
    atoms, weights = np.asarray(atoms, float) / top, np.asarray(weights, float) / np.sum(weights)

    def S(z: float) -> float:
        v = optimize.brentq(lambda v: _psi(atoms, weights, -math.expm1(-v)) - z, 1e-300, V_MAX, xtol=1e-15)
        return -math.expm1(-v) * (1.0 + z) / z / top

    return S, _psi(atoms, weights, -math.expm1(-V_MAX))


def _derivative_moments(activation, c: float, reach: float, points: int = 1201) -> tuple[np.ndarray, ...]:
    """(w, E_g sigma'(sqrt(c) g + w), V(w) = Var_g sigma'(sqrt(c) g + w)) on a grid of ``points``
    values of w in [-reach, reach]."""
    g, wg = gauss_hermite(V_NODES)
    w = np.linspace(-reach, reach, points)
    d = activation.df(math.sqrt(c) * g[None, :] + w[:, None])
    mean = d @ wg
    return w, mean, np.maximum((d * d) @ wg - mean**2, 0.0)


def bulk_profile(activation, law: SampleLaw, fs, width: int, n: int, second_layer: str):
    """((row atoms r_i, row weights, column atoms t_mu, column weights), E v): the separable
    variance profile of F (module docstring, 'Bulk'), with a at its N quantiles (Gaussian) or +-1
    and the sample law cut at its 1 - 1/(2n) quantile, and the profile's mean."""
    if second_layer == "gaussian":
        a = special.ndtri((np.arange(width) + 0.5) / width)
    else:
        a = np.array([1.0, -1.0])
    u = fs.sign * fs.s * law.kappa_loo
    reach = float(np.max(np.abs(a)) * np.max(np.abs(u))) + 1.0
    grid, _, table = _derivative_moments(activation, fs.inflation, reach)
    prof = np.array([ai * ai * law.y**2 * np.interp(ai * u, grid, table) for ai in a])  # (rows, nodes)
    wa = np.full(a.size, 1.0 / a.size)
    mean = float(wa @ prof @ law.w)
    t, wt = _sample_quantiles(wa @ prof / math.sqrt(mean), law.w, n)
    return (prof @ law.w / math.sqrt(mean), wa, t, wt), mean


def _sample_quantiles(t: np.ndarray, w: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The column law at the run's own n: quadrature atoms above its 1 - 1/(2n) quantile (which
    n samples do not reach, as the N quantiles of a Gaussian a) are dropped, the weights renormalised."""
    order = np.argsort(t)[::-1]
    tail = np.cumsum(w[order])
    keep = order[tail - w[order] >= 0.5 / n]  # the upper tail beyond each kept atom holds >= 1/(2n)
    return t[keep], w[keep] / np.sum(w[keep])


def _chi_total(profile, width: int, d: int, n: int):
    """(chi, z_max): chi(z) of Q W in the n x n frame (module docstring, 'Bulk') for 0 < z < z_max."""
    r, wr, t, wt = profile
    (S_R, zr), (S_T, zt) = s_transform(r, wr), s_transform(t, wt)
    rN, rd = n / width, n / d

    def chi(z: float) -> float:
        zN = z * rN
        S_RW = S_R(zN) / rN / (1.0 + zN / rN)
        S_K = S_RW * rN * (1.0 + z) / (1.0 + zN)
        return S_T(z) * S_K / (1.0 + rd * z) * z / (1.0 + z)

    return chi, min(zr / rN, zt)


def bulk_and_outliers(chi, z_max: float, kappa: float, width: int, d: int, n: int,
                      thetas: np.ndarray) -> tuple[float, float, list]:
    """(edge, theta_c, positions) of the bulk with chi (squared values scaled by kappa) and the
    rectangular BBP positions of the low-rank values ``thetas`` (module docstring, 'Outliers')."""
    res = optimize.minimize_scalar(lambda lz: -chi(math.exp(lz)), bounds=(-12.0, math.log(0.999 * z_max)), method="bounded",
                                   options={"xatol": 1e-10})
    z_star = math.exp(res.x)
    chi_star = chi(z_star)
    edge = math.sqrt(kappa / chi_star)
    rN, rd = n / width, n / d

    def f(z: float, theta: float) -> float:
        return theta * theta * (1.0 + rN * z) * (1.0 + rd * z) * chi(z) / kappa - 1.0

    theta_c = math.sqrt(kappa / ((1.0 + rN * z_star) * (1.0 + rd * z_star) * chi_star))
    pos = []
    for th in thetas:
        if th <= theta_c:
            pos.append(edge)
            continue
        z = optimize.brentq(f, 1e-9 * z_star, z_star, args=(float(th),), xtol=1e-14)
        pos.append(math.sqrt(kappa / chi(z)))
    return edge, theta_c, pos


LAYERS = tuple(s for s in SECOND_LAYERS if s in ("gaussian", "rademacher"))  # the laws of a modelled here


@validate_params({"activation": Function(), "link": Function(), "noise": NOISE, **STEPS,
                  "second_layer": Options(LAYERS)})
def update_spectrum(
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
    second_layer: str = "gaussian",
) -> UpdateSpectrum:
    """Low-rank singular values of dW2 (exact in s1), its bulk edge and the BBP positions of the
    low-rank values at the given (d, N, n) (module docstring). Fresh second batch, residual r = y.

    Domain (ValidityError outside): N <= d; a smooth sigma (no kinks); the first step's bulk
    inflation c - 1 <= 0.1; those of :func:`giantstep.theory.two_step.two_step_terms`.

    >>> u = update_spectrum("tanh", "tanh", 512, 512, 512, 1.0, 0.4, 1.0, 0.3)
    >>> round(u.low_rank[0], 2), round(u.bulk_edge, 2)
    (3.14, 0.23)
    """
    require(width <= d, f"update_spectrum: the update's bulk model takes the entries of F independent across "
                        f"neurons, which fails for N > d (the N pre-activations of a sample span d dimensions: the "
                        f"edge is 8-23% above the model at N = 2d); got N = {width}, d = {d}")
    require(not activation.kinks, f"update_spectrum: sigma must be smooth (the bulk variance V(w) is taken by "
                                  f"Gauss-Hermite quadrature); '{activation.name}' has kinks at {activation.kinks}")
    fs = _first(activation, link, noise, d, width, n, eta1, alpha1, second_layer, "label")
    require(fs.inflation - 1.0 <= MAX_BULK_INFLATION,
            f"update_spectrum: the first step's bulk adds c - 1 = {fs.inflation - 1.0:.3g} > {MAX_BULK_INFLATION:g} "
            f"to the step-2 preactivations, which the exact-in-s1 part leaves out")
    law = sample_law(link, noise, "fresh", fs.gamma, fs.psi2, math.sqrt(fs.vhat_norm2), noise_nodes=NOISE_NODES)
    eta2_full = eta2 * width**alpha2
    gram = low_rank_gram(activation, law, fs, eta2_full, second_layer)
    thetas = _singular_values(gram)
    profile, mean = bulk_profile(activation, law, fs, width, n, second_layer)
    chi, z_max = _chi_total(profile, width, d, n)
    kappa = eta2_full**2 * d / n**2  # the 1/N of B and the N of K cancel
    edge, theta_c, pos = bulk_and_outliers(chi, z_max, kappa, width, d, n, thetas)
    w2 = _singular_values(weights_gram(activation, law, fs, gram, eta2_full, width, second_layer))
    variance = fs.inflation + eta2_full**2 * mean * d / (n * width)  # d x entry variance of W2's bulk
    w2_edge, w2_theta_c, w2_pos = weights_outliers(variance, width, d, w2)
    return UpdateSpectrum(thetas.tolist(), edge, theta_c, pos, w2.tolist(), w2_edge, w2_theta_c, w2_pos,
                          fs.s, fs.inflation)


MODEL_PARTS = ("update", "low_rank", "bulk")


@dataclass(frozen=True)
class ModelDraws(Result):
    """Top singular values of the update's random-matrix model over independent draws: their mean,
    standard error and the number of draws (:func:`model_singular_values`)."""

    mean: list
    stderr: list
    draws: int
    part: str


@validate_params({"activation": Function(), "link": Function(), **STEPS, "noise": NOISE,
                  "second_layer": Options(LAYERS), "part": Options(MODEL_PARTS)})
def model_singular_values(
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
    second_layer: str = "gaussian",
    draws: int = 16,
    seed: int = 0,
    top: int = 3,
    part: str = "update",
) -> ModelDraws:
    r"""Top ``top`` singular values of the random-matrix model of dW2 at the run's own (d, N, n),
    averaged over ``draws`` independent draws (generator seeded by ``seed``) [DER: the model of the
    module docstring, simulated].

    One draw: a fresh batch X (n x d, N(0, 1) entries; z = X e_1 = <x, theta*>, zeta = X e_2 the
    non-theta* part of the first direction, kappa = gamma1 z + rho zeta, y = g(z) + tau eps), the
    second layer a (N(0, 1) or +-1) and

        dW2 = eta2 / (n sqrt(N)) (A + F) X,   A_imu = a_i y_mu Psi(a_i u_mu),
        F_imu = a_i y_mu (sigma'(sqrt(c) g_imu + a_i u_mu) - E_g sigma'(sqrt(c) g + a_i u_mu)),

    u = sign(mu1) s1 kappa and g_imu ~ N(0, 1) independent of X: the exact-in-s1 mean part (whose
    limit singular values are ``update_spectrum(...).low_rank``) plus the bulk B with the variance
    v(a_i, mu) of the module docstring, entry by entry (no separable approximation). ``part``
    selects A X ('low_rank'), F X ('bulk') or their sum ('update').

    Why simulate: the landing formula of :func:`update_spectrum` treats the low-rank vectors as free
    from the bulk. For Gaussian a they are not: the k = 1 term's left vector ~ a_i^2 lives on the rows
    whose bulk variance a_i^2 V(a_i u) is largest, so the bulk pushes it further than the free
    formula says (gelu network, tanh teacher, N = d = n = 2048, (alpha1, alpha2) = (0.25, 0.1):
    theta = 0.0761, free landing 0.0788, this model 0.0832 +- 0.0006 (16 draws), the network 0.0853 +- 0.0008).
    Regime: that of :func:`update_spectrum` (fresh batch, residual r = y, smooth sigma, c - 1 <= 0.1);
    cost per draw one (N x n) x (n x d) product and one top-k eigensolve of the Gram matrix."""
    from ..linalg import top_singular

    require(not activation.kinks, f"model_singular_values: sigma must be smooth; '{activation.name}' has kinks "
                                  f"at {activation.kinks}")
    require(draws >= 2 and 1 <= top <= min(width, d), f"model_singular_values: need draws >= 2 and 1 <= top <= "
                                                      f"min(N, d); got draws = {draws}, top = {top}")
    fs = _first(activation, link, noise, d, width, n, eta1, alpha1, second_layer, "label")
    require(fs.inflation - 1.0 <= MAX_BULK_INFLATION,
            f"model_singular_values: the first step's bulk adds c - 1 = {fs.inflation - 1.0:.3g} > "
            f"{MAX_BULK_INFLATION:g}, which the exact-in-s1 mean part leaves out")
    rng = np.random.default_rng(seed)
    rho = math.sqrt(max(1.0 - fs.gamma**2, 0.0))
    scale = eta2 * width**alpha2 / (n * math.sqrt(width))
    values = []
    for _ in range(draws):
        X = rng.standard_normal((n, d))
        y = link.f(X[:, 0]) + (noise * rng.standard_normal(n) if noise > 0 else 0.0)
        a = rng.standard_normal(width) if second_layer == "gaussian" else rng.choice([-1.0, 1.0], width)
        w = a[:, None] * (fs.sign * fs.s * (fs.gamma * X[:, 0] + rho * X[:, 1]))[None, :]
        M = np.zeros((width, n))
        if part != "bulk":
            M += _psi_at(activation, w)
        if part != "low_rank":
            reach = float(np.max(np.abs(w))) + 1e-3
            grid, mean_c, _ = _derivative_moments(activation, fs.inflation, reach, 2 * int(math.ceil(reach / 1e-3)) + 1)
            M += activation.df(math.sqrt(fs.inflation) * rng.standard_normal((width, n)) + w) - np.interp(w, grid, mean_c)
        M *= a[:, None] * y[None, :]
        values.append(top_singular(scale * (M @ X), top).s)
    v = np.array(values)
    return ModelDraws(v.mean(axis=0).tolist(), (v.std(axis=0, ddof=1) / math.sqrt(draws)).tolist(), draws, part)


def _singular_values(gram: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(np.sort(np.linalg.eigvalsh(gram))[::-1], 0.0))


def weights_gram(activation, law: SampleLaw, fs, gram: np.ndarray, eta2_full: float, width: int,
                 second_layer: str) -> np.ndarray:
    """The Gram matrix of W2's low-rank right vectors: the update's (``gram``) with the first
    step's spike sign(mu1) s1 sqrt(N) u1 added along a (h_1 for Gaussian a, the first direction for
    +-1), <u1, R(b)> = gamma1 E[b z] + rho E[b zeta] (fresh batch)."""
    rows = low_rank_rows(activation, law, fs, eta2_full, second_layer)
    rho = math.sqrt(max(1.0 - fs.gamma**2, 0.0))
    p = np.array([fs.gamma * float(law.w @ (b * law.z)) + rho * float(law.w @ (b * law.zeta)) for b in rows])
    e = np.zeros(len(rows))
    e[1 if second_layer == "gaussian" else 0] = 1.0
    spike = fs.sign * fs.s * math.sqrt(width)
    return gram + spike * (np.outer(e, p) + np.outer(p, e)) + spike**2 * np.outer(e, e)


def weights_outliers(variance: float, width: int, d: int, thetas: np.ndarray) -> tuple[float, float, list]:
    """(edge, theta_c, positions) of W2: a Marchenko-Pastur bulk of entry variance ``variance`` / d
    (W0's, inflated by the first step's c and by dW2's bulk) under the low-rank values ``thetas``
    (rectangular BBP, :func:`giantstep.theory.bbp.rectangular`)."""
    scale = math.sqrt(variance * max(width / d, 1.0))  # entry variance scale^2 / (larger dimension)
    aspect = min(width, d) / max(width, d)
    out = [scale * rectangular(aspect, float(t) / scale).top for t in thetas]
    return scale * (1.0 + math.sqrt(aspect)), scale * aspect**0.25, out
