r"""C8: random-features regression -- Mei-Montanari risk, double descent, SGD readout.

Claim (seed 004; Mei & Montanari 2019, arXiv 1908.05355; docs/theory.md, section 4; docs/claims.md, C8): the
test risk of ridge regression on N random features sigma(<w_j, x>) (unit rows, x ~ N(0, I_d))
with n = psi2 d samples converges to the Mei-Montanari closed form R(psi1, psi2, lambda); at
small ridge it peaks at the interpolation point N = n (double descent), and a readout trained by
SGD from zero converges to the same risk.

Sweeps (experiment kind ``rf``, :mod:`giantstep.experiments.rf`):

* ``dd``     ridge readout, psi1 = N/d on a grid through psi2, Mei-Montanari lambda = 1e-3
             (simulator ridge = psi1 * lambda);
* ``dd_reg`` the same at lambda = 0.1 (the peak is regularised away);
* ``sgd``    ridge and mini-batch SGD (constant step) on the same data at lambda = 0.05, for a
             few psi1, with the test-risk curve over passes.

Verdict: (i) mean test risk vs R at every psi1 with |psi1/psi2 - 1| >= 0.25 (near the peak the
seed-to-seed variance is large, docs/theory.md, section 4), tolerance 3 stderr + 5 R/d (an O(1/d)
finite-size bias with constant 5; the risk's fluctuations are in the stderr); (ii) the double-descent
peak location: the peak of the Mei-Montanari curve at the small ridge (1.93 for psi2 = 2 at
lambda = 1e-3: the finite-lambda peak sits below psi2) against that peak times the horizontal
scale of the measured curve fitted over psi1 in [0.75, 1.25] psi2 (:func:`peak_shift`: weighted
least squares of the whole curve near the peak, not the arg max of a grid), tolerance t99 stderr;
(iii) SGD risk minus ridge risk (paired by seed) vs 0, tolerance 3 stderr + 0.02 R (the
stationary fluctuation of constant-step SGD is O(step * b / n) relative, b/n = 0.05 here).

Headline quantities (power): the Mei-Montanari risk and the peak location.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .. import plots
from .base import Claim, ClaimContext, ClaimOutcome, Comparison, compare, mean_stderr, scaled, summarise, t_factor, verdict_from
from .registry import register

ACTIVATION = "relu"
LINK = "he1+0.5*he2"  # F1 = 1, F*^2 = 0.25 (he2 is He2/sqrt(2))
NOISE = 0.1
LAMBDA_DD = 1e-3
LAMBDA_REG = 0.1
LAMBDA_SGD = 0.05

SIZES = {
    "quick": {"d": 200, "psi2": 2.0, "n_test": 4000, "seeds": 12, "psi1_sgd": [0.5, 3.0, 6.0], "epochs": 100},
    "full": {"d": 500, "psi2": 2.0, "n_test": 10000, "seeds": 8, "psi1_sgd": [0.5, 1.0, 3.0, 6.0], "epochs": 200},
}
PSI1_GRID = [0.25, 0.5, 1.0, 1.5, 1.75, 1.9, 1.95, 2.0, 2.05, 2.1, 2.25, 2.5, 3.0, 4.0, 6.0, 8.0]
PEAK_GRID = [1.5, 1.75, 1.9, 1.95, 2.0, 2.05, 2.1, 2.25, 2.5]  # |psi1/psi2 - 1| <= 0.25: the peak's curve fit


def _sizes(mode: str) -> dict:
    return SIZES[mode]


def _widths(mode: str, psi1s) -> list[int]:
    d = _sizes(mode)["d"]
    return [int(round(p * d)) for p in psi1s]


def _base(mode: str) -> dict:
    s = _sizes(mode)
    return {
        "kind": "rf",
        "d": s["d"],
        "width": s["d"],
        "n": int(round(s["psi2"] * s["d"])),
        "n_test": s["n_test"],
        "activation": ACTIVATION,
        "teacher": {"link": LINK, "noise": NOISE},
    }


def sweeps(mode: str) -> dict[str, dict]:
    s = _sizes(mode)
    d = s["d"]
    out = {}
    for name, lam in (("dd", LAMBDA_DD), ("dd_reg", LAMBDA_REG)):
        widths = _widths(mode, PSI1_GRID)
        out[name] = {
            "base": {**_base(mode), "readout": "ridge"},
            "zip": {"width": widths, "ridge": [w / d * lam for w in widths]},
            "seeds": s["seeds"],
        }
    widths = _widths(mode, s["psi1_sgd"])
    out["sgd"] = {
        "base": {
            **_base(mode),
            "readout": "both",
            "sgd": {"epochs": s["epochs"], "batch": 20, "step": 0.5, "decay": 0.0, "checkpoints": 15},
        },
        "zip": {"width": widths, "ridge": [w / d * LAMBDA_SGD for w in widths]},
        "seeds": s["seeds"],
    }
    return out


def _mm_risk(psi1, psi2: float, lam: float):
    """Mei-Montanari risk for this claim's activation and target (docs/theory.md, section 4); psi1 may be an array."""
    from ..hermite import hermite_constants
    from ..theory.mei_montanari import rf_ridge_risk

    g = hermite_constants(LINK)
    risk = rf_ridge_risk(ACTIVATION, psi1, psi2, lam, F1=g.mu1, Fstar=g.mustar, noise=NOISE).risk
    return np.asarray(risk, float).tolist() if np.ndim(risk) else float(risk)


def predict(mode: str) -> dict:
    s = _sizes(mode)
    psi2 = s["psi2"]
    curve = np.geomspace(0.1, 10.0, 200)
    peak_x = np.linspace(0.5 * PEAK_GRID[0], 1.5 * PEAK_GRID[-1], 2001)
    peak_r = np.asarray(_mm_risk(peak_x, psi2, LAMBDA_DD))
    return {
        "psi2": psi2,
        "psi1_curve": curve.tolist(),
        "risk_dd_curve": _mm_risk(curve, psi2, LAMBDA_DD),
        "risk_reg_curve": _mm_risk(curve, psi2, LAMBDA_REG),
        "risk_sgd_curve": _mm_risk(curve, psi2, LAMBDA_SGD),
        "risk_dd": {str(p): _mm_risk(p, psi2, LAMBDA_DD) for p in PSI1_GRID},
        "risk_reg": {str(p): _mm_risk(p, psi2, LAMBDA_REG) for p in PSI1_GRID},
        "risk_sgd": {str(p): _mm_risk(p, psi2, LAMBDA_SGD) for p in s["psi1_sgd"]},
        "peak_psi1": float(peak_x[np.argmax(peak_r)]),
        "peak_curve": {"psi1": peak_x.tolist(), "risk": peak_r.tolist(), "argmax": float(peak_x[np.argmax(peak_r)])},
    }


def _by_psi1(frame, metric: str):
    tab = summarise(frame, "psi1", metric) if "psi1" in frame.columns else summarise(frame, "width", metric)
    return tab


def analyse(ctx: ClaimContext, pred: dict) -> ClaimOutcome:
    s = _sizes(ctx.mode)
    d, psi2 = s["d"], s["psi2"]
    rows = []
    for sweep, key, lam in (("dd", "risk_dd", LAMBDA_DD), ("dd_reg", "risk_reg", LAMBDA_REG)):
        tab = _by_psi1(ctx.ok(sweep), "test_risk")
        for _, r in tab.iterrows():
            p = float(r["psi1"])
            if abs(p / psi2 - 1.0) < 0.25:
                continue
            R = pred[key].get(_key(p, pred[key]))
            rows.append(
                compare(
                    f"risk at psi1={p:g}, lambda={lam:g}",
                    R,
                    r["mean"],
                    r["stderr"],
                    k=3,
                    bias=5.0 * (R or 0.0) / d,
                    note=f"3 stderr over {int(r['count'])} seeds + 5R/d finite-size bias",
                )
            )
    rows.append(_peak_row(_by_psi1(ctx.ok("dd"), "test_risk"), pred, psi2))
    sgd = ctx.ok("sgd")
    if len(sgd) and "sgd_test_risk" in sgd.columns:
        for p, grp in sgd.groupby("psi1"):
            diff = (grp["sgd_test_risk"] - grp["test_risk"]).tolist()
            m, se, cnt = mean_stderr(diff)
            R = pred["risk_sgd"].get(_key(p, pred["risk_sgd"]))
            rows.append(
                compare(
                    f"SGD risk - ridge risk at psi1={p:g}, lambda={LAMBDA_SGD:g}",
                    0.0,
                    m,
                    se,
                    k=3,
                    bias=0.02 * (R or 1.0),
                    note=f"paired over {cnt} seeds; 3 stderr + 0.02 R (constant-step SGD fluctuation)",
                )
            )
            mr, ser, cnt = mean_stderr(grp["sgd_test_risk"].tolist())
            rows.append(
                compare(
                    f"SGD risk at psi1={p:g}, lambda={LAMBDA_SGD:g}",
                    R,
                    mr,
                    ser,
                    k=3,
                    bias=5.0 * (R or 0.0) / d + 0.02 * (R or 0.0),
                    note="3 stderr + 5R/d finite-size bias + 0.02 R SGD fluctuation",
                )
            )
    verdict, reason = verdict_from(rows, what="Mei-Montanari risk, peak and SGD")
    sizes = {"d": d, "n": int(round(psi2 * d)), "psi2": psi2, "width N": _widths(ctx.mode, PSI1_GRID), "n_test": s["n_test"]}
    return ClaimOutcome(verdict, reason, tuple(rows), sizes, s["seeds"])


def peak_shift(psi1: np.ndarray, risk: np.ndarray, stderr: np.ndarray, curve_psi1: np.ndarray,
               curve_risk: np.ndarray) -> tuple[float, float]:
    r"""Horizontal scale f of the measured risk curve against the theory curve near the peak.

    Weighted least squares over f of sum_j (risk_j - R(psi1_j / f))^2 / stderr_j^2, with R
    interpolated from (curve_psi1, curve_risk); f > 1 means the measured curve (and its peak) lies
    at larger psi1. Standard error by Gauss-Newton, 1 / sqrt(sum_j (dR(psi1_j/f)/df / stderr_j)^2),
    inflated by sqrt(chi^2 / dof) when the fit is worse than the stderrs allow. Uses every point
    of the window, not only the arg max.

    >>> x = np.linspace(1.0, 3.0, 401); R = 3 - (x - 2) ** 2
    >>> pts = np.array([1.6, 1.8, 2.0, 2.2, 2.4]) * 1.05
    >>> round(peak_shift(pts, 3 - (pts / 1.05 - 2) ** 2, np.full(5, 0.01), x, R)[0], 4)
    1.05
    """
    from scipy.optimize import minimize_scalar

    psi1, risk, w = (np.asarray(v, float) for v in (psi1, risk, stderr))
    w = 1.0 / np.maximum(w, 1e-12)

    def model(f: float) -> np.ndarray:
        return np.interp(psi1 / f, curve_psi1, curve_risk)

    f = float(minimize_scalar(lambda f: float(np.sum(((risk - model(f)) * w) ** 2)), bounds=(0.6, 1.6),
                              method="bounded", options={"xatol": 1e-7}).x)
    h = 1e-4
    J = (model(f + h) - model(f - h)) / (2 * h) * w
    info = float(J @ J)
    if info <= 0:
        return f, math.nan
    dof = max(len(psi1) - 1, 1)
    chi2 = float(np.sum(((risk - model(f)) * w) ** 2)) / dof
    return f, math.sqrt(max(chi2, 1.0) / info)


def _peak_row(tab, pred: dict, psi2: float) -> Comparison:
    """The double-descent peak location: the theory curve's peak (at the finite lambda) times the fitted
    horizontal scale of the measured small-ridge curve over PEAK_GRID (:func:`peak_shift`)."""
    q = f"double-descent peak location psi1 (lambda={LAMBDA_DD:g}, curve fitted over psi1 in [{PEAK_GRID[0]:g}, {PEAK_GRID[-1]:g}])"
    sel = tab[np.isin(np.round(np.asarray(tab["psi1"], float), 6), np.round(PEAK_GRID, 6))] if len(tab) else tab
    if len(sel) < len(PEAK_GRID) or int(sel["count"].min()) < 2:
        return Comparison(q, pred["peak_psi1"], None, None, None, None, "not all grid points near the peak measured")
    curve = pred["peak_curve"]
    f, se = peak_shift(sel["psi1"].to_numpy(float), sel["mean"].to_numpy(float), sel["stderr"].to_numpy(float),
                       np.asarray(curve["psi1"]), np.asarray(curve["risk"]))
    runs = int(sel["count"].min())
    kt = t_factor(runs)
    peak = curve["argmax"]
    return compare(q, pred["peak_psi1"], f * peak, se * peak, k=kt, count=runs,
                   note=f"theory peak {peak:.4g} (lambda = {LAMBDA_DD:g}) x fitted scale {f:.4f} of the measured curve "
                        f"({len(sel)} points, {runs} seeds each); t99 = {kt:.3g} stderr")


def _key(p: float, table: dict) -> str:
    """The key of ``table`` (psi1 as text) closest to p."""
    keys = list(table)
    return keys[int(np.argmin([abs(float(k) - float(p)) for k in keys]))] if keys else ""


def plot(ctx: ClaimContext, pred: dict, outcome: ClaimOutcome) -> list[Path]:
    out: list[Path] = []
    psi2 = pred["psi2"]
    fig, ax = plots.figure(width=4.8, height=3.4)
    curve = np.asarray(pred["psi1_curve"])
    for i, (sweep, key, lam) in enumerate((("dd", "risk_dd_curve", LAMBDA_DD), ("dd_reg", "risk_reg_curve", LAMBDA_REG))):
        plots.theory_line(ax, curve, pred[key], f"Mei-Montanari, lambda={lam:g}", i=i)
        tab = _by_psi1(ctx.ok(sweep), "test_risk")
        if len(tab):
            plots.sim_points(ax, tab["psi1"], tab["mean"], tab["stderr"], f"ridge simulation, lambda={lam:g}", i=i)
    sgd = summarise(ctx.ok("sgd"), "psi1", "sgd_test_risk")
    if len(sgd):
        plots.sim_points(ax, sgd["psi1"], sgd["mean"], sgd["stderr"], f"SGD readout, lambda={LAMBDA_SGD:g}", i=2, marker="s")
        plots.theory_line(ax, curve, pred["risk_sgd_curve"], f"Mei-Montanari, lambda={LAMBDA_SGD:g}", i=2, ls="--", lw=1)
    ax.axvline(psi2, color="0.5", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel(r"$\psi_1 = N/d$  (interpolation at $\psi_1=\psi_2$)")
    ax.set_ylabel(r"test risk $E(f^*-\hat f)^2$")
    ax.set_title(f"C8: RF ridge risk vs width, psi2 = n/d = {psi2:g}, d = {_sizes(ctx.mode)['d']}")
    ax.legend(loc="upper right")
    plots.annotate_verdict(ax, outcome.verdict)
    out += plots.save(fig, ctx.outdir, "c8_risk_vs_psi1")

    frame = ctx.ok("sgd")
    fig, ax = plots.figure(width=6.4, height=3.4)
    if len(frame):
        for i, (p, grp) in enumerate(frame.groupby("psi1")):
            curves = []
            for rid in grp["row_id"]:
                arr = ctx.arrays("sgd", int(rid))
                if "sgd_curve" in arr:
                    curves.append((arr["sgd_epochs"], arr["sgd_curve"]))
            if curves:
                ep = curves[0][0]
                vals = np.array([c[1] for c in curves if len(c[1]) == len(ep)])
                se = vals.std(axis=0, ddof=1) / np.sqrt(len(vals)) if len(vals) > 1 else None
                plots.sim_points(ax, ep, vals.mean(axis=0), se, f"SGD, psi1={p:g}", i=i, marker=".")
            ridge = mean_stderr(grp["test_risk"].tolist())[0]
            ax.axhline(ridge, color=plots.color(i), ls="--", lw=1, label=f"ridge solution, psi1={p:g}")
            R = pred["risk_sgd"].get(_key(p, pred["risk_sgd"]))
            if R is not None:
                ax.axhline(R, color=plots.color(i), ls=":", lw=1.2)
    ax.set_xscale("log")
    ax.set_xlabel("passes over the training set (SGD, constant step, batch 20)")
    ax.set_ylabel("test risk")
    ax.set_title(f"C8: SGD readout converges to the ridge risk (lambda={LAMBDA_SGD:g}; dotted: theory)")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    out += plots.save(fig, ctx.outdir, "c8_sgd_convergence")
    return out


CLAIM = register(
    Claim(
        id="C8",
        title="Random-features regression: Mei-Montanari risk, double descent, SGD readout",
        statement=(
            "The test risk of ridge regression on random features converges to the Mei-Montanari formula; "
            "at small ridge it peaks at the interpolation threshold N = n (double descent); a readout trained "
            "by SGD from zero converges to the same risk."
        ),
        source="Mei & Montanari 2019 (arXiv 1908.05355); seed 004; docs/theory.md, section 4; docs/claims.md, C8",
        sweeps=sweeps,
        predict=predict,
        analyse=analyse,
        plot=plot,
        headline={
            "Mei-Montanari risk": lambda p, f: scaled(p, f, "risk_dd.*", "risk_reg.*", "risk_sgd.*"),
            "double-descent peak location": lambda p, f: scaled(p, f, "peak_psi1"),
        },
        setting=(
            f"Features sigma(<w_j,x>) with sigma = {ACTIVATION}, unit-norm rows w_j, x ~ N(0, I_d); target "
            f"y = He1(z) + 0.5 He2(z)/sqrt(2) + {NOISE} eps (F1 = 1, F*^2 = 0.25); n = psi2 d, psi2 = 2; ridge "
            f"readout at Mei-Montanari lambda = {LAMBDA_DD:g} and {LAMBDA_REG:g} over psi1 = N/d in [0.25, 8]; "
            f"mini-batch SGD (batch 20, constant step 0.5 in units of the stability bound) at lambda = "
            f"{LAMBDA_SGD:g}. Test risk against the noiseless target on fresh samples."
        ),
    )
)
