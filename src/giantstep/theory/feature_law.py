r"""The spiked feature law of one large step: the rows of W1 as a random vector.

After one step (docs/theory.md, sections 6, 8; docs/function_space.md) each row of the first layer is, to leading order,

    w = sqrt(b(a)) w0 + s a u,     w0 ~ N(0, I_d / d),  ||u|| = 1,                        (1)
    b(a) = bulk + (c - 1) a^2,

with a the neuron's second-layer weight (``gaussian``: a ~ N(0, 1); ``rademacher``: a = +-1), s the
per-row move and c the bulk inflation of :mod:`giantstep.theory.first_step` (the part of the
gradient not captured by mu1 adds (c - 1) a^2 / d per coordinate to the row's variance, since row i
of the gradient carries the factor a_i). ``bulk = 1, c = 1, s = 0`` is the law of W0; a fitted
law (:func:`giantstep.kernels.fit_spiked_gaussian`) has a constant bulk b and c = 1. Given a, the
row is Gaussian with covariance b(a) I/d + s^2 a^2 u u^T; for a Gaussian second layer and c = 1 the
law itself is N(0, Sigma), Sigma = (bulk/d) I + s^2 u u^T.

Law quantities:
    beta = d s^2 / (bulk + c - 1)        the spike of the row covariance against its mean bulk
                                         (E a^2 = 1 for both second layers; docs/function_space.md)
    excess kurtosis of <w, u_hat>        for a direction u_hat with |<u_hat, u>|^2 = overlap2:
        t = sqrt(b(a)/d) G + sqrt(overlap2) s a, kurtosis E t^4 / (E t^2)^2 - 3
        (0 for a Gaussian law; -2 beta^2/(1 + beta)^2 for a = +-1 with c = 1 and overlap2 = 1).

The abstract law (``u = None``) is what :mod:`giantstep.theory.kernel_modes` integrates over; a law
with a direction u can be sampled and evaluated on inputs (:mod:`giantstep.kernels`).

Reference: Ba et al. 2022 (arXiv 2205.01445); Cui et al. 2024 (arXiv 2402.04980) for c; Lobo,
Loureiro, Tran-Thanh, Liu (2026, seed 000) for the law's kernel.

Example
-------
>>> law = SpikedLaw(d=100, s=0.2, second_layer="rademacher")
>>> round(law.beta, 6), round(law.excess_kurtosis(), 6)
(4.0, -1.28)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from .quadrature import gauss_hermite

SECOND_LAYERS = ("gaussian", "rademacher")


@dataclass(frozen=True, eq=False)
class SpikedLaw:
    """Rows w = sqrt(bulk + (c - 1) a^2) w0 + s a u (module docstring); ``inflation`` is c.

    ``u`` (d,), when given, is normalised on construction.
    """

    d: int
    s: float
    u: np.ndarray | None = None
    bulk: float = 1.0
    inflation: float = 1.0
    second_layer: str = "gaussian"

    def __post_init__(self) -> None:
        if self.u is not None:
            u = np.asarray(self.u, dtype=float).reshape(-1)
            if u.shape[0] != self.d:
                raise ConfigError("u", f"a vector of length d = {self.d}", f"length {u.shape[0]}")
            nrm = float(np.linalg.norm(u))
            if not nrm > 0:
                raise ConfigError("u", "a non-zero vector", "the zero vector")
            object.__setattr__(self, "u", u / nrm)
        if self.second_layer not in SECOND_LAYERS:
            raise ConfigError("second_layer", f"one of {list(SECOND_LAYERS)}", self.second_layer)
        if not (math.isfinite(self.bulk) and self.bulk > 0):
            raise ConfigError("bulk", "a float in (0, inf)", self.bulk)
        if not (math.isfinite(self.inflation) and self.inflation >= 1.0):
            raise ConfigError("inflation", "a float in [1, inf)", self.inflation)
        if not (math.isfinite(self.s) and self.s >= 0):
            raise ConfigError("s", "a float in [0, inf)", self.s)

    @property
    def gaussian(self) -> bool:
        """Whether the law is N(0, Sigma): Gaussian second layer and no a-dependent inflation."""
        return self.second_layer == "gaussian" and self.inflation == 1.0

    @property
    def beta(self) -> float:
        """beta = d s^2 / (bulk + c - 1): the spike against the mean bulk variance (E a^2 = 1)."""
        return self.d * self.s**2 / (self.bulk + self.inflation - 1.0)

    def row_variance(self, a):
        """b(a) = bulk + (c - 1) a^2: d times the bulk variance of a row with second-layer weight a."""
        return self.bulk + (self.inflation - 1.0) * np.square(a)

    def second_layer_rule(self, nodes: int = 48) -> tuple[np.ndarray, np.ndarray]:
        """Nodes and probabilities of a: (+-1, 1/2) or ``nodes``-point Gauss-Hermite for N(0, 1)."""
        if self.second_layer == "rademacher":
            return np.array([-1.0, 1.0]), np.array([0.5, 0.5])
        return gauss_hermite(nodes)

    def excess_kurtosis(self, overlap2: float = 1.0) -> float:
        """Excess kurtosis of <w, u_hat> for |<u_hat, u>|^2 = ``overlap2`` (module docstring)."""
        a, p = self.second_layer_rule(60)
        var_b = self.row_variance(a) / self.d
        spike2 = overlap2 * self.s**2 * a * a
        m2 = float(p @ (var_b + spike2))
        m4 = float(p @ (3 * var_b**2 + 6 * var_b * spike2 + spike2**2))
        return m4 / m2**2 - 3.0

    def direction(self) -> np.ndarray:
        """The spike direction u (needed to sample the law or evaluate it on inputs)."""
        if self.u is None:
            raise ConfigError("u", "a spike direction of length d (to sample or evaluate the law)", None)
        return self.u

    def sample_second_layer(self, rng: np.random.Generator, width: int) -> np.ndarray:
        """a (width,) from the second layer's law (the simulator's one sampler)."""
        from ..network import init_second_layer

        return init_second_layer(rng, width, self.second_layer)

    def sample(self, rng: np.random.Generator, width: int) -> np.ndarray:
        """W (width, d) with rows drawn from the law."""
        u = self.direction()
        W0 = rng.standard_normal((width, self.d)) / math.sqrt(self.d)
        a = self.sample_second_layer(rng, width)
        return np.sqrt(self.row_variance(a))[:, None] * W0 + self.s * np.outer(a, u)
