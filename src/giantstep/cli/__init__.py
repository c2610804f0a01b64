"""Command-line interface: thin wrappers that parse, validate, call the library, write output.

Errors: a :class:`~giantstep.errors.ConfigError` (or a usage error) and a
:class:`~giantstep.errors.ValidityError` (a theory formula asked outside its domain) print ONE
line to stderr and exit with status 2, with nothing written. Sub-command groups live next to the code they
wrap and are attached here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import click
import typer

from .. import __version__
from ..errors import ConfigError, DivergenceError, ValidityError

app = typer.Typer(
    name="giantstep",
    help="Feature learning after large gradient steps: simulate, predict, compare.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def fail_config(exc: ConfigError) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise SystemExit(2)


@app.command()
def run(
    config: Path = typer.Argument(..., help="Run config (.yaml, .yml or .toml)."),
    json_out: bool = typer.Option(False, "--json", help="Print exactly one JSON object."),
    out: Optional[Path] = typer.Option(None, "--out", help="Directory for result.json and arrays.npz."),
) -> None:
    """Run one experiment described by CONFIG."""
    from ..experiments.configfile import load_config_file
    from ..experiments.kinds import parse_config, run_config
    from ..experiments.record import write_run_output

    cfg = parse_config(load_config_file(config))
    try:
        result = run_config(cfg)
    except DivergenceError as exc:
        typer.echo(f"run failed: {exc.reason}", err=True)
        raise SystemExit(1)
    if out is not None:
        write_run_output(result, out)
    if json_out:
        sys.stdout.write(json.dumps(result.record, allow_nan=False) + "\n")
    else:
        from ..experiments.record import summary_lines

        for line in summary_lines(result.record):
            typer.echo(line)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


# Sub-command groups: module -> the top-level command names it adds (each module has
# ``register(app)``). Only the module a command needs is imported, so that `giantstep run`
# does not pay for plotting or Dask imports; `--help` imports them all.
_SUBCOMMAND_MODULES = {
    "giantstep.cli.claims": ("reproduce", "plot"),
    "giantstep.cli.theory": ("theory",),
    "giantstep.cli.engine": ("sweep", "results"),
}


_attached: set[str] = set()


def _attach(argv: list[str]) -> None:
    """Register the sub-command modules this command line needs (each at most once)."""
    import importlib

    command = next((a for a in argv if not a.startswith("-")), None)
    for name, commands in _SUBCOMMAND_MODULES.items():
        wanted = command is None or command in commands or command not in _BUILTIN_COMMANDS | _ALL_SUBCOMMANDS
        if wanted and name not in _attached:
            importlib.import_module(name).register(app)
            _attached.add(name)


_BUILTIN_COMMANDS = {"run", "version"}
_ALL_SUBCOMMANDS = {c for cs in _SUBCOMMAND_MODULES.values() for c in cs}


def _usage_error_types() -> tuple[type[BaseException], ...]:
    """Usage-error classes of click and of the click copy that recent typer versions vendor."""
    types: list[type[BaseException]] = [click.exceptions.ClickException]
    try:
        from typer._click import (
            exceptions as vendored,  # typer >= 0.25 ships its own click
        )

        types.append(vendored.ClickException)
    except ImportError:
        pass
    return tuple(types)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    _attach(argv)
    try:
        rc = app(args=argv, standalone_mode=False)
    except ConfigError as exc:
        fail_config(exc)
    except ValidityError as exc:
        hint = "" if exc.hard or not argv or argv[0] != "theory" else " (--allow-outside computes it anyway)"
        typer.echo(f"error: {exc}{hint}", err=True)
        raise SystemExit(2)
    except _usage_error_types() as exc:
        typer.echo(f"error: {exc.format_message()}", err=True)
        raise SystemExit(getattr(exc, "exit_code", 2) or 2)
    except (click.exceptions.Abort, KeyboardInterrupt):
        raise SystemExit(130)
    if isinstance(rc, int) and rc:
        raise SystemExit(rc)
