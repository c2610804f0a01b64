"""The one validator (constraint tables) and the one quadrature helper of the theory layer."""

import math

import numpy as np
import pytest

from giantstep.activations import Activation
from giantstep.errors import ConfigError, ValidityError
from giantstep.theory.quadrature import (
    doubling_counts,
    gauss_hermite,
    gauss_legendre_panels,
    gaussian_panels,
    refine_until_stable,
    tensor_grid,
)
from giantstep.theory.validation import Function, Interval, Optional, Options, validate_params


def test_interval_texts_and_conversions():
    size = Interval(int, 1, None)
    assert size.allowed == "an integer in [1, inf)"
    assert size.check("d", 1000.0) == 1000 and isinstance(size.check("d", 1000.0), int)
    for bad in (0, 2.5, True, "3", float("nan"), math.inf, 1e300):
        with pytest.raises(ConfigError, match="The 'd' parameter must be an integer in \\[1, inf\\)"):
            size.check("d", bad)
    half = Interval(float, 0, 0.5, closed="left")
    assert half.allowed == "a float in [0, 0.5)"
    assert half.check("alpha", 0) == 0.0
    with pytest.raises(ConfigError, match="'alpha'"):
        half.check("alpha", 0.5)
    with pytest.raises(ConfigError, match="'x'"):
        Interval(float, 0, None).check("x", math.inf)
    assert Interval(float, 0, math.inf).check("x", math.inf) == math.inf
    arr = Interval(float, 0, None, closed="neither", array=True)
    assert np.array_equal(arr.check("psi", [1.0, 2.0]), [1.0, 2.0])
    with pytest.raises(ConfigError, match="'psi'"):
        arr.check("psi", [1.0, -2.0])
    with pytest.raises(ConfigError, match="'psi'"):
        Interval(float, 0, None).check("psi", [1.0])


def test_options_optional_function():
    opt = Options(("fresh", "reuse"))
    assert opt.check("batch", "reuse") == "reuse"
    with pytest.raises(ConfigError, match="The 'batch' parameter must be one of 'fresh', 'reuse'. Got 'x' instead."):
        opt.check("batch", "x")
    assert Optional(Interval(float, 0, None)).check("c", None) is None
    with pytest.raises(ConfigError, match="'c'"):
        Optional(Interval(float, 0, None)).check("c", -1.0)
    assert isinstance(Function().check("activation", "relu"), Activation)
    assert Function(resolve=False).check("link", "he1+he2") == "he1+he2"
    with pytest.raises(ConfigError, match="'link'"):
        Function().check("link", "nosuch")


def test_decorator_checks_and_converts():
    @validate_params({"d": Interval(int, 1, None), "activation": Function()})
    def f(activation, d, *, extra=None):
        return activation.name, d

    assert f("tanh", 4.0) == ("tanh", 4)
    assert f(d=4, activation="relu") == ("relu", 4)
    with pytest.raises(ConfigError, match="'d'"):
        f("tanh", 0)
    assert f.constraints["d"].allowed == "an integer in [1, inf)"
    with pytest.raises(TypeError, match="no parameter"):
        validate_params({"nope": Interval(int, 1, None)})(lambda d: d)


def test_gauss_hermite_moments_and_large_counts():
    """E G^2k = (2k - 1)!! exactly for 2k < 2 nodes; finite weights at every node count (numpy's
    hermegauss gives NaN weights past ~370 nodes)."""
    z, w = gauss_hermite(10)
    for k, want in ((0, 1.0), (1, 1.0), (2, 3.0), (3, 15.0), (4, 105.0)):
        assert float(w @ z ** (2 * k)) == pytest.approx(want, rel=1e-12)
    for n in (400, 1000, 4096):
        z, w = gauss_hermite(n)
        assert np.all(np.isfinite(w)) and float(w.sum()) == pytest.approx(1.0) and float(w @ z**2) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        gauss_hermite(5000)
    with pytest.raises(ValueError):
        gauss_hermite(4)[1][0] = 1.0  # read-only: a shared, cached rule


def test_tensor_and_panel_rules():
    (a, b), w = tensor_grid(gauss_hermite(6), gauss_hermite(6))
    assert float(w @ (a * a * b * b)) == pytest.approx(1.0, rel=1e-12)
    assert float(w @ (a * b)) == pytest.approx(0.0, abs=1e-14)
    x, wx = gauss_legendre_panels(np.array([0.0, 0.5, 2.0]), order=4)
    assert float(wx @ x**5) == pytest.approx(2.0**6 / 6, rel=1e-12)  # degree 5 < 2 * 4: exact
    z, wz = gaussian_panels(np.linspace(-10, 10, 201))
    assert float(wz @ z**4) == pytest.approx(3.0, rel=1e-10)


def test_refinement_converges_or_refuses():
    """A smooth integrand settles; a step of width 1e-4 (tanh(1e4 z)) never does below the limit.
    Symmetric rules with 16, 32, 64, 128 nodes all give exactly 0 for the step (0.123 lies between
    the same two central nodes): doubling alone would accept it."""
    assert doubling_counts(16, 200) == [16, 33, 67, 135]
    def smooth(n):
        z, w = gauss_hermite(n)
        return np.array([w @ np.tanh(z + 0.3)])

    value, nodes = refine_until_stable(smooth, doubling_counts(16, 1024), 1e-10, "E tanh(G + 0.3)")
    assert nodes <= 600 and float(value[0]) == pytest.approx(0.1800892521526605, rel=1e-12)

    def sharp(n):
        z, w = gauss_hermite(n)
        return np.array([w @ np.tanh(1e4 * (z - 0.123))])

    with pytest.raises(ValidityError, match="quadrature accuracy: E tanh"):
        refine_until_stable(sharp, doubling_counts(16, 512), 1e-8, "E tanh(1e4 (G - 0.123))")
