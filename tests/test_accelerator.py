"""The accelerator backend (giantstep.backend) against the numpy path.

On the CPU the device path runs on ``array_api_strict`` (the array-API standard, nothing more), so
every line of it that a GPU would run is exercised here: the same record as the numpy path to
1e-10 relative in float64, within the documented float32 error in float32, the same data on every
backend, activations and their derivatives, the readout's solver, Hessian-vector products, and the
refusals when a GPU is asked for and there is none. Tests marked ``gpu`` run the same comparisons
on a CUDA device and are skipped without one. The numpy gradient pass is checked bit for bit
against the plain formula it replaces.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from giantstep.activations import NAMES, get_activation
from giantstep.backend import (activation_values, gpu_available, host_backend, select_backend, to_host)
from giantstep.errors import ConfigError, DivergenceError
from giantstep.experiments.kinds import parse_config
from giantstep.experiments.steps import batch, build, on_backend, run_on
from giantstep.hessian import hvp
from giantstep.readout import fit_ridge, test_errors
from giantstep.training import gradient_pass

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the benchmarks package at the project root

STRICT = "array_api_strict"
REL64 = 1e-10  # float64 agreement of the device path with the numpy path (issue 16)


def strict(dtype: str = "float64"):
    return select_backend("cpu", dtype, STRICT)


ON_GPU = [pytest.mark.gpu, pytest.mark.skipif(not gpu_available(), reason="needs a CUDA device and the [gpu] extra")]
DEVICES = [pytest.param("cpu", id=STRICT), pytest.param("gpu", id="gpu", marks=ON_GPU)]


def device_backend(device: str, dtype: str = "float64"):
    """The array-API path: array_api_strict on the CPU, CuPy on a GPU."""
    return strict(dtype) if device == "cpu" else select_backend("gpu", dtype)


def _config(activation="relu", link="he1+he2+he4", k=2, noise=0.0, second_layer="gaussian", residual="label",
            dtype="float64", seed=3, d=64, width=96, n=700, chunk=128, **extra):
    return parse_config({
        "seed": seed, "d": d, "width": width, "n": n, "activation": activation, "second_layer": second_layer,
        "residual": residual, "teacher": {"link": link, "k": k, "noise": noise}, "dtype": dtype, "chunk": chunk,
        "steps": [{"eta0": 1.0, "alpha": 0.5}, {"eta0": 0.5, "alpha": 0.25, "batch": "reuse"}],
        "readout": {"ridge": 1e-2, "n_train": 500, "n_test": 300},
        "spectra": {"top": 5, "hermite_degree": 2, "features": True, "full": True},
        "save": {"weights": True, "updates": True}, **extra,
    })


def _close(a: float, b: float, rel: float, floor: float = 1e-6) -> bool:
    return abs(a - b) <= rel * max(abs(a), floor)


CASES = [  # activation, link, noise, second layer, residual: every branch of the pass and readout
    ("relu", "he1+he2+he4", 0.0, "gaussian", "label"),
    ("tanh", "relu", 0.3, "rademacher", "full"),
    ("he1+0.5*he3", "tanh", 0.0, "symmetric", "centered"),
    ("erf", "he2", 0.1, "rademacher", "full"),  # erf: evaluated on the host copy (no array-API form)
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_device_path_gives_the_numpy_record_in_float64(case, device):
    """Same config and seed on numpy and on the array-API path: the same metrics to 1e-10 relative
    (outlier counts equal), the same record keys, the same arrays. The paths differ only in the
    rounding of products (summation order) and in the eigensolver (LAPACK syevr on a subset vs a
    full eigh): ~1e-13 relative on the values, and on the overlaps of vectors ~1e-13 / relative gap,
    with gaps >= 1e-2 at this size (measured worst: 4e-13); 1e-10 leaves a margin of 100 or more."""
    act, link, noise, layer, residual = case
    cfg = _config(act, link, noise=noise, second_layer=layer, residual=residual)
    a, b = run_on(cfg, host_backend()), run_on(cfg, device_backend(device))
    assert b.record["backend"]["device"] == device and b.record["backend"]["dtype"] == "float64"
    assert "backend" not in a.record
    assert set(a.record) == set(b.record) - {"backend"}
    assert a.metrics.keys() == b.metrics.keys() and len(a.metrics) > 40
    for key in a.metrics:
        if key.endswith(".outliers"):
            assert a.metrics[key] == b.metrics[key], key
        else:
            assert _close(a.metrics[key], b.metrics[key], REL64), (key, a.metrics[key], b.metrics[key])
    assert a.arrays.keys() == b.arrays.keys()
    for key, arr in a.arrays.items():
        other = b.arrays[key]
        assert isinstance(other, np.ndarray) and other.shape == arr.shape, key
        if key.endswith("overlaps"):  # |<v_j, theta*>|: bulk vectors as above
            assert np.allclose(np.abs(other), np.abs(arr), rtol=0, atol=1e-10), key
        elif key.endswith(".singular_values") and not key.endswith("top_singular_values"):
            # every value from a Gram: an eigenvalue moves by ~ p eps ||G|| (p = 64), so a singular
            # value near zero (symmetric pairs: W0 has rank N/2 < d) is known to sqrt(p eps) s_1 only
            floor = math.sqrt(64 * np.finfo(float).eps) * arr.max()
            assert np.allclose(other, arr, rtol=REL64, atol=floor), key
        else:
            assert np.allclose(other, arr, rtol=REL64, atol=REL64 * np.abs(arr).max()), key
    json.dumps(b.record)  # plain JSON types: the same record a CPU run writes


@pytest.mark.parametrize("device", DEVICES)
def test_device_path_float32_within_the_documented_sampling_error(device):
    """float32 on the device path changes every reported metric by less than 0.1 of its
    seed-to-seed standard deviation (the criterion of the numpy float32 path,
    tests/test_performance_paths.py and docs/performance.md): float32 rounding moves a metric by
    ~1e-6 relative, the seed-to-seed sd is O(1/sqrt(d)) relative, so 0.1 sd leaves a factor >= 3
    for the uncertainty of a 4-seed sd. Counts must be equal; overlaps of vectors inside the bulk
    are not physical (determined only up to the level spacing) and are not compared."""
    size = {"d": 128, "width": 128, "n": 512}
    base = {"second_layer": "rademacher", "link": "relu", "k": 1}
    runs64 = [run_on(_config(**base, **size, seed=s), host_backend()).metrics for s in range(4)]
    m32 = run_on(_config(**base, **size, seed=0, dtype="float32"), device_backend(device, "float32")).metrics
    m64 = runs64[0]
    checked = 0
    for key in m64:
        sd = np.std([r[key] for r in runs64], ddof=1)
        if key.endswith(".outliers") or sd == 0.0:
            assert m32[key] == m64[key], key
            continue
        if ".overlap" in key or ".span" in key:
            prefix = key.rsplit(".", 1)[0]
            if int(key[-1]) > m64[f"{prefix}.outliers"]:
                continue
        assert abs(m32[key] - m64[key]) < 0.1 * sd, (key, m32[key], m64[key], sd)
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_same_data_on_every_backend(dtype):
    """Draws are made on the host in float64 and rounded there: the device chunks hold exactly the
    numpy chunks' values, whatever the chunk size, and the noiseless labels are g(Theta*^T x)."""
    cfg = _config(dtype=dtype, noise=0.5)
    _, teacher = build(cfg)
    src = batch(cfg, teacher, 0, 333)
    X, y = src.materialize()
    parts = list(src.device_chunks(100, strict(dtype), clean=True))
    assert [p[0].shape[0] for p in parts] == [100, 100, 100, 33]
    Xd = np.concatenate([to_host(p[0]) for p in parts])
    yd = np.concatenate([to_host(p[1]) for p in parts])
    clean = np.concatenate([to_host(p[2]) for p in parts])
    assert Xd.dtype == np.dtype(dtype) and np.array_equal(Xd, X) and np.array_equal(yd, y)
    assert np.array_equal(clean, teacher.clean(teacher.latent(X)).astype(dtype))


ORDERS = (0, 1, 2)


@pytest.mark.parametrize("name", [*NAMES, "he1+0.5*he3-0.25*he2", "x*tanh(x)"])
def test_activations_on_the_backend_match_the_registry(name):
    """sigma, sigma', sigma'' of every registry function, of a sum and of an expression (host
    fallback), on a backend array, against the registry's numpy functions (1e-12 relative: the
    array-API forms are the same formulas, Hermite polynomials by their recurrence)."""
    act = get_activation(name)
    Z = np.linspace(-4.0, 4.0, 161).reshape(7, 23)
    backend = strict()
    for order in ORDERS:
        want = np.asarray((act.f, act.df, act.d2f)[order](Z), dtype=float)
        got = to_host(activation_values(act, backend.put(Z), backend, order))
        assert got.shape == Z.shape
        assert np.allclose(got, want, rtol=1e-12, atol=1e-12 * max(1.0, np.abs(want).max())), (name, order)


def _plain_pass(net, batches, residual="full", net0=None):
    """The gradient pass as the formula reads (the code before the fused, buffered pass)."""
    N, d = net.W.shape
    acc, vsum, r2, n = np.zeros((N, d), net.W.dtype), np.zeros(d, net.W.dtype), 0.0, 0
    for X, y in batches:
        Z = X @ net.W.T
        if residual == "full":
            r = y - net.output(net.activation.f(Z))
        elif residual == "label" or net0 is None:
            r = y
        else:
            r = y - (net.output(net.activation.f(Z)) - net0.forward(X))
        D = net.activation.df(Z)
        D = D.astype(Z.dtype) if D.dtype != Z.dtype else D
        D *= r[:, None]
        acc += D.T @ X
        vsum += X.T @ r
        r2 += float(r @ r)
        n += X.shape[0]
    acc *= -(net.a[:, None] / (n * math.sqrt(N))).astype(net.W.dtype, copy=False)
    return acc, vsum / n, r2 / n


@pytest.mark.parametrize("activation,residual,dtype", [("relu", "label", "float64"), ("relu", "full", "float32"),
                                                       ("tanh", "centered", "float64"), ("he2", "full", "float32")])
def test_numpy_gradient_pass_is_bit_identical_to_the_plain_formula(activation, residual, dtype):
    """The buffered, fused numpy pass computes the same floating-point operations as the plain
    formula in the same order: identical bits (chunk 37: several chunks and a short last one)."""
    cfg = _config(activation, dtype=dtype, residual=residual)
    net0, teacher = build(cfg)
    net = net0.with_weights(net0.W * 1.5) if residual == "centered" else net0
    src = batch(cfg, teacher, 0)
    with threadpool_limits(1):  # the thread count is the policy's business (test_performance_paths)
        gp = gradient_pass(net, src.chunks(37), residual, net0)
        grad, vhat, mse = _plain_pass(net, src.chunks(37), residual, net0)
    assert gp.grad.dtype == np.dtype(dtype)
    assert np.array_equal(gp.grad, grad) and np.array_equal(gp.vhat, vhat) and gp.residual_mse == mse


@pytest.mark.parametrize("residual", ["full", "label", "centered"])
def test_gradient_pass_on_the_backend(residual):
    """The array-API pass against the numpy pass on the same chunks: 1e-12 relative (sums of
    n = 700 products regrouped; see test_gradient_pass_chunked_equals_unchunked)."""
    cfg = _config("tanh", residual=residual)
    net0, teacher = build(cfg)
    net = net0.with_weights(net0.W * 1.5)
    src = batch(cfg, teacher, 0)
    backend = strict()
    host = gradient_pass(net, src.chunks(64), residual, net0)
    dev = gradient_pass(on_backend(net, backend), src.device_chunks(64, backend), residual,
                        on_backend(net0, backend), backend)
    assert np.allclose(to_host(dev.grad), host.grad, rtol=0, atol=1e-12 * np.abs(host.grad).max())
    assert np.allclose(to_host(dev.vhat), host.vhat, rtol=0, atol=1e-12 * np.abs(host.vhat).max())
    assert dev.residual_mse == pytest.approx(host.residual_mse, rel=1e-12) and dev.n == host.n


@pytest.mark.parametrize("width,n_train", [(96, 500), (96, 60)], ids=["primal", "dual"])
def test_readout_on_the_backend(width, n_train):
    """Primal (N <= n: sufficient statistics, Cholesky) and dual (n < N: the n x n kernel) readout
    on the device path against the numpy readout: coefficients to 1e-9 relative (the solve
    amplifies rounding by cond(G_c + ridge I) <= (lambda_max + ridge) / ridge ~ 1e3 here) and the
    errors to 1e-10."""
    cfg = _config("tanh", noise=0.3, width=width)
    net, teacher = build(cfg)
    train, test = batch(cfg, teacher, "readout-train", n_train), batch(cfg, teacher, "readout-test", 300)
    backend = strict()
    a = fit_ridge(net, train, 1e-2, 128)
    b = fit_ridge(on_backend(net, backend), train, 1e-2, 128, backend)
    assert np.allclose(to_host(b.coef), a.coef, rtol=0, atol=1e-9 * np.abs(a.coef).max())
    assert b.intercept == pytest.approx(a.intercept, rel=1e-12)
    assert b.train_error == pytest.approx(a.train_error, rel=1e-9)
    ea, eb = test_errors(net, a, test, 128), test_errors(on_backend(net, backend), b, test, 128, backend)
    assert eb == pytest.approx(ea, rel=1e-10) and eb[0] != eb[1]  # noisy labels: two different errors


def test_backend_readout_refuses_a_singular_system():
    """ridge = 0 with a rank-deficient feature Gram (linear features, N > d): the same one-line
    divergence as the numpy solver, not a partial factor."""
    cfg = _config("linear", width=96, d=16)
    net, teacher = build(cfg)
    backend = strict()
    with pytest.raises(DivergenceError, match="not positive definite"):
        fit_ridge(on_backend(net, backend), batch(cfg, teacher, "readout-train", 500), 0.0, 128, backend)


@pytest.mark.parametrize("wrt", ["W", "Wa"])
def test_hessian_vector_products_on_the_backend(wrt):
    """H v on the device path equals the numpy product to 1e-12 relative (same formula, chunked)."""
    rng = np.random.default_rng(5)
    m, d, n = 3, 11, 300
    W, a = rng.standard_normal((m, d)) / 3, rng.standard_normal(m)
    X, y = rng.standard_normal((n, d)), rng.standard_normal(n)
    v = rng.standard_normal(m * d + (m if wrt == "Wa" else 0))
    backend = strict()
    for sigma in ("tanh", "relu", "he1+he2"):
        want = hvp(W, a, sigma, X, y, v, wrt, 64)
        got = to_host(hvp(*(backend.put(t) for t in (W, a)), sigma, *(backend.put(t) for t in (X, y, v)), wrt, 64,
                          backend))
        assert np.allclose(got, want, rtol=0, atol=1e-12 * np.abs(want).max()), sigma


def test_cpu_device_is_implicit_in_resolved_configs():
    """``device: cpu`` is not written out (configs and sweep-cell hashes of CPU runs are unchanged);
    ``device: gpu`` is part of the config."""
    base = {"d": 8, "width": 8, "n": 16}
    assert "device" not in parse_config(base).model_dump(mode="json")
    assert "device" not in parse_config({**base, "device": "cpu"}).model_dump(mode="json")
    assert parse_config({**base, "device": "gpu"}).model_dump(mode="json")["device"] == "gpu"
    with pytest.raises(ConfigError, match="'device' parameter"):
        parse_config({**base, "device": "tpu"})


def test_request_device_and_gpu_assignment():
    from giantstep.engine.execution import gpu_assignment, request_device

    steps = {"kind": "steps", "d": 8, "width": 8, "n": 16}
    assert request_device(steps, "gpu")["device"] == "gpu" and request_device(steps, None) is steps
    rf = {"kind": "rf", "d": 8}
    assert request_device(rf, "cpu") is rf
    with pytest.raises(ConfigError, match="'device' parameter must be 'cpu' for kind 'rf'"):
        request_device(rf, "gpu")
    workers = ["tcp://h:3", "tcp://h:1", "tcp://h:2"]
    assert gpu_assignment(workers, ["4", "7"]) == {"tcp://h:1": "4", "tcp://h:2": "7", "tcp://h:3": "4"}
    assert gpu_assignment(workers, []) == {}


@pytest.mark.skipif(gpu_available(), reason="a GPU is available: the refusal cannot be shown")
def test_gpu_requested_without_a_gpu_is_one_line_and_exit_2(cli, tmp_path):
    """--device gpu, ``device: gpu`` in the config, and a sweep: exit 2, one line naming the field,
    nothing written."""
    cfg = tmp_path / "run.yaml"
    cfg.write_text("d: 8\nwidth: 8\nn: 16\n")
    out = tmp_path / "out"
    for args in ((cfg, "--device", "gpu", "--out", out), ):
        proc = cli("run", *args)
        assert proc.returncode == 2 and proc.stdout == ""
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: The 'device' parameter must be 'cpu', or 'gpu' with")
        assert "[gpu] extra" in lines[0] and not out.exists()
    gpu_cfg = tmp_path / "gpu.yaml"
    gpu_cfg.write_text("d: 8\nwidth: 8\nn: 16\ndevice: gpu\n")
    proc = cli("run", gpu_cfg)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "'device'" in proc.stderr
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("base: {d: 8, width: 8, n: 16}\ngrid: {width: [8, 16]}\n")
    store = tmp_path / "s.db"
    proc = cli("sweep", sweep, "--store", store, "--device", "gpu", "--quiet")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "'device'" in proc.stderr
    assert not store.exists()


def test_gpu_benchmark_runs_at_a_tiny_size_on_the_cpu(tmp_path):
    """benchmarks/bench_gpu.py (the python part of benchmarks/gpu.sh) end to end on the CPU with the
    array-API path, and the sweep files of the claims' device ladders load as valid sweeps."""
    from benchmarks import bench_gpu, gpu_claims
    from giantstep.engine.sweep import load_sweep

    out = tmp_path / "table.md"
    assert bench_gpu.main(["--device", "cpu", "--library", STRICT, "--sizes", "48,64", "--dtypes", "float32",
                           "--warm", "32", "--out", str(out)]) == 0
    text = out.read_text()
    assert "| 48 | float32 |" in text and "| 64 | float32 |" in text and "array_api_strict" in text
    rows = bench_gpu.measure([48], ["float64"], "cpu", None, warm=32)
    assert rows[0]["library"] == "numpy" and rows[0]["floor"] > 0 and rows[0]["total"] > 0
    paths = gpu_claims.write(tmp_path / "sweeps")
    sizes = {p.stem: load_sweep(p) for p in paths}
    c4 = sizes["c4_ladder"]
    assert max(c.config["width"] for c in c4.cells) == 16384 and c4.name == "ladder"
    assert max(c.config["d"] for c in sizes["c7_ladder_k1"].cells) == 4096
    assert sorted({c.config["d"] for c in sizes["c7_curve_k2"].cells}) == [1000, 2000, 4096]
