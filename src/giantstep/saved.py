r"""Arrays saved by a run, read back: the weights W_t, the second layer a and Theta*.

``giantstep run --out DIR --save-weights`` (config ``save: {weights: true}``) writes them into
``DIR/arrays.npz`` under the names ``W0``..``WT`` (N x d, ``WT`` after the last schedule entry),
``a`` (N,) and ``theta`` (d x k); ``save.updates`` adds ``dW1``..``dWT`` = W_t - W_{t-1}. A sweep
stores the same names with each row (:func:`giantstep.engine.results.load_arrays`).
:func:`read_run_array` reads one of them from a ``.npy`` file, an ``.npz`` or a run directory, which
is how ``giantstep theory ge-ridge --weights DIR`` and :func:`giantstep.theory.ge_ridge` take them.

Example
-------
>>> last_weights_key(["w1.overlaps", "W0", "W1", "W2", "a", "theta"])
'W2'
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np

from .errors import ConfigError

RUN_ARRAYS = "arrays.npz"


def last_weights_key(names: "list[str] | tuple[str, ...]") -> str | None:
    """``WT``, the weights after the last step, among saved array names (None if none is there)."""
    steps = [int(k[1:]) for k in names if re.fullmatch(r"W\d+", k)]
    return f"W{max(steps)}" if steps else None


def read_run_array(path: "str | Path", field: str, key: str | None = None) -> np.ndarray:
    """One saved array: ``path`` is a ``.npy`` file, an ``.npz`` or a run output directory holding
    ``arrays.npz``; ``key`` names the array of an ``.npz`` (default: the last weights ``WT`` when
    ``field`` is ``'weights'``, else the array named ``field``). ConfigError naming ``field`` (or
    ``key``) for a file that is not there, not an array file, or without that array; no pickle is
    ever loaded."""
    p = Path(path)
    if p.is_dir():
        p = p / RUN_ARRAYS
    try:
        if p.suffix == ".npy":
            if key is not None:
                raise ConfigError("key", "absent for a .npy file (it holds one array)", key)
            return np.load(p, allow_pickle=False)
        with np.load(p, allow_pickle=False) as z:
            names = list(z.files)
            name = key if key is not None else (last_weights_key(names) if field == "weights" else field)
            if name not in names:
                shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
                raise ConfigError(field if key is None else "key", f"the name of an array in {p} ({shown})",
                                  name if name is not None else "W<t>")
            return z[name]
    except ConfigError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ConfigError(field, f"a .npy file, or an {RUN_ARRAYS} (or its run directory) written with save.weights",
                          f"{path} ({type(exc).__name__})") from None
