r"""Output files and directories of the commands: checked before any work, written atomically.

Rules shared by ``run --out``, ``results --out``, ``reproduce --out`` and ``plot --out``:

* Paths are checked before anything runs (:func:`check_output_file`, :func:`check_output_dir`):
  the nearest existing ancestor must be a writable directory, an output file must not be a
  directory, and an existing file is never replaced without ``force`` (``--force``). A file the
  command reads from (the results store, its write-ahead log and array directory) is never an
  output, even with ``force``.
* Every file is written to a temporary file in its own directory, flushed, ``fsync``-ed and
  renamed over the target (:func:`atomic_write`, :func:`atomic_path`): a reader sees the old
  file or the new one, never a partial one, and a killed command leaves at most a hidden
  temporary ``.NAME.*.tmp`` behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

from .errors import ConfigError


def _writable_ancestor(path: Path, field: str) -> None:
    ancestor = path
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(field, f"a path under a directory ({ancestor} is a file)", str(path))
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError(field, f"a path in a writable directory ({ancestor} is read-only)", str(path))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def check_output_file(path: "str | Path", field: str, force: bool, protected: Iterable["str | Path"] = (),
                      must_exist_parent: bool = True) -> Path:
    """Refuse (ConfigError naming ``field``) an output file path that cannot or may not be written.

    protected : paths the command reads (never written over, whatever ``force``).
    must_exist_parent : the parent directory must exist (otherwise it is created when writing).
    """
    p = Path(path)
    for other in protected:
        other = Path(other)
        if _same_file(p, other) or p.resolve().is_relative_to(other.resolve()):
            raise ConfigError(field, f"a path other than the input {other} (it would be destroyed)", str(path))
    if p.exists() and not p.is_file():
        raise ConfigError(field, "a file path (this is a directory or a special file)", str(path))
    if must_exist_parent and not p.parent.is_dir():
        what = "a file" if p.parent.exists() else "missing"
        raise ConfigError(field, f"a path in an existing directory ({p.parent} is {what})", str(path))
    _writable_ancestor(p.parent, field)
    if p.exists():
        if not force:
            raise ConfigError(field, "a path that does not exist yet (add --force to replace this file)", str(path))
        if not os.access(p, os.W_OK):
            raise ConfigError(field, "a writable file", str(path))
    return p


def check_output_dir(path: "str | Path", field: str, force: bool, owned: Iterable[str] = (),
                     may_replace: Iterable[str] = ()) -> Path:
    """Refuse an output directory that cannot or may not be written.

    The directory may be absent or empty. An existing non-empty one must hold at least one of the
    entries ``owned`` (the command's own earlier output) unless ``force``. Entries in
    ``may_replace`` that exist are replaced only with ``force``.
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ConfigError(field, "a directory path (this is a file)", str(path))
    _writable_ancestor(p, field)
    if not p.exists():
        return p
    for name in may_replace:
        target = p / name
        if target.exists() and not target.is_file():
            raise ConfigError(field, f"a directory where {name} is a file (it is a directory here)", str(path))
        if target.exists() and not force:
            raise ConfigError(field, f"a directory without an earlier {name} (add --force to replace it)", str(path))
    owned = list(owned)
    if owned and any(p.iterdir()) and not any((p / name).exists() for name in owned) and not force:
        raise ConfigError(field, f"an empty directory or one written by this command (holding {' or '.join(owned)}); "
                                 "add --force to write into it", str(path))
    return p


@contextlib.contextmanager
def atomic_path(path: "str | Path") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is fsync-ed and renamed to ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def atomic_write(path: "str | Path", data: "bytes | str") -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically; return the path."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path) as tmp:
        tmp.write_bytes(raw)
    return Path(path)
