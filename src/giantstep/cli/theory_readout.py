"""``giantstep theory`` commands for the readout: random-features ridge (Mei-Montanari), the GE ridge
conditional on the weights, and the spiked random features."""

from __future__ import annotations

import math

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
        from ..theory import mei_montanari as mm

        res = guard(lambda: mm.rf_ridge_risk(activation, psi1, psi2, ridge, F1, Fstar, noise))
        emit(
            {"risk": res.risk, "bias": res.bias, "variance": res.variance, "B": res.B, "V": res.V,
             "lambda": ridge, "readout_ridge": mm.readout_ridge_from_lambda(ridge, psi1)},
            json_out,
        )

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
        import numpy as np

        from ..errors import ConfigError
        from ..seeding import stream
        from ..theory._validate import choice, positive_int
        from ..theory.ge_ridge import best_linear_error, ge_ridge_risk

        if weights:
            from ..saved import read_run_array

            W = read_run_array(weights, "weights", key or None)
            if theta:
                th = read_run_array(theta, "theta")
            elif not weights.endswith(".npy"):
                th = read_run_array(weights, "theta")
            else:
                th = stream(seed, "teacher").standard_normal(np.asarray(W).shape[-1])
        else:
            if theta:
                raise ConfigError("theta", "given only together with --weights", theta)
            d = positive_int("d", d)
            width = positive_int("width", width)
            init = choice("init", init, ("gaussian", "sphere"))
            if d * width > (1 << 26):
                raise ConfigError("width", "such that d * width <= 2^26", width)
            G = stream(seed, "weights").standard_normal((width, d))
            W = G / (math.sqrt(d) if init == "gaussian" else np.linalg.norm(G, axis=1, keepdims=True))
            th = stream(seed, "teacher").standard_normal(d)
        res = guard(lambda: ge_ridge_risk(W, th, activation, link, noise, n, ridge))
        emit({**res._asdict(), "best_linear": best_linear_error(link)}, json_out)

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
        from ..theory.srf import srf_parameters, srf_test_error

        par = srf_parameters(activation, link, noise, eta0, psi2)
        rr = par.r if r < 0 else r
        cc = par.c if c < 0 else c
        gg = par.gamma if gamma < 0 else gamma
        res = guard(lambda: srf_test_error(activation, link, rr, cc, gg, readout_ratio, lam, noise=noise))
        emit(
            {"r": rr, "gamma": gg, "c": cc, "test_error": res.test_error, "converged": res.converged,
             "iterations": res.iterations, "residual": res.residual, "method": res.order_parameters["method"],
             "readout_ridge": lam / readout_ratio, "order_parameters": {k: v for k, v in res.order_parameters.items() if k != "method"}},
            json_out,
        )
