r"""Experiment kind ``"rf"``: random-features regression, readout by ridge and/or SGD.

Model (Mei & Montanari 2019, arXiv 1908.05355, in convention P; docs/theory.md, section 4; docs/claims.md, C8):

    features   phi(x) = sigma(W x) in R^N,   W in R^{N x d} with rows uniform on the unit sphere
               (equivalently sigma(<theta_j, x>/sqrt(d)) with ||theta_j|| = sqrt(d)),  x ~ N(0, I_d)
    teacher    y = g(<theta*, x>) + tau * eps   (``teacher`` block; F1 = c_1(g),
               F*^2 = E g^2 - c_0^2 - c_1^2 in the Mei-Montanari risk)
    readout    a_hat = argmin_a (1/n) ||y - F a||^2 + ridge * ||a||^2,     F = sigma(X W^T) (n x N)

``ridge`` is the simulator's lambda_P; Mei-Montanari's lambda is ridge / psi1 (psi1 = N/d).
The ridge solution is computed in the primal (N x N Gram, N <= n) or dual (n x n Gram) form by
Cholesky; ridge = 0 gives least squares (N < n) or the minimum-norm interpolator (N > n).

SGD readout (``sgd`` block; docs/claims.md, C8): start from a = 0 and minimise
(1/2n)||y - F a||^2 + (ridge/2)||a||^2 with mini-batches of ``batch`` samples drawn without
replacement within each pass (``epochs`` passes; epochs = 1 is one-pass SGD):

    a <- a + lr_t * [ (1/b) F_b^T (y_b - F_b a) - ridge * a ],
    lr_t = step / ((1 + t / t0)^decay * (N * m2 / b + L)),
    m2 = mean_{mu,j} F_{mu j}^2,   L = lambda_max(F^T F / n) (power iteration)

so ``step`` is dimensionless: N m2 / b bounds the mini-batch noise term and L the full-batch
curvature (with mu0 != 0, L ~ mu0^2 N is the mean-feature spike), and step < 2 keeps the
iteration stable. ``decay = 0`` is a
constant step and ``decay > 0`` a polynomially decaying one (t counts updates, t0 = updates
per pass). Its fixed point is the ridge solution, so with a decaying step SGD converges to the
ridge risk; with ridge = 0 and a constant step it approaches the minimum-norm interpolator
(implicit ridge ~ 1 / (step * iterations)).

Spiked random features (``spike`` block; Cui et al. 2024, arXiv 2402.04980; docs/theory.md, section 8):
phi_i(x) = sigma(sqrt(c) <w_i, x> + r a_i <v, x>) with a unit v at angle <v, theta*> = gamma to the
teacher (stream ("spike",)) and a_i = 1, +-1 or N(0, 1) (stream ("second-layer",)): the model
of the network after one maximal step. The sRF readout sum_mu (y - a.phi/sqrt(p))^2 + lam ||a||^2
with p = N = d and n = alpha d samples is this kind's ridge with ``ridge = lam / alpha``.
``spectrum: true`` stores the eigenvalues of the column-centered feature covariance (1/n) F_c^T F_c
of the training features (array ``features.eigenvalues``, metrics ``features.lambda1..3``).

Metrics (flat floats): ``test_risk`` E_x (f*(x) - f_hat(x))^2 on ``n_test`` fresh samples
against the noiseless target, ``train_error`` (1/n)||y - F a||^2, ``norm_a`` ||a||; with SGD
``sgd_test_risk``, ``sgd_train_error``, ``sgd_distance`` ||a_sgd - a_ridge|| / ||a_ridge||;
``psi1``, ``psi2``, ``ridge_mm`` (= ridge / psi1), ``F1``, ``Fstar2``, ``tau2``. Arrays:
``sgd_epochs`` and ``sgd_curve`` (test risk after each checkpointed pass).

Random streams (:mod:`giantstep.seeding`): ("weights",) for W, ("teacher",) for theta*,
("data"/"noise", "train"|"test") for the batches, ("sgd",) for the mini-batch order.

Example::

    kind: rf
    d: 200
    width: 300
    n: 400
    activation: relu
    teacher: {link: "he1+0.5*he2", noise: 0.1}
    ridge: 1e-3
    sgd: {epochs: 200, batch: 20, step: 0.5, decay: 0.6}
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from ..activations import get_activation
from ..errors import ConfigError, DivergenceError, check_finite
from ..hermite import hermite_constants
from ..linalg import chunk_slices
from ..network import init_second_layer
from ..readout import ridge_coefficients
from ..seeding import stream
from ..targets import BatchSource, make_teacher
from .config import MAX_SIZE, ActivationName, Strict, TeacherConfig
from .kinds import ExperimentKind, ExperimentResult, register


class SGDConfig(Strict):
    """Mini-batch SGD on the readout (see the module docstring for the update)."""

    epochs: int = Field(50, ge=1, le=100000)
    batch: int = Field(16, ge=1, le=MAX_SIZE)
    step: float = Field(0.5, gt=0.0, lt=2.0, allow_inf_nan=False)
    decay: float = Field(0.0, ge=0.0, le=1.0, allow_inf_nan=False)
    checkpoints: int = Field(20, ge=1, le=1000)


class SpikeConfig(Strict):
    """Spiked random features (docs/theory.md, section 8): phi_i(x) = sigma(sqrt(c) <w_i, x> + r a_i <v, x>)."""

    r: float = Field(..., ge=0.0, allow_inf_nan=False)
    c: float = Field(1.0, gt=0.0, allow_inf_nan=False)
    gamma: float = Field(..., ge=0.0, le=1.0, allow_inf_nan=False)
    second_layer: Literal["ones", "rademacher", "gaussian"] = "ones"


class RFConfig(Strict):
    kind: Literal["rf"] = "rf"
    seed: int = Field(0, ge=0)
    d: int = Field(..., ge=1, le=MAX_SIZE)
    width: int = Field(..., ge=1, le=MAX_SIZE)
    n: int = Field(..., ge=1, le=MAX_SIZE)
    n_test: int = Field(2048, ge=1, le=MAX_SIZE)
    activation: ActivationName = "relu"
    teacher: TeacherConfig = TeacherConfig()
    ridge: float = Field(1e-3, ge=0.0, allow_inf_nan=False)
    readout: Literal["ridge", "sgd", "both"] = "ridge"
    sgd: SGDConfig = SGDConfig()
    spike: SpikeConfig | None = None
    spectrum: bool = False
    chunk: int = Field(8192, ge=1, le=MAX_SIZE)

    @model_validator(mode="after")
    def _consistency(self):
        if self.teacher.k != 1 or self.teacher.combine != "sum":
            raise ConfigError("teacher.k", "1 (the rf kind uses a single-index teacher)", self.teacher.k)
        if self.ridge == 0.0 and self.width == self.n and self.readout != "sgd":
            raise ConfigError("ridge", "a float > 0 when width == n (the interpolation point is singular)", self.ridge)
        if self.readout != "ridge" and self.sgd.batch > self.n:
            raise ConfigError("sgd.batch", f"an integer in [1, n = {self.n}]", self.sgd.batch)
        return self


def _features(act, X: np.ndarray, W: np.ndarray, spike: tuple | None = None) -> np.ndarray:
    """sigma(X W^T), or with spike = (sqrt_c, r, v, a): sigma(sqrt_c X W^T + r (X v) a^T)."""
    if spike is None:
        return act.f(X @ W.T)
    sqrt_c, r, v, a = spike
    return act.f(sqrt_c * (X @ W.T) + r * np.outer(X @ v, a))


def spike_direction(rng: np.random.Generator, theta: np.ndarray, gamma: float) -> np.ndarray:
    """Unit v with <v, theta*> = gamma: v = gamma theta* + sqrt(1 - gamma^2) xi, xi a random unit vector ⟂ theta*."""
    xi = rng.standard_normal(theta.shape[0])
    xi -= theta * (theta @ xi)
    xi /= np.linalg.norm(xi)
    return gamma * theta + np.sqrt(max(1.0 - gamma * gamma, 0.0)) * xi


def top_eigenvalue(F: np.ndarray, iterations: int = 50, seed: int = 0) -> float:
    """lambda_max(F^T F / n) by power iteration (deterministic start; upper side to ~1%)."""
    n, N = F.shape
    v = stream(seed, "power").standard_normal(N)
    lam = 0.0
    for _ in range(iterations):
        w = F.T @ (F @ v) / n
        lam = float(np.linalg.norm(w))
        if lam == 0.0:
            return 0.0
        v = w / lam
    return lam


def sgd_readout(
    F: np.ndarray,
    y: np.ndarray,
    ridge: float,
    cfg: SGDConfig,
    rng: np.random.Generator,
    monitor=None,
) -> tuple[np.ndarray, list[int], list[float]]:
    """Mini-batch SGD from a = 0 (module docstring). ``monitor(a) -> float`` is evaluated at
    ``cfg.checkpoints`` geometrically spaced passes; returns (a, passes, monitored values)."""
    n, N = F.shape
    m2 = float(np.mean(F * F))
    b = min(cfg.batch, n)
    base_lr = cfg.step / (N * m2 / b + top_eigenvalue(F) + 1e-300)
    per_pass = math.ceil(n / cfg.batch)
    marks = sorted({int(round(x)) for x in np.geomspace(1, cfg.epochs, cfg.checkpoints)} | {cfg.epochs})
    a = np.zeros(N, dtype=F.dtype)
    t = 0
    passes: list[int] = []
    values: list[float] = []
    for epoch in range(1, cfg.epochs + 1):
        order = rng.permutation(n)
        for sl in chunk_slices(n, cfg.batch):
            idx = order[sl]
            Fb = F[idx]
            lr = base_lr / (1.0 + t / per_pass) ** cfg.decay
            a += lr * (Fb.T @ (y[idx] - Fb @ a) / idx.size - ridge * a)
            t += 1
        if not np.all(np.isfinite(a)):
            raise DivergenceError(f"SGD readout diverged in pass {epoch} (step={cfg.step})")
        if monitor is not None and epoch in marks:
            passes.append(epoch)
            values.append(float(monitor(a)))
    return a, passes, values


def run(cfg: RFConfig) -> ExperimentResult:
    act = get_activation(cfg.activation, "activation")
    teacher = make_teacher(stream(cfg.seed, "teacher"), cfg.d, cfg.teacher.link, 1, cfg.teacher.noise, "sum")
    W = stream(cfg.seed, "weights").standard_normal((cfg.width, cfg.d))
    W /= np.linalg.norm(W, axis=1, keepdims=True)

    spike = None
    if cfg.spike is not None:
        v = spike_direction(stream(cfg.seed, "spike"), teacher.theta[:, 0], cfg.spike.gamma)
        a_rng = stream(cfg.seed, "second-layer")
        a = init_second_layer(a_rng, cfg.width, cfg.spike.second_layer)
        spike = (float(np.sqrt(cfg.spike.c)), cfg.spike.r, v, a)

    X, y = BatchSource(cfg.seed, "train", cfg.n, teacher).materialize()
    F = _features(act, X, W, spike)
    del X
    Xt, _ = BatchSource(cfg.seed, "test", cfg.n_test, teacher).materialize()
    f_test = teacher.clean(teacher.latent(Xt))

    def test_risk(a: np.ndarray) -> float:
        total = 0.0
        for sl in chunk_slices(cfg.n_test, cfg.chunk):
            err = _features(act, Xt[sl], W, spike) @ a - f_test[sl]
            total += float(err @ err)
        return total / cfg.n_test

    def train_error(a: np.ndarray) -> float:
        r = y - F @ a
        return float(r @ r) / cfg.n

    g = hermite_constants(cfg.teacher.link)
    metrics: dict[str, float] = {
        "psi1": cfg.width / cfg.d,
        "psi2": cfg.n / cfg.d,
        "ridge_mm": cfg.ridge * cfg.d / cfg.width,
        "F1": float(g.mu1),
        "Fstar2": float(g.mustar**2),
        "tau2": cfg.teacher.noise**2,
    }
    arrays: dict[str, np.ndarray] = {}
    if cfg.spectrum:
        from ..spectra import feature_covariance_eigenvalues

        ev = feature_covariance_eigenvalues(F)
        arrays["features.eigenvalues"] = ev
        for j in range(min(3, ev.size)):
            metrics[f"features.lambda{j + 1}"] = float(ev[j])
    a_ridge = None
    if cfg.readout in ("ridge", "both"):
        a_ridge = ridge_coefficients(F, y, cfg.ridge)
        check_finite("ridge readout", a_ridge)
        metrics["test_risk"] = test_risk(a_ridge)
        metrics["train_error"] = train_error(a_ridge)
        metrics["norm_a"] = float(np.linalg.norm(a_ridge))
    if cfg.readout in ("sgd", "both"):
        a_sgd, passes, curve = sgd_readout(F, y, cfg.ridge, cfg.sgd, stream(cfg.seed, "sgd"), monitor=test_risk)
        metrics["sgd_test_risk"] = curve[-1]
        metrics["sgd_train_error"] = train_error(a_sgd)
        metrics["sgd_norm_a"] = float(np.linalg.norm(a_sgd))
        if a_ridge is not None:
            metrics["sgd_distance"] = float(np.linalg.norm(a_sgd - a_ridge) / max(np.linalg.norm(a_ridge), 1e-300))
        arrays["sgd_epochs"] = np.asarray(passes, dtype=float)
        arrays["sgd_curve"] = np.asarray(curve, dtype=float)
    for name, value in metrics.items():
        check_finite(name, value)
    record = {
        "kind": "rf",
        "config": cfg.model_dump(mode="json"),
        "metrics": metrics,
        "sgd_curve": {"epochs": arrays["sgd_epochs"].tolist(), "test_risk": arrays["sgd_curve"].tolist()}
        if "sgd_curve" in arrays
        else None,
    }
    return ExperimentResult(record=record, metrics=metrics, arrays=arrays)


KIND = register(
    ExperimentKind(
        name="rf",
        config_model=RFConfig,
        run=run,
        description="random-features regression (Mei-Montanari normalisation), ridge and SGD readouts",
    )
)
