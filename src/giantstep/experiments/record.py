"""Writing a run's output directory and a human-readable summary of its record (saved arrays are
read back by :mod:`giantstep.saved`)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..jsonable import to_jsonable
from ..outputs import atomic_write, check_output_dir
from .kinds import ExperimentResult

RUN_FILES = ("result.json", "arrays.npz")


def check_run_output(out: "str | Path", force: bool = False) -> Path:
    """Refuse (ConfigError 'out') a run output directory that cannot or may not be written, before
    the run: a file, a read-only place, or one holding an earlier result.json/arrays.npz (unless
    ``force``); an entry of those names that is not a file is refused even with ``force``."""
    return check_output_dir(out, "out", force, may_replace=RUN_FILES)


def request_saved_state(config: Any, weights: bool = False, updates: bool = False) -> Any:
    """The run config with ``save.weights`` / ``save.updates`` switched on (``--save-weights``,
    ``--save-updates``); a config that is not a mapping, or whose ``save`` is not one, is returned
    as given, for validation to refuse."""
    if not (weights or updates):
        return config
    data = config.model_dump() if hasattr(config, "model_dump") else config
    if not isinstance(data, dict) or not isinstance(data.get("save") or {}, dict):
        return config
    save = {**(data.get("save") or {}), **({"weights": True} if weights else {}), **({"updates": True} if updates else {})}
    return {**data, "save": save}


def write_run_output(result: ExperimentResult, out: "str | Path") -> None:
    """OUT/result.json (the record, non-finite numbers as null) and OUT/arrays.npz (compressed
    arrays), each written atomically; an arrays.npz of an earlier run is removed if this run has none."""
    out = Path(out)
    atomic_write(out / "result.json", json.dumps(to_jsonable(result.record), indent=2, allow_nan=False) + "\n")
    if result.arrays:
        buf = io.BytesIO()
        np.savez_compressed(buf, **result.arrays)
        atomic_write(out / "arrays.npz", buf.getvalue())
    elif (out / "arrays.npz").is_file():
        (out / "arrays.npz").unlink()


def _f(value: Any, digits: int = 4) -> str:
    """A number for the summary ('n/a' for a missing or non-numeric value)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "n/a"
    if value != 0 and not 10.0 ** -digits <= abs(value) < 1e6:  # huge or tiny: scientific notation
        return f"{value:.{digits}e}"
    return f"{value:.{digits}f}"


def summary_lines(record: dict[str, Any]) -> list[str]:
    """A few lines for the terminal: per-W_t top singular values, outliers, overlap; readout."""
    lines = [f"giantstep {record.get('version')}  kind={record.get('kind')}  seed={record.get('seed')}"]
    theory = record.get("theory") or {}
    predicted = {e.get("t"): e for e in theory.get("weights", []) if isinstance(e, dict)}
    for e in record.get("weights", []):
        s = ", ".join(_f(v) for v in e["singular_values"][:3])
        ov = e["overlaps"][0][0] if e["overlaps"] else None
        line = f"W{e['t']}: s = [{s}, ...]  edge = {_f(e['bulk_edge'])}  outliers = {e['outliers']}  |<v1,theta*>| = {_f(ov)}"
        th = predicted.get(e["t"])
        if th and th.get("singular_values"):
            line += f"   (theory: s1 = {_f(th['singular_values'][0])}"
            if th.get("overlaps"):
                line += f", overlap = {_f(th['overlaps'][0][0])}"
            line += ")"
        lines.append(line)
    if "not_applicable" in theory:
        lines.append(f"theory: not applicable: {theory['not_applicable']}")
    if "readout" in record:
        r = record["readout"]
        line = f"readout: train = {_f(r['train_error'], 5)}  test = {_f(r['test_error'], 5)}"
        pred = theory.get("readout")
        if isinstance(pred, dict) and "test_error" in pred:
            line += f"   (theory: test = {_f(pred['test_error'], 5)})"
        lines.append(line)
    refused = [(k, v) for k, v in theory.items() if isinstance(v, str) and v.startswith("not applicable")]
    for key, reason in refused:  # a prediction whose formula does not apply here, with the reason
        lines.append(f"theory {key}: {reason}")
    if record.get("kind") == "phase":
        lines += _phase_lines(record)
    if "timings" in record:
        lines.append("timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in record["timings"].items()))
    return lines


def _phase_lines(record: dict[str, Any]) -> list[str]:
    """The ``phase`` kind: the Hessian's bottom, its outlier(s) and the eigenpair along the next direction."""
    h, m, th = record.get("hessian", {}), record.get("metrics", {}), record.get("theory") or {}
    end = record.get("phase_end", {}).get("step")
    smallest = ", ".join(_f(v) for v in h.get("smallest", [])[:4])
    steps = (record.get("config") or {}).get("gd", {}).get("steps")
    where = f"step {end}" if end is not None else f"the final iterate (step {steps})"
    lines = [f"Hessian at {where}: smallest = [{smallest}, ...]  "
             f"outlier cos^2 with span(theta*) = {_f(h.get('outlier_overlap_theta'))}"
             + (f"   (theory: {_f(th['hess_min_pred'])}, cos^2 = {_f(th.get('outlier_overlap_pred'))}, "
                f"delta_T = {_f(th.get('delta_T'))})" if isinstance(th.get("hess_min_pred"), float) else "")]
    nxt = h.get("next_direction") or {}
    if nxt.get("value") is not None and h.get("learned_directions"):
        line = (f"next direction: eigenvalue {_f(nxt['value'])} (#{nxt['index']})  cos^2 with the new directions = "
                f"{_f(nxt['overlap'])}")
        if isinstance(th.get("next_value_pred"), float):
            line += (f"   (theory: {_f(th['next_value_pred'])}, cos^2 = {_f(th.get('next_overlap_pred'))}, "
                     f"delta_T = {_f(th.get('delta_T_next'))})")
        lines.append(line)
    lines.append(f"final overlap = {_f(m.get('final_overlap'))}  risk = {_f(m.get('final_risk'))}")
    return lines
