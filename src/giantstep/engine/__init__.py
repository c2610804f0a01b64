"""The experiment engine: sweeps over run configs, per-cell seeding, the SQLite results store,
local and Dask execution, and reading results back as tables.

Modules
-------
sweep       sweep files (grid / zip / seeds), cells and their seeds
store       the SQLite results store with content-hashed array files
execution   running cells locally or on a Dask cluster, resumable
results     reading a store back as a pandas DataFrame
"""
