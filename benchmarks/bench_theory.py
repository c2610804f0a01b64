"""Benchmark: speed of the theory oracle.

(a) a 200-point Mei-Montanari risk curve (psi1 from 0.1 to 10 at psi2 = 3, lambda = 1e-3, relu),
    computed in one vectorised call after the Hermite constants are cached (target: well under 1 s);
(b) one spiked-random-features test-error point (tanh/tanh, eta0 = 3, psi2 = 2, readout n/d = 2,
    lam = 0.1): the fixed-point solver only, spectral averages from the Marchenko-Pastur law, no
    random matrix (target: under a few seconds);
(c) the same sRF solve at a small-ridge point where the damped iteration hands over to the
    root finder (r = 0, lam = 1e-3), the slowest case met in the tests;
(d) the feature-spectrum density after one step (tanh/tanh, eta0 = 3, psi2 = 2, n/d = 2) on a
    2000-point grid (target: under a second), and the full spectrum (support, outliers at p = 1000,
    200-point density).

Each row is the best of 3 repetitions. Run standalone: ``python benchmarks/bench_theory.py``
(prints one JSON object per row).
"""

from __future__ import annotations

import json

import numpy as np

try:
    from .floor import best_of
except ImportError:  # run as a script: python benchmarks/bench_theory.py
    from floor import best_of


def measure() -> list[dict]:
    """Rows {"name", "seconds", "note"}."""
    from giantstep.hermite import hermite_constants
    from giantstep.theory.mei_montanari import rf_ridge_risk
    from giantstep.theory.srf import srf_parameters, srf_test_error

    hermite_constants("relu")  # warm the quadrature cache (not part of the curve's cost)
    psi1 = np.linspace(0.1, 10.0, 200)
    t_mm = best_of(lambda: rf_ridge_risk("relu", psi1, 3.0, 1e-3, 1.0, 0.5, 0.3))
    par = srf_parameters("tanh", "tanh", 3.0, 2.0)
    res = srf_test_error("tanh", "tanh", par.r, par.c, par.gamma, 2.0, 0.1)
    t_srf = best_of(lambda: srf_test_error("tanh", "tanh", par.r, par.c, par.gamma, 2.0, 0.1))
    from giantstep.theory import feature_spectrum as fs

    model = fs.feature_model_from_step("tanh", "tanh", 3.0, 2.0, 2.0)
    sup = fs.feature_bulk_edges(model)
    grid = np.linspace(sup.lower, sup.upper, 2000)
    t_density = best_of(lambda: fs.feature_density(grid, model))
    t_spectrum = best_of(lambda: fs.feature_spectrum(model, grid=200, width=1000), repeats=1)
    hard = srf_test_error("tanh", "tanh", 0.0, 1.0, 0.8, 2.0, 1e-3)
    t_hard = best_of(lambda: srf_test_error("tanh", "tanh", 0.0, 1.0, 0.8, 2.0, 1e-3), repeats=1)
    return [
        {"name": "mei_montanari_curve_200", "seconds": t_mm,
         "note": "200 points, psi1 in [0.1, 10], psi2 = 3, lambda = 1e-3, relu; one vectorised fixed point"},
        {"name": "srf_test_error_point", "seconds": t_srf,
         "note": f"tanh/tanh eta0 = 3: error {res.test_error:.4f}, {res.iterations} damped iterations "
                 f"({res.method}), {res.kappa_nodes} x {res.z_nodes} quadrature nodes (checked at three "
                 f"resolutions); MP quadrature, no random matrix"},
        {"name": "srf_test_error_point_hard", "seconds": t_hard,
         "note": f"r = 0, lam = 1e-3: error {hard.test_error:.4f}, {hard.method} "
                 f"({hard.iterations} damped iterations, {hard.root_evaluations} root evaluations)"},
        {"name": "feature_density_2000", "seconds": t_density,
         "note": "feature-spectrum density after one step on 2000 points (tanh/tanh, eta0 = 3); no random matrix"},
        {"name": "feature_spectrum_point", "seconds": t_spectrum,
         "note": "support (scan + bisection), outliers at p = 1000 (secular equation), 200-point density"},
    ]


if __name__ == "__main__":
    for row in measure():
        print(json.dumps(row))
