"""The expression language for sigma and g: values, symbolic derivatives, kinks, canonical names,
Hermite constants against closed forms, caching, and hostile input refused with nothing executed."""

import math
import sys

import numpy as np
import pytest
import yaml

from giantstep import expressions as ex
from giantstep.activations import function_name, get_activation
from giantstep.errors import ConfigError
from giantstep.hermite import hermite_coefficients, hermite_constants

Z = np.linspace(-3.05, 2.75, 59)  # steps of 0.1 between the kinks at 0 and +-1 of the kinked cases

SECH2 = lambda z: 1.0 / np.cosh(z) ** 2  # noqa: E731

# expression -> (f, f', f'') written independently with numpy
ACCEPTED = {
    "x*tanh(x)": (lambda z: z * np.tanh(z), lambda z: np.tanh(z) + z * SECH2(z),
                  lambda z: 2 * SECH2(z) - 2 * z * np.tanh(z) * SECH2(z)),
    "exp(-x**2/2)": (lambda z: np.exp(-z**2 / 2), lambda z: -z * np.exp(-z**2 / 2),
                     lambda z: (z**2 - 1) * np.exp(-z**2 / 2)),
    "x**3 - 3*x": (lambda z: z**3 - 3 * z, lambda z: 3 * z**2 - 3, lambda z: 6 * z),
    "relu(x - 1)": (lambda z: np.maximum(z - 1, 0), lambda z: (z > 1).astype(float), lambda z: 0 * z),
    "maximum(x, 0.2*x)": (lambda z: np.maximum(z, 0.2 * z), lambda z: np.where(z >= 0, 1.0, 0.2), lambda z: 0 * z),
    "minimum(abs(x), 1)": (lambda z: np.minimum(np.abs(z), 1), lambda z: np.where(np.abs(z) <= 1, np.sign(z), 0.0),
                           lambda z: 0 * z),
    "sqrt(1 + x**2)": (lambda z: np.sqrt(1 + z**2), lambda z: z / np.sqrt(1 + z**2), lambda z: (1 + z**2) ** -1.5),
    "log(1 + x**2)": (lambda z: np.log(1 + z**2), lambda z: 2 * z / (1 + z**2),
                      lambda z: (2 - 2 * z**2) / (1 + z**2) ** 2),
    "1/(1 + x**2)": (lambda z: 1 / (1 + z**2), lambda z: -2 * z / (1 + z**2) ** 2,
                     lambda z: (6 * z**2 - 2) / (1 + z**2) ** 3),
    "sin(2*x) + cos(x)": (lambda z: np.sin(2 * z) + np.cos(z), lambda z: 2 * np.cos(2 * z) - np.sin(z),
                          lambda z: -4 * np.sin(2 * z) - np.cos(z)),
    "arctan(x)": (np.arctan, lambda z: 1 / (1 + z**2), lambda z: -2 * z / (1 + z**2) ** 2),
    "sinh(x/2)*cosh(x/3)": (lambda z: np.sinh(z / 2) * np.cosh(z / 3),
                            lambda z: np.cosh(z / 2) * np.cosh(z / 3) / 2 + np.sinh(z / 2) * np.sinh(z / 3) / 3,
                            lambda z: np.sinh(z / 2) * np.cosh(z / 3) * (1 / 4 + 1 / 9)
                            + 2 * np.cosh(z / 2) * np.sinh(z / 3) / 6),
    "abs(x)**1.5": (lambda z: np.abs(z) ** 1.5, lambda z: 1.5 * np.sign(z) * np.abs(z) ** 0.5,
                    lambda z: 0.75 * np.abs(z) ** -0.5),
    "sign(x)*x**2": (lambda z: np.sign(z) * z**2, lambda z: 2 * np.abs(z), lambda z: 2 * np.sign(z)),
    "he3 + 0.5*x*tanh(x)": (lambda z: (z**3 - 3 * z) / math.sqrt(6) + 0.5 * z * np.tanh(z),
                            lambda z: (3 * z**2 - 3) / math.sqrt(6) + 0.5 * (np.tanh(z) + z * SECH2(z)),
                            lambda z: 6 * z / math.sqrt(6) + SECH2(z) - z * np.tanh(z) * SECH2(z)),
    "erf(x)**2": (lambda z: __import__("scipy.special").special.erf(z) ** 2,
                  lambda z: 2 * __import__("scipy.special").special.erf(z) * 2 / math.sqrt(math.pi) * np.exp(-z**2),
                  lambda z: 8 / math.pi * np.exp(-2 * z**2)
                  - 8 / math.sqrt(math.pi) * z * np.exp(-z**2) * __import__("scipy.special").special.erf(z)),
}


@pytest.mark.parametrize("text", sorted(ACCEPTED))
def test_values_and_symbolic_derivatives(text):
    act = get_activation(text)
    f, df, d2f = ACCEPTED[text]
    # the tree walker and numpy evaluate the same floating-point operations up to reassociation: ~1e-13
    np.testing.assert_allclose(act.f(Z), f(Z), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(act.df(Z), df(Z), rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(act.d2f(Z), d2f(Z), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("text, kinks", [
    ("relu(x - 1)", (1.0,)), ("abs(2*x + 1)", (-0.5,)), ("relu(abs(x) - 1)", (-1.0, 0.0, 1.0)),
    ("maximum(x, 0.5)", (0.5,)), ("minimum(x, -x/3)", (0.0,)), ("sign(x**3 - 8)", (2.0,)),
    ("relu(exp(x) - 2)", (math.log(2.0),)), ("x*tanh(x)", ()), ("abs(x)**1.5", (0.0,)),
])
def test_kinks_are_located(text, kinks):
    found = get_activation(text).kinks
    assert len(found) == len(kinks)
    np.testing.assert_allclose(found, kinks, atol=1e-13)


def test_canonical_names():
    assert get_activation("X * TANH( x )").name == "x*tanh(x)"
    assert get_activation("x*tanh(x)") is get_activation(" x *tanh(x) ")  # one object per spelling
    assert get_activation("(x - 1)**2").name == "(x-1)**2"
    assert get_activation("-(x**2)").name == "-x**2"
    assert get_activation("x - (x - 1)**3").name == "x-(x-1)**3"
    # the sum syntax keeps its canonical name; linear combinations of registry functions become sums
    assert get_activation("he1 + 0.5*he2").name == "he1+0.5*he2"
    assert get_activation("0.5*(he1 + he2)").name == "0.5*he1+0.5*he2"
    assert get_activation("relu(x)") is get_activation("relu")
    assert get_activation("x").name == "he1"


def test_hermite_constants_of_expressions_against_closed_forms():
    # E[relu(G - 1)] = phi(1) - (1 - Phi(1)); Stein: E[G tanh(G)] = E[tanh'(G)] = mu1(tanh)
    phi1 = math.exp(-0.5) / math.sqrt(2 * math.pi)
    assert abs(hermite_constants("relu(x-1)").mu0 - (phi1 - 0.5 * math.erfc(1 / math.sqrt(2)))) < 1e-12
    assert abs(hermite_constants("x*tanh(x)").mu0 - hermite_constants("tanh").mu1) < 1e-12
    # exp(-x^2): E = 1/sqrt(3), c2 = E[(G^2 - 1) e^{-G^2}] = 1/(3 sqrt 3) - 1/sqrt 3, E f^2 = 1/sqrt 5
    c = hermite_coefficients("exp(-x**2)", 4)
    assert abs(c[0] - 1 / math.sqrt(3)) < 1e-12 and abs(c[1]) < 1e-12
    assert abs(c[2] + 2 / (3 * math.sqrt(3))) < 1e-12
    assert abs(hermite_constants("exp(-x**2)").second_moment - 1 / math.sqrt(5)) < 1e-12
    # a kinked expression: E[min(|G|, 1)] = sqrt(2/pi) (1 - e^{-1/2}) + 2 (1 - Phi(1))
    want = math.sqrt(2 / math.pi) * (1 - math.exp(-0.5)) + math.erfc(1 / math.sqrt(2))
    assert abs(hermite_constants("minimum(abs(x), 1)").mu0 - want) < 1e-12


def test_callables_are_cached_per_callable():
    calls = []

    def swish(z):
        calls.append(1)
        return z / (1 + np.exp(-z))

    first = hermite_constants(swish)
    n_calls = len(calls)
    assert n_calls > 0
    assert hermite_constants(swish) == first and len(calls) == n_calls  # no second quadrature
    assert get_activation(swish) is get_activation(swish)
    # central differences (error ~h^2 f''' = 1e-10 for h = 1e-5) against the exact derivative of swish
    s = 1 / (1 + np.exp(-Z))
    np.testing.assert_allclose(get_activation(swish).df(Z), s + Z * s * (1 - s), atol=1e-8)


def test_callables_have_distinct_names_in_configs():
    f = lambda z: np.tanh(z)  # noqa: E731
    g = lambda z: np.tanh(2 * z)  # noqa: E731
    nf, ng = function_name(f), function_name(g)
    assert nf.startswith("python:") and ng.startswith("python:") and nf != ng
    assert get_activation(nf) is get_activation(f) and get_activation(ng) is get_activation(g)
    assert function_name(get_activation("x*tanh(x)")) == "x*tanh(x)"
    assert function_name(get_activation("relu")) == "relu"


def test_a_python_callable_runs_in_a_config():
    from giantstep.experiments.kinds import parse_config, run_config

    def swish(z):
        return z / (1 + np.exp(-z))

    cfg = parse_config({"d": 24, "width": 24, "n": 48, "activation": swish, "teacher": {"link": "x*tanh(x)"},
                        "steps": [{"eta0": 1.0, "alpha": 0.25}], "theory": False})
    assert cfg.activation.startswith("python:swish") and cfg.teacher.link == "x*tanh(x)"
    rec = run_config(cfg).record
    assert rec["config"]["activation"] == cfg.activation
    assert parse_config(rec["config"]).activation == cfg.activation  # resolvable in this process


@pytest.mark.parametrize("text, reason", [
    ("log(x)", "finite values"), ("1/x", "poles"), ("1/(x - 0.0123)", "poles"), ("x**(-2)", "poles"),
    ("sqrt(x)", "finite values"), ("exp(x**2)", "finite values"), ("exp(x**2/3)", "second moment"),
    ("exp(exp(x))", "finite values"),
])
def test_functions_without_gaussian_constants_are_refused(text, reason):
    with pytest.raises(ConfigError) as err:
        get_activation(text, "link")
    assert err.value.field == "link" and reason in str(err.value)


CANARY = "giantstep-canary"

HOSTILE = [
    "__import__('os').system('touch {canary}')",
    "open('{canary}', 'w')",
    "x.__class__",
    "x.__class__.__bases__[0].__subclasses__()",
    "().__class__.__base__.__subclasses__()",
    "(lambda: __import__('os').system('touch {canary}'))()",
    "[c for c in ().__class__.__mro__]",
    "{{c for c in 'ab'}}",
    "exp.__globals__",
    "eval('open(\"{canary}\", \"w\")')",
    "exec('import os')",
    "compile('1', 'f', 'eval')",
    "globals()",
    "getattr(x, 'real')",
    "breakpoint()",
    "x[0]",
    "9**9**9**9",
    "x**1000000",
    "'a'*10**9",
    "f'{{x}}'",
    "b'x'",
    "x if x else 1",
    "x and 1",
    "x == 1",
    "y",
    "exp",
    "np.exp(x)",
    "exp(x, out=x)",
    "exp(*[x])",
    "relu(x, x)",
    "maximum(x)",
    "exp(x)**x",
    "(x := 1)",
    "x; import os",
    "import os",
    "{{'a': 1}}",
    "1j*x",
    "True*x",
    "x @ x",
    "x // 2",
    "x % 2",
    "1e999*x",
    "1/0 + x",
    "__builtins__",
    "x\x00",
    "\uff58",
    "-" * 100 + "x",
    "exp(" * 45 + "x" + ")" * 45,
    "1+" * 250 + "x",
]


@pytest.fixture
def audited():
    """Audit events raised while the body runs (a hook that stays installed but records only then)."""
    events: list[str] = []
    state = {"on": False}

    def hook(event, args):
        if state["on"]:
            events.append(event)

    sys.addaudithook(hook)

    class Recorder:
        def __enter__(self):
            events.clear()
            state["on"] = True
            return events

        def __exit__(self, *exc):
            state["on"] = False

    return Recorder()


def test_at_least_twenty_hostile_expressions():
    assert len(HOSTILE) >= 20


@pytest.mark.parametrize("template", HOSTILE)
def test_hostile_expressions_are_refused_with_nothing_executed(template, tmp_path, monkeypatch, audited):
    canary = tmp_path / CANARY
    text = template.format(canary=canary)
    get_activation("x*tanh(x)")  # the function table is built before recording

    def never(*args, **kwargs):
        raise AssertionError("an expression was evaluated")

    monkeypatch.setattr(ex, "evaluate", never)
    with audited as events:
        with pytest.raises(ConfigError) as err:
            get_activation(text, "activation")
    assert err.value.field == "activation"
    assert "\n" not in str(err.value)
    # parsing to a syntax tree is the only event: nothing imported, opened, executed or spawned
    assert set(events) <= {"compile"}, events
    assert not canary.exists()


@pytest.mark.parametrize("template", HOSTILE[:3] + ["x.real"])
def test_hostile_expressions_in_a_config_file_exit_2(template, tmp_path, cli):
    canary = tmp_path / CANARY
    cfg = {"d": 8, "width": 8, "n": 16, "activation": template.format(canary=canary)}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    res = cli("run", path, "--out", out, cwd=tmp_path)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "'activation'" in lines[0] and "Traceback" not in res.stderr
    assert not canary.exists() and not out.exists() and res.stdout == ""


def test_hostile_link_on_the_theory_command_line(tmp_path, cli):
    canary = tmp_path / CANARY
    res = cli("theory", "hermite", f"__import__('os').system('touch {canary}')", cwd=tmp_path)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "'name'" in res.stderr
    assert not canary.exists()


def _doc_table(header: str) -> list[list[str]]:
    """The rows of the table of docs/expressions.md whose first column is ``header``."""
    from pathlib import Path

    lines = (Path(__file__).parents[2] / "docs" / "expressions.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header} |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip().strip("`") for cell in line.strip("|").split(" | ")])
    return rows


def test_documented_table():
    accepted, refused = _doc_table("accepted"), _doc_table("refused")
    assert len(accepted) >= 15 and len(refused) >= 20
    for text, canonical, _ in accepted:
        assert get_activation(text).name == canonical, text
    for text, _ in refused:
        with pytest.raises(ConfigError):
            get_activation(text)
