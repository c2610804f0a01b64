"""giantstep: feature learning in two-layer networks after large gradient steps.

Simulate the protocols of the theory (convention P), measure what it talks about, compute its
asymptotic predictions and compare the two. See README.md and docs/.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "load_results"]


def load_results(path, sweep=None, where=None):
    """Load a results store as a pandas DataFrame, one row per cell x seed.

    ``sweep`` selects one sweep's rows by name; ``where`` is a filter expression; see
    :func:`giantstep.engine.results.load_results`.
    """
    from .engine.results import load_results as _load

    return _load(path, sweep=sweep, where=where)
