r"""Array backends: where a run's large arrays live and which library computes on them.

A run's heavy arrays (the weights W_t (N x d), the batches X (chunk x d), pre-activations and
features (chunk x N), Gram matrices) live in one array library:

    numpy              the default (``device: cpu``); the library's own tuned path (BLAS ``syrk``,
                       in-place activations, the thread policy of :func:`giantstep.linalg.few_threads`)
    cupy               ``device: gpu`` (the ``[gpu]`` extra: ``pip install giantstep[gpu]``), one
                       CUDA device, through the array API standard (``array-api-compat``)
    array_api_strict   a CPU-only, pure-Python implementation of the standard used by the tests
                       to exercise the device path where no GPU exists

Every non-numpy backend runs one code path written against the array API standard (2023.12):
``matmul``, elementwise functions, ``linalg.eigh``, ``linalg.cholesky``; the few operations the
standard lacks (a triangular solve) use the library's own function when it has one and a general
solve otherwise (:func:`cholesky_solve`). The numpy path is not routed through it: results of a
``device: cpu`` run are those of the library without this module.

Reproducibility: random draws are always made on the host, in float64, from the seeded streams of
:mod:`giantstep.seeding`, rounded to the run's dtype there and then copied to the device
(:meth:`Backend.put`). The same seed therefore gives the same data on every backend, bit for bit;
results differ only by the rounding of the products and solvers that consume it (float64: ~1e-13
relative in the record's values; see docs/accelerator.md for what was measured).

Activations on the device (:func:`activation_values`): the registry functions with an exact
array-API form (relu, tanh, abs, sign, sin, sigmoid, softplus, linear, square, he0..he12 by the
three-term recurrence) and sums of them are evaluated where the array lives; any other function
(erf, gelu, expressions, Python callables) is evaluated on the host copy and copied back, which is
correct but costs two transfers per chunk.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .activations import Activation
from .errors import ConfigError, DivergenceError, check_finite

DEVICES = ("cpu", "gpu")
DTYPES = ("float64", "float32")
GPU_LIBRARY = "cupy"  # the library of the [gpu] extra
TEST_LIBRARY = "array_api_strict"  # the device path on the CPU, for the tests
LIBRARY_ENV = "GIANTSTEP_ARRAY_LIBRARY"  # overrides the array library of a device (tests, benchmarks)
GPU_HINT = "a CUDA device and the [gpu] extra (pip install 'giantstep[gpu]')"


@dataclass(frozen=True, eq=False)
class Backend:
    """An array library, its namespace ``xp``, the device arrays are placed on and the run's dtype.

    ``library`` is "numpy" for the host path. ``xp`` is the array-API namespace (numpy itself for
    the host path). Arrays move with :meth:`put` (host -> backend) and :meth:`get` (backend -> host).
    """

    library: str
    xp: Any
    device: Any
    dtype: str

    @property
    def is_host(self) -> bool:
        """True for the numpy path (no transfers, the tuned host code)."""
        return self.library == "numpy"

    @property
    def float_dtype(self) -> Any:
        """The namespace's dtype object of the run's float type."""
        return getattr(self.xp, self.dtype)

    def put(self, x: Any, dtype: str | None = None) -> Any:
        """A host array (or scalar) on the backend, in ``dtype`` (default the run's). Rounding to
        float32 happens on the host, so every backend sees the same rounded values."""
        host = np.asarray(x).astype(np.dtype(dtype or self.dtype), copy=False)
        if self.is_host:
            return host
        return self.xp.asarray(np.ascontiguousarray(host), device=self.device)

    def get(self, x: Any) -> np.ndarray:
        """A backend array as a numpy array (same dtype)."""
        return to_host(x)

    def scalar(self, x: Any) -> float:
        """A 0-d backend array as a Python float (one device synchronisation)."""
        return float(self.get(x))

    def zeros(self, shape: tuple[int, ...]) -> Any:
        return self.xp.zeros(shape, dtype=self.float_dtype, device=self.device)

    def describe(self) -> dict[str, Any]:
        """Library, version and device of the backend, for a run's record."""
        info = {"device": "cpu" if self.library in ("numpy", TEST_LIBRARY) else "gpu", "library": self.library,
                "dtype": self.dtype}
        if self.library == "cupy":
            import cupy

            props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
            name = props["name"]
            info.update(version=cupy.__version__, name=name.decode() if isinstance(name, bytes) else str(name))
        return info


def host_backend(dtype: str = "float64") -> Backend:
    """The numpy backend (the default)."""
    return Backend("numpy", np, None, str(dtype))


def select_backend(device: str = "cpu", dtype: str = "float64", library: str | None = None) -> Backend:
    """The backend for ``device`` ("cpu" or "gpu") and ``dtype``.

    ``library`` (default: the ``GIANTSTEP_ARRAY_LIBRARY`` environment variable, else numpy on the
    CPU and cupy on a GPU) picks the array library: "numpy" or "array_api_strict" on the CPU;
    "cupy" or "torch" on a GPU (torch: the same array-API path, not measured on a device). Raises :class:`ConfigError` (field ``device``) when a GPU is asked for and there is none,
    or its library is not installed.
    """
    if device not in DEVICES:
        raise ConfigError("device", "one of ['cpu', 'gpu']", device)
    if dtype not in DTYPES:
        raise ConfigError("dtype", "one of ['float64', 'float32']", dtype)
    library = library or os.environ.get(LIBRARY_ENV) or None
    if device == "cpu":
        library = library or "numpy"
        if library == "numpy":
            return host_backend(dtype)
        if library == TEST_LIBRARY:
            import array_api_strict

            return Backend(TEST_LIBRARY, array_api_strict, array_api_strict.Device("CPU_DEVICE"), dtype)
        raise ConfigError(LIBRARY_ENV, "'numpy' or 'array_api_strict' on the CPU", library)
    return _gpu_backend(library or GPU_LIBRARY, dtype)


def _gpu_backend(library: str, dtype: str) -> Backend:
    """The CUDA backend of ``library`` on the current device (CUDA_VISIBLE_DEVICES picks it)."""
    if library == "cupy":
        try:
            import cupy
            from array_api_compat import cupy as xp
        except ImportError:
            raise ConfigError("device", f"'cpu', or 'gpu' with {GPU_HINT}", "gpu (CuPy is not installed)") from None
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception:  # noqa: BLE001 - no driver, no device: all the same to the user
            count = 0
        if count < 1:
            raise ConfigError("device", f"'cpu', or 'gpu' with {GPU_HINT}", "gpu (no CUDA device found)")
        return Backend("cupy", xp, cupy.cuda.Device(), dtype)
    if library == "torch":
        try:
            import torch
            from array_api_compat import torch as xp
        except ImportError:
            raise ConfigError("device", f"'cpu', or 'gpu' with {GPU_HINT}", "gpu (PyTorch is not installed)") from None
        if not torch.cuda.is_available():
            raise ConfigError("device", f"'cpu', or 'gpu' with {GPU_HINT}", "gpu (no CUDA device found)")
        return Backend("torch", xp, torch.device("cuda"), dtype)
    raise ConfigError(LIBRARY_ENV, "'cupy' or 'torch' for a GPU", library)


def gpu_available(library: str = GPU_LIBRARY) -> bool:
    """Whether ``device: gpu`` would find a device (no exception)."""
    try:
        _gpu_backend(library, "float64")
    except ConfigError:
        return False
    return True


def require_gpu(library: str | None = None) -> int:
    """The number of visible CUDA devices; :class:`ConfigError` (field ``device``) when there is
    none or the library (default as in :func:`select_backend`) is missing: the check made before a
    run or a sweep starts."""
    _gpu_backend(library or os.environ.get(LIBRARY_ENV) or GPU_LIBRARY, "float64")
    return len(visible_gpus())


def visible_gpus() -> list[str]:
    """The CUDA devices this process may use, as CUDA_VISIBLE_DEVICES entries (the variable's
    entries when it is set, else 0..count-1; empty without CuPy or a device)."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None and env.strip():
        return [e.strip() for e in env.split(",") if e.strip() and not e.strip().startswith("-")]
    try:
        import cupy

        return [str(i) for i in range(cupy.cuda.runtime.getDeviceCount())]
    except Exception:  # noqa: BLE001 - no CuPy, no driver
        return []


def to_host(x: Any) -> np.ndarray:
    """A numpy array with the values of an array of any backend (numpy arrays pass through)."""
    if isinstance(x, np.ndarray):
        return x
    module = type(x).__module__.split(".")[0]
    if module == "cupy":
        return x.get()
    if module == "torch":
        return x.detach().cpu().numpy()
    return np.asarray(x)  # array_api_strict: a numpy array underneath; numpy scalars


def sync(x: Any) -> None:
    """Wait until the device has finished the work queued for ``x`` (no-op on the host), so that
    wall-clock timings of a phase include its device work."""
    module = type(x).__module__.split(".")[0]
    if module == "cupy":
        import cupy

        cupy.cuda.get_current_stream().synchronize()
    elif module == "torch" and x.is_cuda:
        import torch

        torch.cuda.synchronize()


def backend_of(x: Any) -> Backend:
    """The backend an array belongs to (its library, namespace, device and dtype)."""
    if isinstance(x, np.ndarray):
        return host_backend(x.dtype.name)
    return Backend(type(x).__module__.split(".")[0], namespace(x), x.device, dtype_name(x))


def dtype_name(x: Any) -> str:
    """"float64" or "float32" for an array of any backend."""
    return getattr(x.dtype, "name", None) or str(x.dtype).rsplit(".", 1)[-1]


def namespace(x: Any) -> Any:
    """The array-API namespace of a backend array (numpy for numpy arrays)."""
    if isinstance(x, np.ndarray):
        return np
    from array_api_compat import array_namespace

    return array_namespace(x)


def check_finite_array(name: str, x: Any, backend: Backend | None = None) -> None:
    """:func:`giantstep.errors.check_finite` for an array of any backend (one reduction on the
    device, one boolean back)."""
    if isinstance(x, np.ndarray):
        check_finite(name, x)
        return
    xp = backend.xp if backend is not None else namespace(x)
    if not bool(xp.all(xp.isfinite(x))):
        raise DivergenceError(f"non-finite values in {name} (NaN or inf): the run diverged")


# ----------------------------------------------------------------------------- activations


def _hermite_values(xp: Any, Z: Any, k: int) -> Any:
    """He_k(Z) / sqrt(k!) by He_{j+1} = z He_j - j He_{j-1} (He_0 = 1, He_1 = z)."""
    if k == 0:
        return xp.ones_like(Z)
    prev, cur = xp.ones_like(Z), Z
    for j in range(1, k):
        prev, cur = cur, Z * cur - j * prev
    return cur / math.sqrt(math.factorial(k))


def _sigmoid(xp: Any, Z: Any) -> Any:
    return 1.0 / (1.0 + xp.exp(-Z))


def _term(xp: Any, name: str, Z: Any, order: int) -> Any | None:
    """order-th derivative (0, 1, 2) of a registry function on a backend array, or None when it
    has no array-API form here."""
    zero = lambda: xp.zeros_like(Z)  # noqa: E731
    one = lambda: xp.ones_like(Z)  # noqa: E731
    dtype = Z.dtype
    if name == "relu":
        return xp.maximum(Z, xp.zeros_like(Z)) if order == 0 else (xp.astype(Z > 0, dtype) if order == 1 else zero())
    if name == "tanh":
        t = xp.tanh(Z)
        return (t, 1.0 - t * t, -2.0 * t * (1.0 - t * t))[order]
    if name == "abs":
        return xp.abs(Z) if order == 0 else (xp.sign(Z) if order == 1 else zero())
    if name == "sign":
        return xp.sign(Z) if order == 0 else zero()
    if name == "sin":
        return (xp.sin(Z), xp.cos(Z), -xp.sin(Z))[order]
    if name == "sigmoid":
        s = _sigmoid(xp, Z)
        return (s, s * (1.0 - s), s * (1.0 - s) * (1.0 - 2.0 * s))[order]
    if name == "softplus":
        s = _sigmoid(xp, Z)
        return (xp.logaddexp(xp.zeros_like(Z), Z), s, s * (1.0 - s))[order]
    if name in ("linear", "he1"):
        return (Z, one(), zero())[order]
    if name == "square":
        return (Z * Z, 2.0 * Z, 2.0 * one())[order]
    if name.startswith("he") and name[2:].isdigit():
        k = int(name[2:])
        if order > k:
            return zero()
        scale = math.sqrt(math.factorial(k) / math.factorial(k - order))  # He_k^(j) = k!/(k-j)! He_{k-j}
        return scale * _hermite_values(xp, Z, k - order)
    return None


def activation_values(activation: Activation, Z: Any, backend: Backend, order: int = 0) -> Any:
    """sigma(Z), sigma'(Z) or sigma''(Z) (``order`` 0, 1, 2) for a backend array Z, in Z's dtype.

    Registry functions and sums of them are evaluated on the backend (module docstring); any other
    function on the host copy of Z, copied back."""
    xp = backend.xp
    if activation.expression is not None:
        out = None
        for name, coef in activation.expression:
            val = _term(xp, name, Z, order)
            if val is None:
                break
            val = val if coef == 1.0 else coef * val
            out = val if out is None else out + val
        else:
            if out is not None:
                return out
    fn = (activation.f, activation.df, activation.d2f)[order]
    with np.errstate(all="ignore"):
        host = np.asarray(fn(backend.get(Z)))
    return backend.put(host, dtype_name(Z))
