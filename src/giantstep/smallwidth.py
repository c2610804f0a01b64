r"""Fixed small-width two-layer networks trained by full-batch gradient descent (many steps).

Model (docs/phase_transitions.md; Montanari & Wang 2026, arXiv 2602.01434): width m fixed (1-8),
k-index teacher, n = delta * d samples,

    f(x) = sum_{j<=m} a_j sigma(<w_j, x>) + b,     L(W, a, b) = (1/2n) sum_mu (y_mu - f(x_mu))^2,
    grad_{w_j} L = -(1/n) sum_mu r_mu a_j sigma'(<w_j, x_mu>) x_mu,   grad_{a_j} L = -(1/n) sum_mu r_mu sigma(<w_j,x_mu>),
    grad_b L = -(1/n) sum_mu r_mu,

with r = y - f. Note: unlike convention P (width N, 1/sqrt(N) prefactor) the small-width model has no
prefactor; the second layer a is fixed (given values) or trained, and the optional scalar output
bias b (trained) absorbs the mean of y: fitting it is the large-gradient phase of a network started
next to the saddle W = 0, after which the Hessian in W is minus the spectral matrix of the centred
labels (see :mod:`giantstep.hessian`). Gradient descent with a constant step
``lr`` approximates gradient flow when lr * ||H|| << 1. Gradients are computed over sample chunks
(memory O(chunk (m + d))).

The trajectory records, every ``record_every`` steps, the overlap matrix M_t = W_t Theta* (m x k),
the row norms of W_t, the empirical risk and the gradient norm.

Initialisation: w_j = scale * g_j / sqrt(d), g_j ~ N(0, I_d), so ||w_j|| ~ scale. A small scale puts
the network next to the saddle at W = 0.

End of the large-gradient phase (the rule used by the ``phase`` experiment, :func:`phase_end`):
with g_t = ||grad L(W_t)||_F and g_peak(t) = max_{s<=t} g_s, phase 1 ends at the first t with
either (a) g_t <= floor (the iterate sits at a near-stationary point; t = 0 when the
initialisation is one, e.g. next to the saddle W = 0), or (b) t > argmax_{s<=t} g_s and
g_t <= rho * g_peak(t) (the gradient has peaked and decayed by the factor rho).

Example
-------
>>> from giantstep.targets import make_teacher, sample_inputs
>>> rng = np.random.default_rng(0)
>>> teacher = make_teacher(rng, 20, "square", 1, 0.0, "sum")
>>> X = sample_inputs(rng, 60, 20); y = teacher.labels(X)
>>> net = init_small(rng, 1, 20, "square", scale=0.5, second_layer="ones")
>>> traj = train(net, X, y, lr=0.05, steps=10, theta=teacher.theta)
>>> traj.overlaps.shape
(11, 1, 1)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .activations import Activation, get_activation
from .errors import ConfigError, check_finite
from .linalg import DEFAULT_CHUNK, chunk_slices
from .network import init_second_layer

SECOND_LAYERS = ("ones", "rademacher", "gaussian", "alternating")


@dataclass(frozen=True)
class SmallNet:
    """A width-m network: W (m, d), a (m,), activation sigma, scalar output bias b."""

    W: np.ndarray
    a: np.ndarray
    sigma: Activation
    b: float = 0.0

    @property
    def m(self) -> int:
        return self.W.shape[0]

    @property
    def d(self) -> int:
        return self.W.shape[1]


def init_small(
    rng: np.random.Generator, m: int, d: int, sigma: "str | Activation" = "square", scale: float = 1.0,
    second_layer: str = "ones",
) -> SmallNet:
    """W rows scale * N(0, I/d); a = 1 ("ones"), +-1 ("rademacher"), N(0,1) ("gaussian") or
    (+1, -1, +1, ...) ("alternating")."""
    if second_layer not in SECOND_LAYERS:
        raise ConfigError("second_layer", f"one of {list(SECOND_LAYERS)}", second_layer)
    W = float(scale) * rng.standard_normal((m, d)) / math.sqrt(d)
    a = init_second_layer(rng, m, second_layer)
    return SmallNet(W, a, get_activation(sigma, "activation"))


def forward(net: SmallNet, X: np.ndarray, chunk: int | None = DEFAULT_CHUNK) -> np.ndarray:
    """f(X), shape (n,)."""
    out = np.empty(X.shape[0])
    for sl in chunk_slices(X.shape[0], chunk):
        out[sl] = net.sigma.f(X[sl] @ net.W.T) @ net.a + net.b
    return out


def risk_and_grad(net: SmallNet, X: np.ndarray, y: np.ndarray, chunk: int | None = DEFAULT_CHUNK):
    """(L, grad_W (m, d), grad_a (m,), grad_b) over sample chunks (formulas in the module docstring)."""
    n = X.shape[0]
    gW = np.zeros_like(net.W)
    ga = np.zeros(net.m)
    gb = 0.0
    loss = 0.0
    for sl in chunk_slices(n, chunk):
        Xc = X[sl]
        U = Xc @ net.W.T
        S = net.sigma.f(U)
        r = y[sl] - S @ net.a - net.b
        loss += 0.5 * float(r @ r)
        gW -= ((net.sigma.df(U) * net.a) * r[:, None]).T @ Xc
        ga -= S.T @ r
        gb -= float(r.sum())
    return loss / n, gW / n, ga / n, gb / n


@dataclass(frozen=True)
class Trajectory:
    """Recorded GD trajectory.

    steps (T,), overlaps (T, m, k) = W_t Theta*, norms (T, m) = ||w_j||, risk (T,), grad_norm (T,)
    (all at the recorded steps); net: the final network; phase_end: the step at which the
    large-gradient phase ended (None if it was not detected); net_at_phase_end: the iterate there.
    """

    steps: np.ndarray
    overlaps: np.ndarray
    norms: np.ndarray
    risk: np.ndarray
    grad_norm: np.ndarray
    net: SmallNet
    phase_end: int | None = None
    net_at_phase_end: SmallNet | None = None


def phase_end(grad_norms: np.ndarray, rho: float = 0.1, floor: float = 1e-3) -> int | None:
    """First index where the large-gradient phase has ended (rule in the module docstring), or None.

    >>> phase_end(np.array([1e-4, 1.0]))
    0
    >>> phase_end(np.array([1.0, 2.0, 1.5, 0.15, 0.1]), rho=0.1)
    3
    """
    peak = -math.inf
    for t, g in enumerate(np.asarray(grad_norms, dtype=float)):
        if g <= floor:
            return t
        if g > peak:
            peak = g
        elif g <= rho * peak:
            return t
    return None


def train(
    net: SmallNet, X: np.ndarray, y: np.ndarray, lr: float, steps: int, theta: np.ndarray,
    train_a: bool = False, train_bias: bool = False, record_every: int = 1, chunk: int | None = DEFAULT_CHUNK,
    rho: float = 0.1, floor: float = 1e-3, stop_at_phase_end: bool = False,
) -> Trajectory:
    """Full-batch GD for ``steps`` steps (W; a when ``train_a``; b when ``train_bias``); records the trajectory.

    The phase-end rule (:func:`phase_end`, applied to the gradient norm at every step) is tracked
    on the fly; with ``stop_at_phase_end`` training stops there. Raises DivergenceError on NaN/inf.
    """
    W, a, b = net.W.copy(), net.a.copy(), float(net.b)
    rec_steps, rec_ov, rec_norm, rec_risk, rec_g = [], [], [], [], []
    peak, end, end_net = -math.inf, None, None
    for t in range(steps + 1):
        cur = replace(net, W=W, a=a, b=b)
        loss, gW, ga, gb = risk_and_grad(cur, X, y, chunk)
        gnorm = math.sqrt(float(np.sum(gW * gW)) + (float(ga @ ga) if train_a else 0.0) + (gb * gb if train_bias else 0.0))
        check_finite("gradient", gnorm)
        if end is None:
            if gnorm <= floor or (gnorm <= rho * peak):
                end, end_net = t, replace(net, W=W.copy(), a=a.copy(), b=b)
            peak = max(peak, gnorm)
        if t % record_every == 0 or t == steps or (end == t and stop_at_phase_end):
            rec_steps.append(t)
            rec_ov.append(W @ theta)
            rec_norm.append(np.linalg.norm(W, axis=1))
            rec_risk.append(loss)
            rec_g.append(gnorm)
        if t == steps or (stop_at_phase_end and end is not None):
            break
        W = W - lr * gW
        if train_a:
            a = a - lr * ga
        if train_bias:
            b = b - lr * gb
    check_finite("weights", W)
    final = replace(net, W=W, a=a, b=b)
    return Trajectory(
        np.array(rec_steps), np.array(rec_ov), np.array(rec_norm), np.array(rec_risk), np.array(rec_g),
        final, end, end_net,
    )


def subspace_overlap(W: np.ndarray, theta: np.ndarray) -> float:
    r"""(1/k) tr(Theta*^T Pi_W Theta*) in [0, 1], Pi_W the projector on the row span of W.

    1 when span(Theta*) is inside the row span of W; ~ m/d for a random W.
    """
    Q, R = np.linalg.qr(W.T)  # (d, m)
    keep = np.abs(np.diag(R)) > 1e-12 * max(np.abs(np.diag(R)).max(), 1e-300)
    Q = Q[:, keep]
    return float(np.sum((Q.T @ theta) ** 2) / theta.shape[1])


def best_neuron_overlap(W: np.ndarray, theta: np.ndarray) -> float:
    """max_j ||Theta*^T w_j||^2 / ||w_j||^2 (cos^2 of the best-aligned neuron with span(Theta*))."""
    C = W @ theta
    return float(np.max(np.sum(C * C, axis=1) / np.maximum(np.sum(W * W, axis=1), 1e-300)))
