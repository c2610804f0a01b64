"""C2's exponent fit through the cell means (`c2.fit_slope_cells`): planted lines."""

import math

import numpy as np

from giantstep.claims.base import t_factor
from giantstep.claims.c2 import fit_slope_cells


def _ladder(rng, slope, sds, runs, offsets=(0.0, 0.0, 0.0, 0.0)):
    x = np.repeat(np.log([512.0, 1024.0, 2048.0, 4096.0]), runs)
    noise = np.concatenate([rng.normal(0.0, sd, runs) for sd in sds])
    return x, 0.3 + slope * x + np.repeat(offsets, runs) + noise


def test_weighted_cell_fit_is_calibrated_on_planted_lines():
    """600 planted ladders (4 cells, 16 runs, per-run sd 0.6%, 0.26%, 0.1%, 0.05% as C2's m_1): the
    mean slope is the planted one (within 4 standard errors of the mean over ladders), the reported
    se covers the scatter of the fitted slopes (mean reported se within [0.9, 1.5] of their sd: the
    per-cell variances are estimated from 16 runs and the chi^2 inflation only widens), and
    slope +- t99 se covers the planted slope in >= 97% of ladders (nominal 99%)."""
    rng = np.random.default_rng(11)
    sds, runs, true = (6e-3, 2.6e-3, 1e-3, 5e-4), 16, -0.2
    fits = np.array([fit_slope_cells(*_ladder(rng, true, sds, runs))[:2] for _ in range(600)])
    slopes, ses = fits[:, 0], fits[:, 1]
    assert abs(slopes.mean() - true) < 4 * slopes.std() / math.sqrt(len(slopes))
    assert 0.9 <= ses.mean() / slopes.std() <= 1.5
    assert np.mean(np.abs(slopes - true) <= t_factor(runs) * ses) >= 0.97


def test_cell_offsets_off_the_line_inflate_the_error():
    """Cells 1% off a line (far beyond their 0.05% errors): chi^2/dof >> 1, and the se grows by its root."""
    rng = np.random.default_rng(2)
    x, y = _ladder(rng, -0.2, (5e-4,) * 4, 16, offsets=(0.0, 0.01, -0.01, 0.0))
    slope, se, chi2_dof, runs = fit_slope_cells(x, y)
    assert chi2_dof > 100 and runs == 16
    x0, y0 = _ladder(np.random.default_rng(2), -0.2, (5e-4,) * 4, 16)
    assert se > 10 * fit_slope_cells(x0, y0)[1]


def test_too_few_cells_or_runs_is_not_a_fit():
    x = np.log([512.0, 512.0, 1024.0, 1024.0])
    assert math.isnan(fit_slope_cells(x, np.arange(4.0))[0])
    x = np.log([512.0, 1024.0, 2048.0, 2048.0])
    assert math.isnan(fit_slope_cells(x, np.arange(4.0))[0])
