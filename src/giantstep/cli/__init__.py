"""Command-line interface: thin wrappers that parse, validate, call the library, write output.

Errors: a :class:`~giantstep.errors.ConfigError` (or a usage error) and a
:class:`~giantstep.errors.ValidityError` (a theory formula asked outside its domain) print ONE line
to stderr and exit with status 2, with nothing written. A run that fails once under way (numerical
blow-up, out of memory, a solver that gives up) prints ``run failed: <reason>`` and exits with
status 1; no command prints a traceback. Output paths are checked before any work and files are
written atomically (:mod:`giantstep.outputs`). Sub-command groups live next to the code they wrap
and are attached here; ``giantstep`` or a group without arguments prints its help.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Optional

import click
import typer

from .. import __version__
from ..errors import ConfigError, ValidityError

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


def fail_run(reason: str) -> None:
    typer.echo(f"run failed: {reason}", err=True)
    raise SystemExit(1)


@app.command()
def run(
    config: Path = typer.Argument(..., help="Run config (.yaml, .yml or .toml)."),
    json_out: bool = typer.Option(False, "--json", help="Print exactly one JSON object."),
    out: Optional[Path] = typer.Option(None, "--out", help="Directory for result.json and arrays.npz."),
    force: bool = typer.Option(False, "--force", help="Replace an earlier result.json/arrays.npz in --out."),
    save_weights: bool = typer.Option(False, "--save-weights", help="Save W_0..W_T, a and Theta* in arrays.npz "
                                                                     "(steps runs; sets save.weights)."),
    save_updates: bool = typer.Option(False, "--save-updates", help="Save the updates W_t - W_{t-1} too "
                                                                     "(sets save.updates)."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu or gpu (sets device; gpu needs a CUDA "
                                                                "device and the [gpu] extra)."),
) -> None:
    """Run one experiment described by CONFIG."""
    from ..backend import require_gpu
    from ..engine.execution import failure_reason, request_device
    from ..experiments.configfile import load_config_file
    from ..experiments.kinds import parse_config, run_config
    from ..experiments.memory import check_memory
    from ..experiments.record import check_run_output, request_saved_state, write_run_output
    from ..jsonable import to_jsonable

    cfg = parse_config(request_device(request_saved_state(load_config_file(config), save_weights, save_updates), device))
    if getattr(cfg, "device", "cpu") == "gpu":
        require_gpu()  # one line and status 2 before any work when there is no GPU or no CuPy
    check_memory(cfg)
    if out is not None:
        check_run_output(out, force)
    try:
        result = run_config(cfg)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - a valid run that fails under way: one line, status 1
        fail_run(failure_reason(exc))
    if out is not None:
        write_run_output(result, out)
    if json_out:
        sys.stdout.write(json.dumps(to_jsonable(result.record), allow_nan=False) + "\n")
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
    "giantstep.cli.plot_run": ("plot-run",),
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


def _value_of(param, argv: list[str]) -> object:
    """The text given for an option on the command line (None if absent)."""
    for opt in getattr(param, "opts", []):
        for i, arg in enumerate(argv):
            if arg == opt and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(opt + "="):
                return arg[len(opt) + 1:]
    return None


def _kind_of(message: str) -> str:
    text = message.split(": ", 1)[-1].strip().rstrip(".")
    if "valid integer" in text:
        return "an integer"
    if "valid number" in text or "valid float" in text:
        return "a number"
    return text[:1].lower() + text[1:] if text else "valid"


def usage_error(exc: BaseException, argv: list[str]) -> ConfigError:
    """A usage error of the command-line parser in the one-line template of :class:`ConfigError`."""
    name = type(exc).__name__
    param = getattr(exc, "param", None)
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "giantstep"
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    if name == "MissingParameter" and param is not None:
        return ConfigError(param.name or "argument", "given (it is required)", None)
    if name == "BadParameter" and param is not None:
        return ConfigError(param.name or "argument", _kind_of(message), _value_of(param, argv))
    if name == "NoSuchOption":
        options = [o for p in (ctx.command.params if ctx is not None else [])
                   for o in [*getattr(p, "opts", []), *getattr(p, "secondary_opts", [])] if o.startswith("-")]
        return ConfigError(getattr(exc, "option_name", "option"),
                           f"an option of '{command}' ({', '.join(options + ['--help'])})", getattr(exc, "option_name", None))
    if name == "BadOptionUsage":
        allowed = "followed by a value" if "requires an argument" in message else "given without a value (a flag)"
        return ConfigError(getattr(exc, "option_name", "option"), allowed, None)
    if message.startswith("No such command") and ctx is not None:
        commands = sorted(getattr(ctx.command, "commands", {}) or {})
        return ConfigError("command", f"one of the commands of '{command}' ({', '.join(commands)})",
                           message.split("'")[1] if "'" in message else message)
    if message.startswith("Got unexpected extra argument"):
        extra = message[message.rfind("(") + 1: message.rfind(")")] if "(" in message else message
        return ConfigError("arguments", f"only the arguments of '{command}' (see --help)", extra)
    return ConfigError("command line", _kind_of(message), " ".join(argv))


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    _attach(argv)
    try:
        with warnings.catch_warnings():
            # numpy's overflow/divide warnings are not for the terminal: runs check their numbers
            # and fail with one line ("run failed: non-finite values in ...") when they blow up
            warnings.simplefilter("ignore", RuntimeWarning)
            rc = app(args=argv, standalone_mode=False)
    except ConfigError as exc:
        fail_config(exc)
    except ValidityError as exc:
        hint = "" if exc.hard or not argv or argv[0] != "theory" else " (--allow-outside computes it anyway)"
        typer.echo(f"error: {exc}{hint}", err=True)
        raise SystemExit(2)
    except _usage_error_types() as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `giantstep` or a group alone: the help is the answer
            message = exc.format_message()
            if message.strip():
                typer.echo(message)
            raise SystemExit(0)
        typer.echo(f"error: {usage_error(exc, argv)}", err=True)
        raise SystemExit(2)
    except (click.exceptions.Abort, KeyboardInterrupt):
        raise SystemExit(130)
    except Exception as exc:  # noqa: BLE001 - one line, status 1, never a traceback
        from ..engine.execution import failure_reason, is_numerical

        # a numerical blow-up (overflow, a solver that gives up) is a failed run; anything else,
        # e.g. a disk that fills up while writing, a failure of the command
        typer.echo(f"{'run failed' if is_numerical(exc) else 'failed'}: {failure_reason(exc)}", err=True)
        raise SystemExit(1)
    if isinstance(rc, int) and rc:
        raise SystemExit(rc)
