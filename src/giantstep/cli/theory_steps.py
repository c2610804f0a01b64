"""``giantstep theory`` commands for the gradient steps: one-step spike, polynomial spikes, two steps
and the kernel modes after one step. Every command echoes the residual and second layer it used
(one default residual for simulator, CLI and theory: ``giantstep.theory.first_step.DEFAULT_RESIDUAL``)."""

from __future__ import annotations

from typing import Optional

import typer

from ..theory.first_step import DEFAULT_RESIDUAL, DEFAULT_SECOND_LAYER
from .theory import ALLOW_OPT, JSON_OPT, report

RESIDUAL_HELP = "label (r = y at every step) | centered (r = y - (f - f0)) | full (r = y - f)."


def one_step_cmd(
    activation: str = typer.Option("relu", "--activation"),
    link: str = typer.Option("he1", "--link"),
    noise: float = typer.Option(0.0, "--noise"),
    d: int = typer.Option(..., "--d"),
    width: int = typer.Option(..., "--width"),
    n: int = typer.Option(..., "--n"),
    eta0: float = typer.Option(..., "--eta0"),
    alpha: float = typer.Option(0.0, "--alpha"),
    second_layer: str = typer.Option(DEFAULT_SECOND_LAYER, "--second-layer", help="rademacher | gaussian | symmetric."),
    residual: str = typer.Option(DEFAULT_RESIDUAL, "--residual", help=RESIDUAL_HELP),
    allow: bool = ALLOW_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """One-step spike: vhat_norm2, gamma2, s1_update, s1_weights, outlier, overlap_theta."""
    from ..theory import quantities as q

    report(lambda: q.one_step(activation=activation, link=link, noise=noise, d=d, width=width, n=n, eta0=eta0,
                              alpha=alpha, second_layer=second_layer, residual=residual, allow=allow), json_out)


def poly_cmd(
    activation: str = typer.Option("relu", "--activation"),
    alpha: float = typer.Option(..., "--alpha", help="Step exponent, eta = eta0 N^alpha."),
    link: str = typer.Option("he1", "--link"),
    noise: float = typer.Option(0.0, "--noise"),
    d: int = typer.Option(1000, "--d"),
    width: int = typer.Option(1000, "--width"),
    n: int = typer.Option(1000, "--n"),
    eta0: float = typer.Option(1.0, "--eta0"),
    max_degree: int = typer.Option(6, "--max-degree"),
    allow: bool = ALLOW_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Polynomial feature spikes: count and alpha interval, per-degree c_k s^k and exponents."""
    from ..theory import quantities as q

    report(lambda: q.poly_spikes(activation=activation, alpha=alpha, link=link, noise=noise, d=d, width=width, n=n,
                                 eta0=eta0, max_degree=max_degree, allow=allow), json_out)


def two_step_cmd(
    alpha1: float = typer.Option(..., "--alpha1"),
    alpha2: float = typer.Option(..., "--alpha2"),
    activation: str = typer.Option("relu", "--activation"),
    link: str = typer.Option("he1", "--link"),
    noise: float = typer.Option(0.0, "--noise"),
    d: int = typer.Option(1000, "--d"),
    width: int = typer.Option(1000, "--width"),
    n: int = typer.Option(2000, "--n"),
    eta1: float = typer.Option(1.0, "--eta1", help="eta0 of step 1."),
    eta2: float = typer.Option(1.0, "--eta2", help="eta0 of step 2."),
    batch: str = typer.Option("fresh", "--batch", help="Second-step batch: fresh | reuse."),
    second_layer: str = typer.Option(DEFAULT_SECOND_LAYER, "--second-layer"),
    residual: str = typer.Option(DEFAULT_RESIDUAL, "--residual", help=RESIDUAL_HELP),
    allow: bool = ALLOW_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Two-step power counting: exponents, new_directions, outliers_including_first, magnitudes
    (and, for a Gaussian second layer and a fresh batch, left_hermite_parts: the update along
    He_j(a), j = 2, 3, exact in s1)."""
    from ..theory import quantities as q

    report(lambda: q.two_step(alpha1=alpha1, alpha2=alpha2, activation=activation, link=link, noise=noise, d=d,
                              width=width, n=n, eta1=eta1, eta2=eta2, batch=batch, second_layer=second_layer,
                              residual=residual, allow=allow), json_out)


def kernel_modes_cmd(
    activation: str = typer.Option("relu", "--activation", help="Activation sigma."),
    link: str = typer.Option("he1", "--link", help="Teacher link g (single index)."),
    noise: float = typer.Option(0.0, "--noise", help="Label noise tau."),
    d: int = typer.Option(64, "--d", help="Input dimension d."),
    width: int = typer.Option(256, "--width", help="Width N."),
    n: int = typer.Option(128, "--n", help="Samples in the step's batch."),
    eta0: float = typer.Option(4.0, "--eta0", help="Step size prefactor (eta = eta0 N^alpha)."),
    alpha: float = typer.Option(0.0, "--alpha", help="Step-size exponent in [0, 1/2]."),
    second_layer: str = typer.Option("gaussian", "--second-layer", help="gaussian or rademacher."),
    s: Optional[float] = typer.Option(None, "--s", help="Override the spike strength s >= 0."),
    gamma: Optional[float] = typer.Option(None, "--gamma", help="Override the alignment <u, theta*> in [0, 1]."),
    allow: bool = ALLOW_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Mode eigenvalues before/after one step, amplification ratios, mixing angle, k0 spectrum."""
    from ..theory import quantities as q

    report(lambda: q.kernel_modes(activation=activation, link=link, noise=noise, d=d, width=width, n=n, eta0=eta0,
                                  alpha=alpha, second_layer=second_layer, s=s, gamma=gamma, allow=allow), json_out)


COMMANDS = {
    "one-step": one_step_cmd,
    "poly-spikes": poly_cmd,
    "two-step": two_step_cmd,
    "kernel-modes": kernel_modes_cmd,
}
