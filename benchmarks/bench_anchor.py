r"""The public anchor's workload and P1, each run by giantstep and by a notebook-style reference in
paired child processes, against the GEMM + sampling floor measured in the same run.

ANCHOR  the single-step experiment of the public GiantStep notebook (lucpoisson/GiantStep,
        single_step): d = 512, N = 1024, n = round(d^e) for e = 1.3, 1.65, 2 (3325, 29532,
        262144), n_test = 10^5, relu student with a Gaussian second layer, two-index teacher
        (he1 + he2 + he4) / sqrt(2) summed over the two directions, ridge 1 on n_train = n fresh
        samples, one maximal step (alpha = 1/2), spectra (top 10) of W0, W1 and W1 - W0, theory
        on: ``giantstep run`` with its defaults on those sizes.
P1      n = N = d = 2048: one step + spectra of W0, W1, W1 - W0 (top 10) + ridge readout on
        n_train = n_test = 2048 (relu teacher, ridge 1e-3, theory off).

The reference (:mod:`benchmarks.reference`) computes the same record the way such a notebook does:
every matrix materialised (all test features at once), full SVDs, an explicit inverse. Both see
the same data (same streams), so their metrics are compared as well.

Each configuration runs in its own child process (``python -m benchmarks.bench_anchor --child``),
which reports its wall time (imports excluded) and its peak resident memory (VmHWM). A *pair* is
one reference run and one giantstep run back to back; the ratio of each pair is taken and the
median over pairs reported, so slow drifts of the machine's load cancel. The floor is measured
before each pair: the GEMM flops of the run (:func:`benchmarks.floor.steps_flops`: step,
readout features, Gram, Cholesky, test features, one Gram per spectrum) at the measured dgemm
rate, and the standard normals it draws at the measured sampling rate.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

from .floor import gemm_rate, normal_rate, readout_flops, steps_flops

D, WIDTH, N_TEST = 512, 1024, 100_000
EXPONENTS = (1.3, 1.65, 2.0)
P1 = {"d": 2048, "width": 2048, "n": 2048, "n_readout": 2048}


def anchor_config(n: int, seed: int = 0, d: int = D, width: int = WIDTH, n_test: int = N_TEST) -> dict:
    """The anchor's ``steps`` config at sample size n (module docstring)."""
    return {"kind": "steps", "seed": seed, "d": d, "width": width, "n": n, "activation": "relu",
            "second_layer": "gaussian", "teacher": {"link": "he1+he2+he4", "k": 2},
            "steps": [{"eta0": 1.0, "alpha": 0.5}], "readout": {"ridge": 1.0, "n_train": n, "n_test": n_test}}


def p1_config(d: int, width: int, n: int, n_readout: int, seed: int = 0) -> dict:
    """The P1 ``steps`` config (module docstring)."""
    return {"kind": "steps", "seed": seed, "d": d, "width": width, "n": n, "activation": "relu",
            "teacher": {"link": "relu"}, "steps": [{"eta0": 1.0, "alpha": 0.5}], "spectra": {"top": 10},
            "readout": {"ridge": 1e-3, "n_train": n_readout, "n_test": n_readout}, "theory": False}


def _vmhwm_gb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024**2  # kB -> GB
    return float("nan")


def _child(spec: str) -> None:
    """Child body: run the library or the reference on one config; print one JSON line."""
    args = json.loads(spec)
    from giantstep.experiments.kinds import parse_config, run_config

    cfg = parse_config(args["config"])
    if args["which"] == "reference":
        from .reference import reference_one_step

        t0 = time.perf_counter()
        metrics, timings = reference_one_step(cfg), {}
    else:
        run_config(parse_config({**args["config"], "n": 64, "readout": None, "theory": False}))  # warm imports
        t0 = time.perf_counter()
        res = run_config(cfg)
        metrics, timings = res.metrics, res.record["timings"]
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "vmhwm_gb": _vmhwm_gb(), "timings": timings,
                      "metrics": {k: float(v) for k, v in metrics.items()}}))


def run_child(which: str, config: dict) -> dict:
    """Run one configuration in a fresh child process; its JSON report."""
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_anchor", "--child",
                           json.dumps({"which": which, "config": config})],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def floors(config: dict, rates: dict[str, float]) -> dict[str, float]:
    """Seconds of the run's GEMMs (all, readout only) and of its input sampling at the measured rates."""
    n, d, N = config["n"], config["d"], config["width"]
    ro = config["readout"]
    fp = steps_flops(n, d, N, ro["n_train"], ro["n_test"], spectra=3)
    return {"gemm": fp.with_gram / rates["dgemm"], "sampling": (fp.samples + N * d) / rates["normal"],
            "readout_gemm": readout_flops(ro["n_train"], ro["n_test"], d, N) / rates["dgemm"],
            "readout_sampling": (ro["n_train"] + ro["n_test"]) * d / rates["normal"], "gflop": fp.with_gram / 1e9}


def _phase_floors(config: dict, record: dict) -> str:
    """'phase measured/floor (ratio)' for steps, spectra and readout of the library run: GEMM flops
    at the dgemm rate plus standard normals at the sampling rate (the spectra's floor: their Grams)."""
    from .floor import gram_flops, step_flops

    n, d, N = config["n"], config["d"], config["width"]
    ro = config["readout"]
    rate, normals = record["rates"]["dgemm"], record["rates"]["normal"]
    floors = {"steps": step_flops(n, d, N) / rate + n * d / normals,
              "spectra": 3 * gram_flops(N, d) / rate,
              "readout": readout_flops(ro["n_train"], ro["n_test"], d, N) / rate
              + (ro["n_train"] + ro["n_test"]) * d / normals}
    timings = record["lib"]["timings"]
    return "; ".join(f"{k} {timings[k]:.3f}/{f:.3f} s ({timings[k] / f:.2f}x)" for k, f in floors.items() if k in timings)


def measure_rates() -> dict[str, float]:
    return {"dgemm": gemm_rate("float64", 2048), "normal": normal_rate("float64")}


def _agreement(lib: dict, ref: dict) -> float:
    """Largest relative difference between the reference's metrics and the library's."""
    return max(abs(ref[k] - lib[k]) / max(abs(ref[k]), 1e-12) for k in ref)


def paired(tag: str, config: dict, pairs: int) -> list[dict]:
    """Rows for one configuration: library vs floor, library phases, reference / library, peak RSS."""
    records = []
    for _ in range(pairs):
        rates = measure_rates()
        ref = run_child("reference", config)
        lib = run_child("library", config)
        records.append({"rates": rates, "fl": floors(config, rates), "ref": ref, "lib": lib})
    med = statistics.median
    speedup = med(r["ref"]["seconds"] / r["lib"]["seconds"] for r in records)
    t_lib, t_ref = med(r["lib"]["seconds"] for r in records), med(r["ref"]["seconds"] for r in records)
    vs_gemm = med(r["lib"]["seconds"] / r["fl"]["gemm"] for r in records)
    vs_all = med(r["lib"]["seconds"] / (r["fl"]["gemm"] + r["fl"]["sampling"]) for r in records)
    ro = med(r["lib"]["timings"]["readout"] / r["fl"]["readout_gemm"] for r in records)
    ro_all = med(r["lib"]["timings"]["readout"] / (r["fl"]["readout_gemm"] + r["fl"]["readout_sampling"])
                 for r in records)
    last = records[-1]
    phases = ", ".join(f"{k} {v:.2f}" for k, v in last["lib"]["timings"].items())
    fl = last["fl"]
    agree = max(_agreement(r["lib"]["metrics"], r["ref"]["metrics"]) for r in records)
    rates = ", ".join(f"{r['rates']['dgemm'] / 1e9:.0f}" for r in records)
    return [
        {"name": f"{tag} reference / giantstep", "seconds": t_lib, "ratio": speedup,
         "note": f"median of {pairs} paired runs (reference {t_ref:.2f} s); max relative metric difference {agree:.1e}"},
        {"name": f"{tag} giantstep vs GEMM floor", "seconds": t_lib, "ratio": vs_gemm,
         "note": f"floor {fl['gemm']:.2f} s ({fl['gflop']:.0f} GFLOP at dgemm {rates} GFLOP/s); "
                 f"vs floor + sampling ({fl['sampling']:.2f} s): {vs_all:.2f}"},
        {"name": f"{tag} giantstep readout vs its GEMM floor", "seconds": last["lib"]["timings"]["readout"],
         "ratio": ro, "note": f"floor {fl['readout_gemm']:.2f} s; vs floor + its sampling "
                              f"({fl['readout_sampling']:.2f} s): {ro_all:.2f}; phases: {phases}"},
        {"name": f"{tag} giantstep phases vs their floors", "seconds": None, "ratio": None,
         "note": _phase_floors(config, last)},
        {"name": f"{tag} peak RSS giantstep / reference (GB)", "seconds": None,
         "ratio": max(r["lib"]["vmhwm_gb"] for r in records),
         "note": f"reference {max(r['ref']['vmhwm_gb'] for r in records):.2f} GB (VmHWM of each child)"},
    ]


def measure_anchor(pairs: int = 3, quick: bool = False, exponents=EXPONENTS) -> list[dict]:
    """ANCHOR rows, one set per sample-size exponent (quick: d = 128, N = 256, n_test = 10^4)."""
    rows = []
    d = 128 if quick else D
    for e in exponents:
        n = int(round(d**e))
        cfg = anchor_config(n, d=d, width=2 * d, n_test=10_000 if quick else N_TEST)
        rows += paired(f"ANCHOR n=d^{e:g}={n}", cfg, pairs)
    return rows


def measure_p1(pairs: int = 3, quick: bool = False) -> list[dict]:
    """P1 rows (quick: n = N = d = 512)."""
    size = {"d": 512, "width": 512, "n": 512, "n_readout": 512} if quick else P1
    return paired(f"P1 n=N=d={size['d']}", p1_config(**size), pairs)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        _child(sys.argv[2])
    else:
        quick = "--quick" in sys.argv
        for row in measure_anchor(2 if quick else 3, quick) + measure_p1(2 if quick else 3, quick):
            print(json.dumps(row))
