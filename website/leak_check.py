"""What only the solution notebooks may contain, and a search for it in any text.

`secret_lines(notebook)` lists the lines of a solution notebook that students must never see:
the solutions, the hidden tests and the mark schemes (nbgrader's BEGIN/END regions) and the
written answers of manually graded Markdown cells, minus lines that also appear in the public
part. `found_in(text, secrets)` says which of them a text contains; `site_leaks(folder,
secrets)` searches every file of a built website (pages, search index, downloadable notebooks
and their sources). The release tests use the same definitions for course/.
"""

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

SECRET_REGIONS = {
    "solution": ("BEGIN SOLUTION", "END SOLUTION"),
    "hidden tests": ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"),
    "mark scheme": ("BEGIN MARK SCHEME", "END MARK SCHEME"),
}
MARKERS = [marker for pair in SECRET_REGIONS.values() for marker in pair]
SHORTEST_SECRET = 12  # "return x", "else:": too common to give anything away
WHOLE_LINE_BELOW = 30  # a shorter secret counts only as a whole line ("for _ in range(3)" is in "range(30)")
TEXT_SUFFIXES = {".html", ".js", ".txt", ".ipynb", ".json", ".md", ".css", ".xml", ".svg", ".py"}


def secret_lines(notebook, kinds=tuple(SECRET_REGIONS)):
    """Lines that only the solution notebook may contain.

    Every line inside a region of the given `kinds` (solution, hidden tests, mark scheme),
    and with "solution" every line of a manually graded answer cell, unless the same line
    also appears in the public part of the notebook. Short lines are skipped.
    """
    regions = [SECRET_REGIONS[kind] for kind in kinds]
    secret, public = set(), set()
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        whole_cell_secret = "solution" in kinds and cell.cell_type == "markdown" and meta.get("solution", False)
        inside = None
        for line in cell.source.split("\n"):
            opening = next((end for begin, end in SECRET_REGIONS.values() if begin in line), None)
            if opening:
                inside = opening
                continue
            if inside and inside in line:
                inside = None
                continue
            in_secret_region = inside is not None and any(end == inside for _, end in regions)
            (secret if in_secret_region or whole_cell_secret else public).add(line.strip())
    return {line for line in secret - public if len(line) >= SHORTEST_SECRET}


# An nbgrader marker as nbgrader reads it ("### BEGIN SOLUTION"), not prose naming the pair
# ("inside `### BEGIN/END HIDDEN TESTS`").
MARKER = re.compile(r"(?<![/\w])(?:BEGIN|END) (?:SOLUTION|HIDDEN TESTS|MARK SCHEME)\b")


def found_in(text, secrets):
    """The secret lines and nbgrader markers that occur in `text`, sorted."""
    lines = {line.strip() for line in text.split("\n")}
    found = sorted(line for line in secrets if line in lines or (len(line) >= WHOLE_LINE_BELOW and line in text))
    return found + [f"marker {marker!r}" for marker in sorted(set(MARKER.findall(text)))]


def course_secret_lines(solution_notebooks, public_notebooks, public_files=()):
    """The secret lines of a whole course: each solution notebook's, minus any line that is public
    somewhere else — in a released notebook or in a file students have (the helper package): a
    line a student can read in the package gives nothing away on a page."""
    secrets = set().union(*(secret_lines(notebook) for notebook in solution_notebooks))
    public = {
        line.strip() for notebook in public_notebooks for cell in notebook.cells for line in cell.source.split("\n")
    }
    public |= {line.strip() for path in public_files for line in Path(path).read_text().split("\n")}
    return secrets - public


class _TextOf(HTMLParser):
    """The text of an HTML page as a reader (or a copy-paste) gets it: tags removed, entities
    decoded, line breaks kept (highlighted code is split into spans, one per token)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)

    def handle_starttag(self, tag, attrs):
        if tag in {"br", "p", "div", "li", "tr", "pre", "h1", "h2", "h3", "h4"}:
            self.parts.append("\n")


def html_text(page):
    parser = _TextOf()
    parser.feed(page)
    return "".join(parser.parts)


def _json_strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)


def readable_texts(path):
    """Every way the file at `path` can show text: as it is, as a page's text, and for JSON
    (notebooks, search indexes) its strings joined, so that escapes hide nothing."""
    raw = path.read_text(errors="replace")
    texts = [raw, html.unescape(raw)]
    if path.suffix == ".html":
        texts.append(html_text(raw))
    if path.suffix in {".ipynb", ".json"} or path.name.endswith(".ipynb.txt"):
        try:
            texts.append("\n".join(_json_strings(json.loads(raw))))
        except ValueError:
            pass
    if path.suffix == ".js":  # searchindex.js: Search.setIndex({...}); JSON inside a call
        match = re.search(r"\((\{.*\})\)", raw, re.S)
        if match:
            try:
                texts.append("\n".join(_json_strings(json.loads(match.group(1)))))
            except ValueError:
                pass
    return texts


def site_leaks(folder, secrets):
    """{relative path: secret lines found} for every text file under `folder`, except `_static/`
    (the theme's and MathJax's files, copied from installed packages: nothing of ours)."""
    folder = Path(folder)
    leaks = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or relative.parts[0] == "_static":
            continue
        if not (path.suffix in TEXT_SUFFIXES or path.name.endswith(".ipynb.txt")):
            continue
        found = sorted({line for text in readable_texts(path) for line in found_in(text, secrets)})
        if found:
            leaks[relative.as_posix()] = found
    return leaks
