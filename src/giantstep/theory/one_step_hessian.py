r"""The Hessian after one large gradient step: the outlier that reveals the next direction.

Staircase scenario of Montanari & Wang 2026 (arXiv 2602.01434; docs/phase_transitions.md, section
"The staircase: the Hessian after a gradient phase"): a first, large-gradient phase learns one
direction; the Hessian there has a negative outlier along the next direction once delta = n/d
exceeds a threshold, and its preprocessing depends on the residual, hence on the learned coordinate.

Protocol (the ``phase`` kind with width 1, ``init_scale: 0``, ``gd.steps: 1``, ``gd.lr: eta``,
second layer a = 1, output bias trained): one neuron f(x) = a sigma(<w, x>) + b, loss
(1/2n) sum_mu (y_mu - f(x_mu))^2, started at w = 0, b = 0, one full-batch gradient step of size eta
on (w, b), then the Hessian in w. Teacher: k = 2, z = Theta*^T x, y = g_2(z) (noiseless).

Exact at finite n, d: with u_mu = <w_1, x_mu> and the residual r~_mu = y_mu - a sigma(u_mu) - b_1,

    H = (1/n) sum_mu [a^2 sigma'(u_mu)^2 - a sigma''(u_mu) r~_mu] x_mu x_mu^T = -D_T,
    T_mu = a sigma''(u_mu) r~_mu - a^2 sigma'(u_mu)^2,

so the negative outliers of H are minus the positive outliers of the spectral matrix D_T.

The law of T [DER, docs/phase_transitions.md; verified against simulations in the tests]. With
r = y - a sigma(0) the residual at w = 0, the step is w_1 = c (1/n) sum_nu r_nu x_nu, c = eta a sigma'(0),
and b_1 = eta E[r]. Splitting off sample mu (leave-one-out),

    u_mu = c (m_1 z_1 + m_2 z_2 + s xi + r_mu / delta),   m_j = E[r z_j],   s^2 = E[r^2] / delta,

where xi ~ N(0, 1) is x_mu's coordinate along the noise of the other samples' mean (a direction
orthogonal to Theta*, independent of z) and r_mu / delta = r_mu ||x_mu||^2 / n the sample's own
contribution. T is then a function of (z_1, z_2, xi): D_T is a spectral matrix with three latent
directions (theta_1, theta_2 and the noise direction), and the multi-index outlier equation of
:mod:`giantstep.theory.spectral_threshold` applies with the 3 x 3 matrix Phi(lambda). For a teacher
even in z_2 (e.g. ``combine: gated``), Phi's theta_2 row is zero off the diagonal, so the outlier
along the next direction theta_2 solves zeta_delta(lambda*) = lambda* E[T z_2^2 / (lambda* - T)] and
its eigenvector has cos^2 with theta_2 = psi'(lambda*) / (psi'(lambda*) - phi_22'(lambda*)); the
predicted Hessian eigenvalue is -zeta_delta(lambda*). The threshold delta_T is the smallest delta
with that outlier (T depends on delta, so it is found by bisection, not by the direct formula).

``finite_delta=False`` gives the population-fit preprocessing u = c m_1 z_1 (the learned direction
exact, no noise and no self-term): the delta -> infinity form, which the finite-delta law reduces to,
and which misplaces the threshold badly at delta = O(1) (docs/phase_transitions.md).

Example (C7's staircase: y = 3 tanh(z_1) sqrt(e) cos(z_2), tanh neuron, eta = 1, delta = 20):

>>> p = next_direction("3*tanh", "tanh", 1.0, 20.0)
>>> round(p.hess_value, 4), round(p.hess_edge, 4), round(p.cos2, 4)
(-0.0388, 0.0983, 0.825)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..activations import Activation, get_activation
from ..errors import ValidityError
from ..targets import COMBINES, multi_index_link
from .quadrature import gaussian_panels, tensor_grid
from .result import Result
from .spectral_threshold import _Law, predict_from_law, probe_rays, saturates
from .validation import POSITIVE, RATIO, Function, Options, validate_params

PANELS = 12  # 8-node Gauss-Legendre panels per axis on [-9, 9]: 96^3 nodes (outlier and cos^2 within 3e-7 of 16
# panels; delta_T 10.306, 10.293, 10.297 with 12, 16, 24 panels for C7's staircase: ~0.1%)
PANELS_POPULATION = 100  # the population-fit law has no xi: a 2-d grid, 800^2 nodes (delta_T to ~1e-6; the 3-d
# grid's 12, 16, 24 panels give 2.34, 2.06, 2.42 against 2.3879: T's law near sup T needs the finer grid)
DECOUPLED = 1e-8  # |Phi_{2j}| / |Phi_22| above this: the next direction's channel is coupled, no prediction


@dataclass(frozen=True)
class NextDirection(Result):
    """The Hessian's outlier along the next direction theta_2 after one step (module docstring).

    ``hess_value``/``hess_edge`` are eigenvalues of H = -D_T (the outlier and the bulk's lower edge);
    ``cos2`` the squared overlap of its eigenvector with theta_2; ``m1``, ``m2``, ``s``, ``b1`` the
    step's law (u = c (m1 z_1 + m2 z_2 + s xi + r / delta))."""

    delta: float
    hess_value: float
    hess_edge: float
    cos2: float
    outlier: bool
    sup_T: float
    m1: float
    m2: float
    s: float
    b1: float


@lru_cache(maxsize=4)
def _grid(panels: int, with_xi: bool = True):
    """Nodes (z_1, z_2, xi) and normalised weights; without xi a 2-d grid with xi = 0."""
    rule = gaussian_panels(np.linspace(-9.0, 9.0, panels + 1))
    if not with_xi:
        (z1, z2), w = tensor_grid(rule, rule)
        return z1, z2, np.zeros_like(z1), w / w.sum()
    (z1, z2, xi), w = tensor_grid(rule, rule, rule)
    return z1, z2, xi, w / w.sum()


def _labels(link, combine: str, panels: int, with_xi: bool = True) -> np.ndarray:
    """y = g_2(z_1, z_2) on the nodes of :func:`_grid` (independent of delta and of the step: computed once
    per link given by name, :func:`_cached_labels`)."""
    if isinstance(link, str):
        return _cached_labels(link, combine, panels, with_xi)
    z1, z2, _, _ = _grid(panels, with_xi)
    return multi_index_link(get_activation(link, "link"), combine, np.stack([z1, z2], axis=1))


@lru_cache(maxsize=8)
def _cached_labels(link: str, combine: str, panels: int, with_xi: bool) -> np.ndarray:
    z1, z2, _, _ = _grid(panels, with_xi)
    y = multi_index_link(get_activation(link, "link"), combine, np.stack([z1, z2], axis=1))
    y.flags.writeable = False
    return y


def _constants(link, combine: str, sigma: Activation, eta: float, delta: float, panels: int,
               train_bias: bool = True) -> dict:
    """The step's constants over the law of z: c, m_1, m_2, s, b_1 (module docstring; b_1 = 0 when
    the output bias is not trained)."""
    z1, z2, _, w = _grid(panels)
    r = _labels(link, combine, panels) - float(sigma.f(np.array(0.0)))
    return {"c": eta * float(sigma.df(np.array(0.0))), "m1": float(w @ (r * z1)), "m2": float(w @ (r * z2)),
            "s": math.sqrt(float(w @ (r * r)) / delta), "b1": eta * float(w @ r) if train_bias else 0.0}


def _T(y: np.ndarray, sigma: Activation, delta: float, k: dict, finite_delta: bool,
       z1: np.ndarray, z2: np.ndarray, xi: np.ndarray) -> np.ndarray:
    """T(z_1, z_2, xi) = a sigma''(u) (y - a sigma(u) - b_1) - a^2 sigma'(u)^2 (a = 1) at the given points
    (y: the labels there)."""
    r = y - float(sigma.f(np.array(0.0)))
    u = k["c"] * (k["m1"] * z1 + k["m2"] * z2 + k["s"] * xi + r / delta) if finite_delta else k["c"] * k["m1"] * z1
    return np.asarray(sigma.d2f(u) * (y - sigma.f(u) - k["b1"]) - sigma.df(u) ** 2, dtype=float)


def one_step_law(link, activation, eta: float, delta: float, combine: str = "gated", *,
                 finite_delta: bool = True, train_bias: bool = True, panels: int | None = None) -> tuple[_Law, dict]:
    """The quadrature law of (T, z_2^2) of the next direction's channel, and the step's constants.

    Refuses (ValidityError) a teacher whose theta_2 channel is coupled to the others (not even in z_2)
    and a preprocessing not bounded above."""
    g, sigma = get_activation(link, "link"), get_activation(activation, "activation")
    if abs(float(sigma.df(np.array(0.0)))) < 1e-12:
        raise ValidityError("one-step Hessian: sigma'(0) = 0, so the gradient step from w = 0 does not move w "
                            "(the Hessian there is the saddle's: giantstep.theory.spectral_threshold)", hard=True)
    panels = panels or (PANELS if finite_delta else PANELS_POPULATION)
    z1, z2, xi, w = _grid(panels, finite_delta)
    k = _constants(link, combine, sigma, eta, delta, PANELS, train_bias)
    T = _T(_labels(link, combine, panels, finite_delta), sigma, delta, k, finite_delta, z1, z2, xi)
    if not np.all(np.isfinite(T)):
        raise ValidityError("one-step Hessian: the preprocessing T is not finite on the quadrature nodes", hard=True)
    _require_bounded(g, combine, sigma)
    sup = float(T.max())
    lam = sup + max(1.0, abs(sup))
    q = w * T / (lam - T)
    diag = abs(float(q @ (z2 * z2)))
    off = max(abs(float(q @ (z2 * z1))), abs(float(q @ (z2 * xi))))
    if off > DECOUPLED * max(diag, 1e-300):
        raise ValidityError(
            f"one-step Hessian: the next direction's channel is coupled to the learned one "
            f"(|Phi_2j| / |Phi_22| = {off / max(diag, 1e-300):.2g}); the prediction needs a teacher even in z_2, "
            f"e.g. combine 'gated'", hard=True)
    consts = {key: k[key] for key in ("m1", "m2", "s", "b1")}
    if not finite_delta:
        consts["s"] = 0.0
    return _Law(w, T, (z2 * z2)[:, None], np.empty((0,)), sup), consts


def _require_bounded(g: Activation, combine: str, sigma: Activation) -> None:
    """A sufficient condition for sup T < inf: the link bounded on the support of z, sigma and sigma'' bounded
    (then T <= max|sigma''| (max|y| + max|sigma| + |b_1|)); probed along rays as in spectral_threshold."""
    dirs = probe_rays(2)
    with np.errstate(all="ignore"):
        link = [np.max(np.abs(multi_index_link(g, combine, np.vstack([r * dirs, -r * dirs])))) for r in (9.0, 60.0)]
        act = [np.max(np.abs(np.concatenate([sigma.f(x), sigma.d2f(x)]))) for x in (np.array([-r, r]) for r in (9.0, 60.0))]
    if not (saturates(*map(float, link)) and saturates(*map(float, act))):
        raise ValidityError("one-step Hessian: the preprocessing T must be bounded above; the prediction needs a bounded "
                            "link and an activation with sigma and sigma'' bounded", hard=True)


ARGS = {"link": Function(resolve=False), "activation": Function(resolve=False), "eta": POSITIVE,
        "combine": Options(COMBINES)}


@validate_params({**ARGS, "delta": RATIO})
def next_direction(link="tanh", activation="tanh", eta: float = 2.0, delta: float = 32.0, combine: str = "gated", *,
                   finite_delta: bool = True, train_bias: bool = True) -> NextDirection:
    """The Hessian's outlier along theta_2 after one step of size eta at delta = n/d (module docstring).

    Regime: n, d -> infinity, n/d = delta; width 1, a = 1, k = 2 noiseless teacher even in z_2;
    sigma, the link and the residual such that T is bounded above. Reference: module docstring."""
    law, consts = one_step_law(link, activation, eta, delta, combine, finite_delta=finite_delta, train_bias=train_bias)
    p = predict_from_law(law, delta)
    return NextDirection(delta, -p.top, -p.edge, p.cos2, p.outlier, p.sup_T, **consts)


@validate_params({**ARGS, "delta_max": POSITIVE})
def next_direction_threshold(link="tanh", activation="tanh", eta: float = 2.0, combine: str = "gated", *,
                             finite_delta: bool = True, train_bias: bool = True, delta_max: float = 1e3,
                             rtol: float = 1e-6) -> float:
    """delta_T of the next direction: the smallest delta with an outlier along theta_2 (inf if none below
    ``delta_max``, 0 if there is one at every delta down to 1e-4). T depends on delta, so the outlier
    indicator is bisected in log delta (relative accuracy ``rtol``) after a geometric scan from
    delta = 0.25 by factors of 2, up or down."""
    def has(dl: float) -> bool:
        return next_direction(link, activation, eta, dl, combine, finite_delta=finite_delta, train_bias=train_bias).outlier

    if has(0.25):  # scan down to the last delta without an outlier
        lo, hi = 0.125, 0.25
        while has(lo):
            lo, hi = lo / 2.0, lo
            if lo < 1e-4:
                return 0.0
    else:
        lo, hi = 0.25, 0.5
        while not has(hi):
            lo, hi = hi, 2.0 * hi
            if hi > delta_max:
                return math.inf
    while hi / lo > 1.0 + rtol:
        mid = math.sqrt(lo * hi)
        lo, hi = (lo, mid) if has(mid) else (mid, hi)
    return hi
