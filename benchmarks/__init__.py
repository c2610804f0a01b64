"""giantstep benchmarks: measured ratios to the machine's own floor (``python -m benchmarks``).

Modules: :mod:`benchmarks.floor` (GEMM/sampling rates, FLOP counts), :mod:`benchmarks.bench_core`
(P1, P2, spectral fast path, float32), :mod:`benchmarks.bench_theory` (theory oracle),
:mod:`benchmarks.bench_sweep` (Dask workers), :mod:`benchmarks.reference` (notebook-style
reference used only for comparison). Results and their discussion: docs/performance.md.
"""
