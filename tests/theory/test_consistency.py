"""Cross-consistency of the theory functions wherever one reduces to another, and a property test
over activations and links from the registry and sums of Hermite terms (issue 12, "must show")."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from giantstep.activations import get_activation
from giantstep.hermite import hermite_constants
from giantstep.theory.first_step import first_step
from giantstep.theory.kernel_modes import kernel_mode_report
from giantstep.theory.mei_montanari import rf_ridge_risk
from giantstep.theory.one_step import one_step
from giantstep.theory.srf import srf_parameters, srf_test_error
from giantstep.theory.two_step import two_step_terms

SIZES = dict(d=300, width=400, n=600)
# continuous activations (sigma' a function) of the registry, and links
ACTIVATIONS = ["relu", "tanh", "erf", "sigmoid", "sin", "gelu", "softplus", "abs", "square", "he2", "he3"]
LINKS = ["he1", "relu", "tanh", "abs", "square", "he2", "he3", "sign", "sigmoid"]


@st.composite
def hermite_sum(draw) -> str:
    """c1 He1 + c2 He2 + c3 He3 (normalised He_k / sqrt(k!)) with a non-zero linear part."""
    c = [draw(st.floats(0.1, 2.0)), draw(st.floats(-1.0, 1.0)), draw(st.floats(-1.0, 1.0))]
    return "+".join(f"{abs(x):.3f}*he{k + 1}" if x >= 0 else f"0*he0-{abs(x):.3f}*he{k + 1}" for k, x in enumerate(c))


def _pair(spec: str):
    """(sigma, -sigma) as Activation objects (resolved once, so the Hermite constants are computed once each)."""
    from giantstep.activations import Activation

    act = get_activation(spec)
    neg = Activation(f"-({act.name})", f=lambda z: -act.f(z), df=lambda z: -act.df(z), d2f=lambda z: -act.d2f(z),
                     kinks=act.kinks)
    return act, neg


@settings(max_examples=8, deadline=None, derandomize=True, database=None)
@given(spec=st.one_of(st.sampled_from(ACTIVATIONS), hermite_sum()), link=st.sampled_from(LINKS),
       alpha=st.sampled_from([0.0, 0.2, 0.4]))
def test_every_magnitude_is_invariant_under_sign_flip(spec, link, alpha):
    """sigma -> -sigma: first_step, one_step and two_step_terms report the same magnitudes; the
    update's orientation (FirstStep.sign) flips."""
    act, neg = _pair(spec)
    kw = dict(**SIZES, eta0=2.0, alpha=alpha)
    a, b = first_step(act, link, **kw), first_step(neg, link, **kw)
    for key in ("s", "gamma", "vhat_norm2", "inflation", "var_dsigma", "er2"):
        assert getattr(b, key) == pytest.approx(getattr(a, key), rel=1e-9, abs=1e-14), key
    if abs(a.mu1) > 1e-12:
        assert a.sign == -b.sign
    p, q = one_step(act, link, **kw), one_step(neg, link, **kw)
    for key in ("s1_update", "s1_weights", "overlap_theta", "bulk_edge", "gram_spike"):
        assert getattr(q, key) == pytest.approx(getattr(p, key), rel=1e-9, abs=1e-12), key
    t1 = two_step_terms(act, link, 300, 400, 600, 2.0, alpha, 1.0, 0.2)
    t2 = two_step_terms(neg, link, 300, 400, 600, 2.0, alpha, 1.0, 0.2)
    assert t2.s1 == pytest.approx(t1.s1) and t2.carries_theta == t1.carries_theta
    for m1, m2 in zip(t1.magnitudes, t2.magnitudes):  # a number, or the same refusal
        assert m2 == (m1 if isinstance(m1, str) else pytest.approx(m1, rel=1e-9, abs=1e-14))


@settings(max_examples=5, deadline=None, derandomize=True, database=None)
@given(spec=st.one_of(st.sampled_from(ACTIVATIONS), hermite_sum()), link=st.sampled_from(LINKS))
def test_every_module_sees_the_same_first_step(spec, link):
    """one_step, two_step (its first step) and kernel_modes use first_step's s, gamma and c exactly."""
    act = get_activation(spec)
    fs = first_step(act, link, **SIZES, eta0=1.5, alpha=0.25)
    one = one_step(act, link, **SIZES, eta0=1.5, alpha=0.25)
    assert one.s1_update == pytest.approx(fs.s * math.sqrt(400), rel=1e-12)
    assert (one.vhat_norm2, one.gamma2, one.bulk_inflation) == pytest.approx((fs.vhat_norm2, fs.gamma**2, fs.inflation))
    two = two_step_terms(act, link, 300, 400, 600, 1.5, 0.25, 1.0, 0.2)
    assert (two.s1, two.gamma1) == pytest.approx((fs.s, fs.gamma), rel=1e-12)
    modes = kernel_mode_report(act, link, 300, 400, 600, 1.5, 0.25)
    assert (modes.s, modes.gamma, modes.inflation) == pytest.approx((fs.s, fs.gamma, fs.inflation), rel=1e-12)


def _mm_equivalent(link: str, n_over_d: float, lam: float, intercept: bool = True) -> float:
    """Mei-Montanari at psi1 = 1, psi2 = n_over_d, lambda_MM = lam / n_over_d for the link's linear
    part F1 = |mu1*| and nonlinear energy F*^2 = E g^2 - mu0*^2 - mu1*^2; without an intercept the
    teacher's mean mu0* is one more part that the odd features (mu0 = 0) cannot fit: F*^2 + mu0*^2."""
    h = hermite_constants(link)
    fstar2 = h.second_moment - h.mu1**2 - (h.mu0**2 if intercept else 0.0)
    return rf_ridge_risk("tanh", 1.0, n_over_d, lam / n_over_d, abs(h.mu1), math.sqrt(max(fstar2, 0.0)), 0.0).risk


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("link", ["tanh", "he3", "he2", "he1+0.5*he2", "relu", "abs", "0.5*he0+he1"])
def test_srf_without_spike_is_mei_montanari(link, intercept):
    """r = 0, c = 1 is plain random features (p = d): odd (tanh, he3), even (he2, abs), mixed and
    non-centred (relu, abs, 0.5 + he1) links, with the readout's intercept (the simulator's ``steps``
    readout) and without it (issue 12, defect 1: before, the equations had no intercept and relu gave
    0.443 against 0.226 at this point, abs 1.366 against 0.496)."""
    res = srf_test_error("tanh", link, 0.0, 1.0, 0.8, 2.0, 0.1, intercept=intercept)
    assert res.test_error == pytest.approx(_mm_equivalent(link, 2.0, 0.1, intercept), rel=1e-6)


# ----------------------------------------------------------------------------------------------
# the same reductions and symmetries over activations and links drawn from the registry

ODD_ACTIVATIONS = ["tanh", "erf", "sin", "he3", "he1+0.3*he3"]
NAMES = {"activation", "link"}  # entries that name the function rather than measure anything


def _same_magnitudes(a, b, path="") -> None:
    """Every number of two results agrees (rel 1e-7); strings ('not applicable: ...') are equal."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            if key not in NAMES:
                _same_magnitudes(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _same_magnitudes(x, y, f"{path}[{i}]")
    elif isinstance(a, (bool, str)) or a is None:
        assert a == b, path
    else:
        assert b == pytest.approx(a, rel=1e-7, abs=1e-12), path


@settings(max_examples=6, deadline=None, derandomize=True, database=None)
@given(spec=st.sampled_from(ODD_ACTIVATIONS), link=st.one_of(st.sampled_from(LINKS + ["0.5*he0+he2"]), hermite_sum()),
       intercept=st.booleans())
def test_srf_without_spike_is_mei_montanari_for_drawn_links(spec, link, intercept):
    """r = 0, c = 1 equals Mei-Montanari (psi1 = 1) for odd activations and any link of the registry or
    sum of Hermite terms, with and without the readout's intercept (the mean mu0* is fitted by b, or
    counts in F*^2 for features with mu0 = 0)."""
    h, act = hermite_constants(link), get_activation(spec)
    fstar2 = h.second_moment - h.mu1**2 - (h.mu0**2 if intercept else 0.0)
    mm = rf_ridge_risk(act, 1.0, 2.0, 0.05, abs(h.mu1), math.sqrt(max(fstar2, 0.0)), 0.0).risk
    assert srf_test_error(act, link, 0.0, 1.0, 0.6, 2.0, 0.1, intercept=intercept).test_error == pytest.approx(mm, rel=1e-6)


@settings(max_examples=5, deadline=None, derandomize=True, database=None)
@given(spec=st.one_of(st.sampled_from(["tanh", "relu", "erf", "sigmoid", "gelu", "softplus", "abs"]), hermite_sum()),
       psi1=st.sampled_from([0.5, 1.0, 2.0]), ratio=st.sampled_from([0.8, 2.0]))
def test_feature_spectrum_without_spike_is_pennington_worah_for_drawn_activations(spec, psi1, ratio):
    """r = 0, c = 1: the feature spectrum's Stieltjes transform is Pennington-Worah's (an independent
    quartic solver) for activations of the registry and sums of Hermite terms (the fixed cases are in
    test_feature_spectrum.py::test_no_spike_is_pennington_worah)."""
    import numpy as np

    from giantstep.theory import feature_spectrum as fs
    from giantstep.theory.pennington_worah import ck_constants, ck_stieltjes

    act = get_activation(spec)
    ck = ck_constants(act)
    z = np.array([0.3 + 0.2j, 1.0 + 0.05j, 2.5 + 0.5j])
    got = fs.feature_stieltjes(z, fs.feature_model(act, 0.0, 1.0, psi1, ratio, second_layer="ones"))
    assert got.converged
    np.testing.assert_allclose(got.g, -ck_stieltjes(z, 1.0 / ratio, 1.0 / psi1, ck.eta, ck.zeta), rtol=1e-7, atol=1e-10)


@settings(max_examples=5, deadline=None, derandomize=True, database=None)
@given(spec=st.sampled_from(ODD_ACTIVATIONS + ["-1*tanh"]), link=st.sampled_from(["he1", "tanh", "relu", "he3"]))
def test_srf_magnitudes_are_invariant_under_sign_flip(spec, link):
    """sigma -> -sigma: (r, gamma, c) and the sRF test error (a_i -> -a_i, m, t, psi -> -m, -t, -psi)."""
    act, neg = _pair(spec)
    p, q = srf_parameters(act, link, 3.0, 2.0), srf_parameters(neg, link, 3.0, 2.0)
    _same_magnitudes(p.as_dict(), q.as_dict())
    e1 = srf_test_error(act, link, p.r, p.c, p.gamma, 2.0, 0.1).test_error
    assert srf_test_error(neg, link, q.r, q.c, q.gamma, 2.0, 0.1).test_error == pytest.approx(e1, rel=1e-7)


@settings(max_examples=5, deadline=None, derandomize=True, database=None)
@given(spec=st.one_of(st.sampled_from(ACTIVATIONS), hermite_sum()), link=st.sampled_from(LINKS),
       batch=st.sampled_from(["fresh", "reuse"]), layer=st.sampled_from(["rademacher", "gaussian"]))
def test_step_results_are_invariant_under_sign_flip(spec, link, batch, layer):
    """sigma -> -sigma: every entry of two_step_terms (magnitudes, theta* flags and the exact-in-s1 parts,
    or the same refusals), the kernel-mode report and the poly-spike magnitudes (|c_k| s^k, exact and
    operator norm; the signed c_k s^k follow the measured projection's orientation)."""
    from giantstep.theory.poly_spikes import degree_spikes

    act, neg = _pair(spec)
    kw = dict(batch=batch, second_layer=layer)
    _same_magnitudes(two_step_terms(act, link, 300, 400, 600, 2.0, 0.3, 1.0, 0.2, **kw).as_dict(),
                     two_step_terms(neg, link, 300, 400, 600, 2.0, 0.3, 1.0, 0.2, **kw).as_dict())
    _same_magnitudes(kernel_mode_report(act, link, 300, 400, 600, 1.5, 0.25).as_dict(),
                     kernel_mode_report(neg, link, 300, 400, 600, 1.5, 0.25).as_dict())
    s = first_step(act, link, 300, 400, 600, 2.0, 0.3).s
    for p, q in zip(degree_spikes(act, 0.3, s, 600, 400), degree_spikes(neg, 0.3, s, 600, 400)):
        assert (abs(q.leading), abs(q.exact), q.op_norm, q.visible) == \
            (pytest.approx(abs(p.leading)), pytest.approx(abs(p.exact)), pytest.approx(p.op_norm), p.visible)
