"""``giantstep theory`` commands for phase transitions: delta_alg and the spectral-method threshold."""

from __future__ import annotations

import math

import typer

from ..errors import ConfigError
from .theory import ALLOW_OPT, JSON_OPT, infinity_as_text, report


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
    from ..theory.delta_alg import delta_alg, multi_index_delta_alg

    def compute() -> dict:
        res = delta_alg(link, noise, method=method) if k == 1 else multi_index_delta_alg(link, combine, k, noise)
        out = res.as_dict()
        out["delta_alg"] = infinity_as_text(out["delta_alg"])
        if out["generative_exponent"] is None:
            out["generative_exponent"] = "3 or more"
        return out

    report(compute, {"model": "y = g(z) + noise eps, z = Theta*^T x, x ~ N(0, I_d), n = delta d",
                     "combine": combine if k > 1 else "single index", "limit": "n, d -> inf at fixed delta"},
           json_out, allow)


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
    from ..theory.validation import Interval
    from ..theory.spectral_threshold import (
        Preprocessing,
        spectral_prediction,
        spectral_threshold,
    )

    level = Interval(float, -1e10, 1e10)
    shift, scale = level.check("shift", shift), level.check("scale", scale)
    if scale == 0:
        raise ConfigError("scale", "a non-zero float in [-1e10, 1e10]", scale)
    upper = upper if upper == math.inf else level.check("upper", upper)
    lower = lower if lower == -math.inf else level.check("lower", lower)
    if lower >= upper:
        raise ConfigError("lower", f"a number < upper = {upper}", lower)
    T = Preprocessing(scale=scale, shift=shift, lower=lower, upper=upper)

    def compute() -> dict:
        out = spectral_prediction(link, T, delta, noise, k, combine).as_dict()
        if not out["outlier"]:
            out["lambda_star"] = "none: no informative outlier"
        out["delta_T"] = infinity_as_text(spectral_threshold(link, T, noise, k, combine))
        out["preprocessing"] = T.describe()
        return out

    report(compute, {"matrix": "D_T = (1/n) sum_mu T(y_mu) x_mu x_mu^T, n = delta d",
                     "model": "y = g(z) + noise eps", "limit": "n, d -> inf at fixed delta"}, json_out, allow)


COMMANDS = {
    "delta-alg": delta_alg_cmd,
    "spectral-threshold": spectral_threshold_cmd,
}


def register(theory_app: typer.Typer) -> None:
    """Add ``delta-alg``, ``spectral-threshold`` to the ``theory`` sub-app."""
    for command, function in COMMANDS.items():
        theory_app.command(command)(function)
