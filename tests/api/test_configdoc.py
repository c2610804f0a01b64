"""docs/config.md is generated from the schema: the committed page must be the generated one, every
key has a meaning, and the defaults it prints are those validation fills in."""

import re
import subprocess
import sys
import typing
from pathlib import Path

from pydantic import BaseModel

from giantstep.experiments import configdoc
from giantstep.experiments.kinds import KIND_MODULES, KINDS, _load, parse_config

PAGE = Path(__file__).parents[2] / "docs" / "config.md"
MINIMAL = {"steps": {"d": 8, "width": 8, "n": 8}, "phase": {"kind": "phase", "d": 8, "delta": 2.0},
           "rf": {"kind": "rf", "d": 8, "width": 8, "n": 8},
           "kernel": {"kind": "kernel", "d": 8, "width": 8, "n": 8, "step": {"eta0": 1.0}}}
# blocks absent by default, and one item of each list, given so that their keys' defaults show
OPTIONAL_BLOCKS = {"steps": {"readout": {}, "steps": [{"eta0": 1.0}]}, "rf": {"spike": {"r": 1.0, "gamma": 0.5}}}


def test_committed_page_is_the_generated_page():
    assert PAGE.read_text() == configdoc.render(), (
        "docs/config.md is out of date: run `python -m giantstep.experiments.configdoc --write docs/config.md`")


def test_the_module_prints_the_page():
    out = subprocess.run([sys.executable, "-m", "giantstep.experiments.configdoc"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout == configdoc.render()


def _models(model, seen):
    seen.add(model)
    for field in model.model_fields.values():
        for tp in [field.annotation, *typing.get_args(field.annotation)]:
            for inner in [tp, *typing.get_args(tp)]:
                if isinstance(inner, type) and issubclass(inner, BaseModel) and inner not in seen:
                    _models(inner, seen)
    return seen


def test_every_meaning_belongs_to_a_field():
    _load()
    models = set()
    for kind in KINDS.values():
        _models(kind.config_model, models)
    fields = {f"{m.__name__}.{f}" for m in models for f in m.model_fields}
    shared = {f"*.{f}" for m in models for f in m.model_fields}
    stale = [k for k in configdoc.MEANINGS if k not in fields and k not in shared]
    assert not stale, stale
    assert set(MINIMAL) == {k.name for k in KINDS.values() if k.run.__module__ in KIND_MODULES}


def _documented_defaults(kind: str) -> dict[str, str]:
    text = configdoc.render().split(f"## kind: `{kind}`", 1)[1].split("\n## ", 1)[0]
    return {m.group(1): m.group(2) for m in re.finditer(r"^\| `([^`]+)` \| [^|]*(?:\\\|[^|]*)* \| ([^|]+) \|", text,
                                                         re.M)}


def _at(model, path):
    """The validated value at a documented key, read from the model itself (a field that the dump
    leaves out at its default, such as ``device: cpu``, still has its value there)."""
    value = model
    for part in path.replace("<i>", "0").split("."):
        if value is None or (part.isdigit() and int(part) >= len(value)):
            return None
        value = value[int(part)] if part.isdigit() else getattr(value, part)
    return value.value if hasattr(value, "value") and not isinstance(value, (int, float, str)) else value


def test_documented_defaults_are_what_validation_fills_in():
    for kind, minimal in MINIMAL.items():
        resolved = parse_config(minimal)
        with_blocks = parse_config({**minimal, **OPTIONAL_BLOCKS.get(kind, {})})
        for key, shown in _documented_defaults(kind).items():
            if shown.strip() in ("required", "(block below)"):
                continue
            parent = key.rsplit(".", 1)[0]
            value = _at(resolved if "." not in key or _at(resolved, parent) else with_blocks, key)
            shown = shown.strip()
            if shown == "null (absent)":
                assert value is None, (kind, key, value)
            elif shown == "[]":
                assert value == [], (kind, key)
            else:
                text = shown.strip("`")
                if isinstance(value, bool):
                    assert text == ("true" if value else "false"), (kind, key)
                elif isinstance(value, (int, float)):
                    assert float(text) == float(value), (kind, key, text, value)
                else:
                    assert text == str(value), (kind, key, text, value)
