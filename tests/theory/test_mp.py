"""Marchenko-Pastur law: closed forms, branch of the Stieltjes transform, simulation."""


import numpy as np
import pytest

from giantstep.errors import ConfigError
from giantstep.theory.mp import (
    initial_singular_edge, mp_atom, mp_density, mp_edges, mp_moment, mp_quadrature, mp_stieltjes, singular_edge,
)


def test_edges_and_atom_closed_form():
    a, b = mp_edges(0.5)
    assert a == pytest.approx(0.0857864376, abs=1e-9) and b == pytest.approx(2.9142135624, abs=1e-9)
    assert mp_edges(1.0) == (0.0, 4.0)
    assert mp_edges(0.25, var=2.0) == (0.5, 4.5)
    assert mp_atom(0.5) == 0.0 and mp_atom(4.0) == 0.75
    # W0 (N x d, entries 1/d): edge 1 + sqrt(N/d)
    assert singular_edge(800, 200, 1 / 200) == pytest.approx(3.0)
    assert initial_singular_edge(800, 200) == pytest.approx(3.0)
    # paired rows: 400 distinct rows twice, sqrt(2) (sqrt(400) + sqrt(200)) / sqrt(200) = 2 + sqrt(2)
    assert initial_singular_edge(800, 200, paired=True) == pytest.approx(2 + 2**0.5)


@pytest.mark.parametrize("gamma", [0.3, 1.0, 2.5])
def test_moments_two_ways(gamma):
    """Narayana moments vs quadrature of the density (+ atom): E x = 1, E x^2 = 1 + gamma, ..."""
    x, w = mp_quadrature(gamma)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert mp_moment(1, gamma) == pytest.approx(1.0)
    assert mp_moment(2, gamma) == pytest.approx(1 + gamma)
    assert mp_moment(3, gamma) == pytest.approx(1 + 3 * gamma + gamma**2)
    for k in range(1, 6):
        assert np.sum(w * x**k) == pytest.approx(mp_moment(k, gamma), rel=1e-10)


def test_density_integrates_to_continuous_mass():
    for gamma in (0.5, 2.0):
        a, b = mp_edges(gamma)
        x = np.linspace(a, b, 200001)
        mass = np.trapezoid(mp_density(x, gamma), x) if hasattr(np, "trapezoid") else np.trapz(mp_density(x, gamma), x)
        assert mass == pytest.approx(1.0 - mp_atom(gamma), abs=2e-3)  # sqrt edges: O(h^1.5) error


@pytest.mark.parametrize("gamma", [0.5, 1.0, 3.0])
def test_stieltjes_branch(gamma):
    """Im m > 0 on C+, m ~ -1/z at infinity, agrees with quadrature; the atom gives -mass/z near 0."""
    x, w = mp_quadrature(gamma, nodes=800)
    for z in (0.3 + 0.5j, 2.0 + 0.05j, -1.0 + 0.01j, 7.0 + 2j):
        m = complex(mp_stieltjes(z, gamma))
        assert m.imag > 0
        assert m == pytest.approx(complex(np.sum(w / (x - z))), abs=1e-6)
    big = 1e6 + 1e6j
    assert complex(mp_stieltjes(big, gamma)) * big == pytest.approx(-1.0, abs=1e-5)
    if gamma > 1:
        z = 1e-8j
        assert complex(mp_stieltjes(z, gamma)) * z == pytest.approx(-mp_atom(gamma), abs=1e-6)
    # real z right of the support: real and negative; left of 0 (gamma < 1): real and positive
    assert complex(mp_stieltjes(10.0, gamma)).imag == pytest.approx(0.0, abs=1e-14)


def test_example_value():
    m = complex(mp_stieltjes(1 + 0.1j, 0.5))
    assert m.real == pytest.approx(-0.4108, abs=1e-4) and m.imag == pytest.approx(1.2683, abs=1e-4)


def test_simulation():
    """Empirical Stieltjes transform and top eigenvalue of X^T X / n, n = 1600, d = 800 (gamma = 0.5).

    Tolerance: linear spectral statistics of Wishart matrices fluctuate by O(1/n) (no sqrt), so
    |m_emp - m| ~ |m'| / n ~ 1e-2 / 1 at Im z = 0.1 is generous at 0.02; the top eigenvalue fluctuates
    by O(n^{-2/3}) ~ 0.01 (Tracy-Widom scale b^{...} n^{-2/3} ~ 0.03) below the edge: allow 0.06.
    """
    rng = np.random.default_rng(3)
    n, d = 1600, 800
    X = rng.standard_normal((n, d))
    ev = np.linalg.eigvalsh(X.T @ X / n)
    z = 1 + 0.1j
    m_emp = np.mean(1.0 / (ev - z))
    assert abs(m_emp - complex(mp_stieltjes(z, d / n))) < 0.02
    assert abs(ev[-1] - mp_edges(d / n)[1]) < 0.06
    assert abs(ev[0] - mp_edges(d / n)[0]) < 0.03


def test_bad_input():
    with pytest.raises(ConfigError, match="'aspect' parameter must be a float in \\(0, 1e\\+10\\]"):
        mp_edges(-1.0)
    with pytest.raises(ConfigError):
        mp_stieltjes(1j, float("nan"))
