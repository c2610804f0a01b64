r"""Running a sweep on Dask: a LocalCluster by default, any ``tcp://`` scheduler for clusters.

:func:`run_sweep` takes a validated :class:`~giantstep.engine.sweep.SweepSpec` (or a path or
mapping, validated first), skips the cells the store already holds, submits the others to Dask and
writes each result *in this (client) process* as it arrives: arrays first (atomic file), then the
row in one transaction (:mod:`giantstep.engine.store`).

Execution model

* Default: ``distributed.LocalCluster`` with ``workers`` worker processes (default: one per CPU
  core available to this process, at most one per pending cell), one task thread each.
* ``scheduler="tcp://HOST:PORT"``: connect to a running scheduler (``dask scheduler`` +
  ``dask worker``, or a ``dask_jobqueue.SLURMCluster``; see docs/engine.md).
* BLAS threads: every cell runs with exactly ``blas_threads`` BLAS threads (default
  :data:`CELL_BLAS_THREADS` = 1, set with threadpoolctl inside the cell, wherever it runs), never
  a number derived from the worker count: the reduction order of BLAS kernels depends on their
  thread count, so this is what makes a cell's result bit-identical for 1 or 16 workers.
* GPUs (``device="gpu"``, or cells whose config says ``device: gpu``; docs/accelerator.md): the
  LocalCluster gets one worker per visible CUDA device by default, and each worker is pinned to
  one device before it touches CUDA (``CUDA_VISIBLE_DEVICES`` set in the worker to one entry of
  the client's visible list, round robin when there are more workers than devices:
  :func:`gpu_assignment`). Workers of an external scheduler are pinned by whoever starts them
  (one ``CUDA_VISIBLE_DEVICES`` per ``dask worker``). ``device`` given here applies to every cell
  of a kind that has the field (:func:`request_device`), like ``blas_threads`` an execution choice
  that does not enter the cells' config hashes.
* Each cell runs :func:`giantstep.experiments.kinds.run_config` with the cell's resolved config.
  :class:`~giantstep.errors.DivergenceError` -> row status ``failed`` with its reason; any other
  exception -> ``failed`` with :func:`failure_reason`; a non-finite metric counts as divergence. A
  worker that dies is replaced and its task rescheduled by Dask (up to the scheduler's
  ``allowed-failures``); a task that still cannot finish is recorded as failed. The sweep continues.

Before any work: the store path is checked (a writable file path, not a foreign database:
:func:`giantstep.engine.store.check_store_path`), the sweep name is checked against the definition
the store binds it to (:mod:`giantstep.engine.binding`), and every cell has been validated by
:func:`~giantstep.engine.sweep.load_sweep`. Only then is the store created and a cluster started.

Resume semantics (per sweep name): ``resume=True`` skips cells whose config hash is ``done`` in the
store with arrays that verify, and, unless ``retry_failed``, also those recorded ``failed``;
``resume=False`` reruns every cell. A rerun replaces the cell's row (same ``row_id``), never adds a second one. Because cell seeds
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
import importlib
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
from .binding import bind_sweep, check_binding
from .progress import Progress
from .sweep import Cell, SweepSpec, load_sweep

CONNECT_TIMEOUT_S = 30
CELL_BLAS_THREADS = 1  # BLAS threads of every cell unless blas_threads is given (see the module docstring)
MAX_REASON = 300
BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


@dataclass(frozen=True)
class SweepReport:
    """What one call of :func:`run_sweep` did.

    total           : cells in the sweep (grid x zip x seeds).
    done, failed    : cells executed by this call that succeeded / failed.
    skipped         : cells not executed because the store already held them (resume).
    workers         : Dask workers at the start (0 when nothing had to run).
    blas_threads    : BLAS threads of each cell (None when nothing had to run).
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


def is_numerical(exc: BaseException) -> bool:
    """Whether an exception is a numerical failure of a valid computation: overflow, division,
    non-finite values, a linear-algebra or eigen solver that fails, memory exhausted."""
    if isinstance(exc, (ArithmeticError, MemoryError)) and not isinstance(exc, ZeroDivisionError):
        return True
    return type(exc).__name__ in ("LinAlgError", "ArpackError", "ArpackNoConvergence")


def failure_reason(exc: BaseException) -> str:
    """One line saying why a run failed: the divergence's reason, or ``Type: first line``."""
    if isinstance(exc, DivergenceError):
        text = str(exc.reason)
    elif isinstance(exc, MemoryError):
        text = f"out of memory (MemoryError{': ' + str(exc) if str(exc) else ''})"
    else:
        first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")
        text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def request_device(config: Any, device: str | None) -> Any:
    """The run config with ``device`` set when its kind has that field (``--device``); a config
    that is not a mapping, or ``device`` None, is returned as given. ``device: gpu`` for a kind
    without the field is refused (only the ``steps`` kind runs on a GPU)."""
    if device is None or not isinstance(config, Mapping):
        return config
    if device not in ("cpu", "gpu"):
        raise ConfigError("device", "one of ['cpu', 'gpu']", device)
    from ..experiments.kinds import KIND_MODULES, KINDS

    for module in KIND_MODULES:  # the registry of kinds (an unknown kind is refused by validation)
        importlib.import_module(module)
    kind = str(config.get("kind", "steps"))
    if kind in KINDS and "device" in KINDS[kind].config_model.model_fields:
        return {**config, "device": device}
    if device == "gpu":
        raise ConfigError("device", f"'cpu' for kind '{kind}' (the 'steps' kind runs on a GPU)", device)
    return config


def gpu_assignment(workers: list[str], visible: list[str]) -> dict[str, str]:
    """One device of ``visible`` (CUDA_VISIBLE_DEVICES entries) per worker address, round robin
    in the sorted order of the addresses."""
    return {w: visible[i % len(visible)] for i, w in enumerate(sorted(workers))} if visible else {}


def _pin_gpu(device: str) -> str:
    """(On a worker, before it initialises CUDA) make ``device`` its only visible device."""
    os.environ["CUDA_VISIBLE_DEVICES"] = device
    return device


def _pin_workers(client) -> None:
    from ..backend import visible_gpus

    for address, device in gpu_assignment(list(client.scheduler_info()["workers"]), visible_gpus()).items():
        client.run(_pin_gpu, device, workers=[address])


def execute_cell(config: Mapping[str, Any], blas_threads: int | None = None, device: str | None = None) -> dict[str, Any]:
    """Run one cell's config (on a worker) with ``blas_threads`` BLAS threads (default
    :data:`CELL_BLAS_THREADS`) and, if given, on ``device`` (:func:`request_device`); never raises
    for failures of the run itself.

    Returns a payload with status, reason, metrics, arrays, record (JSON-clean), timings and host.
    """
    import math

    import numpy as np

    from ..jsonable import to_jsonable
    from ..linalg import blas_threads as limit_threads
    from ..experiments.kinds import run_config

    started = _now()
    t0 = time.perf_counter()
    out: dict[str, Any] = {"status": "done", "reason": None, "metrics": {}, "arrays": {}, "record": None}
    try:
        with limit_threads(blas_threads or CELL_BLAS_THREADS):
            result = run_config(request_device(dict(config), device))
        metrics = {str(k): float(v) for k, v in result.metrics.items()}
        for k, v in metrics.items():
            if not math.isfinite(v):
                raise DivergenceError(f"non-finite metric '{k}' ({v}): the run diverged")
        arrays = {str(k): np.asarray(v) for k, v in result.arrays.items()}
        for k, a in arrays.items():
            if a.dtype.hasobject:
                raise TypeError(f"array '{k}' has dtype object; only numeric arrays can be stored")
        out.update(metrics=metrics, arrays=arrays, record=to_jsonable(result.record))
    except Exception as exc:  # noqa: BLE001 - any failure of a cell is recorded, the sweep goes on
        out.update(status="failed", reason=failure_reason(exc), metrics={}, arrays={}, record=None)
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
    workers: int | None, scheduler: str | None, n_tasks: int, blas_threads: int | None, gpus: int = 0
) -> Iterator[tuple[Any, int, int | None]]:
    """Yield (client, number of workers, BLAS threads per worker) for a LocalCluster or a scheduler.
    With ``gpus`` > 0 a LocalCluster has one worker per GPU by default, each pinned to one."""
    from distributed import Client

    threads = blas_threads if blas_threads is not None else CELL_BLAS_THREADS
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ConfigError("scheduler", "the address of a reachable Dask scheduler", f"{scheduler} ({exc})") from None
        try:
            _warm(client, threads)
            yield client, len(client.scheduler_info()["workers"]), threads
        finally:
            client.close()
        return
    n = workers if workers is not None else max(1, min(gpus or available_cores(), n_tasks))
    with local_cluster(n, threads) as cluster:
        client = Client(cluster, set_as_default=False)
        try:
            if gpus:
                _pin_workers(client)
            _warm(client, threads)
            yield client, n, threads
        finally:
            client.close()


@contextlib.contextmanager
def local_cluster(n_workers: int, blas_threads: int) -> Iterator[Any]:
    """A ``distributed.LocalCluster`` of ``n_workers`` processes, one task thread and ``blas_threads``
    BLAS threads each, no dashboard (its HTTP endpoint on a free loopback port, so that concurrent
    sweeps never compete for a fixed port), closed on exit."""
    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        silence_logs=logging.ERROR,
        env={k: str(blas_threads) for k in BLAS_ENV},
    )
    try:
        yield cluster
    finally:
        cluster.close()


def _pending(spec: SweepSpec, store_path: Path, resume: bool, retry_failed: bool) -> tuple[list[Cell], int]:
    """(cells to run, cells skipped). A done row whose arrays fail verification is run again."""
    if not resume or st.store_state(store_path) != "store":
        return list(spec.cells), 0
    con = st.connect(store_path, readonly=True)
    try:
        existing = st.statuses(con, spec.name)
        digests = st.done_arrays(con, spec.name)
    finally:
        con.close()
    broken = {d for d in set(digests.values()) if st.verify_arrays(store_path, d) is not None}
    for h, d in digests.items():
        if d in broken:
            existing[h] = "corrupt"
    keep = {"done", "failed"} if not retry_failed else {"done"}
    todo = [c for c in spec.cells if existing.get(c.config_hash) not in keep]
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


def run_sweep(
    spec: "SweepSpec | str | Path | Mapping[str, Any]",
    store_path: "str | Path",
    *,
    name: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = True,
    retry_failed: bool = False,
    progress: "bool | Progress" = True,
    blas_threads: int | None = None,
    device: str | None = None,
) -> SweepReport:
    """Run the pending cells of a sweep on Dask and record them in the store at ``store_path``.

    spec         : a :class:`SweepSpec`, or a sweep file path / mapping (validated first).
    name         : record the rows under this sweep name (default: the spec's name).
    workers      : LocalCluster worker processes (default: one per core, at most one per cell).
    scheduler    : ``tcp://HOST:PORT`` of a running Dask scheduler (exclusive with ``workers``).
    resume       : skip cells already recorded (see module docstring); ``retry_failed`` reruns failed ones.
    progress     : a live bar on stderr (only drawn when stderr is a terminal), or a
                   :class:`~giantstep.engine.progress.Progress` shared with other sweeps.
    blas_threads : BLAS threads of each cell (default :data:`CELL_BLAS_THREADS`, whatever the workers).
    device       : "cpu" or "gpu" for every cell whose kind has the field (default: each cell's config).

    Invalid arguments, a store path that cannot hold a store and a sweep name bound to another
    definition raise :class:`ConfigError` before anything is written or started.
    """
    t_start = time.perf_counter()
    _check_args(workers, scheduler, blas_threads)
    if not isinstance(spec, SweepSpec):
        spec = load_sweep(spec)
    if name is not None:
        spec = spec.renamed(name)
    store_path = st.check_store_path(store_path, write=True)
    if st.store_state(store_path) == "store":
        check_binding(store_path, spec)
    gpus = _required_gpus(spec, device)
    todo, skipped = _pending(spec, store_path, resume, retry_failed)
    bar = progress if isinstance(progress, Progress) else Progress(enabled=bool(progress), description=spec.name)
    bar.add_total(len(spec.cells))
    bar.advance(skipped=skipped)

    done = failed = 0
    n_workers, threads = 0, None
    startup = compute = 0.0
    con = None
    try:
        if todo:
            t0 = time.perf_counter()
            with dask_client(workers, scheduler, len(todo), blas_threads, gpus) as (client, n_workers, threads):
                startup = time.perf_counter() - t0
                con = _open_bound(store_path, spec)
                t1 = time.perf_counter()
                with bar:
                    done, failed = _execute(client, con, store_path, spec, todo, threads, bar, device)
                compute = time.perf_counter() - t1
        else:
            con = _open_bound(store_path, spec)  # an empty sweep still leaves a valid (empty) store
    finally:
        if con is not None:
            con.close()
    return SweepReport(spec.name, str(store_path), len(spec.cells), done, failed, skipped, n_workers, threads,
                       startup, compute, time.perf_counter() - t_start)


def _required_gpus(spec: SweepSpec, device: str | None) -> int:
    """Visible GPUs when the sweep runs on them (``device`` or a cell's config asks for 'gpu'), 0
    otherwise; raises the one-line :class:`ConfigError` when none is available. Every cell is
    checked first (:func:`request_device`)."""
    from ..backend import require_gpu

    wants = False
    for cell in spec.cells:
        wants = wants or request_device(cell.config, device).get("device") == "gpu"
    return require_gpu() if wants else 0


def _open_bound(store_path: Path, spec: SweepSpec):
    """A write connection to the store (created if absent or empty) with the sweep's name bound."""
    con = st.connect(store_path)
    try:
        bind_sweep(con, spec)
        st.remove_stale_temporaries(store_path)
    except BaseException:
        con.close()
        raise
    return con


def _execute(client, con, store_path: Path, spec: SweepSpec, todo: list[Cell], threads: int | None,
             bar: Progress, device: str | None = None) -> tuple[int, int]:
    from distributed import as_completed

    futures = {}
    for cell in todo:
        fut = client.submit(execute_cell, cell.config, threads, device, key=f"giantstep-cell-{cell.config_hash[:16]}-"
                            f"{uuid.uuid4().hex[:8]}", pure=False)
        futures[fut] = cell
    done = failed = 0
    for fut in as_completed(list(futures), loop=client.loop):
        cell = futures.pop(fut)
        try:
            payload = fut.result()
        except Exception as exc:  # noqa: BLE001 - worker lost for good, cancelled, ...
            payload = {"status": "failed", "reason": failure_reason(exc)}
        fut.release()
        if write_result(con, store_path, spec, cell, payload) == "done":
            done += 1
            bar.advance(done=1)
        else:
            failed += 1
            bar.advance(failed=1)
    return done, failed


def report_line(report: SweepReport) -> str:
    """One-line summary of a :class:`SweepReport`."""
    return (f"sweep '{report.sweep}': {report.done} done, {report.failed} failed, {report.skipped} skipped "
            f"of {report.total} cells in {report.seconds:.1f} s ({report.workers} worker(s)) -> {report.store}")

