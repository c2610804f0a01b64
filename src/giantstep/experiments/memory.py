r"""Memory a run needs, estimated from its config before anything is allocated.

:func:`estimate` returns the dominant arrays a run of each kind holds at the same time, each as
(bytes, the config field that scales it, what it is). The sum is a lower bound of the peak (the
arrays named are all allocated together; temporaries of BLAS, LAPACK and numpy come on top), so a
run is refused by :func:`check_memory` only when even this bound exceeds the machine's physical
memory, with the estimate in the message:

    The 'width' parameter must be a size whose run fits in memory (needs at least 128.0 TiB,
    the largest part W_0..W_T: (steps + 3) x width x d; this machine has 23.4 GiB). Got 4194304 instead.

Per kind (b = bytes per float; T = schedule entries; c = min(chunk, samples)):

* ``steps``: the T + 1 weight matrices kept for the spectra plus the gradient and the update,
  (T + 3) N d b; a chunk of inputs and features, c (N + d) b twice; the Gram matrix of the smaller
  side, min(N, d)^2 b twice; the readout's N x N (primal) or n x n (dual) system; the feature
  batch (features_n (N + d) b) for ``spectra.features`` or ``hermite_degree``.
* ``rf``: the training features n N b, the inputs n d b, the test inputs n_test d b and the ridge
  system min(N, n)^2 b.
* ``phase``: the batch n d b (n = round(delta d)); the dense Hessian (m d)^2 b when it is used.
* ``kernel``: W (N d b) twice, the batch n (N + d) b and the m x N kernel features.
"""

from __future__ import annotations

from typing import Any, Callable

from ..errors import ConfigError

Part = tuple[float, str, str]
DENSE_HESSIAN_MAX = 2500  # giantstep.hessian.smallest_eigs: dense below this many parameters


def _steps(cfg: Any) -> list[Part]:
    b = 4 if cfg.dtype == "float32" else 8
    N, d, n, T = cfg.width, cfg.d, cfg.n, len(cfg.steps)
    c = min(cfg.chunk, n)
    parts = [
        ((T + 3) * N * d * b, "width" if N >= d else "d", "W_0..W_T, the gradient and the update: (steps + 3) x width x d"),
        (2 * c * (N + d) * b, "chunk", "a chunk of inputs and features: 2 x min(chunk, n) x (width + d)"),
        (2 * min(N, d) ** 2 * 8, "width" if N <= d else "d", "the Gram matrix of the smaller side: 2 x min(width, d)^2"),
    ]
    if cfg.readout is not None:
        side = min(N, cfg.readout.n_train)
        parts.append((side * side * 8, "readout.n_train" if side < N else "width", "the readout's linear system"))
    if cfg.spectra.features or cfg.spectra.hermite_degree:
        fn = cfg.spectra.features_n or n
        parts.append((fn * (N + d) * 8 + N * N * 8, "spectra.features_n", "the feature batch and covariance"))
    return parts


def _rf(cfg: Any) -> list[Part]:
    N, d, n = cfg.width, cfg.d, cfg.n
    return [
        (n * N * 8, "n" if n >= N else "width", "the training features: n x width"),
        (n * d * 8, "n", "the training inputs: n x d"),
        (cfg.n_test * d * 8, "n_test", "the test inputs: n_test x d"),
        (min(N, n) ** 2 * 8, "width" if N <= n else "n", "the ridge system: min(width, n)^2"),
    ]


def _phase(cfg: Any) -> list[Part]:
    n = int(round(cfg.delta * cfg.d))
    parts = [(n * cfg.d * 8, "delta", "the batch: round(delta d) x d")]
    P = cfg.width * cfg.d
    if cfg.hessian.method == "dense" or (cfg.hessian.method == "auto" and P <= DENSE_HESSIAN_MAX):
        parts.append((P * P * 8, "d", "the dense Hessian: (width d)^2"))
    return parts


def _kernel(cfg: Any) -> list[Part]:
    N, d, n = cfg.width, cfg.d, cfg.n
    return [
        (2 * N * d * 8, "width", "W_0 and W_1: 2 x width x d"),
        (min(cfg.chunk, n) * (N + d) * 8, "n", "the step's batch and features"),
        (cfg.m * N * 8 * 2, "width", "the kernel features at the m sample points: 2 x m x width"),
    ]


ESTIMATORS: dict[str, Callable[[Any], list[Part]]] = {"steps": _steps, "rf": _rf, "phase": _phase, "kernel": _kernel}


def estimate(cfg: Any) -> list[Part]:
    """The dominant arrays of a run of ``cfg`` (a validated config model): [(bytes, field, what)]."""
    fn = ESTIMATORS.get(getattr(cfg, "kind", ""))
    return fn(cfg) if fn is not None else []


def physical_memory() -> int:
    """Bytes of physical memory of this machine."""
    import psutil

    return int(psutil.virtual_memory().total)


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def check_memory(cfg: Any, available: int | None = None) -> None:
    """ConfigError naming the field that dominates when a run of ``cfg`` cannot fit in memory."""
    parts = estimate(cfg)
    if not parts:
        return
    total = sum(p[0] for p in parts)
    limit = physical_memory() if available is None else available
    if total <= limit:
        return
    size, field, what = max(parts, key=lambda p: p[0])
    got = cfg
    for part in field.split("."):
        got = getattr(got, part, None)
    raise ConfigError(field, f"a size whose run fits in memory (needs at least {human_bytes(total)}, the largest "
                             f"part {what}; this machine has {human_bytes(limit)})", got)
