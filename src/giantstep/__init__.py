"""giantstep: feature learning in two-layer networks after large gradient steps.

Simulate the protocols of the theory (convention P), measure what it talks about, compute its
asymptotic predictions and compare the two. See README.md and docs/.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "load_results"]


def load_results(path):
    """Load a results store as a pandas DataFrame (see :mod:`giantstep.experiments.results`)."""
    from .experiments.results import load_results as _load

    return _load(path)
