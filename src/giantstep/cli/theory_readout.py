"""``giantstep theory`` commands for the readout: random-features ridge (Mei-Montanari), the GE ridge
conditional on the weights, and the spiked random features.

Ridge normalisations are named in the flags (docs/notation.md): ``--ridge`` is always the
simulator readout's, (1/n)||y - F a||^2 + ridge ||a||^2 with F = sigma(X W^T); ``--ridge-mm`` is
Mei-Montanari's lambda (ridge = psi1 lambda); ``--lam`` is the sRF equations' lambda of
sum_mu (y - a.phi/sqrt(p))^2 + lam ||a||^2 (ridge = lam / n_over_d).
"""

from __future__ import annotations

import math
from typing import Optional

import typer

from ..errors import ConfigError
from .theory import ALLOW_OPT, JSON_OPT, report

READOUT_RIDGE = "the readout's (1/n)||y - F a||^2 + ridge ||a||^2, F = sigma(X W^T), unit rows"


def one_of(first: tuple[str, Optional[float]], second: tuple[str, Optional[float]]) -> tuple[str, float]:
    """The one of two alternative options that was given (ConfigError unless exactly one was)."""
    given = [(name, value) for name, value in (first, second) if value is not None]
    if len(given) != 1:
        raise ConfigError(first[0], f"given, or '{second[0]}' instead (exactly one of the two)",
                          "both" if given else "neither")
    return given[0]


def rf_cmd(
    activation: str = typer.Option("relu", "--activation"),
    psi1: float = typer.Option(..., "--psi1", help="N/d."),
    psi2: float = typer.Option(..., "--psi2", help="n/d (readout samples)."),
    ridge: Optional[float] = typer.Option(None, "--ridge", help="The readout's ridge: (1/n)||y - F a||^2 + ridge ||a||^2."),
    ridge_mm: Optional[float] = typer.Option(None, "--ridge-mm", help="Mei-Montanari's lambda: (1/n) loss + (N lambda/d)||a||^2."),
    F1: float = typer.Option(1.0, "--F1", help="Linear-part amplitude of the target."),
    Fstar: float = typer.Option(0.0, "--Fstar", help="Nonlinear-part amplitude F* (E f_NL^2 = F*^2)."),
    noise: float = typer.Option(0.0, "--noise", help="Label-noise standard deviation tau."),
    allow: bool = ALLOW_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Mei-Montanari random-features ridge risk, bias and variance (--ridge or --ridge-mm)."""
    from ..theory import mei_montanari as mm

    def compute() -> dict:
        name, value = one_of(("ridge", ridge), ("ridge_mm", ridge_mm))
        lam = mm.lambda_from_readout_ridge(value, psi1) if name == "ridge" else value
        res = mm.rf_ridge_risk(activation, psi1, psi2, lam, F1, Fstar, noise)
        return {"risk": res.risk, "bias": res.bias, "variance": res.variance, "B": res.B, "V": res.V,
                "ridge_mm": lam, "ridge": mm.readout_ridge_from_lambda(lam, psi1)}

    report(compute, {"ridge": READOUT_RIDGE, "ridge_mm": "Mei-Montanari's lambda = ridge / psi1",
                     "features": "sigma(<w_j, x>), unit rows, p = N = psi1 d", "target": "F1 <beta, x> + f_NL + noise",
                     "error": "against the noiseless target"}, json_out, allow)


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
    allow: bool = ALLOW_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """GE + deterministic-equivalent ridge risk conditional on the weights W."""
    from ..theory.ge_ridge import best_linear_error, ge_ridge_risk

    W, th = _ge_weights(d, width, seed, init, weights, theta)

    def compute() -> dict:
        res = ge_ridge_risk(W, th, activation, link, n, ridge, noise=noise)
        return {**res.as_dict(), "best_linear": best_linear_error(link)}

    source = f"loaded from {weights}" if weights else f"drawn: W0 rows {init}, seed {seed}"
    report(compute, {"weights": source, "ridge": READOUT_RIDGE, "features": "column-centred (an unpenalised intercept)",
                     "model": "Gaussian equivalence + deterministic equivalent, conditional on W"}, json_out, allow)


def srf_cmd(
    activation: str = typer.Option("tanh", "--activation"),
    link: str = typer.Option("tanh", "--link"),
    noise: float = typer.Option(0.0, "--noise"),
    eta0: float = typer.Option(..., "--eta0", help="eta = eta0 sqrt(N) (maximal step)."),
    psi2: float = typer.Option(..., "--psi2", help="First-batch ratio n0/d."),
    n_over_d: float = typer.Option(..., "--n-over-d", "--readout-ratio", help="Readout samples n/d (--readout-ratio: old name)."),
    lam: Optional[float] = typer.Option(None, "--lam", help="The sRF lambda of sum_mu (y - a.phi/sqrt(p))^2 + lambda ||a||^2."),
    ridge: Optional[float] = typer.Option(None, "--ridge", help="The readout's ridge (= lam / n_over_d); instead of --lam."),
    d: Optional[int] = typer.Option(None, "--d", help="p = d, to check lam << n E[mu0^2] (n = n_over_d d)."),
    r: Optional[float] = typer.Option(None, "--r", help="Override the spike r >= 0 (default: from the one-step mapping)."),
    c: Optional[float] = typer.Option(None, "--c", help="Override the bulk inflation c > 0."),
    gamma: Optional[float] = typer.Option(None, "--gamma", help="Override the alignment gamma in [0, 1]."),
    intercept: bool = typer.Option(True, "--intercept/--no-intercept",
                                   help="The readout fits an unpenalised intercept (the steps readout; "
                                        "--no-intercept: the rf kind's readout and the paper's model)."),
    allow: bool = ALLOW_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Spiked random features: (r, gamma, c) from one maximal step and the ridge test error."""
    from ..theory.srf import srf_parameters, srf_test_error
    from ..theory.validation import NONNEGATIVE, POSITIVE, UNIT

    def compute() -> dict:
        name, value = one_of(("lam", lam), ("ridge", ridge))
        lam_srf = POSITIVE.check(name, value) * (POSITIVE.check("n_over_d", n_over_d) if name == "ridge" else 1.0)
        par = srf_parameters(activation, link, eta0, psi2, noise=noise)
        rr = par.r if r is None else NONNEGATIVE.check("r", r)
        cc = par.c if c is None else POSITIVE.check("c", c)
        gg = par.gamma if gamma is None else UNIT.check("gamma", gamma)
        res = srf_test_error(activation, link, rr, cc, gg, n_over_d, lam_srf, noise=noise, d=d, intercept=intercept)
        out = {"r": rr, "gamma": gg, "c": cc, **res.as_dict(), "lam": lam_srf, "ridge": lam_srf / n_over_d}
        return out

    report(compute, {"second_layer": "+-1 with an odd activation (the equations' a_i = 1)",
                     "residual": "label (f0 removed; r = y at the step)", "step": "one step, eta = eta0 sqrt(N)",
                     "p": "p = N = d", "lam": "sum_mu (y - b - a.phi/sqrt(p))^2 + lam ||a||^2", "ridge": READOUT_RIDGE,
                     "intercept": ("b fitted, unpenalised (the steps readout: centred features and labels)"
                                   if intercept else "none (b = 0: the rf kind's readout)"),
                     "mean_mode": (f"lam << n E[mu0^2] checked at d = {d}" if d is not None
                                   else "unpenalised: lam << n E[mu0^2] assumed (n -> inf; give --d to check)"),
                     "overrides": [k for k, v in (("r", r), ("c", c), ("gamma", gamma)) if v is not None]},
           json_out, allow)


COMMANDS = {
    "rf-ridge": rf_cmd,
    "ge-ridge": ge_cmd,
    "srf": srf_cmd,
}


def register(theory_app: typer.Typer) -> None:
    """Add ``rf-ridge``, ``ge-ridge``, ``srf`` to the ``theory`` sub-app."""
    for command, function in COMMANDS.items():
        theory_app.command(command)(function)


def _ge_weights(d, width, seed, init, weights: str, theta: str):
    """W and theta* for ge-ridge: loaded from .npy files, or drawn from the seed (ConfigError on bad input)."""
    import numpy as np

    from ..seeding import stream
    from ..theory.validation import SIZE, Interval, Options

    seed = Interval(int, 0, 2**62).check("seed", seed)
    if weights:
        W = _load_array("weights", weights, 2, "a readable .npy file with a finite N x d array")
        th = (_load_array("theta", theta, 1, "a readable .npy file with a finite length-d vector") if theta
              else stream(seed, "teacher").standard_normal(W.shape[1]))
        return W, th
    if theta:
        raise ConfigError("theta", "given only together with --weights", theta)
    d, width = SIZE.check("d", d), SIZE.check("width", width)
    init = Options(("gaussian", "sphere")).check("init", init)
    if d * width > (1 << 26):
        raise ConfigError("width", "such that d * width <= 2^26", width)
    G = stream(seed, "weights").standard_normal((width, d))
    W = G / (math.sqrt(d) if init == "gaussian" else np.linalg.norm(G, axis=1, keepdims=True))
    return W, stream(seed, "teacher").standard_normal(d)


def _load_array(field: str, path: str, ndim: int, allowed: str):
    """A finite float array of ``ndim`` dimensions from a .npy file (never unpickled)."""
    import numpy as np

    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        raise ConfigError(field, allowed, path) from None
    if not isinstance(arr, np.ndarray) or arr.ndim != ndim or arr.size == 0 or arr.size > (1 << 26):
        raise ConfigError(field, allowed, path)
    try:
        arr = arr.astype(float)
    except (TypeError, ValueError):
        raise ConfigError(field, allowed, path) from None
    if not np.all(np.isfinite(arr)):
        raise ConfigError(field, allowed, path)
    return arr
