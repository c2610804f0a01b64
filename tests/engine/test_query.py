"""Row filters (``--where``): a grammar parsed into a tree, never evaluated (issue 18 item 1).

The hostile cases are expressions that pandas ``query``/``eval`` would run (module globals through
``@``, attribute access, calls, imports, lambdas, dunders): each must be refused as a ConfigError
naming 'where', and none may have an effect (a canary file they would create stays absent).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from giantstep.cli import main
from giantstep.engine import query
from giantstep.engine import store as st
from giantstep.engine.results import load_results
from giantstep.errors import ConfigError

FRAME = pd.DataFrame({
    "row_id": [1, 2, 3, 4],
    "status": ["done", "failed", "done", "done"],
    "reason": [None, "boom", None, None],
    "steps.0.alpha": [0.0, 0.1, 0.25, 0.5],
    "width": [32, 32, 64, 64],
    "w1.s1": [1.5, np.nan, 2.5, 3.5],
    "teacher": [{"link": "he1"}, {"link": "he2"}, {"link": "he1"}, {"link": "he2"}],
    "and": [1, 2, 3, 4],
})


@pytest.mark.parametrize("text, rows", [
    ("status == 'done'", [1, 3, 4]),
    ('status = "done"', [1, 3, 4]),
    ("status == 'done' and steps.0.alpha > 0.2", [3, 4]),
    ("width == 64 or steps.0.alpha < 0.05", [1, 3, 4]),
    ("not (status == 'done')", [2]),
    ("NOT status != 'done' AND width >= 64", [3, 4]),
    ("(width = 32 or width = 64) and not (w1.s1 >= 3)", [1, 2, 3]),  # NaN >= 3 is false, so its 'not' holds
    ("w1.s1 == null", [2]),
    ("w1.s1 != null and w1.s1 <= 2.5", [1, 3]),
    ("reason == null", [1, 3, 4]),
    ("reason != null", [2]),
    ("reason < 'z'", [2]),  # missing values never satisfy an ordering
    ("`steps.0.alpha` >= 0.25", [3, 4]),
    ("`and` > 2", [3, 4]),
    ("0.2 < steps.0.alpha", [3, 4]),
    ("width > 1e1 and w1.s1 < inf", [1, 3, 4]),
    ("width == 32.0", [1, 2]),
    ("row_id == -1", []),
    ("steps.0.alpha == width", []),
    ("row_id < width", [1, 2, 3, 4]),
    ("w1.s1 == nan", []),
    ("true == true", [1, 2, 3, 4]),
])
def test_filters_select_the_expected_rows(text, rows):
    assert query.apply_filter(FRAME, text)["row_id"].tolist() == rows


CANARY = "giantstep-canary-PWNED"

HOSTILE = [
    f"row_id > @st.os.system('touch {CANARY}')",
    f"@__builtins__.open('{CANARY}', 'w')",
    f"row_id > __import__('os').system('touch {CANARY}')",
    "status.__class__.__mro__[1].__subclasses__()",
    "row_id > @pd.io.common.os.system('true')",
    "row_id.apply(lambda x: x)",
    "lambda: 0",
    f"status == open('{CANARY}', 'w')",
    "row_id > (1).__class__",
    "exec('import os')",
    "eval('1')",
    "status == 'done'; import os",
    "row_id > 1 if True else 0",
    "[x for x in range(10**9)]",
    "row_id ** 99999999",
    "row_id + 1 > 2",
    "row_id in [1, 2]",
    "status == 'done' & width > 3",
    "status == 'done' | width > 3",
    "~(status == 'done')",
    "status.str.contains('d')",
    "`row_id` > 1 and `x`.y()",
    "row_id > {}",
    "row_id > 1 #",
    "\\u0040st",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_filters_are_refused_and_run_nothing(text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as e:
        query.apply_filter(FRAME, text)
    assert e.value.field == "where"
    assert not (tmp_path / CANARY).exists()


@pytest.mark.parametrize("text, problem", [
    ("", None),
    ("   ", None),
    ("status ==", "ends too early"),
    ("status", "ends too early"),
    ("(status == 'done'", "ends too early"),
    ("status == 'done')", "unexpected ')'"),
    ("width > 'big'", "cannot compare"),
    ("w1.s1 > null", "null compares only"),
    ("no_such_column > 1", "unknown column 'no_such_column'"),
    ("status == 'done' and", "ends too early"),
    ("and", "expected a column or a literal"),
    ("(" * 65 + "width > 1" + ")" * 65, "nested deeper than 64"),
    ("not " * 65 + "width > 1", "nested deeper than 64"),
    ("width > 1 and " * 400 + "width > 1", "longer than 4096"),
    ("'unterminated == 1", "unexpected character"),
])
def test_malformed_filters_name_the_problem(text, problem):
    with pytest.raises(ConfigError) as e:
        query.apply_filter(FRAME, text)
    assert e.value.field == "where"
    if problem is not None:
        assert problem in e.value.allowed


def test_deep_nesting_never_reaches_the_recursion_limit():
    with pytest.raises(ConfigError):
        query.parse_filter("(" * 3000 + "width > 1" + ")" * 3000)
    with pytest.raises(ConfigError):
        query.parse_filter("not " * 3000 + "width > 1")


def test_tree_is_data():
    tree = query.parse_filter("status == 'done' and not (width > 32 or w1.s1 == null)")
    assert isinstance(tree, query.BoolOp) and tree.op == "and"
    assert tree.items[0] == query.Compare(query.Column("status"), "==", query.Literal("done"))
    assert isinstance(tree.items[1], query.Not)
    assert query.columns_of(tree) == {"status", "width", "w1.s1"}
    assert math.isinf(query.parse_filter("w1.s1 < inf").right.value)


def _store(tmp_path):
    db = tmp_path / "r.db"
    con = st.connect(db)
    for i, (status, alpha) in enumerate((("done", 0.1), ("failed", 0.3), ("done", 0.5))):
        st.commit_row(con, {"sweep": "s", "config_hash": f"h{i}", "kind": "steps", "cell_key": "{}",
                            "axes": {"steps.0.alpha": alpha}, "replicate": 0, "cell_seed": 1, "root_seed": 0,
                            "seed_path": [0, "{}", 0], "config": {}, "status": status,
                            "metrics": {"m": float(i)} if status == "done" else {}, "version": "0", "written": "t"})
    con.close()
    return db


def test_load_results_and_the_cli_use_the_same_parser(tmp_path, capsys, monkeypatch):
    db = _store(tmp_path)
    assert load_results(db, where="status == 'done' and steps.0.alpha > 0.2")["config_hash"].tolist() == ["h2"]
    assert load_results(db, where="`steps.0.alpha` > 0.2")["config_hash"].tolist() == ["h1", "h2"]
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["results", str(db), "--where", f"row_id > @st.os.system('touch {CANARY}')"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'where'" in err[0] and "unexpected character '@'" in err[0]
    assert not (tmp_path / CANARY).exists()
