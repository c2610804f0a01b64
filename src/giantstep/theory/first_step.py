r"""The quantities of the first gradient step: the one home of their formulas.

Convention P (docs/theory.md, section 0): f(x) = N^{-1/2} sum_i a_i sigma(<w_i, x>), W0 rows of
norm ~ 1, teacher y = g(<theta*, x>) + tau eps, one step W1 = W0 - eta grad L on n = psi2 d
samples with eta = eta0 N^alpha. Replacing sigma'(<w_i, x>) by its mean mu1 (docs/theory.md, section 6):

    -grad_W L ~ (mu1 / sqrt(N)) a vhat^T,    vhat = X^T r / n,                        (1)

    mu1*          = |E[G g(G)]|                     (teacher's linear part; its sign only
                                                     orients theta*)
    E[y^2]        = E[g(G)^2] + tau^2
    ||vhat||^2   -> mu1*^2 + ||b||^2 + E[r^2] / psi2
    gamma         = |<vhat, theta*>| / ||vhat|| -> mu1* / ||vhat||   (0 when vhat = 0)
    h             = eta / sqrt(N) = eta0 N^(alpha - 1/2)               (the row step)
    s             = h |mu1| ||vhat||                 (each row moves by s a_i u, u = vhat/||vhat||)
    Var(sigma')   = E[sigma'(G)^2] - E[sigma'(G)]^2
    c             = 1 + h^2 E[r^2] Var(sigma') / psi2                (bulk inflation [DER])

by residual r (the simulator's ``residual``; one default, :data:`DEFAULT_RESIDUAL`):

  * ``label`` (r = y at every step) and ``centered`` (r = y - (f - f0)) coincide at step 1:
    ||b||^2 = 0, E[r^2] = E[y^2];
  * ``full`` (r = y - f) with a rademacher or gaussian second layer keeps f0: the f0 part of
    vhat is -b with b = (mu1/sqrt(N)) W0^T a, ||b||^2 -> mu1^2, and E[r^2] -> E[y^2] + E[sigma^2]
    (averaged over a; single runs scatter by mu0^2 ((sum a)^2/N - 1));
  * a ``symmetric`` (paired) second layer has f0 = 0: every residual is r = y at step 1.

Sign. sigma -> -sigma flips mu1 and the update, W1 = W0 - sign(mu1) s a u^T + ...; since a and
-a have the same law, every magnitude is invariant: s >= 0, and ``sign`` records the orientation.

Domain (checked; :class:`~giantstep.errors.ValidityError` outside it):
  * sigma' is a function with E[sigma'(G)] = E[G sigma(G)] (Stein's identity): the simulator's
    gradient uses sigma', and Var(sigma') must exist ('sign' fails: sign' = 2 delta);
  * the teacher has a linear-part formula: k = 1, or ``combine = "sum"`` (then
    E[y^2] = E g^2 + (k - 1) mu0*^2 + tau^2 and each |<., theta*_i>| carries 1/sqrt(k));
  * the step is representable: s and c finite in float64.
Regime: proportional limit; alpha in [0, 1/2] (c -> 1 for alpha < 1/2; at alpha = 1/2, h = eta0
and (s, gamma, c) are the spiked-random-features parameters (r, gamma, c) of :mod:`.srf`).

Reference: Ba, Erdogdu, Suzuki, Wang, Wu, Yang, NeurIPS 2022 (arXiv 2205.01445); Cui et al.
2024 (arXiv 2402.04980) for c.

Example
-------
>>> fs = first_step("relu", "he1", d=1000, width=1000, n=2000, eta0=2.0)
>>> round(fs.vhat_norm2, 6), round(fs.gamma ** 2, 6), round(fs.s * 1000 ** 0.5, 6)
(1.5, 0.666667, 1.224745)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..activations import Activation
from ..errors import ConfigError
from ..hermite import gaussian_expectation, hermite_constants
from .domain import require
from .result import Result
from .validation import NOISE, NONNEGATIVE, RATIO, SIZE, STEP_EXPONENT, Function, Options, validate_params

SECOND_LAYERS = ("rademacher", "gaussian", "symmetric")
RESIDUALS = ("label", "centered", "full")
DEFAULT_SECOND_LAYER = "rademacher"
MAX_MAGNITUDE = 1e50  # s and c beyond this overflow the BBP and sRF computations that square them
STEIN_TOL = 1e-6  # |E sigma'(G) - E[G sigma(G)]| allowed (both by quadrature to ~1e-12)
DEFAULT_RESIDUAL = "label"
"""The residual of the simulator, the CLI and the theory unless one is given: r = y at every
step, the residual every formula of the theory assumes (equal to ``centered`` at step 1)."""


@dataclass(frozen=True)
class TeacherMoments(Result):
    """What the first step sees of the teacher: mu1* >= 0, E[y^2], and the overlap factor 1/sqrt(k)."""

    mu1_star: float
    ey2: float
    overlap_factor: float = 1.0


@dataclass(frozen=True)
class DerivativeMoments(Result):
    """E[sigma'(G)] (= mu1 by Stein) and Var(sigma'(G))."""

    mean: float
    variance: float


@dataclass(frozen=True)
class FirstStep(Result):
    """The step-1 quantities of the module docstring (magnitudes >= 0; ``sign`` = sign(mu1))."""

    mu1: float
    mu1_star: float
    ey2: float
    er2: float
    b2: float
    psi2: float
    vhat_norm2: float
    gamma: float
    row_step: float
    s: float
    sign: int
    var_dsigma: float
    inflation: float
    second_layer: str
    residual: str

    @property
    def zeta2(self) -> float:
        """c - 1: the squared norm the step adds to each row's bulk (times a_i^2)."""
        return self.inflation - 1.0

    def s1_update(self, width: int) -> float:
        """s1(Delta W) = s sqrt(N) (||a|| / sqrt(N) -> 1 for every second layer)."""
        return self.s * math.sqrt(width)

    def beta(self, d: int) -> float:
        """beta = d s^2: the spike of the rows' covariance against its 1/d bulk (docs/function_space.md)."""
        return d * self.s * self.s


STEP = {"d": SIZE, "width": SIZE, "n": SIZE, "eta0": NONNEGATIVE, "alpha": STEP_EXPONENT}
MODEL = {"second_layer": Options(SECOND_LAYERS), "residual": Options(RESIDUALS)}


@validate_params({"eta0": NONNEGATIVE, "alpha": STEP_EXPONENT, "width": SIZE})
def step_size(eta0: float, alpha: float, width: int) -> float:
    """eta = eta0 N^alpha."""
    return eta0 * float(width) ** alpha


@validate_params({"link": Function(), "noise": NOISE, "k": SIZE})
def teacher_moments(link, noise: float = 0.0, k: int = 1, combine: str = "sum") -> TeacherMoments:
    """(mu1*, E[y^2], 1/sqrt(k)) of y = g(<theta*, x>) + tau eps, or of the ``sum`` multi-index
    teacher y = k^{-1/2} sum_i g(<theta*_i, x>) + tau eps (module docstring)."""
    tau = noise
    hg = hermite_constants(link)
    if k == 1:
        return TeacherMoments(abs(hg.mu1), hg.second_moment + tau**2, 1.0)
    if combine != "sum":
        raise ConfigError("combine", "'sum' for a multi-index teacher (the only one with a linear-part formula)", combine)
    return TeacherMoments(abs(hg.mu1), hg.second_moment + (k - 1) * hg.mu0**2 + tau**2, 1.0 / math.sqrt(k))


@validate_params({"activation": Function()})
def derivative_moments(activation) -> DerivativeMoments:
    """E[sigma'(G)] and Var(sigma'(G)) by quadrature split at the kinks."""
    act = activation
    mean = gaussian_expectation(lambda z: float(act.df(np.asarray(z, dtype=float))), act.kinks)
    second = gaussian_expectation(lambda z: float(act.df(np.asarray(z, dtype=float))) ** 2, act.kinks)
    return DerivativeMoments(mean, max(second - mean * mean, 0.0))


def derivative_variance(activation) -> float:
    """Var(sigma'(G)) = E[sigma'(G)^2] - E[sigma'(G)]^2."""
    return derivative_moments(activation).variance


def _residual_moments(act: Activation, moments: TeacherMoments, second_layer: str, residual: str) -> tuple[float, float]:
    """(||b||^2, E[r^2]) by residual and second layer (module docstring)."""
    if residual == "full" and second_layer != "symmetric":
        hs = hermite_constants(act)
        return hs.mu1**2, moments.ey2 + hs.second_moment
    return 0.0, moments.ey2


@validate_params({"activation": Function(), "psi2": RATIO, "row_step": NONNEGATIVE, **MODEL})
def first_step_from_moments(
    activation,
    moments: TeacherMoments,
    psi2: float,
    row_step: float,
    *,
    second_layer: str = DEFAULT_SECOND_LAYER,
    residual: str = DEFAULT_RESIDUAL,
) -> FirstStep:
    """The step-1 quantities from the teacher's moments, psi2 = n/d and the row step h = eta/sqrt(N)."""
    act, h = activation, row_step
    mu1 = hermite_constants(act).mu1
    dm = derivative_moments(act)
    require(abs(dm.mean - mu1) <= STEIN_TOL * (1.0 + abs(mu1)),
            f"first step: sigma' must be a function with E[sigma'(G)] = E[G sigma(G)] (Stein's identity), which the "
            f"gradient and Var(sigma') need; '{act.name}' gives {dm.mean:.6g} against {mu1:.6g} "
            f"(a jump in sigma puts a delta in sigma', e.g. sign' = 2 delta)")
    b2, er2 = _residual_moments(act, moments, second_layer, residual)
    vn2 = moments.mu1_star**2 + b2 + er2 / psi2
    gamma = moments.mu1_star / math.sqrt(vn2) if vn2 > 0 else 0.0
    s = h * abs(mu1) * math.sqrt(vn2)
    c = 1.0 + h * h * er2 * dm.variance / psi2
    require(s <= MAX_MAGNITUDE and c <= MAX_MAGNITUDE,
            f"first step: the step overflows float64 (row step eta/sqrt(N) = {h:.3g} gives s = {s:.3g}, c = {c:.3g}; "
            f"the formulas downstream square them: at most {MAX_MAGNITUDE:g})", hard=True)
    var_ds = dm.variance
    return FirstStep(mu1, moments.mu1_star, moments.ey2, er2, b2, psi2, vn2, gamma, h, s,
                     1 if mu1 >= 0 else -1, var_ds, c, second_layer, residual)


@validate_params({"activation": Function(), "link": Function(), **STEP, "noise": NOISE, **MODEL})
def first_step(
    activation,
    link,
    d: int,
    width: int,
    n: int,
    eta0: float,
    alpha: float = 0.0,
    *,
    noise: float = 0.0,
    second_layer: str = DEFAULT_SECOND_LAYER,
    residual: str = DEFAULT_RESIDUAL,
) -> FirstStep:
    """The step-1 quantities for sizes (d, N, n) and the step eta = eta0 N^alpha (module docstring)."""
    return first_step_from_moments(activation, teacher_moments(link, noise), n / d, eta0 * width ** (alpha - 0.5),
                                   second_layer=second_layer, residual=residual)
