r"""Core benchmarks, as ratios to the machine's own floor measured in the same run.

SVD     the spectral fast path (:func:`giantstep.linalg.top_singular`, top 10) vs
        ``numpy.linalg.svd`` on a 2048 x 2048 matrix: speed-up and the largest relative difference
        of the top values.
KRYLOV  dense ``syevr`` vs block Krylov for the top 10 eigenpairs of a Gram (the crossover).
F32     float32 vs float64 at the P1 size: speed and, for every reported metric, the change in
        units of its seed-to-seed standard deviation (3 float64 seeds).
The anchor workload and P1 (paired child processes against a notebook-style reference, peak
RSS) are in :mod:`benchmarks.bench_anchor`.

Every row is {"name", "seconds", "ratio", "note"}. ``quick=True`` shrinks every size (a sanity run).
Run alone: ``python -m benchmarks.bench_core [--quick] [--profile]`` (the profile is of one P1 run).
"""

from __future__ import annotations

import cProfile
import io
import json
import math
import pstats
import sys
import time

import numpy as np

from .floor import best_of, gemm_rate, normal_rate

P1 = {"d": 2048, "width": 2048, "n": 2048, "n_readout": 2048}
P1_QUICK = {"d": 512, "width": 512, "n": 512, "n_readout": 512}


def steps_config(d: int, width: int, n: int, n_readout: int, seed: int = 0, dtype: str = "float64", chunk: int = 8192):
    """The P1 ``steps`` config (:func:`benchmarks.bench_anchor.p1_config`) in ``dtype``, parsed."""
    from giantstep.experiments.kinds import parse_config

    from .bench_anchor import p1_config

    return parse_config({**p1_config(d, width, n, n_readout, seed), "dtype": dtype, "chunk": chunk})


def _timed_run(cfg, repeats: int):
    """Best wall time of ``repeats`` runs, and the result/phase timings of that best run."""
    from giantstep.experiments.kinds import run_config

    best, best_res = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = run_config(cfg)
        dt = time.perf_counter() - t0
        if dt < best:
            best, best_res = dt, res
    return best, best_res


def _phases(res) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in res.record["timings"].items())


def profile_p1(quick: bool = False, lines: int = 15) -> str:
    """cProfile of one P1 run, sorted by own time (text)."""
    from giantstep.experiments.kinds import run_config

    cfg = steps_config(**(P1_QUICK if quick else P1))
    run_config(cfg)
    prof = cProfile.Profile()
    prof.enable()
    run_config(cfg)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(lines)
    return buf.getvalue()


def measure_floor(quick: bool = False) -> dict[str, float]:
    size = 1024 if quick else 2048
    return {"dgemm": gemm_rate("float64", size), "sgemm": gemm_rate("float32", size),
            "normal64": normal_rate("float64"), "normal32": normal_rate("float32"), "size": size}


def floor_rows(fl: dict[str, float]) -> list[dict]:
    s = fl["size"]
    return [
        {"name": f"floor dgemm {s}^3", "seconds": 2 * s**3 / fl["dgemm"], "ratio": None,
         "note": f"{fl['dgemm'] / 1e9:.1f} GFLOP/s float64"},
        {"name": f"floor sgemm {s}^3", "seconds": 2 * s**3 / fl["sgemm"], "ratio": None,
         "note": f"{fl['sgemm'] / 1e9:.1f} GFLOP/s float32"},
        {"name": "floor normals 2^22", "seconds": (1 << 22) / fl["normal64"], "ratio": None,
         "note": f"{fl['normal64'] / 1e6:.0f} M/s float64, {fl['normal32'] / 1e6:.0f} M/s float32 (PCG64)"},
    ]


def bench_svd(quick: bool = False, repeats: int = 3) -> list[dict]:
    from giantstep.linalg import top_singular

    size = 1024 if quick else 2048
    rng = np.random.default_rng(7)
    W = rng.standard_normal((size, size)) / math.sqrt(size)
    u, v = rng.standard_normal(size), rng.standard_normal(size)
    W += 3.0 * np.outer(u / np.linalg.norm(u), v / np.linalg.norm(v))
    t_fast = best_of(lambda: top_singular(W, 10), repeats)
    t_svd = best_of(lambda: np.linalg.svd(W), max(1, repeats - 1))
    s = np.linalg.svd(W, compute_uv=False)[:10]
    err = float(np.max(np.abs(top_singular(W, 10).s - s) / s))
    return [{"name": f"SVD top-10 fast path vs numpy.linalg.svd {size}^2", "seconds": t_fast, "ratio": t_svd / t_fast,
             "note": f"speed-up (svd {t_svd:.2f} s); max relative error of top values {err:.1e} (target 1e-8)"}]


def bench_krylov(quick: bool = False) -> list[dict]:
    """Dense syevr vs block Krylov on the Gram of a Gaussian matrix (the crossover behind KRYLOV_MIN_SIZE)."""
    from scipy import linalg as sla

    from giantstep.linalg import _block_krylov, gram

    rows = []
    for size in ((1024,) if quick else (2048, 4096)):
        W = np.random.default_rng(3).standard_normal((size, size)) / math.sqrt(size)
        G = gram(W)
        t_dense = best_of(lambda: sla.eigh(G, subset_by_index=[size - 10, size - 1], driver="evr"), 2)
        t_kry = best_of(lambda: _block_krylov(G, 10), 2)
        rows.append({"name": f"top-10 eigh of Gram {size}^2: Krylov vs dense", "seconds": t_kry,
                     "ratio": t_dense / t_kry, "note": f"speed-up of block Krylov (dense syevr {t_dense:.2f} s)"})
    return rows


def bench_float32(quick: bool = False, repeats: int = 2, seeds: int = 3) -> list[dict]:
    """float32 vs float64: speed, and max over metrics of |m32 - m64| / (seed-to-seed std of m64)."""
    from giantstep.experiments.kinds import run_config

    size = P1_QUICK if quick else P1
    t64, r64 = _timed_run(steps_config(**size, dtype="float64"), repeats)
    t32, r32 = _timed_run(steps_config(**size, dtype="float32"), repeats)
    others = [run_config(steps_config(**size, seed=s)).metrics for s in range(1, seeds)]
    worst, worst_name, rows, above = 0.0, "", [], []
    for key, v64 in r64.metrics.items():
        vals = np.array([v64] + [m[key] for m in others])
        sd = float(vals.std(ddof=1))
        if sd == 0.0:  # integer-valued metrics that did not vary (e.g. outlier counts)
            z = 0.0 if r32.metrics[key] == v64 else math.inf
        else:
            z = abs(r32.metrics[key] - v64) / sd
        if z > 1.0:
            above.append(f"{key} {z:.1f}")
        if z > worst:
            worst, worst_name = z, key
    rows.append({"name": f"float32 vs float64 speed (n=N=d={size['d']})", "seconds": t32, "ratio": t64 / t32,
                 "note": f"speed-up; float64 {t64:.2f} s; phases f32: {_phases(r32)}"})
    rows.append({"name": "float32 vs float64 metric change / sampling sd", "seconds": None, "ratio": worst,
                 "note": f"max over {len(r64.metrics)} metrics of |m32 - m64| / sd over {seeds} seeds "
                         f"(worst: {worst_name}); < 1 means below the sampling error; above 1: {', '.join(above) or 'none'}"})
    return rows


def measure(quick: bool = False) -> list[dict]:
    """All core rows (floor, SVD, Krylov crossover, float32), measured in this process."""
    fl = measure_floor(quick)
    reps = 2 if quick else 3
    rows = floor_rows(fl)
    rows += bench_svd(quick, reps)
    rows += bench_krylov(quick)
    rows += bench_float32(quick)
    return rows


if __name__ == "__main__":
    if "--profile" in sys.argv:
        print(profile_p1("--quick" in sys.argv))
    else:
        for row in measure("--quick" in sys.argv):
            print(json.dumps(row))
