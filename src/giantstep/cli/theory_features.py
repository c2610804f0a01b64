"""``giantstep theory srf-spectrum``: the deterministic equivalent of the feature-covariance spectrum
after one maximal step (:mod:`giantstep.theory.feature_spectrum`)."""

from __future__ import annotations

import math

import typer

from .theory import JSON_OPT, report


def parse_z(text: str) -> complex | None:
    """'RE,IM' -> complex(RE, IM) with IM > 0; '' -> None. Parsed as two floats, never evaluated."""
    from ..errors import ConfigError

    if text == "":
        return None
    parts = text.split(",")
    try:
        re_, im_ = (float(p) for p in parts) if len(parts) == 2 else (math.nan, math.nan)
    except ValueError:
        re_, im_ = math.nan, math.nan
    if not (math.isfinite(re_) and math.isfinite(im_) and im_ > 0):
        raise ConfigError("z", "two floats 'RE,IM' with IM > 0", text)
    return complex(re_, im_)


def srf_spectrum_cmd(
    activation: str = typer.Option("tanh", "--activation", help="sigma (odd or even for a +-1 second layer)."),
    link: str = typer.Option("tanh", "--link", help="Teacher link g."),
    noise: float = typer.Option(0.0, "--noise", help="Label-noise level tau of the step batch."),
    eta0: float = typer.Option(..., "--eta0", help="eta = eta0 sqrt(N) (maximal step)."),
    psi2: float = typer.Option(..., "--psi2", help="Step batch ratio n0/d."),
    readout_ratio: float = typer.Option(..., "--readout-ratio", help="Samples of the covariance, n/d."),
    psi1: float = typer.Option(1.0, "--psi1", help="Width ratio p/d."),
    z: str = typer.Option("", "--z", help="Complex point 'RE,IM' (IM > 0) for the Stieltjes transform g(z)."),
    grid: int = typer.Option(200, "--grid", help="Density grid size over the bulk (points crowd at the edges)."),
    width: int = typer.Option(0, "--width", help="Width p: places the mean-mode outlier (~ p E f_mean^2); 0 = p -> inf."),
    second_layer: str = typer.Option("rademacher", "--second-layer", help="rademacher | ones."),
    init: str = typer.Option("sphere", "--init", help="sphere | gaussian (rows of W0)."),
    raw: bool = typer.Option(False, "--raw", help="Raw features (default: column-centred, as the simulator)."),
    json_out: bool = JSON_OPT,
) -> None:
    """Feature spectrum after one step: x, density, bulk_edges, outliers, stieltjes (at --z)."""
    from ..theory import quantities as q

    point = parse_z(z)
    report(lambda: q.srf_spectrum(activation=activation, link=link, noise=noise, eta0=eta0, psi2=psi2,
                                  readout_ratio=readout_ratio, psi1=psi1, z=point, grid=grid, width=width,
                                  second_layer=second_layer, init=init, raw=raw), json_out)


COMMANDS = {
    "srf-spectrum": srf_spectrum_cmd,
}
