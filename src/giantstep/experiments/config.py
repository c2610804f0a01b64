"""Validated run configurations (pydantic models), shared by the CLI, sweeps and claims.

A run config is a mapping (YAML/TOML file or dict) with a ``kind`` (default ``"steps"``).
This module defines the pieces shared by all kinds and the ``steps`` kind itself; other kinds
(``kernel``, ``phase``, ``rf``, ...) define their model next to their runner and register it in
:mod:`giantstep.experiments.kinds`.

``steps`` config (convention P, docs/theory.md, section 0)::

    kind: steps
    seed: 0                  # root seed; streams are derived per role (giantstep.seeding)
    d: 512                   # input dimension
    width: 512               # N, hidden neurons
    n: 1024                  # samples per batch
    activation: relu         # name, sum ("he1+0.5*he2") or expression in x ("x*tanh(x)")
    init: gaussian           # W0 rows ~ N(0, I/d) ("gaussian") or uniform on the unit sphere ("sphere")
    second_layer: rademacher # a_i = +-1 ("rademacher"), N(0,1) ("gaussian"), or paired (w,a),(w,-a) ("symmetric")
    residual: label          # r = y at every step ("label", the default of simulator, CLI and theory:
                             # theory.first_step.DEFAULT_RESIDUAL), r = y - (f(X) - f0(X)) ("centered"), r = y - f(X) ("full")
    teacher: {link: he1, k: 1, noise: 0.0, combine: sum}
    steps:                   # eta = eta0 * N**alpha
      - {eta0: 1.0, alpha: 0.25, batch: fresh}
      - {eta0: 1.0, alpha: 0.25, batch: reuse}          # reuse the previous step's batch
      - {eta0: 0.1, alpha: 0.0, batch: reuse, repeat: 50, reuse_step: 0}  # 50 full-batch GD steps
    readout: {ridge: 1e-3, n_train: 2048, n_test: 2048}  # optional
    spectra: {top: 10, full: false, features: false, hermite_degree: 0}
    save: {weights: false, updates: false}   # W_t, a, Theta* (and W_t - W_{t-1}) as arrays
    dtype: float64
    device: cpu              # or gpu: one CUDA device (the [gpu] extra; docs/accelerator.md)
    chunk: 8192              # samples per chunk (memory O((N + d) chunk + N d))
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_serializer, model_validator

from ..activations import function_name, get_activation
from ..errors import ConfigError
from ..theory.first_step import DEFAULT_RESIDUAL

MAX_SIZE = 1 << 22


class Strict(BaseModel):
    """Base: unknown fields are errors; instances are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


PROBE = np.linspace(-8.0, 8.0, 321)  # where a function's values are checked at validation


def _check_function(value: str, field: str) -> str:
    """A registry name or sum whose values are finite (finite coefficients); an activation must
    not be identically zero (the network would be the zero function, with zero gradients)."""
    fn = get_activation(value, field_name=field)
    with np.errstate(all="ignore"):
        values = np.asarray(fn.f(PROBE), dtype=float)
    if not np.all(np.isfinite(values)):
        raise ConfigError(field, "a function with finite values (finite coefficients)", value)
    if field == "activation" and not np.any(values):
        raise ConfigError(field, "an activation that is not identically zero", value)
    return value


def _named(value, field: str):
    """A function given from Python (a callable or an Activation) as the name that stands for it
    (:func:`giantstep.activations.function_name`); anything else as given."""
    return function_name(value, field) if callable(value) and not isinstance(value, str) else value


ActivationName = Annotated[str, BeforeValidator(lambda v: _named(v, "activation")),
                           AfterValidator(lambda v: _check_function(v, "activation"))]
"""An activation: a registry name, a sum, an expression in x (:mod:`giantstep.expressions`), or
from Python a callable (recorded as ``python:NAME``)."""

LinkName = Annotated[str, BeforeValidator(lambda v: _named(v, "link")), AfterValidator(lambda v: _check_function(v, "link"))]
"""A teacher link, spelled as an activation."""


class TeacherConfig(Strict):
    link: LinkName = "he1"
    k: int = Field(1, ge=1, le=64)
    noise: float = Field(0.0, ge=0.0, allow_inf_nan=False)
    combine: Literal["sum", "product", "staircase", "gated", "committee", "norm"] = "sum"

    @model_validator(mode="after")
    def _combine_needs_k(self):
        if self.combine in ("product", "staircase", "gated") and self.k < 2:
            raise ConfigError("teacher.k", f"an integer >= 2 for combine '{self.combine}'", self.k)
        return self


class StepConfig(Strict):
    eta0: float = Field(..., ge=0.0, allow_inf_nan=False)  # a step against the gradient; 0 leaves W unchanged
    alpha: float = Field(0.0, ge=0.0, le=0.5, allow_inf_nan=False)
    batch: Literal["fresh", "reuse"] = "fresh"
    reuse_step: int | None = Field(None, ge=0)
    repeat: int = Field(1, ge=1, le=100000)


class ReadoutConfig(Strict):
    ridge: float = Field(1e-3, ge=0.0, allow_inf_nan=False)
    n_train: int = Field(2048, ge=1, le=MAX_SIZE)
    n_test: int = Field(2048, ge=1, le=MAX_SIZE)


class SpectraConfig(Strict):
    top: int = Field(10, ge=1, le=1000)
    full: bool = False  # store every singular value of W_t and W_t - W_{t-1} as arrays
    features: bool = False  # spectrum of the centered feature covariance after the last step
    features_n: int | None = Field(None, ge=1, le=MAX_SIZE)  # samples for it (default n)
    hermite_degree: int = Field(0, ge=0, le=8)  # per-degree feature projections after step 1 (docs/theory.md, section 7)


class SaveConfig(Strict):
    weights: bool = False  # W_0..W_T, the second layer a and Theta* as arrays (W0.., a, theta)
    updates: bool = False  # the update matrices W_t - W_{t-1} as arrays (dW1, dW2, ...)


class StepsConfig(Strict):
    kind: Literal["steps"] = "steps"
    seed: int = Field(0, ge=0)
    d: int = Field(..., ge=1, le=MAX_SIZE)
    width: int = Field(..., ge=1, le=MAX_SIZE)
    n: int = Field(..., ge=1, le=MAX_SIZE)
    activation: ActivationName = "relu"
    init: Literal["gaussian", "sphere"] = "gaussian"
    second_layer: Literal["rademacher", "gaussian", "symmetric"] = "rademacher"
    residual: Literal["full", "centered", "label"] = DEFAULT_RESIDUAL
    teacher: TeacherConfig = TeacherConfig()
    steps: list[StepConfig] = Field(default_factory=list, max_length=10000)
    readout: ReadoutConfig | None = None
    spectra: SpectraConfig = SpectraConfig()
    dtype: Literal["float64", "float32"] = "float64"
    device: Literal["cpu", "gpu"] = Field("cpu", description=(
        "where the weights, batches, spectra and readout are computed: 'cpu' (numpy) or 'gpu' (one CUDA "
        "device, the [gpu] extra; docs/accelerator.md). Data are drawn on the host either way, so a seed "
        "gives the same data on both; left out of the resolved config (and its hash) when 'cpu'"))
    chunk: int = Field(8192, ge=1, le=MAX_SIZE)
    theory: bool = True
    save: SaveConfig = SaveConfig()

    @model_serializer(mode="wrap")
    def _cpu_is_implicit(self, handler):
        """``device: cpu`` is not written out, so the configs (and the hashes of sweep cells) of
        runs on the CPU are those of the library before the field existed."""
        data = handler(self)
        if isinstance(data, dict) and data.get("device") == "cpu":
            del data["device"]
        return data

    @model_validator(mode="after")
    def _consistency(self):
        if self.second_layer == "symmetric" and self.width % 2:
            raise ConfigError("width", "an even integer when second_layer is 'symmetric'", self.width)
        if self.teacher.k > self.d:
            raise ConfigError("teacher.k", f"an integer <= d = {self.d}", self.teacher.k)
        for i, step in enumerate(self.steps):
            if step.batch == "reuse":
                if i == 0 and step.repeat == 1:
                    raise ConfigError(f"steps.{i}.batch", "'fresh' for the first step (nothing to reuse yet)", "reuse")
                if step.reuse_step is not None and step.reuse_step >= max(i, 1):
                    allowed = f"an earlier step index in [0, {i - 1}]" if i else "0 or absent for the first step"
                    raise ConfigError(f"steps.{i}.reuse_step", allowed, step.reuse_step)
            elif step.reuse_step is not None:
                raise ConfigError(f"steps.{i}.reuse_step", "absent when batch is 'fresh'", step.reuse_step)
        return self
