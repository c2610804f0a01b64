r"""Spiked random features (sRF): parameters from one maximal step and the ridge test error.

Model (Cui et al. 2024, arXiv 2402.04980; Dandi et al. 2024, arXiv 2410.18938; theory 3):
after one step with eta = eta0 sqrt(N) (alpha = 1/2, convention P, f0 removed, a_i = 1 or an odd
sigma with a_i = +-1), the first layer is W1 ~ sqrt(c) W0' + r 1 v^T with

    r     = eta0 mu1 sqrt(mu1*^2 + E[y^2]/psi2)                      (spike per row)
    gamma = mu1* / sqrt(mu1*^2 + E[y^2]/psi2)                         (<v, theta*>)
    c     = 1 + eta0^2 E[y^2] Var(sigma'(G)) / psi2                    (bulk inflation)

where psi2 = n0/d for the first batch (the public notebook has an extra mu1^2 in c; the
simulation rejects it, see docs/theory.md). Features phi_i(x) = sigma(sqrt(c)<w_i, x> + r kappa),
kappa = <v, x>, unit rows w_i, p = N = d; teacher y = sigma*(<theta*, x>) (+ tau eps) with
theta* = gamma v + rho xi; readout yhat = sum_i a_i phi_i / sqrt(p) with
a = argmin sum_mu (y_mu - yhat(x_mu))^2 + lam ||a||^2 on n = alpha d fresh samples.

Test error (against the noiseless target) from the fixed point of theory 3.3 in the order
parameters (q1, q2, V1, V2, t, psi, m), with conditional coefficients
mu0(kappa) = E_z sigma(r kappa + sqrt(c) z), mu1(kappa) = E_z[z sigma(.)]/sqrt(c),
mu2(kappa)^2 = E_z sigma(.)^2 - mu0^2 - c mu1^2 and teacher moments h, h1, hh:

    E = E_kappa[hh - 2 C h - 2 mu1 psi h1 + C^2 + mu1^2 q1 + mu2^2 q2],   C = mu0 m + mu1 kappa t.

**Spectral inputs, computed deterministically.** The equations need averages over the
eigenpairs of Omega = c W Pi W^T (Pi = I - v v^T) of D_k, F_k = c d (u_k^T W v)^2 and
H_k = c d (u_k^T W xi)^2, and enter only through averages linear in F_k and H_k. For W with
i.i.d. isotropic rows, W v is independent of W Pi, so E[F_k | D] = c; and u_k^T W xi =
sqrt(D_k/c) <r_k, xi> with r_k Haar, so E[H_k | D] = D_k. The law of D is c * MP(p/d), whose
averages are computed by Gauss-Legendre quadrature (:func:`giantstep.theory.mp.mp_quadrature`).
No random matrix is sampled.

Label noise tau enters the training energy (hh -> hh + tau^2 in the conjugate updates) and not
the test error. Solver: damped iteration (damping 1/2, start (0.1, 0.2, 3, 3, 0.5, 0.5, 1.5) as
in the public code), stopped when the relative change is below ``tol``; raises
:class:`~giantstep.errors.DivergenceError` if it does not converge within ``max_iter``.

Regime: proportional limit, p = d (psi1 = 1), lam > 0. Reduces to Mei-Montanari with
psi1 = 1, psi2 = alpha, lambda_MM = lam/alpha when r = 0, c = 1 (tested).

Example
-------
>>> res = srf_test_error("tanh", "tanh", r=1.3647, c=1.1731, gamma=0.8065, alpha=2.0, lam=0.1)
>>> res.converged
True
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import optimize

from ..errors import DivergenceError
from .first_step import first_step_from_moments, teacher_moments
from .mp import mp_quadrature
from .quadrature import gauss_hermite
from .validation import NONNEGATIVE, POSITIVE, UNIT, Boolean, Function, Interval, validate_params

MU0_FLOOR = 1e-20  # E mu0(kappa)^2 below this (relative) means no mean feature: m = 0
START = (0.1, 0.2, 3.0, 3.0, 0.5, 0.5, 1.5)


class SRFParameters(NamedTuple):
    """(r, gamma, c) of the spiked random-features model and the inputs they came from."""

    r: float
    gamma: float
    c: float
    vhat_norm2: float


class SRFResult(NamedTuple):
    """Test error and the solver report."""

    test_error: float
    converged: bool
    iterations: int
    residual: float
    order_parameters: dict


@validate_params({"activation": Function(), "link": Function(), "noise": NONNEGATIVE, "eta0": NONNEGATIVE,
                  "psi2": POSITIVE})
def srf_parameters(activation, link, noise: float, eta0: float, psi2: float) -> SRFParameters:
    """(r, gamma, c) from a one-step network at alpha = 1/2 (eta = eta0 sqrt(N)), f0 removed: the
    step-1 quantities (s, gamma, c) of :mod:`giantstep.theory.first_step` at the row step h = eta0.

    ||vhat||^2 = mu1*^2 + E[y^2]/psi2, r = eta0 |mu1| ||vhat||, gamma = mu1*/||vhat||,
    c = 1 + eta0^2 E[y^2] Var(sigma')/psi2 (theory 3.2, corrected bulk inflation).
    """
    fs = first_step_from_moments(activation, teacher_moments(link, noise), psi2, eta0, residual="label")
    return SRFParameters(fs.s, fs.gamma, fs.inflation, fs.vhat_norm2)


def _coefficients(act, target, r, c, gamma, nk, nz):
    """Gauss-Hermite nodes in kappa and the conditional coefficients on them."""
    kap, wk = gauss_hermite(nk)
    z, wz = gauss_hermite(nz)
    pre = r * kap[:, None] + math.sqrt(c) * z[None, :]
    S = act.f(pre)
    mu0 = S @ wz
    mu1 = (S * z[None, :]) @ wz / math.sqrt(c)
    mu2sq = np.maximum((S * S) @ wz - mu0**2 - c * mu1**2, 0.0)
    rho = math.sqrt(max(1.0 - gamma * gamma, 0.0))
    T = target.f(gamma * kap[:, None] + rho * z[None, :])
    h = T @ wz
    h1 = (T * z[None, :]) @ wz
    hh = (T * T) @ wz
    return kap, wk, mu0, mu1, mu2sq, h, h1, hh


@validate_params({"activation": Function(), "target": Function(), "r": NONNEGATIVE, "c": POSITIVE, "gamma": UNIT,
                  "alpha": POSITIVE, "lam": POSITIVE, "noise": NONNEGATIVE,
                  "damping": Interval(float, 0, 1, closed="right"), "tol": POSITIVE,
                  "max_iter": Interval(int, 1, 10**6), "nk": Interval(int, 8, 4096), "nz": Interval(int, 8, 4096),
                  "nodes": Interval(int, 16, 20000), "fallback": Boolean()})
def srf_test_error(
    activation,
    target,
    r: float,
    c: float,
    gamma: float,
    alpha: float,
    lam: float,
    noise: float = 0.0,
    damping: float = 0.5,
    tol: float = 1e-10,
    max_iter: int = 1000,
    nk: int = 101,
    nz: int = 81,
    nodes: int = 200,
    fallback: bool = True,
) -> SRFResult:
    """Asymptotic ridge test error of the sRF model (theory 3.3), p = d; see module docstring."""
    act, tgt, tau = activation, target, noise
    kap, wk, mu0, mu1, mu2sq, h, h1, hh = _coefficients(act, tgt, r, c, gamma, nk, nz)
    hh_train = hh + tau**2
    D, wx = mp_quadrature(1.0, c, nodes)  # D ~ c MP(p/d = 1): nodes and weights
    E0mu = float(np.sum(wk * mu0**2))
    scale = float(np.sum(wk * (mu0**2 + c * mu1**2 + mu2sq)))  # E sigma^2 of the features

    def update(state: np.ndarray) -> np.ndarray:
        q1, q2, V1, V2, t, ps, m = state
        V = mu1**2 * V1 + mu2sq * V2
        C = mu0 * m + mu1 * kap * t
        eps = hh_train - 2 * C * h - 2 * mu1 * ps * h1 + C**2 + mu1**2 * q1 + mu2sq * q2
        one_v = 1.0 + V
        q1h = alpha * np.sum(wk * mu1**2 * eps / one_v**2)
        q2h = alpha * np.sum(wk * mu2sq * eps / one_v**2)
        V1h = alpha * np.sum(wk * mu1**2 / one_v)
        V2h = alpha * np.sum(wk * mu2sq / one_v)
        th = alpha * np.sum(wk * kap * mu1 * (h - C) / one_v)
        psh = alpha * np.sum(wk * mu1 * h1 / one_v)
        S = lam + V1h * D + V2h
        M = q1h * D + q2h + th**2 * c + psh**2 * D  # E[M | D]: F -> c, H -> D
        avg_inv = np.sum(wx / S)
        avg_d = np.sum(wx * D / S)
        t_new = th * c * avg_inv
        den = float(np.sum(wk * mu0**2 / one_v))
        if E0mu > MU0_FLOOR * scale:
            m_new = float(np.sum(wk * mu0 * (h - mu1 * kap * t_new) / one_v) / den)
        else:
            m_new = 0.0
        return np.array(
            [np.sum(wx * D * M / S**2), np.sum(wx * M / S**2), avg_d, avg_inv, t_new, psh * avg_d, m_new]
        )

    state = np.array(START, dtype=float)
    rate = damping
    change, best, stall, it = math.inf, math.inf, 0, 0
    for it in range(1, max_iter + 1):
        new = update(state)
        if not np.all(np.isfinite(new)):
            raise DivergenceError("sRF fixed point produced non-finite order parameters")
        change = float(np.max(np.abs(new - state) / np.maximum(np.abs(state), 1e-8)))
        if change < tol:
            state = new
            break
        # adaptive damping: shrink the step when the change stops decreasing (oscillation)
        if change < best:
            best, stall = change, 0
        else:
            stall += 1
            if stall >= 5 and rate > 1e-3:
                rate, stall = rate * 0.5, 0
        state = rate * new + (1.0 - rate) * state
    method = "damped iteration"
    if change >= tol and fallback:
        # fallback: Powell hybrid root finding on update(x) - x from the best damped iterate
        sol = optimize.root(lambda x: update(x) - x, state, method="hybr", options={"xtol": 1e-13, "maxfev": 20000})
        if sol.success and np.all(np.isfinite(sol.x)):
            res = float(np.max(np.abs(update(sol.x) - sol.x) / np.maximum(np.abs(sol.x), 1e-8)))
            if res < 1e-8 and sol.x[2] > 0 and sol.x[3] > 0:
                state, change, method = sol.x, res, "damped iteration + hybr"
    if change >= 1e-8 or (method == "damped iteration" and change >= tol):
        raise DivergenceError(
            f"sRF fixed point did not converge in {max_iter} iterations (last relative change {change:.2e})"
        )
    q1, q2, V1, V2, t, ps, m = (float(v) for v in state)
    C = mu0 * m + mu1 * kap * t
    err = float(np.sum(wk * (hh - 2 * C * h - 2 * mu1 * ps * h1 + C**2 + mu1**2 * q1 + mu2sq * q2)))
    params = {"q1": q1, "q2": q2, "V1": V1, "V2": V2, "t": t, "psi": ps, "m": m}
    params["final_damping"] = rate
    params["method"] = method
    return SRFResult(err, True, it, change, params)
