"""Strategies and the command contract for the fuzz tests (tests/engine/test_fuzz.py).

The contract of every command line (README, docs/guarantees.md):

* exit status 0, 1 or 2, and no traceback, whatever the input;
* status 2: exactly one line on stderr, ``error: The 'FIELD' parameter must be ... Got ... instead.``,
  nothing on stdout and nothing written;
* status 1: one line saying why the run failed (``run failed: <reason>``), where the reason is a
  numerical or resource failure, never a programming error (IndexError, KeyError, ...).
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from hypothesis import strategies as st

from giantstep.cli import main

BUG_TYPES = ("IndexError", "KeyError", "TypeError", "AttributeError", "ZeroDivisionError", "UnboundLocalError",
             "NameError", "AssertionError", "RecursionError", "NotImplementedError", "ImportError")
# exit 2: the field template, or a theory formula refused outside its domain (ValidityError),
# which names the violated condition instead of a field
_ERROR_LINE = re.compile(r"^error: (The '[^']*' parameter must be .+ Got .* instead\.|outside the formula's domain: .+)$")


def invoke(argv: list[str]) -> tuple[int, str, str]:
    """Run the CLI entry point in this process; (exit status, stdout, stderr). Any exception other
    than SystemExit escapes: that is a traceback the user would have seen."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in argv])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return code, out.getvalue(), err.getvalue()


def check_contract(code: int, out: str, err: str, failed_prefixes: tuple[str, ...] = ("run failed: ",)) -> None:
    """Assert the command contract above for one invocation."""
    assert code in (0, 1, 2), (code, err[-2000:])
    assert "Traceback" not in out and "Traceback" not in err, err[-3000:]
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if code == 2:
        assert len(lines) == 1 and _ERROR_LINE.match(lines[0]), err
        assert out == "", out[:500]
    elif code == 1:
        assert lines and lines[-1].startswith(failed_prefixes), err
        assert not any(bug in lines[-1] for bug in BUG_TYPES), lines[-1]


def files(folder: Path) -> dict[str, bytes]:
    """Contents of every file under ``folder`` (SQLite's -wal/-shm left out)."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else b"<dir>")
            for p in sorted(folder.rglob("*")) if not p.name.endswith(("-wal", "-shm"))}


# ----------------------------------------------------------------------------- values


def junk() -> st.SearchStrategy:
    """Values of the wrong kind or out of every range."""
    return st.one_of(
        st.none(), st.booleans(), st.integers(-(2**70), 2**70),
        st.sampled_from([0, -1, 2**31, 2**63, 4194304, 10**12]),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([0.0, -0.0, 1e-320, 5e-324, 1e150, 1e200, 1e308, -1e308, float("inf"), float("nan")]),
        st.text(max_size=12), st.sampled_from(["", "relu", "0*relu", "1e999*tanh", "he1+", "__import__", "x" * 300]),
        st.lists(st.integers(-3, 3), max_size=3), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    )


def either(good: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly a good value (7 in 8), sometimes junk."""
    return st.integers(0, 7).flatmap(lambda i: junk() if i == 0 else good)


def some_of(fields: dict[str, st.SearchStrategy], required: tuple[str, ...] = ()) -> st.SearchStrategy:
    """A mapping with the required keys and a random subset of the others (plus, rarely, an unknown key)."""
    @st.composite
    def build(draw):
        out = {}
        for key, strategy in fields.items():
            if key in required or draw(st.integers(0, 2)) > 0:
                out[key] = draw(strategy)
        if draw(st.integers(0, 19)) == 0:
            out[draw(st.sampled_from(["colour", "widht", "Steps", ""]))] = draw(junk())
        return out
    return build()


small = st.integers(1, 12)
FUNCTIONS = st.sampled_from(["relu", "tanh", "erf", "sigmoid", "sin", "gelu", "abs", "sign", "softplus", "linear",
                             "square", "he1", "he2", "he3", "he1+0.5*he2", "tanh - 0.2*he3", "0*he1", "1e-300*he2",
                             "2*relu", "he0"])
eta0 = st.one_of(st.floats(0.0, 4.0), st.sampled_from([0.0, 1e-12, 1e3, 1e150, 1e300]))


def teacher(k_max: int = 3) -> st.SearchStrategy:
    return either(some_of({
        "link": either(FUNCTIONS), "k": either(st.integers(1, k_max)),
        "noise": either(st.sampled_from([0.0, 0.1, 1.0, 1e200])),
        "combine": either(st.sampled_from(["sum", "product", "staircase", "gated", "committee", "norm"])),
    }))


def steps_config(theory: bool) -> st.SearchStrategy:
    step = some_of({"eta0": either(eta0), "alpha": either(st.sampled_from([0.0, 0.25, 0.5])),
                    "batch": either(st.sampled_from(["fresh", "reuse"])), "reuse_step": either(st.integers(0, 3)),
                    "repeat": either(st.integers(1, 3))}, required=("eta0",))
    return some_of({
        "kind": st.just("steps"), "seed": either(st.integers(0, 2**63)), "d": either(small), "width": either(small),
        "n": either(small), "activation": either(FUNCTIONS), "init": either(st.sampled_from(["gaussian", "sphere"])),
        "second_layer": either(st.sampled_from(["rademacher", "gaussian", "symmetric"])),
        "residual": either(st.sampled_from(["full", "centered", "label"])), "teacher": teacher(),
        "steps": either(st.lists(step, max_size=3)),
        "readout": either(some_of({"ridge": either(st.sampled_from([0.0, 1e-3, 1.0])), "n_train": either(small),
                                   "n_test": either(small)})),
        "spectra": either(some_of({"top": either(st.integers(1, 4)), "full": either(st.booleans()),
                                   "features": either(st.booleans()), "features_n": either(small),
                                   "hermite_degree": either(st.integers(0, 3))})),
        "dtype": either(st.sampled_from(["float64", "float32"])), "chunk": either(st.integers(1, 16)),
        "theory": st.just(False) if not theory else either(st.booleans()),
    }, required=("kind", "d", "width", "n", "theory"))


def rf_config() -> st.SearchStrategy:
    return some_of({
        "kind": st.just("rf"), "seed": either(st.integers(0, 99)), "d": either(small), "width": either(small),
        "n": either(small), "n_test": either(small), "activation": either(FUNCTIONS), "teacher": teacher(1),
        "ridge": either(st.sampled_from([0.0, 1e-3, 1.0])), "readout": either(st.sampled_from(["ridge", "sgd", "both"])),
        "sgd": either(some_of({"epochs": either(st.integers(1, 3)), "batch": either(st.integers(1, 4)),
                               "step": either(st.sampled_from([0.1, 0.5, 1.9])), "decay": either(st.sampled_from([0.0, 0.5])),
                               "checkpoints": either(st.integers(1, 3))})),
        "spike": either(some_of({"r": either(st.sampled_from([0.0, 1.0, 5.0])), "c": either(st.sampled_from([0.5, 1.0])),
                                 "gamma": either(st.sampled_from([0.0, 0.5, 1.0])),
                                 "second_layer": either(st.sampled_from(["ones", "rademacher", "gaussian"]))},
                                required=("r", "gamma"))),
        "spectrum": either(st.booleans()), "chunk": either(st.integers(1, 16)),
    }, required=("kind", "d", "width", "n"))


def phase_config(theory: bool) -> st.SearchStrategy:
    return some_of({
        "kind": st.just("phase"), "seed": either(st.integers(0, 99)), "d": either(st.integers(2, 10)),
        "delta": either(st.sampled_from([0.5, 1.0, 2.5])), "width": either(st.integers(1, 3)),
        "activation": either(FUNCTIONS),
        "second_layer": either(st.sampled_from(["ones", "rademacher", "gaussian", "alternating"])),
        "train_second_layer": either(st.booleans()), "output_bias": either(st.booleans()),
        "init_scale": either(st.sampled_from([0.0, 1e-8, 0.1])), "teacher": teacher(2),
        "gd": either(some_of({"lr": either(st.sampled_from([0.05, 0.2, 5.0])), "steps": either(st.integers(0, 20)),
                              "record_every": either(st.integers(1, 5)), "rho": either(st.sampled_from([0.01, 0.5])),
                              "floor": either(st.sampled_from([0.0, 1e-6]))})),
        "hessian": either(some_of({"eigs": either(st.integers(2, 6)),
                                   "method": either(st.sampled_from(["auto", "dense", "lanczos"])),
                                   "learned_tol": either(st.sampled_from([0.1, 0.5, 1.0])),
                                   "outliers": either(st.integers(1, 3))})),
        "theory": st.just(False) if not theory else either(st.booleans()),
    }, required=("kind", "d", "delta", "theory"))


def kernel_config(theory: bool) -> st.SearchStrategy:
    return some_of({
        "kind": st.just("kernel"), "seed": either(st.integers(0, 99)), "d": either(st.integers(8, 10)),
        "width": either(st.integers(2, 12)), "n": either(small), "activation": either(FUNCTIONS),
        "second_layer": either(st.sampled_from(["gaussian", "rademacher"])),
        "teacher": either(some_of({"link": either(FUNCTIONS), "noise": either(st.sampled_from([0.0, 0.5]))})),
        "step": either(some_of({"eta0": either(eta0), "alpha": either(st.sampled_from([0.0, 0.5]))},
                               required=("eta0",))),
        "m": either(st.integers(24, 40)), "top": either(st.integers(1, 6)),
        "theory": st.just(False) if not theory else either(st.booleans()),
    }, required=("kind", "d", "width", "n", "step", "theory"))


def run_config(theory: bool = False) -> st.SearchStrategy:
    """A run config of any kind, tiny where valid (theory off unless ``theory``)."""
    kinds = [steps_config(theory), steps_config(theory), rf_config(), phase_config(theory), kernel_config(theory)]
    return st.integers(0, len(kinds) - 1).flatmap(lambda i: kinds[i])


def hostile_document() -> st.SearchStrategy:
    """Text or bytes that parsers choke on: deep nesting, alias bombs, bad bytes, random bytes."""
    depth = st.integers(1, 3000)
    nested = depth.map(lambda k: ("d: " + "[" * k + "]" * k + "\n").encode())
    mapping_nest = st.integers(1, 200).map(lambda k: ("".join(" " * i + f"k{i}:\n" for i in range(k)) + " " * k + "1\n").encode())

    @st.composite
    def bomb(draw):
        fan, levels = draw(st.integers(2, 12)), draw(st.integers(2, 9))
        lines = ['a0: &a0 ["x"]']
        for i in range(1, levels):
            lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * fan) + "]")
        return ("\n".join(lines) + "\n").encode()

    @st.composite
    def bad_bytes(draw):
        good = b"d: 8\nwidth: 8\nn: 8\ntheory: false\n"
        at = draw(st.integers(0, len(good)))
        return good[:at] + draw(st.sampled_from([b"\xff", b"\xfe\xff", b"\xc3(", b"\x80", b"\xed\xa0\x80"])) + good[at:]

    return st.one_of(nested, mapping_nest, bomb(), bad_bytes(), st.binary(max_size=200),
                     st.text(max_size=200).map(lambda t: t.encode()))
