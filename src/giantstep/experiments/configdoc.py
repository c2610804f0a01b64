r"""docs/config.md, generated: every key of every run-config kind with its type, default and meaning.

Types, allowed values, bounds and defaults are read from the pydantic models of the registered
kinds (:mod:`giantstep.experiments.kinds`); a nested block's defaults are those of the instance its
parent uses as default (phase's ``teacher`` is ``{link: tanh, combine: norm}``). Meanings are a
field's ``description`` in the schema when it has one, else the entry of :data:`MEANINGS` for
``Model.field`` (or ``*.field`` for a key every kind shares); a key without a meaning is an error,
so a new key cannot reach the page undocumented. The sweep-file keys and the multi-index
``combine`` rules (from :mod:`giantstep.targets`) close the page.

    python -m giantstep.experiments.configdoc            # print the page
    python -m giantstep.experiments.configdoc --write docs/config.md

The test suite regenerates the page and fails if the committed one differs.
"""

from __future__ import annotations

import math
import sys
import types
import typing
from pathlib import Path
from typing import Any, Iterator, Literal

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

MEANINGS: dict[str, str] = {
    # keys every kind shares
    "*.kind": "experiment kind; selects the schema of the rest of the config",
    "*.seed": "root seed: every random stream of the run is derived from it (giantstep.seeding); a sweep "
              "overwrites it per cell and replicate",
    "*.d": "input dimension d",
    "*.width": "width N (hidden neurons)",
    "*.n": "samples per batch n",
    "*.activation": "activation sigma: a registry name, a sum such as 'he1+0.5*he2', an expression in x "
                    "(docs/expressions.md) or, from Python, a callable",
    "*.teacher": "the teacher y = g_k(Theta*^T x) + noise * eps",
    "*.chunk": "samples per chunk of the streamed passes (memory O((N + d) chunk + N d))",
    "*.theory": "put the theory's predictions in the record beside the measurements",
    # teacher
    "TeacherConfig.link": "link g (spelled as an activation)",
    "TeacherConfig.k": "number k of teacher directions (columns of Theta*)",
    "TeacherConfig.noise": "label-noise standard deviation tau",
    "TeacherConfig.combine": "how the k latent values combine into y (see the combine rules below)",
    # steps
    "StepsConfig.init": "W0 rows ~ N(0, I/d) ('gaussian') or uniform on the unit sphere ('sphere')",
    "StepsConfig.second_layer": "a_i = +-1 ('rademacher'), N(0, 1) ('gaussian'), or paired rows (w, a), (w, -a) "
                                "('symmetric', f0 = 0)",
    "StepsConfig.residual": "r = y - f ('full'), r = y - (f - f0) ('centered'), or r = y at every step ('label')",
    "StepsConfig.steps": "the schedule of first-layer steps, eta = eta0 N^alpha (empty: the network at init)",
    "StepsConfig.readout": "ridge readout of the second layer after the last step (absent: none)",
    "StepsConfig.spectra": "what is measured of W_t, its updates and the features",
    "StepsConfig.dtype": "floating-point type of the network and the batches",
    "StepsConfig.save": "arrays of the state kept with the run (arrays.npz / the store's arrays)",
    "StepConfig.eta0": "step-size prefactor: eta = eta0 N^alpha (0 leaves W unchanged)",
    "StepConfig.alpha": "step-size exponent (1/2: the maximal step)",
    "StepConfig.batch": "a fresh batch, or the batch of an earlier step again ('reuse')",
    "StepConfig.reuse_step": "with batch 'reuse': which step's batch (default: the previous one)",
    "StepConfig.repeat": "apply this step this many times (full-batch GD on its batch)",
    "ReadoutConfig.ridge": "ridge of (1/n)||y - F a||^2 + ridge ||a||^2 on centered features",
    "ReadoutConfig.n_train": "training samples of the readout",
    "ReadoutConfig.n_test": "test samples of the readout",
    "SpectraConfig.top": "singular values and vectors kept per matrix",
    "SpectraConfig.full": "store every singular value of W_t and W_t - W_{t-1} as arrays",
    "SpectraConfig.features": "spectrum of the centered feature covariance after the last step",
    "SpectraConfig.features_n": "samples of that covariance (default n)",
    "SpectraConfig.hermite_degree": "per-degree feature projections after step 1, degrees 1..K (0: none)",
    "SaveConfig.weights": "keep W_0..W_T (W0, W1, ...), the second layer a and Theta* (theta) as arrays",
    "SaveConfig.updates": "keep the updates W_t - W_{t-1} (dW1, dW2, ...) as arrays",
    # phase
    "PhaseConfig.d": "input dimension d",
    "PhaseConfig.delta": "sample ratio: n = round(delta d) samples in the one batch every GD step reuses",
    "PhaseConfig.width": "m hidden neurons (small width)",
    "PhaseConfig.second_layer": "second layer: all ones, +-1, N(0, 1), or alternating signs",
    "PhaseConfig.train_second_layer": "train the second layer too",
    "PhaseConfig.output_bias": "a trained scalar output bias b",
    "PhaseConfig.init_scale": "||w_j|| at initialisation (small: next to the saddle W = 0)",
    "PhaseConfig.gd": "full-batch gradient descent and the end of its large-gradient phase",
    "PhaseConfig.hessian": "the Hessian's smallest eigenpairs at the end of the large-gradient phase",
    "PhaseGDConfig.lr": "learning rate",
    "PhaseGDConfig.steps": "GD steps",
    "PhaseGDConfig.record_every": "record the trajectory every this many steps",
    "PhaseGDConfig.rho": "the phase ends when ||grad L|| has decayed to rho times its peak",
    "PhaseGDConfig.floor": "... or when ||grad L|| <= floor",
    "PhaseHessianConfig.eigs": "smallest eigenpairs computed",
    "PhaseHessianConfig.method": "eigensolver: dense, Lanczos, or chosen by size ('auto')",
    "PhaseHessianConfig.learned_tol": "overlap above which a teacher direction counts as learned",
    "PhaseHessianConfig.outliers": "number of candidate outliers (default: k minus the learned directions, times the "
                                   "neurons whose block -a_j sigma''(0) D_T is the most negative when all sit at the saddle)",
    # rf
    "RFConfig.n": "training samples n",
    "RFConfig.n_test": "test samples",
    "RFConfig.ridge": "ridge of (1/n)||y - F a||^2 + ridge ||a||^2 (Mei-Montanari's lambda = ridge / psi1)",
    "RFConfig.readout": "fit the readout by ridge, by SGD, or both",
    "RFConfig.sgd": "mini-batch SGD on the readout",
    "RFConfig.spike": "spiked random features: the network after one maximal step (absent: plain features)",
    "RFConfig.spectrum": "store the eigenvalues of the centered feature covariance",
    "SGDConfig.epochs": "passes over the data (1: one-pass SGD)",
    "SGDConfig.batch": "mini-batch size",
    "SGDConfig.step": "dimensionless step (< 2 keeps the iteration stable)",
    "SGDConfig.decay": "step decay exponent: lr_t ~ (1 + t/t0)^-decay (0: constant)",
    "SGDConfig.checkpoints": "passes at which the test risk is recorded",
    "SpikeConfig.r": "spike strength r",
    "SpikeConfig.c": "bulk inflation c",
    "SpikeConfig.gamma": "alignment <v, theta*> of the spike with the teacher",
    "SpikeConfig.second_layer": "a_i of the spike: ones, +-1 or N(0, 1)",
    # kernel
    "KernelConfig.second_layer": "a_i ~ N(0, 1) ('gaussian') or +-1 ('rademacher')",
    "KernelConfig.step": "the one step: eta = eta0 N^alpha, residual r = y",
    "KernelConfig.m": "sample points of the kernel matrix",
    "KernelConfig.top": "eigenvalues of K/m reported",
    "KernelTeacher.link": "link g of the single-index teacher",
    "KernelTeacher.noise": "label-noise standard deviation tau",
    "KernelStep.eta0": "step-size prefactor: eta = eta0 N^alpha",
    "KernelStep.alpha": "step-size exponent",
}

SWEEP_MEANINGS: dict[str, tuple[str, str, str]] = {
    "name": ("name", "the file's stem", "the sweep's name in the store (1-128 letters, digits, _.:+=-)"),
    "seed": ("integer >= 0", "the base's seed, else 0", "root seed of the sweep: cell seeds derive from it"),
    "base": ("mapping or path", "required", "the run config every cell starts from (a path is relative to the "
                                            "sweep file)"),
    "grid": ("mapping: dotted path -> list", "none", "axes whose product makes the cells, e.g. steps.0.alpha: [0, "
                                                     "0.25]"),
    "zip": ("mapping: dotted path -> list", "none", "paired axes of equal length (one joint axis; pairs, values "
                                                    "may repeat)"),
    "seeds": ("count or list of integers", "1", "replicates of every cell"),
}


def meaning(model: type[BaseModel], name: str) -> str:
    """The meaning of ``model.name``: the schema's description, else :data:`MEANINGS`."""
    field = model.model_fields[name]
    if field.description:
        return field.description
    for key in (f"{model.__name__}.{name}", f"*.{name}"):
        if key in MEANINGS:
            return MEANINGS[key]
    raise KeyError(f"no meaning for {model.__name__}.{name}: add it to MEANINGS or to the field's description")


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _parts(annotation: Any) -> tuple[list[Any], bool]:
    """(the non-None members of a union, whether None is one of them)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        return [a for a in args if a is not type(None)], type(None) in args
    return [annotation], False


def _bounds(metadata: list) -> str:
    lo = hi = None
    lo_open = hi_open = False
    for m in metadata:
        for attr, is_lo, is_open in (("ge", True, False), ("gt", True, True), ("le", False, False), ("lt", False, True)):
            value = getattr(m, attr, None)
            if value is not None:
                if is_lo:
                    lo, lo_open = value, is_open
                else:
                    hi, hi_open = value, is_open
    if lo is None and hi is None:
        return ""
    left = "-inf" if lo is None else _value(lo)
    right = "inf" if hi is None else _value(hi)
    return f" in {'(' if lo_open or lo is None else '['}{left}, {right}{')' if hi_open or hi is None else ']'}"


def _type(annotation: Any, metadata: list) -> str:
    members, optional = _parts(annotation)
    texts = []
    for tp in members:
        if typing.get_origin(tp) is Literal:
            texts.append("one of " + ", ".join(f"`{v}`" for v in typing.get_args(tp)))
        elif tp is bool:
            texts.append("boolean")
        elif tp is int:
            texts.append("integer" + _bounds(metadata))
        elif tp is float:
            texts.append("number" + _bounds(metadata))
        elif tp is str and any(type(m).__name__ in ("AfterValidator", "BeforeValidator") for m in metadata):
            texts.append("function (name, sum or expression in x)")
        elif tp is str:
            texts.append("string")
        elif typing.get_origin(tp) is list:
            limit = next((m.max_length for m in metadata if getattr(m, "max_length", None) is not None), None)
            texts.append("list of mappings" + (f" (at most {limit})" if limit else ""))
        elif _is_model(tp):
            texts.append("mapping")
        else:  # pragma: no cover - a new kind of annotation must be described here
            raise TypeError(f"no rendering for the annotation {tp!r}")
    return " or ".join(texts) + (" or null" if optional else "")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e6:
        return str(value)
    if isinstance(value, float) and (abs(value) >= 1e6 or 0 < abs(value) < 1e-3):
        return f"{value:g}"
    if isinstance(value, int) and value >= 1 << 20 and value & (value - 1) == 0:
        return f"2^{int(math.log2(value))}"
    return str(value)


def _default(value: Any) -> str:
    if value is PydanticUndefined:
        return "required"
    if value is None:
        return "null (absent)"
    if isinstance(value, BaseModel):
        return "(block below)"
    if isinstance(value, list):
        return "[]" if not value else str(value)
    if isinstance(value, str):
        return f"`{value}`"
    return f"`{_value(value)}`"


def rows(model: type[BaseModel], prefix: str = "", instance: BaseModel | None = None) -> Iterator[tuple[str, ...]]:
    """(key, type, default, meaning) of every key of ``model``, nested blocks after their key."""
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        if instance is not None:
            default = getattr(instance, name)
        elif field.default_factory is not None:
            default = field.default_factory()
        else:
            default = field.default
        yield key, _type(field.annotation, list(field.metadata)), _default(default), meaning(model, name)
        members, _ = _parts(field.annotation)
        for tp in members:
            if _is_model(tp):
                sub = default if isinstance(default, BaseModel) else None
                yield from rows(tp, f"{key}.", sub)
            elif typing.get_origin(tp) is list and _is_model(typing.get_args(tp)[0]):
                yield from rows(typing.get_args(tp)[0], f"{key}.<i>.")


def _cell(text: str) -> str:
    """Table-cell text: a pipe (as in ||x||) escaped so that it does not end the cell."""
    return text.replace("|", "\\|")


def _table(body: list[tuple[str, ...]]) -> list[str]:
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    lines += [f"| `{k}` | {_cell(t)} | {_cell(d)} | {_cell(m)} |" for k, t, d, m in body]
    return lines


def combine_rules() -> list[str]:
    """The multi-index combine rules, as written in :mod:`giantstep.targets`'s docstring."""
    from .. import targets

    lines = targets.__doc__.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(targets.COMBINES[0] + " "))
    out = []
    for line in lines[start:]:
        if not line.strip():
            break
        out.append(line.rstrip()[4:] if line.startswith("    ") else line.rstrip())
    return out


def render() -> str:
    """The text of docs/config.md."""
    from ..engine.sweep import SWEEP_FIELDS
    from .kinds import KIND_MODULES, KINDS, _load

    _load()
    ordered = sorted((kind for kind in KINDS.values() if kind.run.__module__ in KIND_MODULES),  # the built-in kinds
                     key=lambda kind: KIND_MODULES.index(kind.run.__module__))
    out = ["# Run configuration keys", "",
           "<!-- generated by `python -m giantstep.experiments.configdoc --write docs/config.md`; "
           "tests/api/test_configdoc.py fails when this page and the schema differ -->", "",
           "A run config is a YAML/TOML mapping (or a Python dict). Its `kind` selects the schema; unknown keys "
           "are refused. Nested keys are written dotted, as in sweep axes (`teacher.noise`, `steps.0.alpha`: "
           "`<i>` is a list index). Functions (`activation`, `link`) are names, sums or expressions in x: see "
           "[expressions.md](expressions.md).", ""]
    for kind in ordered:
        out += [f"## kind: `{kind.name}`", "", kind.description[:1].upper() + kind.description[1:].rstrip(".") + ".", ""]
        out += _table(list(rows(kind.config_model)))
        out.append("")
    out += ["## Sweep files", "", "A sweep file (docs/engine.md) holds these keys and nothing else; every run-config "
            "key above can be set in `base` or be an axis of `grid` or `zip` by its dotted path (for instance "
            "`base: {..., save: {weights: true}}` keeps the weights of every cell).", ""]
    out += _table([(k, *SWEEP_MEANINGS[k]) for k in SWEEP_FIELDS])
    out += ["", "## Multi-index teachers: `teacher.combine`", "",
            "With k directions, z = Theta*^T x in R^k and y = g_k(z) + tau eps, where g_k is built from the "
            "scalar link g by the `combine` rule (giantstep.targets):", "", "```", *combine_rules(), "```", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    text = render()
    if args[:1] == ["--write"] and len(args) == 2:
        Path(args[1]).write_text(text)
        return 0
    if args:
        sys.stderr.write("usage: python -m giantstep.experiments.configdoc [--write PATH]\n")
        return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
