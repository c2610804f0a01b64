r"""The machine's own floor: measured GEMM / Gaussian-sampling throughput, and FLOP counts.

A benchmark's *floor* is the time its unavoidable matrix products would take at the dgemm (or
sgemm) rate measured in the same run on the same machine:

    floor = sum_i flops_i / rate,   rate = best of ``repeats`` timings of a square GEMM (2 s^3 flops),
                                    with all BLAS threads or with one, whichever is faster.

FLOP counts (one multiply-add = 2 flops; a Gram A A^T of A (p, q) is a BLAS syrk: p^2 q flops):

one step at W0 on a batch X (n, d), width N
    forward  Z = X W^T             2 n d N
    backward G = (sigma'(Z) r)^T X  2 n d N
top singular pairs of an (N, d) matrix, p = min(N, d), q = max(N, d)
    Gram                            p^2 q        (the only dense product; counted separately
                                                  because Krylov methods can avoid it)
ridge readout (primal, N <= n_train)
    features  sigma(X W^T)          2 n_train d N
    Gram      F^T F                 n_train N^2
    Cholesky                        N^3 / 3
    test features                   2 n_test d N

Input generation (n d standard normals per batch) is not a matrix product; its cost at the
measured sampling rate is reported next to the floor, not inside it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


def best_of(fn, repeats: int = 3) -> float:
    """Smallest wall time of ``repeats`` calls of fn()."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def gemm_rate(dtype: str = "float64", size: int = 2048, repeats: int = 3) -> float:
    """Measured GEMM throughput (flop/s) of a size x size product in ``dtype``: best of ``repeats``
    with the BLAS's threads and best of ``repeats`` on one thread, the better of the two (on a
    shared machine one thread can beat several, and the library then uses one)."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    A = rng.standard_normal((size, size)).astype(dtype)
    B = rng.standard_normal((size, size)).astype(dtype)
    A @ B  # warm-up (thread pool start)
    best = best_of(lambda: A @ B, repeats)
    with threadpool_limits(1):
        best = min(best, best_of(lambda: A @ B, repeats))
    return 2.0 * size**3 / best


def normal_rate(dtype: str = "float64", count: int = 1 << 22, repeats: int = 3) -> float:
    """Measured standard-normal sampling throughput (samples/s) of numpy's PCG64 Generator."""
    rng = np.random.default_rng(0)
    return count / best_of(lambda: rng.standard_normal(count, dtype=np.dtype(dtype)), repeats)


@dataclass(frozen=True)
class Flops:
    """FLOP counts of one benchmark, split by phase; ``gram`` is the spectra's Gram products."""

    step: float
    readout: float
    gram: float
    samples: float  # standard normals drawn for inputs

    @property
    def strict(self) -> float:
        """Products no method can avoid: step + readout."""
        return self.step + self.readout

    @property
    def with_gram(self) -> float:
        """Step + readout + one Gram per reported spectrum."""
        return self.step + self.readout + self.gram


def step_flops(n: int, d: int, width: int) -> float:
    """Forward and backward products of one first-layer gradient pass: 4 n d N."""
    return 4.0 * n * d * width


def gram_flops(width: int, d: int) -> float:
    """syrk Gram of the smaller side of an (N, d) matrix: p^2 q."""
    p, q = min(width, d), max(width, d)
    return float(p) * p * q


def readout_flops(n_train: int, n_test: int, d: int, width: int) -> float:
    """Train features + feature Gram + Cholesky + test features (primal ridge)."""
    gram_side = min(n_train, width)
    big = max(n_train, width)
    return 2.0 * n_train * d * width + float(gram_side) ** 2 * big + gram_side**3 / 3.0 + 2.0 * n_test * d * width


def steps_flops(n: int, d: int, width: int, n_train: int, n_test: int, spectra: int, steps: int = 1) -> Flops:
    """FLOPs of a ``steps`` run: ``steps`` passes, ``spectra`` reported matrices, one readout."""
    return Flops(
        step=steps * step_flops(n, d, width),
        readout=readout_flops(n_train, n_test, d, width) if n_train else 0.0,
        gram=spectra * gram_flops(width, d),
        samples=float(steps * n + n_train + n_test) * d,
    )
