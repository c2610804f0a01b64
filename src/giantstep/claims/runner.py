r"""Run claims end to end: sweeps -> one results store -> analysis -> figures -> summary + report.

For each selected claim and each sweep of ``claim.sweeps(mode)`` the runner calls the sweep
engine (:func:`giantstep.engine.sweep.load_sweep` then
:func:`giantstep.engine.execution.run_sweep`) into ONE store ``OUT/results.sqlite`` under the
sweep name ``"<claim id>.<sweep name>"``. Completed cells are skipped on a second call
(``resume``), so an interrupted ``giantstep reproduce`` continues where it stopped. Then

    ctx        = ClaimContext(mode, OUT/figures, {sweep: load_results(store, sweep=...)}, store)
    prediction = claim.predict(mode)
    outcome    = claim.analyse(ctx, prediction)
    figures    = claim.plot(ctx, prediction, outcome)

and ``OUT/summary.json`` and ``OUT/report.html`` are written. ``summary.json`` holds an object
``claims`` mapping each claim id to its verdict, reason, predicted and measured values (the
comparison table), ``power`` (the smallest error in the claim's headline predictions that its
verdict detects, :func:`giantstep.claims.base.claim_power`), sizes, seeds, figures (paths relative
to OUT), sweeps and timings. An exception
inside a claim's analysis or plotting makes that claim INCONCLUSIVE with the error as its reason;
other claims are unaffected. Re-running on an existing OUT merges: claims not selected keep their
previous entry in ``summary.json``.

Example::

    summary = reproduce(["C8"], mode="quick", out="repro")
    summary["claims"]["C8"]["verdict"]      # "PASS" | "FAIL" | "INCONCLUSIVE"
"""

from __future__ import annotations

import contextlib
import json
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Iterator

from .. import __version__
from ..errors import ConfigError
from ..jsonable import to_jsonable
from ..report import power_sentence
from .base import MODES, Claim, ClaimContext, ClaimOutcome, Power, claim_power
from .registry import select

STORE_NAME = "results.sqlite"
FIGURE_DIR = "figures"


def sweep_name(claim: Claim, name: str) -> str:
    """Name of a claim's sweep inside the shared store."""
    return f"{claim.id}.{name}"


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ConfigError("mode", f"one of {list(MODES)}", mode)
    return mode


@contextlib.contextmanager
def shared_cluster(workers: int | None, scheduler: str | None) -> Iterator[tuple[str | None, int | None]]:
    """One Dask cluster for all sweeps of a ``reproduce`` call: yields (scheduler address, BLAS threads).

    With a ``scheduler`` address it is used as is. Otherwise a ``distributed.LocalCluster`` with
    ``workers`` processes (default: one per available core), one task thread each and
    ``cores // workers`` BLAS threads per worker is started once, instead of once per sweep.
    """
    if scheduler is not None:
        yield scheduler, None
        return
    import logging

    from distributed import LocalCluster

    from ..engine.execution import BLAS_ENV, available_cores

    cores = available_cores()
    n = workers if workers is not None else cores
    threads = max(1, cores // n)
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
        env={k: str(threads) for k in BLAS_ENV},
    )
    try:
        yield cluster.scheduler_address, threads
    finally:
        cluster.close()


def run_claim_sweeps(
    claim: Claim,
    mode: str,
    store: Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    blas_threads: int | None = None,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run (or resume) every sweep of ``claim`` into ``store``; returns {sweep: report dict}."""
    from ..engine.execution import run_sweep
    from ..engine.sweep import load_sweep

    reports: dict[str, Any] = {}
    specs = {name: load_sweep(mapping, name=sweep_name(claim, name)) for name, mapping in claim.sweeps(mode).items()}
    for name, spec in specs.items():
        t0 = time.perf_counter()
        rep = run_sweep(
            spec,
            store,
            name=sweep_name(claim, name),
            workers=workers,
            scheduler=scheduler,
            resume=True,
            progress=progress,
            blas_threads=blas_threads,
        )
        info = {k: getattr(rep, k) for k in ("done", "failed", "skipped") if hasattr(rep, k)}
        info["seconds"] = time.perf_counter() - t0
        reports[name] = info
        if log:
            log(f"{claim.id} sweep {name}: {info}")
    return reports


def context_for(claim: Claim, mode: str, out: Path) -> ClaimContext:
    """A :class:`ClaimContext` reading the claim's sweeps from the store under ``out``."""
    from ..engine.results import load_results

    store = out / STORE_NAME
    frames = {}
    for name in claim.sweeps(mode):
        try:
            frames[name] = load_results(store, sweep=sweep_name(claim, name))
        except (FileNotFoundError, KeyError, ValueError):
            import pandas as pd

            frames[name] = pd.DataFrame()
    return ClaimContext(mode=mode, outdir=out / FIGURE_DIR, frames=frames, store=store)


def evaluate_claim(claim: Claim, ctx: ClaimContext, predictions: dict | None = None) -> tuple[ClaimOutcome, list[Path], dict]:
    """predict -> analyse -> plot, turning an exception into an INCONCLUSIVE outcome."""
    ctx.outdir.mkdir(parents=True, exist_ok=True)
    try:
        pred = claim.predict(ctx.mode) if predictions is None else predictions
    except Exception as exc:  # a broken prediction must not take the other claims down
        outcome = ClaimOutcome("INCONCLUSIVE", f"theory prediction failed: {type(exc).__name__}: {exc}", (), {}, 0)
        return outcome, [], {"error": traceback.format_exc(limit=3)}
    try:
        outcome = claim.analyse(ctx, pred)
    except Exception as exc:
        outcome = ClaimOutcome("INCONCLUSIVE", f"analysis failed: {type(exc).__name__}: {exc}", (), {}, 0)
        return outcome, [], pred
    try:
        figures = list(claim.plot(ctx, pred, outcome))
    except Exception as exc:
        figures = []
        outcome = ClaimOutcome(
            outcome.verdict,
            outcome.reason + f" (figures failed: {type(exc).__name__}: {exc})",
            outcome.comparisons,
            outcome.sizes,
            outcome.seeds,
        )
    return outcome, figures, pred


def power_entry(claim: Claim, ctx: ClaimContext, pred: dict, outcome: ClaimOutcome) -> dict[str, Any]:
    """The ``power`` entry of a claim (:func:`giantstep.claims.base.claim_power`); a claim whose
    theory or analysis failed has none to state."""
    if not claim.headline or not outcome.comparisons:
        return Power(tuple(claim.headline), None, {}, "not computed: no headline quantities or no verdict").as_dict()
    return claim_power(claim, ctx, pred, outcome).as_dict()


def claim_entry(claim: Claim, outcome: ClaimOutcome, figures: list[Path], out: Path, extra: dict) -> dict[str, Any]:
    """The ``summary.json`` entry of one claim."""
    rel = []
    for f in figures:
        try:
            rel.append(str(Path(f).relative_to(out)))
        except ValueError:
            rel.append(str(f))
    rows = [c.as_dict() for c in outcome.comparisons]
    return to_jsonable(
        {
            "title": claim.title,
            "statement": claim.statement,
            "source": claim.source,
            "setting": claim.setting,
            "verdict": outcome.verdict,
            "reason": outcome.reason,
            "predicted": {r["quantity"]: r["predicted"] for r in rows},
            "measured": {r["quantity"]: {"mean": r["measured"], "stderr": r["stderr"]} for r in rows},
            "comparisons": rows,
            "sizes": outcome.sizes,
            "seeds": outcome.seeds,
            "figures": rel,
            **extra,
        }
    )


def _read_summary(out: Path) -> dict[str, Any]:
    path = out / "summary.json"
    if path.exists():
        try:
            data = json.loads(path.read_text())
            if isinstance(data, dict) and isinstance(data.get("claims"), dict):
                return data
        except json.JSONDecodeError:
            pass
    return {"claims": {}}


def write_summary(summary: dict, out: Path) -> Path:
    """Write ``out/summary.json`` atomically (claims in C1..C8 order)."""
    from .registry import _order

    summary = dict(summary)
    summary["claims"] = {k: summary["claims"][k] for k in sorted(summary["claims"], key=_order)}
    path = out / "summary.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(to_jsonable(summary), indent=2, allow_nan=False))
    tmp.replace(path)
    return path


def reproduce(
    claims: list[str] | None = None,
    *,
    mode: str = "quick",
    out: "str | Path" = "reproduce",
    workers: int | None = None,
    scheduler: str | None = None,
    run_sweeps: bool = True,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the selected claims (all when ``claims`` is empty); returns the summary mapping.

    ``run_sweeps=False`` skips the simulations and re-analyses / re-plots from the existing
    store (``giantstep plot``).
    """
    _check_mode(mode)
    selected = select(claims)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    store = out / STORE_NAME
    if not run_sweeps and not store.exists():
        raise ConfigError("out", f"a directory holding a results store ({STORE_NAME}) from 'giantstep reproduce'", str(out))
    summary = _read_summary(out)
    t_all = time.perf_counter()
    with contextlib.ExitStack() as stack:
        address, threads = (
            stack.enter_context(shared_cluster(workers, scheduler)) if run_sweeps else (None, None)
        )
        for claim in selected:
            _one_claim(claim, mode, out, store, summary, address, threads, run_sweeps, progress, log)
    summary.update(mode=mode, version=__version__, store=STORE_NAME, seconds=time.perf_counter() - t_all)
    write_summary(summary, out)
    from ..report import write_report

    write_report(summary, out)
    return summary


def _one_claim(claim: Claim, mode: str, out: Path, store: Path, summary: dict, address: str | None,
               threads: int | None, run_sweeps: bool, progress: bool, log: Callable[[str], None] | None) -> None:
    """Sweeps (optional), analysis, figures and the summary entry of one claim."""
    t0 = time.perf_counter()
    reports: dict[str, Any] = {}
    if run_sweeps:
        reports = run_claim_sweeps(
            claim, mode, store, scheduler=address, blas_threads=threads, progress=progress, log=log
        )
    ctx = context_for(claim, mode, out)
    outcome, figures, pred = evaluate_claim(claim, ctx)
    t_power = time.perf_counter()
    power = power_entry(claim, ctx, pred, outcome)
    extra = {
        "power": power,
        "power_seconds": time.perf_counter() - t_power,
        "mode": mode,
        "sweeps": [sweep_name(claim, s) for s in ctx.frames],
        "sweep_reports": reports,
        "seconds": time.perf_counter() - t0,
    }
    summary["claims"][claim.id] = claim_entry(claim, outcome, figures, out, extra)
    if log:
        log(f"{claim.id}: {outcome.verdict} ({time.perf_counter() - t0:.1f} s) {outcome.reason} Power: "
            f"{power_sentence(power)}.")
    write_summary({**summary, "mode": mode, "version": __version__, "store": STORE_NAME}, out)
