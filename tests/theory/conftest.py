"""Fixtures of the theory tests."""

import pytest

from theory_cli import run_theory


@pytest.fixture
def theory():
    """``giantstep theory ...`` in process (see theory_cli.run_theory)."""
    return run_theory
