r"""Hermite coefficients of a scalar function under the standard Gaussian.

Convention (docs/theory.md, section 0): He_k are the probabilists' Hermite polynomials,
E[He_j(G) He_k(G)] = k! delta_jk, and

    c_k := E[sigma(G) He_k(G)]          (unnormalised; = E[sigma^{(k)}(G)] by Stein's lemma)
    sigma = sum_k (c_k / k!) He_k,      E[sigma^2] = sum_k c_k^2 / k!
    mu0 := c_0,  mu1 := c_1,  mu*^2 := E[sigma^2] - mu0^2 - mu1^2.

Integrals are computed by adaptive quadrature (scipy.integrate.quad) on [-L, L] with the
function's kinks and 0 as breakpoints, so kinked functions (relu, abs) are as accurate as smooth
ones (about 1e-12 absolute); plain Gauss-Hermite is off by ~1e-3 at a kink. Sums of the
normalised Hermite polynomials he_j = He_j / sqrt(j!) need no integral (c_k(he_j) = sqrt(j!)
delta_jk, E[he_j he_k] = delta_jk); other sums of registry functions take their coefficients as
the sums of their terms'. Constants are cached per canonical expression
(:attr:`giantstep.activations.Activation.expression`) and degree.

The information exponent of a link g is the smallest k >= 1 with c_k(g) != 0. The generative
exponent of y = g(z) + tau*eps is the smallest k >= 1 with E_y[(E[He_k(z) | y])^2] > 0
(Damian et al. 2024, arXiv 2403.05529; docs/theory.md, section 0).

Example
-------
>>> round(hermite_constants("relu").mu1, 12)
0.5
"""

from __future__ import annotations

import math
import warnings
from functools import lru_cache
from typing import Callable, NamedTuple

import numpy as np
from scipy import integrate, special

from .activations import Activation, get_activation

_L = 40.0  # phi(40) ~ 1e-348: the Gaussian tail beyond is exactly negligible in float64
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)
DEFAULT_DEGREE = 10
ZERO_TOL = 1e-9  # |c_k| below this counts as zero (quadrature accuracy is ~1e-12)


def gaussian_expectation(fn: Callable[[float], float], kinks: tuple[float, ...] = ()) -> float:
    """E[fn(G)], G ~ N(0,1), by adaptive quadrature split at ``kinks`` and 0."""
    points = sorted({0.0, *[float(k) for k in kinks if -_L < k < _L]})
    integrand = lambda z: fn(z) * math.exp(-0.5 * z * z) * _INV_SQRT2PI  # noqa: E731
    total, edges = 0.0, [-_L, *points, _L]
    with warnings.catch_warnings():
        # quad warns when 1e-13 relative is out of reach for an integral that is exactly 0
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        for lo, hi in zip(edges[:-1], edges[1:]):
            val, _ = integrate.quad(integrand, lo, hi, limit=400, epsabs=1e-14, epsrel=1e-13)
            total += val
    return total


class HermiteConstants(NamedTuple):
    """Gaussian constants of an activation (docs/theory.md, section 0)."""

    mu0: float
    mu1: float
    mustar: float
    second_moment: float  # E[sigma(G)^2]
    coefficients: tuple[float, ...]  # c_0 .. c_K, unnormalised


class _Canonical:
    """Cache key of an activation: its canonical expression (registry functions and their sums,
    :attr:`giantstep.activations.Activation.expression`), or the object itself for other callables."""

    __slots__ = ("act", "key")

    def __init__(self, act: Activation):
        self.act = act
        self.key = act.expression

    def __hash__(self) -> int:
        return hash(self.key) if self.key is not None else id(self.act)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Canonical):
            return NotImplemented
        if self.key is None or other.key is None:
            return self.act is other.act
        return self.key == other.key


@lru_cache(maxsize=512)
def _coefficients(canon: _Canonical, degree: int) -> tuple[float, ...]:
    """c_0..c_degree; a sum of registry functions is the same sum of its terms' coefficients."""
    act = canon.act
    hermite_terms = _hermite_terms(act)
    if hermite_terms is not None:  # he_j = He_j / sqrt(j!): c_k = sqrt(k!) delta_jk exactly
        return tuple(hermite_terms.get(k, 0.0) * math.sqrt(math.factorial(k)) for k in range(degree + 1))
    if act.expression is not None and len(act.expression) > 1:
        total = np.zeros(degree + 1)
        for name, coef in act.expression:
            total += coef * np.array(_coefficients(_Canonical(get_activation(name)), degree))
        return tuple(float(c) for c in total)
    f = act.f
    scalar = lambda z: float(f(np.asarray(z, dtype=float)))  # noqa: E731
    out = []
    for k in range(degree + 1):
        out.append(
            gaussian_expectation(lambda z, k=k: scalar(z) * float(special.eval_hermitenorm(k, z)), act.kinks)
        )
    return tuple(out)


def hermite_coefficients(sigma: "str | Activation | Callable", degree: int = DEFAULT_DEGREE) -> np.ndarray:
    """c_k = E[sigma(G) He_k(G)] for k = 0..degree (shape (degree+1,))."""
    return np.array(_coefficients(_Canonical(get_activation(sigma)), int(degree)))


def _hermite_terms(act: Activation) -> dict[int, float] | None:
    """{j: coefficient of he_j} when ``act`` is a registry sum of normalised Hermite polynomials only."""
    if act.expression is None or not all(name.startswith("he") for name, _ in act.expression):
        return None
    return {int(name[2:]): coef for name, coef in act.expression}


@lru_cache(maxsize=512)
def _constants(canon: _Canonical, degree: int) -> HermiteConstants:
    act = canon.act
    c = _coefficients(canon, degree)
    hermite_terms = _hermite_terms(act)
    if hermite_terms is not None:  # orthonormal terms: E[(sum_j b_j he_j)^2] = sum_j b_j^2
        m2 = math.fsum(b * b for b in hermite_terms.values())
    else:
        f = act.f
        m2 = gaussian_expectation(lambda z: float(f(np.asarray(z, dtype=float))) ** 2, act.kinks)
    mustar2 = max(m2 - c[0] ** 2 - c[1] ** 2, 0.0)
    return HermiteConstants(c[0], c[1], math.sqrt(mustar2), m2, c)


def hermite_constants(sigma: "str | Activation | Callable", degree: int = DEFAULT_DEGREE) -> HermiteConstants:
    """mu0, mu1, mu*, E sigma^2 and c_0..c_degree of ``sigma``, computed once per canonical
    expression (``"he1+he2+he4"`` however it is spelled or resolved) and degree."""
    return _constants(_Canonical(get_activation(sigma)), int(degree))


def information_exponent(link: "str | Activation | Callable", max_degree: int = 12) -> int | None:
    """Smallest k >= 1 with E[g(G) He_k(G)] != 0 (relative to sqrt(k! E g^2)); None if none <= max_degree."""
    c = hermite_coefficients(link, max_degree)
    m2 = hermite_constants(link).second_moment
    for k in range(1, max_degree + 1):
        if abs(c[k]) / math.sqrt(math.factorial(k) * max(m2, 1e-300)) > ZERO_TOL:
            return k
    return None


def conditional_hermite_energy(
    link: "str | Activation | Callable", noise: float, k: int, n_z: int = 3001, n_y: int = 3001
) -> float:
    r"""E_y[(E[He_k(z) | y])^2] for y = g(z) + noise * eps, z, eps ~ N(0, 1) independent.

    Computed on grids: z on [-10, 10] (trapezoid, Gaussian weight), y on the range of g plus
    8 noise widths. With noise = 0 the noiseless law is replaced by a smoothed one with
    width 1e-2 * sd(g), which leaves a zero energy exactly zero for symmetry reasons and a
    non-zero one non-zero; use it to *detect* exponents, not as a precise value.
    """
    act = get_activation(link)
    z = np.linspace(-10.0, 10.0, n_z)
    wz = np.exp(-0.5 * z * z)
    wz /= wz.sum()
    g = act.f(z)
    sd = float(np.sqrt(np.sum(wz * (g - np.sum(wz * g)) ** 2)))
    tau = float(noise) if noise > 0 else max(1e-2 * sd, 1e-6)
    core = (np.abs(z) <= 6.0)
    lo, hi = float(g[core].min()) - 8 * tau, float(g[core].max()) + 8 * tau
    y = np.linspace(lo, hi, n_y)
    dy = y[1] - y[0]
    lik = np.exp(-0.5 * ((y[:, None] - g[None, :]) / tau) ** 2)  # (n_y, n_z), unnormalised in y
    p = lik @ wz
    num = lik @ (wz * special.eval_hermitenorm(k, z))
    norm = math.sqrt(2 * math.pi) * tau
    mask = p > 1e-300
    return float(np.sum(num[mask] ** 2 / p[mask]) * dy / norm)


def generative_exponent(link: "str | Activation | Callable", noise: float = 0.0, max_degree: int = 4) -> int | None:
    """Smallest k >= 1 with E_y[(E[He_k(z)|y])^2] > 0 (relative 1e-8 of k!); None if none <= max_degree."""
    for k in range(1, max_degree + 1):
        if conditional_hermite_energy(link, noise, k) / math.factorial(k) > 1e-8:
            return k
    return None
