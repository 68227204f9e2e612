"""Feedback that students can read without learning the hidden tests.

Stock `nbgrader generate_feedback` renders autograded notebooks as they are, and
autograding has put the hidden tests back into the test cells, so their source shows in
the feedback, and an assertion's traceback quotes the failing line. This preprocessor
runs in `GenerateFeedback` (see nbgrader_config.py) and, in every autograder-test cell,
removes the hidden-test regions and cuts each error down to its type and message.
"""

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

HIDDEN_NOTE = "# (hidden tests ran here; their source is not shown)"


class HideHiddenTests(NbGraderPreprocessor):
    begin = Unicode("BEGIN HIDDEN TESTS", help="Marker opening a hidden-test region").tag(config=True)
    end = Unicode("END HIDDEN TESTS", help="Marker closing a hidden-test region").tag(config=True)

    def _strip_hidden(self, source):
        kept, hidden, removed = [], False, False
        for line in source.split("\n"):
            if self.begin in line:
                hidden = removed = True
                kept.append(line[: len(line) - len(line.lstrip())] + HIDDEN_NOTE)
            elif self.end in line:
                hidden = False
            elif not hidden:
                kept.append(line)
        if hidden:  # an unterminated region: hide everything after its start
            return "\n".join(kept), True
        return "\n".join(kept), removed

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" or not utils.is_grade(cell) or utils.is_solution(cell):
            return cell, resources
        cell.source, _ = self._strip_hidden(cell.source)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                # A traceback quotes the test's source lines; the message alone says what failed.
                output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources
