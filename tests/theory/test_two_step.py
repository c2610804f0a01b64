"""Two-step power counting: the exponent table, counts, and which terms carry theta*."""

import pytest

from giantstep.errors import ConfigError
from giantstep.theory.two_step import theta_components, two_step_structure, two_step_terms


@pytest.mark.parametrize(
    "a1,a2,exps,count",
    [
        (0.3, 0.3, [0.3, 0.1, -0.1], 1),
        (0.4, 0.3, [0.3, 0.2, 0.1, 0.0, -0.1], 3),
        (0.4, 0.35, [0.35, 0.25, 0.15, 0.05, -0.05], 3),
        (0.45, 0.2, [0.2, 0.15, 0.1, 0.05, 0.0], 4),
    ],
)
def test_table(a1, a2, exps, count):
    st = two_step_structure(a1, a2)
    assert st.exponents[: len(exps)] == pytest.approx(exps, abs=1e-12)
    assert st.new_directions == count and st.outliers_including_first == count + 1


def test_critical_terms():
    assert two_step_structure(0.4, 0.3).critical == [3]
    assert two_step_structure(0.45, 0.2).critical == [4]
    assert two_step_structure(0.3, 0.3).critical == []
    assert two_step_structure(0.0, 0.0).new_directions == 0


def test_which_terms_carry_theta():
    """Fresh batch: information exponent >= 2 learns nothing (gamma1 = 0). Reused batch: He3 is
    reached at k = 2 through E[y^3 z] != 0; even links (He2) never."""
    kw = dict(activation="relu", noise=0.0, d=500, width=500, n=1000, eta1=1.0, alpha1=0.4, eta2=1.0, alpha2=0.3)
    fresh = two_step_terms(link="he3", batch="fresh", **kw).as_dict()
    reuse = two_step_terms(link="he3", batch="reuse", **kw).as_dict()
    even = two_step_terms(link="he2", batch="reuse", **kw).as_dict()
    assert not any(fresh["carries_theta"])
    assert reuse["carries_theta"][:4] == [False, False, True, False]
    assert not any(even["carries_theta"])
    lin = two_step_terms(link="he1", batch="fresh", **kw).as_dict()
    assert lin["carries_theta"][0] and lin["gamma1"] > 0.5


def test_theta_component_exact_values():
    """Reuse, he3 = He3/sqrt(6), gamma1 = 0: E[y kappa^2 z] = E[y^3 z]/(psi2 ||vhat||)^2
    (the cross term 2 E[y^2 zeta z]/(...) vanishes); E[He3^3 z]/6^{3/2} = E[He3^3 He1]/6^{1.5}."""
    import math
    import numpy as np
    from numpy.polynomial.hermite_e import hermegauss

    x, w = hermegauss(60)
    w = w / w.sum()
    he3 = (x**3 - 3 * x) / math.sqrt(6)
    ey3z = float(np.sum(w * he3**3 * x))
    comp = theta_components("he3", 2, "reuse", 0.0, 2.0, 1.5)
    assert comp[2] == pytest.approx(ey3z / (2.0 * 1.5) ** 2, rel=1e-8)
    assert comp[0] == pytest.approx(0.0, abs=1e-12)


def test_bad_input():
    with pytest.raises(ConfigError, match="'alpha1'"):
        two_step_structure(0.5, 0.2)
    with pytest.raises(ConfigError, match="'batch'"):
        theta_components("he3", 2, "same", 0.0, 2.0, 1.0)


def _leading_order_he_part(j, eta1, alpha1, eta2, alpha2, N):
    """Independent leading order of the He_j(a) part (tanh network and link, fresh batch, psi2 = 1):
    term k = j - 1 projected on He_j(a): eta2 N^alpha2 sqrt(j!) |c_j| s1^(j-1)/(j-1)! ||b_{j-1}||,
    with ||b_k||^2 = E[y^2 kappa^2k] + E[y kappa^k z]^2 + E[y kappa^k zeta]^2, by quadrature."""
    import math

    import numpy as np
    from numpy.polynomial.hermite_e import hermegauss

    from giantstep.hermite import hermite_coefficients

    x, w = hermegauss(80)
    w = w / w.sum()
    c = hermite_coefficients("tanh", j)
    mu1 = c[1]
    ey2 = float(np.sum(w * np.tanh(x) ** 2))
    vn2 = mu1**2 + ey2
    gamma1 = mu1 / math.sqrt(vn2)
    s1 = eta1 * N**alpha1 * mu1 * math.sqrt(vn2) / math.sqrt(N)
    Z, ZE = np.meshgrid(x, x, indexing="ij")
    W = w[:, None] * w[None, :]
    y = np.tanh(Z)
    kap = gamma1 * Z + math.sqrt(1 - gamma1**2) * ZE
    k = j - 1
    b2 = float(np.sum(W * y**2 * kap ** (2 * k))) + float(np.sum(W * y * kap**k * Z)) ** 2 \
        + float(np.sum(W * y * kap**k * ZE)) ** 2
    return eta2 * N**alpha2 * math.sqrt(math.factorial(j)) * abs(c[j]) * s1**k / math.factorial(k) * math.sqrt(b2)


def test_left_hermite_part_leading_order_and_parity():
    """Small s1: the exact-in-s1 He3 part tends to the leading order (relative error O(s1^2));
    for tanh the He2 part vanishes to all orders (sigma' even: the integrand is odd in a); the
    leading order is the two_step_terms magnitude times sqrt(3!/5!!)."""
    import math

    from giantstep.theory.two_step import left_hermite_part

    N = 1024
    errors = []
    for eta1 in (0.05, 0.2):
        exact = left_hermite_part("tanh", "tanh", N, N, N, eta1, 0.4, 1.0, 0.3, degree=3)
        errors.append(abs(exact / _leading_order_he_part(3, eta1, 0.4, 1.0, 0.3, N) - 1.0))
    assert errors[0] < 2e-3
    assert errors[1] / errors[0] == pytest.approx(16.0, rel=0.1)  # O(s1^2): s1 grows 4x
    terms = two_step_terms("tanh", "tanh", N, N, N, 0.05, 0.4, 1.0, 0.3, second_layer="gaussian").as_dict()
    assert terms["magnitudes"][2] * math.sqrt(6 / 15) == pytest.approx(_leading_order_he_part(3, 0.05, 0.4, 1.0, 0.3, N),
                                                                        rel=1e-6)  # 40 vs 80 nodes
    assert left_hermite_part("tanh", "tanh", N, N, N, 1.0, 0.4, 1.0, 0.3, degree=2) == pytest.approx(0.0, abs=1e-12)
    # at the C4 ladder the higher orders lower the He3 part by about a third
    exact = left_hermite_part("tanh", "tanh", N, N, N, 1.0, 0.4, 1.0, 0.3, degree=3)
    assert 0.55 < exact / _leading_order_he_part(3, 1.0, 0.4, 1.0, 0.3, N) < 0.75
