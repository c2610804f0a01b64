"""``giantstep theory`` commands for spectra: Hermite constants, Marchenko-Pastur, BBP and the
conjugate-kernel (Pennington-Worah) law."""

from __future__ import annotations

import math

import typer

from .theory import ALLOW_OPT, JSON_OPT, report

MP_CONVENTION = "S = X^T X / n, X (n x d) i.i.d. entries of variance var, aspect = d/n"


def hermite_cmd(
    name: str = typer.Argument(..., help="Activation or link name, e.g. relu or 'he1+0.5*he2'."),
    noise: float = typer.Option(0.0, "--noise", help="Label-noise level tau for the generative exponent."),
    degree: int = typer.Option(10, "--degree", help="Largest Hermite degree K (>= 8)."),
    allow: bool = ALLOW_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Hermite constants mu0, mu1, mu*, c_0..c_K and the information/generative exponents."""
    from ..activations import get_activation
    from ..errors import ConfigError
    from ..hermite import (
        generative_exponent,
        hermite_constants,
        information_exponent,
    )

    act = get_activation(name, field_name="name")
    if not (isinstance(noise, float) and math.isfinite(noise) and noise >= 0):
        raise ConfigError("noise", "a float in [0, inf)", noise)
    if degree < 8 or degree > 12:
        raise ConfigError("degree", "an integer in [8, 12]", degree)

    def compute() -> dict:
        hc = hermite_constants(act, degree)
        info, gen = information_exponent(act), generative_exponent(act, noise)
        return {"name": act.name, "mu0": hc.mu0, "mu1": hc.mu1, "mustar": hc.mustar,
                "second_moment": hc.second_moment, "coefficients": list(hc.coefficients),
                "information_exponent": info if info is not None else "none up to degree 12",
                "generative_exponent": gen if gen is not None else "none up to degree 4", "noise": noise}

    report(compute, {"hermite": "probabilists' He_k, c_k = E[sigma(G) He_k(G)] unnormalised",
                     "noise": "y = g(z) + noise eps for the generative exponent"}, json_out, allow)


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
    import numpy as np

    from ..theory import mp
    from ..theory.validation import POSITIVE, Interval

    z_real_c = Interval(float, -1e150, 1e150).check("z_real", z_real)
    z_imag_c = Interval(float, 0, 1e150, closed="right").check("z_imag", z_imag)
    grid = Interval(int, 0, 100000).check("grid", grid)
    aspect_c, var_c = POSITIVE.check("aspect", aspect), POSITIVE.check("var", var)

    def compute() -> dict:
        a, b = mp.mp_edges(aspect_c, var_c)
        m = complex(mp.mp_stieltjes(complex(z_real_c, z_imag_c), aspect_c, var_c))
        out = {"lower_edge": a, "upper_edge": b, "atom": mp.mp_atom(aspect_c),
               "moments": [mp.mp_moment(k, aspect_c, var_c) for k in range(1, 5)], "stieltjes": [m.real, m.imag],
               "z": [z_real_c, z_imag_c]}
        if grid:
            x = np.linspace(a, b, grid)
            out["x"], out["density"] = x, mp.mp_density(x, aspect_c, var_c)
        return out

    report(compute, {"convention": MP_CONVENTION, "limit": "n, d -> inf at fixed aspect"}, json_out, allow)


def bbp_cmd(
    aspect: float = typer.Option(1.0, "--aspect", help="rectangular: smaller/larger dimension; covariance: d/n."),
    theta: float = typer.Option(..., "--theta", help="Spike strength."),
    model: str = typer.Option("rectangular", "--model", help="rectangular | wigner | covariance."),
    allow: bool = ALLOW_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """BBP transition: top, edge, left_overlap2, right_overlap2, outlier."""
    from ..theory import bbp
    from ..theory.validation import Options

    model = Options(("rectangular", "wigner", "covariance")).check("model", model)

    def compute() -> dict:
        if model == "rectangular":
            res = bbp.rectangular(aspect, theta)
        elif model == "wigner":
            res = bbp.spiked_wigner(theta)
        else:
            res = bbp.spiked_covariance(aspect, theta)
        return {**res.as_dict(), "model": model, "aspect": aspect, "theta": theta}

    conventions = {"rectangular": "X (n x m, n <= m) entries of variance 1/m, aspect = n/m, X + theta u v^T",
                   "wigner": "symmetric, off-diagonal variance 1/n, H + theta u u^T",
                   "covariance": "population covariance I + theta v v^T, aspect = d/n"}
    report(compute, {"model": conventions[model], "limit": "proportional"}, json_out, allow)


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
    import numpy as np

    from ..theory import pennington_worah as pw
    from ..theory.validation import Interval

    grid = Interval(int, 2, 20000).check("grid", grid)
    z_real_c = Interval(float, -1e6, 1e6).check("z_real", z_real)
    z_imag_c = Interval(float, 0, 1e6, closed="right").check("z_imag", z_imag)
    ratio = Interval(float, 0, 1e6, closed="right")
    phi_c, psi_c = ratio.check("phi", phi), ratio.check("psi", psi)

    def compute() -> dict:
        cc = pw.ck_constants(activation)
        eta, zeta = cc.eta, cc.zeta
        edge = pw.ck_support_edge(phi_c, psi_c, eta, zeta)
        x = np.linspace(edge / grid, edge * 1.02, grid)
        g = complex(pw.ck_stieltjes(np.array([complex(z_real_c, z_imag_c)]), phi_c, psi_c, eta, zeta)[0])
        return {"eta": eta, "zeta": zeta, "edge": edge, "x": x, "density": pw.ck_density(x, phi_c, psi_c, eta, zeta),
                "stieltjes": [g.real, g.imag], "z": [z_real_c, z_imag_c]}

    report(compute, {"features": "F = sigma(X W^T) - mu0 (centred), X (n x d) Gaussian, W (N x d) entries 1/d",
                     "ratios": "phi = d/n, psi = d/N", "limit": "proportional; mu0's outlier not included"},
           json_out, allow)


COMMANDS = {
    "hermite": hermite_cmd,
    "mp": mp_cmd,
    "bbp": bbp_cmd,
    "ck-spectrum": ck_cmd,
}


def register(theory_app: typer.Typer) -> None:
    """Add ``hermite``, ``mp``, ``bbp``, ``ck-spectrum`` to the ``theory`` sub-app."""
    for command, function in COMMANDS.items():
        theory_app.command(command)(function)
