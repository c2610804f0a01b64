"""``giantstep theory`` commands for the readout: random-features ridge (Mei-Montanari), the GE ridge
conditional on the weights, and the spiked random features.

Ridge normalisations are named in the flags (docs/notation.md): ``--ridge`` is always the
simulator readout's, (1/n)||y - F a||^2 + ridge ||a||^2 with F = sigma(X W^T); ``--ridge-mm`` is
Mei-Montanari's lambda (ridge = psi1 lambda); ``--lam`` is the sRF equations' lambda of
sum_mu (y - a.phi/sqrt(p))^2 + lam ||a||^2 (ridge = lam / n_over_d).
"""

from __future__ import annotations

from typing import Optional

import typer

from .theory import ALLOW_OPT, JSON_OPT, report


def rf_cmd(
    activation: str = typer.Option("relu", "--activation"),
    psi1: float = typer.Option(..., "--psi1", help="N/d."),
    psi2: float = typer.Option(..., "--psi2", help="n/d (readout samples)."),
    ridge: Optional[float] = typer.Option(None, "--ridge", help="The readout's ridge: (1/n)||y - F a||^2 + ridge ||a||^2."),
    ridge_mm: Optional[float] = typer.Option(None, "--ridge-mm", help="Mei-Montanari's lambda: (1/n) loss + (N lambda/d)||a||^2."),
    F1: float = typer.Option(1.0, "--F1", help="Linear-part amplitude of the target."),
    Fstar: float = typer.Option(0.0, "--Fstar", help="Nonlinear-part amplitude F* (E f_NL^2 = F*^2)."),
    noise: float = typer.Option(0.0, "--noise", help="Label-noise standard deviation tau."),
    allow: bool = ALLOW_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Mei-Montanari random-features ridge risk, bias and variance (--ridge or --ridge-mm)."""
    from ..theory import quantities as q

    report(lambda: q.rf_ridge(activation=activation, psi1=psi1, psi2=psi2, ridge=ridge, ridge_mm=ridge_mm, F1=F1,
                              Fstar=Fstar, noise=noise, allow=allow), json_out)


def ge_cmd(
    activation: str = typer.Option("relu", "--activation"),
    link: str = typer.Option("he1", "--link"),
    noise: float = typer.Option(0.0, "--noise"),
    d: int = typer.Option(400, "--d", help="Input dimension (weights drawn when --weights is absent)."),
    width: int = typer.Option(400, "--width", help="N (weights drawn when --weights is absent)."),
    seed: int = typer.Option(0, "--seed", help="Root seed: W0 from stream (seed, 'weights'), theta* from (seed, 'teacher')."),
    init: str = typer.Option("gaussian", "--init", help="gaussian | sphere."),
    weights: str = typer.Option("", "--weights", help="Optional W (N x d): a .npy file, or the arrays.npz (or "
                                                      "the directory) of a run with --save-weights."),
    theta: str = typer.Option("", "--theta", help="Optional theta* (d,): a .npy file or an arrays.npz; with "
                                                  "--weights from a run, the run's theta by default."),
    key: str = typer.Option("", "--key", help="Array of the weights' .npz (default: the last W_t, e.g. W2)."),
    n: int = typer.Option(..., "--n", help="Readout samples."),
    ridge: float = typer.Option(..., "--ridge", help="Readout ridge: (1/n)||y - F a||^2 + ridge ||a||^2."),
    allow: bool = ALLOW_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """GE + deterministic-equivalent ridge risk conditional on the weights W."""
    from ..theory import quantities as q

    report(lambda: q.ge_ridge(activation=activation, link=link, noise=noise, d=d, width=width, seed=seed, init=init,
                              weights=weights or None, theta=theta or None, key=key or None, n=n, ridge=ridge,
                              allow=allow), json_out)


def srf_cmd(
    activation: str = typer.Option("tanh", "--activation"),
    link: str = typer.Option("tanh", "--link"),
    noise: float = typer.Option(0.0, "--noise"),
    eta0: float = typer.Option(..., "--eta0", help="eta = eta0 sqrt(N) (maximal step)."),
    psi2: float = typer.Option(..., "--psi2", help="First-batch ratio n0/d."),
    n_over_d: float = typer.Option(..., "--n-over-d", "--readout-ratio", help="Readout samples n/d (--readout-ratio: old name)."),
    lam: Optional[float] = typer.Option(None, "--lam", help="The sRF lambda of sum_mu (y - a.phi/sqrt(p))^2 + lambda ||a||^2."),
    ridge: Optional[float] = typer.Option(None, "--ridge", help="The readout's ridge (= lam / n_over_d); instead of --lam."),
    d: Optional[int] = typer.Option(None, "--d", help="p = d, to check lam << n E[mu0^2] (n = n_over_d d)."),
    r: Optional[float] = typer.Option(None, "--r", help="Override the spike r >= 0 (default: from the one-step mapping)."),
    c: Optional[float] = typer.Option(None, "--c", help="Override the bulk inflation c > 0."),
    gamma: Optional[float] = typer.Option(None, "--gamma", help="Override the alignment gamma in [0, 1]."),
    allow: bool = ALLOW_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Spiked random features: (r, gamma, c) from one maximal step and the ridge test error."""
    from ..theory import quantities as q

    report(lambda: q.srf(activation=activation, link=link, noise=noise, eta0=eta0, psi2=psi2, n_over_d=n_over_d,
                         lam=lam, ridge=ridge, d=d, r=r, c=c, gamma=gamma, allow=allow), json_out)


COMMANDS = {
    "rf-ridge": rf_cmd,
    "ge-ridge": ge_cmd,
    "srf": srf_cmd,
}
