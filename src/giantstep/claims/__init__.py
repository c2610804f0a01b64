"""Seed-paper claims C1-C8 as data: sweeps, theory, verdict rule and figures.

``giantstep reproduce`` runs them (:mod:`giantstep.claims.runner`); the interface is in
:mod:`giantstep.claims.base` and the registry in :mod:`giantstep.claims.registry`.
"""

from .base import Claim, ClaimContext, ClaimOutcome, Comparison, compare, mean_stderr, verdict_from

__all__ = ["Claim", "ClaimContext", "ClaimOutcome", "Comparison", "compare", "mean_stderr", "verdict_from"]
