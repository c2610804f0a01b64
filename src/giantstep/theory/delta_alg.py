r"""delta_alg: the weak-recovery threshold of polynomial-time algorithms for index models.

Single-index model y ~ P(y | z), z = <theta*, x>, x ~ N(0, I_d), n = delta * d samples
(docs/phase_transitions.md; Mondelli-Montanari 2018 arXiv 1708.05932, Barbier et al. 2019
arXiv 1708.03395, Maillard et al. 2020 arXiv 2006.05228, Troiani et al. 2024 arXiv 2405.15480):

* if E[z | y] != 0 with positive probability ("trivial direction", generative exponent 1),
  weak recovery is possible at any delta > 0: delta_alg = 0;
* otherwise

      delta_alg = 1 / E_y[(E[z^2 - 1 | y])^2]
                = ( int (E_z[p(y|z) (z^2 - 1)])^2 / E_z[p(y|z)] dy )^{-1},

  and delta_alg = inf when that energy vanishes too (generative exponent >= 3).

Multi-index (k >= 2, Troiani et al. 2024): with G(y) = E[z z^T - I_k | y],

      delta_alg = 1 / sup_{M sym, ||M||_F = 1} ||E_y[G(y) M G(y)]||_F,

the largest eigenvalue of the self-adjoint, PSD-cone preserving map M -> E_y[G M G] on
symmetric k x k matrices (when E[z | y] = 0; otherwise delta_alg = 0).

How the energies are computed
-----------------------------
``E_y[(E[h(z) | y])^2]`` for h = He_1 or He_2:

* noiseless (tau = 0), exact route ``"branches"``: the real line is cut into pieces where the link
  g is monotone (roots of g', kinks) or flat. On a monotone piece y = g(z) has one preimage, so
  ``E[h | y] = sum_i h(z_i) phi(z_i)/|g'(z_i)| / sum_i phi(z_i)/|g'(z_i)|`` over the preimages z_i
  of y (found by bracketing root search), and the energy is ``E_z[h(z) E[h | y = g(z)]]``, a
  one-dimensional adaptive quadrature; flat pieces are atoms of y and contribute
  ``(E[h 1_A])^2 / P(A)``. Accurate to ~1e-10 (noiseless phase retrieval gives 1/2 exactly).
* noisy (tau > 0), route ``"grid"``: y-panels of width ~tau/2 and z-panels fine enough that g
  moves by less than tau/2 on each, both with 8-point Gauss-Legendre nodes; N(y) and D(y) are
  dense products computed in y-chunks. Route ``"quad"`` nests adaptive quadratures (slow,
  independent cross-check).
* ``"binned"`` (any tau): equal-probability bins of y over a fine (z, eps) grid; the conditional
  expectations are bin averages. It converges to the exact value from below as the bins shrink
  (~1e-4 at the defaults) and is the independent cross-check of the other two routes.

The grid-based :func:`giantstep.hermite.conditional_hermite_energy` replaces a noiseless link by a
smoothed one (width 1e-2 sd(g)), which is fine to *detect* an exponent but biased as a value
(it gives 2 - O(1e-3) for noiseless phase retrieval instead of 2): this module implements the
exact noiseless route instead.

Example
-------
>>> round(delta_alg("square", 0.0).delta_alg, 8)
0.5
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import integrate, optimize, special

from ..activations import Activation, get_activation
from ..errors import ConfigError
from ..targets import COMBINES, multi_index_link
from .domain import require
from .quadrature import gauss_legendre_panels, tensor_grid
from .result import Result
from .validation import NOISE, Function, Interval, Optional, Options, validate_params

_L = 12.0  # |z| > 12 carries Gaussian mass < 1e-32
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)
ZERO_TOL = 1e-9  # an energy below ZERO_TOL * k! counts as zero
METHODS = ("auto", "branches", "grid", "quad", "binned")


def _phi(z):
    return np.exp(-0.5 * np.square(z)) * _INV_SQRT2PI


def _he(k: int) -> Callable[[np.ndarray], np.ndarray]:
    return lambda z: special.eval_hermitenorm(k, np.asarray(z, dtype=float))


# ----------------------------------------------------------------------------------------------
# noiseless: monotone pieces of the link


@dataclass(frozen=True)
class _Piece:
    lo: float
    hi: float
    flat: bool
    value: float  # g on a flat piece
    ylo: float  # range of g on a monotone piece
    yhi: float


def _pieces(act: Activation, n_scan: int = 48001) -> list[_Piece]:
    """Cut [-L, L] at the kinks of g and the sign changes of g'; classify each piece."""
    z = np.linspace(-_L, _L, n_scan)
    gp = np.asarray(act.df(z), dtype=float)
    s = np.sign(np.where(np.abs(gp) <= 1e-13, 0.0, gp))
    cuts = {-_L, _L, *[float(k) for k in act.kinks if -_L < k < _L]}
    nz = np.flatnonzero(s != 0)
    for a, b in zip(nz[:-1], nz[1:]):
        if s[a] != s[b]:  # g' changes sign between z[a] and z[b]
            if b == a + 1:
                try:
                    r = optimize.brentq(lambda t: float(act.df(np.array(t))), z[a], z[b], xtol=1e-14)
                except ValueError:
                    r = 0.5 * (z[a] + z[b])
            else:
                r = 0.5 * (z[a] + z[b])
            cuts.add(float(r))
    # boundaries of flat runs (g' == 0 on an interval)
    zero = s == 0
    edges = np.flatnonzero(np.diff(zero.astype(int)))
    for e in edges:
        near = [k for k in act.kinks if abs(k - z[e]) <= 2 * (z[1] - z[0])]
        cuts.add(float(near[0]) if near else float(0.5 * (z[e] + z[e + 1])))
    cuts = sorted(cuts)
    g = lambda t: float(act.f(np.array(t)))  # noqa: E731
    out = []
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        if hi - lo < 1e-12:
            continue
        probe = np.linspace(lo, hi, 9)[1:-1]
        if np.all(np.abs(np.asarray(act.df(probe), dtype=float)) <= 1e-13):
            out.append(_Piece(lo, hi, True, g(0.5 * (lo + hi)), 0.0, 0.0))
        else:
            eps = 1e-12 * max(1.0, abs(lo), abs(hi))
            a, b = g(lo + eps), g(hi - eps)
            out.append(_Piece(lo, hi, False, 0.0, min(a, b), max(a, b)))
    return out


def _noiseless_energy(act: Activation, h: Callable, pieces: list[_Piece]) -> float:
    """E_y[(E[h(z)|y])^2] for y = g(z) exactly (see module docstring)."""
    g = lambda t: float(act.f(np.array(t)))  # noqa: E731
    gp = lambda t: abs(float(act.df(np.array(t))))  # noqa: E731
    mono = [p for p in pieces if not p.flat]

    def cond_mean(y: float, own: _Piece, z_own: float) -> float:
        num = den = 0.0
        for p in mono:
            if p is own:
                zi = z_own
            else:
                if not (p.ylo < y < p.yhi):
                    continue
                try:
                    zi = optimize.brentq(lambda t: g(t) - y, p.lo, p.hi, xtol=1e-14, rtol=1e-14)
                except ValueError:
                    continue
            slope = gp(zi)
            if slope <= 0.0:
                continue
            w = float(_phi(zi)) / slope
            num += float(h(zi)) * w
            den += w
        return num / den if den > 0 else 0.0

    total = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        for p in mono:
            f = lambda t, p=p: float(_phi(t)) * float(h(t)) * cond_mean(g(t), p, t)  # noqa: E731
            val, _ = integrate.quad(f, p.lo, p.hi, limit=200, epsabs=1e-13, epsrel=1e-11)
            total += val
        # atoms: flat pieces grouped by their value
        atoms: dict[float, list[_Piece]] = {}
        for p in pieces:
            if p.flat:
                key = next((v for v in atoms if abs(v - p.value) <= 1e-12 * max(1.0, abs(v))), p.value)
                atoms.setdefault(key, []).append(p)
        for group in atoms.values():
            mass = sum(special.ndtr(p.hi) - special.ndtr(p.lo) for p in group)
            mom = sum(
                integrate.quad(lambda t: float(_phi(t)) * float(h(t)), p.lo, p.hi, epsabs=1e-14)[0] for p in group
            )
            if mass > 0:
                total += mom * mom / mass
    return float(total)


# ----------------------------------------------------------------------------------------------
# noisy: quadrature in (z, y)


def _require_resolvable(act: Activation, tau: float, panels: int, route: str) -> None:
    """The noisy routes resolve y on panels of width tau/2 over the range of g: refuse a noise so
    small that more than ``panels`` are needed (the number would not be right)."""
    g = np.asarray(act.f(np.linspace(-8.0, 8.0, 20001)), dtype=float)
    spread = float(np.max(g) - np.min(g))
    require(spread <= panels * 0.5 * tau,
            f"delta_alg quadrature: noise tau = {tau:.3g} needs y-panels of width tau/2 over a range {spread:.3g} of "
            f"g, more than the {panels} of the '{route}' route; use noise 0 (the exact noiseless route), the "
            f"'binned' route, or tau >= {2 * spread / panels:.2g}", hard=True)


def _noisy_energy_grid(act: Activation, h: Callable, tau: float, max_nodes: int = 400_000) -> float:
    zmax = 8.0
    _require_resolvable(act, tau, max_nodes // 8, "grid")
    zs = np.linspace(-zmax, zmax, 20001)
    slope = np.maximum(np.abs(np.asarray(act.df(zs), dtype=float)), 1e-3)
    # local panel width so that g changes by <= tau/2 per panel (and <= 0.05)
    width = np.minimum(0.05, 0.5 * tau / slope)
    cum = np.concatenate([[0.0], np.cumsum(np.diff(zs) / width[:-1])])
    require(cum[-1] <= max_nodes // 8, f"delta_alg quadrature: noise tau = {tau:.3g} needs {cum[-1]:.3g} z-panels "
            f"(the 'grid' route uses at most {max_nodes // 8}); use noise 0 or the 'binned' route", hard=True)
    n_pan = int(max(np.ceil(cum[-1]), 400))
    zedges = np.interp(np.linspace(0, cum[-1], n_pan + 1), cum, zs)
    kinks = [k for k in act.kinks if -zmax < k < zmax]
    zedges = np.unique(np.concatenate([zedges, kinks]))
    z, wz = gauss_legendre_panels(zedges)
    wz = wz * _phi(z)
    g = np.asarray(act.f(z), dtype=float)
    hz = h(z)
    # sort the z-nodes by g: the likelihood exp(-(y - g)^2 / 2 tau^2) is negligible (< e^-50) beyond
    # |y - g| > 10 tau, so each block of y-nodes only needs a contiguous slice of the sorted nodes
    order = np.argsort(g, kind="stable")
    g, wz, hz = g[order], wz[order], hz[order]
    ylo, yhi = float(g[0]) - 9 * tau, float(g[-1]) + 9 * tau
    n_ypan = int(min(max(np.ceil((yhi - ylo) / (0.5 * tau)), 200), max_nodes // 8))
    y, wy = gauss_legendre_panels(np.linspace(ylo, yhi, n_ypan + 1))
    total = 0.0
    norm = 1.0 / (math.sqrt(2 * math.pi) * tau)
    block = 128
    for s in range(0, y.size, block):
        yy = y[s : s + block]
        lo = int(np.searchsorted(g, yy[0] - 10 * tau, "left"))
        hi = int(np.searchsorted(g, yy[-1] + 10 * tau, "right"))
        if hi <= lo:
            continue
        lik = np.exp(-0.5 * np.square((yy[:, None] - g[None, lo:hi]) / tau)) * norm
        D = lik @ wz[lo:hi]
        N = lik @ (wz[lo:hi] * hz[lo:hi])
        ok = D > 1e-300
        total += float(np.sum(wy[s : s + block][ok] * N[ok] ** 2 / D[ok]))
    return total


def _noisy_energy_quad(act: Activation, h: Callable, tau: float) -> float:
    _require_resolvable(act, tau, 400_000, "quad")
    g = lambda t: float(act.f(np.array(t)))  # noqa: E731
    kinks = sorted({0.0, *[k for k in act.kinks if -_L < k < _L]})
    edges = [-9.0, *kinks, 9.0]
    zs = np.linspace(-9, 9, 4001)
    gz = np.asarray(act.f(zs), dtype=float)
    ylo, yhi = float(gz.min()) - 9 * tau, float(gz.max()) + 9 * tau

    def inner(y: float, with_h: bool) -> float:
        fn = lambda t: float(_phi(t)) * math.exp(-0.5 * ((y - g(t)) / tau) ** 2) * (float(h(t)) if with_h else 1.0)  # noqa: E731
        return sum(integrate.quad(fn, a, b, limit=200, epsabs=1e-15, epsrel=1e-10)[0] for a, b in zip(edges[:-1], edges[1:]))

    def outer(y: float) -> float:
        D = inner(y, False)
        return inner(y, True) ** 2 / D if D > 1e-300 else 0.0

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        val, _ = integrate.quad(outer, ylo, yhi, limit=400, epsabs=1e-12, epsrel=1e-9)
    return val / (math.sqrt(2 * math.pi) * tau)


def _binned_energy(y: np.ndarray, w: np.ndarray, H: np.ndarray, n_bins: int) -> np.ndarray:
    """sum_b P_b * G_b G_b^T-type energies: returns per-bin (mass, mean of H) after grouping.

    y (P,), w (P,) probability weights summing to ~1, H (P, q) values of the test functions.
    Exact ties of y form one group (atoms); the rest is cut into ~equal-mass bins.
    """
    order = np.argsort(y, kind="stable")
    y, w, H = y[order], w[order], H[order]
    # group exact ties
    starts = np.flatnonzero(np.concatenate([[True], np.diff(y) != 0]))
    gw = np.add.reduceat(w, starts)
    gH = np.add.reduceat(H * w[:, None], starts, axis=0)
    # merge consecutive groups into equal-mass bins, never splitting a group
    cum = np.cumsum(gw)
    total = cum[-1]
    bin_id = np.minimum((cum - 0.5 * gw) / total * n_bins, n_bins - 1).astype(int)
    bstarts = np.flatnonzero(np.concatenate([[True], np.diff(bin_id) != 0]))
    bw = np.add.reduceat(gw, bstarts)
    bH = np.add.reduceat(gH, bstarts, axis=0)
    keep = bw > 0
    return bw[keep], bH[keep] / bw[keep, None]


def _symmetric_nodes(zmax: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes on [-zmax, zmax], mirrored so that -z is exactly a node (exact ties
    of y for even links, so binning never separates z from -z)."""
    zp, wp = gauss_legendre_panels(np.linspace(0.0, zmax, max(n // 16, 1) + 1))
    return np.concatenate([-zp[::-1], zp]), np.concatenate([wp[::-1], wp])


def _grid_1d(n: int) -> tuple[np.ndarray, np.ndarray]:
    z, w = _symmetric_nodes(_L * 0.75, n)
    return z, w * _phi(z)


def _single_binned(act: Activation, h: Callable, tau: float, n_bins: int) -> float:
    if tau == 0:
        z, w = _grid_1d(800_000)
        y = np.asarray(act.f(z), dtype=float)
        H = h(z)[:, None]
    else:
        z, wz = _grid_1d(4000)
        e, we = _grid_1d(800)
        y = (np.asarray(act.f(z), dtype=float)[:, None] + tau * e[None, :]).ravel()
        w = (wz[:, None] * we[None, :]).ravel()
        H = np.repeat(h(z), e.size)[:, None]
    bw, bH = _binned_energy(y, w / w.sum(), H, n_bins)
    return float(np.sum(bw * bH[:, 0] ** 2))


# ----------------------------------------------------------------------------------------------
# public API


@validate_params({"link": Function(), "noise": NOISE, "k": Interval(int, 1, 12), "method": Options(METHODS),
                  "n_bins": Optional(Interval(int, 2, 10**6))})
def conditional_energy(
    link: "str | Activation | Callable", noise: float = 0.0, k: int = 2, *, method: str = "auto", n_bins: int | None = None
) -> float:
    r"""E_y[(E[He_k(z) | y])^2] for y = g(z) + noise * eps (z, eps ~ N(0, 1) independent).

    ``method``: "auto" (branches if noise = 0, grid otherwise), "branches" (noise = 0 only),
    "grid", "quad" (noise > 0 only) or "binned" (see the module docstring).

    >>> round(conditional_energy("square", 0.0, 2), 8)   # E[(z^2-1)^2] = 2
    2.0
    """
    act, tau = link, noise
    h = _he(k)
    if method == "auto":
        method = "branches" if tau == 0 else "grid"
    if method == "branches":
        if tau != 0:
            raise ConfigError("method", "'grid', 'quad' or 'binned' when noise > 0", method)
        return _noiseless_energy(act, h, _pieces(act))
    if method in ("grid", "quad") and tau == 0:
        raise ConfigError("method", "'branches' or 'binned' when noise = 0", method)
    if method == "grid":
        return _noisy_energy_grid(act, h, tau)
    if method == "quad":
        return _noisy_energy_quad(act, h, tau)
    # more bins than the (z, eps) grid resolves over-fit the discrete law (bias upwards):
    # 4000 bins on the 800k-node noiseless grid, 1000 on the 4000 x 800 noisy grid (~3e-3 relative)
    return _single_binned(act, h, tau, n_bins or (4000 if tau == 0 else 1000))


@dataclass(frozen=True)
class DeltaAlg(Result):
    """Result of :func:`delta_alg`.

    delta_alg : the threshold (0 with a trivial direction, inf when no weak recovery at delta = O(1)).
    energy1   : E_y[(E[z | y])^2]
    energy2   : E_y[(E[z^2 - 1 | y])^2]
    generative_exponent : 1, 2, or None (>= 3)
    """

    delta_alg: float
    energy1: float
    energy2: float
    generative_exponent: int | None
    link: str
    noise: float
    method: str


@validate_params({"link": Function(), "noise": NOISE, "method": Options(METHODS)})
def delta_alg(link: "str | Activation | Callable", noise: float = 0.0, *, method: str = "auto") -> DeltaAlg:
    r"""delta_alg of the single-index model y = g(z) + noise * eps (docs/phase_transitions.md).

    delta_alg = 0 if E_y[(E[z|y])^2] > 0, else 1/E_y[(E[z^2-1|y])^2] (inf if that is 0).
    Regime: proportional n/d -> delta, single index, Gaussian inputs. Reference: Mondelli &
    Montanari 2018 (arXiv 1708.05932), Barbier et al. 2019 (arXiv 1708.03395).

    >>> round(delta_alg("abs").delta_alg, 8)      # y = |z|: E[(z^2-1)^2] = 2
    0.5
    >>> delta_alg("relu").delta_alg               # E[z | y] != 0: trivial direction
    0.0
    """
    act, tau = link, noise
    e1 = conditional_energy(act, tau, 1, method=method)
    e2 = conditional_energy(act, tau, 2, method=method)
    if e1 > ZERO_TOL:
        val, gen = 0.0, 1
    elif e2 > 2 * ZERO_TOL:
        val, gen = 1.0 / e2, 2
    else:
        val, gen = math.inf, None
    used = method if method != "auto" else ("branches" if tau == 0 else "grid")
    return DeltaAlg(val, e1, e2, gen, act.name, tau, used)


@validate_params({"link": Function(), "combine": Options(COMBINES), "k": Interval(int, 1, 3), "noise": NOISE,
                  "n_grid": Optional(Interval(int, 8, 10**6)), "n_bins": Interval(int, 2, 10**6)})
def multi_index_delta_alg(
    link: "str | Activation" = "square",
    combine: str = "norm",
    k: int = 2,
    noise: float = 0.0,
    *,
    n_grid: int | None = None,
    n_bins: int = 3000,
) -> DeltaAlg:
    r"""delta_alg = 1/lambda_max(M -> E_y[G(y) M G(y)]) with G(y) = E[z z^T - I_k | y] (Troiani et al.
    2024, arXiv 2405.15480; docs/phase_transitions.md), for the teachers of :mod:`giantstep.targets`, k <= 3.

    Conditional expectations are bin averages over a tensor Gauss-Legendre grid of z (and of eps when
    noise > 0), in equal-probability bins of y (exact ties kept together, so atoms are exact). The
    binning converges from below; at the defaults the relative error is ~1e-3 for k = 2.
    If some bin mean of z is non-zero (E[z|y] != 0), delta_alg = 0.

    >>> round(multi_index_delta_alg("square", "norm", 2).delta_alg, 2)  # y = ||z||^2: k/2
    1.0
    """
    act, tau = link, noise
    n1 = n_grid or {1: 200_000, 2: 640, 3: 96}[k]
    if tau > 0:
        n1 = max(8, n1 // {1: 50, 2: 4, 3: 2}[k])
    z1, w1 = _symmetric_nodes(8.0, n1)
    pts, W = tensor_grid(*[(z1, w1 * _phi(z1))] * k)
    Z = np.stack(pts, axis=1)
    y = multi_index_link(act, combine, Z)
    iu = np.triu_indices(k)
    feats = [Z[:, a] for a in range(k)] + [Z[:, a] * Z[:, b] - (a == b) for a, b in zip(*iu)]
    H = np.stack(feats, axis=1)
    if tau > 0:
        e, we = _symmetric_nodes(8.0, 320)
        we = we * _phi(e)
        y = (y[:, None] + tau * e[None, :]).ravel()
        W = (W[:, None] * we[None, :]).ravel()
        H = np.repeat(H, e.size, axis=0)
    bw, bH = _binned_energy(y, W / W.sum(), H, n_bins)
    e1 = float(np.sum(bw * np.sum(bH[:, :k] ** 2, axis=1)))
    # G matrices per bin
    nb = bw.size
    G = np.zeros((nb, k, k))
    for col, (a, b) in enumerate(zip(*iu)):
        G[:, a, b] = bH[:, k + col]
        G[:, b, a] = bH[:, k + col]
    K = np.einsum("b,bij,bkl->ikjl", bw, G, G).reshape(k * k, k * k)  # vec(GMG) = (G kron G) vec(M)
    P = _sym_projector(k)
    lam = float(np.max(np.abs(np.linalg.eigvalsh(P @ K @ P))))
    e2 = lam
    if e1 > 1e-6:
        val, gen = 0.0, 1
    elif e2 > 1e-6:
        val, gen = 1.0 / e2, 2
    else:
        val, gen = math.inf, None
    return DeltaAlg(val, e1, e2, gen, f"{act.name}/{combine}/k={k}", tau, "binned")


@validate_params({"link": Function()})
def single_index_link(link: "str | Activation", combine: str = "sum") -> Activation:
    """The scalar link z -> g_1(z) of a k = 1 teacher of :mod:`giantstep.targets` (exact derivatives).

    ``sum``: g; ``norm``: g(|z|) (kink at 0); ``committee``: sign. Others need k >= 2.
    """
    act = link
    if combine == "sum":
        return act
    if combine == "norm":
        return Activation(
            f"{act.name}(|z|)",
            f=lambda z: act.f(np.abs(z)),
            df=lambda z: act.df(np.abs(z)) * np.sign(z),
            d2f=lambda z: act.d2f(np.abs(z)),
            kinks=tuple(sorted({0.0, *[abs(k) for k in act.kinks], *[-abs(k) for k in act.kinks]})),
        )
    if combine == "committee":
        return get_activation("sign")
    raise ConfigError("combine", "one of ['sum', 'norm', 'committee'] for k = 1", combine)


def _sym_projector(k: int) -> np.ndarray:
    """Orthogonal projector onto vec(symmetric k x k matrices) in R^{k^2}."""
    I = np.eye(k * k)
    swap = np.zeros((k * k, k * k))
    for a in range(k):
        for b in range(k):
            swap[a * k + b, b * k + a] = 1.0
    return 0.5 * (I + swap)
