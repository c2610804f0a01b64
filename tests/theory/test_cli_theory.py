"""``giantstep theory ...`` in a subprocess: the fixed JSON names, one JSON object, bad input."""

import json

import pytest
from typer.testing import CliRunner

from giantstep.cli import theory as cli_theory
from giantstep.errors import ConfigError

RUNNER = CliRunner()


def _inproc(*args):
    """Run a theory command in-process (same code path, without the interpreter start-up)."""
    res = RUNNER.invoke(cli_theory.build_theory_app(), [*args, "--json"])
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout.strip())


def _json(cli, *args):
    res = cli("theory", *args, "--json")
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1
    return json.loads(lines[0])


def test_hermite(cli):
    out = _json(cli, "hermite", "relu")
    for key in ("mu0", "mu1", "mustar", "coefficients", "information_exponent", "generative_exponent"):
        assert key in out
    assert out["mu1"] == pytest.approx(0.5) and len(out["coefficients"]) >= 9
    out = _inproc("hermite", "he2", "--noise", "0.5")
    assert out["information_exponent"] == 2 and out["generative_exponent"] == 2


def test_bbp_and_mp(cli):
    out = _json(cli, "bbp", "--aspect", "1", "--theta", "2")
    assert (out["top"], out["edge"], out["left_overlap2"], out["right_overlap2"], out["outlier"]) == (2.5, 2.0, 0.75, 0.75, True)
    out = _inproc("mp", "--gamma", "0.5")
    assert out["upper_edge"] == pytest.approx(2.9142135624) and out["stieltjes"][1] == pytest.approx(1.2683, abs=1e-4)


def test_rf_ridge_one_step_two_step(cli):
    out = _json(cli, "rf-ridge", "--activation", "relu", "--psi1", "2", "--psi2", "3", "--ridge", "1e-3",
                "--F1", "1", "--Fstar", "0.5", "--noise", "0.3")
    assert out["risk"] == pytest.approx(out["bias"] + out["variance"] + 0.25)
    out = _json(cli, "one-step", "--activation", "relu", "--link", "he1", "--noise", "0", "--d", "1000",
                "--width", "1000", "--n", "2000", "--eta0", "2", "--alpha", "0.25", "--second-layer", "gaussian",
                "--residual", "centered")
    for key in ("vhat_norm2", "gamma2", "s1_update", "s1_weights", "outlier", "overlap_theta"):
        assert key in out
    assert out["gamma2"] == pytest.approx(2 / 3)
    out = _json(cli, "two-step", "--alpha1", "0.4", "--alpha2", "0.3")
    assert out["new_directions"] == 3 and out["outliers_including_first"] == 4
    assert out["exponents"][:4] == pytest.approx([0.3, 0.2, 0.1, 0.0])
    assert "left_hermite_parts" not in out  # only for a Gaussian second layer
    out = _inproc("two-step", "--alpha1", "0.4", "--alpha2", "0.3", "--activation", "tanh", "--link", "tanh",
                  "--d", "1024", "--width", "1024", "--n", "1024", "--second-layer", "gaussian")
    assert out["left_hermite_parts"]["he3"] == pytest.approx(0.3040, abs=1e-4)  # the C4 ladder at N = 1024 (first step's bulk included)
    assert out["left_hermite_parts"]["he2"] == pytest.approx(0.0, abs=1e-12)  # tanh: zero by parity


def test_remaining_commands_in_process():
    out = _inproc("srf", "--eta0", "3", "--psi2", "2", "--readout-ratio", "2", "--lam", "0.1")
    assert out["converged"] and 0 < out["test_error"] < 1 and out["r"] == pytest.approx(1.3647, abs=1e-4)
    out = _inproc("poly-spikes", "--alpha", "0.3")
    assert out["spikes"] == 2 and out["interval"] == pytest.approx([0.25, 1 / 3])
    out = _inproc("ge-ridge", "--d", "100", "--width", "120", "--n", "200", "--ridge", "0.01", "--link", "tanh")
    assert out["test_error"] >= out["irreducible"] > 0
    out = _inproc("ck-spectrum", "--phi", "0.5", "--psi", "0.8", "--grid", "10")
    assert len(out["density"]) == 10 and out["edge"] > 0


@pytest.mark.parametrize(
    "args,field",
    [
        (("bbp", "--aspect", "2", "--theta", "1"), "aspect"),
    ],
)
def test_bad_parameter_exit_2_one_line(cli, args, field):
    res = cli("theory", *args, "--json")
    assert res.returncode == 2
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and f"'{field}'" in lines[0] and "Got" in lines[0]


@pytest.mark.parametrize(
    "args,field",
    [
        (("one-step", "--d", "10", "--width", "10", "--n", "10", "--eta0", "1", "--alpha", "0.7"), "alpha"),
        (("rf-ridge", "--psi1", "-1", "--psi2", "1", "--ridge", "0.1"), "psi1"),
        (("hermite", "nosuch"), "name"),
        (("two-step", "--alpha1", "0.6", "--alpha2", "0.1"), "alpha1"),
        (("srf", "--eta0", "1", "--psi2", "1", "--readout-ratio", "1", "--lam", "0"), "lam"),
        (("mp", "--gamma", "0"), "aspect"),
        (("ge-ridge", "--n", "10", "--ridge", "0.1", "--init", "ball"), "init"),
    ],
)
def test_bad_parameters_name_the_field(args, field):
    """The in-process app raises ConfigError (which main() turns into exit 2 + one line)."""
    with pytest.raises(ConfigError, match=f"'{field}' parameter must be"):
        _inproc(*args)
