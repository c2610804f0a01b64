r"""Core benchmarks, as ratios to the machine's own floor measured in the same run.

P1   one step + spectra (top 10 of W0, W1, Delta W) + ridge readout at n = N = d = 2048
     (n_train = n_test = 2048, relu, theory off): time vs the GEMM floor (strict: step + readout
     products; and with one Gram per spectrum), and vs :mod:`benchmarks.reference`.
SVD  the spectral fast path (:func:`giantstep.linalg.top_singular`, top 10) vs ``numpy.linalg.svd``
     on a 2048 x 2048 matrix: speed-up and the largest relative difference of the top values.
P2   streaming: n = 262144, d = 512, N = 1024, one step on the full batch + spectra + ridge readout
     on n_train = n_test = 65536 (chunk 8192), in a child process: time vs floor and peak RSS
     (VmHWM of the child).
F32  float32 vs float64 at the P1 size: speed and, for every reported metric, the change in units
     of its seed-to-seed standard deviation (3 float64 seeds).

Every row is {"name", "seconds", "ratio", "note"}. ``quick=True`` shrinks every size (a sanity run).
Run alone: ``python -m benchmarks.bench_core [--quick] [--profile]``.
"""

from __future__ import annotations

import cProfile
import io
import json
import math
import pstats
import subprocess
import sys
import time

import numpy as np

from .floor import best_of, gemm_rate, normal_rate, steps_flops

P1 = {"d": 2048, "width": 2048, "n": 2048, "n_readout": 2048}
P1_QUICK = {"d": 512, "width": 512, "n": 512, "n_readout": 512}
P2 = {"d": 512, "width": 1024, "n": 262144, "n_readout": 65536}
P2_QUICK = {"d": 256, "width": 512, "n": 32768, "n_readout": 8192}
RSS_LIMIT_GB = 1.5


def steps_config(d: int, width: int, n: int, n_readout: int, seed: int = 0, dtype: str = "float64", chunk: int = 8192):
    """The benchmark's ``steps`` config: one maximal step (alpha = 1/2), relu, top-10 spectra, readout."""
    from giantstep.experiments.kinds import parse_config

    return parse_config({
        "kind": "steps", "seed": seed, "d": d, "width": width, "n": n, "activation": "relu",
        "teacher": {"link": "relu"}, "residual": "full", "steps": [{"eta0": 1.0, "alpha": 0.5}], "spectra": {"top": 10},
        "readout": {"ridge": 1e-3, "n_train": n_readout, "n_test": n_readout},
        "dtype": dtype, "chunk": chunk, "theory": False,
    })


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


def bench_p1(fl: dict[str, float], quick: bool = False, repeats: int = 3) -> list[dict]:
    from .reference import reference_one_step

    size = P1_QUICK if quick else P1
    cfg = steps_config(**size)
    t_lib, res = _timed_run(cfg, repeats)
    fp = steps_flops(size["n"], size["d"], size["width"], size["n_readout"], size["n_readout"], spectra=3)
    strict, with_gram = fp.strict / fl["dgemm"], fp.with_gram / fl["dgemm"]
    sampling = fp.samples / fl["normal64"]
    t_ref = best_of(lambda: reference_one_step(cfg), max(1, repeats - 1))
    ref = reference_one_step(cfg)
    diff = max(abs(ref[k] - res.metrics[k]) / max(abs(ref[k]), 1e-300) for k in ref)
    tag = f"P1 n=N=d={size['d']}"
    t_eig = _eigensolves_seconds(size["width"], size["d"], spectra=3, top=10)
    rest = (t_lib - t_eig) / (with_gram + sampling)
    return [
        {"name": f"{tag} vs GEMM floor (step+readout)", "seconds": t_lib, "ratio": t_lib / strict,
         "note": f"floor {strict:.3f} s ({fp.strict / 1e9:.1f} GFLOP); phases: {_phases(res)}"},
        {"name": f"{tag} vs GEMM floor (+3 Grams)", "seconds": t_lib, "ratio": t_lib / with_gram,
         "note": f"floor {with_gram:.3f} s ({fp.with_gram / 1e9:.1f} GFLOP); input sampling alone {sampling:.3f} s"},
        {"name": f"{tag} phases vs their floors", "seconds": None, "ratio": None,
         "note": _phase_floors(res, size, fl)},
        {"name": f"{tag} without the 3 eigensolves vs floor + sampling", "seconds": t_lib - t_eig, "ratio": rest,
         "note": f"3 top-10 eigensolves of {min(size['width'], size['d'])}^2 Grams (dense syevr, no GEMM floor) "
                 f"take {t_eig:.3f} s measured alone; floor + sampling {with_gram + sampling:.3f} s"},
        {"name": f"{tag} reference / library", "seconds": t_ref, "ratio": t_ref / t_lib,
         "note": f"full SVDs + explicit inverse; max relative metric difference {diff:.1e}"},
    ]


def _eigensolves_seconds(width: int, d: int, spectra: int, top: int, repeats: int = 3) -> float:
    """Time of ``spectra`` top-``top`` eigensolves (:func:`giantstep.linalg.top_eigh`) of the Gram
    of a Gaussian (width, d) matrix, measured alone (best of ``repeats``)."""
    from giantstep.linalg import gram, top_eigh

    W = np.random.default_rng(5).standard_normal((width, d)) / math.sqrt(d)
    G = gram(W if width <= d else W.T)
    return spectra * best_of(lambda: top_eigh(G.copy(), top), repeats) - spectra * best_of(lambda: G.copy(), repeats)


def _phase_floors(res, size: dict, fl: dict[str, float]) -> str:
    """'phase measured/floor (ratio)' for init, steps, spectra and readout: GEMM flops at the dgemm
    rate plus standard normals at the sampling rate (the spectra's floor is their Grams only)."""
    from .floor import gram_flops, readout_flops, step_flops

    n, d, N, m = size["n"], size["d"], size["width"], size["n_readout"]
    rate, normals = fl["dgemm"], fl["normal64"]
    floors = {"init": N * d / normals, "steps": step_flops(n, d, N) / rate + n * d / normals,
              "spectra": 3 * gram_flops(N, d) / rate, "readout": readout_flops(m, m, d, N) / rate + 2 * m * d / normals}
    timings = res.record["timings"]
    return "; ".join(f"{k} {timings[k]:.3f}/{f:.3f} s ({timings[k] / f:.2f}x)" for k, f in floors.items() if k in timings)


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


def _p2_child(spec: str) -> None:
    """Child-process body: one P2 run; prints JSON {seconds, timings, vmhwm_gb, metrics}."""
    args = json.loads(spec)
    cfg = steps_config(**args)
    from giantstep.experiments.kinds import run_config

    t0 = time.perf_counter()
    res = run_config(cfg)
    dt = time.perf_counter() - t0
    hwm = 0.0
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                hwm = float(line.split()[1]) / 1024**2  # kB -> GB
    print(json.dumps({"seconds": dt, "timings": res.record["timings"], "vmhwm_gb": hwm,
                      "test_error": res.metrics["readout.test_error"]}))


def bench_p2(fl: dict[str, float], quick: bool = False, repeats: int = 3) -> list[dict]:
    size = P2_QUICK if quick else P2
    outs = []
    for _ in range(repeats):
        proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_core", "--p2-child", json.dumps(size)],
                              capture_output=True, text=True, check=True)
        outs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    best = min(outs, key=lambda o: o["seconds"])
    hwm = max(o["vmhwm_gb"] for o in outs)
    fp = steps_flops(size["n"], size["d"], size["width"], size["n_readout"], size["n_readout"], spectra=3)
    floor = fp.with_gram / fl["dgemm"]
    sampling = fp.samples / fl["normal64"]
    phases = ", ".join(f"{k} {v:.2f}" for k, v in best["timings"].items())
    tag = f"P2 n={size['n']} d={size['d']} N={size['width']}"
    return [
        {"name": f"{tag} vs GEMM floor", "seconds": best["seconds"], "ratio": best["seconds"] / floor,
         "note": f"floor {floor:.2f} s ({fp.with_gram / 1e9:.0f} GFLOP) + sampling {sampling:.2f} s "
                 f"(ratio to both {best['seconds'] / (floor + sampling):.2f}); phases: {phases}"},
        {"name": f"{tag} peak RSS (GB)", "seconds": None, "ratio": hwm / RSS_LIMIT_GB,
         "note": f"{hwm:.3f} GB VmHWM of the child process; target <= {RSS_LIMIT_GB} GB (ratio to it)"},
    ]


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
    """All core rows (floor, P1, SVD, Krylov crossover, P2, float32), measured in this process."""
    fl = measure_floor(quick)
    reps = 2 if quick else 3
    rows = floor_rows(fl)
    rows += bench_p1(fl, quick, reps)
    rows += bench_svd(quick, reps)
    rows += bench_krylov(quick)
    rows += bench_p2(fl, quick, reps)
    rows += bench_float32(quick)
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--p2-child":
        _p2_child(sys.argv[2])
    elif "--profile" in sys.argv:
        print(profile_p1("--quick" in sys.argv))
    else:
        for row in measure("--quick" in sys.argv):
            print(json.dumps(row))
