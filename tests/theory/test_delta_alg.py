"""delta_alg (docs/phase_transitions.md): exact noiseless values, noisy values by two quadratures, multi-index."""

from __future__ import annotations

import json
import math

import pytest

from giantstep.errors import ConfigError
from giantstep.hermite import conditional_hermite_energy
from giantstep.theory.delta_alg import (
    conditional_energy,
    delta_alg,
    multi_index_delta_alg,
    single_index_link,
)


# ---- exact values at special points ------------------------------------------------------------


@pytest.mark.parametrize("link", ["square", "abs", "he2"])
def test_noiseless_phase_retrieval_is_one_half(link):
    # E[z^2 - 1 | y] = y - 1 (or y^2 - 1, or sqrt(2) y): E_y[(.)^2] = E[(z^2 - 1)^2] = 2 exactly
    r = delta_alg(link, 0.0)
    assert r.delta_alg == pytest.approx(0.5, abs=1e-6)
    assert r.energy1 == pytest.approx(0.0, abs=1e-12)
    assert r.generative_exponent == 2


def test_injective_transform_of_abs_keeps_one_half():
    # y = tanh|z| is an injective function of |z|: the same sigma-algebra as |z|, so delta_alg = 1/2
    r = delta_alg(single_index_link("tanh", "norm"), 0.0)
    assert r.delta_alg == pytest.approx(0.5, abs=1e-6)


def test_relu_trivial_direction_exact_energy():
    # y = relu(z): z > 0 is observed exactly (energy 1/2); the atom y = 0 carries E[z | z < 0] = -2 phi(0),
    # contributing (phi(0))^2 / (1/2) = 1/pi. Total 1/2 + 1/pi; delta_alg = 0.
    r = delta_alg("relu", 0.0)
    assert r.energy1 == pytest.approx(0.5 + 1.0 / math.pi, abs=1e-9)
    assert r.delta_alg == 0.0 and r.generative_exponent == 1


def test_sign_link_atoms():
    # y = sign(z): E[z | y = +-1] = +-sqrt(2/pi), energy 2/pi; E[z^2 - 1 | y] = 0
    r = delta_alg("sign", 0.0)
    assert r.energy1 == pytest.approx(2.0 / math.pi, abs=1e-10)
    assert r.energy2 == pytest.approx(0.0, abs=1e-10)


# ---- noisy: two independent quadratures agree ---------------------------------------------------


def test_noisy_grid_vs_nested_quadrature():
    # Gauss-Legendre tensor grid vs nested adaptive quad: both converged to ~1e-7
    g = conditional_energy("square", 1.0, 2, method="grid")
    q = conditional_energy("square", 1.0, 2, method="quad")
    assert g == pytest.approx(q, rel=1e-5)


@pytest.mark.parametrize("tau", [0.5, 1.0])
def test_noisy_grid_vs_hermite_module(tau):
    # the Hermite module's independent trapezoid grid (accurate when tau > 0)
    g = conditional_energy("square", tau, 2, method="grid")
    assert conditional_hermite_energy("square", tau, 2) == pytest.approx(g, rel=1e-5)


def test_noisy_binned_cross_check():
    # equal-mass binning of y on a (z, eps) grid: O(1e-3) discretisation error at the defaults
    g = conditional_energy("square", 0.5, 2, method="grid")
    b = conditional_energy("square", 0.5, 2, method="binned")
    assert b == pytest.approx(g, rel=1e-2)


def test_noise_decreases_energy_and_tends_to_noiseless():
    e = [conditional_energy("square", t, 2) for t in (0.15, 0.3, 1.0)]
    assert e[0] > e[1] > e[2]
    # continuity at tau -> 0: the loss of information is O(tau) (here 2 - e(tau) ~ 0.5 tau)
    assert 0 < 2.0 - e[0] < 2.0 - e[1] < 0.2
    d = delta_alg("square", 0.3)
    assert d.delta_alg == pytest.approx(1.0 / e[1], rel=1e-12) and d.delta_alg > 0.5


def test_noiseless_exact_route_vs_binned():
    for link in ("square", "abs", "he4", single_index_link("tanh", "norm")):
        exact = conditional_energy(link, 0.0, 2, method="branches")
        binned = conditional_energy(link, 0.0, 2, method="binned")
        assert binned == pytest.approx(exact, rel=2e-3)


def test_hermite_module_is_only_approximate_at_zero_noise():
    # documented: the smoothed grid of giantstep.hermite is biased at noise = 0 (fine for exponents)
    approx = conditional_hermite_energy("square", 0.0, 2)
    assert abs(approx - 2.0) > 1e-5
    assert conditional_energy("square", 0.0, 2) == pytest.approx(2.0, abs=1e-9)


# ---- multi-index ------------------------------------------------------------------------------


def test_multi_index_norm_square_is_k_over_two():
    # y = ||z||^2: G(y) = (y/k - 1) I, E[(y/k - 1)^2] = 2/k -> delta_alg = k/2 (binning error ~1e-3)
    assert multi_index_delta_alg("square", "norm", 2).delta_alg == pytest.approx(1.0, abs=3e-3)
    assert multi_index_delta_alg("square", "norm", 1).delta_alg == pytest.approx(0.5, abs=2e-3)


def test_multi_index_invariant_under_injective_transform():
    # y = (z1^2 + z2^2)/sqrt(2) and y = tanh(||z||) generate the same sigma-algebra as ||z||^2
    a = multi_index_delta_alg("square", "sum", 2).delta_alg
    b = multi_index_delta_alg("tanh", "norm", 2).delta_alg
    assert a == pytest.approx(1.0, abs=3e-3) and b == pytest.approx(1.0, abs=3e-3)


def test_multi_index_committee_has_trivial_direction():
    assert multi_index_delta_alg("sign", "committee", 3).delta_alg == 0.0


# ---- validation and CLI -----------------------------------------------------------------------


def test_bad_inputs():
    with pytest.raises(ConfigError, match="'noise'"):
        delta_alg("square", -1.0)
    with pytest.raises(ConfigError, match="'method'"):
        conditional_energy("square", 0.0, 2, method="grid")
    with pytest.raises(ConfigError, match="'link'"):
        delta_alg("nope")
    with pytest.raises(ConfigError, match="'k'"):
        multi_index_delta_alg("square", "norm", 5)


def test_cli_delta_alg(cli):
    r = cli("theory", "delta-alg", "--link", "square", "--noise", "0", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["delta_alg"] == pytest.approx(0.5, abs=1e-6)
    bad = cli("theory", "delta-alg", "--link", "square", "--noise", "-1")
    assert bad.returncode == 2
    assert "noise" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
