"""One home per kernel: the ridge solver, the second-layer sampler, the inertia count.

The simulation side solves every ridge system through :func:`giantstep.readout.solve_ridge` and
draws every second layer through :func:`giantstep.network.init_second_layer`; the source scan below
fails if another module grows its own copy."""

import re
from pathlib import Path

import numpy as np
import pytest

import giantstep
from giantstep import linalg
from giantstep.errors import DivergenceError
from giantstep.network import SECOND_LAYER_LAWS, init_second_layer
from giantstep.readout import ridge_coefficients, solve_ridge

SRC = Path(giantstep.__file__).parent


def _library_sources(exclude: tuple[str, ...]):
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("theory/") or rel in exclude:
            continue
        yield rel, path.read_text()


def test_one_ridge_solver_on_the_simulation_side():
    pattern = re.compile(r"cholesky_solve\(|cho_factor\(|linalg\.inv\(|linalg\.solve\(|\bsolve\(")
    offenders = [rel for rel, text in _library_sources(("linalg.py", "readout.py")) if pattern.search(text)]
    assert offenders == []


def test_one_second_layer_sampler():
    pattern = re.compile(r"choice\(\s*(np\.array\()?\[\s*-1\.?0?\s*,\s*1\.?0?\s*\]")
    offenders = [rel for rel, text in _library_sources(("network.py",)) if pattern.search(text)]
    assert offenders == []


def test_second_layer_laws():
    rng = np.random.default_rng(0)
    a = {law: init_second_layer(np.random.default_rng(1), 10, law) for law in SECOND_LAYER_LAWS}
    assert set(np.unique(a["rademacher"])) <= {-1.0, 1.0}
    assert np.array_equal(a["symmetric"][5:], -a["symmetric"][:5])
    assert np.array_equal(a["ones"], np.ones(10)) and np.array_equal(a["alternating"][:3], [1.0, -1.0, 1.0])
    assert np.array_equal(a["rademacher"], np.random.default_rng(1).choice(np.array([-1.0, 1.0]), size=10))
    with pytest.raises(ValueError):
        init_second_layer(rng, 4, "uniform")


def test_ridge_coefficients_primal_and_dual_match_the_normal_equations():
    rng = np.random.default_rng(2)
    for n, N in ((80, 30), (30, 80)):
        F, y = rng.standard_normal((n, N)), rng.standard_normal(n)
        a = ridge_coefficients(F, y, 0.1)
        # the normal equations of (1/n)||y - F a||^2 + ridge ||a||^2 (a dense independent solve)
        want = np.linalg.solve(F.T @ F / n + 0.1 * np.eye(N), F.T @ y / n)
        assert np.abs(a - want).max() <= 1e-10 * np.abs(want).max()
    with pytest.raises(DivergenceError, match="not positive definite"):
        solve_ridge(np.zeros((3, 3)), np.ones(3), 0.0)
    # only the upper triangle is read (the readout passes its Gram that way)
    G = F.T @ F / n
    junk = np.triu(G) + np.tril(rng.standard_normal(G.shape), -1)
    for M in (junk, np.asfortranarray(junk)):
        assert np.array_equal(solve_ridge(M, F.T @ y / n, 0.1), solve_ridge(G, F.T @ y / n, 0.1))


@pytest.mark.parametrize("seed", range(4))
def test_inertia_count_matches_eigenvalues(seed):
    """Indefinite matrices (Bunch-Kaufman uses 2 x 2 pivots there) and PSD Grams, levels inside
    the spectrum, at its ends and beyond."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((120, 120))
    for G in (A + A.T, A @ A.T / 120):
        w = np.linalg.eigvalsh(G)
        levels = np.concatenate([[w[0] - 1, w[-1] + 1], (w[1:] + w[:-1])[::7] / 2])
        for t in levels:
            assert linalg.count_eigenvalues_above(G, float(t)) == int(np.sum(w > t))
