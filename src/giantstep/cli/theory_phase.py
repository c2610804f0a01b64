"""``giantstep theory`` commands for phase transitions: delta_alg and the spectral-method threshold."""

from __future__ import annotations

import math

import typer

from ..errors import ConfigError
from .theory import JSON_OPT, emit


def register(theory_app: typer.Typer) -> None:
    """Add ``delta-alg``, ``spectral-threshold`` to the ``theory`` sub-app."""

    @theory_app.command("delta-alg")
    def delta_alg_cmd(
        link: str = typer.Option("square", "--link", help="Link name, e.g. square, abs, 'he2', 'tanh'."),
        noise: float = typer.Option(0.0, "--noise", help="Label-noise standard deviation tau."),
        k: int = typer.Option(1, "--k", help="Latent dimension (k >= 2 uses the multi-index formula)."),
        combine: str = typer.Option("sum", "--combine", help="Multi-index combine rule (k >= 2)."),
        method: str = typer.Option("auto", "--method", help="auto|branches|grid|quad|binned (k = 1)."),
        json_out: bool = JSON_OPT,
    ) -> None:
        """delta_alg: weak-recovery threshold of polynomial-time algorithms (theory doc 5.2)."""
        from ..theory.delta_alg import delta_alg, multi_index_delta_alg

        if k == 1:
            res = delta_alg(link, noise, method)
        else:
            res = multi_index_delta_alg(link, combine, k, noise)
        emit(res.as_dict(), json_out)

    @theory_app.command("spectral-threshold")
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
        json_out: bool = JSON_OPT,
    ) -> None:
        """Top eigenvalue, overlap and threshold of the spectral method D_T (theory doc 10.2)."""
        from ..theory.spectral_threshold import (
            Preprocessing,
            spectral_prediction,
            spectral_threshold,
        )

        for name, v in (("upper", upper), ("lower", lower), ("shift", shift), ("scale", scale)):
            if math.isnan(v):
                raise ConfigError(name, "a number", v)
        if not (math.isfinite(shift) and math.isfinite(scale) and scale != 0):
            raise ConfigError("scale", "a finite non-zero float", scale)
        if lower >= upper:
            raise ConfigError("lower", f"a number < upper = {upper}", lower)
        T = Preprocessing(scale=scale, shift=shift, lower=lower, upper=upper)
        pred = spectral_prediction(link, T, delta, noise, k, combine)
        out = pred.as_dict()
        out["delta_T"] = spectral_threshold(link, T, noise, k, combine)
        out["preprocessing"] = T.describe()
        emit(out, json_out)
