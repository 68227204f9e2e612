"""What a grading run hands out: per-test rows, feedback pages, and the guard against leaks.

Feedback shows a student their answers and, for every test, its name, status, points and
failure message. It never shows a hidden test: test cells appear with their hidden regions
cut out, tracebacks are reduced to the error's message, and `Redactor` then removes any
line of hidden-test source that still turns up anywhere in the page or the CSV messages,
for example because the student's code printed the cell it was run from.
"""

import base64
import html

from nbconvert.filters import markdown2html
from nbgrader import utils

from autograder.feedback import HIDDEN_LINE, HideHiddenTests

STATUS_COLOURS = {
    "passed": "#1a7f37",
    "failed": "#cf222e",
    "error": "#cf222e",
    "timeout": "#9a6700",
    "kernel_died": "#9a6700",
    "missing": "#6e7781",
    "tampered": "#8250df",
    "needs_manual_grade": "#0969da",
}


def hidden_lines(source_notebook):
    """Lines of hidden-test source, long enough that finding one elsewhere means a leak."""
    return HideHiddenTests().hidden_lines(source_notebook)


class Redactor:
    def __init__(self, secret_lines):
        self.secret_lines = list(secret_lines)

    def __call__(self, text):
        if not text:
            return text
        for line in self.secret_lines:
            if line in text:
                text = text.replace(line, HIDDEN_LINE)
        return text


def _output_text(output):
    kind = output.get("output_type")
    if kind == "stream":
        return output.get("text", "")
    if kind == "error":
        return f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
    data = output.get("data", {})
    return (
        data.get("text/plain", "") if isinstance(data.get("text/plain", ""), str) else "".join(data.get("text/plain"))
    )


def _render_outputs(cell, redact, max_chars=20_000):
    parts = []
    for output in cell.get("outputs", []):
        data = output.get("data", {}) if isinstance(output.get("data"), dict) else {}
        png = data.get("image/png")
        if isinstance(png, str):
            try:
                base64.b64decode(png, validate=True)
            except Exception:
                png = None
        if isinstance(png, str) and len(png) < 3_000_000:
            parts.append(f'<img alt="figure" src="data:image/png;base64,{png.strip()}">')
            continue
        text = _output_text(output)
        if len(text) > max_chars:
            text = text[:max_chars] + f"\n[... {len(text) - max_chars:,} more characters not shown]"
        css = "err" if output.get("output_type") == "error" else "out"
        if text.strip():
            parts.append(f'<pre class="{css}">{html.escape(redact(text))}</pre>')
    return "".join(parts)


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1f2328; }}
h1 {{ font-size: 1.4rem; }} table {{ border-collapse: collapse; margin: 1rem 0; }}
td, th {{ border: 1px solid #d0d7de; padding: .3rem .6rem; text-align: left; vertical-align: top; }}
.status {{ font-weight: 600; }} .cell {{ border-left: 3px solid #d0d7de; margin: 1rem 0; padding: .2rem .8rem; }}
.test {{ border-left-color: #8c959f; background: #f6f8fa; }} pre {{ white-space: pre-wrap; margin: .3rem 0; }}
pre.src {{ background: #fff; border: 1px solid #d0d7de; padding: .4rem; }} pre.err {{ color: #cf222e; }}
.note {{ color: #57606a; }} img {{ max-width: 100%; }}
</style></head><body>
<h1>{title}</h1>
<p><strong>Score: {score:g} / {max_score:g}</strong>{manual}</p>
{stopped}{repairs}
<table><tr><th>Test</th><th>Status</th><th>Points</th><th>What it found</th></tr>
{rows}
</table>
<h2>Your notebook, as graded</h2>
{cells}
</body></html>
"""


def _status_html(status):
    colour = STATUS_COLOURS.get(status, "#1f2328")
    return f'<span class="status" style="color:{colour}">{html.escape(status.replace("_", " "))}</span>'


def _points(row):
    return "—" if row["points"] is None else f"{row['points']:g} / {row['max_points']:g}"


def feedback_html(result, notebook, redact):
    """The feedback page of one graded notebook. `notebook` may be None (nothing ran)."""
    tests = result["tests"]
    score = sum(row["points"] or 0 for row in tests)
    max_score = sum(row["max_points"] for row in tests)
    manual = sum(1 for row in tests if row["status"] == "needs_manual_grade")
    rows = "\n".join(
        f"<tr><td><code>{html.escape(row['test_id'])}</code></td><td>{_status_html(row['status'])}</td>"
        f"<td>{_points(row)}</td><td><pre>{html.escape(redact(row['message'] or ''))}</pre></td></tr>"
        for row in tests
    )
    hider = HideHiddenTests()
    by_id = {row["test_id"]: row for row in tests}
    cells = []
    for cell in notebook.cells if notebook is not None else []:
        meta = cell.metadata.get("nbgrader") or {}
        if cell.cell_type == "markdown":
            body = markdown2html(redact(cell.source)) if meta.get("solution") or not meta else ""
            if body:
                cells.append(f'<div class="cell">{body}</div>')
            continue
        if cell.cell_type != "code":
            continue
        is_test = utils.is_grade(cell) and not utils.is_solution(cell)
        source = hider._strip_hidden(cell.source)[0] if is_test else cell.source
        header = ""
        if meta.get("grade_id") in by_id:
            row = by_id[meta["grade_id"]]
            header = (
                f"<p>Test <code>{html.escape(row['test_id'])}</code>: {_status_html(row['status'])}, {_points(row)}</p>"
            )
        elif meta.get("solution"):
            header = f"<p>Your answer <code>{html.escape(meta.get('grade_id', ''))}</code></p>"
        css = "cell test" if is_test else "cell"
        cells.append(
            f'<div class="{css}">{header}<pre class="src">{html.escape(redact(source))}</pre>{_render_outputs(cell, redact)}</div>'
        )
    stopped = (
        f'<p class="note">Grading stopped early: {html.escape(redact(result["stopped"]))}. Tests after that point got no points.</p>'
        if result.get("stopped")
        else ""
    )
    repairs = ""
    if result.get("repairs"):
        items = "".join(f"<li>{html.escape(redact(r))}</li>" for r in result["repairs"])
        repairs = (
            f'<p class="note">What the grader changed in your copy before running it:</p><ul class="note">{items}</ul>'
        )
    title = f"{result['assignment']} / {result['notebook']}: feedback for {result['student']}"
    return PAGE.format(
        title=html.escape(title),
        score=score,
        max_score=max_score,
        manual=f" ({manual} answer(s) still to be graded by hand)" if manual else "",
        stopped=stopped,
        repairs=repairs,
        rows=rows,
        cells="\n".join(cells) or '<p class="note">No notebook could be run.</p>',
    )
