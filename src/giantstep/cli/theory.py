"""``giantstep theory QUANTITY [--param value ...] [--json]``: every theory prediction by name.

The sub-app is thin: it parses options, validates them (ConfigError -> exit 2, one line),
calls :mod:`giantstep.theory` and prints either a short table or exactly one JSON object.

Every command prints the numbers together with an ``assumptions`` object (the model the numbers
describe: residual, second layer, normalisations, ...). A formula asked outside its domain ends
with exit 2 and one line naming the violated condition; ``--allow-outside`` computes it anyway and
adds a non-empty ``warnings`` list. A solver that fails ends with ``run failed: <reason>`` (exit 1).
Numbers are never printed as null, NaN or infinity: an infinite value that is a result
(``delta_alg`` of a link with no weak recovery) is printed as the string "inf"; any other
non-finite value is a failed computation (exit 1). Floating-point warnings are not printed: their
consequences are caught that way.

The commands are grouped in the modules named in ``THEORY_COMMAND_MODULES``; each exposes
``COMMANDS`` (command name -> function). No library module imports the CLI.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Callable

import typer

from ..errors import DivergenceError
from ..jsonable import to_jsonable

# Command groups of ``giantstep theory``: each module has ``COMMANDS`` (name -> function).
THEORY_COMMAND_MODULES: tuple[str, ...] = (
    "giantstep.cli.theory_spectra",
    "giantstep.cli.theory_steps",
    "giantstep.cli.theory_readout",
    "giantstep.cli.theory_phase",
    "giantstep.cli.theory_features",
)

JSON_OPT = typer.Option(False, "--json", help="Print exactly one JSON object.")
ALLOW_OPT = typer.Option(False, "--allow-outside",
                         help="Compute even outside the formula's domain; the violated conditions are listed under 'warnings'.")


def emit(result: dict, as_json: bool) -> None:
    """Print ``result`` as one JSON object (``--json``) or as ``key: value`` lines (module docstring
    for infinities and NaN)."""
    from ..theory.quantities import refuse_nonfinite

    data = refuse_nonfinite(to_jsonable(result, keep_nonfinite=True))
    if as_json:
        sys.stdout.write(json.dumps(data, allow_nan=False) + "\n")
        return
    for key, value in data.items():
        if isinstance(value, float):
            typer.echo(f"{key}: {value:.6g}")
        else:
            typer.echo(f"{key}: {value}")


def report(compute: Callable[[], dict], as_json: bool) -> None:
    """Print what ``compute`` returns (a quantity of :mod:`giantstep.theory.quantities`, which adds
    the assumptions and, with ``--allow-outside``, the warnings); a solver failure ends with exit 1."""
    import warnings as pywarnings

    import numpy as np

    with np.errstate(all="ignore"), pywarnings.catch_warnings():
        pywarnings.simplefilter("ignore", RuntimeWarning)
        result = guard(compute)
    guard(lambda: emit(result, as_json))


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
        for command, function in importlib.import_module(name).COMMANDS.items():
            theory_app.command(command)(function)
    return theory_app


def register(app: typer.Typer) -> None:
    """Attach ``giantstep theory`` to the main app."""
    app.add_typer(build_theory_app(), name="theory")


def guard(fn):
    """Run ``fn``; a solver failure (DivergenceError) or a floating-point failure (overflow, a
    singular or non-finite matrix) becomes one line on stderr and exit 1."""
    import numpy as np

    try:
        return fn()
    except DivergenceError as exc:
        typer.echo(f"run failed: {exc.reason}", err=True)
    except (ArithmeticError, FloatingPointError, np.linalg.LinAlgError) as exc:
        typer.echo(f"run failed: numerical failure ({type(exc).__name__}: {exc})", err=True)
    raise SystemExit(1)
