r"""Read a config mapping from a YAML or TOML file, or a JSON document, within fixed limits.

Files are user input and are read defensively: at most :data:`MAX_BYTES` bytes, strict UTF-8,
mappings and lists nested at most :data:`MAX_DEPTH` levels, and (YAML) at most :data:`MAX_NODES`
values once aliases are expanded, so an alias bomb (a few hundred bytes that expand to billions of
values) is refused while it is being parsed, before anything is built. Only plain data types are
constructed (YAML's safe loader, TOML, JSON). Every violation is a one-line
:class:`~giantstep.errors.ConfigError` naming the field (``config``, ``sweep``, ``base``, ...).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError

MAX_BYTES = 4 << 20
MAX_DEPTH = 64
MAX_NODES = 100_000


class _Limit(Exception):
    """Raised inside the YAML composer when a document exceeds a limit."""


class BoundedLoader(yaml.SafeLoader):
    """YAML's safe loader with a depth limit and an expanded-size limit (aliases counted each time)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent, index):  # noqa: D401 - yaml.composer.Composer hook
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Limit(f"nested deeper than {MAX_DEPTH} levels")
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        key = id(node)
        if key not in self._sizes:
            if isinstance(node, yaml.SequenceNode):
                size = 1 + sum(self._sizes.get(id(c), 1) for c in node.value)
            elif isinstance(node, yaml.MappingNode):
                size = 1 + sum(self._sizes.get(id(k), 1) + self._sizes.get(id(v), 1) for k, v in node.value)
            else:
                size = 1
            if size > MAX_NODES:
                raise _Limit(f"more than {MAX_NODES} values once its aliases are expanded")
            self._sizes[key] = size
        return node


def read_text(path: "str | Path", field: str) -> str:
    """The text of a file: at most :data:`MAX_BYTES` bytes of strict UTF-8 (ConfigError otherwise)."""
    p = Path(path)
    try:
        if p.is_dir():
            raise ConfigError(field, "a file (not a directory)", str(path))
        with open(p, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(field, "a readable file", f"{path} ({exc.strerror or type(exc).__name__})") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(field, f"a file of at most {MAX_BYTES >> 20} MiB", str(path))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(field, "a UTF-8 text file", f"{path} (byte {exc.start} is not UTF-8)") from None


def depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of lists and mappings (stops counting past ``limit``)."""
    stack = [(value, 1)]
    deepest = 0
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((c, level + 1) for c in children)
    return deepest


def _parse(text: str, suffix: str) -> Any:
    if suffix == ".toml":
        return tomllib.loads(text)
    if suffix == ".json":
        return json.loads(text)
    loader = BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def parse_text(text: str, suffix: str, field: str, source: str) -> Any:
    """Parse YAML/TOML/JSON text within the limits; ConfigError naming ``field`` otherwise."""
    kind = {".toml": "TOML", ".json": "JSON"}.get(suffix, "YAML")
    try:
        data = _parse(text, suffix)
    except _Limit as exc:
        raise ConfigError(field, f"a {kind} document within the limits ({exc})", source) from None
    except RecursionError:
        raise ConfigError(field, f"a {kind} document nested at most {MAX_DEPTH} levels", source) from None
    except (tomllib.TOMLDecodeError, yaml.YAMLError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(field, f"valid {kind}", f"{source} ({first})") from None
    if depth(data) > MAX_DEPTH:
        raise ConfigError(field, f"a {kind} document nested at most {MAX_DEPTH} levels", source)
    return data


def load_config_file(path: "str | Path", field: str = "config") -> dict[str, Any]:
    """Parse ``path`` (.yaml/.yml/.toml) into a dict; ConfigError naming ``field`` otherwise."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".yaml", ".yml", ".toml"):
        raise ConfigError(field, "a .yaml, .yml or .toml file", str(path))
    data = parse_text(read_text(p, field), ".yml" if suffix == ".yaml" else suffix, field, str(path))
    if not isinstance(data, dict):
        raise ConfigError(field, "a file holding a mapping", str(path))
    return data


def load_json_file(path: "str | Path", field: str) -> Any:
    """A JSON document from ``path`` within the same limits (UTF-8, size, depth)."""
    return parse_text(read_text(path, field), ".json", field, str(path))
