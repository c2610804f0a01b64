"""Every ``giantstep theory`` command under hostile values: exit status in {0, 1, 2}, never a
traceback, one line on stderr for a refusal (status 2, nothing on stdout), and never null or NaN
in the JSON of a success (issue 18, item 14).

The property test draws, for each command, a set of its flags and a value for each from the
command's plausible values mixed with hostile ones (negative, zero, huge, tiny, NaN, infinite,
malformed, degenerate functions). Plausible sizes stay small so that a success is quick; the
default tier runs a few hundred examples (derandomised: the same examples every run), the slow
tier thousands.
"""

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theory_cli import run_theory

HOSTILE = ["-1", "0", "1e308", "-1e308", "1e-320", "nan", "inf", "-inf", "1e200", "abc", "", "99999999999999999999"]
FUNCS = ["relu", "tanh", "-1*tanh", "0*relu", "sign", "he2", "he1+0.5*he2", "abs", "nosuch", "he13", "1e308*tanh"]
SIZES = ["8", "17", "64", "1000000000"]
COMMON = {"--noise": ["0", "0.3", "1e-5"], "--activation": FUNCS, "--link": FUNCS}

COMMANDS = {
    "hermite": ({"--noise": ["0", "0.5"], "--degree": ["8", "10", "12", "13"]}, ["relu"]),
    "mp": ({"--aspect": ["0.5", "2"], "--gamma": ["0.5"], "--var": ["1", "2"], "--z-real": ["1", "-3"],
            "--z-imag": ["0.1", "1e-9"], "--grid": ["0", "5"]}, ["--aspect", "0.5"]),
    "bbp": ({"--aspect": ["0.5", "1"], "--theta": ["0.5", "2"], "--model": ["rectangular", "wigner", "covariance", "x"]},
            ["--theta", "2"]),
    "ck-spectrum": ({"--phi": ["0.5", "2"], "--psi": ["0.8", "3"], "--grid": ["10", "2"], "--z-real": ["1"],
                     "--z-imag": ["0.1"], "--activation": FUNCS}, ["--phi", "0.5", "--psi", "0.8", "--grid", "10"]),
    "one-step": ({"--d": SIZES, "--width": SIZES, "--n": SIZES, "--eta0": ["0", "1", "3", "1e8"], "--alpha": ["0", "0.25", "0.5"],
                  "--second-layer": ["rademacher", "gaussian", "symmetric", "ones"],
                  "--residual": ["label", "centered", "full", "x"], **COMMON},
                 ["--d", "64", "--width", "64", "--n", "128", "--eta0", "2"]),
    "poly-spikes": ({"--alpha": ["0", "0.3", "0.45"], "--d": SIZES, "--width": SIZES, "--n": SIZES, "--eta0": ["1", "1e8"],
                     "--max-degree": ["1", "6", "12"], **COMMON}, ["--alpha", "0.3"]),
    "two-step": ({"--alpha1": ["0", "0.3", "0.45"], "--alpha2": ["0", "0.2", "0.4"], "--d": SIZES, "--width": SIZES,
                  "--n": SIZES, "--eta1": ["1", "1e8"], "--eta2": ["1", "1e8"], "--batch": ["fresh", "reuse", "x"],
                  "--second-layer": ["rademacher", "gaussian"], "--residual": ["label", "centered"], **COMMON},
                 ["--alpha1", "0.3", "--alpha2", "0.2", "--d", "64", "--width", "64", "--n", "128"]),
    "kernel-modes": ({"--d": ["8", "16", "4"], "--width": SIZES, "--n": SIZES, "--eta0": ["1", "4"], "--alpha": ["0", "0.5"],
                      "--second-layer": ["gaussian", "rademacher", "x"], "--s": ["0.5"], "--gamma": ["0.5"], **COMMON},
                     ["--d", "8", "--width", "32", "--n", "32"]),
    "rf-ridge": ({"--psi1": ["2", "0.5"], "--psi2": ["3", "1"], "--ridge": ["0.01", "1"], "--ridge-mm": ["0.01"],
                  "--F1": ["1", "0"], "--Fstar": ["0.5"], "--noise": ["0", "0.3"], "--activation": FUNCS},
                 ["--psi1", "2", "--psi2", "3", "--ridge", "0.01"]),
    "ge-ridge": ({"--d": ["20", "40"], "--width": ["20", "40"], "--n": ["40", "80"], "--ridge": ["0.1", "0"],
                  "--seed": ["0", "7"], "--init": ["gaussian", "sphere", "ball"], "--weights": ["W.npz", "missing.npy"],
                  "--theta": ["t.npy"], **COMMON}, ["--d", "20", "--width", "20", "--n", "40", "--ridge", "0.1"]),
    "srf": ({"--eta0": ["3", "0", "1e8"], "--psi2": ["2", "0.5"], "--n-over-d": ["2", "0.5"], "--lam": ["0.1", "1e6"],
             "--ridge": ["0.05"], "--d": ["400", "8"], "--r": ["0", "1.5"], "--c": ["1", "2"], "--gamma": ["0.5", "1"],
             **COMMON}, ["--eta0", "3", "--psi2", "2", "--n-over-d", "2", "--lam", "0.1"]),
    "delta-alg": ({"--link": ["square", "abs", "relu", "he2", "0*relu", "he1+he2", "nosuch"],
                   "--noise": ["0", "0.5", "1e-320", "1e-5"], "--k": ["1", "2", "4"],
                   "--combine": ["sum", "norm", "product", "x"], "--method": ["auto", "branches", "grid", "binned", "x"]},
                  ["--link", "abs"]),
    "spectral-threshold": ({"--link": ["square", "abs", "relu", "0*relu", "nosuch"], "--noise": ["0", "0.5"],
                            "--delta": ["2", "0.5"], "--upper": ["3", "inf"], "--lower": ["-1", "-inf"],
                            "--shift": ["1", "0"], "--scale": ["1", "-1", "0"], "--k": ["1", "2", "4"],
                            "--combine": ["sum", "norm", "x"]}, ["--upper", "3", "--shift", "1"]),
    "next-direction": ({"--link": ["3*tanh", "tanh", "he1", "0*relu", "nosuch"], "--activation": ["tanh", "square", "relu"],
                        "--eta": ["1", "0.5", "1e8"], "--delta": ["20", "0.5", "12"], "--combine": ["gated", "sum", "x"],
                        "--population": ["true"]}, ["--no-threshold"]),
}


def _check(args: list[str]) -> None:
    ran = run_theory(*args, "--json")
    assert ran.rc in (0, 1, 2), (args, ran.rc, ran.err)
    assert "Traceback" not in ran.err and "Traceback" not in ran.out, (args, ran.err)
    if ran.rc == 2:
        assert ran.out == "", (args, ran.out)
        assert len(ran.err.strip().splitlines()) == 1 and ran.err.startswith("error: "), (args, ran.err)
    elif ran.rc == 1:
        assert ran.out == "" and len(ran.err.strip().splitlines()) == 1, (args, ran.err)
    else:
        lines = [ln for ln in ran.out.splitlines() if ln.strip()]
        assert len(lines) == 1, (args, ran.out)
        text = lines[0]
        assert "null" not in text and "NaN" not in text and "Infinity" not in text, (args, text)
        json.loads(text)


@st.composite
def invocation(draw, command: str) -> list[str]:
    flags, base = COMMANDS[command]
    args = [command, *base]
    chosen = draw(st.lists(st.sampled_from(sorted(flags)), min_size=1, max_size=3, unique=True))
    for flag in chosen:
        value = draw(st.sampled_from(flags[flag] + HOSTILE))
        if command == "hermite" and flag == "--degree" and value in HOSTILE and value not in ("-1", "0"):
            value = "13"
        args += [f"{flag}={value}"]
    return args


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Run where the --weights/--theta names point at a .npz archive and a valid vector."""
    monkeypatch.chdir(tmp_path)
    np.savez("W.npz", W=np.ones((4, 4)))
    np.save("t.npy", np.ones(20))


@pytest.mark.parametrize("command", sorted(COMMANDS))
@settings(max_examples=24, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_values(command, data):
    _check(data.draw(invocation(command)))


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(COMMANDS))
@settings(max_examples=400, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_values_many(command, data):
    _check(data.draw(invocation(command)))


@pytest.mark.parametrize("args", [
    ["ck-spectrum", "--phi", "-1", "--psi", "1"],
    ["ck-spectrum", "--phi", "1", "--psi", "0"],
    ["ge-ridge", "--seed", "-1", "--n", "10", "--ridge", "0.1", "--d", "10", "--width", "10"],
    ["delta-alg", "--noise", "1e-320"],
    ["two-step", "--alpha1", "0.3", "--alpha2", "0.2", "--link", "0*relu"],
    ["ge-ridge", "--weights", "W.npz", "--n", "10", "--ridge", "0.1"],
    ["one-step", "--d", "100", "--width", "100", "--n", "100", "--eta0", "1e200"],
    ["srf", "--eta0", "1e200", "--psi2", "2", "--n-over-d", "2", "--lam", "0.1"],
    ["mp", "--aspect", "1e308"],
    ["bbp", "--theta", "1e308"],
    ["kernel-modes", "--eta0", "1e308"],
    ["rf-ridge", "--psi1", "1e308", "--psi2", "1", "--ridge", "0.1"],
    ["poly-spikes", "--alpha", "0.3", "--eta0", "1e308"],
])
def test_issue_18_cases(args):
    """The cases that ended in a traceback or printed null with exit 0."""
    _check(args)


def test_infinite_results_are_text():
    """delta_alg = inf (no weak recovery at delta = O(1): a label independent of z) is printed as "inf", not null."""
    out = run_theory("delta-alg", "--link", "he0", "--json").json()  # y independent of z
    assert out["delta_alg"] == "inf" and isinstance(out["generative_exponent"], str)
    assert math.isinf(float(out["delta_alg"]))
