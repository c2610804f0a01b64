"""Asymptotic theory: one module per result, each a set of small pure functions.

Modules
-------
mp                 Marchenko-Pastur law (density, Stieltjes transform, edges, moments)
bbp                BBP transitions: rectangular, spiked Wigner, spiked covariance
pennington_worah   conjugate-kernel spectrum of nonlinear random features
mei_montanari      random-features ridge risk, bias and variance
ge_ridge           Gaussian-equivalence + deterministic-equivalent ridge risk given the weights
one_step           the rank-one spike of one gradient step and the BBP outlier of W1
poly_spikes        polynomial feature spikes after a growing step
srf                spiked random features: parameters and fixed-point test error
feature_spectrum   deterministic equivalent of the feature spectrum after one maximal step
two_step           power counting of the second step
predictions        the predictions that apply to a ``steps`` run config
quantities         every ``giantstep theory`` command as a function of the same keyword arguments

The conventions are those of docs/theory.md (convention P).

Quantities by command name. Each command of ``giantstep theory`` is callable here under its name
with dashes as underscores, with the command's options as keyword arguments, and returns what the
command prints with ``--json`` (:mod:`giantstep.theory.quantities`)::

    giantstep.theory.one_step(activation="relu", link="he1", d=1000, width=1000, n=2000, eta0=1, alpha=0.25)
    giantstep.theory.rf_ridge(psi1=2.0, psi2=3.0, ridge=0.1)

Where a command shares its name with the module that holds its formulas (``one_step``, ``mp``,
``bbp``, ...), that module is itself callable: calling it calls the quantity, and its functions
stay where they are (``giantstep.theory.one_step.one_step_from_moments``).
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

# command of ``giantstep theory`` -> the function of :mod:`giantstep.theory.quantities`
COMMANDS: dict[str, str] = {
    "hermite": "hermite", "mp": "mp", "bbp": "bbp", "ck-spectrum": "ck_spectrum", "one-step": "one_step",
    "poly-spikes": "poly_spikes", "two-step": "two_step", "kernel-modes": "kernel_modes", "rf-ridge": "rf_ridge",
    "ge-ridge": "ge_ridge", "srf": "srf", "delta-alg": "delta_alg", "spectral-threshold": "spectral_threshold",
    "srf-spectrum": "srf_spectrum", "next-direction": "next_direction",
}
QUANTITIES = frozenset(COMMANDS.values())
_MODULE_QUANTITIES = frozenset(q for q in QUANTITIES if (Path(__file__).parent / f"{q}.py").is_file())


class QuantityModule(types.ModuleType):
    """A theory module that is also the quantity of its name: calling it calls
    ``giantstep.theory.quantities.<name>`` with the same keyword arguments."""

    def __call__(self, **kwargs):
        from . import quantities

        return vars(quantities)[self.__name__.rpartition(".")[2]](**kwargs)


class _TheoryPackage(types.ModuleType):
    """This package: a module bound to it under a quantity's name becomes a :class:`QuantityModule`
    (the import system binds each submodule to its package once, when it is first imported)."""

    def __setattr__(self, name, value):
        if name in _MODULE_QUANTITIES and type(value) is types.ModuleType:
            value.__class__ = QuantityModule
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _TheoryPackage


def __getattr__(name: str):
    """PEP 562: a quantity by name, imported on first use."""
    if name in _MODULE_QUANTITIES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in QUANTITIES:
        from . import quantities

        return vars(quantities)[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | QUANTITIES)
