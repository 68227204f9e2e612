"""Rebuild the notebook that gets graded from a student's submission and the instructor's source.

Nothing the student handed in decides what a test is. Test cells and the other locked
cells come from the source notebook in `solutions/` (hidden tests included), matched by
their nbgrader grade id; the student's answer cells and any cells they added come from the
submission. What the student's copy did to the locked cells is undone and written down:

- an edited test or locked cell gets its source, type and metadata back;
- a deleted one is put back, after the cell that precedes it in the source;
- a copy of a test cell (same grade id: what copy-and-paste produces) stays as an ordinary
  cell of the student's, so an answer typed into the copy still runs, but it is not graded;
- an answer cell whose type was changed (code to Markdown, say) is turned back into code;
- nbgrader metadata the source does not have (a made-up grade cell, changed points) is dropped.

`assemble` returns the notebook to execute and the list of repairs, in words.
"""

import copy
import uuid

import nbformat
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests

KERNELSPEC = {"display_name": "Python 3 (deadrelu)", "language": "python", "name": "deadrelu"}


class SubmissionUnreadable(Exception):
    """The submitted file is not a notebook that can be graded (its message says why)."""


def read_submission(path, max_bytes=50_000_000):
    """Read a submitted notebook, raising SubmissionUnreadable with a clear reason."""
    try:
        size = path.stat().st_size
    except OSError as error:
        raise SubmissionUnreadable(f"cannot read {path.name}: {error.strerror}") from None
    if size > max_bytes:
        raise SubmissionUnreadable(f"{path.name} is {size / 1e6:.0f} MB, over the {max_bytes / 1e6:.0f} MB limit")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise SubmissionUnreadable(f"{path.name} is not UTF-8 text (byte {error.start})") from None
    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises json errors, NotJSONError, KeyError, ...
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SubmissionUnreadable(f"{path.name} is not a valid notebook: {first_line[:300]}") from None
    if not isinstance(notebook.get("cells"), list):
        raise SubmissionUnreadable(f"{path.name} has no list of cells")
    for index, cell in enumerate(notebook.cells):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise SubmissionUnreadable(f"{path.name}: cell {index} is not a code, Markdown or raw cell")
        if not isinstance(cell.get("source", ""), str):
            raise SubmissionUnreadable(f"{path.name}: cell {index} has no text source")
    return notebook


def _grade_id(cell):
    return (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")


def _is_locked_source_cell(cell):
    """Cells the student may not change: tests, read-only cells (not answers, not tasks)."""
    meta = cell.metadata.get("nbgrader") or {}
    return (
        bool(meta.get("grade_id"))
        and not meta.get("solution")
        and not meta.get("task")
        and (meta.get("grade") or meta.get("locked"))
    )


def _plain(cell):
    """The student's cell as an ordinary cell: no nbgrader metadata, fresh outputs."""
    cell = copy.deepcopy(cell)
    cell.metadata.pop("nbgrader", None)
    return cell


def _label(cell):
    meta = cell.metadata.get("nbgrader") or {}
    kind = "test cell" if meta.get("grade") and not meta.get("solution") else "locked cell"
    return f"{kind} {meta.get('grade_id')!r}"


def _as_released(cell):
    """The source cell as students received it: hidden tests cut out (nbgrader's own preprocessor)."""
    released, _ = ClearHiddenTests().preprocess_cell(copy.deepcopy(cell), {}, 0)
    return released.source.strip()


def _unchanged(student_cell, original):
    return (student_cell.get("source", "") or "").strip() in {original.source.strip(), _as_released(original)}


def _clean(cell):
    cell = copy.deepcopy(cell)
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    cell.metadata.pop("execution", None)
    return cell


def assemble(source, submission):
    """Return (notebook to grade, repairs): the submission's answers in the source's frame."""
    source_cells = [_clean(cell) for cell in source.cells]
    by_id = {_grade_id(cell): cell for cell in source_cells if _grade_id(cell)}
    locked_ids = [_grade_id(cell) for cell in source_cells if _is_locked_source_cell(cell)]
    answer_ids = {_grade_id(cell) for cell in source_cells if _grade_id(cell) and _grade_id(cell) not in locked_ids}
    repairs = []

    # Which of the student's cells stands for each locked source cell: an unchanged copy
    # if there is one (the original, when the student pasted a copy elsewhere), else the first.
    candidates = {}
    for index, cell in enumerate(submission.cells):
        grade_id = _grade_id(cell)
        if grade_id in by_id and grade_id in locked_ids:
            candidates.setdefault(grade_id, []).append(index)
    chosen = {}
    for grade_id, indices in candidates.items():
        original = by_id[grade_id]
        unchanged = [i for i in indices if _unchanged(submission.cells[i], original)]
        chosen[grade_id] = (unchanged or indices)[0]

    cells, placed, seen_answers = [], set(), set()
    for index, cell in enumerate(submission.cells):
        grade_id = _grade_id(cell)
        if grade_id in locked_ids:
            if chosen.get(grade_id) == index:
                original = by_id[grade_id]
                if cell.get("cell_type") != original.cell_type:
                    repairs.append(f"{_label(original)}: its type was changed to {cell.get('cell_type')}; restored")
                elif not _unchanged(cell, original) and not utils.is_grade(original):
                    repairs.append(f"{_label(original)}: edited; restored from the source")
                elif not _unchanged(cell, original):
                    repairs.append(f"{_label(original)}: edited; the instructor's test ran instead")
                cells.append(copy.deepcopy(original))
                placed.add(grade_id)
            else:
                repairs.append(f"a copy of {_label(by_id[grade_id])} ran as an ordinary cell, ungraded")
                cells.append(_clean(_plain(nbformat.from_dict(cell))))
            continue
        cell = _clean(nbformat.from_dict(cell))
        if grade_id in answer_ids and grade_id not in seen_answers:
            seen_answers.add(grade_id)
            original = by_id[grade_id]
            if cell.cell_type != original.cell_type:
                repairs.append(
                    f"answer cell {grade_id!r}: its type was changed to {cell.cell_type}; turned back into {original.cell_type}"
                )
                cell = nbformat.from_dict(
                    {**cell, "cell_type": original.cell_type}
                    if original.cell_type != "code"
                    else {**cell, "cell_type": "code", "outputs": [], "execution_count": None}
                )
                if original.cell_type != "code":
                    cell.pop("outputs", None)
                    cell.pop("execution_count", None)
            cell.metadata["nbgrader"] = copy.deepcopy(original.metadata["nbgrader"])
            cells.append(cell)
        elif grade_id in answer_ids:
            repairs.append(f"a second cell with the answer id {grade_id!r} ran as an ordinary cell, ungraded")
            cells.append(_plain(cell))
        elif grade_id:
            repairs.append(f"cell with unknown grade id {grade_id!r}: nbgrader metadata dropped")
            cells.append(_plain(cell))
        else:
            cells.append(_plain(cell) if "nbgrader" in cell.metadata else cell)

    # Put back what was deleted, after the cell that precedes it in the source.
    for position, original in enumerate(source_cells):
        grade_id = _grade_id(original)
        if grade_id not in locked_ids or grade_id in placed:
            continue
        anchor = None
        for previous in reversed(source_cells[:position]):
            previous_id = _grade_id(previous)
            if previous_id and (previous_id in placed or previous_id in seen_answers):
                anchor = previous_id
                break
        insert_at = 0
        if anchor is not None:
            insert_at = next(i for i, cell in enumerate(cells) if _grade_id(cell) == anchor) + 1
        cells.insert(insert_at, copy.deepcopy(original))
        placed.add(grade_id)
        repairs.append(f"{_label(original)} was deleted; put back")

    missing_answers = sorted(answer_ids - seen_answers)
    for grade_id in missing_answers:
        repairs.append(f"answer cell {grade_id!r} is missing (deleted?); its tests run without it")

    used = set()
    for cell in cells:  # copies share their cell id; nbformat wants them unique
        if not cell.get("id") or cell["id"] in used:
            cell["id"] = uuid.uuid4().hex[:8]
        used.add(cell["id"])
    notebook = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(source.metadata))
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    return notebook, repairs
