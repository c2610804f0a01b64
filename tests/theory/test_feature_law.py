"""The spiked feature law (theory.feature_law): closed-form law quantities, the sampler, and the
kernel of a law whose bulk depends on the second-layer weight (c > 1)."""

import math

import numpy as np
import pytest

from giantstep.errors import ConfigError
from giantstep.kernels import spiked_kernel
from giantstep.theory.feature_law import SpikedLaw
from giantstep.theory.first_step import first_step


def test_beta_and_kurtosis_closed_forms():
    """beta = d s^2 / (bulk + c - 1); a = +-1, c = 1, overlap 1: kurtosis -2 beta^2/(1 + beta)^2;
    a Gaussian law (c = 1) has kurtosis exactly 0 along any direction."""
    law = SpikedLaw(d=50, s=0.3, bulk=1.2, second_layer="rademacher")
    beta = 50 * 0.09 / 1.2
    assert law.beta == pytest.approx(beta)
    assert law.excess_kurtosis() == pytest.approx(-2 * beta**2 / (1 + beta) ** 2, rel=1e-12)
    assert SpikedLaw(d=50, s=0.3).excess_kurtosis(0.7) == pytest.approx(0.0, abs=1e-12)
    assert SpikedLaw(d=50, s=0.3, inflation=1.5).beta == pytest.approx(50 * 0.09 / 1.5)


def test_from_first_step_and_row_variance():
    """The one-step law: s and c of first_step, bulk variance 1 + (c - 1) a^2."""
    fs = first_step("tanh", "he1", 100, 100, 200, 2.0, 0.5)
    law = SpikedLaw(100, fs.s, inflation=fs.inflation, second_layer="gaussian")
    assert law.row_variance(np.array([0.0, 2.0])) == pytest.approx([1.0, 1.0 + 4 * fs.zeta2])


@pytest.mark.parametrize("layer", ["gaussian", "rademacher"])
def test_sampler_moments(layer):
    """Rows of the sampled law: E ||w||^2 = (bulk + c - 1) + s^2 (E a^2 = 1), E <w, u>^2 = (bulk + c - 1)/d + s^2.
    200k rows: relative standard error of a mean of squares < 3 sqrt(2/N) ~ 1%; tolerance 2%."""
    d, N = 20, 200_000
    law = SpikedLaw(d, 0.7, u=np.eye(d)[0], bulk=1.1, inflation=1.4, second_layer=layer)
    W = law.sample(np.random.default_rng(0), N)
    assert np.mean(np.sum(W * W, axis=1)) == pytest.approx(1.5 + 0.49, rel=0.02)
    assert np.mean(W[:, 0] ** 2) == pytest.approx(1.5 / d + 0.49, rel=0.02)


def test_kernel_of_an_inflated_gaussian_law_matches_monte_carlo():
    """c > 1 with Gaussian a: the kernel is an average over a of Gaussian kernels (no closed form).
    Monte Carlo over 400k rows: standard error ~ sd(sigma sigma')/sqrt(N) < 2e-3; tolerance 1e-2."""
    d = 6
    rng = np.random.default_rng(1)
    X = rng.standard_normal((3, d))
    law = SpikedLaw(d, 0.8, u=np.eye(d)[1], inflation=2.0, second_layer="gaussian")
    K = spiked_kernel("tanh", X, law=law)
    W = law.sample(rng, 400_000)
    F = np.tanh(X @ W.T)
    assert K == pytest.approx(F @ F.T / W.shape[0], abs=1e-2)


def test_bad_input_names_the_field():
    with pytest.raises(ConfigError, match="'inflation'"):
        SpikedLaw(d=3, s=0.1, inflation=0.5)
    with pytest.raises(ConfigError, match="'u'"):
        SpikedLaw(d=3, s=0.1).sample(np.random.default_rng(0), 4)
    assert math.isfinite(SpikedLaw(d=3, s=0.0).beta)
