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

from .errors import check_finite
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
) -> GradientPass:
    """Closed-form first-layer gradient over chunks (X_c, y_c); see the module docstring.

    ``net0`` (the network at initialisation) is needed for ``residual="centered"`` when
    W differs from W0; pass None when W is W0 (then r = y).
    """
    N, d = net.W.shape
    dtype = net.W.dtype
    acc = np.zeros((N, d), dtype=dtype)
    vsum = np.zeros(d, dtype=dtype)
    r2, n = 0.0, 0
    sigma = net.activation
    for X, y in batches:
        Z = X @ net.W.T  # (c, N), reused for f and sigma'
        if residual == "full":
            r = y - net.output(sigma.f(Z))
        elif residual == "label" or net0 is None:
            r = y
        else:
            r = y - (net.output(sigma.f(Z)) - net0.forward(X))
        D = sigma.df(Z)
        if D.dtype != Z.dtype:  # keep float32 runs in float32 (some derivatives return float64)
            D = D.astype(Z.dtype)
        D *= r[:, None]
        acc += D.T @ X
        vsum += X.T @ r
        r2 += float(r @ r)
        n += X.shape[0]
    grad = acc
    grad *= -(net.a[:, None] / (n * math.sqrt(N))).astype(dtype, copy=False)
    check_finite("the first-layer gradient", grad)
    return GradientPass(grad=grad, vhat=vsum / n, residual_mse=r2 / n, n=n)


def gradient_step(net: TwoLayerNetwork, grad: np.ndarray, eta: float) -> TwoLayerNetwork:
    """W <- W - eta grad (new network; inputs untouched)."""
    W = net.W - np.asarray(eta, dtype=net.W.dtype) * grad
    check_finite("the weights after a gradient step", W)
    return net.with_weights(W)
