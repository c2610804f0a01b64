# Sourced by the bin/ scripts: make sure .venv exists at the project root and holds giantstep.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.giantstep-installed"
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
    LOG="$VENV/install.log"
    echo "giantstep: installing into $(basename "$VENV") (log: .venv/install.log) ..." >&2
    if ! { "$VENV/bin/python" -m pip install --upgrade pip && "$VENV/bin/python" -m pip install -e "$ROOT[test]"; } >"$LOG" 2>&1; then
        tail -n 30 "$LOG" >&2
        echo "giantstep: installation failed (full log in .venv/install.log)" >&2
        exit 1
    fi
    touch "$STAMP"
fi
