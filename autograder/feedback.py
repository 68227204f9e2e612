"""Feedback that students can read without learning the hidden tests.

Stock `nbgrader generate_feedback` renders autograded notebooks as they are, and
autograding has put the hidden tests back into the test cells, so their source shows in
the feedback, and an assertion's traceback quotes the failing line. This preprocessor
runs in `GenerateFeedback` (see nbgrader_config.py) and, in every autograder-test cell,
removes the hidden-test regions and cuts each error down to its type and message. Any line
of hidden-test source that student code printed is removed from every output as well.
"""

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

HIDDEN_NOTE = "# (hidden tests ran here; their source is not shown)"
HIDDEN_LINE = "[hidden test line removed]"
MIN_SECRET_LENGTH = 12


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

    def hidden_lines(self, nb):
        """Lines of hidden-test source in `nb`, long enough that seeing one elsewhere is a leak."""
        lines = set()
        for cell in nb.cells:
            if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
                visible = set(self._strip_hidden(cell.source)[0].split("\n"))
                for line in cell.source.split("\n"):
                    if (
                        len(line.strip()) >= MIN_SECRET_LENGTH
                        and line not in visible
                        and self.begin not in line
                        and self.end not in line
                    ):
                        lines.add(line.strip())
        return sorted(lines, key=len, reverse=True)

    def preprocess(self, nb, resources):
        # Collected before they are cut out: student code runs in the same kernel as the tests
        # and can print them (IPython keeps every executed cell in `In`).
        self._secret_lines = self.hidden_lines(nb)
        return super().preprocess(nb, resources)

    def _redact(self, text):
        for line in getattr(self, "_secret_lines", ()):
            text = text.replace(line, HIDDEN_LINE)
        return text

    def _redact_outputs(self, cell):
        for output in cell.get("outputs", []):
            if isinstance(output.get("text"), str):
                output["text"] = self._redact(output["text"])
            if output.get("output_type") == "error":
                output["evalue"] = self._redact(str(output.get("evalue", "")))
            data = output.get("data") or {}
            if isinstance(data.get("text/plain"), str):
                data["text/plain"] = self._redact(data["text/plain"])

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code":
            self._redact_outputs(cell)
        if cell.cell_type != "code" or not utils.is_grade(cell) or utils.is_solution(cell):
            return cell, resources
        cell.source, _ = self._strip_hidden(cell.source)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                # A traceback quotes the test's source lines; the message alone says what failed.
                output["traceback"] = [f"{output.get('ename', 'Error')}: {self._redact(str(output.get('evalue', '')))}"]
        return cell, resources
