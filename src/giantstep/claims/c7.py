r"""C7: a phase transition in delta = n/d, read off the Hessian's negative outlier (delta_NN), beside delta_alg.

Claim (Montanari & Wang 2026, arXiv 2602.01434; docs/phase_transitions.md; docs/claims.md): a fixed-width network
trained by GD first learns the directions of large gradients; then the dynamics is driven by the
negative directions of the empirical-risk Hessian, and feature learning becomes possible at the delta
where that Hessian acquires a negative outlier informative about span(Theta*), delta_NN >= delta_alg.

Setting. Width m = 1, quadratic activation sigma(t) = t^2, a = 1, trained output bias b, started
next to the saddle W = 0 (||w|| = 1e-12, so that the bias is fitted long before W leaves the saddle); teachers y = tanh(||z||) with k = 1 (y = tanh|z|) and k = 2,
noiseless. Phase 1 (large gradient) fits the bias b -> mean(y); it ends by the rule of
:func:`giantstep.smallwidth.phase_end` (||grad|| below 1% of its peak). There the Hessian in W is
-2 D_T with T = y - b (docs/phase_transitions.md; the Gauss-Newton part vanishes since sigma'(0) = 0), so
its negative outlier is predicted by the spectral-method formulas of 10.2 for T(y) = y - E[y]:
threshold delta_T, outlier location -2 zeta(lambda*) and cos^2. delta_alg (docs/phase_transitions.md) is 1/2 for k = 1
and 1 for k = 2 (tanh is injective on [0, inf), so these equal the phase-retrieval values k/2).

Measurement of delta_NN. For each d, the Hessian outlier overlap cos^2 (mean mass of the bottom k
eigenvectors in span(Theta*)) is averaged over seeds at each delta of a ladder, and a straight line in
gamma = 1/delta is fitted through the cells with 0.15 <= cos^2 <= 0.5 (near a BBP-type transition
cos^2 is linear in gamma; the band excludes the finite-size floor below the transition, ~0.1 at
d = 100-200, and the saturation above it). Its zero is delta_c(d); the standard error is half the
16-84% range of a bootstrap over seeds. The line has a shape bias (the asymptotic curve is concave
in gamma): applying the same estimator to the asymptotic cos^2 at the same ladder gives
delta_c^theory, and delta_NN := delta_c(d_max) - (delta_c^theory - delta_T) is the calibrated value.
Finite size: the BBP window shrinks as d^{-1/3}; the change of delta_c between the two largest d
(ratio r) estimates the remaining correction at d_max as drift / (r^{1/3} - 1), stated as the
systematic error.

Verdict rows: (i) delta_NN vs delta_T, tolerance t99 * se + systematic; (ii) delta_NN >= delta_alg
(passes when delta_NN + t99 se + systematic >= delta_alg); (iii) the mean of the k outlier eigenvalues
of the Hessian and the outlier cos^2 at the largest delta, extrapolated to d = inf from the two largest
d as v_inf = (r v(d_max) - v(d_prev)) / (r - 1) (O(1/d) finite-size bias of a spiked spectrum; the
mean of the k degenerate outliers is used because their minimum is biased by O(d^{-1/2})), tolerance
t99 * (propagated stderr); (iv) the final overlap after training is reported, not decided.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .. import plots
from .base import scaled, Claim, ClaimContext, ClaimOutcome, Comparison, compare, summarise, t_factor, verdict_from
from .registry import register

TARGETS = {
    "k1": {"link": "tanh", "k": 1, "combine": "norm", "noise": 0.0, "label": r"$y=\tanh|z|$ ($k=1$)",
           "ladder": [0.4, 0.6, 0.8, 1.0, 1.3, 1.6, 2.0, 2.5, 3.0]},
    "k2": {"link": "tanh", "k": 2, "combine": "norm", "noise": 0.0, "label": r"$y=\tanh\|z\|$ ($k=2$)",
           "ladder": [0.8, 1.2, 1.6, 2.0, 2.5, 3.0, 4.0, 5.0]},
}
SIZES = {
    "quick": {"d": [100, 200], "seeds": 4, "steps": 300, "spectra_d": 200},
    "full": {"d": [200, 400, 800], "seeds": 6, "steps": 600, "spectra_d": 400},
}
SPECTRA_DELTAS = {"k1": [0.4, 1.0, 3.0], "k2": [1.2, 2.5, 5.0]}
FIT_BAND = (0.15, 0.5)
HESS_EIGS = 40
BOOTSTRAP = 200


def _base(mode: str, key: str) -> dict:
    t = TARGETS[key]
    return {
        "kind": "phase",
        "d": SIZES[mode]["d"][0],
        "delta": t["ladder"][0],
        "width": 1,
        "activation": "square",
        "second_layer": "ones",
        "output_bias": True,
        "init_scale": 1e-12,
        "teacher": {"link": t["link"], "k": t["k"], "combine": t["combine"], "noise": t["noise"]},
        "gd": {"lr": 0.2, "steps": SIZES[mode]["steps"], "record_every": 10, "rho": 0.01, "floor": 1e-6},
        "hessian": {"eigs": HESS_EIGS},
        "theory": False,
    }


def sweeps(mode: str) -> dict[str, dict]:
    s = SIZES[mode]
    out = {}
    for key, t in TARGETS.items():
        out[f"ladder_{key}"] = {"base": _base(mode, key), "grid": {"delta": t["ladder"], "d": s["d"]}, "seeds": s["seeds"]}
        base = _base(mode, key)
        base["d"] = s["spectra_d"]
        base["hessian"] = {"eigs": s["spectra_d"]}  # the whole spectrum (m = 1: P = d)
        out[f"spectra_{key}"] = {"base": base, "grid": {"delta": SPECTRA_DELTAS[key]}, "seeds": 1}
    return out


# ----------------------------------------------------------------------------------------------
# theory


def _preprocessing(key: str):
    from ..theory.spectral_threshold import Preprocessing, _get_law

    t = TARGETS[key]
    law = _get_law(t["link"], Preprocessing(), t["noise"], t["k"], t["combine"])
    return Preprocessing(shift=float(law.w @ law.T))


def predict(mode: str) -> dict:
    from ..theory.delta_alg import delta_alg, multi_index_delta_alg, single_index_link
    from ..theory.spectral_threshold import spectral_prediction, spectral_threshold

    out: dict = {}
    for key, t in TARGETS.items():
        T = _preprocessing(key)
        if t["k"] == 1:
            da = delta_alg(single_index_link(t["link"], t["combine"]), t["noise"]).delta_alg
        else:
            da = multi_index_delta_alg(t["link"], t["combine"], t["k"], t["noise"]).delta_alg
        dT = spectral_threshold(t["link"], T, t["noise"], t["k"], t["combine"])
        lo, hi = min(t["ladder"]), max(t["ladder"])
        curve = np.unique(np.concatenate([np.linspace(lo, hi, 16), [dT * 1.0005] if lo < dT < hi else []]))
        pts = {}
        for dl in sorted(set(curve.tolist()) | set(t["ladder"]) | set(SPECTRA_DELTAS[key])):
            p = spectral_prediction(t["link"], T, dl, t["noise"], t["k"], t["combine"])
            # H = -2 D_T at the end of phase 1 (a sigma''(0) = 2)
            pts[repr(float(dl))] = {"cos2": p.cos2, "hess_min": -2.0 * p.top, "hess_edge": -2.0 * p.edge,
                                    "gap": 2.0 * (p.top - p.edge)}
        ladder_cos2 = [pts[repr(float(x))]["cos2"] for x in t["ladder"]]
        est = estimate_threshold(np.asarray(t["ladder"], float), np.asarray(ladder_cos2, float))
        out[key] = {"delta_alg": da, "delta_T": dT, "shift": T.shift, "points": pts, "delta_c_estimator": est,
                    "estimator_bias": est - dT, "label": t["label"], "k": t["k"]}
    return out


# ----------------------------------------------------------------------------------------------
# the threshold estimator


def estimate_threshold(deltas: np.ndarray, cos2: np.ndarray, lo: float = FIT_BAND[0], hi: float = FIT_BAND[1]) -> float:
    """delta_c from a straight line cos2 = a0 + a1/delta through the points with lo <= cos2 <= hi.

    Near a BBP-type transition cos^2 is linear in gamma = 1/delta; the band excludes the finite-size
    floor below the transition and the saturation far above it. delta_c = -a1/a0 (the zero of the
    line). NaN when fewer than 3 points lie in the band or the slope has the wrong sign. The estimator
    has a shape bias (the true curve is concave in gamma); it is calibrated on the asymptotic curve
    (see :func:`predict`).

    >>> x = np.array([1.0, 1.25, 2.0, 4.0]); y = 0.6 * (1 / 0.8 - 1 / x)
    >>> round(estimate_threshold(x, y), 6)
    0.8
    """
    deltas, cos2 = np.asarray(deltas, float), np.asarray(cos2, float)
    m = np.isfinite(cos2) & (cos2 >= lo) & (cos2 <= hi)
    if m.sum() < 3:
        return math.nan
    a1, a0 = np.polyfit(1.0 / deltas[m], cos2[m], 1)
    if not (a0 > 0 and a1 < 0):
        return math.nan
    return float(-a1 / a0)


def measure_threshold(frame, metric: str = "outlier_overlap_theta", seed: int = 0, boot: int = BOOTSTRAP) -> tuple[float, float]:
    """(delta_c, bootstrap stderr over seeds) from one size's ladder frame (columns delta, metric)."""
    if frame is None or len(frame) == 0 or metric not in frame.columns:
        return math.nan, math.nan
    groups = [(float(dl), g[metric].to_numpy(float)) for dl, g in frame.groupby("delta", sort=True)]
    deltas = np.array([g[0] for g in groups])
    est = estimate_threshold(deltas, np.array([np.nanmean(v) for _, v in groups]))
    if not math.isfinite(est):
        return est, math.nan
    rng = np.random.default_rng(seed)
    reps = []
    for _ in range(boot):
        means = np.array([np.nanmean(rng.choice(v, size=v.size, replace=True)) for _, v in groups])
        r = estimate_threshold(deltas, means)
        if math.isfinite(r):
            reps.append(r)
    # half the 16-84% range: robust to the occasional resample that moves a point across the band edge
    se = float(np.subtract(*np.percentile(reps, [84, 16])) / 2) if len(reps) > 10 else math.nan
    return est, se


_CACHE: dict = {}


def delta_nn(ctx: ClaimContext, key: str) -> dict:
    """delta_c at every d, and delta_NN = delta_c(d_max) with statistical and finite-size errors (cached per frame)."""
    frame = ctx.ok(f"ladder_{key}")
    tag = (id(ctx.frames.get(f"ladder_{key}")), len(frame), ctx.mode, key)
    if tag not in _CACHE:
        _CACHE.clear() if len(_CACHE) > 32 else None
        _CACHE[tag] = _delta_nn(ctx, key)
    return _CACHE[tag]


def _delta_nn(ctx: ClaimContext, key: str) -> dict:
    frame = ctx.ok(f"ladder_{key}")
    sizes = SIZES[ctx.mode]["d"]
    per_d = {}
    for d in sizes:
        sub = frame[frame["d"] == d] if len(frame) and "d" in frame.columns else frame.iloc[0:0] if len(frame) else frame
        per_d[d] = measure_threshold(sub)
    dmax = sizes[-1]
    val, se = per_d[dmax]
    sys = math.nan
    if len(sizes) >= 2:
        prev = per_d[sizes[-2]][0]
        if math.isfinite(prev) and math.isfinite(val):
            ratio = dmax / sizes[-2]
            sys = abs(val - prev) / (ratio ** (1.0 / 3.0) - 1.0)
    return {"per_d": {str(d): {"delta_c": v, "stderr": s} for d, (v, s) in per_d.items()},
            "delta_nn": val, "stderr": se, "systematic": sys, "d_max": dmax}


# ----------------------------------------------------------------------------------------------
# verdict


def _extrapolate(sub_prev, sub_max, metric: str, top_delta: float, r: float) -> tuple[float, float, int]:
    """(v_inf, stderr, runs) from the two largest sizes: v_inf = (r v_max - v_prev) / (r - 1)."""
    def cell(frame):
        if frame is None or len(frame) == 0 or metric not in frame.columns:
            return math.nan, math.nan, 0
        v = frame[np.isclose(frame["delta"].astype(float), top_delta)][metric].to_numpy(float)
        v = v[np.isfinite(v)]
        if v.size < 2:
            return math.nan, math.nan, int(v.size)
        return float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size)), int(v.size)

    m1, s1, n1 = cell(sub_max)
    m0, s0, n0 = cell(sub_prev)
    return (r * m1 - m0) / (r - 1), math.hypot(r * s1, s0) / (r - 1), min(n0, n1)


def analyse(ctx: ClaimContext, pred: dict) -> ClaimOutcome:
    s = SIZES[ctx.mode]
    rows: list[Comparison] = []
    dmax, dprev = s["d"][-1], s["d"][-2]
    r = dmax / dprev
    meas = {}
    for key, t in TARGETS.items():
        p = pred[key]
        name = "k=%d" % t["k"]
        m = delta_nn(ctx, key)
        val = m["delta_nn"] - p["estimator_bias"]
        meas[key] = {**m, "calibrated": val}
        kt = t_factor(max(s["seeds"], 2))
        se = m["stderr"]
        sys_v = m["systematic"] if math.isfinite(m["systematic"]) else 0.0
        rows.append(compare(
            f"{name}: delta_NN (Hessian negative-outlier threshold, d={dmax})", p["delta_T"], val, se, k=kt, bias=sys_v,
            note=(f"calibrated band-fit estimate ({m['delta_nn']:.3f} - estimator bias {p['estimator_bias']:.3f} on the "
                  f"asymptotic curve); bootstrap se over {s['seeds']} seeds; systematic (finite size) {sys_v:.3g}"),
        ))
        da = p["delta_alg"]
        if math.isfinite(val) and se is not None and math.isfinite(se):
            tol = kt * se + sys_v
            rows.append(Comparison(f"{name}: delta_NN >= delta_alg", da, val, se, tol, bool(val + tol >= da),
                                   f"passes when delta_NN + {kt:.3g} se + systematic >= delta_alg = {da:.4f}"))
        else:
            rows.append(Comparison(f"{name}: delta_NN >= delta_alg", da, None, None, None, None, "delta_NN not measured"))
        top_delta = max(t["ladder"])
        pt = p["points"][repr(float(top_delta))]
        frame = ctx.ok(f"ladder_{key}")
        sub_max = frame[frame["d"] == dmax] if len(frame) else frame
        sub_prev = frame[frame["d"] == dprev] if len(frame) else frame
        for metric, key_pred, what in (
            ("hess_outlier_mean", "hess_min", f"mean of the {t['k']} smallest Hessian eigenvalues"),
            ("outlier_overlap_theta", "cos2", "outlier cos^2 with span(Theta*)"),
        ):
            v, se_v, runs = _extrapolate(sub_prev, sub_max, metric, top_delta, r)
            kk = t_factor(max(runs, 2))
            rows.append(compare(f"{name}: {what} at delta={top_delta:g}, d -> inf", pt[key_pred], v, se_v, k=kk,
                                note=f"1/d extrapolation from d = {dprev}, {dmax}; {runs} seeds; t99 x propagated stderr"))
        tab = summarise(sub_max, "delta", "final_best_overlap")
        if len(tab):
            last = tab.iloc[-1]
            rows.append(Comparison(f"{name}: final overlap after {s['steps']} GD steps at delta={last['delta']:g}", None,
                                   float(last["mean"]), float(last["stderr"]), None, None, "reported; no asymptotic prediction"))
    verdict, reason = verdict_from(rows, what="Hessian negative-outlier threshold vs spectral theory and delta_alg")
    summary = "; ".join(
        f"k={TARGETS[k]['k']}: delta_NN = {meas[k]['calibrated']:.3f} +- {meas[k]['stderr']:.3f} (stat) +- "
        f"{meas[k]['systematic']:.3f} (finite size) vs delta_T = {pred[k]['delta_T']:.3f}, delta_alg = {pred[k]['delta_alg']:.3f}"
        for k in TARGETS
    )
    sizes = {"d": s["d"], "width m": 1, "n": "delta d", "GD steps": s["steps"], "spectra d": s["spectra_d"]}
    return ClaimOutcome(verdict, f"{reason} {summary}.", tuple(rows), sizes, s["seeds"])


# ----------------------------------------------------------------------------------------------
# figures


def plot(ctx: ClaimContext, pred: dict, outcome: ClaimOutcome) -> list[Path]:
    s = SIZES[ctx.mode]
    out: list[Path] = []
    # 1. phase diagram
    fig, axes = plots.figure(ncols=2, width=9.0, height=3.7)
    for j, (key, t) in enumerate(TARGETS.items()):
        ax = axes[j]
        p = pred[key]
        xs = sorted(float(x) for x in p["points"])
        plots.theory_line(ax, xs, [p["points"][repr(x)]["cos2"] for x in xs], "theory: Hessian outlier $\\cos^2$", i=0)
        frame = ctx.ok(f"ladder_{key}")
        m = dict(delta_nn(ctx, key))
        m["delta_nn"] = m["delta_nn"] - p["estimator_bias"]
        for i, d in enumerate(s["d"]):
            sub = frame[frame["d"] == d] if len(frame) else frame
            tab = summarise(sub, "delta", "outlier_overlap_theta")
            if len(tab):
                plots.sim_points(ax, tab["delta"], tab["mean"], tab["stderr"], f"Hessian outlier $\\cos^2$, d={d}", i=i + 1)
            tab = summarise(sub, "delta", "final_best_overlap")
            if len(tab):
                plots.sim_points(ax, tab["delta"], tab["mean"], tab["stderr"], f"final overlap after GD, d={d}", i=i + 1,
                                 marker="s", mfc="none", ls=":")
        ax.axvline(p["delta_alg"], color="k", ls="--", lw=1.0, label=f"$\\delta_{{alg}}$ = {p['delta_alg']:.3g}")
        ax.axvline(p["delta_T"], color=plots.color(0), ls=":", lw=1.2, label=f"$\\delta_T$ (theory) = {p['delta_T']:.3g}")
        if math.isfinite(m["delta_nn"]):
            err = math.hypot(m["stderr"] if math.isfinite(m["stderr"]) else 0.0, m["systematic"] if math.isfinite(m["systematic"]) else 0.0)
            ax.axvline(m["delta_nn"], color=plots.color(1), lw=1.2, label=f"$\\delta_{{NN}}$ measured = {m['delta_nn']:.3g} $\\pm$ {err:.2g}")
            ax.axvspan(m["delta_nn"] - err, m["delta_nn"] + err, color=plots.color(1), alpha=0.12, lw=0)
        ax.set_xlabel(r"sample ratio $\delta = n/d$")
        ax.set_ylabel(r"overlap with span$(\Theta^*)$")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlim(0.0, max(t["ladder"]) * 1.05)
        ax.set_title(t["label"] + ", width m = 1, $\\sigma(t)=t^2$")
        ax.legend(loc="upper left", fontsize=6.0, framealpha=0.85, frameon=True)
    fig.suptitle("C7: phase transition in $\\delta$ - Hessian negative outlier at the end of the large-gradient phase")
    plots.annotate_verdict(axes[1], outcome.verdict)
    out += plots.save(fig, ctx.outdir, "c7_phase_diagram")

    # 2. Hessian spectra at several delta
    fig, axes = plots.figure(ncols=3, nrows=2, width=10.5, height=6.0)
    for j, (key, t) in enumerate(TARGETS.items()):
        frame = ctx.ok(f"spectra_{key}")
        p = pred[key]
        for i, dl in enumerate(SPECTRA_DELTAS[key]):
            ax = axes[j, i]
            rows = frame[np.isclose(frame["delta"].astype(float), dl)] if len(frame) else frame
            vals = np.array([])
            if len(rows):
                vals = np.asarray(ctx.arrays(f"spectra_{key}", rows.iloc[0]["row_id"]).get("hess_eigs", []), float)
            pt = p["points"].get(repr(float(dl)), {})
            if vals.size:
                kq = t["k"]
                ax.hist(vals, bins=50, color="0.75", edgecolor="0.55", lw=0.4, density=True, label="Hessian eigenvalues")
                ax.plot(vals[:kq], np.zeros(kq), "v", color=plots.color(1), ms=7, label=f"bottom {kq} (outlier candidates)")
            if pt:
                ax.axvline(pt["hess_edge"], color=plots.color(0), ls=":", lw=1.1, label="predicted bulk edge")
                if pt["cos2"] > 0:
                    ax.axvline(pt["hess_min"], color=plots.color(1), ls="--", lw=1.1, label="predicted outlier")
            ax.set_title(f"{t['label']}, $\\delta$ = {dl:g} (pred. $\\cos^2$ = {pt.get('cos2', float('nan')):.2f})")
            ax.set_xlabel("Hessian eigenvalue")
            ax.set_ylabel("density")
            ax.legend(loc="upper right", fontsize=6)
    fig.suptitle(f"C7: Hessian spectra at the end of the large-gradient phase (d = {s['spectra_d']})")
    out += plots.save(fig, ctx.outdir, "c7_hessian_spectra")

    # 3. outlier gap vs delta for several d
    fig, axes = plots.figure(ncols=2, width=9.0, height=3.5)
    for j, (key, t) in enumerate(TARGETS.items()):
        ax = axes[j]
        p = pred[key]
        xs = sorted(float(x) for x in p["points"])
        plots.theory_line(ax, xs, [p["points"][repr(x)]["gap"] for x in xs], "theory: 2 (top - edge) of $D_T$", i=0)
        frame = ctx.ok(f"ladder_{key}")
        for i, d in enumerate(s["d"]):
            sub = frame[frame["d"] == d] if len(frame) else frame
            tab = summarise(sub, "delta", "hess_gap")
            if len(tab):
                plots.sim_points(ax, tab["delta"], tab["mean"], tab["stderr"], f"d = {d}", i=i + 1)
        ax.axvline(p["delta_T"], color=plots.color(0), ls=":", lw=1.2, label="$\\delta_T$")
        ax.axvline(p["delta_alg"], color="k", ls="--", lw=1.0, label="$\\delta_{alg}$")
        ax.set_xlabel(r"$\delta = n/d$")
        ax.set_ylabel(f"outlier gap $\\lambda_{{{t['k'] + 1}}} - \\lambda_{{{t['k']}}}$")
        ax.set_title(t["label"])
        ax.legend(loc="upper right", fontsize=6.5, framealpha=0.85, frameon=True)
    fig.suptitle("C7: negative-outlier gap of the Hessian vs $\\delta$ (below $\\delta_T$ the finite-d gap is edge spacing, O(d$^{-2/3}$))")
    out += plots.save(fig, ctx.outdir, "c7_outlier_gap")
    return out


CLAIM = register(
    Claim(
        id="C7",
        title="Phase transition in n/d: the Hessian's negative outlier (delta_NN) beside delta_alg",
        statement=(
            "After the large-gradient phase, GD on a fixed-width network is driven by negative Hessian directions; "
            "an informative negative outlier appears at delta_NN >= delta_alg (Montanari & Wang 2026)."
        ),
        source="Montanari & Wang, arXiv 2602.01434; docs/phase_transitions.md; docs/claims.md",
        sweeps=sweeps,
        predict=predict,
        analyse=analyse,
        plot=plot,
        headline={
            "delta_T": lambda p, f: scaled(p, f, "*.delta_T"),
            "Hessian outlier eigenvalue": lambda p, f: scaled(p, f, "*.points.*.hess_min"),
            "Hessian outlier cos^2": lambda p, f: scaled(p, f, "*.points.*.cos2"),
        },
        setting=(
            "Width m = 1, sigma(t) = t^2, a = 1, trained output bias, init ||w|| = 1e-12 (next to the saddle W = 0); "
            "teachers y = tanh(||z||), k = 1 and k = 2, noiseless; full-batch GD (lr 0.2) on n = delta d samples; "
            "Hessian in W at the end of the large-gradient phase (bias fitted; ||grad|| <= 1% of its peak); "
            "delta ladder x d ladder x seeds; delta_NN from a BBP-shape fit of the outlier cos^2, bootstrap over seeds, "
            "finite-size drift across d."
        ),
    )
)
