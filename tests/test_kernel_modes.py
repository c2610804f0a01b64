"""Section 9.3 predictions (giantstep.theory.kernel_modes): exact law eigenvalues, the corrected
leading-order formulas, the large-step operator k0, the ``kernel`` experiment and the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from giantstep.errors import ConfigError
from giantstep.experiments.kinds import parse_config, run_config
from giantstep.kernels import mixing_angle, mode_forms_from_weights
from giantstep.theory.feature_law import SpikedLaw
from giantstep.theory.kernel_modes import (
    k0_spectrum,
    law_mode_forms,
    leading_order,
    mode_predictions,
)

C2 = 1 / math.sqrt(2 * math.pi)


def test_isotropic_law_gives_exact_relu_values():
    d = 64
    e = law_mode_forms("relu", SpikedLaw(d, 0.0)).eigenvalues
    assert e["const"] == pytest.approx(1 / (2 * math.pi), rel=1e-12)
    assert e["lin_u"] == pytest.approx(0.25 / d, rel=1e-12)
    assert e["lin_e"] == pytest.approx(0.25 / d, rel=1e-12)
    assert e["radial"] == pytest.approx(C2**2 / (2 * d), rel=1e-12)
    assert e["quad_u"] == pytest.approx(C2**2 / (d * (d + 2)), rel=1e-7)
    assert e["cross_e"] == pytest.approx(C2**2 / (d * (d + 2)), rel=1e-7)
    assert law_mode_forms("relu", SpikedLaw(d, 0.0)).mixing_angle_deg < 1e-6


@pytest.mark.parametrize("layer", ["gaussian", "rademacher"])
def test_law_quadrature_matches_monte_carlo_over_rows(layer):
    # 200k rows drawn from the law; (1/N) sum P_f^2 has relative MC error <~ sqrt(Var(P^2))/(E P^2 sqrt(N))
    # ~ 3/sqrt(N) = 0.7% for the heaviest (quadratic) modes: tolerance 3%.
    rng = np.random.default_rng(0)
    d, s, gamma, infl = 32, 0.5, 0.8, 0.2
    theta = np.eye(d)[0]
    u = gamma * theta + math.sqrt(1 - gamma**2) * np.eye(d)[1]
    N = 200_000
    a = rng.standard_normal(N) if layer == "gaussian" else rng.choice([-1.0, 1.0], N)
    W = np.sqrt(1 + infl * a * a)[:, None] * rng.standard_normal((N, d)) / math.sqrt(d) + s * np.outer(a, u)
    E = np.eye(d)[:, 2:4]
    mc = mode_forms_from_weights("relu", W, theta, E)
    law = law_mode_forms("relu", SpikedLaw(d, s, inflation=1 + infl, second_layer=layer), gamma)
    for name, val in law.eigenvalues.items():
        if name != "quad_u_deflated":
            assert mc.eigenvalue(name) == pytest.approx(val, rel=0.03), name
    assert mixing_angle(mc) == pytest.approx(law.mixing_angle_deg, abs=1.0)


def test_corrected_leading_order_is_the_large_d_limit():
    # at d = 4096, beta = 2 the exact-law ratios are within O(beta/d) + O(1/sqrt(d)) of the formulas
    d, beta = 4096, 2.0
    p = mode_predictions("relu", SpikedLaw(d, math.sqrt(beta / d)))
    lo = leading_order("relu", d, beta)
    assert p.ratio["lin_u"] == pytest.approx(lo.ratio_lin_u, rel=1e-9)  # exact for relu
    assert p.ratio["quad_u_deflated"] == pytest.approx(lo.ratio_quad_u_deflated, rel=0.01)
    assert p.ratio["quad_u"] == pytest.approx(lo.ratio_quad_u, rel=0.01)
    assert p.mixing_angle_after_deg == pytest.approx(lo.mixing_angle_deg, rel=0.01)
    assert p.ratio["lin_e"] == pytest.approx(1.0, abs=1e-9)
    # seed 000's (1 + beta)^2 is the deflated (harmonic) eigenvalue, not the Rayleigh quotient
    # of He2(<u,x>): that one is 1 + 2 beta + 1.5 beta^2 = 11 here, 22% above (1 + beta)^2 = 9.
    assert p.ratio["quad_u"] > 1.2 * (1 + beta) ** 2


def test_k0_operator_exact_values():
    # relu: m0(t) - m0(-t) = t, so the odd eigenvalue is s^2 E[a^2] / 4 exactly; +-1 a gives rank 2
    for layer in ("gaussian", "rademacher"):
        k = k0_spectrum("relu", SpikedLaw(8, 1.3, second_layer=layer), top=4)
        assert 1.3**2 / 4 in [pytest.approx(v, rel=1e-10) for v in k.eigenvalues]
        assert np.all(k.hermite_content.sum(axis=1) <= 1 + 1e-9)
    assert len(k0_spectrum("relu", SpikedLaw(8, 1.3, second_layer="rademacher"), top=6).eigenvalues) == 2
    # s -> 0: the constant mode mu0^2
    assert k0_spectrum("relu", SpikedLaw(8, 1e-4)).eigenvalues[0] == pytest.approx(1 / (2 * math.pi), rel=1e-6)


def test_kernel_experiment_runs_and_measures_amplification():
    # one-step relu network, d = 32, N = 128, n = 128, eta0 = 8, alpha = 0 (beta ~ 5), 3 seeds.
    # Tolerance on the <theta*,x> amplification (exact in x): 3 x (seed stderr) + |pred| (1/d + 1/n)
    # (the O(1/d), O(1/n) terms left out of the spiked law).
    vals = []
    for seed in range(3):
        res = run_config({"kind": "kernel", "seed": seed, "d": 32, "width": 128, "n": 128, "m": 256,
                          "step": {"eta0": 8.0, "alpha": 0.0}, "top": 6})
        vals.append(res.metrics["ratio_w_lin_u"])
        assert all(math.isfinite(v) for k, v in res.metrics.items() if not k.startswith("fit_alignment"))
        assert res.record["spectrum"]["after"]["labels"][0] == "const"
    pred = res.metrics["pred_ratio_lin_u"]
    mean, se = float(np.mean(vals)), float(np.std(vals, ddof=1) / math.sqrt(3))
    assert pred > 3.0
    assert abs(mean - pred) <= 3 * se + pred * (1 / 32 + 1 / 128)
    assert res.metrics["ratio_w_lin_e"] == pytest.approx(1.0, abs=0.25)


def test_kernel_config_validation():
    with pytest.raises(ConfigError, match="'m'"):
        parse_config({"kind": "kernel", "d": 64, "width": 8, "n": 8, "m": 32, "step": {"eta0": 1.0}})
    with pytest.raises(ConfigError, match="'second_layer'"):
        parse_config({"kind": "kernel", "d": 16, "width": 8, "n": 8, "second_layer": "symmetric", "step": {"eta0": 1.0}})
    with pytest.raises(ConfigError, match="step"):
        parse_config({"kind": "kernel", "d": 16, "width": 8, "n": 8})


def test_cli_kernel_modes_json_and_bad_input(cli):
    out = cli("theory", "kernel-modes", "--d", "32", "--eta0", "4", "--json")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert data["ratio"]["lin_u"] > 1 and data["before"]["lin_u"] == pytest.approx(0.25 / 32)
    bad = cli("theory", "kernel-modes", "--second-layer", "uniform")
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1 and "second_layer" in bad.stderr


def test_cli_run_kernel_config_prints_one_json_object(cli, tmp_path):
    # a tiny step (eta0 = 0.1): no outlier, so the corrected alignment is undefined (null, not NaN)
    cfg = tmp_path / "kernel.yaml"
    cfg.write_text("kind: kernel\nd: 16\nwidth: 64\nn: 64\nm: 64\nstep: {eta0: 0.1, alpha: 0.0}\n")
    out = cli("run", str(cfg), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout.strip())
    assert data["kind"] == "kernel" and data["spike_fit"]["outlier"] is False
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: kernel\nd: 16\nwidth: 64\nn: 64\nm: 8\nstep: {eta0: 1.0}\n")
    res = cli("run", str(bad))
    assert res.returncode == 2 and "'m'" in res.stderr
