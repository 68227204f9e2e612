"""A notebook page of the website: the student's notebook with the reference run's outputs.

`student_page(executed, released)` takes the executed solution notebook and the student
notebook nbgrader released from it (course/<id>/<id>.ipynb, cell for cell the same
notebook) and returns a notebook in which

- every cell's source is the student's (solutions replaced by their stubs, hidden tests and
  mark schemes removed: exactly what nbgrader released);
- cells the student writes (answers) have no outputs: those came from the solution;
- cells that use an answer constant (a prediction, diagnosis or design such as
  `BORN_DEAD_RANKING`: an upper-case name an answer cell assigns) show a note instead of their
  outputs: the public check echoes the answer, and the verify cell prints it beside the
  measurement — the reference run would print the key;
- the other cells keep the reference run's outputs (figures, tables, the checked claims'
  measured values), made readable without a live kernel by `static_outputs`.

`solutions_page(executed)` is the instructor's version: the executed solution notebook, with
its outputs made static the same way.
"""

import ast
import re

import nbformat

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
STATIC_FALLBACKS = ("image/png", "text/html")
# tqdm's notebook bar shows itself as its text, "lr=0.2:  40%|████      | 4/10 [00:01<00:02, ...]",
# cut after 110 characters (a long description hides the bar); a widget as "ClassName(children=...".
PROGRESS_BAR = re.compile(r"\d+%\|")
WIDGET_REPR = re.compile(r"^[A-Za-z_]\w*\(")


def is_progress_bar(text):
    return bool(PROGRESS_BAR.search(text)) or not WIDGET_REPR.match(text)


def live_note(assignment):
    """The line under a widget's static picture."""
    return (
        f"<p class='live-note'><em>A still of an interactive widget. To move its controls, open "
        f"<code>course/{assignment}/{assignment}.ipynb</code> in JupyterLab (<code>make lab</code>) "
        f"and run the notebook.</em></p>"
    )


def static_outputs(outputs, assignment):
    """The outputs a reader without a kernel can see.

    A widget with a static fallback (the course's explorers carry their first figure as a PNG,
    the quiz its questions as HTML) becomes that fallback and a note on how to open it live; a
    progress bar is dropped; any other widget becomes the note alone. stderr (warnings,
    progress text) is dropped.
    """
    kept = []
    for output in outputs:
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            continue
        data = output.get("data", {})
        if WIDGET_VIEW not in data:
            kept.append(output)
            continue
        fallback = {mime: data[mime] for mime in STATIC_FALLBACKS if mime in data}
        if not fallback and is_progress_bar(str(data.get("text/plain", ""))):
            continue
        if fallback:
            kept.append(nbformat.v4.new_output("display_data", data=fallback))
        kept.append(nbformat.v4.new_output("display_data", data={"text/html": live_note(assignment)}))
    return kept


ANSWER_NOTE = (
    "<p class='answer-note'><em>Output not shown: this cell prints what it computes from your answer to "
    "the exercise above. Run the notebook with your own answer to see it.</em></p>"
)


def answer_constants(notebook):
    """Upper-case names assigned at the top level of the notebook's answer cells (the course's
    predictions, diagnoses and designs: `BORN_DEAD_RANKING = ...`)."""
    names = set()
    for cell in notebook.cells:
        if cell.cell_type != "code" or not _is_answer(cell):
            continue
        try:
            body = ast.parse(cell.source).body
        except SyntaxError:  # an IPython magic: nothing the course uses in answers
            continue
        for node in body:
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            for target in targets:
                if isinstance(target, ast.Name) and target.id.isupper():
                    names.add(target.id)
    return names


def uses_any(source, names):
    return any(re.search(rf"\b{re.escape(name)}\b", source) for name in names)


def _is_answer(cell):
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def _clean(notebook):
    """No widget state (the site has no widget manager) and no execution-time metadata."""
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
    return notebook


def student_page(executed, released, assignment):
    """The student's notebook `released` with the outputs of the reference run `executed`."""
    executed, page = nbformat.from_dict(executed), nbformat.from_dict(released)
    if len(executed.cells) != len(page.cells) or any(
        a.cell_type != b.cell_type for a, b in zip(executed.cells, page.cells)
    ):
        raise ValueError(
            f"{assignment}: course/{assignment} does not match solutions/{assignment} cell for cell; "
            f"regenerate it with `make release`"
        )
    answers = answer_constants(executed)
    for run, cell in zip(executed.cells, page.cells):
        if cell.cell_type != "code":
            continue
        if _is_answer(cell):
            cell.outputs, cell.execution_count = [], None
        elif uses_any(cell.source, answers):
            cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": ANSWER_NOTE})]
            cell.execution_count = run.execution_count
        else:
            cell.outputs, cell.execution_count = static_outputs(run.outputs, assignment), run.execution_count
    return _clean(page)


def solutions_page(executed, assignment):
    """The executed solution notebook, readable without a kernel (instructors' edition)."""
    page = nbformat.from_dict(executed)
    for cell in page.cells:
        if cell.cell_type == "code":
            cell.outputs = static_outputs(cell.outputs, assignment)
    return _clean(page)
