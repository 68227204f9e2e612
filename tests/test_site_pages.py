"""The website's parts, without building it: the student view of a notebook, the leak check,
the pages made from README.md and the notebooks' headers, the widgets' static pictures."""

import base64
import json

import nbformat
import pytest

from course_tools import ASSIGNMENTS, ROOT, course_notebook, solution_notebook
from website import build, executed, leak_check, student_view

WIDGET = "application/vnd.jupyter.widget-view+json"


def code(source, outputs=(), solution=False, grade_id=None):
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = list(outputs)
    if solution or grade_id:
        cell.metadata["nbgrader"] = {"solution": solution, "grade": not solution, "grade_id": grade_id or "answer"}
    return cell


def stream(text, name="stdout"):
    return nbformat.v4.new_output("stream", name=name, text=text)


def display(data):
    return nbformat.v4.new_output("display_data", data=data)


def widget(extra):
    return display({"text/plain": "Explorer(...)", WIDGET: {"model_id": "abc", "version_major": 2}, **extra})


def pair(executed_cells, released_cells):
    executed, released = nbformat.v4.new_notebook(), nbformat.v4.new_notebook()
    executed.cells, released.cells = executed_cells, released_cells
    executed.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return executed, released


# --- the student view -------------------------------------------------------------------------
def test_student_page_takes_sources_from_the_release_and_outputs_from_the_reference_run():
    executed, released = pair(
        [
            nbformat.v4.new_markdown_cell("# Title"),
            code("def relu(x):\n    return x.clamp(min=0)  # the solution", [stream("defined\n")], solution=True),
            code("check_relu(relu)\nassert hidden_case()", [stream("✔ relu matches on 6 inputs\n")], grade_id="t1"),
            code("print(0.43)", [stream("0.43\n")]),
        ],
        [
            nbformat.v4.new_markdown_cell("# Title"),
            code("def relu(x):\n    raise NotImplementedError()", solution=True),
            code("check_relu(relu)", grade_id="t1"),
            code("print(0.43)"),
        ],
    )
    page = student_view.student_page(executed, released, "01_relu_math")
    assert [c.source for c in page.cells] == [c.source for c in released.cells]
    answer, test, measured = page.cells[1:]
    assert answer.outputs == [] and answer.execution_count is None  # a solution's output gives it away
    assert test.outputs[0]["text"] == "✔ relu matches on 6 inputs\n"  # the public check's result stays
    assert measured.outputs[0]["text"] == "0.43\n"
    assert "widgets" not in page.metadata


def test_outputs_computed_from_an_answer_constant_are_not_shown():
    """A prediction's public check echoes it and the verify cell prints it beside the measurement:
    from the reference run, both would print the key."""
    executed, released = pair(
        [
            code("RANKING = 'B > A'\nscratch = 1", solution=True),
            code("check_ranking(RANKING)", [stream("RANKING: B > A is well formed\n")], grade_id="t1"),
            code("show(measure(), RANKING)", [stream("yours B > A, measured B > A\n")]),
            code("print(scratch, 'RANKINGS')", [stream("1 RANKINGS\n")]),  # a lower-case name, another word
        ],
        [
            code("RANKING = None\nscratch = 1", solution=True),
            code("check_ranking(RANKING)", grade_id="t1"),
            code("show(measure(), RANKING)"),
            code("print(scratch, 'RANKINGS')"),
        ],
    )
    assert student_view.answer_constants(executed) == {"RANKING"}
    page = student_view.student_page(executed, released, "02_how_units_die")
    for cell in page.cells[1:3]:
        assert [o["data"]["text/html"] for o in cell.outputs] == [student_view.ANSWER_NOTE]
    assert page.cells[3].outputs[0]["text"] == "1 RANKINGS\n"
    assert "B > A" not in nbformat.writes(page).replace("RANKING = 'B > A'", "")


def test_a_release_that_does_not_match_the_solutions_asks_for_make_release():
    executed, released = pair([code("x = 1"), code("y = 2")], [code("x = 1")])
    with pytest.raises(ValueError, match="make release"):
        student_view.student_page(executed, released, "01_relu_math")


def test_widgets_become_their_static_picture_with_a_note_and_progress_bars_go():
    png = base64.b64encode(b"\x89PNG fake").decode()
    outputs = [
        widget({"image/png": png}),  # an explorer: its first figure
        display({"text/plain": "lr=0.2:  40%|████      | 4/10 [00:01<00:02]", WIDGET: {"model_id": "p"}}),  # tqdm
        display({"text/plain": "record_update_ratio=True, callbacks=[<deadrelu.lessons…", WIDGET: {"model_id": "q"}}),
        widget({"text/html": "<ol class='quiz-questions'><li>q</li></ol>"}),  # the quiz
        widget({}),  # a widget with no picture
        stream("UserWarning: something\n", name="stderr"),
        stream("kept\n"),
    ]
    static = student_view.static_outputs(outputs, "04_learning_rate_and_optimizers")
    kinds = [sorted(o.get("data", {})) or o["output_type"] for o in static]
    assert kinds == [["image/png"], ["text/html"], ["text/html"], ["text/html"], ["text/html"], "stream"]
    assert static[0]["data"]["image/png"] == png
    assert (
        "course/04_learning_rate_and_optimizers/04_learning_rate_and_optimizers.ipynb"
        in (static[1]["data"]["text/html"])
    )
    assert "make lab" in static[1]["data"]["text/html"]
    assert static[2]["data"]["text/html"].startswith("<ol class='quiz-questions'>")
    assert all(WIDGET not in o.get("data", {}) for o in static)


def test_solutions_page_keeps_the_solutions_and_makes_widgets_static():
    executed, _ = pair([code("x = 1  # the solution", [widget({"image/png": "AAAA"})], solution=True)], [])
    page = student_view.solutions_page(executed, "01_relu_math")
    assert page.cells[0].source == "x = 1  # the solution"
    assert page.cells[0].outputs[0]["data"] == {"image/png": "AAAA"}


# --- the leak check ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def secrets():
    return leak_check.secret_lines(nbformat.read(solution_notebook("01_relu_math"), as_version=4))


def a_solution_line(secrets):
    return max(secrets, key=len)


def highlighted(line):
    """`line` as Pygments puts it in a page: one span per token, quotes and < > escaped."""
    tokens = line.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;").split(" ")
    return " ".join(f'<span class="n">{token}</span>' for token in tokens)


def test_the_leak_check_finds_a_planted_solution_line_in_a_page_a_notebook_and_a_search_index(tmp_path, secrets):
    line = a_solution_line(secrets)
    site = tmp_path / "html"
    (site / "notebooks").mkdir(parents=True)
    (site / "_sources" / "notebooks").mkdir(parents=True)
    (site / "_static").mkdir()
    (site / "index.html").write_text("<html><body><p>Nothing secret here.</p></body></html>")
    (site / "notebooks" / "page.html").write_text(f"<div class='highlight'><pre>{highlighted(line)}</pre></div>")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [code(line)]
    (site / "_sources" / "notebooks" / "page.ipynb").write_text(nbformat.writes(notebook))
    (site / "searchindex.js").write_text("Search.setIndex(" + json.dumps({"titles": [line]}) + ")")
    (site / "_static" / "theme.js").write_text(line)  # the theme's files are not ours: not searched
    leaks = leak_check.site_leaks(site, secrets)
    assert sorted(leaks) == ["_sources/notebooks/page.ipynb", "notebooks/page.html", "searchindex.js"]
    assert all(leaks[path] == [line] for path in leaks)


def test_the_leak_check_passes_the_public_lines_of_the_same_notebook(tmp_path, secrets):
    released = nbformat.read(course_notebook("01_relu_math"), as_version=4)
    text = "\n".join(cell.source for cell in released.cells)
    assert leak_check.found_in(text, secrets) == []


def test_a_short_secret_counts_only_as_a_whole_line():
    secrets = {"for _ in range(3)"}
    assert leak_check.found_in("    for _ in range(3)\n", secrets) == ["for _ in range(3)"]
    assert leak_check.found_in("for _ in range(30):\n", secrets) == []


def test_a_marker_is_a_leak_wherever_it_is():
    assert leak_check.found_in("x = 1  ### BEGIN SOLUTION", set()) == ["marker 'BEGIN SOLUTION'"]


# --- pages made from README.md and the notebooks ----------------------------------------------------
def test_the_glossary_and_the_instructors_guide_come_from_the_readme():
    glossary = build.readme_section("## Glossary")
    assert "| dead unit |" in glossary and "\n## " not in glossary and "## Sources" not in glossary
    guide = build.promote_headings(build.readme_section("## For instructors"))
    assert guide.startswith("The source of truth") and "\n## A term, command by command" in guide
    assert "## Repository layout" not in guide
    with pytest.raises(ValueError, match="no section '## Nowhere'"):
        build.readme_section("## Nowhere")


def test_the_course_path_gives_every_notebook_its_time_prerequisites_and_objectives():
    notebooks = {a: nbformat.read(course_notebook(a), as_version=4) for a in ASSIGNMENTS}
    path = build.course_path(notebooks)
    for assignment in ASSIGNMENTS:
        title, minutes, prerequisites, objectives = build.notebook_header(notebooks[assignment])
        assert f"### [{title}](notebooks/{assignment}.ipynb)" in path
        assert f"**Time:** about {minutes} minutes  \n**Prerequisites:** {prerequisites}" in path
        assert len(objectives) >= 3, f"{assignment}: fewer than three learning objectives found: {objectives}"
        assert all(f"- {objective}" in path for objective in objectives)
    total = sum(build.notebook_header(nb)[1] for nb in notebooks.values())
    assert f"about {total} minutes of work in all" in path


def test_every_hand_written_page_is_in_the_repository():
    for name in (*build.HAND_WRITTEN, "index.md"):
        assert (ROOT / "website" / name).is_file(), f"website/{name} is missing"


# --- the widgets' static pictures -------------------------------------------------------------------
def test_an_explorer_carries_its_first_figure_for_viewers_without_a_kernel():
    from deadrelu.lessons.relu_math import activation_explorer

    explorer = activation_explorer()
    bundle = explorer._repr_mimebundle_()
    assert WIDGET in bundle  # JupyterLab still shows the live widget
    assert base64.b64decode(bundle["image/png"]) == explorer.image.value


def test_the_quiz_shows_its_questions_but_not_its_answers_without_a_kernel():
    from deadrelu.lessons.interview_prep import Question, Quiz

    quiz = Quiz([Question("Which is dead?", ("always 0", "sometimes 0"), 0, "never fires")])
    page = quiz._repr_mimebundle_()["text/html"]
    assert "Which is dead?" in page and "always 0" in page and "sometimes 0" in page
    assert "never fires" not in page and "✔" not in page


# --- reference runs and bad input ---------------------------------------------------------------------
@pytest.fixture
def scratch_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(executed, "CACHE", tmp_path / "executed")
    return tmp_path / "executed"


def test_a_kept_run_is_reused_only_while_its_key_matches(scratch_cache):
    notebook = nbformat.read(solution_notebook("01_relu_math"), as_version=4)
    executed.store("01_relu_math", notebook, 7.2)
    assert executed.kept("01_relu_math") is not None
    stale = nbformat.read(scratch_cache / "01_relu_math.ipynb", as_version=4)
    stale.metadata[executed.KEY_FIELD]["key"] = "a run of another version of the notebook"
    nbformat.write(stale, scratch_cache / "01_relu_math.ipynb")
    assert executed.kept("01_relu_math") is None
    (scratch_cache / "01_relu_math.ipynb").write_text("{ not a notebook")
    assert executed.kept("01_relu_math") is None  # damaged: run again, no crash
    assert executed.kept("02_how_units_die") is None  # never run


def test_the_key_changes_with_the_notebook_and_with_the_helper_package(tmp_path, monkeypatch):
    before = executed.run_key("01_relu_math")
    copy = tmp_path / "solutions" / "01_relu_math"
    copy.mkdir(parents=True)
    (copy / "01_relu_math.ipynb").write_text(solution_notebook("01_relu_math").read_text() + "\n")
    monkeypatch.setattr(executed, "SOLUTIONS", tmp_path / "solutions")
    assert executed.run_key("01_relu_math") != before
    monkeypatch.setattr(executed, "INPUTS", ("deadrelu/seeding.py",))
    assert executed.run_key("01_relu_math") != before


def test_a_notebook_that_fails_its_reference_run_is_named_with_its_error(tmp_path, monkeypatch, scratch_cache):
    broken = nbformat.v4.new_notebook()
    broken.metadata["kernelspec"] = {"name": "deadrelu", "display_name": "Python 3 (deadrelu)", "language": "python"}
    broken.cells = [code("print('fine')"), code("1 / 0")]
    (tmp_path / "solutions" / "99_broken").mkdir(parents=True)
    nbformat.write(broken, tmp_path / "solutions" / "99_broken" / "99_broken.ipynb")
    monkeypatch.setattr(executed, "SOLUTIONS", tmp_path / "solutions")
    with pytest.raises(executed.ReferenceRunFailed, match=r"(?s)solutions/99_broken stopped.*ZeroDivisionError"):
        executed.reference_runs(["99_broken"], jobs=1, report=lambda line: None)
    assert not (scratch_cache / "99_broken.ipynb").exists()  # nothing half-run is kept


def test_a_missing_student_notebook_asks_for_make_release(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "COURSE", tmp_path / "course")
    run = nbformat.read(solution_notebook("01_relu_math"), as_version=4)
    with pytest.raises(SystemExit, match=r"course/01_relu_math/01_relu_math.ipynb is missing.*make release"):
        build.stage(tmp_path / "source", {"01_relu_math": run}, solutions=False)
