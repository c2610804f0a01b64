"""Benchmark P4: a 16-cell sweep on a LocalCluster with 1 worker vs 2 workers.

Each cell is one large step at d = N = 512, n = 16384 (plus spectra), about 0.6 s on one core.
Both runs use one BLAS thread per worker, so the ratio measures how well the engine spreads cells
over workers. Reported per run: the compute time (first submission to last row written; best of
``repeats`` runs, each on a fresh cluster and store), the total wall time including cluster
start-up, the mean run time of a cell and "workers busy" (the sum of the cells' run times over
workers x compute time: the share of the time the engine kept every worker running a cell; 100% =
no scheduling or writing overhead). A last run gives the single worker all the cores' BLAS
threads (the engine's default for one worker), for reference.

The machine's own parallel floor is measured in the same run: the same cells executed by the same
function in 1 and then 2 plain worker processes (``concurrent.futures``, no Dask, no store). Its
speed-up is what the hardware gives to two independent single-threaded processes (below 2 when the
cores share caches, memory bandwidth or a frequency budget); the engine's speed-up is reported
against the target (>= 1.8x) and as a fraction of that floor. If the mean run time of a cell grows
with 2 workers, the cores slowed each other down (or other processes competed for them).

Run standalone: ``python benchmarks/bench_sweep.py`` (prints one JSON object per row).
"""

from __future__ import annotations

import json
import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

CELL = {"d": 512, "width": 512, "n": 16384, "theory": False, "spectra": {"top": 5},
        "steps": [{"eta0": 1.0, "alpha": 0.0}]}
TARGET = 1.8


def sweep_spec() -> dict:
    """16 cells: 8 widths x 2 seeds."""
    return {"name": "bench", "seed": 1, "base": CELL, "grid": {"width": [512 + 8 * i for i in range(8)]}, "seeds": 2}


def _warm_process() -> None:
    from giantstep.engine.execution import warm_worker

    warm_worker(1)


def _cell_seconds(config: dict) -> float:
    from giantstep.engine.execution import execute_cell

    return execute_cell(config, 1)["seconds"]


def plain_processes(configs: list[dict], workers: int) -> tuple[float, float]:
    """(wall time, mean cell time) of running ``configs`` in ``workers`` plain processes, each warmed
    like an engine worker and limited to one BLAS thread: the machine's floor for the sweep."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_warm_process) as pool:
        list(pool.map(time.sleep, [0.2] * workers))  # every process started and warmed
        t0 = time.perf_counter()
        seconds = list(pool.map(_cell_seconds, configs))
        wall = time.perf_counter() - t0
    return wall, sum(seconds) / len(seconds)


def measure(repeats: int = 2) -> list[dict]:
    """Rows {"name", "seconds", "note"}: engine with 1 and 2 workers, the plain-process floor, the speed-ups."""
    from giantstep.engine.execution import available_cores, run_sweep
    from giantstep.engine.results import load_results
    from giantstep.engine.sweep import load_sweep

    spec = load_sweep(sweep_spec())
    rows = []
    best = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs = [("1 worker", 1, 1), ("2 workers", 2, 1)] * repeats + [("1 worker, all BLAS threads", 1, None)]
        for i, (label, workers, threads) in enumerate(runs):
            rep = run_sweep(spec, Path(tmp) / f"run{i}.db", workers=workers, blas_threads=threads, progress=False)
            assert rep.done == len(spec.cells), rep
            if label not in best or rep.compute_seconds < best[label][0].compute_seconds:
                best[label] = (rep, load_results(rep.store)["seconds"])
        for label, (rep, cell_seconds) in best.items():
            busy = float(cell_seconds.sum()) / (rep.workers * rep.compute_seconds)
            rows.append({"name": f"sweep16 {label}", "seconds": rep.compute_seconds,
                         "note": f"compute time; total {rep.seconds:.2f} s incl. start-up {rep.startup_seconds:.2f} s; "
                                 f"mean run time of a cell {float(cell_seconds.mean()):.3f} s; workers busy {busy:.0%} "
                                 f"of it; {rep.blas_threads} BLAS thread(s) per worker; {available_cores()} cores"})
    configs = [cell.config for cell in spec.cells]
    plain = {w: plain_processes(configs, w) for w in (1, 2)}
    floor = plain[1][0] / plain[2][0]
    for w, (wall, cell) in plain.items():
        rows.append({"name": f"sweep16 floor: {w} plain process(es), no engine", "seconds": wall,
                     "note": f"mean run time of a cell {cell:.3f} s"})
    one, two = best["1 worker"][0], best["2 workers"][0]
    speedup = one.compute_seconds / two.compute_seconds
    rows.append({"name": "sweep16 speed-up 2 vs 1 workers", "seconds": two.compute_seconds,
                 "note": f"{speedup:.2f}x on compute time ({one.seconds / two.seconds:.2f}x on total wall time); "
                         f"target >= {TARGET}x; the machine's floor (2 plain processes) {floor:.2f}x, "
                         f"engine at {speedup / floor:.0%} of it"})
    return rows


if __name__ == "__main__":  # the guard is required: Dask starts its worker processes with 'spawn'
    for row in measure():
        print(json.dumps(row))
