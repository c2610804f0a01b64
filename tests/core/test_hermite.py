"""Hermite toolkit against closed forms, orthogonality and independent quadrature."""

import math

import numpy as np
import pytest

from giantstep.activations import from_callable, get_activation
from giantstep.errors import ConfigError
from giantstep.hermite import (
    generative_exponent,
    hermite_coefficients,
    hermite_constants,
    information_exponent,
)

SQRT2PI = math.sqrt(2 * math.pi)


def test_relu_closed_forms():
    h = hermite_constants("relu")
    assert abs(h.mu0 - 1 / SQRT2PI) < 1e-10
    assert abs(h.mu1 - 0.5) < 1e-10
    assert abs(h.mustar**2 - (0.25 - 1 / (2 * math.pi))) < 1e-10
    c = h.coefficients
    # c_k = E[relu^{(k)}(G)]: c2 = phi(0), c3 = 0, c4 = -phi(0) (derivatives of the Gaussian density at 0)
    assert abs(c[2] - 1 / SQRT2PI) < 1e-9
    assert abs(c[3]) < 1e-9
    assert abs(c[4] + 1 / SQRT2PI) < 1e-9


def test_abs_erf_sin_closed_forms():
    assert abs(hermite_constants("abs").mu0 - math.sqrt(2 / math.pi)) < 1e-10
    assert abs(hermite_constants("abs").mu1) < 1e-12
    assert abs(hermite_constants("erf").mu1 - 2 / math.sqrt(3 * math.pi)) < 1e-10
    assert abs(hermite_constants("erf").second_moment - (2 / math.pi) * math.asin(2 / 3)) < 1e-10
    h = hermite_constants("sin")
    assert abs(h.mu1 - math.exp(-0.5)) < 1e-10
    assert abs(h.second_moment - (1 - math.exp(-2)) / 2) < 1e-10
    # c_k of sin: E[sin^{(k)}(G)] = e^{-1/2} * (0, 1, 0, -1, 0, 1)
    assert np.allclose(h.coefficients[:6], math.exp(-0.5) * np.array([0, 1, 0, -1, 0, 1]), atol=1e-10)


@pytest.mark.parametrize("j", range(0, 7))
def test_hermite_orthogonality(j):
    # he_j = He_j / sqrt(j!) has c_k = sqrt(j!) delta_jk: the registry uses it exactly, the
    # quadrature (the same function as an opaque callable) must reproduce it
    expected = np.zeros(9)
    expected[j] = math.sqrt(math.factorial(j))
    quad = from_callable(get_activation(f"he{j}").f, name=f"he{j} by quadrature")
    for sigma in (f"he{j}", quad):
        assert np.allclose(hermite_coefficients(sigma, 8), expected, atol=1e-9)
        assert abs(hermite_constants(sigma).second_moment - 1.0) < 1e-9


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "gelu", "relu", "abs"])
def test_parseval(name):
    # sum_k c_k^2 / k! -> E sigma^2; truncation at K = 30 leaves < 1e-3 for these functions
    c = hermite_coefficients(name, 30)
    partial = sum(c[k] ** 2 / math.factorial(k) for k in range(31))
    m2 = hermite_constants(name).second_moment
    assert partial <= m2 + 1e-9
    assert m2 - partial < 2e-3


def test_smooth_against_gauss_hermite():
    # independent computation: 200-node Gauss-Hermite is exact to ~1e-12 for smooth tanh
    x, w = np.polynomial.hermite_e.hermegauss(200)
    w = w / w.sum()
    from scipy.special import eval_hermitenorm

    c = hermite_coefficients("tanh", 8)
    for k in range(9):
        gh = float(np.sum(w * np.tanh(x) * eval_hermitenorm(k, x)))
        assert abs(c[k] - gh) < 1e-8


def test_sums_and_callables():
    c = hermite_coefficients("he1+0.5*he2", 4)
    assert np.allclose(c, [0, 1, 0.5 * math.sqrt(2), 0, 0], atol=1e-10)
    cub = from_callable(lambda z: z**3, name="cube")
    assert np.allclose(hermite_coefficients(cub, 4), [0, 3, 0, 6, 0], atol=1e-9)
    with pytest.raises(ConfigError, match="'activation'"):
        get_activation("relu+")
    with pytest.raises(ConfigError, match="'link'"):
        get_activation("nope", "link")


def test_exponents():
    assert information_exponent("relu") == 1
    assert information_exponent("abs") == 2
    assert information_exponent("he3") == 3
    assert information_exponent("he2+he4") == 2
    # generative exponents: He3 has E[z | y] != 0 (odd link), even links have exponent 2
    assert generative_exponent("he3") == 1
    assert generative_exponent("he2") == 2
    assert generative_exponent("abs", noise=0.5) == 2
    assert generative_exponent("he1", noise=1.0) == 1


def test_derivatives_match_finite_differences():
    z = np.linspace(-3, 3, 41) + 0.013  # avoid the kinks at 0
    for name in ["relu", "tanh", "erf", "sigmoid", "sin", "gelu", "abs", "softplus", "he3", "he1+0.5*he2"]:
        act = get_activation(name)
        h = 1e-6
        fd = (act.f(z + h) - act.f(z - h)) / (2 * h)
        assert np.allclose(act.df(z), fd, atol=1e-6), name
        fd2 = (act.df(z + h) - act.df(z - h)) / (2 * h)
        assert np.allclose(act.d2f(z), fd2, atol=1e-5), name


def test_constants_cached_by_canonical_expression(monkeypatch):
    """A sum link is integrated once per process, however it is spelled or resolved (each
    get_activation call builds a new object); its coefficients are the sums of its terms'."""
    import giantstep.hermite as hermite

    first = hermite_constants("he1+he2+he4")
    calls = []
    real = hermite.gaussian_expectation
    monkeypatch.setattr(hermite, "gaussian_expectation", lambda *a, **k: calls.append(1) or real(*a, **k))
    for spelling in ("he1+he2+he4", " he4 + he2 + he1", "he1+he2+0.5*he4+0.5*he4"):
        again = hermite_constants(get_activation(spelling, "link"))
        assert again == first
    assert calls == []
    # an independent computation: the same function as an opaque callable is integrated directly
    direct = hermite_constants(from_callable(get_activation("he1+he2+he4").f, name="he1+he2+he4"))
    assert len(calls) > 0
    assert np.allclose(direct.coefficients, first.coefficients, rtol=0, atol=1e-10)
    assert abs(direct.second_moment - 3.0) < 1e-10 and abs(first.second_moment - 3.0) < 1e-10
    # c_k of he1 + he2 + he4 = sqrt(k!) for k in {1, 2, 4}
    assert np.allclose(first.coefficients[:6], [0, 1, math.sqrt(2), 0, math.sqrt(24), 0], atol=1e-10)
