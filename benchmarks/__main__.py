"""``python -m benchmarks [--quick] [--only ANCHOR,P1,...] [--pairs 3] [--json]``: one table of measured ratios.

Groups: FLOOR (always: dgemm/sgemm/sampling rates), ANCHOR (the public GiantStep notebook's
single-step workload at n = d^1.3, d^1.65, d^2; giantstep vs a notebook-style reference in paired
child processes, peak RSS; benchmarks/bench_anchor.py), P1 (one step + spectra + readout at
n = N = d = 2048, the same way), SVD (spectral fast path vs numpy.linalg.svd), KRYLOV (dense vs
Krylov eigensolver crossover), F32 (float32 vs float64), P3 (theory oracle,
benchmarks/bench_theory.py), P4 (sweep with 1 vs 2 Dask workers, benchmarks/bench_sweep.py).
The header gives the commit, the load average and the core count at measurement time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

GROUPS = ("ANCHOR", "P1", "SVD", "KRYLOV", "F32", "P3", "P4")


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
        return out.stdout.strip() + ("+local changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def collect(groups: list[str], quick: bool, pairs: int) -> list[dict]:
    from . import bench_anchor as anchor
    from . import bench_core as core

    fl = core.measure_floor(quick)
    reps = 2 if quick else 3
    rows = core.floor_rows(fl)
    for g in groups:
        if g == "ANCHOR":
            rows += anchor.measure_anchor(pairs, quick)
        elif g == "P1":
            rows += anchor.measure_p1(pairs, quick)
        elif g == "SVD":
            rows += core.bench_svd(quick, reps)
        elif g == "KRYLOV":
            rows += core.bench_krylov(quick)
        elif g == "F32":
            rows += core.bench_float32(quick)
        elif g == "P3":
            from . import bench_theory

            rows += [{"ratio": None, **r} for r in bench_theory.measure()]
        elif g == "P4":
            from . import bench_sweep

            rows += [{"ratio": None, **r} for r in bench_sweep.measure()]
    return rows


def _fmt(x, spec: str) -> str:
    width = int(spec.split(".")[0])
    return f"{'-':>{width}}" if x is None else format(x, spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (sanity run)")
    parser.add_argument("--only", default=",".join(GROUPS), help="comma-separated groups: " + ",".join(GROUPS))
    parser.add_argument("--pairs", type=int, default=3, help="paired runs per ANCHOR/P1 configuration (median)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args(argv)
    groups = [g.strip().upper() for g in args.only.split(",") if g.strip()]
    bad = [g for g in groups if g not in GROUPS]
    if bad:
        print(f"The 'only' parameter must be a comma-separated subset of {','.join(GROUPS)}. Got {bad[0]} instead.",
              file=sys.stderr)
        return 2
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    if args.pairs < 1:
        print(f"The 'pairs' parameter must be an integer >= 1. Got {args.pairs} instead.", file=sys.stderr)
        return 2
    rows = collect(groups, args.quick, args.pairs)
    meta = {"commit": _commit(), "cores": os.cpu_count(), "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()], "quick": args.quick,
            "total_seconds": round(time.perf_counter() - t0, 1)}
    if args.json:
        print(json.dumps({**meta, "rows": rows}))
        return 0
    print(f"commit {meta['commit']}  cores {meta['cores']}  load avg (1/5/15 min) before {meta['load_before']} "
          f"after {meta['load_after']}  quick={args.quick}  total {meta['total_seconds']} s")
    width = max(len(r["name"]) for r in rows)
    print(f"{'benchmark':<{width}}  {'seconds':>8}  {'ratio':>7}  note")
    for r in rows:
        print(f"{r['name']:<{width}}  {_fmt(r['seconds'], '8.3f')}  {_fmt(r['ratio'], '7.2f')}  {r['note']}")
    return 0


if __name__ == "__main__":  # the guard matters: Dask starts its workers with 'spawn'
    sys.exit(main())
