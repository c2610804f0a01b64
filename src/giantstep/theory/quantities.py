r"""Every prediction of ``giantstep theory QUANTITY`` as a function of the same keyword arguments.

One function per command, named after it (``one-step`` -> :func:`one_step`), keyword-only, with
the command's option names (``--second-layer`` -> ``second_layer``) and defaults; each returns
the mapping that ``giantstep theory QUANTITY --json`` prints (grids as numpy arrays). The CLI
commands are thin wrappers of these functions, and :mod:`giantstep.theory` makes each of them
callable by its command name: ``giantstep.theory.one_step(d=..., ...)`` is :func:`one_step`.

Bad arguments raise :class:`~giantstep.errors.ConfigError` naming the argument; a solver that
fails raises :class:`~giantstep.errors.DivergenceError`. The formulas, regimes and references
are those of the modules each function calls (docs/theory.md).

Example
-------
>>> out = one_step(activation="relu", link="he1", d=1000, width=1000, n=2000, eta0=1.0, alpha=0.25)
>>> out["outlier"], 0 < out["overlap_theta"] < 1
(True, True)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..activations import get_activation
from ..errors import ConfigError
from ..hermite import generative_exponent, hermite_constants, information_exponent
from ..saved import read_run_array
from ..seeding import stream
from ._validate import choice, in_range, nonnegative, positive_int

# ----------------------------------------------------------------------------- spectra


def hermite(*, name: Any, noise: float = 0.0, degree: int = 10) -> dict[str, Any]:
    """Hermite constants mu0, mu1, mu*, c_0..c_K and the information/generative exponents of a
    function (a name, a sum, an expression in x or a callable)."""
    act = get_activation(name, field_name="name")
    if not (isinstance(noise, (int, float)) and math.isfinite(noise) and noise >= 0):
        raise ConfigError("noise", "a float in [0, inf)", noise)
    if degree < 8 or degree > 12:
        raise ConfigError("degree", "an integer in [8, 12]", degree)
    hc = hermite_constants(act, degree)
    return {"name": act.name, "mu0": hc.mu0, "mu1": hc.mu1, "mustar": hc.mustar, "second_moment": hc.second_moment,
            "coefficients": list(hc.coefficients), "information_exponent": information_exponent(act),
            "generative_exponent": generative_exponent(act, float(noise)), "noise": float(noise)}


def mp(*, gamma: float, var: float = 1.0, z_real: float = 1.0, z_imag: float = 0.1, grid: int = 0) -> dict[str, Any]:
    """Marchenko-Pastur law of S = X^T X / n with aspect ratio gamma = d/n: edges, atom, moments 1..4,
    Stieltjes transform m(z) and, with ``grid`` > 0, the density on the support."""
    from . import mp as law

    a, b = law.mp_edges(gamma, var)
    if not (math.isfinite(z_real) and math.isfinite(z_imag) and z_imag > 0):
        raise ConfigError("z_imag", "a float in (0, inf)", z_imag)
    if grid < 0 or grid > 100000:
        raise ConfigError("grid", "an integer in [0, 100000]", grid)
    m = complex(law.mp_stieltjes(complex(z_real, z_imag), gamma, var))
    out: dict[str, Any] = {"lower_edge": a, "upper_edge": b, "atom": law.mp_atom(gamma),
                           "moments": [law.mp_moment(k, gamma, var) for k in range(1, 5)],
                           "stieltjes": [m.real, m.imag], "z": [z_real, z_imag]}
    if grid:
        x = np.linspace(a, b, grid)
        out["x"], out["density"] = x, law.mp_density(x, gamma, var)
    return out


def bbp(*, theta: float, aspect: float = 1.0, model: str = "rectangular") -> dict[str, Any]:
    """BBP transition of a rank-one spike of strength theta: top, edge, overlaps, outlier."""
    from . import bbp as transitions

    model = choice("model", model, ("rectangular", "wigner", "covariance"))
    if model == "rectangular":
        res = transitions.rectangular(aspect, theta)
    elif model == "wigner":
        res = transitions.spiked_wigner(theta)
    else:
        res = transitions.spiked_covariance(aspect, theta)
    return {**res._asdict(), "model": model, "aspect": aspect, "theta": theta}


def ck_spectrum(*, phi: float, psi: float, activation: Any = "relu", grid: int = 200, z_real: float = 1.0,
                z_imag: float = 0.1) -> dict[str, Any]:
    """Pennington-Worah conjugate-kernel spectrum (phi = d/n, psi = d/N): density, G(z), edge."""
    from . import pennington_worah as pw

    eta, zeta = pw.ck_constants(activation)
    if grid < 2 or grid > 20000:
        raise ConfigError("grid", "an integer in [2, 20000]", grid)
    if not (math.isfinite(z_imag) and z_imag > 0):
        raise ConfigError("z_imag", "a float in (0, inf)", z_imag)
    edge = pw.ck_support_edge(phi, psi, eta, zeta)
    x = np.linspace(edge / grid, edge * 1.02, grid)
    g = complex(pw.ck_stieltjes(np.array([complex(z_real, z_imag)]), phi, psi, eta, zeta)[0])
    return {"eta": eta, "zeta": zeta, "edge": edge, "x": x, "density": pw.ck_density(x, phi, psi, eta, zeta),
            "stieltjes": [g.real, g.imag], "z": [z_real, z_imag]}


# ----------------------------------------------------------------------------- gradient steps


def one_step(*, d: int, width: int, n: int, eta0: float, activation: Any = "relu", link: Any = "he1",
             noise: float = 0.0, alpha: float = 0.0, second_layer: str = "rademacher",
             residual: str = "centered") -> dict[str, Any]:
    """The one-step spike: vhat_norm2, gamma2, s1_update, s1_weights, outlier, overlap_theta."""
    from .one_step import one_step as spike

    return spike(activation, link, noise, d, width, n, eta0, alpha, second_layer, residual).as_dict()


def poly_spikes(*, alpha: float, activation: Any = "relu", link: Any = "he1", noise: float = 0.0, d: int = 1000,
                width: int = 1000, n: int = 1000, eta0: float = 1.0, max_degree: int = 6) -> dict[str, Any]:
    """Polynomial feature spikes of a growing step: count and alpha interval, per-degree c_k s^k
    and exponents."""
    from . import poly_spikes as ps

    alpha = in_range("alpha", alpha, 0.0, 0.5, hi_open=True)
    if not 1 <= max_degree <= 12:
        raise ConfigError("max_degree", "an integer in [1, 12]", max_degree)
    d, width, n = positive_int("d", d), positive_int("width", width), positive_int("n", n)
    g = hermite_constants(get_activation(link, field_name="link"))
    vn2 = g.mu1**2 + (g.second_moment + nonnegative("noise", noise) ** 2) * d / n
    s = ps.per_neuron_move(activation, vn2, eta0, alpha, width)
    count = ps.spike_count(alpha)
    degs = ps.degree_spikes(activation, alpha, s, n, width, max_degree)
    return {"spikes": count, "interval": list(ps.alpha_interval(count)) if count >= 1 else [0.0, 0.0], "s": s,
            "vhat_norm2": vn2, "degrees": [x.k for x in degs], "exponents": [x.exponent for x in degs],
            "magnitudes": [x.leading for x in degs], "magnitudes_exact": [x.exact for x in degs],
            "op_norms": [x.op_norm for x in degs], "visible": [x.visible for x in degs],
            "critical": [x.critical for x in degs]}


def two_step(*, alpha1: float, alpha2: float, activation: Any = "relu", link: Any = "he1", noise: float = 0.0,
             d: int = 1000, width: int = 1000, n: int = 2000, eta1: float = 1.0, eta2: float = 1.0,
             batch: str = "fresh", second_layer: str = "rademacher") -> dict[str, Any]:
    """Two-step power counting: exponents, new directions, outliers, magnitudes (and, for a Gaussian
    second layer and a fresh batch, ``left_hermite_parts``: the update along He_j(a), j = 2, 3)."""
    from .two_step import left_hermite_part, two_step_terms

    out = two_step_terms(activation, link, noise, d, width, n, eta1, alpha1, eta2, alpha2, batch, second_layer)
    if second_layer == "gaussian" and batch == "fresh":
        out["left_hermite_parts"] = {f"he{j}": left_hermite_part(activation, link, noise, d, width, n, eta1, alpha1,
                                                                 eta2, alpha2, degree=j) for j in (2, 3)}
    return out


def kernel_modes(*, activation: Any = "relu", link: Any = "he1", noise: float = 0.0, d: int = 64, width: int = 256,
                 n: int = 128, eta0: float = 4.0, alpha: float = 0.0, second_layer: str = "gaussian",
                 s: float | None = None, gamma: float | None = None) -> dict[str, Any]:
    """Kernel mode eigenvalues before and after one step, amplification ratios, mixing angle, k0 spectrum."""
    from .kernel_modes import kernel_mode_report

    d_ = positive_int("d", d)
    if d_ < 5:
        raise ConfigError("d", "an integer >= 5", d)
    return kernel_mode_report(activation, link, noise, d_, width, n, eta0, alpha, second_layer, s, gamma)


# ----------------------------------------------------------------------------- readout


def rf_ridge(*, psi1: float, psi2: float, ridge: float, activation: Any = "relu", F1: float = 1.0,
             Fstar: float = 0.0, noise: float = 0.0) -> dict[str, Any]:
    """Mei-Montanari random-features ridge risk, bias and variance (psi1 = N/d, psi2 = n/d)."""
    from . import mei_montanari as mm

    res = mm.rf_ridge_risk(activation, psi1, psi2, ridge, F1, Fstar, noise)
    return {"risk": res.risk, "bias": res.bias, "variance": res.variance, "B": res.B, "V": res.V, "lambda": ridge,
            "readout_ridge": mm.readout_ridge_from_lambda(ridge, psi1)}


def _array(value: Any, field: str, key: str | None = None) -> np.ndarray:
    """An array given as such, or as the path of a .npy file, an .npz or a run directory."""
    if isinstance(value, (str, Path)):
        return read_run_array(value, field, key)
    return np.asarray(value)


def ge_ridge(*, n: int, ridge: float, activation: Any = "relu", link: Any = "he1", noise: float = 0.0, d: int = 400,
             width: int = 400, seed: int = 0, init: str = "gaussian", weights: Any = None, theta: Any = None,
             key: str | None = None) -> dict[str, Any]:
    """GE + deterministic-equivalent ridge risk conditional on the weights W.

    ``weights``: an N x d array, or a path (.npy, or a run's arrays.npz or directory, whose last W_t
    or ``key`` is read); without it W0 is drawn from stream (seed, 'weights'). ``theta``: an array or
    a path; by default the run's ``theta`` when ``weights`` is a run's .npz or directory, else drawn
    from stream (seed, 'teacher')."""
    from .ge_ridge import best_linear_error, ge_ridge_risk

    if weights is not None and not (isinstance(weights, str) and weights == ""):
        W = _array(weights, "weights", key)
        if theta is not None and not (isinstance(theta, str) and theta == ""):
            th = _array(theta, "theta")
        elif isinstance(weights, (str, Path)) and not str(weights).endswith(".npy"):
            th = read_run_array(weights, "theta")
        else:
            th = stream(seed, "teacher").standard_normal(np.asarray(W).shape[-1])
    else:
        if theta is not None and not (isinstance(theta, str) and theta == ""):
            raise ConfigError("theta", "given only together with weights", theta)
        d, width = positive_int("d", d), positive_int("width", width)
        init = choice("init", init, ("gaussian", "sphere"))
        if d * width > (1 << 26):
            raise ConfigError("width", "such that d * width <= 2^26", width)
        G = stream(seed, "weights").standard_normal((width, d))
        W = G / (math.sqrt(d) if init == "gaussian" else np.linalg.norm(G, axis=1, keepdims=True))
        th = stream(seed, "teacher").standard_normal(d)
    res = ge_ridge_risk(W, th, activation, link, noise, n, ridge)
    return {**res._asdict(), "best_linear": best_linear_error(link)}


def srf(*, eta0: float, psi2: float, readout_ratio: float, lam: float, activation: Any = "tanh", link: Any = "tanh",
        noise: float = 0.0, r: float = -1.0, c: float = -1.0, gamma: float = -1.0) -> dict[str, Any]:
    """Spiked random features: (r, gamma, c) from one maximal step (each overridden when >= 0) and
    the ridge test error."""
    from .srf import srf_parameters, srf_test_error

    par = srf_parameters(activation, link, noise, eta0, psi2)
    rr = par.r if r < 0 else r
    cc = par.c if c < 0 else c
    gg = par.gamma if gamma < 0 else gamma
    res = srf_test_error(activation, link, rr, cc, gg, readout_ratio, lam, noise=noise)
    return {"r": rr, "gamma": gg, "c": cc, "test_error": res.test_error, "converged": res.converged,
            "iterations": res.iterations, "residual": res.residual, "method": res.order_parameters["method"],
            "readout_ridge": lam / readout_ratio,
            "order_parameters": {k: v for k, v in res.order_parameters.items() if k != "method"}}


# ----------------------------------------------------------------------------- phase transitions


def delta_alg(*, link: Any = "square", noise: float = 0.0, k: int = 1, combine: str = "sum",
              method: str = "auto") -> dict[str, Any]:
    """delta_alg: the weak-recovery threshold of polynomial-time algorithms (k >= 2: multi-index)."""
    from .delta_alg import delta_alg as threshold, multi_index_delta_alg

    res = threshold(link, noise, method) if k == 1 else multi_index_delta_alg(link, combine, k, noise)
    return res.as_dict()


def spectral_threshold(*, link: Any = "square", noise: float = 0.0, delta: float = 2.0, upper: float = math.inf,
                       lower: float = -math.inf, shift: float = 0.0, scale: float = 1.0, k: int = 1,
                       combine: str = "sum") -> dict[str, Any]:
    """Top eigenvalue, overlap and threshold of the spectral method D_T with the preprocessing
    T(y) = scale * (clip(y, lower, upper) - shift)."""
    from .spectral_threshold import Preprocessing, spectral_prediction, spectral_threshold as threshold

    for name, v in (("upper", upper), ("lower", lower), ("shift", shift), ("scale", scale)):
        if math.isnan(v):
            raise ConfigError(name, "a number", v)
    if not (math.isfinite(shift) and math.isfinite(scale) and scale != 0):
        raise ConfigError("scale", "a finite non-zero float", scale)
    if lower >= upper:
        raise ConfigError("lower", f"a number < upper = {upper}", lower)
    T = Preprocessing(scale=scale, shift=shift, lower=lower, upper=upper)
    out = spectral_prediction(link, T, delta, noise, k, combine).as_dict()
    out["delta_T"] = threshold(link, T, noise, k, combine)
    out["preprocessing"] = T.describe()
    return out


# ----------------------------------------------------------------------------- feature spectrum


def srf_spectrum(*, eta0: float, psi2: float, readout_ratio: float, activation: Any = "tanh", link: Any = "tanh",
                 noise: float = 0.0, psi1: float = 1.0, z: complex | None = None, grid: int = 200, width: int = 0,
                 second_layer: str = "rademacher", init: str = "sphere", raw: bool = False) -> dict[str, Any]:
    """The feature spectrum after one maximal step: x, density, bulk edges, outliers and, at a complex
    ``z`` (Im z > 0), the Stieltjes transform; ``width`` 0 is the limit p -> inf."""
    from .feature_spectrum import feature_model_from_step, feature_spectrum

    if z is not None and not (isinstance(z, (complex, float, int)) and math.isfinite(complex(z).real)
                              and math.isfinite(complex(z).imag) and complex(z).imag > 0):
        raise ConfigError("z", "a complex number with a finite real part and imaginary part > 0", z)
    if grid < 2 or grid > 20000:
        raise ConfigError("grid", "an integer in [2, 20000]", grid)
    if width < 0:
        raise ConfigError("width", "an integer >= 1, or 0 for the limit p -> inf", width)
    model = feature_model_from_step(activation, link, eta0, psi2, readout_ratio, noise, psi1, centred=not raw,
                                    second_layer=second_layer, init=init)
    point = None if z is None else complex(z)
    return feature_spectrum(model, grid=grid, z=point, width=width or None).as_dict()
