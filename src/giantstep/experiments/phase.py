r"""Experiment kind ``phase``: small-width GD, the Hessian at the end of the large-gradient phase,
and the final overlap (docs/phase_transitions.md; Montanari & Wang 2026, arXiv 2602.01434).

Config::

    kind: phase
    seed: 0
    d: 200                       # input dimension
    delta: 2.0                   # n = round(delta * d) samples (one batch, reused by every GD step)
    width: 1                     # m hidden neurons (1..8)
    activation: square
    second_layer: ones           # ones | rademacher | gaussian | alternating
    train_second_layer: false
    output_bias: true            # trained scalar output bias b
    init_scale: 1.0e-8           # ||w_j|| at initialisation (small: next to the saddle W = 0)
    teacher: {link: tanh, k: 1, noise: 0.0, combine: norm}
    gd: {lr: 0.2, steps: 400, record_every: 10, rho: 0.01, floor: 1.0e-6}
    hessian: {eigs: 8, method: auto, learned_tol: 0.5, outliers: null}
    chunk: 8192
    theory: true

Protocol: draw Theta* (stream "teacher"), the batch (streams "data"/"noise", index 0) and the
initial weights (stream "weights"); run full-batch GD for ``gd.steps`` steps, tracking the end of the
large-gradient phase by the rule of :func:`giantstep.smallwidth.phase_end` (the first step at which
||grad L|| <= floor, or ||grad L|| has peaked and decayed to rho times its peak); compute the smallest
eigenpairs of the Hessian in W at that iterate (:mod:`giantstep.hessian`) with labels y - b; report the
negative outlier(s) and the overlap of their eigenvectors with span(Theta*) orthogonal to the
directions already learned; continue to the end and report the final overlap.

Metrics (one column each): ``final_overlap`` ((1/k) tr(Theta*^T Pi_W Theta*)), ``final_best_overlap``,
``final_risk``, ``hess_outlier_mean`` (mean of the q candidate outlier eigenvalues; by default q = k minus the
learned directions, times :func:`saddle_copies`: at the saddle each outlier of D_T appears once per neuron with the
largest a_j sigma''(0)), ``phase_end_step`` (-1 when the rule did not fire; the Hessian is then taken at the
final iterate), ``hess_min``, ``hess_min2``, ``hess_gap``, ``hess_edge``,
``outlier_overlap`` (span(Theta*) minus learned directions), ``outlier_overlap_theta``, ``learned``,
and with ``theory: true`` the predictions ``delta_alg``, ``delta_T`` (spectral threshold of the
Hessian's preprocessing at the saddle, when it applies), ``hess_min_pred``, ``outlier_overlap_pred``.
Arrays: ``steps``, ``overlaps`` (T, m, k), ``norms``, ``risk``, ``grad_norm``, ``hess_eigs``.

When the Hessian at the saddle is a spectral matrix: for an activation with sigma'(0) = 0 and
sigma''(0) != 0 (e.g. ``square``), at W = 0 the Gauss-Newton part vanishes and the W_j-block is
-a_j sigma''(0) D_T with T = y - b - sum_j a_j sigma(0). With b fitted (b -> mean y), the negative
outlier of H is -max_j(a_j sigma''(0)) times the top outlier of D_T, T = y - E y, predicted by
:mod:`giantstep.theory.spectral_threshold`.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from .. import __version__
from ..errors import ConfigError, GiantstepError
from ..hessian import outlier_report, smallest_eigs
from ..seeding import stream
from ..smallwidth import SECOND_LAYERS, best_neuron_overlap, init_small, subspace_overlap, train
from ..targets import BatchSource, make_teacher
from .config import MAX_SIZE, ActivationName, Strict, TeacherConfig
from .kinds import ExperimentKind, ExperimentResult, register


class PhaseGDConfig(Strict):
    lr: float = Field(0.2, gt=0.0, allow_inf_nan=False)
    steps: int = Field(400, ge=0, le=1_000_000)
    record_every: int = Field(10, ge=1)
    rho: float = Field(0.01, gt=0.0, lt=1.0)
    floor: float = Field(1e-6, ge=0.0, allow_inf_nan=False)


class PhaseHessianConfig(Strict):
    eigs: int = Field(8, ge=2, le=20000)
    method: Literal["auto", "dense", "lanczos"] = "auto"
    learned_tol: float = Field(0.5, gt=0.0, le=1.0)
    outliers: int | None = Field(None, ge=1, le=64)


class PhaseConfig(Strict):
    kind: Literal["phase"] = "phase"
    seed: int = Field(0, ge=0)
    d: int = Field(..., ge=2, le=20000)
    delta: float = Field(..., gt=0.0, le=1e4, allow_inf_nan=False)
    width: int = Field(1, ge=1, le=8)
    activation: ActivationName = "square"
    second_layer: Literal["ones", "rademacher", "gaussian", "alternating"] = "ones"
    train_second_layer: bool = False
    output_bias: bool = True
    init_scale: float = Field(1e-8, ge=0.0, allow_inf_nan=False)
    teacher: TeacherConfig = TeacherConfig(link="tanh", k=1, combine="norm")
    gd: PhaseGDConfig = PhaseGDConfig()
    hessian: PhaseHessianConfig = PhaseHessianConfig()
    chunk: int = Field(8192, ge=1, le=MAX_SIZE)
    theory: bool = True

    @model_validator(mode="after")
    def _consistency(self):
        if self.teacher.k > self.d:
            raise ConfigError("teacher.k", f"an integer <= d = {self.d}", self.teacher.k)
        n = int(round(self.delta * self.d))
        if n < 1 or n > MAX_SIZE:
            raise ConfigError("delta", f"a ratio with 1 <= round(delta * d) <= {MAX_SIZE}", self.delta)
        return self


assert set(SECOND_LAYERS) == {"ones", "rademacher", "gaussian", "alternating"}


def predictions(cfg: PhaseConfig) -> dict[str, float]:
    """Theory predictions that apply to ``cfg`` (NaN where none applies)."""
    from ..activations import get_activation
    from ..errors import ValidityError
    from ..theory.delta_alg import delta_alg, multi_index_delta_alg, single_index_link
    from ..theory.spectral_threshold import Preprocessing, spectral_prediction, spectral_threshold, _get_law

    t = cfg.teacher
    out = {"delta_alg": math.nan, "delta_T": math.nan, "hess_min_pred": math.nan, "outlier_overlap_pred": math.nan,
           "next_value_pred": math.nan, "next_overlap_pred": math.nan, "delta_T_next": math.nan}
    try:  # a noise too small for the noisy quadrature is outside delta_alg's domain: no prediction
        if t.k == 1:
            out["delta_alg"] = delta_alg(single_index_link(t.link, t.combine), t.noise).delta_alg
        elif t.k <= 3:
            out["delta_alg"] = multi_index_delta_alg(t.link, t.combine, t.k, t.noise).delta_alg
    except ValidityError:
        pass
    act = get_activation(cfg.activation)
    s1, s2 = float(act.df(np.array(0.0))), float(act.d2f(np.array(0.0)))
    if one_step_protocol(cfg) and abs(s1) > 1e-12:
        from ..theory.one_step_hessian import next_direction

        p = next_direction(t.link, cfg.activation, cfg.gd.lr, cfg.delta, t.combine, train_bias=cfg.output_bias)
        out["next_value_pred"], out["next_overlap_pred"] = p.hess_value, p.cos2
        out["delta_T_next"] = _next_threshold(t.link, cfg.activation, cfg.gd.lr, t.combine, cfg.output_bias)
        return out
    a = _second_layer_values(cfg)
    if a is not None and abs(s1) < 1e-12 and abs(s2) > 1e-12 and t.k <= 2 and cfg.init_scale <= 1e-3:
        c = float(np.max(a * s2))
        if c > 0:
            base = _get_law(t.link, Preprocessing(), t.noise, t.k, t.combine)
            shift = float(base.w @ base.T) if cfg.output_bias else float(np.sum(a) * act.f(np.array(0.0)))
            T = Preprocessing(shift=shift)
            p = spectral_prediction(t.link, T, cfg.delta, t.noise, t.k, t.combine)
            out["delta_T"] = spectral_threshold(t.link, T, t.noise, t.k, t.combine)
            out["hess_min_pred"] = -c * p.top
            out["outlier_overlap_pred"] = p.cos2
    return out


def one_step_protocol(cfg: PhaseConfig) -> bool:
    """Whether ``cfg`` is the staircase protocol of :mod:`giantstep.theory.one_step_hessian`: one neuron
    (a = 1, fixed) started at w = 0, one gradient step of size ``gd.lr``, a noiseless two-index teacher."""
    return (cfg.width == 1 and cfg.second_layer == "ones" and not cfg.train_second_layer and cfg.init_scale == 0
            and cfg.gd.steps == 1 and cfg.teacher.k == 2 and cfg.teacher.noise == 0)


@lru_cache(maxsize=16)
def _next_threshold(link: str, activation: str, eta: float, combine: str, train_bias: bool) -> float:
    from ..theory.one_step_hessian import next_direction_threshold

    return next_direction_threshold(link, activation, eta, combine, train_bias=train_bias, rtol=1e-5)


def saddle_copies(net, min_norm: float = 1e-2) -> int:
    """How many times the Hessian repeats each eigenvalue of its most negative block at the saddle.

    With every neuron next to the origin (||w_j|| < ``min_norm``, the threshold of
    :func:`giantstep.hessian.learned_directions`) and sigma'(0) = 0, the Hessian in W is block
    diagonal with blocks -a_j sigma''(0) D_T (module docstring), so the negative outliers of D_T
    appear once per neuron attaining max_j a_j sigma''(0) (second layer ``ones``: m times;
    ``alternating``: ceil(m/2)). Anywhere else, or when no block is negative, 1."""
    W, a = net.W, np.asarray(net.a, dtype=float)
    s1, s2 = float(net.sigma.df(np.array(0.0))), float(net.sigma.d2f(np.array(0.0)))
    if abs(s1) > 1e-12 or np.any(np.linalg.norm(W, axis=1) >= min_norm):
        return 1
    c = a * s2
    top = float(np.max(c))
    if top <= 0:
        return 1
    return int(np.sum(np.abs(c - top) <= 1e-12 * top))


def _second_layer_values(cfg: PhaseConfig) -> np.ndarray | None:
    if cfg.second_layer == "ones":
        return np.ones(cfg.width)
    if cfg.second_layer == "alternating":
        return np.where(np.arange(cfg.width) % 2 == 0, 1.0, -1.0)
    return None  # random second layer: the prediction depends on the draw


def run(cfg: PhaseConfig) -> ExperimentResult:
    """Run one ``phase`` experiment (see the module docstring)."""
    t = cfg.teacher
    d = cfg.d
    n = int(round(cfg.delta * d))
    teacher = make_teacher(stream(cfg.seed, "teacher"), d, t.link, t.k, t.noise, t.combine)
    X, y = BatchSource(cfg.seed, 0, n, teacher).materialize()
    net = init_small(stream(cfg.seed, "weights"), cfg.width, d, cfg.activation, cfg.init_scale, cfg.second_layer)
    traj = train(
        net, X, y, cfg.gd.lr, cfg.gd.steps, teacher.theta, train_a=cfg.train_second_layer,
        train_bias=cfg.output_bias, record_every=cfg.gd.record_every, chunk=cfg.chunk, rho=cfg.gd.rho,
        floor=cfg.gd.floor,
    )
    at = traj.net_at_phase_end if traj.net_at_phase_end is not None else traj.net
    q_eigs = min(cfg.hessian.eigs, cfg.width * d)
    eigs = smallest_eigs(at.W, at.a, at.sigma, X, y - at.b, q_eigs, "W", cfg.hessian.method, cfg.chunk)
    rep = outlier_report(eigs, cfg.width, d, teacher.theta, at.W, cfg.hessian.outliers, cfg.hessian.learned_tol,
                         copies=saddle_copies(at))
    metrics = {
        "n": float(n),
        "final_overlap": subspace_overlap(traj.net.W, teacher.theta) if cfg.width >= 1 else math.nan,
        "final_best_overlap": best_neuron_overlap(traj.net.W, teacher.theta),
        "final_risk": float(traj.risk[-1]),
        "phase_end_step": float(traj.phase_end) if traj.phase_end is not None else -1.0,
        "hess_min": float(rep.values[0]),
        "hess_min2": float(rep.values[1]),
        "hess_outlier_mean": float(np.mean(rep.values[: rep.q])),
        "hess_gap": rep.gap,
        "hess_edge": rep.edge,
        "outlier_overlap": rep.overlap_new,
        "outlier_overlap_theta": rep.overlap_theta,
        "learned": float(rep.learned),
    }
    if rep.next_index >= 0:  # the eigenpair along the new directions (the next direction's outlier)
        metrics.update({"next_value": rep.next_value, "next_overlap": rep.next_overlap, "next_index": float(rep.next_index)})
    theory, not_applicable = {}, None
    if cfg.theory:
        try:
            theory = predictions(cfg)
        except (GiantstepError, ArithmeticError) as exc:  # outside the theory's domain: the run stands
            not_applicable = " ".join(f"{type(exc).__name__}: {exc}".split())
    # a prediction that does not apply (NaN) or is infinite is left out of the metrics (it stays in the record)
    metrics.update({k: v for k, v in theory.items() if math.isfinite(v)})
    arrays = {
        "steps": traj.steps,
        "overlaps": traj.overlaps,
        "norms": traj.norms,
        "risk": traj.risk,
        "grad_norm": traj.grad_norm,
        "hess_eigs": rep.values,
    }
    record = {
        "kind": "phase",
        "version": __version__,
        "config": cfg.model_dump(mode="json"),
        "sizes": {"d": d, "n": n, "width": cfg.width, "k": t.k, "delta": cfg.delta},
        "seed": cfg.seed,
        "phase_end": {
            "step": traj.phase_end,
            "rule": f"first step with ||grad|| <= {cfg.gd.floor:g} or ||grad|| <= {cfg.gd.rho:g} * its peak after the peak",
            "bias": float(at.b),
        },
        "hessian": {
            "smallest": [float(v) for v in rep.values],
            "gap": rep.gap,
            "edge": rep.edge,
            "outliers_examined": rep.q,
            "outlier_overlap": rep.overlap_new,
            "outlier_overlap_theta": rep.overlap_theta,
            "learned_directions": rep.learned,
            "next_direction": {"index": rep.next_index, "value": rep.next_value if rep.next_index >= 0 else None,
                               "overlap": rep.next_overlap if rep.next_index >= 0 else None},
        },
        "metrics": {k: (v if math.isfinite(v) else None) for k, v in metrics.items()},
        "theory": ({k: (v if math.isfinite(v) else None) for k, v in theory.items()} if not_applicable is None
                   else {"not_applicable": not_applicable}),
    }
    return ExperimentResult(record, metrics, arrays)


register(
    ExperimentKind(
        name="phase",
        config_model=PhaseConfig,
        run=run,
        description="small-width GD, Hessian negative outlier at the end of the large-gradient phase, final overlap",
    )
)
