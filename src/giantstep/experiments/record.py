"""Writing a run's output directory and a human-readable summary of its record."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .kinds import ExperimentResult


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_run_output(result: ExperimentResult, out: "str | Path") -> None:
    """OUT/result.json (the record) and OUT/arrays.npz (compressed arrays), each written atomically."""
    out = Path(out)
    _atomic_write(out / "result.json", (json.dumps(result.record, indent=2, allow_nan=False) + "\n").encode())
    if result.arrays:
        import io

        buf = io.BytesIO()
        np.savez_compressed(buf, **result.arrays)
        _atomic_write(out / "arrays.npz", buf.getvalue())


def summary_lines(record: dict[str, Any]) -> list[str]:
    """A few lines for the terminal: per-W_t top singular values, outliers, overlap; readout."""
    lines = [f"giantstep {record.get('version')}  kind={record.get('kind')}  seed={record.get('seed')}"]
    theory = {e["t"]: e for e in (record.get("theory") or {}).get("weights", [])}
    for e in record.get("weights", []):
        s = ", ".join(f"{v:.4f}" for v in e["singular_values"][:3])
        ov = e["overlaps"][0][0] if e["overlaps"] else float("nan")
        line = f"W{e['t']}: s = [{s}, ...]  edge = {e['bulk_edge']:.4f}  outliers = {e['outliers']}  |<v1,theta*>| = {ov:.4f}"
        th = theory.get(e["t"])
        if th and th.get("singular_values"):
            line += f"   (theory: s1 = {th['singular_values'][0]:.4f}"
            if th.get("overlaps"):
                line += f", overlap = {th['overlaps'][0][0]:.4f}"
            line += ")"
        lines.append(line)
    if "readout" in record:
        r = record["readout"]
        lines.append(f"readout: train = {r['train_error']:.5f}  test = {r['test_error']:.5f}")
    if "timings" in record:
        lines.append("timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in record["timings"].items()))
    return lines
