r"""First-layer gradient steps in convention P, computed over sample chunks.

Loss L(W) = (1/2n) sum_mu (y_mu - f(x_mu))^2. With residual r = y - f(X) (``full``),
r = y - (f_W(X) - f_{W0}(X)) (``centered``: the network at initialisation is subtracted), or
r = y at every step (``label``: the correlation-loss gradient; after a growing first step
f_{W1} - f_{W0} ~ sqrt(N) mu1 s1 kappa1 = O(N^alpha1) dominates the centered residual, whereas the
power counting of docs/theory.md, section 9 treats the step-2 residual as O(1), which is this option),

    grad_W L = -(1/(n sqrt(N))) diag(a) [sigma'(X W^T) (.) (r 1_N^T)]^T X        (N x d)
    W_{t+1}  = W_t - eta grad_W L,    eta = eta0 * N^alpha

One pass over the batch per step: each chunk's preactivations X_c W^T are computed once and
reused for f and sigma'; the gradient is accumulated as sum_c D_c^T X_c with
D_c = sigma'(X_c W^T) (.) r_c. Memory is O((N + d) chunk + N d), independent of n.
The same pass returns vhat = X^T r / n (the direction of the rank-one spike, docs/theory.md, section 6).

Step-size regimes (docs/theory.md, section 0): alpha = 0 small step, alpha in (0, 1/2) growing step
(Moniri et al., arXiv 2310.07891), alpha = 1/2 maximal step (Ba et al. 2205.01445; Cui et al.
2402.04980; Dandi et al. 2410.18938).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from .activations import Activation
from .backend import Backend, activation_values, check_finite_array
from .errors import check_finite
from .linalg import few_threads
from .network import TwoLayerNetwork


@dataclass(frozen=True)
class GradientPass:
    """Result of one pass over a batch at weights W.

    grad        (N, d) gradient of L at W
    vhat        (d,)   X^T r / n
    residual_mse       mean r^2
    n                  samples seen
    """

    grad: np.ndarray
    vhat: np.ndarray
    residual_mse: float
    n: int


def step_size(eta0: float, alpha: float, width: int) -> float:
    """eta = eta0 * N^alpha."""
    return float(eta0) * float(width) ** float(alpha)


def gradient_pass(
    net: TwoLayerNetwork,
    batches: Iterable[tuple[np.ndarray, np.ndarray]],
    residual: str = "full",
    net0: TwoLayerNetwork | None = None,
    backend: Backend | None = None,
) -> GradientPass:
    """Closed-form first-layer gradient over chunks (X_c, y_c); see the module docstring.

    ``net0`` (the network at initialisation) is needed for ``residual="centered"`` when
    W differs from W0; pass None when W is W0 (then r = y). With a non-numpy ``backend`` the
    network and the chunks are backend arrays and so are ``grad`` and ``vhat``
    (:func:`_backend_pass`); the numpy path is :func:`_host_pass`.
    """
    if backend is not None and not backend.is_host:
        return _backend_pass(net, batches, residual, net0, backend)
    return _host_pass(net, batches, residual, net0)


def _host_pass(net, batches, residual, net0) -> GradientPass:
    """The numpy pass. Per chunk (c rows): Z = X W^T into one reused (c, N) buffer, the residual,
    D = sigma'(Z) (.) r written over Z (fused for relu: one comparison and one product, no float
    copy of the mask), D^T X into one reused (N, d) buffer added to the accumulator; the two GEMMs
    follow the thread policy of :func:`giantstep.linalg.few_threads` (4 c d N flops per chunk).
    The same operations as the plain formula in the same order, so the same bits."""
    N, d = net.W.shape
    dtype = net.W.dtype
    acc = np.zeros((N, d), dtype=dtype)
    part = np.empty((N, d), dtype=dtype)
    vsum = np.zeros(d, dtype=dtype)
    r2, n = 0.0, 0
    sigma = net.activation
    WT = net.W.T
    Z = None
    for X, y in batches:
        c = X.shape[0]
        if Z is None or Z.shape[0] != c:
            Z = np.empty((c, N), dtype=dtype)
        with few_threads(4.0 * c * d * N):
            np.matmul(X, WT, out=Z)  # (c, N), reused for f and sigma'
            if residual == "full":
                r = y - net.output(sigma.f(Z))
            elif residual == "label" or net0 is None:
                r = y
            else:
                r = y - (net.output(sigma.f(Z)) - net0.forward(X))
            D = _times_derivative(sigma, Z, r)
            np.matmul(D.T, X, out=part)
            acc += part
            vsum += X.T @ r
        r2 += float(r @ r)
        n += c
    grad = acc
    grad *= -(net.a[:, None] / (n * math.sqrt(N))).astype(dtype, copy=False)
    check_finite("the first-layer gradient", grad)
    return GradientPass(grad=grad, vhat=vsum / n, residual_mse=r2 / n, n=n)


def _times_derivative(sigma: Activation, Z: np.ndarray, r: np.ndarray) -> np.ndarray:
    """sigma'(Z) (.) (r 1^T), overwriting Z where sigma' has a fused form (relu: the mask times r,
    exactly the values of ``sigma.df(Z) * r``); otherwise a new array."""
    if sigma.expression == (("relu", 1.0),):
        return np.multiply(np.greater(Z, 0.0), r[:, None], out=Z)
    D = sigma.df(Z)
    if D.dtype != Z.dtype:  # keep float32 runs in float32 (some derivatives return float64)
        D = D.astype(Z.dtype)
    D *= r[:, None]
    return D


def _backend_pass(net, batches, residual, net0, backend: Backend) -> GradientPass:
    """The same pass on backend arrays through the array API (:mod:`giantstep.backend`); the
    accumulators (the residual's sum of squares in float64) stay on the device until the end."""
    xp = backend.xp
    N, d = net.W.shape
    scale = 1.0 / math.sqrt(N)
    sigma = net.activation
    acc, vsum = backend.zeros((N, d)), backend.zeros((d,))
    r2, n = xp.zeros((), dtype=xp.float64, device=backend.device), 0
    for X, y in batches:
        Z = X @ net.W.T
        if residual == "full" or (residual == "centered" and net0 is not None):
            f = (activation_values(sigma, Z, backend) @ net.a) * scale
            if residual == "full":
                r = y - f
            else:
                r = y - (f - (activation_values(sigma, X @ net0.W.T, backend) @ net0.a) * scale)
        else:
            r = y
        acc += (activation_values(sigma, Z, backend, 1) * r[:, None]).T @ X  # in place: no second (N, d)
        vsum += r @ X
        r2 += xp.astype(xp.vecdot(r, r), xp.float64)
        n += X.shape[0]
    grad = acc * (-(net.a / (n * math.sqrt(N))))[:, None]
    check_finite_array("the first-layer gradient", grad, backend)
    return GradientPass(grad=grad, vhat=vsum / n, residual_mse=backend.scalar(r2) / n, n=n)


def gradient_step(net: TwoLayerNetwork, grad: np.ndarray, eta: float) -> TwoLayerNetwork:
    """W <- W - eta grad (new network; inputs untouched)."""
    if isinstance(grad, np.ndarray):
        W = net.W - np.asarray(eta, dtype=net.W.dtype) * grad
        check_finite("the weights after a gradient step", W)
    else:  # a backend array: a Python scalar keeps its dtype
        W = net.W - float(eta) * grad
        check_finite_array("the weights after a gradient step", W, None)
    return net.with_weights(W)
