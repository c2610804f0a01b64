r"""Running a sweep on Dask: a LocalCluster by default, any ``tcp://`` scheduler for clusters.

:func:`run_sweep` takes a validated :class:`~giantstep.engine.sweep.SweepSpec` (or a path or
mapping, validated first), skips the cells the store already holds, submits the others to Dask and
writes each result *in this (client) process* as it arrives: arrays first (atomic file), then the
row in one transaction (:mod:`giantstep.engine.store`).

Execution model

* Default: ``distributed.LocalCluster`` with ``workers`` worker processes (default: one per CPU
  core available to this process, at most one per pending cell), one task thread each, and
  ``blas_threads = max(1, cores // workers)`` BLAS threads per worker, so workers x threads <= cores.
* ``scheduler="tcp://HOST:PORT"``: connect to a running scheduler (``dask scheduler`` +
  ``dask worker``, or a ``dask_jobqueue.SLURMCluster``; see docs/engine.md). BLAS threads are then
  left to the workers' environment (``OMP_NUM_THREADS``) unless ``blas_threads`` is given.
* Each cell runs :func:`giantstep.experiments.kinds.run_config` with the cell's resolved config.
  :class:`~giantstep.errors.DivergenceError` -> row status ``failed`` with its reason; any other
  exception -> ``failed`` with ``"Type: message"``; a non-finite metric counts as divergence. A worker
  that dies is replaced and its task rescheduled by Dask (up to the scheduler's
  ``allowed-failures``); a task that still cannot finish is recorded as failed. The sweep continues.

Resume semantics (per sweep name): ``resume=True`` skips cells whose config hash is ``done`` in the
store and, unless ``retry_failed``, also those recorded ``failed``; ``resume=False`` reruns every
cell. A rerun replaces the cell's row (same ``row_id``), never adds a second one. Because cell seeds
depend only on (root seed, cell key, replicate), the result of a cell does not depend on the worker
count, the execution order or on whether the sweep was interrupted.

>>> from giantstep.engine.sweep import load_sweep          # doctest: +SKIP
>>> spec = load_sweep("alpha-grid.yaml")                        # doctest: +SKIP
>>> report = run_sweep(spec, "results.db", workers=2)           # doctest: +SKIP
>>> report.done, report.failed, report.skipped                  # doctest: +SKIP
(16, 0, 0)
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping

from ..errors import ConfigError, DivergenceError
from . import store as st
from .sweep import Cell, SweepSpec, load_sweep

CONNECT_TIMEOUT_S = 30
BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


@dataclass(frozen=True)
class SweepReport:
    """What one call of :func:`run_sweep` did.

    total           : cells in the sweep (grid x zip x seeds).
    done, failed    : cells executed by this call that succeeded / failed.
    skipped         : cells not executed because the store already held them (resume).
    workers         : Dask workers at the start (0 when nothing had to run).
    blas_threads    : BLAS threads per worker (None: left to the workers' environment).
    startup_seconds : time to start or connect to the cluster.
    compute_seconds : time from the first submission to the last row written.
    seconds         : total wall time of the call.
    """

    sweep: str
    store: str
    total: int
    done: int
    failed: int
    skipped: int
    workers: int
    blas_threads: int | None
    startup_seconds: float
    compute_seconds: float
    seconds: float


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def execute_cell(config: Mapping[str, Any], blas_threads: int | None = None) -> dict[str, Any]:
    """Run one cell's config (on a worker); never raises for failures of the run itself.

    Returns a payload with status, reason, metrics, arrays, record, timings and host.
    """
    import math

    import numpy as np

    from ..linalg import blas_threads as limit_threads
    from ..experiments.kinds import run_config

    started = _now()
    t0 = time.perf_counter()
    out: dict[str, Any] = {"status": "done", "reason": None, "metrics": {}, "arrays": {}, "record": None}
    try:
        with limit_threads(blas_threads):
            result = run_config(dict(config))
        metrics = {str(k): float(v) for k, v in result.metrics.items()}
        for k, v in metrics.items():
            if not math.isfinite(v):
                raise DivergenceError(f"non-finite metric '{k}' ({v}): the run diverged")
        arrays = {str(k): np.asarray(v) for k, v in result.arrays.items()}
        for k, a in arrays.items():
            if a.dtype.hasobject:
                raise TypeError(f"array '{k}' has dtype object; only numeric arrays can be stored")
        out.update(metrics=metrics, arrays=arrays, record=result.record)
    except DivergenceError as exc:
        out.update(status="failed", reason=exc.reason)
    except Exception as exc:  # noqa: BLE001 - any failure of a cell is recorded, the sweep goes on
        out.update(status="failed", reason=f"{type(exc).__name__}: {exc}")
    out["seconds"] = time.perf_counter() - t0
    out["started"] = started
    out["host"] = socket.gethostname()
    try:
        from distributed import get_worker

        out["worker"] = get_worker().address
    except (ImportError, ValueError):
        out["worker"] = None
    return out


# A tiny run through every phase of a ``steps`` cell (step, spectra, readout, theory): the first call
# of each pays for lazy imports, LAPACK wrapper look-ups, thread-pool start and quadrature caches.
WARM_UP_CELL = {"kind": "steps", "seed": 0, "d": 16, "width": 16, "n": 64, "steps": [{"eta0": 1.0, "alpha": 0.0}],
                "readout": {"n_train": 64, "n_test": 64}, "spectra": {"top": 3}}


def warm_worker(blas_threads: int | None = None) -> str:
    """Run :data:`WARM_UP_CELL` on a worker (once per worker at start-up); return its host.

    Caches filled here are pure functions of their arguments, so the cells' results do not depend
    on whether a worker was warmed.
    """
    execute_cell(WARM_UP_CELL, blas_threads)
    return socket.gethostname()


def _warm(client, blas_threads: int | None) -> None:
    """Pay the workers' one-off costs during start-up rather than inside their first cells."""
    try:
        client.run(warm_worker, blas_threads)
    except Exception:  # noqa: BLE001 - a worker that cannot import records its cells as failed instead
        pass


def _check_args(workers: Any, scheduler: Any, blas_threads: Any) -> None:
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 4096:
            raise ConfigError("workers", "an integer in [1, 4096]", workers)
        if scheduler is not None:
            raise ConfigError("workers", "absent when a scheduler address is given", workers)
    if scheduler is not None:
        if not isinstance(scheduler, str) or not scheduler.startswith(("tcp://", "tls://")) or len(scheduler) < 7:
            raise ConfigError("scheduler", "a Dask scheduler address such as 'tcp://HOST:PORT'", scheduler)
    if blas_threads is not None:
        if isinstance(blas_threads, bool) or not isinstance(blas_threads, int) or not 1 <= blas_threads <= 1024:
            raise ConfigError("blas_threads", "an integer in [1, 1024]", blas_threads)


@contextlib.contextmanager
def dask_client(
    workers: int | None, scheduler: str | None, n_tasks: int, blas_threads: int | None
) -> Iterator[tuple[Any, int, int | None]]:
    """Yield (client, number of workers, BLAS threads per worker) for a LocalCluster or a scheduler."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ConfigError("scheduler", "the address of a reachable Dask scheduler", f"{scheduler} ({exc})") from None
        try:
            _warm(client, blas_threads)
            yield client, len(client.scheduler_info()["workers"]), blas_threads
        finally:
            client.close()
        return
    cores = available_cores()
    n = workers if workers is not None else max(1, min(cores, n_tasks))
    threads = blas_threads if blas_threads is not None else max(1, cores // n)
    env = {k: str(threads) for k in BLAS_ENV}
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # its HTTP endpoint: a free local port
        silence_logs=logging.ERROR,
        env=env,
    )
    try:
        client = Client(cluster, set_as_default=False)
        try:
            _warm(client, threads)
            yield client, n, threads
        finally:
            client.close()
    finally:
        cluster.close()


def _pending(spec: SweepSpec, store_path: Path, resume: bool, retry_failed: bool) -> tuple[list[Cell], int]:
    if not resume or not store_path.exists():
        return list(spec.cells), 0
    con = st.connect(store_path, readonly=True)
    try:
        existing = st.statuses(con, spec.name)
    finally:
        con.close()
    keep_failed = not retry_failed
    todo = [
        c for c in spec.cells
        if not (existing.get(c.config_hash) == "done" or (keep_failed and existing.get(c.config_hash) == "failed"))
    ]
    return todo, len(spec.cells) - len(todo)


def _row(spec: SweepSpec, cell: Cell, payload: Mapping[str, Any], arrays_digest: str | None) -> dict[str, Any]:
    from .. import __version__

    return {
        "sweep": spec.name,
        "config_hash": cell.config_hash,
        "kind": cell.kind,
        "cell_key": cell.key,
        "axes": dict(cell.axes),
        "replicate": cell.replicate,
        "cell_seed": cell.seed,
        "root_seed": spec.root_seed,
        "seed_path": cell.seed_path(spec.root_seed),
        "config": cell.config,
        "status": payload["status"],
        "reason": payload.get("reason"),
        "metrics": payload.get("metrics") or {},
        "record": payload.get("record"),
        "arrays": arrays_digest,
        "version": __version__,
        "host": payload.get("host"),
        "worker": payload.get("worker"),
        "started": payload.get("started"),
        "seconds": payload.get("seconds"),
        "written": _now(),
    }


def write_result(con, store_path: Path, spec: SweepSpec, cell: Cell, payload: Mapping[str, Any]) -> str:
    """Write one cell's payload: arrays atomically, then the row in one transaction; return the status."""
    payload = dict(payload)
    digest = None
    if payload["status"] == "done":
        try:
            digest = st.write_arrays(store_path, payload.get("arrays") or {})
        except (TypeError, ValueError, OSError) as exc:
            payload.update(status="failed", reason=f"{type(exc).__name__}: {exc}", metrics={}, record=None)
    st.commit_row(con, _row(spec, cell, payload, digest))
    return payload["status"]


class _Progress:
    """A rich progress bar on stderr, shown only when stderr is a terminal."""

    def __init__(self, enabled: bool, total: int, name: str):
        self.bar = None
        if not enabled:
            return
        from rich.console import Console

        console = Console(stderr=True)
        if not console.is_terminal:
            return
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("done {task.fields[done]}  failed {task.fields[failed]}  remaining {task.fields[remaining]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.task = self.bar.add_task(name, total=total, done=0, failed=0, remaining=total)

    def __enter__(self):
        if self.bar is not None:
            self.bar.start()
        return self

    def update(self, done: int, failed: int, remaining: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done + failed, done=done, failed=failed, remaining=remaining)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()


def run_sweep(
    spec: "SweepSpec | str | Path | Mapping[str, Any]",
    store_path: "str | Path",
    *,
    name: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = True,
    retry_failed: bool = False,
    progress: bool = True,
    blas_threads: int | None = None,
) -> SweepReport:
    """Run the pending cells of a sweep on Dask and record them in the store at ``store_path``.

    spec         : a :class:`SweepSpec`, or a sweep file path / mapping (validated first).
    name         : record the rows under this sweep name (default: the spec's name).
    workers      : LocalCluster worker processes (default: one per core, at most one per cell).
    scheduler    : ``tcp://HOST:PORT`` of a running Dask scheduler (exclusive with ``workers``).
    resume       : skip cells already recorded (see module docstring); ``retry_failed`` reruns failed ones.
    progress     : show a progress bar (only when stderr is a terminal).
    blas_threads : BLAS threads per worker (default: cores // workers locally, untouched remotely).

    Invalid arguments raise :class:`ConfigError` before anything is written.
    """
    t_start = time.perf_counter()
    _check_args(workers, scheduler, blas_threads)
    if not isinstance(spec, SweepSpec):
        spec = load_sweep(spec)
    if name is not None:
        spec = spec.renamed(name)
    store_path = Path(store_path)
    if store_path.exists() and not store_path.is_file():
        raise ConfigError("store", "a file path (not a directory)", str(store_path))
    todo, skipped = _pending(spec, store_path, resume, retry_failed)

    done = failed = 0
    n_workers, threads = 0, None
    startup = compute = 0.0
    con = None
    try:
        if todo:
            t0 = time.perf_counter()
            with dask_client(workers, scheduler, len(todo), blas_threads) as (client, n_workers, threads):
                startup = time.perf_counter() - t0
                con = st.connect(store_path)
                st.remove_stale_temporaries(store_path)
                t1 = time.perf_counter()
                done, failed = _execute(client, con, store_path, spec, todo, threads, progress)
                compute = time.perf_counter() - t1
        elif not store_path.exists():
            con = st.connect(store_path)  # an empty sweep still leaves a valid (empty) store
    finally:
        if con is not None:
            con.close()
    return SweepReport(spec.name, str(store_path), len(spec.cells), done, failed, skipped, n_workers, threads,
                       startup, compute, time.perf_counter() - t_start)


def _execute(client, con, store_path: Path, spec: SweepSpec, todo: list[Cell], threads: int | None,
             progress: bool) -> tuple[int, int]:
    from distributed import as_completed

    futures = {}
    for cell in todo:
        fut = client.submit(execute_cell, cell.config, threads, key=f"giantstep-cell-{cell.config_hash[:16]}-"
                            f"{uuid.uuid4().hex[:8]}", pure=False)
        futures[fut] = cell
    done = failed = 0
    with _Progress(progress, len(todo), spec.name) as bar:
        for fut in as_completed(list(futures), loop=client.loop):
            cell = futures.pop(fut)
            try:
                payload = fut.result()
            except Exception as exc:  # noqa: BLE001 - worker lost for good, cancelled, ...
                payload = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
            fut.release()
            if write_result(con, store_path, spec, cell, payload) == "done":
                done += 1
            else:
                failed += 1
            bar.update(done, failed, len(todo) - done - failed)
    return done, failed


def report_line(report: SweepReport) -> str:
    """One-line summary of a :class:`SweepReport`."""
    return (f"sweep '{report.sweep}': {report.done} done, {report.failed} failed, {report.skipped} skipped "
            f"of {report.total} cells in {report.seconds:.1f} s ({report.workers} worker(s)) -> {report.store}")

