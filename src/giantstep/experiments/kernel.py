r"""The ``kernel`` experiment: the function space of a two-layer network before and after one step.

Config (convention P; docs/theory.md, sections 0, 6; docs/function_space.md)::

    kind: kernel
    seed: 0
    d: 64                     # input dimension
    width: 256                # N
    n: 128                    # samples in the step's batch
    activation: relu
    second_layer: gaussian    # a_i ~ N(0,1) ("gaussian") or +-1 ("rademacher")
    teacher: {link: he1, noise: 0.0}        # single index (k = 1)
    step: {eta0: 4.0, alpha: 0.0}           # eta = eta0 N^alpha, residual r = y
    m: 1024                   # sample points of the kernel matrix
    top: 12                   # eigenvalues of K/m reported (labelled)
    theory: true              # put the predictions of giantstep.theory.kernel_modes beside

Protocol: W0 rows ~ N(0, I/d); one full-batch step on a fresh batch with the centred residual
(r = y); fresh inputs X (m x d) ~ N(0, I_d); for W in (W0, W1): the empirical kernel
K = sigma(X W^T) sigma(X W^T)^T / N, its top eigenvalues (of K/m) with mode labels, and the mode
eigenvalues <f, T f> of the named functions of :mod:`giantstep.kernels` (lin_u, he2_u, quad_u along
theta*; lin_e, quad_e, cross_e along directions orthogonal to theta* and to the fitted spike
direction), measured two ways: ``lam_*`` from the m sample points (U-statistic), ``lamw_*`` exactly in
x from the rows of W. Also the spiked-Gaussian fit of W1 (strength, bulk, alignment with theta*,
excess kurtosis along the spike).

Random streams (root seed = ``seed``): ("teacher",) theta*, ("weights",) W0 and a, ("data", 0),
("noise", 0) the step's batch, ("data", "kernel-probe") the m sample points,
("kernel-directions",) the generic directions.

Metrics (flat): ``lam_<mode>_before|after``, ``lamw_<mode>_before|after``, ``ratio_<mode>`` (after /
before, sample-based), ``ratio_w_<mode>``, ``mixing_angle_before|after`` (degrees),
``mixing_angle_w_after``, ``eig_before_<j>``, ``eig_after_<j>``, ``fit_s2``, ``fit_bulk``,
``fit_alignment``, ``fit_alignment_corrected``, ``fit_kurtosis``, ``fit_outlier``, ``vhat_overlap``,
and with ``theory``: ``pred_s``, ``pred_s2``, ``pred_gamma``, ``pred_beta``, ``pred_inflation`` (the bulk inflation c),
``pred_lam_<mode>_before|after``, ``pred_ratio_<mode>``, ``pred_mixing_angle_after``,
``pred_kurtosis``, ``pred_k0_<j>`` (large-step 1-D operator), ``lo_ratio_*`` (leading order).
Modes include ``quad_u_deflated`` (quad_u after deflating the constant mode).
"""

from __future__ import annotations

import math
import time
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from .. import __version__
from ..errors import ConfigError, GiantstepError, check_finite
from ..kernels import (
    LABEL_GROUPS,
    MIXING_BLOCK,
    MODE_NAMES,
    ModeForms,
    deflated_eigenvalue,
    features,
    fit_spiked_gaussian,
    kernel_spectrum,
    label_basis,
    mixing_angle,
    mode_forms_from_features,
    mode_forms_from_weights,
)
from ..network import init_network
from ..seeding import stream
from ..targets import BatchSource, make_teacher, sample_inputs
from ..training import gradient_pass, gradient_step, step_size
from .config import MAX_SIZE, ActivationName, LinkName, Strict
from .kinds import ExperimentKind, ExperimentResult, register

REPORTED_MODES = MODE_NAMES + ("quad_u_deflated",)


class KernelTeacher(Strict):
    link: LinkName = "he1"
    noise: float = Field(0.0, ge=0.0, allow_inf_nan=False)


class KernelStep(Strict):
    eta0: float = Field(..., ge=0.0, allow_inf_nan=False)
    alpha: float = Field(0.0, ge=0.0, le=0.5, allow_inf_nan=False)


class KernelConfig(Strict):
    kind: Literal["kernel"] = "kernel"
    seed: int = Field(0, ge=0)
    d: int = Field(..., ge=8, le=4096)
    width: int = Field(..., ge=2, le=MAX_SIZE)
    n: int = Field(..., ge=1, le=MAX_SIZE)
    activation: ActivationName = "relu"
    second_layer: Literal["gaussian", "rademacher"] = "gaussian"
    teacher: KernelTeacher = KernelTeacher()
    step: KernelStep
    m: int = Field(1024, ge=16, le=8192)
    top: int = Field(12, ge=1, le=64)
    chunk: int = Field(8192, ge=1, le=MAX_SIZE)
    theory: bool = True

    @model_validator(mode="after")
    def _sizes(self):
        if self.m < self.d + 16:
            raise ConfigError("m", f"an integer >= d + 16 = {self.d + 16} (linear modes are resolved by projection)", self.m)
        if self.top > self.m:
            raise ConfigError("top", f"an integer <= m = {self.m}", self.top)
        return self


def _directions(rng: np.random.Generator, theta: np.ndarray, u: np.ndarray, count: int = 6) -> np.ndarray:
    """Orthonormal (d, count) directions orthogonal to theta and u."""
    B = np.stack([theta, u], axis=1)
    Q, _ = np.linalg.qr(B)
    G = rng.standard_normal((theta.shape[0], count))
    G -= Q @ (Q.T @ G)
    E, R = np.linalg.qr(G)
    return E * np.sign(np.diag(R))


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _eigs(forms: ModeForms) -> dict[str, float]:
    out = {n: forms.eigenvalue(n) for n in MODE_NAMES}
    out["quad_u_deflated"] = deflated_eigenvalue(forms.block(MIXING_BLOCK))
    return out


def _one_step(cfg: KernelConfig):
    """(teacher, W0 network, W1 network, gradient pass, eta) of the config's step."""
    teacher = make_teacher(stream(cfg.seed, "teacher"), cfg.d, cfg.teacher.link, 1, cfg.teacher.noise, "sum")
    net0 = init_network(stream(cfg.seed, "weights"), cfg.d, cfg.width, cfg.activation, "gaussian", cfg.second_layer)
    source = BatchSource(cfg.seed, 0, cfg.n, teacher)
    gp = gradient_pass(net0, source.chunks(cfg.chunk), "centered", None)
    eta = step_size(cfg.step.eta0, cfg.step.alpha, cfg.width)
    net1 = gradient_step(net0, gp.grad, eta)
    with np.errstate(over="ignore", invalid="ignore"):  # a finite ||W1||_F^2 bounds every Gram entry
        check_finite("W1 after the step (its squared norm)", float(np.sum(net1.W * net1.W)))
    return teacher, net0, net1, gp, eta


def _modes_before_and_after(cfg: KernelConfig, weights: dict, X: np.ndarray, theta: np.ndarray, E: np.ndarray):
    """(metrics, record modes, spectra, arrays) of the mode forms and the kernel spectrum of each W."""
    metrics: dict[str, float] = {}
    record_modes: dict[str, dict] = {}
    spectra: dict[str, dict] = {}
    arrays: dict[str, np.ndarray] = {}
    basis = label_basis(X, theta, E)
    for tag, W in weights.items():
        fk = mode_forms_from_features(cfg.activation, W, X, theta, E)
        fw = mode_forms_from_weights(cfg.activation, W, theta, E)
        ek, ew = _eigs(fk), _eigs(fw)
        for name in REPORTED_MODES:
            metrics[f"lam_{name}_{tag}"] = ek[name]
            metrics[f"lamw_{name}_{tag}"] = ew[name]
        metrics[f"mixing_angle_{tag}"] = mixing_angle(fk)
        metrics[f"mixing_angle_w_{tag}"] = mixing_angle(fw)
        A = features(cfg.activation, W, X) / math.sqrt(cfg.width * cfg.m)  # K/m = A A^T
        check_finite("the kernel features", A)
        spec = kernel_spectrum(X, theta, E, cfg.top, factor=A, basis=basis)
        for j, val in enumerate(spec.eigenvalues):
            metrics[f"eig_{tag}_{j}"] = float(val)
        arrays[f"eig_{tag}"] = spec.eigenvalues
        arrays[f"fractions_{tag}"] = spec.fractions
        arrays[f"labels_{tag}"] = np.array([LABEL_GROUPS.index(x) if x in LABEL_GROUPS else -1 for x in spec.labels])
        spectra[tag] = {"eigenvalues": spec.eigenvalues.tolist(), "labels": list(spec.labels)}
        record_modes[tag] = {"sample": {k: _finite(v) for k, v in ek.items()}, "exact_in_x": {k: _finite(v) for k, v in ew.items()}}
    for name in REPORTED_MODES:
        b0, b0w = metrics[f"lam_{name}_before"], metrics[f"lamw_{name}_before"]
        metrics[f"ratio_{name}"] = metrics[f"lam_{name}_after"] / b0 if b0 != 0 else float("nan")
        metrics[f"ratio_w_{name}"] = metrics[f"lamw_{name}_after"] / b0w if b0w != 0 else float("nan")
    return metrics, record_modes, spectra, arrays


def _theory(cfg: KernelConfig) -> dict:
    """The predictions, or why they do not apply (the run stands)."""
    try:
        return predictions_for(cfg)
    except (GiantstepError, ArithmeticError) as exc:  # outside the theory's domain: the run stands
        return {"not_applicable": " ".join(f"{type(exc).__name__}: {exc}".split())}


def run(cfg: KernelConfig) -> ExperimentResult:
    """Run a ``kernel`` config; see the module docstring."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    teacher, net0, net1, gp, eta = _one_step(cfg)
    theta = teacher.theta[:, 0]
    timings["step"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    fit = fit_spiked_gaussian(net1.W, theta)
    E = _directions(stream(cfg.seed, "kernel-directions"), theta, fit.u)
    X = sample_inputs(stream(cfg.seed, "data", "kernel-probe"), cfg.m, cfg.d)
    metrics, record_modes, spectra, arrays = _modes_before_and_after(cfg, {"before": net0.W, "after": net1.W}, X, theta, E)
    metrics.update(
        fit_s2=fit.s2,
        fit_bulk=fit.bulk,
        fit_alignment=fit.alignment,
        fit_alignment_corrected=fit.alignment_corrected,
        fit_kurtosis=fit.excess_kurtosis,
        fit_outlier=float(fit.outlier),
        vhat_overlap=_overlap(gp.vhat, theta),
        vhat_norm2=float(gp.vhat @ gp.vhat),
    )
    timings["kernel"] = time.perf_counter() - t0

    theory: dict = {}
    if cfg.theory:
        t0 = time.perf_counter()
        theory = _theory(cfg)
        metrics.update({k: v for k, v in theory.items() if isinstance(v, float)})
        timings["theory"] = time.perf_counter() - t0

    for k, v in metrics.items():
        if not math.isfinite(v) and not (k.startswith(("fit_alignment", "ratio")) or k == "vhat_overlap"):
            check_finite(f"metric {k}", v)
    # undefined, not diverged (no spike outlier to align, a zero mode): left out of the flat metrics,
    # which must be finite, and kept as None in the record
    finite_metrics = {k: v for k, v in metrics.items() if math.isfinite(v)}
    record = {
        "kind": "kernel",
        "config": cfg.model_dump(),
        "seed": cfg.seed,
        "version": __version__,
        "eta": eta,
        "modes": record_modes,
        "spectrum": spectra,
        "spike_fit": {
            "s2": _finite(fit.s2),
            "bulk": _finite(fit.bulk),
            "alignment": _finite(fit.alignment),
            "alignment_corrected": _finite(fit.alignment_corrected),
            "excess_kurtosis": _finite(fit.excess_kurtosis),
            "outlier": bool(fit.outlier),
        },
        "metrics": {k: (v if math.isfinite(v) else None) for k, v in metrics.items()},
        "theory": {k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in theory.items()},
        "timings": timings,
    }
    return ExperimentResult(record=record, metrics=finite_metrics, arrays=arrays)


def _overlap(v: np.ndarray, theta: np.ndarray) -> float:
    """|<v, theta>| / ||v||; NaN (undefined) for a zero gradient direction v."""
    norm = float(np.linalg.norm(v))
    return float(abs(v @ theta) / norm) if norm > 0 else float("nan")


def predictions_for(cfg: KernelConfig) -> dict[str, float]:
    """Flat theory values for a config (pure theory: no sampling)."""
    from ..theory.bbp import spiked_covariance
    from ..theory.feature_law import SpikedLaw
    from ..theory.first_step import first_step
    from ..theory.kernel_modes import k0_spectrum, leading_order, mode_predictions

    fs = first_step(cfg.activation, cfg.teacher.link, cfg.d, cfg.width, cfg.n, cfg.step.eta0, cfg.step.alpha,
                    noise=cfg.teacher.noise, second_layer=cfg.second_layer, residual="centered")
    sp_beta = fs.beta(cfg.d)
    law = SpikedLaw(cfg.d, fs.s, inflation=fs.inflation, second_layer=cfg.second_layer)
    pred = mode_predictions(cfg.activation, law, fs.gamma)
    out: dict[str, float] = {
        "pred_s": fs.s,
        "pred_s2": fs.s**2,
        "pred_gamma": fs.gamma,
        "pred_beta": sp_beta,
        "pred_inflation": fs.inflation,
        "pred_mixing_angle_before": pred.mixing_angle_before_deg,
        "pred_mixing_angle_after": pred.mixing_angle_after_deg,
    }
    for name in REPORTED_MODES:
        out[f"pred_lam_{name}_before"] = pred.before[name]
        out[f"pred_lam_{name}_after"] = pred.after[name]
        out[f"pred_ratio_{name}"] = pred.ratio[name]
    gam = cfg.d / cfg.width
    ov2 = spiked_covariance(gam, law.beta).right_overlap2
    out["pred_kurtosis"] = law.excess_kurtosis(ov2)
    k0 = k0_spectrum(cfg.activation, law, top=4)
    for j in range(4):  # a +-1 second layer gives rank 2: the rest are exactly 0
        out[f"pred_k0_{j}"] = float(k0.eigenvalues[j]) if j < k0.eigenvalues.shape[0] else 0.0
    for k, v in leading_order(cfg.activation, cfg.d, sp_beta, fs.gamma).as_dict().items():
        out[f"lo_{k}"] = float(v)
    return out


register(
    ExperimentKind(
        name="kernel",
        config_model=KernelConfig,
        run=run,
        description="Random-feature kernel before/after one step: mode eigenvalues, mixing, spike fit.",
    )
)
