r"""One large gradient step: the rank-one spike, its alignment, and the BBP outlier of W1.

Convention P (docs/theory.md, section 0), one step W1 = W0 - eta grad L, eta = eta0 N^alpha. The step-1
quantities -- ||vhat||^2, gamma, the per-row move s, the bulk inflation c, by residual and second
layer -- come from :mod:`giantstep.theory.first_step` (their one home); this module adds the
spike of the update, s1(Delta W) = s sqrt(N) (||a||/sqrt(N) -> 1), and the BBP outlier of W1.

BBP for W1 (docs/theory.md, section 6, in Gram form). Write W0 = a_hat g^T + W_perp with a_hat = a/||a||,
g = W0^T a_hat (||g||^2 -> 1, independent of W_perp, W_perp^T a_hat = 0). Then
W1 = W_perp + a_hat q^T and W1^T W1 = W_perp^T W_perp + q q^T: an *additive* rank-one spike of
strength ||q||^2 on a bulk with law c (N/d) MP(d/N) (:func:`giantstep.theory.bbp.additive_spike_mp`),
and |<v1(W1), theta*>|^2 = overlap^2(additive) x <q/||q||, theta*>^2. By case:
  * centered / b = 0: q = g + s vhat/||vhat||, ||q||^2 = c + s^2, <q, theta*>^2 = s^2 gamma^2.
    This is identical to the rectangular BBP formula with theta = s (checked in the tests), so it
    restates the rectangular BBP formula (docs/theory.md, section 2);
  * full residual, rademacher/gaussian a [DER, correction]: the f0 part of vhat, -b = -mu1 g, is
    *not* independent of W0; it shrinks W0 along a_hat: q = (1 - eta mu1^2) g + s' w_hat with
    s'^2 = eta^2 mu1^2 (||vhat||^2 - mu1^2), so ||q||^2 = (1 - eta mu1^2)^2 + (c - 1) + s'^2 and
    <q, theta*>^2 = s'^2 mu1*^2 / (||vhat||^2 - mu1^2). (Applying the rectangular formula of docs/theory.md, section 2, with theta = s
    over-predicts s1(W1) and under-predicts the overlap; see docs/theory.md.)
  * symmetric (paired) a: W0 = [H; H], W0^T a = 0, so q = s vhat/||vhat|| and the bulk is
    c (N/d) MP(2d/N) (singular values of W0 sqrt(2) larger).

``overlap_theta`` is |<v1(W1), theta*>| (not squared, like the measured record); ``overlap_theta2``
its square. Sign: sigma -> -sigma flips the update, not its singular values (s1_update >= 0).

Domain (ValidityError outside): that of :func:`giantstep.theory.first_step.first_step`, and
alpha < 1/2 -- at alpha = 1/2 the update's own bulk is as large as its spike and the bulk of W1 is
not a rescaled W0 (the maximal step is described by :mod:`giantstep.theory.srf`). Every residual
and second layer of the simulator is covered. Regime: proportional limit.

Reference: Ba, Erdogdu, Suzuki, Wang, Wu, Yang, NeurIPS 2022 (arXiv 2205.01445); Benaych-Georges &
Nadakuditi 2012 (arXiv 1103.2221).

Example
-------
>>> p = one_step("relu", "he1", d=1000, width=1000, n=2000, eta0=1.0, alpha=0.0,
...              second_layer="rademacher", residual="centered")
>>> round(p.gamma2, 4)
0.6667
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .bbp import additive_spike_mp
from .domain import require
from .first_step import (
    DEFAULT_RESIDUAL,
    DEFAULT_SECOND_LAYER,
    MODEL,
    STEP,
    FirstStep,
    TeacherMoments,
    first_step_from_moments,
    step_size,
    teacher_moments,
)
from .result import Result
from .validation import NOISE, Function, validate_params


@dataclass(frozen=True)
class OneStepPrediction(Result):
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


def _gram_spike(fs: FirstStep, d: int, width: int) -> tuple[float, float, float, float]:
    """(aspect, scale, ||q||^2, <q, theta*>^2) of W1^T W1 = A + q q^T, A = scale * MP(aspect)."""
    s2, c = fs.s * fs.s * width, fs.inflation
    if fs.second_layer == "symmetric":
        return 2.0 * d / width, c * width / d, s2, s2 * fs.gamma**2
    if fs.b2 > 0:
        shrink = fs.row_step * math.sqrt(width) * fs.mu1**2  # (I - t a a^T/||a||^2) W0: f0's part of the gradient
        w2 = fs.vhat_norm2 - fs.b2
        s_w2 = s2 * w2 / fs.vhat_norm2
        q_theta2 = s_w2 * fs.mu1_star**2 / w2 if w2 > 0 else 0.0
        return d / width, c * width / d, (1.0 - shrink) ** 2 + (c - 1.0) + s_w2, q_theta2
    return d / width, c * width / d, c + s2, s2 * fs.gamma**2


@validate_params({"activation": Function(), **STEP, **MODEL})
def one_step_from_moments(
    activation,
    moments: TeacherMoments,
    d: int,
    width: int,
    n: int,
    eta0: float,
    alpha: float = 0.0,
    *,
    second_layer: str = DEFAULT_SECOND_LAYER,
    residual: str = DEFAULT_RESIDUAL,
) -> OneStepPrediction:
    """As :func:`one_step`, from the teacher's moments (:func:`~giantstep.theory.first_step.teacher_moments`)."""
    N = width
    fs = first_step_from_moments(activation, moments, n / d, eta0 * N ** (alpha - 0.5),
                                 second_layer=second_layer, residual=residual)
    notes = []
    if fs.b2 > 0:
        notes.append("full residual: f0 kept, values averaged over a; single runs scatter more")
    if fs.second_layer == "symmetric":
        notes.append("symmetric pairs: W0^T a = 0, additive spike s^2 on the paired bulk Gram")
    aspect, scale, q2, q_theta2 = _gram_spike(fs, d, N)
    res = additive_spike_mp(aspect, scale, q2)
    ov2 = res.right_overlap2 * (q_theta2 / q2 if q2 > 0 else 0.0)
    require(alpha < 0.5, "one step: the rank-one spike + BBP picture needs alpha < 1/2 (at alpha = 1/2 the update's "
                         "own bulk is as large as its spike and W1's bulk is not a rescaled W0; see srf)")
    return OneStepPrediction(
        vhat_norm2=fs.vhat_norm2,
        gamma2=fs.gamma**2,
        s1_update=fs.s1_update(N),
        s1_weights=math.sqrt(res.top),
        outlier=bool(res.outlier),
        overlap_theta=math.sqrt(ov2),
        overlap_theta2=ov2,
        bulk_edge=math.sqrt(res.edge),
        bulk_inflation=fs.inflation,
        gram_spike=q2,
        eta=step_size(eta0, alpha, N),
        regime="; ".join(notes) if notes else "rank-one spike + BBP (alpha < 1/2)",
    )


@validate_params({"activation": Function(), "link": Function(), **STEP, "noise": NOISE, **MODEL})
def one_step(
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
) -> OneStepPrediction:
    """Predicted ||vhat||^2, gamma^2, s1(Delta W), s1(W1), outlier and |<v1(W1), theta*>|
    for a single-index teacher y = g(<theta*, x>) + noise * eps (see module docstring)."""
    return one_step_from_moments(activation, teacher_moments(link, noise), d, width, n, eta0, alpha,
                                 second_layer=second_layer, residual=residual)
