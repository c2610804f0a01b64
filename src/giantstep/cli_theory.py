"""``giantstep theory QUANTITY [--param value ...] [--json]``: every theory prediction by name.

The sub-app is thin: it parses options, validates them (ConfigError -> exit 2, one line),
calls :mod:`giantstep.theory` and prints either a short table or exactly one JSON object.

Further theory commands live next to their code: each module named in
``THEORY_COMMAND_MODULES`` exposes ``register_theory(theory_app)``.
"""

from __future__ import annotations

import importlib
import json
import math
import sys
from typing import Any

import typer

# Modules that add more ``giantstep theory`` commands via ``register_theory(theory_app)``.
THEORY_COMMAND_MODULES: tuple[str, ...] = (
    "giantstep.theory.kernel_modes",
    "giantstep.theory.delta_alg",
    "giantstep.theory.spectral_threshold",
)


def _clean(value: Any) -> Any:
    """Convert numpy scalars/arrays and tuples into JSON-ready Python values."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    return value


def emit(result: dict, as_json: bool) -> None:
    """Print ``result`` as one JSON object (``--json``) or as ``key: value`` lines."""
    data = _clean(result)
    if as_json:
        sys.stdout.write(json.dumps(data, allow_nan=False) + "\n")
        return
    for key, value in data.items():
        if isinstance(value, float):
            typer.echo(f"{key}: {value:.6g}")
        else:
            typer.echo(f"{key}: {value}")


def build_theory_app() -> typer.Typer:
    """The ``theory`` sub-app with the built-in commands and those of THEORY_COMMAND_MODULES."""
    theory_app = typer.Typer(
        name="theory",
        help="Asymptotic predictions by name (docs/theory.md).",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    _add_builtin_commands(theory_app)
    _add_more_commands(theory_app)
    for name in THEORY_COMMAND_MODULES:
        importlib.import_module(name).register_theory(theory_app)
    return theory_app


def register(app: typer.Typer) -> None:
    """Attach ``giantstep theory`` to the main app."""
    app.add_typer(build_theory_app(), name="theory")


JSON_OPT = typer.Option(False, "--json", help="Print exactly one JSON object.")


def _add_builtin_commands(theory_app: typer.Typer) -> None:
    @theory_app.command("hermite")
    def hermite_cmd(
        name: str = typer.Argument(..., help="Activation or link name, e.g. relu or 'he1+0.5*he2'."),
        noise: float = typer.Option(0.0, "--noise", help="Label-noise level tau for the generative exponent."),
        degree: int = typer.Option(10, "--degree", help="Largest Hermite degree K (>= 8)."),
        json_out: bool = JSON_OPT,
    ) -> None:
        """Hermite constants mu0, mu1, mu*, c_0..c_K and the information/generative exponents."""
        from .errors import ConfigError
        from .hermite import generative_exponent, hermite_constants, information_exponent
        from .activations import get_activation

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


def _guard(fn):
    """Run ``fn``; a DivergenceError (solver failure) becomes one line on stderr and exit 1."""
    from .errors import DivergenceError

    try:
        return fn()
    except DivergenceError as exc:
        typer.echo(f"error: {exc.reason}", err=True)
        raise SystemExit(1)


def _add_more_commands(theory_app: typer.Typer) -> None:
    @theory_app.command("mp")
    def mp_cmd(
        gamma: float = typer.Option(..., "--gamma", help="Aspect ratio d/n of S = X^T X / n."),
        var: float = typer.Option(1.0, "--var", help="Entry variance of X."),
        z_real: float = typer.Option(1.0, "--z-real", help="Real part of z for the Stieltjes transform."),
        z_imag: float = typer.Option(0.1, "--z-imag", help="Imaginary part of z (> 0)."),
        grid: int = typer.Option(0, "--grid", help="If > 0, the density on this many points of the support."),
        json_out: bool = JSON_OPT,
    ) -> None:
        """Marchenko-Pastur law: edges, atom, moments 1..4, Stieltjes transform m(z), density."""
        import numpy as np

        from .errors import ConfigError
        from .theory import mp

        a, b = mp.mp_edges(gamma, var)
        if not (math.isfinite(z_real) and math.isfinite(z_imag) and z_imag > 0):
            raise ConfigError("z_imag", "a float in (0, inf)", z_imag)
        if grid < 0 or grid > 100000:
            raise ConfigError("grid", "an integer in [0, 100000]", grid)
        m = complex(mp.mp_stieltjes(complex(z_real, z_imag), gamma, var))
        out = {
            "lower_edge": a,
            "upper_edge": b,
            "atom": mp.mp_atom(gamma),
            "moments": [mp.mp_moment(k, gamma, var) for k in range(1, 5)],
            "stieltjes": [m.real, m.imag],
            "z": [z_real, z_imag],
        }
        if grid:
            x = np.linspace(a, b, grid)
            out["x"] = x
            out["density"] = mp.mp_density(x, gamma, var)
        emit(out, json_out)

    @theory_app.command("bbp")
    def bbp_cmd(
        aspect: float = typer.Option(1.0, "--aspect", help="rectangular: smaller/larger dimension; covariance: d/n."),
        theta: float = typer.Option(..., "--theta", help="Spike strength."),
        model: str = typer.Option("rectangular", "--model", help="rectangular | wigner | covariance."),
        json_out: bool = JSON_OPT,
    ) -> None:
        """BBP transition: top, edge, left_overlap2, right_overlap2, outlier."""
        from .theory import bbp
        from .theory._validate import choice

        model = choice("model", model, ("rectangular", "wigner", "covariance"))
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

        from .errors import ConfigError
        from .theory import pennington_worah as pw

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
        from .theory import mei_montanari as mm

        res = _guard(lambda: mm.rf_ridge_risk(activation, psi1, psi2, ridge, F1, Fstar, noise))
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
        weights: str = typer.Option("", "--weights", help="Optional .npy file with W (N x d)."),
        theta: str = typer.Option("", "--theta", help="Optional .npy file with theta* (d,); needs --weights."),
        n: int = typer.Option(..., "--n", help="Readout samples."),
        ridge: float = typer.Option(..., "--ridge", help="Readout ridge: (1/n)||y - F a||^2 + ridge ||a||^2."),
        json_out: bool = JSON_OPT,
    ) -> None:
        """GE + deterministic-equivalent ridge risk conditional on the weights W."""
        import numpy as np

        from .errors import ConfigError
        from .seeding import stream
        from .theory._validate import choice, positive_int
        from .theory.ge_ridge import best_linear_error, ge_ridge_risk

        if weights:
            try:
                W = np.load(weights)
            except (OSError, ValueError):
                raise ConfigError("weights", "a readable .npy file with an N x d array", weights) from None
            if theta:
                try:
                    th = np.load(theta)
                except (OSError, ValueError):
                    raise ConfigError("theta", "a readable .npy file with a length-d vector", theta) from None
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
        res = _guard(lambda: ge_ridge_risk(W, th, activation, link, noise, n, ridge))
        emit({**res._asdict(), "best_linear": best_linear_error(link)}, json_out)

    @theory_app.command("one-step")
    def one_step_cmd(
        activation: str = typer.Option("relu", "--activation"),
        link: str = typer.Option("he1", "--link"),
        noise: float = typer.Option(0.0, "--noise"),
        d: int = typer.Option(..., "--d"),
        width: int = typer.Option(..., "--width"),
        n: int = typer.Option(..., "--n"),
        eta0: float = typer.Option(..., "--eta0"),
        alpha: float = typer.Option(0.0, "--alpha"),
        second_layer: str = typer.Option("rademacher", "--second-layer", help="rademacher | gaussian | symmetric."),
        residual: str = typer.Option("centered", "--residual", help="full | centered."),
        json_out: bool = JSON_OPT,
    ) -> None:
        """One-step spike: vhat_norm2, gamma2, s1_update, s1_weights, outlier, overlap_theta."""
        from .theory.one_step import one_step

        p = one_step(activation, link, noise, d, width, n, eta0, alpha, second_layer, residual)
        emit(p.as_dict(), json_out)

    @theory_app.command("poly-spikes")
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
        json_out: bool = JSON_OPT,
    ) -> None:
        """Polynomial feature spikes: count and alpha interval, per-degree c_k s^k and exponents."""
        from .errors import ConfigError
        from .hermite import hermite_constants
        from .activations import get_activation
        from .theory import poly_spikes as ps
        from .theory._validate import in_range, nonnegative, positive_int

        alpha = in_range("alpha", alpha, 0.0, 0.5, hi_open=True)
        if not 1 <= max_degree <= 12:
            raise ConfigError("max_degree", "an integer in [1, 12]", max_degree)
        d, width, n = positive_int("d", d), positive_int("width", width), positive_int("n", n)
        g = hermite_constants(get_activation(link, field_name="link"))
        vn2 = g.mu1**2 + (g.second_moment + nonnegative("noise", noise) ** 2) * d / n
        s = ps.per_neuron_move(activation, vn2, eta0, alpha, width)
        count = ps.spike_count(alpha)
        degs = ps.degree_spikes(activation, alpha, s, n, width, max_degree)
        emit(
            {
                "spikes": count,
                "interval": list(ps.alpha_interval(count)) if count >= 1 else [0.0, 0.0],
                "s": s,
                "vhat_norm2": vn2,
                "degrees": [x.k for x in degs],
                "exponents": [x.exponent for x in degs],
                "magnitudes": [x.leading for x in degs],
                "magnitudes_exact": [x.exact for x in degs],
                "op_norms": [x.op_norm for x in degs],
                "visible": [x.visible for x in degs],
                "critical": [x.critical for x in degs],
            },
            json_out,
        )

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
        from .theory.srf import srf_parameters, srf_test_error

        par = srf_parameters(activation, link, noise, eta0, psi2)
        rr = par.r if r < 0 else r
        cc = par.c if c < 0 else c
        gg = par.gamma if gamma < 0 else gamma
        res = _guard(lambda: srf_test_error(activation, link, rr, cc, gg, readout_ratio, lam, noise=noise))
        emit(
            {"r": rr, "gamma": gg, "c": cc, "test_error": res.test_error, "converged": res.converged,
             "iterations": res.iterations, "residual": res.residual, "method": res.order_parameters["method"],
             "readout_ridge": lam / readout_ratio, "order_parameters": {k: v for k, v in res.order_parameters.items() if k != "method"}},
            json_out,
        )

    @theory_app.command("two-step")
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
        second_layer: str = typer.Option("rademacher", "--second-layer"),
        json_out: bool = JSON_OPT,
    ) -> None:
        """Two-step power counting: exponents, new_directions, outliers_including_first, magnitudes
        (and, for a Gaussian second layer and a fresh batch, left_hermite_parts: the update along
        He_j(a), j = 2, 3, exact in s1)."""
        from .theory.two_step import left_hermite_part, two_step_terms

        out = two_step_terms(activation, link, noise, d, width, n, eta1, alpha1, eta2, alpha2, batch, second_layer)
        if second_layer == "gaussian" and batch == "fresh":
            out["left_hermite_parts"] = {f"he{j}": left_hermite_part(activation, link, noise, d, width, n, eta1, alpha1,
                                                                     eta2, alpha2, degree=j) for j in (2, 3)}
        emit(out, json_out)
