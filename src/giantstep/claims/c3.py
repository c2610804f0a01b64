r"""C3: spiked-random-features equivalence of one maximal step (feature spectrum, ridge error).

Claim (Cui, Pesce, Dandi, Krzakala, Lu, Zdeborova, Loureiro, ICML 2024, arXiv 2402.04980;
Dandi et al., arXiv 2410.18938; docs/theory.md, sections 8 and 11): after one step with
eta = eta0 sqrt(N) (alpha = 1/2) the features sigma(<w1_i, x>) are equivalent to the spiked
random-features model phi_i(x) = sigma(sqrt(c) <w_i, x> + r a_i <v, x>), with (r, c, gamma) of
docs/theory.md, section 8. Two consequences are tested: the ridge test error of the readout follows
the sRF fixed point (section 8), and the spectrum of the feature covariance C = Phi^T Phi / n follows
the sRF's deterministic equivalent (section 11): its bulk (inflated by c), its upper edge and its one
outlier, the mean mode p Var_kappa mu0(kappa) + O(1). For an odd sigma a_i = +-1 is equivalent to
a_i = 1; for Gaussian a_i only the network-vs-sRF equivalence of the test error is tested.

Sweeps (quick d = 512; full d = 1600): the network (kind ``steps``: unit rows, a = +-1 or N(0,1),
residual r = y, eta0 = 3 at alpha = 1/2 on n0 = 2d samples, the feature spectrum on 2d fresh inputs,
then a ridge readout on n = alpha d fresh samples) and the sRF model (kind ``rf`` with a ``spike``
block and (r, c, gamma) from :func:`giantstep.theory.srf.srf_parameters`, the spectrum of its n
training features), both over alpha = n/d; and the network's feature spectrum along eta0 (``tail``:
eta0 in TAIL_ETA0, no readout; eta0 = 0 is the network before the step). Readout ridge: sRF
lambda = 0.1 in sum_mu (y - a.phi/sqrt(p))^2 + lambda ||a||^2, i.e. ``ridge = lambda / alpha``.

Verdict rows (t99 = two-sided 99% Student-t quantile for the number of runs; p = N = d):

* test error, sRF simulation vs sRF theory (a = +-1), per alpha and summed over the alpha grid (the
  whole curve: its standard error is half a single point's): t99 stderr + E/sqrt(d). The allowance
  is twice the largest deviation of a simulated sRF mean from the fixed point recorded in
  docs/theory.md, section 8 (relu teacher, d = 400, 12 seeds: +2.7% = 0.54 E/sqrt(d));
* test error, network vs sRF theory (a = +-1): t99 stderr + 3E/sqrt(d) (finite d and finite step
  batch: the equivalence is exact as psi2 -> inf); network - sRF simulation (Gaussian a):
  t99 combined stderr + 3E/sqrt(d);
* bulk: the empirical Stieltjes transform g_hat(z) = (1/p) sum_{j >= 2} 1/(lambda_j - z) (the
  outlier lambda_1 dropped, the p - rank zero eigenvalues kept) at z in BULK_Z (Im z = 0.36, a
  quarter of the bulk's width), real and imaginary parts, network (readout ratio 2: all alpha cells
  share the step's law) and sRF simulation (readout ratio alpha), against
  :func:`giantstep.theory.feature_spectrum.feature_stieltjes`. Tolerance t99 max(se, sd_kappa /
  sqrt(runs)) + 1/(p Im z). Derivation: conditionally on the kappa_mu = <v, x_mu> the statistic is a
  linear spectral statistic of a sample covariance, whose fluctuation is O(1/p) (Bai-Silverstein
  CLT), but the population covariances S(kappa_mu) are random, which adds the O(n^{-1/2}) sd_kappa of
  :func:`~giantstep.theory.feature_spectrum.feature_stieltjes_sd` (0.005-0.014 per run at p = 512);
  the sample standard error is floored by it. The mean's finite-size bias is O(1/(p Im z)): column
  centring and dropping lambda_1 are rank-one changes, each moving (1/p) tr (C - z)^{-1} by at most
  1/(p Im z) (interlacing), and the deterministic equivalent's own error is of that order at fixed
  Im z. The network's rows add BATCH_GAP = 0.004, the finite-step-batch error of the sRF
  equivalence (exact only as psi2 -> inf; docs/theory.md, section 11: an offset of g that does not
  shrink with d, 0.021 at 0.3 + 0.1i): measured before this design at d = 1600 (4 runs, seeds apart
  from the claim's) as |offset| <= 0.0035 at these z, where the sRF simulation's is <= 0.002.
  These rows test c: a 5% change of c moves g by 0.013-0.019 at these z.
* outlier: lambda_1 vs the secular equation at width p
  (:func:`~giantstep.theory.feature_spectrum.feature_outliers`, the mean mode), t99 stderr + 2 x the
  upper bulk edge (the mean mode's O(1) corrections beyond its interaction with the bulk, the He2
  part along 1, are not in the equation); the top bulk eigenvalue (lambda_2; lambda_1 where no outlier
  is predicted) vs the upper bulk edge, t99 stderr + 5 edge p^{-2/3} (Tracy-Widom scale; the bulk's
  upper tail is thin, so the top eigenvalue approaches the edge slowly). Along eta0 (``tail``) both,
  at each eta0.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pandas as pd

from .. import plots
from .base import (Claim, ClaimContext, ClaimOutcome, Comparison, compare, mean_stderr, scaled, single_blas_thread,
                   summarise, t_factor, verdict_from)
from .registry import register

ACTIVATION = "tanh"
LINK = "tanh"
ETA0 = 3.0
PSI2_STEP = 2.0
LAMBDA = 0.1
ALPHAS = [0.5, 1.0, 2.0, 4.0]
NET_RATIO = 2.0  # the network's feature spectrum is taken on 2d fresh inputs
BULK_Z = (0.3 + 0.36j, 0.8 + 0.36j, 1.3 + 0.36j)  # Im z = (upper edge 1.443) / 4 at readout ratio 2
TAIL_ETA0 = [0.0, 1.0, 2.0, 4.0]  # with ETA0 from the main sweep: the spectrum along eta0
OUTLIERS = 1  # predicted eigenvalues above the bulk for r > 0 (the mean mode; docs/theory.md, section 11)
BATCH_GAP = 0.004  # the network's g rows: the sRF equivalence's finite-step-batch error at psi2 = 2 (docstring)
EDGE_TW = 5.0  # top bulk eigenvalue allowance, in units of edge p^{-2/3}
MEAN_MODE_EDGES = 2.0  # lambda_1 allowance, in units of the upper bulk edge
SIZES = {"quick": {"d": 512, "seeds": 10, "seeds_gauss": 3, "seeds_tail": 4, "n_test": 8192},
         "full": {"d": 1600, "seeds": 12, "seeds_gauss": 4, "seeds_tail": 4, "n_test": 16384}}
LAYERS = {"pm": ("rademacher", "rademacher"), "gauss": ("gaussian", "gaussian")}


def _params(eta0: float = ETA0):
    from ..theory.srf import srf_parameters

    return srf_parameters(ACTIVATION, LINK, eta0, PSI2_STEP)


def _network(d: int, second_layer: str, eta0: float, readout: dict | None) -> dict:
    base = {"kind": "steps", "d": d, "width": d, "n": int(PSI2_STEP * d), "activation": ACTIVATION, "init": "sphere",
            "second_layer": second_layer, "residual": "centered", "teacher": {"link": LINK, "noise": 0.0},
            "steps": [{"eta0": eta0, "alpha": 0.5}],
            "spectra": {"top": 3, "features": True, "features_n": int(NET_RATIO * d)}, "theory": False}
    if readout is not None:
        base["readout"] = readout
    return base


def sweeps(mode: str) -> dict[str, dict]:
    s = SIZES[mode]
    d = s["d"]
    n_train = [int(a * d) for a in ALPHAS]
    ridges = [LAMBDA / a for a in ALPHAS]
    p = _params()
    out = {}
    for tag, (net_layer, srf_layer) in LAYERS.items():
        pm = tag == "pm"  # the spectrum rows use the +-1 second layer (the deterministic equivalent's domain)
        net = _network(d, net_layer, ETA0, {"ridge": 0.1, "n_train": d, "n_test": s["n_test"]})
        net["spectra"]["features"] = pm
        out[f"net_{tag}"] = {
            "base": net,
            "zip": {"readout.n_train": n_train, "readout.ridge": ridges},
            "seeds": s["seeds"] if pm else s["seeds_gauss"],
        }
        out[f"srf_{tag}"] = {
            "base": {"kind": "rf", "d": d, "width": d, "n": d, "n_test": s["n_test"], "activation": ACTIVATION,
                     "teacher": {"link": LINK, "noise": 0.0}, "ridge": 0.1,
                     "spike": {"r": p.r, "c": p.c, "gamma": p.gamma, "second_layer": srf_layer}, "spectrum": pm},
            "zip": {"n": n_train, "ridge": ridges},
            "seeds": s["seeds"] if pm else s["seeds_gauss"],
        }
    out["tail"] = {"base": _network(d, "rademacher", ETA0, None), "grid": {"steps.0.eta0": TAIL_ETA0},
                   "seeds": s["seeds_tail"]}
    return out


# ----------------------------------------------------------------------------------------------
# predictions


def _feature_model(r: float, c: float, ratio: float):
    from ..theory.feature_spectrum import feature_model

    return feature_model(ACTIVATION, r, c, 1.0, ratio)


def _stieltjes(model) -> tuple[list[float], list[float]]:
    from ..theory.feature_spectrum import feature_stieltjes

    g = feature_stieltjes(np.array(BULK_Z), model).g
    return g.real.tolist(), g.imag.tolist()


def _spectrum_prediction(model, d: int, n: int, density: bool = False) -> dict:
    """g at BULK_Z, its per-run sd over the kappa draw, the upper edge, the outlier at width d."""
    from ..theory.feature_spectrum import feature_bulk_edges, feature_density, feature_outliers, feature_stieltjes_sd, edge_grid

    sup = feature_bulk_edges(model)
    out = feature_outliers(model, width=d, support=sup)
    g_re, g_im = _stieltjes(model)
    entry = {"readout_ratio": model.readout_ratio, "r": model.r, "c": model.c, "g_re": g_re, "g_im": g_im,
             "g_sd": feature_stieltjes_sd(np.array(BULK_Z), model, n).tolist(), "upper_edge": sup.upper,
             "lambda1": out.locations[0] if out.locations else None}
    if density:
        x = edge_grid(sup.lower, sup.upper, 160)
        entry.update(x=x.tolist(), density=feature_density(x, model).tolist())
    return entry


def _models(mode: str) -> dict:
    d = SIZES[mode]["d"]
    p = _params()
    out = {"net": _spectrum_prediction(_feature_model(p.r, p.c, NET_RATIO), d, int(NET_RATIO * d), density=True)}
    for a in ALPHAS:
        out[f"srf_{a:g}"] = _spectrum_prediction(_feature_model(p.r, p.c, a), d, int(a * d))
    return out


def _tail(mode: str) -> list[dict]:
    d = SIZES[mode]["d"]
    rows = []
    for e in sorted(TAIL_ETA0 + [ETA0]):
        p = _params(e)
        rows.append({"eta0": e, **_spectrum_prediction(_feature_model(p.r, p.c, NET_RATIO), d, int(NET_RATIO * d),
                                                        density=True)})
    return rows


@single_blas_thread
def predict(mode: str) -> dict:
    from ..theory.srf import srf_test_error

    p = _params()
    curve = np.geomspace(0.3, 6.0, 30)
    err = {str(a): srf_test_error(ACTIVATION, LINK, r=p.r, c=p.c, gamma=p.gamma, n_over_d=a, lam=LAMBDA).test_error
           for a in ALPHAS}
    err_curve = [srf_test_error(ACTIVATION, LINK, r=p.r, c=p.c, gamma=p.gamma, n_over_d=float(a), lam=LAMBDA).test_error
                 for a in curve]
    return {"r": p.r, "c": p.c, "gamma": p.gamma, "test_error": err,
            "curve": {"alpha": curve.tolist(), "test_error": err_curve},
            "bulk_z": [[z.real, z.imag] for z in BULK_Z], "spectrum": _models(mode), "tail": _tail(mode)}


def shift_c(pred: dict, factor: float) -> dict:
    """The predictions with the bulk inflation c multiplied by ``factor``: g(z) recomputed for every
    compared spectrum (the rows that decide c; the edge and outlier rows keep the true c, which only
    makes a planted c harder to detect, and the test error moves by < 1%, docs/theory.md, section 8)."""
    out = copy.deepcopy(pred)
    out["c"] = pred["c"] * factor
    for entry in out["spectrum"].values():
        entry["c"] = entry["c"] * factor
        entry["g_re"], entry["g_im"] = _stieltjes(_feature_model(entry["r"], entry["c"], entry["readout_ratio"]))
    return out


# ----------------------------------------------------------------------------------------------
# measured spectra


def spectral_statistics(ev: np.ndarray, p: int, outliers: int = OUTLIERS) -> dict:
    """From the stored eigenvalues of C (descending; p - len(ev) further zeros): the empirical
    g_hat(z) = (1/p) sum over the non-outlier eigenvalues of 1/(lambda - z) at BULK_Z, lambda_1 and the
    top bulk eigenvalue lambda_{outliers + 1}.

    >>> s = spectral_statistics(np.array([10.0, 1.0, 0.5]), 4)
    >>> round(s["lambda_bulk"], 3), round(s["g_re0"] * 4, 6) == round((1 / (1 - BULK_Z[0]) + 1 / (0.5 - BULK_Z[0])
    ...     - 1 / BULK_Z[0]).real, 6)
    (1.0, True)
    """
    ev = np.sort(np.asarray(ev, dtype=float))[::-1]
    bulk = ev[outliers:]
    out = {"lambda1": float(ev[0]), "lambda_bulk": float(bulk[0])}
    for k, z in enumerate(BULK_Z):
        g = (np.sum(1.0 / (bulk - z)) - (p - ev.size) / z) / p
        out[f"g_re{k}"], out[f"g_im{k}"] = float(g.real), float(g.imag)
    return out


def _statistics(ctx: ClaimContext, sweep: str, d: int, outliers: int | None = OUTLIERS) -> pd.DataFrame:
    """One row per stored spectrum of ``sweep``: its axis columns and :func:`spectral_statistics`
    (``outliers`` None: 1 where the row's eta0 > 0, else 0)."""
    cache = ctx.derived.setdefault("C3.statistics", {})  # the power scan re-analyses one context often
    if sweep not in cache:
        frame = ctx.ok(sweep)
        rows = []
        for _, row in frame.iterrows():
            ev = ctx.arrays(sweep, row["row_id"]).get("features.eigenvalues") if "row_id" in frame.columns else None
            if ev is None or not len(ev):
                continue
            k = outliers if outliers is not None else int(row.get("steps.0.eta0", ETA0) > 0)
            rows.append({**row.to_dict(), **spectral_statistics(ev, d, k)})
        cache[sweep] = pd.DataFrame(rows)
    return cache[sweep]


def _tab(frame, axis: str, metric: str, d: int):
    if not len(frame) or metric not in frame.columns:
        return summarise(frame, axis, metric)
    return summarise(frame.assign(alpha=frame[axis] / d), "alpha", metric)


# ----------------------------------------------------------------------------------------------
# verdict rows


def _test_error_rows(ctx: ClaimContext, pred: dict, d: int) -> list[Comparison]:
    rows: list[Comparison] = []
    srf = {tag: _tab(ctx.ok(f"srf_{tag}"), "n", "test_risk", d) for tag in LAYERS}
    net = {tag: _tab(ctx.ok(f"net_{tag}"), "readout.n_train", "readout.test_error", d) for tag in LAYERS}
    total = [0.0, 0.0, 0.0, 0.0, math.inf]  # predicted, measured, variance, points, fewest runs
    for _, r in srf["pm"].iterrows():
        E = pred["test_error"].get(str(float(r["alpha"])))
        kt = t_factor(int(r["count"]))
        rows.append(compare(f"sRF simulation (a=+-1) test error at alpha={r['alpha']:g}", E, r["mean"], r["stderr"],
                            k=kt, bias=(E or 0) / math.sqrt(d), note=f"t99 = {kt:.3g} stderr + E/sqrt(d)"))
        if E is not None and np.isfinite(r["mean"]):
            total = [total[0] + E, total[1] + r["mean"], total[2] + r["stderr"] ** 2, total[3] + 1,
                     min(total[4], int(r["count"]))]
    if total[3] == len(ALPHAS):
        kt = t_factor(int(total[4]))
        rows.append(compare("sRF simulation (a=+-1) test error summed over the alpha grid", total[0], total[1],
                            math.sqrt(total[2]), k=kt, bias=total[0] / math.sqrt(d),
                            note=f"whole curve; t99 = {kt:.3g} x combined stderr + sum E / sqrt(d)"))
    for _, r in net["pm"].iterrows():
        E = pred["test_error"].get(str(float(r["alpha"])))
        kt = t_factor(int(r["count"]))
        rows.append(compare(f"network (a=+-1) test error at alpha={r['alpha']:g}", E, r["mean"], r["stderr"],
                            k=kt, bias=3 * (E or 0) / math.sqrt(d), note=f"t99 = {kt:.3g} stderr + 3E/sqrt(d)"))
    g_net, g_srf = net["gauss"], srf["gauss"]
    if len(g_net) and len(g_srf):
        merged = g_net.merge(g_srf, on="alpha", suffixes=("_net", "_srf"))
        for _, r in merged.iterrows():
            se = math.hypot(r["stderr_net"], r["stderr_srf"])
            kt = t_factor(int(min(r["count_net"], r["count_srf"])))
            rows.append(compare(f"network - sRF simulation (Gaussian a) at alpha={r['alpha']:g}", 0.0,
                                r["mean_net"] - r["mean_srf"], se, k=kt, bias=3 * r["mean_srf"] / math.sqrt(d),
                                note=f"difference of means; t99 = {kt:.3g} x combined stderr + 3E/sqrt(d)"))
    return rows


def _bulk_rows(label: str, stats: pd.DataFrame, entry: dict, d: int, batch_gap: float = 0.0) -> list[Comparison]:
    """Re and Im g_hat(z) at each z of BULK_Z against the deterministic equivalent (module docstring);
    ``batch_gap``: the network's finite-step-batch allowance (BATCH_GAP)."""
    rows = []
    gap_note = f" + finite-batch gap {batch_gap:g}" if batch_gap else ""
    for k, z in enumerate(BULK_Z):
        for part, key in (("Re", "g_re"), ("Im", "g_im")):
            col = f"{key}{k}"
            m, se, cnt = mean_stderr(stats[col].tolist()) if col in stats.columns else (None, None, 0)
            kt = t_factor(cnt)
            floor = entry["g_sd"][k] / math.sqrt(cnt) if cnt else 0.0
            se_used = max(se, floor) if cnt > 1 else se
            rows.append(compare(f"{label}: {part} g({z.real:g}+{z.imag:g}i) of the bulk", entry[key][k], m, se_used,
                                k=kt, bias=1.0 / (d * z.imag) + batch_gap, count=cnt,
                                note=f"t99 = {kt:.3g} x max(stderr, sd_kappa/sqrt(runs) = {floor:.2g}) + 1/(p Im z)"
                                     + gap_note))
    return rows


def _outlier_rows(label: str, stats: pd.DataFrame, entry: dict, d: int) -> list[Comparison]:
    """lambda_1 against the secular equation's outlier and the top bulk eigenvalue against the edge."""
    rows = []
    edge = entry["upper_edge"]
    if entry["lambda1"] is not None and "lambda1" in stats.columns:
        m, se, cnt = mean_stderr(stats["lambda1"].tolist())
        kt = t_factor(cnt)
        rows.append(compare(f"{label}: outlier lambda_1 (mean mode)", entry["lambda1"], m, se, k=kt,
                            bias=MEAN_MODE_EDGES * edge, count=cnt,
                            note=f"secular equation at width p; t99 = {kt:.3g} stderr + 2 x upper edge"))
    if "lambda_bulk" in stats.columns:
        m, se, cnt = mean_stderr(stats["lambda_bulk"].tolist())
        kt = t_factor(cnt)
        rows.append(compare(f"{label}: top bulk eigenvalue vs upper edge", edge, m, se, k=kt,
                            bias=EDGE_TW * edge * d ** (-2 / 3), count=cnt,
                            note=f"t99 = {kt:.3g} stderr + 5 edge p^(-2/3) (Tracy-Widom scale)"))
    return rows


def _spectrum_rows(ctx: ClaimContext, pred: dict, d: int) -> list[Comparison]:
    rows: list[Comparison] = []
    models = pred["spectrum"]
    net = _statistics(ctx, "net_pm", d)
    if len(net):
        rows += _bulk_rows("network (a=+-1), n = 2d", net, models["net"], d, BATCH_GAP)
        rows += _outlier_rows("network (a=+-1), n = 2d", net, models["net"], d)
    srf = _statistics(ctx, "srf_pm", d)
    for a in ALPHAS:
        sel = srf[np.isclose(srf["n"], a * d)] if len(srf) else srf
        if len(sel):
            rows += _bulk_rows(f"sRF simulation, n = {a:g}d", sel, models[f"srf_{a:g}"], d)
            rows += _outlier_rows(f"sRF simulation, n = {a:g}d", sel, models[f"srf_{a:g}"], d)
    tail = _statistics(ctx, "tail", d, outliers=None)
    for entry in pred["tail"]:
        sel = tail[np.isclose(tail["steps.0.eta0"], entry["eta0"])] if len(tail) else tail
        if len(sel) and entry["eta0"] != ETA0:
            rows += _outlier_rows(f"network along eta0: eta0 = {entry['eta0']:g}", sel, entry, d)
    return rows


def analyse(ctx: ClaimContext, pred: dict) -> ClaimOutcome:
    s = SIZES[ctx.mode]
    d = s["d"]
    rows = _test_error_rows(ctx, pred, d) + _spectrum_rows(ctx, pred, d)
    verdict, reason = verdict_from(rows, what="sRF equivalence (test error and feature spectrum)")
    sizes = {"d = width N = p": d, "n0 (step)": int(PSI2_STEP * d), "n (readout)": [f"{a:g} d" for a in ALPHAS],
             "n (network spectrum)": int(NET_RATIO * d), "n_test": s["n_test"],
             "seeds (a=+-1 / Gaussian a / along eta0)": [s["seeds"], s["seeds_gauss"], s["seeds_tail"]],
             "r, c, gamma": [round(pred["r"], 4), round(pred["c"], 4), round(pred["gamma"], 4)],
             "z (bulk)": [f"{z.real:g}+{z.imag:g}i" for z in BULK_Z]}
    return ClaimOutcome(verdict, reason, tuple(rows), sizes, s["seeds"])


# ----------------------------------------------------------------------------------------------
# figures


def _plot_test_error(ctx: ClaimContext, pred: dict, outcome: ClaimOutcome, d: int) -> list[Path]:
    fig, ax = plots.figure(width=4.8, height=3.5)
    plots.theory_line(ax, pred["curve"]["alpha"], pred["curve"]["test_error"], "sRF theory (fixed point, a=1)")
    styles = [("net_pm", "readout.n_train", "readout.test_error", "network, a=+-1", 1, "o"),
              ("srf_pm", "n", "test_risk", "sRF simulation, a=+-1", 2, "s"),
              ("net_gauss", "readout.n_train", "readout.test_error", "network, Gaussian a", 3, "D"),
              ("srf_gauss", "n", "test_risk", "sRF simulation, Gaussian a", 4, "^")]
    for j, (sweep, axis, metric, label, ci, marker) in enumerate(styles):
        tab = _tab(ctx.ok(sweep), axis, metric, d)
        if len(tab):
            plots.sim_points(ax, tab["alpha"] * (1 + 0.03 * (j - 1.5)), tab["mean"], tab["stderr"], label, i=ci, marker=marker)
    ax.set_xscale("log")
    ax.set_xticks(ALPHAS, [f"{a:g}" for a in ALPHAS])
    ax.xaxis.set_minor_formatter(plots.plt.NullFormatter())
    ax.set_xlabel(r"readout sample ratio $\alpha = n/d$")
    ax.set_ylabel("ridge test error (vs noiseless target)")
    ax.set_title(f"C3: ridge after one maximal step (tanh/tanh, eta0 = {ETA0:g}, lambda = {LAMBDA:g}, d = {d})")
    ax.legend(loc="upper right")
    plots.annotate_verdict(ax, outcome.verdict)
    return plots.save(fig, ctx.outdir, "c3_test_error")


def _eigenvalues(ctx: ClaimContext, sweep: str, frame: pd.DataFrame, runs: int = 4) -> list[np.ndarray]:
    """The stored feature spectra of up to ``runs`` rows of ``frame``."""
    out = []
    for rid in frame["row_id"].tolist()[:runs] if "row_id" in frame.columns else []:
        ev = ctx.arrays(sweep, rid).get("features.eigenvalues")
        if ev is not None and len(ev):
            out.append(np.sort(np.asarray(ev, float))[::-1])
    return out


def _density_panel(ax, spectra: list[np.ndarray], entry: dict, label: str, i: int, outliers: int) -> None:
    bulk = np.concatenate([ev[outliers:] for ev in spectra])
    edge = entry["upper_edge"]
    bins = np.linspace(0.0, 1.15 * max(edge, float(np.max(bulk))), 70)
    ax.hist(bulk, bins=bins, density=True, color=plots.color(i), alpha=0.3, label=f"measured, {label}")
    ax.plot(entry["x"], entry["density"], color=plots.color(i), lw=1.5, label=f"predicted, {label}")
    ax.axvline(edge, color=plots.color(i), ls=":", lw=1.0)


def _plot_spectrum(ctx: ClaimContext, pred: dict, outcome: ClaimOutcome, d: int) -> list[Path]:
    tail, net = ctx.ok("tail"), ctx.ok("net_pm")
    before = _eigenvalues(ctx, "tail", tail[np.isclose(tail["steps.0.eta0"], 0.0)]) if len(tail) else []
    after = _eigenvalues(ctx, "net_pm", net)
    if not after:
        return []
    fig, axes = plots.figure(ncols=2, width=9.0, height=3.5)
    ax = axes[0]
    first = next(e for e in pred["tail"] if e["eta0"] == 0.0)
    if before:
        _density_panel(ax, before, first, "before the step", 0, 0)
    _density_panel(ax, after, pred["spectrum"]["net"], f"after (eta0 = {ETA0:g})", 1, OUTLIERS)
    ax.set_xlabel("eigenvalue of the feature covariance (bulk; dotted: predicted upper edge)")
    ax.set_ylabel("density (clipped: it peaks near 0)")
    ax.set_ylim(0.0, 2.5)
    ax.set_title("bulk: deterministic equivalent vs network")
    ax.legend(loc="upper right", fontsize=7)
    ax = axes[1]
    k = np.arange(1, 9)
    for j, ev in enumerate(after):
        ax.plot(k, ev[:8], "o", mfc="none", color=plots.color(1), label="measured (network, per run)" if j == 0 else None)
    ax.axhline(pred["spectrum"]["net"]["lambda1"], color=plots.color(0), ls="--", label="predicted outlier (mean mode)")
    ax.axhline(pred["spectrum"]["net"]["upper_edge"], color=plots.color(3), ls=":", label="predicted upper bulk edge")
    ax.set_yscale("log")
    ax.set_xlabel("index j")
    ax.set_ylabel(r"$\lambda_j$")
    ax.set_title(f"top eigenvalues after the step (n = {NET_RATIO:g}d)")
    ax.legend(loc="center right", fontsize=7)
    plots.annotate_verdict(ax, outcome.verdict)
    fig.suptitle(f"C3: feature-covariance spectrum, N = d = {d}, tanh/tanh, one step eta = {ETA0:g} sqrt(N)")
    return plots.save(fig, ctx.outdir, "c3_feature_spectrum")


def _plot_tail(ctx: ClaimContext, pred: dict, d: int) -> list[Path]:
    """Predicted bulk density along eta0 (log scale: the upper tail) over measured histograms, and the
    upper edge and the mean mode per neuron against eta0, predicted and measured."""
    tail, net = _statistics(ctx, "tail", d, outliers=None), _statistics(ctx, "net_pm", d)
    if not len(tail):
        return []
    fig, (ax, ax_tail) = plots.figure(ncols=2, width=9.0, height=3.5)
    curves = [(e["eta0"], e["x"], e["density"]) for e in pred["tail"]]
    summary = {"eta0": [e["eta0"] for e in pred["tail"]], "upper_edge": [e["upper_edge"] for e in pred["tail"]],
               "mean_mode_slope": [(e["lambda1"] or 0.0) / d for e in pred["tail"]]}
    plots.feature_tail_axes(ax, ax_tail, curves, summary)
    raw_tail, raw_net = ctx.ok("tail"), ctx.ok("net_pm")
    measured = []
    for i, e in enumerate(pred["tail"]):
        if e["eta0"] == ETA0:
            spectra, sel = _eigenvalues(ctx, "net_pm", raw_net), net
        else:
            spectra = _eigenvalues(ctx, "tail", raw_tail[np.isclose(raw_tail["steps.0.eta0"], e["eta0"])])
            sel = tail[np.isclose(tail["steps.0.eta0"], e["eta0"])]
        if spectra:
            k = int(e["lambda1"] is not None)
            bulk = np.concatenate([ev[k:] for ev in spectra])
            ax.hist(bulk, bins=np.linspace(0.0, 2.6, 53), density=True, histtype="step", color=plots.color(i), lw=0.8)
        if len(sel):
            measured.append((e["eta0"], sel["lambda_bulk"].mean(), sel["lambda1"].mean() / d if e["lambda1"] else 0.0))
    if measured:
        m = np.array(measured)
        ax_tail.plot(m[:, 0], m[:, 1], "x", color=plots.color(0), ms=8, label="measured top bulk eigenvalue")
        fig.axes[-1].plot(m[:, 0], m[:, 2], "+", color=plots.color(1), ms=9)  # the twin axis of feature_tail_axes
    ax.set_ylim(1e-3, None)
    ax.set_xlim(-0.05, 2.4)
    ax.set_title("bulk density along eta0 (lines: predicted; steps: network)")
    ax_tail.set_title("upper edge and mean mode / p (x, +: network)")
    fig.suptitle(f"C3: the tails of the feature spectrum move with training (N = d = {d}, n = {NET_RATIO:g}d)")
    return plots.save(fig, ctx.outdir, "c3_feature_tail")


def plot(ctx: ClaimContext, pred: dict, outcome: ClaimOutcome) -> list[Path]:
    d = SIZES[ctx.mode]["d"]
    return _plot_test_error(ctx, pred, outcome, d) + _plot_spectrum(ctx, pred, outcome, d) + _plot_tail(ctx, pred, d)


CLAIM = register(
    Claim(
        id="C3",
        title="Spiked random features: one maximal step, feature spectrum and exact ridge error",
        statement=(
            "After one step with eta ~ sqrt(N) the network's features are equivalent to a spiked random-features model "
            "(bulk inflated by c, spike r along the learned direction v with <v, theta*> = gamma): the ridge test error "
            "of the readout follows the sRF fixed-point equations, and the feature covariance's spectrum follows the "
            "sRF's deterministic equivalent (bulk, upper edge, one mean-mode outlier), whose upper tail moves with "
            "eta0; +-1 and Gaussian second layers."
        ),
        source=("Cui et al. ICML 2024 (arXiv 2402.04980); Dandi et al. (arXiv 2410.18938); docs/theory.md, sections 8 "
                "and 11"),
        sweeps=sweeps,
        predict=predict,
        analyse=analyse,
        plot=plot,
        arrays=("features.eigenvalues",),
        headline={
            "ridge test error": lambda p, f: scaled(p, f, "test_error.*"),
            "bulk inflation c": shift_c,
            "Stieltjes transform g(z) of the bulk": lambda p, f: scaled(p, f, "spectrum.*.g_re", "spectrum.*.g_im"),
            "mean-mode outlier lambda_1": lambda p, f: scaled(p, f, "spectrum.*.lambda1", "tail.*.lambda1"),
        },
        setting=(
            f"sigma = sigma* = {ACTIVATION}, unit-norm first-layer rows, N = d = p, one step eta = {ETA0:g} sqrt(N) on "
            f"n0 = {PSI2_STEP:g} d samples with r = y; sRF model with (r, c, gamma) from docs/theory.md, section 8; ridge readout "
            f"(lambda = {LAMBDA:g} in the sRF normalisation) on n = alpha d fresh samples, test error against the "
            f"noiseless target on fresh samples; feature spectrum of the network on {NET_RATIO:g} d fresh inputs and "
            "of the sRF's training features, against the deterministic equivalent of docs/theory.md, section 11; "
            f"the network's spectrum along eta0 in {sorted(TAIL_ETA0 + [ETA0])}."
        ),
    )
)
