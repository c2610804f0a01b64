"""Sweep files: expansion, dotted paths, zip axes, seeding by cell identity, error field names."""

from __future__ import annotations

import json

import pytest

from giantstep.errors import ConfigError
from giantstep.experiments.kinds import parse_config
from giantstep.engine.sweep import cell_key, config_hash, load_sweep, set_path
from giantstep.seeding import derive_seed

from .conftest import TINY_BASE


def test_grid_zip_seeds_product_and_order():
    spec = load_sweep({
        "base": TINY_BASE, "seed": 5, "seeds": 3,
        "grid": {"steps.0.alpha": [0.0, 0.25], "width": [32, 64]},
        "zip": {"n": [64, 128, 256], "spectra.top": [2, 3, 4]},
    })
    assert spec.axes == ("steps.0.alpha", "width", "n", "spectra.top")
    assert len(spec.cells) == 2 * 2 * 3 * 3
    # zipped axes move together
    for c in spec.cells:
        ax = dict(c.axes)
        assert {64: 2, 128: 3, 256: 4}[ax["n"]] == ax["spectra.top"]
        assert c.config["n"] == ax["n"] and c.config["spectra"]["top"] == ax["spectra.top"]
        assert c.config["steps"][0]["alpha"] == ax["steps.0.alpha"]
        assert c.config["width"] == ax["width"]
    assert len({c.config_hash for c in spec.cells}) == len(spec.cells)
    assert {c.replicate for c in spec.cells} == {0, 1, 2}


def test_cell_seed_is_derived_from_cell_identity_not_position():
    a = load_sweep({"base": TINY_BASE, "seed": 9, "grid": {"width": [32, 64], "n": [64, 128]}, "seeds": 2})
    # reordered values, reordered axes, an extra value: common cells keep their seeds and hashes
    b = load_sweep({"base": TINY_BASE, "seed": 9, "grid": {"n": [128, 96, 64], "width": [64, 32]}, "seeds": [1, 0]})
    ka = {(c.key, c.replicate): (c.seed, c.config_hash) for c in a.cells}
    kb = {(c.key, c.replicate): (c.seed, c.config_hash) for c in b.cells}
    assert set(ka) < set(kb)
    for k, v in ka.items():
        assert kb[k] == v
    c = a.cells[0]
    assert c.key == json.dumps({"n": 64, "width": 32}, sort_keys=True, separators=(",", ":"))
    assert c.seed == derive_seed(9, c.key, c.replicate) == c.config["seed"]
    assert c.seed_path(9) == [9, c.key, c.replicate]
    # the root seed matters
    other = load_sweep({"base": TINY_BASE, "seed": 10, "grid": {"width": [32, 64], "n": [64, 128]}, "seeds": 2})
    assert {x.seed for x in other.cells}.isdisjoint({x.seed for x in a.cells})


def test_config_hash_is_hash_of_resolved_config():
    spec = load_sweep({"base": TINY_BASE, "grid": {"width": [40]}})
    cell = spec.cells[0]
    resolved = parse_config(dict(TINY_BASE, width=40, seed=cell.seed)).model_dump(mode="json")
    assert cell.config == resolved
    assert cell.config_hash == config_hash(resolved)
    assert len(cell.config_hash) == 64


def test_default_root_seed_and_name_from_file(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("d: 32\nwidth: 32\nn: 64\nseed: 4\ntheory: false\n")
    sweep = tmp_path / "my-grid.yaml"
    sweep.write_text("base: base.yaml\ngrid:\n  width: [32, 48]\n")
    spec = load_sweep(sweep)
    assert spec.name == "my-grid" and spec.root_seed == 4
    assert spec.cells[0].seed == derive_seed(4, cell_key({"width": 32}), 0)
    toml = tmp_path / "t.toml"
    toml.write_text('name = "tt"\nseeds = [3]\n[base]\nd = 32\nwidth = 32\nn = 64\n[grid]\n"teacher.noise" = [0.0, 0.5]\n')
    spec2 = load_sweep(toml)
    assert spec2.name == "tt" and [c.replicate for c in spec2.cells] == [3, 3]
    assert [c.config["teacher"]["noise"] for c in spec2.cells] == [0.0, 0.5]
    assert load_sweep(toml, name="renamed").name == "renamed"


def test_set_path_creates_mappings_but_not_list_items():
    cfg = {"steps": [{"eta0": 1.0}]}
    set_path(cfg, "readout.ridge", 0.1, "grid.readout.ridge")
    set_path(cfg, "steps.0.alpha", 0.2, "grid.steps.0.alpha")
    assert cfg == {"steps": [{"eta0": 1.0, "alpha": 0.2}], "readout": {"ridge": 0.1}}
    with pytest.raises(ConfigError) as e:
        set_path(cfg, "steps.1.alpha", 0.2, "grid.steps.1.alpha")
    assert e.value.field == "grid.steps.1.alpha"


def test_empty_grid_is_one_cell_per_seed():
    spec = load_sweep({"base": TINY_BASE, "seeds": 4})
    assert len(spec.cells) == 4 and spec.axes == ()
    assert len({c.seed for c in spec.cells}) == 4


@pytest.mark.parametrize(
    "sweep, field",
    [
        ({"grid": {"steps.0.alpha": [0.1, 0.7]}}, "grid.steps.0.alpha"),
        ({"zip": {"width": [32, 64], "n": [64, -1]}}, "zip.n"),
        ({"base": dict(TINY_BASE, width=0)}, "base.width"),
        ({"grid": {"teacher": [{"link": "nope"}]}}, "grid.teacher.link"),
        ({"grid": {"steps.3.alpha": [0.1]}}, "grid.steps.3.alpha"),
    ],
)
def test_error_field_points_at_the_sweep_entry(sweep, field):
    data = {"base": TINY_BASE, **sweep}
    with pytest.raises(ConfigError) as e:
        load_sweep(data)
    assert e.value.field == field
