"""The documentation runs: docs/api.md and docs/plots.md are executed as doctests (in an empty
directory), so are the examples of the API modules' docstrings; docs/plots.md names every public
function of giantstep.plots."""

import doctest
import inspect
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[2] / "docs"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("page", ["api.md", "plots.md"])
def test_docs_page_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = doctest.testfile(str(DOCS / page), module_relative=False, optionflags=FLAGS)
    assert result.attempted >= 10 and result.failed == 0


@pytest.mark.parametrize("module", ["giantstep", "giantstep.expressions", "giantstep.saved",
                                    "giantstep.theory.quantities"])
def test_docstring_examples_run(module):
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=FLAGS)
    assert result.attempted >= 1 and result.failed == 0


def test_every_public_plot_function_is_documented():
    from giantstep import plots

    text = (DOCS / "plots.md").read_text()
    public = [name for name, obj in vars(plots).items()
              if inspect.isfunction(obj) and obj.__module__ == plots.__name__ and not name.startswith("_")]
    assert len(public) >= 10
    missing = [name for name in public if f"`{name}(" not in text]
    assert not missing, missing
