"""Feedback that students can read without learning the hidden tests.

Stock `nbgrader generate_feedback` renders autograded notebooks as they are, and
autograding has put the hidden tests back into the test cells, so their source shows in
the feedback, and an assertion's traceback quotes the failing line. This preprocessor
runs in `GenerateFeedback` (see nbgrader_config.py) and, in every autograder-test cell,
removes the hidden-test regions and cuts each error down to its type and message. Any line
of hidden-test source that student code printed is removed from every output as well.
(The hidden tests and the redactor are defined in cells.py, shared with report.py.)
"""

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from autograder.cells import BEGIN_HIDDEN, END_HIDDEN, Redactor, hidden_lines, is_test, strip_hidden_tests


class HideHiddenTests(NbGraderPreprocessor):
    begin = Unicode(BEGIN_HIDDEN, help="Marker opening a hidden-test region").tag(config=True)
    end = Unicode(END_HIDDEN, help="Marker closing a hidden-test region").tag(config=True)
    redact = Redactor([])  # replaced by the notebook's own in preprocess()

    def preprocess(self, nb, resources):
        # Collected before they are cut out: student code runs in the same kernel as the tests
        # and can print them (IPython keeps every executed cell in `In`).
        self.redact = Redactor(hidden_lines(nb, self.begin, self.end))
        return super().preprocess(nb, resources)

    def _redact_outputs(self, cell):
        for output in cell.get("outputs", []):
            if isinstance(output.get("text"), str):
                output["text"] = self.redact(output["text"])
            if output.get("output_type") == "error":
                output["evalue"] = self.redact(str(output.get("evalue", "")))
            data = output.get("data") or {}
            if isinstance(data.get("text/plain"), str):
                data["text/plain"] = self.redact(data["text/plain"])

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code":
            self._redact_outputs(cell)
        if not is_test(cell):
            return cell, resources
        cell.source, _ = strip_hidden_tests(cell.source, self.begin, self.end)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                # A traceback quotes the test's source lines; the message alone says what failed.
                evalue = self.redact(str(output.get("evalue", "")))
                output["traceback"] = [f"{output.get('ename', 'Error')}: {evalue}"]
        return cell, resources
