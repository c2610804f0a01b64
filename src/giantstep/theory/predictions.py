r"""The predictions that apply to a ``steps`` run config, shaped like the measured record.

:func:`steps_predictions` returns

    {"weights": [{"t": 0, "bulk_edge", "singular_values": [s1], "outliers", "overlaps": [[...]]},
                 {"t": 1, ...}],                     # t = 1 only when the one-step formula applies
     "first_step": {...},                             # theory.first_step: ||vhat||^2, gamma, s, c, ...
     "one_step": {...},                               # keys of ``giantstep theory one-step``
     "two_step": {...},                               # if >= 2 steps (docs/theory.md, section 9)
     "readout": {"test_error": ...},                  # Mei-Montanari (W = W0) or sRF (alpha = 1/2)
     "assumptions": {...},                            # the model the numbers describe
     "regime": "..."}

A quantity whose formula does not apply to the config is recorded as the string
``"not applicable: <the violated condition>"`` (the :class:`~giantstep.errors.ValidityError` of the
theory function, or the condition checked here), one whose solver fails as
``"solver failed: <reason>"``; never as a number.

Units are those of the measured record: singular values of W_t (N x d, rows of norm ~ 1), so the
t = 0 bulk edge is 1 + sqrt(N/d) (sqrt(2) + sqrt(N/d) for paired rows), overlaps are
|<v1(W_t), theta*_i>| (not squared), one row (the top singular vector) by k columns.

Teachers: k = 1 with any link; k > 1 with ``combine: sum`` (y = k^{-1/2} sum_i g(z_i)), whose
linear part is mu1*(g) times the unit vector sum_i theta*_i / sqrt(k), so each |<v1, theta*_i>| is
the single-index overlap divided by sqrt(k). Other combines get the t = 0 entry only.
Repeated (full-batch GD) entries are outside every formula here.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from ..errors import DivergenceError, ValidityError
from ..hermite import hermite_constants
from .domain import require
from .first_step import TeacherMoments, first_step_from_moments, teacher_moments
from .mei_montanari import lambda_from_readout_ridge, rf_ridge_risk
from .mp import initial_singular_edge
from .one_step import one_step_from_moments
from .srf import srf_parameters, srf_test_error
from .two_step import two_step_terms


def attempt(compute: Callable[[], Any]) -> Any:
    """``compute()``, or the string that replaces a number whose formula does not apply or fails."""
    try:
        return compute()
    except ValidityError as exc:
        return f"not applicable: {exc.condition}"
    except DivergenceError as exc:
        return f"solver failed: {exc.reason}"


def _teacher_moments(cfg) -> TeacherMoments:
    t = cfg.teacher
    require(t.k == 1 or t.combine == "sum", f"teacher: combine '{t.combine}' has no linear-part formula (k = {t.k})")
    return teacher_moments(t.link, t.noise, t.k, t.combine)


def _single_step(cfg) -> Any:
    steps = list(cfg.steps)
    require(bool(steps), "no gradient step in the config")
    require(steps[0].repeat == 1, "the first entry repeats (gradient descent): outside the one-step formulas")
    return steps[0]


def _one_step(cfg) -> dict:
    s0, moments = _single_step(cfg), _teacher_moments(cfg)
    p = one_step_from_moments(cfg.activation, moments, cfg.d, cfg.width, cfg.n, s0.eta0, s0.alpha,
                              second_layer=cfg.second_layer, residual=cfg.residual)
    return p.as_dict()


def _first_step(cfg) -> dict:
    s0, moments = _single_step(cfg), _teacher_moments(cfg)
    fs = first_step_from_moments(cfg.activation, moments, cfg.n / cfg.d, s0.eta0 * cfg.width ** (s0.alpha - 0.5),
                                 second_layer=cfg.second_layer, residual=cfg.residual)
    return fs.as_dict()


def _two_step(cfg) -> dict:
    steps = list(cfg.steps)
    require(len(steps) >= 2 and steps[0].repeat == 1 and steps[1].repeat == 1,
            "two single gradient steps (no repetition) for the second-step power counting")
    require(cfg.teacher.k == 1, "a single-index teacher for the second-step power counting")
    s0, s1 = steps[0], steps[1]
    return two_step_terms(cfg.activation, cfg.teacher.link, cfg.d, cfg.width, cfg.n, s0.eta0, s0.alpha, s1.eta0,
                          s1.alpha, noise=cfg.teacher.noise, batch=s1.batch, second_layer=cfg.second_layer,
                          residual=cfg.residual).as_dict()


def _mm_readout(cfg) -> dict:
    ro, t = cfg.readout, cfg.teacher
    require(t.k == 1, "Mei-Montanari readout: a single-index teacher")
    require(ro.ridge > 0, "Mei-Montanari readout: ridge > 0")
    h = hermite_constants(t.link)
    psi1, psi2 = cfg.width / cfg.d, ro.n_train / cfg.d
    fstar = math.sqrt(max(h.second_moment - h.mu0**2 - h.mu1**2, 0.0))
    r = rf_ridge_risk(cfg.activation, psi1, psi2, lambda_from_readout_ridge(ro.ridge, psi1), abs(h.mu1), fstar, t.noise)
    return {"test_error": r.risk, "bias": r.bias, "variance": r.variance,
            "regime": "Mei-Montanari random features, ridge_mm = ridge/psi1"}


def _srf_readout(cfg) -> dict:
    steps, ro = list(cfg.steps), cfg.readout
    require(len(steps) == 1 and steps[0].repeat == 1 and steps[0].alpha == 0.5,
            "sRF readout: exactly one maximal step (alpha = 1/2) before the readout")
    require(cfg.width == cfg.d, f"sRF readout: p = d (width {cfg.width} != d {cfg.d})")
    require(cfg.teacher.k == 1, "sRF readout: a single-index teacher")
    require(cfg.second_layer == "rademacher", "sRF readout: a +-1 second layer (a_i = 1 for an odd activation)")
    require(cfg.residual in ("label", "centered"), "sRF readout: f0 removed from the residual (label or centered)")
    require(ro.ridge > 0, "sRF readout: ridge > 0")
    par = srf_parameters(cfg.activation, cfg.teacher.link, steps[0].eta0, cfg.n / cfg.d, noise=cfg.teacher.noise)
    lam = ro.ridge * ro.n_train / cfg.width  # sum loss + lam ||a||^2 with yhat = a.phi/sqrt(p)
    res = srf_test_error(cfg.activation, cfg.teacher.link, par.r, par.c, par.gamma, ro.n_train / cfg.d, lam,
                         noise=cfg.teacher.noise, d=cfg.d)
    return {"test_error": res.test_error, "r": par.r, "c": par.c, "gamma": par.gamma, "method": res.method,
            "iterations": res.iterations, "solver_residual": res.solver_residual,
            "regime": "spiked random features (docs/theory.md, section 8), odd sigma, +-1 second layer, "
                      "readout with an intercept"}


def _leaves_w0(cfg) -> bool:
    """No step moves W (no steps, or eta0 = 0 in every one): the readout sees the random features of W0."""
    return all(step.eta0 == 0 for step in cfg.steps)


def _weights_entry(cfg, one: Any, overlap_factor: float) -> dict | None:
    """The t = 1 entry beside the measured record (None when the one-step formula does not apply)."""
    if not isinstance(one, dict):
        return None
    return {"t": 1, "bulk_edge": one["bulk_edge"], "singular_values": [one["s1_weights"]], "outliers": int(one["outlier"]),
            "overlaps": [[one["overlap_theta"] * overlap_factor] * cfg.teacher.k], "regime": one["regime"]}


def steps_predictions(cfg) -> dict[str, Any]:
    """Theory predictions for a :class:`~giantstep.experiments.config.StepsConfig` (see module doc)."""
    N, d, k = cfg.width, cfg.d, cfg.teacher.k
    edge0 = initial_singular_edge(N, d, paired=cfg.second_layer == "symmetric")
    out: dict[str, Any] = {
        "weights": [{"t": 0, "bulk_edge": edge0, "singular_values": [edge0], "outliers": 0, "overlaps": [[0.0] * k]}],
        "assumptions": {"residual": cfg.residual, "second_layer": cfg.second_layer, "activation": cfg.activation,
                        "teacher": f"{cfg.teacher.link} (k = {k}, combine {cfg.teacher.combine}, noise {cfg.teacher.noise:g})"},
    }
    if cfg.steps:
        out["first_step"] = attempt(lambda: _first_step(cfg))
        out["one_step"] = attempt(lambda: _one_step(cfg))
        factor = attempt(lambda: _teacher_moments(cfg).overlap_factor)
        entry = _weights_entry(cfg, out["one_step"], factor if isinstance(factor, float) else 1.0)
        if entry is not None:
            out["weights"].append(entry)
        if len(cfg.steps) >= 2:
            out["two_step"] = attempt(lambda: _two_step(cfg))
    if cfg.readout is not None:
        out["readout"] = attempt(lambda: _mm_readout(cfg) if _leaves_w0(cfg) else _srf_readout(cfg))
    out["regime"] = _regime(out)
    return out


def _regime(out: dict) -> str:
    """One line: what each block is, or why it is not there."""
    parts = ["t = 0: Marchenko-Pastur edge of W0"]
    for key in ("first_step", "one_step", "two_step", "readout"):
        if key in out:
            val = out[key]
            parts.append(f"{key}: {val if isinstance(val, str) else val.get('regime', 'formula applies')}")
    return "; ".join(parts)
