"""What a grading run hands out: feedback pages that never show a hidden test.

Feedback shows a student their answers and, for every test, its name, status, points and
failure message. It never shows a hidden test: test cells appear with their hidden regions
cut out, tracebacks are reduced to the error's message, and a `cells.Redactor` then removes
any line of hidden-test source that still turns up anywhere in the page, for example
because the student's code printed the cell it was run from.
"""

import base64
import html

from nbconvert.filters import markdown2html

from autograder.cells import Redactor, hidden_lines, is_test, nbgrader_meta, strip_hidden_tests
from autograder.results import Status

__all__ = ["Redactor", "feedback_html", "hidden_lines"]  # the redactor lives in cells.py; re-exported

STATUS_COLOURS = {
    Status.PASSED: "#1a7f37",
    Status.FAILED: "#cf222e",
    Status.ERROR: "#cf222e",
    Status.TIMEOUT: "#9a6700",
    Status.KERNEL_DIED: "#9a6700",
    Status.MISSING: "#6e7781",
    Status.TAMPERED: "#8250df",
    Status.NEEDS_MANUAL_GRADE: "#0969da",
}


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
    return f'<span class="status" style="color:{colour}">{html.escape(status.value.replace("_", " "))}</span>'


def _points(test):
    return "—" if test.points is None else f"{test.points:g} / {test.max_points:g}"


def _test_rows(tests, redact):
    return "\n".join(
        f"<tr><td><code>{html.escape(test.test_id)}</code></td><td>{_status_html(test.status)}</td>"
        f"<td>{_points(test)}</td><td><pre>{html.escape(redact(test.message or ''))}</pre></td></tr>"
        for test in tests
    )


def _cell_html(cell, by_id, redact):
    """One cell of the graded notebook, as the student may see it ("" for cells not shown)."""
    meta = nbgrader_meta(cell)
    if cell.cell_type == "markdown":
        body = markdown2html(redact(cell.source)) if meta.get("solution") or not meta else ""
        return f'<div class="cell">{body}</div>' if body else ""
    if cell.cell_type != "code":
        return ""
    source = strip_hidden_tests(cell.source)[0] if is_test(cell) else cell.source
    header = ""
    if meta.get("grade_id") in by_id:
        test = by_id[meta["grade_id"]]
        header = f"<p>Test <code>{html.escape(test.test_id)}</code>: {_status_html(test.status)}, {_points(test)}</p>"
    elif meta.get("solution"):
        header = f"<p>Your answer <code>{html.escape(meta.get('grade_id', ''))}</code></p>"
    css = "cell test" if is_test(cell) else "cell"
    source_html = f'<pre class="src">{html.escape(redact(source))}</pre>'
    return f'<div class="{css}">{header}{source_html}{_render_outputs(cell, redact)}</div>'


def _notes_html(result, redact):
    """Why grading stopped early, and what the grader repaired in the student's copy."""
    stopped = ""
    if result.stopped:
        stopped = (
            f'<p class="note">Grading stopped early: {html.escape(redact(result.stopped))}. '
            "Tests after that point got no points.</p>"
        )
    repairs = ""
    if result.repairs:
        items = "".join(f"<li>{html.escape(redact(r))}</li>" for r in result.repairs)
        repairs = (
            f'<p class="note">What the grader changed in your copy before running it:</p><ul class="note">{items}</ul>'
        )
    return stopped, repairs


def feedback_html(result, notebook, redact):
    """The feedback page of one graded notebook (a results.Result). `notebook` may be None (nothing ran)."""
    by_id = {test.test_id: test for test in result.tests}
    cells = [_cell_html(cell, by_id, redact) for cell in (notebook.cells if notebook is not None else [])]
    stopped, repairs = _notes_html(result, redact)
    manual = result.manual
    title = f"{result.assignment} / {result.notebook}: feedback for {result.student}"
    return PAGE.format(
        title=html.escape(title),
        score=result.score,
        max_score=result.max_score,
        manual=f" ({manual} answer(s) still to be graded by hand)" if manual else "",
        stopped=stopped,
        repairs=repairs,
        rows=_test_rows(result.tests, redact),
        cells="\n".join(cell for cell in cells if cell) or '<p class="note">No notebook could be run.</p>',
    )
