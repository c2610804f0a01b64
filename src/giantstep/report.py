r"""``report.html``: one self-contained page with a section per claim.

Each section shows the claim's statement, source and setting, its figures (PNG embedded as
base64 data URIs so the file can be mailed or archived alone; the PDF is linked relatively),
the predicted-vs-measured table (quantity, predicted, measured +- stderr, tolerance, pass) and
the verdict PASS / FAIL / INCONCLUSIVE with its reason, and beside it the claim's power in words
("would detect a 6% error in s1(W1)"): the smallest relative error in its headline predictions
that the verdict detects on the run's own data (``power`` entry, see
:func:`giantstep.claims.base.claim_power`).

Input is the ``summary.json`` mapping written by :mod:`giantstep.claims.runner`::

    {"mode": "quick", "version": "...", "store": "results.sqlite",
     "claims": {"C1": {"title", "statement", "source", "setting", "verdict", "reason",
                       "comparisons": [...], "sizes": {...}, "seeds": 3, "figures": [...],
                       "data": {"mode", "rows", "done", "expected", "sizes": {"d": [...], ...}}}, ...}}

The mode and sizes the page states are those of the data each claim's analysis read (its
``data`` entry: the rows found in the store and the sizes in their configs), never the mode asked
for on the command line: a claim without a ``data`` entry states "data not recorded".

Example::

    write_report(summary, outdir)   # -> outdir / "report.html"
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

VERDICT_COLORS = {"PASS": "#1a7f37", "FAIL": "#cf222e", "INCONCLUSIVE": "#9a6700"}

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#1f2328;line-height:1.45}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}
.badge{display:inline-block;padding:.1em .55em;border-radius:.4em;color:#fff;font-weight:600;font-size:.85em}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}td,th{border:1px solid #d0d7de;padding:.25em .5em;
text-align:right}th{background:#f6f8fa}td.q,td.note{text-align:left}td.note{color:#57606a;font-size:.9em}
.fig{display:inline-block;margin:.4em;vertical-align:top;text-align:center;font-size:.8em}
.fig img{max-width:520px;border:1px solid #eee}.meta{color:#57606a;font-size:.9em}
.ok{color:#1a7f37}.bad{color:#cf222e}.na{color:#9a6700}
"""


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None:
        return "&ndash;"
    if isinstance(x, bool):
        return str(x)
    try:
        return f"{float(x):.{digits}g}"
    except (TypeError, ValueError):
        return html.escape(str(x))


def _badge(verdict: str) -> str:
    col = VERDICT_COLORS.get(verdict, "#57606a")
    return f'<span class="badge" style="background:{col}">{html.escape(verdict)}</span>'


def _figure_html(path: Path, outdir: Path) -> str:
    try:
        rel = path.relative_to(outdir)
    except ValueError:
        rel = path
    if path.suffix.lower() == ".png" and path.exists():
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        pdf = path.with_suffix(".pdf")
        link = f' &middot; <a href="{html.escape(str(rel.with_suffix(".pdf")))}">PDF</a>' if pdf.exists() else ""
        return (
            f'<div class="fig"><img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}"/>'
            f"<br/>{html.escape(path.name)}{link}</div>"
        )
    return ""


def _power_cell(power: Any) -> str:
    x = (power or {}).get("detectable_relative_error")
    return "&ndash;" if x is None else f"{100 * float(x):.3g}%"


def power_sentence(power: Any) -> str:
    """A claim's ``power`` entry (summary.json) in words, e.g. "would detect a 6% error in any one
    of: s1(W1) (4%); |<v1,theta*>| (6%)"."""
    if not power or not power.get("quantities"):
        return "power not stated (no headline quantities)"
    limits = power.get("limits") or {}
    parts = []
    for q in power["quantities"]:
        e = (power.get("per_quantity") or {}).get(q, {}).get("detectable")
        parts.append(f"{q} ({_pct(e)})" if e is not None else
                     f"{q} (not detected within +{_pct(limits.get('up'))} / -{_pct(limits.get('down'))})")
    x = power.get("detectable_relative_error")
    if x is None:
        return "does not detect every error: " + "; ".join(parts)
    return f"would detect a {_pct(x)} error in any one of: " + "; ".join(parts)


def _pct(e: Any) -> str:
    if e is None:
        return "?"
    v = 100 * float(e)
    return f"{v:.0f}%" if v >= 100 else f"{v:.3g}%"


def _power_words(power: Any) -> str:
    words = power_sentence(power)
    how = (power or {}).get("how")
    return f"{words[0].upper()}{words[1:]}." + (f" ({how}.)" if how else "")


def _table(comparisons: list[dict]) -> str:
    if not comparisons:
        return "<p class='meta'>No comparisons.</p>"
    rows = [
        "<table><tr><th>quantity</th><th>predicted</th><th>measured</th><th>&plusmn; stderr</th>"
        "<th>tolerance</th><th>pass</th><th>how the tolerance was derived</th></tr>"
    ]
    for c in comparisons:
        passed = c.get("passed")
        mark = {True: "<span class='ok'>yes</span>", False: "<span class='bad'>no</span>"}.get(
            passed, "<span class='na'>n/a</span>"
        )
        rows.append(
            f"<tr><td class='q'>{html.escape(str(c.get('quantity', '')))}</td><td>{_fmt(c.get('predicted'))}</td>"
            f"<td>{_fmt(c.get('measured'))}</td><td>{_fmt(c.get('stderr'), 2)}</td>"
            f"<td>{_fmt(c.get('tolerance'), 3)}</td><td>{mark}</td>"
            f"<td class='note'>{html.escape(str(c.get('note', '')))}</td></tr>"
        )
    rows.append("</table>")
    return "\n".join(rows)


def _values(values: list) -> str:
    shown = [_fmt(v, 6) for v in values]
    return ", ".join(shown) if len(shown) <= 6 else f"{shown[0]} ... {shown[-1]} ({len(shown)} values)"


def data_statement(c: dict) -> str:
    """'mode quick; 36 of 36 rows (34 done); d = 64, 128; width = ...' for a claim's ``data``."""
    data = c.get("data")
    if not isinstance(data, dict):
        return "data not recorded"
    expected = data.get("expected")
    rows = f"{data.get('rows', 0)} of {expected} rows" if expected is not None else f"{data.get('rows', 0)} rows"
    sizes = "; ".join(f"{k} = {_values(v)}" for k, v in (data.get("sizes") or {}).items() if isinstance(v, list))
    return f"mode {data.get('mode', '?')}; {rows} ({data.get('done', 0)} done)" + (f"; {sizes}" if sizes else "")


def _modes(claims: dict) -> str:
    """The modes of the data read, e.g. 'quick' or 'quick (C1, C2), full (C4)'."""
    by_mode: dict[str, list[str]] = {}
    for cid, c in claims.items():
        mode = (c.get("data") or {}).get("mode") if isinstance(c.get("data"), dict) else None
        by_mode.setdefault(str(mode or "not recorded"), []).append(cid)
    if len(by_mode) == 1:
        return next(iter(by_mode))
    return ", ".join(f"{m} ({', '.join(ids)})" for m, ids in by_mode.items())


def render(summary: dict, outdir: "str | Path") -> str:
    """The HTML text of the report for a summary mapping (figures resolved under ``outdir``)."""
    outdir = Path(outdir)
    claims = summary.get("claims", {})
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'/>",
        "<title>giantstep: reproduction of the seed claims</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>giantstep: reproduction of the seed claims</h1>",
        f"<p class='meta'>data of mode <b>{html.escape(_modes(claims))}</b> &middot; giantstep "
        f"{html.escape(str(summary.get('version', '')))} &middot; results store "
        f"<code>{html.escape(str(summary.get('store', '')))}</code> &middot; "
        f"wall time {_fmt(summary.get('seconds'), 3)} s</p>",
        "<table><tr><th>claim</th><th>title</th><th>verdict</th><th>detects a relative error of</th><th>reason</th></tr>",
    ]
    for cid, c in claims.items():
        parts.append(
            f"<tr><td class='q'><a href='#{html.escape(cid)}'>{html.escape(cid)}</a></td>"
            f"<td class='q'>{html.escape(str(c.get('title', '')))}</td><td>{_badge(c.get('verdict', ''))}</td>"
            f"<td>{_power_cell(c.get('power'))}</td>"
            f"<td class='note'>{html.escape(str(c.get('reason', '')))}</td></tr>"
        )
    parts.append("</table>")
    for cid, c in claims.items():
        parts += [
            f"<h2 id='{html.escape(cid)}'>{html.escape(cid)}: {html.escape(str(c.get('title', '')))} "
            f"{_badge(c.get('verdict', ''))}</h2>",
            f"<p><b>Claim.</b> {html.escape(str(c.get('statement', '')))}</p>",
            f"<p class='meta'><b>Source.</b> {html.escape(str(c.get('source', '')))}</p>",
            f"<p><b>Setting.</b> {html.escape(str(c.get('setting', '')))}</p>",
            f"<p class='meta'><b>Data read.</b> {html.escape(data_statement(c))} &middot; <b>seeds per cell</b> "
            f"{html.escape(str(c.get('seeds', '')))} &middot; <b>sweeps</b> "
            f"{html.escape(', '.join(c.get('sweeps', [])))} &middot; {_fmt(c.get('seconds'), 3)} s</p>",
            f"<p><b>Verdict: {_badge(c.get('verdict', ''))}</b> {html.escape(str(c.get('reason', '')))}</p>",
            f"<p><b>Power.</b> {html.escape(_power_words(c.get('power')))}</p>",
            "<div>",
            *[_figure_html(outdir / f, outdir) for f in c.get("figures", []) if str(f).endswith(".png")],
            "</div>",
            _table(c.get("comparisons", [])),
        ]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(summary: dict, outdir: "str | Path") -> Path:
    """Write ``outdir/report.html`` (atomically) and return its path."""
    from .outputs import atomic_write

    outdir = Path(outdir)
    return atomic_write(outdir / "report.html", render(summary, outdir))
