"""Command-line interface: thin wrappers that parse, validate, call the library, write output.

Errors: a :class:`~giantstep.errors.ConfigError` (or a usage error) prints ONE line to stderr
and exits with status 2, with nothing written. Sub-command groups live next to the code they
wrap and are attached here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import click
import typer

from . import __version__
from .errors import ConfigError, DivergenceError

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
    from .experiments.configfile import load_config_file
    from .experiments.kinds import parse_config, run_config
    from .experiments.record import write_run_output

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
        from .experiments.record import summary_lines

        for line in summary_lines(result.record):
            typer.echo(line)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


# Sub-command groups (each module adds its commands to ``app``).
_SUBCOMMAND_MODULES = (
)


def _attach() -> None:
    import importlib

    for name in _SUBCOMMAND_MODULES:
        importlib.import_module(name).register(app)


def main(argv: list[str] | None = None) -> None:
    _attach()
    try:
        app(args=argv, standalone_mode=False)
    except ConfigError as exc:
        fail_config(exc)
    except click.exceptions.NoSuchOption as exc:
        typer.echo(f"error: {exc.format_message()}", err=True)
        raise SystemExit(2)
    except click.exceptions.UsageError as exc:
        typer.echo(f"error: {exc.format_message()}", err=True)
        raise SystemExit(2)
    except click.exceptions.Abort:
        raise SystemExit(130)
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code)
