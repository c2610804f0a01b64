r"""Every prediction of ``giantstep theory QUANTITY`` as a function of the same keyword arguments.

One function per command, named after it (``one-step`` -> :func:`one_step`), keyword-only, with
the command's option names (``--second-layer`` -> ``second_layer``, ``--allow-outside`` ->
``allow``) and defaults; each returns the mapping that ``giantstep theory QUANTITY --json`` prints:
the numbers (grids as numpy arrays), the ``assumptions`` they hold under and, with ``allow``, the
``warnings`` (the domain conditions that failed, :mod:`giantstep.theory.domain`). The CLI commands
are thin wrappers of these functions, and :mod:`giantstep.theory` makes each of them callable by
its command name: ``giantstep.theory.one_step(d=..., ...)`` is :func:`one_step`.

Bad arguments raise :class:`~giantstep.errors.ConfigError` naming the argument, a formula asked
outside its domain :class:`~giantstep.errors.ValidityError` (unless ``allow``), a computation that
fails or gives a non-finite number :class:`~giantstep.errors.DivergenceError`. The formulas,
regimes and references are those of the modules each function calls (docs/theory.md).

Example
-------
>>> out = one_step(activation="relu", link="he1", d=1000, width=1000, n=2000, eta0=1.0, alpha=0.25)
>>> out["outlier"], 0 < out["overlap_theta"] < 1, out["assumptions"]["second_layer"]
(True, True, 'rademacher')
"""

from __future__ import annotations

import math
import warnings as pywarnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import ConfigError, DivergenceError
from ..jsonable import to_jsonable
from .domain import allow_outside
from .first_step import DEFAULT_RESIDUAL, DEFAULT_SECOND_LAYER

READOUT_RIDGE = "the readout's (1/n)||y - F a||^2 + ridge ||a||^2, F = sigma(X W^T), unit rows"
MP_CONVENTION = "S = X^T X / n, X (n x d) i.i.d. entries of variance var, aspect = d/n"


# ----------------------------------------------------------------------------- shared


def infinity_as_text(value: float) -> float | str:
    """A result that is legitimately infinite (a threshold never reached) as the text "inf"."""
    return "inf" if value == math.inf else value


def refuse_nonfinite(obj: Any, path: str = "") -> Any:
    """``obj`` (JSON types) unchanged if every number is finite; a NaN, an infinity or a missing
    value (None) is a failed computation (DivergenceError naming the quantity)."""
    if isinstance(obj, dict):
        return {k: refuse_nonfinite(v, f"{path}.{k}" if path else str(k)) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [refuse_nonfinite(v, f"{path}[{i}]") for i, v in enumerate(obj)]
    if obj is None:
        raise DivergenceError(f"the computation gave no value for '{path}'")
    if isinstance(obj, float) and not math.isfinite(obj):
        raise DivergenceError(f"the computation gave {obj} for '{path}' (overflow or an undefined value)")
    return obj


def _quantity(compute: Callable[[], dict], assumptions: dict, allow: bool) -> dict[str, Any]:
    """``compute()`` with the ``assumptions`` (and, when ``allow``, the domain ``warnings``);
    floating-point warnings silenced, their consequences refused as non-finite numbers."""
    with allow_outside(allow) as warnings, np.errstate(all="ignore"), pywarnings.catch_warnings():
        pywarnings.simplefilter("ignore", RuntimeWarning)
        try:
            result = compute()
        except (FloatingPointError, np.linalg.LinAlgError) as exc:
            raise DivergenceError(f"numerical failure ({type(exc).__name__}: {exc})") from None
    out = {**result, "assumptions": assumptions}
    if allow:
        out["warnings"] = list(warnings)
    refuse_nonfinite(to_jsonable(out, keep_nonfinite=True))
    return out


def one_of(first: tuple[str, float | None], second: tuple[str, float | None]) -> tuple[str, float]:
    """The one of two alternative arguments that was given (ConfigError unless exactly one was)."""
    given = [(name, value) for name, value in (first, second) if value is not None]
    if len(given) != 1:
        raise ConfigError(first[0], f"given, or '{second[0]}' instead (exactly one of the two)",
                          "both" if given else "neither")
    return given[0]


def step_assumptions(residual: str, second_layer: str, **extra) -> dict:
    """The model a step quantity's numbers describe."""
    return {"residual": residual, "second_layer": second_layer,
            "teacher": "y = g(<theta*, x>) + noise eps, ||theta*|| = 1",
            "step": "eta = eta0 N^alpha, full batch of n samples", "limit": "proportional: n, d, N -> inf at fixed ratios",
            **extra}


# ----------------------------------------------------------------------------- spectra


def hermite(*, name: Any, noise: float = 0.0, degree: int = 10, allow: bool = False) -> dict[str, Any]:
    """Hermite constants mu0, mu1, mu*, c_0..c_K and the information/generative exponents of a
    function (a name, a sum, an expression in x or a callable)."""
    from ..activations import get_activation
    from ..hermite import generative_exponent, hermite_constants, information_exponent

    act = get_activation(name, field_name="name")
    if not (isinstance(noise, (int, float)) and math.isfinite(noise) and noise >= 0):
        raise ConfigError("noise", "a float in [0, inf)", noise)
    if degree < 8 or degree > 12:
        raise ConfigError("degree", "an integer in [8, 12]", degree)

    def compute() -> dict:
        hc = hermite_constants(act, degree)
        info, gen = information_exponent(act), generative_exponent(act, float(noise))
        return {"name": act.name, "mu0": hc.mu0, "mu1": hc.mu1, "mustar": hc.mustar,
                "second_moment": hc.second_moment, "coefficients": list(hc.coefficients),
                "information_exponent": info if info is not None else "none up to degree 12",
                "generative_exponent": gen if gen is not None else "none up to degree 4", "noise": float(noise)}

    return _quantity(compute, {"hermite": "probabilists' He_k, c_k = E[sigma(G) He_k(G)] unnormalised",
                               "noise": "y = g(z) + noise eps for the generative exponent"}, allow)


def mp(*, aspect: float, var: float = 1.0, z_real: float = 1.0, z_imag: float = 0.1, grid: int = 0,
       allow: bool = False) -> dict[str, Any]:
    """Marchenko-Pastur law of S = X^T X / n with aspect ratio d/n: edges, atom, moments 1..4, the
    Stieltjes transform m(z) and, with ``grid`` > 0, the density on the support."""
    from . import mp as law
    from .validation import POSITIVE, Interval

    z_real_c = Interval(float, -1e150, 1e150).check("z_real", z_real)
    z_imag_c = Interval(float, 0, 1e150, closed="right").check("z_imag", z_imag)
    grid = Interval(int, 0, 100000).check("grid", grid)
    aspect_c, var_c = POSITIVE.check("aspect", aspect), POSITIVE.check("var", var)

    def compute() -> dict:
        a, b = law.mp_edges(aspect_c, var_c)
        m = complex(law.mp_stieltjes(complex(z_real_c, z_imag_c), aspect_c, var_c))
        out = {"lower_edge": a, "upper_edge": b, "atom": law.mp_atom(aspect_c),
               "moments": [law.mp_moment(k, aspect_c, var_c) for k in range(1, 5)], "stieltjes": [m.real, m.imag],
               "z": [z_real_c, z_imag_c]}
        if grid:
            x = np.linspace(a, b, grid)
            out["x"], out["density"] = x, law.mp_density(x, aspect_c, var_c)
        return out

    return _quantity(compute, {"convention": MP_CONVENTION, "limit": "n, d -> inf at fixed aspect"}, allow)


BBP_CONVENTIONS = {"rectangular": "X (n x m, n <= m) entries of variance 1/m, aspect = n/m, X + theta u v^T",
                   "wigner": "symmetric, off-diagonal variance 1/n, H + theta u u^T",
                   "covariance": "population covariance I + theta v v^T, aspect = d/n"}


def bbp(*, theta: float, aspect: float = 1.0, model: str = "rectangular", allow: bool = False) -> dict[str, Any]:
    """BBP transition of a rank-one spike of strength theta: top, edge, overlaps, outlier."""
    from . import bbp as transitions
    from .validation import Options

    model = Options(tuple(BBP_CONVENTIONS)).check("model", model)

    def compute() -> dict:
        if model == "rectangular":
            res = transitions.rectangular(aspect, theta)
        elif model == "wigner":
            res = transitions.spiked_wigner(theta)
        else:
            res = transitions.spiked_covariance(aspect, theta)
        return {**res.as_dict(), "model": model, "aspect": aspect, "theta": theta}

    return _quantity(compute, {"model": BBP_CONVENTIONS[model], "limit": "proportional"}, allow)


def ck_spectrum(*, phi: float, psi: float, activation: Any = "relu", grid: int = 200, z_real: float = 1.0,
                z_imag: float = 0.1, allow: bool = False) -> dict[str, Any]:
    """Pennington-Worah conjugate-kernel spectrum (phi = d/n, psi = d/N): density, G(z), edge."""
    from . import pennington_worah as pw
    from .validation import Interval

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

    return _quantity(compute, {"features": "F = sigma(X W^T) - mu0 (centred), X (n x d) Gaussian, W (N x d) entries 1/d",
                               "ratios": "phi = d/n, psi = d/N", "limit": "proportional; mu0's outlier not included"},
                     allow)


# ----------------------------------------------------------------------------- gradient steps


def one_step(*, d: int, width: int, n: int, eta0: float, activation: Any = "relu", link: Any = "he1",
             noise: float = 0.0, alpha: float = 0.0, second_layer: str = DEFAULT_SECOND_LAYER,
             residual: str = DEFAULT_RESIDUAL, allow: bool = False) -> dict[str, Any]:
    """The one-step spike: vhat_norm2, gamma2, s1_update, s1_weights, outlier, overlap_theta."""
    from .one_step import one_step as spike

    return _quantity(lambda: spike(activation, link, d, width, n, eta0, alpha, noise=noise, second_layer=second_layer,
                                   residual=residual).as_dict(), step_assumptions(residual, second_layer), allow)


def poly_spikes(*, alpha: float, activation: Any = "relu", link: Any = "he1", noise: float = 0.0, d: int = 1000,
                width: int = 1000, n: int = 1000, eta0: float = 1.0, max_degree: int = 6,
                allow: bool = False) -> dict[str, Any]:
    """Polynomial feature spikes of a growing step: count and alpha interval, per-degree c_k s^k
    and exponents."""
    from . import poly_spikes as ps
    from .first_step import first_step
    from .validation import GROWING_STEP_EXPONENT

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

    return _quantity(compute, step_assumptions(DEFAULT_RESIDUAL, "rademacher", rows="unit rows for the exact magnitudes"),
                     allow)


def two_step(*, alpha1: float, alpha2: float, activation: Any = "relu", link: Any = "he1", noise: float = 0.0,
             d: int = 1000, width: int = 1000, n: int = 2000, eta1: float = 1.0, eta2: float = 1.0,
             batch: str = "fresh", second_layer: str = DEFAULT_SECOND_LAYER, residual: str = DEFAULT_RESIDUAL,
             allow: bool = False) -> dict[str, Any]:
    """Two-step power counting: exponents, new directions, outliers, magnitudes (and, for a Gaussian
    second layer and a fresh batch, ``left_hermite_parts``: the update along He_j(a), j = 2, 3)."""
    from .two_step import left_hermite_part, two_step_terms

    def compute() -> dict:
        out = two_step_terms(activation, link, d, width, n, eta1, alpha1, eta2, alpha2, noise=noise, batch=batch,
                             second_layer=second_layer, residual=residual).as_dict()
        if second_layer == "gaussian" and batch == "fresh":
            out["left_hermite_parts"] = {f"he{j}": left_hermite_part(activation, link, d, width, n, eta1, alpha1, eta2,
                                                                     alpha2, degree=j, noise=noise) for j in (2, 3)}
        return out

    return _quantity(compute, step_assumptions(residual, second_layer, batch=batch,
                                               steps="eta_t = eta0_t N^alpha_t, t = 1, 2"), allow)


def kernel_modes(*, activation: Any = "relu", link: Any = "he1", noise: float = 0.0, d: int = 64, width: int = 256,
                 n: int = 128, eta0: float = 4.0, alpha: float = 0.0, second_layer: str = "gaussian",
                 s: float | None = None, gamma: float | None = None, allow: bool = False) -> dict[str, Any]:
    """Kernel mode eigenvalues before and after one step, amplification ratios, mixing angle, k0 spectrum."""
    from .kernel_modes import kernel_mode_report

    return _quantity(lambda: kernel_mode_report(activation, link, d, width, n, eta0, alpha, noise=noise,
                                                second_layer=second_layer, s=s, gamma=gamma).as_dict(),
                     step_assumptions("label", second_layer, law="w1 = sqrt(1 + (c - 1) a^2) w0 + s a u (theory.feature_law)",
                                      overrides=[k for k, v in (("s", s), ("gamma", gamma)) if v is not None]), allow)


# ----------------------------------------------------------------------------- readout


def rf_ridge(*, psi1: float, psi2: float, activation: Any = "relu", ridge: float | None = None,
             ridge_mm: float | None = None, F1: float = 1.0, Fstar: float = 0.0, noise: float = 0.0,
             allow: bool = False) -> dict[str, Any]:
    """Mei-Montanari random-features ridge risk, bias and variance (psi1 = N/d, psi2 = n/d); the ridge
    as the readout's (``ridge``) or as Mei-Montanari's lambda (``ridge_mm`` = ridge / psi1)."""
    from . import mei_montanari as mm

    def compute() -> dict:
        name, value = one_of(("ridge", ridge), ("ridge_mm", ridge_mm))
        lam = mm.lambda_from_readout_ridge(value, psi1) if name == "ridge" else value
        res = mm.rf_ridge_risk(activation, psi1, psi2, lam, F1, Fstar, noise)
        return {"risk": res.risk, "bias": res.bias, "variance": res.variance, "B": res.B, "V": res.V,
                "ridge_mm": lam, "ridge": mm.readout_ridge_from_lambda(lam, psi1)}

    return _quantity(compute, {"ridge": READOUT_RIDGE, "ridge_mm": "Mei-Montanari's lambda = ridge / psi1",
                               "features": "sigma(<w_j, x>), unit rows, p = N = psi1 d",
                               "target": "F1 <beta, x> + f_NL + noise", "error": "against the noiseless target"}, allow)


def _finite_array(field: str, value: Any, ndim: int, allowed: str) -> np.ndarray:
    """A finite float array of ``ndim`` dimensions (at most 2^26 entries), else ConfigError."""
    arr = np.asarray(value)
    if arr.ndim != ndim or arr.size == 0 or arr.size > (1 << 26):
        raise ConfigError(field, allowed, f"an array of shape {arr.shape}")
    try:
        arr = arr.astype(float)
    except (TypeError, ValueError):
        raise ConfigError(field, allowed, f"an array of dtype {arr.dtype}") from None
    if not np.all(np.isfinite(arr)):
        raise ConfigError(field, allowed, "an array with non-finite entries")
    return arr


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and value == "")


def ge_weights(d: int, width: int, seed: int, init: str, weights: Any = None, theta: Any = None,
               key: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """W and theta* for ge-ridge: arrays as given; or read (:func:`giantstep.saved.read_run_array`)
    from a .npy file, or a run's arrays.npz or directory (its last W_t or ``key``, and by default its
    theta*); or drawn from the seed (W0 from stream (seed, 'weights'), theta* from (seed, 'teacher'))."""
    from ..saved import read_run_array
    from ..seeding import stream
    from .validation import SIZE, Interval, Options

    seed = Interval(int, 0, 2**62).check("seed", seed)
    if _given(weights):
        from_run = isinstance(weights, (str, Path)) and not str(weights).endswith(".npy")
        W = read_run_array(weights, "weights", key) if isinstance(weights, (str, Path)) else weights
        W = _finite_array("weights", W, 2, "a finite N x d array (a .npy file, or a run's arrays.npz or directory)")
        if _given(theta):
            th = read_run_array(theta, "theta") if isinstance(theta, (str, Path)) else theta
        elif from_run:
            th = read_run_array(weights, "theta")
        else:
            th = stream(seed, "teacher").standard_normal(W.shape[1])
        th = np.asarray(th)
        if th.ndim == 2 and th.shape[1] == 1:  # a run's theta* (d x k) of a single-index teacher
            th = th[:, 0]
        return W, _finite_array("theta", th, 1, "a finite length-d vector (a .npy file or a run's theta)")
    if _given(theta):
        raise ConfigError("theta", "given only together with weights", theta)
    d, width = SIZE.check("d", d), SIZE.check("width", width)
    init = Options(("gaussian", "sphere")).check("init", init)
    if d * width > (1 << 26):
        raise ConfigError("width", "such that d * width <= 2^26", width)
    G = stream(seed, "weights").standard_normal((width, d))
    W = G / (math.sqrt(d) if init == "gaussian" else np.linalg.norm(G, axis=1, keepdims=True))
    return W, stream(seed, "teacher").standard_normal(d)


def ge_ridge(*, n: int, ridge: float, activation: Any = "relu", link: Any = "he1", noise: float = 0.0, d: int = 400,
             width: int = 400, seed: int = 0, init: str = "gaussian", weights: Any = None, theta: Any = None,
             key: str | None = None, allow: bool = False) -> dict[str, Any]:
    """GE + deterministic-equivalent ridge risk conditional on the weights W (:func:`ge_weights` for
    where W and theta* come from)."""
    from .ge_ridge import best_linear_error, ge_ridge_risk

    W, th = ge_weights(d, width, seed, init, weights, theta, key)

    def compute() -> dict:
        res = ge_ridge_risk(W, th, activation, link, n, ridge, noise=noise)
        return {**res.as_dict(), "best_linear": best_linear_error(link)}

    source = (f"loaded from {weights}" if isinstance(weights, (str, Path)) and _given(weights)
              else "given" if _given(weights) else f"drawn: W0 rows {init}, seed {seed}")
    return _quantity(compute, {"weights": source, "ridge": READOUT_RIDGE,
                               "features": "column-centred (an unpenalised intercept)",
                               "model": "Gaussian equivalence + deterministic equivalent, conditional on W"}, allow)


def srf(*, eta0: float, psi2: float, n_over_d: float, activation: Any = "tanh", link: Any = "tanh", noise: float = 0.0,
        lam: float | None = None, ridge: float | None = None, d: int | None = None, r: float | None = None,
        c: float | None = None, gamma: float | None = None, allow: bool = False) -> dict[str, Any]:
    """Spiked random features: (r, gamma, c) from one maximal step (each overridable) and the ridge
    test error; the ridge as the sRF equations' ``lam`` or the readout's ``ridge`` (= lam / n_over_d)."""
    from .srf import srf_parameters, srf_test_error
    from .validation import NONNEGATIVE, POSITIVE, UNIT

    def compute() -> dict:
        name, value = one_of(("lam", lam), ("ridge", ridge))
        lam_srf = POSITIVE.check(name, value) * (POSITIVE.check("n_over_d", n_over_d) if name == "ridge" else 1.0)
        par = srf_parameters(activation, link, eta0, psi2, noise=noise)
        rr = par.r if r is None else NONNEGATIVE.check("r", r)
        cc = par.c if c is None else POSITIVE.check("c", c)
        gg = par.gamma if gamma is None else UNIT.check("gamma", gamma)
        res = srf_test_error(activation, link, rr, cc, gg, n_over_d, lam_srf, noise=noise, d=d)
        return {"r": rr, "gamma": gg, "c": cc, **res.as_dict(), "lam": lam_srf, "ridge": lam_srf / n_over_d}

    return _quantity(compute, {"second_layer": "+-1 with an odd activation (the equations' a_i = 1)",
                               "residual": "label (f0 removed; r = y at the step)", "step": "one step, eta = eta0 sqrt(N)",
                               "p": "p = N = d", "lam": "sum_mu (y - a.phi/sqrt(p))^2 + lam ||a||^2",
                               "ridge": READOUT_RIDGE,
                               "mean_mode": (f"lam << n E[mu0^2] checked at d = {d}" if d is not None
                                             else "unpenalised: lam << n E[mu0^2] assumed (n -> inf; give --d to check)"),
                               "overrides": [k for k, v in (("r", r), ("c", c), ("gamma", gamma)) if v is not None]},
                     allow)


# ----------------------------------------------------------------------------- phase transitions


def delta_alg(*, link: Any = "square", noise: float = 0.0, k: int = 1, combine: str = "sum", method: str = "auto",
              allow: bool = False) -> dict[str, Any]:
    """delta_alg: the weak-recovery threshold of polynomial-time algorithms (k >= 2: multi-index)."""
    from .delta_alg import delta_alg as threshold, multi_index_delta_alg

    def compute() -> dict:
        res = threshold(link, noise, method=method) if k == 1 else multi_index_delta_alg(link, combine, k, noise)
        out = res.as_dict()
        out["delta_alg"] = infinity_as_text(out["delta_alg"])
        if out["generative_exponent"] is None:
            out["generative_exponent"] = "3 or more"
        return out

    return _quantity(compute, {"model": "y = g(z) + noise eps, z = Theta*^T x, x ~ N(0, I_d), n = delta d",
                               "combine": combine if k > 1 else "single index", "limit": "n, d -> inf at fixed delta"},
                     allow)


def spectral_threshold(*, link: Any = "square", noise: float = 0.0, delta: float = 2.0, upper: float = math.inf,
                       lower: float = -math.inf, shift: float = 0.0, scale: float = 1.0, k: int = 1,
                       combine: str = "sum", allow: bool = False) -> dict[str, Any]:
    """Top eigenvalue, overlap and threshold of the spectral method D_T with the preprocessing
    T(y) = scale * (clip(y, lower, upper) - shift)."""
    from .spectral_threshold import Preprocessing, spectral_prediction, spectral_threshold as threshold
    from .validation import Interval

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
        out["delta_T"] = infinity_as_text(threshold(link, T, noise, k, combine))
        out["preprocessing"] = T.describe()
        return out

    return _quantity(compute, {"matrix": "D_T = (1/n) sum_mu T(y_mu) x_mu x_mu^T, n = delta d",
                               "model": "y = g(z) + noise eps", "limit": "n, d -> inf at fixed delta"}, allow)


def next_direction(*, link: Any = "3*tanh", activation: Any = "tanh", eta: float = 1.0, delta: float = 20.0,
                   combine: str = "gated", population: bool = False, threshold: bool = True,
                   allow: bool = False) -> dict[str, Any]:
    """The Hessian's outlier along the next direction theta_2 after one gradient step of size ``eta``
    from w = 0 (one neuron, a = 1, trained output bias): eigenvalue, bulk edge, cos^2 with theta_2 and,
    with ``threshold``, delta_T; ``population`` uses the population-fit law (the delta -> inf form)."""
    from .one_step_hessian import next_direction as predict, next_direction_threshold

    def compute() -> dict:
        out = predict(link, activation, eta, delta, combine, finite_delta=not population).as_dict()
        if threshold:
            out["delta_T"] = infinity_as_text(next_direction_threshold(link, activation, eta, combine,
                                                                       finite_delta=not population, rtol=1e-5))
        return out

    law = "population fit: u = c m1 z_1" if population else "finite delta: u = c (m1 z_1 + m2 z_2 + s xi + r / delta)"
    return _quantity(compute, {"matrix": "H = -D_T at w_1 = eta sigma'(0) (1/n) sum r x, T = sigma''(u) (y - sigma(u) - b_1) "
                                         "- sigma'(u)^2", "law of u": law, "teacher": "k = 2, noiseless, even in z_2",
                               "limit": "n, d -> inf at fixed delta"}, allow)


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
