"""Progress (issue 17 item 1): a live bar on a terminal for sweeps and reproduce, nothing when
output is piped or with --quiet, and a one-line summary at the end."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import yaml

from giantstep.engine.progress import Progress

pytestmark = pytest.mark.timeout(300)

SWEEP = {"name": "bar", "base": {"d": 16, "width": 16, "n": 64, "theory": False, "steps": [{"eta0": 1.0}]},
         "grid": {"steps.0.eta0": [1.0, 2.0, 1.0e300]}}
BAR_MARKS = ("━", "ETA", "\x1b[")


def _under_pty(argv, cwd) -> tuple[subprocess.CompletedProcess, str]:
    """Run with stderr on a pseudo-terminal (stdout piped); return the process and what the terminal showed."""
    import pty

    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, cwd=cwd,
                                env=dict(os.environ, COLUMNS="160", TERM="xterm"))
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        out, _ = proc.communicate(timeout=240)
    finally:
        os.close(master)
    return subprocess.CompletedProcess(argv, proc.returncode, out.decode(), None), b"".join(chunks).decode(errors="replace")


def test_sweep_shows_a_bar_on_a_terminal_and_is_clean_when_piped(tmp_path):
    sweep = tmp_path / "bar.yaml"
    sweep.write_text(yaml.safe_dump(SWEEP))
    cmd = [sys.executable, "-m", "giantstep", "sweep", str(sweep), "--workers", "1"]
    proc, shown = _under_pty([*cmd, "--store", str(tmp_path / "a.db")], tmp_path)
    assert proc.returncode == 0
    assert "bar" in shown and "done 2  failed 1  skipped 0" in shown and "ETA" in shown and "3/3" in shown
    assert proc.stdout.strip() == next(ln for ln in proc.stdout.splitlines() if ln.startswith("sweep 'bar'"))
    assert "2 done, 1 failed, 0 skipped of 3 cells" in proc.stdout

    quiet, shown = _under_pty([*cmd, "--store", str(tmp_path / "b.db"), "--quiet"], tmp_path)
    assert quiet.returncode == 0 and not any(mark in shown for mark in BAR_MARKS)

    piped = subprocess.run([*cmd, "--store", str(tmp_path / "c.db")], capture_output=True, text=True, timeout=240,
                           stdin=subprocess.DEVNULL)
    assert piped.returncode == 0 and piped.stderr == ""
    assert piped.stdout.count("\n") == 1 and "2 done, 1 failed, 0 skipped of 3 cells" in piped.stdout


TINY_CLAIM = textwrap.dedent('''
    import sys
    from giantstep import plots
    from giantstep.claims import registry
    from giantstep.claims.base import Claim, ClaimOutcome
    from giantstep.cli import main

    def sweeps(mode):
        return {"g": {"base": {"d": 8, "width": 8, "n": 16, "theory": False, "steps": [{"eta0": 1.0}]},
                      "grid": {"width": [8, 12]}, "seeds": 2}}

    def plot(ctx, pred, outcome):
        fig, ax = plots.figure()
        return plots.save(fig, ctx.outdir, "t")

    registry.load_all()
    registry.register(Claim("T7", "tiny", "s", "test", sweeps, lambda m: {},
                            lambda ctx, p: ClaimOutcome("PASS", "ok", (), {}, 2), plot, "setting"))
    if __name__ == "__main__":
        main(sys.argv[1:])
''')


def test_reproduce_shows_one_bar_over_all_its_sweeps(tmp_path):
    script = tmp_path / "tiny.py"
    script.write_text(TINY_CLAIM)
    proc, shown = _under_pty([sys.executable, str(script), "reproduce", "T7", "--quick", "--out", str(tmp_path / "o"),
                              "--workers", "1"], tmp_path)
    assert proc.returncode == 0, shown[-2000:]
    assert "T7 g" in shown and "done 4  failed 0  skipped 0" in shown and "ETA" in shown
    assert "T7: PASS" in shown  # log lines above the bar
    lines = proc.stdout.splitlines()
    assert lines[0] == "T7 PASS: ok"
    assert lines[1].startswith("reproduce quick: 4 done, 0 failed, 0 skipped of 4 cells in ")
    again = subprocess.run([sys.executable, str(script), "reproduce", "T7", "--quick", "--out", str(tmp_path / "o"),
                            "--quiet"], capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    assert again.returncode == 0 and again.stderr == ""
    assert "0 done, 0 failed, 4 skipped of 4 cells" in again.stdout


def test_progress_counts_and_summary_without_a_terminal():
    with Progress(enabled=True, description="x") as bar:  # not a terminal under pytest: nothing drawn
        assert bar.bar is None
        bar.add_total(5)
        bar.advance(skipped=2)
        bar.advance(done=2)
        bar.advance(failed=1)
    assert bar.summary().startswith("x: 2 done, 1 failed, 2 skipped of 5 cells in ")
