r"""The accelerator's table: one step + spectra + ridge readout at n = N = d on a device, against
the device's own GEMM floor measured in the same run.

    python -m benchmarks.bench_gpu [--sizes 4096,8192,16384,32768] [--dtypes float32,float64]
                                   [--device gpu] [--library cupy] [--out table.md] [--json]

Workload (P1 of benchmarks/bench_anchor.py at size s): n = N = d = s, relu student, relu teacher,
one maximal step (alpha = 1/2), spectra of W0, W1 and W1 - W0 (top 10 with the exact outlier
count), ridge 1e-3 on n_train = n_test = s fresh samples, theory off: :func:`config`. Each
configuration runs once after a warm-up at a small size (CUDA context, kernels, cuSOLVER handles).

Columns: the phases of the run (``steps`` includes the host draw of the batch and its copy to the
device; ``readout`` likewise), the total, the *GEMM floor* = the run's products
(:func:`benchmarks.floor.steps_flops`: step, readout features, feature Gram, Cholesky, test
features, one Gram per spectrum) at the device's measured GEMM rate for an s x s product in that
dtype (best of 3, synchronised), the host's sampling time for the run's standard normals at its
measured rate, and total / floor. The host draws (float64, the seeded streams) are the part a
device cannot speed up: the table gives them so the device's own share is visible.

Target: s = 16384, float32, one step + readout + top-10 spectra under 2 s.
On the CPU (``--device cpu``, with ``--library array_api_strict`` or the numpy default) the same
code runs at tiny sizes; the test suite does so, so that the script does not rot.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from .floor import normal_rate, steps_flops

SIZES = (4096, 8192, 16384, 32768)
DTYPES = ("float32", "float64")
TARGET = {"size": 16384, "dtype": "float32", "seconds": 2.0}


def config(size: int, dtype: str, device: str) -> dict:
    """The benchmark's ``steps`` config at n = N = d = size (module docstring)."""
    return {"kind": "steps", "seed": 0, "d": size, "width": size, "n": size, "activation": "relu",
            "teacher": {"link": "relu"}, "steps": [{"eta0": 1.0, "alpha": 0.5}], "spectra": {"top": 10},
            "readout": {"ridge": 1e-3, "n_train": size, "n_test": size}, "dtype": dtype, "device": device,
            "theory": False}


def gemm_rate(backend, size: int, repeats: int = 3) -> float:
    """Measured flop/s of a size x size product on the backend in its dtype (synchronised)."""
    import numpy as np

    from giantstep.backend import sync

    rng = np.random.default_rng(0)
    A, B = (backend.put(rng.standard_normal((size, size))) for _ in range(2))
    sync(A @ B)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        C = A @ B
        sync(C)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * float(size) ** 3 / best


def measure(sizes=SIZES, dtypes=DTYPES, device: str = "gpu", library: str | None = None, warm: int = 256) -> list[dict]:
    """One row per (size, dtype): phases, total, GEMM floor, host sampling, ratios."""
    from giantstep.backend import select_backend
    from giantstep.experiments.kinds import parse_config
    from giantstep.experiments.steps import run_on

    rows = []
    normals = normal_rate("float64")
    for dtype in dtypes:
        backend = select_backend(device, dtype, library)
        run_on(parse_config(config(warm, dtype, device)), backend)  # warm-up
        for size in sizes:
            rate = gemm_rate(backend, min(size, 8192))
            cfg = parse_config(config(size, dtype, device))
            t0 = time.perf_counter()
            res = run_on(cfg, backend)
            total = time.perf_counter() - t0
            fl = steps_flops(size, size, size, size, size, spectra=3)
            floor = fl.with_gram / rate
            sampling = (fl.samples + size * size) / normals  # inputs of the step and readout, and W0
            tm = res.record["timings"]
            rows.append({
                "size": size, "dtype": dtype, "library": backend.library, "total": total,
                "steps": tm.get("steps", 0.0), "spectra": tm.get("spectra", 0.0), "readout": tm.get("readout", 0.0),
                "init": tm.get("init", 0.0), "gemm_tflops": rate / 1e12, "floor": floor, "sampling": sampling,
                "vs_floor": total / floor, "vs_floor_sampling": total / (floor + sampling),
                "outliers_w1": res.metrics["w1.outliers"], "test_error": res.metrics["readout.test_error"],
            })
    return rows


def table(rows: list[dict], header: str) -> str:
    """A markdown table of the rows, with the target's verdict."""
    lines = [header, "",
             "| n = N = d | dtype | total s | steps | spectra | readout | GEMM TFLOP/s | GEMM floor s | host sampling s "
             "| total / floor | total / (floor + sampling) | W1 outliers | test error |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['size']} | {r['dtype']} | {r['total']:.3f} | {r['steps']:.3f} | {r['spectra']:.3f} | "
                     f"{r['readout']:.3f} | {r['gemm_tflops']:.1f} | {r['floor']:.3f} | {r['sampling']:.3f} | "
                     f"{r['vs_floor']:.2f} | {r['vs_floor_sampling']:.2f} | {r['outliers_w1']:.0f} | {r['test_error']:.4g} |")
    hit = [r for r in rows if r["size"] == TARGET["size"] and r["dtype"] == TARGET["dtype"]]
    if hit:
        r = hit[0]
        device_part = r["total"] - r["sampling"]
        verdict = "met" if r["total"] < TARGET["seconds"] else "not met"
        lines += ["", f"Target {TARGET['size']}^3 {TARGET['dtype']} under {TARGET['seconds']} s: {verdict} "
                      f"({r['total']:.2f} s; without the host's sampling time {device_part:.2f} s)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_gpu", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--dtypes", default=",".join(DTYPES))
    parser.add_argument("--device", default="gpu", choices=["cpu", "gpu"])
    parser.add_argument("--library", default=None, help="array library (default: cupy on a GPU, numpy on the CPU)")
    parser.add_argument("--warm", type=int, default=256, help="size of the warm-up run")
    parser.add_argument("--out", default=None, help="write the markdown table to this file")
    parser.add_argument("--json", action="store_true", help="print the rows as one JSON object")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        print(f"The 'sizes' parameter must be comma-separated integers. Got {args.sizes!r} instead.", file=sys.stderr)
        return 2
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    from giantstep.errors import ConfigError

    try:
        rows = measure(sizes, dtypes, args.device, args.library, args.warm)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from giantstep.backend import select_backend

    info = select_backend(args.device, dtypes[0], args.library).describe()
    header = (f"accelerator benchmark: {info.get('name', info['device'])} ({info['library']} "
              f"{info.get('version', '')}), host {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    text = table(rows, header)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    print(json.dumps({"header": header, "rows": rows}) if args.json else text, end="" if not args.json else "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
