"""giantstep benchmarks: measured ratios to the machine's own floor (``python -m benchmarks``).

Modules: :mod:`benchmarks.floor` (GEMM/sampling rates, FLOP counts), :mod:`benchmarks.bench_anchor`
(the public anchor's workload and P1 against a notebook-style reference, paired child processes,
peak RSS), :mod:`benchmarks.bench_core` (spectral fast path, eigensolver crossover, float32),
:mod:`benchmarks.bench_theory` (theory oracle),
:mod:`benchmarks.bench_sweep` (Dask workers), :mod:`benchmarks.reference` (notebook-style
reference used only for comparison). Results and their discussion: docs/performance.md.
"""
