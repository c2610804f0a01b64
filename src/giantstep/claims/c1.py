r"""C1: one large gradient step -> a rank-one spike aligned with the target's linear part.

Claim (Ba, Erdogdu, Suzuki, Wang, Wu, Yang, NeurIPS 2022, arXiv 2205.01445; docs/theory.md, section 6,
8.1): after one step W1 = W0 - eta grad L(W0) with eta = eta0 (alpha = 0) the update is
approximately rank one, s (a/||a||)(vhat/||vhat||)^T with s = eta mu1 ||vhat|| (a_i = +-1),
||vhat||^2 -> mu1*^2 + E[y^2]/psi2, and cos^2(vhat, theta*) -> gamma^2 = mu1*^2 / ||vhat||^2.
W1 = W0 + spike has a BBP outlier iff theta_B > c^{1/4} (c = min(N,d)/max(N,d),
theta_B = s sqrt(d/N) for N >= d), at s1(W1) = sqrt(N/d) sqrt((1+theta_B^2)(c+theta_B^2))/theta_B
(N >= d), and the top right singular vector has |<v1, theta*>|^2 -> gamma^2 (1 - overlap loss).

Predictions: :func:`giantstep.theory.one_step.one_step_from_moments` (docs/theory.md, section 6, r = y,
a_i = +-1), see :func:`one_step_point`.

Sweeps (kind ``steps``; residual ``centered`` so r = y, as in the formulas):
``eta``: eta0 on a grid at psi2 = 2; ``ratio``: n/d on a grid at eta0 = 8.

Verdict per grid point outside the finite-size BBP window |theta_B - c^{1/4}| < 3 min(N,d)^{-1/3}
(t99 is the two-sided 99% Student-t quantile for the number of seeds):
s1(W1) within t99 stderr + 5 s1/d (an O(1/d) allowance; the bulk inflation
c = 1 + eta^2 E[y^2] Var(sigma'(G)) / (psi2 N) by the non-rank-one part of the update is part of
the prediction); |<v1, theta*>| above the threshold within t99 stderr + 1/sqrt(d) (the
O(d^{-1/2}) projection noise of a d-dimensional vector, which does not average to zero in an
absolute value); below the threshold against its finite-d value (:func:`subcritical_overlap`: the
top vector keeps an O(d^{-1/2}) component along the spike, enhanced near the threshold), within
t99 stderr + pred theta_B^2 min(N,d)^{-1/3} / (c^{1/4} - theta_B) (the next order of that
formula); the outlier count (0 or 1) within 0.5.

Headline quantities (power): s1(W1) and |<v1, theta*>|.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np

from .. import plots
from .base import Claim, ClaimContext, ClaimOutcome, compare, scaled, single_blas_thread, summarise, t_factor, verdict_from
from .registry import register

ACTIVATION = "relu"
LINK = "tanh"
ETA_GRID = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0]
RATIO_GRID = [0.5, 1.0, 2.0, 4.0, 8.0]
ETA_RATIO = 8.0
PSI2 = 2.0
CURVE_POINTS = 48  # theory curves: one one_step evaluation (~0.05 s) per point
SIZES = {"quick": {"d": 512, "width": 512, "seeds": 8}, "full": {"d": 2048, "width": 2048, "seeds": 8}}


def _base(mode: str) -> dict:
    s = SIZES[mode]
    return {
        "kind": "steps",
        "d": s["d"],
        "width": s["width"],
        "n": int(PSI2 * s["d"]),
        "activation": ACTIVATION,
        "init": "gaussian",
        "second_layer": "rademacher",
        "residual": "centered",
        "teacher": {"link": LINK, "noise": 0.0},
        "steps": [{"eta0": 1.0, "alpha": 0.0}],
        "spectra": {"top": 5, "full": True},
        "theory": False,
    }


def sweeps(mode: str) -> dict[str, dict]:
    s = SIZES[mode]
    base = _base(mode)
    return {
        "eta": {"base": base, "grid": {"steps.0.eta0": ETA_GRID}, "seeds": s["seeds"]},
        "ratio": {
            "base": {**base, "steps": [{"eta0": ETA_RATIO, "alpha": 0.0}]},
            "grid": {"n": [int(r * s["d"]) for r in RATIO_GRID]},
            "seeds": s["seeds"],
        },
    }


@lru_cache(maxsize=1024)
def one_step_point(eta: float, psi2: float, width: int, d: int) -> dict[str, float]:
    """Theory 1.2-1.3 for one point (r = y, a_i = +-1, alpha = 0) as a flat dict.

    Evaluates :func:`giantstep.theory.one_step.one_step_from_moments` (||vhat||^2 = mu1*^2 +
    E y^2/psi2, gamma^2 = mu1*^2/||vhat||^2, s = eta mu1 ||vhat||, bulk inflation
    c = 1 + eta^2 E y^2 Var(sigma')/(N psi2), the BBP outlier of W1 and its theta* overlap) and
    adds the rectangular BBP strength of docs/theory.md, section 2, theta_B = (s/sqrt(c)) sqrt(d/N) for N >= d
    and s/sqrt(c) otherwise, with its threshold c_B^{1/4}, c_B = min(N,d)/max(N,d): they define
    the finite-size BBP window of the verdict.

    >>> p = one_step_point(8.0, 2.0, 512, 512)
    >>> p["outlier"], round(p["threshold"], 3)
    (1.0, 1.0)
    """
    from ..theory.first_step import teacher_moments
    from ..theory.one_step import one_step_from_moments

    pr = one_step_from_moments(ACTIVATION, teacher_moments(LINK), d, width, round(psi2 * d), eta, 0.0,
                               second_layer="rademacher", residual="centered")
    c = pr.bulk_inflation
    cb = min(width, d) / max(width, d)
    theta = pr.s1_update / math.sqrt(c) * (math.sqrt(d / width) if width >= d else 1.0)
    overlap = pr.overlap_theta if pr.outlier else subcritical_overlap(theta, cb, pr.gamma2, width, d)
    return {
        "vhat_norm2": pr.vhat_norm2,
        "gamma2": pr.gamma2,
        "s": pr.s1_update,
        "theta_B": theta,
        "threshold": cb**0.25,
        "s1": pr.s1_weights,
        "edge": pr.bulk_edge,
        "overlap": overlap,
        "outlier": float(pr.outlier),
        "inflation": c,
    }


def subcritical_overlap(theta: float, cb: float, gamma2: float, width: int, d: int) -> float:
    r"""E|<v1(W1), theta*>| below the BBP threshold at finite d (no outlier; leading order 0).

    The top singular vector of W1 keeps a random O(d^{-1/2}) component along the spike direction
    u = vhat/||vhat||, enhanced as the threshold approaches: E<v1, u>^2 = V from
    :func:`giantstep.theory.bbp.rectangular_subcritical` (the theta*-side is the dimension-d side:
    left for N >= d, right for N < d). With theta* = gamma u + sqrt(1 - gamma^2) t and <v1, t> ~
    N(0, 1/d) independent, <v1, theta*> is centred Gaussian with variance gamma^2 V + (1 - gamma^2)/d,
    so E|<v1, theta*>| = sqrt(2/pi) sqrt(gamma^2 V + (1 - gamma^2)/d). Valid for
    c_B^{1/4} - theta_B >> min(N, d)^{-1/3}.

    >>> round(subcritical_overlap(0.0, 1.0, 0.5, 400, 400) * math.sqrt(400), 4)  # a random direction
    0.7979
    """
    from ..theory.bbp import rectangular_subcritical

    r = rectangular_subcritical(cb, theta, min(width, d))
    V = r.left_overlap2 if width >= d else r.right_overlap2
    return math.sqrt(2.0 / math.pi) * math.sqrt(gamma2 * V + (1.0 - gamma2) / d)


@single_blas_thread
def predict(mode: str) -> dict:
    """Theory values for every grid point and curve."""
    s = SIZES[mode]
    d, N = s["d"], s["width"]
    eta_curve = np.linspace(0.5, 13.0, CURVE_POINTS)
    ratio_curve = np.geomspace(0.3, 10.0, CURVE_POINTS)
    return {
        "eta": {str(e): one_step_point(e, PSI2, N, d) for e in ETA_GRID},
        "ratio": {str(r): one_step_point(ETA_RATIO, r, N, d) for r in RATIO_GRID},
        "eta_curve": {"x": eta_curve.tolist(), "points": [one_step_point(e, PSI2, N, d) for e in eta_curve]},
        "ratio_curve": {"x": ratio_curve.tolist(), "points": [one_step_point(ETA_RATIO, r, N, d) for r in ratio_curve]},
    }


def _rows(tab_s1, tab_ov, tab_out, preds: dict, axis_name: str, to_key, d: int, N: int) -> list:
    rows = []
    window = 3.0 * min(N, d) ** (-1.0 / 3.0)
    for (_, rs), (_, ro), (_, rc) in zip(tab_s1.iterrows(), tab_ov.iterrows(), tab_out.iterrows()):
        x = rs.iloc[0]
        p = preds.get(to_key(x))
        if p is None:
            continue
        label = f"{axis_name}={x:g}"
        if abs(p["theta_B"] - p["threshold"]) < window:
            note = f"theta_B={p['theta_B']:.3g} inside the finite-size BBP window {p['threshold']:.3g} +- {window:.2g}"
            rows.append(compare(f"s1(W1) at {label}", None, rs["mean"], rs["stderr"], note=note))
            continue
        runs = int(rs["count"])
        kt = t_factor(runs)
        rows.append(
            compare(f"s1(W1) at {label}", p["s1"], rs["mean"], rs["stderr"], k=kt, bias=p["s1"] * 5.0 / d, count=runs,
                    note=f"{runs} seeds; t99 = {kt:.3g} stderr + 5 s1/d (O(1/d) finite size)")
        )
        if p["outlier"]:
            bias, why = 1 / math.sqrt(d), "1/sqrt(d): O(d^-1/2) projection noise"
        else:
            gap = p["threshold"] - p["theta_B"]
            bias = p["overlap"] * p["theta_B"] ** 2 * min(N, d) ** (-1.0 / 3.0) / gap
            why = ("finite-d subcritical overlap; next order: pred x theta_B^2 min(N,d)^-1/3 / "
                   f"(threshold - theta_B) = {bias:.3g}")
        rows.append(
            compare(f"|<v1,theta*>| at {label}", p["overlap"], ro["mean"], ro["stderr"], k=kt, bias=bias,
                    count=int(ro["count"]), note=f"t99 = {kt:.3g} stderr + {why}")
        )
        rows.append(
            compare(f"outlier count at {label}", p["outlier"], rc["mean"], 0.0, k=0, bias=0.5,
                    note="count of s_j above the edge rule of giantstep.spectra; tolerance 0.5")
        )
    return rows


def analyse(ctx: ClaimContext, pred: dict) -> ClaimOutcome:
    s = SIZES[ctx.mode]
    d, N = s["d"], s["width"]
    rows = []
    eta = ctx.ok("eta")
    rows += _rows(
        summarise(eta, "steps.0.eta0", "w1.s1"),
        summarise(eta, "steps.0.eta0", "w1.overlap1"),
        summarise(eta, "steps.0.eta0", "w1.outliers"),
        pred["eta"],
        "eta0",
        lambda x: _nearest(pred["eta"], x),
        d,
        N,
    )
    ratio = ctx.ok("ratio")
    if len(ratio):
        ratio = ratio.assign(psi2=ratio["n"] / d)
    rows += _rows(
        summarise(ratio, "psi2", "w1.s1"),
        summarise(ratio, "psi2", "w1.overlap1"),
        summarise(ratio, "psi2", "w1.outliers"),
        pred["ratio"],
        "n/d",
        lambda x: _nearest(pred["ratio"], x),
        d,
        N,
    )
    verdict, reason = verdict_from(rows, what="one-step outlier and alignment")
    return ClaimOutcome(verdict, reason, tuple(rows), {"d": d, "width N": N, "n": f"{PSI2:g} d (eta sweep), {RATIO_GRID} d"}, s["seeds"])


def _nearest(table: dict, x: float) -> str:
    keys = list(table)
    k = keys[int(np.argmin([abs(float(t) - float(x)) for t in keys]))]
    return k if abs(float(k) - float(x)) < 1e-9 * max(1.0, abs(float(x))) + 1e-12 else ""


def plot(ctx: ClaimContext, pred: dict, outcome: ClaimOutcome) -> list[Path]:
    s = SIZES[ctx.mode]
    d, N = s["d"], s["width"]
    out: list[Path] = []
    fig, axes = plots.figure(ncols=2, nrows=2, width=8.2, height=6.2)
    for row, (sweep, axis, curve_key, xlabel) in enumerate(
        (
            ("eta", "steps.0.eta0", "eta_curve", r"step size $\eta_0$ ($\alpha=0$, $\eta=\eta_0$)"),
            ("ratio", "psi2", "ratio_curve", r"sample ratio $\psi_2 = n/d$ ($\eta_0=%g$)" % ETA_RATIO),
        )
    ):
        frame = ctx.ok(sweep)
        if sweep == "ratio" and len(frame):
            frame = frame.assign(psi2=frame["n"] / d)
        curve = pred[curve_key]
        x = np.asarray(curve["x"])
        ax = axes[row][0]
        plots.theory_line(ax, x, [p["s1"] for p in curve["points"]], "BBP prediction (docs/theory.md, section 6)")
        plots.theory_line(ax, x, [p["edge"] for p in curve["points"]], "bulk edge $1+\\sqrt{N/d}$", i=7, ls=":")
        tab = summarise(frame, axis, "w1.s1")
        plots.sim_points(ax, tab[axis], tab["mean"], tab["stderr"], "simulation $s_1(W_1)$")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("top singular value of $W_1$")
        ax.legend(loc="upper left")
        ax = axes[row][1]
        plots.theory_line(ax, x, [p["overlap"] for p in curve["points"]], r"prediction $\gamma\,|\langle v_1,\hat v\rangle|$")
        plots.theory_line(ax, x, [math.sqrt(p["gamma2"]) for p in curve["points"]], r"$\gamma$ (spike alignment)", i=7, ls=":")
        tab = summarise(frame, axis, "w1.overlap1")
        plots.sim_points(ax, tab[axis], tab["mean"], tab["stderr"], r"simulation $|\langle v_1(W_1),\theta^*\rangle|$")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(r"overlap with $\theta^*$")
        ax.set_ylim(-0.02, 1.0)
        ax.legend(loc="lower right")
        if row == 1:
            ax.set_xscale("log")
            axes[row][0].set_xscale("log")
    fig.suptitle(f"C1: one step, {ACTIVATION} network, {LINK} teacher, N = d = {d}, a = +-1, residual r = y")
    plots.annotate_verdict(axes[1][1], outcome.verdict)
    out += plots.save(fig, ctx.outdir, "c1_outlier_overlap")

    # spectrum of W1 at the largest eta0 (first seed): MP bulk + predicted outlier
    frame = ctx.ok("eta")
    if len(frame):
        e = max(ETA_GRID)
        sel = frame[np.isclose(frame["steps.0.eta0"], 8.0)]
        if len(sel):
            e = 8.0
        else:
            sel = frame[np.isclose(frame["steps.0.eta0"], e)]
        arr = ctx.arrays("eta", int(sel.iloc[0]["row_id"]))
        if "w1.singular_values" in arr:
            p = pred["eta"][_nearest(pred["eta"], e)]
            vals = arr["w1.singular_values"]
            fig, ax = plots.figure(width=4.8, height=3.4)
            plots.spectrum_histogram(
                ax,
                vals,
                density=lambda g: plots.mp_singular_density(g, N, d, 1.0 / d),
                edge=p["edge"],
                predicted_outliers=[p["s1"]] if p["outlier"] else [],
                measured_outliers=[v for v in vals[:5] if v > float(sel.iloc[0]["w1.bulk_edge"]) * 1.05],
                xlabel="singular values of $W_1$",
                density_label="Marchenko-Pastur bulk of $W_0$",
            )
            ax.set_title(f"C1: spectrum of W1 at eta0 = {e:g} (one seed, N = d = {d})")
            out += plots.save(fig, ctx.outdir, "c1_spectrum")
    return out


CLAIM = register(
    Claim(
        id="C1",
        title="One large step: rank-one spike aligned with the target's linear part",
        statement=(
            "After one gradient step the first-layer update is approximately rank one and its direction aligns with "
            "the linear component of the teacher (gamma^2 = mu1*^2/(mu1*^2 + E y^2/psi2)); W1 shows a BBP outlier "
            "above a critical step size, at the predicted location, with the predicted overlap with theta*."
        ),
        source="Ba et al. NeurIPS 2022 (arXiv 2205.01445); docs/theory.md, sections 6, 2",
        sweeps=sweeps,
        predict=predict,
        analyse=analyse,
        plot=plot,
        headline={
            "s1(W1)": lambda p, f: scaled(p, f, "eta.*.s1", "ratio.*.s1"),
            "|<v1,theta*>|": lambda p, f: scaled(p, f, "eta.*.overlap", "ratio.*.overlap"),
        },
        setting=(
            f"Two-layer network in convention P, sigma = {ACTIVATION}, W0 rows N(0, I/d), a_i = +-1, teacher "
            f"y = {LINK}(<theta*, x>) without noise; one full-batch step with eta = eta0 (alpha = 0) on n samples, "
            "residual r = y (f0 removed). Sweep eta0 at n = 2d, and n/d at eta0 = 8. Spectra of W1 by Gram + eigh."
        ),
    )
)
