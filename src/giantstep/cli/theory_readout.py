"""``giantstep theory`` commands for the readout: random-features ridge (Mei-Montanari), the GE ridge
conditional on the weights, and the spiked random features."""

from __future__ import annotations

import typer

from .theory import JSON_OPT, emit, guard


def register(theory_app: typer.Typer) -> None:
    """Add ``rf-ridge``, ``ge-ridge``, ``srf`` to the ``theory`` sub-app."""

    @theory_app.command("rf-ridge")
    def rf_cmd(
        activation: str = typer.Option("relu", "--activation"),
        psi1: float = typer.Option(..., "--psi1", help="N/d."),
        psi2: float = typer.Option(..., "--psi2", help="n/d."),
        ridge: float = typer.Option(..., "--ridge", help="lambda in Mei-Montanari's normalisation: (1/n) loss + (N lambda/d)||a||^2."),
        F1: float = typer.Option(1.0, "--F1", help="Linear-part amplitude of the target."),
        Fstar: float = typer.Option(0.0, "--Fstar", help="Nonlinear-part amplitude F* (E f_NL^2 = F*^2)."),
        noise: float = typer.Option(0.0, "--noise", help="Label-noise standard deviation tau."),
        json_out: bool = JSON_OPT,
    ) -> None:
        """Mei-Montanari random-features ridge risk, bias and variance."""
        from ..theory import quantities as q

        emit(guard(lambda: q.rf_ridge(activation=activation, psi1=psi1, psi2=psi2, ridge=ridge, F1=F1, Fstar=Fstar,
                                      noise=noise)), json_out)

    @theory_app.command("ge-ridge")
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
        json_out: bool = JSON_OPT,
    ) -> None:
        """GE + deterministic-equivalent ridge risk conditional on the weights W."""
        from ..theory import quantities as q

        emit(guard(lambda: q.ge_ridge(activation=activation, link=link, noise=noise, d=d, width=width, seed=seed,
                                      init=init, weights=weights or None, theta=theta or None, key=key or None, n=n,
                                      ridge=ridge)), json_out)

    @theory_app.command("srf")
    def srf_cmd(
        activation: str = typer.Option("tanh", "--activation"),
        link: str = typer.Option("tanh", "--link"),
        noise: float = typer.Option(0.0, "--noise"),
        eta0: float = typer.Option(..., "--eta0", help="eta = eta0 sqrt(N) (maximal step)."),
        psi2: float = typer.Option(..., "--psi2", help="First-batch ratio n0/d."),
        readout_ratio: float = typer.Option(..., "--readout-ratio", help="Readout samples n/d."),
        lam: float = typer.Option(..., "--lam", help="Ridge lambda of sum_mu (y - yhat)^2 + lambda ||a||^2, yhat = a.phi/sqrt(p)."),
        r: float = typer.Option(-1.0, "--r", help="Override the spike r (default: from the one-step mapping)."),
        c: float = typer.Option(-1.0, "--c", help="Override the bulk inflation c."),
        gamma: float = typer.Option(-1.0, "--gamma", help="Override the alignment gamma."),
        json_out: bool = JSON_OPT,
    ) -> None:
        """Spiked random features: (r, gamma, c) from one maximal step and the ridge test error."""
        from ..theory import quantities as q

        emit(guard(lambda: q.srf(activation=activation, link=link, noise=noise, eta0=eta0, psi2=psi2,
                                 readout_ratio=readout_ratio, lam=lam, r=r, c=c, gamma=gamma)), json_out)
