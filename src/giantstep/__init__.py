"""giantstep: feature learning in two-layer networks after large gradient steps.

Simulate the protocols of the theory (convention P), measure what it talks about, compute its
asymptotic predictions and compare the two. See README.md and docs/ (docs/api.md for this API).

The Python API in one screen::

    import giantstep

    result = giantstep.run({"d": 200, "width": 200, "n": 400, "steps": [{"eta0": 1, "alpha": 0.25}]})
    result.record, result.metrics, result.arrays          # the record, flat metrics, arrays
    giantstep.theory.one_step(d=200, width=200, n=400, eta0=1, alpha=0.25)   # as `giantstep theory one-step`
    giantstep.sweep("examples/alpha_sweep.yaml", "results.db", workers=2)
    df = giantstep.load_results("results.db")              # one row per cell x seed
    giantstep.reproduce(["C1"], mode="quick", out="repro")  # a claim end to end

Everything is imported on first use (PEP 562), so ``import giantstep`` loads neither numpy-heavy
modules (scipy, pandas, matplotlib) nor Dask.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "run", "sweep", "load_results", "load_arrays", "reproduce", "theory", "plots",
           "activations", "expressions", "hermite"]

# submodules reachable as attributes of the package, imported on first access
_LAZY_MODULES = ("theory", "plots", "activations", "expressions", "hermite", "experiments", "engine", "claims")


def __getattr__(name: str):
    """PEP 562: ``giantstep.theory``, ``giantstep.plots``, ... imported on first access."""
    if name in _LAZY_MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_MODULES))


def _config_data(config: Any) -> Any:
    """A run config as given: a mapping, a validated model, or the path of a YAML/TOML file."""
    if isinstance(config, (str, Path)):
        from .experiments.configfile import load_config_file

        return load_config_file(config)
    return config


def run(config: Any, *, save_weights: bool = False, save_updates: bool = False, out: "str | Path | None" = None,
        force: bool = False):
    """Run one experiment, as ``giantstep run``; return its
    :class:`~giantstep.experiments.kinds.ExperimentResult` (``record``, ``metrics``, ``arrays``).

    config       : a mapping, a validated config model, or the path of a .yaml/.yml/.toml file; an
                   activation or link may be a Python callable (docs/api.md).
    save_weights : keep W_0..W_T, a and Theta* in ``arrays`` (``W0``.., ``a``, ``theta``; steps runs).
    save_updates : keep the updates W_t - W_{t-1} too (``dW1``, ...).
    out          : also write ``out/result.json`` and ``out/arrays.npz`` (checked before the run;
                   ``force`` replaces an earlier result).

    Bad input raises :class:`~giantstep.errors.ConfigError` naming the field, before anything runs;
    a run whose numbers blow up raises :class:`~giantstep.errors.DivergenceError`.

    >>> result = run({"d": 40, "width": 40, "n": 80, "steps": [{"eta0": 1.0, "alpha": 0.25}], "theory": False})
    >>> [entry["t"] for entry in result.record["weights"]], "w1.s1" in result.metrics
    ([0, 1], True)
    """
    from .experiments.kinds import parse_config, run_config
    from .experiments.memory import check_memory
    from .experiments.record import check_run_output, request_saved_state, write_run_output

    cfg = parse_config(request_saved_state(_config_data(config), save_weights, save_updates))
    check_memory(cfg)
    if out is not None:
        check_run_output(out, force)
    result = run_config(cfg)
    if out is not None:
        write_run_output(result, out)
    return result


def sweep(sweep: Any, store: "str | Path" = "results.db", *, name: str | None = None, workers: int | None = None,
          scheduler: str | None = None, resume: bool = True, retry_failed: bool = False, progress: bool = False,
          blas_threads: int | None = None):
    """Run every cell of a sweep (a file path or a mapping: base, grid, zip, seeds; docs/engine.md)
    into the results store ``store``, as ``giantstep sweep``; return the
    :class:`~giantstep.engine.execution.SweepReport`. The whole sweep is validated before anything
    runs; cells already in the store are skipped (``resume``). Functions must be names or
    expressions here: a Python callable cannot reach the sweep's worker processes.

    >>> report = sweep({"base": {"d": 16, "width": 16, "n": 32, "steps": [{"eta0": 1.0}], "theory": False},
    ...                 "grid": {"steps.0.alpha": [0.0, 0.25]}}, tmp / "doc.db", workers=1)   # doctest: +SKIP
    >>> report.done, report.failed                                                          # doctest: +SKIP
    (2, 0)
    """
    from .activations import CALLABLE_PREFIX
    from .engine import store as st
    from .engine.execution import run_sweep
    from .engine.sweep import load_sweep
    from .errors import ConfigError

    st.check_store_path(store, write=True)
    if st.store_state(store) == "foreign":
        st.connect(store, readonly=True)  # raises the one-line refusal, touching nothing
    spec = load_sweep(sweep, name=name)
    for cell in spec.cells:
        for field, value in (("activation", cell.config.get("activation")),
                             ("teacher.link", (cell.config.get("teacher") or {}).get("link"))):
            if isinstance(value, str) and value.startswith(CALLABLE_PREFIX):
                raise ConfigError(f"base.{field}", "a registered name or an expression in x (a Python function "
                                                   "cannot reach the sweep's worker processes; use giantstep.run)", value)
    return run_sweep(spec, store, workers=workers, scheduler=scheduler, resume=resume, retry_failed=retry_failed,
                     progress=progress, blas_threads=blas_threads)


def load_results(path: "str | Path", sweep: str | None = None, where: str | None = None, *, verify: bool = False,
                 columns: "list[str] | str | None" = None):
    """A results store as a pandas DataFrame, one row per cell x seed (columns: docs/engine.md).

    ``sweep`` selects one sweep's rows by name; ``where`` is a row filter such as
    ``"status == 'done' and width > 64"`` (parsed, never evaluated); ``columns`` keeps those
    columns; ``verify`` checks each row's arrays. See :func:`giantstep.engine.results.load_results`.
    """
    from .engine.results import load_results as _load

    return _load(path, sweep=sweep, where=where, verify=verify, columns=columns)


def load_arrays(path: "str | Path", row_id: int):
    """The arrays stored with one row of a results store (``row_id`` from :func:`load_results`):
    spectra, and with ``save: {weights: true}`` the weights ``W0``..``WT``, ``a`` and ``theta``."""
    from .engine.results import load_arrays as _load

    return _load(path, row_id)


def reproduce(claims: "list[str] | None" = None, *, mode: str = "quick", out: "str | Path" = "reproduce",
              workers: int | None = None, scheduler: str | None = None, progress: bool = False,
              force: bool = False) -> dict:
    """Reproduce claims (C1 ... C8; all when ``claims`` is None) end to end, as ``giantstep
    reproduce``: sweeps into ``out/results.sqlite``, theory, verdicts, figures, ``out/summary.json``
    and ``out/report.html``. Returns the summary mapping; ``summary["claims"]["C8"]["verdict"]``
    is ``"PASS"``, ``"FAIL"`` or ``"INCONCLUSIVE"``. A second call resumes from the store.
    """
    from .claims.runner import reproduce as _reproduce

    return _reproduce(claims, mode=mode, out=out, workers=workers, scheduler=scheduler, progress=progress,
                      force=force)
