"""Pennington-Worah conjugate-kernel spectrum: exact reductions and simulation."""

import math

import numpy as np
import pytest

from giantstep.activations import get_activation
from giantstep.errors import ConfigError
from giantstep.theory.mp import mp_density, mp_stieltjes
from giantstep.theory.pennington_worah import ck_constants, ck_density, ck_stieltjes, ck_support_edge


def test_constants():
    cc = ck_constants("relu"); eta, zeta = cc.eta, cc.zeta
    assert eta == pytest.approx(0.5 - 1 / (2 * math.pi), abs=1e-10)
    assert zeta == pytest.approx(0.25, abs=1e-12)
    cc = ck_constants("tanh"); eta, zeta = cc.eta, cc.zeta
    assert eta == pytest.approx(0.394294, abs=1e-6) and zeta == pytest.approx(0.605706**2, abs=1e-5)


@pytest.mark.parametrize("phi,psi", [(0.5, 0.8), (0.25, 1.0), (0.5, 2.0)])
def test_zeta_zero_is_marchenko_pastur(phi, psi):
    """zeta = 0: Y has i.i.d. entries of variance eta, M = Y Y^T / m ~ eta MP(n1/m = phi/psi)."""
    eta = 1.3
    z = np.array([0.5 + 0.3j, 2.0 + 0.05j, 6.0 + 1.0j])
    G = ck_stieltjes(z, phi, psi, eta, 0.0)
    want = -mp_stieltjes(z, phi / psi, eta)  # G(z) = int rho/(z - t) = -m(z)
    np.testing.assert_allclose(G, want, atol=1e-9)
    x = np.linspace(0.05, 5.0, 50) * eta
    np.testing.assert_allclose(ck_density(x, phi, psi, eta, 0.0), mp_density(x, phi / psi, eta), atol=1e-4)


def test_density_normalised_and_branch():
    """The density integrates to min(1, 1/psi)'s continuous mass; Im G < 0 in C+; G ~ 1/z at infinity."""
    cc = ck_constants("relu"); eta, zeta = cc.eta, cc.zeta
    phi, psi = 0.5, 0.8
    edge = ck_support_edge(phi, psi, eta, zeta)
    x = np.linspace(1e-4, edge * 1.01, 1500)
    rho = ck_density(x, phi, psi, eta, zeta)
    mass = float(np.sum(0.5 * (rho[1:] + rho[:-1]) * np.diff(x)))
    assert mass == pytest.approx(1.0, abs=0.01)  # psi < 1: no atom
    G = ck_stieltjes(np.array([0.3 + 0.2j, 1.0 + 1e-3j, 50.0 + 1j]), phi, psi, eta, zeta)
    assert np.all(G.imag < 0)
    zbig = 1e5 + 1e5j
    assert complex(ck_stieltjes(np.array([zbig]), phi, psi, eta, zeta)[0]) * zbig == pytest.approx(1.0, abs=1e-4)


def test_relu_simulation():
    """relu features, n0 = 600, n1 = 750, m = 1200 (phi = 1/2, psi = 4/5), one draw.

    Tolerance: G(z) at Im z = 0.2 is a linear statistic, O(1/n1) fluctuation plus O(1/n0) finite-size
    bias (row norms of W are not exactly 1): 0.02 absolute. The top eigenvalue sits within
    O(n^{-2/3}) ~ 0.02 of the edge: 0.06 absolute.
    """
    rng = np.random.default_rng(0)
    n0, n1, m = 600, 750, 1200
    W = rng.standard_normal((n1, n0)) / math.sqrt(n0)
    X = rng.standard_normal((n0, m))
    Y = get_activation("relu").f(W @ X) - 1 / math.sqrt(2 * math.pi)
    ev = np.linalg.eigvalsh(Y @ Y.T / m)
    cc = ck_constants("relu"); eta, zeta = cc.eta, cc.zeta
    z = np.array([0.3 + 0.2j, 1.0 + 0.2j, 1.6 + 0.2j])
    G = ck_stieltjes(z, n0 / m, n0 / n1, eta, zeta)
    G_emp = np.array([np.mean(1 / (zz - ev)) for zz in z])
    assert np.max(np.abs(G - G_emp)) < 0.02
    assert ev[-1] == pytest.approx(ck_support_edge(n0 / m, n0 / n1, eta, zeta), abs=0.06)


def test_bad_input():
    with pytest.raises(ConfigError, match="'phi'"):
        ck_stieltjes(np.array([1j]), -1.0, 1.0, 1.0, 0.5)
