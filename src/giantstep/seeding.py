"""Explicit, named random streams.

Every stochastic function takes a ``numpy.random.Generator``. Generators are derived from a root
seed and a *path* of roles, e.g. ``("data", 2)`` for the inputs of batch 2, through
``numpy.random.SeedSequence(root, spawn_key=...)``. The path is hashed stably (SHA-256 of its
text), so a stream depends only on (root seed, role path): not on the order in which streams are
requested, on the chunk size, or on the number of workers. Results record the root seed; the
role paths used by each experiment kind are documented in its module.

>>> a = stream(0, "data", 1).standard_normal(3)
>>> b = stream(0, "data", 1).standard_normal(3)
>>> bool((a == b).all())
True
"""

from __future__ import annotations

import hashlib

import numpy as np


def _key(part: "str | int") -> int:
    digest = hashlib.sha256(f"{type(part).__name__}:{part}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def seed_sequence(root: int, *path: "str | int") -> np.random.SeedSequence:
    """SeedSequence for (root seed, role path)."""
    return np.random.SeedSequence(int(root), spawn_key=tuple(_key(p) for p in path))


def stream(root: int, *path: "str | int") -> np.random.Generator:
    """Generator (PCG64) for (root seed, role path)."""
    return np.random.Generator(np.random.PCG64(seed_sequence(root, *path)))


def derive_seed(root: int, *path: "str | int") -> int:
    """A 63-bit integer seed for a child run, e.g. one sweep cell and replicate."""
    state = seed_sequence(root, *path).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 63) - 1)
