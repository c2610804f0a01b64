"""Registry of experiment kinds: name -> (config model, runner).

A kind's module defines a pydantic config model with a ``kind: Literal[NAME]`` field and a
``run(config) -> ExperimentResult`` function, and registers them with :func:`register` at import.
:func:`parse_config` validates any run config (dict) and :func:`run_config` runs it; the CLI,
the sweep engine and the claims all go through these two functions.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from pydantic import BaseModel

from ..errors import ConfigError
from .validation import validate

# Modules that register kinds when imported (one line per kind).
KIND_MODULES: tuple[str, ...] = (
    "giantstep.experiments.steps",
    "giantstep.experiments.phase",
    "giantstep.experiments.rf",
    "giantstep.experiments.kernel",
)


@dataclass(frozen=True)
class ExperimentResult:
    """What one run produces.

    record  : the full JSON-serialisable record (``giantstep run --json`` prints it).
    metrics : flat name -> float scalars (one column each in the results store).
    arrays  : name -> numpy array (stored compressed beside the store, loadable by row).
    """

    record: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class ExperimentKind:
    name: str
    config_model: type[BaseModel]
    run: Callable[[Any], ExperimentResult]
    description: str = ""


KINDS: dict[str, ExperimentKind] = {}
_loaded = False


def register(kind: ExperimentKind) -> ExperimentKind:
    KINDS[kind.name] = kind
    return kind


def _load() -> None:
    global _loaded
    if not _loaded:
        for mod in KIND_MODULES:
            importlib.import_module(mod)
        _loaded = True


def parse_config(data: Any, prefix: str = "") -> BaseModel:
    """Validate a run config mapping; dispatch on its ``kind`` (default ``"steps"``)."""
    _load()
    if isinstance(data, BaseModel):
        return data
    if not isinstance(data, dict):
        raise ConfigError(prefix or "config", "a mapping of run parameters", data)
    name = data.get("kind", "steps")
    if name not in KINDS:
        raise ConfigError(f"{prefix}.kind" if prefix else "kind", f"one of {sorted(KINDS)}", name)
    return validate(KINDS[name].config_model, data, prefix=prefix)


def run_config(config: Any) -> ExperimentResult:
    """Run a validated config (or a mapping, validated first)."""
    cfg = parse_config(config)
    return KINDS[cfg.kind].run(cfg)
