"""``giantstep theory`` commands for spectra: Hermite constants, Marchenko-Pastur, BBP and the
conjugate-kernel (Pennington-Worah) law."""

from __future__ import annotations

import math

import typer

from .theory import JSON_OPT, emit


def register(theory_app: typer.Typer) -> None:
    """Add ``hermite``, ``mp``, ``bbp``, ``ck-spectrum`` to the ``theory`` sub-app."""

    @theory_app.command("hermite")
    def hermite_cmd(
        name: str = typer.Argument(..., help="Activation or link name, e.g. relu or 'he1+0.5*he2'."),
        noise: float = typer.Option(0.0, "--noise", help="Label-noise level tau for the generative exponent."),
        degree: int = typer.Option(10, "--degree", help="Largest Hermite degree K (>= 8)."),
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
        hc = hermite_constants(act, degree)
        emit(
            {
                "name": act.name,
                "mu0": hc.mu0,
                "mu1": hc.mu1,
                "mustar": hc.mustar,
                "second_moment": hc.second_moment,
                "coefficients": list(hc.coefficients),
                "information_exponent": information_exponent(act),
                "generative_exponent": generative_exponent(act, noise),
                "noise": noise,
            },
            json_out,
        )

    @theory_app.command("mp")
    def mp_cmd(
        aspect: float = typer.Option(..., "--aspect", "--gamma", help="Aspect ratio d/n of S = X^T X / n (--gamma: old name)."),
        var: float = typer.Option(1.0, "--var", help="Entry variance of X."),
        z_real: float = typer.Option(1.0, "--z-real", help="Real part of z for the Stieltjes transform."),
        z_imag: float = typer.Option(0.1, "--z-imag", help="Imaginary part of z (> 0)."),
        grid: int = typer.Option(0, "--grid", help="If > 0, the density on this many points of the support."),
        json_out: bool = JSON_OPT,
    ) -> None:
        """Marchenko-Pastur law: edges, atom, moments 1..4, Stieltjes transform m(z), density."""
        import numpy as np

        from ..errors import ConfigError
        from ..theory import mp

        a, b = mp.mp_edges(aspect, var)
        if not (math.isfinite(z_real) and math.isfinite(z_imag) and z_imag > 0):
            raise ConfigError("z_imag", "a float in (0, inf)", z_imag)
        if grid < 0 or grid > 100000:
            raise ConfigError("grid", "an integer in [0, 100000]", grid)
        m = complex(mp.mp_stieltjes(complex(z_real, z_imag), aspect, var))
        out = {
            "lower_edge": a,
            "upper_edge": b,
            "atom": mp.mp_atom(aspect),
            "moments": [mp.mp_moment(k, aspect, var) for k in range(1, 5)],
            "stieltjes": [m.real, m.imag],
            "z": [z_real, z_imag],
        }
        if grid:
            x = np.linspace(a, b, grid)
            out["x"] = x
            out["density"] = mp.mp_density(x, aspect, var)
        emit(out, json_out)

    @theory_app.command("bbp")
    def bbp_cmd(
        aspect: float = typer.Option(1.0, "--aspect", help="rectangular: smaller/larger dimension; covariance: d/n."),
        theta: float = typer.Option(..., "--theta", help="Spike strength."),
        model: str = typer.Option("rectangular", "--model", help="rectangular | wigner | covariance."),
        json_out: bool = JSON_OPT,
    ) -> None:
        """BBP transition: top, edge, left_overlap2, right_overlap2, outlier."""
        from ..theory import bbp
        from ..theory.validation import Options

        model = Options(("rectangular", "wigner", "covariance")).check("model", model)
        if model == "rectangular":
            res = bbp.rectangular(aspect, theta)
        elif model == "wigner":
            res = bbp.spiked_wigner(theta)
        else:
            res = bbp.spiked_covariance(aspect, theta)
        emit({**res._asdict(), "model": model, "aspect": aspect, "theta": theta}, json_out)

    @theory_app.command("ck-spectrum")
    def ck_cmd(
        activation: str = typer.Option("relu", "--activation", help="sigma (centered internally)."),
        phi: float = typer.Option(..., "--phi", help="n0/m = d/n."),
        psi: float = typer.Option(..., "--psi", help="n0/n1 = d/N."),
        grid: int = typer.Option(200, "--grid", help="Density grid size on [0, edge]."),
        z_real: float = typer.Option(1.0, "--z-real"),
        z_imag: float = typer.Option(0.1, "--z-imag"),
        json_out: bool = JSON_OPT,
    ) -> None:
        """Pennington-Worah conjugate-kernel spectrum: density on a grid, G(z), support edge."""
        import numpy as np

        from ..errors import ConfigError
        from ..theory import pennington_worah as pw

        eta, zeta = pw.ck_constants(activation)
        if grid < 2 or grid > 20000:
            raise ConfigError("grid", "an integer in [2, 20000]", grid)
        if not (math.isfinite(z_imag) and z_imag > 0):
            raise ConfigError("z_imag", "a float in (0, inf)", z_imag)
        edge = pw.ck_support_edge(phi, psi, eta, zeta)
        x = np.linspace(edge / grid, edge * 1.02, grid)
        g = complex(pw.ck_stieltjes(np.array([complex(z_real, z_imag)]), phi, psi, eta, zeta)[0])
        emit(
            {"eta": eta, "zeta": zeta, "edge": edge, "x": x, "density": pw.ck_density(x, phi, psi, eta, zeta),
             "stieltjes": [g.real, g.imag], "z": [z_real, z_imag]},
            json_out,
        )
