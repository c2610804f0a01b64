r"""The predictions that apply to a ``steps`` run config, shaped like the measured record.

:func:`steps_predictions` returns

    {"weights": [{"t": 0, "bulk_edge", "singular_values": [s1], "outliers", "overlaps": [[...]]},
                 {"t": 1, ...}],                     # t = 1 only when theory 1.2-1.4 applies
     "one_step": {...},                               # keys of ``giantstep theory one-step``
     "two_step": {...},                               # if >= 2 steps (theory 4)
     "readout": {"test_error": ...},                  # Mei-Montanari (no steps) or sRF (alpha = 1/2)
     "regime": "..."}

Units are those of the measured record: singular values of W_t (N x d, rows of norm ~ 1), so the
t = 0 bulk edge is 1 + sqrt(N/d) (sqrt(2) + sqrt(N/d) for paired rows), overlaps are
|<v1(W_t), theta*_i>| (not squared), one row (the top singular vector) by k columns.

Teachers: k = 1 with any link; k > 1 with ``combine: sum`` (y = k^{-1/2} sum_i g(z_i)), whose
linear part is mu1*(g) times the unit vector sum_i theta*_i / sqrt(k), so each |<v1, theta*_i>| is
the single-index overlap divided by sqrt(k). Other combines get the t = 0 entry only.
Repeated (full-batch GD) entries are outside every formula here and end the predictions.
"""

from __future__ import annotations

import math
from typing import Any

from ..activations import get_activation
from ..errors import DivergenceError
from ..hermite import hermite_coefficients, hermite_constants
from .mei_montanari import lambda_from_readout_ridge, rf_ridge_risk
from .mp import initial_singular_edge
from .first_step import TeacherMoments, teacher_moments
from .one_step import one_step_from_moments
from .srf import srf_parameters, srf_test_error
from .two_step import two_step_terms


def _teacher_moments(cfg) -> TeacherMoments | None:
    """(mu1*, E[y^2], overlap factor 1/sqrt(k)) or None if no formula applies."""
    t = cfg.teacher
    if t.k == 1 or t.combine == "sum":
        return teacher_moments(t.link, t.noise, t.k, t.combine)
    return None


def _is_odd(activation: str) -> bool:
    c = hermite_coefficients(activation, 10)
    scale = math.sqrt(max(hermite_constants(activation).second_moment, 1e-300))
    return all(abs(c[k]) <= 1e-9 * scale * math.sqrt(math.factorial(k)) for k in range(0, 11, 2))


def steps_predictions(cfg) -> dict[str, Any]:
    """Theory predictions for a :class:`~giantstep.experiments.config.StepsConfig` (see module doc)."""
    N, d, n, k = cfg.width, cfg.d, cfg.n, cfg.teacher.k
    edge0 = initial_singular_edge(N, d, paired=cfg.second_layer == "symmetric")
    out: dict[str, Any] = {
        "weights": [{"t": 0, "bulk_edge": edge0, "singular_values": [edge0], "outliers": 0, "overlaps": [[0.0] * k]}]
    }
    regimes = ["t = 0: Marchenko-Pastur edge of W0"]
    moments = _teacher_moments(cfg)
    steps = list(cfg.steps)
    h_link = hermite_constants(get_activation(cfg.teacher.link, field_name="teacher.link"))

    if not steps and cfg.readout is not None and moments is not None and cfg.teacher.k == 1:
        hs = hermite_constants(cfg.activation)
        if hs.mustar > 1e-9 and cfg.readout.ridge > 0:
            psi1, psi2 = N / d, cfg.readout.n_train / d
            fstar = math.sqrt(max(h_link.second_moment - h_link.mu0**2 - h_link.mu1**2, 0.0))
            try:
                r = rf_ridge_risk(cfg.activation, psi1, psi2, lambda_from_readout_ridge(cfg.readout.ridge, psi1),
                                  abs(h_link.mu1), fstar, cfg.teacher.noise)
            except DivergenceError as exc:
                regimes.append(f"readout: no prediction ({exc.reason})")
            else:
                out["readout"] = {"test_error": r.risk, "bias": r.bias, "variance": r.variance,
                                  "regime": "Mei-Montanari random features, lambda = ridge/psi1"}
                regimes.append("readout: Mei-Montanari")

    if steps and moments is not None and steps[0].repeat == 1:
        ov_factor = moments.overlap_factor
        s0 = steps[0]
        p = one_step_from_moments(cfg.activation, moments, d, N, n, s0.eta0, s0.alpha,
                                  second_layer=cfg.second_layer, residual=cfg.residual)
        out["one_step"] = p.as_dict()
        out["weights"].append(
            {
                "t": 1,
                "bulk_edge": p.bulk_edge,
                "singular_values": [p.s1_weights],
                "outliers": int(p.outlier),
                "overlaps": [[p.overlap_theta * ov_factor] * k],
                "regime": p.regime,
            }
        )
        regimes.append("t = 1: " + p.regime)
        if len(steps) >= 2 and steps[1].repeat == 1 and cfg.teacher.k == 1:
            s1 = steps[1]
            if s0.alpha < 0.5 and s1.alpha < 0.5:
                out["two_step"] = two_step_terms(
                    cfg.activation, cfg.teacher.link, cfg.teacher.noise, d, N, n,
                    s0.eta0, s0.alpha, s1.eta0, s1.alpha, s1.batch, cfg.second_layer,
                )
                regimes.append("step 2: power counting (exponents asymptotic)")
            else:
                regimes.append("step 2: alpha = 1/2 is outside the power counting of theory 4")
        if len(steps) > 2:
            regimes.append("steps beyond the second: no prediction")
        srf_ok = (
            len(steps) == 1 and s0.alpha == 0.5 and cfg.readout is not None and N == d and cfg.teacher.k == 1
            and cfg.second_layer == "rademacher" and cfg.residual in ("centered", "label") and _is_odd(cfg.activation)
            and cfg.readout.ridge > 0
        )
        if srf_ok:
            par = srf_parameters(cfg.activation, cfg.teacher.link, cfg.teacher.noise, s0.eta0, n / d)
            ro = cfg.readout
            lam = ro.ridge * ro.n_train / N  # sum loss + lam ||a||^2 with yhat = a.phi/sqrt(p)
            try:
                res = srf_test_error(cfg.activation, cfg.teacher.link, par.r, par.c, par.gamma, ro.n_train / d, lam,
                                     noise=cfg.teacher.noise)
            except DivergenceError as exc:
                regimes.append(f"readout: no prediction ({exc.reason})")
            else:
                out["readout"] = {"test_error": res.test_error, "r": par.r, "c": par.c, "gamma": par.gamma,
                                  "iterations": res.iterations,
                                  "regime": "spiked random features (theory 3.3), odd sigma, +-1 second layer"}
                regimes.append("readout: spiked random features")
    elif steps:
        regimes.append("no one-step prediction: repeated steps or a teacher combine without a linear-part formula")
    out["regime"] = "; ".join(regimes)
    return out
