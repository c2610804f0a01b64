"""Shared test helpers."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


def run_cli(*args: str, cwd=None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m giantstep ARGS`` in a subprocess (no standard input)."""
    return subprocess.run(
        [sys.executable, "-m", "giantstep", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def inline_sweeps(monkeypatch):
    """Run sweeps without a Dask cluster: cells execute one by one in this process (same
    execute_cell and write_result as on a cluster). For tests of stores, paths and validation."""
    from giantstep.engine import execution

    @contextlib.contextmanager
    def client(workers, scheduler, n_tasks, blas_threads, gpus=0):
        yield None, 1, blas_threads or execution.CELL_BLAS_THREADS

    def execute(_client, con, store_path, spec, todo, threads, bar, device=None):
        done = failed = 0
        for cell in todo:
            status = execution.write_result(con, store_path, spec, cell,
                                            execution.execute_cell(cell.config, threads, device))
            done, failed = done + (status == "done"), failed + (status != "done")
            bar.advance(done=int(status == "done"), failed=int(status != "done"))
        return done, failed

    monkeypatch.setattr(execution, "dask_client", client)
    monkeypatch.setattr(execution, "_execute", execute)
