"""``giantstep theory`` commands for phase transitions: delta_alg and the spectral-method threshold."""

from __future__ import annotations

import math

import typer

from .theory import ALLOW_OPT, JSON_OPT, report


def delta_alg_cmd(
    link: str = typer.Option("square", "--link", help="Link name, e.g. square, abs, 'he2', 'tanh'."),
    noise: float = typer.Option(0.0, "--noise", help="Label-noise standard deviation tau."),
    k: int = typer.Option(1, "--k", help="Latent dimension (k >= 2 uses the multi-index formula)."),
    combine: str = typer.Option("sum", "--combine", help="Multi-index combine rule (k >= 2)."),
    method: str = typer.Option("auto", "--method", help="auto|branches|grid|quad|binned (k = 1)."),
    allow: bool = ALLOW_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """delta_alg: weak-recovery threshold of polynomial-time algorithms (docs/phase_transitions.md)."""
    from ..theory import quantities as q

    report(lambda: q.delta_alg(link=link, noise=noise, k=k, combine=combine, method=method, allow=allow), json_out)


def spectral_threshold_cmd(
    link: str = typer.Option("square", "--link", help="Link name."),
    noise: float = typer.Option(0.0, "--noise", help="Label-noise standard deviation tau."),
    delta: float = typer.Option(2.0, "--delta", help="Sample ratio n/d."),
    upper: float = typer.Option(math.inf, "--upper", help="T clips y at this value from above."),
    lower: float = typer.Option(-math.inf, "--lower", help="T clips y at this value from below."),
    shift: float = typer.Option(0.0, "--shift", help="T subtracts this after clipping."),
    scale: float = typer.Option(1.0, "--scale", help="T multiplies by this (negative: bottom of D_T)."),
    k: int = typer.Option(1, "--k", help="Latent dimension (1..3)."),
    combine: str = typer.Option("sum", "--combine", help="Multi-index combine rule."),
    allow: bool = ALLOW_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Top eigenvalue, overlap and threshold of the spectral method D_T (docs/phase_transitions.md)."""
    from ..theory import quantities as q

    report(lambda: q.spectral_threshold(link=link, noise=noise, delta=delta, upper=upper, lower=lower, shift=shift,
                                        scale=scale, k=k, combine=combine, allow=allow), json_out)


def next_direction_cmd(
    link: str = typer.Option("3*tanh", "--link", help="Scalar link g of y = g(z_1) sqrt(e) cos(z_2) (gated)."),
    activation: str = typer.Option("tanh", "--activation", help="Activation sigma (sigma'(0) != 0)."),
    eta: float = typer.Option(1.0, "--eta", help="Size of the gradient step from w = 0."),
    delta: float = typer.Option(20.0, "--delta", help="Sample ratio n/d."),
    combine: str = typer.Option("gated", "--combine", help="Multi-index combine rule (k = 2, even in z_2)."),
    population: bool = typer.Option(False, "--population", help="The population-fit law (learned direction exact)."),
    threshold: bool = typer.Option(True, "--threshold/--no-threshold", help="Also delta_T (a bisection: ~3 s)."),
    allow: bool = ALLOW_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """The Hessian's outlier along the next direction after one gradient step (docs/phase_transitions.md)."""
    from ..theory import quantities as q

    report(lambda: q.next_direction(link=link, activation=activation, eta=eta, delta=delta, combine=combine,
                                    population=population, threshold=threshold, allow=allow), json_out)


COMMANDS = {
    "delta-alg": delta_alg_cmd,
    "spectral-threshold": spectral_threshold_cmd,
    "next-direction": next_direction_cmd,
}
