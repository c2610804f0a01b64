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
    full: bool = typer.Option(False, "--full", help="Paper-scale sizes (about 90 minutes for all claims on 2 cores)."),
    out: Path = typer.Option(Path("reproduce"), "--out", help="Directory for the store, figures, summary and report."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Local Dask workers (default: the engine's)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Address of a running Dask scheduler (tcp://...)."),
    force: bool = typer.Option(False, "--force", help="Write into a directory not written by reproduce."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar and no log lines."),
) -> None:
    """Run the seed claims: sweeps, theory, verdicts, figures, summary.json and report.html."""
    from ..claims.registry import select
    from ..claims.runner import reproduce
    from ..engine.execution import _check_args
    from ..engine.progress import Progress

    if quick and full:
        raise ConfigError("mode", "one of --quick or --full (not both)", "--quick --full")
    _check_args(workers, scheduler, None)
    ids = [c.id for c in select(claims)]  # validates the claim ids before anything runs
    mode = "full" if full else "quick"
    bar = Progress(enabled=not quiet, description=f"reproduce {mode}")
    with bar:
        summary = reproduce(ids, mode=mode, out=out, workers=workers, scheduler=scheduler, progress=bar,
                            log=None if quiet else bar.log, force=force)
    _print_verdicts(summary, ids)
    typer.echo(bar.summary())
    typer.echo(f"wrote {out / 'summary.json'} and {out / 'report.html'}")


def plot_cmd(
    claims: List[str] = typer.Argument(..., help="Claim ids whose figures to regenerate."),
    out: Path = typer.Option(..., "--out", help="Directory of an earlier 'giantstep reproduce'."),
    quick: bool = typer.Option(False, "--quick", help="Plot the --quick data of the store."),
    full: bool = typer.Option(False, "--full", help="Plot the --full data of the store."),
    force: bool = typer.Option(False, "--force", help="Replace an unreadable summary.json."),
) -> None:
    """Regenerate figures (and the summary/report entries) of CLAIMs from an existing store.

    The mode is that of the data in the store: --quick or --full chooses when it holds both, and is
    refused when it holds no data of that mode.
    """
    from ..claims.registry import select
    from ..claims.runner import STORE_NAME, check_out, read_summary, reproduce
    from ..engine import store as st

    if quick and full:
        raise ConfigError("mode", "one of --quick or --full (not both)", "--quick --full")
    selected = select(claims)
    check_out(out, force)
    if st.store_state(out / STORE_NAME) != "store":
        raise ConfigError("out", f"a directory holding {STORE_NAME} from 'giantstep reproduce'", str(out))
    recorded = read_summary(out, force)["claims"]
    by_mode: dict[str, list[str]] = {}
    for claim in selected:
        mode = _data_mode(out, claim, "full" if full else "quick" if quick else None, recorded.get(claim.id, {}))
        by_mode.setdefault(mode, []).append(claim.id)
    ids = [c.id for c in selected]
    summary: dict = {}
    for mode, group in by_mode.items():
        summary = reproduce(group, mode=mode, out=out, run_sweeps=False, log=_log, force=force)
    _print_verdicts(summary, ids)
    for cid in ids:
        for f in summary["claims"][cid]["figures"]:
            typer.echo(str(out / f))


def _data_mode(out: Path, claim, asked: str | None, recorded: dict) -> str:
    """The mode of the data to plot for ``claim``: the one asked for (which must have data), else
    the only mode with data, else the mode of the claim's last entry in summary.json, else full."""
    from ..claims.runner import modes_with_data

    have = modes_with_data(out, claim)
    if asked is not None:
        if asked not in have:
            raise ConfigError("mode", f"a mode whose sweeps of {claim.id} are in the store ({', '.join(have) or 'none'})",
                              asked)
        return asked
    if not have:
        raise ConfigError("claims", f"claims whose sweeps are in the store under {out}", claim.id)
    if len(have) == 1:
        return have[0]
    return recorded.get("mode") if recorded.get("mode") in have else "full"


def register(app: typer.Typer) -> None:
    app.command("reproduce")(reproduce_cmd)
    app.command("plot")(plot_cmd)
