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

from autograder.cells import grade_id, is_locked, nbgrader_meta

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


def _plain(cell):
    """The student's cell as an ordinary cell: no nbgrader metadata, fresh outputs."""
    cell = copy.deepcopy(cell)
    cell.metadata.pop("nbgrader", None)
    return cell


def _label(cell):
    meta = nbgrader_meta(cell)
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


class _Assembly:
    """The notebook being assembled: the source's cells by grade id, the cells so far, the repairs."""

    def __init__(self, source, submission):
        self.source_cells = [_clean(cell) for cell in source.cells]
        self.by_id = {grade_id(cell): cell for cell in self.source_cells if grade_id(cell)}
        self.locked_ids = [grade_id(cell) for cell in self.source_cells if is_locked(cell)]
        self.answer_ids = {gid for gid in self.by_id if gid not in self.locked_ids}
        self.submission = submission
        self.chosen = self._choose_locked_copies()
        self.cells, self.placed, self.seen_answers, self.repairs = [], set(), set(), []

    def _choose_locked_copies(self):
        """Which of the student's cells stands for each locked source cell: an unchanged copy
        if there is one (the original, when the student pasted a copy elsewhere), else the first."""
        candidates = {}
        for index, cell in enumerate(self.submission.cells):
            if grade_id(cell) in self.by_id and grade_id(cell) in self.locked_ids:
                candidates.setdefault(grade_id(cell), []).append(index)
        chosen = {}
        for gid, indices in candidates.items():
            unchanged = [i for i in indices if _unchanged(self.submission.cells[i], self.by_id[gid])]
            chosen[gid] = (unchanged or indices)[0]
        return chosen

    def add_locked(self, index, cell):
        gid = grade_id(cell)
        if self.chosen.get(gid) != index:
            self.repairs.append(f"a copy of {_label(self.by_id[gid])} ran as an ordinary cell, ungraded")
            self.cells.append(_clean(_plain(nbformat.from_dict(cell))))
            return
        original = self.by_id[gid]
        if cell.get("cell_type") != original.cell_type:
            self.repairs.append(f"{_label(original)}: its type was changed to {cell.get('cell_type')}; restored")
        elif not _unchanged(cell, original) and not utils.is_grade(original):
            self.repairs.append(f"{_label(original)}: edited; restored from the source")
        elif not _unchanged(cell, original):
            self.repairs.append(f"{_label(original)}: edited; the instructor's test ran instead")
        self.cells.append(copy.deepcopy(original))
        self.placed.add(gid)

    def add_answer(self, cell):
        gid = grade_id(cell)
        self.seen_answers.add(gid)
        original = self.by_id[gid]
        if cell.cell_type != original.cell_type:
            self.repairs.append(
                f"answer cell {gid!r}: its type was changed to {cell.cell_type}; turned back into {original.cell_type}"
            )
            cell = _retyped(cell, original.cell_type)
        cell.metadata["nbgrader"] = copy.deepcopy(original.metadata["nbgrader"])
        self.cells.append(cell)

    def add(self, index, cell):
        """The student's cell `index`, in the place it has in their copy."""
        gid = grade_id(cell)
        if gid in self.locked_ids:
            self.add_locked(index, cell)
            return
        cell = _clean(nbformat.from_dict(cell))
        if gid in self.answer_ids and gid not in self.seen_answers:
            self.add_answer(cell)
        elif gid in self.answer_ids:
            self.repairs.append(f"a second cell with the answer id {gid!r} ran as an ordinary cell, ungraded")
            self.cells.append(_plain(cell))
        elif gid:
            self.repairs.append(f"cell with unknown grade id {gid!r}: nbgrader metadata dropped")
            self.cells.append(_plain(cell))
        else:
            self.cells.append(_plain(cell) if "nbgrader" in cell.metadata else cell)

    def put_back_deleted(self):
        """Put back each deleted locked cell, after the cell that precedes it in the source."""
        for position, original in enumerate(self.source_cells):
            gid = grade_id(original)
            if gid not in self.locked_ids or gid in self.placed:
                continue
            anchor = None
            for previous in reversed(self.source_cells[:position]):
                previous_id = grade_id(previous)
                if previous_id and (previous_id in self.placed or previous_id in self.seen_answers):
                    anchor = previous_id
                    break
            insert_at = 0
            if anchor is not None:
                insert_at = next(i for i, cell in enumerate(self.cells) if grade_id(cell) == anchor) + 1
            self.cells.insert(insert_at, copy.deepcopy(original))
            self.placed.add(gid)
            self.repairs.append(f"{_label(original)} was deleted; put back")

    def note_missing_answers(self):
        for gid in sorted(self.answer_ids - self.seen_answers):
            self.repairs.append(f"answer cell {gid!r} is missing (deleted?); its tests run without it")


def _retyped(cell, cell_type):
    """The student's cell turned back into a cell of the source's type."""
    if cell_type == "code":
        return nbformat.from_dict({**cell, "cell_type": "code", "outputs": [], "execution_count": None})
    cell = nbformat.from_dict({**cell, "cell_type": cell_type})
    cell.pop("outputs", None)
    cell.pop("execution_count", None)
    return cell


def _give_unique_ids(cells):
    used = set()
    for cell in cells:  # copies share their cell id; nbformat wants them unique
        if not cell.get("id") or cell["id"] in used:
            cell["id"] = uuid.uuid4().hex[:8]
        used.add(cell["id"])


def assemble(source, submission):
    """Return (notebook to grade, repairs): the submission's answers in the source's frame."""
    assembly = _Assembly(source, submission)
    for index, cell in enumerate(submission.cells):
        assembly.add(index, cell)
    assembly.put_back_deleted()
    assembly.note_missing_answers()
    _give_unique_ids(assembly.cells)
    notebook = nbformat.v4.new_notebook(cells=assembly.cells, metadata=copy.deepcopy(source.metadata))
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    return notebook, assembly.repairs
