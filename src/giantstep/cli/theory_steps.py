"""``giantstep theory`` commands for the gradient steps: one-step spike, polynomial spikes, two steps
and the kernel modes after one step. Every command echoes the residual and second layer it used
(one default residual for simulator, CLI and theory: ``giantstep.theory.first_step.DEFAULT_RESIDUAL``)."""

from __future__ import annotations

from typing import Optional

import typer

from ..theory.first_step import DEFAULT_RESIDUAL, DEFAULT_SECOND_LAYER
from .theory import ALLOW_OPT, JSON_OPT, report

RESIDUAL_HELP = "label (r = y at every step) | centered (r = y - (f - f0)) | full (r = y - f)."


def step_assumptions(residual: str, second_layer: str, **extra) -> dict:
    """The model a step command's numbers describe."""
    return {"residual": residual, "second_layer": second_layer, "teacher": "y = g(<theta*, x>) + noise eps, ||theta*|| = 1",
            "step": "eta = eta0 N^alpha, full batch of n samples", "limit": "proportional: n, d, N -> inf at fixed ratios",
            **extra}


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
    from ..theory.one_step import one_step

    report(lambda: one_step(activation, link, d, width, n, eta0, alpha, noise=noise, second_layer=second_layer,
                            residual=residual).as_dict(),
           step_assumptions(residual, second_layer), json_out, allow)


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
    from ..theory import poly_spikes as ps
    from ..theory.first_step import first_step
    from ..theory.validation import GROWING_STEP_EXPONENT

    def compute() -> dict:
        a = GROWING_STEP_EXPONENT.check("alpha", alpha)
        fs = first_step(activation, link, d, width, n, eta0, a, noise=noise)
        count = ps.spike_count(a)
        degs = ps.degree_spikes(activation, a, fs.s, n, width, max_degree=max_degree)
        return {"spikes": count, "interval": list(ps.alpha_interval(count)) if count >= 1 else [0.0, 0.0],
                "s": fs.s, "vhat_norm2": fs.vhat_norm2, "degrees": [x.k for x in degs],
                "exponents": [x.exponent for x in degs], "magnitudes": [x.leading for x in degs],
                "magnitudes_exact": [x.exact for x in degs], "op_norms": [x.op_norm for x in degs],
                "visible": [x.visible for x in degs], "critical": [x.critical for x in degs]}

    report(compute, step_assumptions(DEFAULT_RESIDUAL, "rademacher", rows="unit rows for the exact magnitudes"),
           json_out, allow)


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
    """Two-step power counting: exponents, counts, per-term magnitudes and theta* content, update_parts (exact in s1)."""
    from ..theory.two_step import two_step_terms

    def compute() -> dict:
        out = two_step_terms(activation, link, d, width, n, eta1, alpha1, eta2, alpha2, noise=noise, batch=batch,
                             second_layer=second_layer, residual=residual).as_dict()
        parts = out["update_parts"]
        if isinstance(parts, dict) and "he3" in parts:
            out["left_hermite_parts"] = {key: parts[key] for key in ("he2", "he3")}
        return out

    report(compute, step_assumptions(residual, second_layer, batch=batch, steps="eta_t = eta0_t N^alpha_t, t = 1, 2"),
           json_out, allow)


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
    from ..theory.kernel_modes import kernel_mode_report

    report(lambda: kernel_mode_report(activation, link, d, width, n, eta0, alpha, noise=noise,
                                      second_layer=second_layer, s=s, gamma=gamma).as_dict(),
           step_assumptions("label", second_layer, law="w1 = sqrt(1 + (c - 1) a^2) w0 + s a u (theory.feature_law)",
                            overrides=[k for k, v in (("s", s), ("gamma", gamma)) if v is not None]),
           json_out, allow)


COMMANDS = {
    "one-step": one_step_cmd,
    "poly-spikes": poly_cmd,
    "two-step": two_step_cmd,
    "kernel-modes": kernel_modes_cmd,
}


def register(theory_app: typer.Typer) -> None:
    """Add ``one-step``, ``poly-spikes``, ``two-step``, ``kernel-modes`` to the ``theory`` sub-app."""
    for command, function in COMMANDS.items():
        theory_app.command(command)(function)
