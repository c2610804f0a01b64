"""Read a config mapping from a YAML or TOML file (or pass a mapping through)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError


def load_config_file(path: "str | Path", field: str = "config") -> dict[str, Any]:
    """Parse ``path`` (.yaml/.yml/.toml) into a dict; ConfigError naming ``field`` otherwise."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".yaml", ".yml", ".toml"):
        raise ConfigError(field, "a .yaml, .yml or .toml file", str(path))
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(field, "a readable file", f"{path} ({exc.strerror})") from None
    try:
        data = tomllib.loads(text) if suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(field, f"valid {suffix[1:].upper()}", f"{path} ({first})") from None
    if not isinstance(data, dict):
        raise ConfigError(field, "a file holding a mapping", str(path))
    return data
