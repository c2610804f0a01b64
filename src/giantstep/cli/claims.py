"""``giantstep reproduce`` and ``giantstep plot``: thin CLI over :mod:`giantstep.claims.runner`.

    giantstep reproduce [CLAIM ...] [--quick | --full] [--out DIR] [--workers K | --scheduler ADDR]
    giantstep plot CLAIM ... --out DIR      # re-analyse and redraw from DIR's results store

Both write ``DIR/summary.json``, ``DIR/report.html`` and figures under ``DIR/figures``.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import ConfigError


def _log(line: str) -> None:
    typer.echo(line, err=True)


def _print_verdicts(summary: dict, ids: list[str]) -> None:
    for cid in ids:
        c = summary["claims"].get(cid)
        if c is not None:
            typer.echo(f"{cid} {c['verdict']}: {c['reason']}")


def reproduce_cmd(
    claims: Optional[List[str]] = typer.Argument(None, help="Claim ids (C1 ... C8); all when omitted."),
    quick: bool = typer.Option(False, "--quick", help="Small sizes (about 10 minutes for all claims on 2 cores)."),
    full: bool = typer.Option(False, "--full", help="Paper-scale sizes (hours)."),
    out: Path = typer.Option(Path("reproduce"), "--out", help="Directory for the store, figures, summary and report."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Local Dask workers (default: the engine's)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Address of a running Dask scheduler (tcp://...)."),
) -> None:
    """Run the seed claims: sweeps, theory, verdicts, figures, summary.json and report.html."""
    from ..claims.registry import select
    from ..claims.runner import reproduce

    if quick and full:
        raise ConfigError("mode", "one of --quick or --full (not both)", "--quick --full")
    if workers is not None and scheduler is not None:
        raise ConfigError("workers", "absent when --scheduler is given", workers)
    if workers is not None and workers < 1:
        raise ConfigError("workers", "an integer >= 1", workers)
    if scheduler is not None and not scheduler.startswith("tcp://"):
        raise ConfigError("scheduler", "an address of the form tcp://HOST:PORT", scheduler)
    ids = [c.id for c in select(claims)]  # validates the claim ids before anything runs
    mode = "full" if full else "quick"
    import sys

    summary = reproduce(
        ids, mode=mode, out=out, workers=workers, scheduler=scheduler, progress=sys.stderr.isatty(), log=_log
    )
    _print_verdicts(summary, ids)
    typer.echo(f"wrote {out / 'summary.json'} and {out / 'report.html'}")


def plot_cmd(
    claims: List[str] = typer.Argument(..., help="Claim ids whose figures to regenerate."),
    out: Path = typer.Option(..., "--out", help="Directory of an earlier 'giantstep reproduce'."),
    full: bool = typer.Option(False, "--full", help="The store holds --full sweeps (default: the recorded mode)."),
) -> None:
    """Regenerate figures (and the summary/report entries) of CLAIMs from an existing store."""
    from ..claims.registry import select
    from ..claims.runner import STORE_NAME, reproduce

    ids = [c.id for c in select(claims)]
    if not (out / STORE_NAME).exists():
        raise ConfigError("out", f"a directory holding {STORE_NAME} from 'giantstep reproduce'", str(out))
    mode = "full" if full else _recorded_mode(out)
    summary = reproduce(ids, mode=mode, out=out, run_sweeps=False, log=_log)
    _print_verdicts(summary, ids)
    for cid in ids:
        for f in summary["claims"][cid]["figures"]:
            typer.echo(str(out / f))


def _recorded_mode(out: Path) -> str:
    """The mode of the earlier run recorded in ``out/summary.json`` (default "quick")."""
    import json

    try:
        mode = json.loads((out / "summary.json").read_text()).get("mode", "quick")
    except (OSError, ValueError):
        return "quick"
    return mode if mode in ("quick", "full") else "quick"


def register(app: typer.Typer) -> None:
    app.command("reproduce")(reproduce_cmd)
    app.command("plot")(plot_cmd)
