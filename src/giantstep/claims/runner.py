r"""Run claims end to end: sweeps -> one results store -> analysis -> figures -> summary + report.

For each selected claim and each sweep of ``claim.sweeps(mode)`` the runner calls the sweep
engine (:func:`giantstep.engine.sweep.load_sweep` then
:func:`giantstep.engine.execution.run_sweep`) into ONE store ``OUT/results.sqlite`` under the
sweep name ``"<claim id>.<mode>.<sweep name>"`` (quick and full data side by side, never mixed).
Every sweep of every selected claim is validated, and the output directory checked, before a
cluster starts. Completed cells are skipped on a second call (``resume``), so an interrupted
``giantstep reproduce`` continues where it stopped. Then

    ctx        = ClaimContext(mode, OUT/figures, {sweep: load_results(store, sweep=...)}, store)
    prediction = claim.predict(mode)
    outcome    = claim.analyse(ctx, prediction)
    figures    = claim.plot(ctx, prediction, outcome)

and ``OUT/summary.json`` and ``OUT/report.html`` are written (atomically; figures are drawn in a
hidden staging directory and renamed into ``OUT/figures``). ``summary.json`` holds an object
``claims`` mapping each claim id to its verdict, reason, predicted and measured values (the
comparison table), ``power`` (the smallest error in the claim's headline predictions that its verdict detects,
:func:`giantstep.claims.base.claim_power`), sizes, seeds, figures (paths relative to OUT), sweeps,
timings and ``data``:
the mode, row counts and sizes (d, width, n, ...) of the rows the analysis actually read. An exception
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
import os
import shutil
import tempfile
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
SUMMARY_NAME = "summary.json"
OWNED = (STORE_NAME, SUMMARY_NAME)  # what marks a directory as written by reproduce


def sweep_name(claim: Claim, name: str, mode: str) -> str:
    """Name of a claim's sweep inside the shared store: ``"<claim id>.<mode>.<sweep>"``."""
    return f"{claim.id}.{mode}.{name}"


def claim_specs(claim: Claim, mode: str) -> dict[str, Any]:
    """{sweep name: validated SweepSpec} of a claim in a mode (every cell checked)."""
    from ..engine.sweep import load_sweep

    return {name: load_sweep(mapping, name=sweep_name(claim, name, mode)) for name, mapping in claim.sweeps(mode).items()}


def modes_with_data(out: "str | Path", claim: Claim) -> list[str]:
    """The modes for which the store under ``out`` holds rows of ``claim``'s sweeps."""
    from ..engine.results import sweep_names

    names = set(sweep_names(Path(out) / STORE_NAME))
    return [m for m in MODES if any(n.startswith(f"{claim.id}.{m}.") for n in names)]


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ConfigError("mode", f"one of {list(MODES)}", mode)
    return mode


@contextlib.contextmanager
def shared_cluster(workers: int | None, scheduler: str | None) -> Iterator[tuple[str | None, int | None]]:
    """One Dask cluster for all sweeps of a ``reproduce`` call: yields (scheduler address, BLAS threads).

    With a ``scheduler`` address it is used as is. Otherwise a ``distributed.LocalCluster`` with
    ``workers`` processes (default: one per available core), one task thread each, is started once
    instead of once per sweep; every cell runs with the engine's fixed BLAS thread count.
    """
    if scheduler is not None:
        yield scheduler, None
        return
    from ..engine.execution import CELL_BLAS_THREADS, available_cores, local_cluster

    n = workers if workers is not None else available_cores()
    with local_cluster(n, CELL_BLAS_THREADS) as cluster:  # fixed BLAS threads: results do not depend on n
        yield cluster.scheduler_address, CELL_BLAS_THREADS


def run_claim_sweeps(
    claim: Claim,
    mode: str,
    store: Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    blas_threads: int | None = None,
    progress: Any = False,
    log: Callable[[str], None] | None = None,
    specs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run (or resume) every sweep of ``claim`` into ``store``; returns {sweep: report dict}.

    ``specs`` are the claim's validated sweeps (:func:`claim_specs`; computed when None);
    ``progress`` is a bool or a shared :class:`~giantstep.engine.progress.Progress`.
    """
    from ..engine.execution import run_sweep

    reports: dict[str, Any] = {}
    specs = claim_specs(claim, mode) if specs is None else specs
    for name, spec in specs.items():
        t0 = time.perf_counter()
        if hasattr(progress, "describe"):
            progress.describe(f"{claim.id} {name}")
        rep = run_sweep(
            spec,
            store,
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


def context_for(claim: Claim, mode: str, out: Path, outdir: Path | None = None) -> ClaimContext:
    """A :class:`ClaimContext` reading the claim's sweeps from the store under ``out`` (figures go
    to ``outdir``, default ``out/figures``)."""
    from ..engine.results import load_results

    store = out / STORE_NAME
    frames = {}
    for name in claim.sweeps(mode):
        try:
            frames[name] = load_results(store, sweep=sweep_name(claim, name, mode))
        except (FileNotFoundError, KeyError, ValueError):
            import pandas as pd

            frames[name] = pd.DataFrame()
    return ClaimContext(mode=mode, outdir=outdir or out / FIGURE_DIR, frames=frames, store=store)


def data_read(ctx: ClaimContext, expected: int | None = None) -> dict[str, Any]:
    """What the analysis read: mode, rows (done, failed), cells expected, and the distinct sizes of
    the done rows' configs (:func:`giantstep.engine.results.config_sizes`)."""
    from ..engine.results import config_sizes

    rows = sum(len(f) for f in ctx.frames.values())
    done = sum(int((f["status"] == "done").sum()) for f in ctx.frames.values() if "status" in f.columns)
    row_ids = [int(r) for f in ctx.frames.values() if "row_id" in f.columns for r in f["row_id"]]
    sizes = config_sizes(ctx.store, row_ids) if ctx.store is not None and row_ids else {}
    return {"mode": ctx.mode, "rows": rows, "done": done, "expected": expected, "sizes": sizes}


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


def read_summary(out: Path, force: bool = False) -> dict[str, Any]:
    """The ``summary.json`` of an earlier run under ``out`` ({"claims": {}} if there is none).

    A file that is not a giantstep summary (unreadable, not UTF-8, not JSON, wrong shape) is
    refused (ConfigError 'out'), or ignored and later replaced with ``force``.
    """
    from ..experiments.configfile import load_json_file

    path = out / SUMMARY_NAME
    if not path.exists():
        return {"claims": {}}
    try:
        data = load_json_file(path, "out")
        if not (isinstance(data, dict) and isinstance(data.get("claims"), dict)):
            raise ConfigError("out", "a directory whose summary.json is a giantstep summary", str(path))
    except ConfigError as exc:
        if force:
            return {"claims": {}}
        raise ConfigError("out", f"a directory whose {SUMMARY_NAME} is a giantstep summary (add --force to replace "
                                 f"it; {exc.allowed})", str(out)) from None
    return data


def write_summary(summary: dict, out: Path) -> Path:
    """Write ``out/summary.json`` atomically (claims in C1..C8 order)."""
    from ..outputs import atomic_write
    from .registry import _order

    summary = dict(summary)
    summary["claims"] = {k: summary["claims"][k] for k in sorted(summary["claims"], key=_order)}
    return atomic_write(out / SUMMARY_NAME, json.dumps(to_jsonable(summary), indent=2, allow_nan=False))


def check_out(out: "str | Path", force: bool = False) -> Path:
    """Refuse (ConfigError 'out') an output directory before any work: a file, a read-only place,
    or a non-empty directory not written by ``giantstep reproduce`` (unless ``force``)."""
    from ..outputs import check_output_dir

    return check_output_dir(out, "out", force, owned=OWNED)


def reproduce(
    claims: list[str] | None = None,
    *,
    mode: str = "quick",
    out: "str | Path" = "reproduce",
    workers: int | None = None,
    scheduler: str | None = None,
    run_sweeps: bool = True,
    progress: Any = False,
    log: Callable[[str], None] | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Run the selected claims (all when ``claims`` is empty); returns the summary mapping.

    ``run_sweeps=False`` skips the simulations and re-analyses / re-plots from the existing
    store (``giantstep plot``). ``progress`` is a bool or a shared
    :class:`~giantstep.engine.progress.Progress`; ``force`` lets OUT be a directory not written by
    reproduce (and replaces an unreadable summary.json). Every sweep is validated and OUT checked
    before anything is written or a cluster starts.
    """
    from ..engine import store as st
    from ..engine.binding import check_binding

    _check_mode(mode)
    selected = select(claims)
    out = check_out(out, force)
    store = out / STORE_NAME
    if not run_sweeps and st.store_state(store) != "store":
        raise ConfigError("out", f"a directory holding a results store ({STORE_NAME}) from 'giantstep reproduce'", str(out))
    summary = read_summary(out, force)
    specs = {c.id: claim_specs(c, mode) for c in selected}
    if run_sweeps and st.store_state(store) == "store":
        for claim_specs_ in specs.values():
            for spec in claim_specs_.values():
                check_binding(store, spec)
    elif run_sweeps and st.store_state(store) == "foreign":
        st.connect(store)  # the one-line refusal; the file is left untouched
    out.mkdir(parents=True, exist_ok=True)
    t_all = time.perf_counter()
    with contextlib.ExitStack() as stack:
        address, threads = (
            stack.enter_context(shared_cluster(workers, scheduler)) if run_sweeps else (None, None)
        )
        for claim in selected:
            _one_claim(claim, mode, out, store, summary, address, threads, run_sweeps, progress, log, specs[claim.id])
    summary.update(mode=mode, version=__version__, store=STORE_NAME, seconds=time.perf_counter() - t_all)
    write_summary(summary, out)
    from ..report import write_report

    write_report(summary, out)
    return summary


def _staged_figures(out: Path) -> Path:
    """A hidden staging directory for a claim's figures under ``out``."""
    return Path(tempfile.mkdtemp(dir=out, prefix=".figures.", suffix=".tmp"))


def _publish(staging: Path, figures: list[Path], out: Path) -> list[Path]:
    """Rename every file drawn in ``staging`` into ``out/figures`` (atomic per file); the figure
    paths as published. The staging directory is removed."""
    target = out / FIGURE_DIR
    target.mkdir(parents=True, exist_ok=True)
    try:
        for f in sorted(p for p in staging.rglob("*") if p.is_file()):
            dest = target / f.relative_to(staging)
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(f, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(f, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    published = []
    for f in figures:
        try:
            published.append(target / Path(f).relative_to(staging))
        except ValueError:
            published.append(Path(f))
    return published


def _one_claim(claim: Claim, mode: str, out: Path, store: Path, summary: dict, address: str | None,
               threads: int | None, run_sweeps: bool, progress: Any, log: Callable[[str], None] | None,
               specs: dict[str, Any]) -> None:
    """Sweeps (optional), analysis, figures and the summary entry of one claim."""
    t0 = time.perf_counter()
    reports: dict[str, Any] = {}
    if run_sweeps:
        reports = run_claim_sweeps(claim, mode, store, scheduler=address, blas_threads=threads, progress=progress,
                                   log=log, specs=specs)
    staging = _staged_figures(out)
    figures: list[Path] = []
    try:
        ctx = context_for(claim, mode, out, outdir=staging)
        outcome, figures, pred = evaluate_claim(claim, ctx)
    finally:
        figures = _publish(staging, figures, out)
    t_power = time.perf_counter()
    power = power_entry(claim, ctx, pred, outcome)
    extra = {
        "power": power,
        "power_seconds": time.perf_counter() - t_power,
        "mode": mode,
        "sweeps": [sweep_name(claim, s, mode) for s in ctx.frames],
        "sweep_reports": reports,
        "data": data_read(ctx, sum(len(spec.cells) for spec in specs.values())),
        "seconds": time.perf_counter() - t0,
    }
    summary["claims"][claim.id] = claim_entry(claim, outcome, figures, out, extra)
    if log:
        log(f"{claim.id}: {outcome.verdict} ({time.perf_counter() - t0:.1f} s) {outcome.reason} Power: "
            f"{power_sentence(power)}.")
    write_summary({**summary, "mode": mode, "version": __version__, "store": STORE_NAME}, out)
