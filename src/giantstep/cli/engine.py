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


def _plain(value: Any) -> Any:
    """JSON-safe scalar: NaN -> None, numpy scalars -> Python."""
    if hasattr(value, "item") and not isinstance(value, (list, dict)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def rows_as_json(df, chosen: bool = False) -> list[dict[str, Any]]:
    """One object per row: row_id, sweep, status, reason, axis values, seed, cell_seed and metrics
    (or exactly the ``chosen`` columns of ``df``)."""
    from ..engine.results import TAIL

    cols = list(df.columns) if chosen else [c for c in df.columns if c not in TAIL]
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
        blas_threads: Optional[int] = typer.Option(None, "--blas-threads", help="BLAS threads of each cell (default 1)."),
        quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
        device: Optional[str] = typer.Option(None, "--device", help="cpu or gpu for every cell (one GPU per worker; "
                                                                    "default: each cell's config)."),
    ) -> None:
        """Run every cell of SWEEP (grid x zip x seeds) and record it in the store."""
        from ..engine import store as st
        from ..engine.binding import check_binding
        from ..engine.execution import _check_args, report_line, run_sweep
        from ..engine.sweep import load_sweep

        _check_args(workers, scheduler, blas_threads)
        st.check_store_path(store, write=True)
        if st.store_state(store) == "foreign":
            st.connect(store, readonly=True)  # raises the one-line refusal, touching nothing
        spec = load_sweep(sweep, name=name)
        if st.store_state(store) == "store":
            check_binding(store, spec)
        report = run_sweep(spec, store, workers=workers, scheduler=scheduler, resume=resume,
                           retry_failed=retry_failed, progress=not quiet, blas_threads=blas_threads, device=device)
        typer.echo(report_line(report))

    @app.command("results")
    def results_command(
        store: Path = typer.Argument(..., help="Results store written by `giantstep sweep`."),
        where: Optional[str] = typer.Option(None, "--where", help="Row filter, e.g. \"status == 'done' and width > 64\"."),
        sweep: Optional[str] = typer.Option(None, "--sweep", help="Only the rows of this sweep."),
        columns: Optional[str] = typer.Option(None, "--columns", help="Comma-separated columns to show (default: a "
                                                                      "compact view for the table, all otherwise)."),
        fmt: str = typer.Option("table", "--format", help="table, csv, parquet or json."),
        out: Optional[Path] = typer.Option(None, "--out", help="Write to FILE instead of standard output."),
        force: bool = typer.Option(False, "--force", help="Replace an existing --out file."),
        verify: bool = typer.Option(True, "--verify/--no-verify", help="Check the arrays of done rows (status "
                                                                        "'corrupt' when they fail)."),
    ) -> None:
        """Show the rows of a results store (one per cell)."""
        from ..engine import store as st
        from ..engine.results import compact_columns, load_results, select_columns
        from ..errors import ConfigError
        from ..outputs import atomic_path, atomic_write, check_output_file

        if fmt not in FORMATS:
            raise ConfigError("format", f"one of {list(FORMATS)}", fmt)
        if fmt == "parquet" and out is None:
            raise ConfigError("out", "a file path when --format is parquet", None)
        st.check_store_path(store, write=False)
        if out is not None:
            check_output_file(out, "out", force, protected=(store, f"{store}-wal", f"{store}-shm", st.arrays_dir(store)))
        df = load_results(store, sweep=sweep, where=where, verify=verify)
        if columns is not None:
            df = df[select_columns(df, columns)]
        elif fmt == "table" and len(df):
            df = df[compact_columns(df)]
        corrupt = int((df["status"] == "corrupt").sum()) if "status" in df.columns else 0
        if fmt == "parquet":
            with atomic_path(out) as tmp:
                _flat(df).to_parquet(tmp, index=False)
        else:
            text = _render(df, fmt, columns is not None)
            if out is None:
                sys.stdout.write(text)
            else:
                atomic_write(out, text)
        if corrupt:
            typer.echo(f"warning: {corrupt} row(s) have missing or corrupt arrays (status 'corrupt'); rerun the "
                       "sweep to replace them", err=True)


def _render(df, fmt: str, chosen: bool) -> str:
    if fmt == "json":
        return json.dumps(rows_as_json(df, chosen), allow_nan=False, sort_keys=False) + "\n"
    if fmt == "csv":
        return _flat(df).to_csv(index=False)
    return (df.to_string(index=False) if len(df) else "(no rows)") + "\n"
