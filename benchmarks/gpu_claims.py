r"""Sweep files for the device runs of two claims' ladders at sizes a 2-core machine cannot reach.

    python -m benchmarks.gpu_claims OUTDIR     # writes OUTDIR/c4_ladder.yaml and OUTDIR/c7_ladder_k1.yaml, ..._k2.yaml

C4 (two steps, new outliers): the claim's own ``ladder`` sweep (:func:`giantstep.claims.c4.sweeps`,
full mode: Gaussian a, (alpha1, alpha2) = (0.4, 0.3), N = d = n, 3 seeds) with its N ladder extended to
:data:`C4_LADDER` (to N = 16384), run with ``giantstep sweep --device gpu``.

C7 (delta_NN with d): the claim's ``curve_k1`` / ``curve_k2`` sweeps (the whole-curve delta_NN
estimator, kind ``phase``, full mode) with d extended to :data:`C7_CURVE_D` (to d = 4096), and its
``ladder_k1`` / ``ladder_k2`` sweeps (the cos^2 curve through the transition) to :data:`C7_D`. The ``phase`` kind (width-1 GD, Lanczos on
Hessian-vector products) has no device path: it runs on the host cores of the machine (one worker
per core), which is where its small-width work belongs.

Each file is a sweep the claim's analysis reads the same way (same names, same base); the results
go to their own store (``giantstep results STORE --format csv``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

C4_LADDER = [512, 1024, 2048, 4096, 8192, 16384]
C7_D = [200, 400, 800, 1600, 3200, 4096]
C7_CURVE_D = [1000, 2000, 4096]


def c4_ladder() -> dict:
    from giantstep.claims import c4

    sweep = c4.sweeps("full")["ladder"]
    return {**sweep, "name": "ladder", "zip": {"d": list(C4_LADDER), "width": list(C4_LADDER), "n": list(C4_LADDER)}}


def c7_ladders() -> dict[str, dict]:
    from giantstep.claims import c7

    out = {}
    for name, sweep in c7.sweeps("full").items():
        sizes = C7_D if name.startswith("ladder_") else C7_CURVE_D if name.startswith("curve_") else None
        if sizes is not None:
            out[name] = {**sweep, "name": name, "grid": {**sweep["grid"], "d": sizes}}
    return out


def write(outdir: "str | Path") -> list[Path]:
    """Write the sweep files; return their paths."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    files = {"c4_ladder": c4_ladder(), **{f"c7_{k}": v for k, v in c7_ladders().items()}}
    paths = []
    for stem, sweep in files.items():
        path = outdir / f"{stem}.yaml"
        path.write_text(yaml.safe_dump(sweep, sort_keys=False))
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in write(sys.argv[1] if len(sys.argv) > 1 else "."):
        print(p)
