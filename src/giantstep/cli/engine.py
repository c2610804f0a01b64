"""CLI commands of the experiment engine: ``giantstep sweep`` and ``giantstep results``.

Thin wrappers: parse, validate (the whole sweep, before anything runs), call the library, write.
Bad input raises :class:`~giantstep.errors.ConfigError`, which the CLI turns into exit status 2 and
one line naming the field, with nothing written.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, Optional

import typer

FORMATS = ("table", "csv", "parquet", "json")
SUMMARY = ("row_id", "sweep", "status", "reason")


def _plain(value: Any) -> Any:
    """JSON-safe scalar: NaN -> None, numpy scalars -> Python."""
    if hasattr(value, "item") and not isinstance(value, (list, dict)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def rows_as_json(df) -> list[dict[str, Any]]:
    """One object per row: row_id, sweep, status, reason, axis values, seed, cell_seed and metrics."""
    from ..engine.results import TAIL

    cols = [c for c in df.columns if c not in TAIL]
    return [{c: _plain(v) for c, v in zip(cols, row)} for row in df[cols].itertuples(index=False, name=None)]


def _flat(df):
    """Copy with list/dict cells (non-scalar axis values) encoded as JSON text, for CSV and Parquet."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object and out[col].map(lambda v: isinstance(v, (list, dict))).any():
            out[col] = out[col].map(lambda v: json.dumps(v, sort_keys=True) if isinstance(v, (list, dict)) else v)
    return out


def register(app: typer.Typer) -> None:
    """Attach ``sweep`` and ``results`` to the main CLI app."""

    @app.command("sweep")
    def sweep_command(
        sweep: Path = typer.Argument(..., help="Sweep file (.yaml, .yml or .toml)."),
        store: Path = typer.Option(Path("results.db"), "--store", help="Results store (SQLite file)."),
        workers: Optional[int] = typer.Option(None, "--workers", help="LocalCluster workers (default: one per core)."),
        scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Address of a running Dask scheduler, tcp://HOST:PORT."),
        resume: bool = typer.Option(True, "--resume/--no-resume", help="Skip cells already in the store."),
        retry_failed: bool = typer.Option(False, "--retry-failed", help="Rerun cells recorded as failed."),
        name: Optional[str] = typer.Option(None, "--name", help="Sweep name in the store (default: the file's)."),
        blas_threads: Optional[int] = typer.Option(None, "--blas-threads", help="BLAS threads per worker."),
    ) -> None:
        """Run every cell of SWEEP (grid x zip x seeds) and record it in the store."""
        from ..engine.execution import _check_args, report_line, run_sweep
        from ..engine.sweep import load_sweep

        _check_args(workers, scheduler, blas_threads)
        spec = load_sweep(sweep, name=name)
        report = run_sweep(spec, store, workers=workers, scheduler=scheduler, resume=resume,
                           retry_failed=retry_failed, progress=True, blas_threads=blas_threads)
        typer.echo(report_line(report))

    @app.command("results")
    def results_command(
        store: Path = typer.Argument(..., help="Results store written by `giantstep sweep`."),
        where: Optional[str] = typer.Option(None, "--where", help="pandas query, e.g. \"status == 'done'\"."),
        sweep: Optional[str] = typer.Option(None, "--sweep", help="Only the rows of this sweep."),
        fmt: str = typer.Option("table", "--format", help="table, csv, parquet or json."),
        out: Optional[Path] = typer.Option(None, "--out", help="Write to FILE instead of standard output."),
    ) -> None:
        """Show the rows of a results store (one per cell)."""
        from ..engine.results import TAIL, load_results
        from ..errors import ConfigError

        if fmt not in FORMATS:
            raise ConfigError("format", f"one of {list(FORMATS)}", fmt)
        if fmt == "parquet" and out is None:
            raise ConfigError("out", "a file path when --format is parquet", None)
        if out is not None and out.is_dir():
            raise ConfigError("out", "a file path (not a directory)", str(out))
        df = load_results(store, sweep=sweep, where=where)
        if fmt == "parquet":
            _flat(df).to_parquet(out, index=False)
            return
        if fmt == "json":
            text = json.dumps(rows_as_json(df), allow_nan=False, sort_keys=False) + "\n"
        elif fmt == "csv":
            text = _flat(df).to_csv(index=False)
        else:
            shown = df[[c for c in df.columns if c not in TAIL]]
            text = (shown.to_string(index=False) if len(shown) else "(no rows)") + "\n"
        if out is None:
            sys.stdout.write(text)
        else:
            out.write_text(text)
