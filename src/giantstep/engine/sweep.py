r"""Declarative sweeps: a base run config, grid and zipped axes, replicate seeds.

A sweep file (YAML or TOML) or mapping::

    name: alpha-grid          # optional; default: the file's stem ("sweep" for a mapping)
    seed: 0                   # root seed (default: the base config's seed, else 0)
    base: base.yaml           # a run config: inline mapping, or a path relative to the sweep file
    grid:                     # dotted path -> list of values; the cells are the product
      steps.0.alpha: [0.0, 0.25]
      width: [64, 128]
    zip:                      # optional: paired axes of equal length (one joint axis)
      n: [128, 256]
      readout.n_train: [128, 256]
    seeds: 3                  # replicates 0, 1, 2 (or an explicit list such as [0, 5])

Dotted paths index mappings by key and lists by integer (``steps.1.alpha`` is the ``alpha`` of
the second step); missing intermediate mappings are created, list items must exist in the base.

Cells. The axis values of a cell form its *cell key*, the canonical JSON text of the mapping
``{axis: value}`` with sorted keys (not its position in the grid). The run seed of replicate r is
``derive_seed(root_seed, cell_key, r)`` (:mod:`giantstep.seeding`, a ``SeedSequence`` keyed by the
SHA-256 of each path part), written into the config's ``seed`` field. Hence a cell's result does not
depend on the grid order, on other axes' values, on the number of workers or on resumption; adding
a value to an axis leaves the other cells' seeds unchanged.

Validation happens before anything runs: the schema of the sweep itself, then every cell's config
through :func:`giantstep.experiments.kinds.parse_config`. Field names in errors are dotted and say
where to fix the problem: ``grid.steps.1.alpha`` (an axis), ``zip.n``, ``base.width`` (the base),
``seeds``.

The config hash of a cell is the SHA-256 of the canonical JSON of its resolved config (defaults
filled in, seed included); the results store identifies a cell by (sweep name, config hash).

>>> spec = load_sweep({"base": {"d": 8, "width": 8, "n": 16}, "grid": {"width": [8, 16]}, "seeds": 2})
>>> len(spec.cells), spec.axes
(4, ('width',))
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..errors import ConfigError
from ..seeding import derive_seed
from ..experiments.configfile import load_config_file

MAX_CELLS = 1_000_000
MAX_REPLICATES = 100_000
SWEEP_FIELDS = ("name", "seed", "base", "grid", "zip", "seeds")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+=-]{0,127}$")


@dataclass(frozen=True)
class Cell:
    """One run of a sweep: a point of the grid and a replicate.

    axes        : ((axis, value), ...) in the sweep's axis order.
    key         : canonical JSON of {axis: value} (sorted keys); the cell's identity.
    replicate   : replicate index (the ``seed`` column of the results).
    seed        : the run seed, ``derive_seed(root_seed, key, replicate)`` (``cell_seed`` column).
    config      : the resolved run config (JSON types, defaults filled, ``seed`` set).
    config_hash : SHA-256 hex of the canonical JSON of ``config``.
    """

    axes: tuple[tuple[str, Any], ...]
    key: str
    replicate: int
    seed: int
    config: dict[str, Any]
    config_hash: str

    @property
    def kind(self) -> str:
        return str(self.config.get("kind", "steps"))

    def seed_path(self, root_seed: int) -> list[Any]:
        """The seed path recorded with the row: [root seed, cell key, replicate]."""
        return [int(root_seed), self.key, int(self.replicate)]


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: its name, root seed, axes and the expanded cells (grid x zip x seeds)."""

    name: str
    root_seed: int
    base: dict[str, Any]
    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    zipped: tuple[tuple[str, tuple[Any, ...]], ...]
    replicates: tuple[int, ...]
    cells: tuple[Cell, ...]

    @property
    def axes(self) -> tuple[str, ...]:
        """Axis names (dotted paths): grid axes then zipped axes."""
        return tuple(a for a, _ in self.grid) + tuple(a for a, _ in self.zipped)

    @property
    def frame(self) -> dict[str, Any]:
        """The definition a sweep name is bound to in a store (:func:`frame_of`)."""
        return frame_of(self.cells[0].config, self.axes, self.root_seed)

    def renamed(self, name: str) -> "SweepSpec":
        """The same sweep under another name (validated)."""
        return SweepSpec(_check_name(name, "name"), self.root_seed, self.base, self.grid, self.zipped,
                         self.replicates, self.cells)


def canonical_json(value: Any) -> str:
    """Deterministic JSON text (sorted keys, no spaces); the basis of cell keys and config hashes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 hex digest of the canonical JSON of a resolved config."""
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()


def cell_key(axes: "Mapping[str, Any] | tuple[tuple[str, Any], ...]") -> str:
    """Canonical text of a cell's axis values, e.g. ``{"steps.0.alpha":0.25,"width":64}``."""
    return canonical_json(dict(axes))


# ----------------------------------------------------------------------------- schema checks


def _check_name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise ConfigError(field, "a name of 1-128 letters, digits or _.:+=- (starting with a letter or digit)", value)
    return value


def _check_int(value: Any, field: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(field, f"an integer in [{lo}, {hi}]", value)
    if not lo <= value <= hi:
        raise ConfigError(field, f"an integer in [{lo}, {hi}]", value)
    return int(value)


def _check_json_value(value: Any, field: str) -> None:
    """Axis values must be JSON values (scalars, lists, mappings with string keys), finite."""
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(field, "a list of finite values", value)
        return
    if isinstance(value, list):
        for item in value:
            _check_json_value(item, field)
        return
    if isinstance(value, dict):
        for k, item in value.items():
            if not isinstance(k, str):
                raise ConfigError(field, "a list of values with string mapping keys", value)
            _check_json_value(item, field)
        return
    raise ConfigError(field, "a list of JSON values (numbers, strings, booleans, lists, mappings)", value)


def _check_axes(section: str, axes: Any, distinct: bool = True) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    if axes is None:
        return ()
    if not isinstance(axes, dict):
        raise ConfigError(section, "a mapping from dotted field paths to lists of values", axes)
    out = []
    for path, values in axes.items():
        field = f"{section}.{path}"
        if not isinstance(path, str) or not path or any(not p for p in path.split(".")):
            raise ConfigError(section, "a mapping whose keys are dotted field paths such as 'steps.0.alpha'", path)
        if path == "seed" or path == "kind":
            raise ConfigError(field, "an axis other than 'seed' and 'kind' (use 'seeds' and one sweep per kind)", path)
        if not isinstance(values, list):
            raise ConfigError(field, "a list of values", values)
        if not values:
            raise ConfigError(field, "a list with at least 1 value", values)
        for v in values:
            _check_json_value(v, field)
        texts = [canonical_json(_number_form(v)) for v in values]
        if distinct and len(set(texts)) != len(texts):
            raise ConfigError(field, "a list of distinct values", values)
        out.append((path, tuple(values)))
    return tuple(out)


def _check_seeds(value: Any) -> tuple[int, ...]:
    if isinstance(value, list):
        if not value:
            raise ConfigError("seeds", "a count >= 1 or a non-empty list of distinct integers >= 0", value)
        reps = [_check_int(v, "seeds", 0, 2**62) for v in value]
        if len(set(reps)) != len(reps):
            raise ConfigError("seeds", "a list of distinct integers >= 0", value)
        return tuple(reps)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_REPLICATES:
        raise ConfigError("seeds", f"a count in [1, {MAX_REPLICATES}] or a list of distinct integers >= 0", value)
    return tuple(range(value))


def _check_pairs(zipped: tuple[tuple[str, tuple[Any, ...]], ...]) -> None:
    """Zip axes are paired: equal lengths, and no pair repeated (a value may repeat within an axis)."""
    if not zipped:
        return
    length = len(zipped[0][1])
    for path, values in zipped[1:]:
        if len(values) != length:
            raise ConfigError(f"zip.{path}", f"a list of length {length} (zip axes are paired)", len(values))
    seen: dict[str, int] = {}
    for i, point in enumerate(zip(*[vals for _, vals in zipped])):
        text = canonical_json([_number_form(v) for v in point])
        if text in seen:
            names = ", ".join(a for a, _ in zipped)
            raise ConfigError("zip", f"distinct pairs of ({names}) (pair {i} repeats pair {seen[text]})", list(point))
        seen[text] = i


def _number_form(value: Any) -> Any:
    """Numbers compared by value: integral floats as ints (1.0 and 1 are the same axis value)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_number_form(v) for v in value]
    if isinstance(value, dict):
        return {k: _number_form(v) for k, v in value.items()}
    return value


def _overlapping(paths: list[tuple[str, str]]) -> None:
    for (s1, a), (s2, b) in itertools.combinations(paths, 2):
        if a == b or a.startswith(b + ".") or b.startswith(a + "."):
            raise ConfigError(f"{s2}.{b}", f"an axis that does not overlap the axis '{s1}.{a}'", b)


# ----------------------------------------------------------------------------- path overrides


def set_path(config: dict[str, Any], path: str, value: Any, field: str) -> None:
    """Set ``config[path]`` in place for a dotted path (mappings by key, lists by integer index)."""
    parts = path.split(".")
    node: Any = config
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = ".".join(parts[:i]) or "the base config"
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(field, f"a path whose part {part!r} indexes the {len(node)} item(s) of {where}", path)
            idx = int(part)
            if last:
                node[idx] = copy.deepcopy(value)
            else:
                node = node[idx]
        elif isinstance(node, dict):
            if last:
                node[part] = copy.deepcopy(value)
            else:
                if node.get(part) is None:
                    if parts[i + 1].isdigit():
                        raise ConfigError(field, f"a path into the base config ({'.'.join(parts[:i + 1])} is not a list there)", path)
                    node[part] = {}
                node = node[part]
        else:
            raise ConfigError(field, f"a path into the base config ({where} is not a mapping or list)", path)


def get_path(config: Any, path: str) -> Any:
    """``config[path]`` for a dotted path (None where the path does not exist)."""
    node = config
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def canonical_like(raw: Any, resolved: Any) -> Any:
    """An axis value with its numbers written as in the resolved config (``1`` -> ``1.0`` for a
    float field, ``64.0`` -> ``64`` for an integer field); structure and other values as given.

    So ``[1, 2]`` and ``[1.0, 2.0]`` give the same cells, keys and seeds.
    """
    if isinstance(raw, bool) or raw is None:
        return raw
    if isinstance(raw, (int, float)):
        if isinstance(resolved, (int, float)) and not isinstance(resolved, bool) and float(raw) == float(resolved):
            return resolved
        return raw
    if isinstance(raw, dict) and isinstance(resolved, dict):
        return {k: canonical_like(v, resolved.get(k)) for k, v in raw.items()}
    if isinstance(raw, list) and isinstance(resolved, list) and len(raw) == len(resolved):
        return [canonical_like(v, r) for v, r in zip(raw, resolved)]
    return raw


AXIS_MARK = "<axis>"


def frame_of(config: Mapping[str, Any], axes: "list[str] | tuple[str, ...]", root_seed: int) -> dict[str, Any]:
    """What binds a sweep name: the resolved config with its axes marked and no seed, the axis
    names and the root seed. Sweeps that differ only in axis values or replicates share a frame."""
    frame = copy.deepcopy(dict(config))
    frame.pop("seed", None)
    for axis in axes:
        if get_path(frame, axis) is not None or _parent_exists(frame, axis):
            set_path(frame, axis, AXIS_MARK, "frame")
    return {"config": frame, "axes": sorted(axes), "root_seed": int(root_seed)}


def _parent_exists(config: Any, path: str) -> bool:
    head, _, _ = path.rpartition(".")
    return not head or isinstance(get_path(config, head), (dict, list))


def frame_hash(frame: Mapping[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON of a frame."""
    return hashlib.sha256(canonical_json(frame).encode()).hexdigest()


def first_difference(a: Any, b: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """(dotted path, value in a, value in b) of the first place two JSON values differ, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            sub = first_difference(a.get(key, "<absent>"), b.get(key, "<absent>"), f"{path}.{key}" if path else str(key))
            if sub is not None:
                return sub
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            sub = first_difference(x, y, f"{path}.{i}" if path else str(i))
            if sub is not None:
                return sub
        return None
    return None if canonical_json(a) == canonical_json(b) else (path or "(whole)", a, b)


# ----------------------------------------------------------------------------- loading


def _error_field(field: str, axis_sections: dict[str, str]) -> str:
    """Map a run-config field to the sweep field that sets it (an axis) or ``base.FIELD``."""
    for axis, section in axis_sections.items():
        if field == axis or field.startswith(axis + ".") or axis.startswith(field + "."):
            return f"{section}.{field}" if not axis.startswith(field + ".") else f"{section}.{axis}"
    return f"base.{field}" if field != "config" else "base"


def _load_base(value: Any, root: Path | None) -> dict[str, Any]:
    if isinstance(value, dict):
        return copy.deepcopy(value)
    if isinstance(value, str) and value:
        p = Path(value)
        if not p.is_absolute() and root is not None:
            p = root / p
        return load_config_file(p, field="base")
    raise ConfigError("base", "a run config mapping or the path of a run config file", value)


def load_sweep(source: "str | Path | Mapping[str, Any]", *, name: str | None = None) -> SweepSpec:
    """Validate a sweep (file path or mapping) as a whole and expand its cells.

    Every cell's config is validated through ``parse_config`` before this returns, so a sweep
    that loads never raises :class:`~giantstep.errors.ConfigError` at run time.

    >>> spec = load_sweep({"base": {"d": 8, "width": 8, "n": 16, "steps": [{"eta0": 1.0}]},
    ...                    "grid": {"steps.0.alpha": [0.0, 0.25]}, "seed": 3})
    >>> [c.key for c in spec.cells]
    ['{"steps.0.alpha":0.0}', '{"steps.0.alpha":0.25}']
    """
    root: Path | None = None
    default_name = "sweep"
    if isinstance(source, (str, Path)):
        path = Path(source)
        data = load_config_file(path, field="sweep")
        root = path.parent
        default_name = path.stem
    elif isinstance(source, Mapping):
        data = dict(source)
    else:
        raise ConfigError("sweep", "a sweep file path or a mapping", source)

    for key in data:
        if key not in SWEEP_FIELDS:
            raise ConfigError(str(key), f"one of the sweep fields {list(SWEEP_FIELDS)} (this field is unknown)", key)
    if "base" not in data:
        raise ConfigError("base", "given (a run config mapping or path; it is required)", None)
    sweep_name = _check_name(name if name is not None else data.get("name", default_name), "name")
    base = _load_base(data["base"], root)
    grid = _check_axes("grid", data.get("grid"))
    zipped = _check_axes("zip", data.get("zip"), distinct=False)
    _check_pairs(zipped)
    _overlapping([("grid", a) for a, _ in grid] + [("zip", a) for a, _ in zipped])
    replicates = _check_seeds(data.get("seeds", 1))
    if "seed" in data:
        root_seed = _check_int(data["seed"], "seed", 0, 2**63 - 1)
    else:
        root_seed = _check_int(base.get("seed", 0), "base.seed", 0, 2**63 - 1)

    n_points = math.prod(len(v) for _, v in grid) * (len(zipped[0][1]) if zipped else 1)
    if n_points * len(replicates) > MAX_CELLS:
        raise ConfigError("grid", f"a sweep of at most {MAX_CELLS} runs (cells x seeds)", n_points * len(replicates))

    sections = {a: "grid" for a, _ in grid} | {a: "zip" for a, _ in zipped}
    grid_points = itertools.product(*[[(a, v) for v in vals] for a, vals in grid])
    zip_points = list(zip(*[[(a, v) for v in vals] for a, vals in zipped])) if zipped else [()]

    cells: list[Cell] = []
    for gpoint in grid_points:
        for zpoint in zip_points:
            cells += _point_cells(base, tuple(gpoint) + tuple(zpoint), sections, root_seed, replicates)
    return SweepSpec(sweep_name, root_seed, base, grid, zipped, replicates, tuple(cells))


def _point_cells(base: dict[str, Any], axes: tuple[tuple[str, Any], ...], sections: dict[str, str], root_seed: int,
                 replicates: tuple[int, ...]) -> list[Cell]:
    """The cells (one per replicate) of one grid x zip point, validated; numbers of the axis values
    written as in the resolved config, so the cell key does not depend on how they were spelled."""
    from ..experiments.kinds import parse_config
    from ..experiments.memory import check_memory

    raw = copy.deepcopy(base)
    for axis, value in axes:
        set_path(raw, axis, value, f"{sections[axis]}.{axis}")
    raw["seed"] = 0
    try:
        cfg = parse_config(raw)
        check_memory(cfg)
    except ConfigError as exc:
        raise ConfigError(_error_field(exc.field, sections), exc.allowed, exc.got) from None
    if "seed" not in type(cfg).model_fields:
        raise ConfigError("base.kind", "a kind whose config has a 'seed' field", cfg.kind)
    resolved = cfg.model_dump(mode="json")
    axes = tuple((axis, canonical_like(value, get_path(resolved, axis))) for axis, value in axes)
    key = cell_key(axes)
    cells = []
    for rep in replicates:
        seed = derive_seed(root_seed, key, rep)
        config = dict(resolved, seed=seed)
        cells.append(Cell(axes, key, rep, seed, config, config_hash(config)))
    return cells
