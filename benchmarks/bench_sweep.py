"""Benchmark: a 16-cell sweep on a LocalCluster with 1 worker vs 2 workers.

Each cell is one large step at d = N = 512, n = 4096 (plus spectra), about 0.4 s on one core.
Both runs use one BLAS thread per worker, so the ratio measures how well the engine spreads cells
over workers; a third run gives the single worker all the cores' BLAS threads (the engine's
default for one worker), for reference. Reported per run: the compute time (first submission to
last row written), the total wall time including cluster start-up, and the speed-up of 2 workers
over 1 (target >= 1.8x on the compute time with 2 free cores). The mean run time of a cell tells
whether the cores were free: if it grows with 2 workers, the workers competed for CPU with other
processes and the ratio measures the machine's load, not the engine. "workers busy" is the sum of
the cells' run times over (workers x compute time): the share of the time the engine kept every
worker running a cell (100% = no scheduling or writing overhead).

Run standalone: ``python benchmarks/bench_sweep.py`` (prints one JSON object per row).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

CELL = {"d": 512, "width": 512, "n": 4096, "theory": False, "spectra": {"top": 5},
        "steps": [{"eta0": 1.0, "alpha": 0.0}]}


def sweep_spec() -> dict:
    """16 cells: 8 widths x 2 seeds."""
    return {"name": "bench", "seed": 1, "base": CELL, "grid": {"width": [512 + 8 * i for i in range(8)]}, "seeds": 2}


def measure() -> list[dict]:
    """Rows {"name", "seconds", "note"}: 1 worker, 2 workers, and the speed-up."""
    from giantstep.experiments.execution import available_cores, run_sweep
    from giantstep.experiments.results import load_results
    from giantstep.experiments.sweep import load_sweep

    spec = load_sweep(sweep_spec())
    rows = []
    reports = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, workers, threads in (("1 worker", 1, 1), ("2 workers", 2, 1), ("1 worker, all BLAS threads", 1, None)):
            rep = run_sweep(spec, Path(tmp) / f"{label.replace(' ', '_').replace(',', '')}.db", workers=workers,
                            blas_threads=threads, progress=False)
            assert rep.done == len(spec.cells), rep
            reports[label] = rep
            cell_seconds = load_results(rep.store)["seconds"]
            per_cell = float(cell_seconds.mean())
            busy = float(cell_seconds.sum()) / (rep.workers * rep.compute_seconds)
            rows.append({"name": f"sweep16 {label}", "seconds": rep.compute_seconds,
                         "note": f"compute time; total {rep.seconds:.2f} s incl. start-up {rep.startup_seconds:.2f} s; "
                                 f"mean run time of a cell {per_cell:.3f} s; workers busy {busy:.0%} of it; {rep.blas_threads} BLAS thread(s) per "
                                 f"worker; {available_cores()} cores"})
    one, two = reports["1 worker"], reports["2 workers"]
    rows.append({"name": "sweep16 speed-up 2 vs 1 workers", "seconds": two.compute_seconds,
                 "note": f"{one.compute_seconds / two.compute_seconds:.2f}x on compute time "
                         f"({one.seconds / two.seconds:.2f}x on total wall time); target >= 1.8x"})
    return rows


if __name__ == "__main__":  # the guard is required: Dask starts its worker processes with 'spawn'
    for row in measure():
        print(json.dumps(row))
