"""Helpers for the engine tests: tiny sweeps and a real Dask scheduler with two workers."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

# A tiny "steps" run: d = 32, N = 32, n = 64, one step (milliseconds per cell).
TINY_BASE = {"d": 32, "width": 32, "n": 64, "theory": False, "spectra": {"top": 4},
             "steps": [{"eta0": 1.0, "alpha": 0.0}]}


def tiny_sweep(**extra) -> dict:
    """A 12-cell sweep over eta0 (one divergent value, 1e300) x width, 2 seeds."""
    spec = {
        "name": "tiny",
        "seed": 11,
        "base": dict(TINY_BASE),
        "grid": {"steps.0.eta0": [0.5, 2.0, 1.0e300], "width": [32, 48]},
        "seeds": 2,
    }
    spec.update(extra)
    return spec


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask_executable() -> list[str]:
    exe = Path(sys.executable).with_name("dask")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "dask"]


def _stop(proc: subprocess.Popen) -> None:
    """Stop a process group this fixture started (SIGTERM, then SIGKILL after a bounded wait)."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextlib.contextmanager
def external_cluster(logdir: Path, scheduler_env: dict[str, str] | None = None):
    """A real ``dask scheduler`` and two ``dask worker --nthreads 1`` processes (each under its
    nanny) on 127.0.0.1; yields the scheduler address. ``scheduler_env`` adds environment
    variables for the scheduler process (e.g. Dask config such as allowed failures). Every process
    is stopped on exit; all waits are bounded.
    """
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    procs: list[subprocess.Popen] = []

    def start(args: list[str], log: str, extra: dict[str, str] | None = None) -> None:
        fh = open(logdir / log, "w")
        procs.append(subprocess.Popen(_dask_executable() + args, stdout=fh, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=dict(env, **(extra or {})), cwd=logdir,
                                      start_new_session=True))

    try:
        start(["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], "scheduler.log",
              scheduler_env)
        for i in range(2):
            start(["worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard",
                   "--name", f"w{i}"], f"worker{i}.log")
        deadline = time.monotonic() + 90
        ready = False
        while time.monotonic() < deadline and not ready:
            try:
                with Client(address, timeout="5s", set_as_default=False) as client:
                    client.wait_for_workers(2, timeout=max(1.0, deadline - time.monotonic()))
                    ready = True
            except (OSError, TimeoutError):
                time.sleep(0.5)
        if not ready:
            logs = "\n".join((logdir / f).read_text()[-2000:] for f in ("scheduler.log", "worker0.log", "worker1.log"))
            pytest.fail(f"Dask scheduler/workers did not come up within 90 s:\n{logs}")
        yield address
    finally:
        for proc in reversed(procs):
            _stop(proc)


@pytest.fixture(scope="module")
def dask_scheduler(tmp_path_factory):
    """An :func:`external_cluster` for the module; yields the scheduler address."""
    with external_cluster(tmp_path_factory.mktemp("dask-logs")) as address:
        yield address


# ----------------------------------------------------------------------------- in-process sweeps


@pytest.fixture
def inline_sweeps(monkeypatch):
    """Run sweeps without a Dask cluster: cells execute one by one in this process (same
    execute_cell and write_result as on a cluster). For tests of stores, paths and validation."""
    from giantstep.engine import execution

    @contextlib.contextmanager
    def client(workers, scheduler, n_tasks, blas_threads, gpus=None):
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


# ----------------------------------------------------------------------------- read-only places


def _unshare_works() -> bool:
    import shutil

    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-U", "true"], capture_output=True)
    return probe.returncode == 0


def unprivileged(argv: list[str]) -> list[str]:
    """``argv`` run without the power to ignore file permissions: as is for an ordinary user, in a
    new user namespace (``unshare -U``) for root; skips the test where neither is possible."""
    if os.geteuid() != 0:
        return argv
    if not _unshare_works():
        pytest.skip("running as root without 'unshare -U': permissions cannot be enforced")
    return ["unshare", "-U", *argv]


@contextlib.contextmanager
def read_only(folder: Path):
    """Make ``folder`` read-only (mode 0555) for the duration."""
    mode = folder.stat().st_mode
    folder.chmod(0o555)
    try:
        yield folder
    finally:
        folder.chmod(mode)


def snapshot(folder: Path, sqlite_aux: bool = True) -> dict[str, bytes]:
    """Relative path -> bytes of every file under ``folder`` (directories as b'<dir>').

    ``sqlite_aux=False`` leaves out SQLite's -wal and -shm files, which a reader of a WAL store
    may create (they hold no data of their own once the store was closed cleanly).
    """
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else b"<dir>")
            for p in sorted(folder.rglob("*")) if sqlite_aux or not p.name.endswith(("-wal", "-shm"))}
