r"""C7: a phase transition in delta = n/d, read off the Hessian's negative outlier (delta_NN), beside delta_alg.

Claim (Montanari & Wang 2026, arXiv 2602.01434; docs/phase_transitions.md; docs/claims.md): a fixed-width network
trained by GD first learns the directions of large gradients; then the dynamics is driven by the
negative directions of the empirical-risk Hessian, and feature learning becomes possible at the delta
where that Hessian acquires a negative outlier informative about span(Theta*), delta_NN >= delta_alg.

Setting. Width m = 1, quadratic activation sigma(t) = t^2, a = 1, trained output bias b, started
next to the saddle W = 0 (||w|| = 1e-12, so that the bias is fitted long before W leaves the saddle);
teachers y = tanh(||z||) with k = 1 (y = tanh|z|) and k = 2, noiseless. Phase 1 (large gradient)
fits the bias b -> mean(y); it ends by the rule of :func:`giantstep.smallwidth.phase_end`. The
sweeps that decide (``curve``) use rho = 1e-4: b - mean(y) decays as 0.8^t at lr 0.2, so the phase
ends at step 42 with b within 1e-4 of its initial offset (T = y - b is the centred label to ~6e-5;
with rho = 0.01 it would be off by 0.0092 E[y] = 5e-3 (k = 1) and 7e-3 (k = 2), which moves the
predicted outlier eigenvalue by 1.9% and 4.9%) while W has grown
only to ~1e-5. The ``ladder`` and ``spectra`` sweeps (figures, reported rows) keep rho = 0.01: below
delta ~ 0.5 (n < d) W grows fast enough that the stricter rule would not fire.
At the end of phase 1 the Hessian in W is -2 D_T with T = y - b (docs/phase_transitions.md; the Gauss-Newton part
vanishes since sigma'(0) = 0), so its negative outlier is predicted by the spectral-method formulas
of :mod:`giantstep.theory.spectral_threshold` for T(y) = y - E[y]: threshold delta_T, outlier
location -2 zeta(lambda*) and cos^2(delta). delta_alg (docs/phase_transitions.md) is 1/2 for k = 1
and 1 for k = 2 (tanh is injective on [0, inf), so these equal the phase-retrieval values k/2).

The staircase (third target, ``stair``; docs/phase_transitions.md, "The staircase"): a first phase that
learns one direction, then the Hessian's outlier along the next. y = 3 tanh(z_1) sqrt(e) cos(z_2)
(``combine: gated``: z_2 is invisible to every correlation of y with a function of z_2), one tanh
neuron (a = 1) at w = 0, b = 0, one full-batch gradient step of size ETA_STAIR = 1 on (w, b) -- it
learns z_1 -- and the Hessian in w there, H = -D_T with T = sigma''(u) (y - sigma(u) - b_1) -
sigma'(u)^2, u = <w_1, x>: a preprocessing that depends on the learned coordinate.
:mod:`giantstep.theory.one_step_hessian` derives the law of T at finite delta (the step's noise
direction and each sample's own term) and predicts the outlier along theta_2 (eigenvalue, cos^2) and
its threshold delta_T = 10.31; the population-fit preprocessing (the learned direction exact)
predicts 2.39 instead. Measured: the eigenpair of H with the largest mass on theta_2
(``next_value``, ``next_overlap``), on a curve at x = delta / delta_T ~ 1.2-2 (the outlier is
negative there), fitted by the same estimator.

Measurement of delta_NN: the whole cos^2 curve. The spectral theory predicts the outlier cos^2 as a
function of x = delta / delta_T alone, C(x) (0 for x <= 1; the ``shape`` of :func:`predict`). The
measured curve, cos^2 of the bottom-k Hessian eigenvectors with span(Theta*) at the deltas of the
``curve`` ladder, is fitted by C(delta / delta_NN) with one free parameter, delta_NN (least squares
over the ladder's cell means; grid then refined grid in log delta_NN): a horizontal scale of the
predicted curve, so that every cell of the curve informs the threshold. The ladder (x ~ 3-6) is
chosen in advance outside the finite-size window of the transition: there the predicted
separation of the outlier from the bulk edge, (top - edge)/edge = 0.08-0.26 (k = 1) and 0.11-0.34
(k = 2), is 4-19 times the edge's Tracy-Widom scale d^{-2/3} at d = 400, and cos^2 has an
O(1/d) bias and O(d^{-1/2}) fluctuations. Near x = 1 the separation vanishes quadratically and the
window d^{-1/3} is wide at these sizes (the outlier cos^2 stays lifted to ~0.1-0.2 below delta_T at
d <= 200), which is why a threshold crossing cannot resolve delta_T. delta_NN is fitted at the two
largest sizes d_prev < d_max (ratio r) and extrapolated in 1/d,
delta_NN(inf) = (r delta_NN(d_max) - delta_NN(d_prev)) / (r - 1); its standard error is half the
16-84% range of a bootstrap that resamples the seeds of every cell independently (cells have
independent seeds), the extrapolation applied replicate by replicate.

Verdict rows, per target (t99 = Student t, 99% two-sided, dof = seeds - 1):
(i) delta_NN(inf) vs delta_T, tolerance t99 * se (the resolution; the row's note states it and how
many resolutions separate delta_NN from delta_alg); (ii) delta_NN >= delta_alg (passes when
delta_NN + t99 se >= delta_alg); (iii) the mean over the curve ladder of the mean of the k outlier
eigenvalues of the Hessian and (iv) the mean over the ladder of the outlier cos^2, each extrapolated
in 1/d from d_prev, d_max as v_inf = (r v(d_max) - v(d_prev)) / (r - 1) (the O(1/d) bias of a
spiked spectrum; the mean of the k degenerate outliers because their minimum is biased by
O(d^{-1/2})), tolerance t99 * propagated stderr; (v) delta_NN at each size (with the chi^2/dof of
the fitted shape) and the final overlap after training are reported, not decided. For the staircase:
(i) against its delta_T (the note states how many resolutions separate delta_NN from the
population-fit threshold), (iii)-(iv) for the eigenpair along theta_2, (v); no delta_alg row (it
concerns the first direction: 0 here, z_1 having a linear part). A planted delta_T = delta_alg (0.50 for k = 1, 1.0 for
k = 2) fails row (i) (tests/test_claim_c7.py).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .. import plots
from .base import Claim, ClaimContext, ClaimOutcome, Comparison, compare, scaled, single_blas_thread, summarise
from .base import t_factor, verdict_from
from .registry import register

TARGETS = {
    "k1": {"link": "tanh", "k": 1, "combine": "norm", "noise": 0.0, "label": r"$y=\tanh|z|$ ($k=1$)",
           "protocol": "saddle", "ladder": [0.4, 0.6, 0.8, 1.0, 1.3, 1.6, 2.0, 2.5, 3.0], "curve": [2.0, 2.6, 3.2, 3.9]},
    "k2": {"link": "tanh", "k": 2, "combine": "norm", "noise": 0.0, "label": r"$y=\tanh\|z\|$ ($k=2$)",
           "protocol": "saddle", "ladder": [0.8, 1.2, 1.6, 2.0, 2.5, 3.0, 4.0, 5.0], "curve": [4.4, 5.9, 7.3, 8.8]},
    # the staircase: one gradient step (lr ETA_STAIR) learns z_1, the Hessian's outlier reveals z_2
    "stair": {"link": "3*tanh", "k": 2, "combine": "gated", "noise": 0.0,
              "label": r"$y=3\tanh(z_1)\sqrt{e}\cos z_2$, after one step", "protocol": "one_step",
              "ladder": [4.0, 6.0, 8.0, 10.0, 12.0, 15.0, 20.0, 30.0], "curve": [12.0, 14.0, 17.0, 21.0],
              # full: n = delta d up to 21 d makes d = 2000 cost 9-20 s per run (Lanczos); its per-seed cos^2
              # scatter is small (sd 0.009 at d = 400, delta = 20), so smaller sizes and fewer seeds suffice
              "sizes": {"full": {"curve_d": [800, 1600], "curve_seeds": 12}}},
}
ETA_STAIR = 1.0  # the staircase's gradient step: u = <w_1, x> ~ 1.8 z_1 + noise (theory.one_step_hessian)
# the Hessian's outlier metrics and the activation per protocol: at the saddle the bottom k eigenpairs;
# after the step the eigenpair along the new direction (hessian.OutlierReport.next_*)
METRICS = {"saddle": {"value": "hess_outlier_mean", "cos2": "outlier_overlap_theta", "activation": "square"},
           "one_step": {"value": "next_value", "cos2": "next_overlap", "activation": "tanh"}}
# ladder: the whole delta range at small d (figures, final overlap after GD); curve: the delta_NN fit,
# x = delta / delta_T ~ 3-6, at the two sizes of the 1/d extrapolation, with more seeds
SIZES = {
    "quick": {"d": [100, 200], "seeds": 4, "steps": 300, "spectra_d": 200,
              "curve_d": [400, 800], "curve_seeds": 16, "curve_steps": 50, "hessian_method": "dense"},
    "full": {"d": [200, 400], "seeds": 6, "steps": 600, "spectra_d": 400,
             "curve_d": [1000, 2000], "curve_seeds": 16, "curve_steps": 50, "hessian_method": "lanczos"},
}
SPECTRA_DELTAS = {"k1": [0.4, 1.0, 3.0], "k2": [1.2, 2.5, 5.0], "stair": [8.0, 12.0, 21.0]}
SHAPE_X = (1.0, 40.0, 121)  # the predicted cos^2 shape C(x), x = delta / delta_T, on a geometric grid
SHAPE_X_STAIR = (1.0, 4.0, 61)  # the staircase's (its theory costs ~0.15 s per delta; the curve reaches x ~ 2)
HESS_EIGS = 40
CURVE_EIGS = 8
BOOTSTRAP = 400
# phase-end rule ||grad|| <= rho * its peak: the curve sweeps (the verdict) use 1e-4, b within 1e-4 of its initial
# offset from mean y; the ladder and spectra (figures) keep 0.01, because below delta ~ 0.5 (n < d) the W part of the
# gradient grows past 1e-4 of the peak before the bias has converged that far, and the stricter rule would not fire
RHO = 1e-4
RHO_LADDER = 0.01


def _base(mode: str, key: str, steps: int, eigs: int, method: str = "auto", rho: float = RHO_LADDER) -> dict:
    t = TARGETS[key]
    one_step = t["protocol"] == "one_step"  # w = 0, b = 0, one full-batch step of size ETA_STAIR, the Hessian there
    return {
        "kind": "phase",
        "d": sizes_of(mode, key)["d"][0],
        "delta": t["ladder"][0],
        "width": 1,
        "activation": METRICS[t["protocol"]]["activation"],
        "second_layer": "ones",
        "output_bias": True,
        "init_scale": 0.0 if one_step else 1e-12,
        "teacher": {"link": t["link"], "k": t["k"], "combine": t["combine"], "noise": t["noise"]},
        "gd": ({"lr": ETA_STAIR, "steps": 1, "record_every": 1} if one_step
               else {"lr": 0.2, "steps": steps, "record_every": 10, "rho": rho, "floor": 1e-6}),
        "hessian": {"eigs": eigs, "method": method},
        "theory": False,
    }


def sweeps(mode: str) -> dict[str, dict]:
    out = {}
    for key, t in TARGETS.items():
        s = sizes_of(mode, key)
        out[f"ladder_{key}"] = {"base": _base(mode, key, s["steps"], HESS_EIGS), "grid": {"delta": t["ladder"], "d": s["d"]},
                                "seeds": s["seeds"]}
        out[f"curve_{key}"] = {"base": _base(mode, key, s["curve_steps"], CURVE_EIGS, s["hessian_method"], RHO),
                               "grid": {"delta": t["curve"], "d": s["curve_d"]}, "seeds": s["curve_seeds"]}
        base = _base(mode, key, s["steps"], s["spectra_d"])  # the whole spectrum (m = 1: P = d)
        base["d"] = s["spectra_d"]
        out[f"spectra_{key}"] = {"base": base, "grid": {"delta": SPECTRA_DELTAS[key]}, "seeds": 1}
    return out


def sizes_of(mode: str, key: str) -> dict:
    """SIZES[mode] with the target's own overrides (TARGETS[key]["sizes"][mode])."""
    return {**SIZES[mode], **TARGETS[key].get("sizes", {}).get(mode, {})}


# ----------------------------------------------------------------------------------------------
# theory


def _preprocessing(key: str):
    from ..theory.spectral_threshold import Preprocessing, _get_law

    t = TARGETS[key]
    law = _get_law(t["link"], Preprocessing(), t["noise"], t["k"], t["combine"])
    return Preprocessing(shift=float(law.w @ law.T))


def predict(mode: str) -> dict:
    """delta_alg, delta_T, the Hessian outlier (location, bulk edge, cos^2) at every delta the claim
    uses or plots, and the cos^2 shape C(x), x = delta / delta_T (0 for x <= 1)."""
    from ..theory.delta_alg import delta_alg, multi_index_delta_alg, single_index_link
    from ..theory.spectral_threshold import spectral_prediction, spectral_threshold

    out: dict = {}
    for key, t in TARGETS.items():
        if t["protocol"] == "one_step":
            out[key] = _predict_one_step(key)
            continue
        T = _preprocessing(key)
        law = (t["link"], T, t["noise"], t["k"], t["combine"])
        if t["k"] == 1:
            da = delta_alg(single_index_link(t["link"], t["combine"]), t["noise"]).delta_alg
        else:
            da = multi_index_delta_alg(t["link"], t["combine"], t["k"], t["noise"]).delta_alg
        dT = spectral_threshold(*law)
        hi = max(t["ladder"] + t["curve"])
        grid = np.linspace(min(t["ladder"]), hi, 24).tolist() + [dT * 1.0005]
        pts = {}
        for dl in sorted(set(grid) | set(t["ladder"]) | set(t["curve"]) | set(SPECTRA_DELTAS[key])):
            p = spectral_prediction(law[0], T, dl, *law[2:])
            # H = -2 D_T at the end of phase 1 (a sigma''(0) = 2)
            pts[repr(float(dl))] = {"cos2": p.cos2, "hess_min": -2.0 * p.top, "hess_edge": -2.0 * p.edge,
                                    "gap": 2.0 * (p.top - p.edge)}
        xs = np.geomspace(*SHAPE_X)
        shape = [0.0] + [spectral_prediction(law[0], T, dT * x, *law[2:]).cos2 for x in xs[1:]]
        out[key] = {"delta_alg": da, "delta_T": dT, "shift": T.shift, "points": pts, "label": t["label"], "k": t["k"],
                    "shape": {"x": xs.tolist(), "cos2": shape}}
    return out


def _predict_one_step(key: str) -> dict:
    """The staircase's predictions (theory.one_step_hessian): delta_T of the next direction, the Hessian's
    outlier along it (eigenvalue, bulk edge, cos^2) at every delta used, the cos^2 shape, and for
    contrast the threshold of the population-fit preprocessing (learned direction exact, no noise)."""
    from ..theory.one_step_hessian import next_direction, next_direction_threshold

    t = TARGETS[key]
    args = (t["link"], METRICS["one_step"]["activation"], ETA_STAIR)
    dT = next_direction_threshold(*args, t["combine"])
    grid = np.linspace(min(t["ladder"]), max(t["ladder"] + t["curve"]), 24).tolist() + [dT * 1.0005]
    pts = {}
    for dl in sorted(set(grid) | set(t["ladder"]) | set(t["curve"]) | set(SPECTRA_DELTAS[key])):
        p = next_direction(*args, dl, t["combine"])
        pts[repr(float(dl))] = {"cos2": p.cos2, "hess_min": p.hess_value, "hess_edge": p.hess_edge,
                                "gap": p.hess_edge - p.hess_value}
    xs = np.geomspace(*SHAPE_X_STAIR)
    shape = [0.0] + [next_direction(*args, dT * x, t["combine"]).cos2 for x in xs[1:]]
    return {"delta_T": dT, "delta_T_population": next_direction_threshold(*args, t["combine"], finite_delta=False), "eta": ETA_STAIR,
            "points": pts, "label": t["label"], "k": t["k"], "shape": {"x": xs.tolist(), "cos2": shape}}


# ----------------------------------------------------------------------------------------------
# the whole-curve estimator of delta_NN

COARSE, FINE = 601, 81  # grid points in log delta_NN: coarse search, then refinement around the best
BOOT_SEED = 7


def shape_at(shape: dict, deltas, dnn: float) -> np.ndarray:
    """C(delta / delta_NN) from the predicted shape {"x", "cos2"} (linear in log x, 0 below the grid,
    its last value above it), as :func:`fit_delta_nn` uses it."""
    c = np.asarray(shape["cos2"], float)
    return np.interp(np.log(np.asarray(deltas, float) / dnn), np.log(np.asarray(shape["x"], float)), c, left=0.0, right=c[-1])


def _sse(log_dnn: np.ndarray, log_delta: np.ndarray, means: np.ndarray, lx: np.ndarray, c: np.ndarray) -> np.ndarray:
    """sum_j (means_j - C(delta_j / delta_NN))^2 for log_dnn (..., G) and means (..., J) -> (..., G)."""
    C = np.interp(log_delta - log_dnn[..., None], lx, c, left=0.0, right=c[-1])  # (..., G, J)
    return np.sum((means[..., None, :] - C) ** 2, axis=-1)


def fit_delta_nn(deltas, means, shape: dict) -> np.ndarray:
    """delta_NN as the horizontal scale of the predicted cos^2 shape: argmin_{delta_NN} sum_j (means_j - C(deltas_j / delta_NN))^2.

    deltas (J,); means (..., J) cell means (leading axes: e.g. bootstrap replicates); shape
    {"x", "cos2"}: C on a grid of x = delta / delta_T, interpolated linearly in log x (0 below the
    grid, its last value above it). Search: COARSE points in log delta_NN over
    [log(min delta) - log(x_max), log(max delta)], then FINE points within two coarse steps of the
    best one (resolution ~2e-4 in log delta_NN). Returns an array of shape (...).

    >>> shape = {"x": [1.0, 2.0, 4.0, 8.0], "cos2": [0.0, 0.3, 0.5, 0.6]}
    >>> round(float(fit_delta_nn([1.4, 2.8], [0.3, 0.5], shape)), 4)
    0.7
    """
    lx, c = np.log(np.asarray(shape["x"], float)), np.asarray(shape["cos2"], float)
    ld, means = np.log(np.asarray(deltas, float)), np.asarray(means, float)
    coarse = np.linspace(ld.min() - lx[-1], ld.max(), COARSE)
    best = coarse[np.argmin(_sse(coarse, ld, means, lx, c), axis=-1)]
    step = coarse[1] - coarse[0]
    fine = best[..., None] + np.linspace(-2.0 * step, 2.0 * step, FINE)
    i = np.argmin(_sse(fine, ld, means, lx, c), axis=-1)
    return np.exp(np.take_along_axis(fine, i[..., None], axis=-1)[..., 0])


def _cells(frame, metric: str) -> list[tuple[float, np.ndarray]]:
    """[(delta, finite per-seed values of ``metric``, in seed order)] of one size's frame, ascending delta.

    Seed order makes the bootstrap independent of the order in which the store returns rows."""
    if frame is None or len(frame) == 0 or metric not in frame.columns:
        return []
    if "seed" in frame.columns:
        frame = frame.sort_values("seed", kind="stable")
    out = [(float(dl), g[metric].to_numpy(float)) for dl, g in frame.groupby("delta", sort=True)]
    return [(dl, v[np.isfinite(v)]) for dl, v in out]


def fit_with_bootstrap(frame, shape: dict, seed: int, boot: int = BOOTSTRAP,
                       metric: str = "outlier_overlap_theta") -> tuple[float, np.ndarray]:
    """(delta_NN fitted to one size's cell means of the outlier cos^2 ``metric``, ``boot`` replicate fits in
    which the seeds of every cell are resampled with replacement, independently across cells)."""
    cells = _cells(frame, metric)
    if len(cells) < 2 or any(v.size < 2 for _, v in cells):
        return math.nan, np.full(boot, math.nan)
    deltas = np.array([dl for dl, _ in cells])
    est = float(fit_delta_nn(deltas, np.array([v.mean() for _, v in cells]), shape))
    rng = np.random.default_rng(seed)
    reps = np.stack([v[rng.integers(0, v.size, (boot, v.size))].mean(axis=1) for _, v in cells], axis=1)
    return est, fit_delta_nn(deltas, reps, shape)


def fit_chi2(frame, shape: dict, dnn: float, metric: str = "outlier_overlap_theta") -> float:
    """chi^2 / dof of the fitted curve at one size: sum_j ((mean_j - C(delta_j / delta_NN)) / se_j)^2 / (J - 1),
    se_j the standard error over seeds of cell j (a check of the predicted shape; NaN when undefined)."""
    cells = _cells(frame, metric)
    if len(cells) < 2 or any(v.size < 2 for _, v in cells) or not math.isfinite(dnn):
        return math.nan
    deltas = np.array([dl for dl, _ in cells])
    model = shape_at(shape, deltas, dnn)
    z = np.array([(v.mean() - c) / (v.std(ddof=1) / math.sqrt(v.size)) for (_, v), c in zip(cells, model)])
    return float(np.sum(z ** 2) / (z.size - 1))


def _half_range(reps: np.ndarray) -> float:
    """Half the 16-84% range of finite bootstrap replicates (the standard error; NaN if < 10)."""
    reps = reps[np.isfinite(reps)]
    return float(np.subtract(*np.percentile(reps, [84, 16])) / 2) if reps.size >= 10 else math.nan


def extrapolate(v_prev: float, v_max: float, r: float):
    """1/d extrapolation from sizes d_prev and d_max = r d_prev: (r v_max - v_prev) / (r - 1).

    >>> round(extrapolate(1.0 + 4 / 400, 1.0 + 4 / 800, 2.0), 12)
    1.0
    """
    return (r * v_max - v_prev) / (r - 1.0)


_CACHE: dict = {}


def delta_nn(ctx: ClaimContext, key: str, shape: dict) -> dict:
    """delta_NN fitted at each size of the curve sweep and extrapolated to d = inf, with bootstrap errors (cached)."""
    frame = ctx.ok(f"curve_{key}")
    tag = (id(ctx.frames.get(f"curve_{key}")), len(frame), ctx.mode, key, tuple(shape["x"]), tuple(shape["cos2"]))
    if tag not in _CACHE:
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[tag] = _delta_nn(frame, sizes_of(ctx.mode, key)["curve_d"], shape, METRICS[TARGETS[key]["protocol"]]["cos2"])
    return _CACHE[tag]


def _at(frame, d: int):
    return frame[frame["d"] == d] if len(frame) and "d" in frame.columns else frame.iloc[0:0]


def _delta_nn(frame, sizes: list[int], shape: dict, metric: str = "outlier_overlap_theta") -> dict:
    fits = {d: fit_with_bootstrap(_at(frame, d), shape, BOOT_SEED + i, metric=metric) for i, d in enumerate(sizes)}
    (v0, b0), (v1, b1) = fits[sizes[-2]], fits[sizes[-1]]
    r = sizes[-1] / sizes[-2]
    return {"per_d": {str(d): {"delta_nn": v, "stderr": _half_range(b), "chi2_dof": fit_chi2(_at(frame, d), shape, v, metric)}
                      for d, (v, b) in fits.items()},
            "delta_nn": extrapolate(v0, v1, r), "stderr": _half_range(extrapolate(b0, b1, r)),
            "d": [sizes[-2], sizes[-1]]}


def ladder_mean(frame, metric: str) -> tuple[float, float, int]:
    """(mean over the cells of the per-cell mean of ``metric``, its stderr sqrt(sum_j se_j^2) / J, fewest seeds)."""
    cells = _cells(frame, metric)
    if not cells or any(v.size < 2 for _, v in cells):
        return math.nan, math.nan, min((v.size for _, v in cells), default=0)
    means = np.array([v.mean() for _, v in cells])
    se = np.array([v.std(ddof=1) / math.sqrt(v.size) for _, v in cells])
    return float(means.mean()), float(math.sqrt(np.sum(se ** 2)) / se.size), int(min(v.size for _, v in cells))


def extrapolated_ladder_mean(frame, metric: str, sizes: list[int]) -> tuple[float, float, int]:
    """ladder_mean at the two largest sizes, extrapolated in 1/d, with the propagated stderr."""
    (m0, s0, n0), (m1, s1, n1) = ladder_mean(_at(frame, sizes[-2]), metric), ladder_mean(_at(frame, sizes[-1]), metric)
    r = sizes[-1] / sizes[-2]
    return extrapolate(m0, m1, r), math.hypot(r * s1, s0) / (r - 1.0), min(n0, n1)


# ----------------------------------------------------------------------------------------------
# verdict


def analyse(ctx: ClaimContext, pred: dict) -> ClaimOutcome:
    s = SIZES[ctx.mode]
    rows: list[Comparison] = []
    texts = []
    for key in TARGETS:
        r, text = _target_rows(ctx, pred[key], key, sizes_of(ctx.mode, key))
        rows += r
        texts.append(text)
    verdict, reason = verdict_from(rows, what="Hessian negative outlier vs spectral theory and delta_alg")
    st = sizes_of(ctx.mode, "stair")
    sizes = {"ladder d": s["d"], "curve d": s["curve_d"], "width m": 1, "n": "delta d", "GD steps": s["steps"],
             "spectra d": s["spectra_d"], "seeds (ladder, curve)": [s["seeds"], s["curve_seeds"]],
             "staircase (curve d, seeds)": [st["curve_d"], st["curve_seeds"]]}
    return ClaimOutcome(verdict, f"{reason} {'; '.join(texts)}.", tuple(rows), sizes, s["curve_seeds"])


def _target_rows(ctx: ClaimContext, p: dict, key: str, s: dict) -> tuple[list[Comparison], str]:
    t = TARGETS[key]
    stair = t["protocol"] == "one_step"
    name, k = ("staircase (next direction)" if stair else f"k={t['k']}"), t["k"]
    metric = METRICS[t["protocol"]]
    m = delta_nn(ctx, key, p["shape"])
    kt = t_factor(s["curve_seeds"])
    val, se = m["delta_nn"], m["stderr"]
    dprev, dmax = m["d"]
    ok = math.isfinite(val) and math.isfinite(se)
    tol = kt * se if ok else math.nan
    versus = "delta_T_population" if stair else "delta_alg"
    sep = (val - p[versus]) / tol if ok and tol > 0 else math.nan
    curve = ", ".join(f"{x:g}" for x in t["curve"])
    what = ("of the outlier along theta_2 after the step, " if stair else "")
    rows = [compare(
        f"{name}: delta_NN (whole-curve fit of the Hessian outlier cos^2 {what}d -> inf)", p["delta_T"], val, se, k=kt,
        note=(f"cos^2 at delta = {curve} fitted by the predicted shape C(delta / delta_NN) at d = {dprev}, {dmax}, "
              f"extrapolated in 1/d; bootstrap se over {s['curve_seeds']} seeds per cell; resolution +-{tol:.3g} "
              f"({tol / p['delta_T']:.1%} of delta_T); "
              + (f"delta_NN - delta_T of the population-fit preprocessing ({p[versus]:.3f}) = {sep:.1f} resolutions"
                 if stair else f"delta_NN - delta_alg = {sep:.1f} resolutions")),
    )]
    if not stair:  # for the staircase delta_alg concerns the first direction (0: z_1 has a linear part): no row
        rows.append(Comparison(f"{name}: delta_NN >= delta_alg", p["delta_alg"], val, se, tol, bool(val + tol >= p["delta_alg"]),
                               f"passes when delta_NN + {kt:.3g} se >= delta_alg = {p['delta_alg']:.4f}") if ok else
                    Comparison(f"{name}: delta_NN >= delta_alg", p["delta_alg"], None, None, None, None, "delta_NN not measured"))
    frame = ctx.ok(f"curve_{key}")
    quantities = ((metric["value"], "hess_min", "Hessian eigenvalue along the new direction theta_2"),
                  (metric["cos2"], "cos2", "its cos^2 with theta_2")) if stair else (
                 (metric["value"], "hess_min", f"mean of the {k} smallest Hessian eigenvalues"),
                 (metric["cos2"], "cos2", "outlier cos^2 with span(Theta*)"))
    for column, key_pred, what in quantities:
        v, se_v, runs = extrapolated_ladder_mean(frame, column, s["curve_d"])
        predicted = float(np.mean([p["points"][repr(float(x))][key_pred] for x in t["curve"]]))
        rows.append(compare(f"{name}: {what}, mean over delta = {curve}, d -> inf", predicted, v, se_v, k=t_factor(max(runs, 2)),
                            count=runs, note=f"1/d extrapolation from d = {dprev}, {dmax}; {runs} seeds per cell; t99 x propagated stderr"))
    for d, fit in m["per_d"].items():
        rows.append(Comparison(f"{name}: delta_NN fitted at d = {d}", None, fit["delta_nn"], fit["stderr"], None, None,
                               f"reported: the fit at one size (the verdict uses the extrapolation); chi^2/dof of the "
                               f"fitted shape {fit['chi2_dof']:.2f} ({len(t['curve']) - 1} dof)"))
    tab = summarise(_at(ctx.ok(f"ladder_{key}"), s["d"][-1]), "delta", "final_best_overlap")
    if len(tab) and not stair:
        last = tab.iloc[-1]
        rows.append(Comparison(f"{name}: final overlap after {s['steps']} GD steps at delta={last['delta']:g}, d={s['d'][-1]}", None,
                               float(last["mean"]), float(last["stderr"]), None, None, "reported; no asymptotic prediction"))
    text = (f"{'staircase' if stair else f'k={k}'}: delta_NN = {val:.3f} +- {se:.3f} (resolution +-{tol:.3f}) vs "
            f"delta_T = {p['delta_T']:.3f}, "
            + (f"population-fit {p['delta_T_population']:.3f}" if stair else f"delta_alg = {p['delta_alg']:.3f}"))
    return rows, text


# ----------------------------------------------------------------------------------------------
# figures


def plot(ctx: ClaimContext, pred: dict, outcome: ClaimOutcome) -> list[Path]:
    return _plot_phase_diagram(ctx, pred, outcome) + _plot_spectra(ctx, pred) + _plot_gap(ctx, pred)


def _plot_phase_diagram(ctx: ClaimContext, pred: dict, outcome: ClaimOutcome) -> list[Path]:
    fig, axes = plots.figure(ncols=len(TARGETS), width=14.0, height=3.9)
    for j, (key, t) in enumerate(TARGETS.items()):
        s, one_step = sizes_of(ctx.mode, key), t["protocol"] == "one_step"
        ax, p, cos2 = axes[j], pred[key], METRICS[t["protocol"]]["cos2"]
        xs = sorted(float(x) for x in p["points"])
        plots.theory_line(ax, xs, [p["points"][repr(x)]["cos2"] for x in xs], "theory: Hessian outlier $\\cos^2$", i=0)
        sizes = [(d, "ladder") for d in s["d"]] + [(d, "curve") for d in s["curve_d"]]
        for i, (d, sweep) in enumerate(sizes):
            sub = _at(ctx.ok(f"{sweep}_{key}"), d)
            tab = summarise(sub, "delta", cos2)
            if len(tab):
                plots.sim_points(ax, tab["delta"], tab["mean"], tab["stderr"], f"Hessian outlier $\\cos^2$, d={d}", i=i + 1)
            tab = summarise(sub, "delta", "final_best_overlap") if sweep == "ladder" and not one_step else tab.iloc[0:0]
            if len(tab):
                plots.sim_points(ax, tab["delta"], tab["mean"], tab["stderr"], f"final overlap after GD, d={d}", i=i + 1,
                                 marker="s", mfc="none", ls=":")
        m = delta_nn(ctx, key, p["shape"])
        if "delta_alg" in p:
            ax.axvline(p["delta_alg"], color="k", ls="--", lw=1.0, label=f"$\\delta_{{alg}}$ = {p['delta_alg']:.3g}")
        if "delta_T_population" in p:
            ax.axvline(p["delta_T_population"], color="k", ls="--", lw=1.0,
                       label=f"$\\delta_T$, population-fit T = {p['delta_T_population']:.3g}")
        ax.axvline(p["delta_T"], color=plots.color(0), ls=":", lw=1.2, label=f"$\\delta_T$ (theory) = {p['delta_T']:.3g}")
        if math.isfinite(m["delta_nn"]) and math.isfinite(m["stderr"]):
            dn, err = m["delta_nn"], t_factor(s["curve_seeds"]) * m["stderr"]
            grid = np.linspace(dn, max(xs), 200)
            ax.plot(grid, shape_at(p["shape"], grid, dn), color=plots.color(1), lw=1.0, ls="--", label="fit: $C(\\delta/\\delta_{NN})$")
            ax.axvline(dn, color=plots.color(1), lw=1.2, label=f"$\\delta_{{NN}}$ = {dn:.3g} $\\pm$ {err:.2g} (t99)")
            ax.axvspan(dn - err, dn + err, color=plots.color(1), alpha=0.12, lw=0)
        ax.set_xlabel(r"sample ratio $\delta = n/d$")
        ax.set_ylabel(r"overlap with $\theta_2$ (the next direction)" if one_step
                      else r"overlap with span$(\Theta^*)$")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlim(0.0, max(xs) * 1.03)
        ax.set_title(t["label"] + (", m = 1, $\\sigma=\\tanh$, $\\theta_2$" if one_step
                                   else ", width m = 1, $\\sigma(t)=t^2$"), fontsize=8)
        ax.legend(loc="upper left", fontsize=5.5, framealpha=0.85, frameon=True)
    fig.suptitle("C7: phase transition in $\\delta$ - Hessian negative outlier at the end of the large-gradient phase")
    plots.annotate_verdict(axes[-1], outcome.verdict)
    return plots.save(fig, ctx.outdir, "c7_phase_diagram")


def _plot_spectra(ctx: ClaimContext, pred: dict) -> list[Path]:
    s = SIZES[ctx.mode]
    fig, axes = plots.figure(ncols=3, nrows=len(TARGETS), width=10.5, height=3.0 * len(TARGETS))
    for j, (key, t) in enumerate(TARGETS.items()):
        frame, p = ctx.ok(f"spectra_{key}"), pred[key]
        for i, dl in enumerate(SPECTRA_DELTAS[key]):
            ax = axes[j, i]
            rows = frame[np.isclose(frame["delta"].astype(float), dl)] if len(frame) else frame
            vals = np.array([])
            if len(rows):
                vals = np.asarray(ctx.arrays(f"spectra_{key}", rows.iloc[0]["row_id"]).get("hess_eigs", []), float)
            pt = p["points"].get(repr(float(dl)), {})
            if vals.size:
                ax.hist(vals, bins=50, color="0.75", edgecolor="0.55", lw=0.4, density=True, label="Hessian eigenvalues")
                q = 1 if t["protocol"] == "one_step" else t["k"]
                ax.plot(vals[:q], np.zeros(q), "v", color=plots.color(1), ms=7, label=f"bottom {q} (outlier candidates)")
            if pt:
                ax.axvline(pt["hess_edge"], color=plots.color(0), ls=":", lw=1.1, label="predicted bulk edge")
                if pt["cos2"] > 0:
                    ax.axvline(pt["hess_min"], color=plots.color(1), ls="--", lw=1.1, label="predicted outlier")
            ax.set_title(f"{t['label']}, $\\delta$ = {dl:g} (pred. $\\cos^2$ = {pt.get('cos2', float('nan')):.2f})")
            ax.set_xlabel("Hessian eigenvalue")
            ax.set_ylabel("density")
            ax.legend(loc="upper right", fontsize=6)
    fig.suptitle(f"C7: Hessian spectra at the end of the large-gradient phase (d = {s['spectra_d']})")
    return plots.save(fig, ctx.outdir, "c7_hessian_spectra")


def _plot_gap(ctx: ClaimContext, pred: dict) -> list[Path]:
    fig, axes = plots.figure(ncols=len(TARGETS), width=13.5, height=3.5)
    for j, (key, t) in enumerate(TARGETS.items()):
        s = sizes_of(ctx.mode, key)
        ax, p = axes[j], pred[key]
        xs = sorted(float(x) for x in p["points"])
        plots.theory_line(ax, xs, [p["points"][repr(x)]["gap"] for x in xs], "theory: bulk edge - outlier", i=0)
        sizes = [(d, "ladder") for d in s["d"]] + [(d, "curve") for d in s["curve_d"]]
        for i, (d, sweep) in enumerate(sizes):
            tab = summarise(_at(ctx.ok(f"{sweep}_{key}"), d), "delta", "hess_gap")
            if len(tab):
                plots.sim_points(ax, tab["delta"], tab["mean"], tab["stderr"], f"d = {d}", i=i + 1)
        ax.axvline(p["delta_T"], color=plots.color(0), ls=":", lw=1.2, label="$\\delta_T$")
        if "delta_alg" in p:
            ax.axvline(p["delta_alg"], color="k", ls="--", lw=1.0, label="$\\delta_{alg}$")
        ax.set_xlabel(r"$\delta = n/d$")
        ax.set_ylabel(f"outlier gap $\\lambda_{{{t['k'] + 1}}} - \\lambda_{{{t['k']}}}$")
        ax.set_title(t["label"])
        ax.legend(loc="upper right", fontsize=6.5, framealpha=0.85, frameon=True)
    fig.suptitle("C7: negative-outlier gap of the Hessian vs $\\delta$ (below $\\delta_T$ the finite-d gap is edge spacing, O(d$^{-2/3}$))")
    return plots.save(fig, ctx.outdir, "c7_outlier_gap")


CLAIM = register(
    Claim(
        id="C7",
        title="Phase transition in n/d: the Hessian's negative outlier (delta_NN) beside delta_alg",
        statement=(
            "After the large-gradient phase, GD on a fixed-width network is driven by negative Hessian directions; "
            "an informative negative outlier appears at delta_NN >= delta_alg (Montanari & Wang 2026); after a phase "
            "that learned one direction, the Hessian's outlier along the next appears at a threshold set by a "
            "preprocessing that depends on the learned coordinate."
        ),
        source="Montanari & Wang, arXiv 2602.01434; docs/phase_transitions.md; docs/claims.md",
        sweeps=sweeps,
        predict=single_blas_thread(predict),
        analyse=analyse,
        plot=plot,
        headline={
            "delta_T": lambda p, f: scaled(p, f, "*.delta_T"),
            "Hessian outlier eigenvalue": lambda p, f: scaled(p, f, "*.points.*.hess_min"),
            "Hessian outlier cos^2": lambda p, f: scaled(p, f, "*.points.*.cos2", "*.shape.cos2"),
        },
        setting=(
            "Width m = 1, sigma(t) = t^2, a = 1, trained output bias, init ||w|| = 1e-12 (next to the saddle W = 0); "
            "teachers y = tanh(||z||), k = 1 and k = 2, noiseless; full-batch GD (lr 0.2) on n = delta d samples; "
            "Hessian in W at the end of the large-gradient phase (bias fitted; ||grad|| <= 1e-4 of its peak); "
            "delta ladder x d ladder x seeds; delta_NN from a one-parameter fit of the predicted outlier cos^2 curve "
            "C(delta / delta_NN) at x = delta / delta_T ~ 3-6, two sizes extrapolated in 1/d, bootstrap over seeds. "
            "Staircase: y = 3 tanh(z_1) sqrt(e) cos(z_2), one tanh neuron, one gradient step of size 1 from w = 0, the "
            "Hessian there; the eigenpair along theta_2 at x ~ 1.2-2."
        ),
    )
)
