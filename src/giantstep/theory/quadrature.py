r"""One quadrature helper: Gaussian rules normalised to a law, tensor grids, composite panels.

* :func:`gauss_hermite` -- nodes z_i and weights w_i with sum_i w_i f(z_i) ~ E f(G), G ~ N(0, 1)
  (probabilists' Hermite rule, Golub-Welsch through ``scipy.special.roots_hermitenorm``, which stays
  finite at every node count; numpy's ``hermegauss`` returns NaN weights past ~370 nodes). Exact for
  polynomials of degree < 2 nodes; for a function with a kink or a transition of width h the error
  decays only as the resolution of h allows, so callers that need accuracy compare successive
  rules (:func:`refine_until_stable`, :func:`doubling_counts`).
* :func:`tensor_grid` -- the product rule of several one-dimensional rules, flattened.
* :func:`gauss_legendre_panels` -- composite Gauss-Legendre on given panel edges (Lebesgue weight);
  :func:`gaussian_panels` the same times the N(0, 1) density;
* :func:`kinked_gaussian_rule` -- one such rule per row, each split at its own kinks
  (:func:`kink_edges`: where offset + slope z crosses a kink of the integrand), for E_z f(offset + slope z)
  with a kinked f at many offsets at once.

Reference: Golub & Welsch, Math. Comp. 23 (1969).

Example
-------
>>> z, w = gauss_hermite(3)
>>> round(float(w @ z**2), 12), round(float(w.sum()), 12)
(1.0, 1.0)
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Sequence

import numpy as np
from scipy.special import roots_hermitenorm

from ..errors import ValidityError

MAX_HERMITE_NODES = 4096
HALF_RANGE = 9.0  # the panel rules cover [-9, 9]: Gaussian mass beyond 9 sd is < 3e-19


@lru_cache(maxsize=64)
def _hermite_rule(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    z, w = roots_hermitenorm(nodes)
    w = w / w.sum()
    z.setflags(write=False)
    w.setflags(write=False)
    return z, w


def gauss_hermite(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """(z, w): ``nodes``-point Gauss-Hermite rule for E f(G), weights summing to 1 (read-only arrays)."""
    nodes = int(nodes)
    if not 1 <= nodes <= MAX_HERMITE_NODES:
        raise ValueError(f"Gauss-Hermite node count {nodes} outside [1, {MAX_HERMITE_NODES}]")
    return _hermite_rule(nodes)


@lru_cache(maxsize=32)
def _legendre_rule(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(nodes)
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


def gauss_legendre(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, w): ``nodes``-point Gauss-Legendre rule on [-1, 1] (read-only arrays, computed once)."""
    return _legendre_rule(int(nodes))


def tensor_grid(*rules: tuple[np.ndarray, np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """Product rule of one-dimensional (nodes, weights) rules: flattened node arrays and weights."""
    pts = np.meshgrid(*[r[0] for r in rules], indexing="ij")
    wts = np.meshgrid(*[r[1] for r in rules], indexing="ij")
    w = np.prod(np.stack(wts), axis=0).reshape(-1)
    return [p.reshape(-1) for p in pts], w


def broadcast_grid(*rules: tuple[np.ndarray, np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """Product rule kept on its axes: node arrays broadcastable to one axis per rule (so that sums
    over some axes are partial expectations) and the product weights of the full grid's shape."""
    dims = len(rules)
    pts, wt = [], np.ones([1] * dims)
    for i, (x, w) in enumerate(rules):
        shape = [1] * dims
        shape[i] = len(x)
        pts.append(np.asarray(x).reshape(shape))
        wt = wt * np.asarray(w).reshape(shape)
    return pts, wt


def gauss_legendre_panels(edges: np.ndarray, order: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre nodes/weights on the panels [edges[i], edges[i+1]] (dx weight)."""
    x, w = gauss_legendre(order)
    edges = np.asarray(edges, dtype=float)
    a, b = edges[:-1, None], edges[1:, None]
    half = 0.5 * (b - a)
    return ((a + b) / 2 + half * x[None, :]).ravel(), (half * w[None, :]).ravel()


def gaussian_panels(edges: np.ndarray, order: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre on the panels times the N(0, 1) density: sum w f(z) ~ E f(G) over
    the panels' range (a truncated Gaussian rule that can be aligned with kinks)."""
    z, w = gauss_legendre_panels(edges, order)
    return z, w * np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)


def kink_edges(kinks: tuple[float, ...], offset: np.ndarray, slope: float) -> np.ndarray:
    """(rows, len(kinks)) z-positions where offset + slope z crosses a kink, clipped to [-9, 9]."""
    if not kinks or slope == 0:
        return np.empty((offset.shape[0], 0))
    k = np.asarray(kinks, dtype=float)
    return np.clip((k[None, :] - offset[:, None]) / slope, -HALF_RANGE, HALF_RANGE)


def kinked_gaussian_rule(base: np.ndarray, extra: np.ndarray, order: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """(z, w), each (rows, nodes): per row, composite Gauss-Legendre times the N(0, 1) density on the
    ``base`` panel edges split at that row's ``extra`` edges (every row has the same number of
    panels, so the rows form one array); sum_j w[i, j] f(z[i, j]) ~ E f(G) on [-9, 9]."""
    edges = np.sort(np.concatenate([np.broadcast_to(base, (extra.shape[0], base.size)), extra], axis=1), axis=1)
    x, w = gauss_legendre(order)
    lo, half = edges[:, :-1, None], 0.5 * np.diff(edges, axis=1)[:, :, None]
    z = (lo + half * (1.0 + x)).reshape(edges.shape[0], -1)
    wz = (half * w).reshape(edges.shape[0], -1) * np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
    return z, wz


def doubling_counts(start: int, limit: int) -> list[int]:
    """Node counts n_0 = start, n_{k+1} = 2 n_k + 1 (alternating parity) up to ``limit``."""
    counts = [int(start)]
    while 2 * counts[-1] + 1 <= limit:
        counts.append(2 * counts[-1] + 1)
    return counts


def refine_until_stable(
    evaluate: Callable[[Any], np.ndarray], levels: Sequence[Any], rtol: float, what: str
) -> tuple[np.ndarray, Any]:
    """Evaluate at increasing resolutions ``levels`` until three successive values agree to
    ``rtol`` (relative to the largest magnitude); returns (the finest of them, its level).

    Two agreements, and levels that are not nested (e.g. :func:`doubling_counts`, of alternating
    parity, or panel widths in ratio 2/3), so that a coincidence -- symmetric rules that all miss a
    feature between the same two central nodes -- does not pass. Raises
    :class:`~giantstep.errors.ValidityError` naming ``what`` when the levels run out first: the
    integrand varies on a scale the rule cannot resolve, and the number would not be right.
    """
    previous, agreed = None, 0
    for level in levels:
        value = np.asarray(evaluate(level), dtype=float)
        if previous is not None:
            scale = max(float(np.max(np.abs(value))), 1e-300)
            close = bool(np.all(np.isfinite(value))) and float(np.max(np.abs(value - previous))) <= rtol * scale
            agreed = agreed + 1 if close else 0
            if agreed == 2:
                return value, level
        previous = value
    raise ValidityError(
        f"quadrature accuracy: {what} is not resolved to {rtol:g} relative at the finest rule tried ({level})",
        hard=True,
    )
