r"""Polynomial feature spikes after one growing step eta = eta0 N^alpha (docs/theory.md, section 7; Moniri, Lee,
Hassani, Dobriban, ICML 2024, arXiv 2310.07891).

After the step, w_i^(1) = w_i + s a_i u + (bulk), with the per-neuron move s = |eta mu1| ||vhat|| / sqrt(N)
and u = vhat/||vhat|| of :mod:`giantstep.theory.first_step`. For fresh x, with kappa = <u, x>, Taylor + Stein give

    F = sigma(X W1^T) ~ F0 + sum_{k>=1} (c_k s^k / k!) He_k(kappa) (a^{(k)})^T,   c_k = E sigma^(k)(G),

term k is rank one with operator norm |c_k| s^k sqrt(n N / k!) ~ N^{1 + k(alpha - 1/2)} (a_i = +-1),
against a bulk of order sqrt(N). Degree k is visible iff k < 1/(1 - 2 alpha), so there are l spikes
iff alpha in ((l-1)/(2l), l/(2l+2)]; at the right end the degree l+1 term is critical (BBP decides).
Caveats: degree k needs c_k != 0; with a_i = +-1 the right vectors a^{(k)} take only two values
(odd/even k), so at most two distinct spikes; the intervals are asymptotic and at N ~ 10^3 the
constants |c_k| s^k / sqrt(k!) decide.

Exact per-degree magnitude [DER]: for a_i = +-1, u independent of w_i and ||w_i|| = 1, with
g = <w_i, x> and rho = s / sqrt(1 + s^2),

    E[He_k(kappa) sigma(g + s a_i kappa)] a_i^k = rho^k c_k(sigma(sqrt(1 + s^2) .)) -> c_k s^k (s -> 0),

which is what mean_i [(1/n) He_k(kappa)^T F_c e_i a_i^k] estimates (docs/theory.md, section 7).

Example
-------
>>> spike_count(0.3)
2
>>> alpha_interval(2)
(0.25, 0.3333333333333333)
"""

from __future__ import annotations

import math
from dataclasses import dataclass


from ..activations import from_callable
from ..hermite import hermite_coefficients, hermite_constants
from .validation import GROWING_STEP_EXPONENT, NONNEGATIVE, SIZE, STEP_EXPONENT, Function, Interval, validate_params
from .result import Result


@dataclass(frozen=True)
class DegreeSpike(Result):
    """One polynomial degree: exponent of its operator norm in N, magnitudes and visibility."""

    k: int
    exponent: float  # 1 + k (alpha - 1/2): ||term_k||_op ~ N^exponent (bulk ~ N^{1/2})
    leading: float  # c_k s^k
    exact: float  # rho^k c_k(sigma(sqrt(1+s^2) .))
    op_norm: float  # |c_k| s^k sqrt(n N / k!)
    visible: bool  # exponent > 1/2 and c_k != 0
    critical: bool  # exponent == 1/2


@validate_params({"spikes": SIZE})
def alpha_interval(spikes: int) -> tuple[float, float]:
    """((l-1)/(2l), l/(2l+2)): the step exponents giving exactly l spikes (right end critical)."""
    l = spikes
    return (l - 1) / (2 * l), l / (2 * l + 2)


@validate_params({"alpha": GROWING_STEP_EXPONENT})
def spike_count(alpha: float) -> int:
    """Largest l with l < 1/(1 - 2 alpha): the number of polynomial spikes (all c_k != 0)."""
    bound = 1.0 / (1.0 - 2.0 * alpha)
    l = math.ceil(bound) - 1
    if abs(bound - round(bound)) < 1e-12:
        l = int(round(bound)) - 1
    return max(l, 0)


@validate_params({"activation": Function(), "k": Interval(int, 0, 12), "s": NONNEGATIVE})
def exact_degree_magnitude(activation, k: int, s: float) -> float:
    """rho^k c_k of sigma(sqrt(1 + s^2) z), rho = s/sqrt(1+s^2) (a_i = +-1, unit rows)."""
    act = activation
    scale = math.sqrt(1.0 + s * s)
    scaled = from_callable(
        lambda z: act.f(scale * z),
        name=f"{act.name}@{scale:.6g}",
        df=lambda z: scale * act.df(scale * z),
        d2f=lambda z: scale * scale * act.d2f(scale * z),
        kinks=tuple(kk / scale for kk in act.kinks),
    )
    ck = float(hermite_coefficients(scaled, k)[k])
    return (s / scale) ** k * ck


@validate_params({"activation": Function(), "alpha": STEP_EXPONENT, "s": NONNEGATIVE, "n": SIZE, "width": SIZE,
                  "max_degree": Interval(int, 1, 12)})
def degree_spikes(activation, alpha: float, s: float, n: int, width: int, *, max_degree: int = 6) -> list[DegreeSpike]:
    """Per-degree exponents, magnitudes c_k s^k (leading and exact) and visibility, k = 1..max_degree."""
    act = activation
    c = hermite_coefficients(act, max_degree)
    m2 = hermite_constants(act).second_moment
    out = []
    for k in range(1, max_degree + 1):
        expo = 1.0 + k * (alpha - 0.5)
        nonzero = abs(c[k]) / math.sqrt(math.factorial(k) * max(m2, 1e-300)) > 1e-9
        out.append(
            DegreeSpike(
                k=k,
                exponent=expo,
                leading=float(c[k] * s**k),
                exact=exact_degree_magnitude(act, k, s),
                op_norm=float(abs(c[k]) * s**k * math.sqrt(n * width / math.factorial(k))),
                visible=bool(expo > 0.5 + 1e-12 and nonzero),
                critical=bool(abs(expo - 0.5) <= 1e-12),
            )
        )
    return out
