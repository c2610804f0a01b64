"""Theory commands outside their formulas' domains, the one default residual, and the assumptions
every command echoes (issue 12, defects 2, 5 and 6)."""

import pytest

from giantstep.experiments.config import StepsConfig
from giantstep.theory.first_step import DEFAULT_RESIDUAL

STEP = ("--d", "200", "--width", "200", "--n", "400", "--eta0", "2")


def _refused(ran, *words):
    assert ran.rc == 2 and ran.out == "", (ran.rc, ran.out, ran.err)
    lines = ran.err.strip().splitlines()
    assert len(lines) == 1, ran.err
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def test_one_default_residual_everywhere(theory):
    """Simulator, CLI and theory share DEFAULT_RESIDUAL (before: full, centered, and a silent label)."""
    assert StepsConfig(d=4, width=4, n=4).residual == DEFAULT_RESIDUAL == "label"
    one = theory("one-step", *STEP, "--json").json()
    assert one["assumptions"]["residual"] == DEFAULT_RESIDUAL
    two = theory("two-step", "--alpha1", "0.3", "--alpha2", "0.2", "--json").json()
    assert two["assumptions"]["residual"] == DEFAULT_RESIDUAL
    assert theory("one-step", *STEP, "--residual", "label", "--json").json()["s1_update"] == one["s1_update"]
    _refused(theory("two-step", "--alpha1", "0.3", "--alpha2", "0.2", "--residual", "centered", "--json"),
             "outside the formula's domain", "'label'", "--allow-outside")


def test_every_command_echoes_assumptions(theory):
    commands = [
        ("hermite", "relu"), ("mp", "--aspect", "0.5"), ("bbp", "--theta", "2"),
        ("ck-spectrum", "--phi", "0.5", "--psi", "0.8", "--grid", "10"), ("one-step", *STEP),
        ("poly-spikes", "--alpha", "0.3"), ("two-step", "--alpha1", "0.3", "--alpha2", "0.2"),
        ("kernel-modes", "--d", "16", "--width", "32", "--n", "32"),
        ("rf-ridge", "--psi1", "2", "--psi2", "3", "--ridge", "0.01"),
        ("ge-ridge", "--d", "40", "--width", "40", "--n", "80", "--ridge", "0.1"),
        ("srf", "--eta0", "3", "--psi2", "2", "--n-over-d", "2", "--lam", "0.1"),
        ("delta-alg", "--link", "abs"), ("spectral-threshold", "--upper", "3", "--shift", "1"),
    ]
    for args in commands:
        out = theory(*args, "--json").json()
        assert isinstance(out["assumptions"], dict) and out["assumptions"], args
        text = theory(*args)
        assert text.rc == 0 and "assumptions:" in text.out, args


def test_sign_flip_gives_a_positive_singular_value(theory):
    """one-step --activation=-1*tanh reported s1_update = -4.17 before; srf refused it (about 'r')."""
    plus = theory("one-step", *STEP, "--activation", "tanh", "--json").json()
    minus = theory("one-step", *STEP, "--activation=-1*tanh", "--json").json()
    assert minus["s1_update"] == pytest.approx(plus["s1_update"]) and minus["s1_update"] > 0
    srf = theory("srf", "--activation=-1*tanh", "--eta0", "3", "--psi2", "2", "--n-over-d", "2", "--lam", "0.1", "--json")
    assert srf.rc == 0 and srf.json()["r"] > 0


@pytest.mark.parametrize("flag,value", [("--r", "-1"), ("--c", "-1"), ("--gamma", "-0.1"), ("--gamma", "1.5")])
def test_srf_overrides_are_checked(theory, flag, value):
    """Negative overrides were silently replaced by the mapping's value."""
    _refused(theory("srf", "--eta0", "3", "--psi2", "2", "--n-over-d", "2", "--lam", "0.1", flag, value, "--json"),
             f"'{flag[2:]}' parameter must be")


def test_outside_the_domain_refused_or_warned(theory):
    """Exit 2 with the violated condition; --allow-outside prints the number and the warnings."""
    srf = ("srf", "--activation", "relu", "--eta0", "3", "--psi2", "2", "--n-over-d", "2", "--lam", "0.1")
    _refused(theory(*srf, "--json"), "odd", "--allow-outside")
    out = theory(*srf, "--allow-outside", "--json").json()
    assert out["test_error"] > 0 and any("odd" in w for w in out["warnings"])
    _refused(theory("one-step", *STEP, "--alpha", "0.5", "--json"), "alpha < 1/2")
    out = theory("one-step", *STEP, "--alpha", "0.5", "--allow-outside", "--json").json()
    assert out["s1_weights"] > 0 and out["warnings"]
    _refused(theory("one-step", *STEP, "--activation", "sign", "--json"), "Stein")
    _refused(theory("srf", "--eta0", "3", "--psi2", "2", "--n-over-d", "2", "--lam", "1e6", "--d", "400", "--json"),
             "mean mode")
    for eta0 in ("1e200", "1e8"):
        line = _refused(theory("srf", "--eta0", eta0, "--psi2", "2", "--n-over-d", "2", "--lam", "0.1",
                               "--allow-outside", "--json"))
        assert "overflows" in line or "quadrature" in line
    _refused(theory("one-step", *STEP[:-1], "1e200", "--allow-outside", "--json"), "overflows")


def test_ridge_normalisations_are_named(theory):
    """rf-ridge: --ridge is the readout's (= psi1 ridge_mm), --ridge-mm Mei-Montanari's lambda; srf:
    --lam (sum loss) or --ridge (= lam / n_over_d)."""
    a = theory("rf-ridge", "--psi1", "4", "--psi2", "3", "--ridge-mm", "0.01", "--json").json()
    b = theory("rf-ridge", "--psi1", "4", "--psi2", "3", "--ridge", "0.04", "--json").json()
    assert a["risk"] == pytest.approx(b["risk"]) and b["ridge_mm"] == pytest.approx(0.01)
    _refused(theory("rf-ridge", "--psi1", "4", "--psi2", "3", "--json"), "'ridge'", "exactly one")
    s1 = theory("srf", "--eta0", "3", "--psi2", "2", "--n-over-d", "2", "--lam", "0.1", "--json").json()
    s2 = theory("srf", "--eta0", "3", "--psi2", "2", "--readout-ratio", "2", "--ridge", "0.05", "--json").json()
    assert s1["test_error"] == pytest.approx(s2["test_error"]) and s2["lam"] == pytest.approx(0.1)
    aspect = theory("mp", "--aspect", "0.5", "--json").json()
    assert theory("mp", "--gamma", "0.5", "--json").json()["upper_edge"] == aspect["upper_edge"]
