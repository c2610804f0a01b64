r"""The two-layer network in convention P (docs/theory.md, section 0).

    f(x) = (1/sqrt(N)) sum_{i=1}^N a_i sigma(<w_i, x>),   W in R^{N x d} (rows w_i), a in R^N fixed

Initialisations of W0 (``init``):
    gaussian   rows w_i ~ N(0, I_d / d)          (||w_i|| -> 1)
    sphere     rows uniform on the unit sphere   (||w_i|| = 1)
Second layer (``second_layer``; :func:`init_second_layer` is the library's one sampler of a):
    rademacher  a_i = +-1
    gaussian    a_i ~ N(0, 1)
    symmetric   neurons in pairs (w, a), (w, -a) with a = +-1, so f0 = f_{W0} == 0
                (W0 then has rank N/2 and its singular values are sqrt(2) times larger)
    ones        a_i = 1                       (small-width and random-features models)
    alternating a = (+1, -1, +1, ...)         (small-width model)

Shapes: X (n, d) -> preactivations X W^T (n, N) -> features sigma(X W^T) (n, N) -> f (n,).
Reference: Ba et al. 2022 (arXiv 2205.01445) with a_P = sqrt(N) a_Ba; docs/theory.md, section 0.

Example
-------
>>> from giantstep.seeding import stream
>>> net = init_network(stream(0, "weights"), d=8, width=4, activation="tanh")
>>> net.forward(np.zeros((3, 8))).shape
(3,)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from scipy import special

from .activations import Activation, get_activation

INITS = ("gaussian", "sphere")
SECOND_LAYERS = ("rademacher", "gaussian", "symmetric")  # laws of a for TwoLayerNetwork
SECOND_LAYER_LAWS = (*SECOND_LAYERS, "ones", "alternating")  # every law init_second_layer draws

# in-place forms of registry activations (same values as Activation.f, no new array)
_IN_PLACE = {
    "relu": lambda Z: np.maximum(Z, 0.0, out=Z),
    "tanh": lambda Z: np.tanh(Z, out=Z),
    "abs": lambda Z: np.abs(Z, out=Z),
    "sin": lambda Z: np.sin(Z, out=Z),
    "erf": lambda Z: special.erf(Z, out=Z),
    "linear": lambda Z: Z,
    "he1": lambda Z: Z,
}


def activate_in_place(activation: Activation, Z: np.ndarray) -> np.ndarray:
    """sigma(Z), overwriting Z when sigma has an in-place form (relu, tanh, abs, sin, erf, linear);
    otherwise sigma(Z) as a new array. The result has Z's dtype, so float32 runs stay float32."""
    expr = activation.expression
    if expr is not None and len(expr) == 1 and expr[0][1] == 1.0 and expr[0][0] in _IN_PLACE:
        return _IN_PLACE[expr[0][0]](Z)
    out = np.asarray(activation.f(Z))
    return out if out.dtype == Z.dtype else out.astype(Z.dtype)


@dataclass(frozen=True, eq=False)
class TwoLayerNetwork:
    """Weights W (N, d), fixed second layer a (N,), activation sigma."""

    W: np.ndarray
    a: np.ndarray
    activation: Activation

    @property
    def width(self) -> int:
        return self.W.shape[0]

    @property
    def d(self) -> int:
        return self.W.shape[1]

    def preactivations(self, X: np.ndarray) -> np.ndarray:
        """X W^T, shape (n, N)."""
        return X @ self.W.T

    def features(self, X: np.ndarray) -> np.ndarray:
        """sigma(X W^T), shape (n, N)."""
        return activate_in_place(self.activation, self.preactivations(X))

    def output(self, features: np.ndarray) -> np.ndarray:
        """f = sigma(X W^T) a / sqrt(N) from precomputed features, shape (n,)."""
        return features @ self.a / math.sqrt(self.width)

    def forward(self, X: np.ndarray) -> np.ndarray:
        """f(X), shape (n,)."""
        return self.output(self.features(X))

    def with_weights(self, W: np.ndarray) -> "TwoLayerNetwork":
        return replace(self, W=W)


def init_weights(rng: np.random.Generator, width: int, d: int, init: str = "gaussian", dtype=np.float64) -> np.ndarray:
    """W0 (width, d): rows N(0, I/d) or uniform on the unit sphere."""
    G = rng.standard_normal((width, d))
    if init == "gaussian":
        W = G / math.sqrt(d)
    elif init == "sphere":
        W = G / np.linalg.norm(G, axis=1, keepdims=True)
    else:
        raise ValueError(f"unknown init {init!r}")
    return W.astype(dtype, copy=False)


def init_second_layer(rng: np.random.Generator, width: int, second_layer: str = "rademacher") -> np.ndarray:
    """a (width,) from one of SECOND_LAYER_LAWS: +-1, N(0,1), +-1 paired with opposite signs
    (symmetric: a[N/2 + i] = -a[i]), all ones, or (+1, -1, +1, ...). The deterministic laws draw
    nothing from ``rng``."""
    if second_layer == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=width)
    if second_layer == "gaussian":
        return rng.standard_normal(width)
    if second_layer == "symmetric":
        half = rng.choice(np.array([-1.0, 1.0]), size=width // 2)
        return np.concatenate([half, -half])
    if second_layer == "ones":
        return np.ones(width)
    if second_layer == "alternating":
        return np.where(np.arange(width) % 2 == 0, 1.0, -1.0)
    raise ValueError(f"unknown second layer {second_layer!r}")


def init_network(
    rng: np.random.Generator,
    d: int,
    width: int,
    activation: "str | Activation" = "relu",
    init: str = "gaussian",
    second_layer: str = "rademacher",
    dtype=np.float64,
) -> TwoLayerNetwork:
    """Draw (W0, a) in convention P. For ``symmetric`` the rows come in identical pairs."""
    if second_layer == "symmetric":
        half = init_weights(rng, width // 2, d, init, dtype)
        W = np.concatenate([half, half], axis=0)
    else:
        W = init_weights(rng, width, d, init, dtype)
    a = init_second_layer(rng, width, second_layer).astype(dtype, copy=False)
    return TwoLayerNetwork(W=W, a=a, activation=get_activation(activation))
