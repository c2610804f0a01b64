r"""Spiked random features (sRF): parameters from one maximal step and the ridge test error.

Model (Cui et al. 2024, arXiv 2402.04980; Dandi et al. 2024, arXiv 2410.18938; docs/theory.md,
section 8): after one step with eta = eta0 sqrt(N) (alpha = 1/2, convention P, f0 removed), the
first layer is W1 ~ sqrt(c) W0' + r a v^T with the step-1 quantities of
:mod:`giantstep.theory.first_step` at the row step h = eta0 (:func:`srf_parameters`):

    r     = eta0 |mu1| sqrt(mu1*^2 + E[y^2]/psi2)                    (spike per row, >= 0)
    gamma = mu1* / sqrt(mu1*^2 + E[y^2]/psi2)                         (<v, theta*>)
    c     = 1 + eta0^2 E[y^2] Var(sigma'(G)) / psi2                    (bulk inflation)

where psi2 = n0/d for the first batch. The first upload of the authors' companion notebook (Feb
2024) multiplied the last term of c by an extra mu1^2; the authors removed it in May 2024 and the
current notebook agrees with this c, which a simulated step confirms (tests/theory/test_srf.py).
Features phi_i(x) = sigma(sqrt(c)<w_i, x> + r kappa), kappa = <v, x>, unit rows w_i, p = N = d;
teacher y = g(<theta*, x>) (+ tau eps) with theta* = gamma v + rho xi; readout
yhat = b + sum_i a_i phi_i / sqrt(p) with (a, b) = argmin sum_mu (y_mu - yhat(x_mu))^2 + lam ||a||^2
on n = n_over_d * d fresh samples: the intercept b is not penalised, as in the simulator's
readout (:mod:`giantstep.readout` centres features and labels with the training means, which is
the same estimator); the simulator's ridge is lam / n_over_d. ``intercept=False`` describes the
readout without b (the paper's model and the ``rf`` kind).

Test error (against the noiseless target) from the fixed point in the order parameters
(q1, q2, V1, V2, t, psi, m, b), with conditional coefficients
mu0(kappa) = E_z sigma(r kappa + sqrt(c) z), mu1(kappa) = E_z[z sigma(.)]/sqrt(c),
mu2(kappa)^2 = E_z sigma(.)^2 - mu0^2 - c mu1^2 and teacher moments h, h1, hh:

    E = E_kappa[hh - 2 C h - 2 mu1 psi h1 + C^2 + mu1^2 q1 + mu2^2 q2],   C = mu0 m + b + mu1 kappa t.

**Intercept.** C(kappa) is the part of the prediction that is a function of kappa alone. The
directions the readout fits without penalty -- the intercept (the constant function) and, for
lam << n E[mu0^2], the mean mode m = sum_i a_i / sqrt(p) (the function mu0(kappa)) -- enter only
through C, and the training energy is stationary in each: E_kappa[f (h - C) / (1 + V(kappa))] = 0
for f = 1 and f = mu0, V = mu1^2 V1 + mu2^2 V2. So (m, b) is the weighted least-squares fit of
h - mu1 kappa t by {mu0(kappa), 1} with weights 1/(1 + V(kappa)) (without the intercept: by mu0
alone, the equation of the paper). A teacher mean mu0* = E g is what b carries: without b, a
link with mu0* != 0 (relu, |z|) leaves its mean to the features, and for an odd sigma at r = 0
(mu0(kappa) = 0) nothing fits it. At r = 0, c = 1, mu0(kappa) is the constant mu0 and the fit is
b + mu0 m = mu0*: the error is Mei-Montanari's with F*^2 = E g^2 - mu0*^2 - mu1*^2 (with the
intercept) or E g^2 - mu1*^2 (without it, for an odd sigma), exactly (tested).

**Spectral inputs, computed deterministically.** The equations need averages over the
eigenpairs of Omega = c W Pi W^T (Pi = I - v v^T) of D_k, F_k = c d (u_k^T W v)^2 and
H_k = c d (u_k^T W xi)^2, and enter only through averages linear in F_k and H_k. For W with
i.i.d. isotropic rows, W v is independent of W Pi, so E[F_k | D] = c; and u_k^T W xi =
sqrt(D_k/c) <r_k, xi> with r_k Haar, so E[H_k | D] = D_k. The law of D is c * MP(p/d), whose
averages are computed by Gauss-Legendre quadrature (:func:`giantstep.theory.mp.mp_quadrature`).
No random matrix is sampled.

**Quadrature, with an accuracy check.** The (kappa, z) integrals use composite Gauss-Legendre
panels times the Gaussian density on [-9, 9]: in kappa of width <= min(1, sqrt(c)/r) (the scale on
which the coefficients vary), in z of width <= min(1, 1/sqrt(c)) and split, for each
kappa node, at the kinks of sigma(r kappa + sqrt(c) z) and g(gamma kappa + rho z). The moments of
the coefficients that enter the equations are computed at three resolutions (panel widths in
ratio 2/3); unless they agree to 1e-7 the input is refused (ValidityError: at eta0 = 1e8, c ~ 1e14
and no rule resolves sigma(sqrt(c) z)). The solve uses the finest of the three.

**Domain** (ValidityError outside; ``allow_outside`` computes anyway, except the quadrature):
  * sigma odd (sigma(-z) = -sigma(z)): the network's +-1 second layer acts as a_i = 1, the model
    of the equations, only then (by a_i sigma(u) = sigma(a_i u)); for a non-odd sigma the
    equations describe a second layer a_i = 1, which the simulator does not run;
  * p = d (psi1 = 1, built in), lam > 0;
  * the mean mode m is unpenalised in the equations, which holds when lam << n E[mu0(kappa)^2]
    (with the intercept, n Var_kappa(mu0(kappa)): the intercept carries the constant part):
    checked as lam <= 0.01 n E[mu0^2] (the mean mode shrunk by < 1%) when ``d`` is given
    (n = n_over_d d); without ``d`` the limit n -> inf is assumed.
Label noise tau enters the training energy (hh -> hh + tau^2 in the conjugate updates) and not
the test error. sigma -> -sigma leaves the error unchanged (a_i -> -a_i, m, t, psi -> -m, -t, -psi; b is unchanged).

Solver: damped iteration (damping 1/2, halved when the change stops decreasing; start
(0.1, 0.2, 3, 3, 0.5, 0.5, 1.5, 0) as in the public code, b = 0), stopped when the relative change is below
``tol``; if it is not reached within ``max_iter``, Powell's hybrid method on update(x) - x from the
last iterate. The result reports the method that answered, the damped iterations actually used,
the root finder's evaluations and the final relative change (``solver_residual``); when neither converges,
:class:`~giantstep.errors.DivergenceError` is raised.

Regime: proportional limit. Reduces to Mei-Montanari with psi1 = 1, psi2 = n_over_d,
lambda_MM = lam / n_over_d when r = 0, c = 1 (tested, for odd, even and non-centred links). The
test error barely depends on c: at tanh/tanh, eta0 = 3, psi2 = 2, lam = 0.1 the notebook's first
c = 1.0635 instead of 1.1731 moves it by -0.2% to -0.8% for n_over_d = 0.5 to 8 (c = 1: -0.4% to
-1.2%), so test-error comparisons do not test c; the feature spectrum does
(:mod:`giantstep.theory.feature_spectrum`). The picture bulk = sqrt(c) x an isotropic matrix is
exact as psi2 -> inf (the proof of Dandi et al. is for large batches) and degrades as c - 1 grows:
at eta0 = 5, psi2 = 1 (c = 1.96) the network's error is 6% above the sRF's (docs/theory.md,
section 8).

Example
-------
>>> res = srf_test_error("tanh", "tanh", r=1.3647, c=1.1731, gamma=0.8065, n_over_d=2.0, lam=0.1)
>>> res.converged, res.method
(True, 'damped iteration')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import optimize

from ..activations import Activation
from ..errors import DivergenceError
from .domain import is_odd, require
from .first_step import first_step_from_moments, teacher_moments
from .mp import mp_quadrature
from .quadrature import (HALF_RANGE, gauss_hermite, gaussian_panels, kink_edges, kinked_gaussian_rule,
                         refine_until_stable)
from .result import Result
from .validation import NOISE, NONNEGATIVE, POSITIVE, RATIO, RIDGE, SIZE, UNIT, Boolean, Function, Interval, Optional, validate_params

MU0_FLOOR = 1e-20  # E mu0(kappa)^2 below this (relative) means no mean feature: m = 0
START = (0.1, 0.2, 3.0, 3.0, 0.5, 0.5, 1.5, 0.0)
RESOLUTIONS = (1.0, 1.5, 2.25, 3.375, 5.0625)  # panel densities of the accuracy check
MAX_GRID = 20_000_000  # (kappa, z) nodes of the finest rule tried
CHUNK = 400_000  # (kappa, z) nodes evaluated at once
QUADRATURE_RTOL = 1e-7
MEAN_MODE_FRACTION = 0.01


@dataclass(frozen=True)
class SRFParameters(Result):
    """(r, gamma, c) of the spiked random-features model and ||vhat||^2 they came from."""

    r: float
    gamma: float
    c: float
    vhat_norm2: float


@dataclass(frozen=True)
class SRFResult(Result):
    """Test error and an honest solver report (module docstring)."""

    test_error: float
    converged: bool
    method: str
    iterations: int
    root_evaluations: int
    solver_residual: float
    final_damping: float
    kappa_nodes: int
    z_nodes: int
    order_parameters: dict


@dataclass(frozen=True)
class _Coefficients:
    """Conditional coefficients on the kappa nodes (weights wk) and the teacher's moments."""

    kap: np.ndarray
    wk: np.ndarray
    mu0: np.ndarray
    mu1: np.ndarray
    mu2sq: np.ndarray
    h: np.ndarray
    h1: np.ndarray
    hh: np.ndarray
    z_nodes: int

    def moments(self) -> np.ndarray:
        """The kappa-averages the fixed point is built from (compared across resolutions)."""
        w, k, m0, m1, m2 = self.wk, self.kap, self.mu0, self.mu1, self.mu2sq
        return np.array([w @ m0**2, w @ m1**2, w @ m2, w @ m1**4, w @ m2**2, w @ (m1**2 * m2), w @ (m0 * self.h),
                         w @ (k * m1 * self.h), w @ (m1 * self.h1), w @ self.hh, w @ (m0 * m1 * k), w @ (m1 * k) ** 2])


@validate_params({"activation": Function(), "link": Function(), "noise": NOISE, "eta0": NONNEGATIVE,
                  "psi2": RATIO})
def srf_parameters(activation, link, eta0: float, psi2: float, *, noise: float = 0.0) -> SRFParameters:
    """(r, gamma, c) from a one-step network at alpha = 1/2 (eta = eta0 sqrt(N)), f0 removed: the
    step-1 quantities (s, gamma, c) of :mod:`giantstep.theory.first_step` at the row step h = eta0
    (domain: that of first_step).

    ||vhat||^2 = mu1*^2 + E[y^2]/psi2, r = eta0 |mu1| ||vhat||, gamma = mu1*/||vhat||,
    c = 1 + eta0^2 E[y^2] Var(sigma')/psi2 (docs/theory.md, section 8: the bulk inflation without
    the extra mu1^2 of the notebook's first upload).
    """
    fs = first_step_from_moments(activation, teacher_moments(link, noise), psi2, eta0, residual="label")
    return SRFParameters(fs.s, fs.gamma, fs.inflation, fs.vhat_norm2)


@dataclass(frozen=True)
class ConditionalCoefficients(Result):
    """Coefficients of sigma(r kappa + sqrt(c) z) given kappa, on Gauss-Hermite nodes in kappa.

    mu0 = E_z sigma(.), mu1 = E_z[z sigma(.)]/sqrt(c), mu2sq = E_z sigma(.)^2 - mu0^2 - c mu1^2,
    he2 = E_z[(z^2 - 1) sigma(.)] (= c E_z sigma''(.)); ``weights`` sum to 1 (E_kappa = weights @ .).
    """

    kappa: np.ndarray
    weights: np.ndarray
    mu0: np.ndarray
    mu1: np.ndarray
    mu2sq: np.ndarray
    he2: np.ndarray


CONDITIONAL_PANEL_DENSITY = 4.0  # z panels per unit of the activation's scale (kinked activations)


@validate_params({"activation": Function(), "r": NONNEGATIVE, "c": POSITIVE, "nk": SIZE, "nz": SIZE})
def conditional_coefficients(activation, r: float, c: float, nk: int = 101, nz: int = 81) -> ConditionalCoefficients:
    """The conditional coefficients of docs/theory.md, section 8 on nk Gauss-Hermite nodes in kappa. The z-average
    is Gauss-Hermite (nz nodes) for a smooth sigma and, for a kinked one (ReLU, |.|), the panel rule
    of the test error split at each node's kinks z = (k - r kappa)/sqrt(c): Gauss-Hermite across a
    kink errs by ~1e-4, which is 1% of mu2^2 for ReLU."""
    kap, wk = gauss_hermite(nk)
    sc = math.sqrt(c)
    if activation.kinks:
        z, wz = kinked_gaussian_rule(_panels(min(1.0, 1.0 / sc), CONDITIONAL_PANEL_DENSITY),
                        kink_edges(activation.kinks, r * kap, sc))
    else:
        z1, w1 = gauss_hermite(nz)
        z, wz = np.broadcast_to(z1, (nk, nz)), np.broadcast_to(w1, (nk, nz))
    S = activation.f(r * kap[:, None] + sc * z)
    mu0 = np.sum(S * wz, axis=1)
    mu1 = np.sum(S * z * wz, axis=1) / sc
    mu2sq = np.maximum(np.sum(S * S * wz, axis=1) - mu0**2 - c * mu1**2, 0.0)
    he2 = np.sum(S * (z * z - 1.0) * wz, axis=1)
    return ConditionalCoefficients(kap, wk, mu0, mu1, mu2sq, he2)


def _panel_count(width: float, density: float) -> float:
    return max(math.ceil(2 * HALF_RANGE * density / width), 2)


def _panels(width: float, density: float, kinks=()) -> np.ndarray:
    base = np.linspace(-HALF_RANGE, HALF_RANGE, int(_panel_count(width, density)) + 1)
    return np.unique(np.concatenate([base, np.clip(np.asarray(kinks, dtype=float), -HALF_RANGE, HALF_RANGE)]))


def _z_averages(act: Activation, link: Activation, kap: np.ndarray, r: float, c: float, gamma: float,
                base: np.ndarray) -> np.ndarray:
    """(6, len(kap)): E_z of sigma, z sigma, sigma^2 at sqrt(c) z + r kappa and of g, z g, g^2 at
    rho z + gamma kappa, on the per-kappa z rule split at the kinks."""
    sc, rho = math.sqrt(c), math.sqrt(max(1.0 - gamma * gamma, 0.0))
    extra = np.concatenate([kink_edges(act.kinks, r * kap, sc), kink_edges(link.kinks, gamma * kap, rho)], axis=1)
    z, wz = kinked_gaussian_rule(base, extra)
    S = act.f(r * kap[:, None] + sc * z)
    T = link.f(gamma * kap[:, None] + rho * z)
    return np.stack([np.sum(wz * S, axis=1), np.sum(wz * S * z, axis=1), np.sum(wz * S * S, axis=1),
                     np.sum(wz * T, axis=1), np.sum(wz * T * z, axis=1), np.sum(wz * T * T, axis=1)])


def _coefficients(act: Activation, link: Activation, r: float, c: float, gamma: float, density: float) -> _Coefficients:
    """Coefficients on the kappa rule at panel ``density`` (module docstring, 'Quadrature'),
    evaluated in chunks of kappa nodes (memory O(CHUNK))."""
    sc = math.sqrt(c)
    width_k, width_z = min(1.0, sc / max(r, 1e-300)), min(1.0, 1.0 / sc)
    kinks = len(act.kinks) + len(link.kinks)
    require(64.0 * (_panel_count(width_k, density) + kinks) * (_panel_count(width_z, density) + kinks) <= MAX_GRID,
            f"srf quadrature: sigma(r kappa + sqrt(c) z) at r = {r:.3g}, c = {c:.3g} needs more than "
            f"{MAX_GRID} nodes (the step is too large to resolve)", hard=True)
    kappa_kinks = [k / gamma for k in link.kinks] if gamma > 0 else []
    kap, wk = gaussian_panels(_panels(width_k, density, kappa_kinks))
    base = _panels(width_z, density)
    z_count = 8 * (base.size - 1 + kinks)
    rows = max(1, CHUNK // z_count)
    A = np.concatenate([_z_averages(act, link, kap[i:i + rows], r, c, gamma, base) for i in range(0, kap.size, rows)],
                       axis=1)
    mu1 = A[1] / sc
    mu2sq = np.maximum(A[2] - A[0] ** 2 - c * mu1**2, 0.0)
    return _Coefficients(kap, wk, A[0], mu1, mu2sq, A[3], A[4], A[5], z_count)


def _resolved_coefficients(act, link, r, c, gamma) -> _Coefficients:
    """The coefficients at the finest of three resolutions whose moments agree (or ValidityError)."""
    found: dict[float, _Coefficients] = {}

    def evaluate(density: float) -> np.ndarray:
        found[density] = _coefficients(act, link, r, c, gamma, density)
        return found[density].moments()

    what = f"the sRF coefficients of sigma(r kappa + sqrt(c) z) at r = {r:.3g}, c = {c:.3g}"
    _, density = refine_until_stable(evaluate, RESOLUTIONS, QUADRATURE_RTOL, what)
    return found[density]


def _unpenalised_modes(co: _Coefficients, intercept: bool) -> tuple[tuple[str, ...], np.ndarray]:
    """The functions of kappa the readout fits without penalty, named by their coefficient: "b"
    (the constant: the intercept) and "m" (the mean mode mu0(kappa)) when it is not already spanned
    (module docstring, 'Intercept'). A mode whose part orthogonal to the constant (in E_kappa) is
    below MU0_FLOOR of the features' energy is dropped: at r = 0, mu0(kappa) is the constant mu0."""
    w = co.wk
    energy = float(w @ (co.mu0**2 + co.mu1**2 + co.mu2sq))
    names, modes = (("b",), [np.ones_like(co.kap)]) if intercept else ((), [])
    rest = co.mu0 - float(w @ co.mu0) if intercept else co.mu0
    if float(w @ rest**2) > MU0_FLOOR * energy:
        names, modes = names + ("m",), modes + [co.mu0]
    return names, np.array(modes).reshape(len(modes), co.kap.size)


def _fit_modes(modes: np.ndarray, target: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Coefficients of the weighted least-squares fit of ``target`` by the ``modes``: the
    stationarity of the training energy in the unpenalised directions, E[w f_j (h - C)] = 0."""
    if modes.shape[0] == 0:
        return np.zeros(0)
    return np.linalg.solve((modes * weight) @ modes.T, (modes * weight) @ target)


def _update_map(co: _Coefficients, D: np.ndarray, wx: np.ndarray, n_over_d: float, lam: float, c: float,
                hh_train: np.ndarray, intercept: bool) -> Callable[[np.ndarray], np.ndarray]:
    """The fixed-point map on (q1, q2, V1, V2, t, psi, m, b) (module docstring)."""
    kap, wk, mu0, mu1, mu2sq, h, h1 = co.kap, co.wk, co.mu0, co.mu1, co.mu2sq, co.h, co.h1
    names, modes = _unpenalised_modes(co, intercept)
    a = n_over_d

    def update(state: np.ndarray) -> np.ndarray:
        q1, q2, V1, V2, t, ps, m, b = state
        one_v = 1.0 + mu1**2 * V1 + mu2sq * V2
        C = mu0 * m + b + mu1 * kap * t
        eps = hh_train - 2 * C * h - 2 * mu1 * ps * h1 + C**2 + mu1**2 * q1 + mu2sq * q2
        q1h, q2h = a * np.sum(wk * mu1**2 * eps / one_v**2), a * np.sum(wk * mu2sq * eps / one_v**2)
        V1h, V2h = a * np.sum(wk * mu1**2 / one_v), a * np.sum(wk * mu2sq / one_v)
        th, psh = a * np.sum(wk * kap * mu1 * (h - C) / one_v), a * np.sum(wk * mu1 * h1 / one_v)
        S = lam + V1h * D + V2h
        M = q1h * D + q2h + th**2 * c + psh**2 * D  # E[M | D]: F -> c, H -> D
        avg_inv, avg_d = np.sum(wx / S), np.sum(wx * D / S)
        t_new = th * c * avg_inv
        fit = dict(zip(names, _fit_modes(modes, h - mu1 * kap * t_new, wk / one_v)))
        return np.array([np.sum(wx * D * M / S**2), np.sum(wx * M / S**2), avg_d, avg_inv, t_new, psh * avg_d,
                         fit.get("m", 0.0), fit.get("b", 0.0)])

    return update


def _relative_change(new: np.ndarray, old: np.ndarray) -> float:
    """max |new - old| / |old|, with |old| floored at 1e-6 of the state's scale: an order parameter
    that is exactly 0 by symmetry (t for an even teacher part) converges in absolute terms instead
    of chasing its rounding noise."""
    floor = 1e-6 * max(1.0, float(np.max(np.abs(old))))
    return float(np.max(np.abs(new - old) / np.maximum(np.abs(old), floor)))


def _damped_iteration(update, damping: float, tol: float, max_iter: int) -> tuple[np.ndarray, int, float, float]:
    """(state, iterations used, last relative change, final damping); shrinks the damping when the
    change stops decreasing (oscillation)."""
    state = np.array(START, dtype=float)
    rate, change, best, stall = damping, math.inf, math.inf, 0
    for it in range(1, max_iter + 1):
        new = update(state)
        if not np.all(np.isfinite(new)):
            raise DivergenceError("sRF fixed point produced non-finite order parameters")
        change = _relative_change(new, state)
        if change < tol:
            return new, it, change, rate
        if change < best:
            best, stall = change, 0
        else:
            stall += 1
            if stall >= 5 and rate > 1e-3:
                rate, stall = rate * 0.5, 0
        state = rate * new + (1.0 - rate) * state
    return state, max_iter, change, rate


def _root_polish(update, state: np.ndarray) -> tuple[np.ndarray, float, int] | None:
    """Powell hybrid root of update(x) - x from ``state``: (root, residual, evaluations) or None."""
    sol = optimize.root(lambda x: update(x) - x, state, method="hybr", options={"xtol": 1e-13, "maxfev": 20000})
    if not (sol.success and np.all(np.isfinite(sol.x)) and sol.x[2] > 0 and sol.x[3] > 0):
        return None
    res = _relative_change(update(sol.x), sol.x)
    return (sol.x, res, int(sol.nfev)) if res < 1e-8 else None


def _require_unpenalised_mean_mode(co: _Coefficients, lam: float, n: float, intercept: bool) -> None:
    """lam << n Var_kappa(mu0) (E_kappa mu0^2 without an intercept): the part of the mean mode the
    intercept does not carry is treated as unpenalised (module docstring, 'Domain')."""
    e0mu = float(co.wk @ co.mu0**2) - (float(co.wk @ co.mu0) ** 2 if intercept else 0.0)
    what = "Var_kappa(mu0(kappa))" if intercept else "E[mu0(kappa)^2]"
    require(lam <= MEAN_MODE_FRACTION * n * e0mu or e0mu <= MU0_FLOOR,
            f"srf: the mean mode is unpenalised only for lam << n {what}; got lam = {lam:g} > "
            f"{MEAN_MODE_FRACTION:g} x {n:g} x {e0mu:.3g}")


def _solve(update, damping: float, tol: float, max_iter: int, fallback: bool):
    """(state, method, damped iterations, root evaluations, final relative change, final damping)."""
    state, iterations, change, rate = _damped_iteration(update, damping, tol, max_iter)
    if change < tol:
        return state, "damped iteration", iterations, 0, change, rate
    polished = _root_polish(update, state) if fallback else None
    if polished is None:
        raise DivergenceError(f"sRF fixed point did not converge: {iterations} damped iterations (last relative "
                              f"change {change:.2e}) and the hybrid root finder {'failed' if fallback else 'was not used'}")
    state, change, evaluations = polished
    return state, "damped iteration + hybr", iterations, evaluations, change, rate


@validate_params({"activation": Function(), "link": Function(), "r": NONNEGATIVE, "c": POSITIVE, "gamma": UNIT,
                  "n_over_d": RATIO, "lam": RIDGE, "noise": NOISE, "d": Optional(SIZE), "intercept": Boolean(),
                  "damping": Interval(float, 0, 1, closed="right"), "tol": Interval(float, 1e-15, 1e-3),
                  "max_iter": Interval(int, 1, 10**6), "nodes": Interval(int, 16, 20000), "fallback": Boolean()})
def srf_test_error(
    activation,
    link,
    r: float,
    c: float,
    gamma: float,
    n_over_d: float,
    lam: float,
    *,
    noise: float = 0.0,
    d: int | None = None,
    intercept: bool = True,
    damping: float = 0.5,
    tol: float = 1e-10,
    max_iter: int = 1000,
    nodes: int = 200,
    fallback: bool = True,
) -> SRFResult:
    """Asymptotic ridge test error of the sRF model (docs/theory.md, section 8), p = d; see the
    module docstring for the model, the intercept, the domain and the solver report."""
    require(is_odd(activation), f"srf: the activation must be odd (sigma(-z) = -sigma(z)) for the network's +-1 "
                                f"second layer to act as a_i = 1; got '{activation.name}'")
    co = _resolved_coefficients(activation, link, r, c, gamma)
    if d is not None:
        _require_unpenalised_mean_mode(co, lam, n_over_d * d, intercept)
    D, wx = mp_quadrature(1.0, c, nodes=nodes)  # D ~ c MP(p/d = 1): nodes and weights
    update = _update_map(co, D, wx, n_over_d, lam, c, co.hh + noise**2, intercept)
    state, method, iterations, evaluations, change, rate = _solve(update, damping, tol, max_iter, fallback)
    q1, q2, V1, V2, t, ps, m, b = (float(v) for v in state)
    C = co.mu0 * m + b + co.mu1 * co.kap * t
    err = float(co.wk @ (co.hh - 2 * C * co.h - 2 * co.mu1 * ps * co.h1 + C**2 + co.mu1**2 * q1 + co.mu2sq * q2))
    params = {"q1": q1, "q2": q2, "V1": V1, "V2": V2, "t": t, "psi": ps, "m": m, "b": b}
    return SRFResult(err, True, method, iterations, evaluations, change, rate, co.kap.size, co.z_nodes, params)
