"""``giantstep plot-run``: the figure of one steps run, from its output directory or a store row.

    giantstep plot-run RUN_DIR --out FILE [--t T]          # RUN_DIR from `giantstep run --out`
    giantstep plot-run --store S --cell ROW_ID --out FILE  # a row of `giantstep results`

The spectrum panel needs every singular value of W_t: the run's stored spectrum (``spectra.full:
true``) or, failing that, the SVD of its saved W_t (``--save-weights``); a run with neither is
refused before anything is drawn (:func:`giantstep.plots.run_figure`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import ConfigError

FORMATS = (".png", ".pdf", ".svg")


def _from_directory(run_dir: Path) -> tuple[dict, dict]:
    """(record, arrays) of a ``giantstep run --out`` directory."""
    import numpy as np

    from ..experiments.configfile import load_json_file
    from ..saved import RUN_ARRAYS

    if not (run_dir / "result.json").is_file():
        raise ConfigError("run_dir", "a directory written by 'giantstep run --out' (with result.json)", str(run_dir))
    record = load_json_file(run_dir / "result.json", "run_dir")
    if not isinstance(record, dict):
        raise ConfigError("run_dir", "a directory whose result.json holds a run record", str(run_dir))
    arrays: dict = {}
    if (run_dir / RUN_ARRAYS).is_file():
        try:
            with np.load(run_dir / RUN_ARRAYS, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError) as exc:
            raise ConfigError("run_dir", f"a directory with a readable {RUN_ARRAYS}",
                              f"{run_dir} ({type(exc).__name__})") from None
    return record, arrays


def _from_store(store: Path, row_id: int) -> tuple[dict, dict]:
    """(record, arrays) of a done row of a results store."""
    from ..engine import store as st
    from ..engine.results import load_arrays, load_row

    st.check_store_path(store, write=False)
    row = load_row(store, row_id)
    if row["status"] != "done" or not isinstance(row.get("record"), dict):
        raise ConfigError("cell", "the row_id of a done row", f"{row_id} (status {row['status']})")
    return row["record"], load_arrays(store, row_id)


def plot_run_cmd(
    run_dir: Optional[Path] = typer.Argument(None, help="Output directory of `giantstep run --out`."),
    store: Optional[Path] = typer.Option(None, "--store", help="Results store (with --cell instead of RUN_DIR)."),
    cell: Optional[int] = typer.Option(None, "--cell", help="row_id of the store's row (see `giantstep results`)."),
    out: Path = typer.Option(..., "--out", help="Figure file: .png, .pdf or .svg."),
    t: Optional[int] = typer.Option(None, "--t", help="Which W_t (default: the last)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing --out file."),
) -> None:
    """Spectrum of W_t (Marchenko-Pastur bulk, predicted and measured outliers) and theta* overlaps."""
    from ..outputs import check_output_file

    if (run_dir is None) == (store is None):
        raise ConfigError("run_dir", "given, or else --store with --cell (one of the two)",
                          "both" if run_dir is not None else None)
    if store is not None and cell is None:
        raise ConfigError("cell", "given with --store (a row_id from `giantstep results`)", None)
    if out.suffix.lower() not in FORMATS:
        raise ConfigError("out", f"a file name ending in one of {list(FORMATS)}", str(out))
    inputs = [run_dir / "result.json", run_dir / "arrays.npz"] if run_dir is not None else [store]
    check_output_file(out, "out", force, protected=inputs)
    record, arrays = _from_directory(run_dir) if run_dir is not None else _from_store(store, cell)

    from .. import plots

    fig, how = plots.run_figure(record, arrays, t)
    plots.save_figure(fig, out)
    typer.echo(f"wrote {out} (singular values: {how})")


def register(app: typer.Typer) -> None:
    app.command("plot-run")(plot_run_cmd)
