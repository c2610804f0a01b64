"""The step-1 quantities (theory.first_step): exact values, every residual and second layer, and
the identity of every module's view of them (one_step, two_step, srf, kernel_modes)."""

import math

import pytest

from giantstep.errors import ConfigError, ValidityError
from giantstep.hermite import hermite_constants
from giantstep.theory.domain import allow_outside
from giantstep.theory.first_step import (
    derivative_moments,
    first_step,
    first_step_from_moments,
    step_size,
    teacher_moments,
)
from giantstep.theory.kernel_modes import kernel_mode_report
from giantstep.theory.one_step import one_step
from giantstep.theory.two_step import two_step_terms


def test_exact_values_relu_he1():
    """relu (mu1 = 1/2, Var relu' = 1/4), he1 teacher (mu1* = 1, E y^2 = 1), d = 64, N = 256, n = 128
    (psi2 = 2), eta0 = 8, alpha = 0: ||vhat||^2 = 1.5, gamma = 1/sqrt(1.5), s = eta mu1 ||vhat||/sqrt(N),
    c - 1 = eta^2 E[y^2] Var(relu') / (N psi2) = 64 * 0.25 / 512."""
    fs = first_step("relu", "he1", d=64, width=256, n=128, eta0=8.0, alpha=0.0)
    assert fs.vhat_norm2 == pytest.approx(1.5)
    assert fs.s == pytest.approx(8 * 0.5 * math.sqrt(1.5) / 16)
    assert fs.gamma == pytest.approx(1 / math.sqrt(1.5))
    assert fs.zeta2 == pytest.approx(64 * 0.25 / (256 * 2), rel=1e-9)
    assert fs.beta(64) == pytest.approx(64 * fs.s**2)
    assert fs.s1_update(256) == pytest.approx(8 * 0.5 * math.sqrt(1.5))
    assert step_size(8.0, 0.25, 256) == pytest.approx(8.0 * 4.0)


def test_derivative_moments():
    """E relu' = 1/2, Var relu' = 1/4; tanh: Var = E sech^4 - (E sech^2)^2 = 0.097524 (quadrature)."""
    m = derivative_moments("relu")
    assert (m.mean, m.variance) == pytest.approx((0.5, 0.25), abs=1e-10)
    assert derivative_moments("tanh").variance == pytest.approx(0.097524, abs=1e-6)
    assert derivative_moments("tanh").mean == pytest.approx(hermite_constants("tanh").mu1, abs=1e-12)


def test_residuals_and_second_layers():
    """label = centered at step 1; full with +-1 a adds ||b||^2 = mu1^2 to ||vhat||^2 and E sigma^2 to
    E r^2; paired neurons (f0 = 0) make full equal to label."""
    kw = dict(d=200, width=300, n=400, eta0=2.0, alpha=0.1)
    label = first_step("tanh", "he1", **kw, residual="label")
    assert first_step("tanh", "he1", **kw, residual="centered").as_dict() | {"residual": "label"} == label.as_dict()
    full = first_step("tanh", "he1", **kw, residual="full")
    h = hermite_constants("tanh")
    assert full.b2 == pytest.approx(h.mu1**2)
    assert full.er2 == pytest.approx(1.0 + h.second_moment)
    assert full.vhat_norm2 == pytest.approx(1.0 + h.mu1**2 + full.er2 / 2.0)
    paired = first_step("tanh", "he1", **kw, residual="full", second_layer="symmetric")
    assert paired.vhat_norm2 == pytest.approx(label.vhat_norm2) and paired.b2 == 0.0


def test_teacher_moments_multi_index_sum():
    """y = k^{-1/2} sum_i g(z_i): E y^2 = E g^2 + (k - 1) mu0^2; overlap factor 1/sqrt(k)."""
    m = teacher_moments("relu", 0.5, k=4, combine="sum")
    h = hermite_constants("relu")
    assert m.ey2 == pytest.approx(h.second_moment + 3 * h.mu0**2 + 0.25)
    assert (m.mu1_star, m.overlap_factor) == pytest.approx((0.5, 0.5))
    with pytest.raises(ConfigError, match="'combine'"):
        teacher_moments("relu", 0.0, k=2, combine="product")


def test_maximal_step_depends_on_n_only_through_eta0():
    """At alpha = 1/2 the row step h = eta0: (s, gamma, c) are the same for every N."""
    a = first_step("tanh", "tanh", 100, 100, 200, 3.0, 0.5)
    b = first_step("tanh", "tanh", 4000, 4000, 8000, 3.0, 0.5)
    assert a.as_dict() == pytest.approx(b.as_dict())
    direct = first_step_from_moments("tanh", teacher_moments("tanh"), 2.0, 3.0)
    assert direct.as_dict() == pytest.approx(a.as_dict())


def test_sign_of_sigma_changes_no_magnitude():
    """sigma -> -sigma flips mu1 and the update's orientation, not one magnitude: before, one_step
    reported s1_update < 0 for -1*tanh (a negative singular value), two_step s1 < 0 where
    kernel_modes had s > 0."""
    kw = dict(d=300, width=300, n=600, eta0=3.0, alpha=0.25)
    plus, minus = first_step("tanh", "he1", **kw), first_step("-1*tanh", "he1", **kw)
    assert (plus.sign, minus.sign) == (1, -1)
    for key in ("s", "gamma", "vhat_norm2", "inflation", "var_dsigma"):
        assert getattr(minus, key) == pytest.approx(getattr(plus, key), rel=1e-12), key
    a, b = one_step("tanh", "he1", **kw), one_step("-1*tanh", "he1", **kw)
    assert b.s1_update > 0 and b.s1_update == pytest.approx(a.s1_update)
    two = two_step_terms("-1*tanh", "he1", 300, 300, 600, 3.0, 0.25, 1.0, 0.2)
    modes = kernel_mode_report("-1*tanh", "he1", 300, 300, 600, 3.0, 0.25)
    assert two.s1 == pytest.approx(modes.s) and two.s1 > 0


def test_stein_identity_refuses_sign():
    """sign' = 2 delta: the quadrature of sign' gives E sigma' = 0 against mu1 = 0.798 and
    Var(sigma') = 0 - 0.637 < 0 (clamped to 0 before, so c = 1 silently)."""
    with pytest.raises(ValidityError, match="Stein"):
        first_step("sign", "he1", 100, 100, 200, 1.0)
    with allow_outside() as warnings:
        first_step("sign", "he1", 100, 100, 200, 1.0)
    assert len(warnings) == 1 and "sign" in warnings[0]
    first_step("relu", "he1", 100, 100, 200, 1.0)  # a kink in sigma' is fine: sigma' is a function


def test_overflowing_step_is_refused():
    """eta0 = 1e200: c = 1 + eta0^2 ... overflows (a traceback before); refused even with allow_outside."""
    for call in (lambda: first_step("tanh", "he1", 100, 100, 200, 1e200, 0.25),
                 lambda: one_step("tanh", "he1", 100, 100, 200, 1e200)):
        with allow_outside(), pytest.raises(ValidityError, match="overflows"):
            call()
