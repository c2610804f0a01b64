"""The top-level Python API: lazy imports, run/sweep/load_results/load_arrays/reproduce, the theory
quantities by command name (same keyword arguments and the same numbers as the CLI), and the
saved weights' round trip into ge-ridge."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import yaml

import giantstep
from giantstep.errors import ConfigError
from giantstep.jsonable import to_jsonable

SMALL = {"seed": 3, "d": 48, "width": 64, "n": 96, "activation": "tanh", "teacher": {"link": "he1"},
         "steps": [{"eta0": 1.0, "alpha": 0.0}, {"eta0": 1.0, "alpha": 0.0, "batch": "reuse"}],
         "readout": {"ridge": 0.01, "n_train": 300, "n_test": 300}}


def test_import_loads_no_heavy_module():
    code = ("import sys, giantstep; giantstep.theory; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('scipy', 'pandas', 'dask', 'distributed', 'matplotlib', 'pydantic', 'typer')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_lazy_attributes():
    assert giantstep.theory.__name__ == "giantstep.theory"
    assert giantstep.plots.__name__ == "giantstep.plots"
    with pytest.raises(AttributeError):
        giantstep.no_such_thing  # noqa: B018


def test_run_from_a_mapping_a_file_and_a_model_is_the_same_run(tmp_path):
    from giantstep.experiments.kinds import parse_config

    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(SMALL))
    results = [giantstep.run(SMALL), giantstep.run(path), giantstep.run(parse_config(SMALL))]
    records = [r.record for r in results]
    for r in records:
        r.pop("timings")
    assert records[0] == records[1] == records[2]
    assert results[0].metrics == results[1].metrics and "readout.test_error" in results[0].metrics


def test_run_bad_input_raises_before_anything_is_written(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ConfigError) as err:
        giantstep.run(dict(SMALL, width=-1), out=out)
    assert err.value.field == "width" and not out.exists()
    with pytest.raises(ConfigError) as err:
        giantstep.run(dict(SMALL, activation="x.__class__"), out=out)
    assert err.value.field == "activation" and not out.exists()


def test_saved_weights_round_trip(tmp_path):
    out = tmp_path / "run"
    res = giantstep.run(SMALL, save_weights=True, save_updates=True, out=out)
    a = res.arrays
    assert {"W0", "W1", "W2", "a", "theta", "dW1", "dW2"} <= set(a)
    assert a["W2"].shape == (64, 48) and a["a"].shape == (64,) and a["theta"].shape == (48, 1)
    np.testing.assert_array_equal(a["dW2"], a["W2"] - a["W1"])
    # the saved top singular values are those of the saved W_t (same float64 matrix)
    np.testing.assert_allclose(np.linalg.svd(a["W1"], compute_uv=False)[:10], a["w1.top_singular_values"],
                               rtol=1e-10)
    with np.load(out / "arrays.npz") as z:
        np.testing.assert_array_equal(z["W2"], a["W2"])
    args = dict(activation="tanh", link="he1", n=300, ridge=0.01)
    from_arrays = giantstep.theory.ge_ridge(weights=a["W2"], theta=a["theta"], **args)
    from_dir = giantstep.theory.ge_ridge(weights=out, **args)  # last W_t and the run's theta
    numbers = lambda out: {k: v for k, v in out.items() if k != "assumptions"}  # noqa: E731 - the source differs
    assert numbers(from_arrays) == numbers(from_dir)
    assert from_dir["assumptions"]["weights"] == f"loaded from {out}"
    np.save(tmp_path / "W.npy", a["W2"])
    np.save(tmp_path / "theta.npy", a["theta"][:, 0])
    res_cli = subprocess.run([sys.executable, "-m", "giantstep", "theory", "ge-ridge", "--weights",
                              str(tmp_path / "W.npy"), "--theta", str(tmp_path / "theta.npy"), "--activation", "tanh",
                              "--link", "he1", "--n", "300", "--ridge", "0.01", "--json"],
                             capture_output=True, text=True)
    assert res_cli.returncode == 0, res_cli.stderr
    assert numbers(json.loads(res_cli.stdout)) == to_jsonable(numbers(from_arrays))
    with pytest.raises(ConfigError) as err:
        giantstep.theory.ge_ridge(weights=out, key="W7", **args)
    assert err.value.field == "key" and "W2" in str(err.value)


def _cli_commands():
    from giantstep.cli.theory import build_theory_app
    from typer.main import get_command

    return get_command(build_theory_app()).commands


def test_every_theory_command_is_a_quantity_with_its_options():
    import inspect

    from giantstep.theory import COMMANDS, quantities

    commands = _cli_commands()
    assert set(commands) == set(COMMANDS)
    for name, command in commands.items():
        fn = getattr(quantities, COMMANDS[name])
        params = inspect.signature(fn).parameters
        options = {p.name: p for p in command.params if p.name != "json_out"}
        assert set(params) == set(options), name
        for pname, opt in options.items():
            default = params[pname].default
            if opt.required:
                assert default is inspect.Parameter.empty, (name, pname)
            elif opt.default not in ("", None):
                assert default == opt.default, (name, pname, default, opt.default)
        assert callable(getattr(giantstep.theory, COMMANDS[name]))


@pytest.mark.parametrize("argv, call", [
    (["one-step", "--d", "500", "--width", "400", "--n", "900", "--eta0", "1.5", "--alpha", "0.25", "--activation",
      "x*tanh(x)"], dict(d=500, width=400, n=900, eta0=1.5, alpha=0.25, activation="x*tanh(x)")),
    (["rf-ridge", "--psi1", "2", "--psi2", "3", "--ridge", "0.1"], dict(psi1=2.0, psi2=3.0, ridge=0.1)),
    (["bbp", "--theta", "1.7", "--aspect", "0.5"], dict(theta=1.7, aspect=0.5)),
    (["mp", "--aspect", "0.5", "--grid", "5"], dict(aspect=0.5, grid=5)),
    (["delta-alg", "--link", "x**2 - 1", "--allow-outside"], dict(link="x**2 - 1", allow=True)),
    (["hermite", "relu(x-1)"], dict(name="relu(x-1)")),
    (["poly-spikes", "--alpha", "0.3"], dict(alpha=0.3)),
])
def test_quantities_give_the_numbers_the_cli_prints(argv, call, capsys):
    from giantstep.cli import main

    main(["theory", *argv, "--json"])
    printed = json.loads(capsys.readouterr().out)
    fn = getattr(giantstep.theory, argv[0].replace("-", "_"))
    assert printed == json.loads(json.dumps(to_jsonable(fn(**call))))


def test_quantity_modules_stay_modules():
    import giantstep.theory.one_step as module

    assert module is giantstep.theory.one_step and callable(module)
    assert hasattr(giantstep.theory.one_step, "one_step_from_moments")
    with pytest.raises(ConfigError) as err:
        giantstep.theory.one_step(d=0, width=10, n=10, eta0=1.0)
    assert err.value.field == "d"


def test_sweep_load_results_and_saved_weights_in_the_store(tmp_path):
    base = {"d": 24, "width": 24, "n": 48, "theory": False, "spectra": {"top": 4}, "save": {"weights": True},
            "steps": [{"eta0": 1.0, "alpha": 0.0}]}
    store = tmp_path / "s.db"
    report = giantstep.sweep({"name": "w", "base": base, "grid": {"width": [24, 32]}}, store, workers=1)
    assert (report.done, report.failed, report.total) == (2, 0, 2)
    df = giantstep.load_results(store, where="width > 24", columns=["row_id", "width", "w1.s1"])
    assert list(df.columns) == ["row_id", "width", "w1.s1"] and list(df.width) == [32]
    arrays = giantstep.load_arrays(store, int(df.row_id[0]))
    assert arrays["W1"].shape == (32, 24) and arrays["theta"].shape == (24, 1)
    assert abs(np.linalg.svd(arrays["W1"], compute_uv=False)[0] - df["w1.s1"][0]) < 1e-12
    again = giantstep.sweep({"name": "w", "base": base, "grid": {"width": [24, 32]}}, store, workers=1)
    assert (again.done, again.skipped) == (0, 2)


def test_sweep_refuses_a_python_callable(tmp_path):
    base = {"d": 24, "width": 24, "n": 48, "activation": lambda z: np.tanh(z), "steps": [{"eta0": 1.0}]}
    with pytest.raises(ConfigError) as err:
        giantstep.sweep({"base": base}, tmp_path / "s.db", workers=1)
    assert err.value.field == "base.activation"
    assert not (tmp_path / "s.db").exists()


TINY_CLAIM = textwrap.dedent('''
    import json, sys
    import giantstep
    from giantstep.claims import registry
    from giantstep.claims.base import Claim, ClaimOutcome, compare, verdict_from

    def sweeps(mode):
        return {"s": {"base": {"d": 16, "width": 16, "n": 32, "theory": False, "steps": [{"eta0": 0.0}]},
                      "seeds": 2}}

    def analyse(ctx, pred):
        s0, s1 = ctx.ok("s")["w0.s1"], ctx.ok("s")["w1.s1"]  # a step with eta0 = 0 leaves W exactly
        row = compare("s1 of W1 vs W0 at eta0 = 0", float(s0.mean()), float(s1.mean()), 0.0, bias=1e-12,
                      note="exact: W1 = W0")
        verdict, reason = verdict_from([row])
        return ClaimOutcome(verdict, reason, (row,), {"d": 16}, 2)

    registry._loaded = True
    registry.register(Claim("T9", "tiny", "eta0 = 0 leaves W", "test", sweeps, lambda mode: {}, analyse,
                            lambda ctx, pred, outcome: [], "tiny"))
    if __name__ == "__main__":
        summary = giantstep.reproduce(["T9"], out=sys.argv[1], workers=1)
        print(json.dumps(summary["claims"]["T9"]["verdict"]))
''')


def test_reproduce(tmp_path):
    script = tmp_path / "tiny.py"
    script.write_text(TINY_CLAIM)
    res = subprocess.run([sys.executable, str(script), str(tmp_path / "out")], capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout.strip().splitlines()[-1]) == "PASS"
    assert (tmp_path / "out" / "summary.json").is_file() and (tmp_path / "out" / "report.html").is_file()
