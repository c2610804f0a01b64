r"""The ``steps`` experiment: one, two or many large first-layer gradient steps, then spectra,
overlaps and an optional ridge readout (convention P; see :mod:`giantstep.experiments.config`).

Random streams (root seed = ``config.seed``; :mod:`giantstep.seeding`):
    ("teacher",)                 Theta*
    ("weights",)                 W0 and a
    ("data", i), ("noise", i)    the batch of schedule entry i (reused batches reuse the stream)
    ("data"|"noise", "readout-train"|"readout-test"|"probe")   readout and probe batches

Record (``giantstep run --json``): ``config`` (resolved), ``seed``, ``version``, ``weights``
(one entry per W_t: t = 0 initial, t = i + 1 after schedule entry i; each with
``singular_values`` (top, descending), ``bulk_edge`` (empirical), ``bulk_edge_mp`` (edge of the
initial law), ``outliers`` (count, rule in :mod:`giantstep.spectra`), ``overlaps`` (top x k list of
|<v_j, theta*_i>|), and for t >= 1 ``overlaps_previous`` (|<v_j(W_t), v_l(W_{t-1})>|), ``update``
(spectrum of W_t - W_{t-1}; with a Gaussian second layer also ``left_hermite_parts`` and
``left_hermite_bulk``, j = 0..3, flat metrics ``dw{t}.left_he2``, ``dw{t}.left_he3`` and their
``_bulk``: :func:`giantstep.spectra.left_hermite_parts`; ``theta_norm2`` = ||(W_t - W_{t-1}) Theta*||_F^2,
flat ``dw{t}.theta_norm2``), ``vhat_norm2``, ``vhat_overlap2``,
``eta``, ``residual_mse``),
``features`` (if requested), ``hermite_projections`` (if requested), ``readout``
(``train_error``, ``test_error``, ``test_mse``) when configured, ``theory`` (predictions from
:func:`giantstep.theory.predictions.steps_predictions`) and ``timings`` (seconds per phase).

Arrays (``arrays.npz`` of ``giantstep run --out``, the store's arrays of a sweep row): the spectra
(``w{t}.top_singular_values``, ``w{t}.overlaps``, with ``spectra.full`` every singular value) and,
with ``save.weights``, the state itself -- ``W0``..``WT``, ``a``, ``theta`` -- and with
``save.updates`` the updates ``dW1``..``dWT`` (:func:`saved_state`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import __version__
from ..backend import Backend, host_backend, select_backend, sync, to_host
from ..errors import GiantstepError, check_finite
from ..hermite import hermite_constants
from ..linalg import few_threads
from ..network import TwoLayerNetwork, init_network
from ..readout import fit_ridge, test_errors
from ..seeding import stream
from ..spectra import (MatrixSpectrum, feature_covariance_eigenvalues, initial_edge, left_hermite_parts, overlaps,
                       spectrum)
from ..targets import BatchSource, Teacher, make_teacher
from ..training import gradient_pass, gradient_step, step_size
from .config import StepsConfig
from .kinds import ExperimentKind, ExperimentResult, register

METRIC_TOP = 3  # singular values / overlaps per matrix exposed as flat metrics
LEFT_HERMITE_DEGREE = 3  # left parts He2(a), He3(a) of each update (Gaussian second layer)


@dataclass(frozen=True)
class Trajectory:
    """Weights after each schedule entry and what each step's pass measured."""

    weights: tuple[np.ndarray, ...]  # W_0, W_1, ... (each (N, d); backend arrays on a device)
    vhats: tuple[np.ndarray, ...]  # vhat of the first step of each entry
    etas: tuple[float, ...]
    residual_mse: tuple[float, ...]


def build(cfg: StepsConfig) -> tuple[TwoLayerNetwork, Teacher]:
    """Initial network and teacher for a config."""
    teacher = make_teacher(
        stream(cfg.seed, "teacher"), cfg.d, cfg.teacher.link, cfg.teacher.k, cfg.teacher.noise, cfg.teacher.combine
    )
    net = init_network(
        stream(cfg.seed, "weights"), cfg.d, cfg.width, cfg.activation, cfg.init, cfg.second_layer, np.dtype(cfg.dtype)
    )
    return net, teacher


def batch(cfg: StepsConfig, teacher: Teacher, index: "int | str", n: int | None = None) -> BatchSource:
    """Batch ``index`` of a run (float32 runs see the float64 draws rounded, see BatchSource)."""
    return BatchSource(cfg.seed, index, cfg.n if n is None else n, teacher, cfg.dtype)


def on_backend(net: TwoLayerNetwork, backend: Backend) -> TwoLayerNetwork:
    """The network with W and a copied to ``backend`` (itself on the host backend)."""
    if backend.is_host:
        return net
    return TwoLayerNetwork(backend.put(net.W), backend.put(net.a), net.activation)


def train(cfg: StepsConfig, net0: TwoLayerNetwork, teacher: Teacher, backend: Backend | None = None) -> Trajectory:
    """Apply the step schedule; entry i uses batch i (fresh) or the batch it reuses. With a
    device ``backend`` the weights in the trajectory are backend arrays and the batches are drawn
    on the host and copied (:meth:`giantstep.targets.BatchSource.device_chunks`); ``vhats`` are
    host arrays either way."""
    backend = backend or host_backend(cfg.dtype)
    net0 = on_backend(net0, backend)
    net = net0
    weights, vhats, etas, rmse = [net0.W], [], [], []
    source_of: list[int] = []
    for i, step in enumerate(cfg.steps):
        if step.batch == "fresh":
            src = i
        else:
            src = source_of[step.reuse_step if step.reuse_step is not None else i - 1] if i > 0 else 0
        source_of.append(src)
        eta = step_size(step.eta0, step.alpha, cfg.width)
        source = batch(cfg, teacher, src)
        first_vhat, first_mse = None, None
        for _ in range(step.repeat):
            ref = None if net is net0 else net0
            chunks = source.chunks(cfg.chunk) if backend.is_host else source.device_chunks(cfg.chunk, backend)
            gp = gradient_pass(net, chunks, cfg.residual, ref, backend)
            if first_vhat is None:
                first_vhat, first_mse = to_host(gp.vhat), gp.residual_mse
            net = gradient_step(net, gp.grad, eta)
        weights.append(net.W)
        vhats.append(first_vhat)
        etas.append(eta)
        rmse.append(first_mse)
    return Trajectory(tuple(weights), tuple(vhats), tuple(etas), tuple(rmse))


def _spectrum_entry(spec: MatrixSpectrum, theta: np.ndarray) -> dict[str, Any]:
    return {
        "singular_values": spec.pairs.s.tolist(),
        "bulk_edge": spec.bulk_edge,
        "outliers": spec.outliers,
        "overlaps": overlaps(spec.pairs.V, theta).tolist(),
    }


def hermite_projections(
    cfg: StepsConfig, net1: TwoLayerNetwork, vhat: np.ndarray, teacher: Teacher
) -> dict[str, Any]:
    r"""Per-degree feature spikes after step 1 (docs/theory.md, section 7), on a fresh probe batch.

    Estimand: m_k = E[He_k(kappa) f_k(x)], f_k = (1/N) sum_i a_i^k (F_c)_i, kappa = <x, u>,
    u = vhat/||vhat||, F_c the column-centered features of W1 (the mean over neurons of
    E[He_k(kappa) F_i] a_i^k). Leading order m_k -> c_k s^k with s = eta mu1 ||vhat|| / sqrt(N).

    Estimator (n probe samples, H the n x (K+1) matrix of He_0..He_K(kappa)): the least-squares
    coefficients of f_k on the Hermite basis, times k!,

        m_k = k! [ (H^T H)^{-1} H^T f_k ]_k.

    Since E[He_j He_k] = k! delta_jk this has the same population value as the plain projection
    (1/n) He_k(kappa)^T f_k, but it does not carry the probe's Gram fluctuation: the plain
    projection is m_k (1/n) sum He_k(kappa)^2 / k! + sum_{j != k} (m_j / j!) (1/n) He_j^T He_k + noise,
    whose first factor alone has relative sd sqrt(Var He_k(G)^2 / n) / k! (sqrt(2/n) = 1.1% for
    k = 1, sqrt(14/n) = 2.9% for k = 2 at n = 16384), the same at every N. The least-squares
    coefficient removes both terms up to degree K (bias O(1/n)). Measured (C2's ladder, relu,
    alpha = 0.3, 16 seeds, m_k rescaled to the predicted s): the per-seed sd of m_1 at N = d = 2048
    went from 0.94% to 0.10% of m_1, of m_2 from 2.1% to 0.5%; the means agree within their errors.
    """
    K = cfg.spectra.hermite_degree
    X, _ = batch(cfg, teacher, "probe", cfg.spectra.features_n).materialize()
    kappa = X @ (vhat / np.linalg.norm(vhat))
    F = net1.features(X)
    F -= F.mean(axis=0, keepdims=True)
    out = degree_projections(kappa, F, net1.a, K)
    return {"degrees": list(range(1, K + 1)), "measured": out.tolist(),
            "estimator": "least-squares coefficients on He_0..He_K(kappa), times k!"}


def degree_projections(kappa: np.ndarray, F: np.ndarray, a: np.ndarray, K: int) -> np.ndarray:
    r"""m_k = k! [(H^T H)^{-1} H^T f_k]_k for k = 1..K (the estimator of :func:`hermite_projections`).

    kappa: (n,) probe values of <x, u>; F: (n, N) features (centered or not: He_0 is in the basis);
    a: (N,) second layer; f_k = F a^k / N; H = [He_0(kappa) .. He_K(kappa)], (n, K + 1). Returns (K,).
    """
    from scipy.special import eval_hermitenorm

    H = np.stack([eval_hermitenorm(j, kappa) for j in range(K + 1)], axis=1)
    fk = F @ np.stack([a**k for k in range(1, K + 1)], axis=1) / F.shape[1]  # (n, K): column k-1 is f_k
    beta = np.linalg.lstsq(H, fk, rcond=None)[0]  # (K + 1, K): column k-1 holds f_k's coefficients
    return np.array([math.factorial(k) * beta[k, k - 1] for k in range(1, K + 1)])


def run(cfg: StepsConfig) -> ExperimentResult:
    """Run a ``steps`` config; see the module docstring for the record layout.

    Overflow is not an exception here: every stage checks its output for NaN/inf and raises
    :class:`~giantstep.errors.DivergenceError` with the stage's name.
    """
    backend = select_backend(cfg.device, cfg.dtype)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return run_on(cfg, backend)


def _update_entry(cfg: StepsConfig, traj: Trajectory, t: int, net0: TwoLayerNetwork, theta: np.ndarray, top: int,
                  arrays: dict, metrics: dict, backend: Backend) -> dict[str, Any]:
    """The entries of W_t (t >= 1) about its step: the update's spectrum, eta, vhat, residual MSE."""
    dW = traj.weights[t] - traj.weights[t - 1]
    upd = spectrum(dW, top, full=cfg.spectra.full, backend=backend)
    dW = to_host(dW)  # the theta* energy and the left Hermite parts on the host
    check_finite(f"the spectrum of W{t} - W{t - 1}", np.array([*upd.pairs.s, upd.bulk_edge]))
    entry: dict[str, Any] = {"update": _spectrum_entry(upd, theta)}
    if upd.all_values is not None:
        arrays[f"dw{t}.singular_values"] = upd.all_values
    vhat = traj.vhats[t - 1]
    vn2 = float(vhat @ vhat)
    entry["eta"] = traj.etas[t - 1]
    entry["residual_mse"] = traj.residual_mse[t - 1]
    entry["vhat_norm2"] = vn2
    entry["vhat_overlap2"] = float((theta[:, 0] @ vhat) ** 2 / vn2) if vn2 > 0 else 0.0
    entry["update"]["theta_norm2"] = float(np.sum((dW @ theta) ** 2))  # ||(W_t - W_{t-1}) Theta*||_F^2
    _flat(metrics, f"dw{t}", entry["update"])
    metrics[f"dw{t}.theta_norm2"] = entry["update"]["theta_norm2"]
    if cfg.second_layer == "gaussian":  # left Hermite parts He2(a), He3(a) of the update (docs/theory.md, section 9)
        parts, bulk = left_hermite_parts(dW, net0.a, LEFT_HERMITE_DEGREE)
        entry["update"]["left_hermite_parts"], entry["update"]["left_hermite_bulk"] = parts.tolist(), bulk.tolist()
        for j in range(2, min(LEFT_HERMITE_DEGREE, parts.size - 1) + 1):  # width <= 3: fewer directions
            metrics[f"dw{t}.left_he{j}"], metrics[f"dw{t}.left_he{j}_bulk"] = float(parts[j]), float(bulk[j])
    for key in ("eta", "vhat_norm2", "vhat_overlap2", "residual_mse"):
        metrics[f"w{t}.{key}"] = float(entry[key])
    return entry


def _weight_entries(cfg: StepsConfig, traj: Trajectory, net0: TwoLayerNetwork, theta: np.ndarray, top: int,
                    arrays: dict, metrics: dict, backend: Backend) -> list[dict[str, Any]]:
    """One record entry per W_t: spectrum, overlaps with theta* and with W_{t-1}, and the update."""
    edge0 = initial_edge(cfg.width, cfg.d, cfg.second_layer)
    entries: list[dict[str, Any]] = []
    prev_V = None
    for t, W in enumerate(traj.weights):
        spec = spectrum(W, top, full=cfg.spectra.full, backend=backend)
        check_finite(f"the spectrum of W{t}", np.array([*spec.pairs.s, spec.bulk_edge]))
        entry = {"t": t, **_spectrum_entry(spec, theta), "bulk_edge_mp": edge0}
        if spec.all_values is not None:
            arrays[f"w{t}.singular_values"] = spec.all_values
        if t >= 1:
            update = _update_entry(cfg, traj, t, net0, theta, top, arrays, metrics, backend)
            entry["update"] = update.pop("update")
            entry["overlaps_previous"] = overlaps(spec.pairs.V, prev_V).tolist()
            entry.update(update)
        _flat(metrics, f"w{t}", entry)
        arrays[f"w{t}.top_singular_values"] = spec.pairs.s
        arrays[f"w{t}.overlaps"] = np.asarray(entry["overlaps"])
        prev_V = spec.pairs.V
        entries.append(entry)
    return entries


def _feature_spectrum(cfg: StepsConfig, teacher: Teacher, net: TwoLayerNetwork, top: int, arrays: dict,
                      metrics: dict) -> dict[str, Any]:
    """The eigenvalues of the feature covariance of the last W on a fresh batch."""
    X, _ = batch(cfg, teacher, "features", cfg.spectra.features_n).materialize()
    ev = feature_covariance_eigenvalues(net.features(X))
    check_finite("the feature spectrum", ev)
    arrays["features.eigenvalues"] = ev
    for j in range(min(METRIC_TOP, ev.size)):
        metrics[f"features.lambda{j + 1}"] = float(ev[j])
    return {"eigenvalues_top": ev[:top].tolist(), "n": X.shape[0]}


def _hermite_block(cfg: StepsConfig, net0: TwoLayerNetwork, traj: Trajectory, teacher: Teacher, vhat_norm2: float,
                   metrics: dict) -> dict[str, Any]:
    """The per-degree feature projections after step 1 and their leading order c_k s^k."""
    net1 = net0.with_weights(to_host(traj.weights[1]))
    hp = hermite_projections(cfg, net1, traj.vhats[0], teacher)
    c = hermite_constants(cfg.activation).coefficients
    s = traj.etas[0] * hermite_constants(cfg.activation).mu1 * math.sqrt(vhat_norm2) / math.sqrt(cfg.width)
    hp["s"] = s
    hp["leading_order"] = [float(c[k] * np.float64(s) ** k) for k in hp["degrees"]]
    check_finite("the per-degree feature projections", np.array([s, *hp["measured"], *hp["leading_order"]]))
    for k, m in zip(hp["degrees"], hp["measured"]):
        metrics[f"hermite.m{k}"] = m
    metrics["hermite.s"] = s
    return hp


def _readout_block(cfg: StepsConfig, teacher: Teacher, net: TwoLayerNetwork, metrics: dict,
                   backend: Backend) -> dict[str, float]:
    """The ridge readout on the last W (on ``backend``): train error, test error and test MSE."""
    ro = cfg.readout
    fit = fit_ridge(net, batch(cfg, teacher, "readout-train", ro.n_train), ro.ridge, cfg.chunk, backend)
    test_error, test_mse = test_errors(net, fit, batch(cfg, teacher, "readout-test", ro.n_test), cfg.chunk, backend)
    check_finite("the readout test error", test_error)
    out = {"train_error": fit.train_error, "test_error": test_error, "test_mse": test_mse}
    for key, val in out.items():
        metrics[f"readout.{key}"] = float(val)
    return out


def _theory_block(cfg: StepsConfig, metrics: dict) -> dict[str, Any]:
    """The predictions of :func:`giantstep.theory.predictions.steps_predictions` (or why not)."""
    from ..theory.predictions import steps_predictions

    try:
        with few_threads(0.0):  # small dense problems only (quadrature rules, fixed points)
            theory = steps_predictions(cfg)
    except (GiantstepError, ArithmeticError) as exc:  # outside the theory's domain: the run stands
        theory = {"not_applicable": " ".join(f"{type(exc).__name__}: {exc}".split())}
    _flat_theory(metrics, theory)
    return theory


def run_on(cfg: StepsConfig, backend: Backend) -> ExperimentResult:
    """:func:`run` on a given backend (:mod:`giantstep.backend`): the weights, batches, spectra
    and readout on it; theory, outlier counts and the record on the host. A non-numpy backend
    adds a ``backend`` block (library, device, dtype) to the record."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    net0, teacher = build(cfg)
    timings["init"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    traj = train(cfg, net0, teacher, backend)
    sync(traj.weights[-1])
    timings["steps"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    top = min(cfg.spectra.top, cfg.width, cfg.d)
    arrays: dict[str, np.ndarray] = {}
    metrics: dict[str, float] = {}
    entries = _weight_entries(cfg, traj, net0, teacher.theta, top, arrays, metrics, backend)
    timings["spectra"] = time.perf_counter() - t0
    arrays.update(saved_state(cfg, traj, net0, teacher))

    record: dict[str, Any] = {
        "kind": "steps",
        "config": cfg.model_dump(mode="json"),
        "seed": cfg.seed,
        "version": __version__,
        "weights": entries,
    }
    if not backend.is_host:
        record["backend"] = backend.describe()
    net_last = on_backend(net0, backend).with_weights(traj.weights[-1])
    host_last = net0.with_weights(to_host(traj.weights[-1]))  # features and probes run on the host
    stages = (
        ("features", cfg.spectra.features, lambda: _feature_spectrum(cfg, teacher, host_last, top, arrays, metrics)),
        ("hermite_projections", bool(cfg.spectra.hermite_degree and cfg.steps),
         lambda: _hermite_block(cfg, net0, traj, teacher, entries[1]["vhat_norm2"] if cfg.steps else 0.0, metrics)),
        ("readout", cfg.readout is not None, lambda: _readout_block(cfg, teacher, net_last, metrics, backend)),
        ("theory", cfg.theory, lambda: _theory_block(cfg, metrics)),
    )
    for key, wanted, stage in stages:
        if wanted:
            t0 = time.perf_counter()
            record[key] = stage()
            timings[key] = time.perf_counter() - t0
    record["timings"] = timings
    return ExperimentResult(record=record, metrics=metrics, arrays=arrays)


def saved_state(cfg: StepsConfig, traj: Trajectory, net0: TwoLayerNetwork, teacher: Teacher) -> dict[str, np.ndarray]:
    """The arrays asked for by ``cfg.save``: ``W0``..``WT`` (N x d), ``a`` (N,) and ``theta``
    (d x k) with ``save.weights``; ``dW1``..``dWT`` (W_t - W_{t-1}) with ``save.updates``."""
    out: dict[str, np.ndarray] = {}
    if cfg.save.weights:
        out.update({f"W{t}": to_host(W) for t, W in enumerate(traj.weights)})
        out["a"], out["theta"] = np.asarray(net0.a), np.asarray(teacher.theta)
    if cfg.save.updates:
        out.update({f"dW{t}": to_host(traj.weights[t] - traj.weights[t - 1]) for t in range(1, len(traj.weights))})
    return out


def _flat(metrics: dict[str, float], prefix: str, entry: dict[str, Any]) -> None:
    """Flat scalar metrics of one spectrum entry: s1..s3, overlap1..3 (with theta*_1), span1..3, counts."""
    s = entry["singular_values"]
    ov = np.asarray(entry["overlaps"])
    for j in range(min(METRIC_TOP, len(s))):
        metrics[f"{prefix}.s{j + 1}"] = float(s[j])
        metrics[f"{prefix}.overlap{j + 1}"] = float(ov[j, 0])
        metrics[f"{prefix}.span{j + 1}"] = float(np.linalg.norm(ov[j]))
    metrics[f"{prefix}.bulk_edge"] = float(entry["bulk_edge"])
    metrics[f"{prefix}.outliers"] = float(entry["outliers"])


def _flat_theory(metrics: dict[str, float], theory: dict[str, Any], prefix: str = "theory") -> None:
    """Flatten the scalar leaves of the theory block (lists of weights entries by their t)."""
    for key, val in theory.items():
        name = f"{prefix}.{key}"
        if isinstance(val, (bool, int, float)):
            _put(metrics, name, val)
        elif isinstance(val, dict):
            _flat_theory(metrics, val, name)
        elif key == "weights" and isinstance(val, list):
            for entry in val:
                t = entry.get("t")
                for k2, v2 in entry.items():
                    if k2 == "t":
                        continue
                    if isinstance(v2, (int, float)):
                        _put(metrics, f"theory.w{t}.{k2}", v2)
                    elif k2 == "singular_values" and v2:
                        _put(metrics, f"theory.w{t}.s1", v2[0])
                    elif k2 == "overlaps" and v2:
                        _put(metrics, f"theory.w{t}.overlap1", v2[0][0])


def _put(metrics: dict[str, float], name: str, value: float) -> None:
    """A predicted scalar as a metric; an infinite or NaN prediction stays in the record only."""
    if math.isfinite(float(value)):
        metrics[name] = float(value)


register(ExperimentKind("steps", StepsConfig, run, "large first-layer gradient steps, spectra, readout"))
