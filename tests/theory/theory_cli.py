"""In-process runs of ``giantstep theory ...`` through the real entry point (exit status, stdout,
stderr), without the interpreter start-up of a subprocess."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass

from giantstep.cli import main


@dataclass
class Ran:
    rc: int
    out: str
    err: str

    def json(self) -> dict:
        lines = [ln for ln in self.out.splitlines() if ln.strip()]
        assert len(lines) == 1, self.out
        return json.loads(lines[0])


def run_theory(*args: str) -> Ran:
    """``giantstep theory ARGS`` in process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    rc = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(["theory", *map(str, args)])
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return Ran(rc, out.getvalue(), err.getvalue())
