r"""One large gradient step: the rank-one spike, its alignment, and the BBP outlier of W1.

Convention P (theory 0.1): f(x) = (1/sqrt(N)) sum_i a_i sigma(<w_i, x>), W0 rows N(0, I/d) (or
unit sphere), one step W1 = W0 - eta grad L on n = psi2 d samples, eta = eta0 N^alpha,
y = g(<theta*, x>) + tau eps. Replacing sigma' by its mean mu1 (theory 1.2):

    -grad_W L ~ (mu1/sqrt(N)) a vhat^T,   vhat = X^T r / n,
    ||vhat||^2 -> mu1*^2 + ||b||^2 + E[r^2]/psi2,     gamma^2 = cos^2(vhat, theta*) = mu1*^2 / ||vhat||^2,
    s1(Delta W) -> eta mu1 ||vhat|| ||a|| / sqrt(N)   (||a||/sqrt(N) -> 1 for all second layers),

with mu1* = E[G g(G)], E[y^2] = E g^2 + tau^2 and, by residual:
  * ``centered`` (r = y, f0 subtracted) or a ``symmetric`` second layer (f0 = 0): b = 0, E r^2 = E y^2;
  * ``full`` with rademacher/gaussian a: r = y - f0, b = (mu1/sqrt(N)) W0^T a with ||b||^2 -> mu1^2,
    E r^2 -> E y^2 + E sigma^2 (averaged over a; the mu0^2 ((sum a)^2/N - 1) part of ||f0||^2 is a
    run-to-run fluctuation, so single runs scatter much more).

Bulk inflation [DER]: the part of the gradient not captured by mu1 adds to each row an
independent-looking vector of squared norm eta^2 E[r^2] Var(sigma'(G)) / (N psi2), so the bulk of
W1 is ~ sqrt(c) x (a fresh W0) with c = 1 + eta0^2 N^{2 alpha - 1} E[r^2] Var(sigma') / psi2
(c -> 1 for alpha < 1/2; c = the sRF inflation of theory 3.2 at alpha = 1/2).

BBP for W1 (theory 1.3, in Gram form). Write W0 = a_hat g^T + W_perp with a_hat = a/||a||,
g = W0^T a_hat (||g||^2 -> 1, independent of W_perp, W_perp^T a_hat = 0). Then
W1 = W_perp + a_hat q^T and W1^T W1 = W_perp^T W_perp + q q^T: an *additive* rank-one spike of
strength ||q||^2 on a bulk with law c (N/d) MP(d/N) (:func:`giantstep.theory.bbp.additive_spike_mp`),
and |<v1(W1), theta*>|^2 = overlap^2(additive) x <q/||q||, theta*>^2. By case:
  * centered / b = 0: q = g + s vhat/||vhat||, ||q||^2 = c + s^2, <q, theta*>^2 = s^2 gamma^2.
    This is identical to the rectangular BBP formula with theta = s (checked in the tests), so it
    restates theory 1.3;
  * full residual, rademacher/gaussian a [DER, correction]: the f0 part of vhat, -b = -mu1 g, is
    *not* independent of W0; it shrinks W0 along a_hat: q = (1 - eta mu1^2) g + s' w_hat with
    s'^2 = eta^2 mu1^2 (||vhat||^2 - mu1^2), so ||q||^2 = (1 - eta mu1^2)^2 + (c - 1) + s'^2 and
    <q, theta*>^2 = s'^2 mu1*^2 / (||vhat||^2 - mu1^2). (Applying theory 1.3 with theta = s
    over-predicts s1(W1) and under-predicts the overlap; see docs/theory.md.)
  * symmetric (paired) a: W0 = [H; H], W0^T a = 0, so q = s vhat/||vhat|| and the bulk is
    c (N/d) MP(2d/N) (singular values of W0 sqrt(2) larger).

``overlap_theta`` is |<v1(W1), theta*>| (not squared, like the measured record); ``overlap_theta2``
its square. Regime: proportional limit, alpha < 1/2 for the rank-one approximation; at alpha = 1/2
the bulk is no longer a rescaled W0 and the values are approximate.

Reference: Ba, Erdogdu, Suzuki, Wang, Wu, Yang, NeurIPS 2022 (arXiv 2205.01445); Benaych-Georges &
Nadakuditi 2012 (arXiv 1103.2221).

Example
-------
>>> p = one_step("relu", "he1", 0.0, d=1000, width=1000, n=2000, eta0=1.0, alpha=0.0,
...              second_layer="rademacher", residual="centered")
>>> round(p.gamma2, 4)
0.6667
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..activations import get_activation
from ..hermite import gaussian_expectation, hermite_constants
from ._validate import choice, in_range, nonnegative, positive_int
from .bbp import additive_spike_mp

SECOND_LAYERS = ("rademacher", "gaussian", "symmetric")
RESIDUALS = ("full", "centered")


class OneStepPrediction(NamedTuple):
    """Predicted spike, alignment and W1 outlier after one step (see module docstring)."""

    vhat_norm2: float
    gamma2: float
    s1_update: float
    s1_weights: float
    outlier: bool
    overlap_theta: float
    overlap_theta2: float
    bulk_edge: float
    bulk_inflation: float
    gram_spike: float  # ||q||^2: strength of the additive spike in W1^T W1
    eta: float
    regime: str

    def as_dict(self) -> dict:
        return dict(self._asdict())


def derivative_variance(activation) -> float:
    """Var(sigma'(G)) = E sigma'(G)^2 - mu1^2 (quadrature split at the kinks)."""
    act = get_activation(activation)
    m2 = gaussian_expectation(lambda z: float(act.df(np.asarray(z, dtype=float))) ** 2, act.kinks)
    return max(m2 - hermite_constants(act).mu1 ** 2, 0.0)


def one_step_from_moments(
    activation,
    mu1_star: float,
    ey2: float,
    d: int,
    width: int,
    n: int,
    eta0: float,
    alpha: float,
    second_layer: str = "rademacher",
    residual: str = "centered",
) -> OneStepPrediction:
    """As :func:`one_step`, from the teacher's mu1* = |E[y x]| and E[y^2] directly."""
    act = get_activation(activation)
    d = positive_int("d", d)
    N = positive_int("width", width)
    n = positive_int("n", n)
    eta0 = nonnegative("eta0", eta0)
    alpha = in_range("alpha", alpha, 0.0, 0.5)
    second_layer = choice("second_layer", second_layer, SECOND_LAYERS)
    residual = choice("residual", residual, RESIDUALS)
    hs = hermite_constants(act)
    psi2 = n / d
    eta = eta0 * N**alpha
    notes = []
    if residual == "full" and second_layer != "symmetric":
        b2 = hs.mu1**2
        er2 = ey2 + hs.second_moment
        notes.append("full residual: f0 kept, values averaged over a; single runs scatter more")
    else:
        b2 = 0.0
        er2 = ey2
    vn2 = mu1_star**2 + b2 + er2 / psi2
    gamma2 = mu1_star**2 / vn2 if vn2 > 0 else 0.0
    s = eta * hs.mu1 * math.sqrt(vn2)
    c_infl = 1.0 + eta**2 * er2 * derivative_variance(act) / (N * psi2)
    # W1^T W1 = A + q q^T with A the (inflated) bulk Gram and q in R^d (module docstring)
    if second_layer == "symmetric":
        gamma_aspect, scale = 2.0 * d / N, c_infl * N / d
        q2 = s * s
        q_theta2 = s * s * gamma2
        notes.append("symmetric pairs: W0^T a = 0, additive spike s^2 on the paired bulk Gram")
    else:
        gamma_aspect, scale = d / N, c_infl * N / d
        if b2 > 0:
            t_shrink = eta * hs.mu1**2  # (I - t a a^T/||a||^2) W0: f0's part of the gradient
            w2 = vn2 - b2
            s_w2 = (eta * hs.mu1) ** 2 * w2
            q2 = (1.0 - t_shrink) ** 2 + (c_infl - 1.0) + s_w2
            q_theta2 = s_w2 * mu1_star**2 / w2 if w2 > 0 else 0.0
        else:
            q2 = c_infl + s * s
            q_theta2 = s * s * gamma2
    res = additive_spike_mp(gamma_aspect, scale, q2)
    top, edge = math.sqrt(res.top), math.sqrt(res.edge)
    ov2 = res.right_overlap2 * (q_theta2 / q2 if q2 > 0 else 0.0)
    theta_b = q2
    if alpha >= 0.5:
        notes.append("alpha = 1/2: maximal step, the bulk is not a rescaled W0; approximate (see srf)")
    ot2 = ov2
    regime = "; ".join(notes) if notes else "rank-one spike + BBP (alpha < 1/2)"
    return OneStepPrediction(
        vhat_norm2=vn2,
        gamma2=gamma2,
        s1_update=s,
        s1_weights=top,
        outlier=bool(res.outlier),
        overlap_theta=math.sqrt(ot2),
        overlap_theta2=ot2,
        bulk_edge=edge,
        bulk_inflation=c_infl,
        gram_spike=theta_b,
        eta=eta,
        regime=regime,
    )


def one_step(
    activation,
    link,
    noise: float,
    d: int,
    width: int,
    n: int,
    eta0: float,
    alpha: float,
    second_layer: str = "rademacher",
    residual: str = "centered",
) -> OneStepPrediction:
    """Predicted ||vhat||^2, gamma^2, s1(Delta W), s1(W1), outlier and |<v1(W1), theta*>|
    for a single-index teacher y = g(<theta*, x>) + noise * eps (see module docstring)."""
    g = get_activation(link, field_name="link")
    tau = nonnegative("noise", noise)
    hg = hermite_constants(g)
    return one_step_from_moments(
        activation, abs(hg.mu1), hg.second_moment + tau**2, d, width, n, eta0, alpha, second_layer, residual
    )
