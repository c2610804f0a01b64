r"""C5: batch reuse lets the second step learn targets of information exponent > 1.

Claim (Moniri & Hassani 2026, arXiv 2605.17767; theory doc 4.1-4.2): with two steps
eta_t = eta0 N^{alpha_t}, fresh batches learn only directions of information exponent (IE) 1;
reusing the first batch in step 2 makes term k of the second gradient carry
E[y^{j+1} z] theta* (j <= k), so theta* is learned once some power y^{j+1} has a nonzero first
Hermite coefficient and term k is visible (k <= alpha2 / (1/2 - alpha1)). He3 (IE 3) is learned
with reuse for alpha2 >= 2 (1/2 - alpha1); even links (He2) are never learned by this route.

Predictions: :func:`giantstep.theory.two_step.two_step_terms` (which terms carry theta*, and their
exponents). theta* is "learned" iff a term with exponent > 0 carries theta*; a term at exponent
0 is critical (BBP-dependent) and the cell is not decided.

Measurement (kind ``steps``, two steps, alpha1 = alpha2 = alpha, fresh or reused batch): what
the second step learned, i.e. the alignment of theta* with the top-3 right singular vectors of
the step-2 update dW2 = W2 - W1 (the right vectors of the terms of theory 4.2), in units of the
null level,

    q = d * sum_{j<=3} <v_j(dW2), theta*>^2    (q ~ chi^2_3, mean 3, variance 6, for directions
                                                unrelated to theta*).

(The top vectors of W2 itself mix the step-1 and step-2 spikes: with a_i = +-1 the network
output overshoots after step 1 (f1 - f0 ~ sqrt(N) mu1 s kappa1), the step-2 residual carries
-kappa1, and the theta* parts of the two spikes can cancel.)

Verdict rows use the exactly known null law: "not learned" cells: mean q vs 3, tolerance
3.09 max(sample, null) stderr + 3 (an allowance of one extra null-sized overlap^2 per vector,
O(1/d) leakage); "learned" cells: a one-sided test of the null, mean q - 3.09 sqrt(6/runs) must
exceed 3 + 3.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import plots
from .base import Claim, ClaimContext, ClaimOutcome, Comparison, compare, mean_stderr, verdict_from
from .registry import register

ACTIVATION = "tanh"
LINKS = {"he1": 1, "he2": 2, "he3": 3}  # link -> information exponent
ALPHAS = [0.25, 0.35, 0.45]
ETA0 = 1.0
PSI2 = 1.0
NULL = 3.0
ALLOW = 3.0
Z = 3.09  # one-sided 99.9% normal quantile
SIZES = {"quick": {"d": 512, "seeds": 3}, "full": {"d": 2048, "seeds": 5}}


def sweeps(mode: str) -> dict[str, dict]:
    s = SIZES[mode]
    d = s["d"]
    out = {}
    for link in LINKS:
        for batch in ("fresh", "reuse"):
            base = {
                "kind": "steps",
                "d": d,
                "width": d,
                "n": int(PSI2 * d),
                "activation": ACTIVATION,
                "second_layer": "rademacher",
                "residual": "centered",
                "teacher": {"link": link, "noise": 0.0},
                "steps": [{"eta0": ETA0, "alpha": 0.25}, {"eta0": ETA0, "alpha": 0.25, "batch": batch}],
                "spectra": {"top": 3},
                "theory": False,
            }
            out[f"{link}_{batch}"] = {
                "base": base,
                "zip": {"steps.0.alpha": ALPHAS, "steps.1.alpha": ALPHAS},
                "seeds": s["seeds"],
            }
    return out


def learned(link: str, batch: str, alpha: float, d: int) -> dict:
    """Theory 4.2 via two_step_terms: exponents, theta* components, and the learned/critical flag."""
    from ..theory.two_step import two_step_terms

    t = two_step_terms(ACTIVATION, link, 0.0, d, d, int(PSI2 * d), ETA0, alpha, ETA0, alpha, batch=batch)
    carrying = [k for k, c in enumerate(t["carries_theta"]) if c]
    visible = [k for k in carrying if t["exponents"][k] > 1e-12]
    critical = [k for k in carrying if abs(t["exponents"][k]) <= 1e-12]
    return {
        "learned": bool(visible),
        "critical": bool(critical) and not visible,
        "terms_carrying_theta": carrying,
        "exponents": t["exponents"],
    }


def predict(mode: str) -> dict:
    d = SIZES[mode]["d"]
    return {f"{link}_{batch}": {str(a): learned(link, batch, a, d) for a in ALPHAS} for link in LINKS for batch in ("fresh", "reuse")}


def _q(frame, d: int) -> np.ndarray:
    cols = [c for c in ("dw2.overlap1", "dw2.overlap2", "dw2.overlap3") if c in frame.columns]
    return d * np.sum(np.square(frame[cols].to_numpy(float)), axis=1)


def analyse(ctx: ClaimContext, pred: dict) -> ClaimOutcome:
    s = SIZES[ctx.mode]
    d = s["d"]
    rows: list[Comparison] = []
    for name, table in pred.items():
        frame = ctx.ok(name)
        if not len(frame):
            continue
        frame = frame.assign(q=_q(frame, d))
        for a, grp in frame.groupby("steps.0.alpha"):
            p = table.get(str(float(a)))
            if p is None:
                continue
            m, se, cnt = mean_stderr(grp["q"].tolist())
            se_null = float(np.sqrt(2.0 * NULL / cnt))  # chi^2_3 has variance 6
            label = f"{name}: d*sum overlap^2 (top 3 of dW2) at alpha={a:g}"
            if p["critical"]:
                rows.append(Comparison(label, None, m, se, None, None, "theta*-carrying term at exponent 0 (critical)"))
            elif p["learned"]:
                ok = bool(m - Z * se_null > NULL + ALLOW)
                rows.append(Comparison(label + " (learned)", NULL + ALLOW, m, se, Z * se_null, ok,
                                       f"one-sided test of the null: mean - {Z} x null stderr {se_null:.2g} must exceed "
                                       f"3 + allowance 3; theta*-carrying terms {p['terms_carrying_theta']}"))
            else:
                rows.append(compare(label + " (not learned)", NULL, m, max(se, se_null), k=Z, bias=ALLOW,
                                    note=f"null chi^2_3: mean 3, stderr sqrt(6/{cnt}); {Z} x max(sample, null) stderr "
                                         "+ allowance 3"))
    verdict, reason = verdict_from(rows, what="theta* learned after step 2 (fresh vs reused batch)")
    return ClaimOutcome(verdict, reason, tuple(rows), {"d": d, "width N": d, "n": int(PSI2 * d)}, s["seeds"])


def plot(ctx: ClaimContext, pred: dict, outcome: ClaimOutcome) -> list[Path]:
    d = SIZES[ctx.mode]["d"]
    fig, axes = plots.figure(ncols=3, width=10.5, height=3.4)
    for j, (link, ie) in enumerate(LINKS.items()):
        ax = axes[j]
        for i, batch in enumerate(("fresh", "reuse")):
            frame = ctx.ok(f"{link}_{batch}")
            if not len(frame):
                continue
            frame = frame.assign(ov=np.sqrt(_q(frame, d) / d))
            xs, ms, ses = [], [], []
            for a, grp in frame.groupby("steps.0.alpha"):
                m, se, _ = mean_stderr(grp["ov"].tolist())
                xs.append(a), ms.append(m), ses.append(se)
            plots.sim_points(ax, np.asarray(xs) + (i - 0.5) * 0.006, ms, ses, f"{batch} batch (simulation)", i=i,
                             marker="o" if batch == "fresh" else "s")
            table = pred[f"{link}_{batch}"]
            for a in ALPHAS:
                p = table[str(a)]
                if p["learned"]:
                    ax.plot([a + (i - 0.5) * 0.006], [0.02], "^", color=plots.color(i), ms=7)
        ax.axhline(np.sqrt(NULL / d), color="0.5", ls=":", lw=1, label=r"null level $\sqrt{3/d}$")
        ax.axhline(np.sqrt((NULL + ALLOW) / d), color="0.5", ls="--", lw=0.8, label="decision level")
        ax.axvline(1 / 3, color="0.7", lw=0.8)
        ax.set_xlabel(r"$\alpha_1=\alpha_2=\alpha$ ($\eta_t = N^{\alpha}$)")
        ax.set_ylabel(r"$\|P_{top3}(W_2-W_1)\,\theta^*\|$")
        ax.set_title(f"{link} target (information exponent {ie})")
        ax.set_ylim(0, 1.0)
        ax.legend(loc="upper left", fontsize=6.5)
    fig.suptitle(
        "C5: theta* alignment of the top-3 singular vectors of the step-2 update; triangles: theory predicts learning "
        f"(tanh, N = d = {d}, n = d)"
    )
    plots.annotate_verdict(axes[2], outcome.verdict)
    return plots.save(fig, ctx.outdir, "c5_batch_reuse")


CLAIM = register(
    Claim(
        id="C5",
        title="Batch reuse learns information exponent > 1 in the second step",
        statement=(
            "With two steps eta_t ~ N^alpha_t, fresh batches learn only directions of information exponent 1; reusing "
            "the batch in step 2 learns theta* for targets of higher information exponent whose powers y^(k+1) have a "
            "linear component (He3 for alpha2 >= 2(1/2 - alpha1)); even links (He2) are not learned this way."
        ),
        source="Moniri & Hassani 2026 (arXiv 2605.17767); theory doc section 4.2",
        sweeps=sweeps,
        predict=predict,
        analyse=analyse,
        plot=plot,
        setting=(
            f"Convention P, sigma = {ACTIVATION}, a_i = +-1, residual r = y - (f - f0), N = d, n = {PSI2:g} d; two "
            f"steps with eta_t = {ETA0:g} N^alpha (alpha1 = alpha2 = alpha), step 2 on a fresh or the same batch; "
            "targets He1, He2/sqrt2, He3/sqrt6 (information exponents 1, 2, 3). Note tanh has c2 = 0, so the k = 1 "
            "term of step 2 vanishes; the k = 0 and k = 2 terms decide."
        ),
    )
)
