"""``giantstep theory`` commands for spectra: Hermite constants, Marchenko-Pastur, BBP and the
conjugate-kernel (Pennington-Worah) law."""

from __future__ import annotations

import typer

from .theory import ALLOW_OPT, JSON_OPT, report


def hermite_cmd(
    name: str = typer.Argument(..., help="Activation or link name, e.g. relu or 'he1+0.5*he2'."),
    noise: float = typer.Option(0.0, "--noise", help="Label-noise level tau for the generative exponent."),
    degree: int = typer.Option(10, "--degree", help="Largest Hermite degree K (>= 8)."),
    allow: bool = ALLOW_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Hermite constants mu0, mu1, mu*, c_0..c_K and the information/generative exponents."""
    from ..theory import quantities as q

    report(lambda: q.hermite(name=name, noise=noise, degree=degree, allow=allow), json_out)


def mp_cmd(
    aspect: float = typer.Option(..., "--aspect", "--gamma", help="Aspect ratio d/n of S = X^T X / n (--gamma: old name)."),
    var: float = typer.Option(1.0, "--var", help="Entry variance of X."),
    z_real: float = typer.Option(1.0, "--z-real", help="Real part of z for the Stieltjes transform."),
    z_imag: float = typer.Option(0.1, "--z-imag", help="Imaginary part of z (> 0)."),
    grid: int = typer.Option(0, "--grid", help="If > 0, the density on this many points of the support."),
    allow: bool = ALLOW_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Marchenko-Pastur law: edges, atom, moments 1..4, Stieltjes transform m(z), density."""
    from ..theory import quantities as q

    report(lambda: q.mp(aspect=aspect, var=var, z_real=z_real, z_imag=z_imag, grid=grid, allow=allow), json_out)


def bbp_cmd(
    aspect: float = typer.Option(1.0, "--aspect", help="rectangular: smaller/larger dimension; covariance: d/n."),
    theta: float = typer.Option(..., "--theta", help="Spike strength."),
    model: str = typer.Option("rectangular", "--model", help="rectangular | wigner | covariance."),
    allow: bool = ALLOW_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """BBP transition: top, edge, left_overlap2, right_overlap2, outlier."""
    from ..theory import quantities as q

    report(lambda: q.bbp(theta=theta, aspect=aspect, model=model, allow=allow), json_out)


def ck_cmd(
    activation: str = typer.Option("relu", "--activation", help="sigma (centered internally)."),
    phi: float = typer.Option(..., "--phi", help="n0/m = d/n."),
    psi: float = typer.Option(..., "--psi", help="n0/n1 = d/N."),
    grid: int = typer.Option(200, "--grid", help="Density grid size on [0, edge]."),
    z_real: float = typer.Option(1.0, "--z-real"),
    z_imag: float = typer.Option(0.1, "--z-imag"),
    allow: bool = ALLOW_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Pennington-Worah conjugate-kernel spectrum: density on a grid, G(z), support edge."""
    from ..theory import quantities as q

    report(lambda: q.ck_spectrum(activation=activation, phi=phi, psi=psi, grid=grid, z_real=z_real, z_imag=z_imag,
                                 allow=allow), json_out)


COMMANDS = {
    "hermite": hermite_cmd,
    "mp": mp_cmd,
    "bbp": bbp_cmd,
    "ck-spectrum": ck_cmd,
}
