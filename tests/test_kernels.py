"""Random-feature kernels (giantstep.kernels): closed forms vs quadrature, the two views of the
spiked kernel, Monte-Carlo widths, isotropic mode eigenvalues, and the spiked-Gaussian fit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from giantstep.errors import ConfigError
from giantstep.kernels import (
    MODE_NAMES,
    candidate_values,
    empirical_kernel,
    fit_spiked_gaussian,
    generic_directions,
    input_space_kernel,
    kernel_spectrum,
    mixing_angle,
    mode_forms_from_features,
    mode_forms_from_weights,
    pair_expectation,
    rayleigh_from_kernel,
    scaled_hermite,
    spiked_kernel,
)
from giantstep.theory.feature_law import SpikedLaw

MU0 = C2 = 1 / math.sqrt(2 * math.pi)  # relu: mu0 = c2 = 1/sqrt(2 pi)
MU1 = 0.5

COVS = [(1.0, 1.0, 0.0), (1.0, 1.0, 1.0), (0.7, 1.3, -0.5), (2.3, 1.1, 1.5), (0.2, 3.0, 0.7)]


@pytest.mark.parametrize("name", ["relu", "erf"])
def test_closed_forms_equal_adaptive_quadrature(name):
    c11, c22, c12 = (np.array(v) for v in zip(*COVS))
    closed = pair_expectation(name, c11, c22, c12, method="closed")
    adaptive = pair_expectation(name, c11, c22, c12, method="adaptive")
    np.testing.assert_allclose(closed, adaptive, atol=1e-8, rtol=0)


def test_erf_closed_form_equals_gauss_hermite_and_special_values():
    c11, c22, c12 = (np.array(v) for v in zip(*COVS))
    gh = pair_expectation("erf", c11, c22, c12, method="gauss-hermite", nodes=64)
    np.testing.assert_allclose(pair_expectation("erf", c11, c22, c12, method="closed"), gh, atol=1e-8, rtol=0)
    # diagonal: E erf(G)^2 = (2/pi) arcsin(2/3); relu: E relu(G)^2 = 1/2; orthogonal relu: mu0^2
    assert pair_expectation("erf", 1.0, 1.0, 1.0) == pytest.approx(2 / math.pi * math.asin(2 / 3), abs=1e-14)
    assert pair_expectation("relu", 1.0, 1.0, 1.0) == pytest.approx(0.5, abs=1e-14)
    assert pair_expectation("relu", 1.0, 1.0, 0.0) == pytest.approx(MU0**2, abs=1e-14)


def test_gauss_hermite_misses_the_relu_kink_but_adaptive_does_not():
    # documents why relu uses the closed form: tensor Gauss-Hermite is ~1e-3 off at a kink
    gh = pair_expectation("relu", 2.3, 1.1, 1.5, method="gauss-hermite", nodes=64)
    exact = pair_expectation("relu", 2.3, 1.1, 1.5, method="closed")
    assert 1e-6 < abs(gh - exact) < 1e-2


@pytest.mark.parametrize("name", ["relu", "erf", "tanh"])
def test_parameter_space_view_equals_input_space_view(name):
    rng = np.random.default_rng(0)
    d = 12
    law = SpikedLaw(d=d, s=0.8, u=rng.standard_normal(d), bulk=1.3)
    X = rng.standard_normal((30, d))
    Xp = rng.standard_normal((20, d))
    np.testing.assert_allclose(spiked_kernel(name, X, Xp, law=law), input_space_kernel(name, X, Xp, law=law), atol=1e-12)


@pytest.mark.parametrize("layer,name", [("gaussian", "tanh"), ("rademacher", "relu")])
def test_width_infinity_kernel_is_the_limit_of_the_empirical_kernel(layer, name):
    # Monte Carlo over N rows: each entry within 5 standard errors (sd of sigma sigma' / sqrt(N))
    rng = np.random.default_rng(1)
    d, N = 10, 200_000
    law = SpikedLaw(d=d, s=0.7, u=rng.standard_normal(d), bulk=1.2, second_layer=layer)
    X = rng.standard_normal((6, d))
    W = law.sample(rng, N)
    F = np.asarray({"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0)}[name](X @ W.T))
    prod = F[:, None, :] * F[None, :, :]
    se = prod.std(axis=2) / math.sqrt(N)
    diff = np.abs(empirical_kernel(name, W, X) - spiked_kernel(name, X, law=law))
    assert np.all(diff <= 5 * se + 1e-12)


def test_isotropic_mode_eigenvalues_match_hermite_prediction_within_sampling_error():
    # width-infinity relu kernel on m Gaussian points, unbiased U-statistic Rayleigh quotients over
    # R independent point sets; the exact values are mu1^2/d, c2^2/(2d), c2^2/(d(d+2)) (degree 1,
    # radial, degree-2 harmonics). Tolerance: 4 standard errors over the R replicates.
    rng = np.random.default_rng(2)
    d, m, R = 8, 500, 10
    theta = np.eye(d)[0]
    E = generic_directions(theta, rng, 2)
    law = SpikedLaw(d=d, s=0.0, u=theta)
    est = []
    for _ in range(R):
        X = rng.standard_normal((m, d))
        K = spiked_kernel("relu", X, law=law)
        f = rayleigh_from_kernel(K, candidate_values(X, theta, E))
        est.append([f.eigenvalue(n) for n in ("const", "lin_u", "lin_e", "radial", "quad_u", "cross_e")])
    est = np.array(est)
    mean, sem = est.mean(0), est.std(0, ddof=1) / math.sqrt(R)
    exact = np.array([MU0**2, MU1**2 / d, MU1**2 / d, C2**2 / (2 * d), C2**2 / (d * (d + 2)), C2**2 / (d * (d + 2))])
    assert np.all(np.abs(mean - exact) <= 4 * sem), (mean, exact, sem)
    assert np.all(sem < 0.3 * exact)  # the check has power: each value resolved to < 30%


def test_feature_and_weight_estimates_agree_with_exact_isotropic_values():
    # N = 40000 isotropic rows: (1/N) sum_k P_f(w_k)^2 within 4 MC standard errors of the exact value
    rng = np.random.default_rng(3)
    d, N = 16, 40_000
    theta = np.eye(d)[0]
    E = generic_directions(theta, rng, 2)
    W = rng.standard_normal((N, d)) / math.sqrt(d)
    fw = mode_forms_from_weights("relu", W, theta, E)
    # relu: P_lin = mu1 t, so lambda = mu1^2 mean(t^2): sd of the mean = mu1^2 sqrt(2)/(d sqrt(N))
    assert abs(fw.eigenvalue("lin_u") - MU1**2 / d) <= 4 * MU1**2 * math.sqrt(2) / (d * math.sqrt(N))
    assert fw.eigenvalue("quad_u") == pytest.approx(C2**2 / (d * (d + 2)), rel=0.05)
    assert mixing_angle(fw) < 3.0
    X = rng.standard_normal((3000, d))
    fk = mode_forms_from_features("relu", W[:2000], X, theta, E)
    fw2 = mode_forms_from_weights("relu", W[:2000], theta, E)
    # the sample-based U-statistic estimates the same quantity as the exact-in-x one (linear modes)
    assert fk.eigenvalue("lin_u") == pytest.approx(fw2.eigenvalue("lin_u"), rel=0.2)
    assert fk.eigenvalue("const") == pytest.approx(fw2.eigenvalue("const"), rel=1e-12)
    assert set(fk.names) == set(MODE_NAMES)


def test_kernel_spectrum_labels_the_planted_modes():
    rng = np.random.default_rng(4)
    d, m = 16, 600
    theta = np.eye(d)[0]
    E = generic_directions(theta, rng, 6)
    X = rng.standard_normal((m, d))
    W = SpikedLaw(d=d, s=1.5, u=theta).sample(rng, 4000)
    A = np.maximum(X @ W.T, 0) / math.sqrt(4000 * m)
    spec = kernel_spectrum(X, theta, E, 4, factor=A)
    K = np.maximum(X @ W.T, 0) @ np.maximum(X @ W.T, 0).T / 4000
    spec2 = kernel_spectrum(X, theta, E, 4, K=K)
    np.testing.assert_allclose(spec.eigenvalues, spec2.eigenvalues, rtol=1e-9)
    assert spec.labels[:2] == ("const", "lin_u")


def test_scaled_hermite_paths_agree():
    r = np.linspace(0.5, 2.0, 100)  # Chebyshev path (> 64 values) vs direct Gauss-Hermite
    direct = scaled_hermite("tanh", r[:10], 2)
    cheb = scaled_hermite("tanh", r, 2)[:10]
    np.testing.assert_allclose(cheb, direct, atol=1e-10)
    np.testing.assert_allclose(scaled_hermite("relu", np.array([2.0]), 2)[0], 2 * np.array([MU0, MU1, C2]), atol=1e-12)


@pytest.mark.parametrize("layer,expected", [("gaussian", 0.0), ("rademacher", None)])
def test_spike_fit_recovers_a_planted_law(layer, expected):
    rng = np.random.default_rng(5)
    d, N, s = 64, 4000, 0.6
    theta = np.eye(d)[0]
    u = 0.8 * theta + 0.6 * np.eye(d)[1]
    fit = fit_spiked_gaussian(SpikedLaw(d=d, s=s, u=u, bulk=1.2, second_layer=layer).sample(rng, N), theta)
    assert fit.outlier
    assert fit.s2 == pytest.approx(s * s, rel=0.1)
    assert fit.bulk == pytest.approx(1.2, rel=0.05)
    assert fit.alignment_corrected == pytest.approx(0.8, abs=0.03)
    beta = d * s * s / 1.2
    target = expected if expected is not None else -2 * beta**2 / (1 + beta) ** 2
    assert fit.excess_kurtosis == pytest.approx(target, abs=0.25)  # sd of the kurtosis ~ sqrt(24/N) = 0.08


def test_bad_input_names_the_field():
    with pytest.raises(ConfigError, match="'second_layer'"):
        SpikedLaw(d=3, s=0.1, u=np.ones(3), second_layer="uniform")
    with pytest.raises(ConfigError, match="'method'"):
        pair_expectation("tanh", 1.0, 1.0, 0.5, method="closed")
    with pytest.raises(ConfigError, match="'u'"):
        SpikedLaw(d=3, s=0.1, u=np.ones(4))
    with pytest.raises(ConfigError, match="'second_layer'"):
        input_space_kernel("relu", np.ones((2, 3)), law=SpikedLaw(d=3, s=0.1, u=np.ones(3), second_layer="rademacher"))
