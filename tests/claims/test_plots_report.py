"""Figure functions and the HTML report."""

import numpy as np
import pytest
from scipy import integrate

from giantstep import plots
from giantstep.linalg import singular_values
from giantstep.report import render, write_report


@pytest.mark.parametrize("N,d", [(512, 512), (256, 512), (1024, 256)])
def test_mp_singular_density_is_a_density_with_the_right_edge(N, d):
    v = 1.0 / d
    edge = np.sqrt(v) * (np.sqrt(N) + np.sqrt(d))
    total, _ = integrate.quad(lambda s: plots.mp_singular_density(np.array([s]), N, d, v)[0], 0, edge, limit=200)
    assert total == pytest.approx(1.0, abs=1e-6)
    assert plots.mp_singular_density(np.array([edge * 1.001]), N, d, v)[0] == 0.0


def test_mp_singular_density_matches_simulation():
    # N = d = 400, entries N(0, 1/d): quarter circle on [0, 2]; mean singular value 8/(3 pi) = 0.8488
    rng = np.random.default_rng(0)
    s = singular_values(rng.standard_normal((400, 400)) / 20.0)
    grid = np.linspace(0, 2, 4001)
    mean_theory = np.trapezoid(grid * plots.mp_singular_density(grid, 400, 400, 1 / 400), grid)
    assert mean_theory == pytest.approx(8 / (3 * np.pi), abs=1e-3)
    assert s.mean() == pytest.approx(mean_theory, abs=0.01)  # finite-N fluctuation of a linear statistic ~ 1/N


def test_spectrum_histogram_and_save(tmp_path):
    fig, ax = plots.figure()
    vals = np.concatenate([np.linspace(0.1, 2.0, 200), [3.3]])
    plots.spectrum_histogram(ax, vals, density=lambda g: plots.mp_singular_density(g, 200, 200, 1 / 200), edge=2.0,
                             predicted_outliers=[3.34], measured_outliers=[3.3])
    paths = plots.save(fig, tmp_path, "spec")
    assert [p.suffix for p in paths] == [".png", ".pdf"] and all(p.stat().st_size > 1000 for p in paths)


def test_report_escapes_and_embeds(tmp_path):
    fig, ax = plots.figure()
    ax.plot([0, 1], [0, 1])
    plots.save(fig, tmp_path / "figures", "f")
    summary = {"mode": "quick", "version": "0", "claims": {"C1": {
        "title": "a <b>", "statement": "s & t", "source": "src", "setting": "", "verdict": "FAIL", "reason": "r",
        "comparisons": [{"quantity": "q", "predicted": 1.0, "measured": 2.0, "stderr": 0.1, "tolerance": 0.3,
                         "passed": False, "note": "n"}],
        "sizes": {"d": 8}, "seeds": 2, "figures": ["figures/f.png", "figures/f.pdf"]}}}
    html = render(summary, tmp_path)
    assert "a &lt;b&gt;" in html and "s &amp; t" in html and "data:image/png;base64," in html
    assert 'href="figures/f.pdf"' in html
    assert write_report(summary, tmp_path).read_text() == html


def test_report_states_the_power_beside_the_verdict(tmp_path):
    power = {"quantities": ["s1(W1)"], "detectable_relative_error": 0.035, "per_quantity": {"s1(W1)": {"detectable": 0.035}},
             "limits": {"up": 10.0, "down": 0.99}, "how": "bisection"}
    summary = {"mode": "quick", "version": "0", "claims": {"C1": {
        "title": "t", "statement": "s", "source": "src", "setting": "", "verdict": "PASS", "reason": "r",
        "comparisons": [], "sizes": {}, "seeds": 2, "figures": [], "power": power}}}
    html = render(summary, tmp_path)
    assert "Would detect a 3.5% error in any one of: s1(W1) (3.5%)." in html and "<td>3.5%</td>" in html
