"""The claim interface: a seed-paper claim as data (sweeps, theory, verdict rule, figures).

A :class:`Claim` bundles

* ``sweeps(mode)``   -> ``{sweep name: sweep mapping}`` in the engine schema
  (``{"base": {...}, "grid": {...}, "zip": {...}, "seeds": k}``), for ``mode`` in
  ``{"quick", "full"}``;
* ``predict(mode)``  -> a JSON-serialisable dict of theory predictions (pure theory, no sampling);
* ``analyse(ctx, predictions)`` -> :class:`ClaimOutcome`, a verdict *computed* from measured
  versus predicted values (so planting a wrong prediction flips it);
* ``plot(ctx, predictions, outcome)`` -> the figure paths it wrote (PNG and PDF).

The runner (:mod:`giantstep.claims.runner`) executes every sweep of every selected claim into
one results store, builds a :class:`ClaimContext` from it and calls ``analyse`` then ``plot``.
Adding a claim never touches the runner: write a module that calls
:func:`giantstep.claims.registry.register` and list it in ``CLAIM_MODULES``.

Verdict rules (shared by all claims, see :func:`verdict_from`):

* a :class:`Comparison` passes when ``|measured - predicted| <= tolerance``; the tolerance is
  derived from seeds and sizes (``k * stderr + stated O(1/d) bias``) and the derivation is
  written in ``note``;
* ``passed=None`` marks a row that cannot be decided (no prediction, no measurement);
* the claim is FAIL if any decidable row fails, PASS if all decidable rows pass and at least
  one is decidable, INCONCLUSIVE otherwise.

Power (see :func:`claim_power`): each claim names its headline quantities, each with a function
``shift(pred, factor)`` that multiplies that quantity's predictions by ``factor``. The detectable
relative error of a quantity is the smallest e such that the claim's own verdict on the run's own
data turns to FAIL when the quantity's predictions are multiplied by 1 + e, and likewise by 1 - e
(bisection over e); the claim states the largest of these over its quantities and both
directions: an error of that size in any one headline prediction, either way, is detected.

Example::

    >>> row = compare("s1(W1) at eta0=2", 2.5, 2.49, 0.01, k=3, bias=0.02)
    >>> row.tolerance, row.passed
    (0.05, True)
    >>> verdict_from([row])[0]
    'PASS'
"""

from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from ..jsonable import to_jsonable

VERDICTS = ("PASS", "FAIL", "INCONCLUSIVE")
MODES = ("quick", "full")


@dataclass(frozen=True)
class Comparison:
    """One row of a claim's predicted-vs-measured table.

    quantity  : what is compared, e.g. ``"overlap |<v1,theta*>| at eta0=2"``.
    predicted : theory value (None if no prediction exists).
    measured  : mean over seeds (None if not measured).
    stderr    : standard error of ``measured`` over seeds.
    tolerance : allowed ``|measured - predicted|``, derived from sizes and seeds (see ``note``).
    passed    : True/False, or None when not decidable.
    note      : how the tolerance was derived, or why the row is not decidable.
    """

    quantity: str
    predicted: float | None
    measured: float | None
    stderr: float | None
    tolerance: float | None
    passed: bool | None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "quantity": self.quantity,
            "predicted": _clean(self.predicted),
            "measured": _clean(self.measured),
            "stderr": _clean(self.stderr),
            "tolerance": _clean(self.tolerance),
            "passed": self.passed,
            "note": self.note,
        }


@dataclass(frozen=True)
class ClaimOutcome:
    """The computed verdict of a claim.

    verdict     : "PASS" | "FAIL" | "INCONCLUSIVE".
    reason      : one or two sentences with the numbers that decided it.
    comparisons : the predicted-vs-measured table.
    sizes       : sizes used (d, width N, n, ...).
    seeds       : replicates per cell.
    """

    verdict: str
    reason: str
    comparisons: tuple[Comparison, ...]
    sizes: dict
    seeds: int

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "comparisons": [c.as_dict() for c in self.comparisons],
            "sizes": to_jsonable(self.sizes),
            "seeds": int(self.seeds),
        }


@dataclass
class ClaimContext:
    """What ``analyse`` and ``plot`` see: the results of the claim's sweeps.

    mode   : "quick" | "full".
    outdir : directory where figures go (created by the runner).
    frames : sweep name -> results frame (``load_results(store, sweep=name)``; one row per
             cell x replicate with ``row_id``, ``status``, axis columns, ``seed`` and metrics).
    store  : path of the results store (None when frames were built in memory, e.g. in tests).
    array_loader : optional ``(sweep, row_id) -> dict`` used instead of the store.
    derived : memo of quantities a claim computes from the frames and arrays (the power scan
             re-analyses one context many times), keyed by the claim.
    """

    mode: str
    outdir: Path
    frames: dict[str, pd.DataFrame]
    store: Path | None = None
    array_loader: Callable[[str, Any], dict[str, np.ndarray]] | None = None
    derived: dict = field(default_factory=dict, repr=False, compare=False)

    def arrays(self, sweep: str, row_id: Any) -> dict[str, np.ndarray]:
        """The arrays stored with one result row (e.g. singular values, spectra)."""
        if self.array_loader is not None:
            return self.array_loader(sweep, row_id)
        if self.store is None:
            return {}
        from ..engine.results import load_arrays

        return load_arrays(self.store, row_id)

    def ok(self, sweep: str) -> pd.DataFrame:
        """The rows of ``sweep`` that completed (status ``"done"`` or ``"ok"``); empty if none."""
        frame = self.frames.get(sweep)
        if frame is None or len(frame) == 0:
            return pd.DataFrame()
        if "status" in frame.columns:
            frame = frame[frame["status"].isin(["done", "ok", "success", "completed"])]
        return frame


@dataclass(frozen=True)
class Claim:
    """A reproducible claim of a seed paper (see the module docstring)."""

    id: str
    title: str
    statement: str
    source: str
    sweeps: Callable[[str], dict[str, dict]]
    predict: Callable[[str], dict]
    analyse: Callable[[ClaimContext, dict], ClaimOutcome]
    plot: Callable[[ClaimContext, dict, ClaimOutcome], list[Path]]
    setting: str = ""
    headline: Mapping[str, "Shift"] = field(default_factory=dict)
    arrays: tuple[str, ...] = ()  # stored arrays ``analyse`` reads (the real-data test fixture keeps them)


# ----------------------------------------------------------------------------------------------
# utilities shared by the claim modules


def _clean(x: Any) -> Any:
    """A float (non-finite -> None) where ``x`` is numeric, else ``x`` unchanged."""
    if x is None:
        return None
    try:
        return to_jsonable(float(x))
    except (TypeError, ValueError):
        return x


def mean_stderr(values: Iterable[float]) -> tuple[float, float, int]:
    """Mean, standard error (sample std / sqrt(runs), 0 for one run) and count of finite values."""
    v = np.asarray([x for x in values if x is not None], dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan"), 0
    se = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else 0.0
    return float(v.mean()), se, int(v.size)


def t_factor(count: int, level: float = 0.99) -> float:
    """Two-sided Student-t quantile for a mean over ``count`` runs (dof = count - 1).

    With few seeds the sample standard deviation is itself uncertain; k = t_{(1+level)/2, count-1}
    makes ``k * stderr`` a ``level`` confidence half-width (9.92 for 3 runs, 4.60 for 5, -> 2.58).
    """
    from scipy import stats

    if count < 2:
        return float("inf")
    return float(stats.t.ppf(0.5 + level / 2.0, count - 1))


def compare(
    quantity: str,
    predicted: float | None,
    measured: float | None,
    stderr: float | None,
    *,
    k: float = 3.0,
    bias: float = 0.0,
    note: str = "",
    count: int | None = None,
) -> Comparison:
    """A comparison row with tolerance ``k * stderr + bias``.

    ``bias`` is the stated finite-size (e.g. O(1/sqrt(d)) or O(1/d)) allowance; explain it in
    ``note``. A row with a missing or non-finite prediction or measurement is not decidable, and so
    is a mean over ``count`` < 2 runs when ``count`` is given (no standard error to scale ``k`` by).
    """
    p = _clean(predicted)
    m = _clean(measured)
    se = _clean(stderr)
    if p is None or m is None or (count is not None and count < 2 and k > 0):
        why = "no prediction" if p is None else "not measured" if m is None else f"{count} run(s): no standard error"
        return Comparison(quantity, p, m, se, None, None, (note + "; " if note else "") + why)
    tol = k * (se or 0.0) + bias
    derivation = f"tol = {k:g}*stderr + {bias:.3g}"
    full_note = f"{derivation}; {note}" if note else derivation
    return Comparison(quantity, p, m, se, tol, bool(abs(m - p) <= tol), full_note)


def verdict_from(comparisons: Iterable[Comparison], *, what: str = "") -> tuple[str, str]:
    """Aggregate rows: FAIL if any decidable row fails; PASS if all decidable rows pass;
    INCONCLUSIVE when none is decidable. Returns (verdict, reason)."""
    rows = list(comparisons)
    decided = [c for c in rows if c.passed is not None]
    failed = [c for c in decided if not c.passed]
    prefix = f"{what}: " if what else ""
    if failed:
        worst = failed[0]
        return "FAIL", (
            f"{prefix}{len(failed)} of {len(decided)} comparisons outside tolerance, e.g. "
            f"{worst.quantity}: measured {_fmt(worst.measured)} +- {_fmt(worst.stderr)} vs predicted "
            f"{_fmt(worst.predicted)} (tol {_fmt(worst.tolerance)})."
        )
    if not decided:
        return "INCONCLUSIVE", f"{prefix}no decidable comparison (missing predictions or measurements)."
    return "PASS", f"{prefix}all {len(decided)} decidable comparisons within tolerance."


def _fmt(x: Any) -> str:
    if x is None:
        return "n/a"
    try:
        return f"{float(x):.4g}"
    except (TypeError, ValueError):
        return str(x)


def summarise(frame: pd.DataFrame, by: "str | list[str]", metric: str) -> pd.DataFrame:
    """Per-cell mean, standard error and count of ``metric`` over seeds.

    Returns a frame with the ``by`` columns and ``mean``, ``stderr`` (std / sqrt(count), 0 for
    one seed) and ``count``, sorted by ``by``; empty when the metric is absent.
    """
    keys = [by] if isinstance(by, str) else list(by)
    if frame is None or len(frame) == 0 or metric not in frame.columns:
        return pd.DataFrame(columns=[*keys, "mean", "stderr", "count"])
    rows = []
    for key, grp in frame.groupby(keys, sort=True):
        m, se, cnt = mean_stderr(grp[metric].tolist())
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(keys, key)), "mean": m, "stderr": se, "count": cnt})
    return pd.DataFrame(rows, columns=[*keys, "mean", "stderr", "count"])


def single_blas_thread(predict: Callable[[str], dict]) -> Callable[[str], dict]:
    """Run a claim's ``predict`` with one BLAS thread: its dense problems are small, so one thread is
    fastest and does not oversubscribe cores that sweep workers are using."""

    @functools.wraps(predict)
    def wrapper(mode: str) -> dict:
        from ..linalg import blas_threads

        with blas_threads(1):
            return predict(mode)

    return wrapper


# ----------------------------------------------------------------------------------------------
# power: the smallest error in the headline predictions that the verdict detects

Shift = Callable[[dict, float], dict]
E_UP = 10.0  # largest upward relative shift tried (prediction x 11)
E_DOWN = 0.99  # largest downward relative shift tried (prediction x 0.01)
SCAN = 14  # geometric scan points from E_MIN to the largest shift, then bisection
E_MIN = 1e-3
BISECT_REL = 0.01  # bisection stops when the bracket is 1% of its upper end


def scaled(pred: dict, factor: float, *patterns: str) -> dict:
    """A deep copy of ``pred`` with the numbers at the dotted ``patterns`` multiplied by ``factor``.

    A pattern is a path of keys separated by dots, ``*`` matching every key of a mapping or every
    item of a list (``"eta.*.s1"``); a matched value that is a list is scaled item by item. Used to
    write a claim's headline shifts.

    >>> scaled({"a": {"x": {"s": 2.0}, "y": {"s": [1.0, 3.0]}}}, 1.5, "a.*.s")["a"]
    {'x': {'s': 3.0}, 'y': {'s': [1.5, 4.5]}}
    """
    out = copy.deepcopy(pred)
    for pattern in patterns:
        _scale_at(out, pattern.split("."), float(factor))
    return out


def _scale_at(node: Any, parts: list[str], factor: float) -> None:
    head, rest = parts[0], parts[1:]
    if isinstance(node, dict):
        keys = list(node) if head == "*" else [head] if head in node else []
    elif isinstance(node, list):
        keys = list(range(len(node))) if head == "*" else [int(head)] if head.isdigit() and int(head) < len(node) else []
    else:
        keys = []
    for key in keys:
        if rest:
            _scale_at(node[key], rest, factor)
        else:
            node[key] = _times(node[key], factor)


def _times(value: Any, factor: float) -> Any:
    if isinstance(value, list):
        return [_times(v, factor) for v in value]
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        return value
    return float(value) * factor


@dataclass(frozen=True)
class Power:
    """The smallest relative error in a claim's headline predictions that its verdict detects.

    quantities                : headline quantity names, in the claim's order.
    detectable_relative_error : max over quantities and directions of the smallest detected shift
                                (None when some shift up to the limits is not detected, or the
                                verdict is not PASS on the true predictions).
    per_quantity              : name -> {"up", "down", "detectable", "rows", "median_tolerance_ratio"}:
                                the smallest detected e for 1 + e and 1 - e (None: not detected up to
                                E_UP / E_DOWN), their max, the number of decidable rows the quantity
                                enters and the median of tolerance / |predicted| over them.
    how                       : the method in words.
    """

    quantities: tuple[str, ...]
    detectable_relative_error: float | None
    per_quantity: dict
    how: str

    def as_dict(self) -> dict[str, Any]:
        return to_jsonable({"quantities": list(self.quantities), "detectable_relative_error": self.detectable_relative_error,
                            "per_quantity": self.per_quantity, "limits": {"up": E_UP, "down": E_DOWN}, "how": self.how})


def smallest_failing_shift(fails: Callable[[float], bool], e_max: float) -> float | None:
    """The smallest e in (0, e_max] with ``fails(e)``: a geometric scan from E_MIN, then bisection
    between the last passing and the first failing point to BISECT_REL. None if nothing fails."""
    grid = np.geomspace(E_MIN, e_max, SCAN)
    lo, hi = 0.0, None
    for e in grid:
        if fails(float(e)):
            hi = float(e)
            break
        lo = float(e)
    if hi is None:
        return None
    while hi - lo > BISECT_REL * hi:
        mid = 0.5 * (lo + hi)
        if fails(mid):
            hi = mid
        else:
            lo = mid
    return hi


def claim_power(claim: Claim, ctx: ClaimContext, pred: dict, outcome: ClaimOutcome | None = None) -> Power:
    """Detectable relative error of each of ``claim.headline``'s quantities on the data in ``ctx``.

    For each quantity and direction, ``analyse(ctx, shift(pred, 1 +- e))`` is re-run while e is
    scanned and bisected (:func:`smallest_failing_shift`); a shifted prediction that makes the
    analysis raise counts as not detected.
    """
    names = tuple(claim.headline)
    how = ("smallest e such that multiplying one headline quantity's predictions by 1 + e, or by 1 - e, turns the "
           "claim's verdict on this run's data to FAIL (geometric scan then bisection to 1%); stated: the largest "
           "over quantities and both directions")
    outcome = outcome if outcome is not None else claim.analyse(ctx, pred)
    if outcome.verdict != "PASS":
        return Power(names, None, {q: _rows_info(claim, ctx, pred, shift, outcome) for q, shift in claim.headline.items()},
                     how + f"; not computed: the verdict is {outcome.verdict} on the true predictions")
    per: dict[str, dict] = {}
    for q, shift in claim.headline.items():
        def fails(e: float, sign: float, shift: Shift = shift) -> bool:
            try:
                return claim.analyse(ctx, shift(pred, 1.0 + sign * e)).verdict == "FAIL"
            except Exception:  # a prediction the analysis cannot use is not a detection
                return False

        up = smallest_failing_shift(lambda e: fails(e, 1.0), E_UP)
        down = smallest_failing_shift(lambda e: fails(e, -1.0), E_DOWN)
        info = _rows_info(claim, ctx, pred, shift, outcome)
        info.update(up=up, down=down, detectable=None if up is None or down is None else max(up, down))
        per[q] = info
    values = [p["detectable"] for p in per.values()]
    total = None if not values or any(v is None for v in values) else max(values)
    return Power(names, total, per, how)


def _rows_info(claim: Claim, ctx: ClaimContext, pred: dict, shift: Shift, outcome: ClaimOutcome) -> dict:
    """Decidable rows whose prediction moves under ``shift``, and their median tolerance/|predicted|."""
    try:
        moved = claim.analyse(ctx, shift(pred, 1.001)).comparisons
    except Exception:
        return {"rows": 0, "median_tolerance_ratio": None}
    shifted = {m.quantity: m.predicted for m in moved}
    ratios = [c.tolerance / abs(c.predicted) for c in outcome.comparisons
              if c.passed is not None and c.predicted and c.tolerance is not None
              and shifted.get(c.quantity, c.predicted) != c.predicted]
    return {"rows": len(ratios), "median_tolerance_ratio": float(np.median(ratios)) if ratios else None}
