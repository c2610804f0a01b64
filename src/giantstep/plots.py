r"""Shared figure functions: one style, theory as lines, simulation as points with error bars.

Used by the claims (:mod:`giantstep.claims`) and by ``giantstep plot``. Matplotlib runs with the
non-interactive Agg backend; every figure is saved as PNG (150 dpi) and PDF by :func:`save`.

* :func:`figure` -- a figure in the house style (labelled axes are the caller's job).
* :func:`theory_line` / :func:`sim_points` -- prediction as a line, measurement as mean
  +- standard error over seeds.
* :func:`spectrum_histogram` -- histogram of singular values with the theoretical bulk
  density and the predicted outlier locations marked (dashed) beside the measured ones.
* :func:`mp_singular_density` -- density of the singular values of an N x d matrix with i.i.d.
  entries of variance v (Marchenko-Pastur, docs/theory.md, section 1, mapped from eigenvalues of
  W W^T to singular values s = sqrt(lambda): rho_s(s) = 2 s rho_lambda(s^2)).

Example::

    fig, ax = figure()
    theory_line(ax, x, y, "theory")
    sim_points(ax, x_sim, mean, stderr, "simulation")
    paths = save(fig, outdir, "c1_overlap")      # [.../c1_overlap.png, .../c1_overlap.pdf]
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Iterable, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "lines.linewidth": 1.5,
    "errorbar.capsize": 2.5,
    "pdf.fonttype": 42,
}

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f")


def color(i: int) -> str:
    """The i-th colour of the house palette (cycled)."""
    return COLORS[i % len(COLORS)]


def figure(ncols: int = 1, nrows: int = 1, width: float | None = None, height: float | None = None, **kw):
    """A new (fig, axes) in the house style (axes squeezed as by ``plt.subplots``)."""
    plt.rcParams.update(STYLE)
    w = width if width is not None else 3.6 * ncols + 0.4
    h = height if height is not None else 3.0 * nrows
    fig, axes = plt.subplots(nrows, ncols, figsize=(w, h), squeeze=True, **kw)
    return fig, axes


def save(fig, outdir: "str | Path", stem: str) -> list[Path]:
    """Save ``fig`` as ``outdir/stem.png`` and ``outdir/stem.pdf``; close it; return both paths."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    paths = [out / f"{stem}.png", out / f"{stem}.pdf"]
    for p in paths:
        fig.savefig(p, bbox_inches="tight")
    plt.close(fig)
    return paths


def theory_line(ax, x: Sequence[float], y: Sequence[float], label: str | None = "theory", i: int = 0, **kw):
    """Prediction as a line."""
    kw.setdefault("color", color(i))
    kw.setdefault("lw", 1.5)
    if "ls" not in kw:
        kw.setdefault("linestyle", "-")
    return ax.plot(np.asarray(x, float), np.asarray(y, float), label=label, **kw)


def sim_points(
    ax,
    x: Sequence[float],
    mean: Sequence[float],
    stderr: Sequence[float] | None,
    label: str | None = "simulation",
    i: int = 0,
    marker: str = "o",
    **kw,
):
    """Measurement as points with +- stderr error bars (over seeds)."""
    kw.setdefault("color", color(i))
    yerr = None if stderr is None else np.nan_to_num(np.asarray(stderr, float))
    return ax.errorbar(
        np.asarray(x, float), np.asarray(mean, float), yerr=yerr, fmt=marker, ms=4, label=label, lw=1, **kw
    )


def mp_singular_density(s: np.ndarray, width: int, d: int, variance: float) -> np.ndarray:
    """Density of the singular values of an N x d matrix with i.i.d. entries of variance v.

    With p = min(N, d), q = max(N, d) and gamma = p/q, the p eigenvalues of the p x p Gram,
    divided by v q, follow MP with ratio gamma on [(1-sqrt(gamma))^2, (1+sqrt(gamma))^2];
    the singular values s = sqrt(v q lambda) have density 2 s rho(s^2 / (v q)) / (v q).
    """
    p, q = min(width, d), max(width, d)
    gam = p / q
    lo, hi = (1 - math.sqrt(gam)) ** 2, (1 + math.sqrt(gam)) ** 2
    lam = np.asarray(s, float) ** 2 / (variance * q)
    inside = (lam > lo) & (lam < hi)
    rho = np.zeros_like(lam)
    li = lam[inside]
    rho[inside] = np.sqrt((hi - li) * (li - lo)) / (2 * math.pi * gam * li)
    return 2 * np.asarray(s, float) * rho / (variance * q)


def spectrum_histogram(
    ax,
    values: np.ndarray,
    *,
    density: Callable[[np.ndarray], np.ndarray] | None = None,
    edge: float | None = None,
    predicted_outliers: Iterable[float] = (),
    measured_outliers: Iterable[float] = (),
    bins: int = 60,
    xlabel: str = "singular value",
    label: str = "simulation",
    density_label: str = "theory (bulk density)",
):
    """Histogram of a spectrum with the theoretical bulk density and outlier locations.

    ``density`` maps a grid of values to the predicted bulk density (same normalisation as a
    ``density=True`` histogram of the bulk); ``edge`` is drawn as a dotted line; predicted
    outliers are dashed red lines and measured outliers black triangles on the axis.
    """
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    pred = [float(p) for p in predicted_outliers if p is not None and np.isfinite(p)]
    meas = [float(m) for m in measured_outliers]
    top = max([v.max() if v.size else 1.0, *pred, *meas])
    ax.hist(v, bins=bins, range=(0.0, top * 1.05), density=True, color="0.75", edgecolor="0.55", lw=0.4, label=label)
    if density is not None:
        grid = np.linspace(0.0, top * 1.05, 800)
        ax.plot(grid, density(grid), color=color(0), lw=1.4, label=density_label)
    if edge is not None and np.isfinite(edge):
        ax.axvline(edge, color=color(0), ls=":", lw=1.0, label=f"bulk edge {edge:.3g}")
    for j, p in enumerate(pred):
        ax.axvline(p, color=color(1), ls="--", lw=1.1, label="predicted outlier" if j == 0 else None)
    if meas:
        ymin = ax.get_ylim()[1] * 0.03
        ax.plot(meas, [ymin] * len(meas), "v", color="k", ms=6, label="measured outlier(s)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.legend(loc="upper right")
    return ax


def annotate_verdict(ax, verdict: str) -> None:
    """Small verdict tag in the corner of an axes."""
    col = {"PASS": color(2), "FAIL": color(1)}.get(verdict, "0.4")
    ax.text(0.99, 0.01, verdict, transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color=col)


def feature_tail_axes(ax_density, ax_tail, curves, tail: dict) -> None:
    """The feature spectrum's upper tail as training grows (docs/theory.md, section 11).

    ``curves``: (eta0, x, density) triples of the predicted bulk density, drawn on a log density
    axis so that the upper tail is visible; ``tail``: the ``as_dict()`` of
    :func:`giantstep.theory.feature_spectrum.feature_tail` (keys ``eta0``, ``upper_edge``,
    ``mean_mode_slope``), drawn against eta0 (upper bulk edge on the left axis, the mean-mode
    eigenvalue per neuron, lambda_mean / p, on a twin axis).
    """
    for i, (eta0, x, rho) in enumerate(curves):
        x, rho = np.asarray(x, float), np.asarray(rho, float)
        keep = rho > 0
        ax_density.semilogy(x[keep], rho[keep], color=color(i), label=f"eta0 = {eta0:g}")
    ax_density.set_xlabel("eigenvalue of the feature covariance")
    ax_density.set_ylabel("predicted bulk density")
    ax_density.legend(loc="upper right")
    eta0 = np.asarray(tail["eta0"], float)
    ax_tail.plot(eta0, tail["upper_edge"], "o-", color=color(0), label="upper bulk edge")
    ax_tail.set_xlabel("eta0 (eta = eta0 sqrt(N))")
    ax_tail.set_ylabel("upper bulk edge", color=color(0))
    twin = ax_tail.twinx()
    twin.plot(eta0, tail["mean_mode_slope"], "s--", color=color(1), label="mean mode / p")
    twin.set_ylabel("mean-mode eigenvalue / p", color=color(1))


# ----------------------------------------------------------------------------- one run


def run_singular_values(record: dict, arrays: dict, t: int) -> tuple[np.ndarray, str]:
    """Every singular value of W_t of a steps run, and how they were obtained: the stored
    ``w{t}.singular_values`` (config ``spectra.full``), else the SVD of the saved ``W{t}``
    (``save.weights``; LAPACK gesdd, values only). Neither in ``arrays``: ConfigError 'record'."""
    from .errors import ConfigError

    if f"w{t}.singular_values" in arrays:
        return np.asarray(arrays[f"w{t}.singular_values"], float), "stored spectrum (spectra.full)"
    if f"W{t}" in arrays:
        W = np.asarray(arrays[f"W{t}"], float)
        return np.linalg.svd(W, compute_uv=False), "SVD of the saved W (save.weights)"
    raise ConfigError("record", f"a run that kept every singular value of W{t}: run it with spectra.full: true "
                                "or --save-weights", f"a run with the arrays {sorted(arrays)[:6]}")


def initial_bulk_density(config: dict) -> Callable[[np.ndarray], np.ndarray]:
    """Density of the singular values of W0 (Marchenko-Pastur, rows of norm ~ 1: entries of variance
    1/d), normalised like a ``density=True`` histogram of all min(N, d) singular values. Paired rows
    (``second_layer: symmetric``) are sqrt(2) times the N/2 x d law, the other values are 0. A finite
    number of gradient steps adds a low-rank update, which moves outliers but not this bulk (to
    leading order; a maximal step, alpha = 1/2, also inflates the bulk: compare the predicted edge)."""
    N, d = int(config["width"]), int(config["d"])
    if config.get("second_layer") == "symmetric":
        share = min(N // 2, d) / min(N, d)
        return lambda s: share * mp_singular_density(s, N // 2, d, 2.0 / d)
    return lambda s: mp_singular_density(s, N, d, 1.0 / d)


def _entry(entries: list, t: int) -> dict:
    return next((e for e in entries if isinstance(e, dict) and e.get("t") == t), {})


def overlap_bars(ax, measured: Sequence[Sequence[float]], predicted: Sequence[float] = (), top: int = 5):
    """|<v_j(W_t), theta*_i>| of the top singular vectors j = 1..top as bars grouped by j, one colour
    per teacher direction i; ``predicted`` (per i, for v_1) as red diamonds."""
    ov = np.asarray(measured, float)[:top]
    k = ov.shape[1] if ov.ndim == 2 else 1
    ov = ov.reshape(len(ov), k)
    width = 0.8 / k
    for i in range(k):
        ax.bar(np.arange(1, len(ov) + 1) + (i - (k - 1) / 2) * width, ov[:, i], width=width, color=color(i),
               label=f"measured, theta*_{i + 1}" if k > 1 else "measured")
    for i, p in enumerate(predicted):
        if p is not None and np.isfinite(p):
            ax.plot([1 + (i - (k - 1) / 2) * width], [p], "D", color=color(1), ms=6,
                    label="predicted (v_1)" if i == 0 else None)
    ax.set_xticks(np.arange(1, len(ov) + 1))
    ax.set_xlabel("singular vector j")
    ax.set_ylabel("|<v_j, theta*>|")
    ax.set_ylim(0.0, 1.05)
    ax.legend(loc="upper right")
    return ax


def run_figure(record: dict, arrays: dict, t: int | None = None):
    """The figure of one steps run at W_t (default: the last): the histogram of every singular value
    of W_t with the Marchenko-Pastur density of W0, the predicted bulk edge and outliers (the
    record's ``theory``) and the measured outliers; beside it the theta* overlaps of the top right
    singular vectors. Returns ``(fig, how)``, ``how`` saying where the singular values came from."""
    from .errors import ConfigError

    if record.get("kind") != "steps":
        raise ConfigError("record", "the record of a steps run", record.get("kind"))
    entries = record.get("weights") or []
    last = max(e["t"] for e in entries)
    t = last if t is None else t
    if not 0 <= t <= last:
        raise ConfigError("t", f"a step index in [0, {last}]", t)
    values, how = run_singular_values(record, arrays, t)
    meas = _entry(entries, t)
    theory = _entry((record.get("theory") or {}).get("weights") or [], t)
    predicted = theory.get("singular_values", [])[: int(theory.get("outliers", 0))]
    fig, (ax_s, ax_o) = figure(ncols=2, width=8.4, height=3.2)
    spectrum_histogram(ax_s, values, density=initial_bulk_density(record["config"]), edge=theory.get("bulk_edge"),
                       predicted_outliers=predicted,
                       measured_outliers=meas.get("singular_values", [])[: int(meas.get("outliers", 0))],
                       xlabel=f"singular value of W{t}", density_label="Marchenko-Pastur (W0)")
    ax_s.set_title(f"spectrum of W{t} ({how})")
    top_pred = (theory.get("overlaps") or [[]])[0]
    overlap_bars(ax_o, meas.get("overlaps", [[0.0]]), top_pred)
    ax_o.set_title(f"teacher overlaps of W{t}")
    return fig, how


def save_figure(fig, path: "str | Path") -> Path:
    """Save ``fig`` to ``path`` (format from the suffix: .png, .pdf or .svg) atomically; close it."""
    from .outputs import atomic_path

    path = Path(path)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, bbox_inches="tight", format=path.suffix.lstrip(".").lower())
    plt.close(fig)
    return path
