"""`giantstep run` in a subprocess: the JSON record, determinism, one-line errors with exit 2."""

import json

import pytest
import yaml

CONFIG = {
    "seed": 5,
    "d": 50,
    "width": 60,
    "n": 100,
    "activation": "relu",
    "second_layer": "gaussian",
    "residual": "centered",
    "teacher": {"link": "tanh", "k": 2, "noise": 0.1},
    "steps": [{"eta0": 1.0, "alpha": 0.25, "batch": "fresh"}, {"eta0": 1.0, "alpha": 0.25, "batch": "reuse"}],
    "readout": {"ridge": 0.01, "n_train": 120, "n_test": 80},
}


def _write(tmp_path, data, name="cfg.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data))
    return p


def test_run_json_record(tmp_path, cli):
    path = _write(tmp_path, CONFIG)
    out = tmp_path / "out"
    res = cli("run", path, "--json", "--out", out)
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1
    rec = json.loads(lines[0])
    for key in ("config", "seed", "version", "weights", "readout", "timings", "theory"):
        assert key in rec
    assert rec["config"]["width"] == 60 and rec["config"]["init"] == "gaussian"
    assert [w["t"] for w in rec["weights"]] == [0, 1, 2]
    for w in rec["weights"]:
        s = w["singular_values"]
        assert len(s) == 10 and all(a >= b for a, b in zip(s, s[1:]))
        assert isinstance(w["outliers"], int) and w["bulk_edge"] > 0
        assert len(w["overlaps"]) == 10 and all(len(row) == 2 for row in w["overlaps"])
    assert set(rec["readout"]) >= {"train_error", "test_error"}
    assert (out / "result.json").exists() and (out / "arrays.npz").exists()


def test_run_is_deterministic(tmp_path, cli):
    path = _write(tmp_path, CONFIG)
    a = json.loads(cli("run", path, "--json").stdout)
    b = json.loads(cli("run", path, "--json").stdout)
    a.pop("timings"), b.pop("timings")
    assert a == b


def test_toml_config(tmp_path, cli):
    p = tmp_path / "cfg.toml"
    p.write_text('seed = 1\nd = 20\nwidth = 20\nn = 40\ntheory = false\n[[steps]]\neta0 = 0.5\nalpha = 0.1\n')
    res = cli("run", p, "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["config"]["steps"][0]["alpha"] == 0.1


BAD = [
    ({"bogus": 1}, "bogus"),
    ({"d": "many"}, "'d'"),
    ({"d": -5}, "'d'"),
    ({"width": 0}, "'width'"),
    ({"n": 2.5}, "'n'"),
    ({"activation": "swish"}, "'activation'"),
    ({"teacher": {"link": "nope"}}, "teacher.link"),
    ({"teacher": {"k": 0}}, "teacher.k"),
    ({"teacher": {"k": 99}}, "teacher.k"),
    ({"teacher": {"noise": -1}}, "teacher.noise"),
    ({"second_layer": "uniform"}, "second_layer"),
    ({"residual": "half"}, "residual"),
    ({"steps": [{"eta0": 1.0, "alpha": 0.7}]}, "steps.0.alpha"),
    ({"steps": [{"alpha": 0.1}]}, "steps.0.eta0"),
    ({"steps": [{"eta0": 1.0, "batch": "reuse"}]}, "steps.0.batch"),
    ({"steps": [{"eta0": 1.0, "batch": "sometimes"}]}, "steps.0.batch"),
    ({"readout": {"ridge": -1.0}}, "readout.ridge"),
    ({"second_layer": "symmetric", "width": 61}, "'width'"),
    ({"kind": "mystery"}, "'kind'"),
    ({"dtype": "float16"}, "dtype"),
]


@pytest.mark.parametrize("patch,field", BAD)
def test_bad_config_exit_2(tmp_path, cli, patch, field):
    data = json.loads(json.dumps(CONFIG))
    for key, val in patch.items():
        if isinstance(val, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **val}
        else:
            data[key] = val
    path = _write(tmp_path, data)
    out = tmp_path / "out"
    res = cli("run", path, "--json", "--out", out)
    assert res.returncode == 2
    assert res.stdout == ""
    err = res.stderr.strip().splitlines()
    assert len(err) == 1, res.stderr
    assert field in err[0] and "Got" in err[0]
    assert not out.exists()


@pytest.mark.parametrize("content,name", [("d: [1, 2\n", "bad.yaml"), ("- 1\n- 2\n", "list.yaml"), ("x", "cfg.json")])
def test_unreadable_config(tmp_path, cli, content, name):
    p = tmp_path / name
    p.write_text(content)
    res = cli("run", p)
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1 and "'config'" in res.stderr


def test_missing_file(tmp_path, cli):
    res = cli("run", tmp_path / "absent.yaml")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1


def test_divergent_run_fails_with_reason(tmp_path, cli):
    data = dict(CONFIG, steps=[{"eta0": 1e300, "alpha": 0.5}, {"eta0": 1e300, "alpha": 0.5, "batch": "reuse"}])
    res = cli("run", _write(tmp_path, data), "--json")
    assert res.returncode == 1
    assert "run failed" in res.stderr and res.stdout == ""
