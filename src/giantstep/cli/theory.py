"""``giantstep theory QUANTITY [--param value ...] [--json]``: every theory prediction by name.

The sub-app is thin: it parses options, validates them (ConfigError -> exit 2, one line),
calls :mod:`giantstep.theory` and prints either a short table or exactly one JSON object.

The commands are grouped in the modules named in ``THEORY_COMMAND_MODULES``; each exposes
``register(theory_app)``. No library module imports the CLI.
"""

from __future__ import annotations

import importlib
import json
import sys

import typer

from ..jsonable import to_jsonable

# Command groups of ``giantstep theory``: each module has ``register(theory_app)``.
THEORY_COMMAND_MODULES: tuple[str, ...] = (
    "giantstep.cli.theory_spectra",
    "giantstep.cli.theory_steps",
    "giantstep.cli.theory_readout",
    "giantstep.cli.theory_phase",
    "giantstep.cli.theory_features",
)


def emit(result: dict, as_json: bool) -> None:
    """Print ``result`` as one JSON object (``--json``) or as ``key: value`` lines."""
    data = to_jsonable(result)
    if as_json:
        sys.stdout.write(json.dumps(data, allow_nan=False) + "\n")
        return
    for key, value in data.items():
        if isinstance(value, float):
            typer.echo(f"{key}: {value:.6g}")
        else:
            typer.echo(f"{key}: {value}")


def build_theory_app() -> typer.Typer:
    """The ``theory`` sub-app with the built-in commands and those of THEORY_COMMAND_MODULES."""
    theory_app = typer.Typer(
        name="theory",
        help="Asymptotic predictions by name (docs/theory.md).",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for name in THEORY_COMMAND_MODULES:
        importlib.import_module(name).register(theory_app)
    return theory_app


def register(app: typer.Typer) -> None:
    """Attach ``giantstep theory`` to the main app."""
    app.add_typer(build_theory_app(), name="theory")


JSON_OPT = typer.Option(False, "--json", help="Print exactly one JSON object.")


def guard(fn):
    """Run ``fn``; a DivergenceError (solver failure) becomes one line on stderr and exit 1."""
    from ..errors import DivergenceError

    try:
        return fn()
    except DivergenceError as exc:
        typer.echo(f"error: {exc.reason}", err=True)
        raise SystemExit(1)
