"""The structure of the package, read from the source (ast): the layering of the imports, and the
length of every function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "giantstep"
CORE = ("activations", "hermite", "network", "targets", "training", "spectra", "readout", "kernels", "hessian",
        "smallwidth", "linalg", "seeding", "errors")
MAX_FUNCTION_LINES = 80


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the giantstep modules imported by ``path`` (top level and inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("giantstep"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("giantstep"):
                found.add(mod)
                found.update(f"{mod}.{a.name}" for a in node.names)
    return found


def _files(*parts: str) -> list[Path]:
    out = []
    for part in parts:
        target = PACKAGE / part
        out += sorted(target.rglob("*.py")) if target.is_dir() else [target.with_suffix(".py")]
    return out


def _violations(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for f in files:
        for mod in imported_modules(f):
            if any(mod == p or mod.startswith(p + ".") for p in forbidden):
                bad.append(f"{f.relative_to(PACKAGE)} imports {mod}")
    return sorted(bad)


def test_the_import_reader_sees_relative_and_local_imports(tmp_path):
    """The reader resolves ``from ..x import y`` and imports inside functions (a reader that missed
    them would pass every layering test)."""
    mods = imported_modules(PACKAGE / "theory" / "one_step.py")
    assert "giantstep.theory.first_step" in mods and "giantstep.theory.bbp" in mods
    mods = imported_modules(PACKAGE / "experiments" / "kernel.py")
    assert "giantstep.theory.kernel_modes" in mods  # imported inside predictions_for
    assert _violations([PACKAGE / "cli" / "theory_steps.py"], ("giantstep.theory",))


def test_theory_imports_nothing_above_it():
    """theory/ may use the core modules; never config, experiments, engine, claims or the CLI."""
    forbidden = tuple(f"giantstep.{p}" for p in ("experiments", "engine", "claims", "cli", "report", "plots"))
    assert _violations(_files("theory"), forbidden) == []


def test_library_never_imports_cli_or_claims():
    """The core modules, theory/ and engine/ never import cli/ or claims/."""
    forbidden = ("giantstep.cli", "giantstep.claims")
    assert _violations(_files(*CORE, "theory", "engine"), forbidden) == []


def test_only_cli_imports_cli():
    files = [f for f in PACKAGE.rglob("*.py") if "cli" not in f.relative_to(PACKAGE).parts and f.name != "__main__.py"]
    assert _violations(files, ("giantstep.cli",)) == []


# Functions over the limit in modules being reworked elsewhere: listed, not hidden (issue 12, "must show").
KNOWN_LONG: dict[str, str] = {}  # modules with a known long function (none left)


def _long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [f"{node.name}: {node.end_lineno - node.lineno + 1} lines" for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]


def _package_files() -> list:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        marks = [pytest.mark.xfail(reason=f"{KNOWN_LONG[rel]}: to be split", strict=False)] if rel in KNOWN_LONG else []
        out.append(pytest.param(path, id=rel, marks=marks))
    return out


@pytest.mark.parametrize("path", _package_files())
def test_functions_are_small(path):
    """No function of the package is longer than ~80 lines (docstring and nested functions included)."""
    assert _long_functions(path) == []


def test_the_length_reader_sees_long_functions(tmp_path):
    """The reader measures whole functions, nested ones and methods included (a reader that saw only
    the first line would pass every file)."""
    path = tmp_path / "long.py"
    path.write_text("class A:\n    def m(self):\n" + "        x = 1\n" * 85 + "def f():\n    pass\n")
    assert _long_functions(path) == ["m: 86 lines"]
