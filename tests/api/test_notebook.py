"""examples/tour.ipynb runs from top to bottom in a fresh kernel (run -> theory -> sweep -> plot)."""

import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).parents[2] / "examples" / "tour.ipynb"


def test_tour_notebook_executes(tmp_path, monkeypatch):
    scratch = tmp_path / "tmp"  # the kernel's temporary directory: the tour must leave nothing in it
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit the notebook without outputs"
    start = time.perf_counter()
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    seconds = time.perf_counter() - start
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 2  # the two figures
    text = "".join(o.get("text", "") for o in outputs)
    assert "8 cells done, 0 failed" in text and "SVD of the saved W" in text
    assert "removed giantstep-tour-" in text and not [p for p in scratch.iterdir() if p.name.startswith("giantstep-tour-")]
    print(f"tour.ipynb executed in {seconds:.1f} s")
