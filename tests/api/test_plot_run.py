"""`giantstep plot-run`: the figure of one run from its directory or a store row, where its singular
values come from, and its one-line refusals."""

import numpy as np
import pytest
import yaml

import giantstep
from giantstep import plots
from giantstep.errors import ConfigError

BASE = {"seed": 2, "d": 40, "width": 60, "n": 120, "second_layer": "gaussian", "theory": True,
        "steps": [{"eta0": 2.0, "alpha": 0.25}]}


def _png(path):
    data = path.read_bytes()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_full_spectrum_from_saved_weights_equals_the_stored_one():
    res = giantstep.run(dict(BASE, spectra={"full": True}), save_weights=True)
    stored, how_stored = plots.run_singular_values(res.record, res.arrays, 1)
    without = {k: v for k, v in res.arrays.items() if k != "w1.singular_values"}
    recomputed, how = plots.run_singular_values(res.record, without, 1)
    assert "spectra.full" in how_stored and "saved W" in how
    np.testing.assert_allclose(recomputed, stored, rtol=1e-12, atol=1e-12)
    with pytest.raises(ConfigError) as err:
        plots.run_singular_values(res.record, {}, 1)
    assert err.value.field == "record"


def test_initial_bulk_density_is_a_density():
    for layer, width in (("rademacher", 60), ("symmetric", 60), ("rademacher", 30)):
        s = np.linspace(0, 4, 40001)
        rho = plots.initial_bulk_density({"width": width, "d": 40, "second_layer": layer})(s)
        share = min(width // 2, 40) / min(width, 40) if layer == "symmetric" else 1.0
        # trapezoid on a 1e-4 grid: error of the square-root edges ~ h^1.5 = 1e-6
        assert abs(np.trapezoid(rho, s) - share) < 1e-4


def test_plot_run_from_a_run_directory(tmp_path, cli):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(BASE))
    run_dir = tmp_path / "run"
    assert cli("run", cfg, "--out", run_dir, "--save-weights").returncode == 0
    res = cli("plot-run", run_dir, "--out", tmp_path / "fig.png")
    assert res.returncode == 0, res.stderr
    assert "saved W" in res.stdout and _png(tmp_path / "fig.png")
    res = cli("plot-run", run_dir, "--out", tmp_path / "fig.png")
    assert res.returncode == 2 and "'out'" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_plot_run_refusals(tmp_path, cli):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(BASE))
    run_dir = tmp_path / "run"
    assert cli("run", cfg, "--out", run_dir).returncode == 0  # neither spectra.full nor saved weights
    for args, field in ((["plot-run", run_dir, "--out", tmp_path / "f.png"], "'record'"),
                        (["plot-run", "--out", tmp_path / "f.png"], "'run_dir'"),
                        (["plot-run", run_dir, "--out", tmp_path / "f.txt"], "'out'"),
                        (["plot-run", tmp_path, "--out", tmp_path / "f.png"], "'run_dir'"),
                        (["plot-run", "--store", tmp_path / "none.db", "--out", tmp_path / "f.png"], "'cell'")):
        res = cli(*args)
        assert res.returncode == 2 and field in res.stderr, (args, res.stderr)
        assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert not (tmp_path / "f.png").exists() and not (tmp_path / "f.txt").exists()


def test_plot_run_from_a_store_row(tmp_path, cli):
    store = tmp_path / "s.db"
    base = dict(BASE, theory=False, spectra={"full": True})
    giantstep.sweep({"name": "p", "base": base, "grid": {"steps.0.eta0": [0.5, 2.0]}}, store, workers=1)
    row = int(giantstep.load_results(store, where="steps.0.eta0 == 2.0").row_id[0])
    res = cli("plot-run", "--store", store, "--cell", row, "--out", tmp_path / "row.pdf")
    assert res.returncode == 0, res.stderr
    assert "spectra.full" in res.stdout and (tmp_path / "row.pdf").read_bytes()[:5] == b"%PDF-"
    res = cli("plot-run", "--store", store, "--cell", 99, "--out", tmp_path / "x.pdf")
    assert res.returncode == 2 and "'row_id'" in res.stderr
