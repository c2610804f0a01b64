r"""C3: spiked-random-features equivalence of one maximal step (feature spectrum, ridge error).

Claim (Cui, Pesce, Dandi, Krzakala, Lu, Zdeborova, Loureiro, ICML 2024, arXiv 2402.04980;
Dandi et al., arXiv 2410.18938; docs/theory.md, section 8): after one step with eta = eta0 sqrt(N)
(alpha = 1/2) the features sigma(<w1_i, x>) are equivalent to the spiked random-features model
phi_i(x) = sigma(sqrt(c) <w_i, x> + r a_i <v, x>) with (r, gamma, c) of docs/theory.md, section 8, and the ridge
test error of the readout is given by the sRF fixed point (docs/theory.md, section 8). For an odd sigma,
a_i = +-1 is equivalent to a_i = 1 (the case of the equations); for Gaussian a_i only the
network-vs-sRF equivalence is tested (the fixed point of docs/theory.md, section 8 has a_i = 1).

Sweeps: the network (kind ``steps``: unit rows, a = +-1 or N(0,1), residual r = y, eta0 = 3 at
alpha = 1/2 on n0 = 2d samples, then a ridge readout on n = alpha d fresh samples) and the sRF
model (kind ``rf`` with a ``spike`` block and (r, c, gamma) from
:func:`giantstep.theory.srf.srf_parameters`), both over alpha = n/d, with the feature
covariance spectrum stored. Readout ridge: sRF lambda = 0.1 in sum_mu (y - a.phi/sqrt(p))^2 +
lambda ||a||^2, i.e. ``ridge = lambda / alpha`` in the simulators' (1/n) normalisation.

Verdict rows (tolerance t99 * stderr + a stated finite-size bias; t99 is the two-sided 99%
Student-t quantile for the number of seeds): sRF simulation vs sRF theory, bias 2 E/sqrt(d)
(docs/theory.md, section 8 reports 3-5% at d <= 1600); network vs sRF theory (a = +-1), bias 3 E/sqrt(d)
(5-10% reported); network vs sRF simulation for Gaussian a (difference of means, combined
stderr), bias 3 E/sqrt(d); top feature-covariance eigenvalue lambda_1 of the network (a = +-1)
vs N Var_kappa(mu0(kappa)) [DER: the rank-one mean-feature part mu0(a_i kappa) = a_i mu0(kappa)
for odd sigma], bias E[sigma^2](1 + sqrt(N/n))^2 (the O(1) bulk scale).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .. import plots
from ..activations import get_activation
from ..hermite import hermite_constants
from ..theory.quadrature import gauss_hermite
from .base import Claim, ClaimContext, ClaimOutcome, Comparison, compare, mean_stderr, scaled, summarise, t_factor, verdict_from
from .registry import register

ACTIVATION = "tanh"
LINK = "tanh"
ETA0 = 3.0
PSI2_STEP = 2.0
LAMBDA = 0.1
ALPHAS = [0.5, 1.0, 2.0, 4.0]
SIZES = {"quick": {"d": 512, "seeds": 3, "n_test": 4096}, "full": {"d": 1600, "seeds": 5, "n_test": 8192}}
LAYERS = {"pm": ("rademacher", "rademacher"), "gauss": ("gaussian", "gaussian")}


def _params():
    from ..theory.srf import srf_parameters

    return srf_parameters(ACTIVATION, LINK, ETA0, PSI2_STEP)


def sweeps(mode: str) -> dict[str, dict]:
    s = SIZES[mode]
    d = s["d"]
    n_train = [int(a * d) for a in ALPHAS]
    ridges = [LAMBDA / a for a in ALPHAS]
    p = _params()
    out = {}
    for tag, (net_layer, srf_layer) in LAYERS.items():
        out[f"net_{tag}"] = {
            "base": {
                "kind": "steps",
                "d": d,
                "width": d,
                "n": int(PSI2_STEP * d),
                "activation": ACTIVATION,
                "init": "sphere",
                "second_layer": net_layer,
                "residual": "centered",
                "teacher": {"link": LINK, "noise": 0.0},
                "steps": [{"eta0": ETA0, "alpha": 0.5}],
                "readout": {"ridge": 0.1, "n_train": d, "n_test": s["n_test"]},
                "spectra": {"top": 3, "features": True, "features_n": 2 * d},
                "theory": False,
            },
            "zip": {"readout.n_train": n_train, "readout.ridge": ridges},
            "seeds": s["seeds"],
        }
        out[f"srf_{tag}"] = {
            "base": {
                "kind": "rf",
                "d": d,
                "width": d,
                "n": d,
                "n_test": s["n_test"],
                "activation": ACTIVATION,
                "teacher": {"link": LINK, "noise": 0.0},
                "ridge": 0.1,
                "spike": {"r": p.r, "c": p.c, "gamma": p.gamma, "second_layer": srf_layer},
                "spectrum": True,
            },
            "zip": {"n": n_train, "ridge": ridges},
            "seeds": s["seeds"],
        }
    return out


def mean_feature_variance(r: float, c: float, nodes: int = 81) -> float:
    """Var_kappa mu0(kappa), mu0(kappa) = E_z sigma(r kappa + sqrt(c) z), by Gauss-Hermite."""
    act = get_activation(ACTIVATION)
    x, w = gauss_hermite(nodes)
    mu0 = np.array([float(np.sum(w * act.f(r * k + math.sqrt(c) * x))) for k in x])
    return float(np.sum(w * mu0**2) - np.sum(w * mu0) ** 2)


def predict(mode: str) -> dict:
    from ..theory.srf import srf_test_error

    d = SIZES[mode]["d"]
    p = _params()
    curve = np.geomspace(0.3, 6.0, 30)
    err = {str(a): srf_test_error(ACTIVATION, LINK, r=p.r, c=p.c, gamma=p.gamma, n_over_d=a, lam=LAMBDA).test_error
           for a in ALPHAS}
    err_curve = [srf_test_error(ACTIVATION, LINK, r=p.r, c=p.c, gamma=p.gamma, n_over_d=float(a), lam=LAMBDA).test_error
                 for a in curve]
    var_mu0 = mean_feature_variance(p.r, p.c)
    return {
        "r": p.r,
        "c": p.c,
        "gamma": p.gamma,
        "test_error": err,
        "curve": {"alpha": curve.tolist(), "test_error": err_curve},
        "lambda1_pm": d * var_mu0,
        "var_mu0": var_mu0,
    }


def _tab(frame, axis: str, metric: str, d: int):
    if not len(frame) or metric not in frame.columns:
        return summarise(frame, axis, metric)
    return summarise(frame.assign(alpha=frame[axis] / d), "alpha", metric)


def analyse(ctx: ClaimContext, pred: dict) -> ClaimOutcome:
    s = SIZES[ctx.mode]
    d = s["d"]
    rows: list[Comparison] = []
    srf = {tag: _tab(ctx.ok(f"srf_{tag}"), "n", "test_risk", d) for tag in LAYERS}
    net = {tag: _tab(ctx.ok(f"net_{tag}"), "readout.n_train", "readout.test_error", d) for tag in LAYERS}
    for _, r in srf["pm"].iterrows():
        E = pred["test_error"].get(str(float(r["alpha"])))
        kt = t_factor(int(r["count"]))
        rows.append(compare(f"sRF simulation (a=+-1) test error at alpha={r['alpha']:g}", E, r["mean"], r["stderr"],
                            k=kt, bias=2 * (E or 0) / math.sqrt(d), note=f"t99 = {kt:.3g} stderr + 2E/sqrt(d)"))
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
    lam = ctx.ok("net_pm")
    if len(lam) and "features.lambda1" in lam.columns:
        m, se, cnt = mean_stderr(lam["features.lambda1"].tolist())
        kt = t_factor(cnt)
        esig2 = hermite_constants(ACTIVATION).second_moment
        rows.append(compare("network (a=+-1) top feature eigenvalue lambda_1", pred["lambda1_pm"], m, se, k=kt,
                            bias=esig2 * (1 + math.sqrt(d / (2 * d))) ** 2,
                            note="N Var mu0(kappa); t99 stderr + O(1) bulk scale E sigma^2 (1+sqrt(N/n))^2"))
    srf_lam = ctx.ok("srf_pm")
    if len(lam) and len(srf_lam) and "features.lambda1" in srf_lam.columns:
        srf_lam = srf_lam[np.isclose(srf_lam["n"], 2 * d)]
        m1, se1, c1 = mean_stderr(lam["features.lambda1"].tolist())
        m2, se2, c2 = mean_stderr(srf_lam["features.lambda1"].tolist())
        if c2:
            kt = t_factor(min(c1, c2))
            rows.append(compare("lambda_1: network - sRF simulation (a=+-1, n=2d)", 0.0, m1 - m2, math.hypot(se1, se2),
                                k=kt, bias=3 * m2 / math.sqrt(d), note="t99 x combined stderr + 3 lambda_1/sqrt(d)"))
    verdict, reason = verdict_from(rows, what="sRF equivalence")
    sizes = {"d = width N = p": d, "n0 (step)": int(PSI2_STEP * d), "n (readout)": [f"{a:g} d" for a in ALPHAS],
             "n_test": s["n_test"], "r, c, gamma": [round(pred["r"], 4), round(pred["c"], 4), round(pred["gamma"], 4)]}
    return ClaimOutcome(verdict, reason, tuple(rows), sizes, s["seeds"])


def plot(ctx: ClaimContext, pred: dict, outcome: ClaimOutcome) -> list[Path]:
    s = SIZES[ctx.mode]
    d = s["d"]
    out: list[Path] = []
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
    out += plots.save(fig, ctx.outdir, "c3_test_error")

    net, srf = ctx.ok("net_pm"), ctx.ok("srf_pm")
    if len(net) and len(srf):
        ev_net = ctx.arrays("net_pm", int(net.iloc[0]["row_id"])).get("features.eigenvalues")
        sel = srf[np.isclose(srf["n"], 2 * d)]
        ev_srf = ctx.arrays("srf_pm", int(sel.iloc[0]["row_id"])).get("features.eigenvalues") if len(sel) else None
        if ev_net is not None:
            fig, axes = plots.figure(ncols=2, width=8.6, height=3.4)
            bulk_net = ev_net[3:]
            top = float(np.quantile(bulk_net, 0.999)) * 1.1
            bins = np.linspace(0, top, 60)
            ax = axes[0]
            ax.hist(bulk_net, bins=bins, density=True, color="0.75", edgecolor="0.55", lw=0.4, label="network (one step)")
            if ev_srf is not None:
                ax.hist(ev_srf[3:], bins=bins, density=True, histtype="step", color=plots.color(2), lw=1.3,
                        label="sRF model simulation")
            ax.set_xlabel("eigenvalue of the feature covariance (bulk, top 3 removed)")
            ax.set_ylabel("density")
            ax.set_title("bulk: network vs sRF (no closed-form bulk law available)")
            ax.legend(loc="upper right")
            ax = axes[1]
            k = np.arange(1, 11)
            ax.plot(k, ev_net[:10], "o", color=plots.color(1), label="network")
            if ev_srf is not None:
                ax.plot(k, ev_srf[:10], "s", mfc="none", color=plots.color(2), label="sRF simulation")
            ax.axhline(pred["lambda1_pm"], color=plots.color(0), ls="--", label=r"predicted $\lambda_1 = N\,\mathrm{Var}\,\mu_0(\kappa)$")
            ax.set_yscale("log")
            ax.set_xlabel("index j")
            ax.set_ylabel(r"$\lambda_j$")
            ax.set_title("top eigenvalues (a=+-1, n = 2d, one seed)")
            ax.legend(loc="upper right")
            fig.suptitle(f"C3: feature-covariance spectrum after one maximal step, N = d = {d}")
            out += plots.save(fig, ctx.outdir, "c3_feature_spectrum")
    return out


CLAIM = register(
    Claim(
        id="C3",
        title="Spiked random features: one maximal step, feature spectrum and exact ridge error",
        statement=(
            "After one step with eta ~ sqrt(N) the network's features are equivalent to a spiked random-features model "
            "(bulk inflated by c, spike r along the learned direction v with <v, theta*> = gamma); the ridge test error "
            "of the readout follows the sRF fixed-point equations; +-1 and Gaussian second layers."
        ),
        source=("Cui et al. ICML 2024 (arXiv 2402.04980); Dandi et al. (arXiv 2410.18938); docs/theory.md, section 8"),
        sweeps=sweeps,
        predict=predict,
        analyse=analyse,
        plot=plot,
        headline={
            "ridge test error": lambda p, f: scaled(p, f, "test_error.*"),
            "top feature eigenvalue lambda_1": lambda p, f: scaled(p, f, "lambda1_pm"),
        },
        setting=(
            f"sigma = sigma* = {ACTIVATION}, unit-norm first-layer rows, N = d = p, one step eta = {ETA0:g} sqrt(N) on "
            f"n0 = {PSI2_STEP:g} d samples with r = y; sRF model with (r, c, gamma) from docs/theory.md, section 8; ridge readout "
            f"(lambda = {LAMBDA:g} in the sRF normalisation) on n = alpha d fresh samples, test error against the "
            "noiseless target on fresh samples."
        ),
    )
)
