"""Write the real-data fixture of the planted-error tests from a quick reproduction.

    giantstep reproduce --quick --out repro
    python tests/claims/make_quick_fixture.py repro

writes, for every claim in ``repro/summary.json``,

* ``tests/claims/data/quick_<claim>.parquet``: every completed row of the claim's sweeps as the
  analysis sees them (``load_results``), the sweep in column ``sweep``, columns that are empty for
  all of the claim's rows dropped;
* ``tests/claims/data/quick_power.json``: ``{claim: power}``, the power each claim stated in that
  run's summary.json (the numbers tests/claims/test_planted_on_real_data.py holds it to); the
  entries of claims not in the run are kept, so ``reproduce --quick C3`` refreshes C3 alone.

The fixture is the documented quick run (docs/claims.md); regenerate it whenever a claim's sweeps
or analysis change.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

DATA = Path(__file__).resolve().parent / "data"


def main(out: str) -> None:
    from giantstep.claims.registry import select
    from giantstep.claims.runner import STORE_NAME, sweep_name
    from giantstep.engine.results import load_results

    out_dir = Path(out)
    summary = json.loads((out_dir / "summary.json").read_text())
    if summary.get("mode") != "quick":
        raise SystemExit(f"{out_dir} holds a {summary.get('mode')!r} run; the fixture is a quick run")
    DATA.mkdir(parents=True, exist_ok=True)
    power_file = DATA / "quick_power.json"
    power = json.loads(power_file.read_text()) if power_file.exists() else {}
    for claim in select(list(summary["claims"])):
        frames = []
        for name in claim.sweeps("quick"):
            frame = load_results(out_dir / STORE_NAME, sweep=sweep_name(claim, name, "quick"))
            frame = frame[frame["status"] == "done"].copy()
            frame["sweep"] = f"{claim.id}.{name}"  # the fixture's names carry no mode (it is a quick run)
            frames.append(frame)
        table = pd.concat(frames, ignore_index=True).dropna(axis=1, how="all")
        table.to_parquet(DATA / f"quick_{claim.id}.parquet", index=False, compression="zstd")
        power[claim.id] = summary["claims"][claim.id]["power"]
    power_file.write_text(json.dumps(power, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "repro")
