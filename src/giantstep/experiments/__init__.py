"""Experiment configs, kinds, sweeps, the results store and execution (local or Dask)."""
